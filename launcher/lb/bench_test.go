package lb

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"slices"
	"testing"
	"time"
)

// BenchmarkAddedLatency measures a small GET three ways in the same run:
// straight to the target, through a minimal httputil.ReverseProxy (the
// yardstick: what any Go proxy costs), and through the listener. The
// three are interleaved, each iteration in a rotated order, so the
// machine's noise falls on all alike. It reports each one's p50 and p99
// and what the proxy and the listener add to the direct p50, in µs.
//
//	go test -run '^$' -bench AddedLatency -benchtime 20000x ./launcher/lb/
func BenchmarkAddedLatency(b *testing.B) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	defer target.Close()
	u, _ := url.Parse(target.URL)

	yardstick := httputil.NewSingleHostReverseProxy(u)
	yardstick.Transport = &http.Transport{MaxIdleConnsPerHost: 8}
	proxy := httptest.NewServer(yardstick)
	defer proxy.Close()

	l, err := Listen(b.Context(), 0, Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	addr := netip.MustParseAddrPort(u.Host)
	if err := l.Register(addr, Reported); err != nil {
		b.Fatal(err)
	}
	l.SetHealthy(addr, true)

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	names := []string{"direct", "proxy", "lb"}
	urls := []string{target.URL + "/", proxy.URL + "/", l.url("/")}
	send := func(url string) time.Duration {
		start := time.Now()
		resp, err := client.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("GET %s: %s", url, resp.Status)
		}
		return time.Since(start)
	}
	for range 200 { // warm connections and pools
		for _, u := range urls {
			send(u)
		}
	}

	lat := make([][]time.Duration, len(urls))
	turn := 0
	for b.Loop() {
		for k := range urls {
			i := (turn + k) % len(urls)
			lat[i] = append(lat[i], send(urls[i]))
		}
		turn++
	}
	µs := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
	p50 := make([]time.Duration, len(urls))
	for i, l := range lat {
		slices.Sort(l)
		p50[i] = l[len(l)/2]
		b.ReportMetric(µs(p50[i]), names[i]+"-p50-µs")
		b.ReportMetric(µs(l[len(l)*99/100]), names[i]+"-p99-µs")
	}
	b.ReportMetric(µs(p50[1]-p50[0]), "proxy-added-p50-µs")
	b.ReportMetric(µs(p50[2]-p50[0]), "lb-added-p50-µs")
}
