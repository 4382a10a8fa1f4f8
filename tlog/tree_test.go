package tlog

import (
	"errors"
	"strings"
	"testing"
)

// TestProofFailureReadable: a proof that leads to another root fails with
// ErrProof and a one-line message naming both roots in base64, as
// checkpoints write them. It used to end with the verifier's three lines
// of Go byte slices ("calculated root:\n[162 24 77 …]"), which reached the
// node's log and a witness's 422 answer to a node that forked.
func TestProofFailureReadable(t *testing.T) {
	a, b := LeafHash([]byte("a")), LeafHash([]byte("b"))
	root2 := NodeHash(a, b)
	wrong := NodeHash(b, a)
	for name, err := range map[string]error{
		"consistency": VerifyConsistency(1, 2, []Hash{b}, a, wrong),
		"inclusion":   VerifyInclusion(0, 2, a, []Hash{b}, wrong),
	} {
		if !errors.Is(err, ErrProof) {
			t.Fatalf("%s: %v, want ErrProof", name, err)
		}
		msg := err.Error()
		if strings.ContainsAny(msg, "\n[") || !strings.Contains(msg, root2.String()) || !strings.Contains(msg, wrong.String()) {
			t.Errorf("%s: %q; want one line naming the roots %s and %s", name, msg, root2, wrong)
		}
	}
	if err := VerifyConsistency(1, 2, []Hash{b}, a, root2); err != nil {
		t.Fatalf("a good proof: %v", err)
	}
}
