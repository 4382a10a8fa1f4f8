package node

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-exchange/parley/tlog"
)

// gate is a witness's door: while closed, add-checkpoint requests are
// answered 503 and the largest checkpoint size refused is kept.
type gate struct {
	closed  atomic.Bool
	refused atomic.Int64
}

// witnessedNode serves a node whose clock is time.Now plus *offset, with
// one in-process witness (on the real clock) behind g, and returns what
// the tests need.
func witnessedNode(t *testing.T, offset *atomic.Int64, g *gate) (n *Node, url, token string, pol *tlog.Policy, post1 func() string) {
	t.Helper()
	n, _ = initNode(t, Options{Now: func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }})
	w := newTestWitness(t, "w1.example", n.vkey)
	h := w.srv.Config.Handler
	w.srv.Config.Handler = http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if !g.closed.Load() {
			h.ServeHTTP(rw, r)
			return
		}
		// The body: "old N", proof lines, a blank line, the checkpoint
		// (origin, size, root, signatures).
		b, _ := io.ReadAll(r.Body)
		if _, cp, ok := strings.Cut(string(b), "\n\n"); ok {
			if lines := strings.Split(cp, "\n"); len(lines) > 1 {
				if size, err := strconv.ParseInt(lines[1], 10, 64); err == nil && size > g.refused.Load() {
					g.refused.Store(size)
				}
			}
		}
		http.Error(rw, "closed", http.StatusServiceUnavailable)
	})
	n.cfg.Witnesses = []WitnessConfig{{URL: w.URL, Key: w.VKey}}
	url, alice, post1 := serveWitnessed(t, n)
	pol, err := tlog.NewWitnessPolicy([]string{w.VKey}, 1)
	if err != nil {
		t.Fatal(err)
	}
	return n, url, alice.Token, pol, post1
}

// postCosigned posts one object and waits until a cosigned checkpoint
// covers it; it returns the object's id and its entry's index.
func postCosigned(t *testing.T, n *Node, url, token string, pol *tlog.Policy, post1 func() string) (string, uint64) {
	t.Helper()
	id := post1()
	es, err := n.store.Entries(context.Background(), 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if e.ObjectID == id {
			waitCosigned(t, url, token, pol, uint64(e.Index)+1, 1)
			return id, uint64(e.Index)
		}
	}
	t.Fatalf("no entry for %s", id)
	return "", 0
}

// auditBoth audits the node over HTTP (GET /log/checkpoints) and its store
// directly, with the policy, and returns both reports.
func auditBoth(t *testing.T, n *Node, url, token string, pol *tlog.Policy) []*tlog.AuditReport {
	t.Helper()
	ctx := context.Background()
	src := NewStoreAuditSource(n.store)
	var out []*tlog.AuditReport
	for _, s := range []tlog.AuditSource{&tlog.Client{URL: url, Token: token}, src} {
		rep, err := tlog.Audit(ctx, s, tlog.AuditOptions{Verifier: n.verifier, Policy: pol})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rep)
	}
	return out
}

// bundleTimes fetches and verifies the bundle of one object and checks its
// received time against the witnessed checkpoints it carries.
func bundleTimes(t *testing.T, n *Node, url, token, id string, pol *tlog.Policy) ([]tlog.WitnessedAt, []string) {
	t.Helper()
	code, body := rawGet(t, url+"/log/bundle?object="+id, token)
	if code != 200 {
		t.Fatalf("GET /log/bundle: %d %s", code, body)
	}
	res, err := tlog.VerifyBundle([]byte(body), n.vkey)
	if err != nil {
		t.Fatal(err)
	}
	return res.WitnessedTimes(pol, 0)
}

// TestNodeWitnessedTimeHonest: a node whose clock agrees with its
// witness's passes the time checks; receipts and bundles carry the first
// cosigned checkpoint that includes the entry.
func TestNodeWitnessedTimeHonest(t *testing.T) {
	var offset atomic.Int64
	n, url, token, pol, post1 := witnessedNode(t, &offset, &gate{})
	first, idx := postCosigned(t, n, url, token, pol, post1)
	postCosigned(t, n, url, token, pol, post1)
	postCosigned(t, n, url, token, pol, post1)
	for _, rep := range auditBoth(t, n, url, token, pol) {
		if !rep.OK() || rep.Witnessed < 3 {
			t.Fatalf("witnessed %d, problems %v", rep.Witnessed, rep.Problems)
		}
	}
	times, problems := bundleTimes(t, n, url, token, first, pol)
	if len(problems) != 0 || len(times) != 1 || times[0].Size <= idx || times[0].Earliest.Witness == "" {
		t.Fatalf("bundle: times %+v, problems %v", times, problems)
	}
	version := t0.Add(time.Second).UTC().Format("2006-01-02T15:04:05.000Z")
	code, body := rawGet(t, url+"/log/receipt?object="+first+"&version="+version, token)
	var rc tlog.Receipt
	if err := json.Unmarshal([]byte(body), &rc); code != 200 || err != nil {
		t.Fatalf("receipt: %d %v %s", code, err, body)
	}
	if _, _, err := rc.Verify(n.vkey); err != nil || rc.Witnessed == nil {
		t.Fatalf("receipt: %v, witnessed %v", err, rc.Witnessed)
	}
	w, err := tlog.CosignedTimes([]byte(rc.Witnessed.Checkpoint), n.verifier, pol)
	if err != nil || w.Size != idx+1 {
		t.Fatalf("receipt's witnessed checkpoint: %+v %v (entry %d)", w, err, idx)
	}
}

