package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"

	"github.com/parley-exchange/parley/internal/node"
)

func init() {
	register(command{
		name:  "serve",
		usage: "serve --data DIR [--listen ADDR]         run the node (TAXII 2.1, log, private sets)",
		run:   runServe,
	})
}

func runServe(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlagSet("serve")
	dir := fs.String("data", "", "the node's data `DIR`ectory (made by parley init)")
	listen := fs.String("listen", "", "listen on `ADDR` (default from config.json, else "+node.DefaultListen+")")
	if err := c.parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("parley serve --data DIR [--listen ADDR]", "serve takes no arguments")
	}
	n, err := openNode(ctx, *dir)
	if err != nil {
		return err
	}
	defer n.Close()
	addr := *listen
	if addr == "" {
		addr = n.Config().Listen
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return usageErrorf("choose another address with --listen", "couldn't listen on %s: %v", addr, err)
	}
	logger := slog.New(slog.NewTextHandler(c.stderr, nil))
	fmt.Fprintf(c.stderr, "parley: serving %s on http://%s (TAXII discovery at /taxii2/); Ctrl-C stops\n", *dir, ln.Addr())
	if err := n.Serve(ctx, ln, logger); err != nil {
		return withExit(3, "", err)
	}
	fmt.Fprintln(c.stderr, "parley: stopped")
	return nil
}
