package node

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/internal/store/postgres"
	"github.com/parley-exchange/parley/internal/store/postgres/pgtest"
	"github.com/parley-exchange/parley/internal/store/sqlite"
	"github.com/parley-exchange/parley/opinion"
	"github.com/parley-exchange/parley/private"
	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/taxii"
	"github.com/parley-exchange/parley/tlog"
)

// serveNode serves n on 127.0.0.1:0 until the returned stop is called
// (also at the end of the test), and returns its URL.
func serveNode(t *testing.T, n *Node) (string, func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Serve(ctx, ln, nil) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}
	t.Cleanup(stop)
	return "http://" + ln.Addr().String(), stop
}

// waitCheckpoint waits until n's newest checkpoint covers its whole log
// and returns its note.
func waitCheckpoint(t *testing.T, n *Node) []byte {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for {
		size, note, err := n.Store().LatestCheckpoint(ctx)
		logSize, lerr := n.Store().LogSize(ctx)
		if err == nil && lerr == nil && size == logSize {
			return note
		}
		if time.Now().After(deadline) {
			t.Fatalf("log not integrated: checkpoint %d, log %d (%v, %v)", size, logSize, err, lerr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func parseCP(t *testing.T, n []byte) tlog.Checkpoint {
	t.Helper()
	text, err := tlog.SplitNote(n)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := tlog.ParseCheckpoint(text)
	if err != nil {
		t.Fatal(err)
	}
	return cp
}

// TestMigrateToPostgres moves a SQLite node with members (one key
// rotated), objects in two collections, a private set with spent budget,
// a feed and a cosigned checkpoint to PostgreSQL, and then runs it there:
// the same checkpoint, a receipt and a bundle from before verify and are
// consistent with the log as it grows, TAXII pages, the budget is kept.
func TestMigrateToPostgres(t *testing.T) {
	url := pgtest.SchemaURL(t)
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "node")
	if _, err := Init(ctx, dir, Config{}, nil); err != nil {
		t.Fatal(err)
	}
	n, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	base, stop := serveNode(t, n)
	alicePub, aliceKey, _ := ed25519.GenerateKey(rand.Reader)
	bobPub, bobKey, _ := ed25519.GenerateKey(rand.Reader)
	alice, err := n.AddMember(ctx, "alice", alicePub)
	if err != nil {
		t.Fatal(err)
	}
	bob, err := n.AddMember(ctx, "bob", bobPub)
	if err != nil {
		t.Fatal(err)
	}
	bobPub2, bobKey2, _ := ed25519.GenerateKey(rand.Reader)
	if err := n.RotateKey(ctx, bob.ID, bobPub2, nil); err != nil {
		t.Fatal(err)
	}
	_ = bobKey
	shared, err := n.AddCollection(ctx, "shared", "", []string{"alice", "bob"}, []string{"alice", "bob"}, "")
	if err != nil {
		t.Fatal(err)
	}
	other, err := n.AddCollection(ctx, "other", "", []string{"alice"}, []string{"alice"}, "")
	if err != nil {
		t.Fatal(err)
	}
	ac := &taxii.Client{BaseURL: base, Token: alice.Token}
	bc := &taxii.Client{BaseURL: base, Token: bob.Token}
	first := patternIndicator(t, stix.NewIdentifier("indicator"), alice.ID, aliceKey, t0, "[domain-name:value = 'c2.evil.example']", false)
	post(t, ac, shared, first,
		patternIndicator(t, stix.NewIdentifier("indicator"), alice.ID, aliceKey, t0, "[ipv4-addr:value = '198.51.100.7']", false),
		patternIndicator(t, stix.NewIdentifier("indicator"), alice.ID, aliceKey, t0, "[url:value = 'http://evil.example/x']", false))
	post(t, ac, other, patternIndicator(t, stix.NewIdentifier("indicator"), alice.ID, aliceKey, t0, "[domain-name:value = 'other.example']", false))
	post(t, bc, shared, patternIndicator(t, stix.NewIdentifier("indicator"), bob.ID, bobKey2, t0, "[domain-name:value = 'bobs.example']", false),
		testOpinion(t, testMember{ID: bob.ID, Key: bobKey2}, stix.NewIdentifier("opinion"), 0, opinion.Agree, false, idOf(t, first)))
	if _, err := n.AddFeed(ctx, FeedSpec{Name: "upstream", URL: "https://feed.example/taxii2/", Collection: "c1", Into: "upstream", Readers: []string{"alice"}}); err != nil {
		t.Fatal(err)
	}

	pa := &private.Client{BaseURL: base, Token: alice.Token}
	pb := &private.Client{BaseURL: base, Token: bob.Token}
	set, err := pa.Publish(ctx, private.PublishRequest{Collection: shared})
	if err != nil {
		t.Fatal(err)
	}
	v := logVerifier(t, n)
	if hits, err := pb.Check(ctx, set.ID, v, []string{"domain-name:c2.evil.example", "domain-name:nothing.example"}, 0, rand.Reader); err != nil || len(hits) != 1 {
		t.Fatalf("check before = %v, %v", hits, err)
	}
	infoBefore, err := pb.Set(ctx, set.ID)
	if err != nil || infoBefore.Budget == nil {
		t.Fatalf("set = %+v, %v", infoBefore, err)
	}

	oldNote := waitCheckpoint(t, n)
	oldCP := parseCP(t, oldNote)
	// A cosigned checkpoint (the note itself stands in for one with
	// cosignature lines: the store keeps the bytes).
	if err := n.Store().PutCosignedCheckpoint(ctx, int64(oldCP.Size), oldNote); err != nil {
		t.Fatal(err)
	}
	lc := &tlog.Client{URL: base, Token: alice.Token}
	firstID := idOf(t, first)
	receipt, err := lc.Receipt(ctx, firstID, stix.FormatTimestamp(t0))
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := lc.Bundle(ctx, firstID)
	if err != nil {
		t.Fatal(err)
	}
	vkey := n.VerifierKey()
	stop()
	// A followed peer (added while the node doesn't serve, so that no
	// round tries to reach it).
	tokenFile := filepath.Join(t.TempDir(), "peer.token")
	if err := os.WriteFile(tokenFile, []byte("peer-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := n.AddPeer(ctx, PeerSpec{Name: "upstream-log", URL: "https://peer.example", TokenFile: tokenFile, LogKey: vkey, Remote: "c1", Into: "from peer", Readers: []string{"alice"}}); err != nil {
		t.Fatal(err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}

	var progressed int
	rep, err := Migrate(ctx, dir, url, MigrateOptions{Progress: func(string, int64, bool) { progressed++ }})
	if err != nil {
		t.Fatal(err)
	}
	// The peer's member key entry is in the log but not yet integrated:
	// the node on PostgreSQL integrates it.
	if rep.LogSize != int64(oldCP.Size)+1 || rep.CheckpointSize != int64(oldCP.Size) || rep.Rows["objects"] != 6 || rep.Rows["log_cosigned"] != 1 ||
		rep.Rows["private_sets"] != 1 || rep.Rows["feeds"] != 1 || rep.Rows["peers"] != 1 || progressed == 0 {
		t.Fatalf("report = %+v (progress calls %d)", rep, progressed)
	}
	fi, err := os.Stat(filepath.Join(dir, ConfigFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("config.json mode = %v, %v", fi.Mode(), err)
	}
	cfg, err := LoadConfig(dir)
	if err != nil || cfg.Store != url {
		t.Fatalf("config store = %q, %v", cfg.Store, err)
	}
	if _, err := Migrate(ctx, dir, url, MigrateOptions{}); !errors.Is(err, ErrMigrate) {
		t.Fatalf("second migrate = %v, want ErrMigrate", err)
	}

	// Every table equal row for row; a changed value is found and named.
	lite, err := sqlite.Open(ctx, filepath.Join(dir, StoreFile), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pg, err := postgres.Open(ctx, url, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range store.StateTables {
		if _, err := store.CompareTable(ctx, tb, lite, pg); err != nil {
			t.Fatal(err)
		}
	}
	budgets, _ := store.StateTable("private_budget")
	if _, err := pg.Pool().Exec(ctx, `UPDATE private_budget SET used = used + 1`); err != nil {
		t.Fatal(err)
	}
	if _, err := store.CompareTable(ctx, budgets, lite, pg); err == nil || !strings.Contains(err.Error(), "private_budget differs at row 1") || !strings.Contains(err.Error(), "column used") {
		t.Fatalf("tampered budget: %v", err)
	}
	if _, err := pg.Pool().Exec(ctx, `UPDATE private_budget SET used = used - 1`); err != nil {
		t.Fatal(err)
	}
	lite.Close()
	pg.Close()

	// The node on PostgreSQL.
	n2, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer n2.Close()
	size, note, err := n2.Store().LatestCheckpoint(ctx)
	if err != nil || size != int64(oldCP.Size) || string(note) != string(oldNote) {
		t.Fatalf("checkpoint on PostgreSQL = %d, %v (want the same note)", size, err)
	}
	if cos, err := n2.Store().CosignedCheckpoint(ctx, size); err != nil || string(cos) != string(oldNote) {
		t.Fatalf("cosigned = %v", err)
	}
	if _, _, err := receipt.Verify(vkey); err != nil {
		t.Fatalf("old receipt: %v", err)
	}
	if _, err := tlog.VerifyBundle(bundle, vkey); err != nil {
		t.Fatalf("old bundle: %v", err)
	}
	if peers, err := n2.Store().Peers(ctx); err != nil || len(peers) != 1 || peers[0].Name != "upstream-log" {
		t.Fatalf("peers after migration = %+v, %v", peers, err)
	}
	base2, _ := serveNode(t, n2)
	ac2 := &taxii.Client{BaseURL: base2, Token: alice.Token}
	var ids []string
	for env, err := range ac2.ObjectPages(ctx, shared, taxii.Query{Limit: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range env.Objects {
			ids = append(ids, idOf(t, o))
		}
	}
	if len(ids) != 5 || ids[0] != firstID {
		t.Fatalf("paged %d objects (%v), want 5 starting with %s", len(ids), ids, firstID)
	}
	// The derived indexes were rebuilt: search, opinions.
	if found, _, err := n2.Store().TextObjects(ctx, []string{shared, other}, "indicator", store.Bound{Rows: 10}); err != nil || len(found) != 5 {
		t.Fatalf("text search after migration: %d, %v", len(found), err)
	}
	if ops, err := n2.Store().OpinionVersions(ctx, []string{shared}, firstID, store.Bound{}); err != nil || len(ops) != 1 {
		t.Fatalf("opinions after migration: %d, %v", len(ops), err)
	}
	// The collections' counts were counted from the copied objects, and
	// a submission adds to them.
	stats := func() string {
		t.Helper()
		st, err := n2.Store().CollectionStats(ctx, []string{shared, other})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range st {
			out = append(out, fmt.Sprintf("%s:%d/%d", c.Collection, c.Objects, c.Versions))
		}
		return strings.Join(out, " ")
	}
	if got, want := stats(), fmt.Sprintf("%s:1/1 %s:5/5", other, shared); got != want && got != fmt.Sprintf("%s:5/5 %s:1/1", shared, other) {
		t.Fatalf("collection stats after migration: %s, want %s", got, want)
	}
	pb2 := &private.Client{BaseURL: base2, Token: bob.Token}
	info, err := pb2.Set(ctx, set.ID)
	if err != nil || info.Budget == nil || info.Budget.Left != infoBefore.Budget.Left || info.Size != infoBefore.Size {
		t.Fatalf("set after migration = %+v, %v; before %+v", info, err, infoBefore)
	}

	// New submissions continue the log, consistently with the old
	// checkpoint and the receipt's.
	post(t, ac2, other, patternIndicator(t, stix.NewIdentifier("indicator"), alice.ID, aliceKey, t0, "[domain-name:value = 'after.example']", false))
	if got := stats(); !strings.Contains(got, other+":2/2") || !strings.Contains(got, shared+":5/5") {
		t.Fatalf("collection stats after a new submission: %s", got)
	}
	newCP := parseCP(t, waitCheckpoint(t, n2))
	if newCP.Size != oldCP.Size+2 {
		t.Fatalf("new checkpoint size %d, want %d", newCP.Size, oldCP.Size+2)
	}
	lc2 := &tlog.Client{URL: base2, Token: alice.Token}
	for _, from := range []tlog.Checkpoint{oldCP, parseCP(t, []byte(receipt.Checkpoint))} {
		proof, err := lc2.ConsistencyProof(ctx, from.Size, newCP.Size)
		if err != nil {
			t.Fatal(err)
		}
		if err := tlog.VerifyConsistency(from.Size, newCP.Size, proof, from.Hash, newCP.Hash); err != nil {
			t.Fatalf("consistency from %d: %v", from.Size, err)
		}
	}
	var newest store.Object
	err = n2.Store().LogObjects(ctx, int64(newCP.Size)-1, int64(newCP.Size), nil, func(_ int64, op tlog.Opening, raw []byte) error {
		newest.Raw = raw
		return nil
	})
	if err != nil || newest.Raw == nil {
		t.Fatalf("newest object: %v", err)
	}
	var m map[string]any
	if json.Unmarshal(newest.Raw, &m) != nil || m["pattern"] != "[domain-name:value = 'after.example']" {
		t.Fatalf("newest object = %s", newest.Raw)
	}
}

// TestMigrateRefusesNonEmptyTarget: a target that already holds a node is
// refused, config.json untouched, the target's node unchanged.
func TestMigrateRefusesNonEmptyTarget(t *testing.T) {
	url := pgtest.SchemaURL(t)
	ctx := context.Background()
	target := filepath.Join(t.TempDir(), "pg")
	if _, err := Init(ctx, target, Config{Store: url}, nil); err != nil {
		t.Fatal(err)
	}
	tn, err := Open(ctx, target, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tn.AddMember(ctx, "zed", nil); err != nil {
		t.Fatal(err)
	}
	tn.Close()

	dir := filepath.Join(t.TempDir(), "node")
	if _, err := Init(ctx, dir, Config{}, nil); err != nil { // SQLite, whatever PARLEY_TEST_NODE_STORE says
		t.Fatal(err)
	}
	n, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.AddMember(ctx, "alice", nil); err != nil {
		t.Fatal(err)
	}
	n.Close()
	before, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Migrate(ctx, dir, url, MigrateOptions{})
	if !errors.Is(err, ErrMigrate) {
		t.Fatalf("migrate into a used schema = %v, want ErrMigrate", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, ConfigFile))
	if string(after) != string(before) {
		t.Fatal("config.json changed")
	}
	tn, err = Open(ctx, target, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer tn.Close()
	if _, err := tn.ResolveMember(ctx, "alice"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("alice in the target: %v", err)
	}
}

// TestMigrateResumesCommittedCopy: a migrate killed after its copy
// committed and before config.json named the target (simulated by putting
// config.json back) is finished by running it again, and only when the
// target equals the node row for row: after the node wrote one more
// entry, the same target is refused.
func TestMigrateResumesCommittedCopy(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "node")
	if _, err := Init(ctx, dir, Config{}, nil); err != nil { // SQLite, whatever PARLEY_TEST_NODE_STORE says
		t.Fatal(err)
	}
	n, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	if _, err := n.AddMember(ctx, "alice", pub); err != nil {
		t.Fatal(err)
	}
	n.Close()
	cfgPath := filepath.Join(dir, ConfigFile)
	sqliteCfg, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	url := pgtest.SchemaURL(t)
	first, err := Migrate(ctx, dir, url, MigrateOptions{})
	if err != nil || first.Resumed {
		t.Fatalf("first migrate: %+v, %v", first, err)
	}
	if err := os.WriteFile(cfgPath, sqliteCfg, 0o600); err != nil { // killed before config.json
		t.Fatal(err)
	}
	again, err := Migrate(ctx, dir, url, MigrateOptions{})
	if err != nil {
		t.Fatalf("migrate again after a committed copy: %v", err)
	}
	if !again.Resumed || again.LogSize != first.LogSize || again.CheckpointSize != first.CheckpointSize || again.Rows["members"] != 1 {
		t.Fatalf("migrate again = %+v, first %+v", again, first)
	}
	cfg, err := LoadConfig(dir)
	if err != nil || cfg.Store != url {
		t.Fatalf("config.json after the second run: store %q, %v", cfg.Store, err)
	}

	// The node moves on in SQLite: the target is no longer its copy.
	if err := os.WriteFile(cfgPath, sqliteCfg, 0o600); err != nil {
		t.Fatal(err)
	}
	n, err = Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.AddMember(ctx, "bob", nil); err != nil {
		t.Fatal(err)
	}
	n.Close()
	if _, err := Migrate(ctx, dir, url, MigrateOptions{}); !errors.Is(err, ErrMigrate) {
		t.Fatalf("migrate into a copy of an older state = %v, want ErrMigrate", err)
	}
	if after, _ := os.ReadFile(cfgPath); string(after) != string(sqliteCfg) {
		t.Fatal("config.json changed")
	}
}
