package tlog

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEvidenceExactNames: evidence whose member names aren't the format's
// exactly (another case, at the top or in "proof" or "entry") or give one
// name twice is refused, by both evidence formats; encoding/json read
// "TYPE" as "type" and kept the last of two "checkpoints", so such a
// document verified though the format has no other fields. The vectors
// themselves still verify.
func TestEvidenceExactNames(t *testing.T) {
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", "evidence", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	fork, keyIndex := read("fork-v1.json"), read("false-key-index-left-out-v1.json")
	splitView := func(doc []byte) error { _, err := VerifyEvidence("", doc); return err }
	falseIndex := func(doc []byte) error { _, err := VerifyKeyIndexEvidence("", doc); return err }
	dup := func(doc []byte, field string) []byte {
		// The field again, last, with the value "x".
		i := bytes.LastIndexByte(doc, '}')
		return append(append(bytes.Clone(doc[:i]), []byte(`,"`+field+`":"x"`)...), doc[i:]...)
	}
	for _, c := range []struct {
		name   string
		verify func([]byte) error
		doc    []byte
		want   string // "" : verifies
	}{
		{"split view", splitView, fork, ""},
		{"TYPE", splitView, bytes.Replace(fork, []byte(`"type"`), []byte(`"TYPE"`), 1), `unknown field "TYPE"`},
		{"Checkpoints", splitView, bytes.Replace(fork, []byte(`"checkpoints"`), []byte(`"Checkpoints"`), 1), `unknown field "Checkpoints"`},
		{"proof.Prefix_Root", splitView, bytes.Replace(fork, []byte(`"prefix_root"`), []byte(`"Prefix_Root"`), 1), `unknown field "proof.Prefix_Root"`},
		{"found_by twice", splitView, dup(fork, "found_by"), `field "found_by" given twice`},
		{"false key index", falseIndex, keyIndex, ""},
		{"Entry", falseIndex, bytes.Replace(keyIndex, []byte(`"entry": {`), []byte(`"Entry": {`), 1), `unknown field "Entry"`},
		{"entry.Log_Index", falseIndex, bytes.Replace(keyIndex, []byte(`"log_index"`), []byte(`"Log_Index"`), 1), `unknown field "entry.Log_Index"`},
		{"checkpoint twice", falseIndex, dup(keyIndex, "checkpoint"), `field "checkpoint" given twice`},
	} {
		err := c.verify(c.doc)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v, want it to verify", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		case c.want != "" && !errors.Is(err, ErrEvidence) && !errors.Is(err, ErrKeyIndexEvidence):
			t.Errorf("%s: %v isn't an evidence error", c.name, err)
		}
	}
}

// TestAnyNameOnce: a map's member names ([AnyName]: a concurrence
// answer's counts, a bundle's names) are the document's to choose, but
// each once: encoding/json kept the last of two, so {"agree": 7,
// "agree": 1} read as 1 where another reader keeps 7. Names that differ
// only in case are different members of a map, not a later node's
// fields.
func TestAnyNameOnce(t *testing.T) {
	fields := JSONFields{"counts": {AnyName: nil}}
	for _, c := range []struct {
		doc  string
		want string // "" : accepted
	}{
		{`{"counts": {"agree": 1, "Agree": 0, "x": {"agree": 1, "agree": 2}}}`, ""},
		{`{"counts": null}`, ""},
		{`{"counts": {"agree": 7, "agree": 1}}`, `field "counts.agree" given twice`},
		{`{"counts": {"agree": 7, "\u0061gree": 1}}`, `field "counts.agree" given twice`},
		{`{"counts": "agree"}`, `"counts" isn't a JSON object`},
	} {
		unknown, err := KnownNames([]byte(c.doc), fields)
		switch {
		case c.want == "" && (err != nil || len(unknown) > 0):
			t.Errorf("%s: %v, unknown %q; want it accepted", c.doc, err, unknown)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want %q", c.doc, err, c.want)
		}
	}
	bundle := `{"type": "` + BundleType + `", "log_key": "k", "checkpoint": "c", "keys": [], "items": [],
		"names": {"identity--1": "cert-a", "identity--1": "cert-b"}}`
	if _, _, err := ParseBundle([]byte(bundle)); err == nil || !strings.Contains(err.Error(), `field "names.identity--1" given twice`) {
		t.Errorf("a bundle naming a member twice: %v", err)
	}
}

// TestExactNamesOneObject: [ExactNames] and [KnownNames] take one JSON
// object and nothing after it but space; a second value was refused,
// but bytes that are no value ("}", "]", "x") passed, against the
// contract, for whoever reads the document with ExactNames alone.
func TestExactNamesOneObject(t *testing.T) {
	fields := JSONFields{"key": nil}
	for _, c := range []struct {
		doc string
		ok  bool
	}{
		{`{"key": 1}`, true},
		{" {\"key\": 1}\n\t ", true},
		{`{"key": 1} {}`, false},
		{`{"key": 1} }`, false},
		{`{"key": 1}]`, false},
		{`{"key": 1} x`, false},
	} {
		err := ExactNames([]byte(c.doc), fields)
		_, lerr := KnownNames([]byte(c.doc), fields)
		if (err == nil) != c.ok || (lerr == nil) != c.ok {
			t.Errorf("%q: ExactNames %v, KnownNames %v; want accepted %v", c.doc, err, lerr, c.ok)
		}
	}
}
