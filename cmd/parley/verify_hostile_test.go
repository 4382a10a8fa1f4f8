package main

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"golang.org/x/mod/sumdb/note"

	"github.com/parley-exchange/parley/internal/demo"
	"github.com/parley-exchange/parley/tlog"
)

// hostileName is a note key name that a hostile node may choose for its
// log (its checkpoints' origin): a checkpoint refuses the controls below
// U+0020, but DEL, the C1 controls (U+009B is CSI, which starts a
// terminal escape like ESC [) and the bidi overrides (U+202E turns
// "deifirev" into "verified") are allowed.
const hostileName = "evil.example/\u202edeifirev\u009b2J\u007f"

// rawControls returns the control and bidi characters in s, other than
// the newlines that end lines and the tabs of parley's own tables: what must not reach a terminal from a file.
func rawControls(s string) []rune {
	var bad []rune
	for _, r := range s {
		if r != '\n' && r != '\t' && (unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)) {
			bad = append(bad, r)
		}
	}
	return bad
}

// hostileEvidence returns split-view evidence whose log (its own key,
// given no --log-key) is named hostileName: two signed checkpoints of
// one size with different roots, which verifies.
func hostileEvidence(t *testing.T) []byte {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, hostileName)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	var cps [2][]byte
	for i := range cps {
		cps[i], err = tlog.SignCheckpoint(tlog.Checkpoint{Origin: hostileName, Size: 3, Hash: tlog.Hash{byte(i + 1)}}, signer)
		if err != nil {
			t.Fatal(err)
		}
	}
	ev, err := tlog.NewEvidence(vkey, cps[0], cps[1], tlog.Hash{}, nil, "test\u202e\x1b[2J", "2026-01-01T00:00:00Z")
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// verifyKinds returns one file of each kind parley verify reads, each
// as the node (or parley) wrote it, with the log key to verify it
// against ("" for evidence against its own key): a proof bundle, a
// concurrence answer, a kept private set receipt, split-view evidence and
// false key index evidence.
func verifyKinds(t *testing.T) (kinds []verifyKind) {
	t.Helper()
	base, st, dir := demoNode(t)
	vkey := nodeLogKey(t, dir)
	a, b := st.Members[0], st.Members[1]
	code, bundle, stderr := runCLI(t, "proof", "--url", base, "--token", a.Token, "--log-key", vkey, demo.Report)
	if code != 0 {
		t.Fatalf("proof: exit %d: %s", code, stderr)
	}
	kinds = append(kinds, verifyKind{"proof bundle", []byte(bundle), vkey})
	code, conc, stderr := runCLI(t, "concurrence", "--url", base, "--token", a.Token, "--log-key", vkey, "--json", demo.Report)
	if code != 0 {
		t.Fatalf("concurrence --json: exit %d: %s", code, stderr)
	}
	kinds = append(kinds, verifyKind{"concurrence answer", []byte(conc), vkey})
	values := filepath.Join(t.TempDir(), "values.txt")
	if err := os.WriteFile(values, []byte("domain-name:ballot-phish.example\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, set, stderr := runCLI(t, "private", "publish", "--url", base, "--token", a.Token, "--collection", st.Collections.Shared, "--values", values)
	if code != 0 {
		t.Fatalf("publish: exit %d: %s", code, stderr)
	}
	set = strings.TrimSpace(set)
	work := t.TempDir()
	if code, _, stderr := runCLIWithStdin(t, []byte("domain-name:ballot-phish.example\n"), "private", "check", "--url", base, "--token", b.Token, "--set", set, "--seen", filepath.Join(work, "seen.json"), "-"); code != 0 {
		t.Fatalf("check: exit %d: %s", code, stderr)
	}
	files, _ := filepath.Glob(filepath.Join(work, "seen.receipts", set+"-*.json"))
	if len(files) != 1 {
		t.Fatalf("receipts kept by check: %v", files)
	}
	receipt, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	kinds = append(kinds, verifyKind{"private set receipt", receipt, vkey})
	for _, name := range []string{"same-size-v1.json", "false-key-index-listed-v1.json"} {
		doc, err := os.ReadFile(filepath.Join("..", "..", "tlog", "testdata", "evidence", name))
		if err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, verifyKind{name, doc, ""})
	}
	for _, k := range kinds {
		if code, out, errOut := runCLI(t, "verify", "--log-key", k.key, writeTemp(t, k.doc)); k.key != "" && code != 0 {
			t.Fatalf("%s: verify of the file as written: exit %d:\n%s%s", k.name, code, out, errOut)
		}
	}
	return kinds
}

type verifyKind struct {
	name string
	doc  []byte
	key  string
}

func writeTemp(t *testing.T, b []byte) string {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "doc-*.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}

// verifyArgs is the verify command line for file p of kind k.
func verifyArgs(k verifyKind, p string) []string {
	if k.key == "" {
		return []string{"verify", p}
	}
	return []string{"verify", "--log-key", k.key, p}
}

// hostileJSON is a JSON string's escaped text that decodes to an escape
// sequence, a carriage return and newline forging a line, and a bidi
// override.
const hostileJSON = `\u001b[2J\r\nbundle verified: \u202edeifirev\u009b`

// TestVerifyHostileValues: each string value of each kind of file, one at
// a time, replaced by one with ESC, CR, LF and U+202E: whatever verify
// prints of it, verified or not, reaches the terminal without raw control
// or bidi characters, and the file doesn't verify.
func TestVerifyHostileValues(t *testing.T) {
	str := regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	for _, k := range verifyKinds(t) {
		spans := str.FindAllIndex(k.doc, -1)
		tried := 0
		for i, sp := range spans {
			// Every value (a string after a colon or in a list) and every
			// name; long documents: every 7th string past the first 60.
			if i > 60 && i%7 != 0 {
				continue
			}
			doc := append(append(append([]byte{}, k.doc[:sp[0]+1]...), hostileJSON...), k.doc[sp[1]-1:]...)
			code, out, errOut := runCLI(t, verifyArgs(k, writeTemp(t, doc))...)
			tried++
			if bad := rawControls(out + errOut); len(bad) > 0 {
				t.Errorf("%s, string %d (%s) made hostile: verify printed raw control characters %q:\n%s%s", k.name, i, k.doc[sp[0]:sp[1]], bad, out, errOut)
			}
			if code == 0 {
				t.Logf("%s, string %d (%s) made hostile: verify exit 0:\n%s%s", k.name, i, k.doc[sp[0]:sp[1]], out, errOut)
			}
		}
		t.Logf("%s: %d strings tried", k.name, tried)
	}
}

// TestVerifyHostileText: whatever verify prints of a file, verified or
// not, reaches the terminal without control or bidi characters: the
// origin a hostile log's key names is text from the file.
func TestVerifyHostileText(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		doc  []byte
		code int
	}{
		{"split-view evidence", hostileEvidence(t), 0},
	} {
		p := filepath.Join(dir, "doc.json")
		if err := os.WriteFile(p, c.doc, 0o600); err != nil {
			t.Fatal(err)
		}
		code, out, errOut := runCLI(t, "verify", p)
		if code != c.code {
			t.Errorf("%s: exit %d, want %d:\n%s%s", c.name, code, c.code, out, errOut)
		}
		if bad := rawControls(out + errOut); len(bad) > 0 {
			t.Errorf("%s: verify printed raw control characters %q:\n%s%s", c.name, bad, out, errOut)
		}
		if strings.Contains(out+errOut, "deifirev") == false && c.code == 0 {
			t.Errorf("%s: the origin isn't shown:\n%s%s", c.name, out, errOut)
		}
	}
}

// TestVerifyTamperedByte: one byte changed in what each kind of file's
// claim rests on (a hash, a salt, a key, an entry, a signature, each
// base64 string of the file in turn, or the signature of a signed note
// in it) makes verify exit non-zero: it exits 0 only if the file proves
// what it claims.
func TestVerifyTamperedByte(t *testing.T) {
	str := regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	b64 := regexp.MustCompile(`^"[A-Za-z0-9+/]{40,}={0,2}"$`)
	sig := regexp.MustCompile(`\\n\x{2014} [^ ]+ ([A-Za-z0-9+/=]{40,})\\n`)
	num := regexp.MustCompile(`"(?:log_index|tree_size|index|size)": ?([0-9]+)`)
	flip := func(doc []byte, at int) []byte {
		out := append([]byte{}, doc...)
		if out[at] == 'A' {
			out[at] = 'B'
		} else {
			out[at] = 'A'
		}
		return out
	}
	for _, k := range verifyKinds(t) {
		tried := 0
		for _, sp := range str.FindAllIndex(k.doc, -1) {
			s := k.doc[sp[0]:sp[1]]
			var at []int
			if b64.Match(s) {
				at = append(at, sp[0]+len(s)/2)
			}
			for _, m := range sig.FindAllSubmatchIndex(s, -1) {
				at = append(at, sp[0]+(m[2]+m[3])/2)
			}
			for _, a := range at {
				tried++
				code, out, errOut := runCLI(t, verifyArgs(k, writeTemp(t, flip(k.doc, a)))...)
				if code == 0 {
					t.Errorf("%s: byte %d of %.80s changed: verify exit 0:\n%s%s", k.name, a-sp[0], s, out, errOut)
				}
			}
		}
		// An entry's index or a tree's size, one more.
		for _, m := range num.FindAllSubmatchIndex(k.doc, -1) {
			tried++
			n, _ := strconv.ParseUint(string(k.doc[m[2]:m[3]]), 10, 64)
			doc := append(append(append([]byte{}, k.doc[:m[2]]...), strconv.FormatUint(n+1, 10)...), k.doc[m[3]:]...)
			code, out, errOut := runCLI(t, verifyArgs(k, writeTemp(t, doc))...)
			if code == 0 {
				t.Errorf("%s: %s made %d: verify exit 0:\n%s%s", k.name, k.doc[m[0]:m[1]], n+1, out, errOut)
			}
		}
		if tried == 0 {
			t.Errorf("%s: nothing to tamper with", k.name)
		}
		t.Logf("%s: %d bytes tampered", k.name, tried)
	}
}

// TestVerifyAmbiguousBytes: bytes that JSON readers read differently (a
// byte order mark, which a browser's TextDecoder drops and encoding/json
// refuses; data after the document; a NUL; invalid UTF-8, which
// encoding/json reads as U+FFFD and a strict reader refuses) make each
// kind of file fail to verify (exit non-zero): parley refuses what
// another reader might read otherwise.
func TestVerifyAmbiguousBytes(t *testing.T) {
	str := regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	for _, k := range verifyKinds(t) {
		docs := map[string][]byte{
			"a byte order mark": append([]byte("\ufeff"), k.doc...),
			"a second document": append(append([]byte{}, k.doc...), "{}"...),
			"a trailing NUL":    append(append([]byte{}, k.doc...), 0),
			"trailing junk":     append(append([]byte{}, k.doc...), "x"...),
		}
		for i, sp := range str.FindAllIndex(k.doc, -1) {
			if sp[1]-sp[0] < 3 {
				continue
			}
			mid := (sp[0] + sp[1]) / 2
			if k.doc[mid] == '\\' || k.doc[mid-1] == '\\' {
				continue
			}
			docs[fmt.Sprintf("invalid UTF-8 in string %d (%.40s)", i, k.doc[sp[0]:sp[1]])] = append(append(append([]byte{}, k.doc[:mid]...), 0xff), k.doc[mid:]...)
		}
		for what, doc := range docs {
			code, out, errOut := runCLI(t, verifyArgs(k, writeTemp(t, doc))...)
			if code == 0 {
				t.Errorf("%s with %s: verify exit 0:\n%s%s", k.name, what, out, errOut)
			}
		}
	}
}
