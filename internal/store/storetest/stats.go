package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
)

// testCollectionStatsExact: CollectionStats stays what counting every
// stored version gives, after each way a submission adds versions or
// stores nothing (new ids, newer and older versions, several versions of
// an id in one submission, copies in another collection, unversioned
// objects, versions already stored, version conflicts, a taken status
// id, a refused submitter, a quota refusal) and after concurrent
// submissions to two collections. A store that is a [store.TableReader]
// is also checked against a count of its objects table read whole.
func testCollectionStatsExact(t *testing.T, open Opener) {
	s := open(t, Options{Limits: store.Limits{MemberQuota: 1 << 20}})
	defer s.Close()
	a, b, c1 := fixture(t, s)
	c2 := "c4a1b2d3-0000-4000-8000-000000000002"
	must(t, s.AddCollection(ctx, store.Collection{ID: c2, Title: "second", Readers: []string{a.ID, b.ID}, Writers: []string{a.ID, b.ID}}))
	type count struct{ objects, versions int64 }
	want := map[string]count{}
	check := func(what string) {
		t.Helper()
		st, err := s.CollectionStats(ctx, []string{c2, c1, "nope", c1})
		if err != nil {
			t.Fatalf("%s: CollectionStats: %v", what, err)
		}
		got := map[string]count{}
		for _, c := range st {
			got[c.Collection] = count{c.Objects, c.Versions}
			// The latest addition is the newest version's date_added.
			vs := all(t, s, store.Query{Collection: c.Collection, Versions: []store.VersionSelector{{Kind: store.VersionAll}}})
			var last time.Time
			for _, v := range vs {
				if v.DateAdded.After(last) {
					last = v.DateAdded
				}
			}
			if !c.LastAdded.Equal(last) || int64(len(vs)) != c.Versions {
				t.Errorf("%s: %s: stats %+v, but %d versions read, the latest added %v", what, c.Collection, c, len(vs), last)
			}
		}
		if len(got) != len(st) || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%s: CollectionStats %+v, want %v", what, st, want)
		}
		if tr, ok := s.(store.TableReader); ok {
			if recount := countObjects(t, tr); fmt.Sprint(recount) != fmt.Sprint(got) {
				t.Fatalf("%s: CollectionStats %v, counting the objects table %v", what, got, recount)
			}
		}
	}
	check("empty")
	n := 0
	try := func(coll string, m store.Member, objs ...store.Object) (store.Status, error) {
		t.Helper()
		n++
		sub := store.Submission{StatusID: fmt.Sprintf("stats-%d", n), Collection: coll, Member: m.ID, Received: base}
		for _, o := range objs {
			sub.Items = append(sub.Items, item(o))
		}
		return s.Submit(ctx, sub)
	}
	ok := func(coll string, m store.Member, objs ...store.Object) {
		t.Helper()
		_, err := try(coll, m, objs...)
		must(t, err)
	}
	id := func(i int) string { return fmt.Sprintf("indicator--00000000-0000-4000-8000-%012d", i) }

	ok(c1, a, obj(id(1), base, 1), obj(id(2), base, 2), obj(id(3), base, 3))
	want[c1] = count{3, 3}
	check("three new ids")
	ok(c1, a, obj(id(1), base.Add(time.Hour), 4))
	want[c1] = count{3, 4}
	check("a newer version")
	ok(c1, a, obj(id(1), base.Add(-time.Hour), 5))
	want[c1] = count{3, 5}
	check("an older version")
	ok(c1, a, obj(id(4), base, 6), obj(id(4), base.Add(time.Minute), 7), obj(id(2), base.Add(time.Minute), 8), obj(id(5), base.Add(time.Minute), 9), obj(id(5), base, 10))
	want[c1] = count{5, 10}
	check("new ids and versions in one submission")
	st, err := try(c1, a, obj(id(1), base, 1), obj(id(2), base, 99))
	must(t, err)
	if len(st.Successes) != 1 || len(st.Failures) != 1 {
		t.Fatalf("a stored version and a conflicting one: %+v", st)
	}
	check("a version already stored, a conflicting one")
	ok(c2, a, obj(id(1), base, 1))
	want[c2] = count{1, 1}
	check("a copy in another collection")
	ip := store.Object{ID: "ipv4-addr--0b6a8d6f-2c1e-5d40-9b1f-3c3c7a5d2e11", Type: "ipv4-addr", SpecVersion: "2.1", Raw: []byte(`{"type":"ipv4-addr","value":"192.0.2.1"}`)}
	ok(c2, b, ip)
	ok(c2, b, ip)
	want[c2] = count{2, 2}
	check("an unversioned object twice")

	// Submissions that store nothing.
	n--
	if _, err := try(c1, a, obj(id(6), base, 11)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a taken status id: %v", err)
	}
	check("a taken status id")
	n++
	sub := store.Submission{StatusID: "stats-refused", Collection: c1, Member: a.ID, Received: base, CheckSubmitter: true, Key: b.PublicKey,
		Items: []store.Item{item(obj(id(7), base, 12))}}
	if _, err := s.Submit(ctx, sub); !errors.Is(err, store.ErrSubmitterChanged) {
		t.Fatalf("a refused submitter: %v", err)
	}
	check("a refused submitter")
	big := obj(id(8), base, 13)
	big.Raw = fmt.Appendf(nil, `{"id":%q,"pad":%q}`, big.ID, strings.Repeat("x", 1<<20))
	if _, err := try(c1, a, obj(id(9), base, 14), big); !errors.As(err, new(*store.QuotaError)) {
		t.Fatalf("over the quota: %v", err)
	}
	check("over the quota")

	// Concurrent submissions to both collections, each a new id and a new
	// version of an id the others submit versions of too (alice owns it).
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	const writers, rounds = 4, 5
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				coll := []string{c1, c2}[(w+r)%2]
				sub := store.Submission{StatusID: fmt.Sprintf("stats-concurrent-%d-%d", w, r), Collection: coll, Member: a.ID, Received: base,
					Items: []store.Item{
						item(obj(id(100+w*rounds+r), base, 100)),
						item(obj(id(1), base.Add(time.Duration(1+w*rounds+r)*time.Second), 200+w*rounds+r)),
					}}
				if _, err := s.Submit(ctx, sub); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	// Each collection got 10 submissions of a new id and a new version of
	// id(1), which c1 and c2 already hold.
	want[c1] = count{5 + 10, 10 + 20}
	want[c2] = count{2 + 10, 2 + 20}
	check("concurrent submissions")
}

