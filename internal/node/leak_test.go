package node

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/taxii"
	"github.com/parley-exchange/parley/tlog"
)

// secretForms returns the ways a secret string could show in a response:
// in clear, in hex (both cases) and in standard base64 at each of the
// three byte alignments (the part of the encoding that depends on the
// secret alone).
func secretForms(s string) []string {
	forms := []string{s, hex.EncodeToString([]byte(s)), strings.ToUpper(hex.EncodeToString([]byte(s)))}
	for off := range 3 {
		enc := base64.StdEncoding.EncodeToString(append(make([]byte, off), s...))
		lead := (off*4 + 2) / 3 // characters that mix in the padding bytes
		if len(enc) > lead+12 {
			forms = append(forms, enc[lead+1:len(enc)-4])
		}
	}
	return forms
}

// TestNonReaderLearnsNothing: a member who may not read a collection
// learns from no endpoint anything about an entry in it but its index and
// received time. Dana shares a TLP:RED indicator, a domain-name observable
// and a private set into "red", which only she and Bob read; Alice then
// reads every endpoint (every tile level and entry bundle, every log,
// private-set, concurrence, TAXII and members resource, and the error
// answers for the hidden ids) and no response contains the hidden ids,
// collection id, version, value or, outside the member key records that
// are in clear by design, Dana's identity, in clear, hex or base64. Dana
// also shares a PDQ hash there and revokes it: neither the hash (as hex
// or as bytes) nor its indicator shows anywhere either, nor in the web
// UI's pages (its PDQ look-up of a hash 4 bits away and of the hash
// itself, its value look-up), in an evaluation against the private set
// or in the node's metrics.
func TestNonReaderLearnsNothing(t *testing.T) {
	tn := newTestNode(t)
	ctx := context.Background()
	pub, dkey, _ := ed25519.GenerateKey(rand.Reader)
	dm, err := tn.AddMember(ctx, "dana", pub)
	if err != nil {
		t.Fatal(err)
	}
	dana := testMember{ID: dm.ID, Token: dm.Token, Key: dkey}
	dana.Client = &taxii.Client{BaseURL: tn.URL, Token: dana.Token}
	const title = "operation-nightjar-red"
	red, err := tn.AddCollection(ctx, title, "", []string{"dana", "bob"}, []string{"dana"}, "")
	if err != nil {
		t.Fatal(err)
	}
	// A feed that fills a collection of dana's and bob's, named after the
	// red collection as operators name them: its member
	// (feed:operation-nightjar-red) is listed to them alone.
	if _, err := tn.AddFeed(ctx, FeedSpec{Name: title, URL: "http://127.0.0.1:9/taxii2/api/", Collection: "c1",
		Into: title + " relay", Readers: []string{"dana", "bob"}}); err != nil {
		t.Fatal(err)
	}
	const value = "tlp-red-secret-host.example"
	const version = "2026-07-07T07:07:07.777Z"
	domain := map[string]any{"type": "domain-name", "spec_version": "2.1", "value": value}
	did, err := stix.DeterministicID("domain-name", domain)
	if err != nil {
		t.Fatal(err)
	}
	domain["id"] = did
	iid := "indicator--5e1c7a2b-9d3f-4e8a-b6c1-0f2e4d6a8c9e"
	ind := object(t, dkey, map[string]any{
		"type": "indicator", "spec_version": "2.1", "id": iid, "created": version, "modified": version,
		"created_by_ref": dana.ID, "name": "red", "pattern": "[domain-name:value = '" + value + "']",
		"pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
		"object_marking_refs": []string{stix.TLP2RedID},
	})
	// A PDQ hash, shared then revoked (its revoked version holds it too).
	const pdqHash = "6227401f601ff4ccafcc9fad4b0d95d371a2eb7265a3285234d228ca94deeb2d" // wee.jpg
	const pdqNear = "6227401f601ff4ccafcc9fad4b0d95d371a2eb7265a3285234d228ca94deeb22" // 4 bits away: a look-up's hit
	pid := "indicator--7d1e3b4f-2a6c-4e8b-9f0a-1c2d3e4f5a6b"
	pdqInd := func(modified string, revoked bool) json.RawMessage {
		props := map[string]any{
			"type": "indicator", "spec_version": "2.1", "id": pid, "created": version, "modified": modified,
			"created_by_ref": dana.ID, "name": "image", "pattern": pdqHash, "pattern_type": "pdq", "x_pdq_quality": 100,
			"valid_from": "2026-01-01T00:00:00Z",
		}
		if revoked {
			props["revoked"] = true
		}
		return object(t, dkey, props)
	}
	if st := post(t, dana.Client, red, ind, object(t, dkey, domain), pdqInd(version, false)); st.FailureCount != 0 {
		t.Fatalf("dana's share: %+v", st.Failures)
	}
	if st := post(t, dana.Client, red, pdqInd("2026-07-08T07:07:07.777Z", true)); st.FailureCount != 0 {
		t.Fatalf("dana's revocation: %+v", st.Failures)
	}
	// A private set of the red collection.
	code, body := rawPost(t, tn.URL+"/private/sets", dana.Token, `{"collection":"`+red+`"}`)
	if code != http.StatusCreated && code != http.StatusOK {
		t.Fatalf("publish: %d %s", code, body)
	}
	var set struct{ ID string }
	json.Unmarshal([]byte(body), &set)
	// A set of values of the red collection, withdrawn: its key entry and
	// its withdrawal entry stay in the log, and its receipt stays served
	// to its readers then (dana, bob), to no one else.
	code, body = rawPost(t, tn.URL+"/private/sets", dana.Token, `{"collection":"`+red+`","values":["domain-name:withdrawn-`+value+`"]}`)
	var gone struct{ ID string }
	if err := json.Unmarshal([]byte(body), &gone); err != nil || code != http.StatusCreated || gone.ID == "" {
		t.Fatalf("publish: %d %s", code, body)
	}
	if code, body := rawDelete(t, tn.URL+"/private/sets/"+gone.ID, dana.Token); code != http.StatusNoContent {
		t.Fatalf("withdraw: %d %s", code, body)
	}
	// Something alice may read, after the secrets, so that her tiles and
	// proofs cover them.
	postOK(t, tn, tn.alice, tn.shared, indicator(t, tn.alice.ID, tn.alice.Key, t0))
	waitIntegrated(t, tn)

	secrets := map[string]string{"indicator id": iid, "observable id": did, "collection id": red,
		"version": version, "value": value, "private set id": set.ID, "collection title": title,
		"pdq indicator id": pid, "pdq hash": pdqHash, "withdrawn private set id": gone.ID}
	if b, err := hex.DecodeString(pdqHash); err == nil {
		secrets["pdq hash bytes"] = string(b)
	}
	size := tn.logSize(t)
	var paths []string
	for _, p := range []string{"/log/checkpoint", "/log/key", "/log/keys", "/log/keys?member=" + dana.ID,
		fmt.Sprintf("/log/objects?start=0&end=%d", size), fmt.Sprintf("/log/proof/consistency?from=1&to=%d", size),
		"/log/receipt?object=" + iid + "&version=" + version, "/log/receipt?object=" + did + "&version=" + version,
		"/log/bundle?object=" + iid, "/log/bundle?object=" + did, "/concurrence?object=" + iid, "/concurrence?object=" + did,
		"/private/sets", "/private/sets/" + set.ID, "/private/sets/" + set.ID + "/tags", "/private/sets/" + set.ID + "/receipt",
		"/private/sets/" + gone.ID, "/private/sets/" + gone.ID + "/tags", "/private/sets/" + gone.ID + "/receipt",
		"/members", "/taxii2/", "/api/", "/api/collections/", "/api/collections/" + red + "/",
		"/api/collections/" + red + "/objects/", "/api/collections/" + red + "/objects/" + iid + "/",
		"/api/collections/" + tn.shared + "/objects/", "/api/collections/" + tn.shared + "/manifest/",
		"/api/collections/" + tn.shared + "/objects/" + iid + "/", "/api/collections/" + tn.shared + "/objects/" + iid + "/versions/",
	} {
		paths = append(paths, p)
	}
	for _, entries := range []bool{false, true} {
		for _, t0 := range tlog.TilesForSize(0, entries, 0, uint64(size)) {
			paths = append(paths, "/log/"+t0.Path())
		}
	}
	for _, t1 := range tlog.TilesForSize(1, false, 0, uint64(size)) {
		paths = append(paths, "/log/"+t1.Path())
	}
	// Dana's identity is in clear in member key records by design (and
	// in /members); it must show nowhere else.
	inClear := map[string]bool{"/log/keys": true, "/log/keys?member=" + dana.ID: true, "/members": true}
	for _, p := range paths {
		code, body := rawGet(t, tn.URL+p, tn.alice.Token)
		if code >= 500 {
			t.Errorf("GET %s: %d", p, code)
		}
		check := map[string]string{}
		for k, v := range secrets {
			check[k] = v
		}
		if !inClear[p] && !strings.HasPrefix(p, "/log/tile/entries/") {
			check["sharer"] = dana.ID
		}
		for what, s := range check {
			for _, f := range secretForms(s) {
				if strings.Contains(body, f) {
					t.Errorf("GET %s as a non-reader (%d) shows the %s (as %q)", p, code, what, f)
				}
			}
		}
	}
	// The web UI's pages (the PDQ and value look-ups among them), a
	// private-set evaluation of a well-formed element, and the node's
	// metrics: no answer shows a secret either.
	scan := func(where string, code int, body string, listsMembers bool) {
		t.Helper()
		for what, s := range secrets {
			for _, f := range secretForms(s) {
				if strings.Contains(body, f) {
					t.Errorf("%s as a non-reader (%d) shows the %s (as %q)", where, code, what, f)
				}
			}
		}
		if !listsMembers && strings.Contains(body, dana.ID) { // the members page lists every member, by design
			t.Errorf("%s as a non-reader (%d) names dana", where, code)
		}
	}
	aliceUI := uiLogin(t, tn.URL, tn.alice)
	for _, p := range []string{"/ui/", "/ui/members", "/ui/private", "/ui/search?q=" + pdqNear, "/ui/search?q=" + pdqHash,
		"/ui/search?q=" + value, "/ui/objects/" + pid, "/ui/objects/" + iid, "/ui/collections/" + red} {
		resp, err := aliceUI.Get(tn.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Errorf("GET %s: %d", p, resp.StatusCode)
		}
		body := string(b)
		if q, ok := strings.CutPrefix(p, "/ui/search?q="); ok {
			body = strings.ReplaceAll(body, q, "") // her own query, echoed
		}
		scan("GET "+p, resp.StatusCode, body, p == "/ui/members")
	}
	element := base64.StdEncoding.EncodeToString(func() []byte { h := tlog.LeafHash([]byte("not a blinded element")); return h[:] }()) // 32 bytes, a canonical element or not
	for _, e := range []string{element, "4gKYEeWqNU8nKUIcqQSbMHMGpyUIqLGhb9r9qXAs0iY="} {
		for _, id := range []string{set.ID, gone.ID} {
			code, body := rawPost(t, tn.URL+"/private/sets/"+id+"/evaluate", tn.alice.Token, `{"elements":["`+e+`"]}`)
			if code != http.StatusNotFound && code != http.StatusBadRequest {
				t.Errorf("alice's evaluation against the hidden set: %d %s", code, body)
			}
			scan("POST /private/sets/{id}/evaluate", code, body, false)
		}
	}
	code, body = rawDelete(t, tn.URL+"/private/sets/"+gone.ID, tn.alice.Token)
	scan("DELETE /private/sets/{id} of a withdrawn set", code, body, false)
	rec := httptest.NewRecorder()
	tn.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	scan("GET /metrics", rec.Code, rec.Body.String(), false)
	// Bob, a reader, finds the PDQ indicator by a near hash: the look-up
	// scanned above can fail.
	resp, err := uiLogin(t, tn.URL, tn.bob).Get(tn.URL + "/ui/search?q=" + pdqNear)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), pid) {
		t.Errorf("bob's PDQ look-up of a near hash doesn't find %s: %d", pid, resp.StatusCode)
	}

	// The entry bundles name members only in their key entries.
	for _, tl := range tlog.TilesForSize(0, true, 0, uint64(size)) {
		_, body := rawGet(t, tn.URL+"/log/"+tl.Path(), tn.alice.Token)
		leaves, err := tlog.ParseEntryBundle([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range leaves {
			e, err := tlog.ParseEntry(l)
			if err != nil {
				t.Fatal(err)
			}
			if e.Kind != tlog.KindMemberKey && bytes.Contains(l, []byte(dana.ID)) {
				t.Errorf("entry %s names dana", l)
			}
		}
	}
	// The same object and private set, read by Bob (a reader), do show:
	// the scan above can fail.
	if _, body := rawGet(t, tn.URL+"/log/receipt?object="+iid+"&version="+version, tn.bob.Token); !strings.Contains(body, red) {
		t.Errorf("bob's receipt lacks the collection: %s", body)
	}
	if code, body := rawGet(t, tn.URL+"/private/sets/"+gone.ID+"/receipt", tn.bob.Token); code != http.StatusOK || !strings.Contains(body, red) || !strings.Contains(body, `"withdrawal":{`) {
		t.Errorf("bob's receipt of the withdrawn set: %d %s", code, body)
	}
	if _, body := rawGet(t, tn.URL+"/members", tn.bob.Token); !strings.Contains(body, "feed:"+title) {
		t.Errorf("bob, a reader of the feed's collection, isn't shown its member: %s", body)
	}
}

// rawDelete sends DELETE with a token and returns the status and body.
func rawDelete(t *testing.T, u, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, u, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	return rawDo(t, req)
}

// rawPost posts a JSON body with a token and returns the status and body.
func rawPost(t *testing.T, u, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	return rawDo(t, req)
}

// TestWritesRevealNothing: a writer who posts an observable (whose id it
// can compute) that a collection it can't read already holds, with the
// same or other content, gets exactly the answer it gets for an unused
// one; observables are never compared across collections.
func TestWritesRevealNothing(t *testing.T) {
	tn := newTestNode(t)
	// Bob's private collection holds the observable.
	secret := map[string]any{"type": "domain-name", "spec_version": "2.1", "value": "hidden.example"}
	secret["id"], _ = stix.DeterministicID("domain-name", secret)
	postOK(t, tn, tn.bob, tn.private, object(t, tn.bob.Key, secret))
	// Alice posts the same observable (same id) into shared, and one that
	// no collection holds; then the same id with a resolves_to_refs that
	// doesn't change the id.
	fresh := map[string]any{"type": "domain-name", "spec_version": "2.1", "value": "fresh.example"}
	fresh["id"], _ = stix.DeterministicID("domain-name", fresh)
	answer := func(m map[string]any) string {
		st := post(t, tn.alice.Client, tn.shared, object(t, tn.alice.Key, m))
		b, _ := json.Marshal(struct {
			S, F  int
			Msg   []string
			Total int
		}{st.SuccessCount, st.FailureCount, messages(st), st.TotalCount})
		return string(b)
	}
	if a, b := answer(secret), answer(fresh); a != b {
		t.Errorf("the answer for an observable a hidden collection holds (%s) differs from an unused one's (%s)", a, b)
	}
	// An observable whose content doesn't match its id is refused, with
	// the reason, whatever any collection holds.
	forged := map[string]any{"type": "domain-name", "spec_version": "2.1", "value": "other.example", "id": secret["id"]}
	st := post(t, tn.alice.Client, tn.shared, object(t, tn.alice.Key, forged))
	if st.FailureCount != 1 || !strings.Contains(st.Failures[0].Message, "UUIDv5") {
		t.Errorf("an observable with another value under a known id: %+v", st)
	}
	unused := map[string]any{"type": "domain-name", "spec_version": "2.1", "value": "other.example", "id": fresh["id"]}
	st2 := post(t, tn.alice.Client, tn.shared, object(t, tn.alice.Key, unused))
	if st2.FailureCount != 1 || strings.ReplaceAll(st2.Failures[0].Message, fmt.Sprint(fresh["id"]), "ID") != strings.ReplaceAll(st.Failures[0].Message, fmt.Sprint(secret["id"]), "ID") {
		t.Errorf("the refusals differ for a hidden and an unused id: %q vs %q", st.Failures[0].Message, st2.Failures[0].Message)
	}
}

func messages(st *taxii.Status) []string {
	var out []string
	for _, d := range append(st.Successes, st.Failures...) {
		out = append(out, strings.ReplaceAll(d.Message, d.ID, "ID"))
	}
	return out
}

// TestOwnership: an SDO id belongs to the member who created its first
// version; anyone else's new version (with its own created_by_ref and a
// valid signature, "revoked": true) is refused, in any collection, and
// readers keep seeing the owner's version.
func TestOwnership(t *testing.T) {
	tn := newTestNode(t)
	ind := indicator(t, tn.alice.ID, tn.alice.Key, t0)
	postOK(t, tn, tn.alice, tn.shared, ind)
	id := idOf(t, ind)
	var m map[string]any
	json.Unmarshal(ind, &m)
	delete(m, "extensions")
	m["created_by_ref"], m["revoked"], m["modified"] = tn.bob.ID, true, stix.FormatTimestamp(t0.Add(time.Hour))
	for _, coll := range []string{tn.shared, tn.private} {
		st := post(t, tn.bob.Client, coll, object(t, tn.bob.Key, m))
		if st.FailureCount != 1 || !strings.Contains(st.Failures[0].Message, "belongs to the member who created its first version") {
			t.Errorf("bob's version of alice's indicator in %s: %+v", coll, st)
		}
	}
	env, err := tn.bob.Client.Object(context.Background(), tn.shared, id, taxii.Query{})
	if err != nil || len(env.Objects) != 1 || bytes.Contains(env.Objects[0], []byte(`"revoked":true`)) {
		t.Fatalf("readers see %v %v", env, err)
	}
	// Alice's own new version is accepted.
	m["created_by_ref"] = tn.alice.ID
	postOK(t, tn, tn.alice, tn.shared, object(t, tn.alice.Key, m))
	if n, _ := tn.store.Objects(context.Background(), store.Query{Collection: tn.private, IDs: []string{id}, Limit: 10}); len(n.Objects) != 0 {
		t.Errorf("bob's refused version was stored in private")
	}
	_ = url.QueryEscape
}

// TestOpenRefusesV1Log: a data directory whose log is in entry format v1
// (which showed collection, object id, sharer and version in clear) is
// refused with a clear error, and nothing is served from it.
func TestOpenRefusesV1Log(t *testing.T) {
	onlySQLite(t)
	ctx := context.Background()
	n, dir := initNode(t, Options{})
	n.Close()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, StoreFile))
	if err != nil {
		t.Fatal(err)
	}
	v1 := `{"collection":"91a7b528-80eb-42ed-a74d-c6fbd5a26116","commitment":"` + strings.Repeat("ab", 32) +
		`","member":"identity--c78cb6e5-0c4b-4611-8297-d1b8b55e40b5","object_id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","received":"2026-01-01T00:00:00Z","version":"2026-01-01T00:00:00.000Z"}`
	if _, err := db.Exec(`INSERT INTO log_entries(idx, leaf, salt, collection, object_id, version, member, received) VALUES (0, ?, x'', '91a7b528-80eb-42ed-a74d-c6fbd5a26116', 'indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f', '2026-01-01T00:00:00.000000000Z', 'identity--c78cb6e5-0c4b-4611-8297-d1b8b55e40b5', '2026-01-01T00:00:00.000000000Z')`, v1); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Open(ctx, dir, Options{}); !errors.Is(err, ErrOldLogFormat) || !strings.Contains(err.Error(), "format v1") {
		t.Fatalf("Open of a v1 log: %v, want ErrOldLogFormat", err)
	}
}

