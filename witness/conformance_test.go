package witness

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/parley-exchange/parley/tlog"
	"golang.org/x/mod/sumdb/note"
)

// C2SP tlog-witness's example add-checkpoint request body, verbatim.
const specExampleBody = `old 20852014
PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=
jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=
5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=
/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=

example.com/behind-the-sofa
20852163
CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=

— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=
— example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=
`

// TestSpecExampleRequest parses the spec's example body, and a witness
// answers it 404 when it doesn't witness that origin and 403 when it does
// under another key (the example's signatures are by keys it doesn't
// know, which it must ignore, leaving no signature by a trusted key).
func TestSpecExampleRequest(t *testing.T) {
	old, proof, signed, err := ParseAddCheckpoint([]byte(specExampleBody))
	if err != nil {
		t.Fatal(err)
	}
	if old != 20852014 || len(proof) != 4 || proof[0].String() != "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=" || !bytes.HasPrefix(signed, []byte("example.com/behind-the-sofa\n20852163\n")) {
		t.Fatalf("parsed old %d, %d proof lines, checkpoint %q", old, len(proof), signed)
	}
	if got := MarshalAddCheckpoint(old, proof, signed); string(got) != specExampleBody {
		t.Fatalf("re-encoded:\n%s", got)
	}
	other := openWitness(t, t.TempDir(), "witness.example/w1", newTestLog(t, "example.com/log"))
	sofa := openWitness(t, t.TempDir(), "witness.example/w1", newTestLog(t, "example.com/behind-the-sofa"))
	for _, tc := range []struct {
		w    *Witness
		want int
	}{{other, 404}, {sofa, 403}} {
		srv := httptest.NewServer(tc.w.Handler())
		code, _, body := post(t, srv.URL, []byte(specExampleBody))
		srv.Close()
		if code != tc.want {
			t.Errorf("got %d %q, want %d", code, body, tc.want)
		}
	}
}

