package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/demo"
	"github.com/parley-exchange/parley/tlog"
	"golang.org/x/mod/sumdb/note"
)

// TestProofChecksTheRecordedPolicyOnTheBundle: with a witness policy
// recorded for the seen file (as parley audit --witness records it) and
// no policy flags, proof refuses a bundle whose checkpoint is short of
// the recorded quorum, and concurrence evidence whose checkpoint is, as
// each refuses it with the same policy given as flags, and as pull
// refuses objects proved against such a checkpoint. Before, both checked
// the recorded policy on the node's latest checkpoint only: a node
// serving a cosigned latest checkpoint and a bundle or evidence proved
// against an uncosigned one had it printed, exit 0.
func TestProofChecksTheRecordedPolicyOnTheBundle(t *testing.T) {
	base, st, _ := demoNode(t)
	token := st.Members[0].Token
	const id = "report--7a1e0c52-4b3d-4e0f-9a21-00000000000a"
	vkey, err := (&tlog.Client{URL: base, Token: token}).Key(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	v, err := tlog.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	wskey, wvkey, err := tlog.NewCosignerKey(rand.Reader, "witness.example/w")
	if err != nil {
		t.Fatal(err)
	}
	w, err := tlog.ParseCosignerKey(wskey, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	target, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	// The node's latest checkpoint cosigned by the witness; its bundles
	// as the node serves them, against a checkpoint it never cosigned.
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.URL.Path != "/log/checkpoint" || resp.StatusCode != http.StatusOK {
			return nil
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		n, err := note.Open(b, note.VerifierList(v))
		if err != nil {
			return err
		}
		if b, err = note.Sign(n, w); err != nil {
			return err
		}
		resp.Body = io.NopCloser(bytes.NewReader(b))
		resp.ContentLength = int64(len(b))
		resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
		return nil
	}
	front := httptest.NewServer(proxy)
	defer front.Close()

	dir := t.TempDir()
	// With the policy as flags: refused.
	flagged := filepath.Join(dir, "flags.seen")
	code, stdout, stderr := runCLI(t, "proof", "--url", front.URL, "--token", token, "--seen", flagged, "--witness", wvkey, "--witness-quorum", "1", id)
	if code != 1 || !strings.Contains(stderr, "the witness policy requires") || stdout != "" {
		t.Fatalf("proof with policy flags, a bundle short of their quorum: exit %d, stdout %q\n%s", code, stdout, stderr)
	}
	// With the policy only recorded for the seen file: refused alike.
	pol, err := tlog.NewWitnessPolicy([]string{wvkey}, 1)
	if err != nil {
		t.Fatal(err)
	}
	recorded := filepath.Join(dir, "recorded.seen")
	if err := os.WriteFile(seenPolicyPath(recorded), []byte(pol.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runCLI(t, "proof", "--url", front.URL, "--token", token, "--seen", recorded, id)
	if code != 1 || !strings.Contains(stderr, "the witness policy requires") || stdout != "" {
		t.Fatalf("proof with a recorded policy, a bundle short of its quorum: exit %d, stdout %q\n%s", code, stdout, stderr)
	}
	// Concurrence alike: refused with the flags, and with the recorded
	// policy.
	code, stdout, stderr = runCLI(t, "concurrence", "--url", front.URL, "--token", token, "--seen", filepath.Join(dir, "conc-flags.seen"), "--witness", wvkey, "--witness-quorum", "1", demo.Report)
	if code != 1 || !strings.Contains(stderr, "the witness policy requires") || stdout != "" {
		t.Fatalf("concurrence with policy flags, evidence short of their quorum: exit %d, stdout %q\n%s", code, stdout, stderr)
	}
	concRecorded := filepath.Join(dir, "conc-recorded.seen")
	if err := os.WriteFile(seenPolicyPath(concRecorded), []byte(pol.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runCLI(t, "concurrence", "--url", front.URL, "--token", token, "--seen", concRecorded, demo.Report)
	if code != 1 || !strings.Contains(stderr, "the witness policy requires") || stdout != "" {
		t.Fatalf("concurrence with a recorded policy, evidence short of its quorum: exit %d, stdout %q\n%s", code, stdout, stderr)
	}
	// The node's latest checkpoint met it (the front cosigns it): with
	// neither, the bundle is proved.
	code, stdout, stderr = runCLI(t, "proof", "--url", front.URL, "--token", token, "--seen", filepath.Join(dir, "none.seen"), id)
	if code != 0 || !strings.Contains(stdout, "parley-proof-bundle-v2") {
		t.Fatalf("proof without a policy: exit %d\n%s", code, stderr)
	}
}
