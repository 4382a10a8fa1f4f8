package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/tlog"
	"github.com/rogpeppe/go-internal/testscript"
	"golang.org/x/mod/sumdb/note"
)

// setWitnesses implements the script command
// `setwitnesses DIR URL_FILE VKEY_FILE [URL_FILE VKEY_FILE]...`: it sets
// the "witnesses" of DIR/config.json from the witnesses' URL files
// (witness serve --url-file) and verifier key files, as an operator
// editing it would.
func setWitnesses(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 3 || len(args)%2 != 1 {
		ts.Fatalf("usage: setwitnesses DIR URL_FILE VKEY_FILE...")
	}
	var ws []map[string]string
	for i := 1; i < len(args); i += 2 {
		ws = append(ws, map[string]string{
			"url": strings.TrimSpace(ts.ReadFile(args[i])),
			"key": strings.TrimSpace(ts.ReadFile(args[i+1])),
		})
	}
	ts.Check(editConfig(ts.MkAbs(args[0]), func(cfg map[string]any) { cfg["witnesses"] = ws }))
}

// waitCosigned implements `waitcosigned TOKEN_FILE SIZE N`: it waits up to
// 30 s until $PARLEY_URL/log/checkpoint covers at least SIZE entries and
// carries at least N signature lines besides the log's own (the
// cosignatures), and fails otherwise.
func waitCosigned(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: waitcosigned TOKEN_FILE SIZE N")
	}
	var m struct {
		Token string `json:"token"`
	}
	ts.Check(json.Unmarshal([]byte(ts.ReadFile(args[0])), &m))
	size, err := strconv.ParseUint(args[1], 10, 64)
	ts.Check(err)
	want, err := strconv.Atoi(args[2])
	ts.Check(err)
	deadline := time.Now().Add(30 * time.Second)
	var last string
	for {
		req, err := http.NewRequest(http.MethodGet, ts.Getenv("PARLEY_URL")+"/log/checkpoint", nil)
		ts.Check(err)
		req.Header.Set("Authorization", "Bearer "+m.Token)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last = string(b)
			if text, err := tlog.SplitNote(b); err == nil {
				cp, err := tlog.ParseCheckpoint(text)
				if err == nil && cp.Size >= size && strings.Count(last, "\n— ")-1 >= want {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			ts.Fatalf("no checkpoint of size >= %d with %d cosignature(s) after 30s; last:\n%s", size, want, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A bundle whose checkpoint lacks the quorum is a failed verification
// (exit 1); one that meets it, or no policy, passes.
func TestBundleQuorumExit(t *testing.T) {
	skey, vkey, err := tlog.NewNodeKey(bytes.NewReader(make([]byte, 64)), "node.example/log")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := tlog.SignCheckpoint(tlog.Checkpoint{Origin: "node.example/log", Size: 1}, signer)
	if err != nil {
		t.Fatal(err)
	}
	wkey, wvkey, err := tlog.NewCosignerKey(bytes.NewReader(bytes.Repeat([]byte{7}, 64)), "w.example")
	if err != nil {
		t.Fatal(err)
	}
	cs, err := tlog.ParseCosignerKey(wkey, nil)
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(plain, note.VerifierList(mustNoteVerifier(t, signer)))
	if err != nil {
		t.Fatal(err)
	}
	cosigned, err := note.Sign(n, cs)
	if err != nil {
		t.Fatal(err)
	}
	pol, err := tlog.NewWitnessPolicy([]string{wvkey}, 1)
	if err != nil {
		t.Fatal(err)
	}
	bundle := func(cp []byte) []byte {
		b, _ := json.Marshal(map[string]string{"checkpoint": string(cp)})
		return b
	}
	for _, tc := range []struct {
		name string
		pol  *tlog.Policy
		cp   []byte
		code int
	}{
		{"no policy", nil, plain, 0},
		{"cosigned", pol, cosigned, 0},
		{"not cosigned", pol, plain, 1},
	} {
		if got := exitCode(bundleQuorum(tc.pol, bundle(tc.cp))); got != tc.code {
			t.Errorf("%s: exit %d, want %d", tc.name, got, tc.code)
		}
	}
	// A witnessed checkpoint whose policy witness's cosignature was
	// changed fails verify's time check (exit 1); it was passed over.
	forged := bytes.Clone(cosigned)
	at := bytes.LastIndex(forged, []byte("\n\u2014 w.example ")) + 40 // in its signature
	if forged[at] == 'A' {
		forged[at] = 'B'
	} else {
		forged[at] = 'A'
	}
	for _, tc := range []struct {
		name string
		n    []byte
		code int
	}{{"cosigned", cosigned, 0}, {"forged cosignature", forged, 1}} {
		res := tlog.BundleResult{LogKey: vkey, Witnessed: [][]byte{plain, tc.n}}
		if _, err := bundleTimes(&cli{stderr: io.Discard}, pol, res, 0); exitCode(err) != tc.code {
			t.Errorf("bundleTimes, witnessed checkpoint %s: %v, want exit %d", tc.name, err, tc.code)
		}
	}
	if got := exitCode(quorumExit(fmt.Errorf("couldn't pull: %w", tlog.ErrQuorum))); got != 1 {
		t.Errorf("quorumExit: exit %d, want 1", got)
	}
	if quorumExit(errors.New("other")) != nil || quorumExit(nil) != nil {
		t.Error("quorumExit took an error other than ErrQuorum")
	}
}

func mustNoteVerifier(t *testing.T, s note.Signer) note.Verifier {
	t.Helper()
	_, vkey, err := tlog.NewNodeKey(bytes.NewReader(make([]byte, 64)), s.Name())
	if err != nil {
		t.Fatal(err)
	}
	v, err := tlog.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
