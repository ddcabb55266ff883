package ecr_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/opencontainers/go-digest"

	"github.com/berth-dev/berth/ecr"
	"github.com/berth-dev/berth/internal/clocktest"
	"github.com/berth-dev/berth/metadata"
	"github.com/berth-dev/berth/metadata/sqlite"
	"github.com/berth-dev/berth/registry"
	"github.com/berth-dev/berth/scanner"
	"github.com/berth-dev/berth/storage"
	"github.com/berth-dev/berth/storage/filesystem"
)

// tarFile is one entry of a test layer.
type tarFile struct {
	name string
	body string
}

// layerOf returns a gzipped tar layer of files.
func layerOf(t *testing.T, files ...tarFile) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		io.WriteString(tw, f.body)
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

const dpkgStatus = `Package: openssl
Status: install ok installed
Version: 3.0.11-1~deb12u1

Package: libssl3
Status: install ok installed
Source: openssl
Version: 3.0.11-1~deb12u1

Package: zlib1g
Status: install ok installed
Source: zlib
Version: 1:1.2.13.dfsg-1

Package: removedpkg
Status: deinstall ok config-files
Source: openssl
Version: 3.0.11-1~deb12u1
`

// osvFixture writes an OSV database: an openssl CVE fixed after the
// installed version (CVSS 7.5, HIGH), an unfixed zlib CVE with urgency
// unimportant (INFORMATIONAL), a zlib CVE fixed at 1.3 without an epoch
// (no hit: the installed epoch 1 sorts higher), and an npm lodash CVE for
// a lockfile the image deletes.
func osvFixture(t *testing.T, dir string, extra ...string) {
	t.Helper()
	records := map[string][]string{
		"Debian": {
			`{"id":"DEBIAN-CVE-2024-0001","modified":"2024-06-01T00:00:00Z","upstream":["CVE-2024-0001"],"details":"openssl crash",
			  "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}],
			  "affected":[{"package":{"ecosystem":"Debian:12","name":"openssl"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"3.0.13-1~deb12u1"}]}]}]}`,
			`{"id":"DEBIAN-CVE-2024-0002","modified":"2024-05-01T00:00:00Z","upstream":["CVE-2024-0002"],"details":"zlib oddity",
			  "affected":[{"package":{"ecosystem":"Debian:12","name":"zlib"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}],"ecosystem_specific":{"urgency":"unimportant"}}]}`,
			`{"id":"DEBIAN-CVE-2024-0003","modified":"2024-05-01T00:00:00Z","upstream":["CVE-2024-0003"],"details":"old zlib",
			  "affected":[{"package":{"ecosystem":"Debian:12","name":"zlib"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.3"}]}]}]}`,
		},
		"npm": {
			`{"id":"GHSA-lodash","modified":"2024-01-01T00:00:00Z","aliases":["CVE-2021-23337"],"summary":"lodash injection","database_specific":{"severity":"HIGH"},
			  "affected":[{"package":{"ecosystem":"npm","name":"lodash"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"4.17.21"}]}]}]}`,
		},
	}
	records["Debian"] = append(records["Debian"], extra...)
	for eco, recs := range records {
		if err := os.MkdirAll(filepath.Join(dir, eco), 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(filepath.Join(dir, eco, "all.zip"))
		if err != nil {
			t.Fatal(err)
		}
		zw := zip.NewWriter(f)
		for i, r := range recs {
			w, _ := zw.Create(fmt.Sprintf("r%d.json", i))
			io.WriteString(w, r)
		}
		zw.Close()
		f.Close()
	}
}

// countingBlobs counts layer reads, and can hold them until released.
type countingBlobs struct {
	storage.Driver
	opens atomic.Int64
	gate  chan struct{}
}

func (c *countingBlobs) Open(ctx context.Context, location string) (storage.File, error) {
	c.opens.Add(1)
	if c.gate != nil {
		<-c.gate
	}
	return c.Driver.Open(ctx, location)
}

// A pushed image is scanned on push; the scan goes PENDING, IN_PROGRESS,
// COMPLETE; the findings are exactly the vulnerable OS packages by source
// name (a deinstalled package and a whited-out lockfile are not
// reported); a new database re-matches without reading a layer; an image
// with no OS is UNSUPPORTED_IMAGE; StartImageScan is limited to one a day.
func TestScanOnPush(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	clock := clocktest.New(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	store, err := sqlite.Open(ctx, filepath.Join(dir, "berth.db"), sqlite.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	fs, err := filesystem.New(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	blobs := &countingBlobs{Driver: fs, gate: make(chan struct{})}
	osvDir := filepath.Join(dir, "osv")
	osvFixture(t, osvDir)
	scan, err := scanner.New(ctx, store, blobs, osvDir, nil, scanner.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	reg := registry.New(store, blobs, nil, registry.Config{RegistryID: account, Now: clock.Now, Pushed: func(ctx context.Context, m metadata.Manifest) {
		if err := scan.OnPush(ctx, m.Repository, m.Digest); err != nil {
			t.Errorf("OnPush(%s, %s): %v", m.Repository, m.Digest, err)
		}
	}})
	defer reg.Close(context.Background())
	api, err := ecr.New(ctx, store, reg, ecr.Config{AccountID: account, Access: allowAll{}, Scanner: scan, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	srv := serve(t, api, reg)
	client := sdkecr.New(sdkecr.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AK", SecretAccessKey: "s"}, nil
		})})

	if _, err := client.CreateRepository(ctx, &sdkecr.CreateRepositoryInput{RepositoryName: aws.String("app"),
		ImageScanningConfiguration: &types.ImageScanningConfiguration{ScanOnPush: true}}); err != nil {
		t.Fatal(err)
	}
	lower := layerOf(t,
		tarFile{"etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n"},
		tarFile{"var/lib/dpkg/status", dpkgStatus},
		tarFile{"opt/old/package-lock.json", `{"lockfileVersion":3,"packages":{"":{},"node_modules/lodash":{"version":"4.17.20"}}}`})
	upper := layerOf(t, tarFile{"opt/old/.wh.package-lock.json", ""})
	dgst := pushLayers(t, srv.URL, "app", "v1", lower, upper)

	status := func(d digest.Digest) string {
		sc, err := store.Scan(ctx, "app", d)
		if err != nil {
			return err.Error()
		}
		return sc.Status
	}
	if got := status(dgst); got != scanner.StatusPending {
		t.Errorf("status right after the push = %s; want PENDING", got)
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go scan.Run(runCtx, 1)
	waitStatus(t, func() string { return status(dgst) }, scanner.StatusInProgress)
	close(blobs.gate) // let the layer reads through
	waitStatus(t, func() string { return status(dgst) }, scanner.StatusComplete)

	out, err := client.DescribeImageScanFindings(ctx, &sdkecr.DescribeImageScanFindingsInput{RepositoryName: aws.String("app"), ImageId: &types.ImageIdentifier{ImageTag: aws.String("v1")}})
	if err != nil {
		t.Fatal(err)
	}
	if out.ImageScanStatus.Status != types.ScanStatusComplete || out.ImageScanFindings.VulnerabilitySourceUpdatedAt == nil ||
		!aws.ToTime(out.ImageScanFindings.VulnerabilitySourceUpdatedAt).Equal(time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("status %+v, source updated %v", out.ImageScanStatus, out.ImageScanFindings.VulnerabilitySourceUpdatedAt)
	}
	want := []string{
		"CVE-2024-0001 libssl3 3.0.11-1~deb12u1 HIGH",
		"CVE-2024-0001 openssl 3.0.11-1~deb12u1 HIGH",
		"CVE-2024-0002 zlib1g 1:1.2.13.dfsg-1 INFORMATIONAL",
	}
	if got := findingKeys(out.ImageScanFindings.Findings); !slices.Equal(got, want) {
		t.Errorf("findings = %q; want %q", got, want)
	}
	if c := out.ImageScanFindings.FindingSeverityCounts; len(c) != 2 || c["HIGH"] != 2 || c["INFORMATIONAL"] != 1 {
		t.Errorf("findingSeverityCounts = %v", c)
	}
	// Paging.
	page, err := client.DescribeImageScanFindings(ctx, &sdkecr.DescribeImageScanFindingsInput{RepositoryName: aws.String("app"),
		ImageId: &types.ImageIdentifier{ImageTag: aws.String("v1")}, MaxResults: aws.Int32(2)})
	if err != nil || len(page.ImageScanFindings.Findings) != 2 || page.NextToken == nil {
		t.Errorf("first page of 2: %+v, %v", page, err)
	}
	// DescribeImages carries the summary.
	images, _ := client.DescribeImages(ctx, &sdkecr.DescribeImagesInput{RepositoryName: aws.String("app")})
	if d := images.ImageDetails[0]; d.ImageScanStatus == nil || d.ImageScanStatus.Status != types.ScanStatusComplete || d.ImageScanFindingsSummary.FindingSeverityCounts["HIGH"] != 2 {
		t.Errorf("DescribeImages scan fields = %+v %+v", d.ImageScanStatus, d.ImageScanFindingsSummary)
	}
	// One scan a day.
	v1 := &sdkecr.StartImageScanInput{RepositoryName: aws.String("app"), ImageId: &types.ImageIdentifier{ImageTag: aws.String("v1")}}
	_, err = client.StartImageScan(ctx, v1)
	assertCode(t, err, "LimitExceededException")
	clock.Advance(24*time.Hour - time.Second)
	_, err = client.StartImageScan(ctx, v1)
	assertCode(t, err, "LimitExceededException")
	clock.Advance(time.Second)
	if _, err := client.StartImageScan(ctx, v1); err != nil {
		t.Errorf("StartImageScan a day after the last: %v", err)
	}
	waitStatus(t, func() string { return status(dgst) }, scanner.StatusComplete)

	// A new database: zlib now fixed at an epoch-1 version above the
	// installed one, and a second openssl CVE. Reload re-matches the stored
	// inventory and reads no layer.
	opened := blobs.opens.Load()
	osvFixture(t, osvDir,
		`{"id":"DEBIAN-CVE-2024-0009","modified":"2024-07-01T00:00:00Z","upstream":["CVE-2024-0009"],"details":"another openssl bug",
		  "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
		  "affected":[{"package":{"ecosystem":"Debian:12","name":"openssl"},"versions":["3.0.11-1~deb12u1"]}]}`)
	n, err := scan.Reload(ctx)
	if err != nil || n != 1 {
		t.Fatalf("Reload re-matched %d scans, %v; want 1", n, err)
	}
	if blobs.opens.Load() != opened {
		t.Errorf("a rescan read %d layers; want none", blobs.opens.Load()-opened)
	}
	out, _ = client.DescribeImageScanFindings(ctx, &sdkecr.DescribeImageScanFindingsInput{RepositoryName: aws.String("app"), ImageId: &types.ImageIdentifier{ImageTag: aws.String("v1")}})
	if c := out.ImageScanFindings.FindingSeverityCounts; c["CRITICAL"] != 2 || c["HIGH"] != 2 {
		t.Errorf("after the reload: %v", c)
	}

	// No OS, no package database: UNSUPPORTED_IMAGE.
	scratch := pushLayers(t, srv.URL, "app", "scratch", layerOf(t, tarFile{"hello.txt", "hi"}))
	waitStatus(t, func() string { return status(scratch) }, scanner.StatusUnsupported)

	// A multi-platform index is scanned per platform: its scan holds the
	// findings of every image it lists that can be scanned.
	index := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[`+
		`{"mediaType":%q,"digest":%q,"size":1,"platform":{"os":"linux","architecture":"amd64"}},`+
		`{"mediaType":%q,"digest":%q,"size":1,"platform":{"os":"linux","architecture":"arm64"}}]}`, ociManifest, dgst, ociManifest, scratch)
	send(t, "PUT", srv.URL+"/v2/app/manifests/multi", "application/vnd.oci.image.index.v1+json", []byte(index), http.StatusCreated)
	indexDigest := digest.FromBytes([]byte(index))
	waitStatus(t, func() string { return status(indexDigest) }, scanner.StatusComplete)
	out, _ = client.DescribeImageScanFindings(ctx, &sdkecr.DescribeImageScanFindingsInput{RepositoryName: aws.String("app"), ImageId: &types.ImageIdentifier{ImageTag: aws.String("multi")}})
	if c := out.ImageScanFindings.FindingSeverityCounts; c["CRITICAL"] != 2 || c["HIGH"] != 2 || c["INFORMATIONAL"] != 1 {
		t.Errorf("index findings = %v; want the amd64 image's", c)
	}
	_, err = client.DescribeImageScanFindings(ctx, &sdkecr.DescribeImageScanFindingsInput{RepositoryName: aws.String("app"), ImageId: &types.ImageIdentifier{ImageTag: aws.String("nope")}})
	assertCode(t, err, "ImageNotFoundException")

	// A scan left pending when the server stopped is run by the next one.
	stop()
	if err := store.PutScan(ctx, metadata.Scan{Repository: "app", Digest: scratch, Status: scanner.StatusPending, StartedAt: clock.Now()}); err != nil {
		t.Fatal(err)
	}
	restarted, err := scanner.New(ctx, store, blobs, osvDir, nil, scanner.WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	go restarted.Run(ctx, 1)
	go restarted.Resume(ctx, time.Hour)
	waitStatus(t, func() string { return status(scratch) }, scanner.StatusUnsupported)
}

// findingKeys is "NAME package version SEVERITY" per finding, sorted.
func findingKeys(fs []types.ImageScanFinding) []string {
	var out []string
	for _, f := range fs {
		attrs := map[string]string{}
		for _, a := range f.Attributes {
			attrs[aws.ToString(a.Key)] = aws.ToString(a.Value)
		}
		out = append(out, fmt.Sprintf("%s %s %s %s", aws.ToString(f.Name), attrs["package_name"], attrs["package_version"], f.Severity))
	}
	slices.Sort(out)
	return out
}

func waitStatus(t *testing.T, get func() string, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for got := get(); got != want; got = get() {
		if time.Now().After(deadline) {
			t.Fatalf("scan status %s; waited for %s", got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// pushLayers pushes an image of the gzipped layers to repo:tag and returns
// its digest.
func pushLayers(t *testing.T, base, repo, tag string, layers ...[]byte) digest.Digest {
	t.Helper()
	config := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers"}}`)
	descs := ""
	for i, l := range layers {
		send(t, "POST", base+"/v2/"+repo+"/blobs/uploads/?digest="+digest.FromBytes(l).String(), "", l, http.StatusCreated)
		if i > 0 {
			descs += ","
		}
		descs += fmt.Sprintf(`{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":%q,"size":%d}`, digest.FromBytes(l), len(l))
	}
	send(t, "POST", base+"/v2/"+repo+"/blobs/uploads/?digest="+digest.FromBytes(config).String(), "", config, http.StatusCreated)
	m := fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":%q,"digest":%q,"size":%d},"layers":[%s]}`,
		ociManifest, ociConfig, digest.FromBytes(config), len(config), descs)
	send(t, "PUT", base+"/v2/"+repo+"/manifests/"+tag, ociManifest, []byte(m), http.StatusCreated)
	return digest.FromBytes([]byte(m))
}

// The registry scanning configuration decides scan on push by repository
// filter, and BatchGetRepositoryScanningConfiguration reports it.
func TestRegistryScanningConfiguration(t *testing.T) {
	client, _, _ := newAPI(t)
	ctx := t.Context()
	for _, name := range []string{"prod/app", "dev/app"} {
		if _, err := client.CreateRepository(ctx, &sdkecr.CreateRepositoryInput{RepositoryName: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := client.GetRegistryScanningConfiguration(ctx, &sdkecr.GetRegistryScanningConfigurationInput{})
	if err != nil || got.ScanningConfiguration.ScanType != types.ScanTypeBasic || len(got.ScanningConfiguration.Rules) != 0 {
		t.Fatalf("default configuration = %+v, %v", got, err)
	}
	_, err = client.PutRegistryScanningConfiguration(ctx, &sdkecr.PutRegistryScanningConfigurationInput{ScanType: types.ScanTypeBasic,
		Rules: []types.RegistryScanningRule{{ScanFrequency: types.ScanFrequencyScanOnPush,
			RepositoryFilters: []types.ScanningRepositoryFilter{{Filter: aws.String("prod/*"), FilterType: types.ScanningRepositoryFilterTypeWildcard}}}}})
	if err != nil {
		t.Fatal(err)
	}
	got, _ = client.GetRegistryScanningConfiguration(ctx, &sdkecr.GetRegistryScanningConfigurationInput{})
	if len(got.ScanningConfiguration.Rules) != 1 || aws.ToString(got.ScanningConfiguration.Rules[0].RepositoryFilters[0].Filter) != "prod/*" {
		t.Errorf("stored configuration = %+v", got.ScanningConfiguration)
	}
	batch, err := client.BatchGetRepositoryScanningConfiguration(ctx, &sdkecr.BatchGetRepositoryScanningConfigurationInput{RepositoryNames: []string{"prod/app", "dev/app", "gone"}})
	if err != nil {
		t.Fatal(err)
	}
	freq := map[string]types.ScanFrequency{}
	for _, c := range batch.ScanningConfigurations {
		freq[aws.ToString(c.RepositoryName)] = c.ScanFrequency
	}
	if freq["prod/app"] != types.ScanFrequencyScanOnPush || freq["dev/app"] != types.ScanFrequencyManual || len(batch.Failures) != 1 {
		t.Errorf("BatchGetRepositoryScanningConfiguration = %v, failures %+v", freq, batch.Failures)
	}
	_, err = client.PutRegistryScanningConfiguration(ctx, &sdkecr.PutRegistryScanningConfigurationInput{Rules: []types.RegistryScanningRule{{ScanFrequency: "SOMETIMES",
		RepositoryFilters: []types.ScanningRepositoryFilter{{Filter: aws.String("*"), FilterType: types.ScanningRepositoryFilterTypeWildcard}}}}})
	assertCode(t, err, "ValidationException")
}

// A registry scanning configuration stored before the scanner owned it
// (the request as this API stored it) reads back and still decides.
func TestRegistryScanningConfigurationStoredEarlier(t *testing.T) {
	client, store, _ := newAPI(t)
	ctx := t.Context()
	earlier := `{"scanType":"BASIC","rules":[{"scanFrequency":"SCAN_ON_PUSH","repositoryFilters":[{"filterType":"WILDCARD","filter":"prod/*"}]}]}`
	if err := store.PutSetting(ctx, "ecr.registryScanningConfiguration", earlier); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CreateRepository(ctx, &sdkecr.CreateRepositoryInput{RepositoryName: aws.String("prod/app")}); err != nil {
		t.Fatal(err)
	}
	got, err := client.GetRegistryScanningConfiguration(ctx, &sdkecr.GetRegistryScanningConfigurationInput{})
	if err != nil || got.ScanningConfiguration.ScanType != types.ScanTypeBasic || len(got.ScanningConfiguration.Rules) != 1 ||
		got.ScanningConfiguration.Rules[0].ScanFrequency != types.ScanFrequencyScanOnPush ||
		aws.ToString(got.ScanningConfiguration.Rules[0].RepositoryFilters[0].Filter) != "prod/*" ||
		got.ScanningConfiguration.Rules[0].RepositoryFilters[0].FilterType != types.ScanningRepositoryFilterTypeWildcard {
		t.Fatalf("GetRegistryScanningConfiguration = %+v, %v", got, err)
	}
	batch, err := client.BatchGetRepositoryScanningConfiguration(ctx, &sdkecr.BatchGetRepositoryScanningConfigurationInput{RepositoryNames: []string{"prod/app"}})
	if err != nil || len(batch.ScanningConfigurations) != 1 {
		t.Fatalf("BatchGetRepositoryScanningConfiguration = %+v, %v", batch, err)
	}
	c := batch.ScanningConfigurations[0]
	if c.ScanFrequency != types.ScanFrequencyScanOnPush || !c.ScanOnPush || len(c.AppliedScanFilters) != 1 || aws.ToString(c.AppliedScanFilters[0].Filter) != "prod/*" {
		t.Errorf("prod/app scanning = %+v", c)
	}
}
