package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/parley-exchange/parley/internal/demo"
	"github.com/parley-exchange/parley/opinion"
)

// TestVerifyConcurrenceFile: the answer parley concurrence --json saves
// (the node's tally with its evidence: the opinions, their log entries
// and proofs, the key entries) is re-checked offline by parley verify
// from that file alone: exit 0 with the tally and one line saying what
// follows from what; a count changed after the fact, an opinion changed
// in the evidence, another log key, a field in another case, or a count
// given twice exit 1.
// Before, parley verify read it as a proof bundle and refused it.
func TestVerifyConcurrenceFile(t *testing.T) {
	base, st, dir := demoNode(t)
	vkey := nodeLogKey(t, dir)
	code, saved, stderr := runCLI(t, "concurrence", "--url", base, "--token", st.Members[0].Token, "--log-key", vkey, "--json", demo.Report)
	if code != 0 {
		t.Fatalf("concurrence --json: exit %d: %s", code, stderr)
	}
	tmp := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tamper := func(name string, f func(*opinion.Concurrence)) string {
		var c opinion.Concurrence
		if err := json.Unmarshal([]byte(saved), &c); err != nil {
			t.Fatal(err)
		}
		f(&c)
		b, _ := json.Marshal(c)
		return write(name, b)
	}
	_, otherKey, err := note.GenerateKey(rand.Reader, "other.example/log")
	if err != nil {
		t.Fatal(err)
	}
	file := write("concurrence.json", []byte(saved))
	for _, c := range []struct {
		name     string
		args     []string
		code     int
		out, err string
	}{
		{"re-checked", []string{"--log-key", vkey, file}, 0, "concurrence verified: the tally of 2 opinion(s) on " + demo.Report, "the node's word"},
		{"a count changed", []string{"--log-key", vkey, tamper("count.json", func(c *opinion.Concurrence) { c.Counts[opinion.StronglyAgree] = 17 })}, 1, "does not follow", "strongly-agree is claimed 17"},
		{"an opinion changed", []string{"--log-key", vkey, tamper("evidence.json", func(c *opinion.Concurrence) {
			for i, it := range c.Evidence.Items {
				c.Evidence.Items[i].Object = bytes.Replace(it.Object, []byte(`"disagree"`), []byte(`"agree"`), 1)
			}
		})}, 1, "", "evidence doesn't verify"},
		{"another log key", []string{"--log-key", otherKey, file}, 1, "", "evidence doesn't verify"},
		{"Counts", []string{"--log-key", vkey, write("case.json", bytes.Replace([]byte(saved), []byte(`"counts"`), []byte(`"Counts"`), 1))}, 1, "", `unknown field "Counts"`},
		// A count given twice: encoding/json keeps the last (the node's
		// real count), another reader the first (7); before, it verified.
		{"counts.agree twice", []string{"--log-key", vkey, write("dup.json", bytes.Replace([]byte(saved), []byte(`"counts": {`), []byte(`"counts": {"agree": 7, `), 1))}, 1, "", `field "counts.agree" given twice`},
		{"evidence.items.Object", []string{"--log-key", vkey, write("case2.json", bytes.Replace([]byte(saved), []byte(`"object": {`), []byte(`"Object": {`), 1))}, 1, "", `unknown field "evidence.items.Object"`},
	} {
		code, out, stderr := runCLI(t, append([]string{"verify"}, c.args...)...)
		if code != c.code || !strings.Contains(out+stderr, c.out) || !strings.Contains(stderr, c.err) {
			t.Errorf("%s: exit %d (want %d)\nstdout: %s\nstderr: %s", c.name, code, c.code, out, stderr)
		}
	}
}
