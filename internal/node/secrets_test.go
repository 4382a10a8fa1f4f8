package node

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/peer"
	"github.com/parley-exchange/parley/internal/store"
)

// TestURLSecretsRefused: a feed's or a peer's URL with a password (or a
// query, where API keys go) is refused, and the error doesn't repeat the
// secret. Accepted, the URL went into the description of the collection
// the feed or peer creates, which every reader of that collection sees
// over TAXII, into the peer's fork evidence, made to be shown to others,
// and into logs and statuses.
func TestURLSecretsRefused(t *testing.T) {
	ctx := context.Background()
	n, _ := initNode(t, Options{})
	defer n.Close()
	if _, err := n.AddMember(ctx, "alice", nil); err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("parley_x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const secret = "hunter2-in-the-url"
	urls := []string{
		"https://relay:" + secret + "@feeds.example/api/v21/",
		"https://feeds.example/api/v21/?api_key=" + secret,
		"https://" + secret + "@feeds.example/",
		"https://feeds.example/%zz" + secret, // doesn't parse
	}
	for i, u := range urls {
		_, err := n.AddFeed(ctx, FeedSpec{Name: "f", URL: u, Collection: "c", Into: "feed into", Readers: []string{"alice"}})
		if !errors.Is(err, store.ErrInvalid) {
			t.Errorf("AddFeed(%d) = %v, want ErrInvalid", i, err)
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("AddFeed(%d)'s error repeats the secret: %v", i, err)
		}
		_, err = n.AddPeer(ctx, PeerSpec{Name: "p", URL: u, TokenFile: tokenFile, LogKey: n.VerifierKey(), Remote: "c", Into: "peer into", Readers: []string{"alice"}})
		if !errors.Is(err, store.ErrInvalid) {
			t.Errorf("AddPeer(%d) = %v, want ErrInvalid", i, err)
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("AddPeer(%d)'s error repeats the secret: %v", i, err)
		}
	}
	cs, err := n.store.Collections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if strings.Contains(c.Description, secret) {
			t.Errorf("collection %q shows its readers the secret: %s", c.Title, c.Description)
		}
	}
}

