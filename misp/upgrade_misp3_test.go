package misp

import (
	"bufio"
	"encoding/json"
	"os"
	"testing"

	"github.com/parley-exchange/parley/stix"
)

// TestMisp3Reimport: the events of testdata/golden/upgrade_misp3_events.json
// (netflows with TCP flags, an ICMP type, ports out of range, times
// backwards; pe compilation times of every form, alone and in their
// files; references a pe and its file, or one object twice, make one
// relationship of, equally dated; a note citing an attribute two objects
// give; a grouping), converted as a node holds them from an import
// before 6 December 2026's mapping changes
// (testdata/golden/before_misp3.jsonl), convert again to nothing under
// one of those ids and versions with other content: the node would
// refuse it, and the import fail.
func TestMisp3Reimport(t *testing.T) {
	f, err := os.Open("testdata/golden/before_misp3.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	held := map[string]string{} // event, id and version: canonical bytes
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		k, canon := upgradeKey(t, sc.Bytes())
		held[k] = canon
	}
	if len(held) == 0 {
		t.Fatal("no objects in the earlier conversion")
	}
	b, err := os.ReadFile("testdata/golden/upgrade_misp3_events.json")
	if err != nil {
		t.Fatal(err)
	}
	evs, err := ParseEvents(b)
	if err != nil {
		t.Fatal(err)
	}
	same, versions := 0, 0
	for _, ev := range evs {
		for _, raw := range NewConverter(Options{}).Convert(ev).Objects {
			o, err := stix.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			if stix.IsObservable(o.Type) {
				continue // no version: other content is another one
			}
			k, canon := upgradeKey(t, raw)
			old, ok := held[k]
			switch {
			case !ok:
				versions++
			case old == canon:
				same++
			default:
				t.Errorf("event %s: other content under %s:\nbefore %s\nnow    %s", ev.UUID, k, old, canon)
			}
		}
	}
	if same == 0 || versions == 0 {
		t.Errorf("%d objects the same, %d new versions: the events test nothing", same, versions)
	}
}

// upgradeKey returns the event, id and version of raw, and its bytes
// with sorted keys.
func upgradeKey(t *testing.T, raw []byte) (string, string) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	v, _ := m["modified"].(string)
	if v == "" {
		v, _ = m["created"].(string)
	}
	ev, _ := m["x_misp_event_uuid"].(string)
	canon, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return ev + " " + m["id"].(string) + " " + v, string(canon)
}
