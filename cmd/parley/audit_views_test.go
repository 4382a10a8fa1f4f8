package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
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
