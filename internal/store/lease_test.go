package store

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// TestKeepRound: the lease is renewed each beat with its expiry moved to
// now+ttl; a failed renewal is reported and tried again; a renewal that
// finds the round taken over calls lost once and renewing stops; stop
// waits for the renewing to end.
func TestKeepRound(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	var expiries []time.Time
	var failures, losts int
	calls := 0
	lostCh := make(chan struct{})
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return start.Add(time.Duration(calls) * time.Second) }
	l := RoundLease{Owner: "me", Started: start, Expires: start.Add(time.Minute)}
	stop := KeepRound(context.Background(), l, time.Millisecond, time.Minute, now,
		func(_ context.Context, got RoundLease) (bool, error) {
			mu.Lock()
			defer mu.Unlock()
			calls++
			if got.Owner != "me" || !got.Started.Equal(start) {
				t.Errorf("renewed %+v", got)
			}
			switch calls {
			case 2:
				return false, errors.New("store down")
			case 4:
				return false, nil
			}
			expiries = append(expiries, got.Expires)
			return true, nil
		},
		func(error) { mu.Lock(); failures++; mu.Unlock() },
		func() { mu.Lock(); losts++; mu.Unlock(); close(lostCh) })
	select {
	case <-lostCh:
	case <-time.After(time.Minute):
		t.Fatal("lost never called")
	}
	stop()
	mu.Lock()
	defer mu.Unlock()
	if calls != 4 || failures != 1 || losts != 1 || len(expiries) != 2 {
		t.Fatalf("%d renewals, %d failures, %d lost, expiries %v; want 4, 1, 1 and 2", calls, failures, losts, expiries)
	}
	if !expiries[0].Equal(start.Add(time.Minute)) || !expiries[1].Equal(start.Add(2*time.Second+time.Minute)) {
		t.Fatalf("expiries %v", expiries)
	}
}
