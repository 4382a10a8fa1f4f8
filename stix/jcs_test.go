package stix

import (
	"bufio"
	bin "encoding/binary"
	"encoding/hex"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCanonicalizeRFC8785 checks the RFC's published examples: section
// 3.2.2 (values) and 3.2.3 (sorting by UTF-16 code units).
func TestCanonicalizeRFC8785(t *testing.T) {
	for _, name := range []string{"values", "sorting"} {
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("testdata", "rfc8785", name+".input.json"))
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join("testdata", "rfc8785", name+".output.json"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := Canonicalize(in)
			if err != nil {
				t.Fatalf("Canonicalize: %v", err)
			}
			if string(got) != string(want) {
				t.Errorf("Canonicalize:\n got %s\nwant %s", got, want)
			}
		})
	}
}

// TestES6NumbersRFC8785 checks RFC 8785 Appendix B: each IEEE 754 value
// and its serialization.
func TestES6NumbersRFC8785(t *testing.T) {
	forEachLine(t, filepath.Join("testdata", "rfc8785", "numbers.txt"), func(hexBits, want string) {
		b, err := hex.DecodeString(hexBits)
		if err != nil {
			t.Fatal(err)
		}
		f := math.Float64frombits(bin.BigEndian.Uint64(b))
		if got := string(appendES6Number(nil, f)); got != want {
			t.Errorf("%s (%v): got %s, want %s", hexBits, f, got, want)
		}
		// And through the JSON reader, when the value round-trips as text.
		if got, err := Canonicalize([]byte(want)); err != nil || string(got) != want {
			t.Errorf("Canonicalize(%s) = %s, %v", want, got, err)
		}
	})
}

// TestCanonicalNumberLiterals checks JSON number texts as written.
func TestCanonicalNumberLiterals(t *testing.T) {
	forEachLine(t, filepath.Join("testdata", "rfc8785", "literals.txt"), func(in, want string) {
		got, err := Canonicalize([]byte(in))
		if err != nil {
			t.Fatalf("Canonicalize(%s): %v", in, err)
		}
		if string(got) != want {
			t.Errorf("Canonicalize(%s) = %s, want %s", in, got, want)
		}
	})
}

func forEachLine(t *testing.T, path string, f func(a, b string)) {
	t.Helper()
	file, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	s := bufio.NewScanner(file)
	n := 0
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		a, b, ok := strings.Cut(line, " ")
		if !ok {
			t.Fatalf("bad line %q", line)
		}
		f(a, b)
		n++
	}
	if n == 0 {
		t.Fatalf("%s has no vectors", path)
	}
}

func TestCanonicalizeStrings(t *testing.T) {
	tests := []struct{ in, want string }{
		{`"\u0000\u001f\u007f"`, "\"\\u0000\\u001f\u007f\""},
		{`"\b\f\n\r\t"`, `"\b\f\n\r\t"`},
		{`"\u00e9\/"`, `"é/"`},
		{`"\u2028\u2029"`, "\"\u2028\u2029\""},
		{`"\ud83d\ude00"`, `"😀"`},
		{`"<>&"`, `"<>&"`},
		{` [ 1 , { "b" : 2 , "a" : [ ] } , { } ] `, `[1,{"a":[],"b":2},{}]`},
	}
	for _, tt := range tests {
		got, err := Canonicalize([]byte(tt.in))
		if err != nil {
			t.Errorf("Canonicalize(%s): %v", tt.in, err)
			continue
		}
		if string(got) != tt.want {
			t.Errorf("Canonicalize(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestCanonicalizeRejects(t *testing.T) {
	deep := strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1)
	tests := map[string]string{
		"duplicate key":        `{"a":1,"a":2}`,
		"duplicate nested key": `{"x":{"b":1,"b":1}}`,
		"escaped duplicate":    `{"a":1,"\u0061":2}`,
		"invalid UTF-8":        "\"\xff\"",
		"invalid UTF-8 in key": "{\"\xc3\":1}",
		"lone high surrogate":  `"\ud83d"`,
		"lone low surrogate":   `"\ude00"`,
		"reversed surrogates":  `"\ude00\ud83d"`,
		"number too big":       `1e400`,
		"leading zero":         `01`,
		"bare dot":             `1.`,
		"plus sign":            `+1`,
		"NaN":                  `NaN`,
		"trailing comma":       `[1,]`,
		"trailing data":        `{} {}`,
		"control char":         "\"a\tb\"",
		"bad escape":           `"\x"`,
		"unterminated":         `"abc`,
		"empty":                ``,
		"single quotes":        `{'a':1}`,
		"too deep":             deep,
		"truncated literal":    `tru`,
		"missing colon":        `{"a" 1}`,
	}
	for name, in := range tests {
		if _, err := Canonicalize([]byte(in)); !errors.Is(err, ErrInvalidJSON) {
			t.Errorf("%s: Canonicalize(%q) error = %v, want ErrInvalidJSON", name, in, err)
		}
	}
}

func TestCompareUTF16(t *testing.T) {
	// U+FB33 sorts after U+1F600 in UTF-16 (0xFB33 > 0xD83D) although it
	// sorts before it by code point.
	if compareUTF16("\ufb33", "\U0001F600") <= 0 {
		t.Error("U+FB33 should sort after U+1F600")
	}
	if compareUTF16("a", "ab") >= 0 || compareUTF16("ab", "a") <= 0 || compareUTF16("x", "x") != 0 {
		t.Error("prefix ordering is wrong")
	}
	if compareUTF16("\U0001F600", "\U0001F601") >= 0 {
		t.Error("supplementary characters should order by code point")
	}
}
