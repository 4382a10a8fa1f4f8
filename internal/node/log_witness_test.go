package node

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/taxii"
	"github.com/parley-exchange/parley/tlog"
	"github.com/parley-exchange/parley/witness"
	fnote "github.com/transparency-dev/formats/note"
	gnote "golang.org/x/mod/sumdb/note"
)

// testWitness is a C2SP witness served in-process on a loopback port.
type testWitness struct {
	URL, VKey string
	srv       *httptest.Server
}

func newTestWitness(t *testing.T, name, logKey string) *testWitness {
	t.Helper()
	return newTestWitnessAt(t, name, logKey, nil)
}

// newTestWitnessAt is newTestWitness with the witness's clock (nil:
// time.Now).
func newTestWitnessAt(t *testing.T, name, logKey string, now func() time.Time) *testWitness {
	t.Helper()
	skey, vkey, err := tlog.NewCosignerKey(rand.Reader, name)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := tlog.ParseCosignerKey(skey, now)
	if err != nil {
		t.Fatal(err)
	}
	w, err := witness.Open(witness.Config{Dir: t.TempDir(), Cosigner: cs, Logs: []string{logKey}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(w.Handler())
	t.Cleanup(srv.Close)
	return &testWitness{URL: srv.URL, VKey: vkey, srv: srv}
}

// serveWitnessed serves n (already opened, witnesses set in its
// configuration) on a loopback port, with alice and her collection.
func serveWitnessed(t *testing.T, n *Node) (url string, alice *taxii.Client, post1 func() string) {
	t.Helper()
	m, key, coll := addAliceShared(t, n)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url = "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Serve(ctx, ln, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		n.Close()
	})
	alice = &taxii.Client{BaseURL: url, Token: m.Token}
	i := 0
	post1 = func() string {
		i++
		o := indicator(t, m.ID, key, t0.Add(time.Duration(i)*time.Second))
		post(t, alice, coll, o)
		return idOf(t, o)
	}
	return url, alice, post1
}

// fetchCheckpoint returns GET /log/checkpoint.
func fetchCheckpoint(t *testing.T, url, token string) []byte {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url+"/log/checkpoint", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusNotFound {
		return nil // no checkpoint yet: the integrator hasn't run
	}
	if resp.StatusCode != 200 {
		t.Fatalf("GET /log/checkpoint: %d %s", resp.StatusCode, b)
	}
	return b
}

// waitCosigned waits until /log/checkpoint covers at least size entries
// with at least want cosignatures of the policy's witnesses, and returns
// it and its cosignatures.
func waitCosigned(t *testing.T, url, token string, pol *tlog.Policy, size uint64, want int) ([]byte, []tlog.Cosignature) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := fetchCheckpoint(t, url, token)
		if n == nil {
			if time.Now().After(deadline) {
				t.Fatalf("no checkpoint after 10s")
			}
			time.Sleep(20 * time.Millisecond)
			continue
		}
		text, err := tlog.SplitNote(n)
		if err != nil {
			t.Fatal(err)
		}
		cp, err := tlog.ParseCheckpoint(text)
		if err != nil {
			t.Fatal(err)
		}
		cos, _ := tlog.CheckQuorum(pol, n)
		if cp.Size >= size && len(cos) >= want {
			return n, cos
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint of size >= %d with %d cosignatures; last:\n%s", size, want, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestNodeCosignedCheckpoints(t *testing.T) {
	n, _ := initNode(t, Options{})
	w1 := newTestWitness(t, "w1.example", n.vkey)
	w2 := newTestWitness(t, "w2.example", n.vkey)
	n.cfg.Witnesses = []WitnessConfig{{URL: w1.URL, Key: w1.VKey}, {URL: w2.URL, Key: w2.VKey}}
	url, alice, post1 := serveWitnessed(t, n)
	both, err := tlog.NewWitnessPolicy([]string{w1.VKey, w2.VKey}, 2)
	if err != nil {
		t.Fatal(err)
	}

	id := post1()
	note, cos := waitCosigned(t, url, alice.Token, both, 2, 2)
	if _, err := tlog.CheckQuorum(both, note); err != nil {
		t.Fatalf("quorum 2 of 2: %v\n%s", err, note)
	}
	if _, err := tlog.OpenCheckpoint(note, n.verifier); err != nil {
		t.Fatalf("the cosigned note doesn't verify with the log key: %v", err)
	}
	if len(cos) != 2 || cos[0].Witness == cos[1].Witness {
		t.Fatalf("cosignatures %+v", cos)
	}
	// Receipts and bundles carry the cosigned checkpoint.
	version := t0.Add(time.Second).UTC().Format("2006-01-02T15:04:05.000Z")
	for _, path := range []string{"/log/receipt?object=" + id + "&version=" + version, "/log/bundle?object=" + id} {
		code, body := rawGet(t, url+path, alice.Token)
		var r struct {
			Checkpoint string `json:"checkpoint"`
		}
		if err := json.Unmarshal([]byte(body), &r); code != 200 || err != nil {
			t.Fatalf("GET %s: %d %v %s", path, code, err, body)
		}
		if _, err := tlog.CheckQuorum(both, []byte(r.Checkpoint)); err != nil {
			t.Fatalf("GET %s: the checkpoint lacks the cosignatures: %v\n%s", path, err, r.Checkpoint)
		}
	}
	// A later checkpoint is cosigned too (the witnesses need a
	// consistency proof from their size, which the node builds).
	post1()
	post1()
	note, _ = waitCosigned(t, url, alice.Token, both, 4, 2)

	// One witness down: integration goes on, the checkpoint carries the
	// other's cosignature only, and a quorum of 2 fails.
	w2.srv.Close()
	post1()
	one, err := tlog.NewWitnessPolicy([]string{w1.VKey}, 1)
	if err != nil {
		t.Fatal(err)
	}
	note, _ = waitCosigned(t, url, alice.Token, one, 5, 1)
	if cos, err := tlog.CheckQuorum(both, note); err == nil || len(cos) != 1 || !strings.Contains(err.Error(), "quorum") {
		t.Fatalf("with one witness down: %d cosignatures, err %v", len(cos), err)
	}
}

// newTLSTestWitness is newTestWitness serving HTTPS, with a certificate
// for 127.0.0.1 that no system root trusts; caFile gets its certificate
// in PEM, to be named as the witness's "ca".
func newTLSTestWitness(t *testing.T, name, logKey, caFile string) *testWitness {
	t.Helper()
	w := newTestWitness(t, name, logKey)
	w.srv.Close()
	w.srv = httptest.NewTLSServer(w.srv.Config.Handler)
	t.Cleanup(w.srv.Close)
	w.URL = w.srv.URL
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: w.srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return w
}

