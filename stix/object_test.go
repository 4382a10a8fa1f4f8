package stix

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	o, err := Parse([]byte("  " + testIndicator + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if o.Type != "indicator" || o.ID != "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f" || o.SpecVersion != "2.1" {
		t.Errorf("common fields: %+v", o)
	}
	if o.CreatedByRef != "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff" || o.Revoked {
		t.Errorf("created_by_ref/revoked: %q %v", o.CreatedByRef, o.Revoked)
	}
	want := time.Date(2016, 4, 6, 20, 3, 48, 0, time.UTC)
	if !o.Created.Equal(want) || !o.Modified.Equal(want) {
		t.Errorf("created %v modified %v", o.Created, o.Modified)
	}
	if o.Version() != "2016-04-06T20:03:48.000Z" {
		t.Errorf("Version() = %q", o.Version())
	}
	if string(o.Raw) != testIndicator {
		t.Error("Raw is not the object as given")
	}
	if n, ok := o.Props["confidence"].(interface{ String() string }); !ok || n.String() != "85" {
		t.Errorf("confidence decoded as %T %v", o.Props["confidence"], o.Props["confidence"])
	}
}

func TestParseCommonFieldErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"type": 5, "id": "x--1"}`, `property "type" must be a string`},
		{`{"id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}`, `property "type" is required`},
		{`{"type": "indicator"}`, `property "id" is required`},
		{`{"type": "indicator", "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "created": "yesterday"}`, `property "created" must be an RFC 3339 UTC timestamp`},
		{`{"type": "indicator", "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "revoked": "no"}`, `property "revoked" must be a boolean`},
		{`{"type": "indicator", "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "created_by_ref": 7}`, `property "created_by_ref" must be a string`},
		{`{"type": "indicator", "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "extensions": []}`, `property "extensions" must be a JSON object`},
		{`{"type": "indicator", "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "extensions": "x"}`, `property "extensions" must be a JSON object`},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.in))
		var ve *ValidationError
		if !errors.As(err, &ve) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%s) = %v, want a ValidationError containing %q", tt.in, err, tt.want)
		}
	}
	for _, in := range []string{`[1]`, `"x"`, `{"a":1,"a":1}`, `{`} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("Parse(%s) succeeded", in)
		}
	}
}

func TestParseObjects(t *testing.T) {
	obj1 := `{"type":"identity","id":"identity--f431f809-377b-45e0-aa1c-6a4751cae5ff","spec_version":"2.1","created":"2016-04-06T20:03:00.000Z","modified":"2016-04-06T20:03:00.000Z","name":"ACME"}`
	obj2 := testIndicator
	tests := []struct {
		name string
		in   string
		n    int
	}{
		{"bundle", `{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[` + obj1 + `,` + obj2 + `]}`, 2},
		{"envelope", `{"more":false,"objects":[` + obj1 + `, ` + obj2 + `]}`, 2},
		{"empty envelope", `{"more":false}`, 0},
		{"empty bundle", `{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d"}`, 0},
		{"array", `[` + obj1 + `,` + obj2 + `]`, 2},
		{"one object", obj2, 1},
	}
	for _, tt := range tests {
		objs, err := ParseObjects([]byte(tt.in))
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if len(objs) != tt.n {
			t.Errorf("%s: %d objects, want %d", tt.name, len(objs), tt.n)
			continue
		}
		if tt.n == 2 && (string(objs[0].Raw) != obj1 || string(objs[1].Raw) != obj2) {
			t.Errorf("%s: Raw spans are wrong: %s", tt.name, objs[0].Raw)
		}
	}
	for _, in := range []string{
		`{"objects": 5}`, `{"objects": [1]}`, `[{"type":"x"}]`, `5`, `{"objects": [], "objects": []}`, `[] []`,
	} {
		if _, err := ParseObjects([]byte(in)); err == nil {
			t.Errorf("ParseObjects(%s) succeeded", in)
		}
	}
}

// TestObjectSpans checks that ObjectSpans accepts and refuses what
// ParseObjects does, with the same errors, and returns the same spans.
func TestObjectSpans(t *testing.T) {
	obj1 := `{"type":"identity","id":"identity--f431f809-377b-45e0-aa1c-6a4751cae5ff","spec_version":"2.1","created":"2016-04-06T20:03:00.000Z","modified":"2016-04-06T20:03:00.000Z","name":"ACME"}`
	for _, in := range []string{
		`{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[` + obj1 + `,` + testIndicator + `]}`,
		`{"more":false,"objects":[` + obj1 + `, ` + testIndicator + `]}`,
		`{"more":false}`, `[` + obj1 + `]`, testIndicator, `[]`, `{"objects":[]}`,
		`{"objects": 5}`, `{"objects": [1]}`, `[{"type":"x"}]`, `5`, `{"objects": [], "objects": []}`, `[] []`,
		`[` + obj1 + `,{"type":"identity"}]`,
		// One object with an "objects" array of its own (not a list).
		`{"type":"observed-data","id":"observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf","spec_version":"2.1","created":"2016-04-06T19:58:16.000Z","modified":"2016-04-06T19:58:16.000Z","objects":[1,{"a":2}]}`,
		`{"type":"observed-data","id":"x","objects":[1]}`,
	} {
		objs, perr := ParseObjects([]byte(in))
		spans, serr := ObjectSpans([]byte(in))
		if fmt.Sprint(perr) != fmt.Sprint(serr) {
			t.Errorf("%s: ObjectSpans error %v, ParseObjects %v", in, serr, perr)
			continue
		}
		if len(objs) != len(spans) {
			t.Errorf("%s: %d spans, %d objects", in, len(spans), len(objs))
			continue
		}
		for i := range objs {
			if string(objs[i].Raw) != string(spans[i]) {
				t.Errorf("%s: span %d is %s, want %s", in, i, spans[i], objs[i].Raw)
			}
		}
	}
}

