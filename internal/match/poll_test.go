package match

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-exchange/parley/taxii"
)

// fakeCollection is a TAXII 2.1 objects endpoint over a list of object
// versions with their date added, honouring added_after.
type fakeCollection struct {
	mu    sync.Mutex
	added []time.Time
	objs  []string
}

func (f *fakeCollection) add(t time.Time, obj string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.added = append(f.added, t)
	f.objs = append(f.objs, obj)
}

func (f *fakeCollection) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/collections/c1/objects/" {
		http.NotFound(w, r)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var after time.Time
	if s := r.URL.Query().Get("added_after"); s != "" {
		t, err := taxii.ParseTimestamp(s)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		after = t
	}
	env := taxii.Envelope{}
	var first, last time.Time
	for i, t := range f.added {
		if t.After(after) {
			env.Objects = append(env.Objects, json.RawMessage(f.objs[i]))
			if first.IsZero() {
				first = t
			}
			last = t
		}
	}
	w.Header().Set("Content-Type", taxii.MediaType)
	if !last.IsZero() {
		w.Header().Set(taxii.HeaderDateAddedFirst, taxii.FormatTimestamp(first))
		w.Header().Set(taxii.HeaderDateAddedLast, taxii.FormatTimestamp(last))
	}
	json.NewEncoder(w).Encode(env)
}

func indicatorJSON(id, domain, modified string, revoked bool) string {
	return fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":"%s","created":"2024-01-01T00:00:00.000Z","modified":"%s","pattern":"[domain-name:value = '%s']","pattern_type":"stix","valid_from":"2024-01-01T00:00:00Z","revoked":%v}`, id, modified, domain, revoked)
}

// TestFollowingMatcherLiveIndicators runs the streaming loop a following
// matcher runs: a growing log file, a TAXII collection polled for changes.
// A new indicator is picked up and a revoked one dropped without stopping
// the stream.
func TestFollowingMatcherLiveIndicators(t *testing.T) {
	coll := &fakeCollection{}
	t0 := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	coll.add(t0, indicatorJSON("indicator--00000000-0000-4000-8000-0000000000a1", "old.example", "2024-01-01T00:00:00.000Z", false))
	srv := httptest.NewServer(coll)
	defer srv.Close()

	dir := t.TempDir()
	logPath := filepath.Join(dir, "dns.log")
	if err := os.WriteFile(logPath, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	appendLine := func(domain string) {
		f, err := os.OpenFile(logPath, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(f, `{"ts":1717243200.5,"query":"%s"}`+"\n", domain)
		f.Close()
	}

	set := NewIndicatorSet()
	p := &Poller{Client: &taxii.Client{BaseURL: srv.URL}, Collection: "c1", Set: set}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := &Stream{
		Matcher: NewMatcher(nil, Config{Now: func() time.Time { return testNow }}),
		Set:     set,
		Poller:  p,
	}
	if err := s.Init(ctx); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var out []map[string]any
	s.Emit = func(objs []map[string]any) error {
		mu.Lock()
		out = append(out, objs...)
		mu.Unlock()
		return nil
	}
	s.PollEvery, s.FlushEvery = 20*time.Millisecond, 20*time.Millisecond
	done := make(chan error)
	go func() { done <- s.Follow(ctx, logPath, 5*time.Millisecond) }()

	waitFor := func(what string, cond func([]map[string]any) bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			ok := cond(out)
			mu.Unlock()
			if ok {
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("timed out waiting for %s; got %v", what, out)
	}
	sightingOf := func(id string) func([]map[string]any) bool {
		return func(objs []map[string]any) bool {
			for _, o := range objs {
				if o["sighting_of_ref"] == id {
					return true
				}
			}
			return false
		}
	}
	appendLine("old.example")
	waitFor("a sighting of the first indicator", sightingOf("indicator--00000000-0000-4000-8000-0000000000a1"))

	// The node adds an indicator and revokes the first.
	coll.add(t0.Add(time.Minute), indicatorJSON("indicator--00000000-0000-4000-8000-0000000000a2", "new.example", "2024-01-01T00:00:00.000Z", false))
	coll.add(t0.Add(2*time.Minute), indicatorJSON("indicator--00000000-0000-4000-8000-0000000000a1", "old.example", "2024-03-01T00:00:00.000Z", true))
	waitFor("the engine to be rebuilt", func([]map[string]any) bool { return s.Rebuilds() >= 2 })
	mu.Lock()
	out = nil
	mu.Unlock()
	appendLine("old.example")
	appendLine("new.example")
	waitFor("a sighting of the new indicator", sightingOf("indicator--00000000-0000-4000-8000-0000000000a2"))
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, o := range out {
		if strings.HasSuffix(o["sighting_of_ref"].(string), "a1") {
			t.Errorf("the revoked indicator still fired: %v", o)
		}
	}
}

// TestWithhold: a withheld indicator stops matching until a newer version
// arrives; the same or an older version doesn't bring it back.
func TestWithhold(t *testing.T) {
	s := NewIndicatorSet()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	v := func(d time.Duration) *Indicator {
		return &Indicator{ID: "indicator--00000000-0000-4000-8000-0000000000a1", Modified: t0.Add(d)}
	}
	if s.withhold(v(0).ID) {
		t.Error("withholding an indicator not held changed the set")
	}
	s.Put(v(time.Hour))
	if !s.withhold(v(0).ID) || len(s.Usable()) != 0 || s.withhold(v(0).ID) {
		t.Fatalf("after withhold: %d usable; want 0 (and a second withhold changes nothing)", len(s.Usable()))
	}
	if s.Put(v(time.Hour)) || s.Put(v(0)) || len(s.Usable()) != 0 {
		t.Errorf("the same or an older version brought a withheld indicator back")
	}
	if !s.Put(v(2*time.Hour)) || len(s.Usable()) != 1 {
		t.Errorf("a newer version didn't replace the withheld one")
	}
}
