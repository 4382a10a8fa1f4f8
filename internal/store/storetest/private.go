package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/tlog"
)

func tag(b byte) []byte { return bytes.Repeat([]byte{b}, 8) }

// valuesSet is a set of fixed values with the given tags, published by m
// in coll.
func valuesSet(id string, m store.Member, coll string, tags ...[]byte) store.NewPrivateSet {
	n := store.NewPrivateSet{
		Set: store.PrivateSet{ID: id, Member: m.ID, Collection: coll, Source: store.PrivateSourceValues, Suite: "x",
			PrivateKey: []byte("k"), PublicKey: []byte("p"), Created: base},
		KeyEntry: func(int64, time.Time) ([]byte, error) { return []byte(`{"kind":"oprf-key"}`), nil },
		Salt:     tag(1), Version: base,
	}
	for _, t := range tags {
		n.Tags = append(n.Tags, store.PrivateTag{Tag: t})
	}
	return n
}

// testPrivateSetLifecycle: creation appends the key entry and stores the
// set, its tags and lines; refused creations change nothing; an update
// follows revocations and new lines and refuses a stale cursor.
func testPrivateSetLifecycle(t *testing.T, s store.Store) {
	alice, _, coll := fixture(t, s)
	before, err := s.LogSize(ctx)
	must(t, err)
	var gotIndex int64 = -1
	var gotReceived time.Time
	n := store.NewPrivateSet{
		Set: store.PrivateSet{ID: "set1", Member: alice.ID, Collection: coll, Source: store.PrivateSourceCollection,
			Suite: "ristretto255-SHA512", PrivateKey: []byte("secret"), PublicKey: []byte("public"), Created: base, Cursor: 7},
		Tags: []store.PrivateTag{{Tag: tag(3), Line: "domain-name:b.example"}, {Tag: tag(1), Line: "domain-name:a.example"}},
		Indicators: []store.IndicatorValues{
			{IndicatorID: "indicator--1", Lines: []string{"domain-name:a.example", "domain-name:b.example"}},
			{IndicatorID: "indicator--2", Lines: []string{"domain-name:b.example"}},
		},
		KeyEntry: func(i int64, received time.Time) ([]byte, error) {
			gotIndex, gotReceived = i, received
			return []byte(`{"kind":"oprf-key"}`), nil
		},
		Salt: bytes.Repeat([]byte{5}, 32), Version: base,
	}
	set, err := s.CreatePrivateSet(ctx, n)
	must(t, err)
	if set.KeyLogIndex != before || gotIndex != before || set.Size != 2 || set.Source != store.PrivateSourceCollection {
		t.Fatalf("set = %+v (KeyEntry given index %d), want key entry %d and 2 tags", set, gotIndex, before)
	}
	es, err := s.Entries(ctx, before, before+10)
	if err != nil || len(es) != 1 {
		t.Fatalf("log entries = %+v, %v", es, err)
	}
	if e := es[0]; e.Index != before || e.ObjectID != "set1" || e.Collection != coll || e.Member != alice.ID || string(e.Leaf) != `{"kind":"oprf-key"}` ||
		e.Kind != tlog.KindOPRFKey || !bytes.Equal(e.Salt, n.Salt) || !e.Version.Equal(base) || !e.Received.Equal(gotReceived) {
		t.Fatalf("key entry = %+v", e)
	}
	// Refused creations change nothing.
	for _, tc := range []struct {
		name string
		edit func(*store.NewPrivateSet)
		want error
	}{
		{"taken id", func(*store.NewPrivateSet) {}, store.ErrConflict},
		{"unknown collection", func(n *store.NewPrivateSet) { n.Set.ID, n.Set.Collection = "set2", "nope" }, store.ErrNotFound},
		{"no id", func(n *store.NewPrivateSet) { n.Set.ID = "" }, store.ErrInvalid},
		{"no key", func(n *store.NewPrivateSet) { n.Set.ID, n.Set.PrivateKey = "set3", nil }, store.ErrInvalid},
		{"no entry", func(n *store.NewPrivateSet) { n.Set.ID, n.KeyEntry = "set4", nil }, store.ErrInvalid},
	} {
		bad := n
		tc.edit(&bad)
		if _, err := s.CreatePrivateSet(ctx, bad); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if size, _ := s.LogSize(ctx); size != before+1 {
		t.Fatalf("refused creations changed the log: size %d, want %d", size, before+1)
	}
	if sets, err := s.PrivateSets(ctx); err != nil || len(sets) != 1 {
		t.Fatalf("refused creations stored sets: %+v %v", sets, err)
	}
	got, err := s.PrivateSet(ctx, "set1")
	if err != nil || got.Size != 2 || got.Cursor != 7 || got.Member != alice.ID || got.Suite != "ristretto255-SHA512" ||
		!bytes.Equal(got.PublicKey, []byte("public")) || !bytes.Equal(got.PrivateKey, []byte("secret")) || !got.Created.Equal(base) || got.KeyLogIndex != before {
		t.Fatalf("PrivateSet = %+v, %v", got, err)
	}
	if _, err := s.PrivateSet(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown set: %v", err)
	}
	if coll, member, err := s.PrivateSetOwner(ctx, "set1"); err != nil || coll != got.Collection || member != alice.ID {
		t.Fatalf("PrivateSetOwner = %q, %q, %v; want %q, %q", coll, member, err, got.Collection, alice.ID)
	}
	if _, _, err := s.PrivateSetOwner(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("PrivateSetOwner of an unknown set: %v", err)
	}
	tags, err := s.PrivateSetTags(ctx, "set1")
	if err != nil || len(tags) != 2 || !bytes.Equal(tags[0], tag(1)) || !bytes.Equal(tags[1], tag(3)) {
		t.Fatalf("tags = %x, %v", tags, err)
	}
	if tags, err := s.PrivateSetTags(ctx, "nope"); err != nil || len(tags) != 0 {
		t.Fatalf("tags of an unknown set = %x, %v", tags, err)
	}
	lines, err := s.PrivateSetLines(ctx, "set1")
	if err != nil || len(lines) != 2 || !bytes.Equal(lines["domain-name:a.example"], tag(1)) || !bytes.Equal(lines["domain-name:b.example"], tag(3)) {
		t.Fatalf("lines = %x, %v", lines, err)
	}
	// indicator--1 revoked: a.example goes, b.example stays (indicator--2
	// holds it); indicator--3 added with c.example.
	must(t, s.UpdatePrivateSet(ctx, "set1", 7, 9,
		[]store.IndicatorValues{{IndicatorID: "indicator--1"}, {IndicatorID: "indicator--3", Lines: []string{"domain-name:c.example"}}},
		[]store.PrivateTag{{Tag: tag(2), Line: "domain-name:c.example"}}))
	tags, _ = s.PrivateSetTags(ctx, "set1")
	if len(tags) != 2 || !bytes.Equal(tags[0], tag(2)) || !bytes.Equal(tags[1], tag(3)) {
		t.Fatalf("tags after update = %x", tags)
	}
	lines, err = s.PrivateSetLines(ctx, "set1")
	if err != nil || len(lines) != 2 || lines["domain-name:a.example"] != nil || !bytes.Equal(lines["domain-name:c.example"], tag(2)) {
		t.Fatalf("lines after update = %x, %v", lines, err)
	}
	// indicator--2 now also names c.example and drops b.example: b's tag
	// goes, c's stays once.
	must(t, s.UpdatePrivateSet(ctx, "set1", 9, 10,
		[]store.IndicatorValues{{IndicatorID: "indicator--2", Lines: []string{"domain-name:c.example"}}}, nil))
	if tags, _ = s.PrivateSetTags(ctx, "set1"); len(tags) != 1 || !bytes.Equal(tags[0], tag(2)) {
		t.Fatalf("tags after the second update = %x", tags)
	}
	if err := s.UpdatePrivateSet(ctx, "set1", 7, 11, nil, []store.PrivateTag{{Tag: tag(9), Line: "domain-name:z.example"}}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("update from a stale cursor = %v", err)
	}
	if err := s.UpdatePrivateSet(ctx, "nope", 0, 1, nil, nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update of an unknown set = %v", err)
	}
	sets, err := s.PrivateSets(ctx)
	if err != nil || len(sets) != 1 || sets[0].Cursor != 10 || sets[0].Size != 1 {
		t.Fatalf("PrivateSets = %+v, %v", sets, err)
	}
	// Sets are listed oldest first.
	n0 := valuesSet("set0", alice, coll, tag(4))
	n0.Set.Created = base.Add(time.Hour)
	_, err = s.CreatePrivateSet(ctx, n0)
	must(t, err)
	if sets, err = s.PrivateSets(ctx); err != nil || len(sets) != 2 || sets[0].ID != "set1" || sets[1].ID != "set0" || sets[1].Source != store.PrivateSourceValues {
		t.Fatalf("PrivateSets = %+v, %v", sets, err)
	}
}

// testPrivateSetTagsAfter pages through a set's tags in byte order.
func testPrivateSetTagsAfter(t *testing.T, s store.Store) {
	alice, _, coll := fixture(t, s)
	var tags [][]byte
	for i := 25; i > 0; i-- {
		tags = append(tags, []byte{byte(i), 0xff, byte(i * 7)})
	}
	_, err := s.CreatePrivateSet(ctx, valuesSet("set1", alice, coll, tags...))
	must(t, err)
	var got [][]byte
	var after []byte
	pages := 0
	for {
		page, err := s.PrivateSetTagsAfter(ctx, "set1", after, 10)
		must(t, err)
		if len(page) > 10 {
			t.Fatalf("page of %d tags, limit 10", len(page))
		}
		if len(page) == 0 {
			break
		}
		pages++
		got = append(got, page...)
		after = page[len(page)-1]
	}
	all, err := s.PrivateSetTags(ctx, "set1")
	must(t, err)
	if pages != 3 || len(got) != 25 || len(all) != 25 {
		t.Fatalf("%d tags in %d pages, %d in all", len(got), pages, len(all))
	}
	for i := range got {
		if !bytes.Equal(got[i], all[i]) || i > 0 && bytes.Compare(got[i-1], got[i]) >= 0 {
			t.Fatalf("tag %d: %x, want %x in ascending order", i, got[i], all[i])
		}
	}
	if page, err := s.PrivateSetTagsAfter(ctx, "nope", nil, 10); err != nil || len(page) != 0 {
		t.Fatalf("tags of an unknown set: %x %v", page, err)
	}
}

// testPrivateBudget: budgets are spent exactly, per reader and set; a
// spend over what is left charges nothing and fails with ErrBudgetSpent.
func testPrivateBudget(t *testing.T, s store.Store) {
	alice, bob, coll := fixture(t, s)
	_, err := s.CreatePrivateSet(ctx, valuesSet("set1", alice, coll, tag(1)))
	must(t, err)
	_, err = s.CreatePrivateSet(ctx, valuesSet("set2", alice, coll, tag(1)))
	must(t, err)
	if used, err := s.PrivateBudgetUsed(ctx, "set1", bob.ID); err != nil || used != 0 {
		t.Fatalf("nothing spent yet: %d, %v", used, err)
	}
	left, err := s.SpendPrivateBudget(ctx, "set1", bob.ID, 6, 10)
	if err != nil || left != 4 {
		t.Fatalf("spend 6 of 10: left %d, %v", left, err)
	}
	left, err = s.SpendPrivateBudget(ctx, "set1", bob.ID, 5, 10)
	if !errors.Is(err, store.ErrBudgetSpent) || left != 4 {
		t.Fatalf("spend 5 more: left %d, %v; want ErrBudgetSpent", left, err)
	}
	if used, _ := s.PrivateBudgetUsed(ctx, "set1", bob.ID); used != 6 {
		t.Fatalf("a refused spend was charged: used %d", used)
	}
	if left, err = s.SpendPrivateBudget(ctx, "set1", bob.ID, 4, 10); err != nil || left != 0 {
		t.Fatalf("spend exactly the rest: %d, %v", left, err)
	}
	if _, err = s.SpendPrivateBudget(ctx, "set1", bob.ID, 1, 10); !errors.Is(err, store.ErrBudgetSpent) {
		t.Fatalf("spend past the limit: %v", err)
	}
	if used, _ := s.PrivateBudgetUsed(ctx, "set1", bob.ID); used != 10 {
		t.Fatalf("used %d, want exactly 10", used)
	}
	// Budgets are per reader and per set.
	if left, err = s.SpendPrivateBudget(ctx, "set1", alice.ID, 1, 10); err != nil || left != 9 {
		t.Fatalf("another reader: %d, %v", left, err)
	}
	if left, err = s.SpendPrivateBudget(ctx, "set2", bob.ID, 3, 10); err != nil || left != 7 {
		t.Fatalf("another set: %d, %v", left, err)
	}
}

// testPrivateBudgetConcurrent: concurrent spends never together spend
// more than the limit, and exactly the limit is spent.
func testPrivateBudgetConcurrent(t *testing.T, s store.Store) {
	alice, bob, coll := fixture(t, s)
	_, err := s.CreatePrivateSet(ctx, valuesSet("set1", alice, coll, tag(1)))
	must(t, err)
	const limit, workers, tries = 50, 8, 10
	var mu sync.Mutex
	granted, refused := int64(0), 0
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range tries {
				_, err := s.SpendPrivateBudget(ctx, "set1", bob.ID, 1, limit)
				mu.Lock()
				switch {
				case err == nil:
					granted++
				case errors.Is(err, store.ErrBudgetSpent):
					refused++
				default:
					t.Error(err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	used, err := s.PrivateBudgetUsed(ctx, "set1", bob.ID)
	must(t, err)
	if granted != limit || used != limit || refused != workers*tries-limit {
		t.Fatalf("granted %d, refused %d, used %d; want %d granted and used", granted, refused, used, limit)
	}
}

// testPrivateIndicatorExpiry: indicators expire at their Expires, taking
// the tags of the lines no remaining indicator holds.
func testPrivateIndicatorExpiry(t *testing.T, s store.Store) {
	alice, _, coll := fixture(t, s)
	t0 := base.Add(24 * time.Hour)
	_, err := s.CreatePrivateSet(ctx, store.NewPrivateSet{
		Set: store.PrivateSet{ID: "set1", Member: alice.ID, Collection: coll, Source: store.PrivateSourceCollection, Suite: "x",
			PrivateKey: []byte("k"), PublicKey: []byte("p"), Created: base},
		Tags: []store.PrivateTag{{Tag: tag(1), Line: "domain-name:a.example"}, {Tag: tag(2), Line: "domain-name:b.example"}, {Tag: tag(3), Line: "domain-name:c.example"}},
		Indicators: []store.IndicatorValues{
			{IndicatorID: "indicator--1", Lines: []string{"domain-name:a.example", "domain-name:b.example"}, Expires: t0},
			{IndicatorID: "indicator--2", Lines: []string{"domain-name:b.example"}},
			{IndicatorID: "indicator--3", Lines: []string{"domain-name:c.example"}, Expires: t0.Add(time.Hour)},
		},
		KeyEntry: func(int64, time.Time) ([]byte, error) { return []byte("{}"), nil }, Salt: tag(1), Version: base,
	})
	must(t, err)
	if n, err := s.ExpirePrivateIndicators(ctx, "set1", t0.Add(-time.Second)); err != nil || n != 0 {
		t.Fatalf("before expiry: %d, %v", n, err)
	}
	n, err := s.ExpirePrivateIndicators(ctx, "set1", t0)
	if err != nil || n != 2 {
		t.Fatalf("at expiry: %d lines, %v; want 2", n, err)
	}
	tags, _ := s.PrivateSetTags(ctx, "set1")
	if fmt.Sprintf("%x", tags) != fmt.Sprintf("%x", [][]byte{tag(2), tag(3)}) {
		t.Fatalf("tags after expiry = %x; b.example is still held by indicator--2", tags)
	}
	if n, err := s.ExpirePrivateIndicators(ctx, "set1", t0); err != nil || n != 0 {
		t.Fatalf("expiring again: %d, %v", n, err)
	}
	if n, err := s.ExpirePrivateIndicators(ctx, "set1", t0.Add(2*time.Hour)); err != nil || n != 1 {
		t.Fatalf("the second expiry: %d, %v", n, err)
	}
	if set, err := s.PrivateSet(ctx, "set1"); err != nil || set.Size != 1 {
		t.Fatalf("set after expiries: %+v, %v", set, err)
	}
}

// testPrivateSetsFor: the sets listed are those made from the given
// collections or by the given member, oldest first, with their sizes;
// none of the others.
func testPrivateSetsFor(t *testing.T, s store.Store) {
	alice, bob, shared := fixture(t, s)
	own := "c7c3a8f2-0f4d-4f43-9a57-3c4b8a4e6f10"
	must(t, s.AddCollection(ctx, store.Collection{ID: own, Title: "bob's", Readers: []string{bob.ID}, Writers: []string{alice.ID, bob.ID}}))
	for i, n := range []store.NewPrivateSet{
		valuesSet("s-shared-bob", bob, shared, tag(1), tag(2)),
		valuesSet("s-own-bob", bob, own, tag(3)),
		valuesSet("s-own-alice", alice, own, tag(4), tag(5), tag(6)),
	} {
		n.Set.Created = base.Add(time.Duration(i) * time.Minute)
		_, err := s.CreatePrivateSet(ctx, n)
		must(t, err)
	}
	list := func(collections []string, member string) string {
		sets, err := s.PrivateSetsFor(ctx, collections, member)
		must(t, err)
		var out []string
		for _, p := range sets {
			out = append(out, fmt.Sprintf("%s:%d", p.ID, p.Size))
		}
		return strings.Join(out, " ")
	}
	for _, tc := range []struct {
		collections []string
		member      string
		want        string
	}{
		{[]string{shared}, alice.ID, "s-shared-bob:2 s-own-alice:3"}, // alice reads shared, made one in own
		{[]string{shared, own}, bob.ID, "s-shared-bob:2 s-own-bob:1 s-own-alice:3"},
		{nil, bob.ID, "s-shared-bob:2 s-own-bob:1"},
		{[]string{own, own}, "identity--nobody", "s-own-bob:1 s-own-alice:3"},
		{[]string{"no-such-collection"}, "identity--nobody", ""},
	} {
		if got := list(tc.collections, tc.member); got != tc.want {
			t.Errorf("sets for %q and %s: %q, want %q", tc.collections, tc.member, got, tc.want)
		}
	}
}

// withdrawal is the withdrawal of set id by member, whose entry leaf is
// "withdrawal of " and the key entry's leaf.
func withdrawal(id string, m store.Member) store.PrivateWithdrawal {
	return store.PrivateWithdrawal{ID: id, Member: m.ID, Salt: tag(9),
		Entry: func(_ int64, _ time.Time, keyLeaf []byte) ([]byte, error) {
			return append([]byte("withdrawal of "), keyLeaf...), nil
		}}
}

// testPrivateSetRemove: a member withdraws its own set, which takes its
// key, its tags, its indicator lines and its readers' budgets with it,
// and frees its place among the member's sets; another member's set, or
// an unknown one, is ErrNotFound and changes nothing. The log keeps the
// key entry and gains the withdrawal's entry (its opening stored as the
// key entry's is), and what the set's readers then were shown stays
// theirs alone: its id, suite, key and both entries' indexes.
func testPrivateSetRemove(t *testing.T, s store.Store) {
	alice, bob, coll := fixture(t, s)
	carol := member("carol") // not a reader of coll
	must(t, s.AddMember(ctx, carol))
	n := valuesSet("set1", alice, coll, tag(1), tag(2))
	n.Set.Source = store.PrivateSourceCollection
	n.Indicators = []store.IndicatorValues{{IndicatorID: "indicator--1", Lines: []string{"domain-name:a.example"}}}
	set, err := s.CreatePrivateSet(ctx, n)
	must(t, err)
	_, err = s.CreatePrivateSet(ctx, valuesSet("set2", alice, coll, tag(3)))
	must(t, err)
	_, err = s.SpendPrivateBudget(ctx, "set1", bob.ID, 3, 10)
	must(t, err)
	size, err := s.LogSize(ctx)
	must(t, err)
	for _, tc := range []struct {
		id string
		m  store.Member
	}{{"set1", bob}, {"nope", alice}} {
		if _, err := s.RemovePrivateSet(ctx, withdrawal(tc.id, tc.m)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("RemovePrivateSet(%s, %s) = %v, want ErrNotFound", tc.id, tc.m.Name, err)
		}
	}
	noEntry := withdrawal("set1", alice)
	noEntry.Entry = nil
	if _, err := s.RemovePrivateSet(ctx, noEntry); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("RemovePrivateSet without an entry = %v, want ErrInvalid", err)
	}
	if tags, err := s.PrivateSetTags(ctx, "set1"); err != nil || len(tags) != 2 {
		t.Fatalf("a refused withdrawal changed the set: %d tags, %v", len(tags), err)
	}
	if after, err := s.LogSize(ctx); err != nil || after != size {
		t.Fatalf("a refused withdrawal changed the log: %d -> %d (%v)", size, after, err)
	}
	must(t, s.PrivateSetLive(ctx, "set1"))
	ws, err := s.RemovePrivateSet(ctx, withdrawal("set1", alice))
	must(t, err)
	if ws.ID != "set1" || ws.Member != alice.ID || ws.Collection != coll || ws.Suite != "x" || string(ws.PublicKey) != "p" ||
		ws.KeyLogIndex != set.KeyLogIndex || ws.WithdrawalLogIndex != size || !ws.Created.Equal(base) || ws.Withdrawn.IsZero() {
		t.Fatalf("the withdrawn set: %+v", ws)
	}
	if err := s.PrivateSetLive(ctx, "set1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("PrivateSetLive after the withdrawal: %v, want ErrNotFound", err)
	}
	if _, err := s.PrivateSet(ctx, "set1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("PrivateSet after the withdrawal: %v, want ErrNotFound", err)
	}
	if _, _, err := s.PrivateSetOwner(ctx, "set1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("PrivateSetOwner after the withdrawal: %v, want ErrNotFound", err)
	}
	if tags, err := s.PrivateSetTags(ctx, "set1"); err != nil || len(tags) != 0 {
		t.Fatalf("tags after the withdrawal: %d, %v", len(tags), err)
	}
	if lines, err := s.PrivateSetLines(ctx, "set1"); err != nil || len(lines) != 0 {
		t.Fatalf("lines after the withdrawal: %v, %v", lines, err)
	}
	if used, err := s.PrivateBudgetUsed(ctx, "set1", bob.ID); err != nil || used != 0 {
		t.Fatalf("budget after the withdrawal: %d, %v", used, err)
	}
	if all, fromColl, err := s.PrivateSetCounts(ctx, alice.ID, coll); err != nil || all != 1 || fromColl != 0 {
		t.Fatalf("counts after the withdrawal: %d, %d, %v", all, fromColl, err)
	}
	if sets, err := s.PrivateSetsFor(ctx, []string{coll}, alice.ID); err != nil || len(sets) != 1 || sets[0].ID != "set2" {
		t.Fatalf("sets after the withdrawal: %+v, %v", sets, err)
	}
	if sets, err := s.PrivateSets(ctx); err != nil || len(sets) != 1 || sets[0].ID != "set2" {
		t.Fatalf("all sets after the withdrawal: %+v, %v", sets, err)
	}
	// The log: the key entry, and the withdrawal's, opened as the key
	// entry is, its leaf built from the key entry's.
	if after, err := s.LogSize(ctx); err != nil || after != size+1 {
		t.Fatalf("log size %d after the withdrawal, %d before (%v)", after, size, err)
	}
	es, err := s.Entries(ctx, set.KeyLogIndex, size+1)
	must(t, err)
	if es[0].Kind != tlog.KindOPRFKey {
		t.Fatalf("the key entry after the withdrawal: %+v", es[0])
	}
	if e := es[len(es)-1]; e.Index != size || e.Kind != tlog.KindOPRFWithdrawal || string(e.Leaf) != `withdrawal of {"kind":"oprf-key"}` ||
		e.ObjectID != "set1" || e.Collection != coll || e.Member != alice.ID || !bytes.Equal(e.Salt, tag(9)) ||
		!e.Received.Equal(ws.Withdrawn) || !e.Version.Equal(ws.Withdrawn) {
		t.Fatalf("the withdrawal entry: %+v", e)
	}
	// Its readers then (alice, its provider; bob, a reader) get what
	// they were shown; carol, who couldn't read it, gets what an unknown
	// id gets, and so does everyone for set2, not withdrawn.
	for _, m := range []store.Member{alice, bob} {
		got, err := s.WithdrawnPrivateSet(ctx, "set1", m.ID)
		if err != nil || got.ID != ws.ID || got.Member != ws.Member || got.Collection != ws.Collection || got.Suite != ws.Suite ||
			!bytes.Equal(got.PublicKey, ws.PublicKey) || got.KeyLogIndex != ws.KeyLogIndex || !got.Created.Equal(ws.Created) ||
			!got.Withdrawn.Equal(ws.Withdrawn) || got.WithdrawalLogIndex != ws.WithdrawalLogIndex {
			t.Fatalf("WithdrawnPrivateSet(set1, %s) = %+v, %v, want %+v", m.Name, got, err, ws)
		}
	}
	for _, tc := range []struct{ id, member string }{{"set1", carol.ID}, {"set2", alice.ID}, {"nope", alice.ID}} {
		if _, err := s.WithdrawnPrivateSet(ctx, tc.id, tc.member); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("WithdrawnPrivateSet(%s, %s) = %v, want ErrNotFound", tc.id, tc.member, err)
		}
	}
	// A reader given the collection after the withdrawal wasn't one.
	must(t, s.GrantAccess(ctx, coll, carol.ID, true, false))
	if _, err := s.WithdrawnPrivateSet(ctx, "set1", carol.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("WithdrawnPrivateSet for a reader since the withdrawal = %v, want ErrNotFound", err)
	}
	if _, err := s.RemovePrivateSet(ctx, withdrawal("set1", alice)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a second withdrawal: %v, want ErrNotFound", err)
	}
	// An evaluation that read the set before its withdrawal is charged
	// nothing after it.
	if _, err := s.SpendPrivateBudget(ctx, "set1", bob.ID, 1, 10); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("spending on a withdrawn set: %v, want ErrNotFound", err)
	}
	if used, err := s.PrivateBudgetUsed(ctx, "set1", bob.ID); err != nil || used != 0 {
		t.Fatalf("budget after spending on a withdrawn set: %d, %v", used, err)
	}
	// A withdrawn set's id is not given to another set.
	if _, err := s.CreatePrivateSet(ctx, valuesSet("set1", alice, coll, tag(4))); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a new set under a withdrawn set's id: %v, want ErrConflict", err)
	}
	// Its place is free: a new set made from the collection is taken.
	n.Set.ID = "set3"
	_, err = s.CreatePrivateSet(ctx, n)
	must(t, err)
}

