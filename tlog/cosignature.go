package tlog

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/cloudflare/circl/sign/mldsa/mldsa44"
	"golang.org/x/mod/sumdb/note"
)

// C2SP tlog-cosignature, the Ed25519 "cosignature/v1" type: a witness's
// timestamped note signature over a checkpoint. The signed message is
//
//	cosignature/v1
//	time <POSIX seconds>
//	<the checkpoint's note text>
//
// and the signature bytes (after the 4-byte key ID) are the timestamp as a
// big-endian uint64 followed by the 64-byte Ed25519 signature. Key IDs and
// verifier keys use signature type 0x04 (C2SP signed-note).

// CosignatureType is the C2SP signed-note signature type byte of Ed25519
// cosignature/v1 keys.
const CosignatureType = 0x04

// noteEd25519Type is the signed-note type byte of plain Ed25519 keys.
const noteEd25519Type = 0x01

// MLDSACosignatureType is the C2SP signed-note signature type byte of
// ML-DSA-44 cosignature keys (tlog-cosignature). Parley verifies them;
// its witness signs Ed25519 cosignature/v1.
const MLDSACosignatureType = 0x06

// cosignatureSize is the timestamp plus the Ed25519 signature.
const cosignatureSize = 8 + ed25519.SignatureSize

// ErrMalformedKey is returned (wrapped) for a signer or verifier key that is
// not in the expected signed-note form.
var ErrMalformedKey = errors.New("malformed key")

// Cosigner signs checkpoints as C2SP cosignature/v1 notes. It implements
// note.Signer, so note.Sign adds its signature line to a checkpoint note;
// each signature carries the time from the clock.
type Cosigner struct {
	name string
	hash uint32
	key  ed25519.PrivateKey
	now  func() time.Time
}

var _ note.Signer = (*Cosigner)(nil)

// NewCosigner returns a cosigner named name with the Ed25519 key; now is the
// clock whose time (in whole seconds) each cosignature carries (nil means
// time.Now).
func NewCosigner(name string, key ed25519.PrivateKey, now func() time.Time) (*Cosigner, error) {
	if !validKeyName(name) {
		return nil, fmt.Errorf("%w: bad key name %q", ErrMalformedKey, name)
	}
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%w: not an Ed25519 private key", ErrMalformedKey)
	}
	if now == nil {
		now = time.Now
	}
	pub := key.Public().(ed25519.PublicKey)
	return &Cosigner{name: name, hash: cosignatureKeyHash(name, pub), key: key, now: now}, nil
}

// NewCosignerKey generates a cosigner key named name and returns its signer
// key (secret: "PRIVATE+KEY+<name>+<hex id>+base64(0x04 ‖ seed)", the form
// transparency-dev/formats also reads) and its verifier key
// ("<name>+<hex id>+base64(0x04 ‖ public key)").
func NewCosignerKey(rand io.Reader, name string) (skey, vkey string, err error) {
	if !validKeyName(name) {
		return "", "", fmt.Errorf("couldn't generate cosigner key: %w: bad key name %q", ErrMalformedKey, name)
	}
	pub, priv, err := ed25519.GenerateKey(rand)
	if err != nil {
		return "", "", fmt.Errorf("couldn't generate cosigner key: %w", err)
	}
	h := cosignatureKeyHash(name, pub)
	skey = fmt.Sprintf("PRIVATE+KEY+%s+%08x+%s", name, h, base64.StdEncoding.EncodeToString(append([]byte{CosignatureType}, priv.Seed()...)))
	return skey, CosignatureVerifierKey(name, pub), nil
}

