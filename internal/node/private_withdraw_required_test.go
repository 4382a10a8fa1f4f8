package node

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/private"
)

// TestPrivateSetWithdrawRequireSigned: on a node with
// "require_signed_withdrawals", a provider's withdrawal without its
// signed statement is refused with 403 saying how to sign it (to a
// provider with no member key: register one first), and nothing changes;
// its signed withdrawal is taken and shown as the provider's. Who may not
// withdraw the set is answered as on any node, before the statement is
// looked at: 404 as for a missing set to a member who may not read it,
// 403 to a reader who isn't its provider.
func TestPrivateSetWithdrawRequireSigned(t *testing.T) {
	ctx := context.Background()
	tn := newTestNode(t)
	tn.privateAPI().setConfig(PrivateConfig{QueryBudget: 100, MaxBatch: 10, RefreshInterval: Duration(time.Hour), RequireSignedWithdrawals: true})
	alice := &private.Client{BaseURL: tn.URL, Token: tn.alice.Token}
	bob := &private.Client{BaseURL: tn.URL, Token: tn.bob.Token}
	carol := &private.Client{BaseURL: tn.URL, Token: tn.carol.Token}
	v := logVerifier(t, tn.Node)
	origin := v.Name()
	set, err := alice.Publish(ctx, private.PublishRequest{Collection: tn.shared, Values: []string{"ipv4-addr:198.51.100.7"}})
	if err != nil {
		t.Fatal(err)
	}
	// carol has no member key; alice reads her collection.
	keyless, err := carol.Publish(ctx, private.PublishRequest{Collection: tn.optional, Values: []string{"ipv4-addr:198.51.100.9"}})
	if err != nil {
		t.Fatal(err)
	}
	_, stranger, _ := ed25519.GenerateKey(rand.Reader)
	size, _ := tn.store.LogSize(ctx)

	refused := func(name string, err error, status int, says string) {
		t.Helper()
		he, ok := err.(*private.HTTPError)
		switch {
		case !ok || he.Status != status:
			t.Errorf("%s: %v, want %d", name, err, status)
		case says == "" && strings.Contains(he.Description, "sign"):
			t.Errorf("%s: %q speaks of signatures to a member who may not withdraw the set", name, he.Description)
		case !strings.Contains(he.Description, says):
			t.Errorf("%s: %q, want it to say %q", name, he.Description, says)
		}
	}
	// Who may not withdraw the set learns what it would on any node.
	refused("a non-reader, unsigned", carol.Withdraw(ctx, set.ID), http.StatusNotFound, "")
	refused("a non-reader, signing", carol.WithdrawSigned(ctx, set.ID, private.SignWithdrawal(stranger, origin, set.ID, time.Now())), http.StatusNotFound, "")
	var bodies []string
	for _, id := range []string{set.ID, "00000000-0000-4000-8000-000000000000"} {
		req, _ := http.NewRequest(http.MethodDelete, tn.URL+"/private/sets/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+tn.carol.Token)
		code, body := rawDo(t, req)
		if code != http.StatusNotFound {
			t.Errorf("a non-reader's unsigned withdrawal of %s: %d %s, want 404", id, code, body)
		}
		bodies = append(bodies, body)
	}
	if bodies[0] != bodies[1] {
		t.Errorf("a non-reader's unsigned withdrawal: %q for the set, %q for a missing one", bodies[0], bodies[1])
	}
	refused("a reader, not the provider, unsigned", bob.Withdraw(ctx, set.ID), http.StatusForbidden, "only the member who published")
	refused("a reader of a keyless provider's set", alice.Withdraw(ctx, keyless.ID), http.StatusForbidden, "only the member who published")

	// The provider, unsigned: refused, saying how to sign.
	refused("the provider, unsigned", alice.Withdraw(ctx, set.ID), http.StatusForbidden, "parley private withdraw --key")
	req, _ := http.NewRequest(http.MethodDelete, tn.URL+"/private/sets/"+set.ID, strings.NewReader("  \n"))
	req.Header.Set("Authorization", "Bearer "+tn.alice.Token)
	if code, body := rawDo(t, req); code != http.StatusForbidden || !strings.Contains(body, "require_signed_withdrawals") {
		t.Errorf("the provider, a blank body: %d %s, want 403 naming require_signed_withdrawals", code, body)
	}
	// A provider with no member key: register one first, signed or not.
	refused("a keyless provider, unsigned", carol.Withdraw(ctx, keyless.ID), http.StatusForbidden, "register a key first")
	refused("a keyless provider, signing", carol.WithdrawSigned(ctx, keyless.ID, private.SignWithdrawal(stranger, origin, keyless.ID, time.Now())), http.StatusForbidden, "register a key first")
	// A statement that isn't the provider's is refused as on any node.
	refused("the provider, with another's key", alice.WithdrawSigned(ctx, set.ID, private.SignWithdrawal(tn.bob.Key, origin, set.ID, time.Now())), http.StatusForbidden, "isn't your member key's")

	if after, _ := tn.store.LogSize(ctx); after != size {
		t.Fatalf("refused withdrawals took the log from %d to %d entries", size, after)
	}
	for _, s := range []struct {
		c  *private.Client
		id string
	}{{alice, set.ID}, {bob, set.ID}, {carol, keyless.ID}, {alice, keyless.ID}} {
		if _, err := s.c.Set(ctx, s.id); err != nil {
			t.Fatalf("refused withdrawals withdrew set %s: %v", s.id, err)
		}
	}

	// The provider's signed withdrawal is taken, and shown as hers.
	if err := alice.WithdrawSigned(ctx, set.ID, private.SignWithdrawal(tn.alice.Key, origin, set.ID, time.Now())); err != nil {
		t.Fatalf("alice's signed withdrawal: %v", err)
	}
	rc, err := bob.Receipt(ctx, set.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rc.VerifyWithdrawn(v, set.ID); err != nil || !rc.Withdrawal.ProviderSigned() {
		t.Fatalf("the signed withdrawal's receipt: signed %v, %v", rc.Withdrawal.ProviderSigned(), err)
	}
}

// TestPrivateConfigRequireSignedWithdrawals: config.json's "private"
// object takes "require_signed_withdrawals" (true or false, default
// false), and refuses another type.
func TestPrivateConfigRequireSignedWithdrawals(t *testing.T) {
	for _, tc := range []struct {
		private string
		want    bool
	}{{`{}`, false}, {`{"require_signed_withdrawals": false}`, false}, {`{"require_signed_withdrawals": true}`, true}} {
		b := []byte(`{"origin": "example.org/log", "private": ` + tc.private + `}`)
		if _, err := parseConfig(b); err != nil {
			t.Errorf("%s: %v", tc.private, err)
			continue
		}
		dir := t.TempDir()
		if err := writeFileSync(dir+"/"+ConfigFile, b, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := LoadPrivateConfig(dir)
		if err != nil || c.RequireSignedWithdrawals != tc.want {
			t.Errorf("%s: RequireSignedWithdrawals %v, %v; want %v", tc.private, c.RequireSignedWithdrawals, err, tc.want)
		}
	}
	_, err := parseConfig([]byte(`{"origin": "example.org/log", "private": {"require_signed_withdrawals": "yes"}}`))
	if err == nil || !strings.Contains(err.Error(), "require_signed_withdrawals") || !strings.Contains(err.Error(), "true or false") {
		t.Errorf("a string for require_signed_withdrawals: %v, want an error naming the field and true or false", err)
	}
}
