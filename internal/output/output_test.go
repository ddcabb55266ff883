package output

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/smithy-go/middleware"
	"gopkg.in/yaml.v3"
)

// describeImages is an SDK answer with every kind of member Shape meets:
// pointers, enums set and unset, times, a map, lists present, empty and
// absent, and the SDK's ResultMetadata.
func describeImages() *ecr.DescribeImagesOutput {
	pushed := time.Date(2026, 5, 4, 3, 2, 1, 123e6, time.UTC)
	return &ecr.DescribeImagesOutput{
		ImageDetails: []types.ImageDetail{{
			ImageDigest:      aws.String("sha256:abc"),
			ImagePushedAt:    &pushed,
			ImageSizeInBytes: aws.Int64(1234),
			ImageStatus:      types.ImageStatusActive,
			ImageTags:        []string{"1", "stable"},
			ImageScanStatus:  &types.ImageScanStatus{Status: types.ScanStatusComplete},
			ImageScanFindingsSummary: &types.ImageScanFindingsSummary{
				FindingSeverityCounts: map[string]int32{"LOW": 2, "HIGH": 1},
			},
			RepositoryName: aws.String("app"),
		}, {
			ImageDigest: aws.String("sha256:def"),
			ImageTags:   []string{},
		}},
		ResultMetadata: middleware.Metadata{},
	}
}

func TestShapeUsesTheAPIsNames(t *testing.T) {
	b, err := json.Marshal(Shape(describeImages()))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"imageDetails":[` +
		`{"imageDigest":"sha256:abc","imagePushedAt":"2026-05-04T03:02:01.123000+00:00",` +
		`"imageScanFindingsSummary":{"findingSeverityCounts":{"HIGH":1,"LOW":2}},` +
		`"imageScanStatus":{"status":"COMPLETE"},"imageSizeInBytes":1234,"imageStatus":"ACTIVE",` +
		`"imageTags":["1","stable"],"repositoryName":"app"},` +
		`{"imageDigest":"sha256:def","imageTags":[]}]}`
	if string(b) != want {
		t.Errorf("Shape:\n got %s\nwant %s", b, want)
	}
}

func TestShapeKeepsTagsAndPlainValues(t *testing.T) {
	type tagged struct {
		At   string `json:"at"`
		Skip string `json:"-"`
		N    int
	}
	b, _ := json.Marshal(Shape(tagged{At: "x", Skip: "y", N: 0}))
	if string(b) != `{"at":"x","n":0}` {
		t.Errorf("Shape of a tagged struct: %s", b)
	}
	for _, v := range []any{"text", 3, nil, []string{"a"}} {
		got, _ := json.Marshal(Shape(v))
		want, _ := json.Marshal(v)
		if string(got) != string(want) {
			t.Errorf("Shape(%#v) = %s; want %s", v, got, want)
		}
	}
}

func TestPrintFormats(t *testing.T) {
	data := describeImages()
	var asJSON, asYAML bytes.Buffer
	if err := New(&asJSON, JSON, false).Print(data, nil); err != nil {
		t.Fatal(err)
	}
	if err := New(&asYAML, YAML, false).Print(data, nil); err != nil {
		t.Fatal(err)
	}
	var fromJSON, fromYAML map[string]any
	if err := json.Unmarshal(asJSON.Bytes(), &fromJSON); err != nil {
		t.Fatalf("JSON output: %v\n%s", err, asJSON.String())
	}
	if err := yaml.Unmarshal(asYAML.Bytes(), &fromYAML); err != nil {
		t.Fatalf("YAML output: %v\n%s", err, asYAML.String())
	}
	j, _ := json.Marshal(fromJSON)
	y, _ := json.Marshal(fromYAML)
	if string(j) != string(y) {
		t.Errorf("JSON and YAML say different things:\n%s\n%s", j, y)
	}
	if !strings.HasPrefix(asYAML.String(), "imageDetails:\n  - imageDigest: sha256:abc\n") {
		t.Errorf("YAML is not in block style, in the API's order:\n%s", asYAML.String())
	}
	var table bytes.Buffer
	called := false
	if err := New(&table, Table, false).Print(data, func() error { called = true; return nil }); err != nil || !called || table.Len() != 0 {
		t.Errorf("a table printer did not leave printing to the command: %v, %v, %q", err, called, table.String())
	}
}

func TestTimestamp(t *testing.T) {
	for in, want := range map[time.Time]string{
		time.Date(2026, 5, 4, 3, 2, 1, 0, time.UTC):                       "2026-05-04T03:02:01+00:00",
		time.Date(2026, 5, 4, 3, 2, 1, 99e6, time.UTC):                    "2026-05-04T03:02:01.099000+00:00",
		time.Date(2026, 5, 4, 5, 2, 1, 5e5, time.FixedZone("CEST", 7200)): "2026-05-04T03:02:01.000500+00:00",
	} {
		if got := Timestamp(in); got != want {
			t.Errorf("Timestamp(%v) = %s; want %s", in, got, want)
		}
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]Format{"table": Table, "JSON": JSON, "yaml": YAML} {
		if got, err := ParseFormat(in); got != want || err != nil {
			t.Errorf("ParseFormat(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseFormat("xml"); err == nil || !strings.Contains(err.Error(), "table, json, yaml") {
		t.Errorf("ParseFormat(xml): %v", err)
	}
}

func TestTableAlignsByVisibleWidth(t *testing.T) {
	tab := NewTable("SEVERITY", "NAME")
	tab.Row(Styled(BoldRed, "CRITICAL"), "CVE-1")
	tab.Row(Styled(Dim, "LOW"), "CVE-22")
	tab.Row("ünïcode", 7)
	for _, color := range []bool{false, true} {
		var b bytes.Buffer
		if err := New(&b, Table, color).Table(tab); err != nil {
			t.Fatal(err)
		}
		plain := stripANSI(b.String())
		want := "SEVERITY  NAME\nCRITICAL  CVE-1\nLOW       CVE-22\nünïcode   7\n"
		if plain != want {
			t.Errorf("colour %v: table reads\n%s\nwant\n%s", color, plain, want)
		}
		if hasANSI := strings.Contains(b.String(), "\x1b["); hasANSI != color {
			t.Errorf("colour %v: escape codes present: %v", color, hasANSI)
		}
	}
}

func TestFieldsAlign(t *testing.T) {
	var b bytes.Buffer
	New(&b, Table, false).Fields([2]string{"Name", "app"}, [2]string{"Scan on push", "yes"})
	if want := "Name:         app\nScan on push: yes\n"; b.String() != want {
		t.Errorf("Fields:\n%q\nwant\n%q", b.String(), want)
	}
}

func TestColorfulOnlyOnATerminal(t *testing.T) {
	var b bytes.Buffer
	if Colorful(&b) {
		t.Errorf("a buffer is colourful")
	}
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if Colorful(f) || IsTerminal(f) {
		t.Errorf("a file is a terminal")
	}
	t.Setenv("NO_COLOR", "1")
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		defer tty.Close()
		if Colorful(tty) {
			t.Errorf("the terminal is colourful with NO_COLOR set")
		}
	}
}

func TestProgressOffTheTerminalPrintsNothing(t *testing.T) {
	var b bytes.Buffer
	p := NewProgress(t.Context(), &b)
	task := p.Waiting("scanning app:1", "PENDING")
	task.SetStatus("IN_PROGRESS")
	task.Done("COMPLETE", true)
	p.Wait()
	if b.Len() != 0 {
		t.Errorf("progress off a terminal wrote %q", b.String())
	}
}

func stripANSI(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b {
			for i < len(s) && s[i] != 'm' {
				i++
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