// countObjects counts each collection's object ids (rows with is_last)
// and versions by reading the objects table whole.
func countObjects(t *testing.T, tr store.TableReader) map[string]struct{ objects, versions int64 } {
	t.Helper()
	tab, _ := store.StateTable("objects")
	col := func(name string) int {
		i := slices.IndexFunc(tab.Columns, func(c store.Column) bool { return c.Name == name })
		if i < 0 {
			t.Fatalf("objects has no column %s", name)
		}
		return i
	}
	ci, li := col("collection"), col("is_last")
	rows, err := tr.ReadTable(ctx, tab)
	must(t, err)
	defer rows.Close()
	out := map[string]struct{ objects, versions int64 }{}
	for rows.Next() {
		v, err := rows.Values()
		must(t, err)
		c := out[v[ci].(string)]
		c.versions++
		if v[li].(bool) {
			c.objects++
		}
		out[v[ci].(string)] = c
	}
	must(t, rows.Err())
	return out
}

// CheckCollectionStats checks that CollectionStats of every collection
// of s, a [store.TableReader], is what counting its objects table whole
// gives (the latest addition too), for the stores' tests of the
// migration that counts what was stored before it.
func CheckCollectionStats(t *testing.T, s interface {
	store.Store
	store.TableReader
}) {
	t.Helper()
	cs, err := s.Collections(ctx)
	must(t, err)
	var ids []string
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	st, err := s.CollectionStats(ctx, ids)
	must(t, err)
	got := map[string]struct{ objects, versions int64 }{}
	for _, c := range st {
		got[c.Collection] = struct{ objects, versions int64 }{c.Objects, c.Versions}
		vs := all(t, s, store.Query{Collection: c.Collection, Versions: []store.VersionSelector{{Kind: store.VersionAll}}})
		var last time.Time
		for _, v := range vs {
			if v.DateAdded.After(last) {
				last = v.DateAdded
			}
		}
		if !c.LastAdded.Equal(last) {
			t.Errorf("%s: latest addition %v, the newest version's %v", c.Collection, c.LastAdded, last)
		}
	}
	if want := countObjects(t, s); len(want) == 0 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("CollectionStats %v, counting the objects table %v", got, want)
	}
}

