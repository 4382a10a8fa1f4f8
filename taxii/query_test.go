package taxii

import (
	"errors"
	"math"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseQuery(t *testing.T) {
	ts := func(s string) time.Time {
		tm, err := ParseTimestamp(s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	last := VersionMatch{Last: true}
	tests := []struct {
		raw  string
		want Query
		err  string // substring of the error; "" for success
	}{
		{raw: "", want: Query{Versions: last}},
		{raw: "limit=10", want: Query{Limit: 10, Versions: last}},
		{raw: "limit=99999999999999999999999", want: Query{Limit: math.MaxInt, Versions: last}},
		{raw: "limit=0", err: "limit"},
		{raw: "limit=-1", err: "limit"},
		{raw: "limit=1.5", err: "limit"},
		{raw: "limit=", err: "limit: empty"},
		{raw: "limit=1&limit=2", err: "given 2 times"},
		{raw: "added_after=2016-02-01T00:00:01.000Z", want: Query{AddedAfter: ts("2016-02-01T00:00:01Z"), Versions: last}},
		{raw: "added_after=2016-02-01", err: "added_after"},
		{raw: "added_after=2016-02-01T00:00:01%2B01:00", err: "added_after"},
		{raw: "next=abc123", want: Query{Next: "abc123", Versions: last}},
		{raw: "next=" + strings.Repeat("a", MaxNextLength+1), err: "next"},
		{raw: "next=%01", err: "next"},
		{raw: "match[id]=indicator--a,malware--b&match[id]=indicator--a", want: Query{IDs: []string{"indicator--a", "malware--b"}, Versions: last}},
		{raw: "match[id]=indicator", err: "match[id]"},
		{raw: "match[id]=indicator--1,,malware--2", err: "empty value"},
		{raw: "match[type]=indicator,x-custom-thing", want: Query{Types: []string{"indicator", "x-custom-thing"}, Versions: last}},
		{raw: "match[type]=Indicator", err: "match[type]"},
		{raw: "match[type]=ip", err: "match[type]"},
		{raw: "match[spec_version]=2.0,2.1", want: Query{SpecVersions: []string{"2.0", "2.1"}, Versions: last}},
		{raw: "match[spec_version]=2", err: "match[spec_version]"},
		{raw: "match[version]=all", want: Query{Versions: VersionMatch{All: true}}},
		{raw: "match[version]=first,last", want: Query{Versions: VersionMatch{First: true, Last: true}}},
		{raw: "match[version]=2016-01-01T01:01:01.000Z,first,2016-01-01T01:01:01Z", want: Query{Versions: VersionMatch{First: true, At: []time.Time{ts("2016-01-01T01:01:01Z")}}}},
		{raw: "match[version]=latest", err: "match[version]"},
		{raw: "match[version]=", err: "empty value"},
		{raw: "match[color]=red&other=1", want: Query{Versions: last}},
	}
	for _, tt := range tests {
		v, err := url.ParseQuery(tt.raw)
		if err != nil {
			t.Fatalf("%s: %v", tt.raw, err)
		}
		got, err := ParseQuery(v)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, ErrBadRequest) {
				t.Errorf("ParseQuery(%s) error = %v, want one containing %q of kind ErrBadRequest", tt.raw, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseQuery(%s): %v", tt.raw, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseQuery(%s) = %+v, want %+v", tt.raw, got, tt.want)
		}
		back, err := ParseQuery(got.Values())
		if err != nil || !reflect.DeepEqual(normalQuery(back), normalQuery(got)) {
			t.Errorf("ParseQuery(%s).Values() = %s parses back to %+v, %v", tt.raw, got.Values().Encode(), back, err)
		}
	}
}

// normalQuery cuts times to the microseconds that Values keeps and drops
// the version instants that become equal.
func normalQuery(q Query) Query {
	q.AddedAfter = q.AddedAfter.Truncate(time.Microsecond)
	var at []time.Time
	for _, t := range q.Versions.At {
		t = t.Truncate(time.Microsecond)
		if !slices.ContainsFunc(at, t.Equal) {
			at = append(at, t)
		}
	}
	q.Versions.At = at
	return q
}

// FuzzParseQuery checks that ParseQuery never panics, fails only with
// ErrBadRequest, and that an accepted query survives Values and
// ParseQuery unchanged.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{
		"", "limit=10&next=s42", "added_after=2016-02-01T00:00:01.123456789Z",
		"match[id]=indicator--a,malware--b&match[type]=indicator",
		"match[version]=first,last,all,2016-01-01T01:01:01Z&match[spec_version]=2.1",
		"limit=99999999999999999999", "match[id]=a,,b", "next=%00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := ParseQuery(v)
		if err != nil {
			if !errors.Is(err, ErrBadRequest) {
				t.Fatalf("error of the wrong kind: %v", err)
			}
			return
		}
		if q.Limit < 0 || len(q.IDs) > MaxFilterValues || len(q.Next) > MaxNextLength {
			t.Fatalf("accepted out-of-range query %+v", q)
		}
		back, err := ParseQuery(q.Values())
		if err != nil {
			t.Fatalf("Values() %s does not parse: %v", q.Values().Encode(), err)
		}
		if !reflect.DeepEqual(normalQuery(back), normalQuery(q)) {
			t.Fatalf("round trip: %+v became %+v", q, back)
		}
	})
}

// FuzzParseEnvelope checks that the add-objects body parser never panics,
// returns only JSON objects within the limits, and fails only with a
// request error.
func FuzzParseEnvelope(f *testing.F) {
	for _, s := range []string{
		envelope(indicator(1, 1)), `{"objects":[]}`, `{"objects":[1]}`, `{"objects":{}}`,
		`[[[[[[[[]]]]]]]]`, `{"objects":[{"a":"\"[[[["}]}`, `{"objects":[{}]} x`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		objs, err := parseEnvelope(body, 8, 5)
		if err != nil {
			if !errors.Is(err, ErrBadRequest) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error of the wrong kind: %v", err)
			}
			return
		}
		if len(objs) == 0 || len(objs) > 5 {
			t.Fatalf("%d objects accepted", len(objs))
		}
		for _, o := range objs {
			if o[0] != '{' || checkDepth(o, 6) != nil {
				t.Fatalf("accepted %s", o)
			}
		}
	})
}
