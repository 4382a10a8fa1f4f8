package node

import (
	"context"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/parley-exchange/parley/private"
)

// TestPrivateBudgetSharedByTokens: a reader's query budget for a set is
// the member's, not its token's: elements evaluated with one token are
// spent for every other token of the member, and a new token brings no
// fresh budget (a dictionary sweep can't be spread over tokens).
func TestPrivateBudgetSharedByTokens(t *testing.T) {
	ctx := context.Background()
	tn := newTestNode(t)
	tn.privateAPI().setConfig(PrivateConfig{QueryBudget: 3, MaxBatch: 4, RefreshInterval: Duration(time.Hour)})
	alice := &private.Client{BaseURL: tn.URL, Token: tn.alice.Token}
	set, err := alice.Publish(ctx, private.PublishRequest{Collection: tn.shared, Values: []string{"domain-name:one.example"}})
	if err != nil {
		t.Fatal(err)
	}
	v := logVerifier(t, tn.Node)
	bob := &private.Client{BaseURL: tn.URL, Token: tn.bob.Token}
	if _, err := bob.Check(ctx, set.ID, v, []string{"domain-name:a.example", "domain-name:b.example"}, 0, rand.Reader); err != nil {
		t.Fatal(err)
	}
	tok, err := tn.NewToken(ctx, tn.bob.ID)
	if err != nil {
		t.Fatal(err)
	}
	bob2 := &private.Client{BaseURL: tn.URL, Token: tok}
	if info, err := bob2.Set(ctx, set.ID); err != nil || info.Budget == nil || info.Budget.Left != 1 {
		t.Fatalf("bob's budget seen with his second token = %+v, %v; want 1 left", info.Budget, err)
	}
	if _, err := bob2.Check(ctx, set.ID, v, []string{"domain-name:c.example", "domain-name:d.example"}, 0, rand.Reader); !errors.Is(err, private.ErrBudgetSpent) {
		t.Fatalf("2 more elements with bob's second token = %v, want the budget spent", err)
	}
	if _, err := bob2.Check(ctx, set.ID, v, []string{"domain-name:c.example"}, 0, rand.Reader); err != nil {
		t.Fatalf("the last element of bob's budget: %v", err)
	}
	if _, err := bob.Check(ctx, set.ID, v, []string{"domain-name:d.example"}, 0, rand.Reader); !errors.Is(err, private.ErrBudgetSpent) {
		t.Fatalf("bob's first token after his second spent the budget = %v, want it spent", err)
	}
}
