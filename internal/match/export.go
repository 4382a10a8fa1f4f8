package match

import (
	"fmt"
	"io"
	"net/netip"
	neturl "net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/parley-exchange/parley/pattern"
	"github.com/parley-exchange/parley/private"
)

// ExportValue is one indicator value a sensor can match by itself.
type ExportValue struct {
	Attr Attr
	// Value is normalised as the matcher normalises it (an IPv4-mapped
	// IPv6 address is an AttrIPv4 value, as the decoders treat it); a
	// CIDR for ranges.
	Value string
	// Raw is the literal as the pattern gives it. URL exports start from
	// it rather than from Value, because the matcher's normal form
	// (upper-case percent-encodings, say) is not what a sensor logs.
	Raw   string
	Range bool // an ISSUBSET CIDR rather than an exact value
	Ind   *Indicator
}

// MinExportPrefixIPv4 and MinExportPrefixIPv6 are the broadest address
// ranges (ISSUBSET) an export writes: a sensor that loads a rule or an
// intel row for 0.0.0.0/0, or any range as broad as a share of the
// address space no one actor holds (the largest single allocations are
// about an IPv4 /8 and an IPv6 /19), alerts on nearly every packet, which
// a rival member could publish to flood the sensors of every member that
// exports the collection. Broader ranges are listed as not representable;
// parley match still evaluates them (it counts one sighting per indicator
// per flush, not one per event).
const (
	MinExportPrefixIPv4 = 8
	MinExportPrefixIPv6 = 19
)

// Unrepresentable names an indicator an export left out, and why.
type Unrepresentable struct {
	ID     string
	Reason string
}

// ExportValues extracts the values of the indicators that are a single
// observation expression made only of equality (=, IN) or ISSUBSET
// comparisons joined by OR, on the attributes the decoders know: what
// Zeek's intel framework and Suricata's datasets can match without STIX
// semantics. Everything else is listed as unrepresentable, with the
// reason: a qualifier or several observations, AND, LIKE, MATCHES,
// ordering comparisons, negation, and values that only look like what
// they claim to be (a domain-name with a "*" label, which STIX compares
// literally and an author meant as a wildcard; a domain-name that is an
// IP address).
func ExportValues(inds []*Indicator) ([]ExportValue, []Unrepresentable) {
	var vals []ExportValue
	var bad []Unrepresentable
	for _, ind := range inds {
		if ind.PatternType != "" && ind.PatternType != "stix" {
			bad = append(bad, Unrepresentable{ind.ID, "pattern_type " + ind.PatternType})
			continue
		}
		p, err := pattern.Parse(ind.Pattern)
		if err != nil {
			bad = append(bad, Unrepresentable{ind.ID, "invalid pattern: " + err.Error()})
			continue
		}
		root := p.Root
		for {
			g, ok := root.(*pattern.Group)
			if !ok {
				break
			}
			root = g.Expr
		}
		obs, ok := root.(*pattern.Simple)
		if !ok {
			bad = append(bad, Unrepresentable{ind.ID, "needs more than one observation or a qualifier"})
			continue
		}
		var got []ExportValue
		if reason := exportComparisons(obs.Comparison, ind, &got); reason != "" {
			bad = append(bad, Unrepresentable{ind.ID, reason})
			continue
		}
		vals = append(vals, got...)
	}
	return vals, bad
}

