// Package storetest is the conformance suite of [store.Store]: one test
// body that every implementation runs unchanged, so that the embedded
// SQLite store and the PostgreSQL store keep the same contract.
package storetest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
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

// Options are what a store under test is opened with.
type Options struct {
	// Now is the store's clock; nil means time.Now.
	Now func() time.Time
	// Limits bound what one member may store.
	Limits store.Limits
	// Reopen, when set, is a store this opener returned and the suite
	// closed: the opener opens the same database again instead of a new
	// one.
	Reopen store.Store
	// LogObjectsBatch and LogObjectsBatchRows, when not zero, bound one
	// batch of the store's LogObjects reads in bytes and in objects
	// instead of its own bounds, so that the suite can try batches of
	// every size; the opener restores the bounds when t ends.
	LogObjectsBatch, LogObjectsBatchRows int
}

// Opener opens a new, empty store with opts for the test t (it is called
// once or more per subtest), or the database of opts.Reopen again, and
// arranges for it to be removed when t ends; the suite closes it.
type Opener func(t *testing.T, opts Options) store.Store

// OpenerAt makes an Opener out of where, which names a new, empty
// database for t (a file, a schema), and open, which opens the database
// named: a store the Opener returned, passed back as opts.Reopen, is
// opened again under its name.
func OpenerAt(where func(t *testing.T) string, open func(t *testing.T, name string, opts Options) store.Store) Opener {
	var mu sync.Mutex
	names := map[store.Store]string{}
	return func(t *testing.T, opts Options) store.Store {
		mu.Lock()
		name, ok := names[opts.Reopen]
		mu.Unlock()
		if !ok {
			if opts.Reopen != nil {
				t.Fatal("reopening a store this opener didn't open")
			}
			name = where(t)
		}
		s := open(t, name, opts)
		mu.Lock()
		names[s] = name
		mu.Unlock()
		return s
	}
}

// Run runs the suite: every method of [store.Store], through the
// interface only.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Members", testMembers},
		{"Tokens", testTokens},
		{"Collections", testCollections},
		{"SubmitAndQuery", testSubmitAndQuery},
		{"Idempotent", testIdempotent},
		{"Conflict", testConflict},
		{"ConflictAcrossCollections", testConflictAcrossCollections},
		{"Versions", testVersions},
		{"Filters", testFilters},
		{"AddedAfter", testAddedAfter},
		{"AddedAfterByCollection", func(t *testing.T, s store.Store) {
			FillForAddedAfter(t, s)
			CheckAddedAfter(t, s)
		}},
		{"PagingWhileAdding", testPagingWhileAdding},
		{"UnversionedObjects", testUnversioned},
		{"RejectedChangesNothing", testRejected},
		{"ConcurrentSubmits", testConcurrent},
		{"MemberKeyEvents", testKeyEvents},
		{"Ownership", testOwnership},
		{"ObservablesPerCollection", testObservablesPerCollection},
		{"OwnCopiesOnly", testOwnCopiesOnly},
		{"Openings", testOpenings},
		{"Relay", testRelay},
		{"BoundedReads", testBoundedReads},
		{"LogStore", testLogStore},
		{"LogObjects", testLogObjects},
		{"CosignedCheckpoints", testCosigned},
		{"PrivateSetLifecycle", testPrivateSetLifecycle},
		{"PrivateSetsFor", testPrivateSetsFor},
		{"PrivateSetTagsAfter", testPrivateSetTagsAfter},
		{"PrivateBudget", testPrivateBudget},
		{"PrivateBudgetConcurrent", testPrivateBudgetConcurrent},
		{"PrivateIndicatorExpiry", testPrivateIndicatorExpiry},
		{"PrivateSetLimit", testPrivateSetLimit},
		{"PrivateSetRemove", testPrivateSetRemove},
		{"PrivateSetRemoveStatement", testPrivateSetRemoveStatement},
		{"PrivateWithdrawRace", testPrivateWithdrawRace},
		{"OpinionVersions", testOpinionVersions},
		{"OpinionVersionsPerMember", testOpinionVersionsPerMember},
		{"OpinionSizes", testOpinionSizes},
		{"LatestRevoked", testLatestRevoked},
		{"Feeds", testFeeds},
		{"Peers", testPeers},
		{"PeerCopyNoClaim", testPeerCopyNoClaim},
		{"FeedRoundLeases", testFeedRoundLeases},
		{"PeerRoundLeases", testPeerRoundLeases},
		{"RoundClaimRace", testRoundClaimRace},
		{"ObjectsSize", testObjectsSize},
		{"UIBrowsePaging", testBrowsePaging},
		{"UIBrowseFilters", testBrowseFilters},
		{"UIBrowseText", testBrowseText},
		{"UIBrowseInvalid", testBrowseInvalid},
		{"UIBrowsePositions", testBrowsePositions},
		{"UIText", testUIText},
		{"UILookups", testUILookups},
		{"UIPDQ", testUIPDQ},
		{"UIBounds", testUIBounds},
		{"UITextBounds", testUITextBounds},
		{"UITextOrder", testUITextOrder},
		{"UIValues", testUIValues},
		{"UIByCollection", func(t *testing.T, s store.Store) {
			FillForUIMigration(t, s)
			CheckAfterUIMigration(t, s)
		}},
		{"LeaseRace", testLeaseRace},
		{"UISessions", testUISessions},
		// operator.go
		{"OperatorTokens", testOperatorTokens},
		{"RemoveMember", testRemoveMember},
		{"CheckSubmitter", testCheckSubmitter},
		{"RevokeAccess", testRevokeAccess},
		{"GrantAccess", testGrantAccess},
		{"SetCollectionDescription", testSetCollectionDescription},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t, Options{})
			defer s.Close()
			tc.fn(t, s)
		})
	}
	// Tests that need the store opened with options.
	t.Run("Limits", func(t *testing.T) { testLimits(t, open) })
	t.Run("PrivateSetQuota", func(t *testing.T) { testPrivateSetQuota(t, open) })
	t.Run("CheckpointTime", func(t *testing.T) { testCheckpointTime(t, open) })
	t.Run("Leases", func(t *testing.T) { testLeases(t, open) })
	t.Run("Reopen", func(t *testing.T) { testReopen(t, open) })
	t.Run("LogObjectsBatches", func(t *testing.T) { testLogObjectsBatches(t, open) })
	t.Run("CollectionStatsExact", func(t *testing.T) { testCollectionStatsExact(t, open) })
	t.Run("CollectionStatsRaces", func(t *testing.T) { testCollectionStatsRaces(t, open) })
}

