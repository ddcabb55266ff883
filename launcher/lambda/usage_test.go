package lambda_test

import (
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/berth-dev/berth/launcher/lambda"
	"github.com/berth-dev/berth/metadata/sqlite"
)

// The metrics count what the runner observes, and the concurrency gauge
// reads the invocations in flight when scraped.
func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	inFlight := map[string]int{"echo": 3}
	m, err := lambda.NewMetrics(reg, func() map[string]int { return inFlight })
	if err != nil {
		t.Fatal(err)
	}
	m.Observe(lambda.Observation{Function: "echo", Duration: 20 * time.Millisecond, Billed: 21 * time.Millisecond, MemorySize: 1024})
	m.Observe(lambda.Observation{Function: "echo", Error: "Sandbox.Timedout", Duration: time.Second, Billed: time.Second, MemorySize: 1024})
	m.Observe(lambda.Observation{Function: "echo", Throttled: true})
	want := `
# HELP berth_lambda_concurrent_executions Lambda invocations in flight, by function.
# TYPE berth_lambda_concurrent_executions gauge
berth_lambda_concurrent_executions{function="echo"} 3
# HELP berth_lambda_errors_total Lambda invocations that failed (function errors, timeouts, crashes, failed inits), by function.
# TYPE berth_lambda_errors_total counter
berth_lambda_errors_total{function="echo"} 1
# HELP berth_lambda_gb_seconds_total Compute Lambda would bill (billed duration times memory), by function.
# TYPE berth_lambda_gb_seconds_total counter
berth_lambda_gb_seconds_total{function="echo"} 1.021
# HELP berth_lambda_invocations_total Lambda invocations that ran, by function.
# TYPE berth_lambda_invocations_total counter
berth_lambda_invocations_total{function="echo"} 2
# HELP berth_lambda_throttles_total Lambda invocations refused over a concurrency limit, by function.
# TYPE berth_lambda_throttles_total counter
berth_lambda_throttles_total{function="echo"} 1
`
	names := []string{"berth_lambda_concurrent_executions", "berth_lambda_errors_total", "berth_lambda_gb_seconds_total",
		"berth_lambda_invocations_total", "berth_lambda_throttles_total"}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(reg, "berth_lambda_duration_seconds"); n != 1 {
		t.Errorf("%d duration series; want 1", n)
	}
	m.Forget("echo")
	if n := testutil.CollectAndCount(reg, "berth_lambda_invocations_total"); n != 0 {
		t.Errorf("%d invocation series after Forget; want 0", n)
	}
}

// The meter keeps its counts in the index per day, and prices them at
// AWS's prices for the function's architecture.
func TestMeterUsage(t *testing.T) {
	store, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "berth.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	m := lambda.NewMeter(store, nil)
	for range 3 {
		m.Observe(lambda.Observation{Function: "fn", Duration: 90 * time.Millisecond, Billed: 100 * time.Millisecond, MemorySize: 512})
	}
	m.Observe(lambda.Observation{Function: "fn", Error: "errorString", Billed: 1000 * time.Millisecond, MemorySize: 512})
	m.Observe(lambda.Observation{Function: "fn", Throttled: true})
	m.Observe(lambda.Observation{Function: "other", Billed: time.Second, MemorySize: 128})
	prices := lambda.Prices{RequestsPerMillion: 0.20, GBSecondX86: 0.0000166667, GBSecondARM: 0.0000133334}
	now := time.Now()
	check := func(when string) {
		t.Helper()
		for _, arch := range []string{"x86_64", "arm64"} {
			u, err := m.Usage(t.Context(), "fn", arch, now.Add(-24*time.Hour), now, prices)
			if err != nil {
				t.Fatal(err)
			}
			// 4 invocations of 512 MB: 3 × 0.1 s + 1 s = 1.3 s = 0.65 GB-s.
			perGBs := prices.GBSecondX86
			if arch == "arm64" {
				perGBs = prices.GBSecondARM
			}
			wantCost := 4*0.20/1e6 + 0.65*perGBs
			if u.Invocations != 4 || u.Errors != 1 || u.Throttles != 1 || math.Abs(u.GBSeconds-0.65) > 1e-9 || math.Abs(u.Cost-wantCost) > 1e-12 {
				t.Errorf("%s, %s: usage = %+v; want 4 invocations, 1 error, 1 throttle, 0.65 GB-s, $%g", when, arch, u, wantCost)
			}
		}
	}
	check("before a flush")
	m.Flush(t.Context())
	check("after a flush")
	// A new meter (a restart) reads what the last one wrote.
	check2 := lambda.NewMeter(store, nil)
	u, err := check2.Usage(t.Context(), "fn", "x86_64", now, now, prices)
	if err != nil || u.Invocations != 4 {
		t.Errorf("usage after a restart = %+v, %v", u, err)
	}
	if u, _ := check2.Usage(t.Context(), "fn", "x86_64", now.Add(-72*time.Hour), now.Add(-48*time.Hour), prices); u.Invocations != 0 {
		t.Errorf("usage of days without invocations = %+v", u)
	}
}
