package misp

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/stix"
)

// importOf converts MISP events (JSON, {"Event": ...} each) as an import
// does and returns the STIX objects by id.
func importOf(t *testing.T, events ...string) map[string]*stix.Object {
	t.Helper()
	out := map[string]*stix.Object{}
	c := NewConverter(Options{})
	for _, ev := range events {
		err := ReadEvents(bytes.NewReader([]byte(ev)), func(e *Event) error {
			for _, raw := range c.Convert(e).Objects {
				o, err := stix.Parse(raw)
				if err != nil {
					t.Fatal(err)
				}
				out[o.ID] = o
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestSameInMISPSeen: an indicator's valid_from and an observed-data's
// first_observed and last_observed, which an import reads from a MISP
// attribute's first_seen and last_seen, go out in the feed export, so
// that re-importing Parley's own export is still already there while a
// MISP attribute under the same uuid and timestamp but valid or seen at
// other times is a conflict, not hidden as already there. Before, the
// export left them out and SameInMISP said such an attribute was the
// node's copy.
func TestSameInMISPSeen(t *testing.T) {
	held := parseAll(t,
		`{"type":"indicator","spec_version":"2.1","id":"indicator--ab5191c1-1eda-46c2-85b5-cdddf62a29f4","created":"2026-01-02T03:04:05.000Z","modified":"2026-01-02T03:04:05.000Z","pattern":"[domain-name:value = 'evil.example']","pattern_type":"stix","valid_from":"2020-05-06T07:08:09.123Z"}`,
		`{"type":"observed-data","spec_version":"2.1","id":"observed-data--bb5191c1-1eda-46c2-85b5-cdddf62a29f4","created":"2026-01-02T03:04:05.000Z","modified":"2026-01-02T03:04:05.000Z","first_observed":"2021-01-01T00:00:00Z","last_observed":"2022-01-01T00:00:00Z","number_observed":1,"object_refs":["domain-name--0f05bc64-fdda-51f0-a852-4c758b7de0a5"]}`,
		`{"type":"domain-name","spec_version":"2.1","id":"domain-name--0f05bc64-fdda-51f0-a852-4c758b7de0a5","value":"seen.example"}`,
	)
	feed := FeedFromSTIX(held, EventFor("parley"))
	if len(feed.Events) != 1 || len(feed.Unsupported) != 0 {
		t.Fatalf("feed: %d events, unsupported %v", len(feed.Events), feed.Unsupported)
	}
	enc := func(ev Event) string {
		b, err := json.Marshal(map[string]any{"Event": ev})
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	// differing counts the node's objects that SameInMISP tells from
	// what an import makes of ev, given the observables the import sent.
	differing := func(ev Event) int {
		mine := importOf(t, enc(ev))
		var scos []*stix.Object
		for _, o := range mine {
			if !strings.HasPrefix(o.ID, "observed-data--") && !strings.HasPrefix(o.ID, "indicator--") && o.Props["created"] == nil {
				scos = append(scos, o)
			}
		}
		n := 0
		for _, h := range held[:2] {
			m := mine[h.ID]
			if m == nil {
				t.Fatalf("%s not imported from %s", h.ID, enc(ev))
			}
			if !SameInMISP(h, m, scos...) {
				n++
			}
		}
		return n
	}
	if n := differing(*feed.Events[0]); n != 0 {
		t.Errorf("own export: %d objects differ from the node's copy, want 0: %s", n, enc(*feed.Events[0]))
	}
	for _, tc := range []struct {
		name string
		set  func(a []Attribute)
	}{
		{"valid since another time", func(a []Attribute) { a[0].FirstSeen = "2025-05-06T07:08:09.123000+00:00" }},
		{"observed from another time", func(a []Attribute) { a[1].FirstSeen = "2019-01-01T00:00:00.000000+00:00" }},
		{"observed until another time", func(a []Attribute) { a[1].LastSeen = "2023-01-01T00:00:00.000000+00:00" }},
		{"observed-data with another tag", func(a []Attribute) { a[1].Tag = append(a[1].Tag, Tag{Name: "false-positive"}) }},
		{"observed-data of another category", func(a []Attribute) { a[1].Category = "Payload delivery" }},
	} {
		ev := *feed.Events[0]
		ev.Attribute = slices.Clone(ev.Attribute)
		tc.set(ev.Attribute)
		if n := differing(ev); n != 1 {
			t.Errorf("%s: %d objects differ from the node's copy, want 1: %s", tc.name, n, enc(ev))
		}
	}
}
