package policy

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// operator is one base condition operator, such as StringLike.
type operator struct {
	// negated operators (StringNotEquals, NotIpAddress, ...) hold when no
	// policy value matches, and when the key is absent from the request.
	negated bool
	// check validates one policy value; nil accepts any string.
	check func(policyValue string) error
	// match reports whether a request value matches one policy value.
	match func(requestValue, policyValue string) bool
}

// operators are the base operators berth supports. Each may carry a
// "ForAnyValue:" or "ForAllValues:" prefix and an "IfExists" suffix (except
// Null). Binary operators are not supported.
var operators = map[string]operator{
	"StringEquals":              {match: func(r, p string) bool { return r == p }},
	"StringNotEquals":           {negated: true, match: func(r, p string) bool { return r == p }},
	"StringEqualsIgnoreCase":    {match: strings.EqualFold},
	"StringNotEqualsIgnoreCase": {negated: true, match: strings.EqualFold},
	"StringLike":                {match: func(r, p string) bool { return glob(p, r) }},
	"StringNotLike":             {negated: true, match: func(r, p string) bool { return glob(p, r) }},
	// IAM documents ArnEquals and ArnLike as the same test.
	"ArnEquals":    {match: func(r, p string) bool { return matchARN(p, r) }},
	"ArnLike":      {match: func(r, p string) bool { return matchARN(p, r) }},
	"ArnNotEquals": {negated: true, match: func(r, p string) bool { return matchARN(p, r) }},
	"ArnNotLike":   {negated: true, match: func(r, p string) bool { return matchARN(p, r) }},
	"Bool":         {check: checkBool, match: strings.EqualFold},
	"IpAddress":    {check: checkCIDR, match: matchCIDR},
	"NotIpAddress": {negated: true, check: checkCIDR, match: matchCIDR},

	"NumericEquals":            numeric(false, func(c int) bool { return c == 0 }),
	"NumericNotEquals":         numeric(true, func(c int) bool { return c == 0 }),
	"NumericLessThan":          numeric(false, func(c int) bool { return c < 0 }),
	"NumericLessThanEquals":    numeric(false, func(c int) bool { return c <= 0 }),
	"NumericGreaterThan":       numeric(false, func(c int) bool { return c > 0 }),
	"NumericGreaterThanEquals": numeric(false, func(c int) bool { return c >= 0 }),
	"DateEquals":               date(false, func(c int) bool { return c == 0 }),
	"DateNotEquals":            date(true, func(c int) bool { return c == 0 }),
	"DateLessThan":             date(false, func(c int) bool { return c < 0 }),
	"DateLessThanEquals":       date(false, func(c int) bool { return c <= 0 }),
	"DateGreaterThan":          date(false, func(c int) bool { return c > 0 }),
	"DateGreaterThanEquals":    date(false, func(c int) bool { return c >= 0 }),
}

func checkBool(p string) error {
	if !strings.EqualFold(p, "true") && !strings.EqualFold(p, "false") {
		return fmt.Errorf("%q is not true or false", p)
	}
	return nil
}

func parseCIDR(s string) (netip.Prefix, error) {
	if pfx, err := netip.ParsePrefix(s); err == nil {
		return pfx.Masked(), nil
	}
	addr, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address or CIDR block", s)
	}
	return netip.PrefixFrom(addr, addr.BitLen()), nil
}

func checkCIDR(p string) error { _, err := parseCIDR(p); return err }

func matchCIDR(r, p string) bool {
	pfx, err := parseCIDR(p)
	if err != nil {
		return false
	}
	addr, err := netip.ParseAddr(r)
	if err != nil {
		return false
	}
	return pfx.Contains(addr.Unmap())
}

