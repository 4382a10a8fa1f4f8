package match

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

// suricataRuleLines returns the lines of an export's parley.rules.
func suricataRuleLines(files []SuricataFile) []string {
	for _, f := range files {
		if f.Name == "parley.rules" {
			return strings.Split(strings.TrimSuffix(string(f.Data), "\n"), "\n")
		}
	}
	return nil
}

// suricataMsg parses a rule with the grammar checker and returns its msg
// as Suricata reads it.
func suricataMsg(t *testing.T, line string) string {
	t.Helper()
	r, err := parseSuricataRule(line)
	if err == nil {
		err = r.check()
	}
	if err != nil {
		t.Fatalf("%v\n%s", err, line)
	}
	for _, o := range r.options {
		if o.key == "msg" {
			msg, err := suricataUnquote(o.value, false)
			if err != nil {
				t.Fatal(err)
			}
			return msg
		}
	}
	t.Fatalf("no msg: %s", line)
	return ""
}

// TestSuricataHostileIDs: an indicator's id comes from the bundle as any
// string (parley export --indicators reads third-party files), so it is
// escaped in the msg of a URL rule: each id yields exactly one rule that
// parses whole, and its msg reads back the id, control characters and bidi
// controls as '?'.
func TestSuricataHostileIDs(t *testing.T) {
	for _, c := range []struct{ id, want string }{
		{`indicator--x"; sid:1; rev:1;) alert ip any any -> any any (msg:"x`, ""},
		{`indicator--a;b`, ""},
		{`indicator--a\`, ""},
		{`indicator--a\"`, ""},
		{`indicator--a\;b\\`, ""},
		{"indicator--a\nalert ip any any -> any any (msg:\"x\"; sid:1;)", "indicator--a?alert ip any any -> any any (msg:\"x\"; sid:1;)"},
		{"indicator--a\r\x00\x7f\u2028b", "indicator--a????b"},
		{"indicator--\xff\xfe", "indicator--??"},
		// bidi controls reorder what a reader of the rules file sees
		{"indicator--a\u202eb\u2066c\u2069\u200fd", "indicator--a?b?c??d"},
		{`indicator--a) (msg:"b`, ""},
		{`indicator--a:b|c`, ""},
	} {
		want := c.want
		if want == "" {
			want = c.id
		}
		t.Run(fmt.Sprintf("%q", c.id), func(t *testing.T) { checkHostileID(t, c.id, want) })
	}
}

// checkHostileID exports a URL, a domain and a range of an indicator
// whose id is id, and wants eight rules that parse, the URL's msg reading
// want.
func checkHostileID(t *testing.T, id, want string) {
	ind := &Indicator{ID: id, Name: id}
	vals := []ExportValue{
		{Attr: AttrURL, Value: "http://evil.example/x", Raw: "http://evil.example/x", Ind: ind},
		{Attr: AttrDomain, Value: "evil.example", Raw: "evil.example", Ind: ind},
		{Attr: AttrIPv6, Value: "2001:db8::/32", Raw: "2001:db8::/32", Range: true, Ind: ind},
	}
	files, bad := SuricataDatasets(vals, 1)
	if len(bad) != 0 {
		t.Errorf("unrepresentable %v", bad)
	}
	checkSuricataExport(t, files)
	lines := suricataRuleLines(files)
	var urls []string
	for _, l := range lines {
		if msg := suricataMsg(t, l); strings.HasPrefix(msg, "Parley: URL of ") {
			urls = append(urls, strings.TrimPrefix(msg, "Parley: URL of "))
		}
	}
	// a port-80 URL has three rules: a request in origin-form, one in
	// absolute form without the port, one with ":80"
	if len(lines) != 8 || len(urls) != 3 || urls[0] != want || urls[1] != want || urls[2] != want {
		t.Errorf("%d rules, URL rules naming %q, want 8 rules and three naming %q:\n%s", len(lines), urls, want, strings.Join(lines, "\n"))
	}
}

// TestSuricataRuleLength: Suricata reads a rule line into a buffer of
// DETECT_MAX_RULE_SIZE (8192) bytes and fails to load a longer one (both
// halves), so no line is that long. The ids of a URL that 300 indicators
// name are shared out over several rules, each naming some, so that
// every one is still named in an alert's msg; 250 long IPv6 prefixes go
// into as many address-list rules as their length needs; a URL whose rule
// cannot fit is reported, not written.
func TestSuricataRuleLength(t *testing.T) {
	checkLengths := func(t *testing.T, lines []string) {
		t.Helper()
		for i, l := range lines {
			if len(l)+len("\n") >= 8192 {
				t.Errorf("rule %d is %d bytes, too long for Suricata", i+1, len(l))
			}
		}
	}
	// representedRules exports vals, every one representable, and returns
	// the rules after the export and their lengths are checked.
	representedRules := func(t *testing.T, vals []ExportValue) []string {
		t.Helper()
		files, bad := SuricataDatasets(vals, 1)
		if len(bad) != 0 {
			t.Fatal(bad)
		}
		checkSuricataExport(t, files)
		lines := suricataRuleLines(files)
		checkLengths(t, lines)
		return lines
	}
	t.Run("shared URL", func(t *testing.T) {
		var vals []ExportValue
		for i := range 300 {
			id := fmt.Sprintf("indicator--00000000-0000-4000-8000-%012d", i)
			vals = append(vals, ExportValue{Attr: AttrURL, Value: "http://evil.example/x", Raw: "http://evil.example/x", Ind: &Indicator{ID: id}})
		}
		lines := representedRules(t, vals)
		named := map[string]int{}
		for _, l := range lines {
			msg := suricataMsg(t, l)
			for _, id := range strings.Split(strings.TrimPrefix(msg, "Parley: URL of "), ", ") {
				named[id]++
			}
		}
		// once in a rule for requests in origin-form, once in each of
		// the two for absolute form (port 80 with and without ":80"): a
		// request raises the rules of one form only
		for _, v := range vals {
			if named[v.Ind.ID] != 3 {
				t.Errorf("%s is named in %d rules, want 3", v.Ind.ID, named[v.Ind.ID])
			}
		}
		// Suricata logs at most packet-alert-max (15) alerts a packet.
		if len(lines) > 15 {
			t.Errorf("%d rules for one URL", len(lines))
		}
	})
	t.Run("IPv6 ranges", func(t *testing.T) {
		var vals []ExportValue
		for i := range 250 {
			// 43 bytes each: 200 of them alone are longer than 8192.
			p := fmt.Sprintf("2a01:4f8b:%x:abcd:ef01:2345:6789:abc0/124", 0x1000+i)
			vals = append(vals, ExportValue{Attr: AttrIPv6, Value: p, Raw: p, Range: true, Ind: &Indicator{ID: "indicator--r"}})
		}
		lines := representedRules(t, vals)
		from, to := map[netip.Prefix]int{}, map[netip.Prefix]int{}
		for _, l := range lines {
			r, err := parseSuricataRule(l)
			if err != nil {
				t.Fatal(err)
			}
			for _, side := range []struct {
				list string
				seen map[netip.Prefix]int
			}{{r.src, from}, {r.dst, to}} {
				if side.list == "any" {
					continue
				}
				for _, s := range strings.Split(strings.Trim(side.list, "[]"), ",") {
					side.seen[netip.MustParsePrefix(s)]++
				}
			}
		}
		for _, v := range vals {
			p := netip.MustParsePrefix(v.Value)
			if from[p] != 1 || to[p] != 1 {
				t.Errorf("%s is in %d from-rules and %d to-rules, want 1 and 1", p, from[p], to[p])
			}
		}
	})
	t.Run("long URL", func(t *testing.T) {
		long := "http://evil.example/" + strings.Repeat("%01", 3000)
		fits := "http://evil.example/" + strings.Repeat("%01", 2000)
		vals := []ExportValue{
			{Attr: AttrURL, Value: long, Raw: long, Ind: &Indicator{ID: "indicator--long"}},
			{Attr: AttrURL, Value: fits, Raw: fits, Ind: &Indicator{ID: "indicator--fits"}},
		}
		files, bad := SuricataDatasets(vals, 1)
		checkSuricataExport(t, files)
		lines := suricataRuleLines(files)
		checkLengths(t, lines)
		if len(lines) != 3 || !strings.Contains(lines[0], "indicator--fits") || !strings.Contains(lines[1], "indicator--fits") || !strings.Contains(lines[2], "indicator--fits") {
			t.Errorf("want the three rules of the port-80 URL that fits:\n%s", strings.Join(lines, "\n"))
		}
		b, _ := json.Marshal(bad)
		if len(bad) != 1 || bad[0].ID != "indicator--long" || !strings.Contains(bad[0].Reason, "over the 8000 of a rule line") {
			t.Errorf("unrepresentable %s, want indicator--long as too long", b)
		}
	})
}

// TestSuricataContentLength: a URL whose path is plain ASCII fits a rule
// line with a content of up to some 7700 bytes, but Suricata 7.0.10 with
// Hyperscan refuses a content of more than 4000 bytes (its rule, or, under
// --init-errors-fatal, the whole rule set): such a URL, which a member can
// publish, is listed as not representable, and one of 4000 bytes is
// exported (TestSuricataLoadsLongestURL loads it).
func TestSuricataContentLength(t *testing.T) {
	fits := "http://evil.example/" + strings.Repeat("a", 3999)
	long := "http://evil.example/" + strings.Repeat("a", 4000)
	vals := []ExportValue{
		{Attr: AttrURL, Value: long, Raw: long, Ind: &Indicator{ID: "indicator--long"}},
		{Attr: AttrURL, Value: fits, Raw: fits, Ind: &Indicator{ID: "indicator--fits"}},
	}
	files, bad := SuricataDatasets(vals, 1)
	checkSuricataExport(t, files)
	lines := suricataRuleLines(files)
	if len(lines) != 3 {
		t.Fatalf("want the three rules of the URL that fits, got %d", len(lines))
	}
	for _, l := range lines {
		if !strings.Contains(l, "indicator--fits") {
			t.Errorf("rule of another URL: %.200s", l)
		}
		if !strings.Contains(l, "bsize:4000;") {
			t.Errorf("rule without the 4000-byte http.uri: %.200s", l)
		}
	}
	b, _ := json.Marshal(bad)
	if len(bad) != 1 || bad[0].ID != "indicator--long" || !strings.Contains(bad[0].Reason, "content would be 4001 bytes, over the 4000") {
		t.Errorf("unrepresentable %s, want indicator--long as too long a content", b)
	}
}
