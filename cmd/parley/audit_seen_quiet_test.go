package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/parley-exchange/parley/tlog"
)

// TestAuditSeenFileQuietLog: audits of a log that doesn't change, whose
// witness cosigns its checkpoint again between them (as witnesses do
// while a log is quiet), don't grow the seen file: each audit used to
// add the same checkpoint once more with the new cosignature. What later
// audits need of them stays: the witness's first cosignature (the bound
// of the entries the tree holds) and its latest (the bound of those
// appended after it).
func TestAuditSeenFileQuietLog(t *testing.T) {
	base, token, _, vkey, v, cl := auditedDemo(t)
	ctx := context.Background()
	plain, err := cl.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := tlog.OpenCheckpoint(plain, v)
	if err != nil {
		t.Fatal(err)
	}
	wskey, wvkey, err := tlog.NewCosignerKey(rand.Reader, "quiet.example/w")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().Truncate(time.Second)
	var polls atomic.Int64
	w := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/"+fmt.Sprintf("%x", sha256.Sum256([]byte(cp.Origin)))+"/checkpoint" {
			http.NotFound(rw, r)
			return
		}
		// Cosigned again at each poll, a minute later each time.
		at := start.Add(time.Duration(polls.Add(1)) * time.Minute)
		c, err := tlog.ParseCosignerKey(wskey, func() time.Time { return at })
		if err != nil {
			http.Error(rw, err.Error(), 500)
			return
		}
		n, err := note.Open(plain, note.VerifierList(v))
		if err != nil {
			http.Error(rw, err.Error(), 500)
			return
		}
		out, err := note.Sign(n, c)
		if err != nil {
			http.Error(rw, err.Error(), 500)
			return
		}
		rw.Write(out)
	}))
	defer w.Close()
	policy := "log " + vkey + "\nwitness quiet " + wvkey + " " + w.URL + "\nquorum none\n"
	pol := filepath.Join(t.TempDir(), "policy")
	if err := os.WriteFile(pol, []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := tlog.ParsePolicy([]byte(policy))
	if err != nil {
		t.Fatal(err)
	}
	seen := filepath.Join(t.TempDir(), "seen.json")
	var counts []int
	for i := 0; i < 4; i++ {
		if code, _, stderr := runCLI(t, "audit", "--url", base, "--token", token, "--log-key", vkey, "--seen", seen, "--witness-policy", pol); code != 0 {
			t.Fatalf("audit %d: exit %d: %s", i, code, stderr)
		}
		s, err := tlog.LoadSeen(seen)
		if err != nil {
			t.Fatal(err)
		}
		counts = append(counts, len(s.Notes))
	}
	if counts[3] != counts[0] {
		t.Errorf("the seen file grew on a quiet log: %v checkpoints after each audit", counts)
	}
	s, _ := tlog.LoadSeen(seen)
	var found bool
	for _, n := range s.Notes {
		wa, err := tlog.CosignedTimes([]byte(n), v, p)
		if err != nil {
			continue
		}
		found = true
		if last := polls.Load(); !wa.Earliest.Time.Equal(start.Add(time.Minute)) || !wa.Latest.Time.Equal(start.Add(time.Duration(last)*time.Minute)) {
			t.Errorf("kept cosignatures from %s to %s, want the first (%s) and the latest (%s)", wa.Earliest.Time, wa.Latest.Time, start.Add(time.Minute), start.Add(time.Duration(last)*time.Minute))
		}
	}
	if !found {
		t.Errorf("no witness cosignature kept in the seen file")
	}
}
