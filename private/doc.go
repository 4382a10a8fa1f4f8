// Package private implements private set membership over a verifiable
// oblivious pseudorandom function (VOPRF, RFC 9497, suite
// ristretto255-SHA512) with github.com/cloudflare/circl/oprf.
//
// A provider holds a secret OPRF key k and publishes a [Set]: the
// truncated OPRF outputs F(k, x) ("tags") of its canonical observable lines
// x ("domain-name:evil.example", see [Normalize] and [ParseLine]). A
// querier blinds its own lines, has the provider evaluate the blinded
// elements, verifies the batched DLEQ proof against the set's public key,
// unblinds and finalises to F(k, y), and looks the truncated outputs up in
// the published tags. The provider sees only uniformly random group
// elements; the querier learns, for each value it asked about, whether it
// is in the set, and nothing about values it did not ask about (tags are
// pseudorandom without k).
package private
