package main

import (
	"os"
	"path/filepath"
	"testing"

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