// A witness that serves HTTPS with a certificate of a private CA is
// trusted through its "ca" in config.json (a path relative to the data
// directory), and only then: one without it fails verification and never
// cosigns. A "ca" that can't be read stops the node from opening.
func TestNodeWitnessWithPrivateCA(t *testing.T) {
	n, dir := initNode(t, Options{})
	w1 := newTLSTestWitness(t, "w1.example", n.vkey, filepath.Join(dir, "w1-ca.pem"))
	w2 := newTLSTestWitness(t, "w2.example", n.vkey, filepath.Join(t.TempDir(), "unused.pem"))
	n.cfg.Witnesses = []WitnessConfig{{URL: w1.URL, Key: w1.VKey, CA: "w1-ca.pem"}, {URL: w2.URL, Key: w2.VKey}}
	url, alice, post1 := serveWitnessed(t, n)
	post1()
	one, err := tlog.NewWitnessPolicy([]string{w1.VKey}, 1)
	if err != nil {
		t.Fatal(err)
	}
	note, _ := waitCosigned(t, url, alice.Token, one, 2, 1)
	if strings.Contains(string(note), "\n— w2.example ") {
		t.Fatalf("a witness whose certificate no trusted CA signed cosigned:\n%s", note)
	}
	if err := checkWitnessCAs(dir, []WitnessConfig{{URL: w1.URL, Key: w1.VKey, CA: "missing.pem"}}); err == nil || !strings.Contains(err.Error(), "witness 1") {
		t.Fatalf("a missing CA file: %v", err)
	}
}

func TestNodeWitnessesDownIntegrationGoesOn(t *testing.T) {
	n, _ := initNode(t, Options{})
	w1 := newTestWitness(t, "w1.example", n.vkey)
	w1.srv.Close() // down from the start
	n.cfg.Witnesses = []WitnessConfig{{URL: w1.URL, Key: w1.VKey}}
	url, alice, post1 := serveWitnessed(t, n)
	post1()
	none, err := tlog.ParsePolicy([]byte("quorum none\n"))
	if err != nil {
		t.Fatal(err)
	}
	note, _ := waitCosigned(t, url, alice.Token, none, 2, 0)
	if _, err := tlog.OpenCheckpoint(note, n.verifier); err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(note), "\n— ") != 1 {
		t.Fatalf("a checkpoint with no witness reachable carries signatures other than the log's:\n%s", note)
	}
}

func TestCheckWitnesses(t *testing.T) {
	_, vkey, err := tlog.NewCosignerKey(rand.Reader, "w.example")
	if err != nil {
		t.Fatal(err)
	}
	_, plainKey, err := tlog.NewNodeKey(rand.Reader, "w.example")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ws   []WitnessConfig
		fail string
	}{
		{nil, ""},
		{[]WitnessConfig{{URL: "https://w.example", Key: vkey}}, ""},
		{[]WitnessConfig{{URL: "", Key: vkey}}, "no url"},
		{[]WitnessConfig{{URL: "ftp://w", Key: vkey}}, "isn't http"},
		{[]WitnessConfig{{URL: "https://w", Key: "nonsense"}}, "witness 1"},
		{[]WitnessConfig{{URL: "https://w", Key: vkey}, {URL: "https://v", Key: vkey}}, "twice"},
		// A plain Ed25519 note key (type 0x01) isn't a cosignature key.
		{[]WitnessConfig{{URL: "https://w", Key: plainKey}}, "0x01"},
		{[]WitnessConfig{{URL: "https://w", Key: vkey, Mode: "push"}}, ""},
		{[]WitnessConfig{{URL: "https://w", Key: vkey, Mode: "pull"}}, ""},
		{[]WitnessConfig{{URL: "https://w", Key: vkey, Mode: "poll"}}, "isn't \"push\""},
	} {
		err := checkWitnesses(tc.ws)
		if (err == nil) != (tc.fail == "") || (err != nil && !strings.Contains(err.Error(), tc.fail)) {
			t.Errorf("%v: got %v, want %q", tc.ws, err, tc.fail)
		}
	}
}

// After a restart the node's witness client has forgotten the witness's
// size: its first submission says 0, the witness answers 409 with its size,
// and the node retries with a consistency proof from its tiles.
func TestNodeCosignsAfterRestart(t *testing.T) {
	ctx := context.Background()
	n, dir := initNode(t, Options{})
	w1 := newTestWitness(t, "w1.example", n.vkey)
	ws := []WitnessConfig{{URL: w1.URL, Key: w1.VKey}}
	pol, err := tlog.NewWitnessPolicy([]string{w1.VKey}, 1)
	if err != nil {
		t.Fatal(err)
	}
	m, key, coll := addAliceShared(t, n)
	serve := func(n *Node) (string, func()) {
		n.cfg.Witnesses = ws
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		sctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- n.Serve(sctx, ln, nil) }()
		return "http://" + ln.Addr().String(), func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Serve: %v", err)
			}
			n.Close()
		}
	}
	url, stop := serve(n)
	alice := &taxii.Client{BaseURL: url, Token: m.Token}
	post(t, alice, coll, indicator(t, m.ID, key, t0))
	waitCosigned(t, url, m.Token, pol, 2, 1)
	stop()

	n, err = Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	url, stop = serve(n)
	defer stop()
	alice = &taxii.Client{BaseURL: url, Token: m.Token}
	post(t, alice, coll, indicator(t, m.ID, key, t0.Add(time.Second)))
	waitCosigned(t, url, m.Token, pol, 3, 1)
}

// C2SP tlog-witness: a witness may answer with several signature lines (an
// Ed25519 and an ML-DSA-44 cosignature, other keys' lines); the client
// "MUST ignore any cosignatures from unknown keys" and moves only the valid
// signatures it verified to its view of the checkpoint. The node serves
// only the configured key's cosignature, so no line it can't vouch for
// (one that a client knowing that key could find invalid) reaches clients.
func TestNodeKeepsOnlyTheConfiguredWitnessKeysLines(t *testing.T) {
	n, _ := initNode(t, Options{})
	w1 := newTestWitness(t, "w1.example", n.vkey)
	extra := "— w1.example " + base64.StdEncoding.EncodeToString(append([]byte{1, 2, 3, 4}, make([]byte, 2428)...)) + "\n" +
		"— other.example/w " + base64.StdEncoding.EncodeToString(make([]byte, 76)) + "\n"
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		w1.srv.Config.Handler.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			rw.Header()[k] = v
		}
		rw.WriteHeader(rec.Code)
		rw.Write(rec.Body.Bytes())
		if rec.Code == http.StatusOK && r.URL.Path == "/add-checkpoint" {
			io.WriteString(rw, extra)
		}
	}))
	t.Cleanup(srv.Close)
	n.cfg.Witnesses = []WitnessConfig{{URL: srv.URL, Key: w1.VKey}}
	url, alice, post1 := serveWitnessed(t, n)
	pol, err := tlog.NewWitnessPolicy([]string{w1.VKey}, 1)
	if err != nil {
		t.Fatal(err)
	}
	post1()
	note, _ := waitCosigned(t, url, alice.Token, pol, 2, 1)
	if strings.Contains(string(note), "other.example") || strings.Count(string(note), "\n— ") != 2 {
		t.Fatalf("the served checkpoint carries lines other than the log's signature and w1's cosignature:\n%s", note)
	}
}

