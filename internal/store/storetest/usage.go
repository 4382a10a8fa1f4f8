package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/internal/store"
)

// sized is an object of exactly size bytes of JSON.
func sized(id string, size int) []byte {
	head := fmt.Sprintf(`{"id":%q,"pad":"`, id)
	return []byte(head + strings.Repeat("x", size-len(head)-2) + `"}`)
}

func submitRaw(s store.Store, member, coll string, raws ...[]byte) (store.Status, error) {
	sub := store.Submission{StatusID: fmt.Sprint("status-", statusN.Add(1)), Collection: coll, Member: member, Received: base}
	for _, raw := range raws {
		id := string(bytes.SplitN(raw, []byte(`"`), 5)[3])
		sub.Items = append(sub.Items, store.Item{
			Object: store.Object{ID: id, Type: "indicator", SpecVersion: "2.1", Version: base, Signed: true, Raw: raw},
			Salt:   bytes.Repeat([]byte{7}, 32),
			Entry:  func(o store.Object) ([]byte, error) { return fmt.Appendf(nil, `{"idx":%d}`, o.LogIndex), nil },
		})
	}
	return s.Submit(ctx, sub)
}

// testObjectsSize counts versions and their bytes per collection without
// reading them; unknown ids and collections count nothing.
func testObjectsSize(t *testing.T, s store.Store) {
	alice, _, coll := fixture(t, s)
	other := "a1b2c3d4-0000-4000-8000-000000000002"
	must(t, s.AddCollection(ctx, store.Collection{ID: other, Title: "other", Readers: []string{alice.ID}, Writers: []string{alice.ID}}))
	_, err := submitRaw(s, alice.ID, coll, sized("indicator--1", 100), sized("indicator--2", 250))
	must(t, err)
	// A second version of indicator--1.
	v2 := obj("indicator--1", base.Add(1e9), 2)
	submit(t, s, coll, alice, v2)
	_, err = submitRaw(s, alice.ID, other, sized("indicator--1", 999))
	must(t, err)
	for _, tc := range []struct {
		coll           string
		ids            []string
		versions, size int64
	}{
		{coll, []string{"indicator--1"}, 2, 100 + int64(len(v2.Raw))},
		{coll, []string{"indicator--1", "indicator--2", "indicator--9"}, 3, 350 + int64(len(v2.Raw))},
		{other, []string{"indicator--1", "indicator--2"}, 1, 999},
		{"nope", []string{"indicator--1"}, 0, 0},
		{coll, nil, 0, 0},
	} {
		v, b, err := s.ObjectsSize(ctx, tc.coll, tc.ids)
		if err != nil || v != tc.versions || b != tc.size {
			t.Errorf("ObjectsSize(%s, %v) = %d, %d, %v; want %d, %d", tc.coll, tc.ids, v, b, err, tc.versions, tc.size)
		}
	}
}

