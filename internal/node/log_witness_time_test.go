package node

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/tlog"
	"github.com/parley-exchange/parley/witness"
)

// TestOneWitnessClockBackdatesNothing: a witness whose clock is an hour
// ahead (wrong, or a rival's witness stating a time on purpose) cosigned
// the node's checkpoint, pushed to or pulled by it; the node stores that
// cosignature beside the honest witness's and serves it (it can't tell
// whose clock is wrong: refusing it would also hide a node whose own
// clock is wrong, TestNodeWitnessedTimeBackdated). Under a policy that
// needs both witnesses, the audit of the honest node finds the entry
// appended next within its bounds: a bound is what a quorum states
// (tlog.TimeBounds), not what the witness with the latest time does.
func TestOneWitnessClockBackdatesNothing(t *testing.T) {
	for _, mode := range []string{"push", "pull"} {
		t.Run(mode, func(t *testing.T) {
			ctx := context.Background()
			n, _ := initNode(t, Options{})
			m, key, coll := addAliceShared(t, n)
			srv := httptest.NewServer(n.Handler(nil))
			t.Cleanup(srv.Close)
			ahead := func() time.Time { return time.Now().Add(time.Hour) }
			skey, vkey, err := tlog.NewCosignerKey(rand.Reader, "ahead.example")
			if err != nil {
				t.Fatal(err)
			}
			cs, err := tlog.ParseCosignerKey(skey, ahead)
			if err != nil {
				t.Fatal(err)
			}
			w, err := witness.Open(witness.Config{Dir: t.TempDir(), Cosigner: cs, Logs: []string{n.vkey}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { w.Close() })
			wsrv := httptest.NewServer(w.Handler())
			t.Cleanup(wsrv.Close)
			// An honest witness beside it, so that checkpoints are stored.
			honest := newTestWitness(t, "honest.example", n.vkey)
			n.cfg.Witnesses = []WitnessConfig{{URL: honest.URL, Key: honest.VKey}, {URL: wsrv.URL, Key: vkey, Mode: mode}}
			pol, err := tlog.NewWitnessPolicy([]string{honest.VKey, vkey}, 2)
			if err != nil {
				t.Fatal(err)
			}
			li, err := NewLogIntegrator(n, LogIntegratorOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var logged strings.Builder
			lw, err := NewLogWitnessing(n, LogWitnessingOptions{PullInterval: time.Nanosecond, Logger: slog.New(slog.NewTextHandler(&logged, nil))})
			if err != nil {
				t.Fatal(err)
			}
			integrate := func() uint64 {
				t.Helper()
				size, err := li.Integrate(ctx)
				if err != nil {
					t.Fatal(err)
				}
				return uint64(size)
			}
			step := func() {
				t.Helper()
				if _, err := lw.Step(ctx); err != nil {
					t.Fatal(err)
				}
			}
			submitOne(t, n, m, key, coll, 1)
			s1 := integrate()
			if mode == "pull" {
				// The witness cosigns the tree of size s1 (an hour
				// ahead); the log grows before the node fetches it.
				if size, err := w.PullOnce(ctx, n.vkey, &tlog.Client{URL: srv.URL, Token: m.Token}); err != nil || size != s1 {
					t.Fatalf("the witness's pull: size %d, %v", size, err)
				}
				step()
				submitOne(t, n, m, key, coll, 2)
				s2 := integrate()
				step()
				// Then it cosigns the grown tree too, so that the latest
				// checkpoint meets the policy.
				if size, err := w.PullOnce(ctx, n.vkey, &tlog.Client{URL: srv.URL, Token: m.Token}); err != nil || size != s2 {
					t.Fatalf("the witness's second pull: size %d, %v", size, err)
				}
				step()
			} else {
				step()
				submitOne(t, n, m, key, coll, 2)
				integrate()
				step()
			}
			rep, err := tlog.Audit(ctx, NewStoreAuditSource(n.store), tlog.AuditOptions{Verifier: n.verifier, Policy: pol})
			if err != nil {
				t.Fatal(err)
			}
			if !rep.OK() {
				t.Fatalf("the audit of the honest node: %v", rep.Problems)
			}
			if rep.Witnessed == 0 {
				t.Fatal("nothing witnessed")
			}
		})
	}
}
