package node

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/feed"
	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/stix"
)

// oasisInfrastructure returns the objects of the OASIS infrastructure
// example, whose ipv4-addr and domain-name have UUIDv4 ids that its
// relationships refer to.
func oasisInfrastructure(t *testing.T) []json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "stix21-examples", "infrastructure.json"))
	if err != nil {
		t.Fatal(err)
	}
	var bundle struct {
		Objects []json.RawMessage `json:"objects"`
	}
	if err := json.Unmarshal(b, &bundle); err != nil {
		t.Fatal(err)
	}
	return bundle.Objects
}

// TestRandomObservableIDs: STIX 2.1 section 2.9 only recommends UUIDv5 ids
// for cyber-observables, and real producers send UUIDv4 ones. The OASIS
// example of infrastructure (testdata/stix21-examples) has an ipv4-addr
// and a domain-name with UUIDv4 ids that its relationships refer to: the
// whole bundle is stored, references intact. Such an id names nothing but
// itself, so it belongs to its first sharer: another writer's value under
// it is refused, and the relationship still points at the first value. A
// UUIDv5 id still has to be the one its value determines, and the same
// value under its UUIDv5 id stays anyone's to share.
func TestRandomObservableIDs(t *testing.T) {
	ctx := context.Background()
	tn := newTestNode(t)
	coll := relayCollection(t, tn.Node, "oasis", []string{"carol", "bob"}, store.SignaturesOptional)
	bundle := struct{ Objects []json.RawMessage }{oasisInfrastructure(t)}
	const addr = "ipv4-addr--1e4ffad7-0b88-41d4-ba4d-77d27490b956"
	st := post(t, tn.carol.Client, coll, bundle.Objects...)
	if st.FailureCount != 0 || st.SuccessCount != len(bundle.Objects) {
		t.Fatalf("the OASIS bundle: %d stored, failures %+v", st.SuccessCount, st.Failures)
	}

	// Bob puts another address under carol's UUIDv4 id: refused.
	other := json.RawMessage(`{"type":"ipv4-addr","spec_version":"2.1","id":"` + addr + `","value":"203.0.113.66"}`)
	st = post(t, tn.bob.Client, coll, other)
	if st.SuccessCount != 0 || st.FailureCount != 1 || st.Failures[0].ID != addr ||
		!strings.HasPrefix(st.Failures[0].Message, "this id belongs to the member who created its first version") {
		t.Fatalf("another value under a UUIDv4 observable id: %+v", st)
	}
	page, err := tn.store.Objects(ctx, store.Query{Collection: coll, IDs: []string{addr}, Limit: 10})
	if err != nil || len(page.Objects) != 1 || !strings.Contains(string(page.Objects[0].Raw), `"198.51.100.3"`) {
		t.Fatalf("stored %s = %+v, %v; want carol's 198.51.100.3 alone", addr, page.Objects, err)
	}
	// Carol's own copy again: already stored.
	for _, raw := range bundle.Objects {
		if strings.Contains(string(raw), addr+`",`) && strings.Contains(string(raw), `"ipv4-addr"`) {
			if st := post(t, tn.carol.Client, coll, raw); st.SuccessCount != 1 || st.Successes[0].Message != "already stored" {
				t.Errorf("carol's address again: %+v", st)
			}
		}
	}

	// The same address under its UUIDv5 id is shared: bob and carol both
	// may post it.
	v5, err := stix.DeterministicID("ipv4-addr", map[string]any{"value": "198.51.100.3"})
	if err != nil {
		t.Fatal(err)
	}
	shared := json.RawMessage(`{"type":"ipv4-addr","spec_version":"2.1","id":"` + v5 + `","value":"198.51.100.3"}`)
	if st := post(t, tn.bob.Client, coll, shared); st.SuccessCount != 1 {
		t.Fatalf("bob's UUIDv5 address: %+v", st)
	}
	if st := post(t, tn.carol.Client, coll, shared); st.SuccessCount != 1 {
		t.Fatalf("carol's copy of bob's UUIDv5 address: %+v", st)
	}
	// An identical copy is already stored whoever sends it; carol's own
	// version of the address (another property beside the same value) is
	// what shows the id shared.
	carols := json.RawMessage(`{"type":"ipv4-addr","spec_version":"2.1","id":"` + v5 + `","value":"198.51.100.3","x_seen_by":"carol"}`)
	if st := post(t, tn.carol.Client, coll, carols); st.SuccessCount != 1 || st.Successes[0].Message == "already stored" {
		t.Fatalf("carol's version of bob's UUIDv5 address: %+v", st)
	}
	// An observable with none of its ID contributing properties (a
	// process), whose id section 2.9 makes random, is shared as before.
	const proc = "process--f52a906a-0dfc-40bd-92f1-e7778ead38a9"
	for i, m := range []testMember{tn.bob, tn.carol} {
		raw := json.RawMessage(fmt.Sprintf(`{"type":"process","spec_version":"2.1","id":"%s","pid":%d}`, proc, 1000+i))
		if st := post(t, m.Client, coll, raw); st.SuccessCount != 1 || st.Successes[0].Message == "already stored" {
			t.Fatalf("member %d's version of a process: %+v", i, st)
		}
	}
	// A UUIDv5 id over another value is refused, with the id it should be.
	wrong := json.RawMessage(`{"type":"ipv4-addr","spec_version":"2.1","id":"` + v5 + `","value":"203.0.113.66"}`)
	want, _ := stix.DeterministicID("ipv4-addr", map[string]any{"value": "203.0.113.66"})
	st = post(t, tn.carol.Client, coll, wrong)
	if st.FailureCount != 1 || !strings.Contains(st.Failures[0].Message, "should be "+want) || !strings.Contains(st.Failures[0].Message, "UUIDv4") {
		t.Fatalf("a UUIDv5 id over another value: %+v", st)
	}
}

