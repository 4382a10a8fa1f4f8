package opinion

import (
	"bytes"
	"encoding/json"
	"runtime"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/parley-exchange/parley/tlog"
)

// FuzzParse checks that Parse never panics and that what it accepts
// parses again from its canonical form to the same opinion.
func FuzzParse(f *testing.F) {
	a := newMember(1)
	f.Add(rawOpinion(f, a.id, spec{id: 1, value: Agree, confidence: 40}))
	f.Add(a.signed(f, spec{id: 2, value: Disagree, revoked: true, refs: []string{reportID, otherID}}))
	f.Add([]byte(`{"type":"opinion"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		op, err := Parse(raw)
		if err != nil {
			return
		}
		again, err := Parse(op.Raw)
		if err != nil {
			t.Fatalf("the canonical form of an accepted opinion doesn't parse: %v", err)
		}
		if again.ID != op.ID || again.Member != op.Member || again.Value != op.Value || !again.Version.Equal(op.Version) ||
			again.Revoked != op.Revoked || !slices.Equal(again.ObjectRefs, op.ObjectRefs) || string(again.Raw) != string(op.Raw) {
			t.Fatalf("round trip changed the opinion: %+v then %+v", op, again)
		}
		if !op.Value.Valid() {
			t.Fatalf("accepted value %q", op.Value)
		}
	})
}

// FuzzVerifyConcurrence feeds arbitrary node answers to the client-side
// check as parley verify and parley concurrence read them
// (ParseConcurrence, then VerifyConcurrence): it must never panic nor
// allocate more than a bounded multiple of the answer's size, and
// whatever it accepts must be valid UTF-8, name only opinion values in
// its counts, and have claimed exactly the tally it recomputed.
func FuzzVerifyConcurrence(f *testing.F) {
	a, b := newMember(1), newMember(2)
	c, _ := honestConcurrence(f, []member{a, b},
		a.signed(f, spec{id: 1, value: Agree}), b.signed(f, spec{id: 2, value: Disagree, confidence: 10}))
	j, _ := json.Marshal(c)
	f.Add(j)
	empty := []byte(`{"object":"report--8e2e2d2b-17d4-4cbe-8b46-6a0b0d0d0a01","counts":{},"opinions":[]}`)
	f.Add(empty)
	f.Add(bytes.Replace(j, []byte(`"counts":{`), []byte(`"counts":{"certain":0,`), 1))
	for _, s := range hostileSeeds(j, "opinions") {
		f.Add(s)
	}
	for _, s := range hostileSeeds(j, "items") {
		f.Add(s)
	}
	f.Add(bytes.Replace(j, []byte(`"counts":{`), []byte(`"counts":{`+strings.Repeat(`"agree":0,`, 2)), 1))
	f.Fuzz(func(t *testing.T, data []byte) {
		var c Concurrence
		var res Verification
		var err error
		allocBounded(t, len(data), func() {
			if c, _, err = ParseConcurrence(data); err == nil {
				res, err = VerifyConcurrence(c, "")
			}
		})
		if err != nil {
			return
		}
		if !utf8.Valid(data) {
			t.Fatal("accepted an answer of invalid UTF-8")
		}
		for v := range c.Counts {
			if !v.Valid() {
				t.Fatalf("accepted counts naming %q", v)
			}
		}
		for _, v := range Values {
			if c.Counts[v] != res.Tally.Counts[v] {
				t.Fatalf("accepted a claimed %s count of %d, recomputed %d", v, c.Counts[v], res.Tally.Counts[v])
			}
		}
		if len(c.Votes) != len(res.Tally.Votes) {
			t.Fatalf("accepted %d claimed votes, recomputed %d", len(c.Votes), len(res.Tally.Votes))
		}
	})
}

// hostileSeeds returns good with the hostile shapes of docs/log.md
// ("Bounds on offline documents") put into it one at a time, as
// tlog's fuzz targets seed with them: a byte order mark, data after the
// document, invalid UTF-8, a right-to-left override and C1 controls, a
// number over 64 bytes, nesting 20,000 deep, the list list given twice
// and in another case, and grown past tlog.MaxJSONElements objects.
func hostileSeeds(good []byte, list string) [][]byte {
	at := func(member string) []byte {
		return bytes.Replace(good, []byte("{"), []byte("{"+member+","), 1)
	}
	grown := []byte(`"` + list + `":[` + strings.Repeat("{},", tlog.MaxJSONElements))
	return [][]byte{
		append([]byte("\ufeff"), good...),
		append(bytes.Clone(good), `{}`...),
		at("\"x\":\"\xff\""),
		at("\"x\":\"\u202etxt.exe\""),
		at("\"x\":\"\u0085\u009b[2J\""),
		// The same in the first string value of the document's own.
		bytes.Replace(good, []byte(`":"`), []byte("\":\"\u202e\u0085\xff"), 1),
		at(`"x":1` + strings.Repeat("0", 80)),
		at(`"x":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000)),
		at(`"` + list + `":[]`),
		at(`"` + strings.ToUpper(list) + `":[]`),
		bytes.Replace(good, []byte(`"`+list+`":[`), grown, 1),
	}
}

// allocBounded runs f, a read of a document of size bytes, and fails t
// when it allocated more than 64 times size and 4 MiB (docs/log.md
// bounds the live heap at 8 times the size; this counts garbage too).
func allocBounded(t *testing.T, size int, f func()) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > 64*uint64(size)+4<<20 {
		t.Fatalf("reading %d bytes allocated %d", size, n)
	}
}
