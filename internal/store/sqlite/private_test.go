package sqlite

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
)

func openPrivateTestStore(t *testing.T) *Store {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "parley.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	for _, m := range []store.Member{
		{ID: "identity--p", Name: "provider", Identity: []byte("{}")},
		{ID: "identity--q", Name: "querier", Identity: []byte("{}")},
	} {
		if err := s.AddMember(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddCollection(ctx, store.Collection{ID: "c1", Title: "c", Readers: []string{"identity--p", "identity--q"}, Writers: []string{"identity--p"}}); err != nil {
		t.Fatal(err)
	}
	return s
}

func tag(b byte) []byte { return bytes.Repeat([]byte{b}, 8) }

func TestPrivateSetLifecycle(t *testing.T) {
	ctx := context.Background()
	s := openPrivateTestStore(t)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	n := store.NewPrivateSet{
		Set: store.PrivateSet{ID: "set1", Member: "identity--p", Collection: "c1", Source: store.PrivateSourceCollection,
			Suite: "ristretto255-SHA512", PrivateKey: []byte("secret"), PublicKey: []byte("public"), Created: now, Cursor: 7},
		Tags: []store.PrivateTag{{Tag: tag(3), Line: "domain-name:b.example"}, {Tag: tag(1), Line: "domain-name:a.example"}},
		Indicators: []store.IndicatorValues{
			{IndicatorID: "indicator--1", Lines: []string{"domain-name:a.example", "domain-name:b.example"}},
			{IndicatorID: "indicator--2", Lines: []string{"domain-name:b.example"}},
		},
		KeyEntry: func(i int64, received time.Time) ([]byte, error) { return []byte(`{"kind":"oprf-key"}`), nil },
		Salt:     bytes.Repeat([]byte{5}, 32), Version: now,
	}
	set, err := s.CreatePrivateSet(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	if set.KeyLogIndex != 2 || set.Size != 2 { // after the two members' registrations
		t.Fatalf("set = %+v", set)
	}
	entries, err := s.Entries(ctx, 2, 10)
	if err != nil || len(entries) != 1 || entries[0].ObjectID != "set1" || string(entries[0].Leaf) != `{"kind":"oprf-key"}` ||
		entries[0].Kind != "oprf-key" || !bytes.Equal(entries[0].Salt, n.Salt) {
		t.Fatalf("log entries = %+v, %v", entries, err)
	}
	if _, err := s.CreatePrivateSet(ctx, n); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second create = %v, want ErrConflict", err)
	}
	if size, _ := s.LogSize(ctx); size != 3 {
		t.Fatalf("a refused create changed the log: size %d", size)
	}
	bad := n
	bad.Set.ID, bad.Set.Collection = "set2", "nope"
	if _, err := s.CreatePrivateSet(ctx, bad); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("create in unknown collection = %v", err)
	}

	got, err := s.PrivateSet(ctx, "set1")
	if err != nil || got.Size != 2 || got.Cursor != 7 || !bytes.Equal(got.PublicKey, []byte("public")) || !got.Created.Equal(now) {
		t.Fatalf("PrivateSet = %+v, %v", got, err)
	}
	tags, err := s.PrivateSetTags(ctx, "set1")
	if err != nil || len(tags) != 2 || !bytes.Equal(tags[0], tag(1)) || !bytes.Equal(tags[1], tag(3)) {
		t.Fatalf("tags = %x, %v", tags, err)
	}

	// indicator--1 revoked: a.example goes, b.example stays (indicator--2 holds it).
	// indicator--3 added with c.example.
	err = s.UpdatePrivateSet(ctx, "set1", 7, 9,
		[]store.IndicatorValues{{IndicatorID: "indicator--1"}, {IndicatorID: "indicator--3", Lines: []string{"domain-name:c.example"}}},
		[]store.PrivateTag{{Tag: tag(2), Line: "domain-name:c.example"}})
	if err != nil {
		t.Fatal(err)
	}
	tags, _ = s.PrivateSetTags(ctx, "set1")
	if len(tags) != 2 || !bytes.Equal(tags[0], tag(2)) || !bytes.Equal(tags[1], tag(3)) {
		t.Fatalf("tags after update = %x", tags)
	}
	lines, err := s.PrivateSetLines(ctx, "set1")
	if err != nil || len(lines) != 2 || lines["domain-name:a.example"] != nil {
		t.Fatalf("lines = %v, %v", lines, err)
	}
	if err := s.UpdatePrivateSet(ctx, "set1", 7, 10, nil, nil); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("update from a stale cursor = %v", err)
	}
	sets, err := s.PrivateSets(ctx)
	if err != nil || len(sets) != 1 || sets[0].Cursor != 9 {
		t.Fatalf("PrivateSets = %+v, %v", sets, err)
	}
}

