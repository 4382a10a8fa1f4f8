package tlog

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Kinds of log entry (format v2). Every entry names its kind; an entry
// without one is format v1, which [ParseEntry] refuses with
// [ErrOldFormat].
const (
	// KindObject is one accepted STIX object version. In clear it shows
	// only its received time and a salted commitment ([ObjectCommitment])
	// to the collection, object id, version, member and the object, so a
	// member who may not read the collection learns only that an entry
	// exists and when.
	KindObject = "object"
	// KindMemberKey is a member key event (registration, rotation,
	// revocation), in clear for every member, so that every verifier
	// checks each signature against the key in force at its position
	// ([KeyHistory]).
	KindMemberKey = "member-key"
	// KindOPRFKey commits a private set's OPRF public key, salted like an
	// object entry ([OPRFKeyCommitment]).
	KindOPRFKey = "oprf-key"
	// KindOPRFWithdrawal records that a private set's provider withdrew
	// it (its key destroyed), salted like an object entry
	// ([OPRFWithdrawalCommitment], which binds the set's key entry). In
	// clear it shows only that some set was withdrawn, and when.
	KindOPRFWithdrawal = "oprf-withdrawal"
)

// Member key events, the "event" of a [KindMemberKey] entry.
const (
	// EventRegister registers a member (with its key, if it has one).
	EventRegister = "register"
	// EventRotate replaces the member's key with Key.
	EventRotate = "rotate"
	// EventRevokeKey ends Key: signatures by it at later positions fail.
	EventRevokeKey = "revoke-key"
	// EventRevokeMember ends the member: no key of it is in force after.
	EventRevokeMember = "revoke-member"
)

// Authorities of a member key event.
const (
	// AuthorityMember: the member's previous key signed the rotation
	// ([RotationMessage]); the Statement is that signature.
	AuthorityMember = "member"
	// AuthorityOperator: the node's operator asserted the event alone.
	// Clients show such keys as operator-asserted.
	AuthorityOperator = "operator"
)

// SaltSize is the size in bytes of a commitment salt.
const SaltSize = 32

// ErrMalformedEntry is returned (wrapped) by [ParseEntry] and
// [Entry.Marshal] for an entry that is not valid canonical entry JSON.
var ErrMalformedEntry = errors.New("malformed log entry")

// ErrUnknownKind is returned (wrapped, together with [ErrMalformedEntry])
// by [ParseEntry] for an entry of a kind this version doesn't know: a
// log written by a newer Parley (a build older than
// [KindOPRFWithdrawal] stops at the first withdrawal entry so). A
// follower or auditor can go no further than the entry before it until
// it is upgraded; the error names the kind.
var ErrUnknownKind = errors.New("log entry of a kind this version doesn't know (the log was written by a newer Parley: upgrade to read it)")

// ErrOldFormat is returned (wrapped, together with [ErrMalformedEntry]) by
// [ParseEntry] for a format v1 entry: one without "kind", which showed the
// collection, object id, member and version in clear.
var ErrOldFormat = errors.New("log entry in format v1 (it has no \"kind\"); this version reads format v2 only, see docs/log.md")

// Entry is one log entry: the leaf data of the Merkle tree is exactly
// [Entry.Marshal]'s output. Which fields are set depends on Kind.
type Entry struct {
	// Kind is one of [KindObject], [KindMemberKey], [KindOPRFKey],
	// [KindOPRFWithdrawal].
	Kind string
	// Received is when the node accepted the entry. It is encoded in UTC
	// with RFC 3339 (nanoseconds, trailing zeros trimmed). Entries are
	// stamped with strictly increasing times in log order.
	Received time.Time
	// Commitment is the lowercase hex SHA-256 of an object, OPRF key or
	// OPRF withdrawal entry ([ObjectCommitment], [OPRFKeyCommitment],
	// [OPRFWithdrawalCommitment]).
	Commitment string

	// Member, Event, Key, Authority and Statement are the fields of a
	// [KindMemberKey] entry. Key is absent for [EventRevokeMember] and
	// for the registration of a member without a key; Statement is present
	// exactly when Authority is [AuthorityMember].
	Member    string
	Event     string
	Key       ed25519.PublicKey
	Authority string
	Statement []byte
}

