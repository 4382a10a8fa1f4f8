package private

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"testing"
	"time"
)

// TestWithdrawalMessage: the signed message is exactly the documented
// bytes (docs/private.md), and differs for another origin, set or time,
// so that a statement can't be replayed on another node or set.
func TestWithdrawalMessage(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 500000000, time.FixedZone("x", 3600))
	got := WithdrawalMessage("parley.test/log", "private-set--1", at)
	want := []byte("parley-oprf-withdrawal-v1\n")
	for _, s := range []string{"parley.test/log", "private-set--1", "2026-03-01T11:00:00.5Z"} {
		want = append(want, 0, 0, 0, 0, 0, 0, 0, byte(len(s)))
		want = append(want, s...)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("WithdrawalMessage =\n%s\nwant\n%s", hex.Dump(got), hex.Dump(want))
	}
	for name, other := range map[string][]byte{
		"another origin": WithdrawalMessage("parley.test/log2", "private-set--1", at),
		"another set":    WithdrawalMessage("parley.test/log", "private-set--2", at),
		"another time":   WithdrawalMessage("parley.test/log", "private-set--1", at.Add(time.Nanosecond)),
		"a shifted cut":  WithdrawalMessage("parley.test/logp", "rivate-set--1", at),
	} {
		if bytes.Equal(other, got) {
			t.Errorf("%s: the same message", name)
		}
	}
	_, key, _ := ed25519.GenerateKey(nil)
	req := SignWithdrawal(key, "parley.test/log", "private-set--1", at)
	if !req.Time.Equal(at) || !ed25519.Verify(key.Public().(ed25519.PublicKey), got, req.Signature) {
		t.Errorf("SignWithdrawal doesn't sign WithdrawalMessage")
	}
	salt := WithdrawalSalt(bytes.Repeat([]byte{1}, 32), at, key.Public().(ed25519.PublicKey), req.Signature)
	if len(salt) != 32 || bytes.Equal(salt, WithdrawalSalt(bytes.Repeat([]byte{2}, 32), at, key.Public().(ed25519.PublicKey), req.Signature)) {
		t.Errorf("WithdrawalSalt doesn't depend on its nonce")
	}
}