// TestFeedRandomObservableIDs: a TAXII feed serving observables with
// UUIDv4 ids (the OASIS infrastructure example, on another node) is
// followed whole, ids unchanged, the observables owned by the feed's
// member; reading the feed again from the beginning stores nothing twice
// and fails nothing.
func TestFeedRandomObservableIDs(t *testing.T) {
	ctx := context.Background()
	src := newTestNode(t)
	srcColl := relayCollection(t, src.Node, "oasis", []string{"carol"}, store.SignaturesOptional)
	objs := oasisInfrastructure(t)
	if st := post(t, src.carol.Client, srcColl, objs...); st.SuccessCount != len(objs) {
		t.Fatalf("source: %+v", st)
	}
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(src.carol.Token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	n, _ := initNode(t, Options{})
	defer n.Close()
	f, err := n.AddFeed(ctx, FeedSpec{Name: "oasis", URL: src.URL, Collection: srcColl, Auth: feed.AuthBearer, SecretFile: tokenFile, Into: "oasis"})
	if err != nil {
		t.Fatal(err)
	}
	f, err = feed.Poll(ctx, n.FeedStore(), n.FeedSink(), f, n.now, nil)
	if err != nil || f.Added != int64(len(objs)) || f.Failed != 0 {
		t.Fatalf("first round: %+v, %v", f.FeedPosition, err)
	}
	for _, id := range []string{"ipv4-addr--1e4ffad7-0b88-41d4-ba4d-77d27490b956", "domain-name--ecb120bf-2694-4902-a737-62b74539a41b"} {
		p, err := n.store.Objects(ctx, store.Query{Collection: f.Into, IDs: []string{id}, Limit: 10})
		if err != nil || len(p.Objects) != 1 || p.Objects[0].Member != f.Member {
			t.Fatalf("%s in the local collection: %+v, %v", id, p.Objects, err)
		}
	}
	// Read again from the beginning (as the daily full read does).
	f.AddedAfter, f.Next, f.ReadTo = time.Time{}, "", time.Time{}
	f, err = feed.Poll(ctx, n.FeedStore(), n.FeedSink(), f, n.now, nil)
	if err != nil || f.Existing != int64(len(objs)) || f.Added != int64(len(objs)) || f.Failed != 0 {
		t.Fatalf("second read: %+v, %v", f.FeedPosition, err)
	}
}

// TestRandomObservableIDOwnedWhateverTheVersion: a UUIDv4 observable id
// belongs to its first sharer whatever a later version holds: another
// writer's version without any ID contributing property (a user account
// with a display name alone) under carol's id is refused like one with
// another login, so the latest version of the id in a collection both
// write stays carol's. And a first version without any contributing
// property makes the id its sharer's as well.
func TestRandomObservableIDOwnedWhateverTheVersion(t *testing.T) {
	ctx := context.Background()
	tn := newTestNode(t)
	coll := relayCollection(t, tn.Node, "scos", []string{"carol", "bob"}, store.SignaturesOptional)
	const acct = "user-account--4f3b1c52-8d2e-4a6b-9c1d-2e5f7a8b9c0d"
	if st := post(t, tn.carol.Client, coll, json.RawMessage(`{"type":"user-account","spec_version":"2.1","id":"`+acct+`","account_login":"backup"}`)); st.SuccessCount != 1 {
		t.Fatalf("carol's account: %+v", st)
	}
	st := post(t, tn.bob.Client, coll, json.RawMessage(`{"type":"user-account","spec_version":"2.1","id":"`+acct+`","display_name":"Nobody"}`))
	if st.SuccessCount != 0 || st.FailureCount != 1 || !strings.HasPrefix(st.Failures[0].Message, "this id belongs to the member who created its first version") {
		t.Fatalf("bob's version without contributing properties under carol's UUIDv4 id: %+v", st)
	}
	page, err := tn.store.Objects(ctx, store.Query{Collection: coll, IDs: []string{acct}, Limit: 10})
	if err != nil || len(page.Objects) != 1 || !strings.Contains(string(page.Objects[0].Raw), `"backup"`) {
		t.Fatalf("stored %s = %+v, %v; want carol's alone", acct, page.Objects, err)
	}

	const mail = "email-message--0c7e5a1b-3f2d-4e8a-b9c6-1d2e3f4a5b6c"
	if st := post(t, tn.bob.Client, coll, json.RawMessage(`{"type":"email-message","spec_version":"2.1","id":"`+mail+`","is_multipart":false}`)); st.SuccessCount != 1 {
		t.Fatalf("bob's message: %+v", st)
	}
	st = post(t, tn.carol.Client, coll, json.RawMessage(`{"type":"email-message","spec_version":"2.1","id":"`+mail+`","is_multipart":false,"subject":"Invoice"}`))
	if st.SuccessCount != 0 || st.FailureCount != 1 || !strings.HasPrefix(st.Failures[0].Message, "this id belongs to the member who created its first version") {
		t.Fatalf("carol's version under bob's UUIDv4 id: %+v", st)
	}

	// The UUIDv5 id of carol's login names that login: a version without
	// any contributing property under it names nothing and is refused,
	// not stored beside carol's as a later version of the same id.
	v5, err := stix.DeterministicID("user-account", map[string]any{"account_login": "backup"})
	if err != nil {
		t.Fatal(err)
	}
	if st := post(t, tn.carol.Client, coll, json.RawMessage(`{"type":"user-account","spec_version":"2.1","id":"`+v5+`","account_login":"backup"}`)); st.SuccessCount != 1 {
		t.Fatalf("carol's UUIDv5 account: %+v", st)
	}
	st = post(t, tn.bob.Client, coll, json.RawMessage(`{"type":"user-account","spec_version":"2.1","id":"`+v5+`","display_name":"Nobody"}`))
	if st.SuccessCount != 0 || st.FailureCount != 1 || !strings.Contains(st.Failures[0].Message, "none of its ID contributing properties") {
		t.Fatalf("bob's version without contributing properties under the UUIDv5 id of carol's value: %+v", st)
	}
	// A process has no contributing property: its random id stays
	// anyone's to share.
	const proc = "process--f52a906a-0dfc-40bd-92b1-e7e7b4f6b8ac"
	for _, c := range []testMember{tn.carol, tn.bob} {
		if st := post(t, c.Client, coll, json.RawMessage(`{"type":"process","spec_version":"2.1","id":"`+proc+`","pid":1221}`)); st.SuccessCount != 1 {
			t.Fatalf("a shared process: %+v", st)
		}
	}
}

// TestMarkingDefinitionOwned: a marking definition with a creator (a
// statement marking, say) belongs to the member who shared it first, like
// any object with a random id; only the fixed TLP definitions, which have
// none, are anyone's to share.
func TestMarkingDefinitionOwned(t *testing.T) {
	tn := newTestNode(t)
	coll := relayCollection(t, tn.Node, "markings", []string{"carol", "bob"}, store.SignaturesOptional)
	const id = "marking-definition--2f1a5e3c-7b4d-4c8e-9a61-5d2e8f0b7c13"
	marking := func(m testMember, statement string) json.RawMessage {
		return json.RawMessage(`{"type":"marking-definition","spec_version":"2.1","id":"` + id + `","created":"2026-02-01T00:00:00.000Z","created_by_ref":"` + m.ID + `","definition_type":"statement","definition":{"statement":"` + statement + `"}}`)
	}
	if st := post(t, tn.carol.Client, coll, marking(tn.carol, "carol's terms")); st.SuccessCount != 1 {
		t.Fatalf("carol's marking: %+v", st)
	}
	st := post(t, tn.bob.Client, coll, marking(tn.bob, "bob's terms"))
	if st.SuccessCount != 0 || st.FailureCount != 1 || !strings.HasPrefix(st.Failures[0].Message, "this id belongs to the member who created its first version") {
		t.Fatalf("bob's marking under carol's id: %+v", st)
	}
}
