package private

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// defaultPorts are dropped from normalised URLs (RFC 3986 section 6.2.3).
var defaultPorts = map[string]string{"http": "80", "https": "443", "ftp": "21", "ws": "80", "wss": "443"}

// normalizeURL implements the URL rules documented on [Normalize]. It is
// written against RFC 3986 directly rather than net/url, whose
// re-encoding choices (RawPath, opaque forms) are not a normal form.
func normalizeURL(s string) (string, error) {
	colon := strings.IndexByte(s, ':')
	if colon <= 0 || !validScheme(s[:colon]) {
		return "", fmt.Errorf("%w: URL %q must be absolute (scheme:...)", ErrInvalidValue, s)
	}
	scheme := strings.ToLower(s[:colon])
	rest := s[colon+1:]

	var fragment, query string
	hasFragment, hasQuery := false, false
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		fragment, rest, hasFragment = rest[i+1:], rest[:i], true
	}
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		query, rest, hasQuery = rest[i+1:], rest[:i], true
	}

	var b strings.Builder
	b.WriteString(scheme)
	b.WriteByte(':')

	hasAuthority := strings.HasPrefix(rest, "//")
	path := rest
	if hasAuthority {
		authority := rest[2:]
		path = ""
		if i := strings.IndexByte(authority, '/'); i >= 0 {
			authority, path = authority[:i], authority[i:]
		}
		a, err := normalizeAuthority(scheme, authority)
		if err != nil {
			return "", fmt.Errorf("%w: URL %q: %v", ErrInvalidValue, s, err)
		}
		b.WriteString("//")
		b.WriteString(a)
	}

	p, err := normalizePercent(path)
	if err != nil {
		return "", fmt.Errorf("%w: URL %q: %v", ErrInvalidValue, s, err)
	}
	if hasAuthority || strings.HasPrefix(p, "/") {
		p = removeDotSegments(p)
	}
	if !hasAuthority && strings.HasPrefix(p, "//") {
		// Without an authority a path must not begin with "//", which
		// would read as one (RFC 3986 section 3.3); "/." before it keeps
		// the path, as WHATWG's URL serializer does, so that normalizing
		// again changes nothing.
		p = "/." + p
	}
	if hasAuthority && p == "" && defaultPorts[scheme] != "" {
		p = "/"
	}
	b.WriteString(p)
	if hasQuery {
		q, err := normalizePercent(query)
		if err != nil {
			return "", fmt.Errorf("%w: URL %q: %v", ErrInvalidValue, s, err)
		}
		b.WriteByte('?')
		b.WriteString(q)
	}
	if hasFragment {
		f, err := normalizePercent(fragment)
		if err != nil {
			return "", fmt.Errorf("%w: URL %q: %v", ErrInvalidValue, s, err)
		}
		b.WriteByte('#')
		b.WriteString(f)
	}
	return b.String(), nil
}

func validScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		alpha := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if !alpha && (i == 0 || !('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return s != ""
}

func normalizeAuthority(scheme, a string) (string, error) {
	var out strings.Builder
	if at := strings.LastIndexByte(a, '@'); at >= 0 {
		ui, err := normalizePercent(a[:at])
		if err != nil {
			return "", err
		}
		out.WriteString(ui)
		out.WriteByte('@')
		a = a[at+1:]
	}
	host, port := a, ""
	if strings.HasPrefix(a, "[") {
		end := strings.IndexByte(a, ']')
		if end < 0 {
			return "", fmt.Errorf("unterminated IP literal")
		}
		host, port = a[:end+1], a[end+1:]
		if port != "" && !strings.HasPrefix(port, ":") {
			return "", fmt.Errorf("junk after IP literal")
		}
		port = strings.TrimPrefix(port, ":")
		addr, err := netip.ParseAddr(host[1 : len(host)-1])
		if err != nil || !addr.Is6() || addr.Zone() != "" {
			return "", fmt.Errorf("invalid IPv6 literal %s", host)
		}
		host = "[" + addr.String() + "]"
	} else {
		if i := strings.LastIndexByte(a, ':'); i >= 0 {
			host, port = a[:i], a[i+1:]
		}
		switch {
		case host == "":
			if defaultPorts[scheme] != "" {
				return "", fmt.Errorf("no host")
			}
		default:
			if addr, err := netip.ParseAddr(host); err == nil && addr.Is4() {
				host = addr.String()
				break
			}
			d, err := normalizeDomain(host)
			if err != nil {
				return "", err
			}
			host = d
		}
	}
	out.WriteString(host)
	if port != "" {
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil {
			return "", fmt.Errorf("invalid port %q", port)
		}
		port = strconv.FormatUint(n, 10)
		if port != defaultPorts[scheme] {
			out.WriteByte(':')
			out.WriteString(port)
		}
	}
	return out.String(), nil
}

// normalizePercent decodes percent-encoded unreserved characters, upper-
// cases the hex of the others and percent-encodes (as UTF-8 bytes) every
// byte RFC 3986 does not allow in a URI, a '%' that starts no escape
// included.
func normalizePercent(s string) (string, error) {
	const hexUpper = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%' && (i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2])):
			// A '%' that starts no escape is the byte itself, which a URI
			// may hold only percent-encoded: sensors log such request
			// targets as they came ("/%", "/%zz"), and an indicator must be
			// able to name them. "%25" also reads back as itself, so the
			// form stays a fixed point.
			b.WriteString("%25")
		case c == '%':
			v := unhex(s[i+1])<<4 | unhex(s[i+2])
			if isUnreserved(v) {
				b.WriteByte(v)
			} else {
				b.WriteByte('%')
				b.WriteByte(hexUpper[v>>4])
				b.WriteByte(hexUpper[v&15])
			}
			i += 2
		case isUnreserved(c) || strings.IndexByte(":/?#[]@!$&'()*+,;=", c) >= 0:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexUpper[c>>4])
			b.WriteByte(hexUpper[c&15])
		}
	}
	return b.String(), nil
}

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// removeDotSegments is the algorithm of RFC 3986 section 5.2.4.
func removeDotSegments(in string) string {
	var out []string // output segments, each starting with "/" except maybe the first
	for in != "" {
		switch {
		case strings.HasPrefix(in, "../"):
			in = in[3:]
		case strings.HasPrefix(in, "./"):
			in = in[2:]
		case strings.HasPrefix(in, "/./"):
			in = in[2:]
		case in == "/.":
			in = "/"
		case strings.HasPrefix(in, "/../"):
			in = in[3:]
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		case in == "/..":
			in = "/"
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		case in == "." || in == "..":
			in = ""
		default:
			start := 0
			if in[0] == '/' {
				start = 1
			}
			end := strings.IndexByte(in[start:], '/')
			if end < 0 {
				end = len(in)
			} else {
				end += start
			}
			out = append(out, in[:end])
			in = in[end:]
		}
	}
	return strings.Join(out, "")
}