func exportComparisons(e pattern.ComparisonExpr, ind *Indicator, out *[]ExportValue) string {
	switch x := e.(type) {
	case *pattern.ComparisonGroup:
		return exportComparisons(x.Expr, ind, out)
	case *pattern.ComparisonOp:
		if x.Op != pattern.CompOr {
			return "an AND of comparisons"
		}
		if r := exportComparisons(x.Left, ind, out); r != "" {
			return r
		}
		return exportComparisons(x.Right, ind, out)
	case *pattern.Comparison:
		attrs, exact := pathAttrs(x.Path)
		if !exact || len(attrs) != 1 {
			return "path " + x.Path.String() + " is not a plain observable value"
		}
		a := attrs[0]
		if x.Negated {
			return "a negated comparison"
		}
		switch x.Op {
		case pattern.OpEqual, pattern.OpIn:
			lits := x.Set
			if x.Op == pattern.OpEqual {
				lits = []pattern.Literal{x.Value}
			}
			for _, l := range lits {
				v, reason := exportLiteral(a, l)
				if reason != "" {
					return reason
				}
				v.Ind = ind
				*out = append(*out, v)
			}
			return ""
		case pattern.OpIsSubset:
			if (a == AttrIPv4 || a == AttrIPv6) && x.Value.Kind == pattern.LitString {
				if p, err := parsePrefixOrAddr(x.Value.Str); err == nil && p.Addr().Zone() == "" {
					p = unmapPrefix(p.Masked())
					a, least := AttrIPv6, MinExportPrefixIPv6
					if p.Addr().Is4() {
						a, least = AttrIPv4, MinExportPrefixIPv4
					}
					if p.Bits() < least {
						return fmt.Sprintf("address range %s is broader than /%d: exported, it would alert on a large share of all traffic (one member's indicator flooding every sensor that loads the export)", p, least)
					}
					*out = append(*out, ExportValue{Attr: a, Value: p.String(), Raw: x.Value.Str, Range: !p.IsSingleIP(), Ind: ind})
					if p.IsSingleIP() {
						(*out)[len(*out)-1].Value = p.Addr().String()
					}
					return ""
				}
			}
			return "ISSUBSET of something other than an address range"
		}
		return "operator " + x.OperatorText()
	}
	return "unknown expression"
}

// exportLiteral normalises one literal of an equality, or says why it
// cannot be exported.
func exportLiteral(a Attr, l pattern.Literal) (ExportValue, string) {
	if (a == AttrIPv6 || a == AttrIPv4) && l.Kind == pattern.LitString {
		// The decoders read "::ffff:10.0.0.2" as 10.0.0.2; so does the
		// export, which puts it with the IPv4 addresses.
		if ad, err := netip.ParseAddr(l.Str); err == nil && ad.Is4In6() && ad.Zone() == "" {
			return ExportValue{Attr: AttrIPv4, Value: ad.Unmap().String(), Raw: l.Str}, ""
		}
	}
	if (a == AttrIPv6 || a == AttrIPv4) && l.Kind == pattern.LitString && isBlock(l.Str) {
		// A valid ipv4-addr:value (STIX 2.1 allows a CIDR block), but "="
		// compares it as a string: no sensor's single address equals it,
		// and exporting the block would match every address in it.
		return ExportValue{}, blockByEquality(l.Str).Error()
	}
	v, ok := normalizeLiteral(a, l)
	if !ok {
		return ExportValue{}, fmt.Sprintf("%s is not a valid %s", l.String(), a)
	}
	if a == AttrDomain {
		if strings.Contains(v, "*") {
			return ExportValue{}, fmt.Sprintf("domain-name %s has a wildcard label, which STIX equality and the sensors compare literally", l.String())
		}
		if _, err := netip.ParseAddr(v); err == nil {
			return ExportValue{}, fmt.Sprintf("domain-name %s is an IP address", l.String())
		}
	}
	return ExportValue{Attr: a, Value: v, Raw: l.Str}, ""
}

// zeekIntelType maps attributes to Zeek's Intel::Type.
func zeekIntelType(v ExportValue) string {
	switch v.Attr {
	case AttrIPv4, AttrIPv6:
		if v.Range {
			return "Intel::SUBNET"
		}
		return "Intel::ADDR"
	case AttrDomain:
		return "Intel::DOMAIN"
	case AttrURL:
		return "Intel::URL"
	case AttrEmail:
		return "Intel::EMAIL"
	case AttrFileMD5, AttrFileSHA1, AttrFileSHA256:
		return "Intel::FILE_HASH"
	case AttrFileName:
		return "Intel::FILE_NAME"
	case AttrX509SHA1:
		return "Intel::CERT_HASH"
	case AttrHTTPUserAgent:
		return "Intel::SOFTWARE"
	}
	return ""
}