// TestWriteOnlyAnswersRevealNothing: a member who may write a collection
// but not read it learns nothing of what it holds from the answers to its
// posts. In a relay collection that accepts unsigned objects (a drop box
// of tips), bob, a reader, has stored an unsigned observable; alice, a
// writer only, posts the same observable and one no collection holds,
// and gets the same answer for both (the same message, and a version of
// her own post, never the date bob's copy was added).
func TestWriteOnlyAnswersRevealNothing(t *testing.T) {
	tn := newTestNode(t)
	ctx := context.Background()
	tips, err := tn.CreateCollection(ctx, CollectionSpec{Title: "tips", Readers: []string{"bob"}, Writers: []string{"alice", "bob"},
		Signatures: store.SignaturesOptional, Relay: true})
	if err != nil {
		t.Fatal(err)
	}
	sco := func(value string) json.RawMessage {
		m := map[string]any{"type": "domain-name", "spec_version": "2.1", "value": value}
		m["id"], _ = stix.DeterministicID("domain-name", m)
		b, _ := json.Marshal(m)
		return b
	}
	known, fresh := sco("known-tip.example"), sco("fresh-tip.example")
	bst := post(t, tn.bob.Client, tips, known)
	if bst.SuccessCount != 1 {
		t.Fatalf("bob's tip: %+v", bst)
	}
	time.Sleep(2 * time.Millisecond) // bob's copy is older than anything alice posts
	a, b := post(t, tn.alice.Client, tips, known), post(t, tn.alice.Client, tips, fresh)
	if a.SuccessCount != 1 || b.SuccessCount != 1 {
		t.Fatalf("alice's posts: %+v / %+v", a, b)
	}
	if a.Successes[0].Message != b.Successes[0].Message {
		t.Errorf("the answer for an observable the collection holds (%q) differs from a fresh one's (%q)",
			a.Successes[0].Message, b.Successes[0].Message)
	}
	if a.Successes[0].Version == bst.Successes[0].Version {
		t.Errorf("the answer shows the version (date added) of bob's copy, %s", a.Successes[0].Version)
	}
	// Bob, a reader, still finds his copy already stored: the test can
	// fail.
	if st := post(t, tn.bob.Client, tips, known); st.SuccessCount != 1 || st.Successes[0].Message != "already stored" {
		t.Errorf("bob's repost: %+v", st)
	}
}

