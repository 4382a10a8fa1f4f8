package match

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/stix"
)

// TestObservedDataAccepted: every object that --observed-data emits for
// the events of real sensor logs (Zeek's own test baselines, Suricata 7
// EVE of suricata-verify's captures, Elastic's documents) passes the
// checks a node makes of a pushed object (STIX 2.1 validation and
// deterministic ids). A Zeek http.log or ssl.log event has no proto, an
// smtp event makes an email-message: the node refused their objects
// (network-traffic without protocols, email-message without
// is_multipart), and a fleet member stops on a refused push, leaving the
// message to the next member, which stopped on it too.
func TestObservedDataAccepted(t *testing.T) {
	set := NewIndicatorSet()
	for i, p := range []string{
		"[ipv4-addr:value ISSUBSET '0.0.0.0/0']",
		"[ipv6-addr:value ISSUBSET '::/0']",
		"[domain-name:value LIKE '%.%']",
		"[email-addr:value LIKE '%@%']",
		"[file:name LIKE '%']",
	} {
		set.Put(&Indicator{ID: "indicator--00000000-0000-4000-8000-00000000000" + string(rune('1'+i)), Pattern: p})
	}
	active, _ := set.Active(testNow)
	e, errs := Compile(active, Options{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	var v stix.Validator
	files, _ := filepath.Glob("testdata/sensors/*/*")
	logs, _ := filepath.Glob("testdata/logs/*")
	checked, sighted := 0, 0
	bad := map[string]int{}
	for _, f := range append(files, logs...) {
		switch filepath.Ext(strings.TrimSuffix(f, ".gz")) {
		case ".py", ".md", ".sh", ".rules", ".yaml", ".txt", ".pcap":
			continue
		}
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		if st, _ := fh.Stat(); st.IsDir() {
			fh.Close()
			continue
		}
		var r io.Reader = fh
		if strings.HasSuffix(f, ".gz") {
			if r, err = gzip.NewReader(fh); err != nil {
				t.Fatal(f, err)
			}
		}
		m := NewMatcher(e, Config{Identity: "identity--11111111-1111-4111-8111-111111111111", ObservedData: true, Now: func() time.Time { return testNow }})
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			m.Line(sc.Bytes())
			for _, o := range m.Flush() {
				if o["type"] == "sighting" {
					sighted++
				}
				raw, _ := json.Marshal(o)
				obj, err := stix.Parse(raw)
				if err == nil {
					err = v.Validate(obj)
				}
				if err == nil {
					err = stix.CheckDeterministicID(obj)
				}
				checked++
				if err != nil {
					k := o["type"].(string)
					if bad[k]++; bad[k] == 1 {
						t.Errorf("%s: a node refuses %s", f, raw)
						t.Errorf("  %v", err)
					}
				}
			}
		}
		fh.Close()
	}
	if sighted < 1000 {
		t.Fatalf("only %d sightings of %d objects: the indicators matched too little to show anything", sighted, checked)
	}
	for k, n := range bad {
		t.Errorf("%d %s objects refused", n, k)
	}
}
