package main

import (
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
	n, err := strconv.ParseInt(args[2], 10, 64)
	ts.Check(err)
	ts.Check(editConfig(ts.MkAbs(args[0]), func(cfg map[string]any) { cfg[args[1]] = n }))
}