// ParseCosignerKey reads a signer key made by [NewCosignerKey].
func ParseCosignerKey(skey string, now func() time.Time) (*Cosigner, error) {
	parts := strings.SplitN(strings.TrimSpace(skey), "+", 5)
	if len(parts) != 5 || parts[0] != "PRIVATE" || parts[1] != "KEY" {
		return nil, fmt.Errorf("%w: not a cosigner signer key", ErrMalformedKey)
	}
	name, hexID, b64 := parts[2], parts[3], parts[4]
	k, err := decodeBase64(b64)
	if err != nil || len(k) != 1+ed25519.SeedSize || k[0] != CosignatureType {
		return nil, fmt.Errorf("%w: not an Ed25519 cosignature/v1 signer key", ErrMalformedKey)
	}
	c, err := NewCosigner(name, ed25519.NewKeyFromSeed(k[1:]), now)
	if err != nil {
		return nil, err
	}
	if id, err := strconv.ParseUint(hexID, 16, 32); err != nil || len(hexID) != 8 || uint32(id) != c.hash {
		return nil, fmt.Errorf("%w: signer key id doesn't match the key", ErrMalformedKey)
	}
	return c, nil
}

// Now reads the cosigner's clock: the time (in whole seconds) that
// [Cosigner.Sign] would put in a cosignature now.
func (s *Cosigner) Now() time.Time { return s.now() }

// At returns a signer with s's key and name whose cosignatures carry the
// time t (in whole seconds) instead of the clock's: a witness that keeps
// each log's cosignature times from going back when its clock does.
func (s *Cosigner) At(t time.Time) note.Signer {
	c := *s
	c.now = func() time.Time { return t }
	return &c
}

// Name implements note.Signer.
func (s *Cosigner) Name() string { return s.name }

// KeyHash implements note.Signer: SHA-256(name ‖ "\n" ‖ 0x04 ‖ public key)[:4].
func (s *Cosigner) KeyHash() uint32 { return s.hash }

// VerifierKey returns the cosigner's verifier key (type 0x04).
func (s *Cosigner) VerifierKey() string {
	return CosignatureVerifierKey(s.name, s.key.Public().(ed25519.PublicKey))
}

// Sign implements note.Signer: msg is the note text of a checkpoint. The
// signature is the current time in POSIX seconds (big-endian uint64) then
// the Ed25519 signature of the cosignature/v1 message.
func (s *Cosigner) Sign(msg []byte) ([]byte, error) {
	t := s.now().Unix()
	if t <= 0 {
		// C2SP tlog-witness: the timestamp must not be zero.
		return nil, fmt.Errorf("couldn't cosign: the clock is before 1970")
	}
	sig := make([]byte, 8, cosignatureSize)
	binary.BigEndian.PutUint64(sig, uint64(t))
	return append(sig, ed25519.Sign(s.key, cosignedMessage(uint64(t), msg))...), nil
}

// cosignedMessage is the cosignature/v1 message for a note text.
func cosignedMessage(t uint64, text []byte) []byte {
	m := make([]byte, 0, 40+len(text))
	m = append(m, "cosignature/v1\ntime "...)
	m = strconv.AppendUint(m, t, 10)
	m = append(m, '\n')
	return append(m, text...)
}

// CosignatureVerifierKey returns the signed-note verifier key of an Ed25519
// cosignature/v1 public key: "<name>+<hex id>+base64(0x04 ‖ key)".
func CosignatureVerifierKey(name string, pub ed25519.PublicKey) string {
	return fmt.Sprintf("%s+%08x+%s", name, cosignatureKeyHash(name, pub), base64.StdEncoding.EncodeToString(append([]byte{CosignatureType}, pub...)))
}

func cosignatureKeyHash(name string, pub []byte) uint32 {
	return keyHash(name, CosignatureType, pub)
}

// keyHash is the signed-note key ID SHA-256(name ‖ "\n" ‖ type ‖ key)[:4].
func keyHash(name string, typ byte, pub []byte) uint32 {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte{'\n', typ})
	h.Write(pub)
	return binary.BigEndian.Uint32(h.Sum(nil))
}

// CosignatureVerifier verifies C2SP tlog-cosignature signatures of a
// checkpoint: Ed25519 cosignature/v1 (key type 0x04) or ML-DSA-44 (0x06);
// it implements note.Verifier.
type CosignatureVerifier struct {
	name string
	hash uint32
	typ  byte
	pub  []byte // the public key, without the type byte
	ml   *mldsa44.PublicKey
}

