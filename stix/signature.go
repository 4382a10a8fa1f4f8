package stix

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// SignatureExtensionID is the extension-definition id of Parley's object
// signature extension. The node serves the definition itself
// ([SignatureExtensionDefinition]).
const SignatureExtensionID = "extension-definition--f0b55baa-9c82-4c6a-84d6-8f59124ea46f"

// SignatureAlgorithm is the only value of the extension's "alg".
const SignatureAlgorithm = "ed25519"

// signaturePrefix is prepended to the canonical object to form the signed
// message, so that a signature over a STIX object can never be replayed
// as a signature over anything else.
const signaturePrefix = "parley-stix-signature-v1\n"

var (
	// ErrUnsigned means the object carries no signature extension.
	ErrUnsigned = errors.New("object is not signed")
	// ErrBadSignature means the signature extension is malformed or the
	// signature does not verify.
	ErrBadSignature = errors.New("bad object signature")
)

// Sign signs a STIX object (one JSON object) with key and returns the
// object's RFC 8785 canonical JSON with the signature extension set,
// replacing any signature it already had. The signed message is
// "parley-stix-signature-v1\n" followed by the canonical JSON of the
// object without the signature entry (see the package documentation).
func Sign(object []byte, key ed25519.PrivateKey) ([]byte, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("couldn't sign: the private key has %d bytes, want %d", len(key), ed25519.PrivateKeySize)
	}
	m, err := decodeObjectJSON(object)
	if err != nil {
		return nil, fmt.Errorf("couldn't sign: %w", err)
	}
	if x, ok := m["extensions"]; ok {
		ext, ok := x.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("couldn't sign: %w: \"extensions\" is %s, not a JSON object", ErrNotObject, jsonKind(x))
		}
		// Any old signature goes, and so does an empty "extensions", as
		// the verifier drops it before rebuilding the message.
		delete(ext, SignatureExtensionID)
		if len(ext) == 0 {
			delete(m, "extensions")
		}
	}
	msg, err := appendCanonical([]byte(signaturePrefix), m)
	if err != nil {
		return nil, fmt.Errorf("couldn't sign: %w", err)
	}
	sig := ed25519.Sign(key, msg)
	ext, _ := m["extensions"].(map[string]any)
	if ext == nil {
		ext = map[string]any{}
		m["extensions"] = ext
	}
	ext[SignatureExtensionID] = map[string]any{
		"extension_type": "property-extension",
		"alg":            SignatureAlgorithm,
		"public_key":     base64.StdEncoding.EncodeToString(key.Public().(ed25519.PublicKey)),
		"signature":      base64.StdEncoding.EncodeToString(sig),
	}
	return appendCanonical(make([]byte, 0, len(msg)+256), m)
}

// Verify checks the signature extension of a STIX object and returns the
// public key that signed it. It returns an error wrapping [ErrUnsigned]
// when the object has no signature extension, and one wrapping
// [ErrBadSignature] when the extension is malformed (wrong
// extension_type or alg, bad base64, wrong lengths, unknown members) or
// the signature does not verify. Verify says nothing about whose key it
// is: the caller checks it against the key registered for created_by_ref.
func Verify(object []byte) (ed25519.PublicKey, error) {
	m, err := decodeObjectJSON(object)
	if err != nil {
		return nil, fmt.Errorf("couldn't verify: %w", err)
	}
	pub, sig, err := removeSignature(m)
	if err != nil {
		return nil, err
	}
	msg, err := appendCanonical(append(make([]byte, 0, len(signaturePrefix)+len(object)), signaturePrefix...), m)
	if err != nil {
		return nil, fmt.Errorf("couldn't verify: %w", err)
	}
	if !ed25519.Verify(pub, msg, sig) {
		return nil, fmt.Errorf("%w: the signature does not match the object and public key", ErrBadSignature)
	}
	return pub, nil
}

