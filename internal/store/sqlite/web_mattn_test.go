//go:build cgo

package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
)

// TestModuleMigrationDeferred: the cgo driver lacks FTS5, so it skips
// migration 310 without recording it; the pure-Go driver then applies it
// and indexes what was stored meanwhile.
func TestModuleMigrationDeferred(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "parley.db")
	s, err := Open(ctx, path, Options{Driver: "sqlite3"})
	if err != nil {
		t.Fatal(err)
	}
	if s.hasModule(ctx, "fts5") {
		t.Skip("this cgo build has FTS5")
	}
	if err := s.AddMember(ctx, store.Member{ID: "identity--a", Name: "a", Identity: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddCollection(ctx, store.Collection{ID: "c1", Title: "c1", Readers: []string{"identity--a"}}); err != nil {
		t.Fatal(err)
	}
	raw := `{"id":"indicator--x","name":"deferred words","type":"indicator"}`
	if _, err := s.Submit(ctx, store.Submission{StatusID: "s", Collection: "c1", Member: "identity--a", Received: time.Now(),
		Items: []store.Item{{Object: store.Object{ID: "indicator--x", Type: "indicator", SpecVersion: "2.1", Version: time.Now(), Raw: []byte(raw)},
			Salt: make([]byte, 32), Entry: func(store.Object) ([]byte, error) { return []byte(raw), nil }}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.BrowseObjects(ctx, store.Browse{Collection: "c1", Text: "deferred", Limit: 10}); err == nil {
		t.Error("a text search worked without the full-text index")
	}
	s.Close()
	s, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := s.BrowseObjects(ctx, store.Browse{Collection: "c1", Text: "deferred", Limit: 10})
	if err != nil || len(p.Objects) != 1 {
		t.Fatalf("after the pure-Go driver opened it: %v %v", p.Objects, err)
	}
}
