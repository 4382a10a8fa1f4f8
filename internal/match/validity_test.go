package match

import (
	"context"
	"math/rand"
	"strings"
	"testing"
	"time"
)

// sightingsFor matches input against inds and returns the sightings by
// indicator id.
func sightingsFor(t *testing.T, inds []*Indicator, f Format, input string) map[string]map[string]any {
	t.Helper()
	e, errs := Compile(inds, Options{})
	if len(errs) > 0 {
		t.Fatalf("compile: %v", errs)
	}
	m := NewMatcher(e, Config{Format: f, Now: func() time.Time { return testNow }, Rand: rand.New(rand.NewSource(1))})
	if err := m.ReadLines(context.Background(), strings.NewReader(input)); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]any{}
	for _, o := range m.Flush() {
		out[o["sighting_of_ref"].(string)] = o
	}
	return out
}

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestValidityByEventTime: an indicator counts for an event when the
// event's time is in [valid_from, valid_until), whatever the clock says
// (the test clock is 2024-06-01, after the indicator expired).
func TestValidityByEventTime(t *testing.T) {
	ind := &Indicator{ID: "indicator--v", Pattern: "[domain-name:value = 'evil.example']", ValidFrom: day("2020-01-01"), ValidUntil: day("2021-01-01")}
	log := strings.Join([]string{
		`{"ts":1546300800.0,"query":"evil.example"}`,  // 2019-01-01: before
		`{"ts":1577836800.0,"query":"evil.example"}`,  // 2020-01-01T00:00:00: the first instant, inside
		`{"ts":1591367999.25,"query":"evil.example"}`, // 2020-06-05: inside
		`{"ts":1609459200.0,"query":"evil.example"}`,  // 2021-01-01T00:00:00: valid_until is excluded
		`{"ts":1640995200.0,"query":"evil.example"}`,  // 2022: after
	}, "\n")
	s := sightingsFor(t, []*Indicator{ind}, FormatZeek, log)["indicator--v"]
	if s == nil || s["count"] != int64(2) || s["first_seen"] != "2020-01-01T00:00:00.000Z" || s["last_seen"] != "2020-06-05T14:39:59.250Z" {
		t.Errorf("sighting %v; want count 2 from 2020-01-01 to 2020-06-05", s)
	}
	// Through a Stream (what the CLI runs) an expired indicator is
	// compiled, and a revoked one is not.
	set := NewIndicatorSet()
	set.Put(ind)
	set.Put(&Indicator{ID: "indicator--r", Pattern: "[domain-name:value = 'evil.example']", Revoked: true})
	if u := set.Usable(); len(u) != 1 || u[0].ID != "indicator--v" {
		t.Errorf("usable = %v", u)
	}
}

// TestZeekJSONTimestamps: Zeek's JSON writer's three time formats
// (LogAscii::json_timestamps) give the same first_seen, from the record.
func TestZeekJSONTimestamps(t *testing.T) {
	ind := &Indicator{ID: "indicator--t", Pattern: "[domain-name:value = 'evil.example']"}
	for name, ts := range map[string]string{
		"JSON::TS_EPOCH":   `1591367999.305988`,
		"JSON::TS_MILLIS":  `1591367999305`,
		"JSON::TS_ISO8601": `"2020-06-05T14:39:59.305988Z"`,
	} {
		want := "2020-06-05T14:39:59.305Z"
		if name != "JSON::TS_MILLIS" {
			want = "2020-06-05T14:39:59.305988Z"
		}
		s := sightingsFor(t, []*Indicator{ind}, FormatAuto, `{"ts":`+ts+`,"uid":"C1","query":"evil.example"}`)["indicator--t"]
		if s == nil || s["first_seen"] != want || s["last_seen"] != want {
			t.Errorf("%s: sighting %v, want first_seen %s", name, s, want)
		}
	}
}

// TestNotDomainNames: IP literals and wildcards where names go (SNI, DNS
// queries, HTTP hosts) are not domain-name observables.
func TestNotDomainNames(t *testing.T) {
	d := NewDecoder(FormatAuto)
	for _, line := range []string{
		`{"timestamp":"2024-01-01T00:00:00Z","event_type":"tls","tls":{"sni":"192.0.2.1"}}`,
		`{"timestamp":"2024-01-01T00:00:00Z","event_type":"tls","tls":{"sni":"*.example.com"}}`,
		`{"timestamp":"2024-01-01T00:00:00Z","event_type":"dns","dns":{"type":"query","rrname":"*"}}`,
		`{"ts":1.0,"query":"10.0.0.1."}`,
		`{"ts":1.0,"query":"1.2.3"}`,
		`{"ts":1.0,"query":"0x7f.1"}`,
		`{"ts":1.0,"server_name":"[2001:db8::1]"}`,
	} {
		evs, err := d.Decode([]byte(line))
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		for _, f := range evs[0].Fields {
			if f.Attr == AttrDomain {
				t.Errorf("%s: domain-name %q", line, f.Value)
			}
		}
	}
	// Names that look odd but are names stay names.
	for line, want := range map[string]string{
		`{"ts":1.0,"query":"1.2.3.4.in-addr.arpa"}`: "1.2.3.4.in-addr.arpa",
		`{"ts":1.0,"query":"EVIL.Example."}`:        "evil.example",
		`{"ts":1.0,"query":"123.example"}`:          "123.example",
	} {
		evs, _ := d.Decode([]byte(line))
		got := ""
		for _, f := range evs[0].Fields {
			if f.Attr == AttrDomain {
				got = string(f.Value)
			}
		}
		if got != want {
			t.Errorf("%s: domain %q, want %q", line, got, want)
		}
	}
}
