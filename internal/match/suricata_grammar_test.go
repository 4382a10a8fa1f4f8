package match

// A checker of Suricata's rule grammar, written from the userguide
// (rules/intro: "action protocol source port direction destination port
// (options)"; meta, payload, transforms, datasets, file, dns, tls, http
// and ipaddr keywords of Suricata 7 and 8). It covers what exports write
// and refuses everything else, so a rule it accepts uses only keywords
// whose protocol and order the userguide allows.

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

type suricataOption struct {
	key, value string
	quoted     bool
}

type suricataRule struct {
	action, proto, src, sport, dir, dst, dport string
	options                                    []suricataOption
}

var suricataActions = map[string]bool{"alert": true, "pass": true, "drop": true, "reject": true, "rejectsrc": true, "rejectdst": true, "rejectboth": true}

// suricataProtocols: the IP-level and application-layer protocol names a
// rule header may give.
var suricataProtocols = map[string]bool{"ip": true, "tcp": true, "udp": true, "icmp": true, "pkthdr": true,
	"http": true, "http1": true, "http2": true, "ftp": true, "ftp-data": true, "tls": true, "smb": true, "dns": true, "dcerpc": true,
	"ssh": true, "smtp": true, "imap": true, "nfs": true, "dhcp": true, "krb5": true, "snmp": true, "sip": true, "rdp": true, "quic": true}

// suricataStickyBuffers maps each sticky buffer to the protocols whose
// rules may use it ("" = any protocol).
var suricataStickyBuffers = map[string][]string{
	"dns.query": {"dns"},
	"tls.sni":   {"tls"},
	"http.host": {"http", "http1", "http2"},
	"http.uri":  {"http", "http1", "http2"},
	// the request target as sent: "/x" in origin-form, "http://host/x"
	// in absolute form (a request to a proxy)
	"http.uri.raw": {"http", "http1", "http2"},
	"file.data":    {"http", "http1", "http2", "smtp", "ftp-data", "smb", "nfs"},
	"ip.src":       {""},
	"ip.dst":       {""},
}

var suricataTransforms = map[string]bool{"to_lowercase": true, "dotprefix": true, "strip_whitespace": true, "compress_whitespace": true, "to_md5": true, "to_sha256": true}

// suricataFileProtocolSet: protocols whose parsers track files.
var suricataFileProtocolSet = map[string]bool{"http": true, "http1": true, "http2": true, "smtp": true, "ftp-data": true, "smb": true, "nfs": true}

// hostNeedsLower: the userguide says http.host is lower-cased, but
// Suricata 7.0.10 keeps the case of a Host header that has a port
// (TestSuricataRealTraffic), so a match on it needs to_lowercase.
const hostNeedsLower = "http.host keeps the case of a Host header with a port: to_lowercase it before matching"

