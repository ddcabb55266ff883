package lambda

import (
	"regexp"
	"strconv"
)

// functionNamePattern is the model's pattern for a FunctionName member,
// which AWS quotes when a name breaks it.
const functionNamePattern = `(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?`

var (
	// functionName parses every form Lambda takes: a name, a partial ARN
	// (account:function:name) or a full ARN, each with an optional
	// qualifier.
	functionName = regexp.MustCompile(`^(?:arn:(aws[a-zA-Z-]*):lambda:([a-z]{2}(?:-gov)?-[a-z]+-\d):)?(?:(\d{12}):function:|function:)?([a-zA-Z0-9_-]{1,64})(?::(\$LATEST|[a-zA-Z0-9_-]{1,128}))?$`)
	aliasName    = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,128}$`)
	versionName  = regexp.MustCompile(`^[0-9]{1,10}$`)
)

// functionRef is a FunctionName member taken apart.
type functionRef struct {
	Name      string
	Qualifier string // "" (none), "$LATEST", a version number or an alias
	// Region and Account are what an ARN named; "" when it did not.
	Region, Account string
}

// parseFunctionName reads a FunctionName member: a ValidationException
// quoting the model's pattern when it is none of Lambda's forms.
func parseFunctionName(s string) (functionRef, error) {
	m := functionName.FindStringSubmatch(s)
	if m == nil || len(s) > 170 {
		return functionRef{}, validation("functionName", s, "Member must satisfy regular expression pattern: "+functionNamePattern)
	}
	return functionRef{Name: m[4], Qualifier: m[5], Region: m[2], Account: m[3]}, nil
}

// isVersion reports whether qualifier names a published version (a
// number) rather than $LATEST or an alias.
func isVersion(qualifier string) bool { return versionName.MatchString(qualifier) }

// validAlias reports whether name may name an alias: Lambda's pattern,
// and not a number (which would read as a version).
func validAlias(name string) bool { return aliasName.MatchString(name) && !isVersion(name) }

// versionNumber is a published version's number; 0 for anything else.
func versionNumber(qualifier string) int {
	if !isVersion(qualifier) {
		return 0
	}
	n, err := strconv.Atoi(qualifier)
	if err != nil {
		return 0
	}
	return n
}
