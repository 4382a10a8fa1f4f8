package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/tlog"
)

// The log integrator runs beside the server: Submit sequences entries (in
// the transaction that stores the objects); the integrator extends the
// Merkle tree with them in batches, stores the changed tiles and a newly
// signed checkpoint in one transaction, and so makes receipts available.
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
}

// LogIntegrator extends a node's log. Only one may run per store; a second
// one fails its integrations with store.ErrConflict and resumes from the
// stored state.
type LogIntegrator struct {
	n    *Node
	log  store.Store
	opts LogIntegratorOptions
	// b is the tree as of the last integration; nil means "reload from
	// the store" (at start and after any failure).
	b *tlog.TileBuilder
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
	return &LogIntegrator{n: n, log: ls, opts: opts}, nil
}

// Run integrates until ctx is done. A failed integration is retried at the
// next tick from the stored state.
func (li *LogIntegrator) Run(ctx context.Context) error {
	t := time.NewTicker(li.opts.Interval)
	defer t.Stop()
	var last string
	for {
		_, err := li.Integrate(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			// The next tick retries from the stored state.
			if err.Error() != last {
				li.opts.Logger.Error("log integration failed; retrying", "err", err)
				last = err.Error()
			}
		case err == nil && last != "":
			li.opts.Logger.Info("log integration recovered")
			last = ""
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
// the empty tree once, so that a checkpoint is always available.
func (li *LogIntegrator) Integrate(ctx context.Context) (int64, error) {
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
	if err := li.log.Integrate(ctx, from, end, li.b.Flush(), note); err != nil {
		return from, false, err
	}
	li.n.metrics.checkpointSigned(li.n.now())
	return end, end == seq, nil
}
