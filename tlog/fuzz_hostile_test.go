package tlog

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
)

// hostileSeeds returns good, a JSON document that some reader accepts,
// with each of the hostile shapes of docs/log.md ("Bounds on offline
// documents") put into it, one at a time: what two readers read
// differently (a byte order mark, invalid UTF-8, a field given twice or
// in another case, data after the document) and what costs more to read
// than its size (a list of list, the name of a list of the format,
// grown past MaxJSONElements; a number over 64 bytes; nesting 20,000
// deep), and text a terminal would act on (a right-to-left override, a
// C1 control). Fuzz targets of offline documents seed with them, so
// that their properties are checked on these shapes from the start.
func hostileSeeds(good []byte, list string) [][]byte {
	at := func(member string) []byte {
		return bytes.Replace(good, []byte("{"), []byte("{"+member+","), 1)
	}
	grown := []byte(`"` + list + `":[` + strings.Repeat("{},", MaxJSONElements))
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
		at(`"x":[` + strings.Repeat("0,", MaxJSONElements) + `0]`),
	}
}

// allocBounded runs f, a read of a document of size bytes, and fails t
// when it allocated more than 64 times size and 4 MiB: what docs/log.md
// bounds at 8 times the size live, with garbage counted.
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