// parseSuricataRule splits a rule into header and options. Option values
// end at the first ';' not escaped by a backslash; quoted values keep
// their escapes for check to validate.
func parseSuricataRule(line string) (*suricataRule, error) {
	open := strings.IndexByte(line, '(')
	if open < 0 || !strings.HasSuffix(line, ")") {
		return nil, errors.New("no (options) at the end")
	}
	h := strings.Fields(line[:open])
	if len(h) != 7 {
		return nil, fmt.Errorf("header has %d fields, want 7 (action proto src sport dir dst dport)", len(h))
	}
	r := &suricataRule{action: h[0], proto: h[1], src: h[2], sport: h[3], dir: h[4], dst: h[5], dport: h[6]}
	body := strings.TrimSpace(line[open+1 : len(line)-1])
	for body != "" {
		end, quoted := -1, false
		inQuote := false
		for i := 0; i < len(body); i++ {
			switch body[i] {
			case '\\':
				i++
			case '"':
				inQuote = !inQuote
				quoted = true
			case ';':
				if !inQuote {
					end = i
				}
			}
			if end >= 0 {
				break
			}
		}
		if end < 0 {
			return nil, fmt.Errorf("option %q does not end with ';'", body)
		}
		opt := strings.TrimSpace(body[:end])
		body = strings.TrimSpace(body[end+1:])
		// An odd run of backslashes at the end escaped the blank that
		// trimming dropped; written back, it would escape the ';'.
		if n := len(opt) - len(strings.TrimRight(opt, `\`)); n%2 == 1 {
			return nil, fmt.Errorf("option %q ends with a lone escape", opt)
		}
		key, value, hasValue := strings.Cut(opt, ":")
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if !isSuricataKeyword(key) {
			return nil, fmt.Errorf("bad keyword %q", key)
		}
		if hasValue && value == "" {
			return nil, fmt.Errorf("keyword %s has an empty value", key)
		}
		r.options = append(r.options, suricataOption{key: key, value: value, quoted: quoted})
	}
	return r, nil
}

// isSuricataKeyword: keywords are names such as sid, flow, http.host or
// ftp-data's; nothing else may stand before the ':'.
func isSuricataKeyword(k string) bool {
	if k == "" {
		return false
	}
	for _, c := range k {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// String writes the rule back in the canonical spacing.
func (r *suricataRule) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s %s %s %s %s (", r.action, r.proto, r.src, r.sport, r.dir, r.dst, r.dport)
	for i, o := range r.options {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(o.key)
		if o.value != "" {
			b.WriteString(":" + o.value)
		}
		b.WriteByte(';')
	}
	b.WriteByte(')')
	return b.String()
}

// check validates the header and the keywords: each known, each with a
// well-formed value, sticky buffers used with protocols that have them,
// transforms and payload keywords after a buffer, file keywords only with
// a protocol that carries files, msg, sid and rev present.
func (r *suricataRule) check() error {
	if !suricataActions[r.action] {
		return fmt.Errorf("unknown action %q", r.action)
	}
	if !suricataProtocols[r.proto] {
		return fmt.Errorf("protocol %q cannot be used in a signature", r.proto)
	}
	if r.dir != "->" && r.dir != "<>" {
		return fmt.Errorf("direction %q", r.dir)
	}
	for _, a := range []string{r.src, r.dst} {
		if err := checkSuricataAddress(a); err != nil {
			return err
		}
	}
	for _, p := range []string{r.sport, r.dport} {
		if err := checkSuricataPort(p); err != nil {
			return err
		}
	}
	buffer := ""     // current sticky buffer
	lower := false   // a to_lowercase transform applies to buffer
	contentLen := -1 // decoded length of the last content in buffer
	var haveMsg, haveSid bool
	for _, o := range r.options {
		switch {
		case o.key == "msg":
			if !isQuoted(o.value) {
				return errors.New("msg must be quoted")
			}
			if _, err := suricataUnquote(o.value, false); err != nil {
				return fmt.Errorf("msg: %v", err)
			}
			haveMsg = true
		case o.key == "sid" || o.key == "rev":
			if n, err := strconv.Atoi(o.value); err != nil || n <= 0 {
				return fmt.Errorf("%s %q is not a positive integer", o.key, o.value)
			}
			haveSid = haveSid || o.key == "sid"
		case o.key == "flow":
			for _, f := range strings.Split(o.value, ",") {
				switch strings.TrimSpace(f) {
				case "established", "not_established", "stateless", "to_server", "to_client", "from_server", "from_client", "only_stream", "no_stream":
				default:
					return fmt.Errorf("flow option %q", f)
				}
			}
		case suricataStickyBuffers[o.key] != nil:
			if o.value != "" {
				return fmt.Errorf("sticky buffer %s takes no value", o.key)
			}
			ok := false
			for _, p := range suricataStickyBuffers[o.key] {
				ok = ok || p == "" || p == r.proto
			}
			if !ok {
				return fmt.Errorf("%s cannot be used with protocol %s", o.key, r.proto)
			}
			buffer, lower, contentLen = o.key, false, -1
		case suricataTransforms[o.key]:
			if buffer == "" || strings.HasPrefix(buffer, "ip.") {
				return fmt.Errorf("transform %s needs a content buffer before it", o.key)
			}
			if contentLen >= 0 {
				return fmt.Errorf("transform %s after a content", o.key)
			}
			lower = lower || o.key == "to_lowercase"
		case o.key == "content":
			if buffer == "" || strings.HasPrefix(buffer, "ip.") {
				return errors.New("content needs a buffer (the exports never match raw packets)")
			}
			s, err := suricataUnquote(o.value, true)
			if err != nil {
				return fmt.Errorf("content: %v", err)
			}
			if buffer == "http.host" && !lower {
				return errors.New(hostNeedsLower)
			}
			if lower && s != strings.ToLower(s) {
				return fmt.Errorf("content %s has upper case but %s is lower-cased", o.value, buffer)
			}
			contentLen = len(s)
		case o.key == "nocase" || o.key == "startswith":
			// content modifiers (payload-keywords.rst): no value, after
			// the content they modify
			if o.value != "" {
				return fmt.Errorf("%s takes no value", o.key)
			}
			if contentLen < 0 {
				return fmt.Errorf("%s before a content", o.key)
			}
		case o.key == "distance" || o.key == "within":
			// relative modifiers: a number, after a second content
			n, err := strconv.Atoi(o.value)
			if err != nil || n < 0 {
				return fmt.Errorf("%s %q", o.key, o.value)
			}
			if contentLen < 0 {
				return fmt.Errorf("%s before a content", o.key)
			}
			if o.key == "within" && n < contentLen {
				return fmt.Errorf("within %d can never hold a content of %d bytes", n, contentLen)
			}
		case o.key == "bsize":
			n, err := strconv.Atoi(o.value)
			if err != nil || n < 0 {
				return fmt.Errorf("bsize %q", o.value)
			}
			if contentLen < 0 {
				return errors.New("bsize before a content")
			}
			if n != contentLen {
				return fmt.Errorf("bsize %d can never match a content of %d bytes exactly", n, contentLen)
			}
		case o.key == "dataset":
			if buffer == "" {
				return errors.New("dataset needs a sticky buffer")
			}
			if buffer == "http.host" && !lower {
				return errors.New(hostNeedsLower)
			}
			d, err := parseDataset(o.value)
			if err != nil {
				return err
			}
			if strings.HasPrefix(buffer, "ip.") != (d.typ == "ipv4" || d.typ == "ip") {
				return fmt.Errorf("dataset type %s with buffer %s", d.typ, buffer)
			}
		case o.key == "filemd5" || o.key == "filesha1" || o.key == "filesha256":
			if !suricataFileProtocolSet[r.proto] {
				return fmt.Errorf("protocol %s doesn't support file matching", r.proto)
			}
			if o.value == "" || strings.ContainsAny(o.value, " \"/") {
				return fmt.Errorf("%s needs a file name in the rules directory", o.key)
			}
		default:
			return fmt.Errorf("keyword %q is not one the exports may use", o.key)
		}
	}
	if !haveMsg || !haveSid {
		return errors.New("a rule needs msg and sid")
	}
	return nil
}

type suricataDataset struct{ cmd, name, typ, load string }

// parseDataset parses "cmd,name,type T,load F" (datasets.rst).
func parseDataset(v string) (suricataDataset, error) {
	parts := strings.Split(v, ",")
	if len(parts) < 2 {
		return suricataDataset{}, fmt.Errorf("dataset %q needs a command and a name", v)
	}
	d := suricataDataset{cmd: strings.TrimSpace(parts[0]), name: strings.TrimSpace(parts[1])}
	switch d.cmd {
	case "set", "unset", "isset", "isnotset":
	default:
		return d, fmt.Errorf("dataset command %q", d.cmd)
	}
	if d.name == "" || strings.ContainsAny(d.name, " ") {
		return d, fmt.Errorf("dataset name %q", d.name)
	}
	for _, p := range parts[2:] {
		k, val, ok := strings.Cut(strings.TrimSpace(p), " ")
		if !ok {
			return d, fmt.Errorf("dataset option %q has no value", p)
		}
		switch k {
		case "type":
			switch val {
			case "string", "md5", "sha256", "ipv4", "ip":
				d.typ = val
			default:
				return d, fmt.Errorf("dataset type %q", val)
			}
		case "load":
			d.load = val
		case "save", "state", "memcap", "hashsize":
		default:
			return d, fmt.Errorf("dataset option %q", k)
		}
	}
	if d.typ == "" {
		return d, errors.New("dataset type is mandatory")
	}
	return d, nil
}

func isQuoted(v string) bool { return len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' }

// suricataUnquote decodes a quoted value: escapes \" \; \\ (and, for
// content, |hex| blocks); the reserved characters must not appear bare.
func suricataUnquote(v string, content bool) (string, error) {
	if !isQuoted(v) {
		return "", errors.New("not quoted")
	}
	v = v[1 : len(v)-1]
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '\\':
			if i+1 >= len(v) || !strings.ContainsRune("\";\\:|", rune(v[i+1])) {
				return "", fmt.Errorf("bad escape in %q", v)
			}
			i++
			b.WriteByte(v[i])
		case c == '"' || c == ';':
			return "", fmt.Errorf("unescaped %q in %q", c, v)
		case c == '|' && content:
			end := strings.IndexByte(v[i+1:], '|')
			if end < 0 {
				return "", fmt.Errorf("unclosed hex block in %q", v)
			}
			for _, h := range strings.Fields(v[i+1 : i+1+end]) {
				n, err := strconv.ParseUint(h, 16, 8)
				if err != nil || len(h) != 2 {
					return "", fmt.Errorf("bad hex byte %q in %q", h, v)
				}
				b.WriteByte(byte(n))
			}
			i += end + 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

func checkSuricataAddress(a string) error {
	neg := strings.TrimPrefix(a, "!")
	if neg == "any" || strings.HasPrefix(neg, "$") && len(neg) > 1 {
		return nil
	}
	if strings.HasPrefix(neg, "[") && strings.HasSuffix(neg, "]") {
		for _, e := range strings.Split(neg[1:len(neg)-1], ",") {
			if err := checkSuricataAddress(e); err != nil {
				return err
			}
		}
		return nil
	}
	if _, err := netip.ParsePrefix(neg); err == nil {
		return nil
	}
	if _, err := netip.ParseAddr(neg); err == nil {
		return nil
	}
	return fmt.Errorf("address %q", a)
}

func checkSuricataPort(p string) error {
	p = strings.TrimPrefix(p, "!")
	if p == "any" || strings.HasPrefix(p, "$") {
		return nil
	}
	if strings.HasPrefix(p, "[") && strings.HasSuffix(p, "]") {
		for _, e := range strings.Split(p[1:len(p)-1], ",") {
			if err := checkSuricataPort(e); err != nil {
				return err
			}
		}
		return nil
	}
	lo, hi, isRange := strings.Cut(p, ":")
	ends := []string{lo}
	if isRange {
		ends = []string{lo, hi}
	}
	for _, s := range ends {
		if s == "" && isRange {
			continue
		}
		if n, err := strconv.Atoi(s); err != nil || n < 0 || n > 65535 {
			return fmt.Errorf("port %q", p)
		}
	}
	return nil
}

// TestSuricataGrammar shows that the checker refuses the mistakes the
// issue found, the userguide forbids and a real Suricata showed, and
// accepts the userguide's own examples but for http.host's (see
// hostNeedsLower).
func TestSuricataGrammar(t *testing.T) {
	for _, c := range []struct {
		rule string
		ok   bool
	}{
		{`alert http $HOME_NET any -> $EXTERNAL_NET any (msg:"HTTP Host Example"; flow:established,to_server; http.host; content:"suricata.io"; bsize:11; sid:123; rev:1;)`, false},
		{`alert http $HOME_NET any -> $EXTERNAL_NET any (msg:"HTTP Host Example"; flow:established,to_server; http.host; to_lowercase; content:"suricata.io"; bsize:11; sid:123; rev:1;)`, true},
		{`alert http any any -> any any (msg:"x"; http.host; dataset:isset,d,type string,load d.lst; sid:1; rev:1;)`, false},
		{`alert tcp $HOME_NET any -> any any (msg:"Outbound bad list"; flow:to_server; ip.dst; dataset:isset,badips,type ip,load badips.list; sid:1; rev:1;)`, true},
		{`alert any any any -> any any (msg:"x"; filesha256:parley-sha256.txt; sid:1; rev:1;)`, false},
		{`alert tls any any -> any any (msg:"x"; filemd5:md5.txt; sid:1; rev:1;)`, false},
		{`alert http any any -> any any (msg:"x"; dns.query; dataset:isset,d,type string,load d.lst; sid:1; rev:1;)`, false},
		{`alert http any any -> any any (msg:"x"; http.host; to_lowercase; content:"Evil.Example"; sid:1; rev:1;)`, false},
		{`alert dns any any -> any any (msg:"x"; dns.query; to_lowercase; content:"Evil"; sid:1; rev:1;)`, false},
		{`alert http any any -> any any (msg:"x"; http.uri; content:"/a;b"; sid:1; rev:1;)`, false},
		{`alert http any any -> any any (msg:"x"; http.uri; content:"/ab"; bsize:4; sid:1; rev:1;)`, false},
		{`alert dns any any -> any any (msg:"x"; dns.query; dataset:isset,d,load d.lst; sid:1; rev:1;)`, false},
		{`alert dns any any -> any any (msg:"x"; dns.query; dataset:isset,d,type string,load d.lst; rev:1;)`, false},
		{`alert ip [10.0.0.0/8,2001:db8::/32] any -> any 80 (msg:"x"; sid:1; rev:1;)`, true},
		{`alert ip [10.0.0.0/33] any -> any any (msg:"x"; sid:1; rev:1;)`, false},
		{`alert http any any -> any any (msg:"x" sid:1; rev:1;)`, false},
	} {
		r, err := parseSuricataRule(c.rule)
		if err == nil {
			err = r.check()
		}
		if (err == nil) != c.ok {
			t.Errorf("%s: error %v, want ok=%v", c.rule, err, c.ok)
		}
	}
}

// FuzzSuricataRule: the checker's parser never panics, and a rule it
// parses parses again to the same rule once written back.
func FuzzSuricataRule(f *testing.F) {
	f.Add(`alert http any any -> any 8081 (msg:"Parley: URL"; flow:established,to_server; http.host; to_lowercase; content:"evil.example"; bsize:12; http.uri; content:"/a|3B|b"; bsize:4; sid:1; rev:1;)`)
	f.Add(`alert dns any any -> any any (msg:"x\;y"; dns.query; to_lowercase; dataset:isset,d,type string,load d.lst; sid:1; rev:1;)`)
	f.Add(`alert ip [10.0.0.0/8] any -> any any (msg:"x"; sid:1;)`)
	f.Fuzz(func(t *testing.T, line string) {
		r, err := parseSuricataRule(line)
		if err != nil {
			return
		}
		_ = r.check()
		again, err := parseSuricataRule(r.String())
		if err != nil {
			t.Fatalf("%q written back as %q does not parse: %v", line, r.String(), err)
		}
		if again.String() != r.String() {
			t.Fatalf("round trip: %q then %q", r.String(), again.String())
		}
	})
}
