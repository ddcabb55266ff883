package ui

import (
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// A page link's cursor comes from the browser: anything it holds is a
// 400, never a panic, and a cursor read back names the same place.
func FuzzCursor(f *testing.F) {
	f.Add("1700000000000000000,sha256:" + digest.FromString("x").Encoded())
	f.Add("0,sha256:" + digest.FromString("never pulled").Encoded())
	f.Add("")
	f.Add(",")
	f.Add("-1,sha512:abc")
	f.Add("99999999999999999999,sha256:")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseCursor(s)
		if err != nil {
			var pe *pageError
			if !errors.As(err, &pe) || pe.status != http.StatusBadRequest {
				t.Fatalf("parseCursor(%q): %v; want a 400 page", s, err)
			}
			return
		}
		if c.Digest == "" { // the first page
			return
		}
		again, err := parseCursor(formatCursor(c))
		if err != nil || !again.At.Equal(c.At) || again.Digest != c.Digest {
			t.Fatalf("parseCursor(%q) = %+v, which reads back as %+v, %v", s, c, again, err)
		}
	})
}

// An image's config comes from whoever pushed it: whatever its history
// says, every layer is shown once, in the manifest's order.
func FuzzHistory(f *testing.F) {
	f.Add([]byte(`{"history":[{"created_by":"COPY a /a"},{"created_by":"ENV X=1","empty_layer":true},{"created_by":"RUN make"}]}`), uint8(2))
	f.Add([]byte(`{"history":[]}`), uint8(3))
	f.Add([]byte(`{"history":[{"empty_layer":false},{"empty_layer":false},{"empty_layer":false}]}`), uint8(1))
	f.Add([]byte(`{"created":"2026-03-01T12:00:00Z","os":"<script>"}`), uint8(0))
	f.Fuzz(func(t *testing.T, config []byte, n uint8) {
		var cfg imageConfig
		if json.Unmarshal(config, &cfg) != nil {
			return
		}
		cfg.Built()
		cfg.PlatformName()
		layers := make([]ocispec.Descriptor, n%64)
		for i := range layers {
			layers[i].Size = int64(i)
		}
		next := 0
		for _, s := range history(cfg, layers) {
			if s.Layer == nil {
				continue
			}
			if s.Layer.Size != int64(next) {
				t.Fatalf("layer %d shown where layer %d belongs", s.Layer.Size, next)
			}
			next++
		}
		if next != len(layers) {
			t.Fatalf("%d of %d layers shown", next, len(layers))
		}
	})
}

// A log page's position comes from the browser (a link, or the live
// stream's Last-Event-ID): anything it holds is a 400, never a panic,
// and a position read back names the same place.
func FuzzPosition(f *testing.F) {
	f.Add("1772366400000.0.41")
	f.Add("-1.0.0")
	f.Add("9223372036854775807.9223372036854775807.9223372036854775807")
	f.Add("")
	f.Add("1.2")
	f.Add("a.b.c")
	f.Add("1..2")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parsePosition(s)
		if err != nil {
			var pe *pageError
			if !errors.As(err, &pe) || pe.status != http.StatusBadRequest {
				t.Fatalf("parsePosition(%q): %v; want a 400 page", s, err)
			}
			return
		}
		if again, err := parsePosition(formatPosition(p)); err != nil || again != p {
			t.Fatalf("parsePosition(%q) = %+v, which reads back as %+v, %v", s, p, again, err)
		}
	})
}

// A function writes its log, so a line that looks like a REPORT line may
// be anything: it is read as one, or not, never a panic; one Lambda's
// runner writes reads back whole.
func FuzzReportLine(f *testing.F) {
	f.Add("REPORT RequestId: 8f5e4c2a-1b3d-4e5f-8a9b-0c1d2e3f4a5b\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 20 MB\tInit Duration: 80.10 ms\t")
	f.Add("REPORT RequestId: x\tDuration: 3.00 ms\tStatus: error\tError Type: Runtime.ExitError\t")
	f.Add("REPORT RequestId: \t")
	f.Add("REPORT RequestId: a\tDuration:")
	f.Add("START RequestId: a Version: $LATEST")
	f.Fuzz(func(t *testing.T, line string) {
		r, ok := parseReport(line)
		if ok && (r.RequestID == "" || r.Duration == "") {
			t.Fatalf("parseReport(%q) = %+v: a report without its request or duration", line, r)
		}
	})
}

// The REPORT line's fields, as the runner writes them.
func TestParseReport(t *testing.T) {
	r, ok := parseReport("REPORT RequestId: abc\tDuration: 12.34 ms\tBilled Duration: 93 ms\tMemory Size: 128 MB\tMax Memory Used: 20 MB\tInit Duration: 80.10 ms\tStatus: error\tError Type: Runtime.ExitError\t\n")
	want := invocationRow{RequestID: "abc", Duration: "12.34 ms", Billed: "93 ms", Memory: "128 MB", MaxMemory: "20 MB",
		Init: "80.10 ms", Status: "error", ErrorType: "Runtime.ExitError"}
	if !ok || r != want {
		t.Errorf("parseReport = %+v, %v; want %+v", r, ok, want)
	}
	for _, line := range []string{"START RequestId: abc", "REPORT RequestId: abc", "report RequestId: abc\tDuration: 1 ms"} {
		if _, ok := parseReport(line); ok {
			t.Errorf("parseReport(%q) read a report", line)
		}
	}
}
