package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/parley-exchange/parley/tlog"
)

// nodeInvocation is one invocation of every client command that talks to
// a node, by command (and subcommand) name as registered: each is run
// against a node that shows another log, or one inconsistent with the
// seen file, by TestEveryNodeCommandChecksTheLog. A command's every way
// of reaching a node (match --url, match --push) is one invocation.
// args gets the node's URL and the seen file to use.
type nodeInvocation struct {
	name string
	args func(u, seen string) []string
	// sends is whether it sends the node the member's objects (push,
	// import, private publish and withdraw, opinion, match --push): such
	// a command takes the witness policy flags too, and is run against a
	// checkpoint short of their quorum.
	sends bool
}

// localCommands are the registered commands that don't talk to a node as
// its client, and why. A command in neither list fails the test: a new
// command must say which it is.
var localCommands = map[string]string{
	"backup":            "a node's own data directory",
	"restore":           "a node's own data directory (restore --seen checks a seen file offline)",
	"collection":        "operator command on the node's data directory",
	"collection add":    "operator command on the node's data directory",
	"collection grant":  "operator command on the node's data directory",
	"collection revoke": "operator command on the node's data directory",
	"demo":              "makes a demo node's data directory",
	"feed":              "operator command: the node follows a TAXII server",
	"feed add":          "operator command: the node follows a TAXII server",
	"feed status":       "operator command on the node's data directory",
	"feed poll":         "operator command on the node's data directory",
	"hash":              "local files",
	"init":              "makes a node's data directory",
	"keygen":            "local key files",
	"member":            "operator command on the node's data directory",
	"member add":        "operator command on the node's data directory",
	"member key":        "operator command on the node's data directory",
	"member revoke":     "operator command on the node's data directory",
	"member token":      "operator command on the node's data directory",
	"member remove":     "operator command on the node's data directory",
	"migrate":           "a node's store",
	"pattern":           "local patterns",
	"pattern check":     "local patterns",
	"pattern match":     "local patterns",
	"peer":              "operator command: the node follows a peer's log (internal/peer checks it)",
	"peer add":          "operator command: the node follows a peer's log (internal/peer checks it)",
	"peer status":       "operator command on the node's data directory",
	"serve":             "runs a node",
	"sign":              "local files",
	"verify":            "checks a bundle offline",
	"version":           "prints the version",
	"witness":           "runs a witness",
	"witness init":      "makes a witness's data directory",
	"witness serve":     "runs a witness",
	// audit checks the whole log, its own way (TestAudit*).
	"audit": "checks the log itself: its own test suite",
}