// testLimits checks the largest object and the member quota: usage counts
// new versions in every collection and nothing for identical
// re-submissions; a submission over either limit fails with its sentinel
// and stores nothing (no object, no log entry, no status, no usage).
func testLimits(t *testing.T, open Opener) {
	s := open(t, Options{Limits: store.Limits{MaxObjectSize: 300, MemberQuota: 1000}})
	defer s.Close()
	alice, bob := member("alice"), member("bob")
	must(t, s.AddMember(ctx, alice))
	must(t, s.AddMember(ctx, bob))
	colls := []string{"91a7b528-80eb-42ed-a74d-c6fbd5a26116", "a1b2c3d4-0000-4000-8000-000000000002"}
	for _, c := range colls {
		must(t, s.AddCollection(ctx, store.Collection{ID: c, Title: c, Readers: []string{alice.ID, bob.ID}, Writers: []string{alice.ID, bob.ID}}))
	}
	wantUsage := func(m store.Member, want int64) {
		t.Helper()
		got, err := s.Usage(ctx, m.ID)
		if err != nil || got != want {
			t.Fatalf("usage of %s = %d (%v), want %d", m.Name, got, err, want)
		}
	}
	logSize := func() int64 {
		n, err := s.LogSize(ctx)
		must(t, err)
		return n
	}
	wantUsage(alice, 0)
	if u, err := s.Usage(ctx, "identity--nobody"); err != nil || u != 0 {
		t.Fatalf("usage of an unknown member = %d, %v", u, err)
	}
	// 300 + 300 in one collection, 300 in the other: 900 of 1000.
	_, err := submitRaw(s, alice.ID, colls[0], sized("indicator--1", 300), sized("indicator--2", 300))
	must(t, err)
	_, err = submitRaw(s, alice.ID, colls[1], sized("indicator--3", 300))
	must(t, err)
	wantUsage(alice, 900)
	// The same version again stores nothing and costs nothing.
	if st, err := submitRaw(s, alice.ID, colls[0], sized("indicator--1", 300)); err != nil || len(st.Successes) != 1 {
		t.Fatalf("re-submission: %+v, %v", st, err)
	}
	wantUsage(alice, 900)
	// Over the quota: 900 + 101 > 1000, across collections; refused as a
	// whole, the small first item included.
	before := logSize()
	_, err = submitRaw(s, alice.ID, colls[1], sized("indicator--4", 50), sized("indicator--5", 51))
	var qe *store.QuotaError
	if !errors.Is(err, store.ErrQuota) || !errors.As(err, &qe) {
		t.Fatalf("over quota: %v, want ErrQuota", err)
	}
	if qe.Used != 900 || qe.Need != 101 || qe.Quota != 1000 || qe.Member != alice.ID {
		t.Errorf("QuotaError = %+v, want used 900, need 101, quota 1000", qe)
	}
	if _, err := s.Status(ctx, fmt.Sprint("status-", statusN.Load())); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a refused submission left its status: %v", err)
	}
	if got := logSize(); got != before {
		t.Errorf("log grew from %d to %d on a refused submission", before, got)
	}
	if got := all(t, s, store.Query{Collection: colls[1], IDs: []string{"indicator--4"}}); len(got) != 0 {
		t.Errorf("a refused submission stored %d objects", len(got))
	}
	wantUsage(alice, 900)
	// Exactly up to the quota is allowed; another member has its own.
	if _, err := submitRaw(s, alice.ID, colls[1], sized("indicator--6", 100)); err != nil {
		t.Fatalf("up to the quota: %v", err)
	}
	wantUsage(alice, 1000)
	if _, err := submitRaw(s, bob.ID, colls[0], sized("indicator--7", 300)); err != nil {
		t.Fatalf("bob: %v", err)
	}
	wantUsage(bob, 300)
	// Larger than the largest object: ErrTooLarge, nothing stored.
	before = logSize()
	if _, err := submitRaw(s, bob.ID, colls[0], sized("indicator--8", 40), sized("indicator--9", 301)); !errors.Is(err, store.ErrTooLarge) {
		t.Fatalf("too large: %v, want ErrTooLarge", err)
	}
	if got := logSize(); got != before {
		t.Errorf("log grew from %d to %d on a refused submission", before, got)
	}
	wantUsage(bob, 300)
}

