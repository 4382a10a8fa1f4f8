package node

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/private"
)

// privateSetStore names store.PrivateSets for embedding in setReads, whose
// method PrivateSets would clash with a field of that name.
type privateSetStore = store.PrivateSets

// setReads wraps a store's private sets and records how they are read: a
// listing of every set (PrivateSets), the collections and member
// PrivateSetsFor is asked for, and the sets read one by one (PrivateSet,
// which a refresh reads first too).
type setReads struct {
	privateSetStore
	mu      sync.Mutex
	listAll int
	asked   [][]string // collections, then the member
	one     []string
}

func (s *setReads) PrivateSets(ctx context.Context) ([]store.PrivateSet, error) {
	s.mu.Lock()
	s.listAll++
	s.mu.Unlock()
	return s.privateSetStore.PrivateSets(ctx)
}

func (s *setReads) PrivateSetsFor(ctx context.Context, collections []string, member string) ([]store.PrivateSet, error) {
	s.mu.Lock()
	s.asked = append(s.asked, append(slices.Clone(collections), member))
	s.mu.Unlock()
	return s.privateSetStore.PrivateSetsFor(ctx, collections, member)
}

func (s *setReads) PrivateSet(ctx context.Context, id string) (store.PrivateSet, error) {
	s.mu.Lock()
	s.one = append(s.one, id)
	s.mu.Unlock()
	return s.privateSetStore.PrivateSet(ctx, id)
}

// take returns what was recorded and starts afresh.
func (s *setReads) take() (listAll int, asked [][]string, one []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	listAll, asked, one = s.listAll, s.asked, s.one
	s.listAll, s.asked, s.one = 0, nil, nil
	return listAll, asked, one
}

// TestPrivateSetsListsOnlyListable: GET /private/sets, and the web UI's
// private-sets page, which answers through it, read only the sets the
// member may list (PrivateSetsFor, asked for the collections it may read
// and itself), never every set to filter them, and no set made from a
// collection it may not read, not even one by one. The node isn't
// served, so that no refresh (which lists every set, as it must) reads
// meanwhile.
func TestPrivateSetsListsOnlyListable(t *testing.T) {
	ctx := context.Background()
	n, _ := initNode(t, Options{})
	defer n.Close()
	add := func(name string) testMember {
		pub, key, _ := ed25519.GenerateKey(rand.Reader)
		nm, err := n.AddMember(ctx, name, pub)
		if err != nil {
			t.Fatal(err)
		}
		return testMember{ID: nm.ID, Token: nm.Token, Key: key}
	}
	alice, bob := add("alice"), add("bob")
	shared, err := n.AddCollection(ctx, "shared", "", []string{"alice", "bob"}, []string{"alice", "bob"}, "")
	if err != nil {
		t.Fatal(err)
	}
	secret, err := n.AddCollection(ctx, "secret", "", []string{"bob"}, []string{"bob"}, "")
	if err != nil {
		t.Fatal(err)
	}
	reads := &setReads{privateSetStore: n.private.st}
	n.private.st = reads
	srv := httptest.NewServer(n.Handler(nil))
	defer srv.Close()
	publish := func(m testMember, coll, prefix string) string {
		t.Helper()
		s, err := (&private.Client{BaseURL: srv.URL, Token: m.Token}).Publish(ctx, private.PublishRequest{Collection: coll, Values: testValues(prefix, 3)})
		if err != nil {
			t.Fatal(err)
		}
		return s.ID
	}
	aliceShared, bobShared, bobSecret := publish(alice, shared, "a"), publish(bob, shared, "b"), publish(bob, secret, "s")
	reads.take()

	for _, tc := range []struct {
		name string
		list func(t *testing.T) []string // alice's sets, by id
	}{
		{"GET /private/sets", func(t *testing.T) []string {
			sets, err := (&private.Client{BaseURL: srv.URL, Token: alice.Token}).Sets(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, s := range sets {
				ids = append(ids, s.ID)
			}
			return ids
		}},
		{"UI private sets", func(t *testing.T) []string {
			if err := uiGet(ctx, uiLogin(t, srv.URL, alice), srv.URL+"/ui/private"); err != nil {
				t.Fatal(err)
			}
			return nil // the page's rows are the API's answer; what matters is how it was read
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reads.take()
			ids := tc.list(t)
			if ids != nil && (len(ids) != 2 || !slices.Contains(ids, aliceShared) || !slices.Contains(ids, bobShared)) {
				t.Errorf("alice's sets = %v, want %s and %s", ids, aliceShared, bobShared)
			}
			listAll, asked, one := reads.take()
			if listAll != 0 {
				t.Errorf("every private set was listed %d times (PrivateSets), not only those alice may list", listAll)
			}
			if want := []string{shared, alice.ID}; len(asked) != 1 || !slices.Equal(asked[0], want) {
				t.Errorf("PrivateSetsFor asked for %v, want once for %v", asked, want)
			}
			if slices.Contains(one, bobSecret) {
				t.Errorf("the set of a collection alice may not read was read: %v", one)
			}
		})
	}
}
