package node

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/peer"
	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/internal/untrusted"
	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/taxii"
	"github.com/parley-exchange/parley/tlog"
	"github.com/parley-exchange/parley/witness"
	"golang.org/x/mod/sumdb/note"
)

// fedNode is a node of a federation test, serving on 127.0.0.1:0.
type fedNode struct {
	*Node
	dir  string
	URL  string
	stop func()
}

// newFedNode initializes a node that follows its peers every 30 ms in
// steps of step entries, and serves it.
func newFedNode(t *testing.T, step int) *fedNode {
	t.Helper()
	return newFedNodeConfig(t, Config{PeerInterval: Duration(30 * time.Millisecond), PeerStep: step})
}

// newFedNodeConfig initializes a node with cfg (its store, peer interval
// and step) and serves it.
func newFedNodeConfig(t *testing.T, cfg Config) *fedNode {
	t.Helper()
	dir := t.TempDir()
	if _, err := Init(context.Background(), dir, cfg, nil); err != nil {
		t.Fatal(err)
	}
	fn := &fedNode{dir: dir}
	fn.start(t)
	t.Cleanup(func() { fn.stop() })
	return fn
}

// start opens and serves the node (again) on a free port.
func (fn *fedNode) start(t *testing.T) { fn.startAt(t, "127.0.0.1:0") }

// startAt opens and serves the node (again) on addr.
func (fn *fedNode) startAt(t *testing.T, addr string) {
	t.Helper()
	n, err := Open(context.Background(), fn.dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fn.Node, fn.URL = n, "http://"+ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Serve(ctx, ln, nil) }()
	stopped := false
	fn.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		n.Close()
	}
}

// origin is the node B of a federation: member alice (with a key) shares
// into "intel"; the member for each follower may read intel only.
type origin struct {
	*fedNode
	alice     testMember
	intel     string
	secret    string
	followers map[string]string // follower name → its token file
}

func newOrigin(t *testing.T, followers ...string) *origin {
	t.Helper()
	return newOriginNode(t, newFedNode(t, 0), followers...)
}

