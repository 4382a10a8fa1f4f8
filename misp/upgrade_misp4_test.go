package misp

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/parley-exchange/parley/stix"
)

// TestMisp4Reimport: MISP's test events of testdata, each file's, as a
// node holds them from an import by commit d7587d5
// (testdata/golden/before_misp4.jsonl: the file and each object its
// events made, one converter per event), before a report's or grouping's
// labels and markings were sorted (now 4 ms after its event, not 3 ms)
// and an observable several attributes and objects give was chosen by
// its length, convert again, in MISP's order and reversed, to nothing
// under one of those ids and versions with other content: the node would
// refuse it, and the import fail. (Observables have no version: another
// form of one is another copy, never a conflict.)
func TestMisp4Reimport(t *testing.T) {
	f, err := os.Open("testdata/golden/before_misp4.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	held := map[string]string{} // file, event, id and version: canonical bytes
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line struct {
			File   string          `json:"file"`
			Object json.RawMessage `json:"object"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatal(err)
		}
		k, canon := upgradeKey(t, line.Object)
		held[line.File+" "+k] = canon
	}
	if len(held) < 200 {
		t.Fatalf("%d objects in the earlier conversion", len(held))
	}
	files, err := filepath.Glob("testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	same, versions := 0, 0
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		evs, err := ParseEvents(b)
		if err != nil {
			continue // a mapping document, not events
		}
		for _, ev := range evs {
			for _, e := range []*Event{ev, reordered(ev)} {
				for _, raw := range NewConverter(Options{}).Convert(e).Objects {
					o, err := stix.Parse(raw)
					if err != nil {
						t.Fatal(err)
					}
					if stix.IsObservable(o.Type) {
						continue
					}
					k, canon := upgradeKey(t, raw)
					k = filepath.Base(name) + " " + k
					switch old, ok := held[k]; {
					case !ok:
						versions++
					case old == canon:
						same++
					default:
						t.Errorf("%s: other content under %s:\nbefore %s\nnow    %s", name, k, old, canon)
					}
				}
			}
		}
	}
	if same == 0 || versions == 0 {
		t.Errorf("%d objects the same, %d new versions: the events test nothing", same, versions)
	}
}
