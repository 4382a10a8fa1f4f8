package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// bigBundle writes a bundle of n indicators, each with a description of
// size bytes, created by creator, and returns its path and size.
func bigBundle(t *testing.T, n, size int, creator string) (string, int) {
	t.Helper()
	var b bytes.Buffer
	b.WriteString(`{"type":"bundle","id":"bundle--6f9d2b9e-3a55-4a11-9a2e-6c0d3f4b5a61","objects":[`)
	pad := strings.Repeat("x", size)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"type":"indicator","spec_version":"2.1","id":"indicator--%s","created_by_ref":"%s","created":"2026-01-02T03:04:05.000Z","modified":"2026-01-02T03:04:05.000Z","pattern":"[ipv4-addr:value = '10.%d.%d.%d']","pattern_type":"stix","valid_from":"2026-01-02T03:04:05Z","description":"%s"}`,
			uuid.NewSHA1(uuid.NameSpaceOID, []byte(strconv.Itoa(i))), creator, i>>16, (i>>8)&255, i&255, pad)
	}
	b.WriteString("]}")
	file := filepath.Join(t.TempDir(), "big.json")
	if err := os.WriteFile(file, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return file, b.Len()
}

// TestSignHoldsABatch: parley sign parses and signs a batch of objects at
// a time, so signing a bundle of 16 MiB grows the heap by about the file
// and a batch, not by the file, every parsed object and every signed
// copy (about five times the file).
func TestSignHoldsABatch(t *testing.T) {
	if testing.Short() {
		t.Skip("signs 16 MiB")
	}
	if !ownProcess(t) {
		return
	}
	dir := t.TempDir()
	if code, _, stderr := runCLI(t, "keygen", "--out", filepath.Join(dir, "m.key")); code != 0 {
		t.Fatalf("keygen: exit %d: %s", code, stderr)
	}
	const n, size = 40000, 400
	file, fileSize := bigBundle(t, n, size, "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff")
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	runtime.GC()
	growth := heapGrowth()
	var out countingWriter
	var errb bytes.Buffer
	c := &cli{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	code := c.main(context.Background(), []string{"sign", "--key", filepath.Join(dir, "m.key"), file})
	grew := growth()
	if code != 0 || out.n < n*size {
		t.Fatalf("sign: exit %d, %d bytes out: %s", code, out.n, errb.String())
	}
	t.Logf("signed %d MiB into %d MiB; the heap grew by %d MiB at the peak", fileSize>>20, out.n>>20, grew>>20)
	// Measured (a file of 28 MiB): 37 MiB; holding every parsed object
	// and signed copy, 170 MiB.
	if grew > uint64(fileSize*2) {
		t.Errorf("signing %d MiB grew the heap by %d MiB at the peak; want at most twice the file", fileSize>>20, grew>>20)
	}
}

// TestPushHoldsABatch: parley push signs and sends a batch at a time, so
// pushing a bundle of 16 MiB grows the heap by about the file and a few
// batches (the node serves in this process too), not by every parsed
// object and every signed copy.
func TestPushHoldsABatch(t *testing.T) {
	if testing.Short() {
		t.Skip("pushes 16 MiB")
	}
	if !ownProcess(t) {
		return
	}
	base, st, dir := demoNode(t)
	aur := st.Members[0]
	const n, size = 40000, 400
	file, fileSize := bigBundle(t, n, size, aur.ID)
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	runtime.GC()
	growth := heapGrowth()
	var out, errb bytes.Buffer
	c := &cli{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	// With --log-key, nothing is pinned on first use (said on stderr).
	code := c.main(context.Background(), []string{"push", "--url", base, "--token", aur.Token, "--key", aur.KeyFile, "--collection", st.Collections.Shared,
		"--log-key", nodeLogKey(t, dir), "--seen", filepath.Join(t.TempDir(), "seen.json"), file})
	grew := growth()
	if code != 0 || !strings.Contains(out.String(), fmt.Sprintf("pushed %d objects: %d succeeded, 0 failed, 0 conflicts", n, n)) {
		t.Fatalf("push: exit %d: %s %s", code, out.String(), errb.String())
	}
	if errb.Len() != 0 {
		t.Errorf("push wrote to a stderr that is not a terminal: %q", errb.String())
	}
	t.Logf("pushed %d MiB; the heap grew by %d MiB at the peak", fileSize>>20, grew>>20)
	// Measured (a file of 28 MiB): 59 MiB, the node's share included;
	// holding every parsed object and signed copy, 168 MiB.
	if grew > uint64(fileSize*3) {
		t.Errorf("pushing %d MiB grew the heap by %d MiB at the peak; want at most three times the file", fileSize>>20, grew>>20)
	}
}