var ctx = context.Background()

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func member(name string) store.Member {
	return store.Member{
		ID:        fmt.Sprintf("identity--%x", sha256.Sum256([]byte(name))),
		Name:      name,
		PublicKey: func() []byte { k := sha256.Sum256([]byte("key of " + name)); return k[:] }(),
		Identity:  []byte(`{"type":"identity","name":"` + name + `"}`),
	}
}

// fixture adds members alice and bob and a collection both can read and
// write; it returns the collection id.
func fixture(t *testing.T, s store.Store) (alice, bob store.Member, coll string) {
	alice, bob = member("alice"), member("bob")
	must(t, s.AddMember(ctx, alice))
	must(t, s.AddMember(ctx, bob))
	coll = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
	must(t, s.AddCollection(ctx, store.Collection{
		ID: coll, Title: "shared", Readers: []string{alice.ID, bob.ID}, Writers: []string{alice.ID, bob.ID},
	}))
	return alice, bob, coll
}

var base = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// obj makes a test object version; n distinguishes content.
func obj(id string, version time.Time, n int) store.Object {
	return store.Object{
		ID: id, Type: "indicator", SpecVersion: "2.1", Version: version, Signed: true,
		Raw: fmt.Appendf(nil, `{"id":%q,"modified":%q,"n":%d}`, id, store.FormatTime(version), n),
	}
}

func item(o store.Object) store.Item {
	return store.Item{
		// Domain objects belong to their first sharer; observables don't.
		Owned:  !strings.Contains(o.Type, "-name") && o.Type != "ipv4-addr" && o.Type != "url",
		Object: o,
		Salt:   bytes.Repeat([]byte{7}, 32),
		Entry: func(o store.Object) ([]byte, error) {
			return fmt.Appendf(nil, `{"collection":%q,"object_id":%q,"version":%q,"received":%q}`,
				o.Collection, o.ID, store.FormatTime(o.Version), store.FormatTime(o.DateAdded)), nil
		},
	}
}

// objectLogSize is the number of log entries that aren't member key
// entries (AddMember appends one per member).
func objectLogSize(t *testing.T, s store.Store) int64 {
	t.Helper()
	n, err := s.LogSize(ctx)
	must(t, err)
	ks, err := s.KeyEntries(ctx, n)
	must(t, err)
	return n - int64(len(ks))
}

var statusN atomic.Int64

func submit(t *testing.T, s store.Store, coll string, m store.Member, objs ...store.Object) store.Status {
	t.Helper()
	sub := store.Submission{StatusID: fmt.Sprintf("status-%d-%d", statusN.Add(1), time.Now().UnixNano()), Collection: coll, Member: m.ID, Received: time.Now()}
	for _, o := range objs {
		sub.Items = append(sub.Items, item(o))
	}
	st, err := s.Submit(ctx, sub)
	must(t, err)
	return st
}

func all(t *testing.T, s store.Store, q store.Query) []store.Object {
	t.Helper()
	if q.Limit == 0 {
		q.Limit = 1000
	}
	var out []store.Object
	for {
		p, err := s.Objects(ctx, q)
		must(t, err)
		out = append(out, p.Objects...)
		if !p.More {
			return out
		}
		q.After = p.Objects[len(p.Objects)-1].Seq
	}
}

func ids(objs []store.Object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, fmt.Sprintf("%s@%s", o.ID, store.FormatTime(o.Version)))
	}
	return out
}

func testMembers(t *testing.T, s store.Store) {
	a := member("alice")
	must(t, s.AddMember(ctx, a))
	got, err := s.Member(ctx, a.ID)
	must(t, err)
	if got.Name != "alice" || !bytes.Equal(got.PublicKey, a.PublicKey) || !bytes.Equal(got.Identity, a.Identity) || got.Created.IsZero() {
		t.Errorf("Member = %+v", got)
	}
	if got, err := s.MemberByName(ctx, "alice"); err != nil || got.ID != a.ID {
		t.Errorf("MemberByName = %+v, %v", got, err)
	}
	if _, err := s.Member(ctx, "identity--00000000-0000-4000-8000-000000000000"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown member: %v, want ErrNotFound", err)
	}
	if _, err := s.MemberByName(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown name: %v, want ErrNotFound", err)
	}
	dupName := member("alice")
	dupName.ID = "identity--11111111-0000-4000-8000-000000000000"
	if err := s.AddMember(ctx, dupName); !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate name: %v, want ErrConflict", err)
	}
	dupID := member("carol")
	dupID.ID = a.ID
	if err := s.AddMember(ctx, dupID); !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate id: %v, want ErrConflict", err)
	}
	badKey := member("dave")
	badKey.PublicKey = []byte{1, 2, 3}
	if err := s.AddMember(ctx, badKey); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("short key: %v, want ErrInvalid", err)
	}
	noKey := member("erin")
	noKey.PublicKey = nil
	must(t, s.AddMember(ctx, noKey))
	if got, _ := s.MemberByName(ctx, "erin"); got.PublicKey != nil {
		t.Errorf("member without key has key %x", got.PublicKey)
	}
	ms, err := s.Members(ctx)
	must(t, err)
	if len(ms) != 2 || ms[0].Name != "alice" || ms[1].Name != "erin" {
		t.Errorf("Members = %v", ms)
	}
}

