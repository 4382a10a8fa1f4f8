package taxii

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestMaxObjectSize checks that one object over Config.MaxObjectSize (as
// sent) refuses the whole envelope with 413 and a TAXII error naming it,
// before the backend sees any object, and that an object of exactly the
// limit passes.
func TestMaxObjectSize(t *testing.T) {
	small := indicator(1, 0)
	big := strings.Replace(indicator(2, 0), `"type"`, `"description":"`+strings.Repeat("x", 100)+`","type"`, 1)
	f := newFixture(t, Config{MaxObjectSize: int64(len(big) - 1)})
	w := f.do(t, req{method: http.MethodPost, path: "/api/collections/" + collShared + "/objects/", body: envelope(small, big)})
	var e Error
	if w.Code != http.StatusRequestEntityTooLarge || json.Unmarshal(w.Body.Bytes(), &e) != nil ||
		!strings.Contains(e.Description, "objects[1] is") || !strings.Contains(e.Description, "max_object_size") {
		t.Fatalf("over the limit: %d %s", w.Code, w.Body)
	}
	// The id too: push cuts a file into envelopes, whose index the
	// user can't map back to the file.
	var id struct{ ID string }
	json.Unmarshal([]byte(big), &id)
	if !strings.Contains(e.Description, `(objects[1] is "`+id.ID+`")`) {
		t.Errorf("the error doesn't name the object's id %s: %s", id.ID, e.Description)
	}
	if len(f.b.records) != 0 {
		t.Errorf("a refused envelope stored %d objects", len(f.b.records))
	}
	f = newFixture(t, Config{MaxObjectSize: int64(len(big))})
	if st := f.post(t, small, big); st.SuccessCount != 2 {
		t.Errorf("objects within the limit: %+v", st)
	}
}

// countingGate is a Gate that records reservations and can refuse.
type countingGate struct {
	mu             sync.Mutex
	held, in, last int64
	refuse         bool
}

func (g *countingGate) Acquire(ctx context.Context, holder string, n int64) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.refuse {
		return context.DeadlineExceeded
	}
	g.held += n
	g.in++
	g.last = n
	return nil
}

func (g *countingGate) Release(holder string, n int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.held -= n
}

// TestGateAndPageBytes checks the memory bounds of object pages: the
// objects endpoint reserves from the Gate before reading and gives it all
// back, a refused reservation is 503 with Retry-After, the manifest
// reserves nothing and asks the backend for no objects, and pages carry
// MaxBytes (the streamed envelope is the one json.Marshal would write).
func TestGateAndPageBytes(t *testing.T) {
	g := &countingGate{}
	f := newFixture(t, Config{Gate: g, MaxPageBytes: 1000, MaxObjectSize: 500})
	f.post(t, indicator(1, 0), indicator(2, 0), indicator(3, 0))
	var seen []Query
	f.b.onObjects = func(q Query) { seen = append(seen, q) }

	w := f.do(t, req{path: "/api/collections/" + collShared + "/objects/?limit=2"})
	if w.Code != http.StatusOK {
		t.Fatalf("objects: %d %s", w.Code, w.Body)
	}
	var env Envelope
	if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil || len(env.Objects) != 2 || !env.More || env.Next == "" {
		t.Fatalf("envelope %+v, %v", env, err)
	}
	want, _ := json.Marshal(env)
	if got := strings.TrimSuffix(w.Body.String(), "\n"); got != string(want) {
		t.Errorf("streamed envelope\n%s\nwant\n%s", got, want)
	}
	if g.in != 1 || g.held != 0 {
		t.Errorf("gate: %d reservations, %d bytes still held", g.in, g.held)
	}
	if len(seen) != 1 || seen[0].MaxBytes != 1000 || seen[0].WithoutObjects {
		t.Errorf("objects query %+v, want MaxBytes 1000 with objects", seen)
	}

	seen = nil
	if w := f.do(t, req{path: "/api/collections/" + collShared + "/manifest/"}); w.Code != http.StatusOK {
		t.Fatalf("manifest: %d %s", w.Code, w.Body)
	}
	if g.in != 1 || len(seen) != 1 || !seen[0].WithoutObjects {
		t.Errorf("manifest: %d reservations, query %+v; want none, without objects", g.in, seen)
	}

	g.refuse = true
	w = f.do(t, req{path: "/api/collections/" + collShared + "/objects/"})
	var e Error
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" || json.Unmarshal(w.Body.Bytes(), &e) != nil || e.HTTPStatus != "503" {
		t.Errorf("gate refused: %d %v %s", w.Code, w.Header(), w.Body)
	}
	if !errors.Is(&RequestError{Kind: errUnavailable}, errUnavailable) {
		t.Error("errUnavailable doesn't classify")
	}
}

// TestEnvelopeGate: POST objects reserves from EnvelopeGate before it
// reads the body (envelopeMemoryFactor bytes per byte of Content-Length,
// MaxContentLength without one) and gives it all back; the pages' Gate is
// not touched; a refused reservation is 503 with Retry-After, and nothing
// of the envelope is stored.
func TestEnvelopeGate(t *testing.T) {
	pages, envs := &countingGate{}, &countingGate{}
	f := newFixture(t, Config{Gate: pages, EnvelopeGate: envs, MaxContentLength: 1 << 20})
	body := envelope(indicator(1, 0), indicator(2, 0))
	w := f.do(t, req{method: http.MethodPost, path: "/api/collections/" + collShared + "/objects/", body: body})
	if w.Code != http.StatusAccepted {
		t.Fatalf("POST: %d %s", w.Code, w.Body)
	}
	if want := int64(len(body))*envelopeMemoryFactor + 64<<10; envs.in != 1 || envs.last != want || envs.held != 0 {
		t.Errorf("envelope gate: %d reservations, last %d bytes (want %d), %d still held", envs.in, envs.last, want, envs.held)
	}
	if pages.in != 0 {
		t.Errorf("a POST reserved %d times from the pages' gate", pages.in)
	}

	// Without a Content-Length: the largest body.
	hr := httptest.NewRequest(http.MethodPost, "http://parley.test/api/collections/"+collShared+"/objects/", io.MultiReader(strings.NewReader(envelope(indicator(3, 0)))))
	hr.ContentLength = -1
	hr.Header.Set("Authorization", "Bearer "+tokenAlice)
	hr.Header.Set("Accept", MediaType)
	hr.Header.Set("Content-Type", MediaType)
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, hr)
	if rec.Code != http.StatusAccepted {
		t.Fatalf("POST without Content-Length: %d %s", rec.Code, rec.Body)
	}
	if want := int64(1<<20)*envelopeMemoryFactor + 64<<10; envs.last != want || envs.held != 0 {
		t.Errorf("without Content-Length: reserved %d, want %d; %d still held", envs.last, want, envs.held)
	}

	envs.refuse = true
	w = f.do(t, req{method: http.MethodPost, path: "/api/collections/" + collShared + "/objects/", body: envelope(indicator(4, 0))})
	var e Error
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" || json.Unmarshal(w.Body.Bytes(), &e) != nil || e.HTTPStatus != "503" {
		t.Errorf("gate refused: %d %v %s", w.Code, w.Header(), w.Body)
	}
	envs.refuse = false
	w = f.do(t, req{path: "/api/collections/" + collShared + "/objects/"})
	var env Envelope
	if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil || len(env.Objects) != 3 {
		t.Errorf("after the refused POST the collection holds %d objects (%v), want 3", len(env.Objects), err)
	}
}
