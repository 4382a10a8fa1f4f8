package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets CLI scripts run `parley` as a command inside the test binary.
// The tests run with a config directory of their own ([ownConfigDir]).
func TestMain(m *testing.M) {
	testscript.Main(ownConfigDir{m}, map[string]func(){"parley": main})
}

// ownConfigDir runs the tests with XDG_CONFIG_HOME set to a new temporary
// directory, removed after them: a command that keeps a node's seen file
// in its default place (pull, and push and the other sending commands,
// which pin on first use) never writes to the user's config directory,
// whichever test forgets to set it. The scripts set their own.
type ownConfigDir struct{ m *testing.M }

func (o ownConfigDir) Run() int {
	dir, err := os.MkdirTemp("", "parley-test-config-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	os.Setenv("XDG_CONFIG_HOME", dir)
	return o.m.Run()
}

// TestScripts runs the CLI end-to-end scripts in testdata/script. Each
// script sees $TESTDATA, the absolute path of the repository's testdata
// (vectors, images and corpora; testdata/README.md names their sources).
func TestScripts(t *testing.T) {
	testdata, err := filepath.Abs(filepath.Join("..", "..", "testdata"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(testdata, "README.md")); err != nil {
		t.Fatalf("the repository's test data is missing: %v", err)
	}
	testscript.Run(t, scriptParams(testdata, filepath.Join("testdata", "script")))
}

// scriptParams returns the testscript parameters of the CLI's scripts in
// dir: the environment and the script commands every script may use.
func scriptParams(testdata, dir string) testscript.Params {
	return testscript.Params{
		Dir: dir,
		Setup: func(env *testscript.Env) error {
			env.Setenv("TESTDATA", testdata)
			// Pinned log keys and seen checkpoints of clients that aren't
			// given --seen stay in the script's own directory.
			env.Setenv("XDG_CONFIG_HOME", filepath.Join(env.WorkDir, ".config"))
			// Under -race every exited process sleeps a second by default
			// so that late reports can land; scripts run hundreds of them.
			env.Setenv("GORACE", "atexit_sleep_ms=0")
			return nil
		},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "postgres":
				return postgresCondition()
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"waiturl":   waitURL,
			"setconfig": setConfig,
			"creator":   setCreator,
			// wait_test.go
			"waitcheckpoint": waitCheckpoint,
			"waitopen":       waitOpen,
			// witness_test.go
			"waitwitness":  waitWitness,
			"waitevidence": waitEvidence,
			// cosigned_test.go
			"setwitnesses": setWitnesses,
			"waitcosigned": waitCosigned,
			// audit_views_test.go
			"witnesspolicy": witnessPolicy,
			// audit_evidence_bound_test.go
			"fillevidence":  fillEvidence,
			"evidencecount": evidenceCount,
			// peer_test.go
			"waitpeer": waitPeer,
			// migrate_test.go
			"pgschema": pgSchema,
		},
	}
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

// setCreator implements the script command `creator MEMBER_JSON FILE...`:
// it sets created_by_ref to the id in MEMBER_JSON (the output of member
// add --json) on every versioned object of each FILE (an object, a JSON
// list or a bundle) that has none, because the node refuses those and a
// script's data can't know the id a member gets.
func setCreator(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: creator MEMBER_JSON FILE...")
	}
	var m struct {
		ID string `json:"id"`
	}
	ts.Check(json.Unmarshal([]byte(ts.ReadFile(args[0])), &m))
	set := func(o map[string]any) {
		if _, ok := o["created"]; ok && o["created_by_ref"] == nil {
			o["created_by_ref"] = m.ID
		}
	}
	for _, name := range args[1:] {
		var v any
		d := json.NewDecoder(strings.NewReader(ts.ReadFile(name)))
		d.UseNumber()
		ts.Check(d.Decode(&v))
		switch v := v.(type) {
		case map[string]any:
			if objs, ok := v["objects"].([]any); ok {
				for _, o := range objs {
					if o, ok := o.(map[string]any); ok {
						set(o)
					}
				}
			} else {
				set(v)
			}
		case []any:
			for _, o := range v {
				if o, ok := o.(map[string]any); ok {
					set(o)
				}
			}
		}
		b, err := json.Marshal(v)
		ts.Check(err)
		ts.Check(os.WriteFile(ts.MkAbs(name), append(b, '\n'), 0o644))
	}
}
