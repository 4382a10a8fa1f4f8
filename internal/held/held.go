// Package held runs a wait that a request makes after its access was
// checked (for its share of a budget, a checkpoint, a CPU) while checking
// again, at an interval, that the request may still have its answer: a
// member revoked meanwhile, or whose read was taken, is answered at once,
// not after the wait. The TAXII handler, the node's own routes and the web
// UI's sessions ([Shared]) use it.
package held

import (
	"context"
	"errors"
	"sync"
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

// Shared watches waits by key (a session): the waits of one key in flight
// together share one check, run every interval by one goroutine while any
// of them lasts, so that a key's checks cost the same however many
// requests of it are in flight, and a key with none costs nothing; and
// [Shared.End] ends them at once, for an end that this process made (a
// logout), without waiting for the next check. The zero value is not
// usable: make one with [NewShared].
type Shared[K comparable] struct {
	interval time.Duration
	mu       sync.Mutex
	m        map[K]*shared
}

// shared is the watch of one key: ctx ends, with a [refusal] as its
// cause, when the check refused or [Shared.End] was called; n counts the
// waits that joined it and have not ended.
type shared struct {
	ctx  context.Context
	stop context.CancelCauseFunc
	n    int
}

// NewShared returns a Shared that runs each key's check every interval.
func NewShared[K comparable](interval time.Duration) *Shared[K] {
	return &Shared[K]{interval: interval, m: map[K]*shared{}}
}

// Watch is [Watch], but the check runs once per interval for all the
// waits of key in flight together (the check of the wait that found none
// in flight; its context carries none of the request's values, only
// [Checking]), and the wait ends at once when [Shared.End] is called for
// key. A wait that joins a key whose watch already refused ends at once
// with its refusal.
func (s *Shared[K]) Watch(ctx context.Context, key K, check, wait func(context.Context) error) (err error, ended bool) {
	sh := s.join(key, check)
	defer s.leave(key, sh)
	wctx, stop := context.WithCancelCause(ctx)
	unhook := context.AfterFunc(sh.ctx, func() {
		if c := context.Cause(sh.ctx); c != nil && errors.As(c, new(refusal)) {
			stop(c)
		}
	})
	err = wait(wctx)
	unhook()
	stop(nil)
	var r refusal
	if err != nil && errors.As(context.Cause(wctx), &r) {
		return r.err, true
	}
	return err, false
}

// End ends now, with refusal err, every wait of key in flight in this
// process, as if its check had refused. It does nothing when none is.
func (s *Shared[K]) End(key K, err error) {
	s.mu.Lock()
	sh := s.m[key]
	s.mu.Unlock()
	if sh != nil {
		sh.stop(refusal{err})
	}
}

func (s *Shared[K]) join(key K, check func(context.Context) error) *shared {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sh := s.m[key]; sh != nil {
		sh.n++
		return sh
	}
	ctx, stop := context.WithCancelCause(context.WithValue(context.Background(), checkingKey{}, true))
	sh := &shared{ctx: ctx, stop: stop, n: 1}
	s.m[key] = sh
	go func() {
		t := time.NewTicker(s.interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := check(ctx); err != nil {
					stop(refusal{err})
					return
				}
			}
		}
	}()
	return sh
}

// leave ends the watch of key when sh's last wait has ended.
func (s *Shared[K]) leave(key K, sh *shared) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sh.n--; sh.n == 0 {
		delete(s.m, key)
		sh.stop(nil)
	}
}
