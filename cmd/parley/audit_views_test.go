package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
	"golang.org/x/mod/sumdb/note"

	"github.com/parley-exchange/parley/tlog"
)

// witnessPolicy implements the script command
// `witnesspolicy FILE QUORUM NAME URL_FILE VKEY_FILE [NAME URL_FILE VKEY_FILE]...`:
// it writes a C2SP tlog-policy file with a "witness NAME VKEY URL" line
// for each witness (from its witness serve --url-file and its verifier key
// file) and the quorum line "quorum QUORUM", preceded by
// "group all-of all NAME..." when QUORUM is "all-of" and
// "group any-of any NAME..." when it is "any-of".
func witnessPolicy(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 5 || (len(args)-2)%3 != 0 {
		ts.Fatalf("usage: witnesspolicy FILE QUORUM NAME URL_FILE VKEY_FILE...")
	}
	var b strings.Builder
	var names []string
	for i := 2; i < len(args); i += 3 {
		name := args[i]
		names = append(names, name)
		fmt.Fprintf(&b, "witness %s %s %s\n", name, strings.TrimSpace(ts.ReadFile(args[i+2])), strings.TrimSpace(ts.ReadFile(args[i+1])))
	}
	switch q := args[1]; q {
	case "all-of", "any-of":
		fmt.Fprintf(&b, "group %s %s %s\n", q, strings.TrimSuffix(q, "-of"), strings.Join(names, " "))
	}
	fmt.Fprintf(&b, "quorum %s\n", args[1])
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(b.String()), 0o600))
}

// A policy witness that answers monitor retrieval with 404 ("never
// cosigned", C2SP tlog-witness) although the node's checkpoint carries its
// valid cosignature doesn't serve monitor retrieval there (litewitness has
// none): the note says so instead of "no checkpoint of the log yet", which
// stays the note of a witness that hasn't cosigned.
func TestAuditWitness404ThoughCosigned(t *testing.T) {
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
	plain, err := tlog.SignCheckpoint(tlog.Checkpoint{Origin: "log.example/a", Size: 1, Hash: tlog.LeafHash([]byte("x"))}, signer)
	if err != nil {
		t.Fatal(err)
	}
	var pol strings.Builder
	var cosigner note.Signer
	for _, name := range []string{"a.example/w", "b.example/w"} {
		wskey, wkey, err := tlog.NewCosignerKey(rand.Reader, name)
		if err != nil {
			t.Fatal(err)
		}
		if cosigner == nil {
			if cosigner, err = tlog.ParseCosignerKey(wskey, nil); err != nil {
				t.Fatal(err)
			}
		}
		pol.WriteString("witness " + name + " " + wkey + " " + none.URL + "\n")
	}
	pol.WriteString("group g any a.example/w b.example/w\nquorum g\n")
	p, err := tlog.ParsePolicy([]byte(pol.String()))
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(plain, note.VerifierList(v))
	if err != nil {
		t.Fatal(err)
	}
	cosigned, err := note.Sign(n, signer, cosigner)
	if err != nil {
		t.Fatal(err)
	}
	views := checkWitnessViews(context.Background(), &cli{}, p, vkey, v, cosigned, nil)
	if len(views) != 2 {
		t.Fatalf("views %+v", views)
	}
	if want := "witness a.example/w answered 404 for its checkpoint of log log.example/a though it cosigned the node's: it serves no monitor retrieval at that URL (not checked)"; views[0].note != want {
		t.Errorf("the witness that cosigned: note %q, want %q", views[0].note, want)
	}
	if want := "witness b.example/w has no checkpoint of log log.example/a yet"; views[1].note != want {
		t.Errorf("the witness that didn't: note %q, want %q", views[1].note, want)
	}
	if views[0].problem != "" || views[1].problem != "" {
		t.Errorf("a 404 is not a failure: %+v", views)
	}
}
