package web_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/parley-exchange/parley/internal/node"
	"github.com/parley-exchange/parley/tlog"
)

// TestHomeShowsWitnessesAndPeers: the home page's log facts name the
// witnesses of config.json (it said "none configured" whatever the
// config), and a collection replicated from a peer says where its
// replication stands, and that the node stopped following a forked peer,
// to its readers only.
func TestHomeShowsWitnessesAndPeers(t *testing.T) {
	ctx := context.Background()
	_, wvkey, err := tlog.NewCosignerKey(rand.Reader, "w.example/witness")
	if err != nil {
		t.Fatal(err)
	}
	_, bvkey, err := note.GenerateKey(rand.Reader, "b.example")
	if err != nil {
		t.Fatal(err)
	}
	n := openNode(t, node.Config{Witnesses: []node.WitnessConfig{{URL: "https://node-a:s3cret-pass@w.example/witness", Key: wvkey}}})
	add := func(name string) string {
		pub, _, _ := ed25519.GenerateKey(rand.Reader)
		m, err := n.AddMember(ctx, name, pub)
		if err != nil {
			t.Fatal(err)
		}
		return m.Token
	}
	carol, dave := add("carol"), add("dave")
	if _, err := n.AddCollection(ctx, "local", "", []string{"carol", "dave"}, []string{"carol"}, ""); err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := n.AddPeer(ctx, node.PeerSpec{Name: "b", URL: "https://b.example", TokenFile: tokenFile, LogKey: bvkey,
		Remote: "c0ffee00-0000-4000-8000-000000000000", Into: "from B", Readers: []string{"carol"}})
	if err != nil {
		t.Fatal(err)
	}
	// The node's handler without its workers: no round of its own races
	// with the ones recorded below.
	srv := httptest.NewServer(n.Handler(nil))
	t.Cleanup(func() { srv.Close(); n.Close() })
	base := srv.URL

	home := func(token string) string {
		c := newClient(t, base)
		c.login(t, token)
		resp, body := c.get(t, "/ui/")
		mustStatus(t, resp, http.StatusOK, "/ui/")
		return body
	}
	if body := home(carol); !strings.Contains(body, "w.example/witness at https://w.example/witness") || strings.Contains(body, "none configured") {
		t.Errorf("the home page doesn't name the witness:\n%s", body)
	}
	// The witness's URL carries the node's password for it: every member
	// sees the home page.
	if body := home(dave); strings.Contains(body, "s3cret-pass") || strings.Contains(body, "node-a") {
		t.Errorf("the home page shows the witness URL's user or password:\n%s", body)
	}
	if body := home(carol); !strings.Contains(body, "Replicated from b.example: 0 of 0 entries of its log, no round yet") {
		t.Errorf("the home page doesn't say where replication stands:\n%s", body)
	}
	if err := n.Store().RecordPeerRound(ctx, p.Name, time.Now(), 7, "couldn't reach the node"); err != nil {
		t.Fatal(err)
	}
	if body := home(carol); !strings.Contains(body, "0 of 7 entries of its log, last round") || !strings.Contains(body, "(failed: the node couldn't reach or check the peer)") {
		t.Errorf("the home page doesn't say the last round failed:\n%s", body)
	}
	if err := n.Store().StopPeer(ctx, p.Name, "forked", "/evidence.json", time.Now()); err != nil {
		t.Fatal(err)
	}
	if body := home(carol); !strings.Contains(body, "No longer replicated:") || strings.Contains(body, "/evidence.json") {
		t.Errorf("the home page doesn't say the node stopped following the peer:\n%s", body)
	}
	if body := home(dave); strings.Contains(body, "b.example") || strings.Contains(body, "from B") {
		t.Errorf("a member who may not read the copy sees it on the home page:\n%s", body)
	}
}
