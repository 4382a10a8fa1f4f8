package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
)

// TestLimits checks the largest object and the member quota: usage counts
// new versions in every collection and nothing for identical
// re-submissions; a submission over either limit fails with its sentinel
// and stores nothing (no object, no log entry, no status, no usage); the
// counter survives a reopen and matches the stored bytes; ObjectsSize
// weighs the stored versions.
func TestLimits(t *testing.T) {
	ctx := context.Background()
	url := testURL(t)
	limits := store.Limits{MaxObjectSize: 300, MemberQuota: 1000}
	s := openTest(t, url, Options{Limits: limits})
	alice := store.Member{ID: "identity--a", Name: "alice", Identity: []byte("{}")}
	bob := store.Member{ID: "identity--b", Name: "bob", Identity: []byte("{}")}
	for _, m := range []store.Member{alice, bob} {
		if err := s.AddMember(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	colls := []string{"91a7b528-80eb-42ed-a74d-c6fbd5a26116", "a1b2c3d4-0000-4000-8000-000000000002"}
	for _, c := range colls {
		if err := s.AddCollection(ctx, store.Collection{ID: c, Title: c, Readers: []string{alice.ID, bob.ID}, Writers: []string{alice.ID, bob.ID}}); err != nil {
			t.Fatal(err)
		}
	}
	version := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	// obj is an object of exactly size bytes.
	obj := func(id string, size int) []byte {
		head := fmt.Sprintf(`{"id":%q,"pad":"`, id)
		return []byte(head + strings.Repeat("x", size-len(head)-2) + `"}`)
	}
	statusN := 0
	submit := func(member, coll string, raws ...[]byte) (store.Status, error) {
		statusN++
		sub := store.Submission{StatusID: fmt.Sprint("status-", statusN), Collection: coll, Member: member, Received: version}
		for _, raw := range raws {
			id := string(bytes.SplitN(raw, []byte(`"`), 5)[3])
			sub.Items = append(sub.Items, store.Item{
				Object: store.Object{ID: id, Type: "indicator", SpecVersion: "2.1", Version: version, Signed: true, Raw: raw},
				Salt:   bytes.Repeat([]byte{7}, 32),
				Entry:  func(o store.Object) ([]byte, error) { return fmt.Appendf(nil, `{"idx":%d}`, o.LogIndex), nil },
			})
		}
		return s.Submit(ctx, sub)
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
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	wantUsage(alice, 0)
	// 300 + 300 in one collection, 300 in the other: 900 of 1000.
	a1, a2, a3 := obj("indicator--1", 300), obj("indicator--2", 300), obj("indicator--3", 300)
	if _, err := submit(alice.ID, colls[0], a1, a2); err != nil {
		t.Fatal(err)
	}
	if _, err := submit(alice.ID, colls[1], a3); err != nil {
		t.Fatal(err)
	}
	wantUsage(alice, 900)
	// The same version again stores nothing and costs nothing.
	if st, err := submit(alice.ID, colls[0], a1); err != nil || len(st.Successes) != 1 {
		t.Fatalf("re-submission: %+v, %v", st, err)
	}
	wantUsage(alice, 900)

	// Over the quota: 900 + 101 > 1000, across collections; refused as a
	// whole, the small first item included.
	before := logSize()
	_, err := submit(alice.ID, colls[1], obj("indicator--4", 50), obj("indicator--5", 51))
	var qe *store.QuotaError
	if !errors.Is(err, store.ErrQuota) || !errors.As(err, &qe) {
		t.Fatalf("over quota: %v, want ErrQuota", err)
	}
	if qe.Used != 900 || qe.Need != 101 || qe.Quota != 1000 || qe.Member != alice.ID {
		t.Errorf("QuotaError = %+v, want used 900, need 101, quota 1000", qe)
	}
	if !strings.Contains(err.Error(), "uses 900 of 1000 bytes") {
		t.Errorf("error %q doesn't say the usage", err)
	}
	if _, err := s.Status(ctx, fmt.Sprint("status-", statusN)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a refused submission left its status: %v", err)
	}
	if got := logSize(); got != before {
		t.Errorf("log grew from %d to %d on a refused submission", before, got)
	}
	wantUsage(alice, 900)
	// Exactly up to the quota is allowed; another member has its own.
	if _, err := submit(alice.ID, colls[1], obj("indicator--6", 100)); err != nil {
		t.Fatalf("up to the quota: %v", err)
	}
	wantUsage(alice, 1000)
	if _, err := submit(bob.ID, colls[0], obj("indicator--7", 300)); err != nil {
		t.Fatalf("bob: %v", err)
	}
	wantUsage(bob, 300)

	// Larger than the largest object: ErrTooLarge, nothing stored.
	before = logSize()
	if _, err := submit(bob.ID, colls[0], obj("indicator--8", 40), obj("indicator--9", 301)); !errors.Is(err, store.ErrTooLarge) {
		t.Fatalf("too large: %v, want ErrTooLarge", err)
	}
	if got := logSize(); got != before {
		t.Errorf("log grew from %d to %d on a refused submission", before, got)
	}
	wantUsage(bob, 300)

	// The counter is the sum of the stored bytes, and survives a reopen.
	s.Close()
	s = openTest(t, url, Options{Limits: limits})
	var sum int64
	if err := s.Pool().QueryRow(ctx, `SELECT sum(octet_length(raw)) FROM objects WHERE member = $1`, alice.ID).Scan(&sum); err != nil || sum != 1000 {
		t.Errorf("stored bytes of alice = %d (%v), want 1000", sum, err)
	}
	wantUsage(alice, 1000)

	for _, tc := range []struct {
		coll          string
		ids           []string
		versions, len int64
	}{
		{colls[0], []string{"indicator--1", "indicator--2", "indicator--7", "indicator--3"}, 3, 900},
		{colls[1], []string{"indicator--3", "indicator--6"}, 2, 400},
		{colls[1], []string{"indicator--4"}, 0, 0},
		{colls[0], nil, 0, 0},
	} {
		n, size, err := s.ObjectsSize(ctx, tc.coll, tc.ids)
		if err != nil || n != tc.versions || size != tc.len {
			t.Errorf("ObjectsSize(%v) = %d, %d, %v; want %d, %d", tc.ids, n, size, err, tc.versions, tc.len)
		}
	}
}
