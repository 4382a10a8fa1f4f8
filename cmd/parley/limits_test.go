package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"

	"github.com/rogpeppe/go-internal/testscript"
)

// setConfig implements the script command `setconfig DIR KEY NUMBER`: it
// sets one numeric key of DIR/config.json, as an operator editing it would,
// keeping the file's mode.
func setConfig(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: setconfig DIR KEY NUMBER")
	}
	path := filepath.Join(ts.MkAbs(args[0]), "config.json")
	b, err := os.ReadFile(path)
	ts.Check(err)
	var cfg map[string]any
	ts.Check(json.Unmarshal(b, &cfg))
	n, err := strconv.ParseInt(args[2], 10, 64)
	ts.Check(err)
	cfg[args[1]] = n
	b, err = json.MarshalIndent(cfg, "", "  ")
	ts.Check(err)
	fi, err := os.Stat(path)
	ts.Check(err)
	ts.Check(os.WriteFile(path, append(b, '\n'), fi.Mode().Perm()))
}
