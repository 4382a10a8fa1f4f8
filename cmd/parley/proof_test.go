package main

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/parley-exchange/parley/tlog"
)

// TestProvesCopies: a peer bundle proves the node's copies of an object
// only if every item is of that object and each copy is, as canonical
// JSON, an item signed by a key the peer's log gave its member; an item
// that is itself foreign or unsigned in the peer's log proves nothing
// about the signer, and says so without blaming the node (found by
// h/witfed: C following A's copy of B's collection was told that C's
// copy "isn't what the peer's log holds signed").
func TestProvesCopies(t *testing.T) {
	const id = "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
	v1 := `{"id":"` + id + `","modified":"2026-01-01T00:00:00.000Z","type":"indicator"}`
	v2 := `{"id":"` + id + `","modified":"2026-01-02T00:00:00.000Z","type":"indicator"}`
	spaced := `{ "type": "indicator", "id": "` + id + `", "modified": "2026-01-01T00:00:00.000Z" }` // the same as v1
	signed := tlog.ObjectCheck{}
	foreign := tlog.ObjectCheck{ForeignKey: make(ed25519.PublicKey, ed25519.PublicKeySize)}
	type item struct {
		object, id string
		signed     bool
		check      tlog.ObjectCheck
	}
	for _, c := range []struct {
		name   string
		items  []item
		copies []string
		want   string // "" means proved
	}{
		{"each copy signed", []item{{v1, id, true, signed}, {v2, id, true, signed}}, []string{v1, v2}, ""},
		{"re-indented", []item{{spaced, id, true, signed}}, []string{v1}, ""},
		{"a copy not in the bundle", []item{{v1, id, true, signed}}, []string{v1, v2}, "isn't in the bundle"},
		{"another object", []item{{v1, id, true, signed}, {v2, "indicator--other", true, signed}}, []string{v1}, "not only"},
		// The node copied these faithfully: the peer's log holds them, but
		// doesn't say who signed them (C following A's copy of B's
		// collection gets these from A): not the node's doing.
		{"foreign in the peer's log too", []item{{v1, id, false, foreign}}, []string{v1}, "doesn't say who signed it"},
		{"unsigned in the peer's log", []item{{v1, id, false, signed}}, []string{v1}, "doesn't say who signed it"},
		{"one signed, one foreign", []item{{v1, id, true, signed}, {v2, id, false, foreign}}, []string{v1, v2}, "doesn't say who signed it"},
		// A copy the bundle lacks is reported, whatever else holds.
		{"foreign, and a copy not in the bundle", []item{{v1, id, false, foreign}}, []string{v1, v2}, "isn't in the bundle"},
	} {
		var b tlog.Bundle
		var res tlog.BundleResult
		for i, it := range c.items {
			op := tlog.Opening{ObjectID: it.id, Version: "2026-01-01T00:00:00.000Z", Member: "identity--alice"}
			b.Items = append(b.Items, tlog.BundleItem{Object: json.RawMessage(it.object), Opening: op, LogIndex: uint64(i)})
			res.Items = append(res.Items, tlog.VerifiedItem{Opening: op, Signed: it.signed, Check: it.check, Index: uint64(i)})
		}
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		var copies [][]byte
		for _, cp := range c.copies {
			copies = append(copies, []byte(cp))
		}
		var errb bytes.Buffer
		cl := &cli{stdout: &bytes.Buffer{}, stderr: &errb, getenv: func(string) string { return "" }}
		err = provesCopies(cl, raw, res, id, copies)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want == "" && strings.Count(errb.String(), "signed by identity--alice") != len(copies):
			t.Errorf("%s: says %q", c.name, errb.String())
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want an error saying %q", c.name, err, c.want)
		}
		// Only a copy the peer's log holds unsigned is told apart from
		// one the node changed or made up.
		var ns *notSignedThereError
		if got, want := errors.As(err, &ns), strings.Contains(c.want, "who signed"); got != want {
			t.Errorf("%s: %v: notSignedThereError %v, want %v", c.name, err, got, want)
		}
	}
}