// TestNodeWitnessedTimeBackdated: an entry whose received time is more
// than the clock skew earlier than a witness's cosignature of a checkpoint
// that didn't include it is named by audits (over HTTP and of the store)
// and by the bundle's verification, though received times still increase
// in log order.
func TestNodeWitnessedTimeBackdated(t *testing.T) {
	var offset atomic.Int64
	var g gate
	// The node's clock is 20 minutes slow from the start, and the witness
	// sees its log first when it already has two objects: honest so far.
	// (It is opened once it has refused the checkpoint with the first
	// object, which the node then retries only after LogWitnessingOptions.
	// Retry; the second object's checkpoint is submitted at once.)
	offset.Store(int64(-20 * time.Minute))
	g.closed.Store(true)
	n, url, token, pol, post1 := witnessedNode(t, &offset, &g)
	post1()
	deadline := time.Now().Add(10 * time.Second)
	for g.refused.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the node didn't submit the checkpoint of size 2")
		}
		time.Sleep(10 * time.Millisecond)
	}
	g.closed.Store(false)
	postCosigned(t, n, url, token, pol, post1)
	for _, rep := range auditBoth(t, n, url, token, pol) {
		if !rep.OK() {
			t.Fatalf("before back-dating: %v", rep.Problems)
		}
	}
	// The witness cosigned the tree without the next entry just now; the
	// node claims to have received it ten minutes ago.
	offset.Store(int64(-10 * time.Minute))
	id, idx := postCosigned(t, n, url, token, pol, post1)
	for _, rep := range auditBoth(t, n, url, token, pol) {
		if len(rep.Problems) != 1 || rep.Problems[0].Index != int64(idx) || !strings.Contains(rep.Problems[0].Reason, "back-dated") {
			t.Fatalf("problems %v, want one naming entry %d", rep.Problems, idx)
		}
	}
	_, problems := bundleTimes(t, n, url, token, id, pol)
	if len(problems) != 1 || !strings.Contains(problems[0], "back-dated") || !strings.Contains(problems[0], id) {
		t.Fatalf("bundle problems %v", problems)
	}
}

