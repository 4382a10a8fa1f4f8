package tlog

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// HashSize is the size of a tree hash (SHA-256).
const HashSize = sha256.Size

// Hash is an RFC 6962 tree hash (a leaf hash, an interior node hash or a
// root). Its JSON and text encoding is standard base64, as in checkpoints.
type Hash [HashSize]byte

// String returns the standard base64 encoding of h.
func (h Hash) String() string { return base64.StdEncoding.EncodeToString(h[:]) }

// Hex returns the lowercase hex encoding of h.
func (h Hash) Hex() string { return hex.EncodeToString(h[:]) }

// MarshalText encodes h as standard base64.
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText decodes standard base64 of exactly [HashSize] bytes.
func (h *Hash) UnmarshalText(b []byte) error {
	v, err := ParseHash(string(b))
	if err != nil {
		return err
	}
	*h = v
	return nil
}

// ErrMalformedHash is returned (wrapped) for a hash that is not standard
// base64 of 32 bytes.
var ErrMalformedHash = errors.New("malformed hash")

// ParseHash decodes standard padded base64 of a 32-byte hash.
func ParseHash(s string) (Hash, error) {
	var h Hash
	if len(s) != base64.StdEncoding.EncodedLen(HashSize) {
		// Not decoded: a string of many MB decoded to be refused.
		return h, fmt.Errorf("%w: %.60q", ErrMalformedHash, s)
	}
	b, err := decodeBase64(s)
	if err != nil || len(b) != HashSize {
		return h, fmt.Errorf("%w: %.60q", ErrMalformedHash, s)
	}
	copy(h[:], b)
	return h, nil
}

// decodeBase64 decodes standard padded base64 in its one canonical form:
// base64.StdEncoding.Strict() still skips '\r' and '\n' anywhere in the
// text, so that one value had many encodings (a hash, a key or a
// signature with line breaks inside), which the formats here don't allow.
func decodeBase64(s string) ([]byte, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, errors.New("a line break inside base64")
	}
	return base64.StdEncoding.Strict().DecodeString(s)
}

// LeafHash returns the RFC 6962 leaf hash SHA-256(0x00 ‖ leaf).
func LeafHash(leaf []byte) Hash {
	h := sha256.New()
	h.Write([]byte{rfc6962.RFC6962LeafHashPrefix})
	h.Write(leaf)
	var out Hash
	h.Sum(out[:0])
	return out
}

// NodeHash returns the RFC 6962 interior node hash SHA-256(0x01 ‖ l ‖ r).
func NodeHash(l, r Hash) Hash {
	var buf [1 + 2*HashSize]byte
	buf[0] = rfc6962.RFC6962NodeHashPrefix
	copy(buf[1:], l[:])
	copy(buf[1+HashSize:], r[:])
	return sha256.Sum256(buf[:])
}

// EmptyRoot is the root of the empty tree, SHA-256 of nothing.
func EmptyRoot() Hash { return sha256.Sum256(nil) }

// ErrProof is returned (wrapped) when an inclusion or consistency proof
// does not verify.
var ErrProof = errors.New("proof does not verify")

// treeHasher is rfc6962.DefaultHasher without its allocations:
// rfc6962.Hasher makes a new SHA-256 state and a copy of both children
// for every interior node, and verifying one consistency proof hashes a
// dozen or more. The hashes are the same (TestTreeHasherIsRFC6962).
type treeHasher struct{}

func (treeHasher) EmptyRoot() []byte {
	h := EmptyRoot()
	return h[:]
}

func (treeHasher) HashLeaf(leaf []byte) []byte {
	h := LeafHash(leaf)
	return h[:]
}

func (treeHasher) HashChildren(l, r []byte) []byte {
	var buf [1 + 2*HashSize]byte
	b := append(append(append(buf[:0], rfc6962.RFC6962NodeHashPrefix), l...), r...)
	h := sha256.Sum256(b)
	return h[:]
}

func (treeHasher) Size() int { return HashSize }

func toSlices(p []Hash) [][]byte {
	out := make([][]byte, len(p))
	for i := range p {
		out[i] = p[i][:]
	}
	return out
}

// VerifyInclusion checks an RFC 9162 §2.1.3.2 inclusion proof that the
// leaf with leafHash is at index in the tree of the given size and root.
// It fails with [ErrProof].
func VerifyInclusion(index, size uint64, leafHash Hash, p []Hash, root Hash) error {
	return verifyInclusion(index, size, leafHash[:], toSlices(p), root[:])
}

func verifyInclusion(index, size uint64, leafHash []byte, p [][]byte, root []byte) error {
	if err := proof.VerifyInclusion(treeHasher{}, index, size, leafHash, p, root); err != nil {
		return fmt.Errorf("%w: inclusion of leaf %d in tree of size %d: %s", ErrProof, index, size, proofFailure(err))
	}
	return nil
}

// VerifyConsistency checks an RFC 9162 §2.1.4.2 consistency proof between
// the tree of size1 with root1 and the tree of size2 with root2. Following
// RFC 9162, size1 must be at least 1 (a proof from the empty tree is
// meaningless); when size1 == size2 the proof must be empty and the roots
// equal. It fails with [ErrProof].
func VerifyConsistency(size1, size2 uint64, p []Hash, root1, root2 Hash) error {
	return verifyConsistency(size1, size2, toSlices(p), root1[:], root2[:])
}

