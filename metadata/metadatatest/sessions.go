package metadatatest

import (
	"errors"
	"testing"
	"time"

	"github.com/berth-dev/berth/metadata"
)

// A session is found until it expires, belongs to its access key (and
// goes with the key or its user), and is removed by signing out or by
// the sweep of expired ones.
func testSessions(t *testing.T, s metadata.Store) {
	ctx := t.Context()
	t0 := time.Unix(1_700_000_000, 0)
	mustCreateUser(t, s, metadata.User{Name: "alice"})
	mustCreateAccessKey(t, s, accessKey("AKIAALICE", "alice", t0))
	mustCreateAccessKey(t, s, accessKey("AKIAALICE2", "alice", t0))
	mustCreateUser(t, s, metadata.User{Name: "bob"})
	mustCreateAccessKey(t, s, accessKey("AKIABOB", "bob", t0))

	a := metadata.Session{ID: "hash-a", User: "alice", AccessKeyID: "AKIAALICE", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	mustCreateSession(t, s, a)
	assertSession(t, s, a, t0)
	if err := s.CreateSession(ctx, a); !errors.Is(err, metadata.ErrSessionExists) {
		t.Errorf("CreateSession of a taken ID: %v; want ErrSessionExists", err)
	}
	if err := s.CreateSession(ctx, metadata.Session{ID: "x", User: "alice", AccessKeyID: "AKIANONE", ExpiresAt: t0.Add(time.Hour)}); !errors.Is(err, metadata.ErrAccessKeyUnknown) {
		t.Errorf("CreateSession with an unknown key: %v; want ErrAccessKeyUnknown", err)
	}
	if _, err := s.Session(ctx, "x", t0); !errors.Is(err, metadata.ErrSessionUnknown) {
		t.Errorf("Session of a refused session: %v; want ErrSessionUnknown", err)
	}

	// Expired at the instant it ends.
	if _, err := s.Session(ctx, a.ID, a.ExpiresAt); !errors.Is(err, metadata.ErrSessionUnknown) {
		t.Errorf("Session at its expiry: %v; want ErrSessionUnknown", err)
	}
	assertSession(t, s, a, a.ExpiresAt.Add(-time.Nanosecond))

	// Signing out removes one session, twice is no error.
	b := metadata.Session{ID: "hash-b", User: "alice", AccessKeyID: "AKIAALICE", CreatedAt: t0, ExpiresAt: t0.Add(2 * time.Hour)}
	mustCreateSession(t, s, b)
	if err := s.DeleteSession(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSession(ctx, b.ID); err != nil {
		t.Errorf("DeleteSession of a missing session: %v", err)
	}
	if _, err := s.Session(ctx, b.ID, t0); !errors.Is(err, metadata.ErrSessionUnknown) {
		t.Errorf("Session after DeleteSession: %v", err)
	}
	assertSession(t, s, a, t0)

	// Sessions go with their key, and with their user's keys.
	other := metadata.Session{ID: "hash-other-key", User: "alice", AccessKeyID: "AKIAALICE2", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	bobs := metadata.Session{ID: "hash-bob", User: "bob", AccessKeyID: "AKIABOB", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	mustCreateSession(t, s, other)
	mustCreateSession(t, s, bobs)
	if err := s.DeleteAccessKey(ctx, "AKIAALICE2"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, other.ID, t0); !errors.Is(err, metadata.ErrSessionUnknown) {
		t.Errorf("Session of a deleted key: %v; want ErrSessionUnknown", err)
	}
	if err := s.DeleteUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, bobs.ID, t0); !errors.Is(err, metadata.ErrSessionUnknown) {
		t.Errorf("Session of a deleted user: %v; want ErrSessionUnknown", err)
	}
	assertSession(t, s, a, t0)

	// The sweep removes the expired only.
	late := metadata.Session{ID: "hash-late", User: "alice", AccessKeyID: "AKIAALICE", CreatedAt: t0, ExpiresAt: t0.Add(3 * time.Hour)}
	mustCreateSession(t, s, late)
	if n, err := s.DeleteExpiredSessions(ctx, a.ExpiresAt); err != nil || n != 1 {
		t.Errorf("DeleteExpiredSessions = %d, %v; want 1", n, err)
	}
	if n, err := s.DeleteExpiredSessions(ctx, a.ExpiresAt); err != nil || n != 0 {
		t.Errorf("DeleteExpiredSessions again = %d, %v; want 0", n, err)
	}
	assertSession(t, s, late, t0)
}

// A session survives a restart: any replica, and the next process, serve it.
func testSessionSurvivesReopen(t *testing.T, open Opener) {
	s := mustOpen(t, open)
	t0 := time.Unix(1_700_000_000, 0)
	mustCreateUser(t, s, metadata.User{Name: "alice"})
	mustCreateAccessKey(t, s, accessKey("AKIAALICE", "alice", t0))
	sn := metadata.Session{ID: "hash", User: "alice", AccessKeyID: "AKIAALICE", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	mustCreateSession(t, s, sn)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, open)
	assertSession(t, s, sn, t0)
}

func mustCreateSession(t *testing.T, s metadata.Store, sn metadata.Session) {
	t.Helper()
	if err := s.CreateSession(t.Context(), sn); err != nil {
		t.Fatalf("CreateSession(%s): %v", sn.ID, err)
	}
}

func assertSession(t *testing.T, s metadata.Store, want metadata.Session, at time.Time) {
	t.Helper()
	got, err := s.Session(t.Context(), want.ID, at)
	if err != nil || got.ID != want.ID || got.User != want.User || got.AccessKeyID != want.AccessKeyID ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) {
		t.Errorf("Session(%s, %v) = %+v, %v; want %+v", want.ID, at, got, err, want)
	}
}

// Statistics keep one value per name and day: added to, or set.
func testStatistics(t *testing.T, s metadata.Store) {
	ctx := t.Context()
	day1 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	day2, day4 := day1.AddDate(0, 0, 1), day1.AddDate(0, 0, 3)
	for _, step := range []struct {
		name  string
		at    time.Time
		delta int64
		set   bool
	}{
		{"gc", day1.Add(time.Hour), 10, false},
		{"gc", day1.Add(23 * time.Hour), 5, false},
		{"gc", day2.Add(time.Minute), 7, false},
		{"gc", day4, 1, false},
		{"stored", day1.Add(time.Hour), 100, true},
		{"stored", day1.Add(2 * time.Hour), 120, true},
		// Another zone's evening is still the UTC day it falls in.
		{"stored", day2.Add(time.Hour).In(time.FixedZone("west", -5*3600)), 130, true},
	} {
		var err error
		if step.set {
			err = s.SetStatistic(ctx, step.name, step.at, step.delta)
		} else {
			err = s.AddStatistic(ctx, step.name, step.at, step.delta)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	check := func(name string, from, to time.Time, want ...metadata.DailyValue) {
		t.Helper()
		got, err := s.Statistic(ctx, name, from, to)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("Statistic(%s, %v, %v) = %v; want %v", name, from, to, got, want)
		}
		for i := range got {
			if !got[i].Day.Equal(want[i].Day) || got[i].Value != want[i].Value {
				t.Errorf("Statistic(%s)[%d] = %v; want %v", name, i, got[i], want[i])
			}
		}
	}
	check("gc", day1, day4.Add(time.Hour), metadata.DailyValue{Day: day1, Value: 15}, metadata.DailyValue{Day: day2, Value: 7}, metadata.DailyValue{Day: day4, Value: 1})
	check("gc", day2.Add(time.Hour), day2.Add(2*time.Hour), metadata.DailyValue{Day: day2, Value: 7})
	check("stored", day1, day4, metadata.DailyValue{Day: day1, Value: 120}, metadata.DailyValue{Day: day2, Value: 130})
	check("never", day1, day4)
}
