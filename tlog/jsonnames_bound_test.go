package tlog

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// TestJSONElementsBounded: a list of objects whose fields are named, or
// an object, with more than MaxJSONElements elements is refused by the
// names check (before anything is decoded), and MemberNames says a
// document of more members isn't one it reads; at the bound, both read
// it. A few bytes of JSON each ("{},") decoded into items of hundreds
// of bytes: a 6 MB bundle took 1.4 GB in parley verify.
func TestJSONElementsBounded(t *testing.T) {
	list := func(n int) string { return strings.TrimSuffix(strings.Repeat("{},", n), ",") }
	members := func(n int) string {
		var b strings.Builder
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`"x` + strconv.Itoa(i) + `":0`)
		}
		return b.String()
	}
	for _, c := range []struct {
		name, doc string
		ok        bool
	}{
		{"items at the bound", `{"items":[` + list(MaxJSONElements) + `]}`, true},
		{"items past the bound", `{"items":[` + list(MaxJSONElements+1) + `]}`, false},
		{"keys past the bound", `{"keys":[` + list(MaxJSONElements+1) + `]}`, false},
		{"names past the bound", `{"names":{` + members(MaxJSONElements+1) + `}}`, false},
		{"fields at the bound", `{` + members(MaxJSONElements) + `}`, true},
		{"fields past the bound", `{` + members(MaxJSONElements+1) + `}`, false},
	} {
		unknown, err := knownNames([]byte(c.doc), bundleFields, true)
		if (err == nil) != c.ok {
			t.Errorf("%s: names check: %v", c.name, err)
		}
		if len(unknown) > maxUnknownNames+1 {
			t.Errorf("%s: %d unknown names returned", c.name, len(unknown))
		}
		// An object in the log may have any number of fields: its size
		// bounds them.
		if _, err := knownNamesUpTo([]byte(c.doc), objectHeadFields, true, -1); err != nil {
			t.Errorf("%s: an object's head check: %v", c.name, err)
		}
		if _, ok := MemberNames([]byte(c.doc)); ok != (c.ok || !strings.HasPrefix(c.name, "fields")) {
			t.Errorf("%s: MemberNames ok = %v", c.name, ok)
		}
	}
}

// TestNamesCheckOfManyObjectsAllocatesLittle: the names check of a
// list of many small objects allocates less than the list's size. It
// made a map for every object, hundreds of bytes where "{}," is three:
// a bundle of 65,537 empty items, 197 KB and refused, allocated 30 MB
// (a fuzz seed of FuzzVerifyBundle found it). A field given twice is
// still refused, past the short list of names too.
func TestNamesCheckOfManyObjectsAllocatesLittle(t *testing.T) {
	doc := []byte(`{"type":"parley-proof-bundle-v2","items":[` + strings.Repeat("{},", MaxJSONElements) + `{}]}`)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := knownNames(doc, bundleFields, true)
	runtime.ReadMemStats(&after)
	if err == nil {
		t.Fatal("a bundle of more than MaxJSONElements items passed the names check")
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > uint64(len(doc)) {
		t.Errorf("the names check of %d bytes of empty items allocated %d bytes", len(doc), n)
	}
	var many strings.Builder
	for i := range 40 {
		fmt.Fprintf(&many, `"x%d":0,`, i)
	}
	for _, name := range []string{"x0", "x15", "x16", "x39"} {
		if _, err := knownNames([]byte(`{`+many.String()+`"`+name+`":1}`), bundleFields, true); err == nil || !strings.Contains(err.Error(), "given twice") {
			t.Errorf("field %s given twice among 41: %v", name, err)
		}
	}
	if _, err := knownNames([]byte(`{`+strings.TrimSuffix(many.String(), ",")+`}`), bundleFields, true); err != nil {
		t.Errorf("40 fields of distinct names: %v", err)
	}
}

// memberNamesMap is what MemberNames returned when it decoded a map.
func memberNamesMap(data []byte) (map[string]bool, bool) {
	var m map[string]presentValue
	if json.Unmarshal(data, &m) != nil || m == nil {
		return nil, false
	}
	names := make(map[string]bool, len(m))
	for k := range m {
		names[k] = true
	}
	return names, true
}

// FuzzMemberNames: MemberNames, which scans the document, reads every
// document as decoding it into a map does.
func FuzzMemberNames(f *testing.F) {
	for _, s := range []string{`{}`, ` { "a" : 1 , "b":[1,{"c":"]}"}], "\u0041":"x\"}" } `, `{"a":{}}x`, `null`, `[]`, `{"a":1,"a":2}`,
		`{"type":"parley-proof-bundle-v2","items":[{"object":{"k":"v"}}],"names":{"i":"n"}}`, "\ufeff{}", "{\"a\x00\":1}", `{"a":"\ud800"}`, `{"a":1e999}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, ok := MemberNames(data)
		want, wantOK := memberNamesMap(data)
		if ok != wantOK || !maps.Equal(got, want) {
			t.Errorf("MemberNames(%q) = %v, %v; a map decodes %v, %v", data, got, ok, want, wantOK)
		}
	})
}

// TestNamesRefuseInvalidUTF8: a document read by its field names with
// invalid UTF-8 anywhere, in a value nothing verifies too, is refused,
// naming the byte: encoding/json read it as U+FFFD, a strict reader
// refuses it.
func TestNamesRefuseInvalidUTF8(t *testing.T) {
	for _, doc := range []string{"{\"found_by\":\"a\xffb\"}", "{\"names\":{\"\xc3\":\"x\"}}", "{\"type\":\"\xed\xa0\x80\"}"} {
		if _, err := knownNames([]byte(doc), JSONFields{"found_by": nil, "type": nil, "names": {AnyName: nil}}, true); err == nil || !strings.Contains(err.Error(), "invalid UTF-8 at byte") {
			t.Errorf("%q: %v", doc, err)
		}
	}
	if _, err := knownNames([]byte(`{"found_by":"\u00e9 é"}`), JSONFields{"found_by": nil}, false); err != nil {
		t.Errorf("valid UTF-8: %v", err)
	}
}

// TestHugeValuesCheap: a number of millions of digits as a field's value
// is refused by the names check, before encoding/json copies it into
// its error; a decoding error's message is clipped (ClipJSONError); and
// a hash of many MB is refused by its length, not decoded first.
func TestHugeValuesCheap(t *testing.T) {
	huge := strings.Repeat("1", 8<<20)
	if _, err := knownNames([]byte(`{"log_index":`+huge+`}`), JSONFields{"log_index": nil}, false); err == nil || !strings.Contains(err.Error(), "a number of 8388608 bytes") {
		t.Errorf("a number of 8 MB: %v", err)
	}
	if _, err := knownNames([]byte(`{"log_index":18446744073709551615}`), JSONFields{"log_index": nil}, false); err != nil {
		t.Errorf("the largest uint64: %v", err)
	}
	var v struct{ N uint64 }
	err := ClipJSONError(json.Unmarshal([]byte(`{"N":`+huge+`}`), &v))
	var te *json.UnmarshalTypeError
	if err == nil || len(err.Error()) > 204 || !errors.As(err, &te) {
		t.Errorf("the error of a number of 8 MB: %d bytes, %v", len(err.Error()), errors.As(err, &te))
	}
	long := strings.Repeat("A", 8<<20)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = ParseHash(long)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrMalformedHash) || after.TotalAlloc-before.TotalAlloc > 1<<20 {
		t.Errorf("a hash of 8 MB: %v, allocated %d", err, after.TotalAlloc-before.TotalAlloc)
	}
}
