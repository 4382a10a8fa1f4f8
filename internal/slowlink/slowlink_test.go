package slowlink

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestMeter: a metered client counts the bytes of its response bodies as
// they are read, and when the last came.
func TestMeter(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("x", 10000))
	}))
	defer srv.Close()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := &Meter{Now: func() time.Time { return at }}
	if m.Bytes() != 0 || !m.Last().IsZero() {
		t.Fatalf("a new meter: %d bytes, last %s", m.Bytes(), m.Last())
	}
	c := Metered(Client(srv.Client(), time.Minute, DefaultMinRate, "the server"), m)
	for range 2 {
		resp, err := c.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if m.Bytes() != 20000 || !m.Last().Equal(at) {
		t.Fatalf("after two bodies of 10000 bytes: %d bytes, last %s", m.Bytes(), m.Last())
	}
}
