package tlog

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Kinds of log entry. An object entry has no "kind" member in its JSON, so
// object entries are exactly the documents DESIGN.md describes; other kinds
// name themselves.
const (
	// KindObject is one accepted STIX object version. Its JSON omits "kind".
	KindObject = ""
	// KindOPRFKey commits a private set's OPRF public key: ObjectID is the
	// private set's id, Version the time the key was made (RFC 3339),
	// Collection the collection the set was built from, Member its
	// provider, and Commitment is [KeyCommitment] of the suite and the
	// serialized public key (no salt: the key is public).
	KindOPRFKey = "oprf-key"
)

// SaltSize is the size in bytes of a commitment salt.
const SaltSize = 32

// ErrMalformedEntry is returned (wrapped) by [ParseEntry] and
// [Entry.Marshal] for an entry that is not valid canonical entry JSON.
var ErrMalformedEntry = errors.New("malformed log entry")

// Entry is one log entry: the leaf data of the Merkle tree is exactly
// [Entry.Marshal]'s output.
type Entry struct {
	// Kind is [KindObject] ("") for an object version, or another Kind*.
	Kind string
	// ObjectID is the STIX id of the object (or the subject of another kind).
	ObjectID string
	// Version is the object's "modified" timestamp exactly as in the object.
	Version string
	// Collection is the TAXII collection id the object was shared into.
	Collection string
	// Member is the STIX identity id of the member that shared it.
	Member string
	// Received is when the node accepted the submission. It is encoded in
	// UTC with RFC 3339 (nanoseconds, trailing zeros trimmed).
	Received time.Time
	// Commitment is the lowercase hex SHA-256 from [Commitment].
	Commitment string
}

// NewSalt reads a fresh commitment salt of [SaltSize] bytes from r (use
// crypto/rand.Reader outside tests).
func NewSalt(r io.Reader) ([]byte, error) {
	salt := make([]byte, SaltSize)
	if _, err := io.ReadFull(r, salt); err != nil {
		return nil, fmt.Errorf("couldn't read salt: %w", err)
	}
	return salt, nil
}

// Commitment returns the lowercase hex SHA-256 of salt ‖ canonicalObject,
// where canonicalObject is the RFC 8785 canonical JSON of the object
// exactly as stored (signature extension included).
func Commitment(salt, canonicalObject []byte) string {
	h := sha256.New()
	h.Write(salt)
	h.Write(canonicalObject)
	return hex.EncodeToString(h.Sum(nil))
}

// KeyCommitment returns the commitment of a [KindOPRFKey] entry: the
// lowercase hex SHA-256 of "parley-oprf-key-v1\n" ‖ suite ‖ "\n" ‖ publicKey.
func KeyCommitment(suite string, publicKey []byte) string {
	h := sha256.New()
	h.Write([]byte("parley-oprf-key-v1\n"))
	h.Write([]byte(suite))
	h.Write([]byte("\n"))
	h.Write(publicKey)
	return hex.EncodeToString(h.Sum(nil))
}

// Marshal returns the entry's leaf bytes: RFC 8785 canonical JSON (members
// sorted, no insignificant white space). It fails with [ErrMalformedEntry]
// if a required field is empty, the commitment is not 64 lowercase hex
// digits, a string is not valid UTF-8, or Received is outside years
// 0000–9999.
func (e Entry) Marshal() ([]byte, error) {
	if err := e.check(); err != nil {
		return nil, err
	}
	// Members in RFC 8785 order (UTF-16 code unit order equals byte order
	// for these ASCII names).
	b := make([]byte, 0, 256)
	b = append(b, '{')
	b = appendMember(b, "collection", e.Collection, false)
	b = appendMember(b, "commitment", e.Commitment, true)
	if e.Kind != KindObject {
		b = appendMember(b, "kind", e.Kind, true)
	}
	b = appendMember(b, "member", e.Member, true)
	b = appendMember(b, "object_id", e.ObjectID, true)
	b = appendMember(b, "received", formatTime(e.Received), true)
	b = appendMember(b, "version", e.Version, true)
	b = append(b, '}')
	return b, nil
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func (e Entry) check() error {
	for _, f := range []struct{ name, v string }{
		{"object_id", e.ObjectID}, {"version", e.Version}, {"collection", e.Collection},
		{"member", e.Member}, {"commitment", e.Commitment},
	} {
		if f.v == "" {
			return fmt.Errorf("%w: %s is empty", ErrMalformedEntry, f.name)
		}
	}
	for _, s := range []string{e.Kind, e.ObjectID, e.Version, e.Collection, e.Member} {
		if !utf8.ValidString(s) {
			return fmt.Errorf("%w: invalid UTF-8", ErrMalformedEntry)
		}
	}
	if !isLowerHex(e.Commitment, 64) {
		return fmt.Errorf("%w: commitment is not 64 lowercase hex digits", ErrMalformedEntry)
	}
	if y := e.Received.UTC().Year(); y < 0 || y > 9999 {
		return fmt.Errorf("%w: received time out of range", ErrMalformedEntry)
	}
	return nil
}

func isLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func appendMember(b []byte, name, value string, comma bool) []byte {
	if comma {
		b = append(b, ',')
	}
	b = appendString(b, name)
	b = append(b, ':')
	return appendString(b, value)
}

// appendString writes s as an RFC 8785 JSON string: only '"', '\\' and
// control characters are escaped, the latter with the short forms where
// ECMAScript has them and \u00xx (lowercase) otherwise.
func appendString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			b = append(b, '\\', '"')
		case c == '\\':
			b = append(b, '\\', '\\')
		case c >= 0x20:
			b = append(b, c)
		case c == '\b':
			b = append(b, '\\', 'b')
		case c == '\t':
			b = append(b, '\\', 't')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\f':
			b = append(b, '\\', 'f')
		case c == '\r':
			b = append(b, '\\', 'r')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
	}
	return append(b, '"')
}

