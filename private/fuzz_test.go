package private

import (
	"bytes"
	"encoding/json"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/parley-exchange/parley/tlog"
)

// FuzzParseSavedReceipt feeds arbitrary files to the reading and the
// offline check of a kept private set receipt (parley verify --log-key
// KEY FILE): neither panics nor allocates more than a bounded multiple
// of the file's size; what verifies was read (ParseSavedReceipt
// accepted it), is valid UTF-8, states its set's creation no later than
// its key entry, and verifies again once written back.
func FuzzParseSavedReceipt(f *testing.F) {
	p := newTestProvider(f, 1)
	fx := newReceiptFixture(f, p.PublicKey(), "set1")
	saved := SavedReceipt{Set: "set1", Suite: SuiteID, PublicKey: p.PublicKey().Bytes(), Receipt: fx.receipt}
	good, err := json.Marshal(saved)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	received := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	_, op, wr := fx.withdrawn(f, received, received.Format(time.RFC3339Nano))
	created, _ := time.Parse(time.RFC3339Nano, fx.opening.Version)
	withdrawn := saved
	withdrawn.Receipt.Withdrawal = &WithdrawalReceipt{Suite: SuiteID, PublicKey: p.PublicKey().Bytes(), Created: created, Withdrawn: received,
		LogIndex: wr.LogIndex, TreeSize: wr.TreeSize, Entry: wr.Entry, Opening: op, InclusionProof: wr.InclusionProof, Checkpoint: wr.Checkpoint}
	if w, err := json.Marshal(withdrawn); err == nil {
		f.Add(w)
	}
	f.Add(bytes.Replace(good, []byte(fx.opening.Version), []byte("2027-01-01T00:00:00Z"), 1))
	for _, s := range hostileSeeds(good, "inclusion_proof") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var s SavedReceipt
		var perr, verr error
		allocBounded(t, len(data), func() {
			if s, perr = ParseSavedReceipt(data); perr == nil {
				verr = s.Verify(fx.verifier)
			}
		})
		if perr != nil || verr != nil {
			return
		}
		if !utf8.Valid(data) || !IsSavedReceipt(data) {
			t.Fatal("verified a receipt of invalid UTF-8, or one not told a receipt")
		}
		e, err := tlog.ParseEntry(s.Receipt.Entry)
		if err != nil {
			t.Fatal(err)
		}
		if at, err := time.Parse(time.RFC3339Nano, s.Receipt.Opening.Version); err != nil || at.Truncate(time.Microsecond).After(e.Received) {
			t.Fatalf("verified a set created at %q, after its key entry's %s", s.Receipt.Opening.Version, e.Received)
		}
		again, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		s2, err := ParseSavedReceipt(again)
		if err == nil {
			err = s2.Verify(fx.verifier)
		}
		if err != nil {
			t.Fatalf("a verified receipt written back: %v", err)
		}
	})
}

// hostileSeeds returns good with the hostile shapes of docs/log.md
// ("Bounds on offline documents") put into it one at a time, as tlog's
// fuzz targets seed with them: a byte order mark, data after the
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

// FuzzParseSetInfo: reading a set's description, one or a list (parley
// verify --receipt RECEIPT SETS), never panics nor allocates more than
// a bounded multiple of the file's size (and of its descriptions'
// number), and what it returns is the
// described set's, which reads back the same once written.
func FuzzParseSetInfo(f *testing.F) {
	one := []byte(`{"id":"set1","suite":"ristretto255-SHA512","public_key":"AAAA","size":3,"key_log_index":4,"collection":"c","provider":"identity--p","source":"values","created":"2026-01-01T00:00:00Z","budget":{"limit":1,"left":1},"max_batch":9}`)
	list := append(append([]byte(`[{"id":"set0"},`), one...), ']')
	f.Add(one)
	f.Add(list)
	for _, s := range hostileSeeds(one, "budget") {
		f.Add(s)
	}
	f.Add([]byte(`[` + strings.Repeat(`{},`, tlog.MaxJSONElements) + `{}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var info SetInfo
		var err error
		// Each description of a list is checked by its names with a
		// decoder of its own, about 1.2 KB of garbage each, at most
		// tlog.MaxJSONElements of them: allowed beside the bound.
		allocBounded(t, len(data)+32*bytes.Count(data, []byte("{")), func() { info, _, err = ParseSetInfo(data, "set1") })
		if err != nil {
			return
		}
		if info.ID != "set1" {
			t.Fatalf("the description of %q returned for set1", info.ID)
		}
		b, err := json.Marshal(info)
		if err != nil {
			t.Fatal(err)
		}
		again, _, err := ParseSetInfo(b, "set1")
		if err != nil {
			t.Fatalf("written back: %v", err)
		}
		b2, _ := json.Marshal(again)
		if !bytes.Equal(b, b2) {
			t.Fatalf("written back reads otherwise: %s then %s", b, b2)
		}
	})
}
