package node

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/taxii"
	"github.com/parley-exchange/parley/tlog"
	_ "modernc.org/sqlite"
)

// postEach posts count indicators by alice to the shared collection, one
// request each, created a second apart from t0, and returns their ids in
// order.
func postEach(t *testing.T, tn *testNode, count int) []string {
	t.Helper()
	var ids []string
	for i := range count {
		o := indicator(t, tn.alice.ID, tn.alice.Key, t0.Add(time.Duration(i)*time.Second))
		post(t, tn.alice.Client, tn.shared, o)
		ids = append(ids, idOf(t, o))
	}
	return ids
}

// waitIntegrated waits until the node's checkpoint covers its whole log.
func waitIntegrated(t *testing.T, tn *testNode) int64 {
	t.Helper()
	ls := tn.store
	deadline := time.Now().Add(5 * time.Second)
	for {
		size, _, err := ls.LatestCheckpoint(context.Background())
		if err == nil && size == tn.logSize(t) {
			return size
		}
		if time.Now().After(deadline) {
			t.Fatalf("log not integrated: checkpoint %d, log %d (%v)", size, tn.logSize(t), err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestLogHTTP(t *testing.T) {
	tn := newTestNode(t)
	ctx := context.Background()
	alice := &tlog.Client{URL: tn.URL, Token: tn.alice.Token}
	bob := &tlog.Client{URL: tn.URL, Token: tn.bob.Token}
	carol := &tlog.Client{URL: tn.URL, Token: tn.carol.Token}

	// The key is served to members only, and is the node's.
	if code, _ := rawGet(t, tn.URL+"/log/key", ""); code != http.StatusUnauthorized {
		t.Fatalf("unauthenticated /log/key: %d", code)
	}
	key, err := alice.Key(ctx)
	if err != nil || key != tn.VerifierKey() {
		t.Fatalf("key %q, %v", key, err)
	}
	v, _ := tlog.NewVerifier(key)

	var objs []json.RawMessage
	for i := range 3 {
		objs = append(objs, indicator(t, tn.alice.ID, tn.alice.Key, t0.Add(time.Duration(i)*time.Second)))
	}
	post(t, tn.alice.Client, tn.shared, objs...)
	secret := indicator(t, tn.bob.ID, tn.bob.Key, t0)
	post(t, tn.bob.Client, tn.private, secret)

	// A receipt is available within a second of acknowledgement.
	start := time.Now()
	rc, err := alice.Receipt(ctx, idOf(t, objs[2]), stix.FormatTimestamp(t0.Add(2*time.Second)))
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("receipt took %v", d)
	}
	e, cp, err := rc.Verify(key)
	if err != nil {
		t.Fatal(err)
	}
	if rc.ObjectID != idOf(t, objs[2]) || rc.Member != tn.alice.ID || rc.Collection != tn.shared || e.Kind != tlog.KindObject {
		t.Fatalf("receipt %+v, entry %+v", rc, e)
	}
	keys := tlog.NewKeyHistory()
	if err := keys.Apply(0, tlog.Entry{Kind: tlog.KindMemberKey, Member: tn.alice.ID, Event: tlog.EventRegister,
		Key: tn.alice.Key.Public().(ed25519.PublicKey), Authority: tlog.AuthorityOperator, Received: e.Received}); err != nil {
		t.Fatal(err)
	}
	if _, err := tlog.CheckObject(objs[2], rc.Opening, e, rc.LogIndex, keys); err != nil {
		t.Fatal(err)
	}
	// docs/log.md's receipt members, exactly.
	_, body := rawGet(t, tn.URL+"/log/receipt?object="+idOf(t, objs[0])+"&version="+stix.FormatTimestamp(t0), tn.alice.Token)
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"log_index", "tree_size", "entry", "salt", "collection", "object_id", "version", "member", "inclusion_proof", "checkpoint"} {
		if _, ok := m[k]; !ok || len(m) != 10 {
			t.Errorf("receipt JSON lacks %q or has extra members: %s", k, body)
		}
	}

	// Only readers of the collection get a receipt; others see nothing.
	waitIntegrated(t, tn)
	if _, err := alice.Receipt(ctx, idOf(t, secret), stix.FormatTimestamp(t0)); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("alice got bob's private receipt: %v", err)
	}
	if _, err := carol.Receipt(ctx, idOf(t, objs[0]), stix.FormatTimestamp(t0)); err == nil {
		t.Error("carol got a receipt for a collection she can't read")
	}
	if _, err := bob.Receipt(ctx, idOf(t, secret), stix.FormatTimestamp(t0)); err != nil {
		t.Errorf("bob's own receipt: %v", err)
	}

	// The checkpoint and tiles describe the same tree (C2SP readers).
	note, err := alice.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cp, err = tlog.OpenCheckpoint(note, v)
	if err != nil || cp.Size != 7 { // 3 members' registrations, 4 objects
		t.Fatalf("checkpoint %+v, %v", cp, err)
	}
	root, err := tlog.TreeRoot(ctx, cp.Size, tlog.TileHashReader(cp.Size, alice))
	if err != nil || root != cp.Hash {
		t.Fatalf("root from served tiles %v, %v; checkpoint %v", root, err, cp.Hash)
	}
	code, body := rawGet(t, tn.URL+"/log/tile/entries/000.p/7", tn.carol.Token)
	leaves, err := tlog.ParseEntryBundle([]byte(body))
	if code != 200 || err != nil || len(leaves) != 7 {
		t.Fatalf("entry bundle: %d %v %d", code, err, len(leaves))
	}
	if !bytes.Equal(leaves[rc.LogIndex], rc.Entry) {
		t.Error("entry bundle doesn't hold the receipt's entry")
	}
	for _, bad := range []string{"/log/tile/entries/000.p/8", "/log/tile/entries/000", "/log/tile/0/000", "/log/tile/0/001.p/1", "/log/tile/0/0000"} {
		if code, _ := rawGet(t, tn.URL+bad, tn.alice.Token); code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", bad, code)
		}
	}

	// Consistency from the earlier tree to a grown one.
	post(t, tn.alice.Client, tn.shared, indicator(t, tn.alice.ID, tn.alice.Key, t0), indicator(t, tn.alice.ID, tn.alice.Key, t0))
	waitIntegrated(t, tn)
	note2, _ := alice.Checkpoint(ctx)
	cp2, err := tlog.OpenCheckpoint(note2, v)
	if err != nil || cp2.Size != 9 {
		t.Fatalf("checkpoint 2 %+v %v", cp2, err)
	}
	p, err := alice.ConsistencyProof(ctx, cp.Size, cp2.Size)
	if err != nil {
		t.Fatal(err)
	}
	if err := tlog.VerifyConsistency(cp.Size, cp2.Size, p, cp.Hash, cp2.Hash); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"from=0&to=6", "from=5&to=4", "from=1&to=10", "from=x&to=2"} {
		if code, _ := rawGet(t, tn.URL+"/log/proof/consistency?"+q, tn.alice.Token); code != http.StatusBadRequest {
			t.Errorf("consistency %s: %d", q, code)
		}
	}

	// A proof bundle verifies offline against the pinned key, and holds
	// only what the member may read.
	bb, err := alice.Bundle(ctx, idOf(t, objs[0]), idOf(t, objs[1]))
	if err != nil {
		t.Fatal(err)
	}
	res, err := tlog.VerifyBundle(bb, key)
	if err != nil || len(res.Items) != 2 {
		t.Fatalf("bundle %+v %v", res, err)
	}
	if _, err := alice.Bundle(ctx, idOf(t, secret)); err == nil {
		t.Error("alice got a bundle of bob's private object")
	}

	// Remote audit as alice: every entry, the objects she may read.
	rep, err := tlog.Audit(ctx, alice, tlog.AuditOptions{Verifier: v, Tiles: alice})
	if err != nil || !rep.OK() || rep.Entries != 9 || rep.Objects != 5 {
		t.Fatalf("remote audit %+v %v", rep, err)
	}
	// Local audit of the store: everything.
	src := NewStoreAuditSource(tn.store)
	rep, err = tlog.Audit(ctx, src, tlog.AuditOptions{Verifier: v, Tiles: src, AllObjects: true})
	if err != nil || !rep.OK() || rep.Objects != 6 || rep.Checkpoints < 2 {
		t.Fatalf("store audit %+v %v", rep, err)
	}
}

