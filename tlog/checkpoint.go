package tlog

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/parley-exchange/parley/internal/untrusted"
	"golang.org/x/mod/sumdb/note"
)

// ErrMalformedCheckpoint is returned (wrapped) for checkpoint text that is
// not a C2SP tlog-checkpoint body.
var ErrMalformedCheckpoint = errors.New("malformed checkpoint")

// ErrCheckpointSignature is returned (wrapped) when a signed checkpoint
// carries no valid signature by the expected log key.
var ErrCheckpointSignature = errors.New("checkpoint signature doesn't verify")

// Checkpoint is the body of a C2SP tlog-checkpoint: the log's origin, the
// tree size and the RFC 6962 root hash at that size, plus optional
// extension lines.
type Checkpoint struct {
	// Origin uniquely identifies the log; it is also the name of the
	// log's note key.
	Origin string
	// Size is the number of entries in the tree.
	Size uint64
	// Hash is the root hash of the tree of Size entries.
	Hash Hash
	// Extensions are extra non-empty lines after the root hash (rarely
	// used; monitors can't audit them).
	Extensions []string
}

// Marshal returns the checkpoint text: origin, decimal size and base64 root
// hash, then any extension lines, each ending in a newline.
func (c Checkpoint) Marshal() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\n%d\n%s\n", c.Origin, c.Size, c.Hash)
	for _, e := range c.Extensions {
		b.WriteString(e)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// ParseCheckpoint parses checkpoint text (the note text, without
// signatures). Every accepted text re-encodes byte for byte with
// [Checkpoint.Marshal].
func ParseCheckpoint(text []byte) (Checkpoint, error) {
	bad := func(why string) (Checkpoint, error) {
		return Checkpoint{}, fmt.Errorf("%w: %s", ErrMalformedCheckpoint, why)
	}
	s := string(text)
	if !utf8.ValidString(s) {
		return bad("invalid UTF-8")
	}
	if !strings.HasSuffix(s, "\n") {
		return bad("doesn't end in a newline")
	}
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	if len(lines) < 3 {
		return bad("fewer than three lines")
	}
	for _, l := range lines {
		if l == "" {
			return bad("empty line")
		}
		for _, r := range l {
			// C2SP signed-note: no ASCII control characters below
			// U+0020 other than newline (DEL is allowed).
			if r < 0x20 {
				return bad("control character")
			}
		}
	}
	var c Checkpoint
	c.Origin = lines[0]
	n, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil || strconv.FormatUint(n, 10) != lines[1] {
		return bad("tree size isn't a decimal number without leading zeros")
	}
	c.Size = n
	if c.Hash, err = ParseHash(lines[2]); err != nil {
		return bad("root hash isn't base64 of 32 bytes")
	}
	if len(lines) > 3 {
		c.Extensions = append([]string(nil), lines[3:]...)
	}
	return c, nil
}

// NewNodeKey generates a log signing key for origin (the key name equals the
// origin, as C2SP tlog-checkpoint recommends) and returns the note signer
// key (secret: store it 0600, never log it) and verifier key (public: the
// value members pin).
func NewNodeKey(rand io.Reader, origin string) (skey, vkey string, err error) {
	// note.GenerateKey takes any name, and makes keys that no parser
	// reads back when it has a space or a '+'.
	if !validKeyName(origin) {
		return "", "", fmt.Errorf("couldn't generate log key: %w: the origin %q is not a key name (one with no spaces and no '+')", ErrMalformedKey, origin)
	}
	skey, vkey, err = note.GenerateKey(rand, origin)
	if err != nil {
		return "", "", fmt.Errorf("couldn't generate log key: %w", err)
	}
	return skey, vkey, nil
}

// NewVerifier parses a note verifier key and checks that it is an Ed25519
// key, the only algorithm Parley logs sign with.
func NewVerifier(vkey string) (note.Verifier, error) {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("couldn't parse log verifier key: %w", err)
	}
	// "<name>+<hex id>+<base64(0x01 ‖ key)>": the type byte is checked by
	// note.NewVerifier; nothing else to do.
	return v, nil
}

