package lambda

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the functions' Prometheus metrics, labelled by function:
// the invocations, errors and throttles Lambda counts, the duration
// histogram, the invocations in flight (ConcurrentExecutions) and the
// GB-seconds Lambda bills.
type Metrics struct {
	invocations *prometheus.CounterVec
	errors      *prometheus.CounterVec
	throttles   *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	gbSeconds   *prometheus.CounterVec
}

// NewMetrics registers the metrics on reg; inFlight reports each
// function's invocations in flight when the metrics are scraped
// ([Runner.InFlight]).
func NewMetrics(reg prometheus.Registerer, inFlight func() map[string]int) (*Metrics, error) {
	label := []string{"function"}
	m := &Metrics{
		invocations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_lambda_invocations_total", Help: "Lambda invocations that ran, by function.",
		}, label),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_lambda_errors_total", Help: "Lambda invocations that failed (function errors, timeouts, crashes, failed inits), by function.",
		}, label),
		throttles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_lambda_throttles_total", Help: "Lambda invocations refused over a concurrency limit, by function.",
		}, label),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "berth_lambda_duration_seconds", Help: "Lambda invocation durations (Duration of the REPORT line), by function.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900},
		}, label),
		gbSeconds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "berth_lambda_gb_seconds_total", Help: "Compute Lambda would bill (billed duration times memory), by function.",
		}, label),
	}
	concurrent := concurrencyCollector{
		desc:     prometheus.NewDesc("berth_lambda_concurrent_executions", "Lambda invocations in flight, by function.", label, nil),
		inFlight: inFlight,
	}
	for _, c := range []prometheus.Collector{m.invocations, m.errors, m.throttles, m.duration, m.gbSeconds, concurrent} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Observe counts one invocation; pass it as RunnerConfig.Observe.
func (m *Metrics) Observe(o Observation) {
	if o.Throttled {
		m.throttles.WithLabelValues(o.Function).Inc()
		return
	}
	m.invocations.WithLabelValues(o.Function).Inc()
	if o.Error != "" {
		m.errors.WithLabelValues(o.Function).Inc()
	}
	m.duration.WithLabelValues(o.Function).Observe(o.Duration.Seconds())
	m.gbSeconds.WithLabelValues(o.Function).Add(o.GBSeconds())
}

// Forget drops a deleted function's series.
func (m *Metrics) Forget(function string) {
	for _, v := range []interface{ DeleteLabelValues(...string) bool }{m.invocations, m.errors, m.throttles, m.duration, m.gbSeconds} {
		v.DeleteLabelValues(function)
	}
}

// concurrencyCollector reads the invocations in flight at each scrape.
type concurrencyCollector struct {
	desc     *prometheus.Desc
	inFlight func() map[string]int
}

func (c concurrencyCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c concurrencyCollector) Collect(ch chan<- prometheus.Metric) {
	for fn, n := range c.inFlight() {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), fn)
	}
}