func testTokens(t *testing.T, s store.Store) {
	a, b := member("alice"), member("bob")
	must(t, s.AddMember(ctx, a))
	must(t, s.AddMember(ctx, b))
	ha, hb := sha256.Sum256([]byte("token-a")), sha256.Sum256([]byte("token-b"))
	must(t, s.AddToken(ctx, store.Token{Hash: ha, Member: a.ID}))
	must(t, s.AddToken(ctx, store.Token{Hash: hb, Member: b.ID}))
	// Same 8-byte prefix as ha but a different hash must not authenticate.
	near := ha
	near[31] ^= 1
	if m, err := s.TokenMember(ctx, ha); err != nil || m.ID != a.ID {
		t.Errorf("TokenMember(a) = %v, %v", m.ID, err)
	}
	if m, err := s.TokenMember(ctx, hb); err != nil || m.ID != b.ID {
		t.Errorf("TokenMember(b) = %v, %v", m.ID, err)
	}
	if _, err := s.TokenMember(ctx, near); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("near-miss hash: %v, want ErrNotFound", err)
	}
	if err := s.AddToken(ctx, store.Token{Hash: ha, Member: b.ID}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate token: %v, want ErrConflict", err)
	}
	if err := s.AddToken(ctx, store.Token{Hash: sha256.Sum256([]byte("x")), Member: "identity--99999999-0000-4000-8000-000000000000"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("token for unknown member: %v, want ErrNotFound", err)
	}
}

func testCollections(t *testing.T, s store.Store) {
	a, b := member("alice"), member("bob")
	must(t, s.AddMember(ctx, a))
	must(t, s.AddMember(ctx, b))
	c1 := store.Collection{ID: "c1", Title: "shared", Description: "d", Readers: []string{a.ID, b.ID}, Writers: []string{a.ID}}
	c2 := store.Collection{ID: "c2", Title: "private", Readers: []string{b.ID}, Writers: []string{b.ID}, Signatures: store.SignaturesOptional}
	must(t, s.AddCollection(ctx, c1))
	must(t, s.AddCollection(ctx, c2))
	got, err := s.Collection(ctx, "c1")
	must(t, err)
	if got.Title != "shared" || got.Description != "d" || got.Signatures != store.SignaturesRequired {
		t.Errorf("Collection(c1) = %+v", got)
	}
	if !got.CanRead(a.ID) || !got.CanRead(b.ID) || !got.CanWrite(a.ID) || got.CanWrite(b.ID) {
		t.Errorf("c1 access = readers %v writers %v", got.Readers, got.Writers)
	}
	got2, _ := s.Collection(ctx, "c2")
	if got2.CanRead(a.ID) || got2.CanWrite(a.ID) || got2.Signatures != store.SignaturesOptional {
		t.Errorf("c2 = %+v", got2)
	}
	cs, err := s.Collections(ctx)
	must(t, err)
	if len(cs) != 2 {
		t.Errorf("Collections = %d, want 2", len(cs))
	}
	if _, err := s.Collection(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown collection: %v", err)
	}
	// Access agrees with the lists, and tells an unknown collection.
	for _, tc := range []struct {
		coll, member string
		rd, wr       bool
	}{{"c1", a.ID, true, true}, {"c1", b.ID, true, false}, {"c2", a.ID, false, false}, {"c2", b.ID, true, true}, {"c1", "identity--99999999-0000-4000-8000-000000000000", false, false}} {
		rd, wr, err := s.Access(ctx, tc.coll, tc.member)
		if err != nil || rd != tc.rd || wr != tc.wr {
			t.Errorf("Access(%s, %s) = %v, %v, %v; want %v, %v", tc.coll, tc.member, rd, wr, err, tc.rd, tc.wr)
		}
	}
	if _, _, err := s.Access(ctx, "nope", a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Access of an unknown collection: %v, want ErrNotFound", err)
	}
	if err := s.AddCollection(ctx, c1); !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate collection: %v, want ErrConflict", err)
	}
	bad := store.Collection{ID: "c3", Title: "x", Readers: []string{"identity--99999999-0000-4000-8000-000000000000"}}
	if err := s.AddCollection(ctx, bad); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown reader: %v, want ErrNotFound", err)
	}
	if _, err := s.Collection(ctx, "c3"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("failed AddCollection left collection c3 behind")
	}
}

func testSubmitAndQuery(t *testing.T, s store.Store) {
	alice, _, coll := fixture(t, s)
	o1, o2 := obj("indicator--1", base, 1), obj("indicator--2", base, 2)
	o2.Signed = false
	st := submit(t, s, coll, alice, o1, o2)
	if len(st.Successes) != 2 || len(st.Failures) != 0 || st.Collection != coll || st.Member != alice.ID {
		t.Fatalf("status = %+v", st)
	}
	got, err := s.Status(ctx, st.ID)
	must(t, err)
	if got.Successes[0].Message != "" || !strings.Contains(got.Successes[1].Message, "unsigned") {
		t.Errorf("unsigned object not reported as such: %+v", got.Successes)
	}
	if len(got.Successes) != 2 || got.Successes[0].ID != "indicator--1" || got.Member != alice.ID || got.RequestTimestamp.IsZero() {
		t.Errorf("Status = %+v", got)
	}
	if _, err := s.Status(ctx, "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing status: %v", err)
	}
	if m, err := s.StatusMember(ctx, st.ID); err != nil || m != alice.ID {
		t.Errorf("StatusMember = %q, %v; want %q", m, err, alice.ID)
	}
	if _, err := s.StatusMember(ctx, "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("StatusMember of a missing status: %v", err)
	}
	objs := all(t, s, store.Query{Collection: coll})
	if len(objs) != 2 {
		t.Fatalf("got %d objects, want 2", len(objs))
	}
	for i, o := range objs {
		want := []store.Object{o1, o2}[i]
		if o.ID != want.ID || !bytes.Equal(o.Raw, want.Raw) || !o.Version.Equal(want.Version) || o.Signed != want.Signed ||
			o.Member != alice.ID || o.Collection != coll || o.Type != "indicator" || o.SpecVersion != "2.1" {
			t.Errorf("object %d = %+v", i, o)
		}
		if o.LogIndex != int64(i)+2 { // after the two members' registrations
			t.Errorf("object %d log index %d", i, o.LogIndex)
		}
	}
	if !objs[1].DateAdded.After(objs[0].DateAdded) || objs[1].Seq <= objs[0].Seq {
		t.Errorf("date_added/seq not increasing: %v %v", objs[0].DateAdded, objs[1].DateAdded)
	}
	if n := objectLogSize(t, s); n != 2 {
		t.Fatalf("object entries = %d, want 2", n)
	}
	es, err := s.Entries(ctx, 2, 10)
	must(t, err)
	if len(es) != 2 || es[0].Index != 2 || es[1].Index != 3 || es[0].ObjectID != "indicator--1" || es[0].Member != alice.ID ||
		es[0].Collection != coll || !es[0].Version.Equal(base) || len(es[0].Salt) != 32 || len(es[0].Leaf) == 0 {
		t.Fatalf("Entries = %+v", es)
	}
	if !es[0].Received.Equal(objs[0].DateAdded) {
		t.Errorf("entry received %v != date_added %v", es[0].Received, objs[0].DateAdded)
	}
	e, err := s.EntryFor(ctx, coll, "indicator--2", base)
	must(t, err)
	if e.Index != 3 {
		t.Errorf("EntryFor = %d, want 3", e.Index)
	}
	if _, err := s.EntryFor(ctx, coll, "indicator--2", base.Add(time.Second)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("EntryFor unknown version: %v", err)
	}
	if _, err := s.Submit(ctx, store.Submission{StatusID: "x", Collection: "nope", Member: alice.ID, Items: []store.Item{item(o1)}}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("submit to unknown collection: %v", err)
	}
	if _, err := s.Objects(ctx, store.Query{Collection: coll}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("zero limit: %v, want ErrInvalid", err)
	}
}

