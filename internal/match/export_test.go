package match

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func loadExportIndicators(t *testing.T, path string) []*Indicator {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return activeIndicators(t, f)
}

// activeIndicators reads a bundle of indicators and returns those active
// at testNow, as an export of them would take them.
func activeIndicators(t *testing.T, r io.Reader) []*Indicator {
	t.Helper()
	inds, err := ReadIndicators(r)
	if err != nil {
		t.Fatal(err)
	}
	set := NewIndicatorSet()
	for _, ind := range inds {
		set.Put(ind)
	}
	active, _ := set.Active(testNow)
	return active
}

// TestExport writes both exports of indicators chosen to hit every case
// (IPv4-mapped addresses, wildcards, absolute and https URLs, reserved
// bytes, unrepresentable operators) and compares them with golden files,
// then checks them against the grammars of Suricata's rule format and of
// Zeek's Input framework.
func TestExport(t *testing.T) {
	for _, tc := range []struct{ name, file string }{
		{"export", filepath.Join("testdata", "export", "indicators.json")},
		{"export-main", filepath.Join("testdata", "indicators.json")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vals, bad := ExportValues(loadExportIndicators(t, tc.file))
			var zeek bytes.Buffer
			zbad, err := WriteZeekIntel(&zeek, vals)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tc.name+".zeek-intel", zeek.String())
			checkZeekIntel(t, zeek.String())
			files, sbad := SuricataDatasets(vals, 9100000)
			var sur strings.Builder
			for _, f := range files {
				fmt.Fprintf(&sur, "== %s\n%s", f.Name, f.Data)
			}
			checkGolden(t, tc.name+".suricata", sur.String())
			checkSuricataExport(t, files)
			var rep strings.Builder
			for _, l := range [][]Unrepresentable{bad, zbad, sbad} {
				for _, u := range l {
					fmt.Fprintf(&rep, "%s: %s\n", u.ID, u.Reason)
				}
				rep.WriteString("--\n")
			}
			checkGolden(t, tc.name+".unrepresentable", rep.String())
		})
	}
}

