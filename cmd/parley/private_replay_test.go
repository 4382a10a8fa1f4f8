package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/parley-exchange/parley/private"
)

// TestPrivateCheckRefusesKeptWithdrawal: a reader who verified and kept
// a set's withdrawal (parley private receipt) sends nothing to a node that
// later serves the set as live again, with its key receipt from before
// the withdrawal (a hostile node, or one restored from an older backup):
// private check exits 4 naming the kept withdrawal, and asks for no
// evaluation.
func TestPrivateCheckRefusesKeptWithdrawal(t *testing.T) {
	ctx := context.Background()
	base, st, _ := demoNode(t)
	a, b := st.Members[0], st.Members[1]
	set := publishPrivateSet(t, base, a.Token, st.Collections.Shared, "domain-name:ballot-phish.example\n")
	// A '[' in the directory's name: the kept receipts are found by name,
	// not by a glob pattern it would break.
	seenDir := filepath.Join(t.TempDir(), "w[1]")
	if err := os.Mkdir(seenDir, 0o700); err != nil {
		t.Fatal(err)
	}
	seenFile := filepath.Join(seenDir, "seen.json")
	check := func(u string) (int, string, string) {
		return runCLIWithStdin(t, []byte("domain-name:ballot-phish.example\n"), "private", "check", "--url", u, "--token", b.Token, "--set", set, "--seen", seenFile, "-")
	}
	if code, stdout, stderr := check(base); code != 0 || stdout != "domain-name:ballot-phish.example\n" {
		t.Fatalf("check: exit %d: %q %s", code, stdout, stderr)
	}
	// What the node answered while the set was live.
	bob := &private.Client{BaseURL: base, Token: b.Token}
	info, err := bob.Set(ctx, set)
	if err != nil {
		t.Fatal(err)
	}
	key, err := private.ParsePublicKey(info.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	tags, err := bob.Tags(ctx, set, key)
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
	if code, _, stderr := runCLI(t, "private", "receipt", "--url", base, "--token", b.Token, "--set", set, "--seen", seenFile); code != 0 {
		t.Fatalf("receipt of the withdrawn set: exit %d: %s", code, stderr)
	}

	target, _ := url.Parse(base)
	forward := httputil.NewSingleHostReverseProxy(target)
	var evaluations atomic.Int64
	replay := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/private/sets/" + set:
			w.Header().Set("Content-Type", "application/json")
			w.Write(infoJSON)
		case "/private/sets/" + set + "/tags":
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write(tags.AppendTags(nil))
		case "/private/sets/" + set + "/receipt":
			w.Header().Set("Content-Type", "application/json")
			w.Write(rcJSON)
		case "/private/sets/" + set + "/evaluate":
			evaluations.Add(1)
			forward.ServeHTTP(w, r)
		default:
			forward.ServeHTTP(w, r)
		}
	}))
	defer replay.Close()
	code, stdout, stderr := check(replay.URL)
	if n := evaluations.Load(); n != 0 {
		t.Fatalf("check sent %d evaluation(s) to a set whose withdrawal it kept: exit %d: %s", n, code, stderr)
	}
	if code != 4 || stdout != "" || !strings.Contains(stderr, "withdrawn") || !strings.Contains(stderr, ".withdrawn.json") {
		t.Fatalf("check of a replayed withdrawn set: exit %d: %q %s", code, stdout, stderr)
	}
	// A kept withdrawal of the set that can't be read (here a directory
	// of such a name, listed first) is no reason to send: exit 3, nothing
	// sent, rather than the values sent as if none were kept.
	unreadable := filepath.Join(seenDir, "seen.receipts", receiptName(set)+"-!.withdrawn.json")
	if err := os.Mkdir(unreadable, 0o700); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = check(replay.URL)
	if n := evaluations.Load(); n != 0 || code != 3 || stdout != "" || !strings.Contains(stderr, "nothing was sent") {
		t.Fatalf("check with an unreadable kept withdrawal: %d evaluation(s), exit %d: %q %s", n, code, stdout, stderr)
	}
}