// TestUnavailable: parley proof retries on the node's 503 answer, told by
// its status code, not by the node's message, which may name any status.
func TestUnavailable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&tlog.HTTPError{Path: "/log/bundle", Code: http.StatusServiceUnavailable, Message: "not yet in a checkpoint"}, true},
		{fmt.Errorf("wrapped: %w", &tlog.HTTPError{Code: http.StatusServiceUnavailable}), true},
		{&tlog.HTTPError{Code: http.StatusBadRequest, Message: "x: 503 Service Unavailable"}, false},
		{fmt.Errorf("%w: GET /log/bundle: 503 Service Unavailable: text", tlog.ErrHTTP), false},
		{errors.New("couldn't reach the node"), false},
	} {
		if got := unavailable(tc.err); got != tc.want {
			t.Errorf("unavailable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// TestProofRetriesWhileNotIntegrated: the node answers GET /log/bundle 503
// ("not yet in a checkpoint") while no process has signed a checkpoint
// with the object, as after a standby takes over the integration (within
// 10 s, README "The store"); parley proof waits for the checkpoint, as the
// README says, instead of failing at the first 503 with a hint about the
// object ids.
func TestProofRetriesWhileNotIntegrated(t *testing.T) {
	base, st, _ := demoNode(t)
	target, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	var refused atomic.Int32
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/log/bundle" && refused.Load() < 2 {
			refused.Add(1)
			w.Header().Set("Content-Type", "application/taxii+json;version=2.1")
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"title":"not yet in a checkpoint","description":"an entry isn't in a signed checkpoint yet; retry","http_status":"503"}`)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer srv.Close()
	code, stdout, stderr := runCLI(t, "proof", "--url", srv.URL, "--token", st.Members[0].Token, "report--7a1e0c52-4b3d-4e0f-9a21-00000000000a")
	if code != 0 || !strings.Contains(stdout, "parley-proof-bundle-v2") {
		t.Fatalf("proof while the node answered 503 twice: exit %d\n%s", code, stderr)
	}
	if refused.Load() != 2 {
		t.Fatalf("the node refused %d times; want 2", refused.Load())
	}
}

// TestPushHintNamesTheLimit: an object over the node's max_object_size is
// refused whole with 413; push's hint says what to do about its size, not
// to check --url, --token and --collection, which were right.
func TestPushHintNamesTheLimit(t *testing.T) {
	base, st, _ := demoNode(t)
	alice := st.Members[0]
	obj := `{"type":"indicator","spec_version":"2.1","id":"indicator--6b5e1c39-0a4e-4f0f-8d55-3c1c5f6f2b99",` +
		`"created":"2026-09-14T08:30:00.000Z","modified":"2026-09-14T08:30:00.000Z","created_by_ref":"` + alice.ID + `",` +
		`"name":"big","description":"` + strings.Repeat("x", 1100000) + `",` +
		`"pattern":"[domain-name:value = 'big.example']","pattern_type":"stix","valid_from":"2026-09-14T08:30:00Z"}`
	file := filepath.Join(t.TempDir(), "big.json")
	if err := os.WriteFile(file, []byte(obj), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, "push", "--url", base, "--token", alice.Token, "--key", alice.KeyFile, "--collection", st.Collections.Shared, file)
	if code != 4 || !strings.Contains(stderr, "413") {
		t.Fatalf("push of a 1.1 MB object: exit %d: %s", code, stderr)
	}
	if strings.Contains(stderr, "hint: check --url") || !strings.Contains(stderr, "max_object_size") {
		t.Errorf("push's hint for a 413 doesn't name the node's limits:\n%s", stderr)
	}
}

// TestProofWritesWhatFailsToStdout: when the node's bundle doesn't
// verify, parley proof's hint says to keep it as evidence, so it writes
// the bundle as served to stdout (exit 1); before h/witfed it wrote
// nothing, and the evidence was lost.
func TestProofWritesWhatFailsToStdout(t *testing.T) {
	base, st, _ := demoNode(t)
	target, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(r *http.Response) error {
		if r.Request.URL.Path != "/log/bundle" || r.StatusCode != http.StatusOK {
			return nil
		}
		body, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return err
		}
		// A node that changed the object after logging it.
		var b map[string]any
		if err := json.Unmarshal(body, &b); err != nil {
			return err
		}
		b["items"].([]any)[0].(map[string]any)["object"].(map[string]any)["name"] = "changed after it was logged"
		body, _ = json.Marshal(b)
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.Header.Set("Content-Length", fmt.Sprint(len(body)))
		return nil
	}
	srv := httptest.NewServer(proxy)
	defer srv.Close()
	code, stdout, stderr := runCLI(t, "proof", "--url", srv.URL, "--token", st.Members[0].Token, "report--7a1e0c52-4b3d-4e0f-9a21-00000000000a")
	if code != 1 || !strings.Contains(stderr, "keep it") {
		t.Fatalf("proof of a changed object: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stdout, "parley-proof-bundle-v2") || !strings.Contains(stdout, "changed after it was logged") {
		t.Fatalf("stdout doesn't hold the bundle as served: %.300q", stdout)
	}
}