// TestExportForms pins the forms the sensors compare, each from the
// documentation of the sensor (see WriteZeekIntel and SuricataDatasets).
func TestExportForms(t *testing.T) {
	inds := loadExportIndicators(t, filepath.Join("testdata", "export", "indicators.json"))
	vals, bad := ExportValues(inds)
	var zeek bytes.Buffer
	zbad, err := WriteZeekIntel(&zeek, vals)
	if err != nil {
		t.Fatal(err)
	}
	files, sbad := SuricataDatasets(vals, 1)
	sur := map[string]string{}
	for _, f := range files {
		sur[f.Name] = string(f.Data)
	}
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, c := range []struct {
		what, in, want string
		present        bool
	}{
		{"domain lower case without trailing dot", zeek.String(), "evil.example\tIntel::DOMAIN\t", true},
		{"domain in the string dataset", sur["parley-domains.lst"], b64("evil.example") + "\n", true},
		{"IPv4-mapped IPv6 with IPv4", sur["parley-ipv4.lst"], "10.0.0.2\n", true},
		{"IPv4-mapped IPv6 not with IPv6", sur["parley-ipv6.lst"], "ffff", false},
		{"IPv4-mapped IPv6 as a Zeek ADDR", zeek.String(), "\n10.0.0.2\tIntel::ADDR\t", true},
		{"IPv4-mapped range as IPv4", sur["parley.rules"], "10.9.0.0/16", true},
		{"IPv6 canonical", sur["parley-ipv6.lst"], "2001:db8::1\n", true},
		{"IPv6 subnet", zeek.String(), "2a04:4e42::/32\tIntel::SUBNET\t", true},
		{"URL as build_url, origin form", zeek.String(), "\nevil.example/x.php?q=Ab\tIntel::URL\t", true},
		{"URL as build_url, proxy form", zeek.String(), "\nhttp://evil.example/x.php?q=Ab\tIntel::URL\t", true},
		{"URL port kept", zeek.String(), "\nevil.example:8081/p q\tIntel::URL\t", true},
		{"URL default port dropped", zeek.String(), "\nevil.example/\tIntel::URL\t", true},
		{"no https URL", zeek.String(), "login", false},
		{"wildcard never a domain", zeek.String(), "*", false},
		{"wildcard never in the dataset", sur["parley-domains.lst"], b64("*.evil.example"), false},
		{"IP literal never a domain", zeek.String(), "192.0.2.7", false},
		{"file rules never use any", sur["parley.rules"], "alert any ", false},
		{"http.uri normalised", sur["parley.rules"], `http.uri; content:"/x.php?q=Ab"; bsize:11;`, true},
		{"URL port in the header", sur["parley.rules"], "alert http any any -> any 8081 ", true},
		{"reserved bytes as hex", sur["parley.rules"], `content:"/a|3B|b|22|c|7C|d"`, true},
		{"DNS query case-insensitive", sur["parley.rules"], "dns.query; to_lowercase; dataset:isset,parley-domains,type string,load parley-domains.lst;", true},
	} {
		if got := strings.Contains(c.in, c.want); got != c.present {
			t.Errorf("%s: contains %q = %v, want %v", c.what, c.want, got, c.present)
		}
	}
	reasons := map[string]string{}
	for _, l := range [][]Unrepresentable{bad, zbad, sbad} {
		for _, u := range l {
			reasons[u.ID] += u.Reason + "\n"
		}
	}
	for _, ind := range inds {
		switch ind.Name {
		case "wildcard", "ip as domain", "url https", "url v6 host", "like", "matches", "and", "two observations", "followedby", "size range", "not", "ports":
			if reasons[ind.ID] == "" {
				t.Errorf("%s (%s) was not reported unrepresentable", ind.Name, ind.Pattern)
			}
		case "C2 domain", "v4 and range", "mapped", "v6", "v6 range", "hashes", "url dot segments", "url port", "domains in":
			if reasons[ind.ID] != "" {
				t.Errorf("%s (%s) was reported unrepresentable: %s", ind.Name, ind.Pattern, reasons[ind.ID])
			}
		}
	}
}

// checkZeekIntel checks a file against what Zeek's Input framework (ASCII
// reader) and Intel::read_files need: a #fields header naming indicator,
// indicator_type and meta.source; per line as many tab-separated fields,
// none empty ("-" is unset); an Intel::Type the framework defines; and a
// value of that type in the form the seen scripts produce.
func checkZeekIntel(t *testing.T, file string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(file, "\n"), "\n")
	header := strings.Split(strings.TrimPrefix(lines[0], "#fields\t"), "\t")
	if !strings.HasPrefix(lines[0], "#fields\t") {
		t.Fatalf("zeek intel: first line %q is not a #fields header", lines[0])
	}
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	for _, need := range []string{"indicator", "indicator_type", "meta.source"} {
		if _, ok := col[need]; !ok {
			t.Fatalf("zeek intel: header lacks %s", need)
		}
	}
	types := map[string]bool{"Intel::ADDR": true, "Intel::SUBNET": true, "Intel::URL": true, "Intel::SOFTWARE": true, "Intel::EMAIL": true,
		"Intel::DOMAIN": true, "Intel::USER_NAME": true, "Intel::CERT_HASH": true, "Intel::PUBKEY_HASH": true, "Intel::FILE_HASH": true, "Intel::FILE_NAME": true}
	for n, line := range lines[1:] {
		if strings.HasPrefix(line, "#") {
			// The ASCII reader (GetLine) skips every line that starts
			// with '#' as a comment or header.
			t.Errorf("zeek intel line %d starts with '#', which Zeek skips: %q", n+2, line)
		}
		f := strings.Split(line, "\t")
		if len(f) != len(header) {
			t.Errorf("zeek intel line %d: %d fields, header has %d: %q", n+2, len(f), len(header), line)
			continue
		}
		for i, v := range f {
			if v == "" {
				t.Errorf("zeek intel line %d: field %s is empty (use -)", n+2, header[i])
			}
		}
		v, typ := f[col["indicator"]], f[col["indicator_type"]]
		if !types[typ] {
			t.Errorf("zeek intel line %d: unknown type %q", n+2, typ)
		}
		if err := zeekValueOK(v, typ); err != "" {
			t.Errorf("zeek intel line %d: %s: %q", n+2, err, line)
		}
	}
}

