package registry

import (
	"regexp"
	"strings"
)

// route is a parsed /v2/ request path.
type route struct {
	kind routeKind
	name string // repository name
	arg  string // digest, reference or upload id, by kind
}

type routeKind int

const (
	routeNone routeKind = iota
	routeBase
	routeCatalog
	routeTags
	routeManifest
	routeBlob
	routeUploadStart
	routeUpload
	routeReferrers
)

// String names the route for metrics and logs.
func (k routeKind) String() string {
	return [...]string{"none", "base", "catalog", "tags", "manifest", "blob", "upload_start", "upload", "referrers"}[k]
}

// maxNameLength bounds repository names, as ECR does (256 characters).
const maxNameLength = 256

var (
	// nameComponent and the name grammar are the spec's:
	// [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*
	nameRegexp = regexp.MustCompile(`^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$`)
	tagRegexp  = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)
)

// validName reports whether name is a valid repository name.
func validName(name string) bool {
	return len(name) <= maxNameLength && nameRegexp.MatchString(name)
}

// validTag reports whether tag is a valid tag.
func validTag(tag string) bool {
	return tagRegexp.MatchString(tag)
}

// parseRoute parses a request path. A repository name may contain slashes,
// so the action is found from the end of the path. The name is returned
// unvalidated; the caller answers NAME_INVALID for a bad one.
func parseRoute(path string) route {
	rest, ok := strings.CutPrefix(path, "/v2/")
	if !ok {
		if path == "/v2" {
			return route{kind: routeBase}
		}
		return route{}
	}
	switch rest {
	case "":
		return route{kind: routeBase}
	case "_catalog":
		return route{kind: routeCatalog}
	}
	parts := strings.Split(rest, "/")
	n := len(parts)
	name := func(k int) string { return strings.Join(parts[:n-k], "/") }
	switch {
	case n >= 3 && parts[n-2] == "tags" && parts[n-1] == "list":
		return route{kind: routeTags, name: name(2)}
	case n >= 4 && parts[n-3] == "blobs" && parts[n-2] == "uploads":
		if parts[n-1] == "" {
			return route{kind: routeUploadStart, name: name(3)}
		}
		return route{kind: routeUpload, name: name(3), arg: parts[n-1]}
	case n >= 3 && parts[n-2] == "blobs" && parts[n-1] == "uploads":
		return route{kind: routeUploadStart, name: name(2)}
	case n >= 3 && parts[n-2] == "blobs":
		return route{kind: routeBlob, name: name(2), arg: parts[n-1]}
	case n >= 3 && parts[n-2] == "manifests":
		return route{kind: routeManifest, name: name(2), arg: parts[n-1]}
	case n >= 3 && parts[n-2] == "referrers":
		return route{kind: routeReferrers, name: name(2), arg: parts[n-1]}
	}
	return route{}
}
