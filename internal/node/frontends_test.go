package node

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/note"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/internal/store/postgres/pgtest"
	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/taxii"
	"github.com/parley-exchange/parley/tlog"
)

// frontEndLeaseTTL is the integrator lease of the front ends in
// TestFrontEndsKill9: short, so that the take-over it measures is quick.
const frontEndLeaseTTL = 2 * time.Second

// maxTakeOver bounds the time from the kill -9 of the integrating front
// end to another front end holding the integrator lease: the TTL plus a
// generous margin for a loaded machine.
const maxTakeOver = 15 * time.Second

// copyDataDir copies the node's data directory src (node.key, node.pub,
// config.json: files only) into a fresh directory, keeping owner-only
// modes, and returns it: a second front end of the same node.
func copyDataDir(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	des, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range des {
		if !de.Type().IsRegular() || de.Name() == "addr" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, de.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, de.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// startFrontEnd is startChildNode for a test or a benchmark: it runs the
// test binary as a node process serving dir, discarding its standard
// error, and returns it with the address it listens on.
func startFrontEnd(tb testing.TB, dir string, round int) (*exec.Cmd, string) {
	tb.Helper()
	addrFile := filepath.Join(dir, "addr")
	os.Remove(addrFile)
	cmd := exec.Command(os.Args[0], "-test.run=^TestNodeChildProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	var addr []byte
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && len(addr) == 0; time.Sleep(20 * time.Millisecond) {
		addr, _ = os.ReadFile(addrFile)
	}
	if len(addr) == 0 {
		cmd.Process.Kill()
		cmd.Wait()
		tb.Fatalf("round %d: the front end in %s did not start", round, dir)
	}
	return cmd, string(addr)
}

// frontEnd is one `parley serve` of the node, a child process.
type frontEnd struct {
	name   string
	dir    string
	cmd    *exec.Cmd
	addr   string
	client *taxii.Client
}

func (f *frontEnd) start(t testing.TB, round int, token string) {
	t.Helper()
	f.cmd, f.addr = startFrontEnd(t, f.dir, round)
	f.client = &taxii.Client{BaseURL: "http://" + f.addr, Token: token}
}

func (f *frontEnd) kill() {
	if f.cmd != nil {
		f.cmd.Process.Kill() // SIGKILL
		f.cmd.Wait()
		f.cmd = nil
	}
}

// leaseHolderPID returns the pid of the process whose integrator holds the
// unexpired integrator lease of the store at url (0: none does). The
// holder id is "host/pid/random" (NewLogIntegrator).
func leaseHolderPID(ctx context.Context, url string) (int, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var holder, expires string
	err = conn.QueryRow(ctx, `SELECT holder, expires FROM leases WHERE name = $1`, store.IntegratorLease).Scan(&holder, &expires)
	if err == pgx.ErrNoRows {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	exp, err := time.Parse(time.RFC3339Nano, expires)
	if err != nil || holder == "" || !exp.After(time.Now()) {
		return 0, nil
	}
	parts := strings.Split(holder, "/")
	if len(parts) != 3 {
		return 0, fmt.Errorf("lease holder %q is not host/pid/id", holder)
	}
	return strconv.Atoi(parts[1])
}

// waitHolder waits up to limit for the lease to be held by one of the
// given front ends and returns that one.
func waitHolder(t *testing.T, url string, limit time.Duration, fes ...*frontEnd) *frontEnd {
	t.Helper()
	ctx := context.Background()
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		pid, err := leaseHolderPID(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fes {
			if f.cmd != nil && f.cmd.Process.Pid == pid {
				return f
			}
		}
	}
	return nil
}

// checkpointLog records every signed checkpoint seen, by size, and
// reports two of one size with different roots.
type checkpointLog struct {
	t  *testing.T
	v  note.Verifier
	mu sync.Mutex
	by map[uint64]tlog.Hash
}

func (c *checkpointLog) add(where string, n []byte) {
	cp, err := tlog.OpenCheckpoint(n, c.v)
	if err != nil {
		c.t.Errorf("%s: a checkpoint that doesn't verify: %v", where, err)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if h, ok := c.by[cp.Size]; ok && h != cp.Hash {
		c.t.Errorf("%s: FORK: two checkpoints of size %d with different roots", where, cp.Size)
	}
	c.by[cp.Size] = cp.Hash
}

// frontEndCheckpoint returns the signed checkpoint a front end serves.
func frontEndCheckpoint(ctx context.Context, hc *http.Client, addr, token string) ([]byte, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/log/checkpoint", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("GET /log/checkpoint: %s", resp.Status)
	}
	return b, nil
}

// signedIndicators returns n fresh indicators signed by key, created by
// member id.
func signedIndicators(t testing.TB, id string, key ed25519.PrivateKey, n int, tag string) []json.RawMessage {
	var objs []json.RawMessage
	for j := range n {
		b, _ := json.Marshal(map[string]any{
			"type": "indicator", "spec_version": "2.1", "id": stix.NewIdentifier("indicator"),
			"created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
			"created_by_ref": id, "name": fmt.Sprintf("%s j%d", tag, j),
			"pattern": "[ipv4-addr:value = '198.51.100.7']", "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
		})
		s, err := stix.Sign(b, key)
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, s)
	}
	return objs
}

// TestFrontEndsKill9 runs two front ends of one node (the same node key
// and config.json, one PostgreSQL database) as child processes, submits
// to both concurrently, SIGKILLs the one that integrates the log, and
// checks issue #13's contract: the other takes over integration within
// maxTakeOver; every acknowledged object is stored and covered by a signed
// checkpoint; no two checkpoints (seen on either front end while it ran,
// or in the store) have one size and different roots, and each is a
// prefix of the final tree (consistency proofs verify); a TAXII cursor of
// one front end works on the other; and the killed front end, restarted,
// rejoins: it serves, and takes over integration when the other is killed.
func TestFrontEndsKill9(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		t.Skip("inside the child")
	}
	ctx := context.Background()
	url := pgtest.SchemaURL(t)
	dirA := t.TempDir()
	if _, err := Init(ctx, dirA, Config{Store: url, IntegratorLeaseTTL: Duration(frontEndLeaseTTL)}, nil); err != nil {
		t.Fatal(err)
	}
	n, err := Open(ctx, dirA, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	m, key, coll := addAliceShared(t, n)
	v, err := tlog.NewVerifier(n.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	s := n.Store()

	a := &frontEnd{name: "A", dir: dirA}
	b := &frontEnd{name: "B", dir: copyDataDir(t, dirA)}
	// Registered after SchemaURL's cleanup, so it runs first: the
	// children die before their schema is dropped.
	t.Cleanup(func() { a.kill(); b.kill() })
	a.start(t, 0, m.Token)
	b.start(t, 0, m.Token)

	seen := &checkpointLog{t: t, v: v, by: map[uint64]tlog.Hash{}}
	hc := &http.Client{Timeout: 3 * time.Second}
	stopPoll := make(chan struct{})
	var pollWG sync.WaitGroup
	for _, f := range []*frontEnd{a, b} {
		addr := f.addr
		pollWG.Add(1)
		go func() {
			defer pollWG.Done()
			for {
				select {
				case <-stopPoll:
					return
				case <-time.After(30 * time.Millisecond):
				}
				if cp, err := frontEndCheckpoint(ctx, hc, addr, m.Token); err == nil {
					seen.add("front end "+addr, cp)
				}
			}
		}()
	}

	// Clients submit to both front ends until stopped or their front end
	// dies; every acknowledged id is recorded.
	var mu sync.Mutex
	acked := map[string]bool{}
	failed := map[string]error{} // front end name → first failure
	stop := make(chan struct{})
	var wg sync.WaitGroup
	load := func(f *frontEnd) {
		for w := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					st, err := f.client.AddObjects(ctx, coll, signedIndicators(t, m.ID, key, 1+i%10, fmt.Sprintf("%s w%d i%d", f.name, w, i)))
					mu.Lock()
					if err != nil {
						if failed[f.name] == nil {
							failed[f.name] = err
						}
						mu.Unlock()
						return
					}
					for _, s := range st.Successes {
						acked[s.ID] = true
					}
					mu.Unlock()
				}
			}()
		}
	}
	load(a)
	load(b)

	time.Sleep(1500 * time.Millisecond)
	victim := waitHolder(t, url, 10*time.Second, a, b)
	if victim == nil {
		t.Fatal("neither front end holds the integrator lease")
	}
	survivor := a
	if victim == a {
		survivor = b
	}
	mu.Lock()
	before := len(acked)
	mu.Unlock()
	killed := time.Now()
	victim.kill()
	t.Logf("killed integrating front end %s with %d objects acknowledged", victim.name, before)

	if waitHolder(t, url, maxTakeOver, survivor) == nil {
		t.Fatalf("front end %s did not take over integration within %v of the kill", survivor.name, maxTakeOver)
	}
	takeOver := time.Since(killed)
	t.Logf("front end %s took over integration %v after the kill (lease TTL %v)", survivor.name, takeOver.Round(time.Millisecond), frontEndLeaseTTL)

	// Load on the survivor goes on a little past the take-over.
	time.Sleep(500 * time.Millisecond)
	close(stop)
	wg.Wait()
	mu.Lock()
	if err := failed[survivor.name]; err != nil {
		t.Errorf("a submission to the surviving front end %s failed: %v", survivor.name, err)
	}
	total := len(acked)
	mu.Unlock()
	if total <= before {
		t.Errorf("no object was acknowledged after the kill (%d before, %d in all)", before, total)
	}

	// Every acknowledged object is stored and, within a few seconds, in a
	// signed checkpoint.
	size, err := s.LogSize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var cpSize int64
	for deadline := time.Now().Add(maxTakeOver); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cpSize, _, err = s.LatestCheckpoint(ctx); err == nil && cpSize >= size {
			break
		}
	}
	if cpSize < size {
		t.Fatalf("the log holds %d entries but the latest checkpoint covers %d, %v after the load stopped", size, cpSize, maxTakeOver)
	}
	stored := map[string]int64{}
	q := store.Query{Collection: coll, Limit: 1000, Versions: []store.VersionSelector{{Kind: store.VersionAll}}}
	for {
		p, err := s.Objects(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range p.Objects {
			stored[o.ID] = o.LogIndex
		}
		if !p.More {
			break
		}
		q.After = p.Objects[len(p.Objects)-1].Seq
	}
	for id := range acked {
		idx, ok := stored[id]
		switch {
		case !ok:
			t.Errorf("acknowledged object %s is lost", id)
		case idx < 0 || idx >= cpSize:
			t.Errorf("acknowledged object %s has log index %d, not in the checkpoint of size %d", id, idx, cpSize)
		}
	}

	// The killed front end rejoins: it serves reads and writes.
	victim.start(t, 1, m.Token)
	objs := signedIndicators(t, m.ID, key, 3, "rejoined")
	st, err := victim.client.AddObjects(ctx, coll, objs)
	if err != nil || len(st.Successes) != 3 {
		t.Fatalf("the restarted front end %s didn't take a submission: %v", victim.name, err)
	}

	// A TAXII cursor from one front end works on the other.
	env1, err := a.client.Objects(ctx, coll, taxii.Query{Limit: 7})
	if err != nil {
		t.Fatal(err)
	}
	if !env1.More || env1.Next == "" {
		t.Fatalf("the first page of 7 has no cursor (more %v)", env1.More)
	}
	onB, err := b.client.Objects(ctx, coll, taxii.Query{Limit: 7, Next: env1.Next})
	if err != nil {
		t.Fatalf("front end B refused front end A's cursor: %v", err)
	}
	onA, err := a.client.Objects(ctx, coll, taxii.Query{Limit: 7, Next: env1.Next})
	if err != nil {
		t.Fatal(err)
	}
	ids := func(env *taxii.Envelope) []string {
		var out []string
		for _, o := range env.Objects {
			var x struct{ ID, Modified string }
			json.Unmarshal(o, &x)
			out = append(out, x.ID+"@"+x.Modified)
		}
		return out
	}
	if len(onB.Objects) == 0 || !slices.Equal(ids(onB), ids(onA)) {
		t.Errorf("A's cursor gives %v on B, %v on A", ids(onB), ids(onA))
	}
	for _, id := range ids(onB) {
		if slices.Contains(ids(env1), id) {
			t.Errorf("the second page repeats %s of the first", id)
		}
	}

	// Kill the survivor: the rejoined front end takes over integration and
	// covers the entries submitted to it.
	survivor.kill()
	if waitHolder(t, url, maxTakeOver, victim) == nil {
		t.Fatalf("the rejoined front end %s did not take over integration within %v", victim.name, maxTakeOver)
	}
	size, err = s.LogSize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(maxTakeOver); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cpSize, _, err = s.LatestCheckpoint(ctx); err == nil && cpSize >= size {
			break
		}
	}
	if cpSize < size {
		t.Fatalf("after the second kill the checkpoint covers %d of %d entries", cpSize, size)
	}
	if cp, err := frontEndCheckpoint(ctx, hc, victim.addr, m.Token); err != nil {
		t.Error(err)
	} else {
		seen.add("rejoined front end", cp)
	}
	close(stopPoll)
	pollWG.Wait()
	victim.kill()

	// Add every checkpoint the store keeps, then check each seen one
	// against the final tree: its root is the final tree's root at its
	// size, and the consistency proof from each to the next verifies.
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(ctx, `SELECT note FROM log_checkpoints ORDER BY size`)
	if err != nil {
		t.Fatal(err)
	}
	var notes [][]byte
	for rows.Next() {
		var nb []byte
		if err := rows.Scan(&nb); err != nil {
			t.Fatal(err)
		}
		notes = append(notes, nb)
	}
	rows.Close()
	conn.Close(ctx)
	for _, nb := range notes {
		seen.add("store", nb)
	}
	finalSize, _, err := s.LatestCheckpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hr := tlog.TileHashReader(uint64(finalSize), s)
	sizes := make([]uint64, 0, len(seen.by))
	for sz := range seen.by {
		sizes = append(sizes, sz)
	}
	slices.Sort(sizes)
	for i, sz := range sizes {
		root, err := tlog.TreeRoot(ctx, sz, hr)
		if err != nil {
			t.Fatalf("root at %d: %v", sz, err)
		}
		if root != seen.by[sz] {
			t.Errorf("the checkpoint of size %d isn't a prefix of the final tree", sz)
		}
		if i > 0 && sizes[i-1] > 0 {
			p, err := tlog.ConsistencyProof(ctx, sizes[i-1], sz, hr)
			if err != nil {
				t.Fatal(err)
			}
			if err := tlog.VerifyConsistency(sizes[i-1], sz, p, seen.by[sizes[i-1]], seen.by[sz]); err != nil {
				t.Errorf("checkpoints %d and %d: %v", sizes[i-1], sz, err)
			}
		}
	}
	t.Logf("%d objects acknowledged, %d distinct checkpoints checked (final size %d), %d stored checkpoints", len(acked), len(sizes), finalSize, len(notes))
}

// TestIntegratorLeaseTTLConfig: config.json's integrator_lease_ttl is the
// integrator's lease TTL, 10 s when absent.
func TestIntegratorLeaseTTLConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		ttl  Duration
		want time.Duration
	}{
		{"default", 0, DefaultIntegratorLeaseTTL},
		{"set", Duration(3 * time.Second), 3 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			cfg := testStoreConfig(t)
			cfg.IntegratorLeaseTTL = tc.ttl
			if _, err := Init(ctx, dir, cfg, nil); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(filepath.Join(dir, ConfigFile))
			if err != nil {
				t.Fatal(err)
			}
			if tc.ttl != 0 && !strings.Contains(string(b), `"integrator_lease_ttl": "3s"`) {
				t.Errorf("config.json doesn't hold the TTL:\n%s", b)
			}
			n, err := Open(ctx, dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer n.Close()
			li, err := NewLogIntegrator(n, LogIntegratorOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if li.opts.LeaseTTL != tc.want {
				t.Errorf("lease TTL %v, want %v", li.opts.LeaseTTL, tc.want)
			}
		})
	}
}
