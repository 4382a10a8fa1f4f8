package private

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// The observable types that [Normalize] accepts. They are STIX 2.1 cyber
// observable type names; the value forms are those of the observable's
// main property (file: a hash, see [Normalize]).
const (
	TypeDomainName = "domain-name"
	TypeIPv4       = "ipv4-addr"
	TypeIPv6       = "ipv6-addr"
	TypeURL        = "url"
	TypeEmail      = "email-addr"
	TypeFile       = "file"
	TypeMAC        = "mac-addr"
)

// Errors returned by [Normalize] and [ParseLine]; callers branch on them
// with errors.Is.
var (
	// ErrUnsupportedType is returned for an observable type that private
	// sets do not carry.
	ErrUnsupportedType = errors.New("unsupported observable type")
	// ErrInvalidValue is returned for a value that is not a valid value of
	// its type.
	ErrInvalidValue = errors.New("invalid value")
)

// hashAlgorithms maps the accepted spellings of a hash algorithm (lower
// case, with and without the dash) to the STIX 2.1 hash-algorithm-ov name,
// and gives the hex length of each digest (0: not fixed-length hex).
var hashAlgorithms = map[string]string{
	"md5":      "MD5",
	"sha-1":    "SHA-1",
	"sha1":     "SHA-1",
	"sha-256":  "SHA-256",
	"sha256":   "SHA-256",
	"sha-512":  "SHA-512",
	"sha512":   "SHA-512",
	"sha3-256": "SHA3-256",
	"sha3256":  "SHA3-256",
	"sha3-512": "SHA3-512",
	"sha3512":  "SHA3-512",
}

var hashHexLen = map[string]int{
	"MD5": 32, "SHA-1": 40, "SHA-256": 64, "SHA-512": 128, "SHA3-256": 64, "SHA3-512": 128,
}

// HashAlgorithm returns the STIX 2.1 hash-algorithm-ov name ("SHA-256")
// for a spelling such as "sha256", "SHA256" or "SHA-256", and false for an
// algorithm private sets do not carry. Pattern paths such as
// file:hashes.'SHA-256' use the STIX name directly.
func HashAlgorithm(name string) (string, bool) {
	alg, ok := hashAlgorithms[strings.ToLower(strings.TrimSpace(name))]
	return alg, ok
}

// domainProfile maps a domain name to its ASCII (A-label) form: UTS #46
// mapping for lookup (which lower-cases and maps compatibility
// characters), non-transitional processing as IDNA 2008 browsers do. It is
// deliberately not strict about the letters-digits-hyphen rule, because
// malicious names use underscores and other registrable oddities that an
// indicator must still be able to name.
var domainProfile = idna.New(
	idna.MapForLookup(),
	idna.Transitional(false),
	idna.StrictDomainName(false),
	idna.BidiRule(),
)

// Normalize returns the canonical form of an observable value of the given
// STIX type, so that the same observable always yields the same bytes and
// so the same private-set tag. It is a pure function. The rules:
//
//   - domain-name: IDNA (UTS #46, non-transitional) to the ASCII A-label
//     form, lower case, without a trailing dot; "Bücher.Example." becomes
//     "xn--bcher-kva.example". Empty labels, labels over 63 octets and
//     names over 253 octets are refused.
//   - ipv4-addr: dotted quad (leading zeros refused, as by net/netip); a
//     CIDR is masked to its network ("10.1.2.3/8" becomes "10.0.0.0/8") and
//     a /32 becomes the bare address.
//   - ipv6-addr: RFC 5952 text (lower case, longest zero run compressed);
//     a /128 becomes the bare address, other prefixes are masked. Zones and
//     IPv4 addresses are refused.
//   - url: RFC 3986 section 6.2.2 syntax-based normalisation (scheme and
//     host lower case, percent-encodings upper case, percent-encoded
//     unreserved characters decoded, dot segments removed), the host
//     normalised as a domain-name (or an IP literal), characters outside
//     RFC 3986 percent-encoded as UTF-8 (a "%" not followed by two hex
//     digits included: "/%zz" becomes "/%25zz"), and for http/https/ftp the
//     default port dropped and an empty path written "/". A URL must be
//     absolute (have a scheme).
//   - email-addr: the local part kept as given (it is case-sensitive per
//     RFC 5321), the domain normalised as a domain-name.
//   - file: "ALG=HEX" with ALG the STIX hash-algorithm-ov name (MD5, SHA-1,
//     SHA-256, SHA-512, SHA3-256, SHA3-512; spellings such as "sha256" are
//     accepted, see [HashAlgorithm]) and HEX lower case of the digest's exact
//     length. A bare hex digest is accepted and its algorithm inferred from
//     its length (32: MD5, 40: SHA-1, 64: SHA-256, 128: SHA-512).
//   - mac-addr: six colon-separated lower-case hex octets, as STIX 2.1
//     requires ("-" and "." separated forms are accepted).
//
// Surrounding white space is trimmed. An unknown type wraps
// [ErrUnsupportedType]; a bad value wraps [ErrInvalidValue].
func Normalize(typ, value string) (string, error) {
	value = strings.TrimSpace(value)
	if !utf8.ValidString(value) {
		return "", fmt.Errorf("%w: %s value is not valid UTF-8", ErrInvalidValue, typ)
	}
	if value == "" {
		return "", fmt.Errorf("%w: empty %s", ErrInvalidValue, typ)
	}
	switch typ {
	case TypeDomainName:
		return normalizeDomain(value)
	case TypeIPv4:
		return normalizeIP(value, true)
	case TypeIPv6:
		return normalizeIP(value, false)
	case TypeURL:
		return normalizeURL(value)
	case TypeEmail:
		return normalizeEmail(value)
	case TypeFile:
		return normalizeFileHash(value)
	case TypeMAC:
		return normalizeMAC(value)
	default:
		return "", fmt.Errorf("%w: %q", ErrUnsupportedType, typ)
	}
}