// testPrivateWithdrawRace: evaluations (a charge, then the guard
// PrivateSetLive before the answer) race a withdrawal, on the store's
// every connection. Once RemovePrivateSet has returned (the node then
// answers 204), no guard passes and nothing is charged, whichever
// connection (front end) asks; the withdrawal's entry is appended once.
func testPrivateWithdrawRace(t *testing.T, s store.Store) {
	alice, bob, coll := fixture(t, s)
	_, err := s.CreatePrivateSet(ctx, valuesSet("set1", alice, coll, tag(1)))
	must(t, err)
	size, err := s.LogSize(ctx)
	must(t, err)
	var withdrawn atomic.Bool
	var wg sync.WaitGroup
	const workers = 8
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				after := withdrawn.Load() // read before the calls
				_, serr := s.SpendPrivateBudget(ctx, "set1", bob.ID, 1, 1<<40)
				lerr := s.PrivateSetLive(ctx, "set1")
				for _, err := range []error{serr, lerr} {
					if err != nil && !errors.Is(err, store.ErrNotFound) {
						t.Error(err)
						return
					}
				}
				if after && (serr == nil || lerr == nil) {
					t.Errorf("after the withdrawal returned: charge %v, guard %v; want ErrNotFound for both", serr, lerr)
					return
				}
				if after {
					return
				}
			}
		}()
	}
	_, err = s.RemovePrivateSet(ctx, withdrawal("set1", alice))
	withdrawn.Store(true)
	must(t, err)
	wg.Wait()
	if after, err := s.LogSize(ctx); err != nil || after != size+1 {
		t.Fatalf("log size %d after the race, %d before (%v)", after, size, err)
	}
	if used, err := s.PrivateBudgetUsed(ctx, "set1", bob.ID); err != nil || used != 0 {
		t.Fatalf("a budget counter outlived the withdrawal: %d, %v", used, err)
	}
}

