package policy

import "strings"

// glob reports whether name matches pattern, where '*' matches any run of
// characters (including none) and '?' matches exactly one character.
// Characters are Unicode code points; matching is case-sensitive.
//
// The matcher never builds a regular expression from policy text. It walks
// both strings once and, on a mismatch, resumes only from the most recent
// '*' (an earlier '*' can never do better, because the later one already
// absorbs any text the earlier one could). So its cost is
// O(len(pattern)+len(name)) when the pattern has at most one '*' or the text
// after each '*' matches at its first candidate position, and never worse
// than O(len(pattern)·len(name)); there is no exponential backtracking.
func glob(pattern, name string) bool {
	p := []rune(pattern)
	s := []rune(name)
	px, sx := 0, 0
	star, starS := -1, 0 // index of the last '*' in p, and where in s it started
	for sx < len(s) {
		switch {
		case px < len(p) && p[px] == '*':
			star, starS = px, sx
			px++
		case px < len(p) && (p[px] == '?' || p[px] == s[sx]):
			px++
			sx++
		case star >= 0:
			// Let the last '*' absorb one more character and retry.
			starS++
			px, sx = star+1, starS
		default:
			return false
		}
	}
	for px < len(p) && p[px] == '*' {
		px++
	}
	return px == len(p)
}

// matchAction reports whether an Action pattern such as "ecr:Batch*"
// matches an action such as "ecr:BatchGetImage". IAM compares actions
// case-insensitively.
func matchAction(pattern, action string) bool {
	return glob(strings.ToLower(pattern), strings.ToLower(action))
}

// matchARN reports whether an ARN pattern matches arn the way IAM matches
// the Resource element and the Arn* condition operators: "*" matches
// anything; otherwise each of the six colon-separated parts (partition,
// service, region, account, resource — the last one keeps any further
// colons) is matched on its own, so a wildcard never spans a colon in the
// first five parts. A pattern with fewer than six parts is matched as a
// whole string.
func matchARN(pattern, arn string) bool {
	if pattern == "*" {
		return true
	}
	pp := strings.SplitN(pattern, ":", 6)
	if len(pp) < 6 {
		return glob(pattern, arn)
	}
	ap := strings.SplitN(arn, ":", 6)
	if len(ap) < 6 {
		return false
	}
	for i := range pp {
		if !glob(pp[i], ap[i]) {
			return false
		}
	}
	return true
}

// arnAccount returns the account field of an ARN, or "" if s is not one.
func arnAccount(s string) string {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" {
		return ""
	}
	return parts[4]
}

// isAccountID reports whether s is a 12-digit AWS account id.
func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
