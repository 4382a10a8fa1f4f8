package node

import (
	"bytes"
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/private"
	"github.com/parley-exchange/parley/tlog"
)

// TestPrivateWithdrawnReceipt: a provider can't deny a set it withdrew.
// Its readers then (bob, and alice, its provider) still get its receipt:
// the key entry, opened, under the key every reader was shown, and the
// withdrawal's entry, bound to that key entry; a key other than the one
// logged doesn't verify. Carol, who couldn't read it, gets exactly what
// she gets for an id no set ever had, and so she does once given the
// collection after the withdrawal. The log, with the withdrawal entry,
// passes an audit, remote and of the store.
func TestPrivateWithdrawnReceipt(t *testing.T) {
	ctx := context.Background()
	tn := newTestNode(t)
	tn.privateAPI().setConfig(PrivateConfig{QueryBudget: 100, MaxBatch: 10, RefreshInterval: Duration(time.Hour)})
	alice := &private.Client{BaseURL: tn.URL, Token: tn.alice.Token}
	bob := &private.Client{BaseURL: tn.URL, Token: tn.bob.Token}
	const value = "domain-name:shared-by-mistake.example"
	set, err := alice.Publish(ctx, private.PublishRequest{Collection: tn.shared, Values: []string{value}})
	if err != nil {
		t.Fatal(err)
	}
	v := logVerifier(t, tn.Node)
	if hits, err := bob.Check(ctx, set.ID, v, []string{value}, 0, rand.Reader); err != nil || len(hits) != 1 {
		t.Fatalf("bob's check before the withdrawal: %v, %v", hits, err)
	}
	unused := set.ID[:len(set.ID)-12] + "0123456789ab"
	carolGet := func(id string) (int, string) {
		code, body := rawGet(t, tn.URL+"/private/sets/"+id+"/receipt", tn.carol.Token)
		return code, strings.ReplaceAll(body, id, "{ID}")
	}
	if err := alice.Withdraw(ctx, set.ID); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*private.Client{"bob": bob, "alice": alice} {
		rc, err := c.Receipt(ctx, set.ID)
		if err != nil {
			t.Fatalf("%s's receipt of the withdrawn set: %v", name, err)
		}
		key, err := rc.VerifyWithdrawn(v, set.ID)
		if err != nil {
			t.Fatalf("%s's receipt of the withdrawn set doesn't verify: %v", name, err)
		}
		if !bytes.Equal(key.Bytes(), set.PublicKey) || int64(rc.LogIndex) != set.KeyLogIndex || rc.Opening.Member != tn.alice.ID ||
			rc.Opening.Collection != tn.shared || rc.Withdrawal.Opening.ObjectID != set.ID || rc.Withdrawal.LogIndex <= rc.LogIndex {
			t.Fatalf("%s's receipt: %+v", name, rc)
		}
		// The provider can't swap the key it was shown under.
		forged := rc
		w := *rc.Withdrawal
		other, _ := private.GenerateKey(rand.Reader)
		w.PublicKey = other.Public().Bytes()
		forged.Withdrawal = &w
		if _, err := forged.VerifyWithdrawn(v, set.ID); err == nil {
			t.Fatalf("a receipt under another key verified")
		}
		if _, err := rc.VerifyWithdrawn(v, unused); err == nil {
			t.Fatalf("the receipt verified for another set id")
		}
	}
	// Carol: as for a set that never existed, before and after she is
	// given the collection (she could not read the set when it went).
	wantCode, wantBody := carolGet(unused)
	if wantCode != http.StatusNotFound {
		t.Fatalf("an unused id's receipt: %d %s", wantCode, wantBody)
	}
	if code, body := carolGet(set.ID); code != wantCode || body != wantBody {
		t.Errorf("a non-reader's answer for a withdrawn set (%d %s) differs from an unused id's (%d %s)", code, body, wantCode, wantBody)
	}
	if _, _, err := tn.GrantAccess(ctx, tn.shared, "carol", true, false); err != nil {
		t.Fatal(err)
	}
	if code, body := carolGet(set.ID); code != wantCode || body != wantBody {
		t.Errorf("a reader since the withdrawal gets (%d %s), an unused id (%d %s)", code, body, wantCode, wantBody)
	}
	// Everything else about it is gone, for its readers too.
	if _, err := bob.Set(ctx, set.ID); !isStatus(err, http.StatusNotFound) {
		t.Errorf("the withdrawn set's description: %v, want 404", err)
	}

	// The log: the withdrawal entry is there, and audits pass.
	size := waitIntegrated(t, tn)
	es, err := tn.store.Entries(ctx, 0, size)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range es {
		le, err := tlog.ParseEntry(e.Leaf)
		if err != nil {
			t.Fatal(err)
		}
		if le.Kind == tlog.KindOPRFWithdrawal {
			kinds = append(kinds, le.Kind)
			if e.ObjectID != set.ID || le.Commitment != tlog.OPRFWithdrawalCommitment(e.Opening(), keyCommitment(t, es[set.KeyLogIndex].Leaf)) {
				t.Errorf("the withdrawal entry %d doesn't commit to the set's withdrawal: %+v", e.Index, e)
			}
		}
	}
	if len(kinds) != 1 {
		t.Fatalf("%d withdrawal entries, want 1", len(kinds))
	}
	tv, _ := tlog.NewVerifier(tn.VerifierKey())
	for _, m := range []testMember{tn.bob, tn.carol} {
		c := &tlog.Client{URL: tn.URL, Token: m.Token}
		if rep, err := tlog.Audit(ctx, c, tlog.AuditOptions{Verifier: tv, Tiles: c}); err != nil || !rep.OK() || rep.Entries != uint64(size) {
			t.Fatalf("remote audit: %+v, %v", rep, err)
		}
	}
	src := NewStoreAuditSource(tn.store)
	if rep, err := tlog.Audit(ctx, src, tlog.AuditOptions{Verifier: tv, Tiles: src, AllObjects: true}); err != nil || !rep.OK() {
		t.Fatalf("store audit: %+v, %v", rep, err)
	}
}

