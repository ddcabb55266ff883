package client

import "testing"

func TestRegistryEndpoint(t *testing.T) {
	for _, c := range []struct{ serverURL, want string }{
		{"localhost:5000", "http://localhost:5000"},
		{"localhost", "http://localhost"},
		{"LocalHost:5000/v2/", "http://LocalHost:5000"},
		{"127.0.0.1:5000", "http://127.0.0.1:5000"},
		{"127.1.2.3:5000", "http://127.1.2.3:5000"},
		{"[::1]:5000", "http://[::1]:5000"},
		{"registry.example.com", "https://registry.example.com"},
		{"10.0.0.5:5000", "https://10.0.0.5:5000"},
		{"https://registry.example.com/v1/", "https://registry.example.com"},
		{"http://registry.lan:5000", "http://registry.lan:5000"},
		{"ftp://registry.example.com", ""},
		{"https://", ""},
	} {
		got, err := RegistryEndpoint(c.serverURL)
		if got != c.want || (err != nil) != (c.want == "") {
			t.Errorf("RegistryEndpoint(%q) = %q, %v; want %q", c.serverURL, got, err, c.want)
		}
	}
}
