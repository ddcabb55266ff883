package client

import (
	"strings"
	"testing"
)

const testDigest = "sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945"

func TestParseImage(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Image
	}{
		{"app", Image{Repository: "app", Tag: "latest"}},
		{"app:1", Image{Repository: "app", Tag: "1"}},
		{"team/app:v1.2", Image{Repository: "team/app", Tag: "v1.2"}},
		{"app@" + testDigest, Image{Repository: "app", Digest: testDigest}},
		{"app:1@" + testDigest, Image{Repository: "app", Tag: "1", Digest: testDigest}},
		{"localhost:5000/app:1", Image{Repository: "app", Tag: "1"}},
		{"localhost/team/app", Image{Repository: "team/app", Tag: "latest"}},
		{"127.0.0.1:5000/team/app:1", Image{Repository: "team/app", Tag: "1"}},
		{"registry.example.com/team/app:1", Image{Repository: "team/app", Tag: "1"}},
		{"000000000000.dkr.ecr.us-east-1.amazonaws.com/app:1", Image{Repository: "app", Tag: "1"}},
	} {
		got, err := ParseImage(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseImage(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "App:1", "app:", "app@sha256:short", ":1", "localhost:5000/", "a b"} {
		if got, err := ParseImage(bad); err == nil {
			t.Errorf("ParseImage(%q) = %+v; want an error", bad, got)
		} else if !strings.Contains(err.Error(), "want REPOSITORY:TAG or REPOSITORY@DIGEST") {
			t.Errorf("ParseImage(%q): %v; the error does not say what is wanted", bad, err)
		}
	}
}

func TestImageIDAndString(t *testing.T) {
	img := Image{Repository: "app", Tag: "1", Digest: testDigest}
	id := img.ID()
	if *id.ImageTag != "1" || *id.ImageDigest != testDigest || img.String() != "app:1@"+testDigest {
		t.Errorf("ID() = %v, String() = %q", id, img.String())
	}
	if id := (Image{Repository: "app", Tag: "1"}).ID(); id.ImageDigest != nil {
		t.Errorf("a tag's ID has a digest")
	}
}

// FuzzParseImage: any string either fails or names an image that
// String, behind a registry host, writes back exactly.
func FuzzParseImage(f *testing.F) {
	for _, s := range []string{"app", "app:1", "localhost:5000/team/app:1", "app@" + testDigest, "a.b/c", "UPPER", "x:y:z", "@"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		img, err := ParseImage(s)
		if err != nil {
			return
		}
		if img.Repository == "" || (img.Tag == "" && img.Digest == "") {
			t.Fatalf("ParseImage(%q) = %+v: no repository, or neither tag nor digest", s, img)
		}
		again, err := ParseImage("localhost:5000/" + img.String())
		if err != nil || again != img {
			t.Fatalf("ParseImage(%q) = %+v, but localhost:5000/%s parses to %+v, %v", s, img, img, again, err)
		}
	})
}