// Opening is what readers of a collection receive with an object (or a
// private set's key) to check it against its entry's commitment: the salt
// and the fields the entry hides.
type Opening struct {
	// Salt is the commitment's 32 random bytes.
	Salt Bytes `json:"salt"`
	// Collection is the TAXII collection id the object was shared into.
	Collection string `json:"collection"`
	// ObjectID is the object's STIX id (for an OPRF key, the set id).
	ObjectID string `json:"object_id"`
	// Version is the object's modified (or created) timestamp, or the
	// node's stamp for an object that has neither, in STIX form: UTC, RFC
	// 3339, with three fractional digits or more when it has them
	// (stix.FormatTimestamp), so that it has one spelling whatever the
	// object's own.
	Version string `json:"version"`
	// Member is the identity id of the member who shared it (for relayed
	// objects, the relaying member, whose key signed it).
	Member string `json:"member"`
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

// Domain separators of the commitments.
const (
	objectCommitmentPrefix = "parley-object-commitment-v2\n"
	oprfCommitmentPrefix   = "parley-oprf-key-commitment-v2\n"
	withdrawalPrefix       = "parley-oprf-withdrawal-commitment-v1\n"
)

// ObjectCommitment returns the commitment of an object entry: the
// lowercase hex SHA-256 of
//
//	"parley-object-commitment-v2\n" ‖ salt ‖ LP(collection) ‖ LP(object id) ‖
//	LP(version) ‖ LP(member) ‖ canonical object
//
// where LP(s) is the length of s as a 4-byte big-endian integer followed by
// s, and the canonical object is the RFC 8785 canonical JSON of the object
// exactly as stored (signature extension included).
func ObjectCommitment(op Opening, canonicalObject []byte) string {
	h := sha256.New()
	h.Write([]byte(objectCommitmentPrefix))
	h.Write(op.Salt)
	writeLP(h, op.Collection)
	writeLP(h, op.ObjectID)
	writeLP(h, op.Version)
	writeLP(h, op.Member)
	h.Write(canonicalObject)
	return hex.EncodeToString(h.Sum(nil))
}

// OPRFKeyCommitment returns the commitment of an OPRF key entry: the
// lowercase hex SHA-256 of
//
//	"parley-oprf-key-commitment-v2\n" ‖ salt ‖ LP(set id) ‖ LP(collection) ‖
//	LP(member) ‖ LP(suite) ‖ public key
func OPRFKeyCommitment(op Opening, suite string, publicKey []byte) string {
	h := sha256.New()
	h.Write([]byte(oprfCommitmentPrefix))
	h.Write(op.Salt)
	writeLP(h, op.ObjectID)
	writeLP(h, op.Collection)
	writeLP(h, op.Member)
	writeLP(h, suite)
	h.Write(publicKey)
	return hex.EncodeToString(h.Sum(nil))
}

// OPRFWithdrawalCommitment returns the commitment of an OPRF withdrawal
// entry: the lowercase hex SHA-256 of
//
//	"parley-oprf-withdrawal-commitment-v1\n" ‖ salt ‖ LP(set id) ‖
//	LP(collection) ‖ LP(member) ‖ LP(version) ‖ LP(key commitment)
//
// where version is the withdrawal's time as op.Version spells it and key
// commitment is the (hex) commitment of the set's [KindOPRFKey] entry:
// the withdrawal names the one key entry it ends, so that whoever holds
// both openings holds the node's signed word that this provider
// published that key for that set and later withdrew it.
func OPRFWithdrawalCommitment(op Opening, keyCommitment string) string {
	h := sha256.New()
	h.Write([]byte(withdrawalPrefix))
	h.Write(op.Salt)
	writeLP(h, op.ObjectID)
	writeLP(h, op.Collection)
	writeLP(h, op.Member)
	writeLP(h, op.Version)
	writeLP(h, keyCommitment)
	return hex.EncodeToString(h.Sum(nil))
}

func writeLP(w io.Writer, s string) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(s)))
	w.Write(n[:])
	io.WriteString(w, s)
}

// RotationMessage is the message a member's previous key signs to rotate to
// newKey (the rotation statement, which `parley keygen --rotate` writes):
//
//	"parley-key-rotation-v1\n" ‖ base64(oldKey) ‖ "\n" ‖ base64(newKey) ‖ "\n"
//
// with standard base64. It names the old key rather than the member, so a
// member makes it with nothing but its key files.
func RotationMessage(oldKey, newKey ed25519.PublicKey) []byte {
	return []byte("parley-key-rotation-v1\n" + base64.StdEncoding.EncodeToString(oldKey) + "\n" + base64.StdEncoding.EncodeToString(newKey) + "\n")
}

