// Package stix implements the parts of STIX 2.1 (OASIS Standard, 10 June
// 2021) that a Parley node and its clients need: the object model and
// parsing, validation of every object type of the specification,
// identifiers (section 2.9), timestamps (section 3.2), TLP 1.0 and TLP 2.0
// markings, RFC 8785 JSON Canonicalization Scheme (JCS), and Parley's
// object signature extension.
//
// The signature is a STIX property extension (section 7.3) whose
// extension-definition id is [SignatureExtensionID]. The signed message is
//
//	"parley-stix-signature-v1\n" || JCS(object without that extension entry)
//
// where the object loses its "extensions" property too when the signature
// entry was its only entry. [Sign] and [Verify] implement it; the wire
// format is stable and documented, with a test vector, in
// docs/signatures.md.
package stix
