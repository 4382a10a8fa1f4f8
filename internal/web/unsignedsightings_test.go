package web_test

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/internal/node"
	"github.com/parley-exchange/parley/internal/store"
)

// TestUnsignedSightingsCountedApart: sightings relayed unsigned (a relay
// collection with optional signatures) are counted apart from signed
// ones on the object page, in "Seen N times" and per member and on the
// per-day chart: they counted the same, so that a relayed claim posed as
// members' sightings.
func TestUnsignedSightingsCountedApart(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	relay, err := f.n.CreateCollection(ctx, node.CollectionSpec{Title: "MISP push", Readers: []string{"cert-aurelia", "cert-borovia"},
		Writers: []string{"cert-borovia"}, Signatures: store.SignaturesOptional, Relay: true})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(map[string]any{"type": "sighting", "spec_version": "2.1", "id": "sighting--0a5e0000-0000-4000-8000-00000000000a",
		"created": "2026-09-14T08:30:00.000Z", "modified": "2026-09-14T08:30:00.000Z", "created_by_ref": f.borova.ID,
		"sighting_of_ref": f.indicator, "count": 40, "first_seen": "2026-09-14T08:00:00Z"})
	c, err := f.n.Store().Collection(ctx, relay)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := f.n.Submit(ctx, f.borova.ID, c, []json.RawMessage{raw}); err != nil || len(st.Failures) > 0 {
		t.Fatalf("submit: %+v, %v", st.Failures, err)
	}
	f.submit(t, f.aurelia, f.shared, map[string]any{"type": "sighting", "id": "sighting--0a5e0000-0000-4000-8000-00000000000b",
		"sighting_of_ref": f.indicator, "count": 3, "first_seen": "2026-09-14T09:00:00Z"})
	cl := newClient(t, f.URL)
	cl.login(t, f.aurelia.Token)
	_, body := cl.get(t, "/ui/objects/"+f.indicator)
	seen := regexp.MustCompile(`(?s)<p class="seen">.*?</p>`).FindString(body)
	if !regexp.MustCompile(`Seen \d+ times \(<span class="tag warn">40 unsigned</span>\)`).MatchString(seen) ||
		!strings.Contains(seen, "cert-borovia") || !strings.Contains(seen, "(40 unsigned)") {
		t.Errorf("the sightings' count doesn't tell the unsigned apart: %q", seen)
	}
	if !regexp.MustCompile(`<rect class="unsigned" [^>]*><title>2026-09-14: 40 unsigned</title>`).MatchString(body) {
		t.Errorf("the chart draws no unsigned part for 2026-09-14:\n%s", regexp.MustCompile(`(?s)<svg class="chart".*?</svg>`).FindString(body))
	}
}
