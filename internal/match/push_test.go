package match

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/taxii"
)

// TestPush posts sightings to a TAXII add-objects endpoint and checks that
// each sighting arrives signed by the member's key.
func TestPush(t *testing.T) {
	pub, key, _ := ed25519.GenerateKey(nil)
	var got []json.RawMessage
	refuse := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/api/collections/c1/objects/" {
			http.NotFound(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		var env taxii.Envelope
		if err := json.Unmarshal(body, &env); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		got = append(got, env.Objects...)
		st := taxii.Status{ID: "s1", Status: "complete", TotalCount: len(env.Objects), SuccessCount: len(env.Objects)}
		if refuse {
			st.SuccessCount, st.FailureCount = 0, len(env.Objects)
			st.Failures = []taxii.StatusDetails{{ID: "x", Message: "signature does not match created_by_ref"}}
		}
		w.Header().Set("Content-Type", taxii.MediaType)
		w.WriteHeader(http.StatusAccepted)
		json.NewEncoder(w).Encode(st)
	}))
	defer srv.Close()

	set := NewIndicatorSet()
	set.Put(&Indicator{ID: "indicator--00000000-0000-4000-8000-000000000001", Pattern: "[domain-name:value = 'evil.example']"})
	active, _ := set.Active(testNow)
	e, _ := Compile(active, Options{})
	m := NewMatcher(e, Config{Identity: "identity--11111111-1111-4111-8111-111111111111", ObservedData: true, Now: func() time.Time { return testNow }})
	m.Line([]byte(`{"ts":1700000000.5,"id.orig_h":"10.0.0.1","query":"evil.example"}`))
	objs := m.Flush()
	client := &taxii.Client{BaseURL: srv.URL}
	if err := Push(context.Background(), client, "c1", key, objs); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(objs) {
		t.Fatalf("posted %d objects, want %d", len(got), len(objs))
	}
	signed := 0
	for _, raw := range got {
		var o map[string]any
		json.Unmarshal(raw, &o)
		pk, err := stix.Verify(raw)
		if err != nil || !pk.Equal(pub) {
			t.Fatalf("%v not signed by the member: %v", o["type"], err)
		}
		signed++
	}
	// The observables too: the node refuses an object without
	// created_by_ref unless its sender signed it.
	if signed != len(objs) {
		t.Errorf("%d signed objects of %d", signed, len(objs))
	}
	refuse = true
	if err := Push(context.Background(), client, "c1", key, objs); !errors.Is(err, ErrPush) {
		t.Errorf("refused push: %v", err)
	}
}