// Marshal returns the entry's leaf bytes: RFC 8785 canonical JSON (members
// sorted, no insignificant white space, all values strings). It fails with
// [ErrMalformedEntry] if the entry breaks its kind's rules.
func (e Entry) Marshal() ([]byte, error) {
	if err := e.check(); err != nil {
		return nil, err
	}
	// Members in RFC 8785 order (UTF-16 code unit order equals byte order
	// for these ASCII names): authority, commitment, event, key, kind,
	// member, received, statement.
	b := make([]byte, 0, 160)
	b = append(b, '{')
	comma := false
	add := func(name, value string) {
		if value == "" {
			return
		}
		b = appendMember(b, name, value, comma)
		comma = true
	}
	add("authority", e.Authority)
	add("commitment", e.Commitment)
	add("event", e.Event)
	if e.Key != nil {
		add("key", base64.StdEncoding.EncodeToString(e.Key))
	}
	add("kind", e.Kind)
	add("member", e.Member)
	add("received", formatTime(e.Received))
	if e.Statement != nil {
		add("statement", base64.StdEncoding.EncodeToString(e.Statement))
	}
	b = append(b, '}')
	return b, nil
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func (e Entry) check() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrMalformedEntry, fmt.Sprintf(format, args...))
	}
	if y := e.Received.UTC().Year(); y < 0 || y > 9999 || e.Received.IsZero() {
		return bad("received time missing or out of range")
	}
	switch e.Kind {
	case KindObject, KindOPRFKey, KindOPRFWithdrawal:
		if !isLowerHex(e.Commitment, 64) {
			return bad("commitment is not 64 lowercase hex digits")
		}
		if e.Member != "" || e.Event != "" || e.Key != nil || e.Authority != "" || e.Statement != nil {
			return bad("a %s entry has only kind, received and commitment", e.Kind)
		}
	case KindMemberKey:
		if e.Commitment != "" {
			return bad("a member-key entry has no commitment")
		}
		if e.Member == "" || !utf8.ValidString(e.Member) {
			return bad("member is empty or not UTF-8")
		}
		if e.Key != nil && len(e.Key) != ed25519.PublicKeySize {
			return bad("key is not %d bytes", ed25519.PublicKeySize)
		}
		switch e.Event {
		case EventRegister:
		case EventRotate, EventRevokeKey:
			if e.Key == nil {
				return bad("a %s event needs a key", e.Event)
			}
		case EventRevokeMember:
			if e.Key != nil {
				return bad("a revoke-member event has no key")
			}
		default:
			return bad("unknown member key event %q", e.Event)
		}
		switch e.Authority {
		case AuthorityMember:
			if e.Event != EventRotate {
				return bad("only a rotate event can be member-signed")
			}
			if len(e.Statement) != ed25519.SignatureSize {
				return bad("a member-signed event needs a %d-byte statement", ed25519.SignatureSize)
			}
		case AuthorityOperator:
			if e.Statement != nil {
				return bad("an operator-asserted event has no statement")
			}
		default:
			return bad("unknown authority %q", e.Authority)
		}
	case "":
		return bad("kind is empty")
	default:
		return fmt.Errorf("%w: %w: unknown kind %q; this version reads %s, %s, %s and %s", ErrMalformedEntry, ErrUnknownKind,
			clipKind(e.Kind), KindObject, KindMemberKey, KindOPRFKey, KindOPRFWithdrawal)
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
// exactly one encoding; anything else fails with [ErrMalformedEntry], and
// a format v1 entry (no "kind") with [ErrOldFormat] too.
func ParseEntry(b []byte) (Entry, error) {
	fields, err := parseFlatObject(b)
	if err != nil {
		return Entry{}, err
	}
	// Format v1 entries had no kind (object entries), or named the
	// collection, object id and version in clear (every kind).
	_, hasKind := fields["kind"]
	_, hasCollection := fields["collection"]
	_, hasObjectID := fields["object_id"]
	_, hasVersion := fields["version"]
	if (!hasKind && len(fields) > 0) || hasCollection || hasObjectID || hasVersion {
		return Entry{}, fmt.Errorf("%w: %w", ErrMalformedEntry, ErrOldFormat)
	}
	var e Entry
	for name, v := range fields {
		switch name {
		case "kind":
			e.Kind = v
		case "commitment":
			e.Commitment = v
		case "member":
			e.Member = v
		case "event":
			e.Event = v
		case "authority":
			e.Authority = v
		case "key", "statement":
			raw, err := decodeBase64(v)
			if err != nil {
				return Entry{}, fmt.Errorf("%w: %s: %v", ErrMalformedEntry, name, err)
			}
			if name == "key" {
				e.Key = ed25519.PublicKey(raw)
			} else {
				e.Statement = raw
			}
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

// clipKind bounds an unknown kind named in an error (it is the log's,
// and a log can be hostile) and keeps control characters out.
func clipKind(k string) string {
	if len(k) > 64 {
		k = k[:64] + "..."
	}
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return '?'
		}
		return r
	}, k)
}