// VerifyObject is [Verify] for an object that [Parse] (or [ParseObjects])
// already decoded: it checks the same message and signature with the same
// errors, but rebuilds the message from o.Props instead of decoding o.Raw
// again. o is not modified. A pipeline that parses, validates and
// verifies each object thus reads its JSON once.
func VerifyObject(o *Object) (ed25519.PublicKey, error) {
	if o == nil || o.Props == nil {
		return nil, fmt.Errorf("couldn't verify: %w: no decoded object", ErrNotObject)
	}
	// removeSignature deletes from the maps it is given: hand it a copy
	// of the two maps it touches, sharing every value below them.
	m := make(map[string]any, len(o.Props))
	for k, v := range o.Props {
		m[k] = v
	}
	if exts, ok := m["extensions"].(map[string]any); ok {
		c := make(map[string]any, len(exts))
		for k, v := range exts {
			c[k] = v
		}
		m["extensions"] = c
	}
	pub, sig, err := removeSignature(m)
	if err != nil {
		return nil, err
	}
	msg, err := appendCanonical(append(make([]byte, 0, len(signaturePrefix)+len(o.Raw)), signaturePrefix...), m)
	if err != nil {
		return nil, fmt.Errorf("couldn't verify: %w", err)
	}
	if !ed25519.Verify(pub, msg, sig) {
		return nil, fmt.Errorf("%w: the signature does not match the object and public key", ErrBadSignature)
	}
	return pub, nil
}

// StripSignature returns the canonical JSON of the object without its
// signature extension entry (and without "extensions" if that leaves it
// empty): the signed message minus its prefix. An unsigned object is
// returned canonicalized; a malformed signature entry is still removed.
func StripSignature(object []byte) ([]byte, error) {
	m, err := decodeObjectJSON(object)
	if err != nil {
		return nil, err
	}
	if ext, ok := m["extensions"].(map[string]any); ok {
		delete(ext, SignatureExtensionID)
		if len(ext) == 0 {
			delete(m, "extensions")
		}
	}
	return appendCanonical(make([]byte, 0, len(object)), m)
}

func decodeObjectJSON(object []byte) (map[string]any, error) {
	v, err := decodeJSON(object)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: expected a JSON object, found %s", ErrNotObject, jsonKind(v))
	}
	return m, nil
}

// removeSignature takes the signature entry out of m (dropping an
// emptied "extensions") and returns its decoded key and signature.
func removeSignature(m map[string]any) (ed25519.PublicKey, []byte, error) {
	exts, ok := m["extensions"].(map[string]any)
	if !ok {
		return nil, nil, ErrUnsigned
	}
	raw, ok := exts[SignatureExtensionID]
	if !ok {
		return nil, nil, ErrUnsigned
	}
	delete(exts, SignatureExtensionID)
	if len(exts) == 0 {
		delete(m, "extensions")
	}
	entry, ok := raw.(map[string]any)
	if !ok {
		return nil, nil, fmt.Errorf("%w: the extension entry is not a JSON object", ErrBadSignature)
	}
	for k := range entry {
		switch k {
		case "extension_type", "alg", "public_key", "signature":
		default:
			// Members outside the signed message would be unauthenticated.
			return nil, nil, fmt.Errorf("%w: unknown member %q in the extension entry", ErrBadSignature, k)
		}
	}
	if entry["extension_type"] != "property-extension" {
		return nil, nil, fmt.Errorf("%w: extension_type must be \"property-extension\"", ErrBadSignature)
	}
	if entry["alg"] != SignatureAlgorithm {
		return nil, nil, fmt.Errorf("%w: alg must be %q", ErrBadSignature, SignatureAlgorithm)
	}
	pubText, _ := entry["public_key"].(string)
	pub, err := decodeBase64(pubText)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		return nil, nil, fmt.Errorf("%w: public_key must be the standard base64 of %d bytes", ErrBadSignature, ed25519.PublicKeySize)
	}
	sigText, _ := entry["signature"].(string)
	sig, err := decodeBase64(sigText)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, nil, fmt.Errorf("%w: signature must be the standard base64 of %d bytes", ErrBadSignature, ed25519.SignatureSize)
	}
	return ed25519.PublicKey(pub), sig, nil
}

// decodeBase64 decodes standard padded base64 in its one canonical form:
// base64.StdEncoding.Strict() still skips '\r' and '\n' anywhere in the
// text, so that a key or a signature had many encodings.
func decodeBase64(s string) ([]byte, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, errors.New("a line break inside base64")
	}
	return base64.StdEncoding.Strict().DecodeString(s)
}
