package private

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"time"
)

// WithdrawalSkew is how far the time a provider signs into its
// withdrawal ([WithdrawalMessage]) may be from the time its node logs
// the withdrawal: the node refuses a statement further from its clock,
// and [KeyReceipt.VerifyWithdrawn] one further from the withdrawal
// entry's received time.
const WithdrawalSkew = 5 * time.Minute

// WithdrawRequest is the optional body of DELETE /private/sets/{id}: the
// provider's own statement that it withdraws the set, signed with its
// member key in force ([WithdrawalMessage]). A withdrawal without one
// (a client older than it, or the operator) is logged as the node's word
// alone, and [WithdrawalReceipt.ProviderSigned] says so.
type WithdrawRequest struct {
	// Time is when the provider signed, within [WithdrawalSkew] of the
	// node's clock.
	Time time.Time `json:"time"`
	// Signature is the member key's Ed25519 signature of
	// [WithdrawalMessage] of the node's origin, the set id and Time.
	Signature []byte `json:"signature"`
}

// withdrawalMessagePrefix separates a withdrawal statement from
// anything else a member key signs.
const withdrawalMessagePrefix = "parley-oprf-withdrawal-v1\n"

// WithdrawalMessage returns what a provider signs to withdraw set setID
// from the node whose log has origin origin, at time at:
//
//	"parley-oprf-withdrawal-v1\n" ‖ LP(origin) ‖ LP(set id) ‖ LP(at)
//
// where LP(x) is x's length as 8 bytes big-endian, then x, and at is in
// UTC, RFC 3339 with nanoseconds (trailing zeros trimmed). The origin
// keeps a statement from being replayed on another node, the set id on
// another set.
func WithdrawalMessage(origin, setID string, at time.Time) []byte {
	b := []byte(withdrawalMessagePrefix)
	for _, s := range []string{origin, setID, at.UTC().Format(time.RFC3339Nano)} {
		b = binary.BigEndian.AppendUint64(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

// SignWithdrawal returns the provider's statement withdrawing set setID
// from the node of origin origin at time at, signed with key.
func SignWithdrawal(key ed25519.PrivateKey, origin, setID string, at time.Time) WithdrawRequest {
	return WithdrawRequest{Time: at.UTC(), Signature: ed25519.Sign(key, WithdrawalMessage(origin, setID, at))}
}

// withdrawalSaltPrefix separates the salt of a signed withdrawal.
const withdrawalSaltPrefix = "parley-oprf-withdrawal-salt-v1\n"

// WithdrawalSalt returns the commitment salt of a signed withdrawal's
// entry: SHA-256 of "parley-oprf-withdrawal-salt-v1\n" ‖ LP(nonce) ‖
// LP(signed) ‖ LP(signer) ‖ LP(signature), nonce being 32 random bytes.
// The withdrawal entry's commitment ([tlog.OPRFWithdrawalCommitment])
// binds its salt, so the log binds the provider's statement: fixed when
// the entry is appended, unchanged for a client that doesn't know of it,
// and as hidden from the set's non-readers as the rest of the opening.
func WithdrawalSalt(nonce []byte, signed time.Time, signer, signature []byte) []byte {
	h := sha256.New()
	h.Write([]byte(withdrawalSaltPrefix))
	for _, b := range [][]byte{nonce, []byte(signed.UTC().Format(time.RFC3339Nano)), signer, signature} {
		h.Write(binary.BigEndian.AppendUint64(nil, uint64(len(b))))
		h.Write(b)
	}
	return h.Sum(nil)
}
