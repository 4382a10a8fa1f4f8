package node

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"testing"
	"time"

	"github.com/parley-exchange/parley/private"
)

// TestPrivateSetWithdrawOperatorAssertedKey: on a node requiring signed
// withdrawals, the operator rotates alice's key to one of its own
// without her statement (parley member key rotate: operator-asserted),
// then withdraws her set with a statement it signs with that key (and a
// token it issues her). The node takes it, as the key is alice's in
// force, and her readers' receipt verified as "withdrawn by the
// provider", though an object signed by such a key is shown as
// operator-asserted: nothing told the reader the operator could have
// signed it. The receipt now says so (SignerOperatorAsserted); a
// statement by a key alice rotated in herself does not.
func TestPrivateSetWithdrawOperatorAssertedKey(t *testing.T) {
	ctx := context.Background()
	tn := newTestNode(t)
	tn.privateAPI().setConfig(PrivateConfig{QueryBudget: 100, MaxBatch: 10, RefreshInterval: Duration(time.Hour), RequireSignedWithdrawals: true})
	alice := &private.Client{BaseURL: tn.URL, Token: tn.alice.Token}
	bob := &private.Client{BaseURL: tn.URL, Token: tn.bob.Token}
	v := logVerifier(t, tn.Node)
	publish := func(value string) private.SetInfo {
		t.Helper()
		set, err := alice.Publish(ctx, private.PublishRequest{Collection: tn.shared, Values: []string{value}})
		if err != nil {
			t.Fatal(err)
		}
		return set
	}
	own, taken := publish("ipv4-addr:198.51.100.7"), publish("ipv4-addr:198.51.100.8")
	withdrawn := func(set private.SetInfo, key ed25519.PrivateKey) *private.WithdrawalReceipt {
		t.Helper()
		if err := alice.WithdrawSigned(ctx, set.ID, private.SignWithdrawal(key, v.Name(), set.ID, time.Now())); err != nil {
			t.Fatalf("withdrawal of %s: %v", set.ID, err)
		}
		rc, err := bob.Receipt(ctx, set.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rc.VerifyWithdrawn(v, set.ID); err != nil || !rc.Withdrawal.ProviderSigned() {
			t.Fatalf("the receipt of %s: signed %v, %v", set.ID, rc.Withdrawal.ProviderSigned(), err)
		}
		return rc.Withdrawal
	}
	if w := withdrawn(own, tn.alice.Key); w.SignerOperatorAsserted() {
		t.Errorf("alice's own key (registered with her) shown as operator-asserted")
	}
	opPub, opKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := tn.RotateKey(ctx, tn.alice.ID, opPub, nil); err != nil {
		t.Fatal(err)
	}
	if w := withdrawn(taken, opKey); !w.SignerOperatorAsserted() {
		t.Errorf("a withdrawal signed by a key the operator rotated in alone verified as the provider's, not shown as operator-asserted")
	}
}
