package node

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/peer"
	"github.com/parley-exchange/parley/tlog"
)

// TestPeerFailureLogKinds: a lasting failure is logged when it begins,
// every failureRelog and when it ends, and at once when it changes kind:
// a peer that was down and now shows a fork, or an object whose signature
// doesn't verify, is not kept quiet for ten minutes.
func TestPeerFailureLogKinds(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 22, 0, 0, 0, time.UTC)
	down := func(port int) error { return fmt.Errorf("dial tcp 127.0.0.1:%d: connect: connection refused", port) }
	fork := fmt.Errorf("peer b: %w", peer.ErrFork)
	badSig := fmt.Errorf("refused object x at entry 9 of peer b: %w", tlog.ErrBadSignature)
	l := failureLog{failing: map[string]failureSeen{}}
	for i, c := range []struct {
		after      time.Duration
		err        error
		log, ended bool
	}{
		{0, down(1), true, false},
		{time.Minute, down(2), false, false}, // the same outage, another text
		{2 * time.Minute, fork, true, false}, // a fork now: at once
		{3 * time.Minute, fork, false, false},
		{13 * time.Minute, fork, true, false}, // every failureRelog
		{14 * time.Minute, badSig, true, false},
		{15 * time.Minute, down(3), true, false}, // back to an outage: a change too
		{16 * time.Minute, nil, true, true},
		{17 * time.Minute, nil, false, false},
		{18 * time.Minute, errors.New("EOF"), true, false},
		// A leader that black-holes the connection: a kind of its own.
		{19 * time.Minute, fmt.Errorf("couldn't read the checkpoint: %w", &peer.StallError{Method: "GET", URL: "http://b/log/checkpoint", After: 30 * time.Second}), true, false},
		{20 * time.Minute, fmt.Errorf("couldn't read entries 0–4: %w", &peer.StallError{Method: "GET", URL: "http://b/log/tile/entries/000", Headers: true, After: 30 * time.Second}), false, false},
		{21 * time.Minute, down(4), true, false},
	} {
		logIt, ended := l.note("peer round failed\x00b", c.err, t0.Add(c.after))
		if logIt != c.log || ended != c.ended {
			t.Errorf("step %d (%v: %v): log %v ended %v, want %v %v", i, c.after, c.err, logIt, ended, c.log, c.ended)
		}
	}
}
