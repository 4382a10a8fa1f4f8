package web_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley-exchange/parley/internal/node"
	"github.com/parley-exchange/parley/stix"
)

// TestBrowserReplicatedTwice: node A follows B's copy of C's collection.
// C's member signed the object; B's log holds it under B's keyless member
// peer:c, and A's under peer:b. The browser checks it in A's log and in
// B's, and ends "logged" (as the CLI's checks count it), saying that
// neither log holds the signer's key and that it is in B's log, not
// "verified", nor "failed".
func TestBrowserReplicatedTwice(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	chromium(t)
	ctx := context.Background()
	tokenFile := func(m member) string {
		p := filepath.Join(t.TempDir(), "token")
		if err := os.WriteFile(p, []byte(m.Token+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	waitFor := func(n *node.Node, objects int64) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			ps, err := n.Store().Peers(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(ps) == 1 && ps[0].State.Objects >= objects {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("no replication in 60 s: %+v", ps)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	fast := node.Config{PeerInterval: node.Duration(30 * time.Millisecond)}

	// C: alice signs an indicator into intel, which B reads.
	c := openNode(t, node.Config{})
	alice := addMember(t, c, "alice", true)
	nodeB := addMember(t, c, "node-b", false)
	intel, err := c.AddCollection(ctx, "intel", "", []string{"alice", "node-b"}, []string{"alice"}, "")
	if err != nil {
		t.Fatal(err)
	}
	id := "indicator--c1c1c1c1-0000-4000-8000-000000000001"
	signed, err := stix.Sign([]byte(`{"type":"indicator","spec_version":"2.1","id":"`+id+`","created":"2026-09-14T08:30:00.000Z","modified":"2026-09-14T08:30:00.000Z","created_by_ref":"`+alice.ID+`","name":"From C","pattern":"[ipv4-addr:value = '203.0.113.39']","pattern_type":"stix","valid_from":"2026-09-14T08:30:00Z"}`), alice.Key)
	if err != nil {
		t.Fatal(err)
	}
	coll, err := c.Store().Collection(ctx, intel)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := c.Submit(ctx, alice.ID, coll, []json.RawMessage{signed}); err != nil || len(st.Failures) > 0 {
		t.Fatalf("submit: %+v, %v", st.Failures, err)
	}
	cURL := serveNode(t, c)

	// B follows C into "from C", which A's member node-a reads.
	b := openNode(t, fast)
	nodeA := addMember(t, b, "node-a", false)
	pb, err := b.AddPeer(ctx, node.PeerSpec{Name: "c", URL: cURL, TokenFile: tokenFile(nodeB), LogKey: c.VerifierKey(),
		Remote: intel, Into: "from C", Readers: []string{"node-a"}})
	if err != nil {
		t.Fatal(err)
	}
	bURL := serveNode(t, b)
	waitFor(b, 1)

	// A follows B's copy.
	a := openNode(t, fast)
	carol := addMember(t, a, "carol", true)
	pa, err := a.AddPeer(ctx, node.PeerSpec{Name: "b", URL: bURL, TokenFile: tokenFile(nodeA), LogKey: b.VerifierKey(),
		Remote: pb.Into, Into: "from B", Readers: []string{"carol"}})
	if err != nil {
		t.Fatal(err)
	}
	serveNode(t, a)
	waitFor(a, 1)

	base := uiServer(t, &fixture{n: a, aurelia: carol}, nil)
	bctx, cancel := browser(t, 1280)
	defer cancel()
	logIn(t, bctx, base, carol.Token)
	st, text := checkObjectPage(t, bctx, base, id, "object-replicated-twice")
	bOrigin, _, _ := strings.Cut(b.VerifierKey(), "+")
	if st != "logged" {
		t.Errorf("%s, want logged: %s", st, text)
	}
	meta, err := chromedp.Run(bctx, chromedp.TextContent(chromedp.CSS(`.object .meta`)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(meta, "foreign signature") || strings.Contains(meta, "unsigned") {
		t.Errorf("the page calls a signed object of C's, which neither A's nor B's log vouches for, otherwise: %s", meta)
	}
	if err := chromedp.Do(bctx, chromedp.Navigate(base+"/ui/collections/"+pa.Into)); err != nil {
		t.Fatal(err)
	}
	row, err := chromedp.Run(bctx, chromedp.TextContent(chromedp.CSS(`table.list tbody tr`)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(row, "foreign signature") || strings.Contains(row, "unsigned") {
		t.Errorf("the collection page lists it otherwise: %s", row)
	}
	for _, w := range []string{"In the peer's log, but no key of that log vouches for it", "which the peer's log doesn't hold either",
		"replicated from " + bOrigin + ", entry ", "shared there by " + pb.Member, base64Key(alice.Key), "✓ entry "} {
		if !strings.Contains(text, w) {
			t.Errorf("the check doesn't say %q: %s", w, text)
		}
	}
}
