package witness

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
)

// TestReadBody: a request body is read whole whatever length the request
// declares (the server's body reader stops at the declared length; a
// handler called another way may get more), up to MaxBodySize.
func TestReadBody(t *testing.T) {
	body := strings.Repeat("x", 1000)
	big := strings.Repeat("y", MaxBodySize+1)
	for _, c := range []struct {
		name     string
		body     string
		declared int64
		want     string // "" with wantErr
		wantErr  bool
	}{
		{"declared", body, 1000, body, false},
		{"empty", "", 0, "", false},
		{"unknown length", body, -1, body, false},
		{"longer than declared", body, 10, body, false},
		{"longer than declared, empty declared", body, 0, body, false},
		{"shorter than declared", body, 2000, "", true},
		{"declared too large", big, MaxBodySize + 1, "", true},
		{"too large, declared small", big, 10, "", true},
		{"too large, unknown length", big, -1, "", true},
		{"just small enough", big[:MaxBodySize], MaxBodySize, big[:MaxBodySize], false},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/add-checkpoint", io.NopCloser(strings.NewReader(c.body)))
			r.ContentLength = c.declared
			got, err := readBody(httptest.NewRecorder(), r)
			if c.wantErr {
				if err == nil {
					t.Fatalf("read %d bytes, want an error", len(got))
				}
				return
			}
			if err != nil || !bytes.Equal(got, []byte(c.want)) {
				t.Fatalf("read %d bytes, %v; want %d bytes", len(got), err, len(c.want))
			}
		})
	}
	// A body that fails: the error, not what was read.
	boom := errors.New("boom")
	r := httptest.NewRequest(http.MethodPost, "/add-checkpoint", io.NopCloser(io.MultiReader(strings.NewReader("old 1\n"), errReader{boom})))
	r.ContentLength = 100
	if _, err := readBody(httptest.NewRecorder(), r); !errors.Is(err, boom) {
		t.Fatalf("%v, want %v", err, boom)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// TestResponseHeaders: every answer of the witness's handler is
// text/plain (a 409 text/x.tlog.size) and not to be cached, with each
// header given once.
func TestResponseHeaders(t *testing.T) {
	l := newTestLog(t, "example.com/log")
	h := l.newHistory(t, "a", 0, 10)
	_, srv, _ := serveWitness(t, l)
	for _, c := range []struct {
		body  []byte
		code  int
		ctype string
	}{
		{MarshalAddCheckpoint(0, nil, h.checkpointAt(t, 5)), 200, "text/plain; charset=utf-8"},
		{MarshalAddCheckpoint(0, nil, h.checkpointAt(t, 5)), 409, ContentTypeSize},
		{[]byte("nonsense"), 400, "text/plain; charset=utf-8"},
	} {
		resp, err := http.Post(srv.URL+"/add-checkpoint", "text/plain", bytes.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.code || len(resp.Header["Content-Type"]) != 1 || resp.Header.Get("Content-Type") != c.ctype ||
			len(resp.Header["Cache-Control"]) != 1 || resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("%d %q, want %d with Content-Type %q and Cache-Control no-store", resp.StatusCode, resp.Header, c.code, c.ctype)
		}
	}
}

// TestReadBodyDeclaredLengthBoundsNoMemory: a request that declares a
// large body and sends a few bytes (then stalls, up to the server's read
// timeout) costs the witness about what it sent, not what it declared.
// add-checkpoint takes no token, so anyone could hold many connections
// declaring MaxBodySize each: readBody allocated the declared length up
// front, 256 KiB a connection for a few bytes sent.
func TestReadBodyDeclaredLengthBoundsNoMemory(t *testing.T) {
	const runs = 20
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		r := httptest.NewRequest(http.MethodPost, "/add-checkpoint", io.NopCloser(strings.NewReader("old 1\n")))
		r.ContentLength = MaxBodySize
		if _, err := readBody(httptest.NewRecorder(), r); err == nil {
			t.Fatal("a body shorter than declared was read")
		}
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / runs; per > maxBodyPrealloc+16<<10 {
		t.Fatalf("%d bytes allocated per request of 6 bytes declaring %d", per, MaxBodySize)
	}
}
