// Package observe wraps every API in the same request log and Prometheus
// metrics: request counts and latencies by route and status, bytes in and
// out. Label values come from fixed sets (routes by the server's own mux
// patterns, methods from the standard ones), whatever clients send.
package observe

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds the HTTP metrics of one server.
type Metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	bytesIn  *prometheus.CounterVec
	bytesOut *prometheus.CounterVec

	lifecycleActions *prometheus.CounterVec
	gcBlobs          prometheus.Counter
	gcBytes          prometheus.Counter
	gcUploads        prometheus.Counter
}

// NewMetrics returns metrics registered on a fresh Prometheus registry,
// with the Go runtime and process collectors.
func NewMetrics() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_http_requests_total", Help: "HTTP requests by route, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "berth_http_request_duration_seconds", Help: "HTTP request latency by route and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"route", "method"}),
		bytesIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_http_request_bytes_total", Help: "Request body bytes received, by route.",
		}, []string{"route"}),
		bytesOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_http_response_bytes_total", Help: "Response body bytes sent, by route.",
		}, []string{"route"}),
	}
	m.lifecycleActions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "berth_lifecycle_images_total", Help: "Images lifecycle policies acted on, by action (expire, transition).",
	}, []string{"action"})
	m.gcBlobs = prometheus.NewCounter(prometheus.CounterOpts{Name: "berth_gc_blobs_deleted_total", Help: "Blobs garbage collection deleted."})
	m.gcBytes = prometheus.NewCounter(prometheus.CounterOpts{Name: "berth_gc_bytes_reclaimed_total", Help: "Bytes garbage collection freed in the blob store."})
	m.gcUploads = prometheus.NewCounter(prometheus.CounterOpts{Name: "berth_gc_uploads_purged_total", Help: "Abandoned upload sessions garbage collection purged."})
	m.registry.MustRegister(m.lifecycleActions, m.gcBlobs, m.gcBytes, m.gcUploads)
	m.registry.MustRegister(m.requests, m.latency, m.bytesIn, m.bytesOut,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// LifecycleAction counts one image a lifecycle policy acted on.
func (m *Metrics) LifecycleAction(action string) { m.lifecycleActions.WithLabelValues(action).Inc() }

// GCFreed counts what a garbage collection pass freed.
func (m *Metrics) GCFreed(blobs int, bytes int64, uploads int) {
	m.gcBlobs.Add(float64(blobs))
	m.gcBytes.Add(float64(bytes))
	m.gcUploads.Add(float64(uploads))
}

// Registry returns the Prometheus registry, for other packages' metrics.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// Register serves the metrics on mux at GET /metrics.
func (m *Metrics) Register(mux *http.ServeMux) {
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{}))
}

// Middleware serves mux, logging and measuring every request. Metric
// labels taken from a request come from fixed sets, so no client can grow
// the number of series: the method is a standard one or "OTHER", and the
// route is named by the mux pattern the request matches (see RouteNamer),
// never by its path.
func Middleware(log *slog.Logger, m *Metrics, mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 64 {
			id = newRequestID()
		}
		w.Header().Set("X-Request-Id", id)
		name, method := routeLabel(mux, r), methodLabel(r.Method)
		body := &countingReader{ReadCloser: r.Body}
		r.Body = body
		rw := &responseWriter{ResponseWriter: w, status: http.StatusOK}
		mux.ServeHTTP(rw, r)

		elapsed := time.Since(start)
		status := strconv.Itoa(rw.status)
		m.requests.WithLabelValues(name, method, status).Inc()
		m.latency.WithLabelValues(name, method).Observe(elapsed.Seconds())
		m.bytesIn.WithLabelValues(name).Add(float64(body.n))
		m.bytesOut.WithLabelValues(name).Add(float64(rw.n))
		level := slog.LevelInfo
		if rw.status >= 500 {
			level = slog.LevelError
		}
		log.Log(r.Context(), level, "request",
			"id", id, "method", r.Method, "path", r.URL.Path, "route", name,
			"status", rw.status, "bytes_in", body.n, "bytes_out", rw.n,
			"duration_ms", float64(elapsed.Microseconds())/1000, "remote", r.RemoteAddr)
	})
}

func newRequestID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

type countingReader struct {
	io.ReadCloser
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n += int64(n)
	return n, err
}

// responseWriter records the status and bytes sent. It passes ReadFrom
// through so blobs served from files still go out by sendfile.
type responseWriter struct {
	http.ResponseWriter
	status      int
	n           int64
	wroteHeader bool
}

func (w *responseWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.status, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	w.wroteHeader = true
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

func (w *responseWriter) ReadFrom(r io.Reader) (int64, error) {
	w.wroteHeader = true
	n, err := io.Copy(w.ResponseWriter, r)
	w.n += n
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush implements http.Flusher.
func (w *responseWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
