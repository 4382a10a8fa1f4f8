package web_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/mod/sumdb/note"

	"github.com/parley-exchange/parley/internal/node"
	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/tlog"
)

// TestBrowserUnvouchedObjects: the object page's check in Chromium for
// the objects that no key of the node's log vouches for, which the CLI's
// checks accept as unsigned (tlog.ErrUnsignedObject). An object node A
// replicated from node B (logged under A's keyless member peer:NAME,
// signed by B's member, whose key only B's log holds) is checked in B's
// log too, from A's GET /peers/bundle, with B's log key pinned in the
// browser: it ends "verified", naming B's log and entry, with B's key
// index (which A fetched while replicating) showing B's key history
// complete (TestBrowserPeerKeyHistoryUnproved has it without), while what A's
// operator logged under peer:NAME itself (signed with its own key, or a
// changed version of B's object) fails, and so does B's object when A
// serves a changed proof, key entry or log key for B, or B's object of
// another collection than the one A follows, with B's own proofs. An unsigned object
// in a relay collection ends "logged", saying why, not "failed"; a
// relayed object signed by the relay ends "verified", saying that its
// claimed creator isn't. It also checks ParleyLog.keylessAt against the
// rule of tlog.KeyHistory.KeylessAt.
func TestBrowserUnvouchedObjects(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	chromium(t)
	ctx := context.Background()
	post := func(n *node.Node, m member, coll string, key ed25519.PrivateKey, o map[string]any) string {
		t.Helper()
		o["spec_version"], o["created"], o["modified"] = "2.1", "2026-09-14T08:30:00.000Z", "2026-09-14T08:30:00.000Z"
		b, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		if key != nil {
			if b, err = stix.Sign(b, key); err != nil {
				t.Fatal(err)
			}
		}
		c, err := n.Store().Collection(ctx, coll)
		if err != nil {
			t.Fatal(err)
		}
		st, err := n.Submit(ctx, m.ID, c, []json.RawMessage{b})
		if err != nil || len(st.Failures) > 0 {
			t.Fatalf("submit %v: %+v, %v", o["id"], st.Failures, err)
		}
		return o["id"].(string)
	}

	// Node B: alice shares an indicator into intel, which A's member reads.
	b := openNode(t, node.Config{})
	alice := addMember(t, b, "alice", true)
	bob := addMember(t, b, "bob", true)
	nodeA := addMember(t, b, "node-a", false)
	intel, err := b.AddCollection(ctx, "intel", "", []string{"alice", "bob", "node-a"}, []string{"alice", "bob"}, "")
	if err != nil {
		t.Fatal(err)
	}
	replicated := post(b, alice, intel, alice.Key, map[string]any{"type": "indicator", "id": "indicator--a1a1a1a1-0000-4000-8000-000000000001",
		"created_by_ref": alice.ID, "name": "Shared by B", "pattern": "[ipv4-addr:value = '203.0.113.9']", "pattern_type": "stix", "valid_from": "2026-09-14T08:30:00Z"})
	replicated2 := post(b, alice, intel, alice.Key, map[string]any{"type": "indicator", "id": "indicator--a1a1a1a1-0000-4000-8000-00000000000a",
		"created_by_ref": alice.ID, "name": "Also shared by B", "pattern": "[ipv4-addr:value = '203.0.113.19']", "pattern_type": "stix", "valid_from": "2026-09-14T08:30:00Z"})
	// One observable that alice and then bob share in intel: two
	// versions by two members, so B's proof bundle of it holds both
	// members' key entries, and the check must pick the sharer's.
	sharedObs, err := stix.DeterministicID("domain-name", map[string]any{"value": "shared.example"})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []member{alice, bob} {
		raw, err := stix.Sign([]byte(`{"type":"domain-name","spec_version":"2.1","id":"`+sharedObs+`","value":"shared.example"}`), m.Key)
		if err != nil {
			t.Fatal(err)
		}
		c, err := b.Store().Collection(ctx, intel)
		if err != nil {
			t.Fatal(err)
		}
		if st, err := b.Submit(ctx, m.ID, c, []json.RawMessage{raw}); err != nil || len(st.Failures) > 0 {
			t.Fatalf("%s shares %s: %+v, %v", m.Name, sharedObs, st.Failures, err)
		}
	}
	other, err := b.AddCollection(ctx, "other", "", []string{"alice", "node-a"}, []string{"alice"}, "")
	if err != nil {
		t.Fatal(err)
	}
	elsewhere := post(b, alice, other, alice.Key, map[string]any{"type": "indicator", "id": "indicator--a1a1a1a1-0000-4000-8000-00000000000b",
		"created_by_ref": alice.ID, "name": "Not in intel", "pattern": "[ipv4-addr:value = '203.0.113.29']", "pattern_type": "stix", "valid_from": "2026-09-14T08:30:00Z"})
	bURL := serveNode(t, b)

	// Node A follows intel; carol reads the copy and a relay collection.
	a := openNode(t, node.Config{PeerInterval: node.Duration(30 * time.Millisecond)})
	carol := addMember(t, a, "carol", true)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(nodeA.Token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := a.AddPeer(ctx, node.PeerSpec{Name: "b", URL: bURL, TokenFile: tokenFile, LogKey: b.VerifierKey(),
		Remote: intel, Into: "from B", Readers: []string{"carol"}})
	if err != nil {
		t.Fatal(err)
	}
	relay, err := a.CreateCollection(ctx, node.CollectionSpec{Title: "relayed", Readers: []string{"carol"}, Writers: []string{"carol"},
		Signatures: store.SignaturesOptional, Relay: true})
	if err != nil {
		t.Fatal(err)
	}
	unsigned := post(a, carol, relay, nil, map[string]any{"type": "indicator", "id": "indicator--b2b2b2b2-0000-4000-8000-000000000002",
		"created_by_ref": carol.ID, "name": "Unsigned", "pattern": "[domain-name:value = 'relayed.example']", "pattern_type": "stix", "valid_from": "2026-09-14T08:30:00Z"})
	// A cyber-observable carol signs into A's own collection: it has no
	// modified or created, so its version is when A added it.
	localObs, err := stix.DeterministicID("ipv4-addr", map[string]any{"value": "198.51.100.7"})
	if err != nil {
		t.Fatal(err)
	}
	{
		raw, err := stix.Sign([]byte(`{"type":"ipv4-addr","spec_version":"2.1","id":"`+localObs+`","value":"198.51.100.7"}`), carol.Key)
		if err != nil {
			t.Fatal(err)
		}
		c, err := a.Store().Collection(ctx, relay)
		if err != nil {
			t.Fatal(err)
		}
		if st, err := a.Submit(ctx, carol.ID, c, []json.RawMessage{raw}); err != nil || len(st.Failures) > 0 {
			t.Fatalf("carol shares %s: %+v, %v", localObs, st.Failures, err)
		}
	}
	claimed := "identity--c3c3c3c3-0000-4000-8000-000000000003"
	relayed := post(a, carol, relay, carol.Key, map[string]any{"type": "indicator", "id": "indicator--c3c3c3c3-0000-4000-8000-000000000004",
		"created_by_ref": claimed, "name": "Relayed", "pattern": "[ipv4-addr:value = '203.0.113.10']", "pattern_type": "stix", "valid_from": "2026-09-14T08:30:00Z"})
	// logAsPeer logs raw, as A's replication would, under peer:b in the
	// copy, with no provenance: what only A's operator can do.
	logAs := func(member, id string, modified time.Time, raw []byte) string {
		t.Helper()
		salt, err := tlog.NewSalt(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		st, err := a.Store().Submit(ctx, store.Submission{StatusID: "forged-" + id, Collection: p.Into, Member: member, Received: time.Now(),
			Items: []store.Item{{Owned: true, Salt: salt,
				Object: store.Object{ID: id, Type: "indicator", SpecVersion: "2.1", Version: modified, Signed: true, Raw: raw},
				Entry: func(o store.Object) ([]byte, error) {
					op := tlog.Opening{Salt: salt, Collection: o.Collection, ObjectID: o.ID, Version: store.FormatTime(o.Version), Member: o.Member}
					return tlog.Entry{Kind: tlog.KindObject, Received: o.DateAdded, Commitment: tlog.ObjectCommitment(op, o.Raw)}.Marshal()
				}}}})
		if err != nil || len(st.Failures) > 0 {
			t.Fatalf("forging %s: %+v, %v", id, st.Failures, err)
		}
		return id
	}
	logAsPeer := func(id string, modified time.Time, raw []byte) string { return logAs(p.Member, id, modified, raw) }
	// forgeWith logs, as version modified, an object signed by key that
	// claims to be alice's (signed by alice's key, it is one B's log
	// doesn't hold).
	forgeWith := func(id string, modified time.Time, key ed25519.PrivateKey, mangle func(sig map[string]any)) string {
		t.Helper()
		mod := modified.Format("2006-01-02T15:04:05.000Z")
		signed, err := stix.Sign([]byte(fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":%q,"created":"2026-09-14T08:30:00.000Z","modified":%q,"created_by_ref":%q,"name":"Forged","pattern":"[ipv4-addr:value = '203.0.113.66']","pattern_type":"stix","valid_from":"2026-09-14T08:30:00Z"}`, id, mod, alice.ID)), key)
		if err != nil {
			t.Fatal(err)
		}
		var o map[string]any
		if err := json.Unmarshal(signed, &o); err != nil {
			t.Fatal(err)
		}
		mangle(o["extensions"].(map[string]any)[stix.SignatureExtensionID].(map[string]any))
		raw, _ := json.Marshal(o)
		if raw, err = stix.Canonicalize(raw); err != nil {
			t.Fatal(err)
		}
		return logAsPeer(id, modified, raw)
	}
	forge := func(id string, mangle func(sig map[string]any)) string {
		return forgeWith(id, time.Date(2026, 9, 14, 8, 30, 0, 0, time.UTC), alice.Key, mangle)
	}
	// What A's operator signs itself and logs under peer:b, claiming it
	// is alice's on B: a new object, and a new version of B's object.
	_, operatorKey, _ := ed25519.GenerateKey(rand.Reader)
	keep := func(map[string]any) {}
	operatorSigned := forgeWith("indicator--e5e5e5e5-0000-4000-8000-000000000009", time.Date(2026, 9, 14, 8, 30, 0, 0, time.UTC), operatorKey, keep)
	operatorVersion := forgeWith(replicated2, time.Date(2026, 9, 15, 8, 30, 0, 0, time.UTC), operatorKey, keep)
	// And alice's object from B's other collection, which A reads on B but
	// doesn't follow, as B stores it: B's log holds it, in "other".
	page, err := b.Store().Objects(ctx, store.Query{Collection: other, IDs: []string{elsewhere}, Limit: 1})
	if err != nil || len(page.Objects) != 1 {
		t.Fatalf("reading %s on B: %v", elsewhere, err)
	}
	logAsPeer(elsewhere, page.Objects[0].Version, page.Objects[0].Raw)
	// And what a member of A with a key of its own (the operator's)
	// signed, logged in the copy: A's log vouches for its signature, but
	// B's log doesn't hold it.
	mallory := addMember(t, a, "mallory", true)
	byMallory := "indicator--e5e5e5e5-0000-4000-8000-00000000000a"
	signedByMallory, err := stix.Sign([]byte(`{"type":"indicator","spec_version":"2.1","id":"`+byMallory+`","created":"2026-09-14T08:30:00.000Z","modified":"2026-09-14T08:30:00.000Z","created_by_ref":"`+mallory.ID+`","name":"In the copy, not in B","pattern":"[ipv4-addr:value = '203.0.113.67']","pattern_type":"stix","valid_from":"2026-09-14T08:30:00Z"}`), mallory.Key)
	if err != nil {
		t.Fatal(err)
	}
	if signedByMallory, err = stix.Canonicalize(signedByMallory); err != nil {
		t.Fatal(err)
	}
	logAs(mallory.ID, byMallory, time.Date(2026, 9, 14, 8, 30, 0, 0, time.UTC), signedByMallory)
	// What only a malicious operator of A can log (its node refuses them):
	// objects under the keyless peer member whose signature entry doesn't
	// verify, or is malformed. The browser must fail both.
	badSignature := forge("indicator--e5e5e5e5-0000-4000-8000-000000000006", func(sig map[string]any) {
		b, _ := base64.StdEncoding.DecodeString(sig["signature"].(string))
		b[0] ^= 1
		sig["signature"] = base64.StdEncoding.EncodeToString(b)
	})
	extraMember := forge("indicator--e5e5e5e5-0000-4000-8000-000000000007", func(sig map[string]any) { sig["note"] = "unsigned text" })
	nullEntry := forge("indicator--e5e5e5e5-0000-4000-8000-000000000008", func(sig map[string]any) {
		for k := range sig {
			delete(sig, k)
		}
	})

	serveNode(t, a)
	deadline := time.Now().Add(60 * time.Second)
	for {
		ps, err := a.Store().Peers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) == 1 && ps[0].State.Objects >= 4 && ps[0].State.KeyIndex != nil && ps[0].State.KeyIndexSize == ps[0].State.Next {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("A didn't replicate B's object in 60 s: %+v", ps)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// A's operator can also change what A serves for B: the bundle in
	// B's log, which the browser gets through the session.
	bOrigin, _, _ := strings.Cut(b.VerifierKey(), "+")
	aOrigin, _, _ := strings.Cut(a.VerifierKey(), "+")
	fakeSKey, fakeVKey, err := note.GenerateKey(rand.Reader, bOrigin)
	if err != nil {
		t.Fatal(err)
	}
	fakeSigner, err := note.NewSigner(fakeSKey)
	if err != nil {
		t.Fatal(err)
	}
	var lie atomic.Value
	lie.Store("")
	liar := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mode := lie.Load().(string)
			if r.URL.Path == "/peers/bundle" && r.URL.Query().Get("object") == elsewhere {
				// B's own proofs of the object it holds in "other".
				req, _ := http.NewRequest(http.MethodGet, bURL+"/log/bundle?object="+elsewhere, nil)
				req.Header.Set("Authorization", "Bearer "+nodeA.Token)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					http.Error(w, err.Error(), http.StatusBadGateway)
					return
				}
				defer resp.Body.Close()
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(resp.StatusCode)
				io.Copy(w, resp.Body)
				return
			}
			if r.URL.Path != "/peers/bundle" || mode == "" {
				next.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			var b map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			switch mode {
			case "proof": // one hash of the object's inclusion proof in B's log
				for _, it := range b["items"].([]any) {
					p := it.(map[string]any)["inclusion_proof"].([]any)
					h, _ := base64.StdEncoding.DecodeString(p[0].(string))
					h[0] ^= 1
					p[0] = base64.StdEncoding.EncodeToString(h)
				}
			case "key": // alice's key entry in B's log names the operator's key
				for _, k := range b["keys"].([]any) {
					leaf, _ := base64.StdEncoding.DecodeString(k.(map[string]any)["entry"].(string))
					var e map[string]any
					json.Unmarshal(leaf, &e)
					e["key"] = base64Key(operatorKey)
					leaf, _ = json.Marshal(e)
					k.(map[string]any)["entry"] = base64.StdEncoding.EncodeToString(leaf)
				}
			case "fake-key": // a key of A's operator's, named as B's log is
				text := b["checkpoint"].(string)
				signed, err := note.Sign(&note.Note{Text: text[:strings.Index(text, "\n\n")+1]}, fakeSigner)
				if err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
				b["log_key"], b["checkpoint"] = fakeVKey, string(signed)
			case "log-key": // B's log key and checkpoint are A's own
				// As the UI's call: its context (the member) and headers.
				req := httptest.NewRequestWithContext(r.Context(), http.MethodGet, "/log/checkpoint", nil)
				req.Header.Set("Authorization", r.Header.Get("Authorization"))
				cp := httptest.NewRecorder()
				next.ServeHTTP(cp, req)
				b["log_key"], b["checkpoint"] = a.VerifierKey(), cp.Body.String()
			}
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(b)
		})
	}
	// And the pages: one that names another local collection as the
	// copy the object is in (pins are kept per copy).
	var renamePeerCollection atomic.Value
	renamePeerCollection.Store("")
	pages := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			to := renamePeerCollection.Load().(string)
			if to == "" || !strings.HasPrefix(r.URL.Path, "/ui/objects/") {
				next.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.Header().Del("Content-Length")
			w.WriteHeader(rec.Code)
			w.Write(bytes.ReplaceAll(rec.Body.Bytes(), []byte(`data-peer-collection="`+p.Into+`"`), []byte(`data-peer-collection="`+to+`"`)))
		})
	}
	base := uiServerWrapped(t, &fixture{n: a, aurelia: carol, pages: pages}, nil, liar)
	bctx, cancel := browser(t, 1280)
	defer cancel()
	logIn(t, bctx, base, carol.Token)
	// layoutAt looks at the page, reloaded at width, as TestBrowserLayout
	// does, and goes back to 1280 pixels.
	layoutAt := func(width int, name string) {
		t.Helper()
		if err := chromedp.Do(bctx, chromedp.EmulateViewport(int64(width), 900), chromedp.Reload(),
			waitAttr(`[data-verification]`, "data-verification", "verified", "failed", "logged"),
			shot(t, fmt.Sprintf("object-%s-%d", name, width))); err != nil {
			t.Fatal(err)
		}
		for _, p := range layoutProblems(bctx, t) {
			t.Errorf("%s at %d px: %s", name, width, p)
		}
		if err := chromedp.Do(bctx, chromedp.EmulateViewport(1280, 900)); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name, id, state string
		want            []string
	}{
		// B's key index is in A's bundle: the key history is proved
		// complete (without it: TestBrowserPeerKeyHistoryUnproved).
		{"replicated", replicated, "verified", []string{"Verified in your browser: replicated from " + bOrigin + ", entry ", "signed by " + alice.ID + " there",
			"all that the peer's signed key index lists",
			"of the peer's log " + bOrigin + " signed by its pinned key", "First use: pinned the log key of the peer"}},
		{"observable", localObs, "verified", []string{"signature, commitment, inclusion and checkpoint all check"}},
		{"shared-by-two", sharedObs, "verified", []string{"signed by " + bob.ID + " there", "(the peer's collection " + intel + ", shared there by " + bob.ID + ")"}},
		{"forged-by-operator", operatorSigned, "failed", []string{"the object's proof bundle in the peer's log: the node has none (HTTP 404)"}},
		{"keyed-member-in-copy", byMallory, "failed", []string{"the object's proof bundle in the peer's log: the node has none (HTTP 404)"}},
		{"other-collection", elsewhere, "failed", []string{"of the peer's log is in the peer's collection " + other + ", not in " + intel}},
		{"forged-version", operatorVersion, "failed", []string{"no entry of the peer's log " + bOrigin + " in this node's proof bundle commits to this exact object"}},
		{"unsigned", unsigned, "logged", []string{"the object is unsigned"}},
		{"relayed", relayed, "verified", []string{"signature, commitment, inclusion and checkpoint all check", "relayed by " + carol.ID, claimed}},
		{"forged-signature", badSignature, "failed", []string{"the object's signature does not verify"}},
		{"forged-extra-member", extraMember, "failed", []string{`unknown member "note" in the signature extension entry`}},
		{"forged-empty-entry", nullEntry, "failed", []string{"extension_type"}},
	} {
		st, text := checkObjectPage(t, bctx, base, c.id, "object-"+c.name)
		if st != c.state {
			t.Errorf("%s: %s, want %s: %s", c.name, st, c.state, text)
		}
		for _, w := range c.want {
			if !strings.Contains(text, w) {
				t.Errorf("%s: the check doesn't say %q: %s", c.name, w, text)
			}
		}
		if c.state == "logged" && (!strings.Contains(text, "✓ entry") || !strings.Contains(text, "not established")) {
			t.Errorf("%s: want the log's checks passed and the key's not established: %s", c.name, text)
		}
		if c.name != "replicated" {
			continue
		}
		// The page says where the object comes from.
		prov, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.querySelector(".provenance").textContent + " " + document.querySelector(".tag.peer").textContent`))
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range []string{"replicated from " + bOrigin, bURL, intel, "peer b"} {
			if !strings.Contains(prov, w) {
				t.Errorf("the page of a replicated object doesn't say %q: %s", w, prov)
			}
		}
		layoutAt(390, c.name)
	}
	// The peer's collection that the copy follows was pinned at first
	// use: a page naming another one (A's operator pointing the copy at
	// B's "other", where B holds elsewhere) fails.
	if pinned, err := chromedp.Run(bctx, chromedp.Evaluate[string](`localStorage.getItem("parley.pinned-peer-remote.`+p.Into+`")`)); err != nil || pinned != intel {
		t.Errorf("pinned peer collection %q, %v; want %s", pinned, err, intel)
	}
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`localStorage.setItem("parley.pinned-peer-remote.`+p.Into+`", "`+other+`"), true`)); err != nil {
		t.Fatal(err)
	}
	if st, text := checkObjectPage(t, bctx, base, replicated, ""); st != "failed" || !strings.Contains(text, "this node now says this collection is replicated from the peer's collection "+intel+", not from "+other) {
		t.Errorf("replicated, with another peer collection pinned: %s: %s", st, text)
	}
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`localStorage.setItem("parley.pinned-peer-remote.`+p.Into+`", "`+intel+`"), true`)); err != nil {
		t.Fatal(err)
	}
	// A page that names another of A's collections as the copy: a fresh
	// place for the pins, were they kept by the page's word.
	renamePeerCollection.Store(relay)
	if st, text := checkObjectPage(t, bctx, base, replicated, ""); st != "failed" || !strings.Contains(text, "the log entry is in collection "+p.Into+", not in "+relay) {
		t.Errorf("replicated, the page naming another copy: %s: %s", st, text)
	}
	renamePeerCollection.Store("")
	// B's object, with what A serves for B changed, after B's key was
	// pinned above.
	for _, c := range []struct{ mode, want string }{
		{"proof", "the inclusion proof of entry "},
		{"key", "a key entry's inclusion proof in the peer's log does not verify"},
		{"log-key", "ALARM: this node now gives a different log key for the peer"},
		{"fake-key", "ALARM: this node now gives a different log key for the peer"},
		// As for a collection new to the browser: the key is pinned by
		// its name too.
		{"fake-key-unpinned", "ALARM: this node gives, for the peer this collection is replicated from, a log key named " + bOrigin},
		// Nor is A's own key, given as B's to a browser that pinned none
		// for the collection, pinned as the peer's.
		{"log-key-unpinned", "this node gives its own log's key (" + aOrigin + ") as the key of the peer this collection is replicated from: not pinned"},
	} {
		if mode, unpinned := strings.CutSuffix(c.mode, "-unpinned"); unpinned {
			if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`localStorage.removeItem("parley.pinned-peer-log-key.`+p.Into+`"), true`)); err != nil {
				t.Fatal(err)
			}
			c.mode = mode
		}
		lie.Store(c.mode)
		st, text := checkObjectPage(t, bctx, base, replicated, "object-replicated-lying-"+c.mode)
		if st != "failed" || !strings.Contains(text, c.want) {
			t.Errorf("replicated, A lying about B's %s: %s, want failed saying %q: %s", c.mode, st, c.want, text)
		}
		if c.mode == "log-key" {
			layoutAt(390, "replicated-lying-"+c.mode)
		}
	}
	lie.Store("")

	// A member of A who may not read the copy gets nothing of it through
	// the UI, B's proofs included.
	dave := addMember(t, a, "dave", true)
	dc := newClient(t, base)
	dc.login(t, dave.Token)
	for _, path := range []string{"/ui/objects/" + replicated, "/ui/collections/" + p.Into,
		"/ui/api/peers/bundle?collection=" + p.Into + "&object=" + replicated} {
		resp, body := dc.get(t, path)
		if resp.StatusCode != http.StatusNotFound || strings.Contains(body, "Shared by B") || strings.Contains(body, "203.0.113.9") {
			t.Errorf("%s as a member who may not read it: %s\n%s", path, resp.Status, body)
		}
	}

	// keylessAt, the rule of tlog.KeyHistory.KeylessAt: registered without
	// a key before the index, and no key put in force before it.
	m := "identity--d4d4d4d4-0000-4000-8000-000000000005"
	ended := "identity--d4d4d4d4-0000-4000-8000-000000000006"
	events := fmt.Sprintf(`[{index: 1, entry: {kind: "member-key", member: %q, event: "register"}},
		{index: 2, entry: {kind: "member-key", member: %q, event: "register"}},
		{index: 4, entry: {kind: "member-key", member: %q, event: "revoke-member"}},
		{index: 7, entry: {kind: "member-key", member: %q, event: "rotate", key: "k"}}]`, m, ended, ended, m)
	for _, c := range []struct {
		member string
		index  int
		want   bool
	}{{m, 1, false}, {m, 2, true}, {m, 7, true}, {m, 8, false}, {"identity--other", 3, false}, {ended, 4, true}, {ended, 5, false}} {
		got, err := chromedp.Run(bctx, chromedp.Evaluate[bool](fmt.Sprintf(`ParleyLog.keylessAt(%s, %q, %d)`, events, c.member, c.index)))
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("keylessAt(%s, %d) = %v, want %v", c.member, c.index, got, c.want)
		}
	}
	withKey, err := chromedp.Run(bctx, chromedp.Evaluate[bool](fmt.Sprintf(`ParleyLog.keylessAt([{index: 1, entry: {kind: "member-key", member: %q, event: "register", key: "k"}}], %q, 5)`, m, m)))
	if err != nil {
		t.Fatal(err)
	}
	if withKey {
		t.Error("keylessAt is true for a member registered with a key")
	}
}

func base64Key(k ed25519.PrivateKey) string {
	return base64.StdEncoding.EncodeToString(k.Public().(ed25519.PublicKey))
}
