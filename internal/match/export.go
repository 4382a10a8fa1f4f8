package match

import (
	"encoding/base64"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/parley-exchange/parley/pattern"
)

// ExportValue is one indicator value a sensor can match by itself.
type ExportValue struct {
	Attr  Attr
	Value string // normalised; a CIDR for ranges
	Range bool   // an ISSUBSET CIDR rather than an exact value
	Ind   *Indicator
}

// Unrepresentable names an indicator an export left out, and why.
type Unrepresentable struct {
	ID     string
	Reason string
}

// ExportValues extracts the values of the indicators that are a single
// observation expression made only of equality (=, IN) or ISSUBSET
// comparisons joined by OR, on the attributes the decoders know: what
// Zeek's intel framework and Suricata's datasets can match without STIX
// semantics. Everything else is listed as unrepresentable.
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
				v, ok := normalizeLiteral(a, l)
				if !ok {
					return fmt.Sprintf("%s is not a valid %s", l.String(), a)
				}
				*out = append(*out, ExportValue{Attr: a, Value: v, Ind: ind})
			}
			return ""
		case pattern.OpIsSubset:
			if (a == AttrIPv4 || a == AttrIPv6) && x.Value.Kind == pattern.LitString {
				if p, err := parsePrefixOrAddr(x.Value.Str); err == nil {
					*out = append(*out, ExportValue{Attr: a, Value: p.Masked().String(), Range: true, Ind: ind})
					return ""
				}
			}
			return "ISSUBSET of something other than an address range"
		}
		return "operator " + x.OperatorText()
	}
	return "unknown expression"
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

// zeekField makes a value safe for Zeek's tab-separated input: no tabs or
// line breaks, and "-" for empty.
func zeekField(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
	if s == "" {
		return "-"
	}
	return s
}

// WriteZeekIntel writes a Zeek intel framework file (Intel::read_files):
// the #fields header, then indicator, indicator_type, meta.source (the
// STIX indicator id) and meta.desc (its name). URLs are written without
// their scheme, as the framework expects. Values of attributes the
// framework has no type for are returned as unrepresentable.
func WriteZeekIntel(w io.Writer, vals []ExportValue) ([]Unrepresentable, error) {
	var bad []Unrepresentable
	var b strings.Builder
	b.WriteString("#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\n")
	for _, v := range vals {
		typ := zeekIntelType(v)
		if typ == "" {
			bad = append(bad, Unrepresentable{v.Ind.ID, "Zeek intel has no type for " + v.Attr.String()})
			continue
		}
		val := v.Value
		if v.Attr == AttrURL {
			if i := strings.Index(val, "://"); i >= 0 {
				val = val[i+3:]
			}
		}
		if strings.ContainsAny(val, "\t\n\r") {
			bad = append(bad, Unrepresentable{v.Ind.ID, "value contains a tab or line break"})
			continue
		}
		fmt.Fprintf(&b, "%s\t%s\t%s\t%s\n", val, typ, zeekField(v.Ind.ID), zeekField(v.Ind.Name))
	}
	_, err := io.WriteString(w, b.String())
	return bad, err
}

// SuricataFile is one file of a Suricata export.
type SuricataFile struct {
	Name string
	Data []byte
}

// SuricataDatasets returns Suricata 7 dataset files (domains as base64
// "string" sets, addresses as "ipv4" and "ip" sets, file digests as the
// hex lists filemd5/filesha1/filesha256 read) and a rules file that loads
// them (sids from sidBase). Values Suricata cannot match this way (URLs,
// ranges, e-mail, certificates) are returned as unrepresentable.
func SuricataDatasets(vals []ExportValue, sidBase int) ([]SuricataFile, []Unrepresentable) {
	sets := map[string]map[string]bool{}
	add := func(name, v string) {
		if sets[name] == nil {
			sets[name] = map[string]bool{}
		}
		sets[name][v] = true
	}
	var bad []Unrepresentable
	for _, v := range vals {
		switch {
		case v.Attr == AttrDomain:
			add("parley-domains.lst", base64.StdEncoding.EncodeToString([]byte(v.Value)))
		case v.Attr == AttrIPv4 && !v.Range:
			add("parley-ipv4.lst", v.Value)
		case v.Attr == AttrIPv6 && !v.Range:
			add("parley-ipv6.lst", v.Value)
		case v.Attr == AttrFileMD5:
			add("parley-md5.txt", v.Value)
		case v.Attr == AttrFileSHA1:
			add("parley-sha1.txt", v.Value)
		case v.Attr == AttrFileSHA256:
			add("parley-sha256.txt", v.Value)
		default:
			what := v.Attr.String()
			if v.Range {
				what = "address range"
			}
			bad = append(bad, Unrepresentable{v.Ind.ID, "Suricata datasets have no set for " + what})
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
	rule := func(proto, body, msg string) {
		fmt.Fprintf(&rules, "alert %s any any -> any any (msg:\"Parley indicator: %s\"; %s sid:%d; rev:1;)\n", proto, msg, body, sid)
		sid++
	}
	if sets["parley-domains.lst"] != nil {
		ds := "dataset:isset,parley-domains,type string,load parley-domains.lst;"
		rule("dns", "dns.query; "+ds, "DNS query for a listed domain")
		rule("tls", "tls.sni; "+ds, "TLS SNI of a listed domain")
		rule("http", "http.host; "+ds, "HTTP host of a listed domain")
	}
	if sets["parley-ipv4.lst"] != nil {
		rule("ip", "ip.dst; dataset:isset,parley-ipv4,type ipv4,load parley-ipv4.lst;", "traffic to a listed IPv4 address")
		rule("ip", "ip.src; dataset:isset,parley-ipv4,type ipv4,load parley-ipv4.lst;", "traffic from a listed IPv4 address")
	}
	if sets["parley-ipv6.lst"] != nil {
		rule("ip", "ip.dst; dataset:isset,parley-ipv6,type ip,load parley-ipv6.lst;", "traffic to a listed IPv6 address")
		rule("ip", "ip.src; dataset:isset,parley-ipv6,type ip,load parley-ipv6.lst;", "traffic from a listed IPv6 address")
	}
	for _, h := range []string{"md5", "sha1", "sha256"} {
		if sets["parley-"+h+".txt"] != nil {
			rule("any", fmt.Sprintf("file%s:parley-%s.txt;", h, h), "file with a listed "+strings.ToUpper(h))
		}
	}
	if rules.Len() > 0 {
		files = append(files, SuricataFile{"parley.rules", []byte(rules.String())})
	}
	return files, bad
}
