package sqlite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
)

// TestGroupCommit makes several submissions queue while the writer is
// held, so that one caller commits them all in one transaction, and
// checks that each stays all or nothing: the good ones are stored with
// contiguous log indexes, and a rejected one (unknown collection, taken
// status id, failing entry builder, cancelled context) stores nothing and
// gets its own error.
func TestGroupCommit(t *testing.T) {
	ctx := context.Background()
	s, alice, coll := groupStore(t)
	version := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	item := func(id string, fail bool) store.Item {
		return store.Item{
			Object: store.Object{ID: id, Type: "indicator", SpecVersion: "2.1", Version: version, Signed: true,
				Raw: fmt.Appendf(nil, `{"id":%q}`, id)},
			Salt: bytes.Repeat([]byte{7}, 32),
			Entry: func(o store.Object) ([]byte, error) {
				if fail {
					return nil, errors.New("boom")
				}
				return fmt.Appendf(nil, `{"object_id":%q,"idx":%d}`, o.ID, o.LogIndex), nil
			},
		}
	}
	sub := func(status, collection string, ids ...string) store.Submission {
		sb := store.Submission{StatusID: status, Collection: collection, Member: alice.ID, Received: version}
		for _, id := range ids {
			sb.Items = append(sb.Items, item(id, false))
		}
		return sb
	}
	// A status id to collide with.
	if _, err := s.Submit(ctx, sub("taken", coll, "indicator--0")); err != nil {
		t.Fatal(err)
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	failing := sub("s-fail", coll, "indicator--f1")
	failing.Items = append(failing.Items, item("indicator--f2", true))
	cases := []struct {
		ctx     context.Context
		sub     store.Submission
		wantErr error // nil: success
	}{
		{ctx, sub("s-1", coll, "indicator--1a", "indicator--1b"), nil},
		{ctx, sub("s-2", "no-such-collection", "indicator--2a"), store.ErrNotFound},
		{ctx, sub("s-3", coll, "indicator--3a"), nil},
		{ctx, sub("taken", coll, "indicator--4a"), store.ErrConflict},
		{ctx, failing, errors.New("any")},
		{cancelled, sub("s-6", coll, "indicator--6a"), context.Canceled},
		{ctx, sub("s-7", coll, "indicator--7a", "indicator--7b", "indicator--7c"), nil},
	}
	type result struct {
		st  store.Status
		err error
	}
	results := make([]result, len(cases))
	s.mu.Lock() // hold the writer so that every Submit queues
	var wg sync.WaitGroup
	for i, c := range cases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := s.Submit(c.ctx, c.sub)
			results[i] = result{st, err}
		}()
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		s.qmu.Lock()
		n := len(s.queue)
		s.qmu.Unlock()
		if n == len(cases) {
			break
		}
		if time.Now().After(deadline) {
			s.mu.Unlock()
			t.Fatalf("only %d of %d submissions queued", n, len(cases))
		}
		time.Sleep(time.Millisecond)
	}
	s.mu.Unlock()
	wg.Wait()

	wantObjects := map[string]bool{"indicator--0": true}
	for i, c := range cases {
		r := results[i]
		switch {
		case c.wantErr == nil:
			if r.err != nil {
				t.Errorf("%s: %v", c.sub.StatusID, r.err)
				continue
			}
			if r.st.ID != c.sub.StatusID || len(r.st.Successes) != len(c.sub.Items) {
				t.Errorf("%s: status %+v", c.sub.StatusID, r.st)
			}
			for _, it := range c.sub.Items {
				wantObjects[it.Object.ID] = true
			}
			got, err := s.Status(ctx, c.sub.StatusID)
			if err != nil || len(got.Successes) != len(c.sub.Items) {
				t.Errorf("%s: stored status %+v, %v", c.sub.StatusID, got, err)
			}
		case r.err == nil:
			t.Errorf("%s: succeeded, want an error", c.sub.StatusID)
		case c.wantErr.Error() != "any" && !errors.Is(r.err, c.wantErr):
			t.Errorf("%s: error %v, want %v", c.sub.StatusID, r.err, c.wantErr)
		}
	}
	_, rd := s.DB()
	rows, err := rd.Query(`SELECT o.object_id, o.log_index, e.object_id FROM objects o JOIN log_entries e ON e.idx = o.log_index ORDER BY o.log_index`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var n int64
	for rows.Next() {
		var id, entryID string
		var idx int64
		if err := rows.Scan(&id, &idx, &entryID); err != nil {
			t.Fatal(err)
		}
		if !wantObjects[id] {
			t.Errorf("object %s of a rejected submission was stored", id)
		}
		if idx != n+1 || entryID != id { // after the member's registration
			t.Errorf("log index %d holds %s for object %s, want index %d", idx, entryID, id, n+1)
		}
		delete(wantObjects, id)
		n++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for id := range wantObjects {
		t.Errorf("object %s was not stored", id)
	}
	if size, err := s.LogSize(ctx); err != nil || size != n+1 {
		t.Errorf("LogSize = %d (%v), want %d", size, err, n+1)
	}
	for _, id := range []string{"s-2", "s-fail", "s-6"} {
		if _, err := s.Status(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("status of rejected submission %s: %v, want ErrNotFound", id, err)
		}
	}
}

// TestGroupCommitBounded queues more items than one group may hold: the
// caller that holds the writer commits group after group, oldest first,
// until its own submission is done, and every submission is stored.
func TestGroupCommitBounded(t *testing.T) {
	defer func(n int) { maxGroupItems = n }(maxGroupItems)
	maxGroupItems = 3
	ctx := context.Background()
	s, alice, coll := groupStore(t)
	version := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	const subs, per = 5, 2
	errs := make([]error, subs)
	s.mu.Lock()
	var wg sync.WaitGroup
	for i := range subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sb := store.Submission{StatusID: fmt.Sprintf("s-%d", i), Collection: coll, Member: alice.ID, Received: version}
			for j := range per {
				id := fmt.Sprintf("indicator--%d-%d", i, j)
				sb.Items = append(sb.Items, store.Item{
					Object: store.Object{ID: id, Type: "indicator", SpecVersion: "2.1", Version: version, Raw: []byte(`{}`)},
					Salt:   []byte{1},
					Entry:  func(o store.Object) ([]byte, error) { return []byte(o.ID), nil },
				})
			}
			_, errs[i] = s.Submit(ctx, sb)
		}()
	}
	for {
		s.qmu.Lock()
		n := len(s.queue)
		s.qmu.Unlock()
		if n == subs {
			break
		}
		time.Sleep(time.Millisecond)
	}
	s.mu.Unlock()
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("submission %d: %v", i, err)
		}
	}
	if size, err := s.LogSize(ctx); err != nil || size != subs*per+1 { // and the member's registration
		t.Errorf("LogSize = %d (%v), want %d", size, err, subs*per+1)
	}
	if len(s.queue) != 0 {
		t.Errorf("%d submissions left in the queue", len(s.queue))
	}
}

// groupStore opens a store in a temporary directory (closed when the test
// ends) with member alice and a collection she reads and writes.
func groupStore(t *testing.T) (s *Store, alice store.Member, coll string) {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "parley.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	alice = store.Member{ID: "identity--a", Name: "alice", Identity: []byte("{}")}
	if err := s.AddMember(ctx, alice); err != nil {
		t.Fatal(err)
	}
	coll = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
	if err := s.AddCollection(ctx, store.Collection{ID: coll, Title: "c", Readers: []string{alice.ID}, Writers: []string{alice.ID}}); err != nil {
		t.Fatal(err)
	}
	return s, alice, coll
}
