package registry

import (
	"fmt"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// BenchmarkParseManifest parses what every manifest PUT parses: an image
// manifest with a config and a few layers, and an index of a few
// platforms.
func BenchmarkParseManifest(b *testing.B) {
	desc := func(mediaType string, i int) string {
		return fmt.Sprintf(`{"mediaType":%q,"digest":%q,"size":%d}`, mediaType, digest.FromString(fmt.Sprint(mediaType, i)), 1000+i)
	}
	var layers, children []string
	for i := range 5 {
		layers = append(layers, desc("application/vnd.oci.image.layer.v1.tar+gzip", i))
		children = append(children, strings.TrimSuffix(desc(ocispec.MediaTypeImageManifest, i), "}")+`,"platform":{"architecture":"amd64","os":"linux"}}`)
	}
	for _, bc := range []struct {
		name, mediaType, body string
	}{
		{"image", ocispec.MediaTypeImageManifest, `{"schemaVersion":2,"mediaType":"` + ocispec.MediaTypeImageManifest + `","config":` +
			desc("application/vnd.oci.image.config.v1+json", 0) + `,"layers":[` + strings.Join(layers, ",") + `],"annotations":{"org.opencontainers.image.created":"2026-01-01T00:00:00Z"}}`},
		{"index", ocispec.MediaTypeImageIndex, `{"schemaVersion":2,"mediaType":"` + ocispec.MediaTypeImageIndex + `","manifests":[` + strings.Join(children, ",") + `]}`},
	} {
		body := []byte(bc.body)
		if _, err := parseManifest(bc.mediaType, body); err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := parseManifest(bc.mediaType, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Descriptors decode into image-spec's type, so a member it defines must
// have its type: a platform that is not an object, or urls that are not
// strings, make the manifest invalid, as they do for the reference
// registry. Members it does not define are ignored.
func TestParseManifestDescriptorTypes(t *testing.T) {
	child := func(extra string) string {
		return `{"schemaVersion":2,"manifests":[{"mediaType":"` + ocispec.MediaTypeImageManifest + `","digest":"` +
			digest.FromString("child").String() + `","size":2` + extra + `}]}`
	}
	for extra, ok := range map[string]bool{
		`,"platform":{"os":"linux","architecture":"arm64","variant":"v8","features":["sse4"]}`: true,
		`,"urls":["https://example.com/layer"],"unknown":{"x":1}`:                              true,
		`,"platform":"linux/arm64"`:           false,
		`,"platform":{"os":1}`:                false,
		`,"urls":"https://example.com/layer"`: false,
	} {
		_, err := parseManifest("", []byte(child(extra)))
		if ok != (err == nil) {
			t.Errorf("descriptor with %s: %v; want accepted %v", extra, err, ok)
		}
	}
}
