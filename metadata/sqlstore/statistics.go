package sqlstore

import (
	"context"
	"time"

	"github.com/berth-dev/berth/metadata"
)

// dayNumber is the day of t as the statistics table keys it: days since
// 1970-01-01 in UTC.
func dayNumber(t time.Time) int64 {
	return metadata.Day(t).Unix() / 86400
}

// AddStatistic implements metadata.Statistics.
func (s *Store) AddStatistic(ctx context.Context, name string, at time.Time, delta int64) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO statistics(name, day, value) VALUES (?, ?, ?)
		ON CONFLICT(name, day) DO UPDATE SET value = statistics.value + excluded.value`, name, dayNumber(at), delta)
	return err
}

// SetStatistic implements metadata.Statistics.
func (s *Store) SetStatistic(ctx context.Context, name string, at time.Time, value int64) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO statistics(name, day, value) VALUES (?, ?, ?)
		ON CONFLICT(name, day) DO UPDATE SET value = excluded.value`, name, dayNumber(at), value)
	return err
}

// Statistic implements metadata.Statistics.
func (s *Store) Statistic(ctx context.Context, name string, from, to time.Time) ([]metadata.DailyValue, error) {
	return queryAll(ctx, s.read, func(row interface{ Scan(...any) error }) (metadata.DailyValue, error) {
		var v metadata.DailyValue
		var day int64
		err := row.Scan(&day, &v.Value)
		v.Day = time.Unix(day*86400, 0).UTC()
		return v, err
	}, `SELECT day, value FROM statistics WHERE name = ? AND day BETWEEN ? AND ? ORDER BY day`, name, dayNumber(from), dayNumber(to))
}
