package node

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestWaitIntegrated: WaitIntegrated returns once a signed checkpoint
// covers every entry the log held when it was called, and with ctx's
// error while none does (a node that isn't serving integrates nothing):
// demo --no-serve stops the node only after it returns.
func TestWaitIntegrated(t *testing.T) {
	ctx := context.Background()
	n, _ := initNode(t, Options{})
	defer n.Close()
	li, err := NewLogIntegrator(n, LogIntegratorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// A checkpoint that covers part of the log is not enough.
	if _, err := n.AddMember(ctx, "alice", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := li.Integrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := n.AddMember(ctx, "bob", nil); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	err = n.WaitIntegrated(short)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitIntegrated with bob's entry not integrated = %v, want the deadline", err)
	}
	if _, err := li.Integrate(ctx); err != nil {
		t.Fatal(err)
	}
	short, cancel = context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := n.WaitIntegrated(short); err != nil {
		t.Fatalf("WaitIntegrated after the integration = %v", err)
	}
}
