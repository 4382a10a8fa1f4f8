package match

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
)

// fluentBitSamples are batches as Fluent Bit's nats output writes them,
// and near misses that the fast reader must judge as encoding/json does.
var fluentBitSamples = []string{
	`[[1457993268, {"tag":"zeek.dns","log":"{\"ts\":1.5,\"query\":\"evil.example\"}"}]]`,
	`[[1457993268.25, {"tag":"eve","event_type":"dns","dns":{"rrname":"evil.example"}}], [1457993269, {"log":"line two"}]]`,
	`[[1457993268.25,{"tag":"eve","log":"a\tb \u00e9 \u0041"}],[1,{"log":""}]]`,
	`[[1, {"log":"x","tag":"t","path":"/var/log/zeek/dns.log"}]]`,
	`[[1, {"log":"x","tag":"t","tag":"u"}]]`,
	`[[1, {"log":"x","log":"y"}]]`,
	`[[1, {"log":null}]]`,
	`[[1, {"log":7,"tag":"t"}]]`,
	`[[1, {"l\u006fg":"x"}]]`,
	`[[1, {"log":"\ud83d\ude00"}]]`,
	`[[1, {"log":"\ud83d"}]]`,
	`[[1, {"log":"caf` + "\xc3\xa9" + `"}]]`,
	`[[1, {"log":"bad ` + "\xff" + `"}]]`,
	`[[1, {"log":"raw` + "\x01" + `control"}]]`,
	`[[1e999, {"log":"x"}]]`,
	`[[1e3, {"log":"x"}]]`,
	`[[-0, {"log":"x"}]]`,
	`[[01, {"log":"x"}]]`,
	`[[1, {}]]`,
	`[[1, {"a":1,}]]`,
	`[[1, {"a":[1,{"b":"c"}]}], [2, {"tag":"t"}]]`,
	` [ [ 1 , { "log" : "spaced" } ] ] `,
	`[[1, {"log":"x"}], 7]`,
	`[[1, {"log":"x"}]] trailing`,
	`[[1, {"log":"x"}, 3]]`,
	`[[1]]`,
	`[["x", {"log":"a"}]]`,
	`[[1, 2]]`,
	`[{"type":"observed-data"}]`,
	`[]`,
	`{"ts":1.5,"query":"evil.example"}`,
	``,
	`[`,
	`[[1, {"log":"x"`,
	`[[1, {"tag":"t","log":"{\"a\":\"b\\/c\\\\d\"}\b\f\n\r\t\/"}]]`,
	`[[1, {"log":"01234567\"9abcdef\\0123456\"\"\"\"\"\"\"\"x"}]]`,
	`[[1, {"log":"\uD7FF \uE000 \u0000 \uFFFF"}]]`,
	`[[1, {"log":"\uDFFF"}]]`,
	`[[1, {"log":"\u00zz"}]]`,
	`[[1, {"log":"\u00"}]]`,
	`[[1, {"log":"\x"}]]`,
	`[[1, {"log":"ends with a backslash\`,
	`[[1, {"log":"\"unterminated}]]`,
	// Strings long enough to be read 64 bytes at a time, with escapes
	// of every kind at and across the blocks' edges.
	`[[1700000000.5,{"tag":"zeek","log":"{\"ts\":1700000000.000000,\"uid\":\"C00000000\",\"id.orig_h\":\"10.191.68.244\",\"query\":\"a\\\\b\/c\u00e9\n\t\u0041\uFFFF\",\"x\":\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\",\"long\":\"0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz\"}"}]]`,
	`[[1,{"log":"0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz\"\ud800\""}]]`,
	`[[1,{"log":"0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz\"\q\""}]]`,
	`[[1,{"log":"0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz\"\u12"}]]`,
}

// TestFluentBitFastAgrees: on every sample (and on a large generated
// batch) the fast reader returns what encoding/json's reading returns.
func TestFluentBitFastAgrees(t *testing.T) {
	var big bytes.Buffer
	big.WriteByte('[')
	for i, l := range benchStream(500, nil) {
		if i > 0 {
			big.WriteByte(',')
		}
		if i%2 == 0 {
			fmt.Fprintf(&big, `[%d.%03d,%s]`, 1700000000+i, i%1000, l)
		} else {
			fmt.Fprintf(&big, `[%d,{"tag":"zeek","log":%q}]`, 1700000000+i, l)
		}
	}
	big.WriteByte(']')
	var r fluentBitReader
	for _, in := range append(fluentBitSamples, big.String()) {
		want, wantOK := fluentBitRecordsGeneral([]byte(in))
		got, ok := r.records([]byte(in))
		if ok != wantOK || !sameRecords(got, want) {
			t.Errorf("%.80q: fast %v %q, encoding/json %v %q", in, ok, got, wantOK, want)
		}
	}
	// The generated batch takes the fast path.
	if _, _, sure := r.fast(big.Bytes()); !sure {
		t.Error("a compact batch fell back to encoding/json")
	}
}

func sameRecords(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// FuzzFluentBitFast: wherever the fast reader is sure, it agrees with
// encoding/json; and records (fast or not) always does.
func FuzzFluentBitFast(f *testing.F) {
	for _, s := range fluentBitSamples {
		f.Add([]byte(s))
	}
	var r fluentBitReader
	f.Fuzz(func(t *testing.T, data []byte) {
		want, wantOK := fluentBitRecordsGeneral(data)
		recs, ok, sure := r.fast(data)
		if sure && (ok != wantOK || !sameRecords(recs, want)) {
			t.Fatalf("%q: fast %v %q, encoding/json %v %q", data, ok, recs, wantOK, want)
		}
		got, ok := r.records(data)
		if ok != wantOK || !sameRecords(got, want) {
			t.Fatalf("%q: records %v %q, encoding/json %v %q", data, ok, got, wantOK, want)
		}
	})
}

// TestUnescapeASCII reads generated strings of every escape, of lengths
// on both sides of the 64-byte blocks, at every alignment and distance
// from the end of the message, into buffers with and without room, with
// masks for all of the message's blocks, some or none, and compares them
// with encoding/json.
func TestUnescapeASCII(t *testing.T) {
	pieces := []string{`\"`, `\"`, `\"`, `\\`, `\/`, `\b`, `\f`, `\n`, `\r`, `\t`, `\u00e9`, `\u0041`, `\uFFFF`, `\u0000`}
	// Left to encoding/json: it rejects some, and replaces surrogates.
	bad := []string{`\x`, `\ud800`, `\uDBFF`, `\u12`, `\u00g0`, `\`}
	rng := rand.New(rand.NewPCG(1, 2))
	run := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(0x20 + rng.IntN(0x5f))
			if b[i] == '"' || b[i] == '\\' {
				b[i] = 'x'
			}
		}
		return string(b)
	}
	for iter := 0; iter < 20000; iter++ {
		var q bytes.Buffer
		q.WriteByte('"')
		for q.Len() < rng.IntN(300) {
			q.WriteString(run(rng.IntN(20)))
			q.WriteString(pieces[rng.IntN(len(pieces))])
		}
		good := true // only escapes it must read itself
		if rng.IntN(10) == 0 {
			q.WriteString(bad[rng.IntN(len(bad))])
			q.WriteString(run(rng.IntN(20)))
			good = false
		}
		if rng.IntN(20) != 0 {
			q.WriteByte('"')
		} else {
			good = false
		}
		pre, post := run(rng.IntN(80)), run(rng.IntN(100))
		d := []byte(pre + q.String() + post)
		var want string
		jsonErr := json.Unmarshal(q.Bytes(), &want)
		buf := []byte(run(rng.IntN(40)))
		if rng.IntN(2) == 0 {
			buf = append(make([]byte, 0, len(buf)+len(d)+8), buf...)
		}
		keep := string(buf)
		masks := make([]uint64, rng.IntN(len(d)/64+2))
		specialMasks(d, masks)
		s, grown, end := unescapeASCII(d, len(pre), buf, masks)
		if end < 0 {
			// Left to encoding/json: right for a lone surrogate
			// (which it replaces) and anything it rejects.
			if good {
				t.Fatalf("%q: not read", q.Bytes())
			}
			continue
		}
		if jsonErr != nil || end != len(pre)+q.Len() || string(s) != want {
			t.Fatalf("%q: %q, end %d; encoding/json: %q, %v, end %d", q.Bytes(), s, end, want, jsonErr, len(pre)+q.Len())
		}
		if string(grown[:len(keep)]) != keep {
			t.Fatalf("%q: buf's bytes before the string changed", q.Bytes())
		}
	}
}

// TestQuoteOrBackslash8 checks the mask of every byte at every position
// against the plain test.
func TestQuoteOrBackslash8(t *testing.T) {
	for pos := 0; pos < 8; pos++ {
		for c := 0; c < 0x100; c++ {
			for _, fill := range []byte{0, 'a', '"', '\\', 0x7f, 0x80, 0xdc, 0xff} {
				var w [8]byte
				for i := range w {
					w[i] = fill
				}
				w[pos] = byte(c)
				var want uint8
				for i, b := range w {
					if b == '"' || b == '\\' {
						want |= 1 << i
					}
				}
				if got := quoteOrBackslash8(binary.LittleEndian.Uint64(w[:])); got != want {
					t.Fatalf("%q: %08b, want %08b", w, got, want)
				}
			}
		}
	}
}

// TestSpecialMasks compares specialMasks (SSE2 on amd64) and
// specialMasksGo with a byte at a time, on random bytes of every value
// and on ASCII with and without one control or high byte, at every
// length around the blocks' edges and with room for fewer blocks.
func TestSpecialMasks(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for iter := 0; iter < 5000; iter++ {
		d := make([]byte, rng.IntN(300))
		for i := range d {
			switch iter % 3 {
			case 0:
				d[i] = byte(rng.IntN(256))
			default:
				d[i] = []byte{'"', '\\', 'a', ' ', '~'}[rng.IntN(5)]
			}
		}
		if iter%3 == 2 && len(d) > 0 {
			d[rng.IntN(len(d))] = []byte{0, 0x1f, 0x80, 0xff, '\t'}[rng.IntN(5)]
		}
		room := len(d)/64 + 1
		if rng.IntN(3) == 0 {
			room = rng.IntN(room + 1)
		}
		n := min(room, len(d)/64)
		want := make([]uint64, room)
		var wantControl, wantHigh bool
		for i, c := range d[:n*64] {
			if c == '"' || c == '\\' {
				want[i/64] |= 1 << (i % 64)
			}
			wantControl = wantControl || c < 0x20
			wantHigh = wantHigh || c >= 0x80
		}
		for name, f := range map[string]func([]byte, []uint64) (bool, bool){"specialMasks": specialMasks, "specialMasksGo": specialMasksGo} {
			got := make([]uint64, room)
			control, high := f(d, got)
			if control != wantControl || high != wantHigh || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("%s(%q, %d blocks): %v, %v, %x; want %v, %v, %x", name, d, room, control, high, got, wantControl, wantHigh, want)
			}
		}
	}
}