func TestTimestamps(t *testing.T) {
	good := map[string]time.Time{
		"2016-05-12T08:17:27Z":              time.Date(2016, 5, 12, 8, 17, 27, 0, time.UTC),
		"2016-05-12T08:17:27.000Z":          time.Date(2016, 5, 12, 8, 17, 27, 0, time.UTC),
		"2016-05-12T08:17:27.1Z":            time.Date(2016, 5, 12, 8, 17, 27, 100e6, time.UTC),
		"2016-05-12T08:17:27.123456789123Z": time.Date(2016, 5, 12, 8, 17, 27, 123456789, time.UTC),
		"2020-02-29T23:59:59.999Z":          time.Date(2020, 2, 29, 23, 59, 59, 999e6, time.UTC),
	}
	for in, want := range good {
		got, err := ParseTimestamp(in)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseTimestamp(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{
		"", "2016-05-12", "2016-05-12T08:17:27", "2016-05-12T08:17:27+00:00", "2016-05-12t08:17:27z",
		"2016-05-12 08:17:27Z", "2016-05-12T08:17Z", "2016-13-12T08:17:27Z", "2019-02-29T00:00:00Z",
		"2016-05-12T08:17:27.Z", "2016-05-12T24:00:00Z", "16-05-12T08:17:27Z", "2016-05-12T08:17:27.12aZ", "2016-05-12T08:17:60Z", "2016-05-12T08:17:61Z",
	} {
		if _, err := ParseTimestamp(in); !errors.Is(err, ErrTimestamp) {
			t.Errorf("ParseTimestamp(%q) error = %v, want ErrTimestamp", in, err)
		}
	}
	formats := map[time.Time]string{
		time.Date(2016, 5, 12, 8, 17, 27, 0, time.UTC):                      "2016-05-12T08:17:27.000Z",
		time.Date(2016, 5, 12, 8, 17, 27, 120e6, time.UTC):                  "2016-05-12T08:17:27.120Z",
		time.Date(2016, 5, 12, 8, 17, 27, 123456000, time.UTC):              "2016-05-12T08:17:27.123456Z",
		time.Date(2016, 5, 12, 8, 17, 27, 1, time.UTC):                      "2016-05-12T08:17:27.000000001Z",
		time.Date(2016, 5, 12, 10, 17, 27, 0, time.FixedZone("CEST", 7200)): "2016-05-12T08:17:27.000Z",
	}
	for in, want := range formats {
		if got := FormatTimestamp(in); got != want {
			t.Errorf("FormatTimestamp(%v) = %q, want %q", in, got, want)
		}
		back, err := ParseTimestamp(want)
		if err != nil || !back.Equal(in) {
			t.Errorf("round trip of %q = %v, %v", want, back, err)
		}
	}
}

func TestIdentifiers(t *testing.T) {
	id := NewIdentifier("indicator")
	typ, err := SplitIdentifier(id)
	if err != nil || typ != "indicator" || id[len("indicator--")+14] != '4' {
		t.Errorf("NewIdentifier = %q (%v)", id, err)
	}
	if NewIdentifier("indicator") == id {
		t.Error("NewIdentifier repeats")
	}
	for _, bad := range []string{
		"indicator", "indicator--", "indicator-8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
		"Indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "indicator--8e2e2d2b-17d4-0cbf-938f-98ee46b3cd3f",
		"indicator--8e2e2d2b-17d4-4cbf-c38f-98ee46b3cd3f", "indicator--8e2e2d2b17d44cbf938f98ee46b3cd3f",
		"in--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "x-a---8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
	} {
		if _, err := SplitIdentifier(bad); !errors.Is(err, ErrIdentifier) {
			t.Errorf("SplitIdentifier(%q) = %v, want ErrIdentifier", bad, err)
		}
	}
}

// TestDeterministicID checks STIX 2.1 section 2.9's UUIDv5 identifiers
// against published values.
func TestDeterministicID(t *testing.T) {
	tests := []struct {
		typ   string
		props map[string]any
		want  string
	}{
		// The example of STIX 2.1 section 2.9 (identifier type).
		{"ipv4-addr", map[string]any{"value": "198.51.100.3"}, "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4"},
		// python-stix2's id for example.com, which other tools reproduce.
		{"domain-name", map[string]any{"value": "example.com", "resolves_to_refs": []any{"ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4"}}, "domain-name--bedb4899-d24b-5401-bc86-8f6b4cc18ec7"},
	}
	for _, tt := range tests {
		a, err := DeterministicID(tt.typ, tt.props)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := DeterministicID(tt.typ, tt.props)
		if a != tt.want || b != tt.want {
			t.Errorf("DeterministicID(%s) = %q then %q, want %q", tt.typ, a, b, tt.want)
		}
	}
	// Only the most preferred hash contributes.
	a, _ := DeterministicID("file", map[string]any{"hashes": map[string]any{"MD5": "aa", "SHA-256": "bb"}})
	b, _ := DeterministicID("file", map[string]any{"hashes": map[string]any{"MD5": "aa"}})
	if a != b {
		t.Error("a less preferred hash changed the id")
	}
	// process has no ID contributing properties: a random UUIDv4.
	p, _ := DeterministicID("process", map[string]any{"pid": 1})
	if p[len("process--")+14] != '4' {
		t.Errorf("process id %q is not a UUIDv4", p)
	}
}