// VerifierKey returns the note verifier key text for an Ed25519 public key.
func VerifierKey(name string, pub ed25519.PublicKey) (string, error) {
	return note.NewEd25519VerifierKey(name, pub)
}

// SignCheckpoint signs c as a note with signer, whose name must equal the
// checkpoint's origin.
func SignCheckpoint(c Checkpoint, signer note.Signer) ([]byte, error) {
	if signer.Name() != c.Origin {
		return nil, fmt.Errorf("couldn't sign checkpoint: key name %q isn't the origin %q", signer.Name(), c.Origin)
	}
	text := c.Marshal()
	if _, err := ParseCheckpoint(text); err != nil {
		return nil, fmt.Errorf("couldn't sign checkpoint: %w", err)
	}
	msg, err := note.Sign(&note.Note{Text: string(text)}, signer)
	if err != nil {
		return nil, fmt.Errorf("couldn't sign checkpoint: %w", err)
	}
	return msg, nil
}

// OpenCheckpoint verifies a signed checkpoint note with the log's verifier
// and parses it. The origin must equal the verifier's key name, so a
// checkpoint of another log signed by the same key is rejected. Unknown
// signatures (witness cosignatures) are ignored. It fails with
// [ErrCheckpointSignature] or [ErrMalformedCheckpoint].
func OpenCheckpoint(signed []byte, v note.Verifier) (Checkpoint, error) {
	if err := checkSignatureEncoding(signed); err != nil {
		return Checkpoint{}, err
	}
	n, err := OpenNote(signed, note.VerifierList(v))
	if err != nil {
		var unverified *note.UnverifiedNoteError
		var invalid *note.InvalidSignatureError
		if errors.As(err, &unverified) || errors.As(err, &invalid) {
			return Checkpoint{}, fmt.Errorf("%w: %v", ErrCheckpointSignature, err)
		}
		return Checkpoint{}, fmt.Errorf("%w: %v", ErrMalformedCheckpoint, err)
	}
	c, err := ParseCheckpoint([]byte(n.Text))
	if err != nil {
		return Checkpoint{}, err
	}
	if c.Origin != v.Name() {
		// The origin is the signer's text, up to a note's 1 MiB: at
		// most 200 bytes of it go into the error, which callers log.
		return Checkpoint{}, fmt.Errorf("%w: origin %q isn't the key name %q", ErrCheckpointSignature, untrusted.Text(c.Origin, 200), v.Name())
	}
	return c, nil
}

// SplitNote returns the text of a signed note without checking any
// signature (for display and for comparing two checkpoints as evidence).
func SplitNote(signed []byte) ([]byte, error) {
	s := string(signed)
	i := strings.LastIndex(s, "\n\n")
	if i < 0 {
		return nil, fmt.Errorf("%w: no signature block", ErrMalformedCheckpoint)
	}
	return []byte(s[:i+1]), nil
}

// checkSignatureEncoding rejects signature lines whose base64 isn't in
// strict form. note.Open ignores the unused low bits of the last base64
// character, so without this check a changed byte in a signature line
// could still verify.
//
// It also bounds the note ([checkNoteBounds]), so that whatever reads a
// checkpoint note from a node, a witness, a bundle or a file does bounded
// work on it.
func checkSignatureEncoding(signed []byte) error {
	if err := checkNoteBounds(signed); err != nil {
		return err
	}
	return strictSignatureLines(signed)
}

// strictSignatureLines is [checkSignatureEncoding] without the bounds:
// it refuses, wrapping [ErrMalformedCheckpoint], a note whose signature
// lines' base64 isn't in strict form.
func strictSignatureLines(signed []byte) error {
	s := string(signed)
	i := strings.LastIndex(s, "\n\n")
	if i < 0 {
		return fmt.Errorf("%w: no signature block", ErrMalformedCheckpoint)
	}
	for _, line := range strings.Split(strings.TrimSuffix(s[i+2:], "\n"), "\n") {
		sp := strings.LastIndexByte(line, ' ')
		if sp < 0 {
			return fmt.Errorf("%w: bad signature line", ErrMalformedCheckpoint)
		}
		if _, err := decodeBase64(line[sp+1:]); err != nil {
			return fmt.Errorf("%w: signature isn't strict base64", ErrMalformedCheckpoint)
		}
	}
	return nil
}

