package tlog

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

const testToken = "member-token"

// fakeNode serves a testLog over the node's /log/ API, as a member with
// read access to everything sees it. serveEntry, when set, may change the
// leaves the entry bundles serve.
type fakeNode struct {
	l          *testLog
	serveEntry func(i int, leaf []byte) []byte
	serveKeys  func(*KeysResponse)
	keyQueries []string
}

func (n *fakeNode) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+testToken {
		http.Error(w, "no token", http.StatusUnauthorized)
		return
	}
	l := n.l
	size := uint64(len(l.leaves))
	q := r.URL.Query()
	reply := func(v any) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}
	switch {
	case r.URL.Path == "/log/checkpoint":
		w.Write(l.notes[len(l.notes)-1])
	case r.URL.Path == "/log/key":
		fmt.Fprintln(w, l.vkey)
	case strings.HasPrefix(r.URL.Path, "/log/tile/"):
		t, err := ParseTilePath(strings.TrimPrefix(r.URL.Path, "/log/"))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		if !t.Entries {
			d, err := l.tiles.ReadTile(r.Context(), t)
			if err != nil {
				http.NotFound(w, r)
				return
			}
			w.Write(d)
			return
		}
		first := int(t.N) * TileWidth
		if first+t.Width > len(l.leaves) {
			http.NotFound(w, r)
			return
		}
		var leaves [][]byte
		for i := first; i < first+t.Width; i++ {
			leaf := l.leaves[i]
			if n.serveEntry != nil {
				leaf = n.serveEntry(i, leaf)
			}
			leaves = append(leaves, leaf)
		}
		b, _ := MarshalEntryBundle(leaves)
		w.Write(b)
	case r.URL.Path == "/log/keys":
		n.keyQueries = append(n.keyQueries, r.URL.RawQuery)
		resp := KeysResponse{TreeSize: size, Checkpoint: string(l.notes[len(l.notes)-1])}
		for _, k := range l.keyEvents(nopTB{}) {
			e, _ := ParseEntry(k.Entry)
			if ms := q["member"]; len(ms) == 0 || contains(ms, e.Member) {
				resp.Events = append(resp.Events, k)
			}
		}
		resp.KeyIndex = l.keyIndex(nopTB{}, resp.Events, q["member"]...)
		if n.serveKeys != nil {
			n.serveKeys(&resp)
		}
		reply(resp)
	case r.URL.Path == "/log/objects":
		start, _ := strconv.ParseUint(q.Get("start"), 10, 64)
		end, _ := strconv.ParseUint(q.Get("end"), 10, 64)
		out := []LogObject{}
		l.Objects(r.Context(), start, end, func(i uint64, op Opening, obj []byte) error {
			out = append(out, LogObject{LogIndex: i, Opening: op, Object: obj})
			return nil
		})
		reply(map[string]any{"objects": out})
	case r.URL.Path == "/log/proof/consistency":
		from, _ := strconv.ParseUint(q.Get("from"), 10, 64)
		to, _ := strconv.ParseUint(q.Get("to"), 10, 64)
		p, err := ConsistencyProof(r.Context(), from, to, l.tiles.reader(to))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		reply(ConsistencyResponse{Proof: p})
	case r.URL.Path == "/log/receipt":
		for i, op := range l.openings {
			if op.ObjectID == q.Get("object") && op.Version == q.Get("version") && l.objects[i] != nil {
				p, _ := InclusionProof(r.Context(), uint64(i), size, l.tiles.reader(size))
				reply(Receipt{LogIndex: uint64(i), TreeSize: size, Entry: l.leaves[i], Opening: op, InclusionProof: p, Checkpoint: string(l.notes[len(l.notes)-1])})
				return
			}
		}
		http.NotFound(w, r)
	default:
		http.NotFound(w, r)
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// nopTB lets the fake node reuse the fixture's helpers inside a handler,
// where a failure can't stop the test (the client sees a bad answer).
type nopTB struct{ testing.TB }

func (nopTB) Helper()               {}
func (nopTB) Fatal(...any)          {}
func (nopTB) Fatalf(string, ...any) {}

func serve(t *testing.T, n *fakeNode) *Client {
	t.Helper()
	srv := httptest.NewServer(n)
	t.Cleanup(srv.Close)
	return &Client{URL: srv.URL + "/", Token: testToken, HTTP: srv.Client()}
}

// TestClientAudit: a remote audit through the client sees the log as the
// store does, openings included, and names a tampered object.
func TestClientAudit(t *testing.T) {
	l := newTestLog(t, 300)
	c := serve(t, &fakeNode{l: l})
	rep, err := Audit(context.Background(), c, AuditOptions{Verifier: l.verifier, Tiles: c, AllObjects: true})
	if err != nil || !rep.OK() || rep.Objects != 300 || rep.Entries != 301 {
		t.Fatalf("audit: %+v %v", rep, err)
	}
	l.objects[123] = bytes.Replace(l.objects[123], []byte("test 123"), []byte("test 124"), 1)
	rep, err = Audit(context.Background(), c, AuditOptions{Verifier: l.verifier})
	if err != nil || len(rep.Problems) != 1 || rep.Problems[0].Index != 123 || rep.Problems[0].ObjectID != objectID(123) {
		t.Fatalf("tampered: %+v %v", rep, err)
	}
	if key, err := c.Key(context.Background()); err != nil || key != l.vkey {
		t.Fatalf("Key = %q, %v", key, err)
	}
	bad := &Client{URL: c.URL, Token: "wrong", HTTP: c.HTTP}
	if _, err := bad.Checkpoint(context.Background()); !errors.Is(err, ErrHTTP) {
		t.Fatalf("wrong token: %v", err)
	}
}

// TestClientKeysAndReceipt: /log/keys (all members or some) and a receipt
// verify against the pinned key, and the receipt's opening opens its entry.
func TestClientKeysAndReceipt(t *testing.T) {
	l, _ := swapLog(t)
	l.addKeyEvent(t, Entry{Member: "identity--00000000-0000-4000-8000-000000000001", Event: EventRegister, Authority: AuthorityOperator})
	l.checkpoint(t)
	n := &fakeNode{l: l}
	c := serve(t, n)
	ctx := context.Background()

	all, err := c.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h, cp, err := all.Verify(l.verifier)
	if err != nil || cp.Size != 7 || len(h.Members()) != 2 || len(all.Events) != 3 {
		t.Fatalf("all keys: %v %+v %v", h, cp, err)
	}
	some, err := c.Keys(ctx, l.member)
	if err != nil {
		t.Fatal(err)
	}
	if n.keyQueries[1] != "member=identity--c78cb6e5-0c4b-4611-8297-d1b8b55e40b5" || len(some.Events) != 2 {
		t.Fatalf("query %q, %d events", n.keyQueries[1], len(some.Events))
	}
	h, _, err = some.Verify(l.verifier)
	if err != nil {
		t.Fatal(err)
	}
	if k, ok := h.KeyAt(l.member, 6); !ok || !k.OperatorAsserted() {
		t.Fatalf("key in force at 6: %+v %v", k, ok)
	}
	// Replay trusts the events without proofs; it still refuses
	// out-of-order ones.
	if rh, err := some.Replay(); err != nil || len(rh.Keys(l.member)) != 2 {
		t.Fatalf("Replay: %v", err)
	}
	some.Events[0], some.Events[1] = some.Events[1], some.Events[0]
	if _, err := some.Replay(); err == nil {
		t.Fatal("Replay accepted events out of order")
	}

	r, err := c.Receipt(ctx, objectID(2), testVersion)
	if err != nil {
		t.Fatal(err)
	}
	e, rcp, err := r.Verify(l.vkey)
	if err != nil || rcp.Size != 7 || r.LogIndex != 2 {
		t.Fatalf("receipt: %+v %v", r, err)
	}
	if _, err := CheckObject(l.objects[2], r.Opening, e, r.LogIndex, h); err != nil {
		t.Fatalf("the receipt's opening doesn't open its entry: %v", err)
	}
	r.Opening.Member = "identity--00000000-0000-4000-8000-000000000001"
	if _, err := CheckObject(l.objects[2], r.Opening, e, r.LogIndex, h); !errors.Is(err, ErrObjectMismatch) {
		t.Fatalf("a changed opening opens the entry: %v", err)
	}
	r.TreeSize = 6
	if _, _, err := r.Verify(l.vkey); !errors.Is(err, ErrProof) {
		t.Fatalf("receipt with another tree size: %v", err)
	}
	if _, err := c.Receipt(ctx, objectID(99), testVersion); !errors.Is(err, ErrHTTP) {
		t.Fatalf("unknown object: %v", err)
	}
}

// TestObjectVerifier: objects a node serves are checked against the log
// with nothing trusted but the pinned key: entry commitment and opening,
// and the key in force from the log's key entries.
func TestObjectVerifier(t *testing.T) {
	l, _ := swapLog(t)
	l.addObject(t, nil)   // 6: unsigned
	l.addObject(t, l.key) // 7: signed with the rotated-out key
	l.checkpoint(t)
	n := &fakeNode{l: l}
	c := serve(t, n)
	ctx := context.Background()
	item := func(i int) VerifyItem {
		return VerifyItem{Object: l.objects[i], LogIndex: uint64(i), Opening: l.openings[i]}
	}
	tampered := item(2)
	tampered.Object = bytes.Replace(tampered.Object, []byte("test 2"), []byte("test 3"), 1)
	moved := item(3)
	moved.LogIndex = 2
	beyond := item(3)
	beyond.LogIndex = 100

	for _, proofs := range []bool{false, true} {
		v := &ObjectVerifier{Log: c, Key: l.verifier, Proofs: proofs}
		res, err := v.Verify(ctx, []VerifyItem{item(1), item(5), item(6), item(7), tampered, moved, beyond})
		if err != nil {
			t.Fatal(err)
		}
		if res[0].Err != nil || !res[0].Check.Signer.Key.Equal(pubOf(l.key)) {
			t.Errorf("proofs=%v: item 1: %+v", proofs, res[0])
		}
		if res[1].Err != nil || !res[1].Check.Signer.OperatorAsserted() {
			t.Errorf("proofs=%v: item 5 (operator-asserted key): %+v", proofs, res[1])
		}
		if !errors.Is(res[2].Err, ErrUnsignedObject) {
			t.Errorf("proofs=%v: unsigned: %v", proofs, res[2].Err)
		}
		if !errors.Is(res[3].Err, ErrKey) {
			t.Errorf("proofs=%v: rotated-out key: %v", proofs, res[3].Err)
		}
		if !errors.Is(res[4].Err, ErrObjectMismatch) || !errors.Is(res[5].Err, ErrObjectMismatch) {
			t.Errorf("proofs=%v: tampered %v, moved %v", proofs, res[4].Err, res[5].Err)
		}
		if !errors.Is(res[6].Err, ErrNotInLog) {
			t.Errorf("proofs=%v: beyond the log: %v", proofs, res[6].Err)
		}
		if v.Checkpoint().Size != 8 || v.Keys() == nil {
			t.Errorf("proofs=%v: checkpoint %+v", proofs, v.Checkpoint())
		}
	}

	// A node whose entry bundles serve another (well-formed) entry for an
	// object the member reads: the commitment fails without proofs, and
	// with proofs the entry isn't in the signed tree.
	n.serveEntry = func(i int, leaf []byte) []byte {
		if i != 1 {
			return leaf
		}
		op := l.openings[1]
		e := Entry{Kind: KindObject, Received: testT0.Add(1), Commitment: ObjectCommitment(op, l.objects[3])}
		b, _ := e.Marshal()
		return b
	}
	for _, proofs := range []bool{false, true} {
		v := &ObjectVerifier{Log: c, Key: l.verifier, Proofs: proofs}
		res, err := v.Verify(ctx, []VerifyItem{item(1)})
		if err != nil {
			t.Fatal(err)
		}
		want := ErrObjectMismatch
		if proofs {
			want = ErrNotInLog
		}
		if !errors.Is(res[0].Err, want) {
			t.Errorf("proofs=%v: changed entry: %v, want %v", proofs, res[0].Err, want)
		}
	}
	n.serveEntry = nil

	// The log grows: a later item makes the verifier read the new
	// checkpoint and key entries.
	v := &ObjectVerifier{Log: c, Key: l.verifier}
	if res, err := v.Verify(ctx, []VerifyItem{item(1)}); err != nil || res[0].Err != nil {
		t.Fatalf("before growth: %v %v", err, res)
	}
	third := testKey(0xcc)
	l.addKeyEvent(t, Entry{Event: EventRotate, Key: pubOf(third), Authority: AuthorityOperator}) // 8: to a third key
	l.addObject(t, third)                                                                        // 9
	l.checkpoint(t)
	if res, err := v.Verify(ctx, []VerifyItem{item(9)}); err != nil || res[0].Err != nil {
		t.Fatalf("after growth: %v %+v", err, res)
	}
	if v.Checkpoint().Size != 10 {
		t.Fatalf("checkpoint not refreshed: %+v", v.Checkpoint())
	}
	// Key entries the log doesn't prove are refused: a node that swaps the
	// key of a logged registration for its own.
	n.serveKeys = func(r *KeysResponse) {
		e, _ := ParseEntry(r.Events[0].Entry)
		e.Key = pubOf(testKey(0xee))
		r.Events[0].Entry, _ = e.Marshal()
	}
	forged := &ObjectVerifier{Log: c, Key: l.verifier}
	if _, err := forged.Verify(ctx, []VerifyItem{item(1)}); !errors.Is(err, ErrProof) {
		t.Fatalf("forged key entry: %v", err)
	}
	// A node that leaves out the rotation to the third key (entry 8),
	// so that the second looks in force at entry 9 (an object it planted
	// signed with it would verify), is refused: its key index lists the
	// entry; and a node that sends no key index is refused too.
	n.serveKeys = func(r *KeysResponse) {
		r.Events = slices.DeleteFunc(r.Events, func(k BundleKey) bool { return k.LogIndex == 8 })
	}
	leftOut := &ObjectVerifier{Log: c, Key: l.verifier}
	if _, err := leftOut.Verify(ctx, []VerifyItem{item(9)}); !errors.Is(err, ErrKeyIndex) || !strings.Contains(err.Error(), "leaves out member key entry 8") {
		t.Fatalf("rotation left out of /log/keys: %v, want ErrKeyIndex", err)
	}
	n.serveKeys = func(r *KeysResponse) { r.KeyIndex = "" }
	noIndex := &ObjectVerifier{Log: c, Key: l.verifier}
	if _, err := noIndex.Verify(ctx, []VerifyItem{item(9)}); !errors.Is(err, ErrKeyIndex) {
		t.Fatalf("/log/keys without a key index: %v, want ErrKeyIndex", err)
	}
	n.serveKeys = nil

	// The pinned key is the only trust: another key refuses the log.
	other := &ObjectVerifier{Log: c, Key: otherVerifier(t)}
	if _, err := other.Verify(ctx, []VerifyItem{item(1)}); err == nil {
		t.Fatal("verified against a log signed by another key")
	}
}

func otherVerifier(t *testing.T) note.Verifier {
	_, vkey, _ := NewNodeKey(strings.NewReader(strings.Repeat("o", 64)), testOrigin)
	v, err := NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestSeenCheckConsistent: a checkpoint is checked against the seen ones
// with the log's own consistency proofs, below and above it; a fork is
// refused and kept as evidence.
func TestSeenCheckConsistent(t *testing.T) {
	ctx := context.Background()
	small := newTestLog(t, 5)
	l := newTestLog(t, 300)
	n := &fakeNode{l: l}
	c := serve(t, n)
	big := l.notes[0]
	mid := newTestLog(t, 100).notes[0]

	seen := &SeenCheckpoints{Notes: []string{string(small.notes[0])}}
	if err := seen.CheckConsistent(ctx, mid, l.verifier, c); err != nil {
		t.Fatalf("growth from a seen prefix: %v", err)
	}
	// Now seen holds 6 and 101; 301 is checked from 101.
	if err := seen.CheckConsistent(ctx, big, l.verifier, c); err != nil || len(seen.Notes) != 3 {
		t.Fatalf("growth: %v (%d notes)", err, len(seen.Notes))
	}
	// An older checkpoint seen after a newer one is checked up to it.
	seen = &SeenCheckpoints{Notes: []string{string(big)}}
	if err := seen.CheckConsistent(ctx, mid, l.verifier, c); err != nil {
		t.Fatalf("an older checkpoint: %v", err)
	}

	// Another history of size 6 signed by the same key: a fork.
	other := newTestLog(t, 5)
	other.leaves[5] = other.leaves[4]
	forked := other.checkpoint(t)
	seen = &SeenCheckpoints{Notes: []string{string(small.notes[0])}}
	if err := seen.CheckConsistent(ctx, forked, l.verifier, c); !errors.Is(err, ErrProof) || !strings.Contains(err.Error(), "forked") {
		t.Fatalf("same size, other root: %v", err)
	}
	if len(seen.Notes) != 2 {
		t.Fatalf("fork evidence not kept: %d notes", len(seen.Notes))
	}
	seen = &SeenCheckpoints{Notes: []string{string(forked)}}
	if err := seen.CheckConsistent(ctx, big, l.verifier, c); !errors.Is(err, ErrProof) {
		t.Fatalf("growth from a forked prefix: %v", err)
	}

	// An ObjectVerifier with proofs refuses a log inconsistent with Seen.
	v := &ObjectVerifier{Log: c, Key: l.verifier, Proofs: true, Seen: &SeenCheckpoints{Notes: []string{string(forked)}}}
	if _, err := v.Verify(ctx, []VerifyItem{{Object: l.objects[1], LogIndex: 1, Opening: l.openings[1]}}); !errors.Is(err, ErrProof) {
		t.Fatalf("ObjectVerifier with a forked seen checkpoint: %v", err)
	}
	// Also when its policy's witnesses didn't cosign the log's checkpoint
	// (they refuse a fork): the contradiction with Seen is proof of a
	// fork by the log key alone, found and kept before the quorum is
	// checked.
	_, stranger, err := NewCosignerKey(rand.Reader, "w.example")
	if err != nil {
		t.Fatal(err)
	}
	pol, err := NewWitnessPolicy([]string{stranger}, 1)
	if err != nil {
		t.Fatal(err)
	}
	seen = &SeenCheckpoints{Notes: []string{string(forked)}}
	v = &ObjectVerifier{Log: c, Key: l.verifier, Proofs: true, Seen: seen, Policy: pol}
	if _, err := v.Verify(ctx, []VerifyItem{{Object: l.objects[1], LogIndex: 1, Opening: l.openings[1]}}); !errors.Is(err, ErrProof) || !strings.Contains(err.Error(), "forked") {
		t.Fatalf("ObjectVerifier with a forked seen checkpoint and a checkpoint short of its quorum: %v", err)
	}
	if len(seen.Notes) != 2 {
		t.Fatalf("fork evidence not kept: %d notes", len(seen.Notes))
	}
}

// TestClientErrorMessage: a node's TAXII error object becomes "title:
// description" in the error; any other body is quoted as it is. The
// error's status code is the answer's, whatever the node's message says.
func TestClientErrorMessage(t *testing.T) {
	for _, tc := range []struct {
		code       int
		body, want string
	}{
		{http.StatusServiceUnavailable, `{"title":"not yet in a checkpoint","description":"an entry isn't in a signed checkpoint yet; retry","http_status":"503"}`,
			"503 Service Unavailable: not yet in a checkpoint: an entry isn't in a signed checkpoint yet; retry"},
		{http.StatusServiceUnavailable, "plain text\n", "503 Service Unavailable: plain text"},
		{http.StatusBadRequest, "bad: 503 Service Unavailable", "400 Bad Request: bad: 503 Service Unavailable"},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tc.code)
			fmt.Fprint(w, tc.body)
		}))
		_, err := (&Client{URL: srv.URL}).Checkpoint(context.Background())
		srv.Close()
		var he *HTTPError
		if !errors.Is(err, ErrHTTP) || !strings.HasSuffix(err.Error(), tc.want) || !errors.As(err, &he) || he.Code != tc.code {
			t.Errorf("body %q: %v, want status %d and it to end with %q", tc.body, err, tc.code, tc.want)
		}
	}
}