// An independent witness whose cosignatures are ML-DSA-44 (C2SP
// tlog-cosignature type 0x06, which tlog-witness says witnesses SHOULD
// use), signed by transparency-dev/formats: the node submits to it, keeps
// its cosignature, and a client's policy naming its 0x06 key is met.
func TestNodeMLDSAWitness(t *testing.T) {
	n, _ := initNode(t, Options{})
	skey, vkey, err := fnote.GenerateMLDSAKey("pq.example/w")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := fnote.NewSignerForCosignatureV1(skey)
	if err != nil {
		t.Fatal(err)
	}
	// A minimal add-checkpoint: trusts the first checkpoint, then checks
	// the old size only (enough for this test's growing log).
	var mu sync.Mutex
	var size uint64
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		body, _ := io.ReadAll(r.Body)
		old, _, signed, err := witness.ParseAddCheckpoint(body)
		if err != nil || r.URL.Path != "/add-checkpoint" {
			http.Error(rw, "bad request", http.StatusBadRequest)
			return
		}
		if old != size {
			rw.Header().Set("Content-Type", "text/x.tlog.size")
			rw.WriteHeader(http.StatusConflict)
			fmt.Fprintf(rw, "%d\n", size)
			return
		}
		text, _ := tlog.SplitNote(signed)
		cp, _ := tlog.ParseCheckpoint(text)
		out, err := gnote.Sign(&gnote.Note{Text: string(text)}, signer)
		if err != nil {
			http.Error(rw, err.Error(), http.StatusInternalServerError)
			return
		}
		size = cp.Size
		rw.Write(out[len(text)+1:])
	}))
	t.Cleanup(srv.Close)
	n.cfg.Witnesses = []WitnessConfig{{URL: srv.URL, Key: vkey}}
	url, alice, post1 := serveWitnessed(t, n)
	pol, err := tlog.NewWitnessPolicy([]string{vkey}, 1)
	if err != nil {
		t.Fatal(err)
	}
	post1()
	post1()
	note, cos := waitCosigned(t, url, alice.Token, pol, 3, 1)
	if _, err := tlog.CheckQuorum(pol, note); err != nil || len(cos) != 1 {
		t.Fatalf("ML-DSA-44 cosigned checkpoint: %v\n%s", err, note)
	}
}

// countedWitness is a test witness that counts the add-checkpoint
// requests it gets.
func countedWitness(t *testing.T, logKey string) (*testWitness, *atomic.Int64) {
	t.Helper()
	w := newTestWitness(t, "w1.example", logKey)
	var count atomic.Int64
	h := w.srv.Config.Handler
	w.srv.Config.Handler = http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		count.Add(1)
		h.ServeHTTP(rw, r)
	})
	return w, &count
}

// submitOne stores one new indicator of alice's in coll through the node.
func submitOne(t *testing.T, n *Node, m NewMember, key ed25519.PrivateKey, coll string, i int) {
	t.Helper()
	ctx := context.Background()
	c, err := n.store.Collection(ctx, coll)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Submit(ctx, m.ID, c, []json.RawMessage{indicator(t, m.ID, key, t0.Add(time.Duration(i)*time.Second))}); err != nil {
		t.Fatal(err)
	}
}

