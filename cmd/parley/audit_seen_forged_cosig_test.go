package main

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
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

	"github.com/parley-exchange/parley/tlog"
)

// TestAuditKeepsHonestCosignatureOverForgedLines: a hostile node serves
// its checkpoint, at a member's pull, with two forged lines of a witness
// the member's policy names (its name and key ID, a signature that
// doesn't verify), claiming times 1 and 2^40. The pull, without a
// policy, records the note as served in the seen file. At the member's
// audit with the policy, the witness's honest cosignature of the same
// checkpoint arrives by monitor retrieval: the seen file must keep it (the
// merge keeps each signer's earliest and latest line by the time the line
// claims, and the forged lines took both places: tlog's
// TestSeenMergeKeepsHonestCosignatures), so that an entry appended later
// and back-dated to before that cosignature is still named at the next
// audit.
func TestAuditKeepsHonestCosignatureOverForgedLines(t *testing.T) {
	base, st, dir := demoNode(t)
	token := st.Members[0].Token
	vkey := nodeLogKey(t, dir)
	v, err := tlog.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	cl := &tlog.Client{URL: base, Token: token}
	plain, cp := waitLogSize(t, cl, v, 1)
	cosigned, wvkey := cosignedLate(t, plain, v)

	// The witness's line in its honest cosignature, and two forged ones
	// of its name and key ID.
	var name, honest string
	var hash uint32
	for _, line := range strings.Split(strings.TrimSuffix(strings.SplitN(string(cosigned), "\n\n", 2)[1], "\n"), "\n") {
		if n, h, _, ok := tlog.SignatureLine(line); ok && n == "late.example/w" {
			name, hash, honest = n, h, line
		}
	}
	if name == "" {
		t.Fatalf("no witness line in %q", cosigned)
	}
	var forgedSigs []string
	forged := func(at int64) string {
		raw := binary.BigEndian.AppendUint32(nil, hash)
		raw = binary.BigEndian.AppendUint64(raw, uint64(at))
		sig := make([]byte, 64)
		rand.Read(sig)
		b64 := base64.StdEncoding.EncodeToString(append(raw, sig...))
		forgedSigs = append(forgedSigs, b64)
		return "— " + name + " " + b64 + "\n"
	}
	lines := forged(1) + forged(1<<40)

	// The hostile front: the node's answers, its checkpoint with the
	// forged lines added.
	target, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
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
		b = append(b, lines...)
		resp.Body = io.NopCloser(bytes.NewReader(b))
		resp.ContentLength = int64(len(b))
		resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
		return nil
	}
	front := httptest.NewServer(proxy)
	defer front.Close()

	// The witness pulled the node's log and cosigned this tree; it serves
	// it whatever the node does next.
	w := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/"+fmt.Sprintf("%x", sha256.Sum256([]byte(cp.Origin)))+"/checkpoint" {
			http.NotFound(rw, r)
			return
		}
		rw.Write(cosigned)
	}))
	defer w.Close()
	pol := filepath.Join(t.TempDir(), "policy")
	if err := os.WriteFile(pol, []byte("log "+vkey+"\nwitness late "+wvkey+" "+w.URL+"\nquorum none\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	seen := filepath.Join(t.TempDir(), "seen")

	code, _, stderr := runCLI(t, "pull", "--url", front.URL, "--token", token, "--collection", st.Collections.Shared, "--proofs", "--log-key", vkey, "--seen", seen)
	if code != 0 {
		t.Fatalf("pull: exit %d\n%s", code, stderr)
	}
	b, err := os.ReadFile(seen)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range forgedSigs {
		if !strings.Contains(string(b), s) {
			t.Fatalf("the pull didn't record the served note with its forged lines:\n%s", b)
		}
	}

	audit := func() (int, string) {
		code, _, stderr := runCLI(t, "audit", "--url", base, "--token", token, "--log-key", vkey, "--seen", seen, "--witness-policy", pol)
		return code, stderr
	}
	if code, stderr := audit(); code != 0 {
		t.Fatalf("first audit: exit %d\n%s", code, stderr)
	}
	if b, err = os.ReadFile(seen); err != nil {
		t.Fatal(err)
	}
	if f := strings.Fields(honest); !strings.Contains(string(b), f[len(f)-1]) {
		t.Errorf("the seen file lost the witness's honest cosignature:\n%s", b)
	}
	// The node appends an entry: received now, ten minutes before the
	// witness (by its clock) saw the tree without it.
	if code, _, stderr := runCLI(t, "member", "add", "--data", dir, "--name", "latecomer"); code != 0 {
		t.Fatalf("member add: exit %d\n%s", code, stderr)
	}
	waitLogSize(t, cl, v, cp.Size+1)
	code, stderr = audit()
	if code != 1 || !strings.Contains(stderr, "earlier than witness late cosigned") || !strings.Contains(stderr, "back-dated") {
		t.Fatalf("second audit: exit %d, want 1 naming the back-dated entry\n%s", code, stderr)
	}
}
