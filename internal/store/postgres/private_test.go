package postgres

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
)

// openPrivateTestStore returns a store (and its URL, to open others on
// the same schema) with members provider and querier and collection c1.
func openPrivateTestStore(t *testing.T) (*Store, string) {
	t.Helper()
	ctx := context.Background()
	url := testURL(t)
	s := openTest(t, url, Options{})
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
	return s, url
}

func tag(b byte) []byte { return bytes.Repeat([]byte{b}, 8) }

func valuesSet(id string) store.NewPrivateSet {
	return store.NewPrivateSet{
		Set:      store.PrivateSet{ID: id, Member: "identity--p", Collection: "c1", Source: store.PrivateSourceValues, Suite: "x", PrivateKey: []byte("k"), PublicKey: []byte("p")},
		KeyEntry: func(int64, time.Time) ([]byte, error) { return []byte("{}"), nil }, Salt: tag(1),
	}
}

func TestPrivateSetLifecycle(t *testing.T) {
	ctx := context.Background()
	s, _ := openPrivateTestStore(t)
	now := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)
	var keyIndex int64 = -1
	var keyReceived time.Time
	n := store.NewPrivateSet{
		Set: store.PrivateSet{ID: "set1", Member: "identity--p", Collection: "c1", Source: store.PrivateSourceCollection,
			Suite: "ristretto255-SHA512", PrivateKey: []byte("secret"), PublicKey: []byte("public"), Created: now, Cursor: 7},
		Tags: []store.PrivateTag{{Tag: tag(3), Line: "domain-name:b.example"}, {Tag: tag(1), Line: "domain-name:a.example"}, {Tag: tag(3), Line: "domain-name:b.example"}},
		Indicators: []store.IndicatorValues{
			{IndicatorID: "indicator--1", Lines: []string{"domain-name:a.example", "domain-name:b.example"}},
			{IndicatorID: "indicator--2", Lines: []string{"domain-name:b.example"}},
		},
		KeyEntry: func(i int64, received time.Time) ([]byte, error) {
			keyIndex, keyReceived = i, received
			return []byte(`{"kind":"oprf-key"}`), nil
		},
		Salt: bytes.Repeat([]byte{5}, 32), Version: now,
	}
	set, err := s.CreatePrivateSet(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	if set.KeyLogIndex != 2 || keyIndex != 2 || set.Size != 2 { // after the two members' registrations
		t.Fatalf("set = %+v (KeyEntry called with %d)", set, keyIndex)
	}
	entries, err := s.Entries(ctx, 2, 10)
	if err != nil || len(entries) != 1 || entries[0].ObjectID != "set1" || string(entries[0].Leaf) != `{"kind":"oprf-key"}` ||
		entries[0].Kind != "oprf-key" || !bytes.Equal(entries[0].Salt, n.Salt) || !entries[0].Received.Equal(keyReceived) ||
		!entries[0].Version.Equal(now) || entries[0].Member != "identity--p" || entries[0].Collection != "c1" {
		t.Fatalf("log entries = %+v, %v", entries, err)
	}
	if _, err := s.CreatePrivateSet(ctx, n); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second create = %v, want ErrConflict", err)
	}
	if size, _ := s.LogSize(ctx); size != 3 {
		t.Fatalf("a refused create changed the log: size %d", size)
	}
	for _, bad := range []func(*store.NewPrivateSet){
		func(b *store.NewPrivateSet) { b.Set.Collection = "nope" },
		func(b *store.NewPrivateSet) { b.Set.Member = "identity--nope" },
	} {
		b := n
		b.Set.ID = "set2"
		bad(&b)
		if _, err := s.CreatePrivateSet(ctx, b); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("create with %s/%s = %v, want ErrNotFound", b.Set.Collection, b.Set.Member, err)
		}
	}
	b := n
	b.Set.ID, b.Set.PrivateKey = "set2", nil
	if _, err := s.CreatePrivateSet(ctx, b); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("create without a key = %v, want ErrInvalid", err)
	}
	b = n
	b.Set.ID, b.KeyEntry = "set2", func(int64, time.Time) ([]byte, error) { return nil, errors.New("no entry") }
	if _, err := s.CreatePrivateSet(ctx, b); err == nil {
		t.Fatal("create with a failing KeyEntry: no error")
	}
	if size, _ := s.LogSize(ctx); size != 3 {
		t.Fatalf("a refused create changed the log: size %d", size)
	}
	if _, err := s.PrivateSet(ctx, "set2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused create left its set: %v", err)
	}

	got, err := s.PrivateSet(ctx, "set1")
	if err != nil || got.Size != 2 || got.Cursor != 7 || !bytes.Equal(got.PublicKey, []byte("public")) || !bytes.Equal(got.PrivateKey, []byte("secret")) ||
		!got.Created.Equal(now) || got.KeyLogIndex != 2 || got.Source != store.PrivateSourceCollection {
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
	if err != nil || len(lines) != 2 || lines["domain-name:a.example"] != nil || !bytes.Equal(lines["domain-name:c.example"], tag(2)) {
		t.Fatalf("lines = %v, %v", lines, err)
	}
	if err := s.UpdatePrivateSet(ctx, "set1", 7, 10, nil, nil); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("update from a stale cursor = %v", err)
	}
	if err := s.UpdatePrivateSet(ctx, "nope", 0, 10, nil, nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update of an unknown set = %v", err)
	}
	if _, err := s.CreatePrivateSet(ctx, valuesSet("set0")); err != nil {
		t.Fatal(err)
	}
	sets, err := s.PrivateSets(ctx)
	if err != nil || len(sets) != 2 || sets[0].ID != "set0" || sets[1].Cursor != 9 || sets[1].Size != 2 { // set0's Created is zero: first
		t.Fatalf("PrivateSets = %+v, %v", sets, err)
	}
}