// TestWitnessingRecosignsInQuietPeriods: while the log is quiet the node
// submits its unchanged checkpoint to its witnesses again every Recosign
// (not more often), keeps each witness's first and latest cosignature of
// it, and so an entry back-dated into the quiet period, before the latest
// cosignature of the tree without it, is flagged by the audit (over HTTP
// and of the store) and by the bundle's verification. Without the
// re-submission the only cosignature of that tree is from before the entry's
// claimed time, and it passes.
func TestWitnessingRecosignsInQuietPeriods(t *testing.T) {
	ctx := context.Background()
	var nodeOffset, witnessOffset atomic.Int64
	n, _ := initNode(t, Options{Now: func() time.Time { return time.Now().Add(time.Duration(nodeOffset.Load())) }})
	w := newTestWitnessAt(t, "w1.example", n.vkey, func() time.Time { return time.Now().Add(time.Duration(witnessOffset.Load())) })
	requests := countRequests(w)
	n.cfg.Witnesses = []WitnessConfig{{URL: w.URL, Key: w.VKey}}
	pol, err := tlog.NewWitnessPolicy([]string{w.VKey}, 1)
	if err != nil {
		t.Fatal(err)
	}
	m, key, coll := addAliceShared(t, n)
	submitOne(t, n, m, key, coll, 1)
	li, err := NewLogIntegrator(n, LogIntegratorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	quiet, err := li.Integrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lw, err := NewLogWitnessing(n, LogWitnessingOptions{Recosign: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	step := func(want int64) { t.Helper(); stepWitnessing(t, lw, requests, want) }
	step(1)
	// Within Recosign, nothing is submitted again.
	for _, d := range []time.Duration{time.Second, 4 * time.Minute} {
		nodeOffset.Store(int64(d))
		witnessOffset.Store(int64(d))
		step(1)
	}
	// The log stays quiet for 20 minutes: the checkpoint is cosigned
	// again, once, and stored with both cosignatures.
	nodeOffset.Store(int64(20 * time.Minute))
	witnessOffset.Store(int64(20 * time.Minute))
	step(2)
	step(2)
	stored, err := n.store.CosignedCheckpoint(ctx, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if lines := keyLines(stored, w.VKey); strings.Count(string(lines), "\n") != 2 {
		t.Fatalf("the quiet checkpoint is stored with %q of the witness's lines, want its first and latest", lines)
	}
	wa, err := tlog.CosignedTimes(stored, n.verifier, pol)
	if err != nil || wa.Latest.Time.Sub(wa.Earliest.Time) < 19*time.Minute {
		t.Fatalf("stored cosignatures: %+v, %v", wa, err)
	}
	// The node claims an entry received a minute after the checkpoint
	// was first cosigned, 19 minutes before the witness cosigned it again
	// without the entry.
	nodeOffset.Store(int64(time.Minute))
	submitOne(t, n, m, key, coll, 2)
	if _, err := li.Integrate(ctx); err != nil {
		t.Fatal(err)
	}
	nodeOffset.Store(int64(20 * time.Minute))
	step(3)
	url, _ := serveNode(t, n)
	for _, rep := range auditBoth(t, n, url, m.Token, pol) {
		if len(rep.Problems) != 1 || rep.Problems[0].Index != quiet || !strings.Contains(rep.Problems[0].Reason, "back-dated") {
			t.Fatalf("problems %v, want one naming entry %d back-dated", rep.Problems, quiet)
		}
	}
	es, err := n.store.Entries(ctx, quiet, quiet+1)
	if err != nil || len(es) != 1 {
		t.Fatalf("entry %d: %v %v", quiet, es, err)
	}
	_, problems := bundleTimes(t, n, url, m.Token, es[0].ObjectID, pol)
	if len(problems) != 1 || !strings.Contains(problems[0], "back-dated") {
		t.Fatalf("bundle problems %v, want the entry back-dated", problems)
	}
}

// TestWitnessingRecosignsWithinIdleRecheck: a Recosign shorter than
// idleRecheck still has the quiet checkpoint cosigned again on time: the
// step that finds everything cosigned and stored moments ago doesn't
// return early when a re-cosignature is due.
func TestWitnessingRecosignsWithinIdleRecheck(t *testing.T) {
	ctx := context.Background()
	// A clock that moves only when told, so that "moments ago" holds on
	// a slow machine.
	var offset atomic.Int64
	base := time.Now()
	now := func() time.Time { return base.Add(time.Duration(offset.Load())) }
	n, _ := initNode(t, Options{Now: now})
	w := newTestWitnessAt(t, "w1.example", n.vkey, now)
	requests := countRequests(w)
	n.cfg.Witnesses = []WitnessConfig{{URL: w.URL, Key: w.VKey}}
	m, key, coll := addAliceShared(t, n)
	submitOne(t, n, m, key, coll, 1)
	li, err := NewLogIntegrator(n, LogIntegratorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := li.Integrate(ctx); err != nil {
		t.Fatal(err)
	}
	recosign := idleRecheck / 5
	lw, err := NewLogWitnessing(n, LogWitnessingOptions{Recosign: recosign})
	if err != nil {
		t.Fatal(err)
	}
	step := func(want int64) { t.Helper(); stepWitnessing(t, lw, requests, want) }
	step(1)
	step(1) // stored moments ago, nothing due
	offset.Store(int64(2 * recosign))
	step(2)
}

// countRequests counts the requests that reach the test witness w.
func countRequests(w *testWitness) *atomic.Int64 {
	var requests atomic.Int64
	h := w.srv.Config.Handler
	w.srv.Config.Handler = http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		h.ServeHTTP(rw, r)
	})
	return &requests
}

// stepWitnessing runs one witnessing step, which must leave one
// cosignature in force, and checks that the witness has had want
// requests in all by then.
func stepWitnessing(t *testing.T, lw *LogWitnessing, requests *atomic.Int64, want int64) {
	t.Helper()
	if got, err := lw.Step(context.Background()); err != nil || got != 1 || requests.Load() != want {
		t.Fatalf("Step: %d cosignatures, %v, %d requests (want %d)", got, err, requests.Load(), want)
	}
}