func zeekValueOK(v, typ string) string {
	switch typ {
	case "Intel::ADDR":
		a, err := netip.ParseAddr(v)
		if err != nil || a.Is4In6() || a.String() != v {
			return "not a canonical address"
		}
	case "Intel::SUBNET":
		p, err := netip.ParsePrefix(v)
		if err != nil || p.Masked() != p {
			return "not a masked subnet"
		}
	case "Intel::DOMAIN":
		if v != strings.ToLower(v) || strings.HasSuffix(v, ".") || strings.Contains(v, "*") {
			return "not a lower-case domain without trailing dot"
		}
	case "Intel::URL":
		// host[:port]/target, or the absolute form of a proxied request.
		rest := strings.TrimPrefix(v, "http://")
		if strings.Contains(rest, "://") || !strings.Contains(rest, "/") {
			return "not a URL as HTTP::build_url builds it"
		}
	case "Intel::FILE_HASH", "Intel::CERT_HASH":
		for _, c := range []byte(v) {
			if !isHexDigit(c) {
				return "not hex"
			}
		}
	}
	return ""
}

// checkSuricataExport parses every rule with the grammar checker and
// checks that every file a rule loads is in the export, in the encoding
// its dataset type or keyword reads.
func checkSuricataExport(t *testing.T, files []SuricataFile) {
	t.Helper()
	data := map[string]string{}
	for _, f := range files {
		data[f.Name] = string(f.Data)
	}
	rules, ok := data["parley.rules"]
	if !ok {
		return
	}
	datasets := map[string]string{}
	sids := map[string]bool{}
	for n, line := range strings.Split(strings.TrimSuffix(rules, "\n"), "\n") {
		r, err := parseSuricataRule(line)
		if err != nil {
			t.Errorf("rule %d: %v\n%s", n+1, err, line)
			continue
		}
		if err := r.check(); err != nil {
			t.Errorf("rule %d: %v\n%s", n+1, err, line)
		}
		for _, o := range r.options {
			switch o.key {
			case "sid":
				if sids[o.value] {
					t.Errorf("rule %d: sid %s used twice", n+1, o.value)
				}
				sids[o.value] = true
			case "dataset":
				d, _ := parseDataset(o.value)
				if prev, ok := datasets[d.name]; ok && prev != d.typ+" "+d.load {
					t.Errorf("rule %d: dataset %s declared as %s and %s %s", n+1, d.name, prev, d.typ, d.load)
				}
				datasets[d.name] = d.typ + " " + d.load
				checkDatasetFile(t, d.load, d.typ, data)
			case "filemd5", "filesha1", "filesha256":
				n := map[string]int{"filemd5": 32, "filesha1": 40, "filesha256": 64}[o.key]
				checkHexList(t, o.value, n, data)
			}
		}
	}
}

func checkDatasetFile(t *testing.T, name, typ string, data map[string]string) {
	t.Helper()
	content, ok := data[name]
	if !ok {
		t.Errorf("dataset file %s is not in the export", name)
		return
	}
	for _, line := range strings.Split(strings.TrimSuffix(content, "\n"), "\n") {
		switch typ {
		case "string":
			if _, err := base64.StdEncoding.Strict().DecodeString(line); err != nil {
				t.Errorf("%s: %q is not base64", name, line)
			}
		case "ipv4":
			if a, err := netip.ParseAddr(line); err != nil || !a.Is4() {
				t.Errorf("%s: %q is not an IPv4 address", name, line)
			}
		case "ip":
			if _, err := netip.ParseAddr(line); err != nil {
				t.Errorf("%s: %q is not an address", name, line)
			}
		case "md5", "sha256":
			checkHexLine(t, name, line, map[string]int{"md5": 32, "sha256": 64}[typ])
		}
	}
}

