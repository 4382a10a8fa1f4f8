package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"

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
	urlFile := fs.String("url-file", "", "once listening, write the node's base URL to `FILE` (useful with --listen 127.0.0.1:0)")
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
	if *urlFile != "" {
		if err := writeURLFile(*urlFile, "http://"+ln.Addr().String()); err != nil {
			ln.Close()
			return err
		}
	}
	logger := slog.New(slog.NewTextHandler(c.stderr, nil))
	fmt.Fprintf(c.stderr, "parley: serving %s on http://%s (TAXII discovery at /taxii2/); Ctrl-C stops\n", *dir, ln.Addr())
	if err := n.Serve(ctx, ln, logger); err != nil {
		return withExit(3, "", err)
	}
	fmt.Fprintln(c.stderr, "parley: stopped")
	return nil
}

// writeURLFile writes url to path atomically (a temporary file renamed into
// place), so that a script or supervisor polling for the file never reads
// half of it.
func writeURLFile(path, url string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(url+"\n"), 0o644); err != nil {
		return fmt.Errorf("couldn't write the URL file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("couldn't write the URL file: %w", err)
	}
	return nil
}
