package taxii

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// benchBackend does no work of its own, so that the benchmarks below
// measure the handler: authentication lookup, size and depth checks,
// envelope parsing, and response encoding.
type benchBackend struct{ page Page }

func (benchBackend) Authenticate(context.Context, string) (Principal, error) {
	return Principal{MemberID: alice}, nil
}
func (benchBackend) Collections(context.Context, Principal) ([]Collection, error) { return nil, nil }
func (benchBackend) Collection(_ context.Context, _ Principal, id string) (Collection, error) {
	return Collection{ID: id, CanRead: true, CanWrite: true}, nil
}
func (b benchBackend) Objects(context.Context, Principal, string, Query) (Page, error) {
	return b.page, nil
}
func (benchBackend) AddObjects(_ context.Context, _ Principal, _ string, objs []json.RawMessage) (Status, error) {
	return Status{ID: "s", Status: StatusComplete, TotalCount: len(objs), SuccessCount: len(objs)}, nil
}
func (benchBackend) Status(context.Context, Principal, string) (Status, error) {
	return Status{}, ErrNotFound
}

// BenchmarkAddObjects measures the handler's cost of one add-objects
// request of n objects; compare its ns/object with
// BenchmarkEd25519Verify, the least work the node does per object.
func BenchmarkAddObjects(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			var objs []string
			for i := range n {
				objs = append(objs, indicator(i, i%60))
			}
			body := []byte(envelope(objs...))
			h := NewHandler(Config{}, benchBackend{})
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest(http.MethodPost, "/api/collections/c/objects/", bytes.NewReader(body))
				r.Header.Set("Authorization", "Bearer t")
				r.Header.Set("Accept", MediaType)
				r.Header.Set("Content-Type", MediaType)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != http.StatusAccepted {
					b.Fatal(w.Code, w.Body)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/object")
		})
	}
}

// BenchmarkGetObjects measures serving a page of 100 objects.
func BenchmarkGetObjects(b *testing.B) {
	var page Page
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 100 {
		page.Items = append(page.Items, Item{
			ID: fmt.Sprintf("indicator--00000000-0000-4000-8000-%012d", i), Version: "2026-01-01T00:00:01.000Z",
			DateAdded: t0.Add(time.Duration(i) * time.Millisecond), Object: json.RawMessage(indicator(i, 1)),
		})
	}
	page.More, page.Next = true, "s100"
	h := NewHandler(Config{}, benchBackend{page: page})
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodGet, "/api/collections/c/objects/?limit=100&match[type]=indicator", nil)
		r.Header.Set("Authorization", "Bearer t")
		r.Header.Set("Accept", MediaType)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"more":true`) {
			b.Fatal(w.Code)
		}
	}
}

// BenchmarkEd25519Verify is the per-object floor of the node's ingest
// (one signature verification), measured beside BenchmarkAddObjects.
func BenchmarkEd25519Verify(b *testing.B) {
	pub, priv, _ := ed25519.GenerateKey(bytes.NewReader(bytes.Repeat([]byte{7}, 64)))
	msg := []byte(indicator(1, 1))
	sig := ed25519.Sign(priv, msg)
	for b.Loop() {
		if !ed25519.Verify(pub, msg, sig) {
			b.Fatal("bad signature")
		}
	}
}
