package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/internal/store"
)

// TestTallyIsTheNodesWord: the opinions' tally on an object page is the
// node's count, which the browser doesn't check; the page says so beside
// it, not only the page-wide "checks the proofs in your browser", and links
// each counted opinion to its own page, whose check is the browser's.
func TestTallyIsTheNodesWord(t *testing.T) {
	f := newFixture(t)
	c := newClient(t, f.URL)
	c.login(t, f.aurelia.Token)
	resp, body := c.get(t, "/ui/objects/"+f.report)
	mustStatus(t, resp, http.StatusOK, "report page")
	i := strings.Index(body, `class="tally"`)
	if i < 0 {
		t.Fatal("no tally on the report's page")
	}
	section := body[i:]
	if j := strings.Index(section, "</section>"); j > 0 {
		section = section[:j]
	}
	if !strings.Contains(section, "As counted by your node: this count is not checked in your browser") {
		t.Errorf("the tally doesn't say it is the node's count: %s", section)
	}
	if !strings.Contains(section, `href="/ui/objects/opinion--88888888-8888-4888-8888-888888888888"`) {
		t.Errorf("the counted opinion isn't linked to its page: %s", section)
	}
}

// TestTallyOfRevokedObject: when the object's latest version is revoked
// (GET /concurrence's object_revoked), the opinions section says the
// object is revoked, as the node's word, in STIX's word (revoked: true)
// as the object's own tag does, never "withdrawn" (a private set's word);
// before, it doesn't.
func TestTallyOfRevokedObject(t *testing.T) {
	f := newFixture(t)
	c := newClient(t, f.URL)
	c.login(t, f.borova.Token)
	opinions := func() string {
		t.Helper()
		resp, body := c.get(t, "/ui/objects/"+f.report)
		mustStatus(t, resp, http.StatusOK, "report page")
		i := strings.Index(body, `aria-labelledby="op-h"`)
		if i < 0 {
			t.Fatal("no opinions section on the report's page")
		}
		section := body[i:]
		if j := strings.Index(section, "</section>"); j > 0 {
			section = section[:j]
		}
		return section
	}
	const warning = "your node says the latest version of this object"
	if s := opinions(); strings.Contains(s, warning) {
		t.Errorf("the report isn't revoked, yet: %s", s)
	}
	// Its author revokes it: the next version, revoked.
	latest, _, err := f.n.Store().LatestObjects(context.Background(), []string{f.shared}, []string{f.report}, store.Bound{Rows: 1})
	if err != nil || len(latest) != 1 {
		t.Fatalf("the report's latest version: %v, %v", latest, err)
	}
	var o map[string]any
	if err := json.Unmarshal(latest[0].Raw, &o); err != nil {
		t.Fatal(err)
	}
	for k := range o {
		if strings.HasPrefix(k, "x_parley") {
			delete(o, k)
		}
	}
	o["modified"], o["revoked"] = "2026-10-01T00:00:00.000Z", true
	f.submit(t, f.aurelia, f.shared, o)
	if s := opinions(); !strings.Contains(s, "<strong>Revoked:</strong> "+warning+" (2026-10-01T00:00:00") || !strings.Contains(s, "is revoked") || !strings.Contains(s, "not checked in your browser") {
		t.Errorf("the opinions of a revoked report don't say it is revoked: %s", s)
	}
	if _, page := c.get(t, "/ui/objects/"+f.report); strings.Contains(strings.ToLower(page), "withdr") || !strings.Contains(page, `<span class="tag">revoked</span>`) {
		t.Errorf("the page of a revoked report doesn't call it revoked throughout:\n%s", page)
	}
}
