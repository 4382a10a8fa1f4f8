package node

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"filippo.io/torchwood"
	"golang.org/x/mod/sumdb/note"
	sumdb "golang.org/x/mod/sumdb/tlog"

	"github.com/parley-exchange/parley/tlog"
)

// bearer adds a member's token to every request of a client that knows
// nothing of Parley.
type bearer struct{ token string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return http.DefaultTransport.RoundTrip(r)
}

// TestLogReadByIndependentClient reads the node's whole log with a C2SP
// client written by others (filippo.io/torchwood's tlog-tiles client and
// golang.org/x/mod's signed-note and tlog code), as a member's monitor
// would: the checkpoint opens with the node's verifier key, and every
// entry comes out of the entry bundles authenticated by the hash tiles
// against the checkpoint's root — across two full tiles and a partial
// one, so full and partial paths of both levels are read. An entry's
// record proof from the same client checks against the tree.
func TestLogReadByIndependentClient(t *testing.T) {
	tn := newTestNode(t)
	ctx := context.Background()
	const objects = 600
	var objs []json.RawMessage
	for i := range objects {
		objs = append(objs, indicator(t, tn.alice.ID, tn.alice.Key, t0.Add(time.Duration(i)*time.Millisecond)))
	}
	for len(objs) > 0 {
		k := min(len(objs), 200)
		post(t, tn.alice.Client, tn.shared, objs[:k]...)
		objs = objs[k:]
	}
	size := waitIntegrated(t, tn)
	if size != objects+3 { // and the three members' registrations
		t.Fatalf("log size %d", size)
	}

	hc := &http.Client{Transport: bearer{tn.carol.Token}, Timeout: 10 * time.Second}
	resp, err := hc.Get(tn.URL + "/log/checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /log/checkpoint: %d %v", resp.StatusCode, err)
	}
	v, err := note.NewVerifier(tn.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	signed, err := note.Open(body, note.VerifierList(v))
	if err != nil {
		t.Fatalf("x/mod note doesn't open the checkpoint: %v\n%s", err, body)
	}
	cp, err := torchwood.ParseCheckpoint(signed.Text)
	if err != nil || cp.N != size || cp.Origin != tn.Config().Origin {
		t.Fatalf("torchwood reads checkpoint %+v, %v", cp, err)
	}

	fetcher, err := torchwood.NewTileFetcher(tn.URL+"/log/", torchwood.WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	client, err := torchwood.NewClient(fetcher, torchwood.WithTimeout(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	// The client leaves a trailing partial tile for a later, larger tree
	// unless it starts there: ask again from where it stopped.
	var entries [][]byte
	for int64(len(entries)) < cp.N {
		before := len(entries)
		for i, e := range client.Entries(ctx, cp.Tree, int64(len(entries))) {
			if i != int64(len(entries)) {
				t.Fatalf("entry %d after %d", i, len(entries))
			}
			entries = append(entries, e)
		}
		if err := client.Err(); err != nil {
			t.Fatalf("after %d entries: %v", len(entries), err)
		}
		if len(entries) == before {
			t.Fatalf("the client stopped at %d of %d entries", len(entries), cp.N)
		}
	}
	kinds := map[string]int{}
	for i, raw := range entries {
		e, err := tlog.ParseEntry(raw)
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		kinds[e.Kind]++
	}
	if kinds[tlog.KindObject] != objects || kinds[tlog.KindMemberKey] != 3 {
		t.Fatalf("kinds of the entries read: %v", kinds)
	}

	const idx = 300
	e, proof, err := client.Entry(ctx, cp.Tree, idx)
	if err != nil {
		t.Fatal(err)
	}
	if err := sumdb.CheckRecord(proof, cp.N, cp.Hash, idx, sumdb.RecordHash(e)); err != nil || string(e) != string(entries[idx]) {
		t.Fatalf("entry %d's record proof: %v", idx, err)
	}
}
