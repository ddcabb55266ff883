package logs_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/berth-dev/berth/launcher/logs"
	"github.com/berth-dev/berth/metadata"
)

// benchEvents is how many events BenchmarkFilterLogEvents stores: the
// issue's "FilterLogEvents over 1 million stored events".
const benchEvents = 1_000_000

// logLine is a typical request log line of about 110 bytes.
func logLine(r *rand.Rand, i int) string {
	level := "INFO"
	if r.IntN(20) == 0 {
		level = "WARN"
	}
	return fmt.Sprintf("%s request id=%08x method=GET path=/api/v1/items/%d status=200 duration=%dms user=user%03d",
		level, r.Uint32(), r.IntN(100_000), r.IntN(500), i%1000)
}

// BenchmarkFilterLogEvents measures FilterLogEvents through the API (SDK
// client, HTTP, JSON) over one group of 1,000,000 events in 10 streams:
// a term no event holds, so the whole group is scanned, and a term most
// events hold, so a page fills (10,000 events or 1 MB).
func BenchmarkFilterLogEvents(b *testing.B) {
	f := newAPI(b, logs.StoreConfig{MaxStreamBytes: -1})
	ctx := context.Background()
	if err := f.store.CreateGroup(ctx, metadata.LogGroup{Name: "bench"}); err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	start := now.Add(-time.Hour).UnixMilli()
	const streams, batch = 10, 10_000
	for s := range streams {
		if err := f.store.CreateStream(ctx, "bench", fmt.Sprint("task/", s)); err != nil {
			b.Fatal(err)
		}
	}
	events := make([]metadata.LogEvent, batch)
	for i := 0; i < benchEvents; i += batch {
		for j := range events {
			n := i + j
			// 3.6 ms apart over the hour; streams take turns by batch.
			events[j] = metadata.LogEvent{Time: start + int64(n)*36/10, Message: logLine(r, n)}
		}
		if err := f.store.Append(ctx, "bench", fmt.Sprint("task/", (i/batch)%streams), events); err != nil {
			b.Fatal(err)
		}
	}
	for _, bm := range []struct {
		name, pattern string
		wantEvents    bool
	}{
		{"RareTermFullScan", "NEEDLE-absent", false},
		{"CommonTermFillsPage", "INFO", true},
		{"NoPatternFillsPage", "", true},
	} {
		b.Run(bm.name, func(b *testing.B) {
			in := &cwl.FilterLogEventsInput{LogGroupName: aws.String("bench"), FilterPattern: aws.String(bm.pattern)}
			cpu := cpuTime()
			for b.Loop() {
				out, err := f.client.FilterLogEvents(ctx, in)
				if err != nil {
					b.Fatal(err)
				}
				if (len(out.Events) > 0) != bm.wantEvents {
					b.Fatalf("%d events", len(out.Events))
				}
			}
			// CPU time tells the work apart from waiting for a shared machine's cores.
			b.ReportMetric(float64((cpuTime()-cpu).Milliseconds())/float64(b.N), "cpu-ms/op")
		})
	}
}

// cpuTime is the CPU time this process has used, in user and system mode.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkCapture measures the capture writer: lines of a container's
// output, with Docker's timestamps, from reader to the index.
func BenchmarkCapture(b *testing.B) {
	f := newAPI(b, logs.StoreConfig{MaxStreamBytes: -1})
	r := rand.New(rand.NewPCG(3, 4))
	var input bytes.Buffer
	const lines = 100_000
	ts := now
	for i := range lines {
		ts = ts.Add(time.Millisecond)
		fmt.Fprintf(&input, "%s %s\n", ts.Format(time.RFC3339Nano), logLine(r, i))
	}
	b.SetBytes(int64(input.Len()))
	i := 0
	for b.Loop() {
		dest := logs.Destination{Group: "bench", Stream: fmt.Sprint("run/", i), CreateGroup: true}
		i++
		if err := f.store.Capture(context.Background(), dest, bytes.NewReader(input.Bytes()), logs.DockerTimestamps); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(lines*b.N)/b.Elapsed().Seconds(), "lines/s")
}
