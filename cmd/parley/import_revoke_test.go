package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/misp"
)

// TestRevokedCopy: a feed event's import revokes only what the importing
// member made from that event and hasn't revoked yet, with a version after
// the one it revokes.
func TestRevokedCopy(t *testing.T) {
	const me, other = "identity--11111111-1111-4111-8111-111111111111", "identity--22222222-2222-4222-8222-222222222222"
	ev := &misp.Event{UUID: "5a1c30b2-0000-4000-8000-000000000001", Timestamp: 1700000000}
	obj := func(creator, event string, revoked bool) json.RawMessage {
		m := map[string]any{"type": "indicator", "spec_version": "2.1", "id": "indicator--5a1c30b2-0000-4000-8000-000000000002",
			"created": "2023-01-01T00:00:00.000Z", "modified": "2023-11-14T22:13:20.000Z", "created_by_ref": creator,
			"pattern": "[ipv4-addr:value = '198.51.100.1']", "pattern_type": "stix", "valid_from": "2023-01-01T00:00:00Z",
			"x_misp_event_uuid": event}
		if revoked {
			m["revoked"] = true
		}
		b, _ := json.Marshal(m)
		return b
	}
	wrote := map[string]time.Time{"indicator--5a1c30b2-0000-4000-8000-000000000002": time.Date(2023, 11, 14, 22, 13, 20, 0, time.UTC)}
	for _, tc := range []struct {
		name  string
		raw   json.RawMessage
		wrote map[string]time.Time
		ok    bool
	}{
		{"mine, from the event", obj(me, ev.UUID, false), wrote, true},
		{"another member's import of the event", obj(other, ev.UUID, false), wrote, false},
		{"from another event", obj(me, "5a1c30b2-0000-4000-8000-000000000009", false), wrote, false},
		{"revoked already", obj(me, ev.UUID, true), wrote, false},
		// Another import wrote the node's latest version of the id.
		{"another version than this feed wrote", obj(me, ev.UUID, false),
			map[string]time.Time{"indicator--5a1c30b2-0000-4000-8000-000000000002": time.Date(2020, 9, 13, 12, 26, 40, 0, time.UTC)}, false},
		{"not written by this feed", obj(me, ev.UUID, false), nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key, got, ok := revokedCopy(tc.raw, ev, me, tc.wrote)
			if ok != tc.ok {
				t.Fatalf("ok %v, want %v", ok, tc.ok)
			}
			if !ok {
				return
			}
			var m map[string]any
			if err := json.Unmarshal(got, &m); err != nil {
				t.Fatal(err)
			}
			// The event's timestamp equals the version's: one ms later.
			if m["revoked"] != true || m["modified"] != "2023-11-14T22:13:20.001Z" || !strings.HasSuffix(key, " 2023-11-14T22:13:20.001Z") {
				t.Fatalf("revoked copy %s (key %q)", got, key)
			}
		})
	}
}

// TestMissingEventOverHTTP: a feed server's 404 or 410 for an event file
// is a missing event (skipped, tried again next run); any other failure
// stops the import.
func TestMissingEventOverHTTP(t *testing.T) {
	for _, tc := range []struct {
		code    int
		missing bool
	}{{http.StatusNotFound, true}, {http.StatusGone, true}, {http.StatusInternalServerError, false}, {http.StatusForbidden, false}} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(tc.code) }))
		imp := &mispImport{http: srv.Client()}
		_, err := imp.open(context.Background(), srv.URL+"/5758ebf5-c898-48e6-9fe9-5665c0a83866.json", true)
		srv.Close()
		if err == nil || missingEvent(err) != tc.missing {
			t.Errorf("HTTP %d: %v, missing %v, want %v", tc.code, err, missingEvent(err), tc.missing)
		}
	}
}

// TestRevokeGoneOnlyForThisFeedsEvents: a feed revokes nothing of an event
// its state doesn't show it wrote objects for before (another feed listing
// a trusted event's uuid), nor of an event dated more than a day ahead.
// With no node to ask (nil sink), going further would panic.
func TestRevokeGoneOnlyForThisFeedsEvents(t *testing.T) {
	var stderr strings.Builder
	imp := &mispImport{c: &cli{stderr: &stderr}, pushed: map[string][]string{
		"5a1c30b2-0000-4000-8000-000000000002": {"indicator--5a1c30b2-0000-4000-8000-000000000003"},
		"5a1c30b2-0000-4000-8000-000000000004": {},
	}}
	for _, ev := range []*misp.Event{
		{UUID: "5a1c30b2-0000-4000-8000-000000000001", Timestamp: 1700000000},
		{UUID: "5a1c30b2-0000-4000-8000-000000000002", Timestamp: misp.Timestamp(4102444800)}, // 2100
		{UUID: "5a1c30b2-0000-4000-8000-000000000004", Timestamp: 1700000000},                 // imported, with nothing
	} {
		if err := imp.revokeGone(context.Background(), ev, &misp.Result{}); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.Contains(stderr.String(), "more than a day ahead") {
		t.Errorf("the future event isn't warned about: %q", stderr.String())
	}
}
