package store

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// ErrFenced: the caller's fence is stale, because another holder acquired
// the lease since the caller did (or the caller never held it); the write
// that carried the fence changed nothing.
var ErrFenced = errors.New("fenced out: another holder has the lease")

// IntegratorLease is the name of the lease that the log's integrator
// holds; [LogStore.Integrate] checks its fence.
const IntegratorLease = "log-integrator"

// Leases are named, expiring, fenced locks, so that of several node
// processes sharing one store only one does a job (the log's integration)
// at a time, and one that lost its lease (it paused past the expiry, and
// another took over) can't write any more.
//
// A lease is held by one holder (an id the caller chooses, unique per
// process) until it expires, by the store's clock. Each time a different
// holder acquires it, its fence grows: a holder's fence is current until
// someone else acquires the lease, whether or not the lease has expired
// meanwhile. Writes guarded by a lease ([LogStore.Integrate]) carry the
// fence and are refused with [ErrFenced] when it isn't current, in the
// same transaction as the write: expiry alone decides who may acquire,
// the fence who may write.
type Leases interface {
	// AcquireLease takes the lease name for holder until ttl from now.
	// When the lease is free, has expired, or is already holder's, it
	// succeeds (ok) and returns the holder's fence: the same fence when
	// holder already had it and no one took it meanwhile, a larger one
	// than any before otherwise. When another holder has it unexpired,
	// ok is false and nothing changes. ErrInvalid for an empty name or
	// holder or a ttl <= 0.
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (fence int64, ok bool, err error)
	// RenewLease extends holder's lease to ttl from now. It fails with
	// [ErrFenced], changing nothing, when fence is not the lease's current
	// fence held by holder (someone else acquired it since).
	RenewLease(ctx context.Context, name, holder string, fence int64, ttl time.Duration) error
	// ReleaseLease ends holder's lease now, so that another holder may
	// acquire it without waiting for the expiry (a graceful stop). It
	// fails with [ErrFenced], changing nothing, when holder no longer
	// holds the lease with that fence.
	ReleaseLease(ctx context.Context, name, holder string, fence int64) error
}

// RoundLease is the hold of one process on the round of a feed or peer it
// runs (ClaimFeedRound, ClaimPeerRound), so that of several node
// processes sharing one store (front ends of one node, `parley feed poll`
// beside `parley serve`) one runs a feed's or peer's round at a time, and
// another counts the round as interrupted only when the process running
// it has stopped renewing it. A round is named by its owner and its start.
type RoundLease struct {
	// Owner names the process: unique per process (random), set.
	Owner string
	// Started is when the round started: its RoundStarted.
	Started time.Time
	// Expires is when the lease ends unless it is renewed, by the
	// clock of the process that wrote it: the front ends' clocks must
	// agree (NTP), as for Leases.
	Expires time.Time
}

// ProcessRoundOwner returns this process's owner id for round leases, a
// [NewRoundOwner] made at the first call.
func ProcessRoundOwner() string {
	processOwnerOnce.Do(func() { processOwner = NewRoundOwner() })
	return processOwner
}

var (
	processOwnerOnce sync.Once
	processOwner     string
)

// NewRoundOwner returns a new owner id for the round leases of one
// process: its host name and process id, for the operator reading `feed
// status` or `peer status`, and random bits, so that no two processes
// (nor a restarted one and its earlier incarnation) share one.
func NewRoundOwner() string {
	host, _ := os.Hostname()
	var b [6]byte
	rand.Read(b[:])
	return fmt.Sprintf("%s/%d/%x", host, os.Getpid(), b)
}

// KeepRound renews the lease l of a round every beat until the function
// it returns is called (which waits for the renewing to stop) or ctx is
// done: each renewal extends l.Expires to now()+ttl through renew (the
// store's RenewFeedRound or RenewPeerRound, with what the round
// records along). A renewal that fails (the store unreachable) is passed
// to failed and tried again at the next beat, the lease lasting several;
// one that finds the round no longer l's (its lease expired and another
// process counted it as interrupted) calls lost, once, and renewing
// stops. The feeds' and the peers' rounds hold their leases with it.
func KeepRound(ctx context.Context, l RoundLease, beat, ttl time.Duration, now func() time.Time,
	renew func(ctx context.Context, l RoundLease) (bool, error), failed func(error), lost func()) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(beat)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			l.Expires = now().UTC().Add(ttl)
			ok, err := renew(ctx, l)
			if err != nil {
				failed(err)
				continue
			}
			if !ok {
				lost()
				return
			}
		}
	}()
	return func() {
		close(done)
		wg.Wait()
	}
}
