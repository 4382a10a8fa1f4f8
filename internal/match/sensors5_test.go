package match

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"
)

// TestSuricata7RealEVECounts: EVE that Suricata 7.0.10 wrote over
// suricata-verify's captures (testdata/sensors/eve-suricata7: DNS v2
// queries and answers with authorities, alerts with their DNS, TLS and
// HTTP metadata, TLS with the subjectaltname custom field, QUIC, SMTP and
// its e-mail, DHCP, and the file names and hashes of fileinfo, SMB, NFS,
// FTP data and TFTP events). Every value the formats' documentation says
// an event carries is an indicator; how many events carry each and the
// first and last of their times were worked out by
// testdata/sensors/blackbox/round4/check.py from the documentation, not
// from Parley. Each indicator must be sighted exactly so.
func TestSuricata7RealEVECounts(t *testing.T) {
	for _, name := range []string{"eve-dns-tls-smtp", "eve-files"} {
		t.Run(name, func(t *testing.T) {
			input := readSample(t, "eve-suricata7/"+name+".ndjson.gz")
			type want struct {
				count       int64
				first, last string
			}
			wants := map[string]want{}
			var inds []*Indicator
			for i, line := range strings.Split(strings.TrimSuffix(string(readSample(t, "eve-suricata7/"+name+".expect.jsonl.gz")), "\n"), "\n") {
				// [pattern, count, first_seen, last_seen]
				var f [4]any
				if err := json.Unmarshal([]byte(line), &f); err != nil {
					t.Fatalf("expect line %d: %v", i+1, err)
				}
				id := fmt.Sprintf("indicator--%d", i)
				wants[id] = want{int64(f[1].(float64)), f[2].(string), f[3].(string)}
				inds = append(inds, &Indicator{ID: id, Pattern: f[0].(string), PatternType: "stix"})
			}
			e, errs := Compile(inds, Options{})
			if len(errs) > 0 {
				t.Fatalf("compile: %v", errs)
			}
			m := NewMatcher(e, Config{Format: FormatEVE, Now: func() time.Time { return testNow }, Rand: rand.New(rand.NewSource(1))})
			if err := m.ReadLines(context.Background(), bytes.NewReader(input)); err != nil {
				t.Fatal(err)
			}
			events := int64(bytes.Count(input, []byte("\n")))
			if st := m.Stats(); st.Events != events || st.Malformed != 0 {
				t.Errorf("stats %+v, want %d events, none malformed", st, events)
			}
			pattern := map[string]string{}
			for _, ind := range inds {
				pattern[ind.ID] = ind.Pattern
			}
			seen := map[string]bool{}
			for _, o := range m.Flush() {
				if o["type"] != "sighting" {
					continue
				}
				id := o["sighting_of_ref"].(string)
				seen[id] = true
				w := wants[id]
				got := want{o["count"].(int64), o["first_seen"].(string), o["last_seen"].(string)}
				if got.count != w.count || !sameInstant(t, got.first, w.first) || !sameInstant(t, got.last, w.last) {
					t.Errorf("%s: sighted %d times, %s to %s; want %d, %s to %s", pattern[id], got.count, got.first, got.last, w.count, w.first, w.last)
				}
			}
			for id, w := range wants {
				if !seen[id] {
					t.Errorf("%s: not sighted; want %d times, %s to %s", pattern[id], w.count, w.first, w.last)
				}
			}
		})
	}
}

func sameInstant(t *testing.T, a, b string) bool {
	t.Helper()
	ta, err := time.Parse(time.RFC3339Nano, a)
	if err != nil {
		t.Fatal(err)
	}
	tb, err := time.Parse(time.RFC3339Nano, b)
	if err != nil {
		t.Fatal(err)
	}
	return ta.Equal(tb)
}

// TestECSZeekKeepsWhatZeekGives: Elastic's zeek pipelines keep ftp.log's
// arg (zeek.ftp.arg), dhcp.log's mac (zeek.dhcp.address.mac) and
// radius.log's mac (zeek.radius.mac) below zeek.* with no ECS field; the
// Zeek record gives a url and mac-addr from them, so its ECS document must
// give the same. Each pair is one set of real records in both forms
// (testdata/sensors/SOURCES.md): the WRCCDC ftp.log and Zeek's two dhcp
// baselines and their documents in ecs-zeek, and Elastic's radius test
// log and the documents its pipeline test expects.
func TestECSZeekKeepsWhatZeekGives(t *testing.T) {
	for _, c := range []struct {
		zeek []string
		ecs  string
		want map[string]int64
	}{
		{
			[]string{"zeek-wrccdc/ftp.json.gz", "zeek-baseline/scripts.base.protocols.dhcp.dhcp-all-msg-types_dhcp.log", "zeek-baseline/scripts.base.protocols.dhcp.dhcp-discover-msg-types_dhcp.log"},
			"ecs-zeek/zeek-ecs.ndjson.gz",
			map[string]int64{
				// the one STOR, and the RETR of the traversal attempts
				// (dot segments removed, as every URL's)
				"[url:value = 'ftp://10.47.27.80/nessus_test']": 1,
				"[url:value = 'ftp://10.47.21.80/boot.ini']":    11,
				"[mac-addr:value = '90:b1:1c:99:49:29']":        3,
				"[mac-addr:value = '00:0b:82:01:fc:42']":        1,
			},
		},
		{
			[]string{"zeek-integrations/test-radius.log"},
			"ecs-integrations/zeek-socks-radius-expected.ndjson",
			map[string]int64{
				"[mac-addr:value = '00:14:22:e9:54:5e']": 2,
				"[mac-addr:value = 'aa:bb:cc:dd:ee:ff']": 1,
			},
		},
	} {
		var zeek strings.Builder
		for _, name := range c.zeek {
			zeek.Write(readSample(t, name))
		}
		matchCounts(t, "zeek", c.want, FormatZeek, zeek.String())
		matchCounts(t, c.ecs, c.want, FormatECS, string(readSample(t, c.ecs)))
	}
}

// TestCompileWarnsNoHostName: a domain-name equality with a name that no
// decoder gives as a domain-name (hostName) is compiled but reported
// (ErrNoHostName), as a CIDR block compared by "=" is: nothing can match
// it. bortzmeyer.42 and the tunnel name are real DNS queries of
// suricata-verify's captures (testdata/sensors/eve-suricata7); Suricata
// logs them, Parley reads neither as a domain-name.
func TestCompileWarnsNoHostName(t *testing.T) {
	for lit, warn := range map[string]bool{
		"bortzmeyer.42":             true,
		"hvmakga+ba.srv.tunnel.com": true,
		"127.0.0.1":                 true,
		"*.example.com":             true,
		"Suricon.NET.":              false,
		"evil_name.example":         false,
		"xn--bcher-kva.example":     false,
	} {
		_, errs := Compile([]*Indicator{{ID: "indicator--1", Pattern: "[domain-name:value = '" + lit + "']", PatternType: "stix"}}, Options{})
		got := len(errs) == 1 && errors.Is(errs[0], ErrNoHostName)
		if got != warn || len(errs) > 1 || !warn && len(errs) > 0 {
			t.Errorf("%s: errors %v, want a warning: %v", lit, errs, warn)
		}
	}
	input := string(readSample(t, "eve-suricata7/eve-dns-tls-smtp.ndjson.gz"))
	got, _ := runPatterns(t, []string{"[domain-name:value = 'suricon.net']"}, FormatEVE, input)
	if got["[domain-name:value = 'suricon.net']"] == 0 {
		t.Error("suricon.net not sighted")
	}
}
