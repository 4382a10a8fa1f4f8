package node

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/tlog"
)

// The log integrator runs beside the server: Submit sequences entries (in
// the transaction that stores the objects); the integrator extends the
// Merkle tree with them in batches, stores the changed tiles and a newly
// signed checkpoint in one transaction, and so makes receipts available.
//
// Several node processes may share one store (PostgreSQL): each runs an
// integrator, and only the one holding the store's lease
// [store.IntegratorLease] integrates; the others stand by and take over
// when its lease expires. Every integration carries the holder's fence, so
// a holder that lost the lease (it paused past the expiry and another took
// over) is refused by the store ([store.ErrFenced]) instead of writing.

// LogIntegratorOptions tune a [LogIntegrator]; the zero value is the
// production setting.
type LogIntegratorOptions struct {
	// Interval is how often the integrator looks for new entries when it
	// is idle. Default 100 ms, so that a receipt is available well within
	// a second of acknowledgement.
	Interval time.Duration
	// MaxBatch is the most entries covered by one new checkpoint; a
	// backlog is integrated in batches of this size, each with its own
	// signed checkpoint. Default 4096.
	MaxBatch int
	// Logger receives integration failures (each distinct one once until
	// integration succeeds again); nil means slog.Default().
	Logger *slog.Logger
	// LeaseTTL is how long the integrator's lease lasts unrenewed: after
	// a crash, how long another integrator waits before taking over. It
	// is renewed when a third of it has passed. Default: the node's
	// Config.IntegratorLeaseTTL.
	LeaseTTL time.Duration
}

// ErrLeaseHeld means another integrator holds the log's lease: this one
// stands by.
var ErrLeaseHeld = errors.New("another integrator holds the log's lease")

// LogIntegrator extends a node's log. Only the one holding the store's
// integrator lease integrates; another one's Integrate fails with
// [ErrLeaseHeld] until the lease is free.
type LogIntegrator struct {
	n    *Node
	log  store.Store
	opts LogIntegratorOptions
	// b is the tree as of the last integration; nil means "reload from
	// the store" (at start, after any failure and after (re)acquiring
	// the lease).
	b *tlog.TileBuilder
	// holder is this integrator's id in the lease; fence its fence while
	// it holds the lease (0: it doesn't), renewed when it last acquired
	// or renewed it (by this process's clock).
	holder  string
	fence   int64
	renewed time.Time
}

// NewLogIntegrator returns the integrator of n's log.
func NewLogIntegrator(n *Node, opts LogIntegratorOptions) (*LogIntegrator, error) {
	ls := n.store
	if opts.Interval <= 0 {
		opts.Interval = 100 * time.Millisecond
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 4096
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = time.Duration(n.cfg.IntegratorLeaseTTL)
	}
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = DefaultIntegratorLeaseTTL
	}
	// The id must differ between processes and integrators whatever
	// randomness the node was given, so it comes from crypto/rand.
	var id [12]byte
	if _, err := io.ReadFull(rand.Reader, id[:]); err != nil {
		return nil, fmt.Errorf("couldn't make the integrator's lease id: %w", err)
	}
	host, _ := os.Hostname()
	holder := fmt.Sprintf("%s/%d/%x", host, os.Getpid(), id)
	return &LogIntegrator{n: n, log: ls, opts: opts, holder: holder}, nil
}

// hold makes sure the integrator holds the lease: it acquires it when it
// doesn't, and renews it when a third of its TTL has passed. It fails with
// ErrLeaseHeld when another integrator has it.
func (li *LogIntegrator) hold(ctx context.Context) error {
	if li.fence != 0 {
		if time.Since(li.renewed) < li.opts.LeaseTTL/3 {
			return nil
		}
		err := li.log.RenewLease(ctx, store.IntegratorLease, li.holder, li.fence, li.opts.LeaseTTL)
		switch {
		case err == nil:
			li.renewed = time.Now()
			return nil
		case !errors.Is(err, store.ErrFenced):
			return err
		}
		// Lost: another integrator took over. Try to acquire it again
		// (it may have released it since).
		li.fence, li.b = 0, nil
	}
	start := time.Now()
	fence, ok, err := li.log.AcquireLease(ctx, store.IntegratorLease, li.holder, li.opts.LeaseTTL)
	if err != nil {
		return err
	}
	if !ok {
		return ErrLeaseHeld
	}
	li.fence, li.renewed, li.b = fence, start, nil
	return nil
}

