package misp

import (
	"strings"
	"testing"
)

// TestLonePEWithoutType: misp-stix's documented pe and section, the pe
// without its type and no file including it: without to_ids nothing of
// them is written (windows-pebinary-ext requires pe_type, and the pe is
// nothing but that extension; misp-stix's conversion fails on it too),
// and the pe is listed as without its type, its section as part of it;
// with to_ids the indicator compares the extension's properties, as
// misp-stix's pattern does.
func TestLonePEWithoutType(t *testing.T) {
	for _, none := range []bool{true, false} {
		ev := peEvent(t, "pe & pe-sections", none)
		pe := &ev.Object[0]
		setRelation(pe, "type", "")
		objs, unsupp := convertOne(t, ev, Options{})
		ind, od := objs["indicator--"+pe.UUID], objs["observed-data--"+pe.UUID]
		if none {
			if od != nil || ind != nil {
				t.Errorf("the pe without its type written: %v", od)
			}
			var why []string
			for _, u := range unsupp {
				if u.UUID == pe.UUID {
					why = append(why, u.Reason)
				}
			}
			if len(why) != 1 || !strings.HasPrefix(why[0], "no type: ") {
				t.Errorf("the pe listed as %q, want its missing type", why)
			}
			continue
		}
		if ind == nil || strings.Contains(ind["pattern"].(string), "pe_type") {
			t.Errorf("with to_ids: indicator %v, want one without pe_type (%v)", ind, unsupp)
		}
	}
}
