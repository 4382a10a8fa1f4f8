package witness

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-exchange/parley/tlog"
	"golang.org/x/mod/sumdb/note"
)

// seedRand is a deterministic reader for key generation.
type seedRand string

func (r seedRand) Read(p []byte) (int, error) {
	h := sha256.Sum256([]byte(r))
	for i := range p {
		p[i] = h[i%len(h)]
	}
	return len(p), nil
}

// testLog is a log (a signing key) with any number of histories, each a
// tiled tree of leaves "<fork>-<i>" after a shared prefix.
type testLog struct {
	signer note.Signer
	vkey   string
}

func newTestLog(t testing.TB, origin string) *testLog {
	t.Helper()
	skey, vkey, err := tlog.NewNodeKey(seedRand(origin), origin)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return &testLog{signer: s, vkey: vkey}
}

// history is one tiled tree; safe for concurrent reads and appends.
type history struct {
	mu    sync.RWMutex
	b     *tlog.TileBuilder
	tiles map[[2]uint64][]byte
	log   *testLog
	fork  string
	// note is the latest signed checkpoint, served by Checkpoint.
	note []byte
}

// newHistory makes a tree of n leaves: the first `common` shared by every
// history, the rest named after fork.
func (l *testLog) newHistory(t testing.TB, fork string, common, n int) *history {
	t.Helper()
	h := &history{tiles: map[[2]uint64][]byte{}, log: l, fork: fork}
	b, err := tlog.NewTileBuilder(context.Background(), 0, h)
	if err != nil {
		t.Fatal(err)
	}
	h.b = b
	for i := 0; i < n; i++ {
		leaf := fmt.Sprintf("leaf-%d", i)
		if i >= common {
			leaf = fmt.Sprintf("%s-%d", fork, i)
		}
		h.b.Append(tlog.LeafHash([]byte(leaf)))
	}
	h.store(h.b.Flush())
	h.note = h.sign(t)
	return h
}

func (h *history) store(tiles map[tlog.Tile][]byte) {
	for t, d := range tiles {
		k := [2]uint64{uint64(t.Level), t.N}
		if len(d) > len(h.tiles[k]) {
			h.tiles[k] = d
		}
	}
}

// grow appends n leaves and signs a new checkpoint.
func (h *history) grow(t testing.TB, n int) []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := 0; i < n; i++ {
		h.b.Append(tlog.LeafHash([]byte(fmt.Sprintf("%s-%d", h.fork, h.b.Size()))))
	}
	h.store(h.b.Flush())
	h.note = h.sign(t)
	return h.note
}

func (h *history) sign(t testing.TB) []byte {
	b, err := tlog.SignCheckpoint(tlog.Checkpoint{Origin: h.log.signer.Name(), Size: h.b.Size(), Hash: h.b.Root()}, h.log.signer)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (h *history) size() uint64 {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.b.Size()
}

func (h *history) ReadTile(_ context.Context, t tlog.Tile) ([]byte, error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	d := h.tiles[[2]uint64{uint64(t.Level), t.N}]
	if len(d) < t.Width*tlog.HashSize {
		return nil, fmt.Errorf("tile %s not stored", t.Path())
	}
	return d[:t.Width*tlog.HashSize], nil
}

func (h *history) Checkpoint(context.Context) ([]byte, error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.note, nil
}

func (h *history) proof(t testing.TB, from, to uint64) []tlog.Hash {
	t.Helper()
	if from == 0 || from == to {
		return nil
	}
	p, err := tlog.ConsistencyProof(context.Background(), from, to, tlog.TileHashReader(to, h))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// checkpointAt signs the checkpoint of the history's first size leaves.
func (h *history) checkpointAt(t testing.TB, size uint64) []byte {
	t.Helper()
	root, err := tlog.TreeRoot(context.Background(), size, tlog.TileHashReader(h.size(), h))
	if err != nil {
		t.Fatal(err)
	}
	b, err := tlog.SignCheckpoint(tlog.Checkpoint{Origin: h.log.signer.Name(), Size: size, Hash: root}, h.log.signer)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// tileServer serves a history the way a Parley node serves /log/: the
// checkpoint and tiles under /log/, behind a bearer token. Swap changes the
// history it serves (a log that forks).
type tileServer struct {
	*httptest.Server
	mu  sync.Mutex
	cur *history
}

func newTileServer(t testing.TB, h *history, token string) *tileServer {
	s := &tileServer{cur: h}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		s.mu.Lock()
		h := s.cur
		s.mu.Unlock()
		switch {
		case r.URL.Path == "/log/checkpoint":
			n, _ := h.Checkpoint(r.Context())
			w.Write(n)
		case strings.HasPrefix(r.URL.Path, "/log/tile/"):
			tile, err := tlog.ParseTilePath(strings.TrimPrefix(r.URL.Path, "/log/"))
			if err != nil {
				http.NotFound(w, r)
				return
			}
			d, err := h.ReadTile(r.Context(), tile)
			if err != nil {
				http.NotFound(w, r)
				return
			}
			w.Write(d)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *tileServer) swap(h *history) {
	s.mu.Lock()
	s.cur = h
	s.mu.Unlock()
}

// newCosigner makes a witness key.
func newCosigner(t testing.TB, name string) *tlog.Cosigner {
	t.Helper()
	skey, _, err := tlog.NewCosignerKey(seedRand(name), name)
	if err != nil {
		t.Fatal(err)
	}
	c, err := tlog.ParseCosignerKey(skey, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func openWitness(t testing.TB, dir, name string, logs ...*testLog) *Witness {
	t.Helper()
	var keys []string
	for _, l := range logs {
		keys = append(keys, l.vkey)
	}
	w, err := Open(Config{Dir: dir, Cosigner: newCosigner(t, name), Logs: keys, Now: func() time.Time { return time.Unix(1800000000, 0) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}
