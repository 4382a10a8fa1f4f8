package main

import (
	"context"
	"strconv"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/parley-exchange/parley/internal/node"
)

// waitPeer implements the script command `waitpeer DIR NAME OBJECTS`: it
// waits up to 30 s until the node in DIR (serving in another process)
// records at least OBJECTS objects replicated from its peer NAME.
func waitPeer(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: waitpeer DIR NAME OBJECTS")
	}
	want, err := strconv.ParseInt(args[2], 10, 64)
	ts.Check(err)
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	var have int64
	for {
		n, err := node.Open(ctx, ts.MkAbs(args[0]), node.Options{})
		ts.Check(err)
		ps, err := n.Store().Peers(ctx)
		n.Close()
		ts.Check(err)
		for _, p := range ps {
			if p.Name == args[1] {
				have = p.State.Objects
			}
		}
		if have >= want {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("peer %s: %d objects after 30s, want %d", args[1], have, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