// testPrivateSetQuota: a private set costs its member the bytes of its
// tags and lines against the quota, beside its objects; a set over it
// fails with a QuotaError and stores nothing (no set, no key entry, no
// use).
func testPrivateSetQuota(t *testing.T, open Opener) {
	s := open(t, Options{Limits: store.Limits{MemberQuota: 1000 + 2*store.PrivateSetOverhead}})
	defer s.Close()
	alice, bob := member("alice"), member("bob")
	must(t, s.AddMember(ctx, alice))
	must(t, s.AddMember(ctx, bob))
	const coll = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
	const overhead = store.PrivateSetOverhead
	must(t, s.AddCollection(ctx, store.Collection{ID: coll, Title: "c", Readers: []string{alice.ID, bob.ID}, Writers: []string{alice.ID, bob.ID}}))
	wantUsage := func(m store.Member, want int64) {
		t.Helper()
		if got, err := s.Usage(ctx, m.ID); err != nil || got != want {
			t.Fatalf("usage of %s = %d (%v), want %d", m.Name, got, err, want)
		}
	}
	_, err := submitRaw(s, alice.ID, coll, sized("indicator--1", 600))
	must(t, err)
	// 40 tags of 8 bytes, one with a line of 20, and the overhead: 940
	// and one overhead of 1000 and two.
	n := valuesSet("set-1", alice, coll)
	for i := range 40 {
		n.Tags = append(n.Tags, store.PrivateTag{Tag: tag(byte(i))})
	}
	n.Tags[0].Line = strings.Repeat("l", 20)
	if got := store.PrivateSetBytes(n); got != 340+overhead {
		t.Fatalf("PrivateSetBytes = %d, want 340 and the overhead", got)
	}
	if _, err := s.CreatePrivateSet(ctx, n); err != nil {
		t.Fatal(err)
	}
	wantUsage(alice, 940+overhead)
	// A set of eight tags: 64 and an overhead, more than the 60 and an
	// overhead left.
	logSize, err := s.LogSize(ctx)
	must(t, err)
	over := valuesSet("set-2", alice, coll)
	for i := range 8 {
		over.Tags = append(over.Tags, store.PrivateTag{Tag: tag(byte(100 + i))})
	}
	_, err = s.CreatePrivateSet(ctx, over)
	var qe *store.QuotaError
	if !errors.Is(err, store.ErrQuota) || !errors.As(err, &qe) || qe.Used != 940+overhead || qe.Need != 64+overhead || qe.Member != alice.ID {
		t.Fatalf("a set over the quota: %v (%+v), want a QuotaError of 940 and 64 needed, each with an overhead", err, qe)
	}
	if _, err := s.PrivateSet(ctx, "set-2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the refused set was stored: %v", err)
	}
	if got, err := s.LogSize(ctx); err != nil || got != logSize {
		t.Errorf("log grew from %d to %d on a refused set (%v)", logSize, got, err)
	}
	wantUsage(alice, 940+overhead)
	// Objects then see what the set took; bob has his own quota.
	if _, err := submitRaw(s, alice.ID, coll, sized("indicator--2", 61+overhead)); !errors.Is(err, store.ErrQuota) {
		t.Errorf("an object over what the set left: %v, want ErrQuota", err)
	}
	over.Set.Member = bob.ID
	if _, err := s.CreatePrivateSet(ctx, over); err != nil {
		t.Fatalf("bob's set: %v", err)
	}
	wantUsage(bob, 64+overhead)
}

// testPrivateSetLimit: a member's sets beyond NewPrivateSet.MaxPerMember
// fail with a SetLimitError (an ErrQuota) and store nothing; another
// member's count is its own.
func testPrivateSetLimit(t *testing.T, s store.Store) {
	alice, bob, coll := fixture(t, s)
	for i := range 3 {
		n := valuesSet(fmt.Sprint("set-", i), alice, coll, tag(byte(i)))
		n.MaxPerMember = 2
		_, err := s.CreatePrivateSet(ctx, n)
		var le *store.SetLimitError
		switch {
		case i < 2 && err != nil:
			t.Fatalf("set %d of at most 2: %v", i+1, err)
		case i == 2 && (!errors.Is(err, store.ErrQuota) || !errors.As(err, &le) || le.Have != 2 || le.Most != 2 || le.Member != alice.ID):
			t.Fatalf("a third set of at most 2: %v, want a SetLimitError", err)
		}
	}
	if _, err := s.PrivateSet(ctx, "set-2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the refused set was stored: %v", err)
	}
	n := valuesSet("set-bob", bob, coll, tag(9))
	n.MaxPerMember = 2
	if _, err := s.CreatePrivateSet(ctx, n); err != nil {
		t.Errorf("bob's first set: %v", err)
	}
	// One set made from a collection per member and collection.
	fromColl := func(id string, m store.Member) store.NewPrivateSet {
		n := valuesSet(id, m, coll, tag(7))
		n.Set.Source = store.PrivateSourceCollection
		return n
	}
	if _, err := s.CreatePrivateSet(ctx, fromColl("set-bob-c", bob)); err != nil {
		t.Fatalf("bob's set made from the collection: %v", err)
	}
	if _, err := s.CreatePrivateSet(ctx, fromColl("set-bob-c2", bob)); !errors.Is(err, store.ErrConflict) {
		t.Errorf("bob's second set made from the same collection: %v, want ErrConflict", err)
	}
	for _, tc := range []struct {
		m             store.Member
		coll          string
		all, fromColl int
	}{{alice, coll, 2, 0}, {bob, coll, 2, 1}, {bob, "nope", 2, 0}, {member("carol"), coll, 0, 0}} {
		all, fc, err := s.PrivateSetCounts(ctx, tc.m.ID, tc.coll)
		if err != nil || all != tc.all || fc != tc.fromColl {
			t.Errorf("PrivateSetCounts(%s, %s) = %d, %d, %v; want %d, %d", tc.m.Name, tc.coll, all, fc, err, tc.all, tc.fromColl)
		}
	}
}
