package misp

import (
	"strings"
	"testing"
)

// TestPECompilationTime: misp-stix's documented pe and section, without
// to_ids, with the pe's compilation time in the forms MISP and its
// producers give it (a zone, another zone, none: a PE's TimeDateStamp is
// UTC; seconds since 1970) holds it as a STIX timestamp, as misp-stix
// writes it, in a version 3 ms after the pe's timestamp (the conversion that merged pe
// objects wrote MISP's text at 2 ms); one that is no time is not
// written, and listed, the rest of the pe written. With to_ids, the
// pattern compares the timestamp, or the text as before.
func TestPECompilationTime(t *testing.T) {
	all := true
	for _, tc := range []struct{ value, want string }{
		{"2019-03-16T12:31:22+00:00", "2019-03-16T12:31:22.000Z"},
		{"2019-03-16 14:31:22+02:00", "2019-03-16T12:31:22.000Z"},
		{"2019-03-16 12:31:22", "2019-03-16T12:31:22.000Z"},
		{"1552739482", "2019-03-16T12:31:22.000Z"},
		{"16/03/2019 at noon", ""},
	} {
		ev := peEvent(t, "pe & pe-sections", true)
		pe := &ev.Object[0]
		if pe.Name != "pe" {
			t.Fatalf("the first object is a %s", pe.Name)
		}
		setRelation(pe, "compilation-timestamp", tc.value)
		objs, unsupp := convertOne(t, ev, Options{})
		od := objs["observed-data--"+pe.UUID]
		f := observableOf(t, objs, "observed-data--"+pe.UUID, "file")
		if od == nil || f == nil {
			t.Errorf("%q: no observed-data of the pe (%v)", tc.value, unsupp)
			continue
		}
		ext, _ := f["extensions"].(map[string]any)["windows-pebinary-ext"].(map[string]any)
		if got, _ := ext["x_misp_compilation_timestamp"].(string); got != tc.want || ext["imphash"] == nil {
			t.Errorf("%q: x_misp_compilation_timestamp %q (imphash %v), want %q", tc.value, got, ext["imphash"], tc.want)
		}
		listed := false
		for _, u := range unsupp {
			listed = listed || strings.Contains(u.Reason, `compilation-timestamp "`+tc.value+`" not written`)
		}
		if listed != (tc.want == "") {
			t.Errorf("%q: listed as not written %v: %v", tc.value, listed, unsupp)
		}
		if od["modified"] != "2020-10-25T16:22:00.003Z" {
			t.Errorf("%q: observed-data modified %v, want 3 ms after the pe's timestamp", tc.value, od["modified"])
		}
		*pe = withToIDs(*pe, &all)
		objs, _ = convertOne(t, ev, Options{})
		want := tc.want
		if want == "" {
			want = tc.value
		}
		if i := objs["indicator--"+pe.UUID]; i == nil || !strings.Contains(i["pattern"].(string), "x_misp_compilation_timestamp = '"+want+"'") {
			t.Errorf("%q: the indicator does not compare %q: %v", tc.value, want, i)
		}
	}
}
