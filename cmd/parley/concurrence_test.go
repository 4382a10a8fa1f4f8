package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/parley-exchange/parley/internal/demo"
	"github.com/parley-exchange/parley/internal/node"
	"github.com/parley-exchange/parley/opinion"
	"github.com/parley-exchange/parley/tlog"
)

// runCLI runs one parley command line in-process with empty stdin and no
// environment; it returns the exit status, stdout and stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return runCLIWithStdin(t, nil, args...)
}

// testConfigDirs holds each test's config directory (see runCLIWithStdin).
var testConfigDirs sync.Map

// runCLIWithStdin is [runCLI] with stdin reading the given bytes.
func runCLIWithStdin(t *testing.T, stdin []byte, args ...string) (int, string, string) {
	t.Helper()
	// Pinned log keys and seen checkpoints go to a config directory of the
	// test's own, never the user's.
	cfg, _ := testConfigDirs.LoadOrStore(t, t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", cfg.(string))
	var out, errb bytes.Buffer
	c := &cli{stdin: bytes.NewReader(stdin), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	code := c.main(context.Background(), args)
	return code, out.String(), errb.String()
}

// demoData sets up the demo's data in a temporary directory, not served,
// and returns the directory and the demo's state.
func demoData(t *testing.T) (string, demoState) {
	t.Helper()
	dir := t.TempDir()
	if code, _, stderr := runCLI(t, "demo", "--data", dir, "--listen", "127.0.0.1:0", "--no-serve"); code != 0 {
		t.Fatalf("demo: exit %d: %s", code, stderr)
	}
	var st demoState
	b, err := os.ReadFile(filepath.Join(dir, "demo", "demo.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	return dir, st
}

// nodeLogKey returns the log key (verifier key) of the node whose data
// directory is dir, as init wrote it to node.pub.
func nodeLogKey(t *testing.T, dir string) string {
	t.Helper()
	pub, err := os.ReadFile(filepath.Join(dir, "node.pub"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(pub))
}

// demoNode sets up the demo in a temporary directory, serves it on port 0
// and returns its URL and state.
func demoNode(t *testing.T) (string, demoState, string) {
	t.Helper()
	dir, st := demoData(t)
	ctx, cancel := context.WithCancel(context.Background())
	n, err := node.Open(ctx, dir, node.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return serveOpened(t, ctx, cancel, n), st, dir
}

// serveOpened serves n on a free loopback port until the test ends (then
// cancel stops it and n is closed) and returns its base URL.
func serveOpened(t *testing.T, ctx context.Context, cancel context.CancelFunc, n *node.Node) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- n.Serve(ctx, ln, nil) }()
	t.Cleanup(func() {
		cancel()
		<-done
		n.Close()
	})
	return "http://" + ln.Addr().String()
}

// serveData opens the node in dir and serves it as serveOpened does,
// until the test ends.
func serveData(t *testing.T, dir string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	n, err := node.Open(ctx, dir, node.Options{})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	return serveOpened(t, ctx, cancel, n)
}

// serveIntegrated is serveOpened once a checkpoint covers every entry
// logged so far (clients read member keys from /log/keys, proved in one).
func serveIntegrated(t *testing.T, ctx context.Context, cancel context.CancelFunc, n *node.Node) string {
	t.Helper()
	base := serveOpened(t, ctx, cancel, n)
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	if err := n.WaitIntegrated(wctx); err != nil {
		t.Fatal(err)
	}
	return base
}

// tamperingProxy forwards to target and lets tamper rewrite every answer
// of GET /concurrence: a node lying about the tally.
func tamperingProxy(t *testing.T, target string, tamper func(c *opinion.Concurrence)) string {
	t.Helper()
	u, _ := url.Parse(target)
	p := httputil.NewSingleHostReverseProxy(u)
	p.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.URL.Path != "/concurrence" || resp.StatusCode != http.StatusOK {
			return nil
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		var c opinion.Concurrence
		if err := json.Unmarshal(b, &c); err != nil {
			return err
		}
		tamper(&c)
		if b, err = json.Marshal(c); err != nil {
			return err
		}
		resp.Body = io.NopCloser(bytes.NewReader(b))
		resp.ContentLength = int64(len(b))
		resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
		return nil
	}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestConcurrenceCLI(t *testing.T) {
	base, st, _ := demoNode(t)
	aurelia, borovia := st.Members[0], st.Members[1]

	// The demo's members disagree on the attribution report.
	code, out, stderr := runCLI(t, "concurrence", "--url", base, "--token", aurelia.Token, demo.Report)
	if code != 0 {
		t.Fatalf("concurrence: exit %d: %s", code, stderr)
	}
	for _, re := range []string{
		`2 of 2 members with access have an opinion that counts`,
		`(?m)^strongly-agree\s+1\s+1`, `(?m)^disagree\s+1\s+1`, `(?m)^neutral\s+0\s+0`,
		`(?m)^cert-aurelia\s+strongly-agree\s+85`, `(?m)^cert-borovia\s+disagree\s+70`,
		`3 opinion versions in evidence: 2 counted, 1 superseded`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("concurrence output lacks %s:\n%s", re, out)
		}
	}

	// Every lie about the tally is caught, and the exit status says so.
	borovias := func(c *opinion.Concurrence) *opinion.Vote {
		for i := range c.Votes {
			if c.Votes[i].Member == borovia.ID {
				return &c.Votes[i]
			}
		}
		t.Fatal("no vote of cert-borovia")
		return nil
	}
	for _, tc := range []struct {
		name   string
		tamper func(c *opinion.Concurrence)
		want   string
	}{
		{"an inflated count", func(c *opinion.Concurrence) { c.Counts[opinion.StronglyAgree] = 17 }, "strongly-agree is claimed 17, the opinions give 1"},
		{"an invented member", func(c *opinion.Concurrence) {
			c.Counts[opinion.Agree]++
			c.Votes = append(c.Votes, opinion.Vote{Member: "identity--00000000-0000-4000-8000-000000000017", Value: opinion.Agree,
				OpinionID: "opinion--00000000-0000-4000-8000-000000000017", Version: "2026-09-17T09:10:00.000Z"})
			c.Voices++
		}, "no verified opinion of that member"},
		{"a dissent left out", func(c *opinion.Concurrence) {
			v := borovias(c)
			c.Counts[v.Value]--
			c.Votes = slicesDelete(c.Votes, v)
			c.Voices--
		}, "missing from the claimed opinions"},
		{"a superseded version counted", func(c *opinion.Concurrence) {
			v := borovias(c)
			c.Counts[opinion.Disagree]--
			c.Counts[opinion.Neutral]++
			v.Value, v.Version, v.Confidence = opinion.Neutral, "2026-09-17T09:10:00.000Z", new(40)
		}, "the opinions give disagree"},
		{"an evidence item repeated", func(c *opinion.Concurrence) {
			c.Evidence.Items = append(c.Evidence.Items, c.Evidence.Items[0])
		}, "repeats log entry"},
		{"evidence rewritten", func(c *opinion.Concurrence) {
			for i, it := range c.Evidence.Items {
				c.Evidence.Items[i].Object = bytes.Replace(it.Object, []byte(`"disagree"`), []byte(`"agree"`), 1)
			}
		}, "evidence doesn't verify"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			proxy := tamperingProxy(t, base, tc.tamper)
			code, out, stderr := runCLI(t, "concurrence", "--url", proxy, "--token", aurelia.Token, demo.Report)
			if code != 1 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit 1 and %q\n%s", code, stderr, tc.want, out)
			}
		})
	}
	// The evidence's order is the node's: reordered, the table still shows
	// the counted version's explanation, not a superseded one's.
	reordered := tamperingProxy(t, base, func(c *opinion.Concurrence) { slices.Reverse(c.Evidence.Items) })
	code, out, stderr = runCLI(t, "concurrence", "--url", reordered, "--token", aurelia.Token, demo.Report)
	if code != 0 || !regexp.MustCompile(`(?m)^cert-borovia\s+disagree\s+70\s+\S+\s+\S+\s+\S+\s+The relay 203\.0\.113\.45`).MatchString(out) {
		t.Errorf("with the evidence reordered: exit %d, want the counted version's explanation:\n%s%s", code, out, stderr)
	}
	// Names are the node's word: swapped, with a terminal escape and a tab
	// that would shift the columns, they can't move an opinion to another
	// member: each row shows the member id the signature verified, and the
	// name is printed inert.
	renamed := tamperingProxy(t, base, func(c *opinion.Concurrence) {
		c.Evidence.Names[borovia.ID] = "cert-aurelia\x1b[31m\tstrongly-agree\t99"
		c.Evidence.Names[aurelia.ID] = "cert-borovia"
	})
	code, out, stderr = runCLI(t, "concurrence", "--url", renamed, "--token", aurelia.Token, demo.Report)
	if code != 0 || strings.ContainsAny(out, "\x1b\t") ||
		!regexp.MustCompile(`(?m)^\S+\s+disagree\s+70\s+\S+\s+`+regexp.QuoteMeta(borovia.ID)+`\s`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^cert-borovia\s+strongly-agree\s+85\s+\S+\s+`+regexp.QuoteMeta(aurelia.ID)+`\s`).MatchString(out) {
		t.Errorf("with the names swapped and an escape in one: exit %d, want each row with its verified member id and no escape or tab:\n%q%s", code, out, stderr)
	}
	// An honest answer through the same proxy passes.
	proxy := tamperingProxy(t, base, func(*opinion.Concurrence) {})
	if code, _, stderr := runCLI(t, "concurrence", "--url", proxy, "--token", aurelia.Token, demo.Report); code != 0 {
		t.Errorf("through an honest proxy: exit %d: %s", code, stderr)
	}
	// A log key other than the node's is refused.
	if code, _, stderr := runCLI(t, "concurrence", "--url", base, "--token", aurelia.Token, "--log-key", "other.example+01234567+AQ", demo.Report); code != 1 || !strings.Contains(stderr, "pinned key") {
		t.Errorf("with a wrong --log-key: exit %d: %s", code, stderr)
	}
	// --json prints the verified answer.
	code, out, _ = runCLI(t, "concurrence", "--url", base, "--token", borovia.Token, "--json", demo.Attribution)
	var c opinion.Concurrence
	if code != 0 || json.Unmarshal([]byte(out), &c) != nil || c.Voices != 2 || c.Object != demo.Attribution {
		t.Errorf("--json: exit %d: %s", code, out)
	}
}

func slicesDelete(vs []opinion.Vote, v *opinion.Vote) []opinion.Vote {
	var out []opinion.Vote
	for i := range vs {
		if &vs[i] != v {
			out = append(out, vs[i])
		}
	}
	return out
}

// TestOpinionCLIErrors checks that bad input is a usage error (exit 2)
// with a clear message, before anything is posted.
func TestOpinionCLIErrors(t *testing.T) {
	base, st, _ := demoNode(t)
	a := st.Members[0]
	dir := t.TempDir()
	if code, _, stderr := runCLI(t, "keygen", "--out", filepath.Join(dir, "eve.key")); code != 0 {
		t.Fatal(stderr)
	}
	common := []string{"--url", base, "--token", a.Token}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"opinion", "--key", a.KeyFile, demo.Report, "maybe"}, 2, "not one of strongly-disagree"},
		{[]string{"opinion", "--key", a.KeyFile, demo.Report}, 2, "opinion needs"},
		{[]string{"opinion", "--key", a.KeyFile, "--revoke", demo.Report, "agree"}, 2, "opinion --revoke needs"},
		{[]string{"opinion", "--key", a.KeyFile, "--confidence", "101", demo.Report, "agree"}, 2, "confidence must be from 0 to 100"},
		{[]string{"opinion", "--key", filepath.Join(dir, "eve.key"), demo.Report, "agree"}, 2, "no member has the public key of --key registered in the log up to its checkpoint of size 28\nparley: hint: register it with parley member add --pubkey, or name your identity with --as; a key registered or rotated in moments ago is listed once the node's next checkpoint covers it"},
		{[]string{"opinion", "--key", filepath.Join(dir, "nope.key"), demo.Report, "agree"}, 2, "couldn't read the private key"},
		{[]string{"opinion", "--key", a.KeyFile, "report--00000000-0000-4000-8000-0000000000ff", "agree"}, 4, "knows no object"},
		{[]string{"concurrence"}, 2, "concurrence needs"},
		{[]string{"concurrence", demo.Report, demo.Attribution}, 2, "concurrence needs"},
		{[]string{"concurrence", "not-an-id"}, 2, "OBJECT_ID must be a STIX id"},
		{[]string{"opinion", "--key", a.KeyFile, "not-an-id", "agree"}, 2, "OBJECT_ID must be a STIX id"},
	} {
		args := append([]string{tc.args[0]}, append(append([]string(nil), common...), tc.args[1:]...)...)
		code, _, stderr := runCLI(t, args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, %q; want exit %d and %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
	// Nothing was posted: the tally is the demo's.
	code, out, _ := runCLI(t, "concurrence", "--url", base, "--token", a.Token, demo.Report)
	if code != 0 || !strings.Contains(out, "3 opinion versions in evidence") {
		t.Errorf("after the refused commands: exit %d\n%s", code, out)
	}
}

// TestOpinionRetiredKey: parley opinion with a key its member rotated out
// or had revoked says so (and what to do) instead of telling the member
// to register the key, which the node refuses (a key belongs to one
// member); nothing is posted.
func TestOpinionRetiredKey(t *testing.T) {
	dir, st := demoData(t)
	a, b := st.Members[0], st.Members[1]
	newKey := filepath.Join(t.TempDir(), "new.key")
	if code, _, stderr := runCLI(t, "keygen", "--rotate", a.KeyFile, "--out", newKey); code != 0 {
		t.Fatal(stderr)
	}
	for _, args := range [][]string{
		{"member", "key", "rotate", "--data", dir, "--member", a.Name, "--pubkey", newKey + ".pub", "--statement", newKey + ".rotation"},
		{"member", "revoke", "--data", dir, "--member", b.Name, "--key-only"},
	} {
		if code, _, stderr := runCLI(t, args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	n, err := node.Open(ctx, dir, node.Options{})
	if err != nil {
		t.Fatal(err)
	}
	base := serveIntegrated(t, ctx, cancel, n)
	for _, tc := range []struct {
		m          demoMember
		want, hint string
	}{
		{a, "the key of --key was " + a.ID + "'s until its rotation at log entry", "sign with the key that replaced it"},
		{b, "the key of --key was " + b.ID + "'s until its revocation at log entry", "ask the operator to put a new key in force"},
	} {
		code, _, stderr := runCLI(t, "opinion", "--url", base, "--token", tc.m.Token, "--key", tc.m.KeyFile, demo.Report, "agree")
		if code != 2 || !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, tc.hint) || strings.Contains(stderr, "member add") {
			t.Errorf("%s's retired key: exit %d, %q; want exit 2, %q and %q", tc.m.Name, code, stderr, tc.want, tc.hint)
		}
	}
	code, out, _ := runCLI(t, "concurrence", "--url", base, "--token", a.Token, demo.Report)
	if code != 0 || !strings.Contains(out, "3 opinion versions in evidence") {
		t.Errorf("after the refused opinions: exit %d\n%s", code, out)
	}
}

// TestConcurrenceSeen checks --seen: the evidence's checkpoint must be
// consistent with the checkpoints seen before, and is recorded.
func TestConcurrenceSeen(t *testing.T) {
	base, st, dir := demoNode(t)
	a := st.Members[0]
	seenFile := filepath.Join(t.TempDir(), "seen.json")
	run := func() (int, string) {
		code, _, stderr := runCLI(t, "concurrence", "--url", base, "--token", a.Token, "--seen", seenFile, demo.Report)
		return code, stderr
	}
	if code, stderr := run(); code != 0 {
		t.Fatalf("first run: exit %d: %s", code, stderr)
	}
	seen, err := tlog.LoadSeen(seenFile)
	if err != nil || len(seen.Notes) != 1 || seen.Key == "" {
		t.Fatalf("seen file after the first run: %+v, %v", seen, err)
	}
	// The log grows (Borovia revokes its opinion): the new checkpoint must
	// be proved consistent with the one seen.
	b := st.Members[1]
	if code, _, stderr := runCLI(t, "opinion", "--url", base, "--token", b.Token, "--key", b.KeyFile, "--revoke", demo.Report); code != 0 {
		t.Fatalf("revoke: exit %d: %s", code, stderr)
	}
	if code, stderr := run(); code != 0 {
		t.Fatalf("after the log grew: exit %d: %s", code, stderr)
	}
	if seen, _ = tlog.LoadSeen(seenFile); len(seen.Notes) != 2 {
		t.Fatalf("seen file has %d checkpoints, want 2", len(seen.Notes))
	}
	// A checkpoint of the same size with another root, signed by the
	// node's key (a fork only the node can make) is caught.
	cp, err := tlog.ParseCheckpoint(mustSplit(t, seen.Notes[1]))
	if err != nil {
		t.Fatal(err)
	}
	signer := nodeSigner(t, dir)
	cp.Hash[0] ^= 1
	forked, err := tlog.SignCheckpoint(cp, signer)
	if err != nil {
		t.Fatal(err)
	}
	seen.Notes = append(seen.Notes, string(forked))
	if err := seen.Save(); err != nil {
		t.Fatal(err)
	}
	if code, stderr := run(); code != 1 || !strings.Contains(stderr, "forked") {
		t.Errorf("with a forked checkpoint seen: exit %d: %s", code, stderr)
	}
	// A smaller checkpoint seen before that the current tree doesn't
	// extend: history was rewritten.
	cp.Size--
	rewritten, err := tlog.SignCheckpoint(cp, signer)
	if err != nil {
		t.Fatal(err)
	}
	// A seen file of that checkpoint alone (Save would merge the file's
	// notes back in: a new file, written whole).
	if err := os.Remove(seenFile); err != nil {
		t.Fatal(err)
	}
	alone, err := tlog.LoadSeen(seenFile)
	if err != nil {
		t.Fatal(err)
	}
	alone.Key, alone.Notes = seen.Key, []string{string(rewritten)}
	if err := alone.Save(); err != nil {
		t.Fatal(err)
	}
	if code, stderr := run(); code != 1 || !strings.Contains(stderr, "aren't consistent") {
		t.Errorf("with an inconsistent smaller checkpoint seen: exit %d: %s", code, stderr)
	}
}

// nodeSigner is the log's note signer of the node in dir: a test makes
// with it what only the node can, such as a fork.
func nodeSigner(t *testing.T, dir string) note.Signer {
	t.Helper()
	skey, err := os.ReadFile(filepath.Join(dir, node.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(strings.TrimSpace(string(skey)))
	if err != nil {
		t.Fatal(err)
	}
	return signer
}

func mustSplit(t *testing.T, n string) []byte {
	t.Helper()
	text, err := tlog.SplitNote([]byte(n))
	if err != nil {
		t.Fatal(err)
	}
	return text
}

// TestOpinionRevokeAfterKeyRotation: an opinion signed before its member
// rotated its key still counts (the tally verifies each version with the
// key in force when it was logged), so `parley opinion --revoke` with the
// new key must withdraw it; it verified the member's versions with the
// new key alone, found none, and answered "you have no opinion".
func TestOpinionRevokeAfterKeyRotation(t *testing.T) {
	dir, st := demoData(t)
	aurelia, borovia := st.Members[0], st.Members[1]
	newKey := filepath.Join(t.TempDir(), "aurelia-2.key")
	if code, _, stderr := runCLI(t, "keygen", "--out", newKey); code != 0 {
		t.Fatalf("keygen: exit %d: %s", code, stderr)
	}
	pub, err := readPublicKey(newKey + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n, err := node.Open(ctx, dir, node.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.RotateKey(ctx, aurelia.ID, pub, nil); err != nil {
		t.Fatal(err)
	}
	// The rotation is in force for clients once a checkpoint covers it.
	base := serveIntegrated(t, ctx, cancel, n)

	// Her opinion, signed with the old key, still counts after the rotation.
	code, out, stderr := runCLI(t, "concurrence", "--url", base, "--token", borovia.Token, demo.Report)
	if code != 0 || !regexp.MustCompile(`(?m)^cert-aurelia\s+strongly-agree\s+85`).MatchString(out) {
		t.Fatalf("concurrence after the rotation: exit %d, want cert-aurelia's strongly-agree counted:\n%s%s", code, out, stderr)
	}
	code, out, stderr = runCLI(t, "opinion", "--url", base, "--token", aurelia.Token, "--key", newKey, "--revoke", demo.Report)
	if code != 0 || !strings.Contains(out, "withdrew your stance") {
		t.Fatalf("opinion --revoke with the new key: exit %d:\n%s%s", code, out, stderr)
	}
	code, out, stderr = runCLI(t, "concurrence", "--url", base, "--token", borovia.Token, demo.Report)
	if code != 0 || !strings.Contains(out, "1 of 2 members with access") || strings.Contains(out, "cert-aurelia  ") {
		t.Errorf("concurrence after the withdrawal: exit %d, want only cert-borovia's opinion:\n%s%s", code, out, stderr)
	}
}

// TestOpinionOutranksFutureDated: a member's opinion dated in the future
// (a clock ahead, or a stolen key's) would outrank every opinion `parley
// opinion` writes with the time now; the new one is dated just after it,
// so the stance given is the one that counts.
func TestOpinionOutranksFutureDated(t *testing.T) {
	base, st, _ := demoNode(t)
	borovia := st.Members[1]
	dir := t.TempDir()
	future := filepath.Join(dir, "future.json")
	os.WriteFile(future, []byte(`{"type": "opinion", "spec_version": "2.1", "id": "opinion--00000000-0000-4000-8000-000000002099",
 "created": "2099-01-01T00:00:00.000Z", "modified": "2099-01-01T00:00:00.000Z", "created_by_ref": "`+borovia.ID+`",
 "opinion": "strongly-disagree", "object_refs": ["`+demo.Report+`"]}`), 0o600)
	if code, _, stderr := runCLI(t, "push", "--url", base, "--token", borovia.Token, "--key", borovia.KeyFile, "--collection", st.Collections.Shared, future); code != 0 {
		t.Fatalf("push: exit %d: %s", code, stderr)
	}
	code, out, stderr := runCLI(t, "opinion", "--url", base, "--token", borovia.Token, "--key", borovia.KeyFile, demo.Report, "agree")
	if code != 0 || !strings.Contains(stderr, "dated 2099-01-01T00:00:00.000Z, later than now") || !strings.Contains(out, "version 2099-01-01T00:00:00.001Z") {
		t.Fatalf("opinion: exit %d:\n%s%s", code, out, stderr)
	}
	code, out, stderr = runCLI(t, "concurrence", "--url", base, "--token", borovia.Token, demo.Report)
	if code != 0 || !regexp.MustCompile(`(?m)^cert-borovia\s+agree\s`).MatchString(out) {
		t.Errorf("concurrence: exit %d, want cert-borovia's agree counted:\n%s%s", code, out, stderr)
	}
}

// TestOpinionDatedAtTheEndOfTime: an opinion dated at the last instant a
// STIX timestamp can name (a stolen key's, before its member rotated it)
// can't be outranked: no later version can be written, so `parley
// opinion` could never change the member's stance nor `--revoke`
// withdraw it, and it would count for good after the rotation. The node
// refuses a version of any object dated further ahead of its clock than
// node.MaxVersionAhead, so the member's next version always outranks; an
// indicator, a report and a relationship so dated are refused too.
func TestOpinionDatedAtTheEndOfTime(t *testing.T) {
	base, st, _ := demoNode(t)
	borovia := st.Members[1]
	last := filepath.Join(t.TempDir(), "last.json")
	os.WriteFile(last, []byte(`{"type": "opinion", "spec_version": "2.1", "id": "opinion--00000000-0000-4000-8000-000000009999",
 "created": "9999-12-31T23:59:59.999Z", "modified": "9999-12-31T23:59:59.999Z", "created_by_ref": "`+borovia.ID+`",
 "opinion": "strongly-disagree", "object_refs": ["`+demo.Report+`"]}`), 0o600)
	code, out, stderr := runCLI(t, "push", "--url", base, "--token", borovia.Token, "--key", borovia.KeyFile, "--collection", st.Collections.Shared, last)
	if code == 0 || !strings.Contains(out+stderr, "ahead of the node's clock") {
		t.Errorf("push of an opinion dated 9999-12-31T23:59:59.999Z: exit %d, want it refused as dated too far ahead:\n%s%s", code, out, stderr)
	}
	for i, body := range []string{
		`"type": "indicator", "id": "indicator--00000000-0000-4000-8000-000000009991", "pattern": "[ipv4-addr:value = '198.51.100.9']", "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z"`,
		`"type": "report", "id": "report--00000000-0000-4000-8000-000000009992", "name": "r", "published": "2026-01-01T00:00:00Z", "object_refs": ["` + demo.Report + `"]`,
		`"type": "relationship", "id": "relationship--00000000-0000-4000-8000-000000009993", "relationship_type": "related-to", "source_ref": "` + demo.Report + `", "target_ref": "` + demo.Report + `"`,
	} {
		f := filepath.Join(t.TempDir(), fmt.Sprintf("last%d.json", i))
		os.WriteFile(f, []byte(`{"spec_version": "2.1", "created": "2026-01-01T00:00:00.000Z", "modified": "9999-12-31T23:59:59.999Z", "created_by_ref": "`+borovia.ID+`", `+body+`}`), 0o600)
		code, out, stderr := runCLI(t, "push", "--url", base, "--token", borovia.Token, "--key", borovia.KeyFile, "--collection", st.Collections.Shared, f)
		if code == 0 || !strings.Contains(out+stderr, "ahead of the node's clock") {
			t.Errorf("push of %s modified 9999-12-31T23:59:59.999Z: exit %d, want it refused as dated too far ahead:\n%s%s", body[:30], code, out, stderr)
		}
	}
	code, out, stderr = runCLI(t, "opinion", "--url", base, "--token", borovia.Token, "--key", borovia.KeyFile, demo.Report, "agree")
	if code != 0 {
		t.Fatalf("opinion: exit %d:\n%s%s", code, out, stderr)
	}
	code, out, stderr = runCLI(t, "concurrence", "--url", base, "--token", borovia.Token, demo.Report)
	if code != 0 || !regexp.MustCompile(`(?m)^cert-borovia\s+agree\s`).MatchString(out) {
		t.Errorf("concurrence: exit %d, want cert-borovia's agree counted:\n%s%s", code, out, stderr)
	}
}

// TestOpinionKeyJustRotated: `parley opinion --key NEW` right after a key
// rotation, before a checkpoint covers it, doesn't fail with "no member
// has the public key": /log/keys says the node has entries its checkpoint
// doesn't cover yet, and the command says so and waits for the next
// checkpoint. (The node's integrator starts only once the first lookup
// was answered, so that lookup never sees the rotation.)
func TestOpinionKeyJustRotated(t *testing.T) {
	dir, st := demoData(t)
	aurelia := st.Members[0]
	newKey := filepath.Join(t.TempDir(), "aurelia-2.key")
	if code, _, stderr := runCLI(t, "keygen", "--out", newKey); code != 0 {
		t.Fatalf("keygen: exit %d: %s", code, stderr)
	}
	pub, err := readPublicKey(newKey + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n, err := node.Open(ctx, dir, node.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.RotateKey(ctx, aurelia.ID, pub, nil); err != nil {
		t.Fatal(err)
	}
	li, err := node.NewLogIntegrator(n, node.LogIntegratorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	integrating := make(chan error, 1)
	h := n.Handler(nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		if r.URL.Path == "/log/keys" {
			once.Do(func() { go func() { integrating <- li.Run(ctx) }() })
		}
	}))
	t.Cleanup(func() {
		srv.Close()
		cancel()
		once.Do(func() { integrating <- nil })
		<-integrating
		n.Close()
	})
	code, out, stderr := runCLI(t, "opinion", "--url", srv.URL, "--token", aurelia.Token, "--key", newKey, demo.Report, "disagree")
	if code != 0 || !strings.Contains(stderr, "waiting up to") {
		t.Fatalf("opinion with the key rotated in moments ago: exit %d, want 0 after a wait:\n%s%s", code, out, stderr)
	}
}

// TestConcurrenceKeyEntryLeftOut: `parley concurrence` refuses evidence
// that leaves out a member's later key entry (its own rotation, one the
// operator asserted, a key revocation, its revocation): with it left out
// an older key would look in force, and an opinion signed with it after
// the log ended it would count. Exit 1, saying which entry is missing;
// the honest answer still verifies.
func TestConcurrenceKeyEntryLeftOut(t *testing.T) {
	for _, kind := range []string{"member-signed rotation", "operator rotation", "key revocation", "member revocation"} {
		t.Run(kind, func(t *testing.T) {
			dir, st := demoData(t)
			aurelia, borovia := st.Members[0], st.Members[1]
			ctx, cancel := context.WithCancel(context.Background())
			n, err := node.Open(ctx, dir, node.Options{})
			if err != nil {
				t.Fatal(err)
			}
			newKey := filepath.Join(t.TempDir(), "aurelia-2.key")
			if code, _, stderr := runCLI(t, "keygen", "--out", newKey); code != 0 {
				t.Fatalf("keygen: exit %d: %s", code, stderr)
			}
			pub, err := readPublicKey(newKey + ".pub")
			if err != nil {
				t.Fatal(err)
			}
			switch kind {
			case "member-signed rotation":
				old, rerr := readPrivateKey(io.Discard, aurelia.KeyFile)
				if rerr != nil {
					t.Fatal(rerr)
				}
				err = n.RotateKey(ctx, aurelia.ID, pub, ed25519.Sign(old, tlog.RotationMessage(old.Public().(ed25519.PublicKey), pub)))
			case "operator rotation":
				err = n.RotateKey(ctx, aurelia.ID, pub, nil)
			case "key revocation":
				err = n.RevokeKey(ctx, aurelia.ID)
			case "member revocation":
				err = n.RevokeMember(ctx, aurelia.ID)
			}
			if err != nil {
				t.Fatal(err)
			}
			base := serveIntegrated(t, ctx, cancel, n)
			if code, out, stderr := runCLI(t, "concurrence", "--url", base, "--token", borovia.Token, demo.Report); code != 0 {
				t.Fatalf("honest concurrence: exit %d:\n%s%s", code, out, stderr)
			}
			// The node leaves aurelia's last key entry out of the evidence.
			lying := tamperingProxy(t, base, func(c *opinion.Concurrence) {
				last := -1
				for i, k := range c.Evidence.Keys {
					if e, _ := tlog.ParseEntry(k.Entry); e.Member == aurelia.ID {
						last = i
					}
				}
				c.Evidence.Keys = slices.Delete(c.Evidence.Keys, last, last+1)
			})
			code, out, stderr := runCLI(t, "concurrence", "--url", lying, "--token", borovia.Token, demo.Report)
			if code != 1 || !strings.Contains(stderr, "leaves out member key entry") || !strings.Contains(stderr, aurelia.ID) {
				t.Errorf("concurrence with aurelia's %s left out of the evidence: exit %d, want 1 naming the entry left out:\n%s%s", kind, code, out, stderr)
			}
		})
	}
}

// TestVerifyKeyIndex: `parley verify` refuses a bundle whose key index
// lists a member key entry the bundle leaves out (exit 1, naming it), and
// verifies a bundle without a key index, as an older node made them, with
// a warning that its key entries may not be all there are.
func TestVerifyKeyIndex(t *testing.T) {
	base, st, _ := demoNode(t)
	aurelia := st.Members[0]
	code, served, stderr := runCLI(t, "proof", "--url", base, "--token", aurelia.Token, demo.Report)
	if code != 0 {
		t.Fatalf("proof: exit %d: %s", code, stderr)
	}
	var b tlog.Bundle
	if err := json.Unmarshal([]byte(served), &b); err != nil {
		t.Fatal(err)
	}
	if b.KeyIndex == "" || strings.Contains(stderr, "no key index") {
		t.Fatalf("the node's bundle has no key index:\n%s%s", served, stderr)
	}
	dir := t.TempDir()
	write := func(name string, b tlog.Bundle) string {
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	honest := write("honest.json", b)
	if code, out, stderr := runCLI(t, "verify", "--log-key", b.LogKey, honest); code != 0 || strings.Contains(stderr, "no key index") {
		t.Fatalf("verify honest bundle: exit %d:\n%s%s", code, out, stderr)
	}
	old := b
	old.KeyIndex = ""
	if code, out, stderr := runCLI(t, "verify", "--log-key", b.LogKey, write("old.json", old)); code != 0 || !strings.Contains(stderr, "the bundle has no key index") {
		t.Errorf("verify a bundle without a key index: exit %d, want 0 with a warning:\n%s%s", code, out, stderr)
	}
	left := b
	left.Keys = slices.DeleteFunc(slices.Clone(b.Keys), func(k tlog.BundleKey) bool {
		e, _ := tlog.ParseEntry(k.Entry)
		return e.Member == aurelia.ID
	})
	if code, out, stderr := runCLI(t, "verify", "--log-key", b.LogKey, write("left.json", left)); code != 1 || !strings.Contains(stderr, "leaves out member key entry") {
		t.Errorf("verify a bundle leaving out aurelia's key entry: exit %d, want 1:\n%s%s", code, out, stderr)
	}
}

// TestConcurrenceOpinionsBeforeLatestVersion: an opinion names an object,
// not one of its versions, so the opinions agreeing with a report still
// count after its author changes what it says. `parley concurrence` names
// the counted opinions dated before the object's latest version.
func TestConcurrenceOpinionsBeforeLatestVersion(t *testing.T) {
	base, st, _ := demoNode(t)
	aurelia, borovia := st.Members[0], st.Members[1]
	const note = "counted opinion(s) are dated before the latest version of"
	code, out, stderr := runCLI(t, "concurrence", "--url", base, "--token", borovia.Token, demo.Report)
	if code != 0 || strings.Contains(out+stderr, note) {
		t.Fatalf("concurrence before the report changed: exit %d, want no note:\n%s%s", code, out, stderr)
	}
	var report map[string]any
	for _, b := range demo.Scenario(aurelia.ID, borovia.ID) {
		for _, raw := range b.Objects {
			var o map[string]any
			if err := json.Unmarshal(raw, &o); err != nil {
				t.Fatal(err)
			}
			if o["id"] == demo.Report {
				report = o
			}
		}
	}
	if report == nil {
		t.Fatalf("the demo has no %s", demo.Report)
	}
	report["modified"], report["name"] = "2026-09-20T00:00:00.000Z", "Ballot Phish 2026: attributed to someone else"
	raw, err := json.Marshal(report)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "report-v2.json")
	if err := os.WriteFile(file, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, "push", "--url", base, "--token", aurelia.Token, "--key", aurelia.KeyFile, "--collection", st.Collections.Shared, file); code != 0 {
		t.Fatalf("push: exit %d: %s", code, stderr)
	}
	code, out, stderr = runCLI(t, "concurrence", "--url", base, "--token", borovia.Token, demo.Report)
	if code != 0 || !strings.Contains(out, "note: 2 "+note) || !strings.Contains(out, "(2026-09-20T00:00:00.000Z, the node's word)") ||
		!regexp.MustCompile(`(?m)^note: .*\((cert-aurelia, cert-borovia|cert-borovia, cert-aurelia)\)$`).MatchString(out) {
		t.Errorf("concurrence after the report changed: exit %d, want both opinions named as dated before it:\n%s%s", code, out, stderr)
	}
}

// TestConcurrenceStaleCheckpoint: a node that answers from an old
// checkpoint leaves out every opinion version logged since (here Borovia's
// withdrawal) and every proof still verifies; `parley concurrence --seen`
// says so when it has seen a larger checkpoint of the log.
func TestConcurrenceStaleCheckpoint(t *testing.T) {
	base, st, _ := demoNode(t)
	a, b := st.Members[0], st.Members[1]
	seenFile := filepath.Join(t.TempDir(), "seen.json")
	var mu sync.Mutex
	var first *opinion.Concurrence
	replay := tamperingProxy(t, base, func(c *opinion.Concurrence) {
		mu.Lock()
		defer mu.Unlock()
		if first == nil {
			cc := *c
			first = &cc
		}
		*c = *first
	})
	const warning = "is older than one of this log seen before"
	code, out, stderr := runCLI(t, "concurrence", "--url", replay, "--token", a.Token, "--seen", seenFile, demo.Report)
	if code != 0 || strings.Contains(out+stderr, warning) {
		t.Fatalf("first answer: exit %d, want no warning:\n%s%s", code, out, stderr)
	}
	if code, _, stderr := runCLI(t, "opinion", "--url", base, "--token", b.Token, "--key", b.KeyFile, "--revoke", demo.Report); code != 0 {
		t.Fatalf("revoke: exit %d: %s", code, stderr)
	}
	if code, out, stderr := runCLI(t, "concurrence", "--url", base, "--token", a.Token, "--seen", seenFile, demo.Report); code != 0 || strings.Contains(out+stderr, warning) {
		t.Fatalf("the node's own answer: exit %d, want no warning:\n%s%s", code, out, stderr)
	}
	code, out, stderr = runCLI(t, "concurrence", "--url", replay, "--token", a.Token, "--seen", seenFile, demo.Report)
	if !strings.Contains(stderr, "parley: warning: the evidence's checkpoint (tree size ") || !strings.Contains(stderr, warning) {
		t.Errorf("the first answer replayed: exit %d, want the stale checkpoint named:\n%s%s", code, out, stderr)
	}
}

// TestConcurrenceRevokedObject: when the node says the object's latest
// version is revoked, parley concurrence says so in a warning line (and
// --json carries object_revoked, the warning on stderr), and parley
// opinion warns before posting; an object not revoked gets no warning.
func TestConcurrenceRevokedObject(t *testing.T) {
	base, st, _ := demoNode(t)
	aurelia, borovia := st.Members[0], st.Members[1]
	const warning = "is revoked: its author revoked it, so opinions agreeing with it vouch for a revoked object"
	code, out, stderr := runCLI(t, "concurrence", "--url", base, "--token", borovia.Token, demo.Report)
	if code != 0 || strings.Contains(out+stderr, warning) {
		t.Fatalf("concurrence on the report not revoked: exit %d, %s%s", code, out, stderr)
	}
	// A node that says so of an object not revoked is taken at its word
	// only: the log holds no revoked version to check it by.
	liar := tamperingProxy(t, base, func(c *opinion.Concurrence) { c.ObjectRevoked = true })
	code, out, stderr = runCLI(t, "concurrence", "--url", liar, "--token", borovia.Token, demo.Report)
	if code != 0 || !strings.Contains(out, warning) || !strings.Contains(out, "(the node's word, not checked against the log)") || strings.Contains(out, "checked: ") {
		t.Errorf("concurrence from a node that says the report is revoked: exit %d; want its word, unchecked:\n%s%s", code, out, stderr)
	}
	// Aurelia, the report's author, revokes it.
	var revoked map[string]any
	for _, b := range demo.Scenario(aurelia.ID, borovia.ID) {
		for _, raw := range b.Objects {
			var o map[string]any
			if err := json.Unmarshal(raw, &o); err != nil {
				t.Fatal(err)
			}
			if o["id"] == demo.Report {
				revoked = o
			}
		}
	}
	if revoked == nil {
		t.Fatalf("the demo has no %s", demo.Report)
	}
	revoked["modified"], revoked["revoked"] = "2026-09-20T00:00:00.000Z", true
	raw, err := json.Marshal(revoked)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "revoked.json")
	if err := os.WriteFile(file, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, "push", "--url", base, "--token", aurelia.Token, "--key", aurelia.KeyFile, "--collection", st.Collections.Shared, file); code != 0 {
		t.Fatalf("push: exit %d: %s", code, stderr)
	}
	code, out, stderr = runCLI(t, "concurrence", "--url", base, "--token", borovia.Token, demo.Report)
	if code != 0 || !regexp.MustCompile(`(?m)^WARNING: the node says the latest version of `+demo.Report+` \(version 2026-09-20T00:00:00(\.000)?Z\) `+warning+`.*\(checked: its revoked version 2026-09-20T00:00:00(\.000)?Z is in the log at entry \d+, signed by its author `+aurelia.ID+`\)$`).MatchString(out) {
		t.Errorf("concurrence on the revoked report: exit %d; want a warning line:\n%s%s", code, out, stderr)
	}
	code, out, stderr = runCLI(t, "concurrence", "--url", base, "--token", borovia.Token, "--json", demo.Report)
	var conc opinion.Concurrence
	if err := json.Unmarshal([]byte(out), &conc); code != 0 || err != nil || !conc.ObjectRevoked || !strings.Contains(out, `"object_revoked": true`) || !strings.Contains(stderr, warning) || !strings.Contains(stderr, "(checked: its revoked version") {
		t.Errorf("concurrence --json on the revoked report: exit %d, %v; want object_revoked and a warning on stderr:\n%s%s", code, err, out, stderr)
	}
	code, out, stderr = runCLI(t, "opinion", "--url", base, "--token", borovia.Token, "--key", borovia.KeyFile, demo.Report, "strongly-disagree")
	if code != 0 || !strings.Contains(stderr, "parley: warning: the node says the latest version of "+demo.Report) || !strings.Contains(stderr, "your opinion is posted all the same") || !strings.Contains(out, "strongly-disagree on "+demo.Report) {
		t.Errorf("opinion on the revoked report: exit %d; want it posted with a warning:\n%s%s", code, out, stderr)
	}
}
