package tlog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/parley-exchange/parley/stix"
)

// largeBundle returns a proof bundle of n signed indicators, each with a
// description of pad bytes (what makes a bundle of hundreds of MB from a
// log of a few thousand objects), and the log's verifier key.
func largeBundle(tb testing.TB, n, pad int) ([]byte, string) {
	tb.Helper()
	l := newTestLog(tb, 0)
	desc := strings.Repeat("d", pad)
	for range n {
		i := len(l.leaves)
		obj := []byte(fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":"%s","created":"%s","modified":"%s","created_by_ref":"%s","name":"test %d","description":"%s","pattern":"[ipv4-addr:value = '198.51.100.%d']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}`,
			objectID(i), testVersion, testVersion, l.member, i, desc, i%256))
		obj, err := stix.Sign(obj, l.key)
		if err != nil {
			tb.Fatal(err)
		}
		op := Opening{Salt: testSalt(i), Collection: testCollection, ObjectID: objectID(i), Version: testVersion, Member: l.member}
		l.addEntry(tb, Entry{Kind: KindObject, Commitment: ObjectCommitment(op, obj)}, obj, op)
	}
	l.checkpoint(tb)
	idx := make([]uint64, n)
	for i := range idx {
		idx[i] = uint64(i + 1)
	}
	b, err := json.Marshal(l.bundle(tb, idx...))
	if err != nil {
		tb.Fatal(err)
	}
	return b, l.vkey
}

// BenchmarkVerifyLargeBundle verifies a proof bundle of
// PARLEY_BENCH_BUNDLE_ITEMS objects (default 200) of
// PARLEY_BENCH_BUNDLE_PAD description bytes each (default 100,000): 20
// MB by default, 200 MB with 2000 items. With PARLEY_BENCH_BUNDLE_OUT
// set to a path it also writes the bundle there and its log key to
// PATH.key, for measuring parley verify --log-key "$(cat PATH.key)" PATH
// under /usr/bin/time -v (docs/benchmarks.md, "The memory of parley
// verify on a large bundle").
func BenchmarkVerifyLargeBundle(b *testing.B) {
	n, pad := 200, 100_000
	if s := os.Getenv("PARLEY_BENCH_BUNDLE_ITEMS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	if s := os.Getenv("PARLEY_BENCH_BUNDLE_PAD"); s != "" {
		pad, _ = strconv.Atoi(s)
	}
	data, vkey := largeBundle(b, n, pad)
	if out := os.Getenv("PARLEY_BENCH_BUNDLE_OUT"); out != "" {
		if err := os.WriteFile(out, data, 0o600); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(out+".key", []byte(vkey), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		res, err := VerifyBundle(data, vkey)
		if err != nil || len(res.Items) != n {
			b.Fatalf("%d items, %v", len(res.Items), err)
		}
	}
}

// TestParseBundleMemory: reading a proof bundle allocated twice its
// objects' bytes over the bundle itself, and telling its format apart
// (opinion.IsConcurrence, private.IsSavedReceipt) once more each: the
// exact-names check copied every value it skipped (a json.RawMessage),
// json.Unmarshal copied each object into its RawMessage, and the format
// sniffers copied every member's value into a map. A 200 MB bundle
// peaked at 818 MB in parley verify (docs/benchmarks.md, "The memory of
// parley verify on a large bundle"). Now each allocates a small fraction
// of the bundle: the check keeps no value, the objects are slices of the
// bundle, and MemberNames keeps only the names.
func TestParseBundleMemory(t *testing.T) {
	data, _ := largeBundle(t, 40, 50_000) // 2 MB
	allocated := func(f func()) uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		f()
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	limit := uint64(len(data) / 4)
	var b Bundle
	if n := allocated(func() {
		var err error
		if b, _, err = ParseBundle(data); err != nil {
			t.Fatal(err)
		}
	}); n > limit {
		t.Errorf("ParseBundle of %d bytes allocated %d, want at most %d", len(data), n, limit)
	}
	if len(b.Items) != 40 || !bytes.Contains(data, b.Items[0].Object) {
		t.Fatalf("%d items", len(b.Items))
	}
	if n := allocated(func() {
		if _, err := knownNames(data, bundleFields, true); err != nil {
			t.Fatal(err)
		}
	}); n > limit {
		t.Errorf("the exact-names check of %d bytes allocated %d, want at most %d", len(data), n, limit)
	}
	if n := allocated(func() {
		if names, ok := MemberNames(data); !ok || !names["items"] || len(names) != 6 {
			t.Fatalf("MemberNames: %v, %v", names, ok)
		}
	}); n > limit {
		t.Errorf("MemberNames of %d bytes allocated %d, want at most %d", len(data), n, limit)
	}
	// The objects are the bundle's bytes, not copies of them.
	for i, it := range b.Items {
		if p := &it.Object[0]; uintptr(unsafe.Pointer(p)) < uintptr(unsafe.Pointer(&data[0])) || uintptr(unsafe.Pointer(p)) >= uintptr(unsafe.Pointer(&data[0]))+uintptr(len(data)) {
			t.Fatalf("item %d: its object is a copy", i)
		}
	}
}
