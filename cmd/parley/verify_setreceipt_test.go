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
	// The key entry's opening version (the set's creation), which its
	// commitment doesn't cover, changed by hand in the kept receipt: the
	// checkpoint and commitment still verify, the version is refused,
	// on its own and beside the description; and a description stating
	// another creation than the receipt is refused too.
	raw, err := os.ReadFile(kept[0])
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	doc["receipt"].(map[string]any)["opening"].(map[string]any)["version"] = "2099-01-01T00:00:00Z"
	moved, _ := json.Marshal(doc)
	movedFile := write("moved.json", string(moved))
	for _, args := range [][]string{{"verify", "--log-key", seen.Key, movedFile}, {"verify", "--receipt", movedFile, "--log-key", seen.Key, setsFile}} {
		code, out, stderr := runCLI(t, args...)
		if code != 1 || !strings.Contains(stderr, "2099-01-01T00:00:00Z") || strings.Count(stderr, "\n") != 2 || strings.Contains(out, "verified") {
			t.Errorf("%v of a receipt whose opening version was moved to 2099: exit %d, want 1 naming it\n%s%s", args[:2], code, out, stderr)
		}
	}
	var fresh []map[string]any
	if err := json.Unmarshal([]byte(sets), &fresh); err != nil {
		t.Fatal(err)
	}
	fresh[0]["created"] = "2020-01-01T00:00:00Z"
	otherCreated, _ := json.Marshal(fresh)
	if code, out, stderr := verify(kept[0], write("created.json", string(otherCreated))); code != 1 || !strings.Contains(stderr, "the description states it created at 2020-01-01T00:00:00Z") {
		t.Errorf("a description stating the set created in 2020: exit %d, want 1\n%s%s", code, out, stderr)
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
