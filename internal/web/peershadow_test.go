package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/parley-exchange/parley/internal/node"
	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/internal/web"
	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/taxii"
	"github.com/parley-exchange/parley/tlog"

	"crypto/rand"
)

// TestObjectPageNotShadowedByPeer: a peer B logs a later version (and
// another object under the same id and version) of an object a member of
// this node shared; the copies go into B's read-only collection only. The
// object's page, for a member who reads both collections, shows the
// member's own latest version as the object, not B's copy (before: B's,
// as the latest version of the id in any readable collection).
func TestObjectPageNotShadowedByPeer(t *testing.T) {
	f := newFixture(t)
	peerCopyOfIndicator(t, f)
	c := newClient(t, f.URL)
	c.login(t, f.aurelia.Token)
	resp, body := c.get(t, "/ui/objects/"+f.indicator)
	mustStatus(t, resp, http.StatusOK, "the object's page")
	if strings.Contains(body, "B takes it over") && !strings.Contains(body, "Look-alike portal") {
		t.Fatalf("the page of aurelia's object shows B's copy as the object:\n%.3000s", body)
	}
	for _, li := range strings.Split(body, "<li>") {
		if strings.Contains(li, "(shown)") && strings.Contains(li, "2027-01-01") {
			t.Fatalf("the versions mark B's copy as the one shown: %s", li)
		}
	}
	if i, j := strings.Index(body, "Look-alike portal"), strings.Index(body, "B takes it over"); i < 0 || (j >= 0 && j < i) {
		t.Fatalf("the page of aurelia's object doesn't show hers first (at %d, B's at %d)", i, j)
	}
}

// peerCopyOfIndicator follows a peer B into the collection "from B"
// (aurelia reads it) and stores there, as B's replication would, B's
// later, revoked version of aurelia's indicator (f.indicator) under her
// id, named "B takes it over", with another pattern. It returns the
// collection's id.
func peerCopyOfIndicator(t *testing.T, f *fixture) (into string) {
	t.Helper()
	into = followB(t, f)
	peerCopies(t, f, into, indicatorCopy(f, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), ""))
	return into
}

// followB follows a peer B into the collection "from B", which aurelia
// reads, and returns the collection's id.
func followB(t *testing.T, f *fixture) (into string) {
	t.Helper()
	_, bvkey, err := note.GenerateKey(rand.Reader, "b.example")
	if err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := f.n.AddPeer(context.Background(), node.PeerSpec{Name: "b", URL: "https://b.example", TokenFile: tokenFile, LogKey: bvkey,
		Remote: "c0ffee00-0000-4000-8000-000000000000", Into: "from B", Readers: []string{"cert-aurelia"}})
	if err != nil {
		t.Fatal(err)
	}
	return p.Into
}

// indicatorCopy returns B's revoked version of aurelia's indicator
// modified at version, named "B takes it over" (with pad, if any, as
// its description), with another pattern.
func indicatorCopy(f *fixture, version time.Time, pad string) map[string]any {
	m := map[string]any{"type": "indicator", "spec_version": "2.1", "id": f.indicator, "name": "B takes it over",
		"created": "2026-09-14T08:30:00.000Z", "modified": stix.FormatTimestamp(version), "revoked": true,
		"pattern": "[domain-name:value = 'b.example']", "pattern_type": "stix", "valid_from": "2026-09-14T08:30:00Z"}
	if pad != "" {
		m["description"] = pad
	}
	return m
}

// peerCopies stores objs in B's collection into, as B's replication
// would, under B's member.
func peerCopies(t *testing.T, f *fixture, into string, objs ...map[string]any) {
	t.Helper()
	ctx := context.Background()
	ps, err := f.n.Store().Peers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var member string
	for _, p := range ps {
		if p.Into == into {
			member = p.Member
		}
	}
	var items []store.Item
	for _, m := range objs {
		raw, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		version, err := stix.ParseTimestamp(m["modified"].(string))
		if err != nil {
			t.Fatal(err)
		}
		salt, _ := tlog.NewSalt(rand.Reader)
		items = append(items, store.Item{Salt: salt, Object: store.Object{ID: m["id"].(string), Type: m["type"].(string), SpecVersion: "2.1", Version: version, Raw: raw},
			Entry: func(so store.Object) ([]byte, error) {
				op := tlog.Opening{Salt: salt, Collection: so.Collection, ObjectID: so.ID, Version: store.FormatTime(so.Version), Member: so.Member}
				return tlog.Entry{Kind: tlog.KindObject, Received: so.DateAdded, Commitment: tlog.ObjectCommitment(op, so.Raw)}.Marshal()
			}})
	}
	st, err := f.n.Store().Submit(ctx, store.Submission{StatusID: "peer-copy-" + rand.Text(), Collection: into, Member: member, Received: time.Now(),
		Items: items})
	if err != nil || len(st.Failures) != 0 {
		t.Fatalf("B's copies: %+v, %v", st, err)
	}
}

