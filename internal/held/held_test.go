package held

import (
	"context"
	"errors"
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