func checkHexList(t *testing.T, name string, n int, data map[string]string) {
	t.Helper()
	content, ok := data[name]
	if !ok {
		t.Errorf("hash list %s is not in the export", name)
		return
	}
	for _, line := range strings.Split(strings.TrimSuffix(content, "\n"), "\n") {
		checkHexLine(t, name, line, n)
	}
}

func checkHexLine(t *testing.T, name, line string, n int) {
	t.Helper()
	ok := len(line) == n
	for _, c := range []byte(line) {
		ok = ok && isHexDigit(c)
	}
	if !ok {
		t.Errorf("%s: %q is not %d hex digits", name, line, n)
	}
}

// TestExportIDNURLAndSharedValues: a URL's internationalised host goes to
// both sensors as the A-label a client puts in its Host header (the raw
// UTF-8 name never appears on the wire), and two indicators naming the
// same value each get their Zeek intel line (meta.source), as the Intel
// framework keeps one meta data record per source, and are both named in
// the msg of the one Suricata rule of a URL.
func TestExportIDNURLAndSharedValues(t *testing.T) {
	const bundle = `{"type":"bundle","id":"bundle--00000000-0000-4000-8000-000000000001","objects":[
{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-00000000000a","created":"2020-01-01T00:00:00Z","modified":"2020-01-01T00:00:00Z","valid_from":"2020-01-01T00:00:00Z","pattern_type":"stix","pattern":"[url:value = 'http://Bücher.example/straße']"},
{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-00000000000b","created":"2020-01-01T00:00:00Z","modified":"2020-01-01T00:00:00Z","valid_from":"2020-01-01T00:00:00Z","pattern_type":"stix","pattern":"[domain-name:value = 'bücher.example']"},
{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-00000000000c","created":"2020-01-01T00:00:00Z","modified":"2020-01-01T00:00:00Z","valid_from":"2020-01-01T00:00:00Z","pattern_type":"stix","pattern":"[domain-name:value = 'xn--bcher-kva.example']"},
{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-00000000000d","created":"2020-01-01T00:00:00Z","modified":"2020-01-01T00:00:00Z","valid_from":"2020-01-01T00:00:00Z","pattern_type":"stix","pattern":"[url:value = 'http://xn--bcher-kva.example:8080/x']"},
{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-00000000000e","created":"2020-01-01T00:00:00Z","modified":"2020-01-01T00:00:00Z","valid_from":"2020-01-01T00:00:00Z","pattern_type":"stix","pattern":"[url:value = 'http://user:pw@bücher.example:8080/x']"}
]}`
	vals, bad := ExportValues(activeIndicators(t, strings.NewReader(bundle)))
	if len(bad) != 0 {
		t.Fatalf("unrepresentable: %v", bad)
	}
	var zeek bytes.Buffer
	zbad, err := WriteZeekIntel(&zeek, vals)
	if err != nil || len(zbad) != 0 {
		t.Fatal(err, zbad)
	}
	checkZeekIntel(t, zeek.String())
	files, sbad := SuricataDatasets(vals, 1)
	if len(sbad) != 0 {
		t.Fatalf("suricata unrepresentable: %v", sbad)
	}
	checkSuricataExport(t, files)
	var rules string
	for _, f := range files {
		if f.Name == "parley.rules" {
			rules = string(f.Data)
		}
	}
	z := zeek.String()
	for _, want := range []string{
		"\nxn--bcher-kva.example/stra\u00dfe\tIntel::URL\tindicator--00000000-0000-4000-8000-00000000000a\t",
		"\nhttp://xn--bcher-kva.example/stra\u00dfe\tIntel::URL\tindicator--00000000-0000-4000-8000-00000000000a\t",
		"\nxn--bcher-kva.example\tIntel::DOMAIN\tindicator--00000000-0000-4000-8000-00000000000b\t",
		"\nxn--bcher-kva.example\tIntel::DOMAIN\tindicator--00000000-0000-4000-8000-00000000000c\t",
		"\nxn--bcher-kva.example:8080/x\tIntel::URL\tindicator--00000000-0000-4000-8000-00000000000d\t",
		"\nxn--bcher-kva.example:8080/x\tIntel::URL\tindicator--00000000-0000-4000-8000-00000000000e\t",
	} {
		if !strings.Contains(z, want) {
			t.Errorf("zeek intel lacks %q:\n%s", want, z)
		}
	}
	if strings.Contains(z, "b\u00fccher") || strings.Contains(rules, "|C3 BC|") {
		t.Errorf("a U-label host was exported:\n%s\n%s", z, rules)
	}
	if !strings.Contains(rules, `(msg:"Parley: URL of indicator--00000000-0000-4000-8000-00000000000d, indicator--00000000-0000-4000-8000-00000000000e"; flow:established,to_server; http.uri.raw; content:"/"; startswith; http.host; to_lowercase; content:"xn--bcher-kva.example"; bsize:21; http.uri; content:"/x"; bsize:2;`) ||
		!strings.Contains(rules, `(msg:"Parley: URL of indicator--00000000-0000-4000-8000-00000000000d, indicator--00000000-0000-4000-8000-00000000000e"; flow:established,to_server; http.uri.raw; content:"http://"; nocase; startswith; content:"xn--bcher-kva.example:8080/"; nocase; distance:0; within:27; http.uri; content:"/x"; bsize:2;`) {
		t.Errorf("the rule of a URL two indicators name does not name both:\n%s", rules)
	}
	if !strings.Contains(rules, `http.host; to_lowercase; content:"xn--bcher-kva.example"; bsize:21; http.uri; content:"/stra|DF|e"; bsize:7;`) {
		t.Errorf("no A-label URL rule:\n%s", rules)
	}
}