// ParseLine parses one "type:value" line (such as "domain-name:evil.example"
// or "file:SHA-256=…") and returns the type, the normalised value and the
// canonical line "type:value" that private sets evaluate. The type is
// matched case-insensitively.
func ParseLine(line string) (typ, value, canonical string, err error) {
	line = strings.TrimSpace(line)
	t, v, ok := strings.Cut(line, ":")
	if !ok {
		return "", "", "", fmt.Errorf("%w: %q is not of the form type:value", ErrInvalidValue, line)
	}
	t = strings.ToLower(strings.TrimSpace(t))
	v, err = Normalize(t, v)
	if err != nil {
		return "", "", "", err
	}
	return t, v, t + ":" + v, nil
}

func normalizeDomain(s string) (string, error) {
	s = strings.TrimSuffix(s, ".")
	a, err := domainProfile.ToASCII(s)
	if err != nil {
		return "", fmt.Errorf("%w: domain name %q: %v", ErrInvalidValue, s, err)
	}
	a = strings.ToLower(a)
	// An A-label that does not decode back to a valid U-label (such as the
	// encoding of U+FFFD) is not a name: accept only fixed points.
	if again, err := domainProfile.ToASCII(a); err != nil || again != a {
		return "", fmt.Errorf("%w: domain name %q is not a valid IDNA name", ErrInvalidValue, s)
	}
	if len(a) == 0 || len(a) > 253 {
		return "", fmt.Errorf("%w: domain name %q has an invalid length", ErrInvalidValue, s)
	}
	for _, label := range strings.Split(a, ".") {
		if len(label) == 0 || len(label) > 63 {
			return "", fmt.Errorf("%w: domain name %q has an empty or over-long label", ErrInvalidValue, s)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if c <= ' ' || c >= 0x7f || strings.IndexByte("/\\@:?#[]%\"'<>", c) >= 0 {
				return "", fmt.Errorf("%w: domain name %q contains %q", ErrInvalidValue, s, c)
			}
		}
	}
	return a, nil
}

func normalizeIP(s string, v4 bool) (string, error) {
	kind := "IPv6"
	if v4 {
		kind = "IPv4"
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return "", fmt.Errorf("%w: %s prefix %q: %v", ErrInvalidValue, kind, s, err)
		}
		if p.Addr().Is4() != v4 {
			return "", fmt.Errorf("%w: %q is not an %s prefix", ErrInvalidValue, s, kind)
		}
		p = p.Masked()
		if p.IsSingleIP() {
			return p.Addr().String(), nil
		}
		return p.String(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return "", fmt.Errorf("%w: %s address %q: %v", ErrInvalidValue, kind, s, err)
	}
	if a.Is4() != v4 || a.Zone() != "" {
		return "", fmt.Errorf("%w: %q is not an %s address", ErrInvalidValue, s, kind)
	}
	return a.String(), nil
}

func normalizeEmail(s string) (string, error) {
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return "", fmt.Errorf("%w: email address %q needs a local part and a domain", ErrInvalidValue, s)
	}
	local := s[:at]
	for _, r := range local {
		if r <= ' ' || r == 0x7f {
			return "", fmt.Errorf("%w: email address %q has a space or control character", ErrInvalidValue, s)
		}
	}
	d, err := normalizeDomain(s[at+1:])
	if err != nil {
		return "", err
	}
	return local + "@" + d, nil
}

func normalizeFileHash(s string) (string, error) {
	alg, digest, ok := strings.Cut(s, "=")
	if ok {
		a, known := HashAlgorithm(strings.Trim(strings.TrimSpace(alg), "'\""))
		if !known {
			return "", fmt.Errorf("%w: hash algorithm %q", ErrUnsupportedType, alg)
		}
		alg = a
	} else {
		digest = s
		switch len(s) {
		case 32:
			alg = "MD5"
		case 40:
			alg = "SHA-1"
		case 64:
			alg = "SHA-256"
		case 128:
			alg = "SHA-512"
		default:
			return "", fmt.Errorf("%w: file hash %q: give it as ALG=HEX", ErrInvalidValue, s)
		}
	}
	digest = strings.ToLower(strings.TrimSpace(digest))
	if len(digest) != hashHexLen[alg] {
		return "", fmt.Errorf("%w: %s digest must be %d hex digits, got %d", ErrInvalidValue, alg, hashHexLen[alg], len(digest))
	}
	for i := 0; i < len(digest); i++ {
		if !isHex(digest[i]) {
			return "", fmt.Errorf("%w: %s digest %q is not hex", ErrInvalidValue, alg, digest)
		}
	}
	return alg + "=" + digest, nil
}

func normalizeMAC(s string) (string, error) {
	var hexdigits []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isHex(c):
			hexdigits = append(hexdigits, lowerASCII(c))
		case c == ':' || c == '-' || c == '.':
		default:
			return "", fmt.Errorf("%w: MAC address %q", ErrInvalidValue, s)
		}
	}
	if len(hexdigits) != 12 {
		return "", fmt.Errorf("%w: MAC address %q must have 6 octets", ErrInvalidValue, s)
	}
	var b strings.Builder
	for i := 0; i < 12; i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.Write(hexdigits[i : i+2])
	}
	return b.String(), nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
