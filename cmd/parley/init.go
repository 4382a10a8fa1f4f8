package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/parley-exchange/parley/internal/node"
	"github.com/parley-exchange/parley/tlog"
)

func init() {
	register(command{
		name:  "init",
		usage: "init --data DIR [--origin NAME]          create a node: key, config, empty store",
		run:   runInit,
	})
}

func runInit(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlagSet("init")
	dir := fs.String("data", "", "the node's data `DIR`ectory (created if missing)")
	origin := fs.String("origin", "", "the log's origin `NAME` (default parley.<host>/<random>)")
	if err := c.parseFlags(fs, args); err != nil {
		return err
	}
	if *dir == "" || fs.NArg() > 0 {
		return usageErrorf("parley init --data ./parley-data", "init needs --data and no arguments")
	}
	res, err := node.Init(ctx, *dir, node.Config{Origin: *origin}, nil)
	if errors.Is(err, node.ErrExists) {
		return usageErrorf("use another directory, or run parley serve --data "+*dir, "%v", err)
	}
	if errors.Is(err, tlog.ErrMalformedKey) {
		return usageErrorf("an origin is a schema-less URL such as parley.example.org/log", "%v", err)
	}
	if err != nil {
		return withExit(3, "", err)
	}
	fmt.Fprintf(c.stderr, "parley: initialized a node in %s; its log verifier key (publish it, members pin it):\n", *dir)
	fmt.Fprintln(c.stdout, res.VerifierKey)
	return nil
}

// openNode opens the node in dir with a CLI error for the common mistakes.
func openNode(ctx context.Context, dir string) (*node.Node, error) {
	return openNodeLogging(ctx, dir, nil)
}

// openNodeLogging is openNode with the logger of the lines that opening
// logs (the schema migrations of an upgrade); nil means slog.Default().
func openNodeLogging(ctx context.Context, dir string, logger *slog.Logger) (*node.Node, error) {
	if dir == "" {
		return nil, usageErrorf("give --data DIR or set PARLEY_DATA", "no data directory")
	}
	n, err := node.Open(ctx, dir, node.Options{Logger: logger})
	if errors.Is(err, node.ErrNotInitialized) {
		return nil, usageErrorf("run parley init --data "+dir+" first", "%v", err)
	}
	if err != nil {
		return nil, withExit(3, "", err)
	}
	return n, nil
}
