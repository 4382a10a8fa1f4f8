package node

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/private"
	"github.com/parley-exchange/parley/tlog"
)

// TestPrivateSetWithdrawSigned: a provider signs its withdrawal (over
// the node's origin, the set id and the time), the node checks the
// signature against the provider's member key and logs it, bound by the
// withdrawal entry's salt, and the set's readers verify it against the
// provider's key in force. The node refuses, changing nothing, a
// statement by another member's key, for another node, for another set,
// out of its clock's reach or malformed; a second withdrawal is 404.
// A withdrawal without a statement (an older client's) still works and
// is shown as the node's word alone.
func TestPrivateSetWithdrawSigned(t *testing.T) {
	ctx := context.Background()
	tn := newTestNode(t)
	tn.privateAPI().setConfig(PrivateConfig{QueryBudget: 100, MaxBatch: 10, RefreshInterval: Duration(time.Hour)})
	alice := &private.Client{BaseURL: tn.URL, Token: tn.alice.Token}
	bob := &private.Client{BaseURL: tn.URL, Token: tn.bob.Token}
	carol := &private.Client{BaseURL: tn.URL, Token: tn.carol.Token}
	v := logVerifier(t, tn.Node)
	origin := v.Name()
	publish := func(value string) private.SetInfo {
		t.Helper()
		set, err := alice.Publish(ctx, private.PublishRequest{Collection: tn.shared, Values: []string{value}})
		if err != nil {
			t.Fatal(err)
		}
		return set
	}
	set, other := publish("ipv4-addr:198.51.100.7"), publish("ipv4-addr:198.51.100.8")
	now := time.Now()
	size, _ := tn.store.LogSize(ctx)
	for name, tc := range map[string]struct {
		c    *private.Client
		req  private.WithdrawRequest
		want int
	}{
		"a reader, not the provider, signing":  {bob, private.SignWithdrawal(tn.bob.Key, origin, set.ID, now), http.StatusForbidden},
		"a non-reader signing":                 {carol, private.SignWithdrawal(tn.bob.Key, origin, set.ID, now), http.StatusNotFound},
		"the provider, with another's key":     {alice, private.SignWithdrawal(tn.bob.Key, origin, set.ID, now), http.StatusForbidden},
		"a statement for another node":         {alice, private.SignWithdrawal(tn.alice.Key, "elsewhere.example/log", set.ID, now), http.StatusForbidden},
		"a statement for another set replayed": {alice, private.SignWithdrawal(tn.alice.Key, origin, other.ID, now), http.StatusForbidden},
		"a statement signed long ago":          {alice, private.SignWithdrawal(tn.alice.Key, origin, set.ID, now.Add(-time.Hour)), http.StatusBadRequest},
		"a statement signed in the future":     {alice, private.SignWithdrawal(tn.alice.Key, origin, set.ID, now.Add(time.Hour)), http.StatusBadRequest},
		"a short signature":                    {alice, private.WithdrawRequest{Time: now, Signature: []byte{1, 2, 3}}, http.StatusBadRequest},
	} {
		if err := tc.c.WithdrawSigned(ctx, set.ID, tc.req); !isStatus(err, tc.want) {
			t.Errorf("%s: %v, want %d", name, err, tc.want)
		}
	}
	for _, body := range []string{`{"time":"x"}`, `{"time":"2026-01-01T00:00:00Z","signature":"AAAA","extra":1}`, `[]`, strings.Repeat(" ", 8<<10) + "{}"} {
		req, _ := http.NewRequest(http.MethodDelete, tn.URL+"/private/sets/"+set.ID, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tn.alice.Token)
		if code, msg := rawDo(t, req); code/100 != 4 {
			t.Errorf("a withdrawal with body %.40q: %d %s, want a 4xx", body, code, msg)
		}
	}
	if after, _ := tn.store.LogSize(ctx); after != size {
		t.Fatalf("refused withdrawals took the log from %d to %d entries", size, after)
	}
	if _, err := alice.Set(ctx, set.ID); err != nil {
		t.Fatalf("refused withdrawals withdrew the set: %v", err)
	}

	stmt := private.SignWithdrawal(tn.alice.Key, origin, set.ID, time.Now())
	if err := alice.WithdrawSigned(ctx, set.ID, stmt); err != nil {
		t.Fatalf("alice's signed withdrawal: %v", err)
	}
	if err := alice.WithdrawSigned(ctx, set.ID, stmt); !isStatus(err, http.StatusNotFound) {
		t.Errorf("the statement replayed: %v, want 404", err)
	}
	rc, err := bob.Receipt(ctx, set.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rc.VerifyWithdrawn(v, set.ID); err != nil || !rc.Withdrawal.ProviderSigned() {
		t.Fatalf("the signed withdrawal's receipt: signed %v, %v", rc.Withdrawal.ProviderSigned(), err)
	}
	// A receipt whose statement is altered doesn't verify.
	bobKeys, err := (&tlog.Client{URL: tn.URL, Token: tn.bob.Token}).Keys(ctx, tn.bob.ID)
	if err != nil {
		t.Fatal(err)
	}
	for name, edit := range map[string]func(w *private.WithdrawalReceipt){
		"another signature": func(w *private.WithdrawalReceipt) {
			w.Signature = private.SignWithdrawal(tn.alice.Key, origin, set.ID, w.SignedAt.Add(time.Second)).Signature
		},
		"another time":      func(w *private.WithdrawalReceipt) { w.SignedAt = w.SignedAt.Add(time.Second) },
		"another signer":    func(w *private.WithdrawalReceipt) { w.Signer = tn.bob.Key.Public().(ed25519.PublicKey) },
		"no key history":    func(w *private.WithdrawalReceipt) { w.ProviderKeys = nil },
		"another's keys":    func(w *private.WithdrawalReceipt) { w.ProviderKeys = &bobKeys },
		"a statement, half": func(w *private.WithdrawalReceipt) { w.Nonce = nil },
		"a short key index": func(w *private.WithdrawalReceipt) { k := *w.ProviderKeys; k.KeyIndex = ""; w.ProviderKeys = &k },
	} {
		bad := rc
		w := *rc.Withdrawal
		bad.Withdrawal = &w
		edit(&w)
		if _, err := bad.VerifyWithdrawn(v, set.ID); !errors.Is(err, private.ErrKeyNotInLog) {
			t.Errorf("%s: VerifyWithdrawn = %v, want ErrKeyNotInLog", name, err)
		}
	}

	// An older client's withdrawal, with no statement: the node's word.
	if err := alice.Withdraw(ctx, other.ID); err != nil {
		t.Fatal(err)
	}
	rc, err = bob.Receipt(ctx, other.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rc.VerifyWithdrawn(v, other.ID); err != nil || rc.Withdrawal.ProviderSigned() {
		t.Fatalf("the unsigned withdrawal's receipt: signed %v, %v", rc.Withdrawal.ProviderSigned(), err)
	}
}

// TestPrivateSetWithdrawForged: the operator, who can write the node's
// store but holds no member's key, withdraws alice's set in her name
// with a statement it signed itself (with a key of its own, or of
// another member's): the node logs it, but the set's readers refuse the
// receipt, since the signer isn't alice's key in force at the
// withdrawal. Logged without a statement, it verifies as the node's word
// alone (ProviderSigned is false), never as alice's.
func TestPrivateSetWithdrawForged(t *testing.T) {
	ctx := context.Background()
	tn := newTestNode(t)
	tn.privateAPI().setConfig(PrivateConfig{QueryBudget: 100, MaxBatch: 10, RefreshInterval: Duration(time.Hour)})
	alice := &private.Client{BaseURL: tn.URL, Token: tn.alice.Token}
	bob := &private.Client{BaseURL: tn.URL, Token: tn.bob.Token}
	v := logVerifier(t, tn.Node)
	_, own, _ := ed25519.GenerateKey(rand.Reader)
	for _, key := range []ed25519.PrivateKey{own, tn.bob.Key, nil} {
		set, err := alice.Publish(ctx, private.PublishRequest{Collection: tn.shared, Values: []string{"ipv4-addr:198.51.100.7"}})
		if err != nil {
			t.Fatal(err)
		}
		coll, member, err := tn.store.PrivateSetOwner(ctx, set.ID)
		if err != nil {
			t.Fatal(err)
		}
		salt, _ := tlog.NewSalt(rand.Reader)
		var st *store.WithdrawalStatement
		if key != nil {
			at := time.Now()
			st = &store.WithdrawalStatement{Signed: at, Nonce: salt, Signer: key.Public().(ed25519.PublicKey),
				Signature: private.SignWithdrawal(key, v.Name(), set.ID, at).Signature}
			salt = private.WithdrawalSalt(st.Nonce, st.Signed, st.Signer, st.Signature)
		}
		if _, err := tn.store.RemovePrivateSet(ctx, store.PrivateWithdrawal{ID: set.ID, Member: member, Salt: salt, Statement: st,
			Entry: func(_ int64, received time.Time, keyLeaf []byte) ([]byte, error) {
				return withdrawalEntry(keyLeaf, tlog.Opening{Salt: salt, ObjectID: set.ID, Collection: coll, Member: member, Version: store.FormatTime(received)}, received)
			}}); err != nil {
			t.Fatal(err)
		}
		rc, err := bob.Receipt(ctx, set.ID)
		if err != nil {
			t.Fatal(err)
		}
		_, err = rc.VerifyWithdrawn(v, set.ID)
		switch {
		case key != nil && !errors.Is(err, private.ErrKeyNotInLog):
			t.Errorf("a withdrawal the operator signed: VerifyWithdrawn = %v, want ErrKeyNotInLog", err)
		case key == nil && (err != nil || rc.Withdrawal.ProviderSigned()):
			t.Errorf("a withdrawal the operator logged unsigned: signed %v, %v; want the node's word", rc.Withdrawal.ProviderSigned(), err)
		}
	}
}
