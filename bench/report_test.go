package main

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the report tests' golden files")

// fixtureRun is a run's results with made-up numbers: three runs of every
// filesystem and S3 measurement.
func fixtureRun() (config, machineInfo, *results, *s3Results) {
	cfg := config{runs: 3, layerMiB: 64, layers: 4, smallImages: 300, smallWorkers: 8, pullClients: 16,
		pullRepeats: 3, heads: 1000, ceiling: true, fs: true, s3: true, commitGiB: 1}
	info := machineInfo{
		date: time.Date(2026, 11, 28, 14, 0, 0, 0, time.UTC), cpu: "Example CPU", nproc: 2, memTotal: "23.4 GiB",
		kernel: "Linux 6.1.0", goVersion: "go1.26.3", distVer: "github.com/docker/distribution v2.8.2",
		berthRev: "built from the working tree (commit abc1234)", loadBefore: "1.00 0.90 0.80", loadAfter: "1.50 1.10 0.90",
		cpuTotal: [2]float64{12.5, 40.25}, elapsed: 3*time.Minute + 4*time.Second, labels: [2]string{"berth", "Distribution 2.8.2"},
		ceiling: true, storage: "temp dir under /tmp (ext4 filesystem mounted at /)",
	}
	res := newResults(cfg)
	for k, m := range res.all() {
		for r := range 3 {
			base := float64(10 * (k + 1))
			m.add(slotBerth, base*float64(3+r))
			m.add(slotDist, base*float64(1+r))
			m.add(slotCeiling, base*float64(4+r))
			if m.cpu != nil {
				m.cpu.add(slotBerth, 0.5+float64(r)/10)
				m.cpu.add(slotDist, 1.5+float64(r)/10)
			}
		}
	}
	s3 := newS3Results(cfg)
	s3.minioVer = "github.com/minio/minio v0.0.0-20260212201848-7aac2a2c5b7c"
	s3.imageMiB = 256
	for r := range 3 {
		for i := range 4 {
			s3.push.add(i, float64(100+10*i+r))
			s3.pull.add(i, float64(200-10*i+r))
			s3.pushCPU.add(i, 1+float64(i)/4)
			s3.pushMinio.add(i, 2+float64(i)/4)
			s3.pullCPU.add(i, 0.5+float64(i)/4)
			s3.pullMinio.add(i, 1.5+float64(i)/4)
		}
		s3.pull.add(pullProxy, float64(185+r))
		s3.pullCPU.add(pullProxy, 0.9)
		s3.pullMinio.add(pullProxy, 2.1)
	}
	s3.commit = [2]commitResult{
		{ran: true, ms: 12.5, pushMiBs: 150, uploadID: "u1", objects: 1, stored: 1 << 30, size: 1 << 30},
		{ran: true, ms: 5400, pushMiBs: 90, size: 1 << 30},
	}
	s3.bucket = bucketCheck{done: true, objects: 12, bytes: 1000, want: 1000, blobs: 12}
	s3.rss = [4]float64{80, 60, 120, 400}
	s3.cpuTotal = map[string]float64{"berth (redirecting)": 3, "MinIO": 30, "Distribution 2.8.2 on MinIO": 20}
	return cfg, info, res, s3
}

// The report renders as it did: the whole of it for a full run, a
// filesystem-only A/A check and an S3-only run without the commit.
func TestRenderDoc(t *testing.T) {
	cfg, info, res, s3 := fixtureRun()
	aaCfg, aaInfo := cfg, info
	aaCfg.s3 = false
	aaInfo.aa = true
	aaInfo.ceiling = false
	s3Cfg := cfg
	s3Cfg.fs, s3Cfg.commitGiB = false, 0
	s3Only := *s3
	s3Only.commit = [2]commitResult{}
	s3Only.bucket.bytes = 999
	for name, args := range map[string]struct {
		cfg  config
		info machineInfo
		fs   *results
		s3   *s3Results
	}{
		"full":    {cfg, info, res, s3},
		"aa":      {aaCfg, aaInfo, res, nil},
		"s3-only": {s3Cfg, info, nil, &s3Only},
	} {
		doc, err := renderDoc(args.cfg, args.info, args.fs, args.s3)
		if err != nil {
			t.Fatalf("%s report: %v", name, err)
		}
		golden := filepath.Join("testdata", "report-"+name+".md")
		if *update {
			if err := os.MkdirAll("testdata", 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(golden, []byte(doc), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if doc != string(want) {
			got := filepath.Join(t.TempDir(), "report-"+name+".md")
			os.WriteFile(got, []byte(doc), 0o644)
			t.Errorf("the %s report differs from %s; see diff %s %s", name, golden, golden, got)
		}
	}
}
