package lambda_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berth-dev/berth/launcher"
	"github.com/berth-dev/berth/launcher/lambda"
)

// The launcher's Lambda benchmarks, in one run (docs/benchmarks-launcher.md):
//
//	go test -run XXX -bench . -benchtime 10x ./launcher/lambda/
//
//   - BenchmarkWarmInvoke: a warm invocation's round trip, client → berth's
//     Invoke API over HTTP → the runtime in its container → back, for a
//     1 KB payload, 200 an iteration; p50 and p99 are reported.
//   - BenchmarkColdStart: a cold invocation (a new environment) against a
//     plain docker create and start of the same image, with the same
//     container settings, to its runtime's first Runtime API call; the
//     overhead is the difference of the medians.
//   - BenchmarkThroughput: 1,000 warm invocations over 10 environments.

// benchAPI is the API with a function of the test image, Active, and the
// URL of its invocations.
func benchAPI(b *testing.B) (*apiFixture, string, string) {
	b.Helper()
	f := testImage(b)
	r := newRunner(b, lambda.RunnerConfig{IdleTimeout: time.Hour})
	api := lambda.New(f.store, r, lambda.Config{AccountID: account, Region: "us-east-1", Access: allowAll{},
		Images: launcher.Images{Registry: f.Host, Account: account}})
	b.Cleanup(api.Close)
	a := &apiFixture{api: api, runner: r, reg: f}
	srv := serveAPI(b, api)
	name := strings.ReplaceAll(b.Name(), "/", "-")
	body := fmt.Sprintf(`{"FunctionName":%q,"Role":%q,"PackageType":"Image","Code":{"ImageUri":%q},"MemorySize":512}`, name, role, f.TagRef())
	resp, err := http.Post(srv+"/2015-03-31/functions", "application/json", strings.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		b.Fatalf("create: %s", resp.Status)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get(srv + "/2015-03-31/functions/" + name + "/configuration")
		if err != nil {
			b.Fatal(err)
		}
		cfg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(cfg), `"State":"Active"`) {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("the function is not Active: %s", cfg)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return a, srv, srv + "/2015-03-31/functions/" + name + "/invocations"
}

// kilobyte is a 1 KB JSON payload.
var kilobyte = []byte(`{"data":"` + strings.Repeat("x", 1024-11) + `"}`)

// invokeHTTP posts one invocation and reads its answer.
func invokeHTTP(b testing.TB, client *http.Client, url string, payload []byte) {
	resp, err := client.Post(url, "", bytes.NewReader(payload))
	if err != nil {
		b.Fatal(err)
	}
	out, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("X-Amz-Function-Error") != "" || len(out) != len(payload) {
		b.Fatalf("invoke: %s %v %.100s", resp.Status, err, out)
	}
}

// percentiles reports the p50 and p99 of durations in milliseconds.
func percentiles(b *testing.B, durations []time.Duration) {
	slices.Sort(durations)
	at := func(p float64) float64 {
		return float64(durations[int(p*float64(len(durations)-1))]) / float64(time.Millisecond)
	}
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}

func BenchmarkWarmInvoke(b *testing.B) {
	_, _, url := benchAPI(b)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	invokeHTTP(b, client, url, kilobyte) // the cold start
	// 200 invocations an iteration, so that one run with a few iterations
	// of every benchmark (-benchtime 10x) still has samples enough for
	// a p99.
	const perIteration = 200
	var durations []time.Duration
	for b.Loop() {
		for range perIteration {
			start := time.Now()
			invokeHTTP(b, client, url, kilobyte)
			durations = append(durations, time.Since(start))
		}
	}
	percentiles(b, durations)
}

func BenchmarkThroughput(b *testing.B) {
	const environments, invocations = 10, 1000
	a, _, url := benchAPI(b)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: environments}}
	// Warm 10 environments: 10 invocations held in flight at once.
	hold := newBarrier(b, environments)
	var wg sync.WaitGroup
	for range environments {
		wg.Go(func() {
			resp, err := client.Post(url, "", strings.NewReader(`{"action":"get","url":"`+hold.URL+`"}`))
			if err == nil {
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	name := url[strings.Index(url, "functions/")+len("functions/") : strings.LastIndex(url, "/")]
	if n := a.runner.Environments(name); n != environments {
		b.Fatalf("%d environments warm; want %d", n, environments)
	}
	for b.Loop() {
		start := time.Now()
		var wg sync.WaitGroup
		for range environments {
			wg.Go(func() {
				for range invocations / environments {
					invokeHTTP(b, client, url, kilobyte)
				}
			})
		}
		wg.Wait()
		b.ReportMetric(invocations/time.Since(start).Seconds(), "invokes/s")
	}
	if n := a.runner.Environments(name); n != environments {
		b.Errorf("%d environments after the run; want %d", n, environments)
	}
}

func BenchmarkColdStart(b *testing.B) {
	f := testImage(b)
	rt := newEngine(b)
	r := newRunner(b, lambda.RunnerConfig{IdleTimeout: time.Hour})
	name := strings.ReplaceAll(b.Name(), "/", "-")
	v := lambda.Version{Name: name, Version: "$LATEST", Image: f.Image(), MemorySize: 512, Timeout: 10 * time.Second, EphemeralStorage: 512}
	ctx := context.Background()
	var plain, berth []time.Duration
	i := 0
	for b.Loop() {
		i++
		// Plain: create and start the container as berth would, to the
		// runtime's first call.
		plain = append(plain, plainStart(b, rt, f.Image()))
		// berth: a cold invocation of a new revision, so a new
		// environment, then let it go.
		v.Revision = fmt.Sprint("r", i)
		start := time.Now()
		res, err := r.Invoke(ctx, v, lambda.Request{Payload: []byte(`{}`)})
		if err != nil || res.Init == 0 {
			b.Fatalf("cold invoke: %+v, %v", res, err)
		}
		berth = append(berth, time.Since(start))
		r.Retire(name)
	}
	median := func(d []time.Duration) time.Duration {
		s := slices.Clone(d)
		slices.Sort(s)
		return s[len(s)/2]
	}
	b.ReportMetric(float64(median(plain))/float64(time.Millisecond), "plain-ms")
	b.ReportMetric(float64(median(berth))/float64(time.Millisecond), "cold-ms")
	b.ReportMetric(float64(median(berth)-median(plain))/float64(time.Millisecond), "overhead-ms")
}

// plainStart creates and starts image as berth's environments are made
// (host network, read-only root, a /tmp, 512 MB), its Runtime API a bare
// listener, and returns the time from create to the runtime's first
// /next; the container is removed.
func plainStart(b *testing.B, rt launcher.Runtime, image string) time.Duration {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	first := make(chan time.Time, 1)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case first <- time.Now():
		default:
		}
		<-r.Context().Done()
	})}
	go srv.Serve(ln)
	defer srv.Close()
	ctx := context.Background()
	start := time.Now()
	id, err := rt.Create(ctx, launcher.Spec{
		Image: image, Network: launcher.NetworkHost, ReadOnlyRootfs: true, Tmpfs: map[string]string{"/tmp": "size=512m"},
		Limits: launcher.Limits{Memory: 512 << 20, CPUShares: lambda.CPUShares(512)},
		Env:    map[string]string{"AWS_LAMBDA_RUNTIME_API": ln.Addr().String()},
		Owner:  launcher.Owner{Service: "test", Task: "bench-plain"},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Remove(ctx, id)
	if err := rt.Start(ctx, id); err != nil {
		b.Fatal(err)
	}
	select {
	case at := <-first:
		return at.Sub(start)
	case <-time.After(time.Minute):
		b.Fatal("the runtime never called")
		return 0
	}
}
