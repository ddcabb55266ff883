package main

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestSQLClass(t *testing.T) {
	for _, tc := range []struct {
		query string
		want  int
	}{
		{"SELECT digest FROM manifests WHERE repo = $1", sqlSelect},
		{"  select 1", sqlSelect},
		{"INSERT INTO blobs (digest) VALUES ($1) ON CONFLICT DO NOTHING", sqlInsert},
		{"UPDATE tags SET digest = $1", sqlUpdate},
		{"DELETE FROM uploads WHERE id = $1", sqlDelete},
		{"begin isolation level serializable", sqlTxn},
		{"COMMIT", sqlTxn},
		{"ROLLBACK", sqlTxn},
		{"WITH t AS (SELECT 1) INSERT INTO x SELECT * FROM t", sqlInsert},
		{"WITH t AS (SELECT 1) SELECT * FROM t", sqlSelect},
		{"/* berth */ UPDATE x SET y = 1", sqlUpdate},
		{"SELECT pg_advisory_xact_lock($1)", sqlSelect},
		{"SET statement_timeout = 0", sqlOther},
		{"", sqlOther},
		{"/* unterminated", sqlOther},
	} {
		if got := sqlClass(tc.query); got != tc.want {
			t.Errorf("sqlClass(%q) = %s, want %s", tc.query, sqlClassNames[got], sqlClassNames[tc.want])
		}
	}
}

func TestPGCounts(t *testing.T) {
	a := pgCounts{calls: [sqlClasses]int64{10, 4, 3, 2, 6, 1}, writeRows: 12, walBytes: 4096}
	b := pgCounts{calls: [sqlClasses]int64{4, 1, 1, 0, 2, 1}, writeRows: 2, walBytes: 1024}
	d := a.sub(b)
	if d.total() != 17 || d.writes() != 7 || d.writeRows != 10 || d.walBytes != 3072 {
		t.Errorf("a - b = %+v: total %d, writes %d; want 17 statements, 7 writes, 10 rows, 3072 WAL bytes", d, d.total(), d.writes())
	}
}

func TestS3Operation(t *testing.T) {
	q := func(s string) url.Values { v, _ := url.ParseQuery(s); return v }
	copyHeader := http.Header{"X-Amz-Copy-Source": {"/b/k"}}
	for _, tc := range []struct {
		method, path, query string
		header              http.Header
		want                string
	}{
		{"GET", "/bucket/blobs/abc", "", nil, "GetObject"},
		{"GET", "/bucket/", "list-type=2&prefix=uploads/", nil, "ListObjects"},
		{"GET", "/bucket/", "location=", nil, "GetBucketLocation"},
		{"GET", "/bucket/blobs/abc", "uploadId=u", nil, "ListParts"},
		{"HEAD", "/bucket/blobs/abc", "", nil, "HeadObject"},
		{"HEAD", "/bucket", "", nil, "HeadBucket"},
		{"PUT", "/bucket/blobs/abc", "", nil, "PutObject"},
		{"PUT", "/bucket/blobs/abc", "partNumber=2&uploadId=u", nil, "UploadPart"},
		{"PUT", "/bucket/blobs/abc", "partNumber=2&uploadId=u", copyHeader, "UploadPartCopy"},
		{"PUT", "/bucket/blobs/abc", "", copyHeader, "CopyObject"},
		{"PUT", "/bucket", "", nil, "CreateBucket"},
		{"POST", "/bucket/blobs/abc", "uploads=", nil, "CreateMultipartUpload"},
		{"POST", "/bucket/blobs/abc", "uploadId=u", nil, "CompleteMultipartUpload"},
		{"POST", "/bucket/", "delete=", nil, "DeleteObjects"},
		{"DELETE", "/bucket/blobs/abc", "uploadId=u", nil, "AbortMultipartUpload"},
		{"DELETE", "/bucket/uploads/u/tail-0", "", nil, "DeleteObject"},
		{"PATCH", "/bucket/x/y", "", nil, "PATCH other"},
	} {
		if got := s3Operation(tc.method, tc.path, q(tc.query), tc.header); got != tc.want {
			t.Errorf("%s %s?%s = %s, want %s", tc.method, tc.path, tc.query, got, tc.want)
		}
	}
	if !s3Read("GetObject") || !s3Read("HeadObject") || s3Read("ListObjects") || s3Read("PutObject") {
		t.Error("s3Read: GET and HEAD are reads; LIST and PUT are writes")
	}
}

