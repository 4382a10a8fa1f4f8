package main

import (
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// waitCheckpoint implements `waitcheckpoint TOKEN_FILE SIZE`: it waits up
// to 30 s until $PARLEY_URL/log/checkpoint covers at least SIZE entries
// (a checkpoint with no cosignatures required), so that scripts wait for
// the integrator instead of sleeping.
func waitCheckpoint(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: waitcheckpoint TOKEN_FILE SIZE")
	}
	waitCosigned(ts, false, []string{args[0], args[1], "0"})
}

// waitOpen implements `waitopen FILE`: it waits up to 30 s until some
// process of this user holds the file FILE now names open (found through
// /proc/PID/fd, so Linux only), and fails otherwise. A script that
// follows a file in the background waits with it until the follower has
// opened the file instead of sleeping and hoping.
func waitOpen(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitopen FILE")
	}
	if runtime.GOOS != "linux" {
		ts.Fatalf("waitopen needs /proc (Linux); guard the script with [!linux] skip")
	}
	path := ts.MkAbs(args[0])
	deadline := time.Now().Add(30 * time.Second)
	for {
		if want, err := os.Stat(path); err == nil && heldOpen(want) {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("no process has %s open after 30s", args[0])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// heldOpen reports whether a file descriptor of any process this user
// can inspect refers to want.
func heldOpen(want os.FileInfo) bool {
	fds, _ := filepath.Glob("/proc/[0-9]*/fd/*")
	for _, fd := range fds {
		if fi, err := os.Stat(fd); err == nil && os.SameFile(fi, want) {
			return true
		}
	}
	return false
}