func testIdempotent(t *testing.T, s store.Store) {
	alice, _, coll := fixture(t, s)
	o := obj("indicator--1", base, 1)
	submit(t, s, coll, alice, o)
	st := submit(t, s, coll, alice, o, o)
	if len(st.Successes) != 2 || len(st.Failures) != 0 {
		t.Errorf("re-post status = %+v", st)
	}
	if n := objectLogSize(t, s); n != 1 {
		t.Errorf("LogSize after re-post = %d, want 1", n)
	}
	if got := all(t, s, store.Query{Collection: coll, Versions: []store.VersionSelector{{Kind: store.VersionAll}}}); len(got) != 1 {
		t.Errorf("re-post duplicated: %v", ids(got))
	}
}

func testConflict(t *testing.T, s store.Store) {
	alice, _, coll := fixture(t, s)
	o := obj("indicator--1", base, 1)
	submit(t, s, coll, alice, o)
	changed := obj("indicator--1", base, 2)
	other := obj("indicator--2", base, 3)
	st := submit(t, s, coll, alice, changed, other)
	if len(st.Failures) != 1 || st.Failures[0].ID != "indicator--1" || st.Failures[0].Message == "" {
		t.Errorf("conflict status failures = %+v", st.Failures)
	}
	if len(st.Successes) != 1 || st.Successes[0].ID != "indicator--2" {
		t.Errorf("conflict status successes = %+v", st.Successes)
	}
	got := all(t, s, store.Query{Collection: coll, IDs: []string{"indicator--1"}})
	if len(got) != 1 || !bytes.Equal(got[0].Raw, o.Raw) {
		t.Errorf("stored version was overwritten: %s", got[0].Raw)
	}
	if n := objectLogSize(t, s); n != 2 {
		t.Errorf("LogSize = %d, want 2", n)
	}
}

// An id and version name one object in every collection: the same version
// may be shared into a second collection (a new log entry there), but other
// content under that id and version is refused wherever it is posted.
func testConflictAcrossCollections(t *testing.T, s store.Store) {
	alice, bob, coll := fixture(t, s)
	second := "52892447-4d7e-4f70-b94d-d7f22742ff63"
	must(t, s.AddCollection(ctx, store.Collection{
		ID: second, Title: "second", Readers: []string{alice.ID, bob.ID}, Writers: []string{alice.ID, bob.ID},
	}))
	o := obj("indicator--1", base, 1)
	submit(t, s, coll, alice, o)
	st := submit(t, s, second, bob, obj("indicator--1", base, 2))
	if len(st.Failures) != 1 || st.Failures[0].ID != "indicator--1" || len(st.Successes) != 0 {
		t.Errorf("other content under the same id and version in another collection: %+v", st)
	}
	if st := submit(t, s, second, alice, o); len(st.Successes) != 1 || len(st.Failures) != 0 {
		t.Errorf("sharing the same version into a second collection: %+v", st)
	}
	for _, c := range []string{coll, second} {
		got := all(t, s, store.Query{Collection: c, IDs: []string{"indicator--1"}, Versions: []store.VersionSelector{{Kind: store.VersionAll}}})
		if len(got) != 1 || !bytes.Equal(got[0].Raw, o.Raw) {
			t.Errorf("collection %s holds %d versions; want the original only", c, len(got))
		}
	}
	if n := objectLogSize(t, s); n != 2 {
		t.Errorf("LogSize = %d, want 2 (one entry per collection, none for the refused object)", n)
	}
}

