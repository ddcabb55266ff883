package inventory_test

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"

	"github.com/berth-dev/berth/scanner/inventory"
)

// tarOf returns a layer tar of regular files, given as name, content pairs.
func tarOf(files ...string) *bytes.Buffer {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i := 0; i+1 < len(files); i += 2 {
		tw.WriteHeader(&tar.Header{Name: files[i], Mode: 0o644, Size: int64(len(files[i+1]))})
		tw.Write([]byte(files[i+1]))
	}
	tw.Close()
	return &buf
}

func Example() {
	ctx := context.Background()
	base, err := inventory.ReadLayer(ctx, "sha256:base", tarOf(
		"etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n",
		"var/lib/dpkg/status", "Package: libssl3\nStatus: install ok installed\nSource: openssl\nVersion: 3.0.11-1~deb12u1\n",
		"opt/old/package-lock.json", `{"lockfileVersion":3,"packages":{"node_modules/lodash":{"version":"4.17.20"}}}`,
	))
	if err != nil {
		fmt.Println(err)
		return
	}
	app, err := inventory.ReadLayer(ctx, "sha256:app", tarOf(
		"opt/old/.wh.package-lock.json", "",
		"var/lib/dpkg/status", "Package: libssl3\nStatus: install ok installed\nSource: openssl\nVersion: 3.0.11-1~deb12u1\n\n"+
			"Package: curl\nStatus: install ok installed\nVersion: 7.88.1-10+deb12u5\n",
	))
	if err != nil {
		fmt.Println(err)
		return
	}

	inv := inventory.Squash([]*inventory.Layer{base, app})
	fmt.Println(inv.Distro.Ecosystem())
	for _, p := range inv.Packages {
		fmt.Println(p.Ecosystem, p.Name, p.Version, "source", p.SourceName, "from", p.Layer)
	}
	// Output:
	// Debian:12
	// dpkg curl 7.88.1-10+deb12u5 source curl from sha256:app
	// dpkg libssl3 3.0.11-1~deb12u1 source openssl from sha256:base
}
