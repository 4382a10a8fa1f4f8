package main

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// TestVerifyArrayBombBounded: each kind of file parley verify reads, with
// one of its lists stuffed with millions of tiny elements ({} or a short
// hash, a few bytes each, each of which a reader might decode into a
// struct hundreds of bytes large), fails (or verifies) with the heap
// grown by a small multiple of the file's size (8), not by the elements'
// decoded size (hundreds of times the file's). So does one with nesting
// millions deep, a number of millions of digits or a string of many MB.
func TestVerifyArrayBombBounded(t *testing.T) {
	if !ownProcess(t) {
		return
	}
	const n = 2 << 20
	kinds := verifyKinds(t)
	for _, k := range kinds {
		for _, c := range []struct{ list, elem string }{
			{`"items": [`, `{},`},
			{`"keys": [`, `{},`},
			{`"events": [`, `{},`},
			{`"inclusion_proof": [`, `"",`},
			{`"proof": [`, `"",`},
			{`"consistency": [`, `"",`},
			{`"checkpoints": [`, `"",`},
			{`"votes": [`, `{},`},
			// Millions of members: names of the document's choosing (a
			// bundle's names, a concurrence's counts), or unknown ones.
			{`"names": {`, `"x%d": "",`},
			{`"counts": {`, `"x%d": 0,`},
			{`{`, `"x%d": 0,`},
			// Nesting millions deep, a number of millions of digits, a
			// base64 string of many MB.
			{`{`, `"deep": ` + strings.Repeat("[", n) + strings.Repeat("]", n) + `,`},
			{`"items": [`, `{"log_index": 1` + strings.Repeat("0", 4*n) + `},`},
			{`"items": [`, `{"entry": "` + strings.Repeat("A", 4*n) + `"},`},
			{`"inclusion_proof": [`, `"` + strings.Repeat("A", 4*n) + `",`},
		} {
			at := bytes.Index(k.doc, []byte(c.list))
			if at < 0 {
				continue
			}
			at += len(c.list)
			stuff := []byte(c.elem)
			switch {
			case len(c.elem) < 16 && !strings.Contains(c.elem, "%d"):
				stuff = []byte(strings.Repeat(c.elem, n))
			case strings.Contains(c.elem, "%d"):
				var b bytes.Buffer
				for i := range n / 2 {
					fmt.Fprintf(&b, c.elem, i)
				}
				stuff = b.Bytes()
			}
			doc := append(append(append([]byte{}, k.doc[:at]...), stuff...), k.doc[at:]...)
			p := writeTemp(t, doc)
			runtime.GC()
			growth := heapGrowth()
			code, _, errOut := runCLI(t, verifyArgs(k, p)...)
			grew := growth()
			// A value of many MB is copied a few times over as it is read
			// (the decoder's buffer, its base64 decoded), which garbage
			// collection may not have reclaimed yet.
			limit := uint64(8*len(doc)) + 16<<20
			t.Logf("%s, %s %d × %.20s: exit %d, heap grew %d MiB for %d MiB: %.200s", k.name, c.list, n, c.elem, code, grew>>20, len(doc)>>20, errOut)
			if grew > limit {
				t.Errorf("%s, %s stuffed with %d × %.20s (%d bytes): the heap grew by %d, want at most %d", k.name, c.list, n, c.elem, len(doc), grew, limit)
			}
		}
	}
}
