package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// lazyInput is n bytes of input made as they are read: a document that
// opens like a STIX bundle and goes on with spaces. None of it is held,
// so a test can offer a command far more than it should keep; it ends,
// so that a command without a bound finishes (and fails the test's
// checks) instead of filling the memory.
type lazyInput struct {
	head []byte
	n    int64
}

func newLazyInput(n int64) *lazyInput {
	return &lazyInput{head: []byte(`{"type": "bundle", "id": "bundle--6f9d2b9e-3a55-4a11-9a2e-6c0d3f4b5a61", "objects": [`), n: n}
}

func (l *lazyInput) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), l.n)]
	k := copy(p, l.head)
	l.head = l.head[k:]
	for i := k; i < len(p); i++ {
		p[i] = ' '
	}
	l.n -= int64(len(p))
	return len(p), nil
}

// runCLIReader is [runCLIWithStdin] with stdin reading r.
func runCLIReader(t *testing.T, stdin io.Reader, args ...string) (int, string) {
	t.Helper()
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	var out, errb bytes.Buffer
	c := &cli{stdin: stdin, stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	code := c.main(context.Background(), args)
	return code, errb.String()
}

// TestCommandsBoundDocuments: a document that sign, verify and pattern
// match read whole, given on stdin beyond maxDocument, fails naming the
// bound after reading no more than the bound; a command read it all
// before (sign, pattern match) or cut it quietly at the bound (verify,
// whose cut bundle then read as one that was changed).
func TestCommandsBoundDocuments(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "member.key")
	if code, _, stderr := runCLI(t, "keygen", "--out", key); code != 0 {
		t.Fatalf("keygen: exit %d: %s", code, stderr)
	}
	for _, args := range [][]string{
		{"sign", "--key", key, "-"},
		{"verify", "-"},
		{"pattern", "match", "[ipv4-addr:value = '198.51.100.7']", "-"},
	} {
		in := newLazyInput(maxDocument + 4<<20)
		code, stderr := runCLIReader(t, in, args...)
		if code != 2 || !strings.Contains(stderr, "standard input: larger than 256 MiB") {
			t.Errorf("%s of %d MiB: exit %d, stderr %q; want exit 2 naming the 256 MiB bound", args[0], (maxDocument+4<<20)>>20, code, stderr)
		}
		if read := maxDocument + 4<<20 - in.n; read > maxDocument+1<<20 {
			t.Errorf("%s read %d bytes, want about the bound (%d)", args[0], read, maxDocument)
		}
	}
}

