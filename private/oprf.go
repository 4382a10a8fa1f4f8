package private

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"io"

	"github.com/cloudflare/circl/group"
	"github.com/cloudflare/circl/oprf"
	"github.com/cloudflare/circl/zk/dleq"
)

// SuiteID is the RFC 9497 ciphersuite of every private set. ristretto255
// is a prime-order group (no cofactor to clear, no small-subgroup checks
// to get wrong), its elements and scalars are 32 bytes, it is the fastest
// suite circl offers for the scalar multiplications that dominate both
// evaluation and proofs, and RFC 9497 lists it first. The NIST suites buy
// nothing here: no party needs FIPS curves, and P-256's 33-byte elements
// are slower to hash to and multiply.
const SuiteID = "ristretto255-SHA512"

// The mode is verifiable (RFC 9497 VOPRF): every evaluation carries a
// DLEQ proof that it used the key whose public half the querier holds.
var (
	suite     = oprf.SuiteRistretto255
	grp       = group.Ristretto255
	dleqParam = dleq.Params{
		G: group.Ristretto255,
		H: crypto.SHA512,
		// contextString of RFC 9497 section 3.1 for mode 0x01.
		DST: []byte("OPRFV1-\x01-" + SuiteID),
	}
)

// elementSize is the length of a serialised ristretto255 element.
const elementSize = 32

// Errors callers branch on.
var (
	// ErrInvalidProof is returned by [Querier.Finalize] when the batched
	// DLEQ proof does not verify against the querier's public key: the
	// provider evaluated with another key, altered an element, or the
	// response was corrupted. No output is returned.
	ErrInvalidProof = errors.New("evaluation proof does not verify")
	// ErrKeyMismatch is returned when a set is used with a querier of
	// another public key.
	ErrKeyMismatch = errors.New("set public key differs from the querier's key")
	// ErrInvalidKey is returned for a malformed private or public key.
	ErrInvalidKey = errors.New("invalid key")
	// ErrInvalidElement is returned for a malformed, identity or
	// non-canonical group element in a request or response.
	ErrInvalidElement = errors.New("invalid group element")
	// ErrBatchSize is returned for an empty batch, a batch over
	// [MaxBatch] elements, or a response whose length differs from its
	// request's.
	ErrBatchSize = errors.New("invalid batch size")
)

// MaxBatch is the most elements one evaluation request may carry. It
// bounds the work and memory of a single request; a node may set a lower
// limit.
const MaxBatch = 10000

// PrivateKey is a provider's OPRF key. Its bytes are a secret: they must
// never be logged or shown.
type PrivateKey struct {
	k   *oprf.PrivateKey
	s   group.Scalar
	pub *PublicKey
}

// GenerateKey returns a new private key drawn from rand (crypto/rand in
// production, a fixed stream in tests).
func GenerateKey(rand io.Reader) (*PrivateKey, error) {
	s, err := randomScalar(rand)
	if err != nil {
		return nil, fmt.Errorf("couldn't generate an OPRF key: %w", err)
	}
	b, err := s.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("couldn't generate an OPRF key: %w", err)
	}
	return ParsePrivateKey(b)
}

// ParsePrivateKey parses the 32-byte scalar written by [PrivateKey.Bytes].
// A zero or non-canonical scalar wraps [ErrInvalidKey].
func ParsePrivateKey(b []byte) (*PrivateKey, error) {
	if len(b) != 32 {
		return nil, fmt.Errorf("%w: private key must be 32 bytes, got %d", ErrInvalidKey, len(b))
	}
	k := new(oprf.PrivateKey)
	if err := k.UnmarshalBinary(suite, b); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	s := grp.NewScalar()
	if err := s.UnmarshalBinary(b); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	if again, _ := s.MarshalBinary(); !bytes.Equal(again, b) {
		return nil, fmt.Errorf("%w: private key scalar is not canonical", ErrInvalidKey)
	}
	pb, err := k.Public().MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	pub, err := ParsePublicKey(pb)
	if err != nil {
		return nil, err
	}
	return &PrivateKey{k: k, s: s, pub: pub}, nil
}

