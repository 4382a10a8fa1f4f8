package main

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/tlog"
)

// TestAuditRecordsItsWitnessPolicy: parley audit with witness policy
// flags records the policy for its seen file, and a later pull on that
// seen file without policy flags refuses the node's checkpoint short of
// its quorum (exit 1), printing nothing; a recorded policy that doesn't
// parse fails the command (exit 3) rather than being dropped. Before, the
// policy was forgotten when the audit ended.
func TestAuditRecordsItsWitnessPolicy(t *testing.T) {
	base, st, _ := demoNode(t)
	m := st.Members[0]
	_, wkey, err := tlog.NewCosignerKey(rand.Reader, "witness.example/w")
	if err != nil {
		t.Fatal(err)
	}
	seen := filepath.Join(t.TempDir(), "node.seen")
	code, _, stderr := runCLI(t, "audit", "--url", base, "--token", m.Token, "--seen", seen, "--witness", wkey, "--witness-quorum", "1")
	if code != 1 || !strings.Contains(stderr, "the witness policy requires") {
		t.Fatalf("audit of a log its witness never cosigned: exit %d: %s", code, stderr)
	}
	b, err := os.ReadFile(seenPolicyPath(seen))
	if err != nil {
		t.Fatalf("audit recorded no policy for its seen file: %v", err)
	}
	if !strings.Contains(string(b), wkey) {
		t.Fatalf("the recorded policy doesn't name the witness: %q", b)
	}
	code, stdout, stderr := runCLI(t, "pull", "--url", base, "--token", m.Token, "--collection", st.Collections.Shared, "--seen", seen)
	if code != 1 || stdout != "" || !strings.Contains(stderr, "the witness policy requires") {
		t.Fatalf("pull without policy flags on the seen file of an audit with a policy: exit %d, printed %d bytes: %s", code, len(stdout), stderr)
	}
	if err := os.WriteFile(seenPolicyPath(seen), []byte("quorum nobody\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runCLI(t, "pull", "--url", base, "--token", m.Token, "--collection", st.Collections.Shared, "--seen", seen)
	if code != 3 || stdout != "" || !strings.Contains(stderr, "the witness policy recorded for the seen file") {
		t.Fatalf("pull with a recorded policy that doesn't parse: exit %d, printed %d bytes: %s", code, len(stdout), stderr)
	}
}