// logObjectsSpy records the collections of the object versions its store
// reads for LogObjects.
type logObjectsSpy struct {
	store.Store
	mu   sync.Mutex
	read map[string]int
}

func (s *logObjectsSpy) LogObjects(ctx context.Context, start, end int64, collections []string, fn func(int64, tlog.Opening, []byte) error) error {
	return s.Store.LogObjects(ctx, start, end, collections, func(i int64, op tlog.Opening, raw []byte) error {
		s.mu.Lock()
		s.read[op.Collection]++
		s.mu.Unlock()
		return fn(i, op, raw)
	})
}

// TestLogObjectsReadsOnlyReadable: GET /log/objects has the store read
// only the objects of collections the member may read, so that neither
// its answer nor the time it takes depends on the objects (their number,
// their sizes) of collections it can't read.
func TestLogObjectsReadsOnlyReadable(t *testing.T) {
	fn := newFrontNode(t, nil)
	ctx := context.Background()
	pub, dkey, _ := ed25519.GenerateKey(rand.Reader)
	dana, err := fn.AddMember(ctx, "dana", pub)
	if err != nil {
		t.Fatal(err)
	}
	red, err := fn.AddCollection(ctx, "red", "", []string{"dana"}, []string{"dana"}, "")
	if err != nil {
		t.Fatal(err)
	}
	post(t, &taxii.Client{BaseURL: fn.srv.URL, Token: dana.Token}, red, indicator(t, dana.ID, dkey, t0), indicator(t, dana.ID, dkey, t0))
	post(t, &taxii.Client{BaseURL: fn.srv.URL, Token: fn.alice.Token}, fn.coll, indicator(t, fn.alice.ID, fn.key, t0))
	spy := &logObjectsSpy{Store: fn.store, read: map[string]int{}}
	fn.store = spy
	size, err := spy.LogSize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	resp, body := fn.do(t, http.MethodGet, fmt.Sprintf("/log/objects?start=0&end=%d", size), "Bearer "+fn.alice.Token, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), fn.coll) {
		t.Fatalf("alice's /log/objects: %s %s", resp.Status, body)
	}
	if spy.read[red] != 0 || spy.read[fn.coll] != 1 {
		t.Errorf("the store read, for alice, objects of these collections: %v; want only %s", spy.read, fn.coll)
	}
}

