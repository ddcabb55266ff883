package logs

import (
	"strings"
	"unicode"

	"github.com/berth-dev/berth/metadata"
)

// PatternError says why a filter pattern was refused.
type PatternError struct {
	Pattern string
	Reason  string
}

func (e *PatternError) Error() string {
	return "Invalid filter pattern '" + e.Pattern + "': " + e.Reason
}

// ParsePattern parses a filter pattern in CloudWatch Logs' term syntax,
// which matches unstructured messages by case-sensitive substrings:
//
//	ERROR Exception      every term (ANDed)
//	?ERROR ?WARN         at least one of the ?terms (ORed)
//	ERROR -Exiting       not the -term ("- Exiting" too)
//	"Internal error"     a quoted term is one term, spaces and all (\" and \\ escape)
//	"" or " "            everything (as does an empty pattern)
//
// Plain terms and ?terms mix: a message must contain every plain term and
// one of the ?terms. CloudWatch's JSON ({ $.x = 1 }), space-delimited
// ([ip, user, ...]) and regular-expression (%...%) patterns are refused
// with a *PatternError that says berth does not evaluate them.
func ParsePattern(text string) (metadata.LogMatch, error) {
	var m metadata.LogMatch
	p := strings.TrimSpace(text)
	refuse := func(reason string) (metadata.LogMatch, error) {
		return metadata.LogMatch{}, &PatternError{Pattern: text, Reason: reason}
	}
	switch {
	case strings.HasPrefix(p, "{"):
		return refuse("berth does not evaluate JSON patterns ({ $.field ... }); use terms, ?terms, -terms and \"quoted phrases\"")
	case strings.HasPrefix(p, "["):
		return refuse("berth does not evaluate space-delimited patterns ([field, ...]); use terms, ?terms, -terms and \"quoted phrases\"")
	case strings.HasPrefix(p, "%"):
		return refuse("berth does not evaluate regular-expression patterns (%...%); use terms, ?terms, -terms and \"quoted phrases\"")
	}
	anyMatchesAll := false
	for p != "" {
		op := byte(0)
		if p[0] == '?' || p[0] == '-' {
			op, p = p[0], strings.TrimLeftFunc(p[1:], unicode.IsSpace)
			if p == "" {
				return refuse("'" + string(op) + "' must be followed by a term")
			}
		}
		var term string
		if p[0] == '"' {
			end, unquoted, ok := unquote(p)
			if !ok {
				return refuse("a quoted term is not closed")
			}
			term, p = unquoted, p[end:]
			if p != "" && !unicode.IsSpace(rune(p[0])) {
				return refuse("a quoted term must be followed by a space")
			}
		} else {
			end := strings.IndexFunc(p, unicode.IsSpace)
			if end < 0 {
				end = len(p)
			}
			term, p = p[:end], p[end:]
			if strings.ContainsRune(term, '"') {
				return refuse("a term containing '\"' must be quoted as a whole")
			}
		}
		p = strings.TrimLeftFunc(p, unicode.IsSpace)
		blank := strings.TrimSpace(term) == ""
		switch {
		case op == '-' && blank:
			return refuse("an excluded term must not be empty")
		case op == '-':
			m.None = append(m.None, term)
		case op == '?' && blank:
			anyMatchesAll = true
		case op == '?':
			m.Any = append(m.Any, term)
		case !blank:
			m.All = append(m.All, term)
		}
	}
	if anyMatchesAll {
		m.Any = nil
	}
	return m, nil
}

// unquote reads the quoted term at the start of s and returns the index
// after its closing quote and the term with its escapes resolved.
func unquote(s string) (end int, term string, ok bool) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return i + 1, b.String(), true
		case c == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\'):
			b.WriteByte(s[i+1])
			i++
		default:
			b.WriteByte(c)
		}
	}
	return 0, "", false
}
