package pdq

import (
	"bytes"
	"strings"
	"testing"
)

// fuzzLimits keep every accepted input small, so that the fuzzer also
// proves allocation is bounded by the header check.
var fuzzLimits = Limits{MaxPixels: 1 << 18, MaxSide: 4096, MaxBytes: 1 << 20}

// FuzzHashImage feeds arbitrary bytes to the decoders and the hasher:
// nothing may panic, and an accepted image must be within the limits.
func FuzzHashImage(f *testing.F) {
	f.Add(pngHeader(1, 1))
	f.Add(pngHeader(70000, 70000))
	f.Fuzz(func(t *testing.T, data []byte) {
		img, _, err := Decode(bytes.NewReader(data), fuzzLimits)
		if err != nil {
			return
		}
		b := img.Bounds()
		if b.Dx() > fuzzLimits.MaxSide || b.Dy() > fuzzLimits.MaxSide || int64(b.Dx())*int64(b.Dy()) > fuzzLimits.MaxPixels {
			t.Fatalf("accepted %v over the limits", b)
		}
		hs, q := HashDihedral(img)
		h, q2 := HashImage(img)
		if h != hs[Original] || q != q2 || q < 0 || q > 100 {
			t.Fatalf("inconsistent: %s %d vs %s %d", h, q2, hs[Original], q)
		}
	})
}

// FuzzParseHash: whatever parses re-encodes to the same text, lower-cased.
func FuzzParseHash(f *testing.F) {
	f.Add("f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22")
	f.Add(strings.Repeat("F", 64))
	f.Add("zz")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseHash(s)
		if err != nil {
			return
		}
		if h.String() != strings.ToLower(s) {
			t.Fatalf("ParseHash(%q).String() = %s", s, h)
		}
		if (ValidatePattern(s) == nil) != (s == strings.ToLower(s)) {
			t.Fatalf("ValidatePattern(%q) disagrees with ParseHash", s)
		}
	})
}
