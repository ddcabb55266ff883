package lambda

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/berth-dev/berth/metadata"
)

// UsageStore is where a Meter keeps its counts: the index's daily
// statistics.
type UsageStore interface {
	AddStatistic(ctx context.Context, name string, at time.Time, delta int64) error
	Statistic(ctx context.Context, name string, from, to time.Time) ([]metadata.DailyValue, error)
}

// The counts a Meter keeps per function and day.
const (
	usageInvocations = "invocations"
	usageErrors      = "errors"
	usageThrottles   = "throttles"
	// usageMBms is memory (MB) times billed duration (ms): GB-seconds in
	// whole numbers.
	usageMBms = "mb-ms"
)

// usageName is the statistic of one count of function fn.
func usageName(fn, count string) string { return "lambda/" + fn + "/" + count }

// Meter counts each function's invocations, errors, throttles and billed
// compute per day in the index, so that berth can say what the functions
// would have cost on AWS. It adds up observations in memory and writes
// them every interval (Run) and when it is flushed, as one statistic
// update per count rather than one per invocation.
type Meter struct {
	store UsageStore
	log   *slog.Logger

	mu      sync.Mutex
	pending map[usageKey]int64
}

type usageKey struct {
	name string
	day  time.Time
}

// NewMeter returns a meter over store.
func NewMeter(store UsageStore, log *slog.Logger) *Meter {
	if log == nil {
		log = slog.Default()
	}
	return &Meter{store: store, log: log, pending: map[usageKey]int64{}}
}

// Observe counts one invocation; pass it as RunnerConfig.Observe.
func (m *Meter) Observe(o Observation) {
	day := metadata.Day(time.Now())
	m.mu.Lock()
	defer m.mu.Unlock()
	if o.Throttled {
		m.pending[usageKey{usageName(o.Function, usageThrottles), day}]++
		return
	}
	m.pending[usageKey{usageName(o.Function, usageInvocations), day}]++
	if o.Error != "" {
		m.pending[usageKey{usageName(o.Function, usageErrors), day}]++
	}
	m.pending[usageKey{usageName(o.Function, usageMBms), day}] += int64(o.MemorySize) * o.Billed.Milliseconds()
}

// Run writes the counts every interval until ctx ends, and once more then.
func (m *Meter) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			m.Flush(context.WithoutCancel(ctx))
			return
		case <-t.C:
			m.Flush(ctx)
		}
	}
}

// Flush writes the counts observed since the last flush; those it could
// not write are kept for the next.
func (m *Meter) Flush(ctx context.Context) {
	m.mu.Lock()
	batch := m.pending
	m.pending = map[usageKey]int64{}
	m.mu.Unlock()
	for k, delta := range batch {
		if err := m.store.AddStatistic(ctx, k.name, k.day, delta); err != nil {
			m.log.Warn("lambda: recording usage", "statistic", k.name, "err", err)
			m.mu.Lock()
			m.pending[k] += delta
			m.mu.Unlock()
		}
	}
}

// Usage is what one function did over some days, and what that would
// cost on AWS.
type Usage struct {
	Function                       string
	Invocations, Errors, Throttles int64
	GBSeconds                      float64
	// Cost is in US dollars: the requests at Prices.RequestsPerMillion and
	// the GB-seconds at the price of the function's architecture.
	Cost float64
}

// Prices are Lambda's, in US dollars: per million requests and per
// GB-second by architecture.
type Prices struct {
	RequestsPerMillion float64
	GBSecondX86        float64
	GBSecondARM        float64
}

// Usage sums function name's counts over the days from from to to
// (counts not flushed yet included) and prices them for architecture
// ("x86_64" or "arm64").
func (m *Meter) Usage(ctx context.Context, name, architecture string, from, to time.Time, p Prices) (Usage, error) {
	u := Usage{Function: name}
	var mbms int64
	for _, c := range []struct {
		count string
		into  *int64
	}{{usageInvocations, &u.Invocations}, {usageErrors, &u.Errors}, {usageThrottles, &u.Throttles}, {usageMBms, &mbms}} {
		values, err := m.store.Statistic(ctx, usageName(name, c.count), from, to)
		if err != nil {
			return Usage{}, err
		}
		for _, v := range values {
			*c.into += v.Value
		}
		m.mu.Lock()
		for k, delta := range m.pending {
			if k.name == usageName(name, c.count) && !k.day.Before(metadata.Day(from)) && !k.day.After(metadata.Day(to)) {
				*c.into += delta
			}
		}
		m.mu.Unlock()
	}
	u.GBSeconds = float64(mbms) / 1024 / 1000
	perGBs := p.GBSecondX86
	if architecture == "arm64" {
		perGBs = p.GBSecondARM
	}
	u.Cost = float64(u.Invocations)*p.RequestsPerMillion/1e6 + u.GBSeconds*perGBs
	return u, nil
}
