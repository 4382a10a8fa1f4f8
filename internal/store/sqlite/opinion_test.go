package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
)

// TestOpinionRefsBackfill checks that migration 301 indexes the opinions
// stored before it, and that a stored "opinion" whose raw isn't JSON
// doesn't make Submit fail.
func TestOpinionRefsBackfill(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "parley.db")
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	w, _ := s.DB()
	// Take the store back to before migration 301.
	if _, err := w.ExecContext(ctx, `DROP TRIGGER opinion_refs_insert; DROP TABLE opinion_refs; DELETE FROM schema_migrations WHERE version = 301`); err != nil {
		t.Fatal(err)
	}
	if err := s.AddMember(ctx, store.Member{ID: "identity--a", Name: "a", Identity: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddCollection(ctx, store.Collection{ID: "c1", Title: "c1", Readers: []string{"identity--a"}, Writers: []string{"identity--a"}}); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 9, 15, 12, 0, 0, 0, time.UTC)
	put := func(s *Store, id, raw string) {
		t.Helper()
		_, err := s.Submit(ctx, store.Submission{
			StatusID: "status-" + id, Collection: "c1", Member: "identity--a", Received: t0,
			Items: []store.Item{{
				Object: store.Object{ID: id, Type: "opinion", SpecVersion: "2.1", Version: t0, Signed: true, Raw: []byte(raw)},
				Salt:   make([]byte, 32),
				Entry:  func(store.Object) ([]byte, error) { return []byte(raw), nil },
			}},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	put(s, "opinion--old", `{"id":"opinion--old","object_refs":["report--x"],"type":"opinion"}`)
	s.Close()
	if s, err = Open(ctx, path, Options{}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	put(s, "opinion--new", `{"id":"opinion--new","object_refs":["report--x",7],"type":"opinion"}`)
	put(s, "opinion--bad", `not JSON`)
	got, err := s.OpinionVersions(ctx, []string{"c1"}, "report--x", store.Bound{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != "opinion--old" || got[1].ID != "opinion--new" {
		t.Errorf("OpinionVersions = %+v", got)
	}
}