// Bytes returns the 32-byte canonical encoding of the private scalar.
func (k *PrivateKey) Bytes() []byte {
	b, err := k.s.MarshalBinary()
	if err != nil {
		panic("private: couldn't encode a scalar: " + err.Error()) // cannot happen for a valid key
	}
	return b
}

// Public returns the key's public half.
func (k *PrivateKey) Public() *PublicKey { return k.pub }

// PublicKey is the public half of a provider's OPRF key; queriers verify
// evaluation proofs against it, and the node commits it to its log.
type PublicKey struct {
	k *oprf.PublicKey
	e group.Element
	b []byte
}

// ParsePublicKey parses a 32-byte canonical ristretto255 element. The
// identity and non-canonical encodings wrap [ErrInvalidKey], so that one
// key has exactly one encoding (the log commits to the bytes).
func ParsePublicKey(b []byte) (*PublicKey, error) {
	if len(b) != elementSize {
		return nil, fmt.Errorf("%w: public key must be %d bytes, got %d", ErrInvalidKey, elementSize, len(b))
	}
	k := new(oprf.PublicKey)
	if err := k.UnmarshalBinary(suite, b); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	e, err := parseElement(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	return &PublicKey{k: k, e: e, b: bytes.Clone(b)}, nil
}

// Bytes returns the 32-byte encoding of the public key.
func (k *PublicKey) Bytes() []byte { return bytes.Clone(k.b) }

// Equal reports whether k and o are the same key.
func (k *PublicKey) Equal(o *PublicKey) bool {
	return k != nil && o != nil && bytes.Equal(k.b, o.b)
}

// parseElement decodes one canonical, non-identity element.
func parseElement(b []byte) (group.Element, error) {
	if len(b) != elementSize {
		return nil, fmt.Errorf("%w: want %d bytes, got %d", ErrInvalidElement, elementSize, len(b))
	}
	e := grp.NewElement()
	if err := e.UnmarshalBinary(b); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidElement, err)
	}
	if e.IsIdentity() {
		return nil, fmt.Errorf("%w: identity", ErrInvalidElement)
	}
	return e, nil
}

func parseElements(bs [][]byte) ([]group.Element, error) {
	if len(bs) == 0 || len(bs) > MaxBatch {
		return nil, fmt.Errorf("%w: %d elements (1 to %d allowed)", ErrBatchSize, len(bs), MaxBatch)
	}
	out := make([]group.Element, len(bs))
	for i, b := range bs {
		e, err := parseElement(b)
		if err != nil {
			return nil, fmt.Errorf("element %d: %w", i, err)
		}
		out[i] = e
	}
	return out, nil
}

// EvaluateRequest is the body of POST /private/sets/{id}/evaluate: the
// querier's blinded elements, each 32 bytes (standard base64 in JSON).
type EvaluateRequest struct {
	Elements [][]byte `json:"elements"`
}

// EvaluateResponse answers an [EvaluateRequest]: the evaluated elements in
// request order and one batched DLEQ proof (c ‖ s, 64 bytes) over all of
// them, as RFC 9497 section 2.2 specifies.
type EvaluateResponse struct {
	Elements [][]byte `json:"elements"`
	Proof    []byte   `json:"proof"`
}

// randomScalar draws a uniformly random non-zero scalar from rand. (circl's
// ristretto255 RandomScalar ignores its reader and always uses the system
// source, which would defeat injected randomness.) 64 bytes from rand are
// hashed to a scalar, which RFC 9380 section 5 makes uniform.
func randomScalar(rand io.Reader) (group.Scalar, error) {
	var buf [64]byte
	for {
		if _, err := io.ReadFull(rand, buf[:]); err != nil {
			return nil, fmt.Errorf("couldn't read randomness: %w", err)
		}
		s := grp.HashToScalar(buf[:], []byte("parley-private-v1 random scalar"))
		if !s.IsZero() {
			return s, nil
		}
	}
}
