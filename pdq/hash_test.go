package pdq

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// sharedDir is the repository's PDQ test data (testdata/README.md names
// its sources and licence).
var sharedDir = filepath.Join("..", "testdata", "pdq")

// readShared reads a file of the PDQ test data.
func readShared(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sharedDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustParse(t testing.TB, s string) Hash {
	t.Helper()
	h, err := ParseHash(s)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestParseFormat(t *testing.T) {
	tests := []struct {
		in      string
		want    string // canonical form; "" means a syntax error
		bit0    bool   // reference bit 0 (last hex digit's low bit)
		bit255  bool   // reference bit 255 (first hex digit's high bit)
		norm    int
		wantErr bool
	}{
		{in: "0000000000000000000000000000000000000000000000000000000000000001", bit0: true, norm: 1},
		{in: "8000000000000000000000000000000000000000000000000000000000000000", bit255: true, norm: 1},
		{in: "F8F8F0CEE0F4A84F06370A22038F63F0B36E2ED596621E1D33E6B39C4E9C9B22", want: "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22", bit255: true, norm: 128},
		{in: "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", bit0: true, bit255: true, norm: 256},
		{in: "", wantErr: true},
		{in: "f8f8", wantErr: true},
		{in: "g000000000000000000000000000000000000000000000000000000000000000", wantErr: true},
		{in: "0000000000000000000000000000000000000000000000000000000000000000 ", wantErr: true},
	}
	for _, tt := range tests {
		h, err := ParseHash(tt.in)
		if tt.wantErr {
			if !errors.Is(err, ErrHashSyntax) {
				t.Errorf("ParseHash(%q) error = %v, want ErrHashSyntax", tt.in, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("ParseHash(%q): %v", tt.in, err)
		}
		want := tt.want
		if want == "" {
			want = tt.in
		}
		if got := h.String(); got != want {
			t.Errorf("String() = %s, want %s", got, want)
		}
		if h.Bit(0) != tt.bit0 || h.Bit(255) != tt.bit255 {
			t.Errorf("%s: Bit(0), Bit(255) = %v, %v, want %v, %v", tt.in, h.Bit(0), h.Bit(255), tt.bit0, tt.bit255)
		}
		if h.Norm() != tt.norm {
			t.Errorf("%s: Norm() = %d, want %d", tt.in, h.Norm(), tt.norm)
		}
		var u Hash
		if err := u.UnmarshalText([]byte(want)); err != nil || u != h {
			t.Errorf("UnmarshalText(%s) = %v, %v", want, u, err)
		}
	}
}

// TestBitNumbering pins the reference layout: bit k of the 16x16 output is
// bit k%16 of 16-bit word k/16, and word 15 is printed first.
func TestBitNumbering(t *testing.T) {
	for k := range 256 {
		var h Hash
		h.setBit(k)
		s := h.String()
		// The word holding bit k is printed at hex digits 4*(15-k/16)...
		word := 15 - k/16
		digit := word*4 + 3 - (k%16)/4
		for i := range s {
			want := byte('0')
			if i == digit {
				want = "1248"[k%4]
			}
			if s[i] != want {
				t.Fatalf("bit %d prints as %s", k, s)
			}
		}
		if !h.Bit(k) || h.Norm() != 1 {
			t.Fatalf("bit %d: Bit/Norm disagree", k)
		}
	}
}

// TestHashVectors checks popcounts and distances against the reference
// hashtool256 output.
func TestHashVectors(t *testing.T) {
	var v struct {
		Norms []struct {
			Hash     string
			Popcount int
		}
		ConsecutiveDistances []struct {
			A, B     string
			Distance int
		} `json:"consecutive_distances"`
	}
	if err := json.Unmarshal(readShared(t, "hash_vectors.json"), &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Norms) == 0 || len(v.ConsecutiveDistances) == 0 {
		t.Fatal("no vectors read")
	}
	for _, n := range v.Norms {
		if got := mustParse(t, n.Hash).Norm(); got != n.Popcount {
			t.Errorf("Norm(%s) = %d, want %d", n.Hash, got, n.Popcount)
		}
	}
	for _, d := range v.ConsecutiveDistances {
		a, b := mustParse(t, d.A), mustParse(t, d.B)
		if got := Distance(a, b); got != d.Distance {
			t.Errorf("Distance(%s, %s) = %d, want %d", d.A, d.B, got, d.Distance)
		}
		if Distance(b, a) != Distance(a, b) {
			t.Error("distance not symmetric")
		}
	}
}