// TestZeekIntelEscapes: Zeek's Input framework unescapes \xHH in every
// string field it reads (get_unescaped_string) and takes "-" for unset, so
// the intel file escapes a backslash, control bytes and bytes that are not
// UTF-8 as \xHH; what Zeek reads back is then the value its seen scripts
// compare (HTTP::build_url of the percent-decoded target).
func TestZeekIntelEscapes(t *testing.T) {
	const bundle = `{"type":"bundle","id":"bundle--00000000-0000-4000-8000-000000000002","objects":[
{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-0000000000a1","name":"tab\there","created":"2020-01-01T00:00:00Z","modified":"2020-01-01T00:00:00Z","valid_from":"2020-01-01T00:00:00Z","pattern_type":"stix","pattern":"[url:value = 'http://evil.example/a%5Cx41%09b%FC']"},
{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-0000000000a2","name":"-","created":"2020-01-01T00:00:00Z","modified":"2020-01-01T00:00:00Z","valid_from":"2020-01-01T00:00:00Z","pattern_type":"stix","pattern":"[file:name = 'C:\\\\x41.exe']"}
]}`
	vals, bad := ExportValues(activeIndicators(t, strings.NewReader(bundle)))
	if len(bad) != 0 {
		t.Fatalf("unrepresentable: %v", bad)
	}
	var zeek bytes.Buffer
	zbad, err := WriteZeekIntel(&zeek, vals)
	if err != nil || len(zbad) != 0 {
		t.Fatal(err, zbad)
	}
	checkZeekIntel(t, zeek.String())
	for _, want := range []string{
		"\nevil.example/a\\x5cx41\\x09b\\xfc\tIntel::URL\tindicator--00000000-0000-4000-8000-0000000000a1\ttab\\x09here\n",
		"\nhttp://evil.example/a\\x5cx41\\x09b\\xfc\tIntel::URL\t",
		"\nC:\\x5cx41.exe\tIntel::FILE_NAME\tindicator--00000000-0000-4000-8000-0000000000a2\t\\x2d\n",
	} {
		if !strings.Contains(zeek.String(), want) {
			t.Errorf("zeek intel lacks %q:\n%s", want, zeek.String())
		}
	}
	// What Zeek reads back (get_unescaped_string) is the value itself.
	for _, line := range strings.Split(strings.TrimSpace(zeek.String()), "\n")[1:] {
		f := strings.Split(line, "\t")
		got := zeekUnescape(f[0])
		if f[1] == "Intel::URL" && got != "evil.example/a\\x41\tb\xfc" && got != "http://evil.example/a\\x41\tb\xfc" {
			t.Errorf("Zeek reads the URL as %q", got)
		}
		if f[1] == "Intel::FILE_NAME" && got != `C:\x41.exe` {
			t.Errorf("Zeek reads the file name as %q", got)
		}
	}
}

