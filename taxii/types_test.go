package taxii

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// sharedTAXII is the repository's copy of the OASIS TAXII server and
// client fixtures (testdata/README.md names their sources and licences).
var sharedTAXII = filepath.Join("..", "testdata", "taxii21")

// TestDecodeClientMockResponses decodes the canned responses of the OASIS
// Python client's tests with this package's wire types: what that client
// accepts, ours must accept too.
func TestDecodeClientMockResponses(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(sharedTAXII, "taxii2client_v21_mock_responses.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Responses map[string]json.RawMessage `json:"responses"`
		Invalid   map[string]string          `json:"invalid"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	decode := func(name string, v any) {
		t.Helper()
		raw, ok := f.Responses[name]
		if !ok {
			t.Fatalf("mock response %s missing", name)
		}
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	var d Discovery
	decode("DISCOVERY_RESPONSE", &d)
	if d.Title != "Some TAXII Server" || d.Default != "https://example.com/api2/" || len(d.APIRoots) != 3 {
		t.Errorf("discovery = %+v", d)
	}
	var r APIRoot
	decode("API_ROOT_RESPONSE", &r)
	if r.MaxContentLength != 9765625 || len(r.Versions) != 1 || r.Versions[0] != MediaType {
		t.Errorf("api root = %+v", r)
	}
	var cs Collections
	decode("COLLECTIONS_RESPONSE", &cs)
	if len(cs.Collections) != 2 || !cs.Collections[0].CanRead || cs.Collections[0].CanWrite {
		t.Errorf("collections = %+v", cs)
	}
	var w Collection
	decode("WRITABLE_COLLECTION", &w)
	if w.CanRead || !w.CanWrite || w.MediaTypes[0] != STIXMediaType {
		t.Errorf("writable collection = %+v", w)
	}
	var env Envelope
	decode("GET_OBJECTS_RESPONSE", &env)
	if len(env.Objects) != 1 || env.More {
		t.Errorf("envelope = %+v", env)
	}
	var m Manifest
	decode("GET_MANIFEST_RESPONSE", &m)
	if len(m.Objects) != 2 || m.Objects[1].Version != "2016-11-03T12:35:10.000Z" || m.Objects[0].DateAdded == "" {
		t.Errorf("manifest = %+v", m)
	}
	var st Status
	decode("STATUS_RESPONSE", &st)
	if st.Status != StatusPending || st.TotalCount != 4 || st.FailureCount != 1 || st.Failures[0].Message != "Unable to process object" || len(st.Pendings) != 2 {
		t.Errorf("status = %+v", st)
	}
	decode("ADD_OBJECTS_RESPONSE", &st)
	if st.Status != StatusComplete || st.SuccessCount != 1 || st.Successes[0].ID != "indicator--252c7c11-daf2-42bd-843b-be65edca9f61" {
		t.Errorf("add objects status = %+v", st)
	}
	if err := json.Unmarshal([]byte(f.Invalid["BAD_DISCOVERY_RESPONSE"]), &d); err == nil {
		t.Error("truncated discovery decoded without error")
	}
}

func TestErrorHTTPStatusStringOrNumber(t *testing.T) {
	for _, in := range []string{`{"title":"x","http_status":"404"}`, `{"title":"x","http_status":404}`} {
		var e Error
		if err := json.Unmarshal([]byte(in), &e); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if e.HTTPStatus != "404" || e.Title != "x" {
			t.Errorf("%s: got %+v", in, e)
		}
	}
	var e Error
	if err := json.Unmarshal([]byte(`{"title":"x","http_status":true}`), &e); err == nil {
		t.Error("http_status true accepted")
	}
}

func TestTimestamps(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2016-11-02T12:34:34Z", time.Date(2016, 11, 2, 12, 34, 34, 0, time.UTC), true},
		{"2016-11-02T12:34:34.12345Z", time.Date(2016, 11, 2, 12, 34, 34, 123450000, time.UTC), true},
		{"2016-11-02T12:34:34.123456789123Z", time.Date(2016, 11, 2, 12, 34, 34, 123456789, time.UTC), true},
		{"2016-11-02T12:34:34+00:00", time.Time{}, false},
		{"2016-11-02 12:34:34Z", time.Time{}, false},
		{"2016-11-02T12:34:34.Z", time.Time{}, false},
		{"2016-11-04T03:04:051Z", time.Time{}, false},
		{"2016-13-02T12:34:34Z", time.Time{}, false},
		{"2016-11-02", time.Time{}, false},
		{"", time.Time{}, false},
	}
	for _, tt := range tests {
		got, err := ParseTimestamp(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseTimestamp(%q) error = %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if tt.ok && !got.Equal(tt.want) {
			t.Errorf("ParseTimestamp(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
	ts := time.Date(2026, 1, 2, 3, 4, 5, 6007000, time.FixedZone("x", 3600))
	if got := FormatTimestamp(ts); got != "2026-01-02T02:04:05.006007Z" {
		t.Errorf("FormatTimestamp = %s", got)
	}
}

// TestMedallionFixtureRoundTrip decodes the resources of the OASIS
// reference server's fixture into this package's types and encodes them
// again: every property the specification defines must survive.
func TestMedallionFixtureRoundTrip(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(sharedTAXII, "medallion_default_data.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f map[string]json.RawMessage
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	var root struct {
		Information json.RawMessage   `json:"information"`
		Status      []json.RawMessage `json:"status"`
		Collections []json.RawMessage `json:"collections"`
	}
	if err := json.Unmarshal(f["trustgroup1"], &root); err != nil {
		t.Fatal(err)
	}
	roundTrip := func(name string, raw json.RawMessage, v any, drop ...string) {
		t.Helper()
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var want, got map[string]any
		json.Unmarshal(raw, &want)
		json.Unmarshal(out, &got)
		for _, k := range drop {
			delete(want, k)
		}
		// Empty lists are left out when encoding, as the specification
		// makes them optional.
		for k, v := range want {
			if l, ok := v.([]any); ok && len(l) == 0 {
				delete(want, k)
			}
		}
		if !reflect.DeepEqual(want, got) {
			t.Errorf("%s: decoded and encoded\n got %v\nwant %v", name, got, want)
		}
	}
	roundTrip("discovery", f["/discovery"], &Discovery{})
	roundTrip("api root information", root.Information, &APIRoot{})
	roundTrip("status", root.Status[0], &Status{})
	if len(root.Collections) != 5 {
		t.Fatalf("%d collections, want 5", len(root.Collections))
	}
	records := 0
	for _, raw := range root.Collections {
		var c Collection
		roundTrip("collection", raw, &c, "objects", "manifest")
		var m struct {
			Manifest []json.RawMessage `json:"manifest"`
		}
		json.Unmarshal(raw, &m)
		for _, r := range m.Manifest {
			var rec ManifestRecord
			roundTrip("manifest record", r, &rec)
			if _, err := ParseTimestamp(rec.DateAdded); err != nil {
				t.Errorf("manifest date_added %q: %v", rec.DateAdded, err)
			}
			records++
		}
	}
	if records == 0 {
		t.Error("no manifest records in the fixture")
	}
}

// FuzzParseTimestamp checks that an accepted timestamp is UTC and survives
// FormatTimestamp (to the microsecond), and that what FormatTimestamp
// writes is always accepted.
func FuzzParseTimestamp(f *testing.F) {
	for _, s := range []string{"2016-11-02T12:34:34Z", "2016-11-02T12:34:34.12345Z", "2016-11-04T03:04:051Z", "2016-02-30T00:00:00Z", "9999-12-31T23:59:59.999999999999Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ts, err := ParseTimestamp(s)
		if err != nil {
			return
		}
		if ts.Location() != time.UTC {
			t.Fatalf("%q parsed into %v", s, ts.Location())
		}
		back, err := ParseTimestamp(FormatTimestamp(ts))
		if err != nil || !back.Equal(ts.Truncate(time.Microsecond)) {
			t.Fatalf("%q: %v formats as %q, which parses to %v, %v", s, ts, FormatTimestamp(ts), back, err)
		}
	})
}

// TestCollectionParleyProperties: the relay and signature-policy custom
// properties are x_ properties (TAXII 2.1 section 3.1), left out when
// unset, so other servers' collection resources decode and re-encode
// unchanged.
func TestCollectionParleyProperties(t *testing.T) {
	for _, tc := range []struct {
		c    Collection
		want string
	}{
		{Collection{ID: "c", Title: "t", CanRead: true}, `{"id":"c","title":"t","can_read":true,"can_write":false}`},
		{Collection{ID: "c", Title: "t", Relay: true, Signatures: "optional"}, `{"id":"c","title":"t","can_read":false,"can_write":false,"x_parley_relay":true,"x_parley_signatures":"optional"}`},
	} {
		b, err := json.Marshal(tc.c)
		if err != nil || string(b) != tc.want {
			t.Errorf("Marshal = %s, %v; want %s", b, err, tc.want)
		}
		var back Collection
		if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, tc.c) {
			t.Errorf("round trip = %+v, %v", back, err)
		}
	}
}