// TestPagesNotShadowedByPeer goes over the UI's places that name an
// object id by one of its versions across the collections a member
// reads, after B's later, revoked copy of aurelia's indicator (see
// peerCopyOfIndicator): each names aurelia's version, or shows B's
// labelled as B's (in B's collection). It does so twice: with B's copy
// added after aurelia's version, and after aurelia then adds a newer
// version of her own (B's copy then comes first in the order objects
// were added). Before, a report's references and the labels of its
// object_refs took the first stored (B's, in the second round), and a
// relationship's other end the last stored (B's, in the first).
func TestPagesNotShadowedByPeer(t *testing.T) {
	f := newFixture(t)
	fromB := peerCopyOfIndicator(t, f)
	c := newClient(t, f.URL)
	c.login(t, f.aurelia.Token)
	page := func(path string) func(t *testing.T) string {
		return func(t *testing.T) string {
			resp, body := c.get(t, path)
			mustStatus(t, resp, http.StatusOK, path)
			return body
		}
	}
	api := &taxii.Client{BaseURL: f.URL, Token: f.aurelia.Token}
	taxiiObject := func(coll string) func(t *testing.T) string {
		return func(t *testing.T) string {
			env, err := api.Object(context.Background(), coll, f.indicator, taxii.Query{})
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, o := range env.Objects {
				var x struct{ Name string }
				json.Unmarshal(o, &x)
				names = append(names, x.Name)
			}
			return strings.Join(names, "\n")
		}
	}
	mine := func(body string) bool {
		return strings.Contains(body, "Look-alike portal") && !strings.Contains(body, "B takes it over")
	}
	places := []struct {
		name string
		read func(t *testing.T) string
		// ok reports whether what read returns names aurelia's version
		// (or labels B's as B's).
		ok func(body string) bool
	}{
		{"the object's page", page("/ui/objects/" + f.indicator), func(body string) bool {
			i, j := strings.Index(body, "Look-alike portal"), strings.Index(body, "B takes it over")
			return i >= 0 && (j < 0 || i < j) && !strings.Contains(body, "revoked-warning") && !strings.Contains(body, `<span class="tag">revoked</span>`)
		}},
		{"GET /concurrence (object_revoked)", page("/ui/api/concurrence?object=" + f.indicator), func(body string) bool {
			var c struct {
				Revoked bool   `json:"object_revoked"`
				Latest  string `json:"object_latest_version"`
			}
			return json.Unmarshal([]byte(body), &c) == nil && !c.Revoked && !strings.HasPrefix(c.Latest, "2027")
		}},
		{"a report's references and its object_refs' names", page("/ui/objects/" + f.report), mine},
		{"a relationship's other end", page("/ui/objects/" + f.hostileID), mine},
		{"the look-up of B's value", page("/ui/search?q=b.example"), func(body string) bool {
			for _, row := range strings.Split(body, "<tr>") {
				if strings.Contains(row, "B takes it over") && !strings.Contains(row, "from B") {
					return false
				}
			}
			return strings.Contains(body, "B takes it over")
		}},
		// What parley match --url and parley export read: one collection.
		{"TAXII, aurelia's collection", taxiiObject(f.shared), mine},
		{"TAXII, B's collection", taxiiObject(fromB), func(body string) bool {
			return body == "B takes it over"
		}},
	}
	check := func(round string) {
		for _, p := range places {
			if body := p.read(t); !p.ok(body) {
				t.Errorf("%s, %s: names B's copy as aurelia's object, or hides hers:\n%.4000s", round, p.name, body)
			}
		}
	}
	check("B's copy added last")

	// Aurelia's newer version (older than B's copy's modified).
	versions, _, err := f.n.Store().ObjectVersions(context.Background(), []string{f.shared}, f.indicator, store.Bound{Rows: 1})
	if err != nil || len(versions) != 1 {
		t.Fatalf("aurelia's indicator: %v, %v", versions, err)
	}
	var m map[string]any
	if err := json.Unmarshal(versions[0].Raw, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "extensions")
	m["modified"] = "2026-10-01T00:00:00.000Z"
	m["name"] = "Look-alike portal, again"
	f.submit(t, f.aurelia, f.shared, m)
	check("aurelia's version added last")
}