// TestAuditTamperedStore edits the SQLite file of a stopped node: the
// audit fails and names the object.
func TestAuditTamperedStore(t *testing.T) {
	onlySQLite(t)
	tn := newTestNode(t)
	ctx := context.Background()
	ids := postEach(t, tn, 5)
	waitIntegrated(t, tn)
	dir := tn.Dir()
	v, _ := tlog.NewVerifier(tn.VerifierKey())

	audit := func() *tlog.AuditReport {
		t.Helper()
		src, _, closeStore, err := OpenStoreAudit(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		defer closeStore()
		rep, err := tlog.Audit(ctx, src, tlog.AuditOptions{Verifier: v, Tiles: src, AllObjects: true})
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	if rep := audit(); !rep.OK() {
		t.Fatalf("clean store: %v", rep.Problems)
	}
	edit := func(q string, args ...any) {
		t.Helper()
		db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, StoreFile))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatal(err)
		}
	}
	named := func(rep *tlog.AuditReport, id string) bool {
		for _, p := range rep.Problems {
			if p.ObjectID == id {
				return true
			}
		}
		return false
	}
	// Change an object's content (keeping valid JSON).
	edit(`UPDATE objects SET raw = replace(raw, 'evil.example', 'good.example') WHERE object_id = ?`, ids[2])
	if rep := audit(); rep.OK() || !named(rep, ids[2]) {
		t.Fatalf("changed object not named: %v", rep.Problems)
	}
	// Change an entry's received time: back-dating.
	edit(`UPDATE log_entries SET leaf = replace(leaf, '"received":"2', '"received":"1') WHERE object_id = ?`, ids[4])
	if rep := audit(); rep.OK() || !named(rep, ids[4]) {
		t.Fatalf("back-dated entry not named: %v", rep.Problems)
	}
	// Delete an object outright.
	edit(`DELETE FROM objects WHERE object_id = ?`, ids[0])
	if rep := audit(); rep.OK() || !named(rep, ids[0]) {
		t.Fatalf("deleted object not named: %v", rep.Problems)
	}
}