// TestZeekIntelLeadingHash: Zeek's ASCII reader skips every line that
// starts with '#' (a header or comment), so an indicator whose value
// starts with it (an e-mail address "#a@evil.example", a file name
// "#evil.exe") was written as a line that Zeek never loads, though the
// export listed it as exported. The '#' is written \x23, which the reader
// unescapes back.
func TestZeekIntelLeadingHash(t *testing.T) {
	const bundle = `{"type":"bundle","id":"bundle--00000000-0000-4000-8000-000000000003","objects":[
{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-0000000000b1","name":"#x","created":"2020-01-01T00:00:00Z","modified":"2020-01-01T00:00:00Z","valid_from":"2020-01-01T00:00:00Z","pattern_type":"stix","pattern":"[email-addr:value = '#a@evil.example']"},
{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-0000000000b2","name":"n","created":"2020-01-01T00:00:00Z","modified":"2020-01-01T00:00:00Z","valid_from":"2020-01-01T00:00:00Z","pattern_type":"stix","pattern":"[file:name = '#fields']"}
]}`
	vals, bad := ExportValues(activeIndicators(t, strings.NewReader(bundle)))
	if len(bad) != 0 {
		t.Fatalf("unrepresentable: %v", bad)
	}
	var zeek bytes.Buffer
	if zbad, err := WriteZeekIntel(&zeek, vals); err != nil || len(zbad) != 0 {
		t.Fatal(err, zbad)
	}
	checkZeekIntel(t, zeek.String())
	lines := strings.Split(strings.TrimSpace(zeek.String()), "\n")[1:]
	if len(lines) != 2 {
		t.Fatalf("want 2 lines:\n%s", zeek.String())
	}
	got := map[string]bool{}
	for _, line := range lines {
		got[zeekUnescape(strings.Split(line, "\t")[0])] = true
	}
	if !got["#a@evil.example"] || !got["#fields"] {
		t.Errorf("Zeek reads back %v", got)
	}
}

// zeekUnescape is Zeek's get_unescaped_string: \xHH is the byte.
func zeekUnescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] == 'x' && isHexDigit(s[i+2]) && isHexDigit(s[i+3]) {
			var c byte
			fmt.Sscanf(s[i+2:i+4], "%02x", &c)
			b.WriteByte(c)
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// TestExportMispStixReasons exports the indicators of MISP's STIX 2.1
// converter tests (testdata/corpus/misp-stix): misp-stix writes an address
// attribute holding a CIDR block as [ipv4-addr:value = '223.166.0.0/15'],
// a valid ipv4-addr value compared by "=". It is not exported (no single
// address equals it, and the block would match every address in it), and
// the reason says so, as match's warning does; it said the value was not
// a valid ipv4-addr.
func TestExportMispStixReasons(t *testing.T) {
	inds := loadExportIndicators(t, filepath.Join("..", "..", "testdata", "corpus", "misp-stix", "indicators-stix21.json"))
	vals, bad := ExportValues(inds)
	if len(vals) == 0 {
		t.Fatal("no value exported from misp-stix's indicators")
	}
	block := 0
	for _, u := range bad {
		if strings.Contains(u.Reason, "223.166.0.0/15") {
			block++
			if !strings.Contains(u.Reason, ErrBlockByEquality.Error()) {
				t.Errorf("%s: %q; want it to say that = compares a CIDR block as a string", u.ID, u.Reason)
			}
		}
		if strings.Contains(u.Reason, "is not a valid ipv") {
			t.Errorf("%s: %q calls a valid address value invalid", u.ID, u.Reason)
		}
	}
	if block != 1 {
		t.Errorf("%d reasons name 223.166.0.0/15, want 1", block)
	}
}
