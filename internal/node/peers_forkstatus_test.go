package node

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/tlog"
)

// TestPeerForkStatusWithoutEvidence: when A can't write the evidence of
// B's fork (its disk full, the evidence directory unwritable), the round
// that found the fork is recorded with B's forked size and the fork as
// its error (it was recorded as a round without error, so that peer
// status showed B followed, fresh, while B had forked). A also stops
// following B at once, holding the evidence in memory: it used to go on
// following B, counting on finding the fork again at the next round,
// which a B that showed the fork once and then the history A accepted
// again escaped, the evidence lost for good. The node's next rounds of
// the stopped peer write the evidence once they can, and record it.
func TestPeerForkStatusWithoutEvidence(t *testing.T) {
	b := newOrigin(t, "a")
	a := newFedNode(t, 0)
	a.follow(t, b, "a", "from-b")
	b.share(t, b.intel, 20)
	before := a.caughtUp(t, b, "a")
	// The evidence directory can't be made: a file is in its place.
	evDir := filepath.Join(a.dir, "evidence")
	if err := os.WriteFile(evDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	w, _ := b.store.(interface{ DB() (*sql.DB, *sql.DB) }).DB()
	for _, q := range []string{
		`DELETE FROM objects WHERE log_index = (SELECT max(idx) FROM log_entries)`, `DELETE FROM log_entries WHERE idx = (SELECT max(idx) FROM log_entries)`,
		`DELETE FROM log_tiles`, `DELETE FROM log_checkpoints`,
	} {
		if _, err := w.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	b.share(t, b.intel, 3)
	p := a.waitPeer(t, "a", "stopped", func(p store.Peer) bool { return p.State.Stopped != "" })
	if p.State.Evidence != "" || p.State.RemoteSize <= before.State.RemoteSize || p.State.Next != before.State.Next {
		t.Fatalf("stopped with evidence, or without the forked size, or after moving: %+v", p.State)
	}
	if !strings.Contains(p.State.LastError, "inconsistent") || !strings.Contains(p.State.Stopped, "held in memory") {
		t.Fatalf("peer status after B forked (evidence not written): last error %q, stopped %q; want the fork, and the evidence held", p.State.LastError, p.State.Stopped)
	}
	// The disk has room again: the node's next round writes the evidence.
	if err := os.Remove(evDir); err != nil {
		t.Fatal(err)
	}
	p = a.waitPeer(t, "a", "the held evidence written", func(p store.Peer) bool { return p.State.Evidence != "" })
	ev, err := os.ReadFile(p.State.Evidence)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tlog.VerifyEvidence(b.VerifierKey(), ev); err != nil {
		t.Fatalf("the evidence written late doesn't verify: %v", err)
	}
	if p.State.Stopped == "" || strings.Contains(p.State.Stopped, "held in memory") || p.State.Next != before.State.Next {
		t.Fatalf("after the evidence was written: %+v", p.State)
	}
}