func testVersions(t *testing.T, s store.Store) {
	alice, _, coll := fixture(t, s)
	v1, v2, v3 := base, base.Add(time.Hour), base.Add(2*time.Hour)
	// Added out of version order: v2, then v1 and another object, then v3.
	submit(t, s, coll, alice, obj("indicator--a", v2, 2))
	submit(t, s, coll, alice, obj("indicator--a", v1, 1), obj("indicator--b", v1, 9))
	submit(t, s, coll, alice, obj("indicator--a", v3, 3))
	sel := func(kinds ...store.VersionSelector) []string {
		return ids(all(t, s, store.Query{Collection: coll, Versions: kinds, Limit: 2}))
	}
	a := func(v time.Time) string { return "indicator--a@" + store.FormatTime(v) }
	b := "indicator--b@" + store.FormatTime(v1)
	cases := []struct {
		name string
		sel  []store.VersionSelector
		want []string
	}{
		{"default is last", nil, []string{b, a(v3)}},
		{"last", []store.VersionSelector{{Kind: store.VersionLast}}, []string{b, a(v3)}},
		{"first", []store.VersionSelector{{Kind: store.VersionFirst}}, []string{a(v1), b}},
		{"all", []store.VersionSelector{{Kind: store.VersionAll}}, []string{a(v2), a(v1), b, a(v3)}},
		{"at", []store.VersionSelector{{Kind: store.VersionAt, At: v2}}, []string{a(v2)}},
		{"first,last", []store.VersionSelector{{Kind: store.VersionFirst}, {Kind: store.VersionLast}}, []string{a(v1), b, a(v3)}},
		{"last,all", []store.VersionSelector{{Kind: store.VersionLast}, {Kind: store.VersionAll}}, []string{a(v2), a(v1), b, a(v3)}},
	}
	for _, tc := range cases {
		if got := sel(tc.sel...); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
	if _, err := s.Objects(ctx, store.Query{Collection: coll, Limit: 1, Versions: []store.VersionSelector{{Kind: "middle"}}}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("bad selector: %v", err)
	}
}

func testFilters(t *testing.T, s store.Store) {
	alice, bob, coll := fixture(t, s)
	ind := obj("indicator--1", base, 1)
	mal := obj("malware--1", base, 2)
	mal.Type = "malware"
	old := obj("malware--2", base, 3)
	old.Type, old.SpecVersion = "malware", "2.0"
	submit(t, s, coll, alice, ind, mal, old)
	other := "22222222-80eb-42ed-a74d-c6fbd5a26116"
	must(t, s.AddCollection(ctx, store.Collection{ID: other, Title: "other", Readers: []string{bob.ID}, Writers: []string{bob.ID}}))
	submit(t, s, other, bob, obj("indicator--9", base, 9))
	cases := []struct {
		name string
		q    store.Query
		want int
	}{
		{"collection", store.Query{Collection: coll}, 3},
		{"other collection", store.Query{Collection: other}, 1},
		{"type", store.Query{Collection: coll, Types: []string{"malware"}}, 2},
		{"types", store.Query{Collection: coll, Types: []string{"malware", "indicator"}}, 3},
		{"id", store.Query{Collection: coll, IDs: []string{"malware--1"}}, 1},
		{"id in other collection", store.Query{Collection: coll, IDs: []string{"indicator--9"}}, 0},
		{"spec_version", store.Query{Collection: coll, SpecVersions: []string{"2.0"}}, 1},
		{"type and id", store.Query{Collection: coll, Types: []string{"indicator"}, IDs: []string{"malware--1"}}, 0},
	}
	for _, tc := range cases {
		if got := all(t, s, tc.q); len(got) != tc.want {
			t.Errorf("%s: got %v, want %d", tc.name, ids(got), tc.want)
		}
	}
}

func testAddedAfter(t *testing.T, s store.Store) {
	alice, _, coll := fixture(t, s)
	for i := range 5 {
		submit(t, s, coll, alice, obj(fmt.Sprintf("indicator--%d", i), base, i))
	}
	objs := all(t, s, store.Query{Collection: coll})
	if len(objs) != 5 {
		t.Fatalf("got %d", len(objs))
	}
	for i, o := range objs {
		got := all(t, s, store.Query{Collection: coll, AddedAfter: o.DateAdded})
		if len(got) != 4-i {
			t.Errorf("added_after object %d: got %d, want %d", i, len(got), 4-i)
		}
	}
	if got := all(t, s, store.Query{Collection: coll, AddedAfter: objs[0].DateAdded.Add(-time.Microsecond)}); len(got) != 5 {
		t.Errorf("added_after before first: %d", len(got))
	}
}

// testPagingWhileAdding pages with limit 3 while another goroutine adds
// objects and new versions: every version that existed when paging began
// and is still selected must be seen exactly once.
func testPagingWhileAdding(t *testing.T, s store.Store) {
	alice, _, coll := fixture(t, s)
	const initial = 40
	var objs []store.Object
	for i := range initial {
		objs = append(objs, obj(fmt.Sprintf("indicator--%03d", i), base, i))
	}
	submit(t, s, coll, alice, objs...)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			submit(t, s, coll, alice, obj(fmt.Sprintf("indicator--new%03d", i), base, 1000+i))
		}
	}()
	seen := map[string]int{}
	q := store.Query{Collection: coll, Limit: 3, Versions: []store.VersionSelector{{Kind: store.VersionAll}}}
	var lastSeq int64
	for pages := 0; ; pages++ {
		p, err := s.Objects(ctx, q)
		must(t, err)
		for _, o := range p.Objects {
			if o.Seq <= lastSeq {
				t.Errorf("seq went back: %d after %d", o.Seq, lastSeq)
			}
			lastSeq = o.Seq
			seen[o.ID]++
		}
		if !p.More || pages > 60 {
			break
		}
		q.After = p.Objects[len(p.Objects)-1].Seq
	}
	close(stop)
	wg.Wait()
	for _, o := range objs {
		if seen[o.ID] != 1 {
			t.Errorf("%s seen %d times", o.ID, seen[o.ID])
		}
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s seen %d times", id, n)
		}
	}
}

func testUnversioned(t *testing.T, s store.Store) {
	alice, _, coll := fixture(t, s)
	sco := store.Object{ID: "domain-name--1", Type: "domain-name", SpecVersion: "2.1", Raw: []byte(`{"value":"evil.example"}`)}
	submit(t, s, coll, alice, sco)
	st := submit(t, s, coll, alice, sco)
	if len(st.Successes) != 1 {
		t.Errorf("re-post of SCO: %+v", st)
	}
	got := all(t, s, store.Query{Collection: coll, Versions: []store.VersionSelector{{Kind: store.VersionAll}}})
	if len(got) != 1 || !got[0].Version.Equal(got[0].DateAdded) {
		t.Fatalf("SCO versions = %+v", got)
	}
	if st.Successes[0].Version != store.FormatTime(got[0].Version) {
		t.Errorf("status version %q, want %q", st.Successes[0].Version, store.FormatTime(got[0].Version))
	}
	if n := objectLogSize(t, s); n != 1 {
		t.Errorf("LogSize = %d", n)
	}
}

