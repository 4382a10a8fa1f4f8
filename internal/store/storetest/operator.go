package storetest

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/tlog"
)

// testOperatorTokens: RevokeTokens ends every token of one member and no
// other's; ReplaceTokens leaves exactly the new one, and a refused
// replacement changes nothing.
func testOperatorTokens(t *testing.T, s store.Store) {
	a, b := member("alice"), member("bob")
	must(t, s.AddMember(ctx, a))
	must(t, s.AddMember(ctx, b))
	tok := func(name string) [32]byte { return sha256.Sum256([]byte(name)) }
	must(t, s.AddToken(ctx, store.Token{Hash: tok("a1"), Member: a.ID}))
	must(t, s.AddToken(ctx, store.Token{Hash: tok("a2"), Member: a.ID}))
	must(t, s.AddToken(ctx, store.Token{Hash: tok("b1"), Member: b.ID}))
	works := func(name, member string) {
		t.Helper()
		if m, err := s.TokenMember(ctx, tok(name)); err != nil || m.ID != member {
			t.Errorf("token %s: %v, %v; want member %s", name, m.ID, err, member)
		}
	}
	fails := func(name string) {
		t.Helper()
		if _, err := s.TokenMember(ctx, tok(name)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("token %s: %v, want ErrNotFound", name, err)
		}
	}

	if n, err := s.RevokeTokens(ctx, a.ID); err != nil || n != 2 {
		t.Errorf("RevokeTokens(alice) = %d, %v; want 2", n, err)
	}
	fails("a1")
	fails("a2")
	works("b1", b.ID)
	if n, err := s.RevokeTokens(ctx, a.ID); err != nil || n != 0 {
		t.Errorf("RevokeTokens(alice) again = %d, %v; want 0, nil", n, err)
	}
	if _, err := s.RevokeTokens(ctx, "identity--nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RevokeTokens(unknown) = %v, want ErrNotFound", err)
	}

	if n, err := s.ReplaceTokens(ctx, store.Token{Hash: tok("a3"), Member: a.ID}); err != nil || n != 0 {
		t.Errorf("ReplaceTokens(a3) = %d, %v; want 0", n, err)
	}
	must(t, s.AddToken(ctx, store.Token{Hash: tok("a4"), Member: a.ID}))
	if n, err := s.ReplaceTokens(ctx, store.Token{Hash: tok("a5"), Member: a.ID}); err != nil || n != 2 {
		t.Errorf("ReplaceTokens(a5) = %d, %v; want 2", n, err)
	}
	fails("a3")
	fails("a4")
	works("a5", a.ID)
	// A replacement by a taken hash is refused and keeps alice's token.
	if _, err := s.ReplaceTokens(ctx, store.Token{Hash: tok("b1"), Member: a.ID}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("ReplaceTokens with bob's hash = %v, want ErrConflict", err)
	}
	works("a5", a.ID)
	works("b1", b.ID)
	if _, err := s.ReplaceTokens(ctx, store.Token{Hash: tok("x"), Member: "identity--nobody"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ReplaceTokens(unknown) = %v, want ErrNotFound", err)
	}
}

// testRemoveMember: a removed member can't authenticate, is off every
// access list, gets no new token, and keeps its identity and log entries;
// a member revoked by its key event gets no new token either.
func testRemoveMember(t *testing.T, s store.Store) {
	a, b, coll := fixture(t, s)
	must(t, s.AddToken(ctx, store.Token{Hash: sha256.Sum256([]byte("alice")), Member: a.ID}))
	size, err := s.LogSize(ctx)
	must(t, err)

	must(t, s.RemoveMember(ctx, a.ID))
	if _, err := s.TokenMember(ctx, sha256.Sum256([]byte("alice"))); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("token of a removed member: %v, want ErrNotFound", err)
	}
	c, err := s.Collection(ctx, coll)
	must(t, err)
	if slices.Contains(c.Readers, a.ID) || slices.Contains(c.Writers, a.ID) || !slices.Contains(c.Readers, b.ID) || !slices.Contains(c.Writers, b.ID) {
		t.Errorf("access after removing alice: readers %v, writers %v", c.Readers, c.Writers)
	}
	if err := s.AddToken(ctx, store.Token{Hash: sha256.Sum256([]byte("again")), Member: a.ID}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("AddToken for a removed member = %v, want ErrInvalid", err)
	}
	if _, err := s.ReplaceTokens(ctx, store.Token{Hash: sha256.Sum256([]byte("again")), Member: a.ID}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("ReplaceTokens for a removed member = %v, want ErrInvalid", err)
	}
	if m, err := s.Member(ctx, a.ID); err != nil || m.Name != "alice" {
		t.Errorf("a removed member's identity: %v, %v", m, err)
	}
	if n, _ := s.LogSize(ctx); n != size {
		t.Errorf("RemoveMember changed the log size from %d to %d", size, n)
	}
	if es, err := s.KeyEntries(ctx, 1<<40, a.ID); err != nil || len(es) == 0 {
		t.Errorf("a removed member's key entries: %d, %v", len(es), err)
	}
	must(t, s.RemoveMember(ctx, a.ID))
	if err := s.RemoveMember(ctx, "identity--nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RemoveMember(unknown) = %v, want ErrNotFound", err)
	}

	// A member revoked through its key event gets no new token.
	must(t, s.ChangeKey(ctx, store.KeyEvent{Member: b.ID, Event: tlog.EventRevokeMember, Authority: tlog.AuthorityOperator}))
	if err := s.AddToken(ctx, store.Token{Hash: sha256.Sum256([]byte("bob")), Member: b.ID}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("AddToken for a revoked member = %v, want ErrInvalid", err)
	}
}

