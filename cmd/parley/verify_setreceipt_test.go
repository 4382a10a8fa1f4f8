package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/tlog"
)

// TestVerifyReceiptPrivateSet: the receipts of the other entry kinds that
// yield them, a private set's oprf-key entry and, once withdrawn, its
// oprf-withdrawal entry, are checked by parley verify --receipt against
// the set's description (parley private sets --json): exit 0 with one
// line only when the receipt verifies and commits the described set to
// the described key; another key, another set or a case-folded field
// exit 1.
func TestVerifyReceiptPrivateSet(t *testing.T) {
	base, st, _ := demoNode(t)
	a, b := st.Members[0], st.Members[1]
	work := t.TempDir()
	values := filepath.Join(work, "values.txt")
	if err := os.WriteFile(values, []byte("domain-name:ballot-phish.example\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "private", "publish", "--url", base, "--token", a.Token, "--collection", st.Collections.Shared, "--values", values)
	if code != 0 {
		t.Fatalf("publish: exit %d: %s", code, stderr)
	}
	set := strings.TrimSpace(stdout)
	seenFile := filepath.Join(work, "seen.json")
	if code, _, stderr := runCLIWithStdin(t, []byte("domain-name:ballot-phish.example\n"), "private", "check", "--url", base, "--token", b.Token, "--set", set, "--seen", seenFile, "-"); code != 0 {
		t.Fatalf("check: exit %d: %s", code, stderr)
	}
	kept, _ := filepath.Glob(filepath.Join(work, "seen.receipts", set+"-*.json"))
	if len(kept) != 1 {
		t.Fatalf("receipts kept: %v", kept)
	}
	code, sets, stderr := runCLI(t, "private", "sets", "--url", base, "--token", b.Token, "--json")
	if code != 0 {
		t.Fatalf("private sets: exit %d: %s", code, stderr)
	}
	write := func(name, s string) string {
		p := filepath.Join(work, name)
		if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	setsFile := write("sets.json", sets)
	var list []map[string]any
	if err := json.Unmarshal([]byte(sets), &list); err != nil || len(list) == 0 {
		t.Fatalf("sets: %v %s", err, sets)
	}
	list[0]["public_key"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	otherKey, _ := json.Marshal(list)
	seen, err := tlog.LoadSeen(seenFile)
	if err != nil {
		t.Fatal(err)
	}
	verify := func(receipt, object string) (int, string, string) {
		return runCLI(t, "verify", "--receipt", receipt, "--log-key", seen.Key, object)
	}
	if code, out, stderr := verify(kept[0], setsFile); code != 0 || strings.Count(out, "\n") != 1 ||
		!strings.Contains(out, "receipt verified: private set "+set) || !strings.Contains(out, "(oprf-key)") {
		t.Fatalf("set receipt: exit %d\n%s%s", code, out, stderr)
	}
	for _, c := range []struct{ name, object, want string }{
		{"another key", write("other.json", string(otherKey)), "another key"},
		{"Public_Key", write("case.json", strings.Replace(sets, `"public_key"`, `"Public_Key"`, 1)), `unknown field "Public_Key"`},
		{"no description of the set", write("none.json", `{"id":"private-set--other"}`), "no description of set"},
	} {
		if code, out, stderr := verify(kept[0], c.object); code != 1 || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: exit %d, want 1 and %q\n%s%s", c.name, code, c.want, out, stderr)
		}
	}
	// Withdrawn: the receipt of the withdrawal too, checked against the
	// description kept from before.
	if code, _, stderr := runCLI(t, "private", "withdraw", "--url", base, "--token", a.Token, "--set", set); code != 0 {
		t.Fatalf("withdraw: exit %d: %s", code, stderr)
	}
	if code, _, stderr := runCLI(t, "private", "receipt", "--url", base, "--token", b.Token, "--set", set, "--seen", seenFile); code != 0 {
		t.Fatalf("receipt of the withdrawn set: exit %d: %s", code, stderr)
	}
	withdrawn, _ := filepath.Glob(filepath.Join(work, "seen.receipts", set+"-*.withdrawn.json"))
	if len(withdrawn) != 1 {
		t.Fatalf("withdrawn receipts kept: %v", withdrawn)
	}
	if code, out, stderr := verify(withdrawn[0], setsFile); code != 0 || !strings.Contains(out, "(oprf-withdrawal)") {
		t.Fatalf("withdrawn set receipt: exit %d\n%s%s", code, out, stderr)
	}
}
