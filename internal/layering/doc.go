// Package layering holds no code: its test enforces the import layers that
// STYLE.md describes, so that spec packages stay importable by auditors and
// imports only ever point down, toward stix, and that docs/design.md's
// package table has a row for every package and no other.
//
//	stix, internal/untrusted, internal/cursor
//	pattern, tlog, pdq, private, opinion   (may import stix and each other)
//	taxii
//	internal/store…, internal/match
//	internal/node, internal/peer, internal/web
//	cmd/parley
package layering
