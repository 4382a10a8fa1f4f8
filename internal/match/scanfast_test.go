package match

import (
	"encoding/json"
	"math/rand"
	"strings"
	"testing"
)

// TestQuoteEndAndDigitRun checks the eight-bytes-at-a-time scans against
// byte loops on random strings, including the bytes (0xFA and above) whose
// carry the digit test must not let through.
func TestQuoteEndAndDigitRun(t *testing.T) {
	refQuote := func(d []byte, start int) int {
		for i := start; i < len(d); i++ {
			if d[i] == '"' {
				return i
			}
		}
		return -1
	}
	refDigits := func(d []byte, i int) int {
		n := 0
		for i+n < len(d) && d[i+n] >= '0' && d[i+n] <= '9' {
			n++
		}
		return n
	}
	alphabet := []byte{'"', '\\', '0', '5', '9', '/', ':', '.', 'e', 0x2f, 0x3a, 0x40, 0xfa, 0xff, 0xf9, 0x39, 0x30, 0x00}
	r := rand.New(rand.NewSource(5))
	for range 200000 {
		d := make([]byte, r.Intn(40))
		for i := range d {
			if r.Intn(5) == 0 {
				d[i] = alphabet[r.Intn(len(alphabet))]
			} else {
				d[i] = '0' + byte(r.Intn(10))
			}
		}
		start := 0
		if len(d) > 0 {
			start = r.Intn(len(d) + 1)
		}
		if got, want := quoteEnd(d, start), refQuote(d, start); got != want {
			t.Fatalf("quoteEnd(%q, %d) = %d, want %d", d, start, got, want)
		}
		if got, want := digitRun(d, start), refDigits(d, start); got != want {
			t.Fatalf("digitRun(%q, %d) = %d, want %d", d, start, got, want)
		}
	}
}

// TestNumberAgreesWithJSON: number() accepts exactly what encoding/json
// takes for a number, and stops where the number ends.
func TestNumberAgreesWithJSON(t *testing.T) {
	alphabet := "0123456789-+.eE0011x"
	r := rand.New(rand.NewSource(9))
	for range 200000 {
		b := make([]byte, 1+r.Intn(24))
		for i := range b {
			b[i] = alphabet[r.Intn(len(alphabet))]
		}
		if r.Intn(2) == 0 {
			b[0] = '0' + byte(r.Intn(10))
		}
		s := &scanner{}
		s.reset(b)
		err := s.number()
		whole := err == nil && s.pos == len(b)
		var v json.Number
		valid := b[0] != '+' && json.Unmarshal(b, &v) == nil
		if whole != valid {
			t.Fatalf("number(%q): pos %d err %v; encoding/json valid %v", b, s.pos, err, valid)
		}
		if err == nil && s.pos < len(b) && !json.Valid(b[:s.pos]) {
			t.Fatalf("number(%q) stopped at %d on an invalid prefix", b, s.pos)
		}
	}
}

// TestKnownRelCoversNestedPaths: every way a field path of every table
// can be split into a container path and a key inside it (which may have
// dots of its own) passes the nested key filter, so that no field is
// skipped inside an object.
func TestKnownRelCoversNestedPaths(t *testing.T) {
	for _, tab := range []*fieldTable{zeekTable, eveTable, ecsTable} {
		for k := range tab.defs {
			comps := strings.Split(k, ".")
			for i := 1; i < len(comps); i++ {
				for j := i + 1; j <= len(comps); j++ {
					key := strings.Join(comps[i:j], ".")
					if !tab.knownRel([]byte(key)) {
						t.Errorf("%s: key %q inside %q rejected", k, key, strings.Join(comps[:i], "."))
					}
				}
			}
		}
	}
}

// TestNestedDottedKey: an ECS document may nest an object whose keys
// carry the rest of a dotted path; the field is found all the same, with
// or without backslashes elsewhere in the line (the two string scans).
func TestNestedDottedKey(t *testing.T) {
	for _, line := range []string{
		`{"@timestamp":"2024-03-01T10:00:00Z","ecs":{"version":"8.11"},"dns":{"question.name":"evil.example"}}`,
		`{"@timestamp":"2024-03-01T10:00:00Z","ecs":{"version":"8.11"},"dns":{"question":{"name":"evil.example"}}}`,
		`{"@timestamp":"2024-03-01T10:00:00Z","ecs":{"version":"8.11"},"note":"a\"b","dns":{"question.name":"evil.example"}}`,
	} {
		d := NewDecoder(FormatAuto)
		evs, err := d.Decode([]byte(line))
		if err != nil || len(evs) != 1 {
			t.Fatalf("%s: %v", line, err)
		}
		if got := describe(evs[0]); !strings.Contains(got, `domain-name:value = "evil.example"`) {
			t.Errorf("%s: no domain in\n%s", line, got)
		}
	}
}
