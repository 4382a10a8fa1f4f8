package held

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

var errRevoked = errors.New("revoked")

// TestWatchEndsAtRefusal: a wait that would go on for a minute ends at
// the first check that refuses, with the refusal.
func TestWatchEndsAtRefusal(t *testing.T) {
	checks := 0
	err, ended := Watch(context.Background(), time.Millisecond, func(context.Context) error {
		if checks++; checks == 3 {
			return errRevoked
		}
		return nil
	}, func(ctx context.Context) error {
		select {
		case <-ctx.Done():
			// What the wait runs can tell why its context ended.
			if !errors.Is(context.Cause(ctx), errRevoked) {
				t.Errorf("the wait's context ended by %v, want the refusal", context.Cause(ctx))
			}
			return ctx.Err()
		case <-time.After(time.Minute):
			return nil
		}
	})
	if !ended || !errors.Is(err, errRevoked) || checks != 3 {
		t.Fatalf("Watch = %v, %v after %d checks; want the refusal, ended, after 3", err, ended, checks)
	}
}

// TestWatchKeepsWaitResult: without a refusal Watch returns what the wait
// returns, its failures included.
func TestWatchKeepsWaitResult(t *testing.T) {
	errBusy := errors.New("busy")
	for _, want := range []error{nil, errBusy} {
		checked := make(chan struct{})
		checks := 0
		err, ended := Watch(context.Background(), time.Millisecond, func(context.Context) error {
			if checks++; checks == 3 {
				close(checked)
			}
			return nil
		}, func(context.Context) error {
			<-checked // a few checks passed meanwhile
			return want
		})
		if ended || err != want {
			t.Fatalf("Watch = %v, %v; want %v, not ended", err, ended, want)
		}
	}
}

// TestWatchSucceededWaitStands: a wait that succeeded (it took a
// reservation) as a check refused is not turned into the refusal: its
// caller would never give back what it took.
func TestWatchSucceededWaitStands(t *testing.T) {
	err, ended := Watch(context.Background(), time.Millisecond, func(context.Context) error {
		return errRevoked
	}, func(ctx context.Context) error {
		<-ctx.Done() // the reservation came as the refusal ended the wait
		return nil
	})
	if ended || err != nil {
		t.Fatalf("Watch = %v, %v; want the wait's success, not ended", err, ended)
	}
}

// TestWatchNestedEndsAtOuterRefusal: a Watch run within another's wait
// ends when the outer check refuses, with ended true and the outer
// refusal, though its own check never refuses.
func TestWatchNestedEndsAtOuterRefusal(t *testing.T) {
	var inner error
	var innerEnded bool
	outer, ended := Watch(context.Background(), time.Millisecond, func(context.Context) error { return errRevoked }, func(ctx context.Context) error {
		inner, innerEnded = Watch(ctx, time.Hour, func(context.Context) error { return nil }, func(ctx context.Context) error {
			<-ctx.Done()
			return ctx.Err()
		})
		return inner
	})
	if !innerEnded || !errors.Is(inner, errRevoked) {
		t.Errorf("inner Watch = %v, %v; want the outer refusal, ended", inner, innerEnded)
	}
	if !ended || !errors.Is(outer, errRevoked) {
		t.Errorf("outer Watch = %v, %v; want its refusal, ended", outer, ended)
	}
}

// TestWatchMarksItsChecks: a check's context says it is one (Checking),
// the wait's doesn't: a test that compares the store reads of two
// requests leaves out those the clock made.
func TestWatchMarksItsChecks(t *testing.T) {
	var inCheck, inWait bool
	Watch(context.Background(), time.Millisecond, func(ctx context.Context) error {
		inCheck = Checking(ctx)
		return errRevoked
	}, func(ctx context.Context) error {
		inWait = Checking(ctx)
		<-ctx.Done()
		return ctx.Err()
	})
	if !inCheck || inWait {
		t.Errorf("Checking: %v in the check, %v in the wait; want true, false", inCheck, inWait)
	}
}

// TestSharedOneCheckPerKey: sixteen waits of one key in flight together
// share one check: the checks made while they last are at most one per
// interval, not one per wait and interval; a check that refuses ends them
// all with the refusal; and once they have ended the key's watch is gone.
func TestSharedOneCheckPerKey(t *testing.T) {
	const interval, waits = 2 * time.Millisecond, 16
	s := NewShared[string](interval)
	var checks atomic.Int64
	refuse := make(chan struct{})
	check := func(ctx context.Context) error {
		if !Checking(ctx) {
			t.Error("a shared check's context is not marked Checking")
		}
		checks.Add(1)
		select {
		case <-refuse:
			return errRevoked
		default:
			return nil
		}
	}
	start := time.Now()
	results := make(chan error, waits)
	for range waits {
		go func() {
			err, ended := s.Watch(context.Background(), "k", check, func(ctx context.Context) error {
				<-ctx.Done()
				return ctx.Err()
			})
			if !ended {
				err = fmt.Errorf("not ended: %w", err)
			}
			results <- err
		}()
	}
	for checks.Load() < 50 {
		runtime.Gosched()
	}
	n, elapsed := checks.Load(), time.Since(start)
	if most := int64(elapsed/interval) + 1; n > most {
		t.Errorf("%d checks in %v with %d waits in flight, want at most %d (one per %v)", n, elapsed, waits, most, interval)
	}
	close(refuse)
	for range waits {
		if err := <-results; !errors.Is(err, errRevoked) {
			t.Errorf("a wait ended with %v, want the refusal", err)
		}
	}
	s.mu.Lock()
	left := len(s.m)
	s.mu.Unlock()
	if left != 0 {
		t.Errorf("%d watches left after every wait ended", left)
	}
}

// TestSharedEnd: End ends the key's waits at once, with its refusal,
// though the check would not refuse for an hour; another key's wait goes
// on; a key with none in flight is left alone.
func TestSharedEnd(t *testing.T) {
	s := NewShared[string](time.Hour)
	s.End("nobody", errRevoked)
	never := func(context.Context) error { return nil }
	in := make(chan struct{}, 2)
	wait := func(ctx context.Context) error {
		in <- struct{}{}
		<-ctx.Done()
		return ctx.Err()
	}
	type result struct {
		err   error
		ended bool
	}
	a, b := make(chan result, 1), make(chan result, 1)
	bctx, cancelB := context.WithCancel(context.Background())
	go func() { err, ended := s.Watch(context.Background(), "a", never, wait); a <- result{err, ended} }()
	go func() { err, ended := s.Watch(bctx, "b", never, wait); b <- result{err, ended} }()
	<-in
	<-in
	s.End("a", errRevoked)
	if r := <-a; !r.ended || !errors.Is(r.err, errRevoked) {
		t.Errorf("the ended key's wait = %v, %v; want the refusal, ended", r.err, r.ended)
	}
	select {
	case r := <-b:
		t.Fatalf("another key's wait ended too: %v, %v", r.err, r.ended)
	default:
	}
	cancelB()
	if r := <-b; r.ended || !errors.Is(r.err, context.Canceled) {
		t.Errorf("the other key's wait = %v, %v; want its own cancellation, not ended", r.err, r.ended)
	}
}
