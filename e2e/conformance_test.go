package e2e

import (
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// conformanceSettings turns on every API and data set of the OCI
// distribution-spec conformance suite, whatever the OCI_VERSION defaults,
// except OCI_DATA_SPARSE: berth refuses, by design, a manifest whose
// children have not been pushed.
var conformanceSettings = []string{
	"OCI_TLS=disabled",
	"OCI_API_PING=true",
	"OCI_API_PULL=true",
	"OCI_API_PUSH=true",
	"OCI_API_BLOBS_ATOMIC=true",
	"OCI_API_BLOBS_DELETE=true",
	"OCI_API_BLOBS_DIGEST_HEADER=true",
	"OCI_API_BLOBS_MOUNT_ANONYMOUS=true",
	"OCI_API_BLOBS_UPLOAD_CANCEL=true",
	"OCI_API_MANIFESTS_ATOMIC=true",
	"OCI_API_MANIFESTS_DELETE=true",
	"OCI_API_MANIFESTS_DIGEST_HEADER=true",
	"OCI_API_MANIFESTS_TAG_PARAM=true",
	"OCI_API_TAGS_ATOMIC=true",
	"OCI_API_TAGS_DELETE=true",
	"OCI_API_TAGS_LIST=true",
	"OCI_API_REFERRER=true",
	"OCI_DATA_IMAGE=true",
	"OCI_DATA_INDEX=true",
	"OCI_DATA_INDEX_LIST=true",
	"OCI_DATA_SPARSE=false",
	"OCI_DATA_ARTIFACT=true",
	"OCI_DATA_SUBJECT=true",
	"OCI_DATA_SUBJECT_MISSING=true",
	"OCI_DATA_ARTIFACT_LIST=true",
	"OCI_DATA_SUBJECT_LIST=true",
	"OCI_DATA_DATA_FIELD=true",
	"OCI_DATA_NONDISTRIBUTABLE=true",
	"OCI_DATA_CUSTOM_FIELDS=true",
	"OCI_DATA_NO_LAYERS=true",
	"OCI_DATA_EMPTY_BLOB=true",
	"OCI_DATA_SHA512=true",
}

// TestConformance runs the OCI distribution-spec conformance suite against
// a fresh berth for the 1.1 specification and for the spec's development
// head. Every check must pass: a failed or a skipped check fails the test.
func TestConformance(t *testing.T) {
	bin := requireTool(t, "conformance")
	for _, version := range []string{"1.1", "dev"} {
		t.Run("OCI_VERSION="+version, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, srv *server) {
				var extra []string
				if strings.HasSuffix(t.Name(), "/s3-redirect") {
					// A blob GET ends at the storage service's presigned
					// URL, which cannot carry Docker-Content-Digest (ECR's
					// S3 redirects do not either); the 307 itself does.
					extra = append(extra, "OCI_API_BLOBS_DIGEST_HEADER=false")
				}
				extra = append(extra, "OCI_USERNAME=AWS", "OCI_PASSWORD="+registryToken(t, srv.Addr, srv.adminKey(t)))
				runConformance(t, bin, srv.Addr, version, extra...)
			})
		})
	}
}

