package main

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"golang.org/x/mod/sumdb/note"

	"github.com/parley-exchange/parley/internal/untrusted"
	"github.com/parley-exchange/parley/tlog"
	"github.com/parley-exchange/parley/witness"
)

// checkNotBehind checks the checkpoint note n of a set's receipt against
// the checkpoints the reader saw before (seen, as
// [tlog.SeenCheckpoints.CheckConsistent] does, recording n) and then
// against the larger ones it can learn of: each witness of pol with a URL
// is asked for its latest checkpoint of the log (C2SP monitor retrieval),
// and one that the log key signed and that is larger than n is checked
// like a seen one (recorded in seen, the node asked for the proof that
// n's tree is its prefix); a witness that can't be read is passed over
// (said on stderr). A node that can't prove n's tree a prefix of a larger
// checkpoint the reader saw or a witness holds has a log that went back
// (restored from an older backup, or one that lost its state): the error
// wraps [tlog.ErrBehind], as every client's check of the log does. A proof that fails wraps [tlog.ErrProof].
func checkNotBehind(ctx context.Context, c *cli, pol *tlog.Policy, seen *tlog.SeenCheckpoints, v note.Verifier, n []byte, prover tlog.ConsistencyProver) error {
	cp, err := tlog.OpenCheckpoint(n, v)
	if err != nil {
		return err
	}
	if err := seen.CheckConsistent(ctx, n, v, prover); err != nil {
		if _, _, upper := seen.Neighbours(cp, v); upper != "" {
			if up, uerr := tlog.OpenCheckpoint([]byte(upper), v); uerr == nil {
				return behind(err, cp, up.Size, "a checkpoint in your seen file")
			}
		}
		return err
	}
	if pol == nil {
		return nil
	}
	urls := pol.WitnessURLs()
	names := make([]string, 0, len(urls))
	for name := range urls {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		wc := &witness.Client{URL: urls[name], HTTP: c.httpClient()}
		wctx, cancel := context.WithTimeout(ctx, witnessViewTimeout)
		wn, err := wc.Checkpoint(wctx, cp.Origin)
		cancel()
		if err != nil {
			fmt.Fprintf(c.stderr, "parley: couldn't read witness %s's checkpoint of the log (not compared): %v\n", untrusted.Text(name, 200), err)
			continue
		}
		wcp, err := tlog.OpenCheckpoint(wn, v)
		if err != nil || wcp.Size <= cp.Size {
			continue // not the log key's, or no larger: nothing to learn
		}
		if err := seen.CheckConsistent(ctx, wn, v, prover); err != nil {
			return behind(err, cp, wcp.Size, "witness "+untrusted.Text(name, 200)+"'s latest checkpoint")
		}
	}
	return nil
}

// behind names a failure to prove cp a prefix of a larger checkpoint of
// size larger that the reader saw (what).
func behind(err error, cp tlog.Checkpoint, larger uint64, what string) error {
	if errors.Is(err, tlog.ErrProof) {
		return err
	}
	return fmt.Errorf("%w: the set's receipt is of a tree of size %d, and the node can't show it a prefix of %s, of size %d (%v): a node restored from an older backup, or one that lost its state, may serve sets withdrawn since as live", tlog.ErrBehind, cp.Size, what, larger, err)
}

// logBehindHint is the hint of a refusal for [tlog.ErrBehind].
const logBehindHint = "nothing was sent: do not trust this node's answers (for a private set, whether it was withdrawn) until its log is back; ask its operator (a node restored from a backup older than what its members saw has lost what was logged since, withdrawals and revocations too: restore with parley restore --seen)"
