package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/tlog"
	"golang.org/x/mod/sumdb/note"
)

// TestVerifyReceipt: parley verify --receipt R --log-key K O exits 0, with
// one line saying what it proved, only when the node's receipt R verifies
// under K and commits to the object in O (in any JSON spelling); a changed
// object, another key, a receipt read otherwise by another implementation
// (a field in another case, or given twice), or a witness policy the
// receipt doesn't meet exit 1, and a receipt without --log-key exits 2.
// Before, no command checked a receipt against an object file.
func TestVerifyReceipt(t *testing.T) {
	base, st, dir := demoNode(t)
	aur := st.Members[0]
	const id = "indicator--3a1f6c52-8b0e-4d7a-9c2e-5f4b1d0e7a93"
	tmp := t.TempDir()
	ind := filepath.Join(tmp, "in.json")
	if err := os.WriteFile(ind, []byte(`{"type":"indicator","spec_version":"2.1","id":"`+id+`","created_by_ref":"`+aur.ID+`","created":"2026-03-01T00:00:00.000Z","modified":"2026-03-01T00:00:00.000Z","pattern":"[ipv4-addr:value = '10.9.8.7']","pattern_type":"stix","valid_from":"2026-03-01T00:00:00Z"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, "push", "--url", base, "--token", aur.Token, "--key", aur.KeyFile, "--collection", st.Collections.Shared, ind); code != 0 {
		t.Fatalf("push: exit %d: %s", code, stderr)
	}
	vkey := nodeLogKey(t, dir)
	ctx := context.Background()
	cl := &tlog.Client{URL: base, Token: aur.Token}
	// The object as the log holds it (signed at push): from a bundle.
	bb, err := retryUnavailable(ctx, func() ([]byte, error) { return cl.Bundle(ctx, id) })
	if err != nil {
		t.Fatal(err)
	}
	var bundle tlog.Bundle
	if err := json.Unmarshal(bb, &bundle); err != nil || len(bundle.Items) != 1 {
		t.Fatalf("bundle: %v", err)
	}
	get := func(path string) ([]byte, error) {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer "+aur.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			return nil, &tlog.HTTPError{Code: resp.StatusCode}
		}
		return b, err
	}
	receipt, err := retryUnavailable(ctx, func() ([]byte, error) {
		return get("/log/receipt?object=" + url.QueryEscape(id) + "&version=" + url.QueryEscape(bundle.Items[0].Version))
	})
	if err != nil {
		t.Fatal(err)
	}
	var indented bytes.Buffer
	json.Indent(&indented, bundle.Items[0].Object, "", "  ") // another spelling, the same canonical object
	write := func(name string, b []byte) string {
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	obj := write("object.json", indented.Bytes())
	rcpt := write("receipt.json", receipt)
	changed := write("changed.json", bytes.Replace(indented.Bytes(), []byte("10.9.8.7"), []byte("10.9.8.8"), 1))
	caseFolded := write("case.json", bytes.Replace(receipt, []byte(`"log_index"`), []byte(`"LOG_INDEX"`), 1))
	i := bytes.LastIndexByte(receipt, '}')
	twice := write("twice.json", append(append(bytes.Clone(receipt[:i]), []byte(`,"entry":"e30="`)...), receipt[i:]...))
	later := write("later.json", append(append(bytes.Clone(receipt[:i]), []byte(`,"later_field":1`)...), receipt[i:]...))
	// The object among others, in a STIX bundle or a TAXII envelope:
	// another object, and the object at another version.
	other := `{"type":"indicator","spec_version":"2.1","id":"indicator--0b5d3c1e-2f4a-4b6c-8d7e-9f0a1b2c3d4e","created":"2026-03-01T00:00:00.000Z","modified":"2026-03-01T00:00:00.000Z","pattern":"[ipv4-addr:value = '10.1.1.1']","pattern_type":"stix","valid_from":"2026-03-01T00:00:00Z"}`
	var head struct {
		Modified string `json:"modified"`
	}
	if err := json.Unmarshal(bundle.Items[0].Object, &head); err != nil {
		t.Fatal(err)
	}
	otherVersion := strings.Replace(string(bundle.Items[0].Object), `"modified":"`+head.Modified+`"`, `"modified":"2027-01-01T00:00:00.000Z"`, 1)
	list := func(name, format string, objs ...string) string {
		return write(name, []byte(fmt.Sprintf(format, strings.Join(objs, ",\n"))))
	}
	const stixBundle = `{"type":"bundle","id":"bundle--9b0c4d2e-1f3a-4b5c-8d6e-7f8091a2b3c4","objects":[%s]}`
	const envelope = `{"more":false,"objects":[%s]}`
	inBundle := list("in-bundle.json", stixBundle, other, otherVersion, indented.String())
	inEnvelope := list("in-envelope.json", envelope, indented.String(), other)
	absent := list("absent.json", stixBundle, other, otherVersion)
	doubled := list("doubled.json", envelope, string(bundle.Items[0].Object), other, indented.String())
	changedIn := list("changed-in.json", stixBundle, other, strings.Replace(indented.String(), "10.9.8.7", "10.9.8.8", 1))
	_, otherKey, err := note.GenerateKey(rand.Reader, "other.example/log")
	if err != nil {
		t.Fatal(err)
	}
	_, witness, err := tlog.NewCosignerKey(rand.Reader, "w.example/w")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		args     []string
		code     int
		out, err string
	}{
		{"proved", []string{"--receipt", rcpt, "--log-key", vkey, obj}, 0, "receipt verified: " + id + " version ", "signature isn't checked"},
		{"flags after", []string{obj, "--log-key", vkey, "--receipt", rcpt}, 0, "into collection " + st.Collections.Shared, ""},
		{"a later field", []string{"--receipt", later, "--log-key", vkey, obj}, 0, "receipt verified", "later_field"},
		{"changed object", []string{"--receipt", rcpt, "--log-key", vkey, changed}, 1, "", "commitment doesn't match"},
		{"another log key", []string{"--receipt", rcpt, "--log-key", otherKey, obj}, 1, "", "receipt doesn't prove"},
		{"case-folded field", []string{"--receipt", caseFolded, "--log-key", vkey, obj}, 1, "", `unknown field "LOG_INDEX"`},
		{"field twice", []string{"--receipt", twice, "--log-key", vkey, obj}, 1, "", `field "entry" given twice`},
		{"witness policy unmet", []string{"--receipt", rcpt, "--log-key", vkey, "--witness", witness, obj}, 1, "", "witness policy"},
		{"no log key", []string{"--receipt", rcpt, obj}, 2, "", "needs --log-key"},
		{"receipt as object", []string{"--receipt", rcpt, "--log-key", vkey, rcpt}, 1, "", "receipt doesn't prove"},
		{"in a STIX bundle", []string{"--receipt", rcpt, "--log-key", vkey, inBundle}, 0, "receipt verified: " + id + " version ", ""},
		{"in a TAXII envelope", []string{"--receipt", rcpt, "--log-key", vkey, inEnvelope}, 0, "receipt verified: " + id + " version ", ""},
		{"absent from the bundle", []string{"--receipt", rcpt, "--log-key", vkey, absent}, 1, "", "holds 2 object(s), none of them " + id + " version " + bundle.Items[0].Version},
		{"twice in the envelope", []string{"--receipt", rcpt, "--log-key", vkey, doubled}, 1, "", id + " version " + bundle.Items[0].Version + " 2 times"},
		{"changed in the bundle", []string{"--receipt", rcpt, "--log-key", vkey, changedIn}, 1, "", "commitment doesn't match"},
	} {
		code, out, stderr := runCLI(t, append([]string{"verify"}, c.args...)...)
		if code != c.code || !strings.Contains(out, c.out) || !strings.Contains(stderr, c.err) {
			t.Errorf("%s: exit %d (want %d)\nstdout: %s\nstderr: %s", c.name, code, c.code, out, stderr)
		}
		if code == 0 && strings.Count(out, "\n") != 1 {
			t.Errorf("%s: %d lines on stdout, want one:\n%s", c.name, strings.Count(out, "\n"), out)
		}
	}
}
