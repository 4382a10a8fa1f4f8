package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets CLI scripts run `parley` as a command inside the test binary.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){"parley": main})
}

// TestScripts runs the CLI end-to-end scripts in testdata/script. Each
// script sees $SHARED, the path of ../shared/testdata (it may not exist:
// scripts that need it start with `[!exists $SHARED] skip`).
func TestScripts(t *testing.T) {
	shared, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "testdata"))
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir: filepath.Join("testdata", "script"),
		Setup: func(env *testscript.Env) error {
			env.Setenv("SHARED", shared)
			// Under -race every exited process sleeps a second by default
			// so that late reports can land; scripts run hundreds of them.
			env.Setenv("GORACE", "atexit_sleep_ms=0")
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"waiturl":   waitURL,
			"setconfig": setConfig,
		},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "shared":
				_, err := os.Stat(shared)
				return err == nil, nil
			}
			return false, nil
		},
	})
}

// waitURL implements the script command `waiturl FILE [VAR]`: it waits up
// to 30 s for FILE (written by `parley serve --url-file FILE` once it
// listens) and sets VAR (default PARLEY_URL) to the URL in it. Scripts
// serve on 127.0.0.1:0, so parallel scripts and other processes never
// fight over a port, and they wait for readiness instead of sleeping.
func waitURL(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: waiturl FILE [VAR]")
	}
	name := "PARLEY_URL"
	if len(args) == 2 {
		name = args[1]
	}
	path := ts.MkAbs(args[0])
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, err := os.ReadFile(path)
		if err == nil && len(b) > 0 {
			ts.Setenv(name, strings.TrimSpace(string(b)))
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("no URL in %s after 30s: the node did not start", args[0])
		}
		time.Sleep(20 * time.Millisecond)
	}
}