// TestHiddenAndAbsentAlike: for every route that takes an id (a
// collection, an object, a private set, a status), a member's answer
// about one it may not read is exactly its answer about one that doesn't
// exist: status, headers and body, with the ids swapped; and it costs
// the same work: the node calls the same store methods, in the same
// order (recorded by storeCalls for each request), so that the time of
// the answer doesn't tell either. (GET /private/sets/{id} looked up the
// access of the set's collection for a hidden set and nothing for an
// unknown id: one store call more for a set that exists.) Bob's
// collection "private" (alice neither reads nor writes it) holds an
// indicator, an observable, an opinion on the indicator and a private set;
// alice asks about each of them, and about an unused id of each kind,
// through the TAXII API, the node's own routes and the web UI. Every row
// of the route table, every TAXII endpoint under the API root's one row
// ([taxii.Endpoints]), every page of the web UI and every node path that
// the UI's GET /ui/api/ forwards to is either probed or listed as taking
// no id that could be hidden, so that a new route can't be forgotten.
// The API's requests are asked with HEAD too, and again without a token
// and with an unknown one, whose answers must not differ either.
func TestHiddenAndAbsentAlike(t *testing.T) {
	var calls *storeCalls
	tn := newTestNodeOver(t, func(st store.Store) store.Store {
		calls = newStoreCalls(st)
		return calls
	})
	const value, unusedValue = "hidden-only.example", "unused-only.example"
	const version = "2026-03-03T03:03:03.333Z"
	iid, unusedI := "indicator--5e1c7a2b-9d3f-4e8a-b6c1-0f2e4d6a8c9e", "indicator--0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
	oid, unusedO := "opinion--00000000-0000-4000-8000-0000000000b1", "opinion--00000000-0000-4000-8000-0000000000c9"
	ind := object(t, tn.bob.Key, map[string]any{
		"type": "indicator", "spec_version": "2.1", "id": iid, "created": version, "modified": version,
		"created_by_ref": tn.bob.ID, "name": "red", "pattern": "[domain-name:value = '" + value + "']",
		"pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
	})
	domain := map[string]any{"type": "domain-name", "spec_version": "2.1", "value": value}
	did, _ := stix.DeterministicID("domain-name", domain)
	domain["id"] = did
	unusedD, _ := stix.DeterministicID("domain-name", map[string]any{"type": "domain-name", "spec_version": "2.1", "value": unusedValue})
	op := object(t, tn.bob.Key, map[string]any{
		"type": "opinion", "spec_version": "2.1", "id": oid, "created_by_ref": tn.bob.ID,
		"created": version, "modified": version, "opinion": "agree", "object_refs": []string{iid},
	})
	// A PDQ hash and a file hash, for the UI's look-up: pdqHash is 128 bits
	// from unusedPDQ, far beyond the look-up's radius.
	const pdqHash, unusedPDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22", "07070f311f0b57b0f9c8f5ddfc709c0f4c91d12a699de1e2cc194c63b163d64d"
	const sha, unusedSHA = "5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e", "0ddba11c0ddba11c0ddba11c0ddba11c0ddba11c0ddba11c0ddba11c0ddba11c"
	pdqInd := object(t, tn.bob.Key, map[string]any{
		"type": "indicator", "spec_version": "2.1", "id": "indicator--7b5e1c39-0a4e-4f0f-8d55-3c1c5f6f2b12", "created": version, "modified": version,
		"created_by_ref": tn.bob.ID, "name": "image", "pattern": pdqHash, "pattern_type": "pdq", "x_pdq_quality": 100,
		"valid_from": "2026-01-01T00:00:00Z",
	})
	fileInd := object(t, tn.bob.Key, map[string]any{
		"type": "indicator", "spec_version": "2.1", "id": "indicator--8c5e1c39-0a4e-4f0f-8d55-3c1c5f6f2b13", "created": version, "modified": version,
		"created_by_ref": tn.bob.ID, "name": "file", "pattern": "[file:hashes.'SHA-256' = '" + sha + "']", "pattern_type": "stix",
		"valid_from": "2026-01-01T00:00:00Z",
	})
	st := post(t, tn.bob.Client, tn.private, ind, object(t, tn.bob.Key, domain), op, pdqInd, fileInd)
	if st.FailureCount != 0 {
		t.Fatalf("bob's share: %+v", st.Failures)
	}
	code, body := rawPost(t, tn.URL+"/private/sets", tn.bob.Token, `{"collection":"`+tn.private+`"}`)
	if code != http.StatusCreated && code != http.StatusOK {
		t.Fatalf("publish: %d %s", code, body)
	}
	var set struct{ ID string }
	if err := json.Unmarshal([]byte(body), &set); err != nil || set.ID == "" {
		t.Fatalf("publish: %s", body)
	}
	// A set bob withdrew: alice, who couldn't read it, is answered about
	// it as about an id no set ever had (its readers still get its
	// receipt).
	code, body = rawPost(t, tn.URL+"/private/sets", tn.bob.Token, `{"collection":"`+tn.private+`","values":["domain-name:withdrawn.example"]}`)
	var gone struct{ ID string }
	if err := json.Unmarshal([]byte(body), &gone); err != nil || code != http.StatusCreated || gone.ID == "" {
		t.Fatalf("publish: %d %s", code, body)
	}
	if code, body := rawDelete(t, tn.URL+"/private/sets/"+gone.ID, tn.bob.Token); code != http.StatusNoContent {
		t.Fatalf("withdraw: %d %s", code, body)
	}
	postOK(t, tn, tn.alice, tn.shared, indicator(t, tn.alice.ID, tn.alice.Key, t0))
	waitIntegrated(t, tn)

	// An unused id of each kind, as long as the hidden one.
	unusedC := "0f0e0d0c-0b0a-4909-8807-060504030201"
	// A cursor of the hidden collection, and one made the same way for
	// the unused id (a member who can't read the collection can't get
	// the first, but may make up either).
	at := time.Date(2026, 3, 3, 3, 3, 3, 0, time.UTC)
	hidden := map[string]string{"{N}": formatCursor(tn.private, at), "{C}": tn.private, "{I}": iid, "{D}": did, "{O}": oid, "{S}": set.ID, "{W}": gone.ID, "{T}": st.ID, "{VAL}": value, "{PDQ}": pdqHash, "{SHA}": sha}
	absent := map[string]string{"{N}": formatCursor(unusedC, at), "{C}": unusedC, "{I}": unusedI, "{D}": unusedD, "{O}": unusedO,
		"{S}": set.ID[:len(set.ID)-12] + "0123456789ab", "{W}": gone.ID[:len(gone.ID)-12] + "ba9876543210",
		"{T}": st.ID[:len(st.ID)-12] + "0123456789ab", "{VAL}": unusedValue, "{PDQ}": unusedPDQ, "{SHA}": unusedSHA}
	for k, v := range hidden {
		if len(absent[k]) != len(v) || absent[k] == v {
			t.Fatalf("%s: hidden %q, unused %q", k, v, absent[k])
		}
	}
	type req struct{ method, path, body string }
	api := []req{
		{"GET", "/api/collections/{C}/", ""},
		{"GET", "/api/collections/{C}/objects/", ""},
		{"GET", "/api/collections/{C}/objects/?next=1", ""},
		{"GET", "/api/collections/{C}/objects/?next={N}", ""},
		{"GET", "/api/collections/{C}/manifest/?next={N}", ""},
		{"HEAD", "/api/collections/{C}/objects/?next={N}", ""},
		{"GET", "/api/collections/{C}/objects/{I}/", ""},
		{"GET", "/api/collections/{C}/objects/{I}/versions/", ""},
		{"GET", "/api/collections/{C}/manifest/", ""},
		{"DELETE", "/api/collections/{C}/objects/{I}/", ""},
		{"POST", "/api/collections/{C}/objects/", `{"objects":[]}`},
		{"GET", "/api/status/{T}/", ""},
		{"GET", "/api/collections/" + tn.shared + "/objects/{I}/", ""},
		{"GET", "/api/collections/" + tn.shared + "/objects/{D}/", ""},
		{"GET", "/api/collections/" + tn.shared + "/objects/{I}/versions/", ""},
		{"GET", "/api/collections/" + tn.shared + "/objects/?match[id]={I}", ""},
		{"GET", "/api/collections/" + tn.shared + "/manifest/?match[id]={D}", ""},
		{"GET", "/log/receipt?object={I}&version=" + version, ""},
		{"GET", "/log/receipt?object={D}&version=" + version, ""},
		{"GET", "/log/bundle?object={I}", ""},
		{"GET", "/log/bundle?object={D}", ""},
		{"GET", "/log/bundle?object={O}", ""},
		{"GET", "/concurrence?object={I}", ""},
		{"GET", "/concurrence?object={O}", ""},
		{"GET", "/peers/bundle?collection={C}&object={I}", ""},
		{"GET", "/peers/bundle?collection=" + tn.shared + "&object={I}", ""},
		{"GET", "/private/sets/{S}", ""},
		{"GET", "/private/sets/{S}/tags", ""},
		{"GET", "/private/sets/{S}/receipt", ""},
		{"POST", "/private/sets/{S}/evaluate", `{"elements":[]}`},
		{"DELETE", "/private/sets/{S}", ""},
		{"GET", "/private/sets/{W}", ""},
		{"GET", "/private/sets/{W}/tags", ""},
		{"GET", "/private/sets/{W}/receipt", ""},
		{"POST", "/private/sets/{W}/evaluate", `{"elements":[]}`},
		{"DELETE", "/private/sets/{W}", ""},
		{"POST", "/private/sets", `{"collection":"{C}"}`},
	}
	ui := []req{
		{"GET", "/ui/collections/{C}", ""},
		{"GET", "/ui/collections/{C}?after=1", ""},
		{"GET", "/ui/collections/{C}?after={N}", ""},
		{"GET", "/ui/collections/{C}?before={N}", ""},
		{"GET", "/ui/objects/{I}", ""},
		{"GET", "/ui/objects/{D}", ""},
		{"GET", "/ui/objects/{O}", ""},
		{"GET", "/ui/search?q={VAL}", ""},
		{"GET", "/ui/search?q={I}", ""},
		{"GET", "/ui/search?q={PDQ}", ""},
		{"GET", "/ui/search?q={SHA}", ""},
		{"GET", "/ui/api/log/receipt?object={I}&version=" + version, ""},
		{"GET", "/ui/api/log/bundle?object={I}", ""},
		{"GET", "/ui/api/concurrence?object={I}", ""},
		{"GET", "/ui/api/peers/bundle?collection={C}&object={I}", ""},
		{"GET", "/ui/api/collections/{C}/objects/{I}/", ""},
		{"GET", "/ui/api/collections/" + tn.shared + "/objects/?match[id]={I}", ""},
		{"POST", "/ui/api/collections/{C}/objects/", `{"objects":[]}`},
		{"POST", "/ui/objects/{I}/opinion", `{}`},
		{"GET", "/ui/collections/{C}/objects/{I}", ""},
		// The not-found page, in the member's layout, whatever the
		// path names.
		{"GET", "/ui/objects/{I}/versions", ""},
		{"POST", "/ui/objects/{I}/versions", `{}`},
	}
	// Every route is probed, or takes no id that could be hidden. (GET
	// /log/keys takes member ids, but every member's registration is a
	// log entry in clear, by id, that every member reads: no member id is
	// hidden. A collection alice may write but not read, drop, is not
	// hidden either: she is told it exists, GET /collections/ lists it,
	// and its reads answer her 403, not 404, so its answers and their
	// work may differ from an unknown id's.)
	noID := map[string]bool{
		"GET /healthz": true, "GET /readyz": true, "GET " + ExtensionPath + "{id}": true, taxii.DiscoveryPath: true,
		"GET /members": true, "GET /log/checkpoint": true, "GET /log/key": true, "GET /log/tile/": true,
		"GET /log/proof/consistency": true, "GET /log/objects": true, "GET /log/keys": true, "GET /log/checkpoints": true,
		"GET /private/sets": true, PeerWitnessPath: true, "GET /{$}": true,
	}
	mux := http.NewServeMux()
	routes := tn.routes(slog.New(slog.DiscardHandler), http.NewServeMux())
	for _, rt := range routes {
		mux.Handle(rt.Pattern, http.NotFoundHandler())
	}
	probed := map[string]bool{}
	for _, r := range append(api, ui...) {
		_, p := mux.Handler(httptest.NewRequest(r.method, r.path, nil))
		probed[p] = true
	}
	for _, rt := range routes {
		if !probed[rt.Pattern] && !noID[rt.Pattern] {
			t.Errorf("route %q: no request of this test asks it about a hidden id; add one, or list it as taking none", rt.Pattern)
		}
	}
	// The TAXII API root is one row of the table, but many endpoints:
	// each is probed too, or takes no id.
	taxiiNoID := map[string]bool{"discovery": true, "api-root": true, "collections": true}
	taxiiProbed := map[string]bool{}
	for _, r := range api {
		p, _, _ := strings.Cut(r.path, "?")
		if ep, ok := taxii.EndpointPattern("", p); ok {
			taxiiProbed[ep] = true
		}
	}
	for _, ep := range taxii.Endpoints() {
		if !taxiiProbed[ep] && !taxiiNoID[ep] {
			t.Errorf("TAXII endpoint %q: no request of this test asks it about a hidden id; add one, or list it as taking none", ep)
		}
	}
	// HEAD is served wherever GET is, and answers with GET's headers.
	for _, r := range slices.Clone(api) {
		if r.method == http.MethodGet {
			api = append(api, req{http.MethodHead, r.path, ""})
		}
	}
	// The same for the web UI's own routes, all behind the table's one
	// "/ui/" row: each page is probed, or takes no id that could be
	// hidden ("/ui/" is the not-found page, probed by the last UI requests).
	uiNoID := map[string]bool{
		"GET /ui/assets/{name}": true, "GET /ui/login": true, "POST /ui/login": true, "POST /ui/logout": true,
		"GET /ui/{$}": true, "GET /ui/members": true, "GET /ui/private": true,
		"GET /ui/binding": true,
	}
	var uiPatterns, uiAPIGets []string
	for _, rt := range routes {
		if p, ok := rt.Handler.(interface{ Patterns() []string }); ok && rt.Pattern == "/ui/" {
			uiPatterns = p.Patterns()
		}
		if p, ok := rt.Handler.(interface{ APIGets() []string }); ok && rt.Pattern == "/ui/" {
			uiAPIGets = p.APIGets()
		}
	}
	if len(uiPatterns) == 0 {
		t.Fatal("the route table's /ui/ row doesn't list the web UI's patterns")
	}
	if len(uiAPIGets) == 0 {
		t.Fatal("the route table's /ui/ row doesn't list the node paths that GET /ui/api/ forwards to")
	}
	// GET /ui/api/{path} is one pattern but forwards to each node path of
	// its allow-list: each is probed through /ui/api/, or is a node route
	// that takes no id that could be hidden.
	uiAPIProbed := map[string]bool{}
	for _, r := range ui {
		if p, ok := strings.CutPrefix(r.path, "/ui/api/"); ok && r.method == http.MethodGet {
			p, _, _ = strings.Cut(p, "?")
			uiAPIProbed["/"+p] = true
		}
	}
	for _, p := range uiAPIGets {
		if !uiAPIProbed[p] && !noID["GET "+p] {
			t.Errorf("web UI forward GET /ui/api%s: no request of this test asks it about a hidden id; add one, or list GET %s as taking none", p, p)
		}
	}
	uiMux := http.NewServeMux()
	for _, p := range uiPatterns {
		uiMux.Handle(p, http.NotFoundHandler())
	}
	uiProbed := map[string]bool{}
	for _, r := range ui {
		_, p := uiMux.Handler(httptest.NewRequest(r.method, r.path, nil))
		uiProbed[p] = true
	}
	for _, p := range uiPatterns {
		if !uiProbed[p] && !uiNoID[p] {
			t.Errorf("web UI route %q: no request of this test asks it about a hidden id; add one, or list it as taking none", p)
		}
	}

	swap := func(s string, m map[string]string) string {
		for k, v := range m {
			s = strings.ReplaceAll(s, k, v)
		}
		return s
	}
	// The parts of an answer that differ from one request to the next
	// whatever it asks: the ids swapped back, the page's CSP nonce and
	// CSRF token blanked.
	nonce := regexp.MustCompile(`nonce-[^']+|nonce="[^"]*"`)
	csrf := regexp.MustCompile(`(name="csrf(-token)?" (content|value)=")[^"]*`)
	norm := func(s string, m map[string]string) string {
		for k, v := range m {
			s = strings.ReplaceAll(s, v, k)
		}
		return csrf.ReplaceAllString(nonce.ReplaceAllString(s, "nonce-X"), "${1}X")
	}
	probes, uiCSRF := 0, ""
	// do returns the answer to r, with the ids of m swapped in, and the
	// store's methods the node called to make it, in order.
	do := func(c *http.Client, token string, r req, m map[string]string) (string, []string) {
		var rd io.Reader
		if r.body != "" {
			rd = strings.NewReader(swap(r.body, m))
		}
		hr, err := http.NewRequest(r.method, tn.URL+swap(r.path, m), rd)
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			hr.Header.Set("Authorization", "Bearer "+token)
		}
		probes++
		rid := fmt.Sprintf("hidden-and-absent-%d", probes)
		hr.Header.Set(HeaderRequestID, rid)
		if r.method != http.MethodGet && strings.HasPrefix(r.path, "/ui/") {
			// A UI post carries the session's CSRF token, so that it
			// reaches the work it asks for.
			hr.Header.Set("X-CSRF-Token", uiCSRF)
		}
		ct := "application/json"
		if strings.HasPrefix(r.path, "/api/") || strings.HasPrefix(r.path, "/ui/api/collections/") {
			hr.Header.Set("Accept", taxii.MediaType)
			ct = taxii.MediaType
		}
		if r.body != "" {
			hr.Header.Set("Content-Type", ct)
		}
		resp, err := c.Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var hs []string
		for k, vs := range resp.Header {
			if k != "Date" && k != HeaderRequestID && k != "Set-Cookie" {
				hs = append(hs, k+": "+strings.Join(vs, ", "))
			}
		}
		slices.Sort(hs)
		return resp.Status + "\n" + norm(strings.Join(hs, "\n")+"\n\n"+string(b), m), calls.take(rid)
	}
	check := func(c *http.Client, token string, rs []req) {
		for _, r := range rs {
			h, hc := do(c, token, r, hidden)
			a, ac := do(c, token, r, absent)
			if h != a {
				t.Errorf("%s %s: alice's answers about a hidden and an unused id differ:\n%s", r.method, r.path, lineDiff(h, a))
			}
			// The same work too: a store call more for the hidden id
			// would show in the answer's time.
			if !slices.Equal(hc, ac) {
				t.Errorf("%s %s: the node asks the store different things about a hidden and an unused id:\n%s", r.method, r.path, lineDiff(strings.Join(hc, "\n"), strings.Join(ac, "\n")))
			}
		}
	}
	check(http.DefaultClient, tn.alice.Token, api)
	// So are a client's without a token, or with a token nobody has.
	check(http.DefaultClient, "", api)
	check(http.DefaultClient, "parley_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", api)
	aliceUI := uiLogin(t, tn.URL, tn.alice)
	resp, err := aliceUI.Get(tn.URL + "/ui/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token in alice's home page: %s", page)
	}
	uiCSRF = string(m[1])
	check(aliceUI, "", ui)
	// Bob, a reader, does get the hidden things: the probes can fail. And
	// his requests' store calls are recorded: the comparison of the work
	// can fail too.
	for _, r := range []req{{"GET", "/api/collections/{C}/objects/{I}/", ""}, {"GET", "/concurrence?object={I}", ""}, {"GET", "/private/sets/{S}", ""}, {"GET", "/private/sets/{W}/receipt", ""}} {
		got, calls := do(http.DefaultClient, tn.bob.Token, r, hidden)
		if !strings.HasPrefix(got, "200") {
			t.Errorf("bob's %s %s: %s", r.method, r.path, got)
		}
		if len(calls) < 2 {
			t.Errorf("bob's %s %s: store calls recorded %v, want the token's and the answer's", r.method, r.path, calls)
		}
	}
	bobUI := uiLogin(t, tn.URL, tn.bob)
	for q, id := range map[string]string{pdqHash: "indicator--7b5e1c39-0a4e-4f0f-8d55-3c1c5f6f2b12", sha: "indicator--8c5e1c39-0a4e-4f0f-8d55-3c1c5f6f2b13"} {
		if got, _ := do(bobUI, "", req{"GET", "/ui/search?q=" + q, ""}, hidden); !strings.Contains(got, id) {
			t.Errorf("bob's look-up of %s doesn't find %s", q, id)
		}
	}
}