// TestIntegratorResumes: integration continues from stored tiles after a
// restart, in several batches, with one checkpoint per batch, all of which
// the audit checks.
func TestIntegratorResumes(t *testing.T) {
	tn := newTestNode(t)
	ctx := context.Background()
	var objs []json.RawMessage
	for i := range 40 {
		objs = append(objs, indicator(t, tn.alice.ID, tn.alice.Key, t0.Add(time.Duration(i)*time.Second)))
	}
	post(t, tn.alice.Client, tn.shared, objs[:15]...)
	waitIntegrated(t, tn)
	post(t, tn.alice.Client, tn.shared, objs[15:]...)
	// A second integrator (another process on the same store) with small
	// batches stands by: the running one holds the lease.
	li, err := NewLogIntegrator(tn.Node, LogIntegratorOptions{MaxBatch: 7})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := li.Integrate(ctx); !errors.Is(err, ErrLeaseHeld) {
		t.Fatalf("a second integrator: %v, want ErrLeaseHeld", err)
	}
	waitIntegrated(t, tn)
	v, _ := tlog.NewVerifier(tn.VerifierKey())
	src := NewStoreAuditSource(tn.store)
	rep, err := tlog.Audit(ctx, src, tlog.AuditOptions{Verifier: v, Tiles: src, AllObjects: true})
	if err != nil || !rep.OK() || rep.Entries != 43 || rep.Objects != 40 { // 3 members' registrations, 40 objects
		t.Fatalf("audit %+v %v", rep, err)
	}
}

