package match

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
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

// TestObservedDataOfSTIXEvents: the observed-data of a STIX event is its
// creator's. A sighting names it, but it is given out again only when it
// is the member's own and a node takes it and its observables: a node
// refuses another's object (or one without a creator) from a member, and
// one that is not valid STIX, at every try, so that a fleet member pushing
// it stopped on the message at every redelivery, the whole fleet with it.
func TestObservedDataOfSTIXEvents(t *testing.T) {
	const me = "identity--11111111-1111-4111-8111-111111111111"
	set := NewIndicatorSet()
	set.Put(&Indicator{ID: "indicator--00000000-0000-4000-8000-000000000001", Pattern: "[ipv4-addr:value = '198.51.100.7']"})
	active, _ := set.Active(testNow)
	e, _ := Compile(active, Options{})
	ip := `{"type":"ipv4-addr","spec_version":"2.1","id":"ipv4-addr--` + "%s" + `","value":"198.51.100.7"}`
	good := "12592121-be4c-5a93-a813-5a5af16e50db"
	if id, _ := stix.DeterministicID("ipv4-addr", map[string]any{"value": "198.51.100.7"}); id != "ipv4-addr--"+good {
		t.Fatalf("the address's id is %s", id)
	}
	bundle := func(od, creator, ipID string) string {
		cb := ""
		if creator != "" {
			cb = `"created_by_ref":"` + creator + `",`
		}
		return `{"type":"bundle","id":"bundle--0d1c9a4e-8d1b-4d0e-9f0e-111111111111","objects":[` + fmt.Sprintf(ip, ipID) +
			`,{"type":"observed-data","spec_version":"2.1","id":"` + od + `",` + cb + `"created":"2026-12-05T00:00:00.000Z","modified":"2026-12-05T00:00:00.000Z","first_observed":"2026-12-05T00:00:00Z","last_observed":"2026-12-05T00:00:00Z","number_observed":1,"object_refs":["ipv4-addr--` + ipID + `"]}]}`
	}
	for _, tc := range []struct {
		name, line  string
		emitted     bool
		unshareable int64
	}{
		{"another's", bundle("observed-data--b67d30ff-02ac-498a-92f9-32f845f448c1", "identity--22222222-2222-4222-8222-222222222222", good), false, 0},
		{"no one's", bundle("observed-data--b67d30ff-02ac-498a-92f9-32f845f448c2", "", good), false, 0},
		{"own", bundle("observed-data--b67d30ff-02ac-498a-92f9-32f845f448c3", me, good), true, 0},
		{"own, an observable's id wrong", bundle("observed-data--b67d30ff-02ac-498a-92f9-32f845f448c4", me, "ff26c055-6336-5bc5-b98d-13d6226742dd"), false, 1},
	} {
		m := NewMatcher(e, Config{Identity: me, ObservedData: true, Now: func() time.Time { return testNow }})
		m.Line([]byte(tc.line))
		objs := m.Flush()
		var refs []string
		emitted := false
		for _, o := range objs {
			if o["type"] == "sighting" {
				refs, _ = o["observed_data_refs"].([]string)
			}
			if o["type"] == "observed-data" {
				emitted = true
			}
		}
		if !nodeAccepts(objs) {
			t.Errorf("%s: a node refuses what the matcher emits: %v", tc.name, objs)
		}
		if len(refs) != 1 || emitted != tc.emitted || m.Stats().Unshareable != tc.unshareable {
			t.Errorf("%s: sighting names %v, observed-data emitted %v, %d left out; want it named, emitted %v, %d left out", tc.name, refs, emitted, m.Stats().Unshareable, tc.emitted, tc.unshareable)
		}
	}
}

// TestObservedDataClaimsNoMultipart: a log does not say whether a mail
// was multipart (Zeek's smtp.log has no content type; the first mail of
// this baseline has three files, fuids, so it was), and STIX 2.1 gives
// is_multipart no default. An email-message made of such an event is left
// out of the observed-data, and counted, rather than signed as
// is_multipart false; its addresses stay, and the sighting with them.
func TestObservedDataClaimsNoMultipart(t *testing.T) {
	set := NewIndicatorSet()
	set.Put(&Indicator{ID: "indicator--00000000-0000-4000-8000-000000000001", Pattern: "[email-addr:value = 'gurpartap@patriots.in']"})
	set.Put(&Indicator{ID: "indicator--00000000-0000-4000-8000-000000000002", Pattern: "[email-message:subject = 'SMTP']"})
	active, _ := set.Active(testNow)
	e, errs := Compile(active, Options{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	m := NewMatcher(e, Config{Identity: "identity--11111111-1111-4111-8111-111111111111", ObservedData: true, Now: func() time.Time { return testNow }})
	for _, l := range strings.Split(string(readSample(t, "zeek-baseline/scripts.base.protocols.smtp.basic_smtp.log")), "\n") {
		m.Line([]byte(l))
	}
	objs := m.Flush()
	sightings, addrs := 0, 0
	for _, o := range objs {
		switch o["type"] {
		case "email-message":
			t.Errorf("an email-message states what the log did not say: %v", o)
		case "sighting":
			sightings++
		case "email-addr":
			addrs++
		}
	}
	if sightings != 2 || addrs == 0 {
		t.Errorf("%d sightings, %d addresses; want both indicators sighted and the addresses given", sightings, addrs)
	}
	if st := m.Stats(); st.Incomplete < 1 {
		t.Errorf("%d observables left out counted; want the email-message counted", st.Incomplete)
	}
	if !nodeAccepts(objs) {
		t.Errorf("a node refuses what the matcher emits: %v", objs)
	}
}