func TestParseProcStat(t *testing.T) {
	// The command name may hold spaces and parentheses.
	line := "4242 (post gres) (x)) S 1 4200 4200 0 -1 4194560 100 0 0 0 250 50 7 3 20 0 1 0 100 1000 10"
	st, err := parseProcStat(line)
	if err != nil {
		t.Fatal(err)
	}
	if st.ppid != 1 || st.pgrp != 4200 || st.utime != 2.5 || st.stime != 0.5 || st.cutime != 0.07 || st.cstime != 0.03 {
		t.Errorf("parseProcStat = %+v", st)
	}
	if _, err := parseProcStat("1 (x) S 1 2"); err == nil {
		t.Error("a short line parsed")
	}
	if _, err := parseProcStat("1 (x) S 1 x 1 0 -1 0 0 0 0 0 1 1 0 0 20"); err == nil {
		t.Error("a line with a bad group parsed")
	}
	// This process and its children.
	if _, err := treeCPUSeconds(os.Getpid()); err != nil {
		t.Errorf("treeCPUSeconds of the test itself: %v", err)
	}
	if _, err := treeCPUSeconds(-1); err == nil {
		t.Error("treeCPUSeconds of no process succeeded")
	}
}

// fixtureScaling is a scaling run's results with made-up numbers.
func fixtureScaling() *scaleResults {
	cfg := scalingDefaults
	r := newScaleResults(cfg)
	r.info = machineInfo{
		date: time.Date(2026, 12, 4, 22, 0, 0, 0, time.UTC), cpu: "Example CPU", nproc: 2, memTotal: "23.4 GiB",
		kernel: "Linux 6.1.0", goVersion: "go1.26.8", berthRev: "built from the working tree (commit abc1234)",
		elapsed: 9*time.Minute + 30*time.Second, storage: "temp dir under /tmp (ext4 filesystem mounted at /)",
	}
	r.minioVer, r.pgVersion = "github.com/minio/minio v0.0.0-20260212201848-7aac2a2c5b7c", "15.14"
	for wl := range wlCount {
		for k := range scaleReplicas {
			for round := range 3 {
				images := float64(cfg.scalingClients)
				units := images * 64
				if wl == wlPull {
					images *= float64(cfg.scalingPullRepeats)
					units = images * 64
				}
				if wl == wlSmall {
					images = float64(cfg.scalingSmallImages)
					units = images
				}
				r.add(wl, k, scaleSample{
					units: units, images: images, seconds: float64(4 + wl + k + round),
					cpu: [cpuSlots]float64{3 + float64(k), 2, 0.5 + float64(wl), 1}, load: 4 + float64(round),
					pg: pgCounts{calls: [sqlClasses]int64{int64(10 * images), int64(4 * images), int64(2 * images), int64(images), int64(6 * images), 0}, writeRows: int64(8 * images), walBytes: int64(4096 * images)},
				})
			}
		}
	}
	r.headP50 = [2][]float64{{0.9, 1.0, 1.1}, {0.5, 0.6, 0.55}}
	r.headP99 = [2][]float64{{3, 4, 5}, {2, 2.5, 3}}
	r.s3Ops = [wlCount]map[string]int64{
		{"PutObject": 5, "CreateMultipartUpload": 4, "UploadPart": 8, "CompleteMultipartUpload": 4, "HeadObject": 5},
		{"GetObject": 5, "HeadObject": 5},
		{"PutObject": 40, "HeadObject": 20},
	}
	r.s3Images = [wlCount]float64{1, 1, 20}
	r.countPG = [wlCount]pgCounts{
		{calls: [sqlClasses]int64{30, 28, 5, 5, 14, 0}, writeRows: 38, walBytes: 20000},
		{calls: [sqlClasses]int64{6, 0, 0, 0, 0, 0}},
		{calls: [sqlClasses]int64{380, 260, 40, 40, 120, 0}, writeRows: 340, walBytes: 170000},
	}
	r.loads = []float64{3.5, 4.0, 5.25, 4.5}
	return r
}

// The scaling report renders as it did.
func TestScalingReport(t *testing.T) {
	doc := fixtureScaling().render()
	golden := filepath.Join("testdata", "scaling.md")
	if *update {
		if err := os.WriteFile(golden, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if doc != string(want) {
		got := filepath.Join(t.TempDir(), "scaling.md")
		os.WriteFile(got, []byte(doc), 0o644)
		t.Errorf("the scaling report differs from %s; see diff %s %s", golden, golden, got)
	}
}

// The command line names only the settings that differ from the defaults.
func TestScalingCommand(t *testing.T) {
	r := fixtureScaling()
	if got, want := r.command(), "go run ./bench -scaling"; got != want {
		t.Errorf("command() = %q, want %q", got, want)
	}
	r.cfg.runs, r.cfg.scalingClients = 3, 9
	if got, want := r.command(), "go run ./bench -scaling -runs 3 -scaling-clients 9"; got != want {
		t.Errorf("command() = %q, want %q", got, want)
	}
}