// TestForkCaught: an operator who holds the node key rewrites history and
// signs a second checkpoint for a size it already signed. A member's audit
// with its seen-checkpoints file catches it and keeps both checkpoints.
func TestForkCaught(t *testing.T) {
	onlySQLite(t)
	tn := newTestNode(t)
	ctx := context.Background()
	postEach(t, tn, 4)
	waitIntegrated(t, tn)
	v, _ := tlog.NewVerifier(tn.VerifierKey())
	seenPath := filepath.Join(t.TempDir(), "seen.json")
	alice := &tlog.Client{URL: tn.URL, Token: tn.alice.Token}
	audit := func() *tlog.AuditReport {
		t.Helper()
		seen, err := tlog.LoadSeen(seenPath)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := tlog.Audit(ctx, alice, tlog.AuditOptions{Verifier: v, Seen: seen})
		if err != nil {
			t.Fatal(err)
		}
		if err := seen.Save(); err != nil {
			t.Fatal(err)
		}
		return rep
	}
	if rep := audit(); !rep.OK() {
		t.Fatal(rep.Problems)
	}
	_, first, _ := tn.store.LatestCheckpoint(ctx)

	// The operator drops the last entry and its object, throws the tree
	// away and lets another object take its place: a different history of
	// the same size, signed with the node's key, and self-consistent.
	w, _ := tn.store.(interface {
		DB() (*sql.DB, *sql.DB)
	}).DB()
	for _, q := range []string{
		`DELETE FROM objects WHERE log_index = (SELECT max(idx) FROM log_entries)`, `DELETE FROM log_entries WHERE idx = (SELECT max(idx) FROM log_entries)`,
		`DELETE FROM log_tiles`, `DELETE FROM log_checkpoints`,
	} {
		if _, err := w.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	post(t, tn.alice.Client, tn.shared, indicator(t, tn.alice.ID, tn.alice.Key, t0.Add(time.Minute)))
	waitIntegrated(t, tn)
	_, forged, _ := tn.store.LatestCheckpoint(ctx)
	if bytes.Equal(first, forged) {
		t.Fatal("the rewrite produced the same checkpoint")
	}
	// The new history is self-consistent: only the memory of the old
	// checkpoint reveals the fork.
	if rep, err := tlog.Audit(ctx, alice, tlog.AuditOptions{Verifier: v}); err != nil || !rep.OK() {
		t.Fatalf("rewritten log without memory: %+v %v", rep, err)
	}
	rep := audit()
	if rep.OK() || rep.Fork == nil {
		t.Fatalf("fork not caught: %+v", rep)
	}
	seen, _ := tlog.LoadSeen(seenPath)
	var haveFirst, haveForged bool
	for _, n := range seen.Notes {
		haveFirst = haveFirst || n == string(first)
		haveForged = haveForged || n == string(forged)
	}
	if !haveFirst || !haveForged {
		t.Fatalf("both checkpoints not kept: %q", seen.Notes)
	}
	// Both are validly signed by the node: that's the evidence.
	for _, n := range [][]byte{first, forged} {
		if _, err := tlog.OpenCheckpoint(n, v); err != nil {
			t.Fatal(err)
		}
	}
}

// TestKill9Receipts kills a node process with SIGKILL while members push,
// restarts it, and checks that the log and the store agree (a full store
// audit passes) and that every acknowledged object has a receipt.
func TestKill9Receipts(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip("inside the child")
	}
	ctx := context.Background()
	n, dir := initNode(t, Options{})
	m, key, coll := addAliceShared(t, n)
	n.Close()
	acked := map[string]bool{}
	rounds := 3
	if testing.Short() {
		rounds = 1
	}
	for round := range rounds {
		cmd, addr := startChildNode(t, dir, round, nil)
		client := &taxii.Client{BaseURL: "http://" + addr, Token: m.Token}
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := 0; ; i++ {
				var objs []json.RawMessage
				for j := range 5 {
					objs = append(objs, indicatorFor(t, m.ID, key, fmt.Sprintf("r%d i%d j%d", round, i, j)))
				}
				st, err := client.AddObjects(ctx, coll, objs)
				if err != nil {
					return
				}
				for _, s := range st.Successes {
					acked[s.ID] = true
				}
			}
		}()
		time.Sleep(time.Duration(300+mrand.IntN(400)) * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()
		<-done
	}
	if len(acked) == 0 {
		t.Fatal("nothing was acknowledged")
	}
	n, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	li, err := NewLogIntegrator(n, LogIntegratorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The killed process held the integrator's lease: the new integrator
	// takes over once it expires.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		_, err := li.Integrate(ctx)
		if err == nil {
			break
		}
		if !errors.Is(err, ErrLeaseHeld) || time.Now().After(deadline) {
			t.Fatal(err)
		}
	}
	ls := n.Store()
	member, _ := n.Store().Member(ctx, m.ID)
	version, _ := time.Parse(time.RFC3339, "2026-01-01T00:00:00Z")
	for id := range acked {
		rc, err := Receipt(ctx, n, ls, member, id, version, 0)
		if err != nil {
			t.Fatalf("acknowledged %s has no receipt: %v", id, err)
		}
		if _, _, err := rc.Verify(n.VerifierKey()); err != nil {
			t.Fatalf("receipt of %s: %v", id, err)
		}
	}
	v, _ := tlog.NewVerifier(n.VerifierKey())
	src := NewStoreAuditSource(n.Store())
	rep, err := tlog.Audit(ctx, src, tlog.AuditOptions{Verifier: v, Tiles: src, AllObjects: true})
	if err != nil || !rep.OK() {
		t.Fatalf("audit after kill -9: %+v %v", rep, err)
	}
	t.Logf("%d rounds: %d acknowledged, %d entries, %d checkpoints", rounds, len(acked), rep.Entries, rep.Checkpoints)
}

