package launcher

import (
	"fmt"
	"net"
	"regexp"
	"strings"

	"github.com/distribution/reference"
)

// Images rewrites image names the way users write them in task
// definitions, functions and job definitions to the name the engine pulls.
// Names of berth's own registry (`app:1`, `localhost:5000/app:1`, the ECR
// repositoryUri `<account>.dkr.ecr.<region>.amazonaws.com/app:1`) become
// `127.0.0.1:<port>/app:1`: the engine allows plain HTTP to a loopback
// registry, and an ECR host name would not resolve. Other names are left
// as they are.
type Images struct {
	// Registry is the host:port on which the engine reaches berth's
	// registry, 127.0.0.1:<port>.
	Registry string
	// Aliases are other host[:port] names of berth's registry, such as the
	// configured repositoryUri host.
	Aliases []string
	// Account is berth's account id; an ECR-style name of another account
	// is refused, since berth holds only its own. Empty accepts any.
	Account string
}

// ecrHost matches a private ECR registry host: account, region, optional
// FIPS endpoint and the China partition's suffix.
var ecrHost = regexp.MustCompile(`^([0-9]{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$`)

// Resolve returns the name the engine pulls for name: berth's registry
// names rewritten to Registry, a missing tag made "latest" (unless a digest
// is given), anything else unchanged. It fails with [ErrInvalidImage] for
// a name that is not a valid reference or names another account's ECR.
func (im Images) Resolve(name string) (string, error) {
	if _, err := reference.ParseNormalizedNamed(name); err != nil {
		return "", fmt.Errorf("%w %q: %v", ErrInvalidImage, name, err)
	}
	domain, rest, explicit := splitDomain(name)
	if explicit && !im.ours(domain) {
		if m := ecrHost.FindStringSubmatch(domain); m != nil {
			return "", fmt.Errorf("%w %q: the registry of account %s is not this berth's (account %s)",
				ErrInvalidImage, name, m[1], im.Account)
		}
		named, _ := reference.ParseNormalizedNamed(name)
		return reference.TagNameOnly(named).String(), nil
	}
	named, err := reference.ParseNamed(im.Registry + "/" + rest)
	if err != nil {
		return "", fmt.Errorf("%w %q: %v", ErrInvalidImage, name, err)
	}
	return reference.TagNameOnly(named).String(), nil
}

// splitDomain splits name as the Docker tools do: the first path
// component is a registry host when it has a '.' or ':', is "localhost",
// or has an upper-case letter (which no repository may have).
func splitDomain(name string) (domain, rest string, explicit bool) {
	first, after, found := strings.Cut(name, "/")
	if !found || (!strings.ContainsAny(first, ".:") && first != "localhost" && strings.ToLower(first) == first) {
		return "", name, false
	}
	return first, after, true
}

// ours reports whether the registry host domain is berth's own.
func (im Images) ours(domain string) bool {
	if strings.EqualFold(domain, im.Registry) {
		return true
	}
	for _, a := range im.Aliases {
		if a != "" && strings.EqualFold(domain, a) {
			return true
		}
	}
	if m := ecrHost.FindStringSubmatch(domain); m != nil {
		return im.Account == "" || m[1] == im.Account
	}
	// Any loopback name with berth's port: localhost:5000, [::1]:5000.
	host, port, err := net.SplitHostPort(domain)
	_, ourPort, err2 := net.SplitHostPort(im.Registry)
	if err != nil || err2 != nil || port != ourPort {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