func verifyConsistency(size1, size2 uint64, p [][]byte, root1, root2 []byte) error {
	if size1 == 0 {
		return fmt.Errorf("%w: consistency from the empty tree", ErrProof)
	}
	if err := proof.VerifyConsistency(treeHasher{}, size1, size2, p, root1, root2); err != nil {
		return fmt.Errorf("%w: consistency of sizes %d and %d: %s", ErrProof, size1, size2, proofFailure(err))
	}
	return nil
}

// proofFailure says why a proof failed in one line: the verifier's root
// mismatch prints both roots as Go byte slices on three lines ("calculated
// root:\n[162 24 …]"), which reached logs and a witness's 422 answer as
// such; here they are base64, as checkpoints write them.
func proofFailure(err error) string {
	var rm proof.RootMismatchError
	if errors.As(err, &rm) {
		return fmt.Sprintf("the proof leads to root %s, not %s", base64.StdEncoding.EncodeToString(rm.CalculatedRoot), base64.StdEncoding.EncodeToString(rm.ExpectedRoot))
	}
	return err.Error()
}

// HashReader reads hashes of complete subtrees: ReadHashes returns the hash
// of each node, in order. A node (level, index) is the root of leaves
// [index·2^level, (index+1)·2^level), which are all in the tree.
type HashReader interface {
	ReadHashes(ctx context.Context, nodes []compact.NodeID) ([]Hash, error)
}

// InclusionProof builds the inclusion proof of leaf index in the tree of
// the given size from hashes read through r.
func InclusionProof(ctx context.Context, index, size uint64, r HashReader) ([]Hash, error) {
	if index >= size {
		return nil, fmt.Errorf("couldn't build inclusion proof: index %d is not below tree size %d", index, size)
	}
	nodes, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, fmt.Errorf("couldn't build inclusion proof: %w", err)
	}
	return fetchProof(ctx, nodes, r)
}

// ConsistencyProof builds the consistency proof between tree sizes size1
// and size2 (0 < size1 ≤ size2) from hashes read through r.
func ConsistencyProof(ctx context.Context, size1, size2 uint64, r HashReader) ([]Hash, error) {
	if size1 == 0 || size1 > size2 {
		return nil, fmt.Errorf("couldn't build consistency proof: sizes %d and %d", size1, size2)
	}
	nodes, err := proof.Consistency(size1, size2)
	if err != nil {
		return nil, fmt.Errorf("couldn't build consistency proof: %w", err)
	}
	return fetchProof(ctx, nodes, r)
}

func fetchProof(ctx context.Context, nodes proof.Nodes, r HashReader) ([]Hash, error) {
	hashes, err := r.ReadHashes(ctx, nodes.IDs)
	if err != nil {
		return nil, fmt.Errorf("couldn't read proof hashes: %w", err)
	}
	if len(hashes) != len(nodes.IDs) {
		return nil, fmt.Errorf("couldn't read proof hashes: got %d of %d", len(hashes), len(nodes.IDs))
	}
	out, err := nodes.Rehash(toSlices(hashes), rfc6962.DefaultHasher.HashChildren)
	if err != nil {
		return nil, fmt.Errorf("couldn't build proof: %w", err)
	}
	p := make([]Hash, len(out))
	for i := range out {
		copy(p[i][:], out[i])
	}
	return p, nil
}

// TreeRoot returns the root of the tree of the given size from hashes read
// through r.
func TreeRoot(ctx context.Context, size uint64, r HashReader) (Hash, error) {
	if size == 0 {
		return EmptyRoot(), nil
	}
	ids := compact.RangeNodes(0, size, nil)
	hashes, err := r.ReadHashes(ctx, ids)
	if err != nil {
		return Hash{}, fmt.Errorf("couldn't read tree hashes: %w", err)
	}
	if len(hashes) != len(ids) {
		return Hash{}, fmt.Errorf("couldn't read tree hashes: got %d of %d", len(hashes), len(ids))
	}
	// The compact range of [0, size) lists its perfect subtrees left to
	// right; the root folds them from the right.
	root := hashes[len(hashes)-1]
	for i := len(hashes) - 2; i >= 0; i-- {
		root = NodeHash(hashes[i], root)
	}
	return root, nil
}

// Tree computes the root of a growing tree with O(log n) memory: the
// compact range of [0, Size()). It is what an auditor uses to recompute a
// whole log from its entries.
type Tree struct {
	rng *compact.Range
}

var rangeFactory = &compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}

// NewTree returns an empty tree.
func NewTree() *Tree { return &Tree{rng: rangeFactory.NewEmptyRange(0)} }

// Append adds one leaf hash.
func (t *Tree) Append(leafHash Hash) {
	// Append only fails for a wrong hash count or an unaligned range,
	// neither of which can happen here.
	if err := t.rng.Append(leafHash[:], nil); err != nil {
		panic(err)
	}
}

// Size returns the number of leaves appended.
func (t *Tree) Size() uint64 { return t.rng.End() }

// Root returns the current root hash.
func (t *Tree) Root() Hash {
	if t.rng.End() == 0 {
		return EmptyRoot()
	}
	r, err := t.rng.GetRootHash(nil)
	if err != nil {
		panic(err)
	}
	var h Hash
	copy(h[:], r)
	return h
}
