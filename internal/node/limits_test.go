package node

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store/sqlite"
	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/taxii"
)

// TestFileModes checks that the data directory is 0700 and every file in
// it 0600: after Init into a directory that existed with 0755, after
// submissions and a checkpoint (SQLite's -wal and -shm files exist then),
// and after Open finds files loosened by hand.
func TestFileModes(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil { // whatever the umask
		t.Fatal(err)
	}
	if _, err := Init(ctx, dir, Config{}, nil); err != nil {
		t.Fatal(err)
	}
	checkModes := func(when string, wantFiles ...string) {
		t.Helper()
		fi, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != 0o700 {
			t.Errorf("%s: %s has mode %o, want 700", when, dir, got)
		}
		seen := map[string]bool{}
		err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if path == dir {
				return nil
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			seen[d.Name()] = true
			want := fs.FileMode(0o600)
			if d.IsDir() {
				want = 0o700
			}
			if got := fi.Mode().Perm(); got != want {
				t.Errorf("%s: %s has mode %o, want %o", when, path, got, want)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range wantFiles {
			if !seen[f] {
				t.Errorf("%s: no %s in the data directory (the walk checked nothing for it)", when, f)
			}
		}
	}
	checkModes("after init", ConfigFile, KeyFile, PubKeyFile, StoreFile)

	n, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, key, coll := addAliceShared(t, n)
	c, err := n.store.Collection(ctx, coll)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := n.Submit(ctx, m.ID, c, []json.RawMessage{indicator(t, m.ID, key, t0.Add(time.Duration(i)*time.Second))}); err != nil {
			t.Fatal(err)
		}
	}
	li, err := NewLogIntegrator(n, LogIntegratorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := li.Integrate(ctx); err != nil {
		t.Fatal(err)
	}
	// The node is open: its -wal and -shm files exist now.
	checkModes("after submissions and a checkpoint", StoreFile, StoreFile+"-wal", StoreFile+"-shm")
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}

	// Loosened by hand (or made by an older version): Open tightens.
	for _, f := range []string{dir, filepath.Join(dir, StoreFile)} {
		if err := os.Chmod(f, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	n, err = Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	fi, _ := os.Stat(filepath.Join(dir, StoreFile))
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("reopened: %s has mode %o, want 600", StoreFile, got)
	}
	fi, _ = os.Stat(dir)
	if got := fi.Mode().Perm(); got != 0o700 {
		t.Errorf("reopened: the data directory has mode %o, want 700", got)
	}
}

// limitNode is a served node with configuration cfg, members alice and
// bob (with keys) and collections one and two that both read and write.
type limitNode struct {
	*Node
	URL        string
	alice, bob testMember
	one, two   string
}

func newLimitNode(t testing.TB, cfg Config) *limitNode {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := Init(ctx, dir, cfg, nil); err != nil {
		t.Fatal(err)
	}
	n, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ln := &limitNode{Node: n}
	add := func(name string) testMember {
		pub, priv, _ := ed25519.GenerateKey(rand.Reader)
		nm, err := n.AddMember(ctx, name, pub)
		if err != nil {
			t.Fatal(err)
		}
		return testMember{ID: nm.ID, Token: nm.Token, Key: priv}
	}
	ln.alice, ln.bob = add("alice"), add("bob")
	for _, c := range []*string{&ln.one, &ln.two} {
		if *c, err = n.AddCollection(ctx, "c", "", []string{"alice", "bob"}, []string{"alice", "bob"}, ""); err != nil {
			t.Fatal(err)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.URL = "http://" + l.Addr().String()
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- n.Serve(sctx, l, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		n.Close()
	})
	for _, m := range []*testMember{&ln.alice, &ln.bob} {
		m.Client = &taxii.Client{BaseURL: ln.URL, Token: m.Token}
	}
	return ln
}

var sizedN atomic.Int64

// sizedIndicator returns an indicator by m, signed, whose JSON (as sent
// and in canonical form) is exactly size bytes.
func sizedIndicator(t testing.TB, m testMember, size int) json.RawMessage {
	t.Helper()
	id := fmt.Sprintf("indicator--%08d-0000-4000-8000-000000000000", sizedN.Add(1))
	build := func(pad int) json.RawMessage {
		b, err := json.Marshal(map[string]any{
			"type": "indicator", "spec_version": "2.1", "id": id,
			"created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
			"created_by_ref": m.ID, "name": "sized", "description": strings.Repeat("x", pad),
			"pattern": "[domain-name:value = 'evil.example']", "pattern_type": "stix",
			"valid_from": "2026-01-01T00:00:00Z",
		})
		if err != nil {
			t.Fatal(err)
		}
		signed, err := stix.Sign(b, m.Key)
		if err != nil {
			t.Fatal(err)
		}
		return signed
	}
	base := len(build(0))
	if size < base {
		t.Fatalf("an indicator can't be smaller than %d bytes", base)
	}
	o := build(size - base)
	if len(o) != size {
		t.Fatalf("sized indicator is %d bytes, want %d", len(o), size)
	}
	return o
}

// postRaw posts objects as one envelope and returns the status code and
// the decoded TAXII error (zero on success).
func postRaw(t testing.TB, url, token, coll string, objs ...json.RawMessage) (int, taxii.Error) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"objects": objs})
	req, _ := http.NewRequest(http.MethodPost, url+"/api/collections/"+coll+"/objects/", bytes.NewReader(body))
	req.Header.Set("Accept", taxii.MediaType)
	req.Header.Set("Content-Type", taxii.MediaType)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e taxii.Error
	if resp.StatusCode >= 300 {
		if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
			t.Fatalf("%d without a TAXII error: %v", resp.StatusCode, err)
		}
	}
	return resp.StatusCode, e
}

