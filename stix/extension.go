package stix

// SignatureExtensionCreated is the fixed created (and modified) time of
// the signature extension-definition object.
const SignatureExtensionCreated = "2026-11-01T00:00:00.000Z"

// ParleyIdentityID is the fixed identity that created Parley's
// extension definitions (the Parley project, not any one node).
const ParleyIdentityID = "identity--5c6bd0a4-7f0e-4a57-9d5b-6e1f2f8e8b2a"

// SignatureExtensionSchema is the URL of the extension's normative
// definition.
const SignatureExtensionSchema = "https://github.com/parley-exchange/parley/blob/main/docs/signatures.md"

// SignatureExtensionDefinition returns the RFC 8785 canonical JSON of the
// extension-definition object (STIX 2.1 section 7.2.1) for the signature
// extension, which a node serves so that any STIX tool can resolve the
// extension id on a signed object. The bytes never change.
func SignatureExtensionDefinition() []byte {
	def := map[string]any{
		"type":           "extension-definition",
		"spec_version":   "2.1",
		"id":             SignatureExtensionID,
		"created_by_ref": ParleyIdentityID,
		"created":        SignatureExtensionCreated,
		"modified":       SignatureExtensionCreated,
		"name":           "Parley object signature",
		"description": "An Ed25519 signature by the object's creator over \"parley-stix-signature-v1\\n\" followed by the " +
			"RFC 8785 canonical JSON of the object without this extension entry (and without extensions if it is then empty). " +
			"Properties: alg (\"ed25519\"), public_key and signature (standard base64).",
		"schema":          SignatureExtensionSchema,
		"version":         "1.0.0",
		"extension_types": []any{"property-extension"},
	}
	b, err := appendCanonical(nil, def)
	if err != nil {
		panic("stix: the signature extension definition does not serialize: " + err.Error())
	}
	return b
}
