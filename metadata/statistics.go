package metadata

import (
	"context"
	"time"
)

// DailyValue is a statistic's value on one day.
type DailyValue struct {
	// Day is the day's midnight in UTC.
	Day   time.Time
	Value int64
}

// Statistics records figures the index cannot work out afterwards, one
// value per name and day (UTC): how many bytes were stored on each day,
// how many garbage collection reclaimed. Names are the caller's; the
// index keeps them opaque.
type Statistics interface {
	// AddStatistic adds delta to statistic name on the day of at.
	AddStatistic(ctx context.Context, name string, at time.Time, delta int64) error
	// SetStatistic sets statistic name on the day of at to value.
	SetStatistic(ctx context.Context, name string, at time.Time, value int64) error
	// Statistic lists the values of name recorded on the days from the
	// day of from to the day of to, oldest first; days without a value
	// are left out.
	Statistic(ctx context.Context, name string, from, to time.Time) ([]DailyValue, error)
}

// Day returns the midnight (UTC) that starts the day of t: the day a
// statistic recorded at t counts for.
func Day(t time.Time) time.Time {
	return t.UTC().Truncate(24 * time.Hour)
}
