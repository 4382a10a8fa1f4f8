package node

import (
	"context"
	"errors"
	"math"
	"net/http"
	"slices"
	"strconv"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/tlog"
)

// Witnessed time: the node keeps every checkpoint it had cosigned
// (LogWitnessing) and serves them, so that the witnesses' cosignature
// times bound each entry's received time (docs/witness.md, "Time"):
//
//	GET /log/checkpoints?start=N   {"checkpoints": [cosigned notes of sizes ≥ N, by size], "next": N'}
//
// Bundles carry, for each item, the latest cosigned checkpoint that
// doesn't include it and the first that does; receipts the first that
// does.

// checkpointsPage is the most cosigned checkpoints one GET
// /log/checkpoints returns (a note with a few cosignatures is ~500 bytes).
const checkpointsPage = 1000

// checkpoints serves GET /log/checkpoints?start=N. A store that keeps no
// cosigned checkpoints has none.
func (h *logHandler) checkpoints(w http.ResponseWriter, r *http.Request, _ store.Member, ls store.Store) {
	start := int64(0)
	if s := r.URL.Query().Get("start"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			respondError(w, r, requestErrorf(store.ErrInvalid, "start must be a tree size"))
			return
		}
		start = n
	}
	resp := tlog.CheckpointsResponse{Checkpoints: []string{}}
	ch := ls
	last := int64(-1)
	err := ch.CosignedCheckpoints(r.Context(), start, math.MaxInt64, checkpointsPage, func(size int64, note []byte) error {
		resp.Checkpoints = append(resp.Checkpoints, string(note))
		last = size
		return nil
	})
	if err != nil {
		respondError(w, r, err)
		return
	}
	if len(resp.Checkpoints) == checkpointsPage {
		next := uint64(last + 1)
		resp.Next = &next
	}
	writeJSON(w, resp)
}

// witnessedFor returns, for entries at the given indexes, the cosigned
// checkpoints that bound their received times, each with its consistency
// proof to the tree of the given size (read through hr): for each index
// the latest cosigned checkpoint not including it and the first one that
// does (up to size). Checkpoints of size equal to size are left out (the
// bundle's own checkpoint is that one). A store without cosigned
// checkpoints gives none.
func witnessedFor(ctx context.Context, ls store.Store, size int64, hr tlog.HashReader, indexes []int64) ([]tlog.WitnessedCheckpoint, error) {
	ch := ls
	notes := map[int64][]byte{}
	// The indexes in order: those below the first cosigned checkpoint
	// that includes index i (or all, when none does) have i's two
	// checkpoints (no cosigned size lies between them), so the store is
	// asked once per stretch between cosigned checkpoints, not twice an
	// index (a concurrence answer proves hundreds).
	sorted := slices.Sorted(slices.Values(indexes))
	for k := 0; k < len(sorted); {
		i := sorted[k]
		s, n, err := ch.CosignedCheckpointAtMost(ctx, i)
		switch {
		case err == nil && s > 0:
			notes[s] = n
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return nil, err
		}
		next := size
		err = ch.CosignedCheckpoints(ctx, i+1, size, 1, func(s int64, n []byte) error {
			notes[s] = n
			next = s
			return nil
		})
		if err != nil {
			return nil, err
		}
		// Past i in any case: an index the tree doesn't hold (i >= size,
		// so next <= i) is asked about once, not forever.
		for k++; k < len(sorted) && sorted[k] < next; k++ {
		}
	}
	sizes := make([]int64, 0, len(notes))
	for s := range notes {
		sizes = append(sizes, s)
	}
	slices.Sort(sizes)
	var out []tlog.WitnessedCheckpoint
	for _, s := range sizes {
		if s >= size {
			continue
		}
		p, err := tlog.ConsistencyProof(ctx, uint64(s), uint64(size), hr)
		if err != nil {
			return nil, err
		}
		out = append(out, tlog.WitnessedCheckpoint{Checkpoint: string(notes[s]), Consistency: p})
	}
	return out, nil
}

// firstWitnessed returns the first cosigned checkpoint including entry
// index, up to the tree of the given size, with its consistency proof to
// that tree; nil when there is none (yet).
func firstWitnessed(ctx context.Context, ls store.Store, size, index int64, hr tlog.HashReader) (*tlog.WitnessedCheckpoint, error) {
	ch := ls
	var out *tlog.WitnessedCheckpoint
	err := ch.CosignedCheckpoints(ctx, index+1, size+1, 1, func(s int64, n []byte) error {
		var p []tlog.Hash
		if s < size {
			var err error
			if p, err = tlog.ConsistencyProof(ctx, uint64(s), uint64(size), hr); err != nil {
				return err
			}
		}
		if p == nil {
			p = []tlog.Hash{}
		}
		out = &tlog.WitnessedCheckpoint{Checkpoint: string(n), Consistency: p}
		return nil
	})
	return out, err
}