// keyCommitment returns the commitment of an oprf-key entry's leaf.
func keyCommitment(t *testing.T, leaf []byte) string {
	t.Helper()
	e, err := tlog.ParseEntry(leaf)
	if err != nil || e.Kind != tlog.KindOPRFKey {
		t.Fatalf("not an oprf-key entry: %s (%v)", leaf, err)
	}
	return e.Commitment
}

// TestPrivateEvaluationWithdrawnBeforeAnswer: an evaluation charged and
// computed on one front end, whose set is withdrawn through another
// (which answers 204) before the answer is sent, is not answered: the
// store, shared by both (SQLite, or PostgreSQL with
// PARLEY_TEST_NODE_STORE=postgres), says the set is gone, and the
// evaluating front end answers 404 and drops the set's key.
func TestPrivateEvaluationWithdrawnBeforeAnswer(t *testing.T) {
	ctx := context.Background()
	f := twoFrontEnds(t)
	srvA := httptest.NewServer(f.a.Handler(nil))
	t.Cleanup(srvA.Close)
	for _, n := range []*Node{f.a, f.b} {
		n.privateAPI().setConfig(PrivateConfig{QueryBudget: 100, MaxBatch: 10, RefreshInterval: Duration(time.Hour)})
	}
	alice := &private.Client{BaseURL: srvA.URL, Token: f.alice.Token}
	bob := &private.Client{BaseURL: f.srv.URL, Token: f.bob.Token} // front end B
	set, err := alice.Publish(ctx, private.PublishRequest{Collection: f.coll, Values: []string{"ipv4-addr:198.51.100.7"}})
	if err != nil {
		t.Fatal(err)
	}
	blind := func() *private.EvaluateRequest {
		_, req, err := private.NewQuerier(mustKey(t, set.PublicKey), rand.Reader).Blind([]string{"ipv4-addr:198.51.100.7"})
		if err != nil {
			t.Fatal(err)
		}
		return req
	}
	if _, err := bob.Evaluate(ctx, set.ID, blind()); err != nil {
		t.Fatalf("an evaluation before: %v", err)
	}
	withdrew := false
	f.b.privateAPI().evaluated = func(id string) {
		if id != set.ID || withdrew {
			return
		}
		withdrew = true
		if err := alice.Withdraw(ctx, set.ID); err != nil {
			t.Errorf("withdrawing through front end A while B evaluates: %v", err)
		}
	}
	resp, err := bob.Evaluate(ctx, set.ID, blind())
	if !withdrew {
		t.Fatal("the evaluation didn't reach the withdrawal")
	}
	if !isStatus(err, http.StatusNotFound) {
		t.Fatalf("an evaluation charged before the withdrawal, answered after its 204: %+v, %v; want 404", resp, err)
	}
	b := f.b.privateAPI()
	b.provMu.Lock()
	_, cached := b.providers[set.ID]
	b.provMu.Unlock()
	if cached {
		t.Error("front end B still holds the withdrawn set's key")
	}
}

