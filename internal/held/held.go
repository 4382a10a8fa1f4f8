// Package held runs a wait that a request makes after its access was
// checked (for its share of a budget, a checkpoint, a CPU) while checking
// again, at an interval, that the request may still have its answer: a
// member revoked meanwhile, or whose read was taken, is answered at once,
// not after the wait. The TAXII handler and the node's own routes use it.
package held

import (
	"context"
	"errors"
	"time"
)

// Watch runs wait with a context that is cancelled, every interval, as
// soon as check returns an error (a refusal: the answer the request would
// get if it asked now); when that ended the wait (wait failed), Watch
// returns the refusal and ended true. Otherwise it returns what wait
// returns and ended false: a wait that succeeded stands even when a
// check refused as it ended, so that what it took (a reservation) is
// given back by the caller's usual path, which checks again before it
// answers. The wait's context, once a check refused, ends with a cause
// that wraps the refusal ([context.Cause], [errors.Is]); so a Watch run
// within another's wait (a node's wait within a web UI request's) ends,
// with ended true, at the outer check's refusal too, which it returns.
// check should return nil when it cannot decide (a store that doesn't
// answer for a moment): the wait goes on.
func Watch(ctx context.Context, interval time.Duration, check, wait func(context.Context) error) (err error, ended bool) {
	wctx, stop := context.WithCancelCause(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-wctx.Done():
				return
			case <-t.C:
				if err := check(context.WithValue(wctx, checkingKey{}, true)); err != nil {
					stop(refusal{err})
					return
				}
			}
		}
	}()
	err = wait(wctx)
	stop(nil)
	<-watched
	var r refusal
	if err != nil && errors.As(context.Cause(wctx), &r) {
		return r.err, true
	}
	return err, false
}

type checkingKey struct{}

// Checking reports whether ctx is that of a check [Watch] runs: its
// store reads come from the clock (one each interval while the wait
// lasts), not from what the request asked, so that a test comparing the
// store reads of two requests (a hidden and an absent id) leaves them out.
func Checking(ctx context.Context) bool { return ctx.Value(checkingKey{}) != nil }

// refusal is the cause with which Watch ends a wait: what the wait's
// context ended by ([context.Cause]) wraps the check's refusal, so that
// whatever the wait runs (a whole request) can tell, by [errors.Is], why
// its context ended.
type refusal struct{ err error }

func (r refusal) Error() string { return r.err.Error() }
func (r refusal) Unwrap() error { return r.err }
