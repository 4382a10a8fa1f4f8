package main

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/parley-exchange/parley/tlog"
)

// A witness of the policy that accepts the audit's request and never
// answers costs the audit witnessViewTimeout: its view is reported as not
// checked, and the other witnesses are still read, instead of parley
// audit hanging for ever.
func TestAuditWitnessNeverAnswers(t *testing.T) {
	old := witnessViewTimeout
	witnessViewTimeout = 300 * time.Millisecond
	defer func() { witnessViewTimeout = old }()
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer hang.Close()
	defer close(release)
	none := httptest.NewServer(http.NotFoundHandler())
	defer none.Close()

	skey, vkey, err := tlog.NewNodeKey(rand.Reader, "log.example/a")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := tlog.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	cpNote, err := tlog.SignCheckpoint(tlog.Checkpoint{Origin: "log.example/a", Size: 1, Hash: tlog.LeafHash([]byte("x"))}, signer)
	if err != nil {
		t.Fatal(err)
	}
	var pol strings.Builder
	for _, w := range []struct{ name, url string }{{"a.example/w", hang.URL}, {"b.example/w", none.URL}} {
		_, wkey, err := tlog.NewCosignerKey(rand.Reader, w.name)
		if err != nil {
			t.Fatal(err)
		}
		pol.WriteString("witness " + w.name + " " + wkey + " " + w.url + "\n")
	}
	pol.WriteString("group g any a.example/w b.example/w\nquorum g\n")
	p, err := tlog.ParsePolicy([]byte(pol.String()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	views := checkWitnessViews(ctx, &cli{}, p, vkey, v, cpNote, nil)
	if ctx.Err() != nil || len(views) != 2 {
		t.Fatalf("views %+v (the test's deadline: %v)", views, ctx.Err())
	}
	if !strings.Contains(views[0].note, "couldn't read witness a.example/w") || !strings.Contains(views[1].note, "has no checkpoint") {
		t.Fatalf("views %+v", views)
	}
}
