//go:build linux

package node

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/parley-exchange/parley/internal/peer"
	"github.com/parley-exchange/parley/tlog"
)

// TestPeerForkEvidenceOnFullDisk: A finds that B forked while A's disk is
// full. A can't write the split-view evidence; it stops following B at
// once (before, it went on following B, and the evidence was lost for
// good unless B showed the fork again), holds the evidence in memory and
// logs it whole, and writes it, leaving no partial file, at the first
// round after space is back, recording it as the stopped peer's evidence.
// It needs a small real filesystem for the evidence: a 1 MiB tmpfs, which
// only root may mount; otherwise it skips, saying so.
func TestPeerForkEvidenceOnFullDisk(t *testing.T) {
	small := filepath.Join(t.TempDir(), "small")
	if err := os.Mkdir(small, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", small, "tmpfs", 0, "size=1m"); err != nil {
		t.Skipf("SKIPPED: couldn't mount a small tmpfs (%v); run as root to check fork evidence kept across a full disk", err)
	}
	t.Cleanup(func() { syscall.Unmount(small, 0) })
	ctx := context.Background()
	b, size := sharedOrigin(t, 20)
	a, pa := unservedFollower(t, b)
	n := a.Node
	var logged bytes.Buffer
	f, err := peer.New(peer.Config{Store: n.Store(), Dir: small, Logger: slog.New(slog.NewTextHandler(&logged, nil))}, pa)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := f.Round(ctx); err != nil || res.Next != size {
		t.Fatalf("Round = %+v, %v", res, err)
	}

	// Fill the disk.
	filler := filepath.Join(small, "filler")
	fh, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 4096)
	for {
		if _, err := fh.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	fh.Close()

	// B forks: its last entry is replaced by others.
	w, _ := b.store.(interface{ DB() (*sql.DB, *sql.DB) }).DB()
	for _, q := range []string{
		`DELETE FROM objects WHERE log_index = (SELECT max(idx) FROM log_entries)`, `DELETE FROM log_entries WHERE idx = (SELECT max(idx) FROM log_entries)`,
		`DELETE FROM log_tiles`, `DELETE FROM log_checkpoints`,
	} {
		if _, err := w.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	b.share(t, b.intel, 3)
	waitIntegratedNode(t, b.Node)

	for i := range 2 { // the fork, then a round with the disk still full
		_, err := f.Round(ctx)
		if !errors.Is(err, peer.ErrFork) || !strings.Contains(err.Error(), "no space left") {
			t.Fatalf("round %d on a full disk: %v, want the fork and ENOSPC", i, err)
		}
	}
	p := a.peerState(t, "a")
	if p.State.Stopped == "" || p.State.Evidence != "" || !strings.Contains(p.State.Stopped, "held in memory") || !f.HoldsEvidence() {
		t.Fatalf("after the fork on a full disk: state %+v, held %v", p.State, f.HoldsEvidence())
	}
	if !strings.Contains(logged.String(), "evidence_json=") || !strings.Contains(logged.String(), "parley-split-view-evidence-v1") {
		t.Fatalf("the held evidence isn't logged whole:\n%s", logged.String())
	}
	if left, _ := filepath.Glob(filepath.Join(small, "evidence", "*")); len(left) != 0 {
		t.Fatalf("files left by the failed writes: %v", left)
	}

	// Space is back: the next round writes the evidence and records it.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	res, err := f.Round(ctx)
	if !errors.Is(err, peer.ErrFork) || res.Evidence == "" {
		t.Fatalf("the round after space is back: %+v, %v", res, err)
	}
	p = a.peerState(t, "a")
	if p.State.Evidence != res.Evidence || p.State.Stopped == "" || strings.Contains(p.State.Stopped, "held in memory") || f.HoldsEvidence() {
		t.Fatalf("after the evidence was written: state %+v, held %v", p.State, f.HoldsEvidence())
	}
	ev, err := os.ReadFile(res.Evidence)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tlog.VerifyEvidence(b.VerifierKey(), ev); err != nil {
		t.Fatalf("the evidence written late doesn't verify: %v", err)
	}
	if _, err := f.Round(ctx); !errors.Is(err, peer.ErrStopped) {
		t.Fatalf("a round once the evidence is written: %v, want ErrStopped", err)
	}
}