// ParseEntry parses leaf bytes. It accepts exactly the bytes [Entry.Marshal]
// produces (canonical JSON, known members only), so that one entry has
// exactly one encoding; anything else fails with [ErrMalformedEntry].
func ParseEntry(b []byte) (Entry, error) {
	fields, err := parseFlatObject(b)
	if err != nil {
		return Entry{}, err
	}
	var e Entry
	for name, v := range fields {
		switch name {
		case "kind":
			e.Kind = v
		case "object_id":
			e.ObjectID = v
		case "version":
			e.Version = v
		case "collection":
			e.Collection = v
		case "member":
			e.Member = v
		case "commitment":
			e.Commitment = v
		case "received":
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return Entry{}, fmt.Errorf("%w: received: %v", ErrMalformedEntry, err)
			}
			e.Received = t.UTC()
		default:
			return Entry{}, fmt.Errorf("%w: unknown member %q", ErrMalformedEntry, name)
		}
	}
	if _, ok := fields["kind"]; ok && e.Kind == KindObject {
		return Entry{}, fmt.Errorf("%w: empty kind", ErrMalformedEntry)
	}
	if _, ok := fields["received"]; !ok {
		return Entry{}, fmt.Errorf("%w: received is missing", ErrMalformedEntry)
	}
	again, err := e.Marshal()
	if err != nil {
		return Entry{}, err
	}
	if string(again) != string(b) {
		return Entry{}, fmt.Errorf("%w: not in canonical form", ErrMalformedEntry)
	}
	return e, nil
}

// parseFlatObject parses a JSON object whose values are all strings. It
// is deliberately small: the canonical-form check in ParseEntry rejects
// every encoding Marshal would not produce.
func parseFlatObject(b []byte) (map[string]string, error) {
	p := flatParser{b: b}
	if !p.eat('{') {
		return nil, p.errorf("expected '{'")
	}
	out := map[string]string{}
	if p.eat('}') {
		return out, p.end()
	}
	for {
		k, err := p.str()
		if err != nil {
			return nil, err
		}
		if !p.eat(':') {
			return nil, p.errorf("expected ':'")
		}
		v, err := p.str()
		if err != nil {
			return nil, err
		}
		if _, dup := out[k]; dup {
			return nil, p.errorf("duplicate member %q", k)
		}
		out[k] = v
		if p.eat(',') {
			continue
		}
		if p.eat('}') {
			return out, p.end()
		}
		return nil, p.errorf("expected ',' or '}'")
	}
}

type flatParser struct {
	b []byte
	i int
}

func (p *flatParser) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: at byte %d: %s", ErrMalformedEntry, p.i, fmt.Sprintf(format, args...))
}

func (p *flatParser) eat(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *flatParser) end() error {
	if p.i != len(p.b) {
		return p.errorf("trailing data")
	}
	return nil
}

func (p *flatParser) str() (string, error) {
	if !p.eat('"') {
		return "", p.errorf("expected string")
	}
	var sb strings.Builder
	for p.i < len(p.b) {
		c := p.b[p.i]
		p.i++
		switch {
		case c == '"':
			s := sb.String()
			if !utf8.ValidString(s) {
				return "", p.errorf("invalid UTF-8")
			}
			return s, nil
		case c == '\\':
			if p.i >= len(p.b) {
				return "", p.errorf("truncated escape")
			}
			e := p.b[p.i]
			p.i++
			switch e {
			case '"', '\\', '/':
				sb.WriteByte(e)
			case 'b':
				sb.WriteByte('\b')
			case 't':
				sb.WriteByte('\t')
			case 'n':
				sb.WriteByte('\n')
			case 'f':
				sb.WriteByte('\f')
			case 'r':
				sb.WriteByte('\r')
			case 'u':
				if p.i+4 > len(p.b) {
					return "", p.errorf("truncated escape")
				}
				n, err := strconv.ParseUint(string(p.b[p.i:p.i+4]), 16, 16)
				if err != nil {
					return "", p.errorf("bad \\u escape")
				}
				p.i += 4
				// Canonical output only escapes control characters, so any
				// other \u escape fails the canonical check later anyway.
				sb.WriteRune(rune(n))
			default:
				return "", p.errorf("bad escape")
			}
		case c < 0x20:
			return "", p.errorf("control character in string")
		default:
			sb.WriteByte(c)
		}
	}
	return "", p.errorf("unterminated string")
}