// MaxCheckpointNote bounds a signed checkpoint note: every reader
// ([OpenCheckpoint], [OpenNote], [CheckQuorum], [CosignedTimes],
// [VerifiedLines]) refuses a longer one, as malformed, before checking any
// signature, and [Client.Checkpoint] reads no more from a node. A note
// holds at most 100 signature lines (C2SP signed-note asks verifiers for a
// limit; golang.org/x/mod/sumdb/note's Open refuses more than 100), and
// even 100 ML-DSA-44 cosignatures (about 3.3 KB a line) with a checkpoint's
// few lines of text fit in a third of it; a witness takes no request over
// 256 KiB (witness.MaxBodySize).
const MaxCheckpointNote = 1 << 20

// checkNoteBounds refuses, wrapping [ErrMalformedCheckpoint], a signed
// note longer than [MaxCheckpointNote] or with more signature lines than
// note.Open accepts ([maxNoteSignatures]), counting lines without
// decoding or verifying any.
func checkNoteBounds(signed []byte) error {
	if len(signed) > MaxCheckpointNote {
		return fmt.Errorf("%w: a note of %d bytes, over the limit of %d", ErrMalformedCheckpoint, len(signed), MaxCheckpointNote)
	}
	if i := bytes.LastIndex(signed, []byte("\n\n")); i >= 0 {
		if n := bytes.Count(signed[i+2:], []byte("\n")); n > maxNoteSignatures {
			return fmt.Errorf("%w: a note with %d signature lines, over the limit of %d", ErrMalformedCheckpoint, n, maxNoteSignatures)
		}
	}
	return nil
}

// SignatureLine reads one signed-note signature line ("— name base64",
// without its newline): the key's name, its key ID and the signature
// after the ID. ok is false for a line that isn't one.
func SignatureLine(line string) (name string, id uint32, sig []byte, ok bool) {
	rest, ok := strings.CutPrefix(line, "— ")
	if !ok {
		return "", 0, nil, false
	}
	name, b64, found := strings.Cut(rest, " ")
	raw, err := base64.StdEncoding.DecodeString(b64)
	if !found || err != nil || len(raw) < 4 {
		return "", 0, nil, false
	}
	return name, binary.BigEndian.Uint32(raw), raw[4:], true
}

// OpenNote is note.Open with C2SP signed-note's rule that every signature
// line whose key name and ID match a known key is verified: note.Open
// checks only the first line of each known key and skips later ones, so a
// note carrying a good signature and then a bad one by the same key would
// pass. Here any such line that doesn't verify fails with a
// *note.InvalidSignatureError, as a bad first one does. Byte-identical
// repeats of a line are verified once. A note over [MaxCheckpointNote]
// or with more than 100 signature lines is refused before any signature
// is checked, wrapping [ErrMalformedCheckpoint]: at most 100 signatures
// are verified, each over at most 1 MiB.
func OpenNote(signed []byte, known note.Verifiers) (*note.Note, error) {
	if err := checkNoteBounds(signed); err != nil {
		return nil, err
	}
	n, err := note.Open(signed, known)
	if err != nil {
		return nil, err
	}
	// note.Open succeeded, so the signature block is well formed: the
	// text, a blank line, then "— name base64\n" lines.
	block := signed[len(n.Text)+1:]
	counted := map[string]bool{}
	first := map[[2]any]bool{}
	for len(block) > 0 {
		i := bytes.IndexByte(block, '\n')
		line := string(block[:i])
		block = block[i+1:]
		name, hash, sig, ok := SignatureLine(line)
		if !ok {
			continue // note.Open would have rejected it
		}
		v, err := known.Verifier(name, hash)
		if err != nil {
			continue // unknown key: ignored
		}
		key := [2]any{name, hash}
		if !first[key] {
			first[key] = true // verified by note.Open
			counted[line] = true
			continue
		}
		if counted[line] {
			continue
		}
		counted[line] = true
		if !v.Verify([]byte(n.Text), sig) {
			return nil, &note.InvalidSignatureError{Name: name, Hash: hash}
		}
	}
	return n, nil
}
