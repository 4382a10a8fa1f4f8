package taxii

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// testBackend is a small but complete Backend for the handler's tests: it
// keeps object versions in memory in the order they were added, gives
// each a sequence number, and makes cursors from it ("after sequence N"),
// which is the contract the node's store-backed backend follows.
type testBackend struct {
	mu          sync.Mutex
	tokens      map[string]string // token -> member id
	collections []testCollection
	records     []testRecord
	statuses    map[string]testStatus
	seq         int64
	now         func() time.Time
	failWith    error       // when set, every call after Authenticate fails with it
	onObjects   func(Query) // when set, called with every Objects query
}

type testCollection struct {
	c               Collection
	readers, writer []string
}

type testRecord struct {
	seq        int64
	collection string
	id, typ    string
	spec       string
	version    string
	versionT   time.Time
	added      time.Time
	object     json.RawMessage
}

type testStatus struct {
	owner string
	st    Status
}

var _ Backend = (*testBackend)(nil)

const (
	tokenAlice = "alice-token-0123456789abcdef0123456789abcdef"
	tokenBob   = "bob-token-0123456789abcdef0123456789abcdef00"
	alice      = "identity--0f3a9e84-1c43-4bd3-a1a4-0d6f63cbb3f1"
	bob        = "identity--7a8d8a4b-1b1f-4a11-9c0c-55a0f0a2b1d2"

	collShared    = "91a7b528-80eb-42ed-a74d-c6fbd5a26116" // alice rw, bob r
	collReadOnly  = "52892447-4d7e-4f70-b94d-d7f22742ff63" // alice r
	collWriteOnly = "472c94ae-3113-4e3e-a4dd-a9f4ac7471d4" // alice w
	collHidden    = "64993447-4d7e-4f70-b94d-d7f22742ff63" // bob only
)

// newTestBackend returns a backend with two members and four collections
// covering every permission combination, and a clock that starts at a
// fixed instant and moves one millisecond per reading.
func newTestBackend() *testBackend {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var ticks int64
	b := &testBackend{
		tokens:   map[string]string{tokenAlice: alice, tokenBob: bob},
		statuses: map[string]testStatus{},
		now: func() time.Time {
			ticks++
			return t0.Add(time.Duration(ticks) * time.Millisecond)
		},
	}
	b.collections = []testCollection{
		{c: Collection{ID: collShared, Title: "Election security", Description: "Shared by both CERTs"}, readers: []string{alice, bob}, writer: []string{alice}},
		{c: Collection{ID: collReadOnly, Title: "Read only"}, readers: []string{alice}},
		{c: Collection{ID: collWriteOnly, Title: "Drop box"}, writer: []string{alice}},
		{c: Collection{ID: collHidden, Title: "Bob's own"}, readers: []string{bob}, writer: []string{bob}},
	}
	return b
}

func (b *testBackend) Authenticate(ctx context.Context, token string) (Principal, error) {
	for t, m := range b.tokens {
		if subtle.ConstantTimeCompare([]byte(t), []byte(token)) == 1 {
			return Principal{MemberID: m}, nil
		}
	}
	return Principal{}, ErrUnauthorized
}

func (b *testBackend) visible(p Principal, tc testCollection) (Collection, bool) {
	c := tc.c
	c.CanRead = slices.Contains(tc.readers, p.MemberID)
	c.CanWrite = slices.Contains(tc.writer, p.MemberID)
	return c, c.CanRead || c.CanWrite
}

func (b *testBackend) Collections(ctx context.Context, p Principal) ([]Collection, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failWith != nil {
		return nil, b.failWith
	}
	var out []Collection
	for _, tc := range b.collections {
		if c, ok := b.visible(p, tc); ok {
			out = append(out, c)
		}
	}
	return out, nil
}

func (b *testBackend) Collection(ctx context.Context, p Principal, id string) (Collection, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failWith != nil {
		return Collection{}, b.failWith
	}
	for _, tc := range b.collections {
		if tc.c.ID == id {
			if c, ok := b.visible(p, tc); ok {
				return c, nil
			}
		}
	}
	return Collection{}, ErrNotFound
}