// TestWitnessingRestartKeepsTheEarliestCosignature: a node that restarts
// takes its witnesses' cosignatures of its latest checkpoint from the
// store instead of asking them again, so the stored cosigned checkpoint,
// and the earliest witnessed time of the entries it covers, stay as they
// were.
func TestWitnessingRestartKeepsTheEarliestCosignature(t *testing.T) {
	ctx := context.Background()
	n, _ := initNode(t, Options{})
	w, requests := countedWitness(t, n.vkey)
	n.cfg.Witnesses = []WitnessConfig{{URL: w.URL, Key: w.VKey}}
	m, key, coll := addAliceShared(t, n)
	submitOne(t, n, m, key, coll, 1)
	li, err := NewLogIntegrator(n, LogIntegratorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	size, err := li.Integrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	quiet := LogWitnessingOptions{Logger: slog.New(slog.DiscardHandler)}
	first, err := NewLogWitnessing(n, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := first.Step(ctx); err != nil || got != 1 || requests.Load() != 1 {
		t.Fatalf("first Step: %d cosignatures, %v, %d requests", got, err, requests.Load())
	}
	before, err := n.store.CosignedCheckpoint(ctx, size)
	if err != nil {
		t.Fatal(err)
	}

	restarted, err := NewLogWitnessing(n, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := restarted.Step(ctx); err != nil || got != 1 {
		t.Fatalf("Step after the restart: %d cosignatures, %v", got, err)
	}
	if requests.Load() != 1 {
		t.Fatalf("the restarted node asked the witness again to cosign the checkpoint it had cosigned (%d requests)", requests.Load())
	}
	after, err := n.store.CosignedCheckpoint(ctx, size)
	if err != nil || string(after) != string(before) {
		t.Fatalf("the stored cosigned checkpoint changed: %v\n%s\nwas\n%s", err, after, before)
	}
	// Idle (every witness cosigned, and that is stored): a step, which
	// runs every Interval on every front end, reads no cosignatures.
	counted := &countedCosigned{inner: restarted.cs}
	restarted.cs = counted
	if got, err := restarted.Step(ctx); err != nil || got != 1 || counted.reads != 0 {
		t.Fatalf("idle Step: %d cosignatures, %v, %d reads of the stored cosignatures", got, err, counted.reads)
	}
	// Another front end that had fewer cosignatures stores its note over
	// this one's: the idle witnessing looks again idleRecheck later and
	// puts them back, without asking the witness again.
	_, plain, err := n.store.LatestCheckpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.store.PutCosignedCheckpoint(ctx, size, plain); err != nil {
		t.Fatal(err)
	}
	clock := n.now
	n.now = func() time.Time { return clock().Add(idleRecheck + time.Second) }
	if got, err := restarted.Step(ctx); err != nil || got != 1 || counted.reads == 0 || requests.Load() != 1 {
		t.Fatalf("Step idleRecheck later: %d cosignatures, %v, %d reads, %d requests", got, err, counted.reads, requests.Load())
	}
	n.now = clock
	if again, err := n.store.CosignedCheckpoint(ctx, size); err != nil || string(again) != string(before) {
		t.Fatalf("the cosignatures overwritten by another front end weren't put back: %v\n%s", err, again)
	}

	// The next checkpoint is submitted as before (the witness answers
	// the restarted client's first old size with its own, 409).
	submitOne(t, n, m, key, coll, 2)
	if _, err := li.Integrate(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := restarted.Step(ctx); err != nil || got != 1 {
		t.Fatalf("Step on the next checkpoint: %d cosignatures, %v", got, err)
	}
}

// TestWitnessingWaitsForOldEntries: when the log holds an entry received
// longer ago than maxUncoveredAge that the latest checkpoint lacks (the
// node stopped before integrating it, or integration lagged), the
// witnessing doesn't submit that checkpoint, whose cosignature would show
// the entry back-dated; it submits the next one, which includes it, and
// the audit with the witness's policy passes.
func TestWitnessingWaitsForOldEntries(t *testing.T) {
	ctx := context.Background()
	// The node receives its entries ten minutes ago, then restarts now
	// (its clock and the witness's agree).
	var offset atomic.Int64
	offset.Store(int64(-10 * time.Minute))
	n, _ := initNode(t, Options{Now: func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }})
	w, requests := countedWitness(t, n.vkey)
	n.cfg.Witnesses = []WitnessConfig{{URL: w.URL, Key: w.VKey}}
	m, key, coll := addAliceShared(t, n)
	submitOne(t, n, m, key, coll, 1)
	li, err := NewLogIntegrator(n, LogIntegratorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	covered, err := li.Integrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Sequenced, not integrated, when the node stopped.
	submitOne(t, n, m, key, coll, 2)
	offset.Store(0)
	var logged strings.Builder
	lw, err := NewLogWitnessing(n, LogWitnessingOptions{Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := lw.Step(ctx); err != nil || got != 0 || requests.Load() != 0 {
		t.Fatalf("Step with an old entry outside the checkpoint of size %d: %d cosignatures, %v, %d requests", covered, got, err, requests.Load())
	}
	if !strings.Contains(logged.String(), "waiting for a checkpoint that includes") {
		t.Fatalf("the wait isn't logged: %s", logged.String())
	}
	size, err := li.Integrate(ctx)
	if err != nil || size != covered+1 {
		t.Fatalf("Integrate: %d, %v", size, err)
	}
	if got, err := lw.Step(ctx); err != nil || got != 1 || requests.Load() != 1 {
		t.Fatalf("Step once the checkpoint includes it: %d cosignatures, %v, %d requests", got, err, requests.Load())
	}
	pol, err := tlog.NewWitnessPolicy([]string{w.VKey}, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Cosigned at the checkpoint of size covered, the entry would be
	// flagged: received ten minutes before a witness saw a tree without
	// it.
	rep, err := tlog.Audit(ctx, NewStoreAuditSource(n.store), tlog.AuditOptions{Verifier: n.verifier, Policy: pol})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Witnessed == 0 {
		t.Fatalf("audit: witnessed %d, problems %v", rep.Witnessed, rep.Problems)
	}
}

// countedCosigned counts the reads of stored cosigned checkpoints.
type countedCosigned struct {
	inner store.CosignedCheckpoints
	reads int
}

func (c *countedCosigned) CosignedCheckpoint(ctx context.Context, size int64) ([]byte, error) {
	c.reads++
	return c.inner.CosignedCheckpoint(ctx, size)
}

func (c *countedCosigned) PutCosignedCheckpoint(ctx context.Context, size int64, note []byte) error {
	return c.inner.PutCosignedCheckpoint(ctx, size, note)
}

func (c *countedCosigned) CosignedCheckpoints(ctx context.Context, start, end int64, limit int, fn func(size int64, note []byte) error) error {
	c.reads++
	return c.inner.CosignedCheckpoints(ctx, start, end, limit, fn)
}

func (c *countedCosigned) CosignedCheckpointAtMost(ctx context.Context, size int64) (int64, []byte, error) {
	c.reads++
	return c.inner.CosignedCheckpointAtMost(ctx, size)
}

// downLatest is a store whose LatestCheckpoint fails while down, as a
// PostgreSQL store does while its server restarts, counting the calls.
type downLatest struct {
	store.Store
	down  atomic.Bool
	calls atomic.Int64
}

func (d *downLatest) LatestCheckpoint(ctx context.Context) (int64, []byte, error) {
	d.calls.Add(1)
	if d.down.Load() {
		return 0, nil, fmt.Errorf("couldn't read the checkpoint: %w: failed to connect: dial tcp 127.0.0.1:5432: connect: connection refused", store.ErrUnavailable)
	}
	return d.Store.LatestCheckpoint(ctx)
}

// TestWitnessingLogsAStoreOutageOnce: while the store is down, every tick
// of the witnessing (ten a second) fails the same way; the node says so
// once and says when it works again, not ten ERROR lines a second (a
// PostgreSQL crash of 5 s was 50 lines, an hour's outage 36,000).
func TestWitnessingLogsAStoreOutageOnce(t *testing.T) {
	n, _ := initNode(t, Options{})
	w, _ := countedWitness(t, n.vkey)
	n.cfg.Witnesses = []WitnessConfig{{URL: w.URL, Key: w.VKey}}
	var logged lockedBuffer
	lw, err := NewLogWitnessing(n, LogWitnessingOptions{Interval: time.Millisecond, Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ds := &downLatest{Store: n.store}
	ds.down.Store(true)
	lw.ls = ds
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { lw.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("waited 10 s for %s; logged:\n%s", what, logged.String())
			}
			time.Sleep(time.Millisecond)
		}
	}
	waitFor("50 failed ticks", func() bool { return ds.calls.Load() >= 50 })
	ds.down.Store(false)
	waitFor("the end of the outage logged", func() bool { return strings.Contains(logged.String(), "works again") })
	out := logged.String()
	if got := strings.Count(out, "couldn't get the checkpoint cosigned"); got != 1 {
		t.Fatalf("an outage of %d ticks logged %d times, want once:\n%s", ds.calls.Load(), got, out)
	}
	if !strings.Contains(out, "store unavailable") {
		t.Fatalf("the failure's cause isn't logged:\n%s", out)
	}
}

// TestNodeTakesPullingWitnessCosignatures: a witness that pulls the log
// ("mode": "pull" in config.json) is never submitted to; the node fetches
// its latest cosigned checkpoint (monitor retrieval) and serves its
// cosignature with the checkpoint it is of: the latest one, or, when the
// witness lags, the stored cosigned checkpoint of its size. A cosignature
// the witness makes again of the unchanged log is kept as its latest.
func TestNodeTakesPullingWitnessCosignatures(t *testing.T) {
	ctx := context.Background()
	var witnessOffset atomic.Int64
	// Time passes for the node and the witness alike.
	n, _ := initNode(t, Options{Now: func() time.Time { return time.Now().Add(time.Duration(witnessOffset.Load())) }})
	m, key, coll := addAliceShared(t, n)
	srv := httptest.NewServer(n.Handler(nil))
	t.Cleanup(srv.Close)
	skey, vkey, err := tlog.NewCosignerKey(rand.Reader, "pull.example")
	if err != nil {
		t.Fatal(err)
	}
	cs, err := tlog.ParseCosignerKey(skey, func() time.Time { return time.Now().Add(time.Duration(witnessOffset.Load())) })
	if err != nil {
		t.Fatal(err)
	}
	pw, err := witness.Open(witness.Config{Dir: t.TempDir(), Cosigner: cs, Logs: []string{n.vkey}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pw.Close() })
	var posts atomic.Int64
	wsrv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			posts.Add(1)
		}
		pw.Handler().ServeHTTP(rw, r)
	}))
	t.Cleanup(wsrv.Close)
	pull := func(want uint64) {
		t.Helper()
		if size, err := pw.PullOnce(ctx, n.vkey, &tlog.Client{URL: srv.URL, Token: m.Token}); err != nil || size != want {
			t.Fatalf("the witness's pull: size %d, %v; want %d", size, err, want)
		}
	}
	n.cfg.Witnesses = []WitnessConfig{{URL: wsrv.URL, Key: vkey, Mode: "pull"}}
	pol, err := tlog.NewWitnessPolicy([]string{vkey}, 1)
	if err != nil {
		t.Fatal(err)
	}
	li, err := NewLogIntegrator(n, LogIntegratorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	lw, err := NewLogWitnessing(n, LogWitnessingOptions{PullInterval: time.Nanosecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	integrate := func() uint64 {
		t.Helper()
		size, err := li.Integrate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return uint64(size)
	}
	step := func(want int) {
		t.Helper()
		if got, err := lw.Step(ctx); err != nil || got != want {
			t.Fatalf("Step: %d cosignatures, %v; want %d", got, err, want)
		}
	}
	times := func(size uint64) tlog.WitnessedAt {
		t.Helper()
		c, err := n.store.CosignedCheckpoint(ctx, int64(size))
		if err != nil {
			t.Fatalf("no cosigned checkpoint of size %d: %v", size, err)
		}
		wa, err := tlog.CosignedTimes(c, n.verifier, pol)
		if err != nil {
			t.Fatal(err)
		}
		return wa
	}

	submitOne(t, n, m, key, coll, 1)
	s1 := integrate()
	step(0) // the witness hasn't pulled yet: 404
	pull(s1)
	step(1)
	if _, cos := waitCosigned(t, srv.URL, m.Token, pol, s1, 1); len(cos) != 1 {
		t.Fatalf("GET /log/checkpoint: %v", cos)
	}
	first := times(s1)
	// The log is quiet: 20 minutes later the witness pulls it again and
	// cosigns the same checkpoint; then the log grows before the node
	// fetches that: the cosignature goes to the stored checkpoint of its
	// size, beside the first.
	witnessOffset.Store(int64(20 * time.Minute))
	pull(s1)
	submitOne(t, n, m, key, coll, 2)
	s2 := integrate()
	step(0)
	if wa := times(s1); !wa.Earliest.Time.Equal(first.Earliest.Time) || wa.Latest.Time.Sub(wa.Earliest.Time) < 19*time.Minute {
		t.Fatalf("the cosigned checkpoint of size %d: first %v (was %v), latest %v; want the latest 20 minutes later", s1, wa.Earliest.Time, first.Earliest.Time, wa.Latest.Time)
	}
	// The latest checkpoint, cosigned, then cosigned again.
	pull(s2)
	step(1)
	witnessOffset.Store(int64(40 * time.Minute))
	pull(s2)
	step(1)
	if wa := times(s2); wa.Latest.Time.Sub(wa.Earliest.Time) < 19*time.Minute {
		t.Fatalf("the cosigned checkpoint of size %d: first %v, latest %v; want 20 minutes apart", s2, wa.Earliest.Time, wa.Latest.Time)
	}
	if posts.Load() != 0 {
		t.Fatalf("the node submitted %d checkpoints to a pulling witness", posts.Load())
	}
	// A pulling witness that cosigned a tree the node's key signed but
	// the node doesn't have (a split view made with its key elsewhere):
	// its cosignature is refused, and nothing is stored for that size.
	fork := newTestWitness(t, "fork.example", n.vkey)
	var forged tlog.Hash
	forged[0] = 1
	text := fmt.Sprintf("%s\n%d\n%s\n", n.verifier.Name(), s1, forged)
	signed, err := gnote.Sign(&gnote.Note{Text: text}, n.signer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&witness.Client{URL: fork.URL}).AddCheckpoint(ctx, 0, nil, signed); err != nil {
		t.Fatal(err)
	}
	before, err := n.store.CosignedCheckpoint(ctx, int64(s1))
	if err != nil {
		t.Fatal(err)
	}
	var logged strings.Builder
	n.cfg.Witnesses = []WitnessConfig{{URL: fork.URL, Key: fork.VKey, Mode: "pull"}}
	lwFork, err := NewLogWitnessing(n, LogWitnessingOptions{PullInterval: time.Nanosecond, Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := lwFork.Step(ctx); err != nil || got != 0 {
		t.Fatalf("Step with a forked pulling witness: %d cosignatures, %v", got, err)
	}
	if after, _ := n.store.CosignedCheckpoint(ctx, int64(s1)); !bytes.Equal(after, before) {
		t.Fatalf("the cosigned checkpoint of size %d changed:\n%s", s1, after)
	}
	if !strings.Contains(logged.String(), "another root") {
		t.Fatalf("the refusal isn't logged: %s", logged.String())
	}
	rep, err := tlog.Audit(ctx, NewStoreAuditSource(n.store), tlog.AuditOptions{Verifier: n.verifier, Policy: pol})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Witnessed < 2 {
		t.Fatalf("audit: witnessed %d, problems %v", rep.Witnessed, rep.Problems)
	}
	// The same of the latest size: a tree of the node's size that isn't
	// its own. Its cosignature, of another text, would make the node's
	// cosigned note fail to verify for every client.
	fork2 := newTestWitness(t, "fork2.example", n.vkey)
	text = fmt.Sprintf("%s\n%d\n%s\n", n.verifier.Name(), s2, forged)
	if signed, err = gnote.Sign(&gnote.Note{Text: text}, n.signer); err != nil {
		t.Fatal(err)
	}
	if _, err := (&witness.Client{URL: fork2.URL}).AddCheckpoint(ctx, 0, nil, signed); err != nil {
		t.Fatal(err)
	}
	if before, err = n.store.CosignedCheckpoint(ctx, int64(s2)); err != nil {
		t.Fatal(err)
	}
	logged.Reset()
	n.cfg.Witnesses = []WitnessConfig{{URL: fork2.URL, Key: fork2.VKey, Mode: "pull"}}
	lwFork2, err := NewLogWitnessing(n, LogWitnessingOptions{PullInterval: time.Nanosecond, Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := lwFork2.Step(ctx); err != nil || got != 0 {
		t.Fatalf("Step with a pulling witness of another tree of the latest size: %d cosignatures, %v", got, err)
	}
	if after, _ := n.store.CosignedCheckpoint(ctx, int64(s2)); !bytes.Equal(after, before) {
		t.Fatalf("the cosigned checkpoint of size %d changed:\n%s", s2, after)
	}
	if !strings.Contains(logged.String(), "isn't the node's") {
		t.Fatalf("the refusal isn't logged: %s", logged.String())
	}
}

// TestWitnessingIdleCountsCosigners: the step that finds the latest
// checkpoint cosigned and stored moments ago answers, without a request,
// with the count of the witnesses that cosigned it, not of every
// witness: a pulling witness that hasn't cosigned yet isn't counted.
func TestWitnessingIdleCountsCosigners(t *testing.T) {
	ctx := context.Background()
	base := time.Now()
	n, _ := initNode(t, Options{Now: func() time.Time { return base }})
	push := newTestWitness(t, "push.example", n.vkey)
	pull := newTestWitness(t, "pull.example", n.vkey) // never pulls: 404
	n.cfg.Witnesses = []WitnessConfig{{URL: push.URL, Key: push.VKey}, {URL: pull.URL, Key: pull.VKey, Mode: "pull"}}
	m, key, coll := addAliceShared(t, n)
	submitOne(t, n, m, key, coll, 1)
	li, err := NewLogIntegrator(n, LogIntegratorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := li.Integrate(ctx); err != nil {
		t.Fatal(err)
	}
	lw, err := NewLogWitnessing(n, LogWitnessingOptions{PullInterval: time.Hour, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if got, err := lw.Step(ctx); err != nil || got != 1 {
			t.Fatalf("Step %d: %d cosignatures, %v; want 1", i+1, got, err)
		}
	}
}

// TestWitnessingStopsAtASameSizeFork: a witness that holds another
// checkpoint of the node's size, signed by the node's key (a fork made
// with the key elsewhere), answers 422 to that size (C2SP tlog-witness:
// equal sizes, different roots, since C2SP/C2SP#280) once the node's old
// size is the witness's. Asked again, the witness answers the same: the
// node sends it once, logs
// the fork once (an ERROR: the log's key signed two trees of one size,
// or the witness is wrong), and doesn't submit that checkpoint to the
// witness again, whatever Retry says. Its next checkpoint is submitted.
func TestWitnessingStopsAtASameSizeFork(t *testing.T) {
	ctx := context.Background()
	n, _ := initNode(t, Options{})
	m, key, coll := addAliceShared(t, n)
	li, err := NewLogIntegrator(n, LogIntegratorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	integrate := func() int64 {
		t.Helper()
		size, err := li.Integrate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return size
	}
	submitOne(t, n, m, key, coll, 1)
	s1 := integrate()
	w, requests := countedWitness(t, n.vkey)
	var forged tlog.Hash
	forged[0] = 1
	signed, err := gnote.Sign(&gnote.Note{Text: fmt.Sprintf("%s\n%d\n%s\n", n.verifier.Name(), s1, forged)}, n.signer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&witness.Client{URL: w.URL}).AddCheckpoint(ctx, 0, nil, signed); err != nil {
		t.Fatal(err)
	}
	requests.Store(0)
	n.cfg.Witnesses = []WitnessConfig{{URL: w.URL, Key: w.VKey}}
	var logged lockedBuffer
	lw, err := NewLogWitnessing(n, LogWitnessingOptions{Retry: time.Nanosecond, Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if got, err := lw.Step(ctx); err != nil || got != 0 {
			t.Fatalf("Step: %d cosignatures, %v", got, err)
		}
	}
	// old 0 → 409 "s1"; old s1 → 422: the fork. Then nothing.
	if got := requests.Load(); got != 2 {
		t.Fatalf("%d requests to the witness in 5 steps, want 2; logged:\n%s", got, logged.String())
	}
	out := logged.String()
	if got := strings.Count(out, "holds another checkpoint of this size"); got != 1 || !strings.Contains(out, "level=ERROR") || !strings.Contains(out, witness.ErrFork.Error()) {
		t.Fatalf("the fork logged %d times, want once, an ERROR naming it:\n%s", got, out)
	}
	// The next checkpoint is submitted (and refused as inconsistent: the
	// witness's tree of size s1 isn't the node's).
	submitOne(t, n, m, key, coll, 2)
	s2 := integrate()
	if got, err := lw.Step(ctx); err != nil || got != 0 {
		t.Fatalf("Step: %d cosignatures, %v", got, err)
	}
	if got := requests.Load(); got != 3 {
		t.Fatalf("%d requests to the witness, want 3: the next checkpoint once", got)
	}
	if !strings.Contains(logged.String(), fmt.Sprintf("refuses checkpoint size %d as inconsistent with the checkpoint it holds", s2)) {
		t.Fatalf("the refusal of the next checkpoint isn't logged as inconsistent:\n%s", logged.String())
	}
}

// TestWitnessingRefusedAfterRestore: a node whose witness cosigned a
// checkpoint newer than the backup it is then restored from, and which
// takes new entries, has forked; the witness (the real one) refuses its
// checkpoints as inconsistent with the one it holds (422). The node says
// what that means in one ERROR line per witness, not at every retry or
// new checkpoint, and its metrics show the refusal (size and time) until
// the witness cosigns again; integration goes on.
func TestWitnessingRefusedAfterRestore(t *testing.T) {
	ctx := context.Background()
	work := t.TempDir()
	dir := filepath.Join(work, "node")
	if _, err := Init(ctx, dir, Config{}, nil); err != nil { // backups are of SQLite stores
		t.Fatal(err)
	}
	n, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, key, coll := addAliceShared(t, n)
	w := newTestWitness(t, "w1.example", n.vkey)
	wcfg := []WitnessConfig{{URL: w.URL, Key: w.VKey}}
	integrators := map[*Node]*LogIntegrator{}
	integrate := func(n *Node) int64 {
		t.Helper()
		li := integrators[n]
		if li == nil {
			if li, err = NewLogIntegrator(n, LogIntegratorOptions{}); err != nil {
				t.Fatal(err)
			}
			integrators[n] = li
		}
		size, err := li.Integrate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return size
	}
	witnessing := func(n *Node, logged *lockedBuffer) *LogWitnessing {
		t.Helper()
		n.cfg.Witnesses = wcfg
		lw, err := NewLogWitnessing(n, LogWitnessingOptions{Retry: time.Nanosecond, Logger: slog.New(slog.NewTextHandler(logged, nil))})
		if err != nil {
			t.Fatal(err)
		}
		return lw
	}
	submitOne(t, n, m, key, coll, 1)
	integrate(n)
	integrators[n].release(ctx) // the backup's copy of the lease: free
	out := filepath.Join(work, "node.backup")
	if _, err := Backup(ctx, dir, out, BackupOptions{}); err != nil {
		t.Fatal(err)
	}
	// After the backup: two more entries, cosigned by the witness.
	submitOne(t, n, m, key, coll, 2)
	submitOne(t, n, m, key, coll, 3)
	lost := integrate(n)
	var logged1 lockedBuffer
	if got, err := witnessing(n, &logged1).Step(ctx); err != nil || got != 1 {
		t.Fatalf("Step before the restore: %d cosignatures, %v; logged:\n%s", got, err, logged1.String())
	}
	n.Close()

	// Restored from the backup, and fed new objects past the size the
	// witness holds: another tree.
	restored := filepath.Join(work, "restored")
	if _, err := Restore(ctx, out, restored, RestoreOptions{}); err != nil {
		t.Fatal(err)
	}
	n2, err := Open(ctx, restored, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n2.Close() })
	for i := range 4 {
		submitOne(t, n2, m, key, coll, 10+i)
	}
	size := integrate(n2)
	if size <= lost {
		t.Fatalf("the restored log has size %d, not past the witness's %d", size, lost)
	}
	var logged lockedBuffer
	lw := witnessing(n2, &logged)
	for range 3 {
		if got, err := lw.Step(ctx); err != nil || got != 0 {
			t.Fatalf("Step: %d cosignatures, %v", got, err)
		}
	}
	submitOne(t, n2, m, key, coll, 20)
	size2 := integrate(n2)
	for range 2 {
		if got, err := lw.Step(ctx); err != nil || got != 0 {
			t.Fatalf("Step: %d cosignatures, %v", got, err)
		}
	}
	text := logged.String()
	want := fmt.Sprintf("witness %s refuses checkpoint size %d as inconsistent with the checkpoint it holds: this log may have forked, e.g. restored from an older backup", redactedURL(w.URL), size)
	if got := strings.Count(text, "as inconsistent with the checkpoint it holds"); got != 1 || !strings.Contains(text, want) || !strings.Contains(text, "level=ERROR") || !strings.Contains(text, "members' audits will flag a split view") {
		t.Fatalf("the refusal logged %d times, want once, an ERROR saying %q:\n%s", got, want, text)
	}
	if strings.Contains(text, "a witness didn't cosign the checkpoint") {
		t.Fatalf("the refusal is also logged as a witness that didn't cosign:\n%s", text)
	}
	metrics := scrape(t, n2)
	name, _, _ := strings.Cut(w.VKey, "+")
	if !strings.Contains(metrics, fmt.Sprintf("parley_witness_refused_inconsistent_size{witness=%q} %d\n", name, size2)) ||
		!strings.Contains(metrics, fmt.Sprintf("parley_witness_refused_inconsistent_timestamp_seconds{witness=%q} ", name)) {
		t.Fatalf("metrics don't show the refusal of size %d by %s:\n%s", size2, name, metrics)
	}
}

// scrape returns n's metrics as Prometheus serves them.
func scrape(t *testing.T, n *Node) string {
	t.Helper()
	rec := httptest.NewRecorder()
	n.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	return rec.Body.String()
}

// behindLatest is a store whose latest checkpoint is an older one, as
// after a restore from an older backup: the first of latest at the
// first call, then the next at each call, the last one from then on
// (a restored node that grows).
type behindLatest struct {
	store.Store
	mu     sync.Mutex
	latest []checkpointNote
}

type checkpointNote struct {
	size int64
	note []byte
}

func (b *behindLatest) LatestCheckpoint(ctx context.Context) (int64, []byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.latest[0]
	if len(b.latest) > 1 {
		b.latest = b.latest[1:]
	}
	return c.size, c.note, nil
}

// TestWitnessingFrontEndsRaceIsNoRollback: two front ends on one store
// each submit the latest checkpoint to the witness. One that read the
// latest just before the other got a newer one integrated and cosigned
// submits a checkpoint smaller than the witness's: the witness answers
// with its larger size, which is no rollback of the log (the store holds
// a newer checkpoint). It was logged as a WARN "the log went back to a
// smaller tree", dozens of times in minutes on a busy node of three
// front ends, each followed by "a witness cosigns again". A rollback the
// store doesn't explain (its latest checkpoint is smaller than the
// witness's) is still a WARN.
func TestWitnessingFrontEndsRaceIsNoRollback(t *testing.T) {
	ctx := context.Background()
	n, _ := initNode(t, Options{})
	m, key, coll := addAliceShared(t, n)
	w := newTestWitness(t, "w1.example", n.vkey)
	n.cfg.Witnesses = []WitnessConfig{{URL: w.URL, Key: w.VKey}}
	li, err := NewLogIntegrator(n, LogIntegratorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	integrate := func() {
		t.Helper()
		if _, err := li.Integrate(ctx); err != nil {
			t.Fatal(err)
		}
	}
	frontEnd := func(logged *lockedBuffer) *LogWitnessing {
		t.Helper()
		lw, err := NewLogWitnessing(n, LogWitnessingOptions{Retry: time.Nanosecond, Logger: slog.New(slog.NewTextHandler(logged, nil))})
		if err != nil {
			t.Fatal(err)
		}
		return lw
	}
	var loggedA, loggedB lockedBuffer
	a, b := frontEnd(&loggedA), frontEnd(&loggedB)
	submitOne(t, n, m, key, coll, 1)
	integrate()
	if got, err := a.Step(ctx); err != nil || got != 1 {
		t.Fatalf("front end a's Step: %d cosignatures, %v; logged:\n%s", got, err, loggedA.String())
	}
	staleSize, stale, err := n.store.LatestCheckpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	submitOne(t, n, m, key, coll, 2)
	integrate()
	if got, err := b.Step(ctx); err != nil || got != 1 {
		t.Fatalf("front end b's Step: %d cosignatures, %v; logged:\n%s", got, err, loggedB.String())
	}
	// a's step read the latest checkpoint before b's was integrated.
	a.submit(ctx, a.ws[0], staleSize, stale)
	if got, err := a.Step(ctx); err != nil || got != 1 {
		t.Fatalf("front end a's Step after b's: %d cosignatures, %v; logged:\n%s", got, err, loggedA.String())
	}
	if text := loggedA.String(); strings.Contains(text, "didn't cosign") || strings.Contains(text, "cosigns again") {
		t.Fatalf("a stale checkpoint of one front end, older than the store's latest, is logged as a witness failure:\n%s", text)
	}

	// A front end of a node restored from an older backup, growing
	// (its latest checkpoint changes between reading it and hearing
	// from the witness), below the size the witness holds: the log went
	// back, and the store doesn't explain it.
	midSize, mid, err := n.store.LatestCheckpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	submitOne(t, n, m, key, coll, 3)
	integrate()
	if got, err := b.Step(ctx); err != nil || got != 1 {
		t.Fatalf("front end b's Step: %d cosignatures, %v; logged:\n%s", got, err, loggedB.String())
	}
	var loggedR lockedBuffer
	restored, err := NewLogWitnessing(n, LogWitnessingOptions{Retry: time.Nanosecond, Recosign: time.Nanosecond, Logger: slog.New(slog.NewTextHandler(&loggedR, nil))})
	if err != nil {
		t.Fatal(err)
	}
	restored.ls = &behindLatest{Store: n.store, latest: []checkpointNote{{staleSize, stale}, {midSize, mid}}}
	if _, err := restored.Step(ctx); err != nil {
		t.Fatal(err)
	}
	if text := loggedR.String(); !strings.Contains(text, "level=WARN") || !strings.Contains(text, "the log went back to a smaller tree") {
		t.Fatalf("a rollback the store doesn't explain isn't logged:\n%s", text)
	}
}

// witnessingFrontEnd is the witnessing of a front end of n whose
// config.json lists the witnesses ws (front ends share n's store).
func witnessingFrontEnd(t *testing.T, n *Node, ws []WitnessConfig) *LogWitnessing {
	t.Helper()
	n.cfg.Witnesses = ws
	lw, err := NewLogWitnessing(n, LogWitnessingOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return lw
}

// TestWitnessingKeepsCosignaturesOfWitnessesAddedElsewhere: a witness is
// added to config.json front end by front end (docs/scaling.md). While
// one front end has the new list and another the old, the old one must
// not store the checkpoint again without the new witness's cosignature:
// it did, at every checkpoint, so the served checkpoint lost and regained
// it with each front end's step, and a checkpoint last stored by the old
// one kept none for good.
func TestWitnessingKeepsCosignaturesOfWitnessesAddedElsewhere(t *testing.T) {
	ctx := context.Background()
	n, _ := initNode(t, Options{})
	m, key, coll := addAliceShared(t, n)
	w1 := newTestWitness(t, "w1.example", n.vkey)
	w2 := newTestWitness(t, "w2.example", n.vkey)
	li, err := NewLogIntegrator(n, LogIntegratorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	older := witnessingFrontEnd(t, n, []WitnessConfig{{URL: w1.URL, Key: w1.VKey}})
	newer := witnessingFrontEnd(t, n, []WitnessConfig{{URL: w1.URL, Key: w1.VKey}, {URL: w2.URL, Key: w2.VKey}})
	for i := range 2 {
		submitOne(t, n, m, key, coll, i)
		size, err := li.Integrate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := newer.Step(ctx); err != nil || got != 2 {
			t.Fatalf("Step of the front end with both witnesses: %d cosignatures, %v", got, err)
		}
		if got, err := older.Step(ctx); err != nil || got != 1 {
			t.Fatalf("Step of the front end with w1 only: %d cosignatures, %v", got, err)
		}
		note, err := n.store.CosignedCheckpoint(ctx, size)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range []*testWitness{w1, w2} {
			if len(keyLines(note, w.VKey)) == 0 {
				t.Fatalf("checkpoint %d: the stored note has no cosignature of %s:\n%s", size, w.VKey, note)
			}
		}
	}
}

// TestWitnessingKeepsCosignaturesItCouldntGet: a front end that can't
// reach a witness keeps that witness's cosignature which another front
// end stored for the same checkpoint while it was submitting, rather
// than storing the note again without it (a client whose quorum needs
// that witness would be refused until the other front end put it back,
// a minute later). Found by review of the ops3 merge.
func TestWitnessingKeepsCosignaturesItCouldntGet(t *testing.T) {
	ctx := context.Background()
	n, _ := initNode(t, Options{})
	m, key, coll := addAliceShared(t, n)
	w1 := newTestWitness(t, "w1.example", n.vkey)
	w2 := newTestWitness(t, "w2.example", n.vkey)
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close() // w2 as front end a sees it: nothing answers
	li, err := NewLogIntegrator(n, LogIntegratorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a := witnessingFrontEnd(t, n, []WitnessConfig{{URL: w1.URL, Key: w1.VKey}, {URL: gone.URL, Key: w2.VKey}})
	b := witnessingFrontEnd(t, n, []WitnessConfig{{URL: w1.URL, Key: w1.VKey}, {URL: w2.URL, Key: w2.VKey}})
	// Front end b collects and stores both cosignatures while a's
	// submission to w1 is on its way.
	var during atomic.Bool
	h := w1.srv.Config.Handler
	w1.srv.Config.Handler = http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if during.CompareAndSwap(true, false) {
			if got, err := b.Step(ctx); err != nil || got != 2 {
				t.Errorf("Step of front end b: %d cosignatures, %v", got, err)
			}
		}
		h.ServeHTTP(rw, r)
	})
	for i := range 2 {
		submitOne(t, n, m, key, coll, i)
		size, err := li.Integrate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		during.Store(true)
		if got, err := a.Step(ctx); err != nil || got != 1 {
			t.Fatalf("Step of front end a, which can't reach w2: %d cosignatures, %v", got, err)
		}
		if during.Load() {
			t.Fatal("front end b's step didn't run during a's")
		}
		note, err := n.store.CosignedCheckpoint(ctx, size)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range []*testWitness{w1, w2} {
			if got := bytes.Count(keyLines(note, w.VKey), []byte("\n")); got == 0 || got > 2 {
				t.Fatalf("checkpoint %d: the stored note has %d cosignature lines of %s:\n%s", size, got, w.VKey, note)
			}
		}
	}
}