// A node's GET /log/checkpoints is read within the tree of the checkpoint
// read: a node that pages on for ever (next one more each time, with
// notes of ever larger trees) is read up to that tree's size, and one
// that serves more notes than its tree has sizes (junk the audit would
// report one problem each for) fails.
func TestClientCosignedCheckpointsBounded(t *testing.T) {
	skey, _, err := NewNodeKey(rand.Reader, "log.example/a")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(size uint64) string {
		n, err := SignCheckpoint(Checkpoint{Origin: "log.example/a", Size: size, Hash: LeafHash([]byte{byte(size)})}, signer)
		if err != nil {
			t.Fatal(err)
		}
		return string(n)
	}
	var pages int
	junk := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/log/checkpoint" {
			fmt.Fprint(w, sign(5))
			return
		}
		pages++
		start, _ := strconv.ParseUint(r.URL.Query().Get("start"), 10, 64)
		resp := CheckpointsResponse{Checkpoints: []string{sign(start + 1)}}
		if junk {
			resp.Checkpoints = make([]string, 10000)
		}
		if next := start + 1; pages < 1000 {
			resp.Next = &next
		}
		json.NewEncoder(w).Encode(resp)
	}))
	defer srv.Close()
	ctx := context.Background()
	c := &Client{URL: srv.URL}
	if _, err := c.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	var sizes []uint64
	err = c.CosignedCheckpoints(ctx, func(n []byte) error {
		text, _ := SplitNote(n)
		cp, _ := ParseCheckpoint(text)
		sizes = append(sizes, cp.Size)
		return nil
	})
	if err != nil || fmt.Sprint(sizes) != "[1 2 3 4 5]" || pages > 6 {
		t.Fatalf("read %d pages, notes of sizes %.80v, %v; want 1 to 5 in 6 pages at most", pages, sizes, err)
	}
	pages, junk = 0, true
	calls := 0
	err = c.CosignedCheckpoints(ctx, func([]byte) error { calls++; return nil })
	if err == nil || calls > 5 {
		t.Fatalf("10,000 junk notes for a tree of size 5: %d passed, %v", calls, err)
	}
}