// TestObjectPageNotShadowedByPeerFlood: B logs under aurelia's id more
// later versions than the page lists, or one version about as large as
// the list's bytes. The page still shows aurelia's version, marked as
// shown among the versions it lists, within its bound (before: it read
// only the newest versions in any collection, all B's, and showed B's).
func TestObjectPageNotShadowedByPeerFlood(t *testing.T) {
	start := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		objs func(f *fixture) []map[string]any
	}{
		{"101 later versions", func(f *fixture) []map[string]any {
			var objs []map[string]any
			for i := range web.MaxVersions + 1 {
				objs = append(objs, indicatorCopy(f, start.Add(time.Duration(i)*time.Hour), ""))
			}
			return objs
		}},
		{"one version of about 1 MiB", func(f *fixture) []map[string]any {
			// Just under the node's largest object, which is VersionBytes:
			// nothing else fits beside it in one list's bytes.
			obj := indicatorCopy(f, start, "")
			raw, _ := json.Marshal(obj)
			return []map[string]any{indicatorCopy(f, start, strings.Repeat("x", web.VersionBytes-len(raw)-64))}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			peerCopies(t, f, followB(t, f), tc.objs(f)...)
			c := newClient(t, f.URL)
			c.login(t, f.aurelia.Token)
			resp, body := c.get(t, "/ui/objects/"+f.indicator)
			mustStatus(t, resp, http.StatusOK, "the object's page")
			if i, j := strings.Index(body, "Look-alike portal"), strings.Index(body, "B takes it over"); i < 0 || (j >= 0 && j < i) || strings.Contains(body, `<span class="tag">revoked</span>`) {
				t.Fatalf("the page of aurelia's object shows B's copy as the object:\n%.3000s", body)
			}
			mine, _, err := f.n.Store().ObjectVersions(context.Background(), []string{f.shared}, f.indicator, store.Bound{Rows: 1})
			if err != nil || len(mine) != 1 {
				t.Fatalf("aurelia's indicator: %v, %v", mine, err)
			}
			if want := fmt.Sprintf("(for <code>parley verify</code>) · log entry %d<", mine[0].LogIndex); !strings.Contains(body, want) {
				t.Errorf("the proof bundle's line doesn't name the log entry of aurelia's version (%q)", want)
			}
			var shown, listed int
			for _, li := range strings.Split(body, "<li>")[1:] {
				if !strings.HasPrefix(li, "<time") {
					continue
				}
				listed++
				if strings.Contains(li, "(shown)") {
					shown++
					if strings.Contains(li, "2027-") {
						t.Errorf("the versions mark B's copy as the one shown: %s", li)
					}
				}
			}
			if shown != 1 || listed > web.MaxVersions {
				t.Errorf("the versions list %d, %d of them marked shown; want aurelia's shown, at most %d", listed, shown, web.MaxVersions)
			}
		})
	}
}

// TestObjectPageOtherObjectSameVersion: B logs another object under the
// id and version of aurelia's indicator. The versions list says so,
// naming B's copy, rather than calling it the same version in another
// collection.
func TestObjectPageOtherObjectSameVersion(t *testing.T) {
	f := newFixture(t)
	into := followB(t, f)
	versions, _, err := f.n.Store().ObjectVersions(context.Background(), []string{f.shared}, f.indicator, store.Bound{Rows: 1})
	if err != nil || len(versions) != 1 {
		t.Fatalf("aurelia's indicator: %v, %v", versions, err)
	}
	peerCopies(t, f, into, indicatorCopy(f, versions[0].Version, ""))
	c := newClient(t, f.URL)
	c.login(t, f.aurelia.Token)
	resp, body := c.get(t, "/ui/objects/"+f.indicator)
	mustStatus(t, resp, http.StatusOK, "the object's page")
	if strings.Contains(body, "the same version, in another collection") || !strings.Contains(body, "another object under the same id and version (peer:b&#39;s copy)") {
		t.Errorf("the versions don't name B's other object under aurelia's id and version as such:\n%s", body[strings.Index(body, `id="ver-h"`):])
	}
}
