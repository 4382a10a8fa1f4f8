package match

import (
	"math/rand"
	"testing"
)

// TestSkipScalarOrAgreesWithSkip checks the inline paths of skipScalarOr
// (strings, numbers, booleans) against the general skip: the same end
// position, and an error for the same inputs.
func TestSkipScalarOrAgreesWithSkip(t *testing.T) {
	for _, in := range []string{
		`true`, `false`, `null`, `tru`, `fals`, `truex`, `t`, `f`, `fALSE`, ` true,`, "\tfalse}",
		`"abc"`, `"a\"b"`, `"abc`, `"a\`, `"0123456789abcdef0123"`, `"0123456\"9abcdef"`,
		`12`, `-1.5e3`, `-`, `1.`, `[true,false]`, `{"a":true}`, `[`, ``, ` `, `x`,
	} {
		a := &scanner{}
		a.reset([]byte(in))
		b := &scanner{}
		b.reset([]byte(in))
		errA := a.skipScalarOr(0)
		errB := b.skip(0)
		if (errA == nil) != (errB == nil) || errA == nil && a.pos != b.pos {
			t.Errorf("%q: skipScalarOr = (%d, %v), skip = (%d, %v)", in, a.pos, errA, b.pos, errB)
		}
	}
}

// TestPlainEnd checks the eight-bytes-at-a-time scan against a byte loop
// on random strings of quotes, backslashes and other bytes.
func TestPlainEnd(t *testing.T) {
	ref := func(d []byte, start int) int {
		for i := start; i < len(d); i++ {
			switch d[i] {
			case '"':
				return i
			case '\\':
				return -1
			}
		}
		return -1
	}
	alphabet := []byte{'"', '\\', 'a', 0x21, 0x23, 0x5b, 0x5d, 0xa2, 0xdc, 0x00, 0xff}
	r := rand.New(rand.NewSource(3))
	for range 100000 {
		d := make([]byte, r.Intn(40))
		for i := range d {
			if r.Intn(6) == 0 {
				d[i] = alphabet[r.Intn(len(alphabet))]
			} else {
				d[i] = alphabet[2+r.Intn(len(alphabet)-2)]
			}
		}
		start := 0
		if len(d) > 0 {
			start = r.Intn(len(d) + 1)
		}
		if got, want := plainEnd(d, start), ref(d, start); got != want {
			t.Fatalf("plainEnd(%q, %d) = %d, want %d", d, start, got, want)
		}
	}
}

// TestNextKeyForms reads the same object written compactly and with white
// space and escapes (the general path) and expects the same keys.
func TestNextKeyForms(t *testing.T) {
	for _, in := range []string{
		`{"a":1,"bc":2,"d\"e":3}`,
		` { "a" : 1 , "bc":2,"d\u0022e" :3 } `,
		"{\"a\":1,\n\"bc\"\t:2,\"d\\\"e\":3}",
	} {
		s := &scanner{}
		s.reset([]byte(in))
		if err := s.openObject(); err != nil {
			t.Fatal(err)
		}
		var keys []string
		for first := true; ; first = false {
			k, ok, err := s.nextKey(first)
			if err != nil {
				t.Fatalf("%q: %v", in, err)
			}
			if !ok {
				break
			}
			keys = append(keys, string(k))
			if err := s.skipScalarOr(0); err != nil {
				t.Fatalf("%q: %v", in, err)
			}
		}
		if err := s.end(); err != nil || len(keys) != 3 || keys[0] != "a" || keys[1] != "bc" || keys[2] != `d"e` {
			t.Errorf("%q: keys %q, end %v", in, keys, err)
		}
	}
	for _, in := range []string{`{"a":1"b":2}`, `{"a":1,}`, `{,"a":1}`, `{"a"1}`, `{"a":1,"b"`, `{"a":1,"b:2}`} {
		s := &scanner{}
		s.reset([]byte(in))
		s.openObject()
		var err error
		for first := true; err == nil; first = false {
			var ok bool
			if _, ok, err = s.nextKey(first); err != nil || !ok {
				break
			}
			err = s.skipScalarOr(0)
		}
		if err == nil {
			err = s.end()
		}
		if err == nil {
			t.Errorf("%q read without an error", in)
		}
	}
}

// TestNumberLeadingZero: RFC 8259 numbers have no leading zero.
func TestNumberLeadingZero(t *testing.T) {
	for in, ok := range map[string]bool{
		"0": true, "-0": true, "0.5": true, "10": true, "-10": true, "0e1": true, "100.001": true,
		"00": false, "01": false, "-01": false, "00.5": false, "-": false, "1.": false, ".5": false,
	} {
		s := &scanner{}
		s.reset([]byte(in))
		err := s.number()
		if err == nil {
			err = s.end()
		}
		if (err == nil) != ok {
			t.Errorf("number(%q): %v", in, err)
		}
	}
}
