package witness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-exchange/parley/tlog"
	"golang.org/x/mod/sumdb/note"
)

// TestMain lets the test binary run a witness server in a subprocess (for
// the kill -9 test): with WITNESS_TEST_SERVE=DIR it serves the log
// WITNESS_TEST_LOG from DIR and writes its URL to DIR/url.
func TestMain(m *testing.M) {
	if dir := os.Getenv("WITNESS_TEST_SERVE"); dir != "" {
		if err := serveForTest(dir, os.Getenv("WITNESS_TEST_LOG")); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	os.Exit(m.Run())
}

func serveForTest(dir, vkey string) error {
	skey, _, err := tlog.NewCosignerKey(seedRand("killed"), "witness.example/killed")
	if err != nil {
		return err
	}
	c, err := tlog.ParseCosignerKey(skey, nil)
	if err != nil {
		return err
	}
	w, err := Open(Config{Dir: dir, Cosigner: c, Logs: []string{vkey}, NoSync: os.Getenv("WITNESS_TEST_NOSYNC") != ""})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	if err := writeFileSync(filepath.Join(dir, "url"), []byte("http://"+ln.Addr().String()), 0o600); err != nil {
		return err
	}
	return http.Serve(ln, w.Handler())
}

// TestKill9NeverCosignsAFork runs the witness as a subprocess while
// submitters push two forks of one log (diverging after leaf 100) as fast
// as they can, and kills it with SIGKILL at random moments, restarting it
// on the same directory. Across all runs: no two inconsistent checkpoints
// are ever cosigned, and after each restart the witness's checkpoint is at
// least the largest one it had returned a cosignature for (a cosignature
// is never returned before the state is on disk). It runs with fsync
// (the default) and with Config.NoSync, whose state is only written to the
// page cache: enough for a killed process, since the kernel keeps it.
// Half the submitters pipeline, sending a checkpoint and the next one of
// the same fork at once, so the kills land among writes that carry
// checkpoints accepted against ones not yet on disk.
func TestKill9NeverCosignsAFork(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a subprocess")
	}
	t.Run("fsync", func(t *testing.T) { testKill9(t, false) })
	t.Run("no-fsync", func(t *testing.T) { testKill9(t, true) })
}

