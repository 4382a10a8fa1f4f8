package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/private"
	"github.com/parley-exchange/parley/tlog"
)

// TestOfflineFilesExactNames: every JSON file an auditor is handed and
// parley reads offline (a proof bundle, a receipt, a saved private set
// receipt, split-view and false key index evidence, a seen file) is read
// by its exact field names: a field named in another case than the
// format's (which encoding/json reads as the field, and another
// implementation doesn't), or one given twice (encoding/json keeps the
// last), is refused, at the top and below it. A bundle, a receipt, a seen
// file and a saved receipt were read with encoding/json alone. (The
// witness policy is C2SP tlog-policy text, not JSON.)
func TestOfflineFilesExactNames(t *testing.T) {
	fork, err := os.ReadFile(filepath.Join("..", "..", "tlog", "testdata", "evidence", "fork-v1.json"))
	if err != nil {
		t.Fatal(err)
	}
	bundle := func(doc string) error { _, err := tlog.VerifyBundle([]byte(doc), ""); return err }
	receipt := func(doc string) error { _, _, err := tlog.ParseReceipt([]byte(doc)); return err }
	saved := func(doc string) error { _, err := private.ParseSavedReceipt([]byte(doc)); return err }
	evidence := func(doc string) error { _, err := tlog.VerifyEvidence("", []byte(doc)); return err }
	seen := func(doc string) error {
		p := filepath.Join(t.TempDir(), "seen.json")
		if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := tlog.LoadSeen(p)
		return err
	}
	const bt = `"type":"parley-proof-bundle-v2"`
	for _, c := range []struct {
		name   string
		decode func(string) error
		doc    string
		want   string
	}{
		{"bundle TYPE", bundle, `{` + bt + `,"TYPE":"x"}`, `unknown field "TYPE"`},
		{"bundle Log_Key", bundle, `{` + bt + `,"Log_Key":"x"}`, `unknown field "Log_Key"`},
		{"bundle checkpoint twice", bundle, `{` + bt + `,"checkpoint":"a","checkpoint":"b"}`, `field "checkpoint" given twice`},
		{"bundle items.Object", bundle, `{` + bt + `,"items":[{"object":{},"Object":{}}]}`, `unknown field "items.Object"`},
		{"bundle keys.entry twice", bundle, `{` + bt + `,"keys":[{"entry":"","entry":""}]}`, `field "keys.entry" given twice`},
		{"bundle witnessed.CHECKPOINT", bundle, `{` + bt + `,"witnessed":[{"CHECKPOINT":""}]}`, `unknown field "witnessed.CHECKPOINT"`},
		{"bundle Kelvin sign", bundle, `{` + bt + `,"chec\u212apoint":"x"}`, `unknown field`},
		{"receipt LOG_INDEX", receipt, `{"log_index":1,"LOG_INDEX":2}`, `unknown field "LOG_INDEX"`},
		{"receipt entry twice", receipt, `{"entry":"","entry":""}`, `field "entry" given twice`},
		{"receipt witnessed.Consistency", receipt, `{"witnessed":{"Consistency":[]}}`, `unknown field "witnessed.Consistency"`},
		{"saved receipt SET", saved, `{"set":"a","SET":"b"}`, `unknown field "SET"`},
		{"saved receipt opening.Salt", saved, `{"receipt":{"opening":{"Salt":""}}}`, `unknown field "receipt.opening.Salt"`},
		{"saved receipt receipt twice", saved, `{"receipt":{},"receipt":{}}`, `field "receipt" given twice`},
		{"saved receipt unknown", saved, `{"set":"a","later":1}`, `unknown field "later"`},
		{"evidence Checkpoints", evidence, strings.Replace(string(fork), `"checkpoints"`, `"Checkpoints"`, 1), `unknown field "Checkpoints"`},
		{"seen checkpoints twice", seen, `{"checkpoints":[],"checkpoints":["x"]}`, `field "checkpoints" given twice`},
		{"seen key twice", seen, `{"key":"a","key":"b","checkpoints":[]}`, `field "key" given twice`},
		{"seen Checkpoints", seen, `{"Checkpoints":[]}`, `it isn't a seen file`},
	} {
		err := c.decode(c.doc)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	// What the formats allow still reads: a later node's field in a
	// bundle or a receipt is reported, not refused.
	if _, unknown, err := tlog.ParseReceipt([]byte(`{"log_index":1,"later":{"X":1}}`)); err != nil || len(unknown) != 1 || unknown[0] != "later" {
		t.Errorf("receipt with a later field: %v, unknown %q", err, unknown)
	}
	if err := seen(`{"key":"a","checkpoints":[]}`); err != nil {
		t.Errorf("seen file: %v", err)
	}
	if _, err := private.ParseSavedReceipt([]byte(`{"set":"a","suite":"s","public_key":"","receipt":{"opening":{"salt":""},"withdrawal":{"opening":{}}}}`)); err != nil {
		t.Errorf("saved receipt: %v", err)
	}
}

// TestAuditBundleExactNames: the proof bundles and concurrence evidence
// parley audit --bundle reads for their key indexes are read by exact
// field names too, as parley verify reads them; encoding/json read
// "TYPE" as type and a concurrence answer's "Key_Index" as key_index.
func TestAuditBundleExactNames(t *testing.T) {
	base, token, _, vkey, _, _ := auditedDemo(t)
	work := t.TempDir()
	for _, c := range []struct{ name, doc, want string }{
		{"bundle TYPE", `{"type":"parley-proof-bundle-v2","TYPE":"parley-proof-bundle-v2"}`, `unknown field "TYPE"`},
		{"evidence key_index twice", `{"object":"x","evidence":{"key_index":"a","key_index":"b"}}`, `field "evidence.key_index" given twice`},
		{"evidence Key_Index", `{"object":"x","evidence":{"Key_Index":"a"}}`, `unknown field "evidence.Key_Index"`},
	} {
		f := filepath.Join(work, strings.ReplaceAll(c.name, " ", "-")+".json")
		if err := os.WriteFile(f, []byte(c.doc), 0o600); err != nil {
			t.Fatal(err)
		}
		code, _, stderr := runCLI(t, "audit", "--url", base, "--token", token, "--log-key", vkey, "--seen", filepath.Join(work, "seen"), "--bundle", f)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: exit %d, want 2 and %q\n%s", c.name, code, c.want, stderr)
		}
	}
}
