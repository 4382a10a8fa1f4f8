package node

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/parley-exchange/parley/internal/store"
)

// TestTokenRevocationEveryFrontEnd: two nodes opened on one data
// directory are two front ends of one store (SQLite, or PostgreSQL with
// PARLEY_TEST_NODE_STORE=postgres); a token rotated, revoked or
// a member removed through one stops authenticating on the other at once,
// since no front end caches tokens.
func TestTokenRevocationEveryFrontEnd(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "node")
	if _, err := Init(ctx, dir, testStoreConfig(t), nil); err != nil {
		t.Fatal(err)
	}
	a, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	m, err := a.AddMember(ctx, "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	works := func(tok string) {
		t.Helper()
		for _, fe := range []*Node{a, b} {
			if got, err := fe.Authenticate(ctx, tok); err != nil || got.ID != m.ID {
				t.Fatalf("token of alice: %v, %v", got.ID, err)
			}
		}
	}
	fails := func(tok string) {
		t.Helper()
		for i, fe := range []*Node{a, b} {
			if _, err := fe.Authenticate(ctx, tok); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("front end %d: a revoked token authenticates: %v", i, err)
			}
		}
	}
	works(m.Token)

	tok2, n, err := a.RotateToken(ctx, m.ID)
	if err != nil || n != 1 {
		t.Fatalf("RotateToken = %d, %v", n, err)
	}
	fails(m.Token)
	works(tok2)

	if n, err := b.RevokeTokens(ctx, m.ID); err != nil || n != 1 {
		t.Fatalf("RevokeTokens = %d, %v", n, err)
	}
	fails(tok2)

	tok3, _, err := b.RotateToken(ctx, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	works(tok3)
	logged, err := a.RemoveMember(ctx, m.ID)
	if err != nil || !logged {
		t.Fatalf("RemoveMember = %v, %v; want the revocation logged", logged, err)
	}
	fails(tok3)
	if _, _, err := b.RotateToken(ctx, m.ID); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("RotateToken of a removed member = %v, want ErrInvalid", err)
	}
	if logged, err := b.RemoveMember(ctx, m.ID); err != nil || logged {
		t.Errorf("RemoveMember again = %v, %v; want nothing logged", logged, err)
	}
	if _, err := a.RemoveMember(ctx, "identity--nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RemoveMember(unknown) = %v, want ErrNotFound", err)
	}
}
