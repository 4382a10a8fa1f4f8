package tlog

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

// TestCheckLog: a client given no object to check (an empty collection)
// still checks the node's log with ObjectVerifier.CheckLog: a checkpoint
// signed by another key than the pinned one is refused as Verify refuses
// it; a node that has signed no checkpoint yet (404) has nothing to
// refuse, unless the seen file holds a checkpoint of the pinned log, which
// the node now hides; once Verify has checked a checkpoint, CheckLog reads
// nothing more.
func TestCheckLog(t *testing.T) {
	ctx := context.Background()
	l := newTestLog(t, 3)
	// The same origin signed by another key: a node made again.
	impostor := newTestLog(t, 1)
	skey, _, err := NewNodeKey(strings.NewReader(strings.Repeat("o", 64)), testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	if impostor.signer, err = note.NewSigner(skey); err != nil {
		t.Fatal(err)
	}
	impostor.checkpoint(t)

	// Another key than the pinned one.
	v := &ObjectVerifier{Log: serve(t, &fakeNode{l: impostor}), Key: l.verifier}
	if err := v.CheckLog(ctx); !errors.Is(err, ErrCheckpointSignature) {
		t.Errorf("checkpoint of another key: %v, want ErrCheckpointSignature", err)
	}

	// No checkpoint yet.
	var asked int
	none := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked++
		http.Error(w, "no checkpoint yet", http.StatusNotFound)
	}))
	t.Cleanup(none.Close)
	client := &Client{URL: none.URL + "/", Token: testToken, HTTP: none.Client()}
	if err := (&ObjectVerifier{Log: client, Key: l.verifier}).CheckLog(ctx); err != nil {
		t.Errorf("no checkpoint yet, no seen file: %v, want nil", err)
	}
	if err := (&ObjectVerifier{Log: client, Key: l.verifier, Seen: &SeenCheckpoints{}}).CheckLog(ctx); err != nil {
		t.Errorf("no checkpoint yet, nothing seen: %v, want nil", err)
	}
	seen := &SeenCheckpoints{Notes: []string{string(l.notes[0])}}
	if err := (&ObjectVerifier{Log: client, Key: l.verifier, Seen: seen}).CheckLog(ctx); err == nil || !strings.Contains(err.Error(), "was seen before") {
		t.Errorf("no checkpoint, one of size 4 seen: %v, want the seen log gone", err)
	}

	// Checked once by Verify: nothing more to read.
	honest := &fakeNode{l: l}
	v = &ObjectVerifier{Log: serve(t, honest), Key: l.verifier}
	if res, err := v.Verify(ctx, []VerifyItem{{Object: l.objects[1], LogIndex: 1, Opening: l.openings[1]}}); err != nil || res[0].Err != nil {
		t.Fatalf("verify: %v %+v", err, res)
	}
	v.Log = client
	before := asked
	if err := v.CheckLog(ctx); err != nil || asked != before {
		t.Errorf("after Verify: %v, %d more requests; want nil and none", err, asked-before)
	}
}
