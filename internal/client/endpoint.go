package client

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
)

// DefaultEndpoint is the server a command talks to when neither
// --endpoint nor BERTH_ENDPOINT names one: berth serve's default address.
const DefaultEndpoint = "http://localhost:5000"

// ResolveEndpoint picks the server's address: flag (--endpoint) when
// given, else BERTH_ENDPOINT, else DefaultEndpoint.
func ResolveEndpoint(flag string) string {
	if flag != "" {
		return flag
	}
	if env := os.Getenv("BERTH_ENDPOINT"); env != "" {
		return env
	}
	return DefaultEndpoint
}

// RegistryEndpoint returns the URL of the API of the registry docker
// names serverURL ("localhost:5000", "https://registry.example.com", ...):
// its scheme and host. With no scheme it is http for loopback hosts, where
// berth serves plain HTTP by default, and https elsewhere, as docker
// itself assumes.
func RegistryEndpoint(serverURL string) (string, error) {
	s := serverURL
	if !strings.Contains(s, "://") {
		host, _, _ := strings.Cut(s, "/")
		scheme := "https"
		if isLoopback(host) {
			scheme = "http"
		}
		s = scheme + "://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", fmt.Errorf("server URL %q: not a registry address (host[:port] or an http(s) URL)", serverURL)
	}
	return u.Scheme + "://" + u.Host, nil
}

// isLoopback reports whether host (with or without a port) is localhost
// or a loopback address: 127.0.0.0/8 or ::1.
func isLoopback(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
