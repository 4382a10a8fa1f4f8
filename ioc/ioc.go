// Package ioc recognises indicator values written as plain text, one a
// line, as threat reports and blocklists publish them: IPv4 and IPv6
// addresses and CIDRs, domain names, URLs, MD5, SHA-1, SHA-256 and
// SHA-512 hashes and e-mail addresses, also in the defanged forms reports
// use so that nobody clicks them (hxxp://, example[.]com, 10(.)0(.)0(.)1,
// [:], user[@]example.com, user[at]example.com).
//
// Each recognised value has the MISP attribute type it would have in MISP
// ([Value.MISPType]), so that callers build one kind of indicator for
// lists, CSV files and MISP events alike.
package ioc

import (
	"net/netip"
	"net/url"
	"regexp"
	"strings"
)

// Kind is the kind of a recognised value.
type Kind string

// The kinds [Recognize] knows.
const (
	IPv4   Kind = "ipv4"
	IPv6   Kind = "ipv6"
	CIDR4  Kind = "ipv4-cidr"
	CIDR6  Kind = "ipv6-cidr"
	Domain Kind = "domain"
	URL    Kind = "url"
	MD5    Kind = "md5"
	SHA1   Kind = "sha1"
	SHA256 Kind = "sha256"
	SHA512 Kind = "sha512"
	Email  Kind = "email"
)

// Value is one recognised value, refanged and in canonical form (lower
// case for domains, hashes and e-mail domains; CIDRs masked).
type Value struct {
	Kind  Kind
	Value string
}

// MISPType is the MISP attribute type of the value: ip-dst for addresses
// and CIDRs, domain, url, md5, sha1, sha256, sha512, email.
func (v Value) MISPType() string {
	switch v.Kind {
	case IPv4, IPv6, CIDR4, CIDR6:
		return "ip-dst"
	case Email:
		return "email"
	}
	return string(v.Kind)
}

// MaxLine is the longest line [Recognize] looks at; longer ones are not
// values (a URL over 8 KiB is refused by most servers anyway).
const MaxLine = 8192

var refang = strings.NewReplacer(
	"[.]", ".", "(.)", ".", "{.}", ".", "[dot]", ".", "(dot)", ".",
	"[:]", ":", "[://]", "://", "[@]", "@", "[at]", "@", "(at)", "@",
)

// Refang undoes the defanging reports apply: hxxp and hxxps schemes
// (any case), and [.] (.) {.} [dot] [:] [://] [@] [at] (at).
func Refang(s string) string {
	s = refang.Replace(s)
	low := strings.ToLower(s)
	for _, p := range []struct{ from, to string }{{"hxxps", "https"}, {"hxxp", "http"}, {"fxp", "ftp"}} {
		if strings.HasPrefix(low, p.from+"://") {
			return p.to + s[len(p.from):]
		}
	}
	return s
}

// Clean strips what is not the value from a line: surrounding spaces, a
// comment from '#' at the line start or after a space, and quotes.
// It returns "" for blank and comment lines.
func Clean(line string) string {
	line = strings.TrimSpace(line)
	if strings.HasPrefix(line, "#") {
		return ""
	}
	for i := 1; i < len(line); i++ {
		if line[i] == '#' && (line[i-1] == ' ' || line[i-1] == '\t') {
			line = line[:i]
			break
		}
	}
	line = strings.TrimSpace(line)
	return strings.Trim(line, "\"'")
}

var (
	hexRE    = regexp.MustCompile(`^[0-9a-fA-F]+$`)
	labelRE  = regexp.MustCompile(`^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$`)
	tldRE    = regexp.MustCompile(`^([a-z]{2,63}|xn--[a-z0-9-]{1,59})$`)
	localRE  = regexp.MustCompile(`^[a-zA-Z0-9.!#$%&'*+/=?^_{|}~-]{1,64}$`)
	schemeOK = map[string]bool{"http": true, "https": true, "ftp": true, "ftps": true, "sftp": true, "ws": true, "wss": true}
)

// Recognize returns the value a cleaned line holds (see [Clean]), after
// refanging, and whether it is one of the known kinds.
func Recognize(s string) (Value, bool) {
	if s == "" || len(s) > MaxLine || strings.ContainsAny(s, " \t\r\n") {
		return Value{}, false
	}
	s = Refang(s)
	if a, err := netip.ParseAddr(s); err == nil && a.Zone() == "" {
		if a.Is4() {
			return Value{IPv4, a.String()}, true
		}
		if a.Is4In6() {
			return Value{IPv4, a.Unmap().String()}, true
		}
		return Value{IPv6, a.String()}, true
	}
	if p, err := netip.ParsePrefix(s); err == nil {
		if p.Addr().Is4() {
			return Value{CIDR4, p.Masked().String()}, true
		}
		return Value{CIDR6, p.Masked().String()}, true
	}
	if hexRE.MatchString(s) {
		switch len(s) {
		case 32:
			return Value{MD5, strings.ToLower(s)}, true
		case 40:
			return Value{SHA1, strings.ToLower(s)}, true
		case 64:
			return Value{SHA256, strings.ToLower(s)}, true
		case 128:
			return Value{SHA512, strings.ToLower(s)}, true
		}
	}
	if i := strings.Index(s, "://"); i > 0 {
		u, err := url.Parse(s)
		if err == nil && schemeOK[strings.ToLower(u.Scheme)] && u.Host != "" && validHost(u.Hostname()) {
			return Value{URL, s}, true
		}
		return Value{}, false
	}
	if local, domain, ok := strings.Cut(s, "@"); ok {
		d := strings.ToLower(domain)
		if localRE.MatchString(local) && !strings.HasPrefix(local, ".") && !strings.HasSuffix(local, ".") && isDomain(d) {
			return Value{Email, local + "@" + d}, true
		}
		return Value{}, false
	}
	if d := strings.ToLower(strings.TrimSuffix(s, ".")); isDomain(d) {
		return Value{Domain, d}, true
	}
	return Value{}, false
}

// isDomain reports whether d (lower case) is a host name with at least two
// labels and an alphabetic (or IDNA) top-level label.
func isDomain(d string) bool {
	if len(d) > 253 {
		return false
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if !labelRE.MatchString(l) {
			return false
		}
	}
	return tldRE.MatchString(labels[len(labels)-1])
}

func validHost(h string) bool {
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	return isDomain(strings.ToLower(h)) || h == "localhost"
}

// Pattern returns the STIX pattern of an address or CIDR, which a plain
// list gives without a direction: [ipv4-addr:value = '...'] (or
// ipv6-addr; ISSUBSET for a CIDR block, so that every address in it
// matches), where MISP's ip-dst would say network-traffic:dst_ref. It
// returns "" for the other kinds, whose MISP type's pattern says the
// same thing.
func (v Value) Pattern() string {
	switch v.Kind {
	case IPv4:
		return "[ipv4-addr:value = '" + v.Value + "']"
	case IPv6:
		return "[ipv6-addr:value = '" + v.Value + "']"
	case CIDR4:
		return "[ipv4-addr:value ISSUBSET '" + v.Value + "']"
	case CIDR6:
		return "[ipv6-addr:value ISSUBSET '" + v.Value + "']"
	}
	return ""
}