func numeric(negated bool, ok func(cmp int) bool) operator {
	parse := func(s string) (float64, error) { return strconv.ParseFloat(strings.TrimSpace(s), 64) }
	return operator{
		negated: negated,
		check: func(p string) error {
			if _, err := parse(p); err != nil {
				return fmt.Errorf("%q is not a number", p)
			}
			return nil
		},
		match: func(r, p string) bool {
			rv, err1 := parse(r)
			pv, err2 := parse(p)
			if err1 != nil || err2 != nil {
				return false
			}
			return ok(cmpFloat(rv, pv))
		},
	}
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// parseDate accepts the ISO 8601 forms IAM documents (RFC 3339 date-time
// or a plain date) and epoch seconds.
func parseDate(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a date (ISO 8601 or epoch seconds)", s)
}

func date(negated bool, ok func(cmp int) bool) operator {
	return operator{
		negated: negated,
		check:   func(p string) error { _, err := parseDate(p); return err },
		match: func(r, p string) bool {
			rt, err1 := parseDate(r)
			pt, err2 := parseDate(p)
			if err1 != nil || err2 != nil {
				return false
			}
			return ok(rt.Compare(pt))
		},
	}
}

// setQualifier is the optional ForAnyValue:/ForAllValues: prefix.
type setQualifier int

const (
	noQualifier setQualifier = iota
	forAnyValue
	forAllValues
)

// parsedOperator is an operator name split into its parts.
type parsedOperator struct {
	base      operator
	null      bool // the Null operator
	qualifier setQualifier
	ifExists  bool
}

// parseOperator splits names such as "ForAllValues:StringLikeIfExists".
// Operator names are case-sensitive, as IAM's are.
func parseOperator(name string) (parsedOperator, bool) {
	var po parsedOperator
	switch {
	case strings.HasPrefix(name, "ForAnyValue:"):
		po.qualifier, name = forAnyValue, strings.TrimPrefix(name, "ForAnyValue:")
	case strings.HasPrefix(name, "ForAllValues:"):
		po.qualifier, name = forAllValues, strings.TrimPrefix(name, "ForAllValues:")
	}
	if name == "Null" {
		po.null = true
		return po, po.qualifier == noQualifier
	}
	if base, ok := strings.CutSuffix(name, "IfExists"); ok {
		po.ifExists, name = true, base
	}
	base, ok := operators[name]
	po.base = base
	return po, ok
}

func (c Condition) validate(path string) error {
	po, ok := parseOperator(c.Operator)
	if !ok {
		return invalid(path, "unknown condition operator %q", c.Operator)
	}
	kp := path + "." + c.Key
	if c.Key == "" {
		return invalid(kp, "condition key is empty")
	}
	if len(c.Values) == 0 {
		return invalid(kp, "must have at least one value")
	}
	for i, v := range c.Values {
		var err error
		switch {
		case po.null:
			err = checkBool(v)
		case po.base.check != nil:
			err = po.base.check(v)
		}
		if err != nil {
			return invalid(fmt.Sprintf("%s[%d]", kp, i), "%v", err)
		}
	}
	return nil
}

// holds reports whether c holds for a request whose context values for
// c.Key are values (present says whether the key exists at all). It
// follows the IAM rules: an absent key fails a positive operator and
// satisfies a negated one; IfExists and ForAllValues are satisfied by an
// absent key; Null tests presence only.
func (c Condition) holds(values []string, present bool) bool {
	po, ok := parseOperator(c.Operator)
	if !ok {
		return false // Validate rejects these; never let one grant access
	}
	if po.null {
		wantAbsent := strings.EqualFold(c.Values[0], "true")
		return wantAbsent != present
	}
	if !present {
		switch {
		case po.ifExists, po.qualifier == forAllValues:
			return true
		case po.qualifier == forAnyValue:
			return false
		}
		return po.base.negated
	}
	// one reports whether a single request value satisfies the operator:
	// any policy value matches (OR), or none does for negated ones (NOR).
	one := func(r string) bool {
		for _, p := range c.Values {
			if po.base.match(r, p) {
				return !po.base.negated
			}
		}
		return po.base.negated
	}
	all := func() bool {
		for _, r := range values {
			if !one(r) {
				return false
			}
		}
		return true
	}
	anyOf := func() bool {
		for _, r := range values {
			if one(r) {
				return true
			}
		}
		return false
	}
	switch po.qualifier {
	case forAllValues:
		return all()
	case forAnyValue:
		return anyOf()
	}
	// Without a qualifier a multi-valued key behaves like ForAnyValue for
	// positive operators and ForAllValues (no value matches) for negated ones.
	if po.base.negated {
		return all()
	}
	return anyOf()
}
