package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/private"
)

// TestPrivateReceiptRefusesKeptWithdrawal: private receipt --set compares
// with the reader's kept withdrawals as private check does. A node that
// serves a set as live again after its reader kept the set's withdrawal
// (replaying the key receipt from before) gets exit 4 naming the kept
// withdrawal, not a live set's description.
func TestPrivateReceiptRefusesKeptWithdrawal(t *testing.T) {
	ctx := context.Background()
	base, st, _ := demoNode(t)
	a, b := st.Members[0], st.Members[1]
	set := publishPrivateSet(t, base, a.Token, st.Collections.Shared, "domain-name:kept-receipt.example\n")
	seenFile := filepath.Join(t.TempDir(), "seen.json")
	receipt := func(u string) (int, string, string) {
		return runCLI(t, "private", "receipt", "--url", u, "--token", b.Token, "--set", set, "--seen", seenFile)
	}
	if code, stdout, stderr := receipt(base); code != 0 || !strings.Contains(stdout, "key entry") || strings.Contains(stdout, "withdrawn") {
		t.Fatalf("receipt of the live set: exit %d: %q %s", code, stdout, stderr)
	}
	bob := &private.Client{BaseURL: base, Token: b.Token}
	info, err := bob.Set(ctx, set)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := bob.Receipt(ctx, set)
	if err != nil {
		t.Fatal(err)
	}
	infoJSON, _ := json.Marshal(info)
	rcJSON, _ := json.Marshal(rc)
	if code, _, stderr := runCLI(t, "private", "withdraw", "--url", base, "--token", a.Token, "--set", set); code != 0 {
		t.Fatalf("withdraw: exit %d: %s", code, stderr)
	}
	if code, stdout, stderr := receipt(base); code != 0 || !strings.Contains(stdout, "withdrawn") {
		t.Fatalf("receipt of the withdrawn set: exit %d: %q %s", code, stdout, stderr)
	}

	target, _ := url.Parse(base)
	forward := httputil.NewSingleHostReverseProxy(target)
	replay := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/private/sets/" + set:
			w.Header().Set("Content-Type", "application/json")
			w.Write(infoJSON)
		case "/private/sets/" + set + "/receipt":
			w.Header().Set("Content-Type", "application/json")
			w.Write(rcJSON)
		default:
			forward.ServeHTTP(w, r)
		}
	}))
	defer replay.Close()
	code, stdout, stderr := receipt(replay.URL)
	if code != 4 || stdout != "" || !strings.Contains(stderr, "withdrawn") || !strings.Contains(stderr, ".withdrawn.json") {
		t.Fatalf("receipt of a replayed withdrawn set: exit %d: %q %s", code, stdout, stderr)
	}
}
