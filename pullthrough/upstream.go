package pullthrough

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// Upstream is an upstream registry as a rule's upstreamRegistryUrl names
// it: "registry-1.docker.io", "https://quay.io", "http://127.0.0.1:5001".
type Upstream struct {
	Host string // host[:port]
	// Insecure is set for an http:// URL: plain HTTP to the upstream.
	Insecure bool
}

// ErrUpstreamURL: an upstream registry URL berth cannot use.
var ErrUpstreamURL = errors.New("pullthrough: invalid upstream registry URL")

// ParseUpstreamURL parses a rule's upstreamRegistryUrl: a host with an
// optional port, optionally after https:// or http://, and nothing else
// (no path, user, query or fragment). Errors wrap ErrUpstreamURL.
func ParseUpstreamURL(s string) (Upstream, error) {
	insecure := false
	rest := s
	switch {
	case strings.HasPrefix(rest, "https://"):
		rest = rest[len("https://"):]
	case strings.HasPrefix(rest, "http://"):
		rest, insecure = rest[len("http://"):], true
	case strings.Contains(rest, "://"):
		return Upstream{}, fmt.Errorf("%w: only https:// and http:// are supported", ErrUpstreamURL)
	}
	rest = strings.TrimSuffix(rest, "/")
	if rest == "" || strings.ContainsAny(rest, "/?#@ \t\r\n\\") {
		return Upstream{}, fmt.Errorf("%w: it must be a host with an optional port", ErrUpstreamURL)
	}
	u, err := url.Parse("https://" + rest)
	if err != nil || u.Host != rest || u.Hostname() == "" {
		return Upstream{}, fmt.Errorf("%w: it must be a host with an optional port", ErrUpstreamURL)
	}
	// A registry host is told from a repository path by a dot, a port or
	// being localhost, as image references tell them.
	if _, err := name.NewRepository(rest+"/x", name.StrictValidation); err != nil || !strings.ContainsAny(rest, ".:") && rest != "localhost" {
		return Upstream{}, fmt.Errorf("%w: it must be a registry host (with a dot or a port, or localhost)", ErrUpstreamURL)
	}
	return Upstream{Host: strings.ToLower(rest), Insecure: insecure}, nil
}

func (u Upstream) String() string {
	if u.Insecure {
		return "http://" + u.Host
	}
	return u.Host
}

// dockerHub reports whether u is Docker Hub, whose official images live
// under library/.
func (u Upstream) dockerHub() bool {
	switch u.Host {
	case "docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com":
		return true
	}
	return false
}

func (u Upstream) nameOptions() []name.Option {
	opts := []name.Option{name.StrictValidation}
	if u.Insecure {
		opts = append(opts, name.Insecure)
	}
	return opts
}

// Repository is repository path of u; on Docker Hub a one-part path is an
// official image, under library/ (pulling "alpine" pulls
// "library/alpine").
func (u Upstream) Repository(path string) (name.Repository, error) {
	if u.dockerHub() && !strings.Contains(path, "/") {
		path = "library/" + path
	}
	r, err := name.NewRepository(u.Host+"/"+path, u.nameOptions()...)
	if err != nil {
		return name.Repository{}, fmt.Errorf("pullthrough: upstream repository %q: %w", path, err)
	}
	return r, nil
}