func TestPrivateBudget(t *testing.T) {
	ctx := context.Background()
	s := openPrivateTestStore(t)
	if _, err := s.CreatePrivateSet(ctx, store.NewPrivateSet{
		Set:      store.PrivateSet{ID: "set1", Member: "identity--p", Collection: "c1", Source: store.PrivateSourceValues, Suite: "x", PrivateKey: []byte("k"), PublicKey: []byte("p")},
		KeyEntry: func(int64, time.Time) ([]byte, error) { return []byte("{}"), nil }, Salt: tag(1),
	}); err != nil {
		t.Fatal(err)
	}
	left, err := s.SpendPrivateBudget(ctx, "set1", "identity--q", 6, 10)
	if err != nil || left != 4 {
		t.Fatalf("spend 6 of 10: left %d, %v", left, err)
	}
	left, err = s.SpendPrivateBudget(ctx, "set1", "identity--q", 5, 10)
	if !errors.Is(err, store.ErrBudgetSpent) || left != 4 {
		t.Fatalf("spend 5 more: left %d, %v; want store.ErrBudgetSpent", left, err)
	}
	if used, _ := s.PrivateBudgetUsed(ctx, "set1", "identity--q"); used != 6 {
		t.Fatalf("a refused spend was charged: used %d", used)
	}
	if left, err = s.SpendPrivateBudget(ctx, "set1", "identity--q", 4, 10); err != nil || left != 0 {
		t.Fatalf("spend the rest: %d, %v", left, err)
	}
	// Budgets are per reader.
	if left, err = s.SpendPrivateBudget(ctx, "set1", "identity--p", 1, 10); err != nil || left != 9 {
		t.Fatalf("another reader: %d, %v", left, err)
	}
}

func TestPrivateIndicatorExpiry(t *testing.T) {
	ctx := context.Background()
	s := openPrivateTestStore(t)
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	if _, err := s.CreatePrivateSet(ctx, store.NewPrivateSet{
		Set:  store.PrivateSet{ID: "set1", Member: "identity--p", Collection: "c1", Source: store.PrivateSourceCollection, Suite: "x", PrivateKey: []byte("k"), PublicKey: []byte("p")},
		Tags: []store.PrivateTag{{Tag: tag(1), Line: "domain-name:a.example"}, {Tag: tag(2), Line: "domain-name:b.example"}},
		Indicators: []store.IndicatorValues{
			{IndicatorID: "indicator--1", Lines: []string{"domain-name:a.example", "domain-name:b.example"}, Expires: t0},
			{IndicatorID: "indicator--2", Lines: []string{"domain-name:b.example"}},
		},
		KeyEntry: func(int64, time.Time) ([]byte, error) { return []byte("{}"), nil }, Salt: tag(1),
	}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.ExpirePrivateIndicators(ctx, "set1", t0.Add(-time.Second)); err != nil || n != 0 {
		t.Fatalf("before expiry: %d, %v", n, err)
	}
	n, err := s.ExpirePrivateIndicators(ctx, "set1", t0)
	if err != nil || n != 2 {
		t.Fatalf("at expiry: %d, %v", n, err)
	}
	tags, _ := s.PrivateSetTags(ctx, "set1")
	if len(tags) != 1 || !bytes.Equal(tags[0], tag(2)) {
		t.Fatalf("tags after expiry = %x; b.example is still held by indicator--2", tags)
	}
}