// testSetCollectionDescription: the new description is what Collection
// and Collections return, the rest of the collection (title, access,
// objects) is unchanged, nothing is logged, and an unknown collection is
// ErrNotFound.
func testSetCollectionDescription(t *testing.T, s store.Store) {
	a, _, coll := fixture(t, s)
	before, err := s.Collection(ctx, coll)
	must(t, err)
	size, err := s.LogSize(ctx)
	must(t, err)
	must(t, s.SetCollectionDescription(ctx, coll, "Relayed from https://feed.example/taxii2/ by the feed f."))
	after, err := s.Collection(ctx, coll)
	must(t, err)
	if after.Description != "Relayed from https://feed.example/taxii2/ by the feed f." {
		t.Errorf("description %q", after.Description)
	}
	after.Description = before.Description
	if !reflect.DeepEqual(after, before) {
		t.Errorf("the collection changed beyond its description:\n%+v\n%+v", after, before)
	}
	all, err := s.Collections(ctx)
	must(t, err)
	for _, c := range all {
		if c.ID == coll && c.Description != "Relayed from https://feed.example/taxii2/ by the feed f." {
			t.Errorf("Collections: description %q", c.Description)
		}
	}
	if !slices.Contains(after.Readers, a.ID) {
		t.Errorf("readers %v", after.Readers)
	}
	if n, _ := s.LogSize(ctx); n != size {
		t.Errorf("SetCollectionDescription changed the log size from %d to %d", size, n)
	}
	if err := s.SetCollectionDescription(ctx, "no-such-collection", "x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetCollectionDescription(unknown) = %v, want ErrNotFound", err)
	}
}

