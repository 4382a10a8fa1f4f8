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

// TestWitnessingRefusesCosignaturesItsLogContradicts (known, open): a
// witness whose clock is an hour ahead (wrong, or a rival's witness
// stating a time on purpose) cosigned the node's checkpoint; the node
// stores that cosignature beside the honest witness's and serves it, and
// an audit of the honest node then finds the entry appended next
// "back-dated" (received an hour before a witness said the tree without
// it was the log's). A pulling witness does the same with a cosignature
// of an older tree fetched after the log grew. One witness of a quorum
// policy suffices: CosignedTimes takes the earliest and latest over all
// of them. Refusing, at the node, a cosignature that its own log
// contradicts makes this pass but hides a node whose own clock is wrong
// (TestNodeWitnessedTimeBackdated), since the node can't tell whose clock
// is wrong; the fix belongs in how the audit weighs one witness against
// the quorum. Skipped until then; remove the skip to reproduce.
func TestWitnessingRefusesCosignaturesItsLogContradicts(t *testing.T) {
	t.Skip("known, open: one policy witness's false time makes an honest node's entries look back-dated (see the doc comment)")
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
			pol, err := tlog.NewWitnessPolicy([]string{honest.VKey, vkey}, 1)
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
				integrate()
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
			if !strings.Contains(logged.String(), "clock is wrong") {
				t.Errorf("the refusal isn't logged:\n%s", logged.String())
			}
		})
	}
}
