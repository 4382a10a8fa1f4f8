package node

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/tlog"
	_ "modernc.org/sqlite"
)

// waitIntegrated waits until the node's checkpoint covers its whole log.
func waitIntegrated(t *testing.T, tn *testNode) int64 {
	t.Helper()
	ls := tn.store.(store.LogStore)
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
	if e.ObjectID != idOf(t, objs[2]) || e.Member != tn.alice.ID || e.Collection != tn.shared {
		t.Fatalf("entry %+v", e)
	}
	if err := tlog.CheckObject(objs[2], rc.Salt, e, tn.alice.Key.Public().(ed25519.PublicKey)); err != nil {
		t.Fatal(err)
	}
	// DESIGN.md's receipt members, exactly.
	_, body := rawGet(t, tn.URL+"/log/receipt?object="+idOf(t, objs[0])+"&version="+stix.FormatTimestamp(t0), tn.alice.Token)
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"log_index", "tree_size", "entry", "salt", "inclusion_proof", "checkpoint"} {
		if _, ok := m[k]; !ok || len(m) != 6 {
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
	if err != nil || cp.Size != 4 {
		t.Fatalf("checkpoint %+v, %v", cp, err)
	}
	root, err := tlog.TreeRoot(ctx, cp.Size, tlog.TileHashReader(cp.Size, alice))
	if err != nil || root != cp.Hash {
		t.Fatalf("root from served tiles %v, %v; checkpoint %v", root, err, cp.Hash)
	}
	code, body := rawGet(t, tn.URL+"/log/tile/entries/000.p/4", tn.carol.Token)
	leaves, err := tlog.ParseEntryBundle([]byte(body))
	if code != 200 || err != nil || len(leaves) != 4 {
		t.Fatalf("entry bundle: %d %v %d", code, err, len(leaves))
	}
	if !bytes.Equal(leaves[3], rc.Entry) && !bytes.Equal(leaves[2], rc.Entry) {
		t.Error("entry bundle doesn't hold the receipt's entry")
	}
	for _, bad := range []string{"/log/tile/entries/000.p/5", "/log/tile/entries/000", "/log/tile/0/000", "/log/tile/0/001.p/1", "/log/tile/0/0000"} {
		if code, _ := rawGet(t, tn.URL+bad, tn.alice.Token); code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", bad, code)
		}
	}

	// Consistency from the earlier tree to a grown one.
	post(t, tn.alice.Client, tn.shared, indicator(t, tn.alice.ID, tn.alice.Key, t0), indicator(t, tn.alice.ID, tn.alice.Key, t0))
	waitIntegrated(t, tn)
	note2, _ := alice.Checkpoint(ctx)
	cp2, err := tlog.OpenCheckpoint(note2, v)
	if err != nil || cp2.Size != 6 {
		t.Fatalf("checkpoint 2 %+v %v", cp2, err)
	}
	p, err := alice.ConsistencyProof(ctx, cp.Size, cp2.Size)
	if err != nil {
		t.Fatal(err)
	}
	if err := tlog.VerifyConsistency(cp.Size, cp2.Size, p, cp.Hash, cp2.Hash); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"from=0&to=6", "from=5&to=4", "from=1&to=7", "from=x&to=2"} {
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
	if err != nil || !rep.OK() || rep.Entries != 6 || rep.Objects != 5 {
		t.Fatalf("remote audit %+v %v", rep, err)
	}
	// Local audit of the store: everything.
	src, err := NewStoreAuditSource(tn.store)
	if err != nil {
		t.Fatal(err)
	}
	rep, err = tlog.Audit(ctx, src, tlog.AuditOptions{Verifier: v, Tiles: src, AllObjects: true})
	if err != nil || !rep.OK() || rep.Objects != 6 || rep.Checkpoints < 2 {
		t.Fatalf("store audit %+v %v", rep, err)
	}
}

// TestAuditTamperedStore edits the SQLite file of a stopped node: the
// audit fails and names the object.
func TestAuditTamperedStore(t *testing.T) {
	tn := newTestNode(t)
	ctx := context.Background()
	var ids []string
	for i := range 5 {
		o := indicator(t, tn.alice.ID, tn.alice.Key, t0.Add(time.Duration(i)*time.Second))
		post(t, tn.alice.Client, tn.shared, o)
		ids = append(ids, idOf(t, o))
	}
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
	// A second integrator (a restart) with small batches races the
	// running one; either may win each batch, and the tree must be one.
	li, err := NewLogIntegrator(tn.Node, LogIntegratorOptions{MaxBatch: 7})
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if _, err := li.Integrate(ctx); err == nil {
			break
		}
	}
	waitIntegrated(t, tn)
	v, _ := tlog.NewVerifier(tn.VerifierKey())
	src, _ := NewStoreAuditSource(tn.store)
	rep, err := tlog.Audit(ctx, src, tlog.AuditOptions{Verifier: v, Tiles: src, AllObjects: true})
	if err != nil || !rep.OK() || rep.Entries != 40 {
		t.Fatalf("audit %+v %v", rep, err)
	}
}