// testCheckSubmitter: a submission with CheckSubmitter is stored only while
// its member, as committed, is not revoked, may write the collection and
// has the key the node checked against; otherwise it fails with
// ErrSubmitterChanged and stores nothing. CheckRevoked (a peer's
// replication) looks at the revocation only.
func testCheckSubmitter(t *testing.T, s store.Store) {
	a, b, coll := fixture(t, s)
	// A collection alice may read but not write.
	ro := "5a0e8a4c-3f7e-4f53-9a43-0d3c1f1b7c21"
	must(t, s.AddCollection(ctx, store.Collection{ID: ro, Title: "read only", Readers: []string{a.ID}, Writers: []string{b.ID}}))
	n := 0
	try := func(coll string, m store.Member, key []byte) error {
		t.Helper()
		n++
		sub := store.Submission{StatusID: fmt.Sprintf("check-submitter-%d", n), Collection: coll, Member: m.ID, Received: base,
			CheckSubmitter: true, Key: key,
			Items: []store.Item{item(obj(fmt.Sprintf("indicator--00000000-0000-4000-8000-%012d", n), base, n))}}
		size, err := s.LogSize(ctx)
		must(t, err)
		_, err = s.Submit(ctx, sub)
		if err != nil {
			if after, _ := s.LogSize(ctx); after != size {
				t.Errorf("a refused submission changed the log size from %d to %d", size, after)
			}
			if _, serr := s.Status(ctx, sub.StatusID); !errors.Is(serr, store.ErrNotFound) {
				t.Errorf("a refused submission left its status: %v", serr)
			}
		}
		return err
	}
	refused := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, store.ErrSubmitterChanged) {
			t.Errorf("%s: %v, want ErrSubmitterChanged", what, err)
		}
	}
	must(t, try(coll, a, a.PublicKey))
	refused("another key than alice's", try(coll, a, b.PublicKey))
	refused("no key, while alice has one", try(coll, a, nil))
	refused("a collection alice may not write", try(ro, a, a.PublicKey))
	refused("an unknown member", try(coll, store.Member{ID: "identity--nobody"}, nil))

	// Her key revoked: the key checked before is no longer in force.
	must(t, s.ChangeKey(ctx, store.KeyEvent{Member: a.ID, Event: tlog.EventRevokeKey, Key: a.PublicKey, Authority: tlog.AuthorityOperator}))
	refused("alice's revoked key", try(coll, a, a.PublicKey))
	must(t, try(coll, a, nil)) // unsigned, as the node would check her now

	// Bob revoked, then removed.
	must(t, try(coll, b, b.PublicKey))
	must(t, s.ChangeKey(ctx, store.KeyEvent{Member: b.ID, Event: tlog.EventRevokeMember, Authority: tlog.AuthorityOperator}))
	refused("a revoked member", try(coll, b, nil))
	must(t, s.RemoveMember(ctx, a.ID))
	refused("a removed member", try(coll, a, nil))

	// CheckRevoked (a peer's member, on no access list) looks only at
	// the revocation.
	c := store.Member{ID: "identity--peer-c", Name: "peer:c", Identity: []byte(`{"type":"identity","name":"peer:c"}`)}
	must(t, s.AddMember(ctx, c))
	replica := func(id string) error {
		_, err := s.Submit(ctx, store.Submission{StatusID: "replica-" + id, Collection: ro, Member: c.ID, Received: base, CheckRevoked: true,
			Items: []store.Item{item(obj(id, base, 1))}})
		return err
	}
	must(t, replica("indicator--00000000-0000-4000-8000-888888888888"))
	must(t, s.RemoveMember(ctx, c.ID))
	refused("a removed peer member's replica", replica("indicator--00000000-0000-4000-8000-888888888889"))

	// A private set with CheckWriter: bob (revoked) and a reader who
	// may not write are refused, nothing logged; without it, stored.
	d := member("dave")
	must(t, s.AddMember(ctx, d))
	must(t, s.AddCollection(ctx, store.Collection{ID: "0b7d5a1e-1c63-4d0e-9a5e-2f0a6b1c9e44", Title: "dave's", Readers: []string{d.ID, b.ID}, Writers: []string{d.ID, b.ID}}))
	for _, tc := range []struct {
		what   string
		m      store.Member
		coll   string
		refuse bool
	}{
		{"a revoked member's set", b, "0b7d5a1e-1c63-4d0e-9a5e-2f0a6b1c9e44", true},
		{"a set of a member who may not write", d, ro, true},
		{"a writer's set", d, "0b7d5a1e-1c63-4d0e-9a5e-2f0a6b1c9e44", false},
	} {
		size, err := s.LogSize(ctx)
		must(t, err)
		n := valuesSet("set-"+tc.m.Name+"-"+tc.coll, tc.m, tc.coll, tag(1))
		n.CheckWriter = true
		_, err = s.CreatePrivateSet(ctx, n)
		if !tc.refuse {
			must(t, err)
			continue
		}
		refused(tc.what, err)
		if after, _ := s.LogSize(ctx); after != size {
			t.Errorf("%s: the log grew from %d to %d", tc.what, size, after)
		}
	}

	// Without either check nothing is looked at.
	submit(t, s, coll, a, obj("indicator--00000000-0000-4000-8000-999999999999", base, 99))
}

// testRevokeAccess: RevokeAccess takes away read, write or both, leaves
// the others' rights and the log as they were, drops a member left with
// neither from the lists, and refuses what it can't do, changing nothing.
func testRevokeAccess(t *testing.T, s store.Store) {
	a, b, coll := fixture(t, s)
	size, err := s.LogSize(ctx)
	must(t, err)
	access := func(m store.Member) (bool, bool) {
		t.Helper()
		rd, wr, err := s.Access(ctx, coll, m.ID)
		must(t, err)
		return rd, wr
	}
	must(t, s.RevokeAccess(ctx, coll, a.ID, true, false))
	if rd, wr := access(a); rd || !wr {
		t.Errorf("alice after her read was taken: read %v, write %v", rd, wr)
	}
	if rd, wr := access(b); !rd || !wr {
		t.Errorf("bob after alice's read was taken: read %v, write %v", rd, wr)
	}
	must(t, s.RevokeAccess(ctx, coll, a.ID, false, true))
	c, err := s.Collection(ctx, coll)
	must(t, err)
	if slices.Contains(c.Readers, a.ID) || slices.Contains(c.Writers, a.ID) || !slices.Contains(c.Readers, b.ID) || !slices.Contains(c.Writers, b.ID) {
		t.Errorf("lists after alice lost both: readers %v, writers %v", c.Readers, c.Writers)
	}
	if err := s.RevokeAccess(ctx, coll, a.ID, true, true); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RevokeAccess of a member off the lists = %v, want ErrNotFound", err)
	}
	if err := s.RevokeAccess(ctx, "no-such-collection", b.ID, true, true); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RevokeAccess on an unknown collection = %v, want ErrNotFound", err)
	}
	if err := s.RevokeAccess(ctx, coll, b.ID, false, false); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("RevokeAccess of nothing = %v, want ErrInvalid", err)
	}
	if rd, wr := access(b); !rd || !wr {
		t.Errorf("bob after the refusals: read %v, write %v", rd, wr)
	}
	if n, _ := s.LogSize(ctx); n != size {
		t.Errorf("RevokeAccess changed the log size from %d to %d", size, n)
	}
}