// TestMaxObjectSize checks that an object over max_object_size refuses the
// whole request with 413 and a TAXII error, and that nothing is stored,
// while an object of exactly the limit is accepted.
func TestMaxObjectSize(t *testing.T) {
	const limit = 4096
	ln := newLimitNode(t, Config{MaxObjectSize: limit})
	size := func() int64 {
		n, err := ln.store.LogSize(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	small, big := sizedIndicator(t, ln.alice, 1000), sizedIndicator(t, ln.alice, limit+1)
	code, e := postRaw(t, ln.URL, ln.alice.Token, ln.one, small, big)
	if code != http.StatusRequestEntityTooLarge || e.HTTPStatus != "413" || !strings.Contains(e.Description, "max_object_size (4096 bytes)") || !strings.Contains(e.Description, "objects[1]") {
		t.Fatalf("over the limit: %d %+v", code, e)
	}
	if n := size(); n != 0 {
		t.Errorf("a refused request stored %d entries", n)
	}
	if u, _ := ln.store.(*sqlite.Store).Usage(context.Background(), ln.alice.ID); u != 0 {
		t.Errorf("a refused request counted %d bytes", u)
	}
	// The Go client sees ErrTooLarge.
	if _, err := ln.alice.Client.AddObjects(context.Background(), ln.one, []json.RawMessage{big}); !errors.Is(err, taxii.ErrTooLarge) {
		t.Errorf("client: %v, want ErrTooLarge", err)
	}
	if st := post(t, ln.alice.Client, ln.one, sizedIndicator(t, ln.alice, limit)); st.SuccessCount != 1 {
		t.Errorf("an object of exactly max_object_size: %+v", st)
	}
}

// TestMaxObjectSizeCanonical checks the limit on the stored form: an
// object under the limit as sent whose canonical JSON (RFC 8785 writes
// 1e20 as 100000000000000000000) is over it is refused with 413 too.
func TestMaxObjectSizeCanonical(t *testing.T) {
	const limit = 2048
	ln := newLimitNode(t, Config{MaxObjectSize: limit})
	nums := strings.TrimSuffix(strings.Repeat("1e20,", 120), ",")
	b := []byte(`{"type":"x-numbers","spec_version":"2.1","id":"x-numbers--6f3c1a2e-0000-4000-8000-000000000001","created_by_ref":"` + ln.alice.ID + `","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","values":[` + nums + `]}`)
	canon, err := stix.Sign(b, ln.alice.Key) // the signature covers the canonical form
	if err != nil {
		t.Fatal(err)
	}
	// Sent with the short spelling; the signature still verifies.
	signed := bytes.ReplaceAll(canon, []byte("100000000000000000000"), []byte("1e20"))
	if len(signed) > limit || len(canon) <= limit {
		t.Fatalf("test object: %d bytes sent, %d canonical; want ≤ %d < canonical", len(signed), len(canon), limit)
	}
	code, e := postRaw(t, ln.URL, ln.alice.Token, ln.one, signed)
	if code != http.StatusRequestEntityTooLarge || !strings.Contains(e.Description, "canonical") {
		t.Fatalf("canonical over the limit: %d %+v", code, e)
	}
	if n, _ := ln.store.LogSize(context.Background()); n != 0 {
		t.Errorf("a refused request stored %d entries", n)
	}
}

// TestMemberQuota checks the per-member quota over HTTP: it counts across
// collections, a submission over it is refused whole with 507 and a TAXII
// error titled "storage quota exceeded" that says the use, nothing is
// stored, and another member is not affected.
func TestMemberQuota(t *testing.T) {
	const quota = 10000
	ln := newLimitNode(t, Config{MemberQuotaBytes: quota})
	ctx := context.Background()
	st := ln.store.(*sqlite.Store)
	post(t, ln.alice.Client, ln.one, sizedIndicator(t, ln.alice, 4000))
	post(t, ln.alice.Client, ln.two, sizedIndicator(t, ln.alice, 4000))
	before, _ := st.LogSize(ctx)
	code, e := postRaw(t, ln.URL, ln.alice.Token, ln.two, sizedIndicator(t, ln.alice, 1000), sizedIndicator(t, ln.alice, 1001))
	if code != http.StatusInsufficientStorage || e.HTTPStatus != "507" || e.Title != "storage quota exceeded" ||
		!strings.Contains(e.Description, "use 8000 of your 10000 bytes") || !strings.Contains(e.Description, "need 2001 more") {
		t.Fatalf("over the quota: %d %+v", code, e)
	}
	if after, _ := st.LogSize(ctx); after != before {
		t.Errorf("the log grew from %d to %d on a refused submission", before, after)
	}
	if u, _ := st.Usage(ctx, ln.alice.ID); u != 8000 {
		t.Errorf("alice uses %d bytes, want 8000", u)
	}
	if _, err := ln.alice.Client.AddObjects(ctx, ln.one, []json.RawMessage{sizedIndicator(t, ln.alice, 2001)}); !errors.Is(err, taxii.ErrInsufficientStorage) {
		t.Errorf("client: %v, want ErrInsufficientStorage", err)
	}
	if s := post(t, ln.alice.Client, ln.one, sizedIndicator(t, ln.alice, 2000)); s.SuccessCount != 1 {
		t.Errorf("up to the quota: %+v", s)
	}
	if s := post(t, ln.bob.Client, ln.one, sizedIndicator(t, ln.bob, 4000)); s.SuccessCount != 1 {
		t.Errorf("bob has a quota of his own: %+v", s)
	}
}