// TestEveryNodeCommandChecksTheLog: every client command that talks to
// a node, found from the command registry, refuses a node whose log isn't
// the one pinned in the seen file (its checkpoint signed by another key:
// exit 4, as pull and push always did), whose checkpoint is inconsistent
// with a checkpoint of the pinned log in the seen file (a fork: exit 1),
// and a seen file that holds a forged checkpoint of the log (exit 1,
// reportSeenFaults), before it sends the node anything (no POST) or
// prints anything from it. Sending commands were checked apart from
// readers and missed the forged checkpoint, match --url and export --url
// the fork, concurrence and private sets fetched before any check.
func TestEveryNodeCommandChecksTheLog(t *testing.T) {
	baseA, stA, dirA := demoNode(t)
	baseB, stB, _ := demoNode(t)
	m, other := stA.Members[0], stB.Members[0]
	coll := stA.Collections.Shared
	targetA, err := url.Parse(baseA)
	if err != nil {
		t.Fatal(err)
	}
	targetB, err := url.Parse(baseB)
	if err != nil {
		t.Fatal(err)
	}
	toA, toB := httputil.NewSingleHostReverseProxy(targetA), httputil.NewSingleHostReverseProxy(targetB)
	// lie: node B's /log/* at A's address (another log, another key).
	var lie atomic.Bool
	var posts atomic.Int32
	// asked: the requests for anything but the log (objects, sets,
	// collections, tallies), with their paths: a command whose check
	// fails asks the node for nothing else.
	var asked atomic.Int32
	var askedMu sync.Mutex
	var askedPaths []string
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			posts.Add(1)
		}
		if !strings.HasPrefix(r.URL.Path, "/log/") {
			asked.Add(1)
			askedMu.Lock()
			askedPaths = append(askedPaths, r.Method+" "+r.URL.Path)
			askedMu.Unlock()
		}
		if lie.Load() && strings.HasPrefix(r.URL.Path, "/log/") {
			r.Header.Set("Authorization", "Bearer "+other.Token)
			toB.ServeHTTP(w, r)
			return
		}
		toA.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)

	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ind := write("ind.json", `{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56e","objects":[{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd40","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","created_by_ref":"`+m.ID+`","pattern":"[domain-name:value = 'evil.example']","pattern_type":"stix","valid_from":"2020-01-01T00:00:00Z"}]}`)
	dnsLog := write("dns.log", `{"ts":1591367999.306059,"uid":"C1","id.orig_h":"192.168.4.76","id.orig_p":36844,"id.resp_h":"192.168.4.1","id.resp_p":53,"proto":"udp","query":"evil.example","answers":["203.0.113.66"]}`+"\n")
	iocs := write("iocs.txt", "evil.example\n")
	csv := write("iocs.csv", "evil.example,domain\n")
	event := write("event.json", `{"Event":{"uuid":"5f0c8d3e-2a1b-4c3d-9e8f-0a1b2c3d4e5f","info":"test","date":"2026-01-01","timestamp":"1767225600","Attribute":[{"uuid":"6a0c8d3e-2a1b-4c3d-9e8f-0a1b2c3d4e5f","type":"domain","category":"Network activity","to_ids":true,"value":"evil.example","timestamp":"1767225600"}]}}`)
	values := write("values.txt", "domain-name:evil.example\n")
	tokenFile := write("alice.json", `{"id":"`+m.ID+`","token":"`+m.Token+`"}`)
	const setID = "pset--00000000-0000-4000-8000-000000000000"
	const object = "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd40"
	// The key of a peer's log (proof --peer-collection checks the node's
	// own log with the key pinned for it).
	_, peerKey, err := note.GenerateKey(rand.Reader, "peer.example")
	if err != nil {
		t.Fatal(err)
	}

	tok := []string{"--token-file", tokenFile}
	with := func(base []string, more ...string) func(u, seen string) []string {
		return func(u, seen string) []string {
			a := append([]string{}, base...)
			a = append(a, "--url", u, "--seen", seen)
			a = append(a, tok...)
			return append(a, more...)
		}
	}
	invocations := []nodeInvocation{
		{"pull", with([]string{"pull", "--collection", coll}), false},
		{"push", with([]string{"push", "--key", m.KeyFile, "--collection", coll}, ind), true},
		{"match", with([]string{"match", "--collection", coll}, dnsLog), false},
		{"match", with([]string{"match", "--collection", coll, "--indicators", ind, "--push", "--key", m.KeyFile}, dnsLog), true},
		{"export", with([]string{"export", "--format", "zeek-intel", "--collection", coll}), false},
		{"export", with([]string{"export", "--format", "misp-feed", "--collection", coll, "--out", filepath.Join(dir, "feed")}), false},
		{"import", with([]string{"import", "iocs", "--key", m.KeyFile, "--collection", coll}, iocs), true},
		{"import iocs", with([]string{"import", "iocs", "--key", m.KeyFile, "--collection", coll}, iocs), true},
		{"import csv", with([]string{"import", "csv", "--columns", "value,type", "--key", m.KeyFile, "--collection", coll}, csv), true},
		{"import misp", with([]string{"import", "misp", "--key", m.KeyFile, "--collection", coll}, event), true},
		{"private", with([]string{"private", "publish", "--collection", coll, "--values", values}), true},
		{"private publish", with([]string{"private", "publish", "--collection", coll, "--values", values}), true},
		{"private check", with([]string{"private", "check", "--set", setID}, values), false},
		{"private sets", with([]string{"private", "sets"}), false},
		{"private withdraw", with([]string{"private", "withdraw", "--set", setID, "--key", m.KeyFile}), true},
		// Unsigned: nothing names the log, and it is checked all the same.
		{"private withdraw", with([]string{"private", "withdraw", "--set", setID}), true},
		{"private receipt", with([]string{"private", "receipt", "--set", setID}), false},
		{"opinion", with([]string{"opinion", "--key", m.KeyFile, "--as", m.ID}, object, "agree"), true},
		{"concurrence", with([]string{"concurrence"}, object), false},
		// proof took --log-key only, and no seen file: its bundle was
		// checked with the key alone (or the one it carried), never
		// against the checkpoints seen before.
		{"proof", with([]string{"proof"}, object), false},
		{"proof", with([]string{"proof", "--log-key", peerKey, "--peer-collection", coll}, object), false},
	}

	// Every registered command and subcommand is either run below or
	// said to be local.
	covered := map[string]bool{}
	for _, inv := range invocations {
		covered[inv.name] = true
	}
	var names []string
	for name, cmd := range commands {
		names = append(names, name)
		for _, sub := range cmd.subcommands {
			names = append(names, name+" "+sub.name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		_, local := localCommands[name]
		switch {
		case covered[name] && local:
			t.Errorf("%q is both run against a node and said to be local", name)
		case !covered[name] && !local:
			t.Errorf("command %q is new: add it to the invocations (it talks to a node) or to localCommands with why not", name)
		}
	}
	for name := range covered {
		if _, ok := commands[strings.Fields(name)[0]]; !ok {
			t.Errorf("%q is run but no longer registered", name)
		}
	}

	// The seen file of A's log, with its checkpoint (pull --proofs, honest).
	honest := filepath.Join(dir, "honest.seen")
	if code, _, stderr := runCLI(t, "pull", "--proofs", "--url", front.URL, "--token", m.Token, "--collection", coll, "--seen", honest); code != 0 {
		t.Fatalf("pull: exit %d: %s", code, stderr)
	}
	// A fork: a checkpoint of A's log, signed by A's key, of size 1 and
	// a root that isn't the log's (A's log holds more than one entry).
	forked := filepath.Join(dir, "forked.seen")
	{
		skey, err := os.ReadFile(filepath.Join(dirA, "node.key"))
		if err != nil {
			t.Fatal(err)
		}
		signer, err := note.NewSigner(strings.TrimSpace(string(skey)))
		if err != nil {
			t.Fatal(err)
		}
		hs, err := tlog.LoadSeen(honest)
		if err != nil {
			t.Fatal(err)
		}
		v, err := tlog.NewVerifier(hs.Key)
		if err != nil {
			t.Fatal(err)
		}
		n, err := note.Sign(&note.Note{Text: string(tlog.Checkpoint{Origin: v.Name(), Size: 1, Hash: tlog.Hash{1, 2, 3}}.Marshal())}, signer)
		if err != nil {
			t.Fatal(err)
		}
		fs, err := tlog.LoadSeen(forked)
		if err != nil {
			t.Fatal(err)
		}
		fs.Key = hs.Key
		if err := fs.CheckConsistent(context.Background(), n, v, nil); err != nil {
			t.Fatal(err)
		}
		if err := fs.Save(); err != nil {
			t.Fatal(err)
		}
	}
	// A log gone back: the seen file holds a checkpoint of A's log,
	// signed by A's key, larger than any A serves, which A can't prove
	// its latest checkpoint a prefix of (a node restored from an older
	// backup).
	behind := filepath.Join(dir, "behind.seen")
	{
		skey, err := os.ReadFile(filepath.Join(dirA, "node.key"))
		if err != nil {
			t.Fatal(err)
		}
		signer, err := note.NewSigner(strings.TrimSpace(string(skey)))
		if err != nil {
			t.Fatal(err)
		}
		hs, err := tlog.LoadSeen(honest)
		if err != nil {
			t.Fatal(err)
		}
		n, err := note.Sign(&note.Note{Text: string(tlog.Checkpoint{Origin: signer.Name(), Size: 1 << 20, Hash: tlog.Hash{4, 5, 6}}.Marshal())}, signer)
		if err != nil {
			t.Fatal(err)
		}
		hs.Notes = append(hs.Notes, string(n))
		b, err := json.Marshal(struct {
			Key   string   `json:"key"`
			Notes []string `json:"checkpoints"`
		}{hs.Key, hs.Notes})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(behind, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	behindSeen, err := os.ReadFile(behind)
	if err != nil {
		t.Fatal(err)
	}
	honestSeen, err := os.ReadFile(honest)
	if err != nil {
		t.Fatal(err)
	}
	forkedSeen, err := os.ReadFile(forked)
	if err != nil {
		t.Fatal(err)
	}

	// A seen file changed by hand: the log's signature line under another
	// size, as TestSeenFileForgedEveryReader forges it.
	var changedSeen []byte
	{
		hs, err := tlog.LoadSeen(honest)
		if err != nil {
			t.Fatal(err)
		}
		var n string
		for _, have := range hs.Notes {
			if !strings.HasPrefix(have, "parley-key-index") {
				n = have
			}
		}
		text, sigs, _ := strings.Cut(n, "\n\n")
		lines := strings.Split(text, "\n")
		if n == "" || len(lines) < 3 {
			t.Fatalf("the seen file pull wrote holds no checkpoint: %q", hs.Notes)
		}
		forgery := lines[0] + "\n99\n" + lines[2] + "\n\n" + sigs
		if changedSeen, err = json.Marshal(struct {
			Key   string   `json:"key"`
			Notes []string `json:"checkpoints"`
		}{hs.Key, append(hs.Notes, forgery)}); err != nil {
			t.Fatal(err)
		}
	}

	cases := []struct {
		name string
		seen []byte
		lie  bool
		code int
		says string
	}{
		{"another log at the address", honestSeen, true, 4, "another log"},
		{"a fork of the pinned log", forkedSeen, false, 1, "forked"},
		{"a seen file changed by hand", changedSeen, false, 1, "the seen file was changed"},
		{"a log gone back", behindSeen, false, 4, "the log went back"},
	}
	for _, tc := range cases {
		lie.Store(tc.lie)
		for i, inv := range invocations {
			seen := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+"-"+strings.ReplaceAll(inv.name, " ", "-")+"-"+string(rune('a'+i))+".seen")
			if err := os.WriteFile(seen, tc.seen, 0o600); err != nil {
				t.Fatal(err)
			}
			args := inv.args(front.URL, seen)
			before, askedBefore := posts.Load(), asked.Load()
			askedMu.Lock()
			pathsBefore := len(askedPaths)
			askedMu.Unlock()
			code, stdout, stderr := runCLI(t, args...)
			if code != tc.code || !strings.Contains(stderr, tc.says) {
				t.Errorf("%s: parley %s: exit %d, want %d saying %q: %s", tc.name, strings.Join(args[:2], " "), code, tc.code, tc.says, stderr)
			}
			if n := asked.Load() - askedBefore; n != 0 {
				askedMu.Lock()
				t.Errorf("%s: parley %s: asked the node for more than its log: %q", tc.name, strings.Join(args[:2], " "), askedPaths[pathsBefore:])
				askedMu.Unlock()
			}
			if n := posts.Load() - before; n != 0 {
				t.Errorf("%s: parley %s: the node got %d POSTs", tc.name, strings.Join(args[:2], " "), n)
			}
			if stdout != "" {
				t.Errorf("%s: parley %s: printed %q", tc.name, strings.Join(args[:2], " "), stdout)
			}
		}
	}

	// A checkpoint without the cosignatures the witness policy flags
	// require: every sending command refuses to send to the node (exit
	// 1), as the readers refuse to use it. Sending commands took no
	// policy flags. Readers checked theirs on the checkpoints their
	// objects were proved against, after asking the node for them
	// (pull, concurrence, proof): they check the node's latest
	// checkpoint against it first, as the senders do.
	lie.Store(false)
	_, wkey, err := tlog.NewCosignerKey(rand.Reader, "witness.example/w")
	if err != nil {
		t.Fatal(err)
	}
	sending := 0
	for i, inv := range invocations {
		switch inv.name {
		case "private sets":
			continue // no policy flags: it lists, and checks the recorded policy (below)
		case "private check", "private receipt":
			// Their policy flags are the set receipt's checkpoint's,
			// an older one than the node's latest, cosigned when the
			// latest may not be yet: they read the receipt first
			// (TestPrivateReceiptWithdrawalTimes).
			continue
		}
		if slices.Contains(inv.args("", ""), "--peer-collection") {
			continue // the policy flags are of the peer's log, which its bundle is checked against
		}
		if inv.sends {
			sending++
		}
		seen := filepath.Join(dir, "quorum-"+strings.ReplaceAll(inv.name, " ", "-")+"-"+string(rune('a'+i))+".seen")
		if err := os.WriteFile(seen, honestSeen, 0o600); err != nil {
			t.Fatal(err)
		}
		args := inv.args(front.URL, seen)
		at := slices.Index(args, "--url")
		args = slices.Insert(args, at, "--witness", wkey, "--witness-quorum", "1")
		before, askedBefore := posts.Load(), asked.Load()
		code, stdout, stderr := runCLI(t, args...)
		if n := asked.Load() - askedBefore; n != 0 {
			t.Errorf("a checkpoint short of the quorum: parley %s: asked the node %d times for more than its log", strings.Join(args[:2], " "), n)
		}
		if code != 1 || !strings.Contains(stderr, "the witness policy requires") {
			t.Errorf("a checkpoint short of the quorum: parley %s: exit %d, want 1 saying the witness policy requires more: %s", strings.Join(args[:2], " "), code, stderr)
		}
		if n := posts.Load() - before; n != 0 {
			t.Errorf("a checkpoint short of the quorum: parley %s: the node got %d POSTs", strings.Join(args[:2], " "), n)
		}
		if stdout != "" {
			t.Errorf("a checkpoint short of the quorum: parley %s: printed %q", strings.Join(args[:2], " "), stdout)
		}
	}
	if sending < 9 {
		t.Errorf("only %d sending invocations were run against the quorum", sending)
	}

	// The witness policy only in the seen file: recorded for it (as
	// parley audit --witness records it), and no policy flags given.
	// Every command, reader or sender, refuses the checkpoint short of
	// its quorum as it would with the flags. Before, the policy a member
	// audited with was forgotten, and later commands accepted any
	// checkpoint.
	pol, err := tlog.NewWitnessPolicy([]string{wkey}, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i, inv := range invocations {
		seen := filepath.Join(dir, "recorded-"+strings.ReplaceAll(inv.name, " ", "-")+"-"+string(rune('a'+i))+".seen")
		if err := os.WriteFile(seen, honestSeen, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(seenPolicyPath(seen), []byte(pol.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		args := inv.args(front.URL, seen)
		before, askedBefore := posts.Load(), asked.Load()
		code, stdout, stderr := runCLI(t, args...)
		if code != 1 || !strings.Contains(stderr, "the witness policy requires") {
			t.Errorf("a checkpoint short of the quorum of the policy recorded for the seen file: parley %s: exit %d, want 1 saying the witness policy requires more: %s", strings.Join(args[:2], " "), code, stderr)
		}
		if n := asked.Load() - askedBefore; n != 0 {
			t.Errorf("a checkpoint short of the recorded quorum: parley %s: asked the node %d times for more than its log", strings.Join(args[:2], " "), n)
		}
		if n := posts.Load() - before; n != 0 {
			t.Errorf("a checkpoint short of the recorded quorum: parley %s: the node got %d POSTs", strings.Join(args[:2], " "), n)
		}
		if stdout != "" {
			t.Errorf("a checkpoint short of the recorded quorum: parley %s: printed %q", strings.Join(args[:2], " "), stdout)
		}
	}
}