// testGrantAccess: GrantAccess gives read, write or both, keeps what the
// member had, puts a member new to the lists last on them, leaves the
// others' rights and the log as they were, and refuses what it can't do
// (an unknown collection or member, a removed or revoked member, nothing
// asked), changing nothing.
func testGrantAccess(t *testing.T, s store.Store) {
	a, b, coll := fixture(t, s)
	c, d := member("carol"), member("dave")
	must(t, s.AddMember(ctx, c))
	must(t, s.AddMember(ctx, d))
	size, err := s.LogSize(ctx)
	must(t, err)
	access := func(m store.Member) (bool, bool) {
		t.Helper()
		rd, wr, err := s.Access(ctx, coll, m.ID)
		must(t, err)
		return rd, wr
	}
	lists := func(what string, readers, writers []string) {
		t.Helper()
		col, err := s.Collection(ctx, coll)
		must(t, err)
		if !slices.Equal(col.Readers, readers) || !slices.Equal(col.Writers, writers) {
			t.Errorf("%s: readers %v, writers %v; want %v, %v", what, col.Readers, col.Writers, readers, writers)
		}
	}

	must(t, s.GrantAccess(ctx, coll, c.ID, true, false))
	if rd, wr := access(c); !rd || wr {
		t.Errorf("carol after a grant of read: read %v, write %v", rd, wr)
	}
	lists("after carol's read", []string{a.ID, b.ID, c.ID}, []string{a.ID, b.ID})
	must(t, s.GrantAccess(ctx, coll, c.ID, false, true))
	if rd, wr := access(c); !rd || !wr {
		t.Errorf("carol after a grant of write: read %v, write %v (the read must stay)", rd, wr)
	}
	lists("after carol's write", []string{a.ID, b.ID, c.ID}, []string{a.ID, b.ID, c.ID})
	// Granting what it has changes nothing.
	must(t, s.GrantAccess(ctx, coll, c.ID, true, true))
	lists("after granting carol both again", []string{a.ID, b.ID, c.ID}, []string{a.ID, b.ID, c.ID})

	// What revoke took, grant gives back.
	must(t, s.RevokeAccess(ctx, coll, a.ID, true, false))
	must(t, s.GrantAccess(ctx, coll, a.ID, true, false))
	if rd, wr := access(a); !rd || !wr {
		t.Errorf("alice after her read was given back: read %v, write %v", rd, wr)
	}

	// Refusals change nothing.
	must(t, s.RemoveMember(ctx, b.ID))
	must(t, s.ChangeKey(ctx, store.KeyEvent{Member: d.ID, Event: tlog.EventRevokeMember, Authority: tlog.AuthorityOperator}))
	size, err = s.LogSize(ctx)
	must(t, err)
	before, err := s.Collection(ctx, coll)
	must(t, err)
	for _, tc := range []struct {
		what        string
		coll, m     string
		read, write bool
		want        error
	}{
		{"a removed member", coll, b.ID, true, true, store.ErrInvalid},
		{"a removed member's write", coll, b.ID, false, true, store.ErrInvalid},
		{"a revoked member", coll, d.ID, true, false, store.ErrInvalid},
		{"an unknown member", coll, "identity--00000000-0000-4000-8000-000000000000", true, true, store.ErrNotFound},
		{"an unknown collection", "no-such-collection", c.ID, true, true, store.ErrNotFound},
		{"nothing", coll, c.ID, false, false, store.ErrInvalid},
	} {
		if err := s.GrantAccess(ctx, tc.coll, tc.m, tc.read, tc.write); !errors.Is(err, tc.want) {
			t.Errorf("GrantAccess to %s = %v, want %v", tc.what, err, tc.want)
		}
	}
	after, err := s.Collection(ctx, coll)
	must(t, err)
	if !reflect.DeepEqual(after, before) {
		t.Errorf("a refused grant changed the collection:\n%+v\n%+v", after, before)
	}
	if rd, wr, err := s.Access(ctx, coll, b.ID); err != nil || rd || wr {
		t.Errorf("the removed member after a refused grant: read %v, write %v, %v", rd, wr, err)
	}
	if n, _ := s.LogSize(ctx); n != size {
		t.Errorf("GrantAccess changed the log size from %d to %d", size, n)
	}
}
