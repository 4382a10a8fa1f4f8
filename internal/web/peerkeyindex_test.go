package web_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/node"
	"github.com/parley-exchange/parley/tlog"
)

// TestBrowserPeerKeyHistoryUnproved: node A replicates B's collection,
// where alice signed an object, then rotated her key, then signed another.
// Replication fetches B's key index (signed by B's log key) and A's GET
// /peers/bundle carries it, so the object page's check ends "verified"
// through the real replication path. Without it (as from a B older than
// the key index) nothing shows the browser that alice's key entries are
// all there (A's operator, or B, could leave out her rotation): the check
// must not end "verified", but "logged", saying the signature verifies
// with the key B's log shows and the key history isn't proved complete,
// with the rotation left out too. With B's index and the rotation left
// out, or with an index signed by A's key, it fails.
func TestBrowserPeerKeyHistoryUnproved(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	chromium(t)
	ctx := context.Background()

	// B: alice signs one indicator, rotates her key, signs another.
	b := openNode(t, node.Config{})
	alice := addMember(t, b, "alice", true)
	nodeA := addMember(t, b, "node-a", false)
	intel, err := b.AddCollection(ctx, "intel", "", []string{"alice", "node-a"}, []string{"alice"}, "")
	if err != nil {
		t.Fatal(err)
	}
	fb := &fixture{n: b}
	before := "indicator--d4d4d4d4-0000-4000-8000-000000000001"
	fb.submit(t, alice, intel, map[string]any{"type": "indicator", "id": before, "name": "Before the rotation",
		"pattern": "[ipv4-addr:value = '192.0.2.211']", "pattern_type": "stix", "valid_from": "2026-09-14T08:30:00Z"})
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	if err := b.RotateKey(ctx, alice.ID, pub, nil); err != nil {
		t.Fatal(err)
	}
	alice.Key = priv
	after := "indicator--d4d4d4d4-0000-4000-8000-000000000002"
	fb.submit(t, alice, intel, map[string]any{"type": "indicator", "id": after, "name": "After the rotation",
		"pattern": "[ipv4-addr:value = '192.0.2.212']", "pattern_type": "stix", "valid_from": "2026-09-14T08:30:00Z"})
	bURL := serveNode(t, b)

	// A follows B's collection.
	a := openNode(t, node.Config{PeerInterval: node.Duration(30 * time.Millisecond)})
	carol := addMember(t, a, "carol", true)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(nodeA.Token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := a.AddPeer(ctx, node.PeerSpec{Name: "b", URL: bURL, TokenFile: tokenFile, LogKey: b.VerifierKey(),
		Remote: intel, Into: "from B", Readers: []string{"carol"}}); err != nil {
		t.Fatal(err)
	}
	aURL := serveNode(t, a)
	deadline := time.Now().Add(60 * time.Second)
	for {
		ps, err := a.Store().Peers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) == 1 && ps[0].State.Objects >= 2 && ps[0].State.KeyIndex != nil && ps[0].State.KeyIndexSize == ps[0].State.Next {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no replication in 60 s: %+v", ps)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// keyIndex is the key index of alice's key entries that the node at
	// url signs in its GET /log/keys answer, of a tree of size (B's, as
	// A's copy has it; A's own otherwise).
	keyIndex := func(url, token string, size uint64) (string, error) {
		req, _ := http.NewRequest(http.MethodGet, url+"/log/keys?member="+alice.ID, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		var kr tlog.KeysResponse
		if err := json.NewDecoder(resp.Body).Decode(&kr); err != nil {
			return "", err
		}
		if kr.KeyIndex == "" || (size != 0 && kr.TreeSize != size) {
			t.Errorf("GET /log/keys of %s: tree size %d (want %d), key index %q", url, kr.TreeSize, size, kr.KeyIndex)
		}
		return kr.KeyIndex, nil
	}
	var (
		mode    atomic.Value // "": as A serves it; else "+"-separated: strip (its key index), drop (alice's rotation), own-index (A's); "raw:F": F put first in its bytes
		dropped atomic.Int32
	)
	mode.Store("")
	wrap := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			m := mode.Load().(string)
			if r.URL.Path != "/peers/bundle" || m == "" {
				next.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			if raw, ok := strings.CutPrefix(m, "raw:"); ok {
				// The bundle's bytes with a field first: a forged
				// checkpoint before the honest one (JSON.parse keeps the
				// last), invalid UTF-8, a name with bidi controls twice.
				w.Header().Set("Content-Type", "application/json")
				w.Write(append([]byte("{"+raw+","), rec.Body.Bytes()[1:]...))
				return
			}
			var bd map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &bd); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			if ki, _ := bd["key_index"].(string); ki == "" {
				t.Errorf("A's GET /peers/bundle carries no key index of B's")
			}
			var err error
			for _, part := range strings.Split(m, "+") {
				switch part {
				case "strip":
					delete(bd, "key_index")
				case "drop":
					keys := []any{}
					for _, k := range bd["keys"].([]any) {
						leaf, _ := base64.StdEncoding.DecodeString(k.(map[string]any)["entry"].(string))
						if e, _ := tlog.ParseEntry(leaf); e.Member == alice.ID && e.Event == tlog.EventRotate {
							dropped.Add(1)
							continue
						}
						keys = append(keys, k)
					}
					bd["keys"] = keys
				case "own-index":
					if bd["key_index"], err = keyIndex(aURL, carol.Token, 0); err != nil {
						t.Error(err)
					}
				}
			}
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(bd)
		})
	}
	base := uiServerWrapped(t, &fixture{n: a, aurelia: carol}, nil, wrap)
	bctx, cancel := browser(t, 1280)
	defer cancel()
	logIn(t, bctx, base, carol.Token)

	unproved := "the peer's key history isn't proved complete"
	for _, c := range []struct {
		mode, id, state string
		want            []string
	}{
		{"", before, "verified", []string{"Verified in your browser", "all that the peer's signed key index lists"}},
		{"", after, "verified", []string{"Verified in your browser"}},
		{"strip", before, "logged", []string{"Signature verified with the key the peer's log shows", unproved,
			"no key index signed by the peer", "not established: the member's key is in the peer's log and in force at that entry",
			"✓ the member's signature verifies with the key the peer's log shows"}},
		{"strip", after, "logged", []string{unproved}},
		{"strip+drop", before, "logged", []string{unproved}},
		{"drop", before, "failed", []string{"in the peer's log: the node left out key entry"}},
		{"own-index", before, "failed", []string{"in the peer's log: the key index is for"}},
		{`raw:"checkpoint":"forged"`, before, "failed", []string{`couldn't read the object's proof bundle in the peer's log: field "checkpoint" given twice`}},
		{`raw:"Log_Key":"forged"`, before, "failed", []string{`unknown field "Log_Key"`}},
		{"raw:\"later\":\"\xff\"", before, "failed", []string{"invalid UTF-8"}},
		{"raw:\"x\u202e\":1,\"x\u202e\":2", before, "failed", []string{`field "x[U+202E]" given twice`}},
	} {
		mode.Store(c.mode)
		st, text := checkObjectPage(t, bctx, base, c.id, "")
		if st != c.state {
			t.Errorf("%q, %s: %s, want %s: %s", c.mode, c.id, st, c.state, text)
		}
		for _, w := range c.want {
			if !strings.Contains(text, w) {
				t.Errorf("%q, %s: the check doesn't say %q: %s", c.mode, c.id, w, text)
			}
		}
		if strings.ContainsAny(text, "\u202e\ufffd") {
			t.Errorf("%q, %s: attacker text not inert: %q", c.mode, c.id, text)
		}
		if c.state != "verified" && strings.Contains(text, "Verified in your browser") {
			t.Errorf("%q, %s: says verified: %s", c.mode, c.id, text)
		}
	}
	if dropped.Load() == 0 {
		t.Error("no rotation was left out")
	}
}
