package registry

import (
	"fmt"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
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
		children = append(children, strings.TrimSuffix(desc(MediaTypeOCIManifest, i), "}")+`,"platform":{"architecture":"amd64","os":"linux"}}`)
	}
	for _, bc := range []struct {
		name, mediaType, body string
	}{
		{"image", MediaTypeOCIManifest, `{"schemaVersion":2,"mediaType":"` + MediaTypeOCIManifest + `","config":` +
			desc("application/vnd.oci.image.config.v1+json", 0) + `,"layers":[` + strings.Join(layers, ",") + `],"annotations":{"org.opencontainers.image.created":"2026-01-01T00:00:00Z"}}`},
		{"index", MediaTypeOCIIndex, `{"schemaVersion":2,"mediaType":"` + MediaTypeOCIIndex + `","manifests":[` + strings.Join(children, ",") + `]}`},
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
