package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/private"
	"github.com/parley-exchange/parley/tlog"
)

// TestPrivateReceiptKeptAndWithdrawn: private check keeps the receipt it
// verified beside the seen file; once the provider withdraws the set,
// the reader's private receipt fetches and verifies the withdrawn set's
// receipt (the key entry and the withdrawal entry) and keeps it too; a
// kept receipt verifies offline with the log key, and one whose key was
// changed doesn't. An audit of the log with the withdrawal entry passes.
func TestPrivateReceiptKeptAndWithdrawn(t *testing.T) {
	base, st, _ := demoNode(t)
	a, b := st.Members[0], st.Members[1]
	set := publishPrivateSet(t, base, a.Token, st.Collections.Shared, "domain-name:ballot-phish.example\n")
	work := t.TempDir()
	seenFile := filepath.Join(work, "seen.json")
	kept := filepath.Join(work, "seen.receipts")
	if code, stdout, stderr := runCLIWithStdin(t, []byte("domain-name:ballot-phish.example\n"), "private", "check", "--url", base, "--token", b.Token, "--set", set, "--seen", seenFile, "-"); code != 0 || stdout != "domain-name:ballot-phish.example\n" {
		t.Fatalf("check: exit %d: %q %s", code, stdout, stderr)
	}
	files, _ := filepath.Glob(filepath.Join(kept, set+"-*.json"))
	if len(files) != 1 || strings.Contains(files[0], "withdrawn") {
		t.Fatalf("receipts kept by check: %v", files)
	}
	seen, err := tlog.LoadSeen(seenFile)
	if err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, "private", "receipt", "--file", files[0], "--log-key", seen.Key); code != 0 {
		t.Fatalf("the receipt check kept doesn't verify: exit %d: %s", code, stderr)
	}

	if code, _, stderr := runCLI(t, "private", "withdraw", "--url", base, "--token", a.Token, "--set", set); code != 0 {
		t.Fatalf("withdraw: exit %d: %s", code, stderr)
	}
	if code, _, _ := runCLIWithStdin(t, []byte("domain-name:ballot-phish.example\n"), "private", "check", "--url", base, "--token", b.Token, "--set", set, "--seen", seenFile, "-"); code != 4 {
		t.Errorf("check against the withdrawn set: exit %d, want 4", code)
	}
	code, stdout, stderr := runCLI(t, "private", "receipt", "--url", base, "--token", b.Token, "--set", set, "--seen", seenFile)
	if code != 0 || !strings.Contains(stdout, "withdrawn\t") || !strings.Contains(stdout, "provider\t"+a.ID) {
		t.Fatalf("receipt of the withdrawn set: exit %d: %q %s", code, stdout, stderr)
	}
	withdrawn, _ := filepath.Glob(filepath.Join(kept, set+"-*.withdrawn.json"))
	if len(withdrawn) != 1 {
		t.Fatalf("the withdrawn set's receipt isn't kept: %v", withdrawn)
	}
	if code, stdout, stderr := runCLI(t, "private", "receipt", "--file", withdrawn[0], "--log-key", seen.Key); code != 0 || !strings.Contains(stdout, "withdrawal entry\t") {
		t.Fatalf("the kept withdrawn receipt doesn't verify offline: exit %d: %q %s", code, stdout, stderr)
	}
	// A provider claiming another key: the kept receipt is checked
	// against the log, not taken at its word.
	var saved private.SavedReceipt
	raw, _ := os.ReadFile(withdrawn[0])
	if err := json.Unmarshal(raw, &saved); err != nil {
		t.Fatal(err)
	}
	saved.PublicKey[3] ^= 1
	saved.Receipt.Withdrawal.PublicKey[3] ^= 1
	forged := filepath.Join(work, "forged.json")
	raw, _ = json.Marshal(saved)
	if err := os.WriteFile(forged, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := runCLI(t, "private", "receipt", "--file", forged, "--log-key", seen.Key); code != 4 {
		t.Errorf("a receipt with another key: exit %d, want 4", code)
	}
	// The log, with its withdrawal entry, audits clean.
	if code, stdout, stderr := runCLI(t, "audit", "--url", base, "--token", b.Token, "--seen", seenFile); code != 0 {
		t.Fatalf("audit after the withdrawal: exit %d: %s %s", code, stdout, stderr)
	}
}

