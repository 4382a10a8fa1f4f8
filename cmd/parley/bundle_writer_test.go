package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// TestBundleWriterAsMarshalIndent: the bundle written object by object is
// byte for byte what json.MarshalIndent made of the whole bundle (the
// bundle id aside), whatever the objects' own spacing.
func TestBundleWriterAsMarshalIndent(t *testing.T) {
	for _, objs := range [][]json.RawMessage{
		nil,
		{json.RawMessage(`{"type":"indicator","id":"indicator--1"}`)},
		{
			json.RawMessage("  {\n\"type\" :  \"x\",\t\"a\": [1, 2, {\"b\": []}], \"c\": {}, \"s\": \"a  b\\n\"}  \n"),
			json.RawMessage(`{"nested":{"deeper":[[],[{}]]},"n":1.5e3}`),
			json.RawMessage(`[]`),
		},
	} {
		var got bytes.Buffer
		if err := writeBundle(&got, objs); err != nil {
			t.Fatal(err)
		}
		list := objs
		if list == nil {
			list = []json.RawMessage{}
		}
		want, err := json.MarshalIndent(struct {
			Type    string            `json:"type"`
			ID      string            `json:"id"`
			Objects []json.RawMessage `json:"objects"`
		}{"bundle", "bundle--x", list}, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		id := regexp.MustCompile(`"bundle--[0-9a-f-]+"`)
		if g := id.ReplaceAllString(got.String(), `"bundle--x"`); g != string(want)+"\n" {
			t.Errorf("bundle of %d objects:\n%s\nwant\n%s", len(objs), g, want)
		}
	}
}

// TestPullHoldsAPage: parley pull writes the bundle as pages come (to a
// temporary file, copied to stdout once all of it verified), so pulling a
// collection of 32 MiB grows the heap by a few pages, not by the
// collection: pull held every object, then the whole indented bundle.
func TestPullHoldsAPage(t *testing.T) {
	if testing.Short() {
		t.Skip("pushes and pulls 32 MiB")
	}
	if !ownProcess(t) {
		return
	}
	base, st, _ := demoNode(t)
	aur := st.Members[0]
	const n, size = 4000, 8 << 10
	var b bytes.Buffer
	b.WriteString(`{"type":"bundle","id":"bundle--6f9d2b9e-3a55-4a11-9a2e-6c0d3f4b5a61","objects":[`)
	pad := strings.Repeat("x", size)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"type":"indicator","spec_version":"2.1","id":"indicator--%s","created_by_ref":"%s","created":"2026-01-02T03:04:05.000Z","modified":"2026-01-02T03:04:05.000Z","pattern":"[ipv4-addr:value = '10.%d.%d.%d']","pattern_type":"stix","valid_from":"2026-01-02T03:04:05Z","description":"%s"}`,
			uuid.NewSHA1(uuid.NameSpaceOID, []byte(strconv.Itoa(i))), aur.ID, i>>16, (i>>8)&255, i&255, pad)
	}
	b.WriteString("]}")
	file := filepath.Join(t.TempDir(), "big.json")
	if err := os.WriteFile(file, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, stderr := runCLI(t, "push", "--url", base, "--token", aur.Token, "--key", aur.KeyFile, "--collection", st.Collections.Shared, file); code != 0 {
		t.Fatalf("push: exit %d: %s %s", code, out, stderr)
	}
	// Little garbage, so that the peak shows what is held.
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	runtime.GC()
	growth := heapGrowth()
	var out countingWriter
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	var errb bytes.Buffer
	c := &cli{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	code := c.main(context.Background(), []string{"pull", "--url", base, "--token", aur.Token, "--collection", st.Collections.Shared})
	grew := growth()
	if code != 0 || out.n < n*size {
		t.Fatalf("pull: exit %d, %d bytes out: %s", code, out.n, errb.String())
	}
	t.Logf("pulled %d MiB; the heap grew by %d MiB at the peak", out.n>>20, grew>>20)
	// Measured: 8-14 MiB (the node serves its pages in this process);
	// holding the collection, 42 MiB.
	if grew > uint64(n*size*3/4) {
		t.Errorf("pulling %d MiB grew the heap by %d MiB at the peak; want at most three quarters of the collection", out.n>>20, grew>>20)
	}
}

// countingWriter counts what is written to it and keeps none of it.
type countingWriter struct{ n int }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }
