package web

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestFlatPropsCutsLongValues: a property's value is shown whole up to
// MaxShownText bytes of JSON and cut beyond, on a character boundary,
// whatever its length around the bound and whatever characters it holds.
func TestFlatPropsCutsLongValues(t *testing.T) {
	for _, fill := range []string{"a", "é", "😀"} {
		for n := MaxShownText - 8; n <= MaxShownText+8; n++ {
			// A JSON string of n bytes, quotes included (or the closest
			// that the character's size allows).
			text := strings.Repeat(fill, (n-2)/len(fill))
			raw, _ := json.Marshal(text)
			fields := map[string]json.RawMessage{"x_value": raw[:len(raw):len(raw)]}
			props, clipped := flatProps(fields)
			name := fmt.Sprintf("%q×%d (%d bytes)", fill, len(text)/len(fill), len(raw))
			if len(props) != 1 || !utf8.ValidString(props[0].Value) {
				t.Fatalf("%s: %d props, valid UTF-8 %v", name, len(props), len(props) == 1 && utf8.ValidString(props[0].Value))
			}
			switch got := props[0].Value; {
			case len(raw) <= MaxShownText && (clipped || got != text):
				t.Errorf("%s: shown %d bytes, clipped %v; want it whole", name, len(got), clipped)
			case len(raw) > MaxShownText && (!clipped || !strings.HasSuffix(got, "…") || len(got) > MaxShownText+len("…")):
				t.Errorf("%s: shown %d bytes, clipped %v; want it cut", name, len(got), clipped)
			}
		}
	}
}

// TestNestedRefProps: references below the top level are found at their
// paths, in maps and lists, only where the value is a STIX id or a list
// of them; at most MaxNestedRefProps are listed, and more says so.
func TestNestedRefProps(t *testing.T) {
	const id1, id2 = "indicator--11111111-1111-4111-8111-111111111111", "malware--22222222-2222-4222-8222-222222222222"
	for _, tc := range []struct {
		name, raw string
		want      []string
		more      bool
	}{
		{"extension", `{"extensions":{"extension-definition--c0ffee00-0000-4000-8000-000000000001":{"extension_type":"property-extension","x_a_ref":"` + id1 + `"}}}`,
			[]string{"extensions.extension-definition--c0ffee00-0000-4000-8000-000000000001.x_a_ref=" + id1}, false},
		{"list of embedded objects", `{"x_list":[{"x_b_refs":["` + id1 + `","` + id2 + `"]},{"note":"x"},{"x_c_ref":"` + id2 + `"}]}`,
			[]string{"x_list[0].x_b_refs=" + id1 + ", " + id2, "x_list[2].x_c_ref=" + id2}, false},
		{"not ids", `{"x_o":{"x_a_ref":"not an id","x_b_refs":["` + id1 + `",1],"x_c_refs":[],"x_d_ref":{"x_e_ref":"` + id1 + `"}}}`,
			[]string{"x_o.x_d_ref.x_e_ref=" + id1}, false},
		{"keys not plain", `{"x_o":{"x_\u202eb_ref":"` + id1 + `","a.b":{"x_c_ref":"` + id1 + `"},"x d":{"x_e_ref":"` + id1 + `"},"ok":{"x_f_ref":"` + id2 + `"}}}`,
			[]string{"x_o.ok.x_f_ref=" + id2}, false},
		{"top level left to nameRefs", `{"source_ref":"` + id1 + `","where_sighted_refs":["` + id2 + `"]}`, nil, false},
		{"too many", `{"x_many":[` + strings.TrimSuffix(strings.Repeat(`{"x_ref":"`+id1+`"},`, MaxNestedRefProps+1), ",") + `]}`, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var fields map[string]json.RawMessage
			if err := json.Unmarshal([]byte(tc.raw), &fields); err != nil {
				t.Fatal(err)
			}
			props, more := nestedRefProps(fields)
			if more != tc.more {
				t.Errorf("more = %v, want %v", more, tc.more)
			}
			if tc.more {
				if len(props) != MaxNestedRefProps {
					t.Errorf("%d props listed, want MaxNestedRefProps", len(props))
				}
				return
			}
			var got []string
			for _, p := range props {
				got = append(got, p.Key+"="+strings.Join(p.ids, ", "))
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("nestedRefProps = %q, want %q", got, tc.want)
			}
		})
	}
}