func testRejected(t *testing.T, s store.Store) {
	alice, _, coll := fixture(t, s)
	submit(t, s, coll, alice, obj("indicator--1", base, 1))
	bad := store.Submission{StatusID: "s-bad", Collection: coll, Member: alice.ID, Items: []store.Item{
		item(obj("indicator--2", base, 2)),
		{Object: obj("indicator--3", base, 3), Salt: []byte{1}, Entry: func(store.Object) ([]byte, error) { return nil, errors.New("boom") }},
	}}
	if _, err := s.Submit(ctx, bad); err == nil {
		t.Fatal("Submit with a failing entry builder succeeded")
	}
	if n := objectLogSize(t, s); n != 1 {
		t.Errorf("LogSize after failed submit = %d, want 1", n)
	}
	if got := all(t, s, store.Query{Collection: coll}); len(got) != 1 {
		t.Errorf("objects after failed submit: %v", ids(got))
	}
	if _, err := s.Status(ctx, "s-bad"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("status of failed submit exists: %v", err)
	}
	// A taken status id is a conflict and stores nothing.
	first := submit(t, s, coll, alice, obj("indicator--4", base, 4))
	_, err := s.Submit(ctx, store.Submission{StatusID: first.ID, Collection: coll, Member: alice.ID, Items: []store.Item{item(obj("indicator--5", base, 5))}})
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("taken status id: %v", err)
	}
	if got := all(t, s, store.Query{Collection: coll, IDs: []string{"indicator--5"}}); len(got) != 0 {
		t.Errorf("object of a conflicting submit was stored")
	}
	// Failures reported by the node are recorded in the status.
	st, err := s.Submit(ctx, store.Submission{StatusID: "s-fail", Collection: coll, Member: alice.ID,
		Failures: []store.StatusDetail{{ID: "indicator--6", Message: "not signed"}}})
	must(t, err)
	if got, _ := s.Status(ctx, st.ID); len(got.Failures) != 1 || got.Failures[0].Message != "not signed" {
		t.Errorf("failures not recorded: %+v", got)
	}
}

func testConcurrent(t *testing.T, s store.Store) {
	alice, _, coll := fixture(t, s)
	const workers, per = 4, 10
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				submit(t, s, coll, alice, obj(fmt.Sprintf("indicator--%d-%d", w, i), base, i))
			}
		}()
	}
	wg.Wait()
	if n := objectLogSize(t, s); n != workers*per {
		t.Fatalf("object entries = %d, want %d", n, workers*per)
	}
	n, err := s.LogSize(ctx)
	must(t, err)
	es, err := s.Entries(ctx, 0, n)
	must(t, err)
	for i, e := range es {
		if e.Index != int64(i) {
			t.Fatalf("entry %d has index %d", i, e.Index)
		}
	}
	objs := all(t, s, store.Query{Collection: coll})
	for i := 1; i < len(objs); i++ {
		if !objs[i].DateAdded.After(objs[i-1].DateAdded) {
			t.Errorf("date_added not strictly increasing at %d", i)
		}
	}
}

// keyEntries returns member's key entries, parsed.
func keyEntries(t *testing.T, s store.Store, member string) []tlog.Entry {
	t.Helper()
	n, err := s.LogSize(ctx)
	must(t, err)
	es, err := s.KeyEntries(ctx, n, member)
	must(t, err)
	var out []tlog.Entry
	for _, e := range es {
		le, err := tlog.ParseEntry(e.Leaf)
		must(t, err)
		if le.Kind != tlog.KindMemberKey || le.Member != member || e.Kind != tlog.KindMemberKey {
			t.Fatalf("key entry %d = %+v", e.Index, le)
		}
		out = append(out, le)
	}
	return out
}

