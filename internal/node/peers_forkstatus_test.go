package node

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/internal/store"
)

// TestPeerForkStatusWithoutEvidence: when A can't keep the evidence of
// B's fork (its disk full, the evidence directory unwritable), it can't
// stop following B either, and retries each round. The round that found
// the fork is recorded with B's forked size; it was recorded as a round
// without error, so that peer status showed B followed, fresh, with no
// error, while B had forked.
func TestPeerForkStatusWithoutEvidence(t *testing.T) {
	b := newOrigin(t, "a")
	a := newFedNode(t, 0)
	a.follow(t, b, "a", "from-b")
	b.share(t, b.intel, 20)
	before := a.caughtUp(t, b, "a")
	// The evidence directory can't be made: a file is in its place.
	if err := os.WriteFile(filepath.Join(a.dir, "evidence"), nil, 0o600); err != nil {
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
	p := a.waitPeer(t, "a", "the forked size recorded", func(p store.Peer) bool { return p.State.RemoteSize > before.State.RemoteSize })
	if p.State.Stopped != "" {
		t.Fatalf("stopped without evidence: %+v", p.State)
	}
	if !strings.Contains(p.State.LastError, "inconsistent") {
		t.Fatalf("peer status after B forked (evidence not kept): last error %q, remote size %d; want the fork", p.State.LastError, p.State.RemoteSize)
	}
}