// TestPrivateSetLarge: a set of more tags than one INSERT carries is
// stored whole, and PrivateSetTagsAfter pages through it in order.
func TestPrivateSetLarge(t *testing.T) {
	ctx := context.Background()
	s, _ := openPrivateTestStore(t)
	const total = 2*privateBatch + 123
	n := valuesSet("big")
	for i := range total {
		tg := make([]byte, 8)
		binary.BigEndian.PutUint64(tg, uint64(i)*0x9E3779B97F4A7C15) // scattered, distinct
		n.Tags = append(n.Tags, store.PrivateTag{Tag: tg})
	}
	set, err := s.CreatePrivateSet(ctx, n)
	if err != nil || set.Size != total {
		t.Fatalf("create: %+v, %v", set, err)
	}
	var all [][]byte
	var after []byte
	pages := 0
	for {
		page, err := s.PrivateSetTagsAfter(ctx, "big", after, privateBatch)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		pages++
		if len(page) < privateBatch {
			break
		}
		after = page[len(page)-1]
	}
	if len(all) != total || pages != 3 || !slices.IsSortedFunc(all, bytes.Compare) {
		t.Fatalf("paged %d tags in %d pages (sorted %v)", len(all), pages, slices.IsSortedFunc(all, bytes.Compare))
	}
	for i := 1; i < len(all); i++ {
		if bytes.Equal(all[i-1], all[i]) {
			t.Fatal("a tag twice")
		}
	}
	if _, err := s.PrivateSetTagsAfter(ctx, "big", nil, 0); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("limit 0: %v", err)
	}
	if page, err := s.PrivateSetTagsAfter(ctx, "nope", nil, 10); err != nil || len(page) != 0 {
		t.Fatalf("unknown set: %v %v", page, err)
	}
}

func TestPrivateBudget(t *testing.T) {
	ctx := context.Background()
	s, _ := openPrivateTestStore(t)
	if _, err := s.CreatePrivateSet(ctx, valuesSet("set1")); err != nil {
		t.Fatal(err)
	}
	left, err := s.SpendPrivateBudget(ctx, "set1", "identity--q", 6, 10)
	if err != nil || left != 4 {
		t.Fatalf("spend 6 of 10: left %d, %v", left, err)
	}
	left, err = s.SpendPrivateBudget(ctx, "set1", "identity--q", 5, 10)
	if !errors.Is(err, store.ErrBudgetSpent) || left != 4 {
		t.Fatalf("spend 5 more: left %d, %v; want ErrBudgetSpent", left, err)
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
	// More than the whole budget at once: nothing charged.
	if left, err = s.SpendPrivateBudget(ctx, "set1", "identity--x", 11, 10); !errors.Is(err, store.ErrBudgetSpent) || left != 10 {
		t.Fatalf("more than the budget: %d, %v", left, err)
	}
	if used, _ := s.PrivateBudgetUsed(ctx, "set1", "identity--x"); used != 0 {
		t.Fatalf("a refused first spend was charged: used %d", used)
	}
	if _, err = s.SpendPrivateBudget(ctx, "set1", "identity--q", -1, 10); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("a refund: %v", err)
	}
	if _, err = s.SpendPrivateBudget(ctx, "nope", "identity--q", 1, 10); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("an unknown set: %v", err)
	}
}