// TestCommandsBoundSmallFiles: key, token and CA files are read up to a
// bound that fits any real one; a larger file (here sparse: it takes no
// disk) fails naming the bound instead of being read whole.
func TestCommandsBoundSmallFiles(t *testing.T) {
	dir := t.TempDir()
	big := func(name string, size int64) string {
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(size); err != nil {
			t.Fatal(err)
		}
		f.Close()
		return p
	}
	key := big("big.key", 1<<30)
	tok := big("big.token", 1<<30)
	ca := big("big.pem", 1<<30)
	obj := filepath.Join(dir, "obj.json")
	if err := os.WriteFile(obj, []byte(`{}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"sign", "--key", key, obj}, "big.key: larger than 64 KiB"},
		{[]string{"audit", "--url", "http://127.0.0.1:1", "--token-file", tok}, "big.token: larger than 64 KiB"},
		{[]string{"audit", "--url", "http://127.0.0.1:1", "--token", "t", "--ca", ca}, "big.pem: larger than 4 MiB"},
	} {
		code, _, stderr := runCLI(t, c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit 2 and %q", strings.Join(c.args, " "), code, stderr, c.want)
		}
	}
}

// repeated is n bytes of input made as they are read: line again and
// again (a line of n bytes with no newline when line has none).
type repeated struct {
	line string
	n    int64
	off  int
}

func (r *repeated) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.n)]
	for i := range p {
		p[i] = r.line[r.off]
		r.off = (r.off + 1) % len(r.line)
	}
	r.n -= int64(len(p))
	return len(p), nil
}

// TestCommandsBoundLists: lists read line by line fail naming the bound
// of a line (import iocs, private values), and private publish and check
// hold at most maxPrivateValues of values, what a node takes in one set,
// failing before sending anything. A long line failed with
// "bufio.Scanner: token too long", and the values were all held however
// many there were.
func TestCommandsBoundLists(t *testing.T) {
	remote := []string{"--url", "http://127.0.0.1:1", "--token", "t"}
	out := filepath.Join(t.TempDir(), "out.json")
	for _, c := range []struct {
		args []string
		in   *repeated
		want string
	}{
		{[]string{"import", "iocs", "--out", out, "-"}, &repeated{line: "a", n: 2 << 20}, "line 1 is longer than 1 MiB"},
		{append([]string{"private", "publish", "--collection", "c", "--values", "-"}, remote...), &repeated{line: "a", n: 2 << 20}, "a line is longer than 1 MiB"},
		{append([]string{"private", "publish", "--collection", "c", "--values", "-"}, remote...), &repeated{line: "ipv4-addr:198.51.100.7\n", n: maxPrivateValues + 8<<20}, "standard input holds more than 64 MiB of values"},
		{append(append([]string{"private", "check", "--set", "s"}, remote...), "-"), &repeated{line: "ipv4-addr:198.51.100.7\n", n: maxPrivateValues + 8<<20}, "standard input holds more than 64 MiB of values"},
	} {
		size := c.in.n
		code, stderr := runCLIReader(t, c.in, c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit 2 and %q", strings.Join(c.args, " "), code, stderr, c.want)
		}
		if read := size - c.in.n; read > maxPrivateValues+1<<20 {
			t.Errorf("%s: read %d bytes, want no more than the bound", strings.Join(c.args, " "), read)
		}
	}
}

// TestImportSinkHoldsLittlePerObject: what an import remembers of each
// object it wrote (to skip repeats) stays small whatever the object's
// size: 100,000 distinct objects of 1 KiB add a few MiB to the heap, not
// the 100 MiB of the objects. The sink kept every object whole as its
// key, so an IOC list of millions of lines was held whole.
func TestImportSinkHoldsLittlePerObject(t *testing.T) {
	c := &cli{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }}
	ctx := context.Background()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	sink, err := (&importOut{out: "-"}).open(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	obj := []byte(`{"type":"indicator","id":"indicator--00000000-0000-4000-8000-000000000000","description":"` + strings.Repeat("x", 900) + `"}`)
	const n = 100_000
	for i := range n {
		copy(obj[38:], fmt.Sprintf("%012d", i)) // the id's last group
		if err := sink.add(ctx, string(obj), obj); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			// A repeat is skipped.
			if err := sink.add(ctx, string(obj), obj); err != nil || sink.written != 1 {
				t.Fatalf("a repeated object: written %d, %v", sink.written, err)
			}
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if sink.written != n {
		t.Fatalf("wrote %d objects, want %d", sink.written, n)
	}
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 16<<20 {
		t.Errorf("the heap grew by %d MiB for %d objects of %d bytes (%d MiB), want at most 16 MiB", grew>>20, n, len(obj), n*len(obj)>>20)
	}
	runtime.KeepAlive(sink)
}

// TestConcurrenceAnswerBounded: a node's answer to GET /concurrence over
// maxConcurrenceAnswer fails naming the bound; it was cut quietly, and the
// cut answer reported as "isn't a concurrence".
func TestConcurrenceAnswerBounded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.Copy(w, newLazyInput(maxConcurrenceAnswer+1<<20))
	}))
	defer srv.Close()
	_, err := fetchConcurrence(context.Background(), srv.Client(), srv.URL, "t", "indicator--6f9d2b9e-3a55-4a11-9a2e-6c0d3f4b5a61")
	if err == nil || !strings.Contains(err.Error(), "the node's answer: larger than 64 MiB") {
		t.Fatalf("an answer of %d MiB: %v, want an error naming the 64 MiB bound", (maxConcurrenceAnswer+1<<20)>>20, err)
	}
}