// lineDiff shows the lines of a and b that differ.
func lineDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			out = append(out, "  hidden: "+x, "  unused: "+y)
		}
	}
	return strings.Join(out, "\n")
}

// TestHiddenVersionsOfReadableObjects: bob's indicator is in shared
// (alice reads it) at one version and in private (she doesn't) at a later
// one, with an opinion, a relationship and a sighting about it there too,
// and in a third collection that carol reads with bob. Nothing alice reads about the object, through TAXII, the log, the
// concurrence or the web UI, shows the later version, its content, the
// opinion, the relationship, the sighting or the third collection, and
// her concurrence counts only the readers of shared.
func TestHiddenVersionsOfReadableObjects(t *testing.T) {
	tn := newTestNode(t)
	iid := "indicator--6f2d8b3c-ae40-4f9b-97d2-1a3f5e7b9dad"
	v1, v2 := "2026-04-04T04:04:04.444Z", "2026-05-05T05:05:05.555Z"
	mk := func(v, name, value string) json.RawMessage {
		return object(t, tn.bob.Key, map[string]any{
			"type": "indicator", "spec_version": "2.1", "id": iid, "created": v1, "modified": v,
			"created_by_ref": tn.bob.ID, "name": name, "pattern": "[domain-name:value = '" + value + "']",
			"pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
		})
	}
	postOK(t, tn, tn.bob, tn.shared, mk(v1, "public-name", "public.example"))
	oid := "opinion--00000000-0000-4000-8000-00000000dd01"
	rid := "relationship--00000000-0000-4000-8000-00000000dd02"
	sid := "sighting--00000000-0000-4000-8000-00000000dd03"
	mal := "malware--00000000-0000-4000-8000-00000000dd04"
	postOK(t, tn, tn.bob, tn.private, mk(v2, "hidden-name-zebra", "hidden-zebra.example"),
		object(t, tn.bob.Key, map[string]any{"type": "opinion", "spec_version": "2.1", "id": oid, "created_by_ref": tn.bob.ID,
			"created": v2, "modified": v2, "opinion": "strongly-disagree", "object_refs": []string{iid}}),
		object(t, tn.bob.Key, map[string]any{"type": "relationship", "spec_version": "2.1", "id": rid, "created_by_ref": tn.bob.ID,
			"created": v2, "modified": v2, "relationship_type": "indicates", "source_ref": iid, "target_ref": mal}),
		object(t, tn.bob.Key, map[string]any{"type": "sighting", "spec_version": "2.1", "id": sid, "created_by_ref": tn.bob.ID,
			"created": v2, "modified": v2, "sighting_of_ref": iid}),
	)
	// And in a collection carol reads with bob: she must not count in
	// alice's members_with_access.
	red, err := tn.AddCollection(context.Background(), "red", "", []string{"bob", "carol"}, []string{"bob"}, "")
	if err != nil {
		t.Fatal(err)
	}
	postOK(t, tn, tn.bob, red, mk(v1, "public-name", "public.example"))
	waitIntegrated(t, tn)
	if code, conc := getConcurrence(t, tn, tn.alice.Token, iid); code != http.StatusOK || conc.MembersWithAccess != 2 {
		t.Errorf("alice's concurrence on the indicator: %d, members_with_access %d; want 2 (alice and bob, the readers of shared)", code, conc.MembersWithAccess)
	}
	if _, conc := getConcurrence(t, tn, tn.bob.Token, iid); conc.MembersWithAccess != 3 {
		t.Errorf("bob's members_with_access: %d, want 3", conc.MembersWithAccess)
	}
	secrets := map[string]string{"later version": v2, "later name": "hidden-name-zebra", "later value": "hidden-zebra", "opinion": oid,
		"relationship": rid, "sighting": sid, "malware": mal, "private collection": tn.private, "red collection": red}
	scan := func(p, body string, code int) {
		// A search page shows what was looked up.
		if u, err := url.Parse(p); err == nil && u.Query().Get("q") != "" {
			body = strings.ReplaceAll(body, u.Query().Get("q"), "")
		}
		for what, s := range secrets {
			if strings.Contains(body, s) {
				t.Errorf("GET %s (%d) shows the %s", p, code, what)
			}
		}
	}
	for _, p := range []string{
		"/api/collections/" + tn.shared + "/objects/" + iid + "/",
		"/api/collections/" + tn.shared + "/objects/" + iid + "/?match[version]=all",
		"/api/collections/" + tn.shared + "/objects/" + iid + "/versions/",
		"/api/collections/" + tn.shared + "/objects/?match[version]=all",
		"/api/collections/" + tn.shared + "/manifest/?match[version]=all",
		"/log/bundle?object=" + iid, "/log/receipt?object=" + iid + "&version=" + v2,
		"/concurrence?object=" + iid, "/log/objects?start=0&end=" + fmt.Sprint(tn.logSize(t)),
	} {
		code, body := rawGet(t, tn.URL+p, tn.alice.Token)
		scan(p, body, code)
	}
	c := uiLogin(t, tn.URL, tn.alice)
	for _, p := range []string{"/ui/", "/ui/objects/" + iid, "/ui/search?q=hidden-zebra.example", "/ui/search?q=hidden-name-zebra",
		"/ui/search?q=" + iid, "/ui/collections/" + tn.shared, "/ui/collections/" + tn.shared + "?q=zebra",
		"/ui/api/log/bundle?object=" + iid, "/ui/api/concurrence?object=" + iid} {
		resp, err := c.Get(tn.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		scan(p, string(b), resp.StatusCode)
	}
	// Bob, who reads both, gets the later version: the scan can fail.
	if _, body := rawGet(t, tn.URL+"/log/bundle?object="+iid, tn.bob.Token); !strings.Contains(body, tn.private) {
		t.Errorf("bob's bundle lacks the later version")
	}
}

// TestLogKeysOddMemberNames: GET /log/keys with a member parameter that
// can be no member id (empty, or with a space or a line break, which the
// key index has no room for) is the client's mistake: 400 naming it, not
// a 500 internal error; a member named twice is answered once.
func TestLogKeysOddMemberNames(t *testing.T) {
	tn := newTestNode(t)
	waitIntegrated(t, tn)
	for _, q := range []string{"?member=", "?member=a%20b", "?member=a%0Ab", "?member=" + tn.alice.ID + "&member=a%09b"} {
		code, body := rawGet(t, tn.URL+"/log/keys"+q, tn.alice.Token)
		if code != http.StatusBadRequest || !strings.Contains(body, "no member id") {
			t.Errorf("GET /log/keys%s: %d %s; want 400 naming the member", q, code, body)
		}
	}
	// A long one is quoted in part only: the answer is no echo of
	// kilobytes of the client's choosing.
	long := strings.Repeat("A", 4000) + " <b>"
	if code, body := rawGet(t, tn.URL+"/log/keys?member="+url.QueryEscape(long), tn.alice.Token); code != http.StatusBadRequest || len(body) > 400 || strings.Contains(body, "<b>") {
		t.Errorf("GET /log/keys?member=(4,000 bytes): %d, %d bytes: %.300s", code, len(body), body)
	}
	code, body := rawGet(t, tn.URL+"/log/keys?member="+tn.alice.ID+"&member="+tn.alice.ID, tn.alice.Token)
	var r tlog.KeysResponse
	if code != http.StatusOK || json.Unmarshal([]byte(body), &r) != nil {
		t.Fatalf("alice named twice: %d %s", code, body)
	}
	v, err := tlog.NewVerifier(tn.vkey)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.VerifyComplete(v, tn.alice.ID); err != nil {
		t.Errorf("alice named twice: %v", err)
	}
}
