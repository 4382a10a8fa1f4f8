package node

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/internal/store"
)

// wrappedStore names the embedded store, whose methods the embedding
// must not shadow.
type wrappedStore = store.Store

// sizedCollectionReads records the reads of a collection whose time
// grows with its access lists (Collection and Collections read them).
type sizedCollectionReads struct {
	wrappedStore
	readLog
}

func (s *sizedCollectionReads) Collection(ctx context.Context, id string) (store.Collection, error) {
	s.note(id)
	return s.wrappedStore.Collection(ctx, id)
}

func (s *sizedCollectionReads) Collections(ctx context.Context) ([]store.Collection, error) {
	s.note("*")
	return s.wrappedStore.Collections(ctx)
}

// TestHiddenCollectionReadsNothingSized: the node answers a member about
// a collection it may neither read nor write (TAXII's collection,
// objects, manifest, an object, its versions, a post; a private set
// published for it; a replicated object's bundle, GET /peers/bundle)
// without reading the collection's access lists, whose time grows with
// their length, so that the 404 takes no longer for a collection with
// many readers than for one with few or an unknown id: access is one
// indexed lookup of the member and the collection (store.Access). A
// reader's answer does read the collection: the check can fail.
func TestHiddenCollectionReadsNothingSized(t *testing.T) {
	ctx := context.Background()
	n, _ := initNode(t, Options{})
	add := func(name string) string {
		pub, _, _ := ed25519.GenerateKey(rand.Reader)
		m, err := n.AddMember(ctx, name, pub)
		if err != nil {
			t.Fatal(err)
		}
		return m.Token
	}
	alice, bob := add("alice"), add("bob")
	readers := []string{"bob"}
	for i := range 20 {
		name := fmt.Sprintf("reader%d", i)
		add(name)
		readers = append(readers, name)
	}
	coll, err := n.AddCollection(ctx, "hidden", "", readers, []string{"bob"}, "")
	if err != nil {
		t.Fatal(err)
	}
	rec := &sizedCollectionReads{wrappedStore: n.store}
	n.store = rec
	h := n.Handler(nil)
	do := func(method, path, token, ctype, body string) (int, string) {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+token)
		r.Header.Set("Accept", "application/taxii+json;version=2.1")
		if ctype != "" {
			r.Header.Set("Content-Type", ctype)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code, w.Body.String()
	}
	code, body := do("POST", "/private/sets", bob, "application/json", `{"collection":"`+coll+`","values":["domain-name:hidden.example"]}`)
	if code != http.StatusCreated && code != http.StatusOK {
		t.Fatalf("publish: %d %s", code, body)
	}
	var set struct{ ID string }
	if err := json.Unmarshal([]byte(body), &set); err != nil || set.ID == "" {
		t.Fatalf("publish: %s", body)
	}
	rec.take()
	const taxiiType = "application/taxii+json;version=2.1"
	obj := "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
	base := "/api/collections/" + coll
	for _, r := range []struct{ method, path, ctype, body string }{
		{"GET", base + "/", "", ""},
		{"GET", base + "/objects/", "", ""},
		{"GET", base + "/manifest/", "", ""},
		{"GET", base + "/objects/" + obj + "/", "", ""},
		{"GET", base + "/objects/" + obj + "/versions/", "", ""},
		{"POST", base + "/objects/", taxiiType, `{"objects":[]}`},
		{"POST", "/private/sets", "application/json", `{"collection":"` + coll + `","values":["domain-name:hidden.example"]}`},
		{"GET", "/private/sets/" + set.ID, "", ""},
		{"GET", "/peers/bundle?collection=" + coll + "&object=" + obj, "", ""},
	} {
		if code, body := do(r.method, r.path, alice, r.ctype, r.body); code != http.StatusNotFound {
			t.Errorf("alice's %s %s: %d %s, want 404", r.method, r.path, code, body)
		}
		if ids := rec.take(); len(ids) != 0 {
			t.Errorf("alice's %s %s read the hidden collection's access lists (%v): its time grows with them", r.method, r.path, ids)
		}
	}
	if code, body := do("GET", base+"/", bob, "", ""); code != http.StatusOK {
		t.Fatalf("bob's collection: %d %s", code, body)
	}
	if len(rec.take()) == 0 {
		t.Error("bob's answer read nothing of the collection through the recorder: the check can't fail")
	}
}