// TestWitnessURLPasswordNotLogged: a witness's URL in config.json may
// carry a user and password (a proxy in front of the witness); the node
// names the witness in its log when it fails, and must not write the
// password there. A URL with a query, or one that doesn't parse, is
// refused without being quoted.
func TestWitnessURLPasswordNotLogged(t *testing.T) {
	ctx := context.Background()
	n, _ := initNode(t, Options{})
	defer n.Close()
	w1 := newTestWitness(t, "w1.example", n.vkey)
	w1.srv.Close() // down: every submission fails and is logged
	const secret = "hunter2-witness"
	n.cfg.Witnesses = []WitnessConfig{{URL: strings.Replace(w1.URL, "http://", "http://node:"+secret+"@", 1), Key: w1.VKey}}
	m, key, coll := addAliceShared(t, n)
	c, err := n.store.Collection(ctx, coll)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Submit(ctx, m.ID, c, []json.RawMessage{indicator(t, m.ID, key, t0)}); err != nil {
		t.Fatal(err)
	}
	li, err := NewLogIntegrator(n, LogIntegratorOptions{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := li.Integrate(ctx); err != nil {
		t.Fatal(err)
	}
	var logs logBuffer
	lw, err := NewLogWitnessing(n, LogWitnessingOptions{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lw.Step(ctx); err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	if !strings.Contains(out, "didn't cosign") {
		t.Fatalf("no log line about the failed witness:\n%s", out)
	}
	if strings.Contains(out, secret) {
		t.Errorf("the log holds the witness URL's password:\n%s", out)
	}

	for _, u := range []string{"https://w.example/w1?key=" + secret, "https://w.example/%zz" + secret} {
		err := checkWitnesses([]WitnessConfig{{URL: u, Key: w1.VKey}})
		if err == nil || strings.Contains(err.Error(), secret) {
			t.Errorf("checkWitnesses(%q) = %v, want an error without the secret", u, err)
		}
	}
}

// TestLegacyPeerURLSecretRefused: a peer recorded (by an older version)
// with a password in its URL is not followed: its round fails, saying why
// without the password, before the URL reaches a request, a log line or
// fork evidence.
func TestLegacyPeerURLSecretRefused(t *testing.T) {
	ctx := context.Background()
	n, _ := initNode(t, Options{})
	defer n.Close()
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("parley_x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m, err := n.addMember(ctx, peer.MemberName("legacy"), nil, false)
	if err != nil {
		t.Fatal(err)
	}
	coll, err := n.CreateCollection(ctx, CollectionSpec{Title: "from legacy", Signatures: store.SignaturesOptional, Relay: true})
	if err != nil {
		t.Fatal(err)
	}
	const secret = "hunter2-legacy"
	p := store.Peer{Name: "legacy", URL: "https://node:" + secret + "@127.0.0.1:1", TokenFile: tokenFile,
		LogKey: n.VerifierKey(), Remote: "c", Into: coll, Member: m.ID, Created: n.now()}
	if err := n.store.AddPeer(ctx, p); err != nil {
		t.Fatal(err)
	}
	f, err := peer.New(peer.Config{Store: n.store, Dir: n.dir}, p)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Round(ctx)
	if err == nil || !errors.Is(err, store.ErrInvalid) || strings.Contains(err.Error(), secret) {
		t.Fatalf("Round = %v, want a refusal without the password", err)
	}
	ps, err := n.store.Peers(ctx)
	if err != nil || len(ps) != 1 || strings.Contains(ps[0].State.LastError, secret) || ps[0].State.LastError == "" {
		t.Fatalf("recorded: %+v, %v", ps, err)
	}
}

// TestOldSourceURLSecretsRedacted: a data directory written by a version
// that took a feed's or a peer's URL with a user, password or query, and
// repeated it in the description of the collection it created, shows
// none of it once opened by this version: the URLs in those descriptions
// lose their user information and query (the rest of the text, and every
// other description, stay as they were), and opening it again changes
// nothing more.
func TestOldSourceURLSecretsRedacted(t *testing.T) {
	ctx := context.Background()
	n, dir := initNode(t, Options{})
	alice, err := n.AddMember(ctx, "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	const secret = "hunter2-in-the-url"
	feedURL := "https://relay:" + secret + "@feeds.example/api/v21/?api_key=" + secret
	peerURL := "https://" + secret + "@node-b.example/"
	feedDesc := "Relayed from the TAXII collection c1 at " + feedURL + " by the feed old; the objects are unsigned and their created_by_ref is not verified."
	peerDesc := "Replicated from collection c2 of the Parley node " + peerURL + " (peer b), verified against its log; read-only. Proofs in the peer's log: GET /peers/bundle."
	// The operator's own text that quotes the same URL in another
	// collection is theirs: left alone.
	otherDesc := "Notes: " + feedURL
	// What the old version stored, written past today's checks.
	st := n.Store()
	now := time.Now()
	for _, c := range []store.Collection{
		{ID: "c-feed", Title: "from the feed", Description: feedDesc, Readers: []string{alice.ID}, Writers: []string{alice.ID}, Created: now},
		{ID: "c-peer", Title: "from b", Description: peerDesc, Readers: []string{alice.ID}, Writers: []string{alice.ID}, Created: now},
		{ID: "c-notes", Title: "notes", Description: otherDesc, Readers: []string{alice.ID}, Writers: []string{alice.ID}, Created: now},
	} {
		if err := st.AddCollection(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.AddFeed(ctx, store.Feed{Name: "old", URL: feedURL, Collection: "c1", Into: "c-feed", Member: alice.ID, Created: now}); err != nil {
		t.Fatal(err)
	}
	if err := st.AddPeer(ctx, store.Peer{Name: "b", URL: peerURL, TokenFile: "/nonexistent/token", LogKey: n.VerifierKey(), Remote: "c2", Into: "c-peer", Member: alice.ID, Created: now}); err != nil {
		t.Fatal(err)
	}
	n.Close()

	want := map[string]string{
		"c-feed":  "Relayed from the TAXII collection c1 at https://feeds.example/api/v21/ by the feed old; the objects are unsigned and their created_by_ref is not verified.",
		"c-peer":  "Replicated from collection c2 of the Parley node https://node-b.example/ (peer b), verified against its log; read-only. Proofs in the peer's log: GET /peers/bundle.",
		"c-notes": otherDesc,
	}
	for range 2 {
		n, err := Open(ctx, dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for id, d := range want {
			c, err := n.Store().Collection(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if c.Description != d {
				t.Errorf("collection %s: %q, want %q", id, c.Description, d)
			}
		}
		n.Close()
	}
}
