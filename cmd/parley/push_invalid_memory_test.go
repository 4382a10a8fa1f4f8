package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"
)

// TestPushInvalidFileMemory: push's check of a file whose objects are all
// invalid (a STIX 2.0 bundle pushed by mistake: no spec_version) reports
// the first and keeps no error for the others, so that the check of a
// large file doesn't hold an error per object besides the file (the node
// is never reached).
func TestPushInvalidFileMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("checks 10 MiB")
	}
	if !ownProcess(t) {
		return
	}
	dir := t.TempDir()
	if code, _, stderr := runCLI(t, "keygen", "--out", filepath.Join(dir, "m.key")); code != 0 {
		t.Fatalf("keygen: exit %d: %s", code, stderr)
	}
	const n = 100000
	var b bytes.Buffer
	b.WriteString(`{"type":"bundle","id":"bundle--6f9d2b9e-3a55-4a11-9a2e-6c0d3f4b5a61","spec_version":"2.0","objects":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"type":"malware","id":"malware--%s","created":"2026-01-02T03:04:05.000Z","modified":"2026-01-02T03:04:05.000Z","name":"m"}`,
			uuid.NewSHA1(uuid.NameSpaceOID, []byte(strconv.Itoa(i))))
	}
	b.WriteString("]}")
	file := filepath.Join(dir, "v20.json")
	if err := os.WriteFile(file, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	fileSize := b.Len()
	b = bytes.Buffer{}
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	runtime.GC()
	growth := heapGrowth()
	var out, errb bytes.Buffer
	c := &cli{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	code := c.main(context.Background(), []string{"push", "--url", "http://127.0.0.1:1", "--token", "parley_x", "--key", filepath.Join(dir, "m.key"), "--collection", "c", file})
	grew := growth()
	if code != 2 || !strings.Contains(errb.String(), "spec_version") {
		t.Fatalf("push: exit %d: %s %s", code, out.String(), errb.String())
	}
	t.Logf("checked %d MiB; the heap grew by %d MiB at the peak", fileSize>>20, grew>>20)
	if grew > uint64(fileSize*2) {
		t.Errorf("checking %d MiB of invalid objects grew the heap by %d MiB at the peak; want at most twice the file", fileSize>>20, grew>>20)
	}
}

// TestEachSpanFirstError: eachSpan returns the error of the first failing
// span in order, whichever worker meets an error first, after giving f
// every span before it.
func TestEachSpanFirstError(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(8))
	spans := make([]json.RawMessage, 10000)
	for _, bad := range []int{0, 7, 37, 9999} {
		var called [10000]atomic.Bool
		err := eachSpan(spans, func(i int, _ json.RawMessage) error {
			called[i].Store(true)
			if i == bad || i > bad && i%3 == 0 { // and many after it
				return fmt.Errorf("span %d", i)
			}
			return nil
		})
		if err == nil || err.Error() != fmt.Sprintf("span %d", bad) {
			t.Fatalf("first failing span %d: got %v", bad, err)
		}
		for i := range bad {
			if !called[i].Load() {
				t.Fatalf("first failing span %d: span %d was not checked", bad, i)
			}
		}
	}
	if err := eachSpan(spans, func(int, json.RawMessage) error { return nil }); err != nil {
		t.Fatal(err)
	}
}
