package node

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/parley-exchange/parley/taxii"
)

// TestFailureVersionRequired: TAXII 2.1 requires version in every status
// detail (section 4.3.1). A refused object with neither modified nor
// created (an unsigned cyber-observable in a collection that requires
// signatures; an object that couldn't be read at all) gets the version
// a versionless object is given when stored, its date_added, which for
// one never stored is the request's timestamp; a versioned object keeps
// its modified.
func TestFailureVersionRequired(t *testing.T) {
	tn := newTestNode(t)
	ctx := context.Background()
	objs := []json.RawMessage{
		json.RawMessage(`{"type":"ipv4-addr","spec_version":"2.1","id":"ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd","value":"198.51.100.3"}`),
		json.RawMessage(`{"type":"indicator","id":"not an id"}`),
		json.RawMessage(`{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2026-01-01T00:00:00Z","modified":"2026-01-02T00:00:00Z","pattern":"[ipv4-addr:value = '192.0.2.1']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z","created_by_ref":"` + tn.alice.ID + `"}`),
	}
	st, err := tn.alice.Client.AddObjects(ctx, tn.shared, objs)
	if err != nil {
		t.Fatal(err)
	}
	again, err := tn.alice.Client.Status(ctx, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		name string
		fs   int
		st   string
		vs   []string
	}{{"answer", st.FailureCount, st.RequestTimestamp, versions(st.Failures)}, {"status resource", again.FailureCount, again.RequestTimestamp, versions(again.Failures)}} {
		if s.fs != 3 {
			t.Fatalf("%s: %d failures, want 3 (%+v)", s.name, s.fs, st)
		}
		want := []string{s.st, s.st, "2026-01-02T00:00:00.000Z"}
		for i := range want {
			if s.vs[i] != want[i] {
				t.Errorf("%s: failure %d has version %q, want %q", s.name, i, s.vs[i], want[i])
			}
		}
	}
}

func versions(ds []taxii.StatusDetails) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Version
	}
	return out
}