// testPrivateSetRemoveStatement: a withdrawal's signed statement (its
// time, nonce, signer and signature) is kept with the withdrawn set and
// given back, byte for byte, to its readers then; a withdrawal without
// one reads back without one.
func testPrivateSetRemoveStatement(t *testing.T, s store.Store) {
	alice, bob, coll := fixture(t, s)
	for _, id := range []string{"signed", "unsigned"} {
		_, err := s.CreatePrivateSet(ctx, valuesSet(id, alice, coll, tag(1)))
		must(t, err)
	}
	st := &store.WithdrawalStatement{Signed: base.Add(1500 * time.Microsecond), Nonce: tag(5), Signer: bytes.Repeat([]byte{6}, 32), Signature: bytes.Repeat([]byte{7}, 64)}
	w := withdrawal("signed", alice)
	w.Statement = st
	ws, err := s.RemovePrivateSet(ctx, w)
	must(t, err)
	if ws.Statement != st {
		t.Fatalf("RemovePrivateSet's statement: %+v, want %+v", ws.Statement, st)
	}
	_, err = s.RemovePrivateSet(ctx, withdrawal("unsigned", alice))
	must(t, err)
	for _, m := range []store.Member{alice, bob} {
		got, err := s.WithdrawnPrivateSet(ctx, "signed", m.ID)
		must(t, err)
		if g := got.Statement; g == nil || !g.Signed.Equal(st.Signed) || !bytes.Equal(g.Nonce, st.Nonce) || !bytes.Equal(g.Signer, st.Signer) || !bytes.Equal(g.Signature, st.Signature) {
			t.Fatalf("WithdrawnPrivateSet(signed, %s).Statement = %+v, want %+v", m.Name, g, st)
		}
		got, err = s.WithdrawnPrivateSet(ctx, "unsigned", m.ID)
		must(t, err)
		if got.Statement != nil {
			t.Fatalf("WithdrawnPrivateSet(unsigned, %s).Statement = %+v, want none", m.Name, got.Statement)
		}
	}
}