// A hostile node's refusal comes back in the error (which peers record
// and commands print) as a few hundred bytes with no control characters,
// whatever its reason phrase and body: no megabyte, no terminal escapes.
func TestClientErrorsDontEchoHostileText(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		body := "\x1b[2J\x1b]0;owned\x07 all is well"
		fmt.Fprintf(buf, "HTTP/1.1 503 %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", strings.Repeat("x", 1<<20), len(body), body)
		buf.Flush()
	}))
	defer srv.Close()
	_, err := (&Client{URL: srv.URL}).Checkpoint(context.Background())
	if !errors.Is(err, ErrHTTP) {
		t.Fatalf("err = %.300v", err)
	}
	if msg := err.Error(); len(msg) > 1000 || strings.ContainsAny(msg, "\x1b\x07") || !strings.Contains(msg, "503") {
		t.Fatalf("error of %d bytes: %.300q", len(msg), msg)
	}
}

// A tile is read up to the largest a tile of its width can be, and the
// log key up to 64 KiB: a node
// that answers a hash tile of 8 KiB (or a bundle of 3 entries) with 300 KiB gets an error, not a
// read of up to the client's 64 MiB.
func TestClientReadTileBounded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(make([]byte, 300<<10))
	}))
	defer srv.Close()
	c := &Client{URL: srv.URL}
	for _, tile := range []Tile{{N: 0, Width: TileWidth}, {N: 0, Width: 3, Entries: true}} {
		if data, err := c.ReadTile(context.Background(), tile); !errors.Is(err, errTooLarge) {
			t.Errorf("%s: %d bytes, %v", tile.Path(), len(data), err)
		}
	}
	if key, err := c.Key(context.Background()); !errors.Is(err, errTooLarge) {
		t.Errorf("a key of %d bytes, %v", len(key), err)
	}
}