// TestAddCheckpointSignatureLines: the signed-note rules on the
// checkpoint's signature lines, over HTTP.
func TestAddCheckpointSignatureLines(t *testing.T) {
	l := newTestLog(t, "example.com/log")
	h := l.newHistory(t, "a", 0, 20)
	_, srv, formatsV := serveWitness(t, l)
	// line makes a signature line by s over text (another text than the
	// checkpoint's makes a bad signature by a trusted key).
	line := func(s note.Signer, text []byte) string {
		b, err := note.Sign(&note.Note{Text: string(text)}, s)
		if err != nil {
			t.Fatal(err)
		}
		return string(b[len(text)+1:])
	}
	stranger := newTestLog(t, "example.com/log-stranger")
	sameName := renamed(t, stranger, "example.com/log") // same name, another key ID
	cp := func(size uint64, ext ...string) (text []byte, good string) {
		c, err := tlog.ParseCheckpoint(mustText(t, h.checkpointAt(t, size)))
		if err != nil {
			t.Fatal(err)
		}
		c.Extensions = ext
		text = c.Marshal()
		return text, line(l.signer, text)
	}
	var unknown16 strings.Builder
	for i := range 16 {
		s := renamed(t, stranger, fmt.Sprintf("other.example/k%d", i))
		t2, _ := cp(3)
		unknown16.WriteString(line(s, t2))
	}
	size := uint64(0)
	for _, tc := range []struct {
		name   string
		size   uint64
		ext    []string
		sigs   func(text []byte, good string) string
		status int
	}{
		{"good, then a bad one by the log's key", 3, nil, func(x []byte, g string) string {
			return g + line(l.signer, []byte("example.com/log\n4\n"+tlog.EmptyRoot().String()+"\n"))
		}, 403},
		{"bad one by the log's key, then good", 3, nil, func(x []byte, g string) string { return line(l.signer, []byte("x\n")) + g }, 403},
		{"only another key of the same name", 3, nil, func(x []byte, g string) string { return line(sameName, x) }, 403},
		{"good and another key of the same name", 3, nil, func(x []byte, g string) string { return line(sameName, x) + g }, 200},
		{"good twice, identical", 4, nil, func(x []byte, g string) string { return g + g }, 200},
		{"16 unknown signatures and the log's", 5, nil, func(x []byte, g string) string { return unknown16.String() + g }, 200},
		{"extension lines", 6, []string{"ext one", "— not a signature"}, func(x []byte, g string) string { return g }, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text, good := cp(tc.size, tc.ext...)
			signed := append(append(bytes.Clone(text), '\n'), tc.sigs(text, good)...)
			code, _, body := post(t, srv.URL, MarshalAddCheckpoint(size, h.proof(t, size, tc.size), signed))
			if code != tc.status {
				t.Fatalf("got %d %q, want %d", code, body, tc.status)
			}
			if code != 200 {
				return
			}
			size = tc.size
			// The cosignature covers the whole note text, extension
			// lines included (tlog-cosignature), and verifies with
			// transparency-dev/formats.
			if _, err := note.Open(append(append(bytes.Clone(text), '\n'), body...), note.VerifierList(formatsV)); err != nil {
				t.Fatalf("formats doesn't verify the cosignature: %v", err)
			}
			if len(tc.ext) > 0 {
				plain, _ := cp(tc.size)
				if _, err := note.Open(append(append(plain, '\n'), body...), note.VerifierList(formatsV)); err == nil {
					t.Fatal("the cosignature verifies without the extension lines")
				}
			}
			// Monitor retrieval serves the log's verified signature and
			// the cosignature: nothing the witness didn't verify.
			got, err := (&Client{URL: srv.URL}).Checkpoint(context.Background(), "example.com/log")
			if err != nil {
				t.Fatal(err)
			}
			want := string(text) + "\n" + good + string(body)
			if string(got) != want {
				t.Fatalf("monitor checkpoint\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// TestSpecEqualSizesOtherRoot: C2SP tlog-witness, "If the old size
// matches the checkpoint size, the witness MUST check that the root hashes
// are also identical. If they don't match, the witness MUST respond with a
// "422 Unprocessable Entity" HTTP status code." (C2SP/C2SP#280 made it 422;
// it was 409, which this witness answered, with the other 409's body.) The
// witness keeps the split-view evidence, keeps its checkpoint, and cosigns
// the true log on. A Client reads the 422 (and a 409 naming the
// checkpoint's size, from a witness of the older text) as a fork, and
// Submit stops at it rather than retry with the same size.
func TestSpecEqualSizesOtherRoot(t *testing.T) {
	ctx := context.Background()
	l := newTestLog(t, "example.com/log")
	h := l.newHistory(t, "a", 0, 30)
	fork := l.newHistory(t, "b", 10, 20)
	w, srv, _ := serveWitness(t, l)
	if code, _, body := post(t, srv.URL, MarshalAddCheckpoint(0, nil, h.checkpointAt(t, 20))); code != 200 {
		t.Fatalf("first checkpoint: %d %q", code, body)
	}
	before := w.Checkpoint("example.com/log")
	code, ctype, body := post(t, srv.URL, MarshalAddCheckpoint(20, nil, fork.checkpointAt(t, 20)))
	if code != 422 || ctype != "text/plain; charset=utf-8" {
		t.Fatalf("equal sizes, other root: %d %q %q; want 422", code, ctype, body)
	}
	if ev, _ := w.Evidence(); len(ev) != 1 {
		t.Fatalf("%d evidence files, want 1", len(ev))
	}
	if !bytes.Equal(w.Checkpoint("example.com/log"), before) {
		t.Fatal("the witness's checkpoint changed")
	}

	// A client, through a front that counts the requests.
	var requests atomic.Int32
	front := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Handler().ServeHTTP(rw, r)
	}))
	defer front.Close()
	c := &Client{URL: front.URL}
	var conflict *ConflictError
	if _, err := c.AddCheckpoint(ctx, 20, nil, fork.checkpointAt(t, 20)); !errors.As(err, &conflict) || !conflict.Fork || conflict.Size != 20 || !errors.Is(err, ErrFork) {
		t.Fatalf("Client.AddCheckpoint: %v, want a fork conflict at 20", err)
	}
	// A stale old size is a 409, and no fork.
	if _, err := c.AddCheckpoint(ctx, 10, fork.proof(t, 10, 20), fork.checkpointAt(t, 20)); !errors.As(err, &conflict) || conflict.Fork || conflict.Size != 20 || errors.Is(err, ErrFork) {
		t.Fatalf("Client.AddCheckpoint from a stale size: %v, want a plain conflict at 20", err)
	}
	prove := func(ctx context.Context, from, to uint64) ([]tlog.Hash, error) { return fork.proof(t, from, to), nil }
	for _, want := range []int32{2, 1} { // old 0 (409 "20") then 20 (422); then 20, remembered
		requests.Store(0)
		if _, err := c.Submit(ctx, fork.checkpointAt(t, 20), prove); !errors.Is(err, ErrFork) || !errors.As(err, &conflict) || conflict.Size != 20 {
			t.Fatalf("Submit: %v, want a fork conflict at 20", err)
		}
		if got := requests.Load(); got != want {
			t.Fatalf("Submit sent %d requests, want %d", got, want)
		}
	}
	// The true log goes on.
	if code, _, body := post(t, srv.URL, MarshalAddCheckpoint(20, h.proof(t, 20, 30), h.checkpointAt(t, 30))); code != 200 {
		t.Fatalf("the true log's next checkpoint: %d %q", code, body)
	}
}

func mustText(t *testing.T, signed []byte) []byte {
	t.Helper()
	text, err := tlog.SplitNote(signed)
	if err != nil {
		t.Fatal(err)
	}
	return text
}

// TestLitewitnessVectors replays litewitness's own add-checkpoint test
// (filippo.io/torchwood, testdata/SOURCES.md) against our witness: requests
// built by another implementation, for a Sigsum log, with its expected
// statuses and 409 bodies. The one difference is the current spec's: an
// unknown origin is 404, where litewitness answers 403.
func TestLitewitnessVectors(t *testing.T) {
	data, err := os.ReadFile("testdata/litewitness-add-checkpoint.hurl")
	if err != nil {
		t.Fatal(err)
	}
	const origin = "sigsum.org/v1/tree/4d6d8825a6bb689d459628312889dfbb0bcd41b5211d9e1ce768b0ff0309e562"
	pub, _ := hex.DecodeString("ffdc2d4d98e4124d3feaf788c0c2f9abfd796083d1f0495437f302ec79cf100f")
	vkey, err := note.NewEd25519VerifierKey(origin, pub)
	if err != nil {
		t.Fatal(err)
	}
	w, err := Open(Config{Dir: t.TempDir(), Cosigner: newCosigner(t, "example.com/witness"), Logs: []string{vkey}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	srv := httptest.NewServer(w.Handler())
	defer srv.Close()
	reqs := strings.Split(string(data), "POST http://localhost:7380/add-checkpoint\n")[1:]
	if len(reqs) != 9 {
		t.Fatalf("%d requests in the vectors, want 9", len(reqs))
	}
	for i, r := range reqs {
		_, rest, _ := strings.Cut(r, "```\n")
		body, rest, _ := strings.Cut(rest, "```\n")
		var status int
		if _, err := fmt.Sscanf(rest, "HTTP %d", &status); err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
		if strings.Contains(rest, `"unknown log"`) {
			status = 404
		}
		code, _, got := post(t, srv.URL, []byte(body))
		if code != status {
			t.Fatalf("request %d: got %d %q, want %d\n%s", i+1, code, got, status, body)
		}
		if _, want, ok := strings.Cut(rest, "body == "); ok {
			want, _ = strconv.Unquote(strings.TrimSpace(want))
			if got != want {
				t.Fatalf("request %d: body %q, want %q", i+1, got, want)
			}
		}
		if code == 200 && !strings.HasPrefix(got, "— example.com/witness ") {
			t.Fatalf("request %d: body %q", i+1, got)
		}
	}
	if n := w.Checkpoint(origin); n == nil || !strings.Contains(string(n), "\n5\n") {
		t.Fatalf("the witness's checkpoint at the end: %q", n)
	}
}

// TestParseAddCheckpointLines: tlog-witness's request syntax at its edges.
func TestParseAddCheckpointLines(t *testing.T) {
	h := tlog.EmptyRoot().String() + "\n"
	cp := "example.com/log\n1\n" + h + "\n— example.com/log AAAAAAA=\n"
	for _, tc := range []struct {
		name string
		body string
		ok   bool
	}{
		{"old 0, no proof", "old 0\n\n" + cp, true},
		{"63 proof lines", "old 1\n" + strings.Repeat(h, 63) + "\n" + cp, true},
		{"64 proof lines", "old 1\n" + strings.Repeat(h, 64) + "\n" + cp, false},
		{"two spaces", "old  1\n\n" + cp, false},
		{"trailing space", "old 1 \n\n" + cp, false},
		{"negative", "old -1\n\n" + cp, false},
		{"plus sign", "old +1\n\n" + cp, false},
		{"upper case", "OLD 1\n\n" + cp, false},
		{"CRLF", "old 1\r\n\r\n" + cp, false},
		{"proof line with padding changed", "old 1\n" + strings.Replace(h, "=", "", 1) + "\n" + cp, false},
		{"old above 2^64", "old 18446744073709551616\n\n" + cp, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, _, err := ParseAddCheckpoint([]byte(tc.body))
			if tc.ok != (err == nil) {
				t.Fatalf("got %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
