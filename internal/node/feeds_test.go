package node

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/feed"
	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/taxii"
)

const mitreIdentity = "identity--c78cb6e5-0c4b-4611-8297-d1b8b55e40b5"

// attackObjects reads the objects of an ATT&CK bundle of the repository's
// test data.
func attackObjects(t *testing.T, name string) []json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "corpus", "mitre-attack", name))
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

// postAll posts objects in envelopes of 1,000 and returns the successes
// and the failures.
func postAll(t *testing.T, c *taxii.Client, coll string, objs []json.RawMessage) (ok int, failures []taxii.StatusDetails) {
	t.Helper()
	for start := 0; start < len(objs); start += 1000 {
		st := post(t, c, coll, objs[start:min(start+1000, len(objs))]...)
		ok += st.SuccessCount
		failures = append(failures, st.Failures...)
	}
	return ok, failures
}

// relayCollection adds a relay collection written and read by the given
// members, with the given signature policy.
func relayCollection(t *testing.T, n *Node, title string, members []string, p store.SignaturePolicy) string {
	t.Helper()
	id, err := n.CreateCollection(context.Background(), CollectionSpec{Title: title, Readers: members, Writers: members, Signatures: p, Relay: true})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestRelayCollection: a relay collection says so in its TAXII resource;
// alice relays MITRE's objects signed by her without rewriting their
// created_by_ref, and an object with a stored id and version but other
// content is a failure of that object alone, the stored one unchanged.
func TestRelayCollection(t *testing.T) {
	ctx := context.Background()
	tn := newTestNode(t)
	relay := relayCollection(t, tn.Node, "relay", []string{"alice"}, "")
	col, err := tn.alice.Client.Collection(ctx, relay)
	if err != nil || !col.Relay || col.Signatures != "required" {
		t.Fatalf("relay collection resource = %+v, %v", col, err)
	}
	if col, err := tn.alice.Client.Collection(ctx, tn.shared); err != nil || col.Relay {
		t.Fatalf("shared collection resource = %+v, %v", col, err)
	}
	mitre := func(name, modified string) json.RawMessage {
		return object(t, tn.alice.Key, map[string]any{
			"type": "attack-pattern", "spec_version": "2.1", "id": "attack-pattern--008b8f56-6107-48be-aa9f-746f927dbb61",
			"created": "2023-01-01T00:00:00.000Z", "modified": modified, "created_by_ref": mitreIdentity, "name": name,
		})
	}
	first := mitre("Unauthorized Command Message", "2025-04-15T19:58:01.218Z")
	st := post(t, tn.alice.Client, relay, first, mitre("anonymous", "2025-04-15T19:58:01.218Z"), mitre("later", "2025-05-01T00:00:00.000Z"))
	if st.SuccessCount != 2 || st.FailureCount != 1 || st.Failures[0].Message != store.VersionConflictMessage ||
		st.Failures[0].Version != "2025-04-15T19:58:01.218Z" {
		t.Fatalf("status = %+v", st)
	}
	env, err := tn.alice.Client.Objects(ctx, relay, taxii.Query{Versions: taxii.VersionMatch{All: true}})
	if err != nil || len(env.Objects) != 2 {
		t.Fatalf("objects = %+v, %v", env, err)
	}
	canon, _ := stix.Canonicalize(first)
	if string(env.Objects[0]) != string(canon) {
		t.Errorf("stored version replaced:\n%s\nwant\n%s", env.Objects[0], canon)
	}
	// Outside a relay collection the same object is refused.
	st = post(t, tn.alice.Client, tn.shared, mitre("x", "2026-01-01T00:00:00.000Z"))
	if st.FailureCount != 1 || !strings.Contains(st.Failures[0].Message, "created_by_ref is "+mitreIdentity) {
		t.Fatalf("status in shared = %+v", st)
	}
}

// TestMISPPushReplay replays MISP's TAXII push: HTTP Basic authentication
// with the member's token as password, an envelope of unsigned objects
// whose created_by_ref is the MISP organisation, and no status read
// afterwards. They land in a relay collection that accepts unsigned
// objects, unsigned and attributed to the pushing member, and are refused
// one by one in a collection that is not a relay.
func TestMISPPushReplay(t *testing.T) {
	ctx := context.Background()
	tn := newTestNode(t)
	relay := relayCollection(t, tn.Node, "misp", []string{"carol"}, store.SignaturesOptional)
	const org = "identity--55f6ea5e-2c60-40e5-964f-47a8950d210f"
	body := `{"objects":[
{"type":"identity","spec_version":"2.1","id":"` + org + `","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z","name":"CIRCL","identity_class":"organization"},
{"type":"indicator","spec_version":"2.1","id":"indicator--91ae1a8a-2f05-4e30-8f4e-3c2c9d7a6b10","created_by_ref":"` + org + `","created":"2024-01-02T10:00:00.000Z","modified":"2024-01-02T10:00:00.000Z","pattern":"[domain-name:value = 'evil.example']","pattern_type":"stix","pattern_version":"2.1","valid_from":"2024-01-02T10:00:00Z","labels":["misp:type=\"domain\""]},
{"type":"report","spec_version":"2.1","id":"report--5e9bd0bd-6c4e-4b3a-9e53-0c0a6f9e4e11","created_by_ref":"` + org + `","created":"2024-01-02T10:00:00.000Z","modified":"2024-01-02T10:00:00.000Z","name":"MISP event 42","published":"2024-01-02T10:00:00Z","report_types":["misc"],"object_refs":["indicator--91ae1a8a-2f05-4e30-8f4e-3c2c9d7a6b10"]}]}`
	send := func(coll string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, tn.URL+"/api/collections/"+coll+"/objects/", strings.NewReader(body))
		req.Header.Set("Accept", taxii.MediaType)
		req.Header.Set("Content-Type", taxii.MediaType)
		req.SetBasicAuth("misp", tn.carol.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	resp := send(relay)
	var st taxii.Status
	json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || st.SuccessCount != 3 {
		t.Fatalf("push = %d %+v", resp.StatusCode, st)
	}
	// MISP does not read the status; the objects are there already.
	page, err := tn.store.Objects(ctx, store.Query{Collection: relay, Limit: 10})
	if err != nil || len(page.Objects) != 3 {
		t.Fatalf("stored = %+v, %v", page, err)
	}
	for _, o := range page.Objects {
		if o.Member != tn.carol.ID || o.Signed {
			t.Errorf("%s: member %s signed %v, want %s unsigned", o.ID, o.Member, o.Signed, tn.carol.ID)
		}
	}
	// The same push into a collection that is not a relay.
	resp = send(tn.optional)
	st = taxii.Status{}
	json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if st.SuccessCount != 0 || st.FailureCount != 3 {
		t.Fatalf("push into a non-relay collection = %+v", st)
	}
	for _, f := range st.Failures {
		if f.ID != org && !strings.Contains(f.Message, "relay policy") {
			t.Errorf("failure of %s: %q", f.ID, f.Message)
		}
	}
}

// TestOpenCTIIngesterReplay replays OpenCTI's TAXII ingester over a
// collection of a few thousand objects: each request after the first
// sends the previous page's next together with added_after set to the
// previous response's X-TAXII-Date-Added-Last. The node applies both (the
// cursor and added_after select the same objects, since date_added grows
// with the cursor), so the pages cover the collection exactly once.
func TestOpenCTIIngesterReplay(t *testing.T) {
	ctx := context.Background()
	tn := newTestNode(t)
	coll := relayCollection(t, tn.Node, "attack", []string{"carol"}, store.SignaturesOptional)
	objs := append(attackObjects(t, "ics-attack-18.1.json"), attackObjects(t, "mobile-attack-17.1.json")...)
	if _, fails := postAll(t, tn.carol.Client, coll, objs); len(fails) != 0 {
		t.Fatalf("%d failures, first %+v", len(fails), fails[0])
	}
	want := map[string]bool{}
	for p, err := range tn.carol.Client.ObjectPages(ctx, coll, taxii.Query{Versions: taxii.VersionMatch{All: true}, Limit: 1000}) {
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range p.Objects {
			want[idOf(t, o)+"@"+versionOf(t, o)] = true
		}
	}
	if len(want) < 3000 {
		t.Fatalf("only %d object versions in the collection", len(want))
	}
	seen := map[string]bool{}
	q := taxii.Query{AddedAfter: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), Versions: taxii.VersionMatch{All: true}, Limit: 100}
	pages := 0
	for {
		env, err := tn.carol.Client.Objects(ctx, coll, q)
		if err != nil {
			t.Fatalf("page %d: %v", pages, err)
		}
		pages++
		for _, o := range env.Objects {
			k := idOf(t, o) + "@" + versionOf(t, o)
			if seen[k] {
				t.Fatalf("%s served twice", k)
			}
			seen[k] = true
		}
		if !env.More {
			break
		}
		if env.DateAdded.Last.IsZero() || env.Next == "" {
			t.Fatalf("page %d: more, but next %q and X-TAXII-Date-Added-Last %v", pages, env.Next, env.DateAdded.Last)
		}
		q.Next, q.AddedAfter = env.Next, env.DateAdded.Last
	}
	if len(seen) != len(want) || pages < 30 {
		t.Fatalf("ingester saw %d of %d versions in %d pages", len(seen), len(want), pages)
	}
}

func versionOf(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var v struct{ Modified, Created string }
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if v.Modified != "" {
		return v.Modified
	}
	return v.Created
}

// failingFeedStore fails RecordPoll from its failAt-th call on, like a
// node killed after storing a page and before recording its position. The
// mark of a round's start (RoundStarted set, no page stored since
// RoundFrom) isn't counted.
type failingFeedStore struct {
	feed.Store
	calls, failAt int
}

func (s *failingFeedStore) RecordPoll(ctx context.Context, name string, p feed.Position) error {
	if !p.RoundStarted.IsZero() && p.Pages == p.RoundFrom {
		return s.Store.RecordPoll(ctx, name, p)
	}
	s.calls++
	if s.calls >= s.failAt {
		return errors.New("killed")
	}
	return s.Store.RecordPoll(ctx, name, p)
}

// TestFeedFollowsNode follows a relay collection of a second node holding
// ATT&CK for ICS 18.1 (1,826 objects, pages of feed.PageSize), is killed
// after storing the second page but before recording its position, is
// reopened and resumes: the local collection then holds each object
// version exactly once, attributed to the feed's member and unsigned, with
// one log entry each. A later round fetches only what was added since.
func TestFeedFollowsNode(t *testing.T) {
	ctx := context.Background()
	src := newTestNode(t)
	srcColl := relayCollection(t, src.Node, "ics", []string{"carol", "alice"}, store.SignaturesOptional)
	objs := attackObjects(t, "ics-attack-18.1.json")
	if ok, fails := postAll(t, src.carol.Client, srcColl, objs); ok != len(objs) {
		t.Fatalf("source: %d of %d stored, first failure %+v", ok, len(objs), fails)
	}
	tokenFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokenFile, []byte(src.carol.Token+"\n"), 0o600)

	n, dir := initNode(t, Options{})
	if _, err := n.AddMember(ctx, "reader", nil); err != nil {
		t.Fatal(err)
	}
	// No overlap: the rounds below count what comes again exactly (the
	// overlap's re-reads: TestFeedOutOfOrderServers).
	f, err := n.AddFeed(ctx, FeedSpec{Name: "ics", URL: src.URL, Collection: srcColl, Auth: feed.AuthBearer, SecretFile: tokenFile, Into: "ics-attack", Readers: []string{"reader"}, Overlap: -1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.AddFeed(ctx, FeedSpec{Name: "ics", URL: src.URL, Collection: srcColl, Into: "other"}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second feed with the same name: %v", err)
	}
	local, err := n.store.Collection(ctx, f.Into)
	if err != nil || !local.Relay || local.Signatures != store.SignaturesOptional || !local.CanWrite(f.Member) || local.CanRead(f.Member) {
		t.Fatalf("local collection = %+v, %v", local, err)
	}
	logBefore, _ := n.store.LogSize(ctx)
	st := n.FeedStore()
	killed := &failingFeedStore{Store: st, failAt: 2}
	if _, err := feed.Poll(ctx, killed, n.FeedSink(), f, n.now, nil); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("first round: %v", err)
	}
	n.Close()

	n, err = Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	st = n.FeedStore()
	fs, err := st.Feeds(ctx)
	if err != nil || len(fs) != 1 || fs[0].Next == "" || fs[0].Pages != 1 || fs[0].Added != feed.PageSize {
		t.Fatalf("position after the kill = %+v, %v", fs, err)
	}
	f, err = feed.Poll(ctx, st, n.FeedSink(), fs[0], n.now, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Page 2 was stored before the kill: served again, it is "already
	// stored" and adds nothing.
	if f.Added+f.Existing != int64(len(objs)) || f.Existing != feed.PageSize || f.Failed != 0 || f.Next != "" || f.HighWater.IsZero() || f.LastError != "" {
		t.Fatalf("after resuming: %+v", f.FeedPosition)
	}
	countLocal := func() int {
		seen := map[string]bool{}
		q := store.Query{Collection: f.Into, Versions: []store.VersionSelector{{Kind: store.VersionAll}}, Limit: 1000}
		for {
			p, err := n.store.Objects(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range p.Objects {
				k := o.ID + "@" + store.FormatTime(o.Version)
				if seen[k] {
					t.Fatalf("%s stored twice", k)
				}
				seen[k] = true
				if o.Member != f.Member || o.Signed {
					t.Fatalf("%s: member %s signed %v", k, o.Member, o.Signed)
				}
			}
			if !p.More {
				return len(seen)
			}
			q.After = p.Objects[len(p.Objects)-1].Seq
		}
	}
	if got := countLocal(); got != len(objs) {
		t.Fatalf("local collection holds %d versions, want %d", got, len(objs))
	}
	if logAfter, _ := n.store.LogSize(ctx); logAfter-logBefore != int64(len(objs)) {
		t.Fatalf("%d log entries added, want %d", logAfter-logBefore, len(objs))
	}

	// Three new objects at the source, signed by alice there: the next
	// round fetches only them, and stores them without the source's
	// signature (which verifies only against the source's log).
	var more []json.RawMessage
	for range 3 {
		more = append(more, indicator(t, src.alice.ID, src.alice.Key, t0))
	}
	if st := post(t, src.alice.Client, srcColl, more...); st.SuccessCount != 3 {
		t.Fatalf("source: %+v", st)
	}
	before := f.FeedPosition
	f, err = feed.Poll(ctx, st, n.FeedSink(), f, n.now, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The round asks from a microsecond (the precision of the node's
	// date_added) before the last one's high-water mark, so the object
	// at the mark comes again, "already stored".
	if f.Added != before.Added+3 || f.Existing != before.Existing+1 || f.Pages != before.Pages+1 || !f.HighWater.After(before.HighWater) {
		t.Fatalf("incremental round: %+v after %+v", f.FeedPosition, before)
	}
	if got := countLocal(); got != len(objs)+3 {
		t.Fatalf("local collection holds %d versions, want %d", got, len(objs)+3)
	}
	for _, o := range more {
		var v struct{ ID string }
		json.Unmarshal(o, &v)
		env, err := n.store.Objects(ctx, store.Query{Collection: f.Into, IDs: []string{v.ID}, Limit: 1})
		if err != nil || len(env.Objects) != 1 || strings.Contains(string(env.Objects[0].Raw), stix.SignatureExtensionID) ||
			!strings.Contains(string(env.Objects[0].Raw), `"created_by_ref":"`+src.alice.ID+`"`) {
			t.Fatalf("relayed %s = %+v, %v", v.ID, env, err)
		}
	}
	// A round with nothing new stores nothing (the object at the mark
	// comes again, "already stored").
	before = f.FeedPosition
	if f, err = feed.Poll(ctx, st, n.FeedSink(), f, n.now, nil); err != nil || f.Added != before.Added || f.Existing != before.Existing+1 {
		t.Fatalf("empty round: %+v, %v", f.FeedPosition, err)
	}
}

// TestFeedWorker: a serving node polls its feeds by itself, and picks up a
// feed added while it serves; the feed authenticates with HTTP Basic.
func TestFeedWorker(t *testing.T) {
	ctx := context.Background()
	src := newTestNode(t)
	srcColl := relayCollection(t, src.Node, "intel", []string{"carol"}, store.SignaturesOptional)
	var objs []json.RawMessage
	for range 5 {
		objs = append(objs, indicator(t, mitreIdentity, nil, t0))
	}
	if st := post(t, src.carol.Client, srcColl, objs...); st.SuccessCount != 5 {
		t.Fatalf("source: %+v", st)
	}
	tokenFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokenFile, []byte(src.carol.Token), 0o600)

	dir := t.TempDir()
	if _, err := Init(ctx, dir, Config{FeedCheckInterval: Duration(20 * time.Millisecond)}, nil); err != nil {
		t.Fatal(err)
	}
	dst, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	alice, err := dst.AddMember(ctx, "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- dst.Serve(sctx, ln, nil) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
		dst.Close()
	}()
	// Serving, with no feed yet.
	// HTTP Basic, with the token as the password (as the node accepts).
	f, err := dst.AddFeed(ctx, FeedSpec{Name: "intel", URL: src.URL, Collection: srcColl, Auth: feed.AuthBasic, User: "parley", SecretFile: tokenFile, Into: "followed", Readers: []string{"alice"}})
	if err != nil {
		t.Fatal(err)
	}
	aliceClient := &taxii.Client{BaseURL: "http://" + ln.Addr().String(), Token: alice.Token}
	st := dst.FeedStore()
	deadline := time.Now().Add(20 * time.Second)
	for {
		fs, err := st.Feeds(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if fs[0].Added == 5 && fs[0].Next == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the worker did not poll the feed: %+v", fs[0].FeedPosition)
		}
		time.Sleep(10 * time.Millisecond) // polling a condition, not waiting a fixed time
	}
	env, err := aliceClient.Objects(ctx, f.Into, taxii.Query{})
	if err != nil || len(env.Objects) != 5 {
		t.Fatalf("alice reads %+v, %v", env, err)
	}
}

// TestAddFeedRefusals: bad input is refused with nothing written (no
// member, no collection, no feed).
func TestAddFeedRefusals(t *testing.T) {
	ctx := context.Background()
	n, _ := initNode(t, Options{})
	defer n.Close()
	if _, err := n.AddMember(ctx, "alice", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := n.AddCollection(ctx, "plain", "", []string{"alice"}, []string{"alice"}, ""); err != nil {
		t.Fatal(err)
	}
	ok := FeedSpec{Name: "f", URL: "http://127.0.0.1:1", Collection: "c", Into: "new"}
	for _, tc := range []struct {
		name string
		edit func(*FeedSpec)
		want error
	}{
		{"unknown reader", func(s *FeedSpec) { s.Readers = []string{"mallory"} }, store.ErrNotFound},
		{"existing plain collection", func(s *FeedSpec) { s.Into = "plain" }, store.ErrConflict},
		{"bad name", func(s *FeedSpec) { s.Name = "a b" }, store.ErrInvalid},
		{"bad url", func(s *FeedSpec) { s.URL = "file:///etc/passwd" }, store.ErrInvalid},
		{"member with a key", func(s *FeedSpec) { s.Name = "keyed" }, store.ErrConflict},
	} {
		if tc.name == "member with a key" {
			pub := make([]byte, 32)
			pub[0] = 1
			// As an earlier version, which reserved no names, made it.
			if _, err := n.addMember(ctx, "feed:keyed", pub, true); err != nil {
				t.Fatal(err)
			}
		}
		spec := ok
		tc.edit(&spec)
		ms, _ := n.store.Members(ctx)
		cs, _ := n.store.Collections(ctx)
		if _, err := n.AddFeed(ctx, spec); !errors.Is(err, tc.want) {
			t.Errorf("%s: AddFeed = %v, want %v", tc.name, err, tc.want)
		}
		ms2, _ := n.store.Members(ctx)
		cs2, _ := n.store.Collections(ctx)
		st := n.FeedStore()
		fs, _ := st.Feeds(ctx)
		if len(ms2) != len(ms) || len(cs2) != len(cs) || len(fs) != 0 {
			t.Errorf("%s: changed the node: %d→%d members, %d→%d collections, %d feeds", tc.name, len(ms), len(ms2), len(cs), len(cs2), len(fs))
		}
	}
	// The same spec, valid, then works, and a second try with the name is refused.
	if _, err := n.AddFeed(ctx, ok); err != nil {
		t.Fatal(err)
	}
	if _, err := n.AddFeed(ctx, ok); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second AddFeed = %v", err)
	}
}

// TestRelayATTACK relays ATT&CK for ICS 17.1 then 18.1, signed by alice
// as relayer with MITRE's created_by_ref kept: 17.1 lands whole; of 18.1's
// 1,826 objects, the 70 attack patterns that reuse a 17.1 id and modified
// with other content fail one by one with the conflict message, the rest
// succeed, and the stored versions of the 70 are still 17.1's.
func TestRelayATTACK(t *testing.T) {
	ctx := context.Background()
	tn := newTestNode(t)
	relay := relayCollection(t, tn.Node, "attack", []string{"alice"}, "")
	sign := func(objs []json.RawMessage) (map[string]json.RawMessage, []json.RawMessage) {
		byVersion := map[string]json.RawMessage{}
		var out []json.RawMessage
		for _, o := range objs {
			s, err := stix.Sign(o, tn.alice.Key)
			if err != nil {
				t.Fatal(err)
			}
			byVersion[idOf(t, o)+"@"+versionOf(t, o)] = s
			out = append(out, s)
		}
		return byVersion, out
	}
	v17, objs17 := sign(attackObjects(t, "ics-attack-17.1.json"))
	if ok, fails := postAll(t, tn.alice.Client, relay, objs17); ok != len(objs17) || len(fails) != 0 {
		t.Fatalf("17.1: %d of %d, failures %+v", ok, len(objs17), fails)
	}
	_, objs18 := sign(attackObjects(t, "ics-attack-18.1.json"))
	ok, fails := postAll(t, tn.alice.Client, relay, objs18)
	if len(objs18) != 1826 || ok != 1756 || len(fails) != 70 {
		t.Fatalf("18.1: %d objects, %d succeeded, %d failed", len(objs18), ok, len(fails))
	}
	seen := map[string]bool{}
	for _, f := range fails {
		if f.Message != store.VersionConflictMessage || !strings.HasPrefix(f.ID, "attack-pattern--") || seen[f.ID] {
			t.Fatalf("failure %+v", f)
		}
		seen[f.ID] = true
		env, err := tn.alice.Client.Object(ctx, relay, f.ID, taxii.Query{Versions: taxii.VersionMatch{All: true}})
		if err != nil {
			t.Fatal(err)
		}
		var found bool
		for _, o := range env.Objects {
			if versionOf(t, o) != f.Version {
				continue
			}
			want, _ := stix.Canonicalize(v17[f.ID+"@"+f.Version])
			if string(o) != string(want) {
				t.Fatalf("%s %s: the stored version is not 17.1's", f.ID, f.Version)
			}
			found = true
		}
		if !found {
			t.Fatalf("%s %s: not stored", f.ID, f.Version)
		}
	}
	// created_by_ref was not rewritten.
	env, err := tn.alice.Client.Objects(ctx, relay, taxii.Query{Types: []string{"x-mitre-tactic"}, Limit: 1})
	if err != nil || len(env.Objects) != 1 || !strings.Contains(string(env.Objects[0]), `"created_by_ref":"`+mitreIdentity+`"`) {
		t.Fatalf("tactic = %s, %v", env.Objects, err)
	}
}

// TestFeedSkipsObjectTooLarge: a feed's server serves, among others, an
// object larger than max_object_size. That object alone fails (counted,
// named in last_failure); the others of its page are stored and the feed
// goes on. The whole page used to be refused with the store's
// ErrTooLarge, every round, so that the feed never got past it.
func TestFeedSkipsObjectTooLarge(t *testing.T) {
	ctx := context.Background()
	var objs []json.RawMessage
	for range 2 {
		objs = append(objs, indicator(t, mitreIdentity, nil, t0))
	}
	big := object(t, nil, map[string]any{
		"type": "indicator", "spec_version": "2.1", "id": "indicator--0f1c4b9e-9b0a-4c55-8d6e-2b1f5f0b7a11",
		"created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z", "created_by_ref": mitreIdentity,
		"pattern": "[domain-name:value = 'big.example']", "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
		"description": strings.Repeat("x", DefaultMaxObjectSize+1),
	})
	page := append([]json.RawMessage{objs[0], big}, objs[1])
	body, _ := json.Marshal(map[string]any{"more": false, "objects": page})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", taxii.MediaType)
		if r.URL.Query().Get("added_after") != "" {
			w.Write([]byte(`{"more":false}`))
			return
		}
		w.Header().Set(taxii.HeaderDateAddedFirst, "2026-01-02T00:00:00.000Z")
		w.Header().Set(taxii.HeaderDateAddedLast, "2026-01-02T00:00:01.000Z")
		w.Write(body)
	}))
	defer srv.Close()
	n, _ := initNode(t, Options{})
	defer n.Close()
	f, err := n.AddFeed(ctx, FeedSpec{Name: "big", URL: srv.URL + "/api/", Collection: "c", Into: "big"})
	if err != nil {
		t.Fatal(err)
	}
	f, err = feed.Poll(ctx, n.FeedStore(), n.FeedSink(), f, n.now, nil)
	if err != nil {
		t.Fatalf("round: %v", err)
	}
	if f.Added != 2 || f.Failed != 1 || !strings.Contains(f.LastFailure, "indicator--0f1c4b9e") ||
		!strings.Contains(f.LastFailure, "max_object_size") || f.HighWater.IsZero() {
		t.Fatalf("after the round: %+v", f.FeedPosition)
	}
	p, err := n.store.Objects(ctx, store.Query{Collection: f.Into, Limit: 10})
	if err != nil || len(p.Objects) != 2 {
		t.Fatalf("stored = %+v, %v", p, err)
	}
	// The next round asks after the page, and stores nothing more.
	if f, err = feed.Poll(ctx, n.FeedStore(), n.FeedSink(), f, n.now, nil); err != nil || f.Added != 2 || f.Failed != 1 {
		t.Fatalf("second round: %+v, %v", f.FeedPosition, err)
	}
}

// TestMemberIdentityNotSquatted: an identity object with a member's
// identity id, shared by anyone but that member (a feed's server, a
// relayer, another member naming itself the creator), fails alone; the
// member then shares its own identity object. A feed's server serving
// one first used to make the feed the id's owner (and name the member as
// it liked), and the member's own identity object was refused for ever
// ("this id belongs to the member who created its first version").
func TestMemberIdentityNotSquatted(t *testing.T) {
	ctx := context.Background()
	tn := newTestNode(t)
	identity := func(id, creator, name string) map[string]any {
		o := map[string]any{"type": "identity", "spec_version": "2.1", "id": id, "created": "2026-01-01T00:00:00.000Z",
			"modified": "2099-01-01T00:00:00.000Z", "name": name, "identity_class": "organization"}
		if creator != "" {
			o["created_by_ref"] = creator
		}
		return o
	}
	fake, _ := json.Marshal(identity(tn.alice.ID, "", "alice (really mallory)"))
	page, _ := json.Marshal(map[string]any{"more": false, "objects": []json.RawMessage{fake, indicator(t, mitreIdentity, nil, t0)}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", taxii.MediaType)
		w.Write(page)
	}))
	defer srv.Close()
	f, err := tn.AddFeed(ctx, FeedSpec{Name: "squat", URL: srv.URL + "/api/", Collection: "c", Into: "squat"})
	if err != nil {
		t.Fatal(err)
	}
	// The served node's own feed runner may poll the new feed before
	// this round does (then the indicator is already there): either way
	// it is stored once and the identity fails.
	f, err = feed.Poll(ctx, tn.FeedStore(), tn.FeedSink(), f, tn.now, nil)
	if err != nil || f.Added+f.Existing != 1 || f.Failed != 1 || !strings.Contains(f.LastFailure, "only that member may share") {
		t.Fatalf("feed round: %+v, %v", f.FeedPosition, err)
	}
	// A relayer, and another member naming itself the creator, likewise.
	relay := relayCollection(t, tn.Node, "relay", []string{"bob"}, store.SignaturesOptional)
	if st := post(t, tn.bob.Client, relay, fake); st.FailureCount != 1 || !strings.Contains(st.Failures[0].Message, "only that member may share") {
		t.Fatalf("bob relays alice's identity: %+v", st)
	}
	if st := post(t, tn.bob.Client, tn.shared, object(t, tn.bob.Key, identity(tn.alice.ID, tn.bob.ID, "alice"))); st.FailureCount != 1 {
		t.Fatalf("bob shares alice's identity as his: %+v", st)
	}
	// Alice shares her own.
	if st := post(t, tn.alice.Client, tn.shared, object(t, tn.alice.Key, identity(tn.alice.ID, tn.alice.ID, "alice"))); st.SuccessCount != 1 {
		t.Fatalf("alice shares her identity: %+v", st)
	}
}
