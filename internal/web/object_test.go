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