// TestPrivateWithdrawSigned: private withdraw --key signs the
// withdrawal; the readers' private receipt shows that the provider
// withdrew the set, and keeps a receipt (with the provider's statement
// and key history) that verifies offline, and fails once its statement
// is altered. Without --key, the withdrawal is the node's word.
func TestPrivateWithdrawSigned(t *testing.T) {
	base, st, _ := demoNode(t)
	a, b := st.Members[0], st.Members[1]
	work := t.TempDir()
	seenFile := filepath.Join(work, "seen.json")
	for _, signed := range []bool{true, false} {
		set := publishPrivateSet(t, base, a.Token, st.Collections.Shared, "domain-name:ballot-phish.example\n")
		args := []string{"private", "withdraw", "--url", base, "--token", a.Token, "--set", set}
		if signed {
			args = append(args, "--key", a.KeyFile, "--seen", filepath.Join(work, "a-seen.json"))
		}
		if code, _, stderr := runCLI(t, args...); code != 0 {
			t.Fatalf("withdraw (signed %v): exit %d: %s", signed, code, stderr)
		}
		code, stdout, stderr := runCLI(t, "private", "receipt", "--url", base, "--token", b.Token, "--set", set, "--seen", seenFile)
		want := "withdrawn by\tthe node (unsigned"
		if signed {
			want = "withdrawn by\tthe provider (signed"
		}
		if code != 0 || !strings.Contains(stdout, want) {
			t.Fatalf("receipt (signed %v): exit %d: %q %s, want %q", signed, code, stdout, stderr, want)
		}
		if !signed {
			continue
		}
		kept, _ := filepath.Glob(filepath.Join(work, "seen.receipts", set+"-*.withdrawn.json"))
		if len(kept) != 1 {
			t.Fatalf("kept: %v", kept)
		}
		seen, err := tlog.LoadSeen(seenFile)
		if err != nil {
			t.Fatal(err)
		}
		if code, stdout, stderr := runCLI(t, "private", "receipt", "--file", kept[0], "--log-key", seen.Key); code != 0 || !strings.Contains(stdout, want) {
			t.Fatalf("the kept signed receipt offline: exit %d: %q %s", code, stdout, stderr)
		}
		// parley verify checks it too, offline, with the log key only.
		if code, stdout, stderr := runCLI(t, "verify", "--log-key", seen.Key, kept[0]); code != 0 || !strings.Contains(stdout, want) {
			t.Fatalf("parley verify of the kept signed receipt: exit %d: %q %s", code, stdout, stderr)
		}
		if code, _, _ := runCLI(t, "verify", kept[0]); code != 2 {
			t.Errorf("parley verify of a kept receipt without --log-key: exit %d, want 2", code)
		}
		var saved private.SavedReceipt
		raw, _ := os.ReadFile(kept[0])
		if err := json.Unmarshal(raw, &saved); err != nil {
			t.Fatal(err)
		}
		saved.Receipt.Withdrawal.Signature[0] ^= 1
		forged := filepath.Join(work, "forged.json")
		raw, _ = json.Marshal(saved)
		if err := os.WriteFile(forged, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		if code, _, _ := runCLI(t, "private", "receipt", "--file", forged, "--log-key", seen.Key); code != 4 {
			t.Errorf("a kept receipt with an altered signature: exit %d, want 4", code)
		}
		if code, _, _ := runCLI(t, "verify", "--log-key", seen.Key, forged); code != 1 {
			t.Errorf("parley verify of a kept receipt with an altered signature: exit %d, want 1", code)
		}
	}
}

// TestPrivateWithdrawSignatureDropped: a node from before signed
// withdrawals takes the DELETE and ignores its body (here a front that
// drops it), so the set is withdrawn unsigned; parley private withdraw
// --key checks the withdrawal's receipt and says so (exit 1) rather than
// "signed". Through the node itself it says the signature was logged.
func TestPrivateWithdrawSignatureDropped(t *testing.T) {
	base, st, _ := demoNode(t)
	a := st.Members[0]
	target, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	old := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodDelete {
			// Read whole first: the server reads what a handler left of
			// a body, and a body replaced unread raced with that read.
			io.Copy(io.Discard, r.Body)
			r.Body, r.ContentLength = http.NoBody, 0
			r.Header.Del("Content-Type")
		}
		proxy.ServeHTTP(w, r)
	}))
	defer old.Close()
	work := t.TempDir()
	for _, via := range []struct {
		name, url, want string
		code            int
	}{
		{"the node", base, "the node logged your signed withdrawal", 0},
		{"a node that drops the signature", old.URL, "withdrawn unsigned", 1},
	} {
		set := publishPrivateSet(t, base, a.Token, st.Collections.Shared, "domain-name:ballot-phish.example\n")
		code, _, stderr := runCLI(t, "private", "withdraw", "--url", via.url, "--token", a.Token, "--set", set, "--key", a.KeyFile, "--seen", filepath.Join(work, "seen.json"))
		if code != via.code || !strings.Contains(stderr, via.want) {
			t.Errorf("%s: exit %d (want %d): %s; want %q", via.name, code, via.code, stderr, via.want)
		}
	}
}