// A checkpoint is read up to 1 MiB (a note has at most 100 signatures).
func TestClientCheckpointBounded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(make([]byte, 2<<20))
	}))
	defer srv.Close()
	if n, err := (&Client{URL: srv.URL}).Checkpoint(context.Background()); !errors.Is(err, errTooLarge) {
		t.Errorf("a checkpoint of %d bytes, %v", len(n), err)
	}
}

// countingVerifier counts the signatures it checks.
type countingVerifier struct {
	note.Verifier
	n int
}

func (c *countingVerifier) Verify(msg, sig []byte) bool {
	c.n++
	return c.Verifier.Verify(msg, sig)
}

// TestSeenCheckConsistentVerifiesFew: against a seen file of hundreds of
// checkpoints, a check verifies the signatures of the checkpoints it
// compares with (and the new one), not of all of them.
func TestSeenCheckConsistentVerifiesFew(t *testing.T) {
	ctx := context.Background()
	l := newTestLog(t, 300)
	c := serve(t, &fakeNode{l: l})
	seen := &SeenCheckpoints{}
	for size := uint64(1); size <= 300; size++ {
		root, err := TreeRoot(ctx, size, l.tiles.reader(size))
		if err != nil {
			t.Fatal(err)
		}
		n, err := SignCheckpoint(Checkpoint{Origin: testOrigin, Size: size, Hash: root}, l.signer)
		if err != nil {
			t.Fatal(err)
		}
		seen.Notes = append(seen.Notes, string(n))
	}
	v := &countingVerifier{Verifier: l.verifier}
	if err := seen.CheckConsistent(ctx, l.notes[0], v, c); err != nil {
		t.Fatal(err)
	}
	if v.n > 3 {
		t.Errorf("%d signatures verified against a seen file of %d checkpoints, want at most 3", v.n, len(seen.Notes))
	}
	// A fork among them is still found.
	other := newTestLog(t, 5)
	other.leaves[5] = other.leaves[4]
	if err := seen.CheckConsistent(ctx, other.checkpoint(t), l.verifier, c); !errors.Is(err, ErrProof) || !strings.Contains(err.Error(), "forked") {
		t.Fatalf("same size, other root: %v", err)
	}
}

