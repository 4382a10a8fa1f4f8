package stix

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
)

const signaturesDoc = "../docs/signatures.md"

// The published test vector: RFC 8032 section 7.1 TEST 1's key and a
// small indicator.
const (
	vectorSeed   = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
	vectorObject = `{
  "type": "indicator",
  "spec_version": "2.1",
  "id": "indicator--a932fcc6-e032-476c-826f-cb970a5a1ade",
  "created_by_ref": "identity--4f2c6d2e-5b8a-4c6e-9f1d-3a7b8c9d0e1f",
  "created": "2026-11-03T09:15:00.000Z",
  "modified": "2026-11-03T09:15:00.000Z",
  "name": "Phishing domain impersonating the election commission",
  "indicator_types": ["malicious-activity"],
  "pattern": "[domain-name:value = 'elections-results.example']",
  "pattern_type": "stix",
  "valid_from": "2026-11-03T09:15:00Z",
  "confidence": 80,
  "labels": ["phishing", "élection"]
}`
)

var vectorBlock = regexp.MustCompile("(?s)<!-- vector:([a-z-]+) -->\n```([a-z]*)\n(.*?)```")

// TestSignatureVector recomputes the test vector published in
// docs/signatures.md and checks every value in the file, so the document
// cannot drift from the code. With -update it rewrites the values.
func TestSignatureVector(t *testing.T) {
	doc, err := os.ReadFile(signaturesDoc)
	if err != nil {
		t.Fatalf("docs/signatures.md must publish the signature test vector: %v", err)
	}
	seed, _ := hex.DecodeString(vectorSeed)
	key := ed25519.NewKeyFromSeed(seed)
	pub := key.Public().(ed25519.PublicKey)
	// RFC 8032's published public key for this seed.
	if hex.EncodeToString(pub) != "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a" {
		t.Fatal("the RFC 8032 key does not derive as published")
	}
	canonical, err := Canonicalize([]byte(vectorObject))
	if err != nil {
		t.Fatal(err)
	}
	message := signaturePrefix + string(canonical)
	signed, err := Sign([]byte(vectorObject), key)
	if err != nil {
		t.Fatal(err)
	}
	sig := ed25519.Sign(key, []byte(message))
	if !strings.Contains(string(signed), base64.StdEncoding.EncodeToString(sig)) {
		t.Fatal("Sign did not sign the documented message")
	}
	if got, err := Verify(signed); err != nil || !got.Equal(pub) {
		t.Fatalf("Verify(signed vector) = %v", err)
	}
	want := map[string]string{
		"extension-definition": string(SignatureExtensionDefinition()),
		"seed":                 vectorSeed,
		"public-key":           base64.StdEncoding.EncodeToString(pub),
		"object":               vectorObject,
		"message":              message,
		"signature":            base64.StdEncoding.EncodeToString(sig),
		"signed-object":        string(signed),
	}
	found := map[string]bool{}
	out := vectorBlock.ReplaceAllStringFunc(string(doc), func(block string) string {
		m := vectorBlock.FindStringSubmatch(block)
		name, lang, body := m[1], m[2], strings.TrimSuffix(m[3], "\n")
		w, ok := want[name]
		if !ok {
			t.Errorf("docs/signatures.md has an unknown vector block %q", name)
			return block
		}
		found[name] = true
		if *update {
			return fmt.Sprintf("<!-- vector:%s -->\n```%s\n%s\n```", name, lang, w)
		}
		if body != w {
			t.Errorf("docs/signatures.md vector %q is\n%s\nwant\n%s", name, body, w)
		}
		return block
	})
	for name := range want {
		if !found[name] {
			t.Errorf("docs/signatures.md lacks the vector block %q", name)
		}
	}
	if *update {
		if err := os.WriteFile(signaturesDoc, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