// newOriginNode makes the served node fn the origin B of a federation.
func newOriginNode(t *testing.T, fn *fedNode, followers ...string) *origin {
	t.Helper()
	ctx := context.Background()
	b := &origin{fedNode: fn, followers: map[string]string{}}
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	nm, err := b.AddMember(ctx, "alice", pub)
	if err != nil {
		t.Fatal(err)
	}
	b.alice = testMember{ID: nm.ID, Token: nm.Token, Key: priv}
	b.alice.Client = &taxii.Client{BaseURL: b.URL, Token: nm.Token}
	readers := []string{"alice"}
	for _, f := range followers {
		fm, err := b.AddMember(ctx, "node-"+f, nil)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "token")
		if err := os.WriteFile(path, []byte(fm.Token+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		b.followers[f] = path
		readers = append(readers, "node-"+f)
	}
	if b.intel, err = b.AddCollection(ctx, "intel", "", readers, []string{"alice"}, ""); err != nil {
		t.Fatal(err)
	}
	if b.secret, err = b.AddCollection(ctx, "secret", "", []string{"alice"}, []string{"alice"}, ""); err != nil {
		t.Fatal(err)
	}
	return b
}

// sharedOrigin is an origin B followed by "a", with count objects alice
// shared into its intel collection integrated: B and its log's size.
func sharedOrigin(t *testing.T, count int) (*origin, int64) {
	t.Helper()
	b := newOrigin(t, "a")
	b.share(t, b.intel, count)
	return b, waitIntegratedNode(t, b.Node)
}

// unservedFollower is a node A that doesn't serve, so that no round runs
// but the test's own (peer.New), following b as peer "a" into "from-b":
// A and the peer's record. A is closed when the test ends.
func unservedFollower(t *testing.T, b *origin) (*fedNode, store.Peer) {
	t.Helper()
	n, _ := initNode(t, Options{})
	t.Cleanup(func() { n.Close() })
	a := &fedNode{Node: n}
	return a, a.follow(t, b, "a", "from-b")
}

// share posts count fresh signed indicators by alice into coll.
func (b *origin) share(t *testing.T, coll string, count int) {
	t.Helper()
	var objs []json.RawMessage
	for i := range count {
		objs = append(objs, indicator(t, b.alice.ID, b.alice.Key, t0.Add(time.Duration(i)*time.Millisecond)))
	}
	for len(objs) > 0 {
		k := min(len(objs), 200)
		post(t, b.alice.Client, coll, objs[:k]...)
		objs = objs[k:]
	}
}

// follow makes fn follow b's intel into a collection titled title, read
// by the readers.
func (fn *fedNode) follow(t *testing.T, b *origin, name, title string, readers ...string) store.Peer {
	t.Helper()
	p, err := fn.AddPeer(context.Background(), PeerSpec{
		Name: name, URL: b.URL, TokenFile: b.followers[name], LogKey: b.VerifierKey(),
		Remote: b.intel, Into: title, Readers: readers,
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// peerState returns the stored peer named name.
func (fn *fedNode) peerState(t *testing.T, name string) store.Peer {
	t.Helper()
	ps, err := fn.Store().Peers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no peer %s", name)
	return store.Peer{}
}

// waitPeer waits up to 60 s for cond on the peer's state.
func (fn *fedNode) waitPeer(t *testing.T, name string, what string, cond func(p store.Peer) bool) store.Peer {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		p := fn.peerState(t, name)
		if cond(p) {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("peer %s: %s: not after 60 s; state %+v", name, what, p.State)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// caughtUp waits until fn replicated b's whole log as it is now.
func (fn *fedNode) caughtUp(t *testing.T, b *origin, name string) store.Peer {
	t.Helper()
	size := waitIntegratedNode(t, b.Node)
	return fn.waitPeer(t, name, fmt.Sprintf("caught up to %d", size), func(p store.Peer) bool { return p.State.Next >= size })
}

// waitIntegratedNode waits until n's signed checkpoint covers its whole
// log and returns the size.
func waitIntegratedNode(t *testing.T, n *Node) int64 {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for {
		size, err := n.store.LogSize(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cs, _, err := n.store.(store.LogStore).LatestCheckpoint(ctx)
		if err == nil && cs == size {
			return size
		}
		if time.Now().After(deadline) {
			t.Fatalf("the log of size %d isn't integrated after 30 s", size)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// localObjects returns every version stored in a local collection.
func localObjects(t *testing.T, n *Node, coll string) []store.Object {
	t.Helper()
	var out []store.Object
	for after := int64(0); ; {
		page, err := n.store.Objects(context.Background(), store.Query{Collection: coll, Versions: []store.VersionSelector{{Kind: store.VersionAll}}, After: after, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page.Objects...)
		if !page.More {
			return out
		}
		after = page.Objects[len(page.Objects)-1].Seq
	}
}

// objectEntries counts the object entries of n's log.
func objectEntries(t *testing.T, n *Node) int {
	t.Helper()
	size, err := n.store.LogSize(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	es, err := n.store.Entries(context.Background(), 0, size)
	if err != nil {
		t.Fatal(err)
	}
	count := 0
	for _, e := range es {
		if e.Kind == tlog.KindObject {
			count++
		}
	}
	return count
}

// getPeerBundle fetches GET /peers/bundle from fn as the token's member.
func getPeerBundle(t *testing.T, fn *fedNode, token, coll, id string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, fn.URL+"/peers/bundle?collection="+coll+"&object="+id, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// TestFederation runs three nodes on loopback: A and C follow B's intel
// collection (A in steps of 16 entries). They get exactly its objects
// (none of the collection they may not read), new versions, revoked
// objects and B's key revocations; A's readers get bundles of the
// replicated objects in B's log that verify offline with B's key; nobody
// can write A's copy; and A resumes after a restart without duplicates.
func TestFederation(t *testing.T) {
	ctx := context.Background()
	b := newOrigin(t, "a", "c")
	a := newFedNode(t, 16)
	c := newFedNode(t, 0)
	carol, err := a.AddMember(ctx, "carol", nil)
	if err != nil {
		t.Fatal(err)
	}
	dave, err := a.AddMember(ctx, "dave", nil)
	if err != nil {
		t.Fatal(err)
	}
	pa := a.follow(t, b, "a", "from-b", "carol")
	pc := c.follow(t, b, "c", "from-b")

	b.share(t, b.intel, 150)
	b.share(t, b.secret, 20)
	a.caughtUp(t, b, "a")
	// A restarts mid-way through the next batch.
	b.share(t, b.intel, 150)
	a.waitPeer(t, "a", "some progress", func(p store.Peer) bool { return p.State.Objects > 150 })
	a.stop()
	a.start(t)
	c.caughtUp(t, b, "c")
	p := a.caughtUp(t, b, "a")
	if p.State.Objects != 300 || len(localObjects(t, a.Node, pa.Into)) != 300 || objectEntries(t, a.Node) != 300 {
		t.Fatalf("A: %d objects recorded, %d stored, %d object entries; want 300", p.State.Objects, len(localObjects(t, a.Node, pa.Into)), objectEntries(t, a.Node))
	}
	if got := len(localObjects(t, c.Node, pc.Into)); got != 300 {
		t.Fatalf("C stored %d objects, want 300", got)
	}

	// A new version, a revoked object, and B's key events.
	first := localObjects(t, a.Node, pa.Into)[0]
	bKeys := b.revokeRotateRevoke(t, first, 5)
	p = a.caughtUp(t, b, "a")
	if p.State.Objects != 306 || p.State.Keys != int64(len(bKeys)) {
		t.Fatalf("A: %d objects and %d key entries, want 306 and %d", p.State.Objects, p.State.Keys, len(bKeys))
	}
	page, err := a.store.Objects(ctx, store.Query{Collection: pa.Into, IDs: []string{first.ID}, Limit: 10})
	if err != nil || len(page.Objects) != 1 || !strings.Contains(string(page.Objects[0].Raw), `"revoked":true`) {
		t.Fatalf("the latest version at A isn't the revoked one: %v %+v", err, page.Objects)
	}

	// A reader of A's copy gets B's proofs; others get nothing.
	code, body := getPeerBundle(t, a, carol.Token, pa.Into, first.ID)
	if code != http.StatusOK {
		t.Fatalf("GET /peers/bundle: %d %s", code, body)
	}
	res, err := tlog.VerifyBundle(body, b.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Items) != 2 || !res.Items[0].Signed || res.Items[0].Opening.Member != b.alice.ID || res.Items[0].Opening.Collection != b.intel {
		t.Fatalf("bundle: %+v", res.Items)
	}
	if ks := res.Keys.Keys(b.alice.ID); len(ks) != 2 || !ks[1].Revoked {
		t.Fatalf("bundle keys of alice: %+v", ks)
	}
	if code, _ := getPeerBundle(t, a, dave.Token, pa.Into, first.ID); code != http.StatusNotFound {
		t.Fatalf("a member who can't read the copy got %d", code)
	}
	// Nobody writes A's copy over TAXII, not even its readers.
	st, err := (&taxii.Client{BaseURL: a.URL, Token: carol.Token}).AddObjects(ctx, pa.Into, []json.RawMessage{indicator(t, carol.ID, nil, t0)})
	if err == nil {
		t.Fatalf("a reader wrote the replicated collection: %+v", st)
	}
}

// TestPeerBundleBounded: GET /peers/bundle holds every replicated version
// of an object at once, so it waits for its reader's share of the node's
// response budget, and an object whose versions hold more than
// MaxBundleBytes is refused with 413, as GET /log/bundle's are.
func TestPeerBundleBounded(t *testing.T) {
	ctx := context.Background()
	b := newOrigin(t, "a")
	a := newFedNode(t, 0)
	carol, err := a.AddMember(ctx, "carol", nil)
	if err != nil {
		t.Fatal(err)
	}
	pa := a.follow(t, b, "a", "from-b", "carol")
	// Versions of about 900 KiB (under the 1 MiB object limit), enough of
	// them to go over MaxBundleBytes.
	big := map[string]any{
		"type": "indicator", "spec_version": "2.1", "id": stix.NewIdentifier("indicator"),
		"created": "2026-01-01T00:00:00.000Z", "created_by_ref": b.alice.ID, "name": "large",
		"description": strings.Repeat("x", 900<<10),
		"pattern":     "[domain-name:value = 'evil.example']", "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
	}
	small := indicator(t, b.alice.ID, b.alice.Key, t0)
	post(t, b.alice.Client, b.intel, small)
	versions := int(MaxBundleBytes/(900<<10)) + 1
	for i := range versions {
		big["modified"] = stix.FormatTimestamp(t0.Add(time.Duration(i) * time.Second))
		post(t, b.alice.Client, b.intel, object(t, b.alice.Key, big))
	}
	a.caughtUp(t, b, "a")
	if code, body := getPeerBundle(t, a, carol.Token, pa.Into, big["id"].(string)); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("a bundle of %d versions of 900 KiB: %d, %d bytes", versions, code, len(body))
	}

	var id struct{ ID string }
	json.Unmarshal(small, &id)
	share := a.memory.share / a.memory.unit
	if err := a.memory.Acquire(ctx, carol.ID, share); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- memberRequest(ctx, a.URL, testMember{Token: carol.Token}, http.MethodGet,
			"/peers/bundle?collection="+pa.Into+"&object="+id.ID, "", nil)
	}()
	waitQueued(t, a.memory, carol.ID, done)
	a.memory.Release(carol.ID, share)
	if err := <-done; err != nil {
		t.Fatalf("GET /peers/bundle once carol's share came back: %v", err)
	}
	for deadline := time.Now().Add(5 * time.Second); a.memory.inUse() != 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of the response budget still in use", a.memory.inUse())
		}
	}
}

// TestPeerRefusesForgedObjects: an object whose bytes the origin changed
// behind its log, an object whose signature isn't its sharer's key in
// force, and one whose opening names another id are refused: the
// follower stops before them, stores nothing of their step and says why,
// with no control character of the peer's in what it says.
func TestPeerRefusesForgedObjects(t *testing.T) {
	onlySQLite(t)
	for _, tc := range []struct {
		name, want string
		forge      func(t *testing.T, b *origin)
	}{
		{"opening mismatch", "commitment", func(t *testing.T, b *origin) {
			w, _ := b.store.(interface{ DB() (*sql.DB, *sql.DB) }).DB()
			if _, err := w.Exec(`UPDATE objects SET raw = replace(raw, 'test indicator', 'forged indicator') WHERE seq = (SELECT max(seq) FROM objects)`); err != nil {
				t.Fatal(err)
			}
		}},
		{"bad signature", "signature", func(t *testing.T, b *origin) {
			// Stored behind the node's checks: signed with a key alice
			// never had.
			_, other, _ := ed25519.GenerateKey(rand.Reader)
			storeBehindChecks(t, b, indicator(t, b.alice.ID, other, t0), "")
		}},
		{"terminal escape in the opening", "the opening's", func(t *testing.T, b *origin) {
			// B's opening names another id than the object's, with
			// terminal escapes, and commits to both: the check names it,
			// and the recorded and logged error must not carry the
			// escapes, short as it is.
			storeBehindChecks(t, b, indicator(t, b.alice.ID, b.alice.Key, t0), "indicator--\x1b]0;owned\x07\x1b[2J")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newOrigin(t, "a")
			a := newFedNode(t, 0)
			pa := a.follow(t, b, "a", "from-b")
			b.share(t, b.intel, 10)
			a.caughtUp(t, b, "a")
			// A is down while B shares and forges, so that its next
			// round meets the three honest objects and the forged one
			// together: with A polling every 30 ms it could otherwise
			// take the honest ones first (13 stored), or, for the
			// opening, the object before it was edited.
			a.stop()
			b.share(t, b.intel, 3)
			tc.forge(t, b)
			waitIntegratedNode(t, b.Node)
			a.start(t)
			p := a.waitPeer(t, "a", "refusal", func(p store.Peer) bool { return strings.Contains(p.State.LastError, "refused object") })
			if !strings.Contains(p.State.LastError, tc.want) {
				t.Fatalf("error %q doesn't say %q", p.State.LastError, tc.want)
			}
			if !untrusted.Printable(p.State.LastError) {
				t.Fatalf("error %q holds control characters", p.State.LastError)
			}
			if got := len(localObjects(t, a.Node, pa.Into)); got != 10 || p.State.Objects != 10 {
				t.Fatalf("stored %d objects (recorded %d) after the refusal, want 10", got, p.State.Objects)
			}
		})
	}
}

// storeBehindChecks stores raw (signed) in B's intel as alice's,
// with its log entry, without the node's checks: what a hostile B logs.
// A non-empty id is the id B stores and logs it under (its opening's),
// whatever raw's.
func storeBehindChecks(t *testing.T, b *origin, raw []byte, id string) {
	t.Helper()
	o, err := stix.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if id == "" {
		id = o.ID
	}
	canon, _ := o.Canonical()
	v := o.Modified
	if v.IsZero() {
		v = o.Created
	}
	salt, _ := tlog.NewSalt(rand.Reader)
	_, err = b.store.Submit(context.Background(), store.Submission{StatusID: "behind-" + o.ID, Collection: b.intel, Member: b.alice.ID, Received: time.Now(),
		Items: []store.Item{{Owned: true, Salt: salt, Object: store.Object{ID: id, Type: o.Type, SpecVersion: "2.1", Version: v, Signed: true, Raw: canon},
			Entry: func(so store.Object) ([]byte, error) {
				op := tlog.Opening{Salt: salt, Collection: so.Collection, ObjectID: so.ID, Version: store.FormatTime(so.Version), Member: so.Member}
				return tlog.Entry{Kind: tlog.KindObject, Received: so.DateAdded, Commitment: tlog.ObjectCommitment(op, so.Raw)}.Marshal()
			}}}})
	if err != nil {
		t.Fatal(err)
	}
}

// TestPeerFork: B rewrites its last entry after A replicated it, signing
// another tree of the same size (and then a larger one). A refuses it,
// stops following B, keeps split-view evidence that verifies offline with
// B's key, reports it, and keeps serving what it has.
func TestPeerFork(t *testing.T) {
	ctx := context.Background()
	b := newOrigin(t, "a")
	a := newFedNode(t, 0)
	pa := a.follow(t, b, "a", "from-b")
	b.share(t, b.intel, 20)
	before := a.caughtUp(t, b, "a")

	p, ev := forkUntilStopped(t, a, b, before)
	sv, err := tlog.VerifyEvidence(b.VerifierKey(), ev)
	if err != nil {
		t.Fatalf("the evidence doesn't verify: %v", err)
	}
	if !strings.Contains(sv.String(), b.Config().Origin) || !strings.Contains(string(ev), `"found_by": "parley peer a following `+b.URL) {
		t.Fatalf("evidence says %q:\n%s", sv, ev)
	}
	if filepath.Dir(p.State.Evidence) != filepath.Join(a.dir, "evidence") {
		t.Fatalf("evidence in %s", p.State.Evidence)
	}
	// The status names the size B showed when it forked (B's tree as A
	// accepted it is one of the evidence's two checkpoints, the forked
	// one the other), not the size of the last round before the fork.
	forked := sv.B
	if sv.B.Size == uint64(before.State.RemoteSize) && sv.A.Size != sv.B.Size {
		forked = sv.A
	}
	if p.State.RemoteSize != int64(forked.Size) {
		t.Fatalf("status remote size %d after a fork at size %d (evidence: %s); before the fork %d", p.State.RemoteSize, forked.Size, sv, before.State.RemoteSize)
	}
	// A keeps serving what it replicated; B's later objects never come.
	time.Sleep(100 * time.Millisecond) // rounds would run every 30 ms
	if got := len(localObjects(t, a.Node, pa.Into)); got != 20 {
		t.Fatalf("A has %d objects, want the 20 from before the fork", got)
	}
	if s := peer.StatusOf(a.peerState(t, "a")); s.State != "stopped" || s.Evidence == "" {
		t.Fatalf("status: %+v", s)
	}
	// A follower made afresh (a restart) refuses too.
	st := a.Store()
	f, err := peer.New(peer.Config{Store: st, Dir: a.dir}, p)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := f.Round(ctx); !errors.Is(err, peer.ErrStopped) {
			t.Fatalf("a stopped peer's round: %v", err)
		}
	}
	// However often B forks after, the peer's evidence is one file: a
	// stopped peer gets no more rounds (docs/federation.md).
	if files, _ := filepath.Glob(filepath.Join(a.dir, "evidence", "peer-a-*.json")); len(files) != 1 {
		t.Fatalf("%d evidence files of the peer, want 1: %v", len(files), files)
	}
}

// TestPeerForkShortOfQuorum: A follows B with a witness policy. B forks,
// and its witness, seeing a tree that doesn't extend the one it cosigned,
// refuses to cosign: B's forked checkpoints carry B's signature but not
// the quorum. A must still see that B's key signed a tree inconsistent
// with the checkpoint A accepted (proof of a fork with B's key alone, as
// parley audit treats it), keep the evidence and stop following B, rather
// than only report a missing quorum every round.
func TestPeerForkShortOfQuorum(t *testing.T) {
	b := newOrigin(t, "a")
	a := newFedNode(t, 0)
	skey, wvkey, err := tlog.NewCosignerKey(rand.Reader, "witness.example/w")
	if err != nil {
		t.Fatal(err)
	}
	cs, err := tlog.ParseCosignerKey(skey, nil)
	if err != nil {
		t.Fatal(err)
	}
	pol, err := tlog.NewWitnessPolicy([]string{wvkey}, 1)
	if err != nil {
		t.Fatal(err)
	}
	// B behind a front that appends the witness's cosignature to B's
	// checkpoint while cosign is set (the witness saw only B's true tree).
	var cosign atomic.Bool
	cosign.Store(true)
	target, _ := url.Parse(b.URL)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ModifyResponse = func(r *http.Response) error {
		if r.Request.URL.Path != "/log/checkpoint" || r.StatusCode != http.StatusOK || !cosign.Load() {
			return nil
		}
		body, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return err
		}
		text, err := tlog.SplitNote(body)
		if err != nil {
			return err
		}
		signed, err := note.Sign(&note.Note{Text: string(text)}, cs)
		if err != nil {
			return err
		}
		body = append(body, signed[len(text)+1:]...)
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.Header.Set("Content-Length", strconv.Itoa(len(body)))
		return nil
	}
	front := httptest.NewServer(rp)
	t.Cleanup(front.Close)
	if _, err := a.AddPeer(context.Background(), PeerSpec{Name: "a", URL: front.URL, TokenFile: b.followers["a"],
		LogKey: b.VerifierKey(), Policy: pol.String(), Remote: b.intel, Into: "from-b"}); err != nil {
		t.Fatal(err)
	}
	b.share(t, b.intel, 5)
	before := a.caughtUp(t, b, "a")

	cosign.Store(false)
	_, ev := forkUntilStopped(t, a, b, before)
	if _, err := tlog.VerifyEvidence(b.VerifierKey(), ev); err != nil {
		t.Fatalf("the evidence doesn't verify: %v", err)
	}
}

// TestPeerKill9 runs the follower A in a child process replicating B in
// steps of 32 entries, kills it with SIGKILL at random moments (mid-step:
// between storing a step's objects and recording the step, among others),
// restarts it, and at the end checks that A holds each of B's objects
// exactly once, with one entry of its own log each that commits to it,
// and one provenance record each; and that a key index of B, whenever
// one is stored, is of a checkpoint A holds and replicated whole, and at
// the end is B's, of B's tree.
func TestPeerKill9(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip("inside the child")
	}
	ctx := context.Background()
	b := newOrigin(t, "a")
	const total = 1500
	b.share(t, b.intel, total)
	size := waitIntegratedNode(t, b.Node)

	dir := t.TempDir()
	if _, err := Init(ctx, dir, Config{PeerInterval: Duration(20 * time.Millisecond), PeerStep: 32, RoundLeaseTTL: Duration(time.Second)}, nil); err != nil {
		t.Fatal(err)
	}
	a := &fedNode{dir: dir}
	an, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a.Node = an
	pa := a.follow(t, b, "a", "from-b")
	an.Close()
	// next reads A's position from its store while it doesn't run, and
	// checks that a key index stored is of a checkpoint of its tree.
	v := mustVerifier(t, b.VerifierKey())
	next := func() int64 {
		n, err := Open(ctx, dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		st := (&fedNode{Node: n}).peerState(t, "a").State
		if st.KeyIndex != nil {
			cp, err := tlog.OpenCheckpoint(st.KeyIndexCheckpoint, v)
			k, kerr := tlog.OpenKeyIndex(st.KeyIndex, v)
			stored, serr := n.Store().PeerCheckpoint(ctx, "a", st.KeyIndexSize)
			if err != nil || kerr != nil || serr != nil || int64(cp.Size) != st.KeyIndexSize || st.KeyIndexSize > st.Next ||
				k.Size != cp.Size || k.Hash != cp.Hash || !bytes.Equal(stored, st.KeyIndexCheckpoint) {
				t.Fatalf("a key index of size %d stored at position %d: %v %v %v", st.KeyIndexSize, st.Next, err, kerr, serr)
			}
		}
		return st.Next
	}

	rounds, mid := 6, 0
	if testing.Short() {
		rounds = 3
	}
	var last int64
	for round := range rounds {
		cmd, _ := startChildNode(t, dir, round, io.Discard)
		time.Sleep(time.Duration(50+mrand.IntN(400)) * time.Millisecond)
		cmd.Process.Kill() // SIGKILL
		cmd.Wait()
		next := next()
		if next < last {
			t.Fatalf("round %d: the position went back from %d to %d", round, last, next)
		}
		if next > 0 && next < size {
			mid++
		}
		last = next
	}
	if mid == 0 {
		t.Log("no kill landed mid-replication (the machine is too fast or too slow for the timings)")
	}
	a.start(t)
	t.Cleanup(a.stop)
	p := a.caughtUp(t, b, "a")
	if p.State.Objects != total {
		t.Fatalf("recorded %d objects, want %d", p.State.Objects, total)
	}
	if kr := keysOf(t, b, "a"); string(p.State.KeyIndex) != kr.KeyIndex || p.State.KeyIndexSize != size {
		t.Fatalf("A's key index of B after the kills, of size %d:\n%s\nB's:\n%s", p.State.KeyIndexSize, p.State.KeyIndex, kr.KeyIndex)
	}
	objs := localObjects(t, a.Node, pa.Into)
	if len(objs) != total || objectEntries(t, a.Node) != total {
		t.Fatalf("stored %d objects with %d object entries, want %d each", len(objs), objectEntries(t, a.Node), total)
	}
	st := a.Store()
	for _, o := range objs {
		e, err := a.store.EntryFor(ctx, pa.Into, o.ID, o.Version)
		if err != nil {
			t.Fatal(err)
		}
		le, err := tlog.ParseEntry(e.Leaf)
		if err != nil || le.Commitment != tlog.ObjectCommitment(e.Opening(), o.Raw) {
			t.Fatalf("entry %d doesn't commit to %s: %v", e.Index, o.ID, err)
		}
		prov, err := st.PeerObjects(ctx, "a", o.ID)
		if err != nil || len(prov) != 1 {
			t.Fatalf("%s has %d provenance records: %v", o.ID, len(prov), err)
		}
	}
	t.Logf("%d SIGKILLs, %d mid-replication; %d objects replicated once each", rounds, mid, total)
}

// failAdvance is the node's real store whose AdvancePeer fails once, as a
// crash between storing a step's objects and recording the step would.
type failAdvance struct {
	store.Store
	failed bool
}

func (f *failAdvance) AdvancePeer(ctx context.Context, s store.PeerStep) error {
	if !f.failed {
		f.failed = true
		return errors.New("crash before the step is recorded")
	}
	return f.Store.AdvancePeer(ctx, s)
}

// TestPeerStepRedone: a step whose objects were stored but which wasn't
// recorded is redone without storing anything twice.
func TestPeerStepRedone(t *testing.T) {
	ctx := context.Background()
	b, _ := sharedOrigin(t, 40)
	a, pa := unservedFollower(t, b)
	n := a.Node
	st := n.Store()
	fs := &failAdvance{Store: st}
	f, err := peer.New(peer.Config{Store: fs, Dir: t.TempDir()}, pa)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Round(ctx); err == nil || !strings.Contains(err.Error(), "crash") {
		t.Fatalf("first round: %v", err)
	}
	if got := len(localObjects(t, n, pa.Into)); got != 40 {
		t.Fatalf("the failed step stored %d objects, want its 40", got)
	}
	res, err := f.Round(ctx)
	if err != nil || res.Objects != 40 {
		t.Fatalf("second round: %+v %v", res, err)
	}
	if got, entries := len(localObjects(t, n, pa.Into)), objectEntries(t, n); got != 40 || entries != 40 {
		t.Fatalf("after the redo: %d objects, %d object entries; want 40 each", got, entries)
	}
	if p := a.peerState(t, "a"); p.State.Objects != 40 || p.State.LastError != "" {
		t.Fatalf("state: %+v", p.State)
	}
}

// stepLog is the node's real store; it keeps the steps recorded
// (AdvancePeer), in order, and fails the failAt-th call (counting from 1),
// as a crash between storing a step's objects and recording it would.
type stepLog struct {
	store.Store
	failAt int
	mu     sync.Mutex
	calls  int
	steps  [][2]int64 // From, To
}

func (s *stepLog) AdvancePeer(ctx context.Context, st store.PeerStep) error {
	s.mu.Lock()
	s.calls++
	fail := s.calls == s.failAt
	s.mu.Unlock()
	if fail {
		return errors.New("crash before the step is recorded")
	}
	if err := s.Store.AdvancePeer(ctx, st); err != nil {
		return err
	}
	s.mu.Lock()
	s.steps = append(s.steps, [2]int64{st.From, st.To})
	s.mu.Unlock()
	return nil
}

func (s *stepLog) recorded() [][2]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][2]int64(nil), s.steps...)
}

// failObjects fails, once, the peer's GET /log/objects that starts at
// entry start.
type failObjects struct {
	start  string
	failed atomic.Bool
}

func (f *failObjects) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Path == "/log/objects" && req.URL.Query().Get("start") == f.start && !f.failed.Swap(true) {
		return nil, errors.New("connection reset")
	}
	return http.DefaultTransport.RoundTrip(req)
}

// TestPeerStepsAhead: the follower prepares the next step while storing
// one. Steps are still recorded strictly in order; a step whose recording
// fails leaves the position after the step before it, though the next one
// was already prepared; a step that fails while being prepared (its
// objects can't be read) leaves it after the step stored meanwhile; and
// the next rounds resume from there, with nothing stored twice and the
// peer's tree as replicated equal to its signed one.
func TestPeerStepsAhead(t *testing.T) {
	ctx := context.Background()
	b := newOrigin(t, "a")
	b.share(t, b.intel, 40)
	size := waitIntegratedNode(t, b.Node)
	if size < 41 {
		t.Fatalf("B's log has %d entries, want 40 objects and alice's key", size)
	}
	n, _ := initNode(t, Options{})
	defer n.Close()
	a := &fedNode{Node: n}
	pa := a.follow(t, b, "a", "from-b")
	st := &stepLog{Store: n.Store(), failAt: 3}
	fo := &failObjects{start: "32"}
	f, err := peer.New(peer.Config{Store: st, Dir: t.TempDir(), Step: 8, HTTP: &http.Client{Transport: fo}}, pa)
	if err != nil {
		t.Fatal(err)
	}
	want := [][2]int64{{0, 8}, {8, 16}}
	// The third step, [16, 24), isn't recorded while [24, 32) is prepared.
	if _, err := f.Round(ctx); err == nil || !strings.Contains(err.Error(), "crash") {
		t.Fatalf("first round: %v", err)
	}
	if p := a.peerState(t, "a"); p.State.Next != 16 || fmt.Sprint(st.recorded()) != fmt.Sprint(want) {
		t.Fatalf("after the failed record: position %d, steps %v; want 16, %v", p.State.Next, st.recorded(), want)
	}
	// [24, 32) is stored while [32, 40) is prepared, whose objects can't
	// be read.
	res, err := f.Round(ctx)
	if err == nil || !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("second round: %+v %v", res, err)
	}
	want = append(want, [2]int64{16, 24}, [2]int64{24, 32})
	if p := a.peerState(t, "a"); p.State.Next != 32 || res.Next != 32 || fmt.Sprint(st.recorded()) != fmt.Sprint(want) {
		t.Fatalf("after the failed read: position %d (result %d), steps %v; want 32, %v", p.State.Next, res.Next, st.recorded(), want)
	}
	if res, err = f.Round(ctx); err != nil || res.Next != size {
		t.Fatalf("third round: %+v %v", res, err)
	}
	for from := int64(32); from < size; from += 8 {
		want = append(want, [2]int64{from, min(from+8, size)})
	}
	if fmt.Sprint(st.recorded()) != fmt.Sprint(want) {
		t.Fatalf("steps %v, want %v", st.recorded(), want)
	}
	p := a.peerState(t, "a")
	if got, entries := len(localObjects(t, n, pa.Into)), objectEntries(t, n); got != 40 || entries != 40 || p.State.Objects != 40 || p.State.LastError != "" {
		t.Fatalf("%d objects, %d object entries, state %+v; want 40, 40", got, entries, p.State)
	}
	v, err := tlog.NewVerifier(b.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	cp, err := tlog.OpenCheckpoint(p.State.Checkpoint, v)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := tlog.NewTileBuilder(ctx, uint64(size), peer.PeerTiles(n.Store(), "a"))
	if err != nil {
		t.Fatal(err)
	}
	if cp.Size != uint64(size) || tb.Root() != cp.Hash {
		t.Fatalf("the replicated tree of size %d doesn't hash to B's checkpoint of size %d", size, cp.Size)
	}
}

// TestPeerDown: while B is down, A records the error, keeps its position
// and serves its copy; when B is back (on the same address) A catches up.
// A checkpoint short of A's witness policy is refused the same way.
func TestPeerDown(t *testing.T) {
	ctx := context.Background()
	b := newOrigin(t, "a")
	a := newFedNode(t, 0)
	pa := a.follow(t, b, "a", "from-b")
	b.share(t, b.intel, 10)
	a.caughtUp(t, b, "a")
	addr := strings.TrimPrefix(b.URL, "http://")
	b.stop()
	p := a.waitPeer(t, "a", "an error", func(p store.Peer) bool { return strings.Contains(p.State.LastError, "couldn't reach") })
	if p.State.Next == 0 || p.State.Objects != 10 || p.State.RemoteSize != p.State.Next {
		t.Fatalf("state while B is down: %+v", p.State)
	}
	if got := len(localObjects(t, a.Node, pa.Into)); got != 10 {
		t.Fatalf("A serves %d objects while B is down", got)
	}
	b.startAt(t, addr)
	b.share(t, b.intel, 5)
	if p := a.caughtUp(t, b, "a"); p.State.Objects != 15 || p.State.LastError != "" {
		t.Fatalf("after B is back: %+v", p.State)
	}

	// A second follower whose policy wants a witness B doesn't have.
	_, wvkey, err := tlog.NewCosignerKey(rand.Reader, "witness.example/w")
	if err != nil {
		t.Fatal(err)
	}
	pol, err := tlog.NewWitnessPolicy([]string{wvkey}, 1)
	if err != nil {
		t.Fatal(err)
	}
	c := newFedNode(t, 0)
	if _, err := c.AddPeer(ctx, PeerSpec{Name: "a", URL: b.URL, TokenFile: b.followers["a"], LogKey: b.VerifierKey(),
		Policy: pol.String(), Remote: b.intel, Into: "from-b"}); err != nil {
		t.Fatal(err)
	}
	p = c.waitPeer(t, "a", "a refusal", func(p store.Peer) bool { return p.State.LastError != "" })
	if !strings.Contains(p.State.LastError, "witness policy") || p.State.Next != 0 {
		t.Fatalf("a checkpoint without the witness: %+v", p.State)
	}
}

// TestPeerWitness: a node with a witness key (DIR/witness/witness.key, as
// `parley witness init --data DIR/witness` makes it) cosigns the
// checkpoints of the peers it follows and serves them at
// /witness/<origin hash>/checkpoint (C2SP tlog-witness monitor retrieval).
func TestPeerWitness(t *testing.T) {
	b := newOrigin(t, "a")
	a := newFedNode(t, 0)
	skey, vkey, err := tlog.NewCosignerKey(rand.Reader, "a.example/witness")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(a.dir, PeerWitnessDir), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(a.dir, PeerWitnessDir, "witness.key"), []byte(skey), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _ := rawGet(t, a.URL+"/witness/"+witness.OriginHash(b.Config().Origin)+"/checkpoint", ""); code != http.StatusNotFound {
		t.Fatalf("before any peer: %d", code)
	}
	a.follow(t, b, "a", "from-b")
	b.share(t, b.intel, 5)
	size := a.caughtUp(t, b, "a").State.Next
	pol, err := tlog.NewWitnessPolicy([]string{vkey}, 1)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := rawGet(t, a.URL+"/witness/"+witness.OriginHash(b.Config().Origin)+"/checkpoint", "")
		if code == http.StatusOK {
			cp, err := tlog.OpenCheckpoint([]byte(body), mustVerifier(t, b.VerifierKey()))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := tlog.CheckQuorum(pol, []byte(body)); err != nil {
				t.Fatalf("A's cosignature: %v", err)
			}
			if int64(cp.Size) == size {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("A serves no cosigned checkpoint of size %d: %d %s", size, code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func mustVerifier(t *testing.T, vkey string) note.Verifier {
	t.Helper()
	v, err := tlog.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestPeerChain: A follows the collection B replicates from C. B logged
// C's objects under its keyless member peer:NAME, signed by C's member,
// whose key only C's log holds; A keeps them as B's log vouches for them
// (not signed by a key of B's log: unsigned), instead of refusing every
// step, and its own log then checks them the same way.
func TestPeerChain(t *testing.T) {
	ctx := context.Background()
	c := newOrigin(t, "b")
	b := newFedNode(t, 0)
	a := newFedNode(t, 0)
	// B's operator lets A read its copy of C's intel.
	am, err := b.AddMember(ctx, "node-a", nil)
	if err != nil {
		t.Fatal(err)
	}
	pb := b.follow(t, c, "b", "from-c", "node-a")
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(am.Token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pa, err := a.AddPeer(ctx, PeerSpec{Name: "b", URL: b.URL, TokenFile: tokenFile, LogKey: b.VerifierKey(), Remote: pb.Into, Into: "from-b"})
	if err != nil {
		t.Fatal(err)
	}
	c.share(t, c.intel, 20)
	b.caughtUp(t, c, "b")
	size := waitIntegratedNode(t, b.Node)
	p := a.waitPeer(t, "b", fmt.Sprintf("caught up to %d", size), func(p store.Peer) bool { return p.State.Next >= size || p.State.LastError != "" })
	if p.State.LastError != "" || p.State.Objects != 20 {
		t.Fatalf("A: %d objects, error %q; want 20", p.State.Objects, p.State.LastError)
	}
	objs := localObjects(t, a.Node, pa.Into)
	if len(objs) != 20 {
		t.Fatalf("A stored %d objects, want 20", len(objs))
	}
	for _, o := range objs {
		if o.Signed {
			t.Fatalf("%s is stored as signed at A; B's log doesn't say who signed it", o.ID)
		}
	}
}

// forkUntilStopped forks b's log (its last entry and every checkpoint
// taken back, then three more objects shared on the shorter history) and
// waits until a's peer "a" stops, at the position before had, with
// split-view evidence; it returns the peer and the evidence file.
func forkUntilStopped(t *testing.T, a *fedNode, b *origin, before store.Peer) (store.Peer, []byte) {
	t.Helper()
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
	if p.State.Evidence == "" || p.State.Next != before.State.Next {
		t.Fatalf("stopped without evidence or after moving: %+v", p.State)
	}
	ev, err := os.ReadFile(p.State.Evidence)
	if err != nil {
		t.Fatal(err)
	}
	return p, ev
}

// revokeRotateRevoke makes B, after the objects A replicated: alice
// revokes first (a new version of A's copy of it, revoked), rotates her
// key, shares n objects with the new key, and has her key revoked. It
// returns B's key entries then.
func (b *origin) revokeRotateRevoke(t *testing.T, first store.Object, n int) []store.Entry {
	t.Helper()
	ctx := context.Background()
	var m map[string]any
	if err := json.Unmarshal(first.Raw, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "extensions")
	m["modified"] = stix.FormatTimestamp(t0.Add(time.Hour))
	m["revoked"] = true
	post(t, b.alice.Client, b.intel, object(t, b.alice.Key, m))
	pub2, priv2, _ := ed25519.GenerateKey(rand.Reader)
	if err := b.RotateKey(ctx, b.alice.ID, pub2, nil); err != nil {
		t.Fatal(err)
	}
	b.alice.Key = priv2
	b.share(t, b.intel, n)
	if err := b.RevokeKey(ctx, b.alice.ID); err != nil {
		t.Fatal(err)
	}
	bKeys, err := b.store.KeyEntries(ctx, 1<<40)
	if err != nil {
		t.Fatal(err)
	}
	return bKeys
}