var _ note.Verifier = (*CosignatureVerifier)(nil)

// NewCosignatureVerifier parses a cosigner's verifier key: an Ed25519
// cosignature/v1 key (type 0x04) or an ML-DSA-44 cosignature key (0x06),
// each carrying its own key ID (SHA-256(name ‖ "\n" ‖ type ‖ public
// key)[:4]). A plain Ed25519 note key (type 0x01) is also accepted and read
// as the same public key used for cosignature/v1 (its key ID recomputed
// with type 0x04), as transparency-dev/formats' VKeyToCosignatureV1 does;
// a policy refuses it ([ParsePolicy]).
func NewCosignatureVerifier(vkey string) (*CosignatureVerifier, error) {
	name, id, key, err := splitVerifierKey(vkey)
	if err != nil {
		return nil, err
	}
	v := &CosignatureVerifier{name: name, typ: key[0], pub: key[1:]}
	switch key[0] {
	case CosignatureType, noteEd25519Type:
		if len(key) != 1+ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: wrong Ed25519 key length", ErrMalformedKey)
		}
		if key[0] == noteEd25519Type {
			// Let note.NewVerifier check the 0x01 key's own ID.
			if _, err := note.NewVerifier(vkey); err != nil {
				return nil, fmt.Errorf("%w: %v", ErrMalformedKey, err)
			}
			v.typ = CosignatureType
		}
	case MLDSACosignatureType:
		if len(key) != 1+mldsa44.PublicKeySize {
			return nil, fmt.Errorf("%w: wrong ML-DSA-44 key length", ErrMalformedKey)
		}
		if len(name) > 255 {
			return nil, fmt.Errorf("%w: an ML-DSA-44 cosigner name is at most 255 bytes", ErrMalformedKey)
		}
		v.ml = new(mldsa44.PublicKey)
		if err := v.ml.UnmarshalBinary(key[1:]); err != nil {
			return nil, fmt.Errorf("%w: bad ML-DSA-44 key: %v", ErrMalformedKey, err)
		}
	default:
		return nil, fmt.Errorf("%w: key type 0x%02x isn't a cosigner key (0x04 Ed25519, 0x06 ML-DSA-44)", ErrMalformedKey, key[0])
	}
	v.hash = keyHash(name, v.typ, v.pub)
	if key[0] != noteEd25519Type && id != v.hash {
		return nil, fmt.Errorf("%w: key id doesn't match the key", ErrMalformedKey)
	}
	return v, nil
}

// splitVerifierKey splits "<name>+<hex id>+<base64 key>" (the key at least
// one byte: the type).
func splitVerifierKey(vkey string) (name string, id uint32, key []byte, err error) {
	// The base64 key may itself contain '+': split off the name and the
	// ID only.
	name, rest, _ := strings.Cut(vkey, "+")
	hexID, b64, ok := strings.Cut(rest, "+")
	if !ok || !validKeyName(name) || len(hexID) != 8 {
		return "", 0, nil, fmt.Errorf("%w: %.80q isn't a verifier key", ErrMalformedKey, vkey)
	}
	n, err := strconv.ParseUint(hexID, 16, 32)
	if err != nil {
		return "", 0, nil, fmt.Errorf("%w: bad key id in %.80q", ErrMalformedKey, vkey)
	}
	key, err = decodeBase64(b64)
	if err != nil || len(key) < 1 {
		return "", 0, nil, fmt.Errorf("%w: bad key in %.80q", ErrMalformedKey, vkey)
	}
	return name, uint32(n), key, nil
}

// validKeyName is the signed-note rule: non-empty, no Unicode spaces, no '+'.
func validKeyName(name string) bool {
	return name != "" && strings.IndexFunc(name, func(r rune) bool { return unicode.IsSpace(r) || r == '+' }) < 0
}

// Name implements note.Verifier.
func (v *CosignatureVerifier) Name() string { return v.name }