// FillForCollectionStats stores versions in two collections (ids with
// several versions, arriving out of order, one id in both), for the
// stores' tests of the migration that counts what was stored before it.
func FillForCollectionStats(t *testing.T, s store.Store) {
	t.Helper()
	a, _, c1 := fixture(t, s)
	c2 := "c4a1b2d3-0000-4000-8000-000000000002"
	must(t, s.AddCollection(ctx, store.Collection{ID: c2, Title: "second", Readers: []string{a.ID}, Writers: []string{a.ID}}))
	id := func(i int) string { return fmt.Sprintf("indicator--00000000-0000-4000-8000-%012d", i) }
	submit(t, s, c1, a, obj(id(1), base, 1), obj(id(2), base, 2), obj(id(1), base.Add(time.Hour), 3))
	submit(t, s, c1, a, obj(id(1), base.Add(-time.Hour), 4), obj(id(3), base, 5))
	submit(t, s, c2, a, obj(id(1), base, 1), obj(id(4), base, 6))
}

// testCollectionStatsRaces: CollectionStats stays exact when writers race
// to give one collection the same new ids (each writer its own versions,
// so every version is stored but each id counts once), with batches that
// name an id and version twice, an id in two new versions, and one
// unversioned observable every writer sends.
func testCollectionStatsRaces(t *testing.T, open Opener) {
	s := open(t, Options{})
	defer s.Close()
	a, _, c1 := fixture(t, s)
	id := func(i int) string { return fmt.Sprintf("indicator--00000000-0000-4000-8000-%012d", i) }
	ip := store.Object{ID: "ipv4-addr--0b6a8d6f-2c1e-5d40-9b1f-3c3c7a5d2e11", Type: "ipv4-addr", SpecVersion: "2.1", Raw: []byte(`{"type":"ipv4-addr","value":"192.0.2.1"}`)}
	const writers, rounds, ids = 6, 8, 3
	var wg sync.WaitGroup
	errs := make([]error, writers)
	start := make(chan struct{})
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for r := range rounds {
				sub := store.Submission{StatusID: fmt.Sprintf("race-%d-%d", w, r), Collection: c1, Member: a.ID, Received: base}
				for i := range ids {
					v := base.Add(time.Duration(w*rounds+r) * time.Minute)
					o := obj(id(r*ids+i), v, w)
					sub.Items = append(sub.Items, item(o), item(o)) // the same version twice
					sub.Items = append(sub.Items, item(obj(id(r*ids+i), v.Add(time.Second), w)))
				}
				sub.Items = append(sub.Items, item(ip))
				if _, err := s.Submit(ctx, sub); err != nil {
					errs[w] = err
					return
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	must(t, errors.Join(errs...))
	st, err := s.CollectionStats(ctx, []string{c1})
	must(t, err)
	want := fmt.Sprint([]int64{rounds*ids + 1, writers*rounds*ids*2 + 1})
	if len(st) != 1 || fmt.Sprint([]int64{st[0].Objects, st[0].Versions}) != want {
		t.Fatalf("CollectionStats %+v, want objects and versions %s", st, want)
	}
	if tr, ok := s.(store.TableReader); ok {
		if recount := countObjects(t, tr); fmt.Sprint([]int64{recount[c1].objects, recount[c1].versions}) != want {
			t.Fatalf("counting the objects table %v, want %s", recount, want)
		}
	}
}

// AddForCollectionStats stores, after [FillForCollectionStats], a version
// of its first id newer than any it stored, in its first collection, for
// the SQLite store's test of the counts after rows were deleted behind
// the node's back.
func AddForCollectionStats(t *testing.T, s store.Store) {
	t.Helper()
	id := fmt.Sprintf("indicator--00000000-0000-4000-8000-%012d", 1)
	submit(t, s, "91a7b528-80eb-42ed-a74d-c6fbd5a26116", member("alice"), obj(id, base.Add(2*time.Hour), 7))
}