func (b *testBackend) Objects(ctx context.Context, p Principal, collectionID string, q Query) (Page, error) {
	c, err := b.Collection(ctx, p, collectionID)
	if err != nil {
		return Page{}, err
	}
	if !c.CanRead {
		return Page{}, ErrForbidden
	}
	if b.onObjects != nil {
		b.onObjects(q)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	after := int64(0)
	if q.Next != "" {
		n, err := strconv.ParseInt(strings.TrimPrefix(q.Next, "s"), 10, 64)
		if err != nil || !strings.HasPrefix(q.Next, "s") || n < 0 {
			return Page{}, BadRequest("next: not a cursor this server issued")
		}
		after = n
	}
	// first and last version of each object in the collection.
	first, last := map[string]time.Time{}, map[string]time.Time{}
	for _, r := range b.records {
		if r.collection != collectionID {
			continue
		}
		if f, ok := first[r.id]; !ok || r.versionT.Before(f) {
			first[r.id] = r.versionT
		}
		if l, ok := last[r.id]; !ok || r.versionT.After(l) {
			last[r.id] = r.versionT
		}
	}
	var page Page
	var lastSeq int64
	for _, r := range b.records {
		if r.collection != collectionID || r.seq <= after {
			continue
		}
		if !q.AddedAfter.IsZero() && !r.added.After(q.AddedAfter) {
			continue
		}
		if len(q.IDs) > 0 && !slices.Contains(q.IDs, r.id) ||
			len(q.Types) > 0 && !slices.Contains(q.Types, r.typ) ||
			len(q.SpecVersions) > 0 && !slices.Contains(q.SpecVersions, r.spec) {
			continue
		}
		v := q.Versions
		keep := v.All || v.First && r.versionT.Equal(first[r.id]) || v.Last && r.versionT.Equal(last[r.id])
		for _, at := range v.At {
			keep = keep || r.versionT.Equal(at)
		}
		if !keep {
			continue
		}
		if len(page.Items) == q.Limit {
			page.More = true
			page.Next = "s" + strconv.FormatInt(lastSeq, 10)
			break
		}
		page.Items = append(page.Items, Item{ID: r.id, Version: r.version, DateAdded: r.added, Object: r.object})
		lastSeq = r.seq
	}
	return page, nil
}

func (b *testBackend) AddObjects(ctx context.Context, p Principal, collectionID string, objects []json.RawMessage) (Status, error) {
	c, err := b.Collection(ctx, p, collectionID)
	if err != nil {
		return Status{}, err
	}
	if !c.CanWrite {
		return Status{}, ErrForbidden
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	st := Status{
		ID:               fmt.Sprintf("2d086da7-4bdc-4f91-900e-%012d", len(b.statuses)+1),
		Status:           StatusComplete,
		RequestTimestamp: FormatTimestamp(now),
		TotalCount:       len(objects),
	}
	for _, raw := range objects {
		var o struct {
			ID, Type, SpecVersion, Created, Modified string
		}
		var props map[string]json.RawMessage
		err := json.Unmarshal(raw, &props)
		if err == nil {
			for k, dst := range map[string]*string{"id": &o.ID, "type": &o.Type, "spec_version": &o.SpecVersion, "created": &o.Created, "modified": &o.Modified} {
				if v, ok := props[k]; ok {
					if json.Unmarshal(v, dst) != nil {
						err = fmt.Errorf("property %s is not a string", k)
					}
				}
			}
		}
		version := o.Modified
		if version == "" {
			version = o.Created
		}
		vt, verr := ParseTimestamp(version)
		switch {
		case err != nil:
		case o.ID == "" || !strings.HasPrefix(o.ID, o.Type+"--"):
			err = errors.New("the object has no valid id")
		case o.SpecVersion != "2.1":
			err = errors.New("spec_version must be 2.1")
		case verr != nil:
			err = errors.New("the object has no valid modified or created timestamp")
		}
		if err != nil {
			st.FailureCount++
			st.Failures = append(st.Failures, StatusDetails{ID: o.ID, Version: version, Message: err.Error()})
			continue
		}
		dup := false
		for _, r := range b.records {
			if r.collection == collectionID && r.id == o.ID && r.versionT.Equal(vt) {
				dup = true
			}
		}
		if !dup {
			b.seq++
			b.records = append(b.records, testRecord{
				seq: b.seq, collection: collectionID, id: o.ID, typ: o.Type, spec: o.SpecVersion,
				version: version, versionT: vt, added: b.now(), object: append(json.RawMessage(nil), raw...),
			})
		}
		st.SuccessCount++
		st.Successes = append(st.Successes, StatusDetails{ID: o.ID, Version: version})
	}
	b.statuses[st.ID] = testStatus{owner: p.MemberID, st: st}
	return st, nil
}

func (b *testBackend) Status(ctx context.Context, p Principal, id string) (Status, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failWith != nil {
		return Status{}, b.failWith
	}
	s, ok := b.statuses[id]
	if !ok || s.owner != p.MemberID {
		return Status{}, ErrNotFound
	}
	return s.st, nil
}