func testKeyEvents(t *testing.T, s store.Store) {
	pubA, privA, _ := ed25519.GenerateKey(rand.Reader)
	pubB, privB, _ := ed25519.GenerateKey(rand.Reader)
	pubC, _, _ := ed25519.GenerateKey(rand.Reader)
	m := member("alice")
	m.PublicKey = pubA
	must(t, s.AddMember(ctx, m))
	tok := sha256.Sum256([]byte("alice-token"))
	must(t, s.AddToken(ctx, store.Token{Hash: tok, Member: m.ID}))
	if es := keyEntries(t, s, m.ID); len(es) != 1 || es[0].Event != tlog.EventRegister || !pubA.Equal(es[0].Key) || es[0].Authority != tlog.AuthorityOperator {
		t.Fatalf("registration entries = %+v", es)
	}
	// A rotation signed by the previous key is the member's own.
	stmt := ed25519.Sign(privA, tlog.RotationMessage(pubA, pubB))
	must(t, s.ChangeKey(ctx, store.KeyEvent{Member: m.ID, Event: tlog.EventRotate, Key: pubB, Authority: tlog.AuthorityMember, Statement: stmt}))
	if got, _ := s.Member(ctx, m.ID); !bytes.Equal(got.PublicKey, pubB) {
		t.Errorf("key after rotation = %x", got.PublicKey)
	}
	// A statement not signed by the key in force changes nothing.
	size, _ := s.LogSize(ctx)
	bad := ed25519.Sign(privA, tlog.RotationMessage(pubB, pubC))
	if err := s.ChangeKey(ctx, store.KeyEvent{Member: m.ID, Event: tlog.EventRotate, Key: pubC, Authority: tlog.AuthorityMember, Statement: bad}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("rotation with a bad statement: %v, want ErrInvalid", err)
	}
	if n, _ := s.LogSize(ctx); n != size {
		t.Errorf("a refused rotation appended %d entries", n-size)
	}
	if got, _ := s.Member(ctx, m.ID); !bytes.Equal(got.PublicKey, pubB) {
		t.Errorf("a refused rotation changed the key")
	}
	// Back to A, even signed by B, is refused: a key is used once per
	// member, so the A→B statement can never be replayed.
	back := ed25519.Sign(privB, tlog.RotationMessage(pubB, pubA))
	for _, ev := range []store.KeyEvent{
		{Member: m.ID, Event: tlog.EventRotate, Key: pubA, Authority: tlog.AuthorityMember, Statement: back},
		{Member: m.ID, Event: tlog.EventRotate, Key: pubA, Authority: tlog.AuthorityOperator},
	} {
		if err := s.ChangeKey(ctx, ev); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s rotation back to an earlier key: %v, want ErrInvalid", ev.Authority, err)
		}
	}
	if n, _ := s.LogSize(ctx); n != size {
		t.Errorf("a refused rotation appended %d entries", n-size)
	}
	// The operator's own rotation, then a key revocation.
	must(t, s.ChangeKey(ctx, store.KeyEvent{Member: m.ID, Event: tlog.EventRotate, Key: pubC, Authority: tlog.AuthorityOperator}))
	must(t, s.ChangeKey(ctx, store.KeyEvent{Member: m.ID, Event: tlog.EventRevokeKey, Key: pubC, Authority: tlog.AuthorityOperator}))
	if got, _ := s.Member(ctx, m.ID); got.PublicKey != nil {
		t.Errorf("key after revocation = %x", got.PublicKey)
	}
	// Revoking the member ends its tokens.
	must(t, s.ChangeKey(ctx, store.KeyEvent{Member: m.ID, Event: tlog.EventRevokeMember, Authority: tlog.AuthorityOperator}))
	if _, err := s.TokenMember(ctx, tok); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("token of a revoked member: %v, want ErrNotFound", err)
	}
	es := keyEntries(t, s, m.ID)
	var events []string
	for _, e := range es {
		events = append(events, e.Event+"/"+e.Authority)
	}
	if strings.Join(events, " ") != "register/operator rotate/member rotate/operator revoke-key/operator revoke-member/operator" {
		t.Errorf("key events = %v", events)
	}
	h := tlog.NewKeyHistory()
	raw, _ := s.KeyEntries(ctx, 1<<40, m.ID)
	for i, e := range es {
		if err := h.Apply(uint64(raw[i].Index), e); err != nil {
			t.Errorf("the store logged an event the log's rules refuse: %v", err)
		}
	}
	if err := s.ChangeKey(ctx, store.KeyEvent{Member: "identity--nobody", Event: tlog.EventRevokeMember, Authority: tlog.AuthorityOperator}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown member: %v, want ErrNotFound", err)
	}
	// A key belongs to one member, whether or not that member still holds
	// it: registering another member with alice's key (her first, her
	// last, revoked) or rotating one to it is refused, and logs nothing.
	size, _ = s.LogSize(ctx)
	for _, k := range []ed25519.PublicKey{pubA, pubB, pubC} {
		erin := member("erin")
		erin.PublicKey = k
		if err := s.AddMember(ctx, erin); !errors.Is(err, store.ErrKeyHeld) {
			t.Errorf("a member registered with another member's key: %v, want ErrKeyHeld", err)
		}
	}
	dave := member("dave")
	must(t, s.AddMember(ctx, dave))
	size++
	for _, k := range []ed25519.PublicKey{pubA, pubB, pubC} {
		if err := s.ChangeKey(ctx, store.KeyEvent{Member: dave.ID, Event: tlog.EventRotate, Key: k, Authority: tlog.AuthorityOperator}); !errors.Is(err, store.ErrKeyHeld) {
			t.Errorf("a rotation to another member's key: %v, want ErrKeyHeld", err)
		}
	}
	if n, _ := s.LogSize(ctx); n != size {
		t.Errorf("refused registrations and rotations appended %d entries", n-size)
	}
	if _, err := s.MemberByName(ctx, "erin"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the refused member was added: %v", err)
	}
	// Received times strictly increase across entry kinds.
	other := member("bob")
	must(t, s.AddMember(ctx, other))
	coll := "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
	must(t, s.AddCollection(ctx, store.Collection{ID: coll, Title: "c", Readers: []string{other.ID}, Writers: []string{other.ID}}))
	submit(t, s, coll, other, obj("indicator--1", base, 1))
	must(t, s.ChangeKey(ctx, store.KeyEvent{Member: other.ID, Event: tlog.EventRevokeMember, Authority: tlog.AuthorityOperator}))
	n, _ := s.LogSize(ctx)
	all, err := s.Entries(ctx, 0, n)
	must(t, err)
	for i := 1; i < len(all); i++ {
		if !all[i].Received.After(all[i-1].Received) {
			t.Errorf("entry %d (%s) received %v, not after entry %d (%s) at %v", i, all[i].Kind, all[i].Received, i-1, all[i-1].Kind, all[i-1].Received)
		}
	}
}

func testOwnership(t *testing.T, s store.Store) {
	alice, bob, coll := fixture(t, s)
	other := "5d0c3c1e-2a84-4f0e-9d55-2a6a0b9c1f11"
	must(t, s.AddCollection(ctx, store.Collection{ID: other, Title: "other", Readers: []string{bob.ID}, Writers: []string{bob.ID}}))
	submit(t, s, coll, alice, obj("indicator--1", base, 1))
	size, _ := s.LogSize(ctx)
	for _, c := range []string{coll, other} {
		st := submit(t, s, c, bob, obj("indicator--1", base.Add(time.Hour), 2))
		if len(st.Failures) != 1 || !strings.Contains(st.Failures[0].Message, "belongs to the member who created its first version") {
			t.Errorf("bob's version of alice's object in %s: %+v", c, st)
		}
	}
	if n, _ := s.LogSize(ctx); n != size {
		t.Errorf("refused versions appended %d entries", n-size)
	}
	if got := all(t, s, store.Query{Collection: other}); len(got) != 0 {
		t.Errorf("a refused version was stored: %v", ids(got))
	}
	st := submit(t, s, coll, alice, obj("indicator--1", base.Add(time.Hour), 3))
	if len(st.Failures) != 0 {
		t.Errorf("alice's own new version: %+v", st)
	}
}

func testObservablesPerCollection(t *testing.T, s store.Store) {
	alice, bob, coll := fixture(t, s)
	other := "5d0c3c1e-2a84-4f0e-9d55-2a6a0b9c1f11"
	must(t, s.AddCollection(ctx, store.Collection{ID: other, Title: "other", Readers: []string{bob.ID}, Writers: []string{bob.ID}}))
	sco := func(n int) store.Object {
		return store.Object{ID: "domain-name--1", Type: "domain-name", SpecVersion: "2.1", Version: base, Raw: fmt.Appendf(nil, `{"value":"evil.example","n":%d}`, n)}
	}
	// Different content under one id and version in two collections:
	// two copies, never compared.
	if st := submit(t, s, coll, alice, sco(1)); len(st.Failures) != 0 {
		t.Fatalf("%+v", st)
	}
	if st := submit(t, s, other, bob, sco(2)); len(st.Failures) != 0 {
		t.Errorf("the same observable id in another collection with other content: %+v", st)
	}
	// The same content twice in one collection is already stored.
	if st := submit(t, s, coll, bob, sco(1)); len(st.Successes) != 1 || st.Successes[0].Message != "already stored" {
		t.Errorf("re-post in the same collection: %+v", st)
	}
}

