package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/parley-exchange/parley/internal/node"
	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/stix"
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
	ctx := context.Background()
	f := newFixture(t)
	_, bvkey, err := note.GenerateKey(rand.Reader, "b.example")
	if err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := f.n.AddPeer(ctx, node.PeerSpec{Name: "b", URL: "https://b.example", TokenFile: tokenFile, LogKey: bvkey,
		Remote: "c0ffee00-0000-4000-8000-000000000000", Into: "from B", Readers: []string{"cert-aurelia"}})
	if err != nil {
		t.Fatal(err)
	}
	later := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	raw, _ := json.Marshal(map[string]any{"type": "indicator", "spec_version": "2.1", "id": f.indicator, "name": "B takes it over",
		"created": "2026-09-14T08:30:00.000Z", "modified": stix.FormatTimestamp(later), "revoked": true,
		"pattern": "[domain-name:value = 'b.example']", "pattern_type": "stix", "valid_from": "2026-09-14T08:30:00Z"})
	salt, _ := tlog.NewSalt(rand.Reader)
	st, err := f.n.Store().Submit(ctx, store.Submission{StatusID: "peer-copy", Collection: p.Into, Member: p.Member, Received: time.Now(),
		Items: []store.Item{{Salt: salt, Object: store.Object{ID: f.indicator, Type: "indicator", SpecVersion: "2.1", Version: later, Raw: raw},
			Entry: func(so store.Object) ([]byte, error) {
				op := tlog.Opening{Salt: salt, Collection: so.Collection, ObjectID: so.ID, Version: store.FormatTime(so.Version), Member: so.Member}
				return tlog.Entry{Kind: tlog.KindObject, Received: so.DateAdded, Commitment: tlog.ObjectCommitment(op, so.Raw)}.Marshal()
			}}}})
	if err != nil || len(st.Failures) != 0 {
		t.Fatalf("B's copy: %+v, %v", st, err)
	}
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
