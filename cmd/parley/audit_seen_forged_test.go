package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/tlog"
)

// TestAuditWitnessViewForgedCosignature: the audit keeps each witness's
// checkpoint of the log in the seen file (TestAuditKeepsWitnessCheckpoints),
// merged into the note of the same checkpoint. Another witness of the
// policy (or whoever is on the path to it over plain HTTP) that served
// the same checkpoint with a forged line of the honest witness (its name
// and key ID, a signature that doesn't verify) had that line merged into
// the note: the note then failed every later verification with the
// policy's keys, silently, and the honest witness's cosignature no longer
// bounded the entries' received times, so an entry back-dated before it
// passed. Now only the lines that verify with the log's key or a policy
// witness's are kept from a witness's checkpoint.
func TestAuditWitnessViewForgedCosignature(t *testing.T) {
	base, token, dir, vkey, v, cl := auditedDemo(t)
	plain, cp := waitLogSize(t, cl, v, 1)
	cosigned, wvkey := cosignedLate(t, plain, v)
	// The forged line: late's name and key ID, a timestamp, 64 random
	// bytes.
	parts := strings.Split(wvkey, "+")
	id, err := hex.DecodeString(parts[1])
	if err != nil || len(id) != 4 {
		t.Fatalf("verifier key %q: %v", wvkey, err)
	}
	raw := make([]byte, 4+8+64)
	copy(raw, id)
	binary.BigEndian.PutUint64(raw[4:], uint64(time.Now().Add(-time.Hour).Unix()))
	rand.Read(raw[12:])
	forged := string(plain) + "— late.example/w " + base64.StdEncoding.EncodeToString(raw) + "\n"
	_, evkey, err := tlog.NewCosignerKey(rand.Reader, "evil.example/w")
	if err != nil {
		t.Fatal(err)
	}
	serve := func(body []byte) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/"+fmt.Sprintf("%x", sha256.Sum256([]byte(cp.Origin)))+"/checkpoint" {
				http.NotFound(rw, r)
				return
			}
			rw.Write(body)
		}))
	}
	w := serve(cosigned)
	defer w.Close()
	evil := serve([]byte(forged))
	defer evil.Close()
	pol := filepath.Join(t.TempDir(), "policy")
	if err := os.WriteFile(pol, []byte("log "+vkey+"\nwitness late "+wvkey+" "+w.URL+"\nwitness evil "+evkey+" "+evil.URL+"\nquorum none\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	seen := filepath.Join(t.TempDir(), "seen")
	audit := func() (int, string) {
		code, _, stderr := runCLI(t, "audit", "--url", base, "--token", token, "--log-key", vkey, "--seen", seen, "--witness-policy", pol)
		return code, stderr
	}
	if code, stderr := audit(); code != 0 {
		t.Fatalf("first audit: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := runCLI(t, "member", "add", "--data", dir, "--name", "latecomer"); code != 0 {
		t.Fatalf("member add: exit %d\n%s", code, stderr)
	}
	waitLogSize(t, cl, v, cp.Size+1)
	code, stderr := audit()
	if code != 1 || !strings.Contains(stderr, "earlier than witness late cosigned") || !strings.Contains(stderr, "back-dated") {
		t.Fatalf("second audit: exit %d, want 1 naming the back-dated entry\n%s", code, stderr)
	}
}
