package node

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/tlog"
)

// TestPeerRollbackAndKeyChange: after A caught up with B and restarted,
// B (or anyone between them) serves A other checkpoints: an older one of
// B's own history (a rollback to a smaller size, consistent with what A
// holds), one signed by another key under B's origin (B changed its log
// key), and one of a smaller tree of another history, signed by B's key.
// The first two leave A's position, objects and last accepted checkpoint
// as they were, with the round's error saying why (so that B, serving its
// real history again, is followed from where A was, not from the older
// size); the third is a fork proved from A's own copy of B's tree: A stops
// with evidence that verifies with B's key.
func TestPeerRollbackAndKeyChange(t *testing.T) {
	onlySQLite(t)
	ctx := context.Background()
	b := newOrigin(t, "a")
	b.share(t, b.intel, 5)
	waitIntegratedNode(t, b.Node)
	_, older, err := b.store.(store.LogStore).LatestCheckpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b.share(t, b.intel, 5)

	var serve atomic.Pointer[[]byte] // nil: B's own checkpoint
	target, _ := url.Parse(b.URL)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ModifyResponse = func(r *http.Response) error {
		cp := serve.Load()
		if cp == nil || r.Request.URL.Path != "/log/checkpoint" || r.StatusCode != http.StatusOK {
			return nil
		}
		r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(*cp))
		r.ContentLength = int64(len(*cp))
		r.Header.Set("Content-Length", strconv.Itoa(len(*cp)))
		return nil
	}
	front := httptest.NewServer(rp)
	t.Cleanup(front.Close)

	a := newFedNode(t, 0)
	a.followVia(t, b, front.URL, "a")
	before := a.caughtUp(t, b, "a")
	unchanged := func(p store.Peer) {
		t.Helper()
		if p.State.Next != before.State.Next || p.State.Objects != before.State.Objects || !bytes.Equal(p.State.Checkpoint, before.State.Checkpoint) || p.State.Stopped != "" {
			t.Fatalf("the peer's state changed: at %d with %d objects (before: %d, %d), stopped %q, checkpoint\n%s\nwas\n%s",
				p.State.Next, p.State.Objects, before.State.Next, before.State.Objects, p.State.Stopped, p.State.Checkpoint, before.State.Checkpoint)
		}
	}

	// A rollback to B's own older checkpoint, across a restart of A.
	a.stop()
	serve.Store(&older)
	a.start(t)
	p := a.waitPeer(t, "a", "a rollback refused", func(p store.Peer) bool {
		return strings.Contains(p.State.LastError, "older than size")
	})
	unchanged(p)

	// B's log key changed: another key under B's origin.
	skey, _, err := note.GenerateKey(rand.Reader, b.Config().Origin)
	if err != nil {
		t.Fatal(err)
	}
	other, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := tlog.NewVerifier(b.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	latest, err := tlog.OpenCheckpoint(before.State.Checkpoint, v)
	if err != nil {
		t.Fatal(err)
	}
	rekeyed, err := tlog.SignCheckpoint(latest, other)
	if err != nil {
		t.Fatal(err)
	}
	serve.Store(&rekeyed)
	p = a.waitPeer(t, "a", "a checkpoint of another key refused", func(p store.Peer) bool {
		return strings.Contains(p.State.LastError, "pinned key")
	})
	unchanged(p)

	// A smaller tree of another history, signed by B's key.
	forged := tlog.Checkpoint{Origin: latest.Origin, Size: 3}
	if _, err := rand.Read(forged.Hash[:]); err != nil {
		t.Fatal(err)
	}
	rolled, err := tlog.SignCheckpoint(forged, b.signer)
	if err != nil {
		t.Fatal(err)
	}
	serve.Store(&rolled)
	p = a.waitPeer(t, "a", "stopped", func(p store.Peer) bool { return p.State.Stopped != "" })
	if p.State.Next != before.State.Next || p.State.Objects != before.State.Objects || p.State.Evidence == "" {
		t.Fatalf("stopped at %d with %d objects (before: %d, %d), evidence %q", p.State.Next, p.State.Objects, before.State.Next, before.State.Objects, p.State.Evidence)
	}
	ev, err := os.ReadFile(p.State.Evidence)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tlog.VerifyEvidence(b.VerifierKey(), ev); err != nil {
		t.Fatalf("the evidence doesn't verify: %v", err)
	}
}