// KeyHash implements note.Verifier.
func (v *CosignatureVerifier) KeyHash() uint32 { return v.hash }

// PublicKey returns the Ed25519 public key (nil for an ML-DSA-44 key).
func (v *CosignatureVerifier) PublicKey() ed25519.PublicKey {
	if v.typ != CosignatureType {
		return nil
	}
	return ed25519.PublicKey(v.pub)
}

// Verify implements note.Verifier: msg is the note text, sig the timestamp
// and the signature. Ed25519 signs the cosignature/v1 message (which
// covers the whole note text, extension lines included); ML-DSA-44 signs
// the subtree/v1 message of the checkpoint (cosigner name, timestamp,
// origin, 0, size, root: not the extension lines). A timestamp above
// 2^63-1 is rejected, and so is zero for Ed25519 (cosignature/v1 carries
// its time); an ML-DSA-44 cosignature may have timestamp zero (the
// cosigner makes no statement that the tree is the largest it saw,
// tlog-cosignature): it verifies, but [CheckQuorum] doesn't count it.
func (v *CosignatureVerifier) Verify(msg, sig []byte) bool {
	cosignatureChecks.Add(1)
	if len(sig) < 8 {
		return false
	}
	t := binary.BigEndian.Uint64(sig)
	if t == 0 && v.typ != MLDSACosignatureType || t > math.MaxInt64 {
		return false
	}
	if v.typ == MLDSACosignatureType {
		if len(sig) != 8+mldsa44.SignatureSize {
			return false
		}
		c, err := ParseCheckpoint(msg)
		if err != nil || len(c.Origin) > 255 {
			return false
		}
		return mldsa44.Verify(v.ml, subtreeMessage(v.name, t, c.Origin, 0, c.Size, c.Hash), nil, sig[8:])
	}
	if len(sig) != cosignatureSize {
		return false
	}
	return ed25519.Verify(ed25519.PublicKey(v.pub), cosignedMessage(t, msg), sig[8:])
}

// subtreeMessage is tlog-cosignature's ML-DSA-44 cosigned_message: the
// label "subtree/v1\n\0", the cosigner name and the log origin each with a
// one-byte length, and big-endian uint64 timestamp, start and end, then
// the root hash. Both names are 1 to 255 bytes (checked by the callers).
func subtreeMessage(cosigner string, t uint64, origin string, start, end uint64, root Hash) []byte {
	m := make([]byte, 0, 12+1+len(cosigner)+8+1+len(origin)+16+HashSize)
	m = append(m, "subtree/v1\n\x00"...)
	m = append(m, byte(len(cosigner)))
	m = append(m, cosigner...)
	m = binary.BigEndian.AppendUint64(m, t)
	m = append(m, byte(len(origin)))
	m = append(m, origin...)
	m = binary.BigEndian.AppendUint64(m, start)
	m = binary.BigEndian.AppendUint64(m, end)
	return append(m, root[:]...)
}

// CosignatureTime returns the timestamp of a cosignature note signature,
// Ed25519 cosignature/v1 or ML-DSA-44 (the base64 of a signature line, key
// ID included). It doesn't verify the signature.
func CosignatureTime(sigBase64 string) (time.Time, error) {
	b, err := base64.StdEncoding.DecodeString(sigBase64)
	if err != nil || (len(b) != 4+cosignatureSize && len(b) != 4+8+mldsa44.SignatureSize) {
		return time.Time{}, fmt.Errorf("%w: not a cosignature/v1 signature", ErrMalformedCheckpoint)
	}
	t := binary.BigEndian.Uint64(b[4:])
	if t > math.MaxInt64 {
		return time.Time{}, fmt.Errorf("%w: cosignature timestamp out of range", ErrMalformedCheckpoint)
	}
	return time.Unix(int64(t), 0).UTC(), nil
}

// cosignatureChecks counts the cosignatures [CosignatureVerifier] checked,
// for the tests that bound the work a hostile note costs.
var cosignatureChecks atomic.Int64