// release hands the lease back, so that another integrator needn't wait
// for it to expire.
func (li *LogIntegrator) release(ctx context.Context) {
	if li.fence == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := li.log.ReleaseLease(ctx, store.IntegratorLease, li.holder, li.fence); err != nil && !errors.Is(err, store.ErrFenced) {
		li.opts.Logger.Warn("couldn't release the log integrator's lease", "err", err)
	}
	li.fence = 0
}

// Run integrates until ctx is done, then releases the lease. A failed
// integration is retried at the next tick from the stored state; while
// another integrator holds the lease, Run stands by.
func (li *LogIntegrator) Run(ctx context.Context) error {
	t := time.NewTicker(li.opts.Interval)
	defer t.Stop()
	defer li.release(ctx)
	var last string
	standby := false
	for {
		_, err := li.Integrate(ctx)
		switch {
		case errors.Is(err, ErrLeaseHeld):
			if !standby {
				li.opts.Logger.Info("another process integrates this log; standing by")
				standby = true
			}
		case err != nil && ctx.Err() == nil:
			// The next tick retries from the stored state.
			if err.Error() != last {
				li.opts.Logger.Error("log integration failed; retrying", "err", err)
				last = err.Error()
			}
		case err == nil:
			if standby {
				li.opts.Logger.Info("this process now integrates the log")
				standby = false
			}
			if last != "" {
				li.opts.Logger.Info("log integration recovered")
				last = ""
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Integrate integrates every entry sequenced so far, in batches of
// MaxBatch entries, each ending with a durable signed checkpoint, and
// returns the integrated size. With an empty log it signs the checkpoint of
// the empty tree once, so that a checkpoint is always available. It first
// acquires (or renews) the store's integrator lease, and fails with
// [ErrLeaseHeld] when another integrator holds it.
func (li *LogIntegrator) Integrate(ctx context.Context) (int64, error) {
	if err := li.hold(ctx); err != nil {
		return 0, err
	}
	for {
		size, done, err := li.integrateBatch(ctx)
		if err != nil {
			li.b = nil
			return size, err
		}
		if done {
			return size, nil
		}
	}
}

func (li *LogIntegrator) integrateBatch(ctx context.Context) (int64, bool, error) {
	from, _, err := li.log.LatestCheckpoint(ctx)
	fresh := errors.Is(err, store.ErrNotFound)
	if err != nil && !fresh {
		return 0, false, err
	}
	if li.b == nil || li.b.Size() != uint64(from) {
		if li.b, err = tlog.NewTileBuilder(ctx, uint64(from), li.log); err != nil {
			return from, false, fmt.Errorf("couldn't load the log tree: %w", err)
		}
	}
	seq, err := li.n.store.LogSize(ctx)
	if err != nil {
		return from, false, err
	}
	if seq == from && !fresh {
		return from, true, nil
	}
	end := min(seq, from+int64(li.opts.MaxBatch))
	if end > from {
		entries, err := li.n.store.Entries(ctx, from, end)
		if err != nil {
			return from, false, err
		}
		for i, e := range entries {
			if e.Index != from+int64(i) {
				return from, false, fmt.Errorf("couldn't integrate: log entry %d is missing", from+int64(i))
			}
			li.b.Append(tlog.LeafHash(e.Leaf))
		}
		end = from + int64(len(entries))
	}
	cp := tlog.Checkpoint{Origin: li.n.signer.Name(), Size: li.b.Size(), Hash: li.b.Root()}
	note, err := tlog.SignCheckpoint(cp, li.n.signer)
	if err != nil {
		return from, false, err
	}
	if err := li.log.Integrate(ctx, li.fence, from, end, li.b.Flush(), note); err != nil {
		if errors.Is(err, store.ErrFenced) {
			li.fence = 0 // lost the lease: stop until it is acquired again
		}
		return from, false, err
	}
	li.n.metrics.checkpointSigned(li.n.now())
	return end, end == seq, nil
}
