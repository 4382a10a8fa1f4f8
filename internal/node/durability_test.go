package node

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/taxii"
	"github.com/parley-exchange/parley/tlog"
)

// childEnv names the data directory when the test binary runs as the node
// of TestKill9Durability.
const childEnv = "PARLEY_TEST_NODE_CHILD_DIR"

// TestNodeChildProcess is not a test: TestKill9Durability runs the test
// binary with only this test selected and childEnv set, making it a node
// process it can SIGKILL. Run normally, it skips.
func TestNodeChildProcess(t *testing.T) {
	dir := os.Getenv(childEnv)
	if dir == "" {
		t.Skip("helper process for TestKill9Durability")
	}
	ctx := context.Background()
	n, err := Open(ctx, dir, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	tmp := filepath.Join(dir, "addr.tmp")
	if err := os.WriteFile(tmp, []byte(ln.Addr().String()), 0o600); err != nil || os.Rename(tmp, filepath.Join(dir, "addr")) != nil {
		os.Exit(1)
	}
	// Until SIGKILL; SIGTERM stops it gracefully, as it does parley
	// serve.
	sctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM)
	defer stop()
	n.Serve(sctx, ln, nil)
	n.Close()
	os.Exit(0)
}

// startChildNode runs the test binary as a node process serving the data
// directory dir (see [TestNodeChildProcess]), with its standard error going
// to stderr (nil discards it), and waits up to 30 seconds for the address
// it listens on. It returns the running process, which the caller kills
// and waits for, and the address; when the node does not start in time it
// kills the process and fails the test, naming the round.
func startChildNode(t *testing.T, dir string, round int, stderr io.Writer) (*exec.Cmd, string) {
	t.Helper()
	addrFile := filepath.Join(dir, "addr")
	os.Remove(addrFile)
	cmd := exec.Command(os.Args[0], "-test.run=^TestNodeChildProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The child writes the file by renaming it into place, so a file that
	// can be read holds the whole address.
	var addr []byte
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && len(addr) == 0; time.Sleep(20 * time.Millisecond) {
		addr, _ = os.ReadFile(addrFile)
	}
	if len(addr) == 0 {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("round %d: the child node did not start", round)
	}
	return cmd, string(addr)
}

// TestKill9Durability pushes objects from several clients to a node in a
// child process, kills it with SIGKILL at a random moment, restarts it, and
// repeats; at the end every acknowledged object is stored with its log
// entry, the log has no gap, and every entry commits to its object.
func TestKill9Durability(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip("inside the child")
	}
	ctx := context.Background()
	n, dir := initNode(t, Options{})
	m, key, coll := addAliceShared(t, n)
	n.Close()

	rounds := 5
	if testing.Short() {
		rounds = 2
	}
	var mu sync.Mutex
	acked := map[string]bool{}
	for round := range rounds {
		cmd, addr := startChildNode(t, dir, round, os.Stderr)
		client := &taxii.Client{BaseURL: "http://" + addr, Token: m.Token}
		var wg sync.WaitGroup
		for w := range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					var objs []json.RawMessage
					for j := range 1 + mrand.IntN(20) {
						b, _ := json.Marshal(map[string]any{
							"type": "indicator", "spec_version": "2.1", "id": stix.NewIdentifier("indicator"),
							"created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
							"created_by_ref": m.ID, "name": fmt.Sprintf("r%d w%d i%d j%d", round, w, i, j),
							"pattern": "[ipv4-addr:value = '198.51.100.7']", "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
						})
						s, err := stix.Sign(b, key)
						if err != nil {
							t.Error(err)
							return
						}
						objs = append(objs, s)
					}
					st, err := client.AddObjects(ctx, coll, objs)
					if err != nil {
						return // the node died
					}
					mu.Lock()
					for _, s := range st.Successes {
						acked[s.ID] = true
					}
					mu.Unlock()
				}
			}()
		}
		time.Sleep(time.Duration(150+mrand.IntN(500)) * time.Millisecond)
		cmd.Process.Kill() // SIGKILL
		cmd.Wait()
		wg.Wait()
	}
	if len(acked) == 0 {
		t.Fatal("no submission was acknowledged")
	}

	n, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	s := n.Store()
	stored := map[string]store.Object{}
	q := store.Query{Collection: coll, Limit: 1000, Versions: []store.VersionSelector{{Kind: store.VersionAll}}}
	for {
		p, err := s.Objects(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range p.Objects {
			stored[o.ID] = o
		}
		if !p.More {
			break
		}
		q.After = p.Objects[len(p.Objects)-1].Seq
	}
	for id := range acked {
		if _, ok := stored[id]; !ok {
			t.Errorf("acknowledged object %s is lost", id)
		}
	}
	size, err := s.LogSize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := s.Entries(ctx, 0, size)
	if err != nil {
		t.Fatal(err)
	}
	objectEntries := 0
	for i, e := range entries {
		if e.Index != int64(i) {
			t.Fatalf("log gap: entry %d has index %d", i, e.Index)
		}
		if e.Kind == tlog.KindMemberKey {
			continue // the members' registrations
		}
		objectEntries++
		o, ok := stored[e.ObjectID]
		if !ok || o.LogIndex != e.Index {
			t.Errorf("entry %d names %s, which is not stored with that index", i, e.ObjectID)
			continue
		}
		le, err := tlog.ParseEntry(e.Leaf)
		if err != nil {
			t.Errorf("entry %d: %v", i, err)
			continue
		}
		if le.Commitment != tlog.ObjectCommitment(e.Opening(), o.Raw) {
			t.Errorf("entry %d does not commit to the stored object", i)
		}
	}
	if objectEntries != len(stored) {
		t.Errorf("log has %d object entries for %d objects", objectEntries, len(stored))
	}
	t.Logf("%d rounds of SIGKILL: %d acknowledged objects, %d stored, log size %d", rounds, len(acked), len(stored), size)
}
