// Package tlog is Parley's verifiable append-only log: the spec-facing part
// that auditors and other implementations import.
//
// It implements
//
//   - log entries: one canonical JSON document (RFC 8785) per accepted
//     object version, carrying a salted SHA-256 commitment to the object, its
//     collection, id, version and sharer, so that a member not entitled to
//     the object learns only that an entry exists and when ([Entry],
//     [ObjectCommitment]); member key events in clear, so that every
//     signature is checked against the key in force at its position
//     ([KeyHistory]);
//   - the RFC 6962 / RFC 9162 Merkle tree (SHA-256, leaf prefix 0x00, node
//     prefix 0x01) via github.com/transparency-dev/merkle, with inclusion and
//     consistency proofs;
//   - checkpoints in the C2SP tlog-checkpoint format, signed as C2SP signed
//     notes with Ed25519 via golang.org/x/mod/sumdb/note ([Checkpoint]);
//   - C2SP tlog-tiles paths and encodings: hash tiles and entry bundles
//     ([TilePath], [ParseTilePath], [ParseEntryBundle]);
//   - proof bundles that verify offline with no trust in the node
//     ([Bundle], [VerifyBundle]) and a streaming full audit ([Audit])
//     that remembers the checkpoints it saw ([SeenCheckpoints]) and keeps
//     two conflicting ones as evidence of a fork;
//   - a client for a Parley node's /log/ API ([Client]);
//   - witness cosignatures (C2SP tlog-cosignature, Ed25519 cosignature/v1:
//     [Cosigner], [CosignatureVerifier]), witness policies (C2SP
//     tlog-policy: [ParsePolicy], [CheckQuorum]) and split-view evidence
//     ([NewEvidence], [VerifyEvidence]), described in docs/witness.md.
//
// docs/log.md describes the wire formats and how a member pins the node's
// key.
package tlog