// zeekField writes a string field of Zeek's tab-separated input as the
// Input framework reads it back: its ASCII reader passes every string
// field through get_unescaped_string, which turns \xHH into the byte, and
// takes a lone "-" for an unset field. So a backslash is written \x5c
// (else "\x41" in a value would be read as "A"), and so are a tab, a line
// break, other control bytes and bytes that are not UTF-8; "-" is \x2d,
// and an empty value is "-" (unset). A leading '#' is \x23: the reader
// skips a line that starts with '#' as a header or comment. C1 controls,
// bidi controls (U+202E and the like) and U+2028/U+2029 have each of
// their UTF-8 bytes escaped the same way: Zeek reads back the same
// bytes, and the file, which export prints on stdout by default, cannot
// reorder or drive the terminal that shows it.
func zeekField(s string) string {
	if s == "" {
		return "-"
	}
	if s == "-" {
		return `\x2d`
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == '\\' || r == '#' && i == 0 || r < 0x20 || r == 0x7f || (r == utf8.RuneError && n == 1) {
			fmt.Fprintf(&b, `\x%02x`, s[i])
		} else if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == 0x2028 || r == 0x2029 {
			// A C1 control, a bidi control or a Unicode line break:
			// all of its bytes escaped, which Zeek reads back as the
			// same bytes, so that the file (printed on a terminal by
			// default) can neither drive nor reorder what shows it.
			for j := range n {
				fmt.Fprintf(&b, `\x%02x`, s[i+j])
			}
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// ZeekIntelHeader is the first line of [WriteZeekIntel]'s output: the
// fields Intel::read_files needs (indicator, indicator_type, meta.source)
// and the optional meta.desc, tab-separated.
const ZeekIntelHeader = "#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\n"

// WriteZeekIntel writes a Zeek intel framework file (Intel::read_files):
// [ZeekIntelHeader], then per value its indicator, Intel::Type,
// meta.source (the STIX indicator id) and meta.desc (its name).
//
// The indicators are written as Zeek's seen scripts produce them, since
// the framework compares exact (lower-cased) strings: addresses in
// netip's text (IPv4-mapped addresses as IPv4, which is how Zeek prints
// them), subnets masked, domains lower case without the trailing dot. A
// URL is what HTTP::build_url returns: for a request in origin form, the
// Host header (which Zeek cuts at its first colon, so IPv6 literal hosts
// are unrepresentable), ":port" unless the port is 80, and the request target as
// Zeek logs it (percent-decoded, no fragment, no user info, no dot
// segments since clients remove them before sending), with no
// scheme; for a request through a proxy (absolute form), the request
// target itself, scheme included. Both lines are written for each http
// URL. Zeek's HTTP analyser does not see https (or ftp) URLs, so they are
// unrepresentable, and so are values of attributes the framework has no
// type for. Every field is escaped as [zeekField] says, so that Zeek
// reads back the bytes its seen scripts compare.
func WriteZeekIntel(w io.Writer, vals []ExportValue) ([]Unrepresentable, error) {
	var bad []Unrepresentable
	var b strings.Builder
	b.WriteString(ZeekIntelHeader)
	seen := map[[3]string]bool{}
	for _, v := range vals {
		typ := zeekIntelType(v)
		if typ == "" {
			bad = append(bad, Unrepresentable{v.Ind.ID, "Zeek intel has no type for " + v.Attr.String()})
			continue
		}
		lines := []string{v.Value}
		if v.Attr == AttrURL {
			var reason string
			if lines, reason = zeekURLs(v.Raw); reason != "" {
				bad = append(bad, Unrepresentable{v.Ind.ID, reason})
				continue
			}
		}
		for _, val := range lines {
			if val == "" {
				bad = append(bad, Unrepresentable{v.Ind.ID, "value is empty"})
				continue
			}
			// The framework keeps one meta data record per meta.source
			// for an indicator and type, so every indicator that names
			// the value gets its line, and intel.log's sources name each
			// of them; the same indicator's duplicates are written once.
			k := [3]string{strings.ToLower(val), typ, v.Ind.ID}
			if seen[k] {
				continue
			}
			seen[k] = true
			fmt.Fprintf(&b, "%s\t%s\t%s\t%s\n", zeekField(val), typ, zeekField(v.Ind.ID), zeekField(v.Ind.Name))
		}
	}
	_, err := io.WriteString(w, b.String())
	return bad, err
}

// sensorURL is a URL split into what an HTTP request puts on the wire.
type sensorURL struct {
	scheme   string
	host     string // lower case, no port, IPv6 without brackets
	port     int    // explicit or the scheme's default
	explicit bool   // the URL named its port
	target   string // path and query as sent (still percent-encoded), "/" if empty
}

// splitURL parses an absolute http(s) URL as a client would send it.
func splitURL(raw string) (sensorURL, string) {
	u, err := neturl.Parse(strings.TrimSpace(raw))
	if err != nil || !u.IsAbs() || u.Opaque != "" || u.Host == "" {
		return sensorURL{}, fmt.Sprintf("url %q is not an absolute URL with a host", raw)
	}
	s := sensorURL{scheme: strings.ToLower(u.Scheme), host: strings.ToLower(u.Hostname())}
	if !isASCII(s.host) {
		// A client sends an internationalised name as its A-label
		// (IDNA), in the Host header and in a proxy request's target
		// alike: "bücher.example" is "xn--bcher-kva.example" on the wire.
		a, err := private.Normalize(private.TypeDomainName, s.host)
		if err != nil {
			return sensorURL{}, fmt.Sprintf("url %q: its host is not a valid internationalised domain name", raw)
		}
		if strings.HasSuffix(s.host, ".") {
			a += "."
		}
		s.host = a
	}
	switch s.scheme {
	case "http":
		s.port = 80
	case "https":
		s.port = 443
	default:
		return sensorURL{}, fmt.Sprintf("url %q: the sensors see no %s URLs", raw, s.scheme)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 || n > 65535 {
			return sensorURL{}, fmt.Sprintf("url %q has an invalid port", raw)
		}
		s.port, s.explicit = n, n != s.port
	}
	s.target = u.EscapedPath()
	if s.target == "" {
		s.target = "/"
	}
	if u.RawQuery != "" || u.ForceQuery {
		s.target += "?" + u.RawQuery
	}
	return s, ""
}

// hostPort writes host[:port] as a Host header or authority carries it.
func (s sensorURL) hostPort(withPort bool) string {
	h := s.host
	if strings.Contains(h, ":") {
		h = "[" + h + "]"
	}
	if withPort {
		h += ":" + strconv.Itoa(s.port)
	}
	return h
}

// zeekURLs returns the strings HTTP::build_url yields for requests of
// the URL: origin form and absolute (proxy) form.
func zeekURLs(raw string) ([]string, string) {
	s, reason := splitURL(raw)
	if reason != "" {
		return nil, reason
	}
	if s.scheme != "http" {
		return nil, fmt.Sprintf("url %q: Zeek's HTTP analyser does not see https; export its domain instead", raw)
	}
	if strings.Contains(s.host, ":") {
		// Zeek keeps the Host header up to its first ':' (to drop a
		// port), which cuts an IPv6 literal: "[2001".
		return nil, fmt.Sprintf("url %q: Zeek cuts an IPv6 literal Host header at its first colon", raw)
	}
	// A client removes dot segments before it sends the request.
	path, query, hasQuery := strings.Cut(s.target, "?")
	target := removeDotSegments(percentDecode(path))
	if hasQuery {
		target += "?" + percentDecode(query)
	}
	direct := s.hostPort(s.port != 80) + target
	proxied := "http://" + s.hostPort(s.explicit) + target
	return []string{direct, proxied}, ""
}

// percentDecode decodes %XX escapes as Zeek's unescape_URI and libhtp's
// path decoding do; a '%' not followed by two hex digits stays.
func percentDecode(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHexDigit(s[i+1]) && isHexDigit(s[i+2]) {
			n, _ := strconv.ParseUint(s[i+1:i+3], 16, 8)
			b.WriteByte(byte(n))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
