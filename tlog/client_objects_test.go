package tlog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// objectsServer serves GET /log/objects over entries [0, n) whose objects
// are {"i":INDEX}, at most perResponse items per response (then "next").
func objectsServer(t *testing.T, n, perResponse int) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start, _ := strconv.Atoi(r.URL.Query().Get("start"))
		end, _ := strconv.Atoi(r.URL.Query().Get("end"))
		var b bytes.Buffer
		b.WriteString(`{"objects":[`)
		i := start
		for ; i < min(end, n) && i < start+perResponse; i++ {
			if i > start {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"log_index":%d,"collection":"c","salt":"AQ==","object":{"i":%d}}`, i, i)
		}
		b.WriteString("]")
		if i < min(end, n) {
			fmt.Fprintf(&b, `,"next":%d`, i)
		}
		b.WriteString("}\n")
		w.Write(b.Bytes())
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestClientObjectsContinues checks that Client.Objects follows "next"
// and returns every object once, in order.
func TestClientObjectsContinues(t *testing.T) {
	for _, per := range []int{1, 3, 5000} {
		srv := objectsServer(t, 10, per)
		c := &Client{URL: srv.URL}
		var got []string
		err := c.Objects(context.Background(), 2, 10, func(i uint64, op Opening, o []byte) error {
			if op.Collection != "c" || len(op.Salt) != 1 {
				t.Errorf("item %d opening %+v", i, op)
			}
			got = append(got, fmt.Sprintf("%d:%s", i, o))
			return nil
		})
		if err != nil {
			t.Fatalf("%d per response: %v", per, err)
		}
		want := []string{}
		for i := 2; i < 10; i++ {
			want = append(want, fmt.Sprintf(`%d:{"i":%d}`, i, i))
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%d per response: got %v", per, got)
		}
	}
}

// TestClientObjectsErrors checks that a response that doesn't progress,
// is cut, or is larger than the client reads fails with a clear error,
// never as a shorter valid list.
func TestClientObjectsErrors(t *testing.T) {
	serve := func(body string) *Client {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(body)) }))
		t.Cleanup(srv.Close)
		return &Client{URL: srv.URL}
	}
	noop := func(uint64, Opening, []byte) error { return nil }
	for _, tc := range []struct{ name, body, want string }{
		{"stuck", `{"objects":[],"next":0}`, "continue at 0"},
		{"cut", `{"objects":[{"log_index":0,"collection":"c","salt":"AQ==","object":{"i":0}}`, "ended before its end"},
		{"not objects", `{"items":[]}`, `no "objects" list`},
		{"trailing", `{"objects":[]} {}`, "data after the response"},
	} {
		err := serve(tc.body).Objects(context.Background(), 0, 5, noop)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	// fn's own error comes back as is.
	boom := errors.New("boom")
	err := objectsClient(t).Objects(context.Background(), 0, 5, func(uint64, Opening, []byte) error { return boom })
	if err != boom {
		t.Errorf("fn's error: %v", err)
	}
}

func objectsClient(t *testing.T) *Client { return &Client{URL: objectsServer(t, 5, 100).URL} }

// TestLimitedReader checks that a response over the limit fails with
// errTooLarge instead of ending quietly at the limit (which made a cut
// /log/objects response "unexpected end of JSON input").
func TestLimitedReader(t *testing.T) {
	for _, tc := range []struct {
		size, limit int
		tooLarge    bool
	}{{10, 10, false}, {10, 11, false}, {11, 10, true}, {0, 0, false}, {1, 0, true}} {
		r := &limitedReader{r: strings.NewReader(strings.Repeat("x", tc.size)), n: int64(tc.limit)}
		var b bytes.Buffer
		_, err := b.ReadFrom(r)
		if got := errors.Is(err, errTooLarge); got != tc.tooLarge || !tc.tooLarge && (err != nil || b.Len() != tc.size) {
			t.Errorf("%d bytes, limit %d: read %d, %v", tc.size, tc.limit, b.Len(), err)
		}
	}
}

// FuzzDecodeObjects feeds arbitrary responses to the /log/objects parser:
// it never panics, and what it accepts re-encodes to items it parses the
// same way.
func FuzzDecodeObjects(f *testing.F) {
	f.Add([]byte(`{"objects":[{"log_index":3,"collection":"c","salt":"AQ==","object":{"a":1}}],"next":4}`))
	f.Add([]byte(`{"objects":[]}`))
	f.Add([]byte(`{"next":1,"objects":[{"log_index":0,"object":{}}],"x":[1,{"y":2}]}`))
	f.Add([]byte(`{"objects":[{"log_index":0,"salt":"!!","object":{}}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		type item struct {
			LogIndex   uint64          `json:"log_index"`
			Collection string          `json:"collection"`
			Salt       Bytes           `json:"salt"`
			Object     json.RawMessage `json:"object"`
		}
		items := []item{}
		next, more, err := decodeObjects(bytes.NewReader(data), 0, math.MaxUint64, func(i uint64, op Opening, o []byte) error {
			items = append(items, item{i, op.Collection, op.Salt, o})
			return nil
		})
		if err != nil {
			return
		}
		re, err := json.Marshal(map[string]any{"objects": items})
		if err != nil {
			t.Fatalf("accepted items don't re-encode: %v", err)
		}
		var again []item
		_, more2, err := decodeObjects(bytes.NewReader(re), 0, math.MaxUint64, func(i uint64, op Opening, o []byte) error {
			again = append(again, item{i, op.Collection, op.Salt, o})
			return nil
		})
		if err != nil || more2 || len(again) != len(items) {
			t.Fatalf("re-encoded %s: %d items, %v (had %d, next %d %v)", re, len(again), err, len(items), next, more)
		}
	})
}

// TestClientObjectsBound checks that a response listing more objects than
// the entries asked for is refused at the first item past the bound,
// decoded no further: 100,001 tiny items (the response's 256 MiB bound
// alone let a node send millions, each handed to fn), one item past the
// entries asked for, an entry twice or out of order, or an item at or
// past the response's "next".
func TestClientObjectsBound(t *testing.T) {
	item := func(i int, coll string) string {
		return fmt.Sprintf(`{"log_index":%d,"collection":%q,"salt":"AQ==","object":{}}`, i, coll)
	}
	items := func(idx ...int) string {
		var s []string
		for _, i := range idx {
			s = append(s, item(i, "c"))
		}
		return strings.Join(s, ",")
	}
	var many strings.Builder
	for i := range 100_001 {
		if i > 0 {
			many.WriteByte(',')
		}
		many.WriteString(item(1, "other"))
	}
	for _, tc := range []struct {
		name, body string
		calls      int // fn's calls before the refusal
	}{
		{"100001 tiny items", `{"objects":[` + many.String() + `]}`, 1},
		{"entries+1", `{"objects":[` + items(1, 2, 3, 4, 5, 6) + `]}`, 5},
		{"before start", `{"objects":[` + items(0) + `]}`, 0},
		{"twice", `{"objects":[` + items(1, 2, 2) + `]}`, 2},
		{"out of order", `{"objects":[` + items(3, 1) + `]}`, 1},
		{"past next", `{"objects":[` + items(1, 3) + `],"next":3}`, 2},
		{"next first", `{"next":3,"objects":[` + items(1, 3) + `]}`, 1},
		{"two lists", `{"objects":[` + items(1, 2) + `],"objects":[` + items(3) + `]}`, 2},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(tc.body)) }))
		calls := 0
		err := (&Client{URL: srv.URL}).Objects(context.Background(), 1, 6, func(uint64, Opening, []byte) error {
			calls++
			return nil
		})
		srv.Close()
		want := ErrObjectsBound
		if tc.name == "two lists" {
			want = nil
		}
		if err == nil || want != nil && !errors.Is(err, want) || calls != tc.calls {
			t.Errorf("%s: %d calls, %.300v; want %d calls and %v", tc.name, calls, err, tc.calls, want)
		}
	}
	// Entries 1–5 in full, over two responses, are read.
	srv := objectsServer(t, 10, 3)
	calls := 0
	if err := (&Client{URL: srv.URL}).Objects(context.Background(), 1, 6, func(uint64, Opening, []byte) error { calls++; return nil }); err != nil || calls != 5 {
		t.Errorf("a well-formed answer: %d calls, %v", calls, err)
	}
}