// TestSeenThinned: a seen file that sees a new checkpoint at every run
// stays within MaxSeenNotes: the older checkpoints are thinned out, the
// latest, the new one and a fork's two checkpoints stay, and what is kept
// is still spread over the history.
func TestSeenThinned(t *testing.T) {
	old := MaxSeenNotes
	MaxSeenNotes = 64
	defer func() { MaxSeenNotes = old }()
	l := newTestLog(t, 0)
	sign := func(size uint64, root byte) string {
		n, err := SignCheckpoint(Checkpoint{Origin: testOrigin, Size: size, Hash: Hash{root}}, l.signer)
		if err != nil {
			t.Fatal(err)
		}
		return string(n)
	}
	s := &SeenCheckpoints{path: filepath.Join(t.TempDir(), "seen.json")}
	forkA, forkB := sign(10, 1), sign(10, 2)
	s.Add([]byte(forkA))
	s.Add([]byte(forkB))
	for size := uint64(11); size < 11+640; size++ {
		n := sign(size, 1)
		s.Add([]byte(n))
		if len(s.Notes) > MaxSeenNotes {
			t.Fatalf("after size %d: %d notes, want at most %d", size, len(s.Notes), MaxSeenNotes)
		}
		if !slices.Contains(s.Notes, n) {
			t.Fatalf("the checkpoint of size %d, just added, was dropped", size)
		}
	}
	for _, n := range []string{forkA, forkB} {
		if !slices.Contains(s.Notes, n) {
			t.Errorf("a fork's checkpoint of size 10 was dropped")
		}
	}
	var sizes []uint64
	for _, n := range s.Notes {
		sizes = append(sizes, sizeOf(n))
	}
	slices.Sort(sizes)
	if sizes[len(sizes)-1] != 650 {
		t.Errorf("largest kept size %d, want 650", sizes[len(sizes)-1])
	}
	// Spread: some of the oldest fifth is left, and the newest run dense.
	if sizes[2] > 11+128 {
		t.Errorf("nothing kept of the oldest fifth of the history: %v", sizes)
	}
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	back, err := LoadSeen(s.path)
	if err != nil || len(back.Notes) != len(s.Notes) {
		t.Fatalf("reloaded %v notes, %v", len(back.Notes), err)
	}
}
