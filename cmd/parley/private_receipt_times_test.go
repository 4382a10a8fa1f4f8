package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/parley-exchange/parley/internal/node"
	"github.com/parley-exchange/parley/private"
	"github.com/parley-exchange/parley/tlog"
)

// TestPrivateReceiptWithdrawalTimes: under a witness policy, parley
// private receipt (online, and offline with --file) and parley verify
// check a withdrawn set's receipt's entry times against its checkpoints'
// cosignatures, as parley verify --receipt does: a withdrawal logged as
// of two hours after its key entry, in a tree the witness cosigned one
// hour after the key entry (the node's clock set so), is post-dated and refused with exit 1
// naming the withdrawal entry; the same receipt cosigned after the
// withdrawal passes. Before, private receipt checked only the quorum
// (and with --file not even that), and showed the post-dated time as the
// withdrawal's. A receipt no policy witness cosigned lacks the quorum
// (exit 1), with --file too.
func TestPrivateReceiptWithdrawalTimes(t *testing.T) {
	dir, st := demoData(t)
	// The node's clock is right, then (for the withdrawal) two hours
	// ahead: a node's clock that went back would wait for it to
	// integrate.
	base := time.Now()
	var ahead atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	n, err := node.Open(ctx, dir, node.Options{Now: func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }})
	if err != nil {
		t.Fatal(err)
	}
	nodeURL := serveOpened(t, ctx, cancel, n)
	a, b := st.Members[0], st.Members[1]
	logKey := nodeLogKey(t, dir)
	v, err := tlog.NewVerifier(logKey)
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	set := publishPrivateSet(t, nodeURL, a.Token, st.Collections.Shared, "domain-name:ballot-phish.example\n")
	ahead.Store(int64(2 * time.Hour))
	if code, _, stderr := runCLI(t, "private", "withdraw", "--url", nodeURL, "--token", a.Token, "--set", set); code != 0 {
		t.Fatalf("withdraw: exit %d: %s", code, stderr)
	}
	seen := filepath.Join(work, "seen.json")
	if code, _, stderr := runCLI(t, "private", "receipt", "--url", nodeURL, "--token", b.Token, "--set", set, "--seen", seen, "--log-key", logKey); code != 0 {
		t.Fatalf("receipt: exit %d: %s", code, stderr)
	}
	kept, _ := filepath.Glob(filepath.Join(work, "seen.receipts", set+"-*.withdrawn.json"))
	if len(kept) != 1 {
		t.Fatalf("kept: %v", kept)
	}
	raw, err := os.ReadFile(kept[0])
	if err != nil {
		t.Fatal(err)
	}
	saved, err := private.ParseSavedReceipt(raw)
	if err != nil {
		t.Fatal(err)
	}
	keyEntry, err := tlog.ParseEntry(saved.Receipt.Entry)
	if err != nil {
		t.Fatal(err)
	}
	wEntry, err := tlog.ParseEntry(saved.Receipt.Withdrawal.Entry)
	if err != nil {
		t.Fatal(err)
	}
	if !keyEntry.Received.Before(base.Add(10*time.Minute)) || wEntry.Received.Before(base.Add(2*time.Hour)) {
		t.Fatalf("the node's clock wasn't used: key entry received %s, withdrawal %s", keyEntry.Received, wEntry.Received)
	}

	wskey, wvkey, err := tlog.NewCosignerKey(rand.Reader, "witness.test/w")
	if err != nil {
		t.Fatal(err)
	}
	witness, err := tlog.ParseCosignerKey(wskey, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	policy := filepath.Join(work, "policy")
	if err := os.WriteFile(policy, []byte("witness w "+wvkey+"\nquorum w\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cosign := func(n string, at time.Time) string {
		t.Helper()
		parsed, err := note.Open([]byte(n), note.VerifierList(v))
		if err != nil {
			t.Fatal(err)
		}
		b, err := note.Sign(parsed, witness.At(at))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	cosigned := func(rc private.KeyReceipt, at time.Time) private.KeyReceipt {
		w := *rc.Withdrawal
		rc.Checkpoint, w.Checkpoint = cosign(rc.Checkpoint, at), cosign(w.Checkpoint, at)
		rc.Withdrawal = &w
		return rc
	}
	honest, postdated := wEntry.Received.Add(time.Minute), base.Add(time.Hour)
	write := func(name string, at time.Time) string {
		t.Helper()
		s := saved
		s.Receipt = cosigned(saved.Receipt, at)
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(work, name+".json")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	// A receipt no policy witness cosigned lacks the quorum.
	for _, args := range [][]string{
		{"private", "receipt", "--file", kept[0], "--log-key", logKey, "--witness-policy", policy},
		{"verify", "--log-key", logKey, "--witness-policy", policy, kept[0]},
	} {
		if code, _, stderr := runCLI(t, args...); code != 1 || !strings.Contains(stderr, "witness policy") {
			t.Errorf("an uncosigned receipt: %s: exit %d: %s; want 1 for the missing quorum", strings.Join(args[:2], " "), code, stderr)
		}
	}
	wantEntry := fmt.Sprintf("entry %d", saved.Receipt.Withdrawal.LogIndex)
	for _, tc := range []struct {
		name string
		at   time.Time
		code int
	}{{"cosigned after the withdrawal", honest, 0}, {"cosigned before the withdrawal it holds", postdated, 1}} {
		file := write(strings.ReplaceAll(tc.name, " ", "-"), tc.at)
		for _, args := range [][]string{
			{"private", "receipt", "--file", file, "--log-key", logKey, "--witness-policy", policy},
			{"verify", "--log-key", logKey, "--witness-policy", policy, file},
		} {
			code, _, stderr := runCLI(t, args...)
			if code != tc.code || tc.code != 0 && !strings.Contains(stderr, wantEntry) {
				t.Errorf("%s: %s: exit %d: %s; want %d naming %s", tc.name, strings.Join(args[:2], " "), code, stderr, tc.code, wantEntry)
			}
		}
		// Without a policy nothing bounds the times.
		if code, _, stderr := runCLI(t, "private", "receipt", "--file", file, "--log-key", logKey); code != 0 {
			t.Errorf("%s: private receipt --file without a policy: exit %d: %s", tc.name, code, stderr)
		}

		// Online: a node serving the receipt with these cosignatures.
		var at atomic.Int64
		at.Store(tc.at.UnixNano())
		front := cosigningFront(t, nodeURL, func(rc private.KeyReceipt) private.KeyReceipt { return cosigned(rc, time.Unix(0, at.Load())) })
		code, _, stderr := runCLI(t, "private", "receipt", "--url", front, "--token", b.Token, "--set", set, "--seen", seen, "--log-key", logKey,
			"--receipts", filepath.Join(work, "online-"+strconv.Itoa(tc.code)), "--witness-policy", policy)
		if code != tc.code || tc.code != 0 && !strings.Contains(stderr, wantEntry) {
			t.Errorf("%s: private receipt --url: exit %d: %s; want %d naming %s", tc.name, code, stderr, tc.code, wantEntry)
		}
	}
}

// cosigningFront serves the node at nodeURL, with each withdrawn set's
// receipt (GET /private/sets/{id}/receipt) changed by edit.
func cosigningFront(t *testing.T, nodeURL string, edit func(private.KeyReceipt) private.KeyReceipt) string {
	t.Helper()
	target, err := url.Parse(nodeURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(resp *http.Response) error {
		if !strings.HasSuffix(resp.Request.URL.Path, "/receipt") || resp.StatusCode != http.StatusOK {
			return nil
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		var rc private.KeyReceipt
		if err := json.Unmarshal(b, &rc); err != nil {
			return err
		}
		if rc.Withdrawal != nil {
			if b, err = json.Marshal(edit(rc)); err != nil {
				return err
			}
		}
		resp.Body = io.NopCloser(bytes.NewReader(b))
		resp.ContentLength = int64(len(b))
		resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
		return nil
	}
	front := httptest.NewServer(proxy)
	t.Cleanup(front.Close)
	return front.URL
}
