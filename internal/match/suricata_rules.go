package match

import (
	"encoding/base64"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// SuricataFile is one file of a Suricata export.
type SuricataFile struct {
	Name string
	Data []byte
}

// suricataFileProtocols are the application protocols whose parsers
// track files in Suricata 7 and 8 (AppLayerParserSupportsFiles): a file
// keyword in a rule of any other protocol, "any" included, is refused
// when the rules load. HTTP/2 files are covered by "http" in Suricata 8
// and need a rule of their own in 7; it is left out so the same rules load
// in both.
var suricataFileProtocols = []string{"http", "smtp", "ftp-data", "smb", "nfs"}

// suricataRangeChunk bounds how many CIDRs one address-list rule holds.
const suricataRangeChunk = 200

// suricataMaxRule bounds the length of a rule line, newline excluded.
// Suricata reads rule files a line at a time into a buffer of
// DETECT_MAX_RULE_SIZE (8192) bytes, so a longer line is cut in two and
// neither part loads; 8000 leaves a margin below it.
const suricataMaxRule = 8000

// suricataMaxContent bounds the bytes one content keyword matches.
// Suricata 7.0.10 with Hyperscan (spm-algo auto picks it) fails to
// compile a content of more than 4000 bytes, and refuses the rule: under
// --init-errors-fatal (engine.init-failure-fatal) the whole rule set
// (TestSuricataLoadsLongestURL).
const suricataMaxContent = 4000

// SuricataDatasets returns the files of a Suricata export: dataset files
// in the encodings the datasets documentation gives (type string: one
// base64 value a line; ipv4 and ip: one address a line), the hex lists
// the filemd5, filesha1 and filesha256 keywords read, and parley.rules
// that loads them, its sids counting up from sidBase. The rules need
// Suricata 7.0.3 or later (the to_lowercase transform; ip.src and ip.dst
// exist from 7.0.0) and load unchanged in Suricata 8.
//
// What each rule compares, with the normalisation its buffer needs:
//   - domains (lower case, no trailing dot) against dns.query, tls.sni and
//     http.host, each through to_lowercase, since DNS names and SNI are
//     sent in any case and Suricata 7 lower-cases the Host header only
//     when it carries no port ("Host: Evil.Example:8081" reaches http.host
//     as "Evil.Example");
//   - addresses against ip.src and ip.dst (IPv4-mapped IPv6 addresses as
//     IPv4); CIDR ranges in the rule header's address lists;
//   - file digests with filemd5/filesha1/filesha256 in one rule per
//     protocol that carries files (never "any", which Suricata refuses);
//   - http URLs as two rules each (three for port 80), all comparing the normalised
//     http.uri (percent-decoded, dot segments removed) whole with bsize:
//     one for requests in origin-form ("GET /x", http.uri.raw starting
//     with "/"), with http.host (through to_lowercase) compared whole and
//     the URL's port in the header; one for requests in absolute form
//     ("GET http://host:8081/x", as clients send them to a proxy, on
//     whatever port it listens), with the target's authority ("host:8081"
//     or, port 80, "host" and "host:80" in two rules) right after its
//     "http://", case-insensitively. A request raises one of them.
//
// Suricata computes only the file hash that the lowest-sid hash rule of
// a rule group asks for (checked with 7.0.10), so when the export holds
// more than one of MD5, SHA-1 and SHA-256, only one kind of file rule
// matches unless the sensor's configuration forces every hash:
// force-hash: [md5, sha1, sha256] in the files entry of an eve-log
// output (or in file-store). The SHA-256 rules come first, so that kind
// is the one that matches without it.
//
// A URL rule's msg names the ids of the indicators of that URL, so that
// an alert can be sighted back to each; ids and all msg text are escaped
// (", ; and \ with a backslash, control characters, bidi controls and
// bytes that are not UTF-8 as '?'), so no id can end the msg or the rule. No rule line is
// longer than 8000 bytes: Suricata reads a rule into a buffer of 8192
// (DETECT_MAX_RULE_SIZE) and loads neither part of a longer line. The ids
// of a URL that many indicators name are therefore shared out over as
// many rules, each with its own sid, as their length needs (an id takes
// about 50 bytes, so a rule names some 150; all of them fire on one
// request, and Suricata logs at most packet-alert-max, 15 by default,
// alerts a packet);
// address ranges go at most 200 and at most 8000 bytes a rule; an
// indicator whose URL rule would be longer (a long URL, an id of
// thousands of bytes) is returned as unrepresentable with the length, and
// so is a URL whose normalised path and query, or host, is longer than
// the 4000 bytes a content may hold (Suricata with Hyperscan refuses a
// longer one).
//
// https URLs (their path is inside TLS), other schemes, IPv6 literal
// hosts in URLs, e-mail addresses, certificates and the other attributes
// are returned as unrepresentable.
func SuricataDatasets(vals []ExportValue, sidBase int) ([]SuricataFile, []Unrepresentable) {
	sets := map[string]map[string]bool{}
	add := func(name, v string) {
		if sets[name] == nil {
			sets[name] = map[string]bool{}
		}
		sets[name][v] = true
	}
	var bad []Unrepresentable
	var ranges []netip.Prefix
	seenRange := map[netip.Prefix]bool{}
	type urlRule struct {
		key, host, uri string
		port           int
		ids            []string
	}
	var urls []urlRule
	seenURL := map[string]int{}
	for _, v := range vals {
		switch {
		case v.Attr == AttrDomain:
			// A Host header may end in the root's dot ("evil.example."),
			// which http.host keeps; dns.query never has it.
			add("parley-domains.lst", base64.StdEncoding.EncodeToString([]byte(v.Value)))
			add("parley-domains.lst", base64.StdEncoding.EncodeToString([]byte(v.Value+".")))
		case (v.Attr == AttrIPv4 || v.Attr == AttrIPv6) && v.Range:
			p, err := netip.ParsePrefix(v.Value)
			if err != nil {
				bad = append(bad, Unrepresentable{v.Ind.ID, "address range " + v.Value + " is not a CIDR"})
				continue
			}
			if !seenRange[p] {
				seenRange[p] = true
				ranges = append(ranges, p)
			}
		case v.Attr == AttrIPv4:
			add("parley-ipv4.lst", v.Value)
		case v.Attr == AttrIPv6:
			add("parley-ipv6.lst", v.Value)
		case v.Attr == AttrFileMD5:
			add("parley-md5.txt", v.Value)
		case v.Attr == AttrFileSHA1:
			add("parley-sha1.txt", v.Value)
		case v.Attr == AttrFileSHA256:
			add("parley-sha256.txt", v.Value)
		case v.Attr == AttrURL:
			s, reason := splitURL(v.Raw)
			switch {
			case reason != "":
				bad = append(bad, Unrepresentable{v.Ind.ID, reason})
				continue
			case s.scheme != "http":
				bad = append(bad, Unrepresentable{v.Ind.ID, fmt.Sprintf("url %q: Suricata sees no http.uri inside TLS; export its domain instead", v.Raw)})
				continue
			case strings.Contains(s.host, ":"):
				bad = append(bad, Unrepresentable{v.Ind.ID, fmt.Sprintf("url %q: an IPv6 literal host has no settled http.host form", v.Raw)})
				continue
			}
			uri, why := suricataURI(s.target)
			if why != "" {
				bad = append(bad, Unrepresentable{v.Ind.ID, fmt.Sprintf("url %q: %s", v.Raw, why)})
				continue
			}
			if n := max(len(uri), len(s.host)+len(":65535/")); n > suricataMaxContent {
				bad = append(bad, Unrepresentable{v.Ind.ID, fmt.Sprintf("url %q: its Suricata content would be %d bytes, over the %d Suricata compiles",
					suricataShort(v.Raw, 100), n, suricataMaxContent)})
				continue
			}
			key := fmt.Sprintf("%s %d %s", s.host, s.port, uri)
			// The msg of a URL's rules names every indicator of it, so
			// that an alert can be sighted back to each.
			if i, ok := seenURL[key]; !ok {
				seenURL[key] = len(urls)
				urls = append(urls, urlRule{key, s.host, uri, s.port, []string{v.Ind.ID}})
			} else if !slices.Contains(urls[i].ids, v.Ind.ID) {
				urls[i].ids = append(urls[i].ids, v.Ind.ID)
			}
		default:
			bad = append(bad, Unrepresentable{v.Ind.ID, "Suricata has no set for " + v.Attr.String()})
		}
	}
	var files []SuricataFile
	names := make([]string, 0, len(sets))
	for n := range sets {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		vs := make([]string, 0, len(sets[n]))
		for v := range sets[n] {
			vs = append(vs, v)
		}
		sort.Strings(vs)
		files = append(files, SuricataFile{n, []byte(strings.Join(vs, "\n") + "\n")})
	}
	var rules strings.Builder
	sid := sidBase
	rule := func(header, msg, body string) {
		rules.WriteString(suricataRuleLine(header, msg, body, sid))
		rules.WriteByte('\n')
		sid++
	}
	if sets["parley-domains.lst"] != nil {
		ds := "dataset:isset,parley-domains,type string,load parley-domains.lst;"
		rule("dns any any -> any any", "DNS query for a listed domain", "dns.query; to_lowercase; "+ds)
		rule("tls any any -> any any", "TLS SNI of a listed domain", "flow:established,to_server; tls.sni; to_lowercase; "+ds)
		rule("http any any -> any any", "HTTP host of a listed domain", "flow:established,to_server; http.host; to_lowercase; "+ds)
	}
	for _, set := range []struct{ file, name, typ, what string }{
		{"parley-ipv4.lst", "parley-ipv4", "ipv4", "IPv4"},
		{"parley-ipv6.lst", "parley-ipv6", "ip", "IPv6"},
	} {
		if sets[set.file] == nil {
			continue
		}
		ds := fmt.Sprintf("dataset:isset,%s,type %s,load %s;", set.name, set.typ, set.file)
		rule("ip any any -> any any", "traffic from a listed "+set.what+" address", "ip.src; "+ds)
		rule("ip any any -> any any", "traffic to a listed "+set.what+" address", "ip.dst; "+ds)
	}
	sort.Slice(ranges, func(i, j int) bool { return ranges[i].String() < ranges[j].String() })
	// Address lists are cut by count and by length: 200 IPv6 prefixes
	// make a line longer than Suricata reads.
	const fromMsg = "traffic from a listed address range"
	room := suricataMaxRule - len(suricataRuleLine("ip [] any -> any any", fromMsg, "", sid+2*len(ranges)))
	for start := 0; start < len(ranges); {
		list := []string{ranges[start].String()}
		n := len(list[0])
		for start+len(list) < len(ranges) && len(list) < suricataRangeChunk {
			p := ranges[start+len(list)].String()
			if n+1+len(p) > room {
				break
			}
			list = append(list, p)
			n += 1 + len(p)
		}
		start += len(list)
		addrs := "[" + strings.Join(list, ",") + "]"
		rule("ip "+addrs+" any -> any any", fromMsg, "")
		rule("ip any any -> "+addrs+" any", "traffic to a listed address range", "")
	}
	// SHA-256 first: a Suricata not told to force every hash computes
	// only the one that the group's lowest-sid hash rule asks for, and
	// SHA-256 is the digest feeds share most.
	for _, h := range []string{"sha256", "sha1", "md5"} {
		if sets["parley-"+h+".txt"] == nil {
			continue
		}
		for _, proto := range suricataFileProtocols {
			rule(proto+" any any -> any any", fmt.Sprintf("file with a listed %s over %s", strings.ToUpper(h), proto),
				fmt.Sprintf("file%s:parley-%s.txt;", h, h))
		}
	}
	sort.Slice(urls, func(i, j int) bool { return urls[i].key < urls[j].key })
	for _, u := range urls {
		// A request in origin-form ("GET /x") is at the port it went
		// to, and names the host in its Host header; one in absolute
		// form ("GET http://host:8081/x"), as clients send it to a proxy,
		// names both in its target, whatever port the proxy listens on.
		// Each form has its rule, and a request raises one of them.
		header := fmt.Sprintf("http any any -> any %d", u.port)
		body := fmt.Sprintf("flow:established,to_server; http.uri.raw; content:\"/\"; startswith; http.host; to_lowercase; content:%s; bsize:%d; http.uri; content:%s; bsize:%d;",
			suricataContent(u.host), len(u.host), suricataContent(u.uri), len(u.uri))
		// The target names port 80 either way: "http://host/x" or,
		// as some clients write it, "http://host:80/x" (Zeek's
		// HTTP::build_url and the matcher drop the default port from
		// both); one rule for each spelling.
		authorities := []string{fmt.Sprintf("%s:%d/", u.host, u.port)}
		if u.port == 80 {
			authorities = []string{u.host + "/", u.host + ":80/"}
		}
		proxyHeader := "http any any -> any any"
		var proxyBodies []string
		for _, authority := range authorities {
			proxyBodies = append(proxyBodies, fmt.Sprintf("flow:established,to_server; http.uri.raw; content:\"http://\"; nocase; startswith; content:%s; nocase; distance:0; within:%d; http.uri; content:%s; bsize:%d;",
				suricataContent(authority), len(authority), suricataContent(u.uri), len(u.uri)))
		}
		rulesPerChunk := 1 + len(proxyBodies)
		// The ids go into as few rules as the line length allows, each
		// rule naming a share of them, so that every indicator stays
		// named in the msg of an alert.
		base := len(suricataRuleLine(header, "URL of ", body, sid+rulesPerChunk*len(u.ids)))
		for _, proxyBody := range proxyBodies {
			base = max(base, len(suricataRuleLine(proxyHeader, "URL of ", proxyBody, sid+rulesPerChunk*len(u.ids))))
		}
		room := suricataMaxRule - base
		var chunk []string
		n := 0
		flush := func() {
			if len(chunk) > 0 {
				rule(header, "URL of "+strings.Join(chunk, ", "), body)
				for _, proxyBody := range proxyBodies {
					rule(proxyHeader, "URL of "+strings.Join(chunk, ", "), proxyBody)
				}
				chunk, n = nil, 0
			}
		}
		for _, id := range u.ids {
			e := suricataMsgText(id)
			if len(e) > room {
				bad = append(bad, Unrepresentable{id, fmt.Sprintf("url %q: its Suricata rule would be %d bytes, over the %d of a rule line Suricata reads whole",
					suricataShort(u.host+u.uri, 100), base+len(e), suricataMaxRule)})
				continue
			}
			if len(chunk) > 0 && n+len(", ")+len(e) > room {
				flush()
			}
			if len(chunk) > 0 {
				n += len(", ")
			}
			chunk = append(chunk, id)
			n += len(e)
		}
		flush()
	}
	if rules.Len() > 0 {
		files = append(files, SuricataFile{"parley.rules", []byte(rules.String())})
	}
	return files, bad
}

// suricataRuleLine writes one rule, its msg escaped (suricataMsgText).
func suricataRuleLine(header, msg, body string, sid int) string {
	if body != "" {
		body += " "
	}
	return fmt.Sprintf("alert %s (msg:\"Parley: %s\"; %ssid:%d; rev:1;)", header, suricataMsgText(msg), body, sid)
}

// suricataMsgText escapes s for a quoted msg value: the characters the
// rule parser reserves (", ; and \) get a backslash, as the userguide's
// meta keywords ask (Suricata's msg keyword also unescapes \:), and control
// characters, which could end the rule's line, bidi controls (U+202E
// and the like), which reorder what a reader of the rules file sees, and
// bytes that are not UTF-8 become '?'. An id from a bundle can then
// neither end the msg nor the rule, nor disguise either.
func suricataMsgText(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1, r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0, r == 0x2028, r == 0x2029, unicode.Is(unicode.Bidi_Control, r):
			b.WriteByte('?')
		case r == '"' || r == ';' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// suricataURI is the request target as Suricata's http.uri buffer holds
// it under the suricata.yaml that Suricata ships, whose libhtp
// default-config sets personality: IDS. The path is percent-decoded, an
// encoded slash (%2F) included; a backslash, raw or %5C, becomes a slash;
// runs of slashes become one; a UTF-8 character below U+0100 becomes its
// one byte (libhtp's best fit: "ß" is 0xDF), and dot segments are removed
// (RFC 3986 section 5.2.4). The query is only percent-decoded. Suricata
// 7.0.10 showed each step (TestSuricataURI). A path whose best fit is not
// one byte (a character from U+0100 on, bytes that are not UTF-8) or that
// holds IIS's %uXXXX, which the personality decodes too, is not
// representable: the reason says so.
func suricataURI(target string) (string, string) {
	path, query, hasQuery := strings.Cut(target, "?")
	if strings.Contains(strings.ToLower(path), "%u") {
		return "", "its path holds %u, which Suricata decodes as IIS's %uXXXX"
	}
	p := strings.ReplaceAll(percentDecode(path), "\\", "/")
	for strings.Contains(p, "//") {
		p = strings.ReplaceAll(p, "//", "/")
	}
	if !isASCII(p) {
		if !utf8.ValidString(p) {
			return "", "its path is not UTF-8, whose best fit Suricata's libhtp picks by a table"
		}
		var b strings.Builder
		for _, r := range p {
			if r >= 0x100 {
				return "", fmt.Sprintf("its path holds %q, whose best fit Suricata's libhtp picks by a table", r)
			}
			b.WriteByte(byte(r))
		}
		p = b.String()
	}
	p = removeDotSegments(p)
	if hasQuery {
		return p + "?" + percentDecode(query), ""
	}
	return p, ""
}

// removeDotSegments applies RFC 3986's remove_dot_segments to an
// absolute path.
func removeDotSegments(p string) string {
	if !strings.Contains(p, ".") {
		return p
	}
	segs := strings.Split(p, "/")
	out := make([]string, 0, len(segs))
	for i, s := range segs {
		last := i == len(segs)-1
		switch s {
		case ".":
			if last {
				out = append(out, "")
			}
		case "..":
			if len(out) > 1 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, s)
		}
	}
	r := strings.Join(out, "/")
	if !strings.HasPrefix(r, "/") {
		r = "/" + r
	}
	return r
}

// suricataContent quotes s as a content value: printable ASCII as is,
// and the bytes the rule syntax reserves (", ;, \, |) and every other byte
// as |hex| runs.
func suricataContent(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	inHex := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		plain := c >= 0x20 && c < 0x7f && !strings.ContainsRune("\";\\|", rune(c))
		if plain {
			if inHex {
				b.WriteByte('|')
				inHex = false
			}
			b.WriteByte(c)
			continue
		}
		if inHex {
			b.WriteByte(' ')
		} else {
			b.WriteByte('|')
			inHex = true
		}
		fmt.Fprintf(&b, "%02X", c)
	}
	if inHex {
		b.WriteByte('|')
	}
	b.WriteByte('"')
	return b.String()
}

// suricataShort cuts s to at most n bytes for a reason, marking the cut.
func suricataShort(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