// TestPrivateWithdrawalFollowed: a follower replicating a log that holds
// a private set's key entry and its withdrawal entry catches up past
// both, without error, and the origin's log audits clean.
func TestPrivateWithdrawalFollowed(t *testing.T) {
	ctx := context.Background()
	b := newOrigin(t, "a")
	b.share(t, b.intel, 2)
	alice := &private.Client{BaseURL: b.URL, Token: b.alice.Token}
	set, err := alice.Publish(ctx, private.PublishRequest{Collection: b.intel, Values: []string{"domain-name:withdrawn.example"}})
	if err != nil {
		t.Fatal(err)
	}
	a := newFedNode(t, 0)
	a.follow(t, b, "a", "from-b")
	a.caughtUp(t, b, "a")
	if err := alice.Withdraw(ctx, set.ID); err != nil {
		t.Fatal(err)
	}
	b.share(t, b.intel, 1)
	p := a.caughtUp(t, b, "a")
	if p.State.LastError != "" || p.State.Stopped != "" {
		t.Fatalf("the follower past the withdrawal: %+v", p.State)
	}
	if got := p.State.Objects; got != 3 {
		t.Errorf("the follower holds %d objects, want 3", got)
	}
	tv, _ := tlog.NewVerifier(b.VerifierKey())
	c := &tlog.Client{URL: b.URL, Token: b.alice.Token}
	if rep, err := tlog.Audit(ctx, c, tlog.AuditOptions{Verifier: tv, Tiles: c}); err != nil || !rep.OK() {
		t.Fatalf("alice's audit of the origin: %+v, %v", rep, err)
	}
}

// TestPrivateForgetGone: a front end's refresh round drops the cached
// key of a set another front end withdrew, and keeps the others.
func TestPrivateForgetGone(t *testing.T) {
	ctx := context.Background()
	f := twoFrontEnds(t)
	srvA := httptest.NewServer(f.a.Handler(nil))
	t.Cleanup(srvA.Close)
	alice := &private.Client{BaseURL: srvA.URL, Token: f.alice.Token}
	bob := &private.Client{BaseURL: f.srv.URL, Token: f.bob.Token} // front end B
	var ids []string
	for _, v := range []string{"ipv4-addr:198.51.100.7", "ipv4-addr:198.51.100.8"} {
		set, err := alice.Publish(ctx, private.PublishRequest{Collection: f.coll, Values: []string{v}})
		if err != nil {
			t.Fatal(err)
		}
		_, req, err := private.NewQuerier(mustKey(t, set.PublicKey), rand.Reader).Blind([]string{v})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bob.Evaluate(ctx, set.ID, req); err != nil { // B caches the key
			t.Fatal(err)
		}
		ids = append(ids, set.ID)
	}
	if err := alice.Withdraw(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	b := f.b.privateAPI()
	cached := func(id string) bool {
		b.provMu.Lock()
		defer b.provMu.Unlock()
		return b.providers[id] != nil
	}
	if !cached(ids[0]) || !cached(ids[1]) {
		t.Fatal("front end B didn't cache the keys")
	}
	sets, err := b.st.PrivateSets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b.forgetGone(sets)
	if cached(ids[0]) || !cached(ids[1]) {
		t.Errorf("after B's refresh round: withdrawn set's key cached %v, the other's %v", cached(ids[0]), cached(ids[1]))
	}
}
