package node

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/peer"
	"github.com/parley-exchange/parley/internal/store/sqlite"
	"github.com/parley-exchange/parley/tlog"
)

// TestPeerUnknownEntryKind: a follower whose peer runs a newer Parley,
// whose log has an entry of a kind the follower's build doesn't know (as
// an oprf-withdrawal entry is to a build older than it), stops before
// that entry, every round, with an error that names the kind and the
// upgrade (recorded in the peer's state, which parley peer status
// shows): it doesn't take the peer for malformed or forked, and doesn't
// stall silently.
func TestPeerUnknownEntryKind(t *testing.T) {
	onlySQLite(t)
	ctx := context.Background()
	b, size := sharedOrigin(t, 2)
	a, pa := unservedFollower(t, b)
	f, err := peer.New(peer.Config{Store: a.Node.Store(), Dir: t.TempDir()}, pa)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Round(ctx); err != nil {
		t.Fatal(err)
	}
	if p := a.peerState(t, "a"); p.State.Next != size {
		t.Fatalf("the follower is at %d of %d", p.State.Next, size)
	}
	// B, a newer build, appends an entry of a kind this one doesn't know.
	err = b.Node.Store().(*sqlite.Store).Write(ctx, func(tx *sql.Tx) error {
		var idx int64
		var last string
		if err := tx.QueryRowContext(ctx, `SELECT idx, received FROM log_entries ORDER BY idx DESC LIMIT 1`).Scan(&idx, &last); err != nil {
			return err
		}
		at, err := time.Parse(time.RFC3339Nano, last)
		if err != nil {
			return err
		}
		at = at.Add(time.Millisecond).UTC()
		leaf := `{"commitment":"` + strings.Repeat("ab", 32) + `","kind":"zz-future","received":"` + at.Format(time.RFC3339Nano) + `"}`
		_, err = tx.ExecContext(ctx, `INSERT INTO log_entries(idx, leaf, salt, collection, object_id, version, member, received, kind) VALUES (?, ?, ?, '', '', ?, '', ?, ?)`,
			idx+1, []byte(leaf), []byte{}, at.Format("2006-01-02T15:04:05.000000000Z"), at.Format("2006-01-02T15:04:05.000000000Z"), "zz-future")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// A member key entry after it, which wakes B's integrator.
	if _, err := b.AddMember(ctx, "dave", nil); err != nil {
		t.Fatal(err)
	}
	if got := waitIntegratedNode(t, b.Node); got != size+2 {
		t.Fatalf("B's log is of %d entries, want %d", got, size+2)
	}
	for range 2 {
		_, err = f.Round(ctx)
		if !errors.Is(err, tlog.ErrUnknownKind) || errors.Is(err, tlog.ErrProof) || !strings.Contains(err.Error(), `"zz-future"`) || !strings.Contains(err.Error(), "upgrade") {
			t.Fatalf("a round past an entry of an unknown kind: %v", err)
		}
	}
	p := a.peerState(t, "a")
	if p.State.Next != size || !strings.Contains(p.State.LastError, "zz-future") || !strings.Contains(p.State.LastError, "upgrade") {
		t.Fatalf("the peer's state: at %d (want %d), last error %q", p.State.Next, size, p.State.LastError)
	}
}