// testOwnCopiesOnly: with OwnCopiesOnly, an observable identical to
// another member's copy in the collection is stored as a new version of
// the poster's, with the answer a fresh one gets; the poster's own copy
// is still already stored.
func testOwnCopiesOnly(t *testing.T, s store.Store) {
	alice, bob, coll := fixture(t, s)
	sco := func(value string) store.Object {
		return store.Object{ID: "domain-name--" + value, Type: "domain-name", SpecVersion: "2.1", Raw: fmt.Appendf(nil, `{"value":%q}`, value)}
	}
	blind := func(m store.Member, o store.Object) store.Status {
		t.Helper()
		st, err := s.Submit(ctx, store.Submission{StatusID: fmt.Sprintf("status-own-%d", statusN.Add(1)), Collection: coll,
			Member: m.ID, Received: time.Now(), Items: []store.Item{item(o)}, OwnCopiesOnly: true})
		must(t, err)
		return st
	}
	first := submit(t, s, coll, bob, sco("tip.example"))
	// In two submissions and in one: the same answer as a fresh value's.
	a, b := blind(alice, sco("tip.example")), blind(alice, sco("fresh.example"))
	for _, st := range []store.Status{a, b} {
		if len(st.Successes) != 1 || st.Successes[0].Message == "already stored" || st.Successes[0].Version == first.Successes[0].Version {
			t.Fatalf("a blind writer's post: %+v (bob's copy: %+v)", st.Successes, first.Successes)
		}
	}
	if a.Successes[0].Message != b.Successes[0].Message {
		t.Errorf("a blind writer's post of bob's tip says %q, of a fresh one %q", a.Successes[0].Message, b.Successes[0].Message)
	}
	got := all(t, s, store.Query{Collection: coll, IDs: []string{"domain-name--tip.example"}, Versions: []store.VersionSelector{{Kind: store.VersionAll}}})
	if len(got) != 2 || got[0].Member != bob.ID || got[1].Member != alice.ID {
		t.Errorf("versions of the tip: %+v", got)
	}
	// Her own copy is already stored, with its version.
	if st := blind(alice, sco("fresh.example")); len(st.Successes) != 1 || st.Successes[0].Message != "already stored" {
		t.Errorf("a blind writer's repost of its own copy: %+v", st)
	}
	// Without the flag, bob's copy is what a repost finds.
	if st := submit(t, s, coll, alice, sco("tip.example")); len(st.Successes) != 1 || st.Successes[0].Message != "already stored" ||
		st.Successes[0].Version != first.Successes[0].Version {
		t.Errorf("a reader's repost: %+v, want bob's version %s", st, first.Successes[0].Version)
	}
}

func testOpenings(t *testing.T, s store.Store) {
	alice, _, coll := fixture(t, s)
	o := obj("indicator--1", base, 1)
	salt := bytes.Repeat([]byte{9}, 32)
	sub := store.Submission{StatusID: "s-open", Collection: coll, Member: alice.ID, Received: time.Now(), Items: []store.Item{{
		Owned: true, Object: o, Salt: salt,
		Entry: func(so store.Object) ([]byte, error) {
			so.Salt = salt
			return tlog.Entry{Kind: tlog.KindObject, Received: so.DateAdded, Commitment: tlog.ObjectCommitment(so.Opening(), so.Raw)}.Marshal()
		},
	}}}
	_, err := s.Submit(ctx, sub)
	must(t, err)
	got := all(t, s, store.Query{Collection: coll})
	if len(got) != 1 || !bytes.Equal(got[0].Salt, salt) {
		t.Fatalf("objects = %+v", got)
	}
	es, err := s.Entries(ctx, got[0].LogIndex, got[0].LogIndex+1)
	must(t, err)
	if len(es) != 1 || fmt.Sprint(es[0].Opening()) != fmt.Sprint(got[0].Opening()) {
		t.Fatalf("entry opening %+v, object opening %+v", es, got[0].Opening())
	}
	le, err := tlog.ParseEntry(es[0].Leaf)
	must(t, err)
	if le.Commitment != tlog.ObjectCommitment(got[0].Opening(), got[0].Raw) {
		t.Errorf("the object's opening doesn't open its entry")
	}
	if ls, ok := s.(store.LogStore); ok {
		var seen int
		must(t, ls.LogObjects(ctx, 0, 100, nil, func(i int64, op tlog.Opening, raw []byte) error {
			seen++
			if i != got[0].LogIndex || fmt.Sprint(op) != fmt.Sprint(got[0].Opening()) || !bytes.Equal(raw, got[0].Raw) {
				t.Errorf("LogObjects gave %d %+v", i, op)
			}
			return nil
		}))
		if seen != 1 {
			t.Errorf("LogObjects gave %d objects", seen)
		}
	}
}

func testRelay(t *testing.T, s store.Store) {
	a := member("alice")
	must(t, s.AddMember(ctx, a))
	must(t, s.AddCollection(ctx, store.Collection{ID: "6f2b1a0e-5c1d-4e9b-8a7f-3d2c1b0a9e8f", Title: "relay", Relay: true, Readers: []string{a.ID}, Writers: []string{a.ID}}))
	must(t, s.AddCollection(ctx, store.Collection{ID: "7a3c2b1f-6d2e-4fa0-9b8a-4e3d2c1b0a9f", Title: "plain", Readers: []string{a.ID}, Writers: []string{a.ID}}))
	r, err := s.Collection(ctx, "6f2b1a0e-5c1d-4e9b-8a7f-3d2c1b0a9e8f")
	must(t, err)
	p, err := s.Collection(ctx, "7a3c2b1f-6d2e-4fa0-9b8a-4e3d2c1b0a9f")
	must(t, err)
	if !r.Relay || p.Relay {
		t.Errorf("relay flags: %v %v", r.Relay, p.Relay)
	}
}