func indicatorFor(t *testing.T, creator string, key ed25519.PrivateKey, name string) json.RawMessage {
	return object(t, key, map[string]any{
		"type": "indicator", "spec_version": "2.1", "id": stix.NewIdentifier("indicator"),
		"created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
		"created_by_ref": creator, "name": name,
		"pattern": "[ipv4-addr:value = '198.51.100.7']", "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
	})
}

// TestAuditStoppedNodeStore: a node integrates and stops; its SQLite file
// is edited; `audit --data` (OpenStoreAudit + tlog.Audit) names the object.
func TestAuditStoppedNodeStore(t *testing.T) {
	onlySQLite(t)
	ctx := context.Background()
	n, dir := initNode(t, Options{})
	m, key, cid := addAliceShared(t, n)
	c, _ := n.store.Collection(ctx, cid)
	var objs []json.RawMessage
	for i := range 3 {
		objs = append(objs, indicatorFor(t, m.ID, key, fmt.Sprintf("stopped %d", i)))
	}
	if st, err := n.Submit(ctx, m.ID, c, objs); err != nil || len(st.Failures) > 0 {
		t.Fatalf("submit: %v %+v", err, st)
	}
	li, _ := NewLogIntegrator(n, LogIntegratorOptions{})
	if _, err := li.Integrate(ctx); err != nil {
		t.Fatal(err)
	}
	vkey := n.VerifierKey()
	n.Close()

	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, StoreFile))
	if err != nil {
		t.Fatal(err)
	}
	// One member registered (entry 0), then the objects: objs[1] is entry 2.
	if _, err := db.Exec(`UPDATE objects SET raw = replace(raw, 'stopped 1', 'stopped 9') WHERE log_index = 2`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	src, servedKey, closeStore, err := OpenStoreAudit(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer closeStore()
	if servedKey != vkey {
		t.Fatalf("node.pub %q", servedKey)
	}
	v, _ := tlog.NewVerifier(vkey)
	rep, err := tlog.Audit(ctx, src, tlog.AuditOptions{Verifier: v, Tiles: src, AllObjects: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) != 1 || rep.Problems[0].ObjectID != idOf(t, objs[1]) || rep.Problems[0].Index != 2 {
		t.Fatalf("problems %v", rep.Problems)
	}
}

// TestLogObjectsBadRange: GET /log/objects names what is wrong with its
// range. A request without end, or with end before start, was answered
// "start and end must span at most 4096 entries", which sent a client
// written from the docs (h/indep) looking for a size limit it hadn't hit.
func TestLogObjectsBadRange(t *testing.T) {
	tn := newTestNode(t)
	for _, tc := range []struct{ query, want string }{
		{"start=0", "both are required"},
		{"", "both are required"},
		{"start=5&end=3", "0 <= start <= end"},
		{"start=-1&end=3", "0 <= start <= end"},
		{"start=x&end=3", "0 <= start <= end"},
		{fmt.Sprintf("start=0&end=%d", MaxLogObjects+1), fmt.Sprintf("span at most %d entries", MaxLogObjects)},
	} {
		code, body := rawGet(t, tn.URL+"/log/objects?"+tc.query, tn.alice.Token)
		if code != http.StatusBadRequest || !strings.Contains(body, tc.want) {
			t.Errorf("GET /log/objects?%s = %d %s; want 400 saying %q", tc.query, code, body, tc.want)
		}
	}
	if code, body := rawGet(t, tn.URL+"/log/objects?start=0&end=1", tn.alice.Token); code != http.StatusOK {
		t.Errorf("GET /log/objects?start=0&end=1 = %d %s", code, body)
	}
}
