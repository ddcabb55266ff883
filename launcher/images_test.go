package launcher_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/berth-dev/berth/launcher"
	"github.com/distribution/reference"
)

const digest = "sha256:4c1f8a9d0f6e3b2a1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b"

var images = launcher.Images{
	Registry: "127.0.0.1:5000",
	Aliases:  []string{"registry.example.test:5443"},
	Account:  "123456789012",
}

func TestImagesResolve(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"app:1", "127.0.0.1:5000/app:1"},
		{"app", "127.0.0.1:5000/app:latest"},
		{"team/app:1", "127.0.0.1:5000/team/app:1"},
		{"app@" + digest, "127.0.0.1:5000/app@" + digest},
		{"app:1@" + digest, "127.0.0.1:5000/app:1@" + digest},
		{"localhost:5000/app:1", "127.0.0.1:5000/app:1"},
		{"LOCALHOST:5000/app:1", "127.0.0.1:5000/app:1"},
		{"127.0.0.1:5000/team/app:1", "127.0.0.1:5000/team/app:1"},
		{"127.0.0.2:5000/app:1", "127.0.0.1:5000/app:1"},
		{"[::1]:5000/app:1", "127.0.0.1:5000/app:1"},
		{"localhost:5001/app:1", "localhost:5001/app:1"}, // another local registry
		{"registry.example.test:5443/app:2", "127.0.0.1:5000/app:2"},
		{"123456789012.dkr.ecr.eu-west-3.amazonaws.com/app:1", "127.0.0.1:5000/app:1"},
		{"123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app@" + digest, "127.0.0.1:5000/team/app@" + digest},
		{"123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com/app", "127.0.0.1:5000/app:latest"},
		{"123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/app:1", "127.0.0.1:5000/app:1"},
		{"docker.io/library/busybox:1", "docker.io/library/busybox:1"},
		{"quay.io/org/img", "quay.io/org/img:latest"},
	} {
		got, err := images.Resolve(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestImagesResolveRefuses(t *testing.T) {
	for _, in := range []string{
		"",
		"App:1",
		"app:",
		"app@sha256:short",
		"/app",
		"app//x",
		"999999999999.dkr.ecr.us-east-1.amazonaws.com/app:1", // another account
	} {
		got, err := images.Resolve(in)
		if !errors.Is(err, launcher.ErrInvalidImage) {
			t.Errorf("Resolve(%q) = %q, %v; want ErrInvalidImage", in, got, err)
		}
	}
}

func TestImagesAnyAccount(t *testing.T) {
	got, err := launcher.Images{Registry: "127.0.0.1:5000"}.Resolve("999999999999.dkr.ecr.us-east-1.amazonaws.com/app:1")
	if err != nil || got != "127.0.0.1:5000/app:1" {
		t.Fatalf("got %q, %v", got, err)
	}
}

func ExampleImages_Resolve() {
	im := launcher.Images{Registry: "127.0.0.1:5000", Account: "000000000000"}
	for _, name := range []string{"app:1", "localhost:5000/app:1", "000000000000.dkr.ecr.us-east-1.amazonaws.com/team/app"} {
		ref, _ := im.Resolve(name)
		fmt.Println(ref)
	}
	// Output:
	// 127.0.0.1:5000/app:1
	// 127.0.0.1:5000/app:1
	// 127.0.0.1:5000/team/app:latest
}

// FuzzImagesResolve: any input either fails with ErrInvalidImage or gives
// a canonical reference that resolves to itself, and a name without a
// registry host always lands in berth's registry.
func FuzzImagesResolve(f *testing.F) {
	for _, s := range []string{"app:1", "localhost:5000/app:1", "app@" + digest, "[::1]:5000/a",
		"123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1", "quay.io/x/y:z", "A/b", "a:b:c", "x/y/z@sha256:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := images.Resolve(in)
		if err != nil {
			if !errors.Is(err, launcher.ErrInvalidImage) {
				t.Fatalf("Resolve(%q): %v is not ErrInvalidImage", in, err)
			}
			return
		}
		named, err := reference.ParseNamed(got)
		if err != nil {
			t.Fatalf("Resolve(%q) = %q, which is not canonical: %v", in, got, err)
		}
		if reference.IsNameOnly(named) {
			t.Fatalf("Resolve(%q) = %q has neither tag nor digest", in, got)
		}
		again, err := images.Resolve(got)
		if err != nil || again != got {
			t.Fatalf("Resolve(Resolve(%q)) = %q, %v; want %q", in, again, err, got)
		}
		if first, _, found := strings.Cut(in, "/"); !found || (first == strings.ToLower(first) && !strings.ContainsAny(first, ".:") && first != "localhost") {
			if reference.Domain(named) != images.Registry {
				t.Fatalf("Resolve(%q) = %q is not in berth's registry", in, got)
			}
		}
	})
}