// runConformance runs the suite once and judges it by its junit.xml.
func runConformance(t *testing.T, bin, registry, version string, extra ...string) {
	// The results outlive a failed test so that its report can be read.
	resultsDir, err := os.MkdirTemp("", "berth-conformance-"+version+"-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !t.Failed() {
			os.RemoveAll(resultsDir)
		}
	})

	env := []string{
		"OCI_VERSION=" + version,
		"OCI_REGISTRY=" + registry,
		"OCI_RESULTS_DIR=" + resultsDir,
		"OCI_LOG=warn",
	}
	env = append(env, conformanceSettings...)
	env = append(env, extra...) // later settings win
	setup := func(c *exec.Cmd) {
		c.Dir = resultsDir // no stray oci-conformance.yaml is read
		c.Env = append(environWithout("OCI_"), env...)
	}
	start := time.Now()
	// The suite exits 1 when a check fails; its reports say which.
	stdout, runErr := execute(10*time.Minute, setup, bin)
	t.Logf("$ conformance (%.1fs) with %s", time.Since(start).Seconds(), strings.Join(env[:2], " "))

	report := filepath.Join(resultsDir, "report.html")
	suites, err := readJUnit(filepath.Join(resultsDir, "junit.xml"))
	if err != nil {
		t.Fatalf("reading the conformance results: %v\nrun: %v\n--- stdout:\n%s", err, runErr, tail([]byte(stdout), 8192))
	}
	t.Logf("%s; %s", resultLine(stdout), suites.summary())

	// The suite runs some checks once per blob or manifest under the same
	// name, so checks are grouped by name and the first of each is shown.
	failed, skipped := groupChecks(suites, "failure", "error"), groupChecks(suites, "skipped")
	if suites.Tests == 0 {
		t.Errorf("the conformance suite ran no checks")
	}
	for _, g := range failed {
		t.Errorf("conformance check %s%s: %s\n%s\n%s", g.first.Status, g.times(), g.first.Name,
			indent(strings.TrimSpace(g.first.Errors)), indent(tail([]byte(strings.TrimSpace(g.first.Output)), 6144)))
	}
	for _, g := range skipped {
		t.Errorf("conformance check skipped%s: %s\n%s", g.times(), g.first.Name, indent(strings.TrimSpace(g.first.Errors)))
	}
	if runErr != nil && len(failed) == 0 && len(skipped) == 0 {
		t.Errorf("the conformance suite failed although no check did: %v", runErr)
	}
	if t.Failed() {
		t.Logf("%d distinct checks failed and %d skipped (OCI_VERSION=%s); full report: %s",
			len(failed), len(skipped), version, report)
	}
}

// checkGroup is every run of one named check that ended in one of a set of
// statuses.
type checkGroup struct {
	first junitCase
	count int
}

// times is " (×N)" for a check that ran more than once, else "".
func (g *checkGroup) times() string {
	if g.count == 1 {
		return ""
	}
	return fmt.Sprintf(" (×%d)", g.count)
}

// groupChecks groups the cases whose status is one of statuses by name, in
// the order the suite ran them.
func groupChecks(s *junitSuites, statuses ...string) []*checkGroup {
	var groups []*checkGroup
	byName := map[string]*checkGroup{}
	for _, suite := range s.Suites {
		for _, c := range suite.Cases {
			if !slices.Contains(statuses, c.Status) {
				continue
			}
			g := byName[c.Name]
			if g == nil {
				g = &checkGroup{first: c}
				byName[c.Name] = g
				groups = append(groups, g)
			}
			g.count++
		}
	}
	return groups
}

// junitSuites is the part of the suite's junit.xml the test reads.
type junitSuites struct {
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Disabled int          `xml:"disabled,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name  string      `xml:"name,attr"`
	Cases []junitCase `xml:"testcase"`
}

// junitCase is one check. The suite writes its errors to system-out and
// the requests and responses it recorded to system-err.
type junitCase struct {
	Name   string `xml:"name,attr"`
	Status string `xml:"status,attr"` // passed, skipped, failure or error
	Errors string `xml:"system-out"`
	Output string `xml:"system-err"`
}

func readJUnit(path string) (*junitSuites, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s junitSuites
	if err := xml.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &s, nil
}

func (s *junitSuites) summary() string {
	passed := s.Tests - s.Failures - s.Errors - s.Skipped - s.Disabled
	return fmt.Sprintf("%d checks: %d passed, %d failed, %d errors, %d skipped, %d disabled",
		s.Tests, passed, s.Failures, s.Errors, s.Skipped, s.Disabled)
}

// resultLine picks the suite's own verdict line out of its stdout.
func resultLine(stdout string) string {
	for line := range strings.Lines(stdout) {
		if strings.HasPrefix(line, "OCI Conformance Result:") {
			return strings.TrimSpace(line)
		}
	}
	return "OCI Conformance Result: (not printed)"
}

// environWithout is the process environment less the variables whose names
// start with prefix.
func environWithout(prefix string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, prefix) {
			env = append(env, kv)
		}
	}
	return env
}

// indent prefixes every line of s for nesting under a log line.
func indent(s string) string {
	if s == "" {
		return ""
	}
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}
