package match

import (
	"encoding/json"
	"math/rand"
	"strings"
	"testing"
)

// TestScannerStrings compares the scanner's strings with encoding/json's
// over random strings of every length around the 8-byte blocks, with
// quotes, backslashes, escapes and non-ASCII text.
func TestScannerStrings(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	alphabet := []string{"a", "b", "\"", "\\", "/", "\n", "\t", "é", "😀", "\u2028", "<", " "}
	for n := 0; n < 40; n++ {
		for k := 0; k < 50; k++ {
			var b strings.Builder
			for i := 0; i < n; i++ {
				b.WriteString(alphabet[r.Intn(len(alphabet))])
			}
			want := b.String()
			enc, _ := json.Marshal(want)
			line := append(append([]byte(`{"k":`), enc...), `,"z":1}`...)
			var s scanner
			s.reset(line)
			if err := s.openObject(); err != nil {
				t.Fatal(err)
			}
			key, ok, err := s.nextKey(true)
			if err != nil || !ok || string(key) != "k" {
				t.Fatalf("key %q %v %v", key, ok, err)
			}
			kind, v, err := s.value()
			if err != nil || kind != kindString || string(v) != want {
				t.Fatalf("%s: got %q (%v), want %q", enc, v, err, want)
			}
			if err := s.skip(0); err == nil {
				t.Fatalf("%s: skip after the value should see a comma, not a value", enc)
			}
		}
	}
}
