package witness

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/parley-exchange/parley/tlog"
)

// Source is a log read over C2SP tlog-tiles: its latest signed checkpoint
// and its hash tiles. [tlog.Client] is one (a Parley node's /log/).
type Source interface {
	Checkpoint(ctx context.Context) ([]byte, error)
	tlog.TileReader
}

// ErrFork is returned by [Witness.PullOnce] when the log's checkpoint
// contradicts the witness's (the evidence file is named in the error when
// the sizes differ), and is what a *[ConflictError] with Fork set (a
// checkpoint of the witness's size with another root: 409) unwraps to.
var ErrFork = errors.New("the log forked")

// ErrRollback is returned by [Witness.PullOnce] when the log serves a
// checkpoint smaller than the one the witness cosigned. The witness can't
// prove a fork from it (it keeps no tiles of its own), but a log never
// shrinks.
var ErrRollback = errors.New("the log went back to a smaller tree")

// FailureKey is what tells two failures apart when a caller logs each
// distinct failure once: its text, except that every [ErrRollback], every
// [ErrEvidenceFull] and every [ErrInconsistent] (a witness's refusal) is
// one failure each: their texts name the log's size, which grows at each
// checkpoint while the log, restored from an older backup or forked, goes
// on, so that each checkpoint was logged anew (ten a second for a node
// submitting its forked checkpoints). A fork whose evidence a pulling
// witness keeps is still logged once per evidence file.
func FailureKey(err error) string {
	for _, k := range []error{ErrRollback, ErrEvidenceFull, ErrInconsistent} {
		if errors.Is(err, k) {
			return k.Error()
		}
	}
	return err.Error()
}

// PullOnce reads the latest checkpoint of the log with verifier key vkey
// from src, builds the consistency proof from the witness's latest
// checkpoint out of the log's tiles, and cosigns the new checkpoint as
// [Witness.AddCheckpoint] would; it returns the new size. If the log's tree
// doesn't extend the witness's checkpoint it writes split-view evidence
// and fails with [ErrFork]. So a log can't dodge a witness by not
// submitting to it.
func (w *Witness) PullOnce(ctx context.Context, vkey string, src Source) (uint64, error) {
	v, err := tlog.NewVerifier(vkey)
	if err != nil {
		return 0, err
	}
	ls, ok := w.logs[v.Name()]
	if !ok || ls.vkey != vkey {
		return 0, fmt.Errorf("%w: %s", ErrUnknownLog, v.Name())
	}
	signed, err := src.Checkpoint(ctx)
	if err != nil {
		return 0, fmt.Errorf("couldn't read the log's checkpoint: %w", err)
	}
	cp, err := tlog.OpenCheckpoint(signed, v)
	if err != nil {
		return 0, fmt.Errorf("couldn't read the log's checkpoint: %w", err)
	}
	ls.mu.Lock()
	have, haveNote := ls.pcp, ls.pnote
	ls.mu.Unlock()
	switch {
	case haveNote == nil || have.Size == 0:
		_, err = w.AddCheckpoint(ctx, have.Size, nil, signed)
	case cp.Size < have.Size:
		return have.Size, fmt.Errorf("%w: size %d after %d", ErrRollback, cp.Size, have.Size)
	case cp.Size == have.Size:
		// Unchanged, or the same size with another root (a fork, which
		// AddCheckpoint reports): an unchanged checkpoint is cosigned
		// again, as a log that submits would have it, so that the
		// latest cosignature of the quiet log's tree stays recent (it
		// bounds the received time of the entries appended next,
		// docs/witness.md "Quiet periods"); nothing is written for it.
		_, err = w.AddCheckpoint(ctx, have.Size, nil, signed)
	default:
		hr := tlog.TileHashReader(cp.Size, src)
		proof, perr := tlog.ConsistencyProof(ctx, have.Size, cp.Size, hr)
		if perr != nil {
			return have.Size, fmt.Errorf("couldn't build the consistency proof from the log's tiles: %w", perr)
		}
		prefix, perr := tlog.TreeRoot(ctx, have.Size, hr)
		if perr != nil {
			return have.Size, fmt.Errorf("couldn't read the log's tiles: %w", perr)
		}
		// The proof and prefix come from tiles, so first check that they
		// are the checkpoint's tree; only then does a prefix other than
		// ours prove a fork.
		if err := tlog.VerifyConsistency(have.Size, cp.Size, proof, prefix, cp.Hash); err != nil {
			return have.Size, fmt.Errorf("the log's tiles don't match its checkpoint of size %d: %w", cp.Size, err)
		}
		if prefix != have.Hash {
			path, err := w.writeEvidence(ls, haveNote, signed, prefix, proof)
			if err != nil {
				return have.Size, fmt.Errorf("%w (size %d doesn't extend size %d), and couldn't write the evidence: %w", ErrFork, cp.Size, have.Size, err)
			}
			return have.Size, fmt.Errorf("%w: its tree of size %d doesn't extend the cosigned one of size %d; evidence in %s", ErrFork, cp.Size, have.Size, path)
		}
		_, err = w.AddCheckpoint(ctx, have.Size, proof, signed)
	}
	// Same size, other root: a *ConflictError that is an ErrFork;
	// AddCheckpoint kept the evidence.
	if err != nil {
		return have.Size, err
	}
	return cp.Size, nil
}

// Pull calls [Witness.PullOnce] now and then every interval until ctx is
// done, logging what happens; a fork is logged once per evidence file and
// run (even if the log shows it only every other poll, the cosigned tree
// in between), and a rollback once while it lasts (its sizes change at
// every poll while the log grows back).
func (w *Witness) Pull(ctx context.Context, vkey string, src Source, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var last string
	// forks are the forks logged in this run, by FailureKey (which names
	// the evidence file, or the two roots of one size): a log that serves
	// its fork and the cosigned tree in turn succeeds at every other
	// poll, which resets last. At most maxLoggedForks.
	forks := map[string]bool{}
	for {
		size, err := w.PullOnce(ctx, vkey, src)
		switch {
		case err == nil:
			w.cfg.Logger.Debug("pulled", "log", vkey, "size", size)
		case ctx.Err() != nil:
			return // stopping: the poll was cut short, not failed
		case errors.Is(err, ErrFork) && forks[FailureKey(err)]:
			// Said already in this run.
		case FailureKey(err) != last:
			attrs := []any{"log", vkey, "err", err}
			if h := pullTLSHint(err); h != "" {
				attrs = append(attrs, "hint", h)
			}
			w.cfg.Logger.Warn("pull failed", attrs...)
			if errors.Is(err, ErrFork) && len(forks) < maxLoggedForks {
				forks[FailureKey(err)] = true
			}
		}
		if err != nil {
			last = FailureKey(err)
		} else {
			last = ""
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// maxLoggedForks bounds the forks one [Witness.Pull] remembers having
// logged: the evidence files of a log (MaxEvidencePerLog), with room for
// the same-size forks, whose texts name their roots; beyond it a fork is
// logged as any failure, once while it lasts.
const maxLoggedForks = 2 * MaxEvidencePerLog

// pullTLSHint says what to do about a pull that failed on the log's
// certificate, or "": a witness pulling a node whose certificate comes
// from a private CA fails every poll with Go's x509 error alone.
func pullTLSHint(err error) string {
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	switch {
	case errors.As(err, &unknown):
		return "the log's certificate is not signed by a CA the witness trusts: give the witness its CA certificate (parley witness serve --ca FILE)"
	case errors.As(err, &host):
		return "the log's certificate is not valid for the host in its URL: pull it by a name its certificate was issued for"
	}
	return ""
}