func testKill9(t *testing.T, noSync bool) {
	const common = 100
	l := newTestLog(t, "example.com/log")
	forks := []*history{l.newHistory(t, "a", common, 1500), l.newHistory(t, "b", common, 1500)}
	// roots[f][s] is fork f's root at size s.
	roots := make([][]tlog.Hash, 2)
	for f, h := range forks {
		roots[f] = make([]tlog.Hash, h.size()+1)
		for s := range roots[f] {
			r, err := tlog.TreeRoot(context.Background(), uint64(s), tlog.TileHashReader(h.size(), h))
			if err != nil {
				t.Fatal(err)
			}
			roots[f][s] = r
		}
	}
	witnessV, err := tlog.NewCosignatureVerifier(newCosignerForKill(t).VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	logV := mustV(t, l.vkey)
	dir := t.TempDir()

	type cosigned struct {
		fork int
		size uint64
	}
	var mu sync.Mutex
	var all []cosigned
	// classify returns the fork a checkpoint of that size and root is
	// on (0 for both, below the divergence).
	classify := func(cp tlog.Checkpoint) int {
		switch {
		case cp.Size <= common:
			return -1
		case cp.Hash == roots[0][cp.Size]:
			return 0
		case cp.Hash == roots[1][cp.Size]:
			return 1
		}
		t.Errorf("cosigned a checkpoint on no fork: %+v", cp)
		return -2
	}
	var total, killedMidway int
	var pipelined atomic.Int64 // pairs sent at once, both cosigned
	for round := 0; round < 6; round++ {
		os.Remove(filepath.Join(dir, "url"))
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "WITNESS_TEST_SERVE="+dir, "WITNESS_TEST_LOG="+l.vkey)
		if noSync {
			cmd.Env = append(cmd.Env, "WITNESS_TEST_NOSYNC=1")
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		url := waitForFile(t, filepath.Join(dir, "url"))
		// After a restart the witness holds at least what it cosigned.
		mu.Lock()
		var maxSize uint64
		for _, c := range all {
			maxSize = max(maxSize, c.size)
		}
		mu.Unlock()
		if round > 0 {
			n, err := (&Client{URL: url}).Checkpoint(context.Background(), "example.com/log")
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
			cp, err := tlog.OpenCheckpoint(n, logV)
			if err != nil || cp.Size < maxSize {
				t.Fatalf("round %d: the witness restarted at %+v (%v), below the cosigned size %d", round, cp, err, maxSize)
			}
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(round), uint64(g)))
				c := &Client{URL: url}
				// handle records a cosignature; false: stop submitting.
				handle := func(cpNote, sig []byte, err error) bool {
					var conflict *ConflictError
					if errors.As(err, &conflict) {
						return true
					}
					if err != nil {
						if ctx.Err() == nil && !errors.Is(err, ErrInconsistent) && !strings.Contains(err.Error(), "larger than") {
							// Connection errors mean the witness died.
							if !strings.Contains(err.Error(), "couldn't reach") {
								t.Errorf("submit: %v", err)
							}
							return false
						}
						return true
					}
					n, err := note.Open(append(bytes.Clone(cpNote), sig...), note.VerifierList(witnessV))
					if err != nil {
						t.Errorf("bad cosignature: %v", err)
						return false
					}
					cp, _ := tlog.ParseCheckpoint([]byte(n.Text))
					mu.Lock()
					all = append(all, cosigned{classify(cp), cp.Size})
					mu.Unlock()
					return true
				}
				for ctx.Err() == nil {
					f := rng.IntN(2)
					h := forks[f]
					c.mu.Lock()
					base := c.sizes["example.com/log"]
					c.mu.Unlock()
					size := min(base+1+uint64(rng.IntN(20)), h.size())
					cpNote := h.checkpointAt(t, size)
					prove := func(_ context.Context, from, to uint64) ([]tlog.Hash, error) {
						return h.proof(t, from, to), nil
					}
					if g%2 == 0 || size == h.size() {
						sig, err := c.Submit(ctx, cpNote, prove)
						if !handle(cpNote, sig, err) {
							return
						}
						continue
					}
					// Half the submitters pipeline: the next checkpoint
					// of the same fork goes out with the first, before
					// its cosignature is back.
					next := min(size+1+uint64(rng.IntN(20)), h.size())
					nextNote, nextProof := h.checkpointAt(t, next), h.proof(t, size, next)
					var sig2 []byte
					var err2 error
					done := make(chan struct{})
					go func() {
						defer close(done)
						sig2, err2 = c.AddCheckpoint(ctx, size, nextProof, nextNote)
					}()
					sig, err := c.Submit(ctx, cpNote, prove)
					<-done
					if err == nil && err2 == nil {
						pipelined.Add(1)
					}
					ok1, ok2 := handle(cpNote, sig, err), handle(nextNote, sig2, err2)
					if !ok1 || !ok2 {
						return
					}
				}
			}(g)
		}
		// Kill it after a random number of cosignatures in this run, so
		// that the kill lands among requests in flight whatever the
		// machine's load.
		target := total + 5 + rand.IntN(20)
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(time.Millisecond) {
			mu.Lock()
			n := len(all)
			mu.Unlock()
			if n >= target || time.Now().After(deadline) {
				break
			}
		}
		time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
		cmd.Process.Kill() // SIGKILL
		cmd.Wait()
		cancel()
		wg.Wait()
		mu.Lock()
		total = len(all)
		mu.Unlock()
		if total > 0 {
			killedMidway++
		}
	}
	forksSeen := map[int]bool{}
	for _, c := range all {
		if c.fork >= 0 {
			forksSeen[c.fork] = true
		}
	}
	t.Logf("%d cosignatures over 6 runs killed with SIGKILL (%d pairs pipelined); forks cosigned past the divergence: %v", total, pipelined.Load(), forksSeen)
	if forksSeen[0] && forksSeen[1] {
		t.Fatal("the witness cosigned checkpoints of both forks")
	}
	if total < 6*5 {
		t.Fatalf("only %d cosignatures: the test didn't exercise the witness", total)
	}
}

func newCosignerForKill(t *testing.T) *tlog.Cosigner {
	skey, _, err := tlog.NewCosignerKey(seedRand("killed"), "witness.example/killed")
	if err != nil {
		t.Fatal(err)
	}
	c, err := tlog.ParseCosignerKey(skey, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func waitForFile(t *testing.T, path string) string {
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, err := os.ReadFile(path)
		if err == nil && len(b) > 0 {
			return strings.TrimSpace(string(b))
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never appeared", path)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