// TestPrivateBudgetFrontEnds: many spenders on two front ends (two stores,
// each with its own pool, on one database) never charge more than the
// budget in total, and the budget is spent to the last element.
func TestPrivateBudgetFrontEnds(t *testing.T) {
	ctx := context.Background()
	s1, url := openPrivateTestStore(t)
	s2 := openTest(t, url, Options{})
	if _, err := s1.CreatePrivateSet(ctx, valuesSet("set1")); err != nil {
		t.Fatal(err)
	}
	const limit, spenders = 500, 24
	var mu sync.Mutex
	var charged int64
	lefts := map[int64]bool{}
	var wg sync.WaitGroup
	errs := make(chan error, 2*spenders)
	for i := range spenders {
		s := s1
		if i%2 == 1 {
			s = s2
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := int64(i%5 + 1)
			for {
				left, err := s.SpendPrivateBudget(ctx, "set1", "identity--q", n, limit)
				if errors.Is(err, store.ErrBudgetSpent) {
					if n == 1 {
						return
					}
					n = 1 // spend what is left one element at a time
					continue
				}
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				charged += n
				over := charged > limit
				if lefts[left] {
					errs <- fmt.Errorf("two charges left %d: they saw the same budget", left)
					over = true
				}
				lefts[left] = true
				mu.Unlock()
				if over {
					return // lost updates: the budget may never fill up
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	used, err := s2.PrivateBudgetUsed(ctx, "set1", "identity--q")
	if err != nil {
		t.Fatal(err)
	}
	if charged != limit || used != limit {
		t.Fatalf("charged %d, stored %d; want exactly the budget, %d", charged, used, limit)
	}
}

// TestPrivateUpdateFrontEnds: two front ends updating a set from the same
// cursor at once: exactly one wins, the other gets ErrConflict.
func TestPrivateUpdateFrontEnds(t *testing.T) {
	ctx := context.Background()
	s1, url := openPrivateTestStore(t)
	s2 := openTest(t, url, Options{})
	n := valuesSet("set1")
	n.Set.Source = store.PrivateSourceCollection
	if _, err := s1.CreatePrivateSet(ctx, n); err != nil {
		t.Fatal(err)
	}
	for round := int64(0); round < 10; round++ {
		var wg sync.WaitGroup
		results := make([]error, 2)
		for i, s := range []*Store{s1, s2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				line := fmt.Sprintf("domain-name:%d-%d.example", round, i)
				results[i] = s.UpdatePrivateSet(ctx, "set1", round, round+1,
					[]store.IndicatorValues{{IndicatorID: fmt.Sprint("indicator--", round), Lines: []string{line}}},
					[]store.PrivateTag{{Tag: []byte(line), Line: line}})
			}()
		}
		wg.Wait()
		ok, conflict := 0, 0
		for _, err := range results {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, store.ErrConflict):
				conflict++
			default:
				t.Fatal(err)
			}
		}
		if ok != 1 || conflict != 1 {
			t.Fatalf("round %d: %d updates won, %d conflicted", round, ok, conflict)
		}
	}
	set, err := s2.PrivateSet(ctx, "set1")
	if err != nil || set.Cursor != 10 || set.Size != 10 {
		t.Fatalf("after the rounds: %+v, %v", set, err)
	}
}

func TestPrivateIndicatorExpiry(t *testing.T) {
	ctx := context.Background()
	s, _ := openPrivateTestStore(t)
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	n := valuesSet("set1")
	n.Set.Source = store.PrivateSourceCollection
	n.Tags = []store.PrivateTag{{Tag: tag(1), Line: "domain-name:a.example"}, {Tag: tag(2), Line: "domain-name:b.example"}}
	n.Indicators = []store.IndicatorValues{
		{IndicatorID: "indicator--1", Lines: []string{"domain-name:a.example", "domain-name:b.example"}, Expires: t0},
		{IndicatorID: "indicator--2", Lines: []string{"domain-name:b.example"}},
	}
	if _, err := s.CreatePrivateSet(ctx, n); err != nil {
		t.Fatal(err)
	}
	if n, err := s.ExpirePrivateIndicators(ctx, "set1", t0.Add(-time.Second)); err != nil || n != 0 {
		t.Fatalf("before expiry: %d, %v", n, err)
	}
	n2, err := s.ExpirePrivateIndicators(ctx, "set1", t0)
	if err != nil || n2 != 2 {
		t.Fatalf("at expiry: %d, %v", n2, err)
	}
	tags, _ := s.PrivateSetTags(ctx, "set1")
	if len(tags) != 1 || !bytes.Equal(tags[0], tag(2)) {
		t.Fatalf("tags after expiry = %x; b.example is still held by indicator--2", tags)
	}
	if n, err := s.ExpirePrivateIndicators(ctx, "set1", t0.Add(time.Hour)); err != nil || n != 0 {
		t.Fatalf("again: %d, %v", n, err)
	}
}
