package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/parley-exchange/parley/internal/node"
	"github.com/parley-exchange/parley/tlog"
)

func init() {
	register(command{
		name:  "audit",
		usage: "audit (--data DIR | --url U --token-file F) [--log-key VKEY] [--seen FILE]   verify a whole log",
		run:   runAudit,
	})
}

// runAudit replays a whole log. Exit 0 only if everything verified; 1 if
// anything didn't (each problem is named on stderr); 2 for bad usage; 4
// when the node couldn't be read.
func runAudit(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlagSet("audit")
	dir := fs.String("data", "", "audit the store in the node's data `DIR` (running or stopped)")
	url := fs.String("url", "", "audit the node at `URL` over HTTP")
	token := fs.String("token", "", "the member's API `TOKEN` (with --url; better: PARLEY_TOKEN or --token-file)")
	tokenFile := fs.String("token-file", "", "read the token from `FILE` (the token, or member add --json output)")
	logKey := fs.String("log-key", "", "the node's note verifier `KEY` to trust (default: the one pinned in --seen, else pinned on first use)")
	seenPath := fs.String("seen", "", "the `FILE` of checkpoints seen before (default: in the user config directory, one per log)")
	if err := c.parseFlags(fs, args); err != nil {
		return err
	}
	if err := readToken(token, *tokenFile); err != nil {
		return err
	}
	// A flag on the command line wins over the other one's environment
	// fallback (PARLEY_URL set in the shell shouldn't block --data).
	switch explicitData, explicitURL := flagGiven(args, "data"), flagGiven(args, "url"); {
	case explicitData && !explicitURL:
		*url = ""
	case explicitURL && !explicitData:
		*dir = ""
	}
	if (*dir == "") == (*url == "") || fs.NArg() > 0 {
		return usageErrorf("parley audit --data DIR, or parley audit --url URL --token TOKEN", "audit needs exactly one of --data and --url")
	}
	var (
		src       tlog.AuditSource
		tiles     tlog.TileReader
		servedKey string
		target    string
		all       bool
	)
	if *dir != "" {
		s, vkey, closeStore, err := node.OpenStoreAudit(ctx, *dir)
		if errors.Is(err, node.ErrNotInitialized) {
			return usageErrorf("give the data directory of a node", "%v", err)
		}
		if err != nil {
			return withExit(3, "", err)
		}
		defer closeStore()
		src, tiles, servedKey, all = s, s, vkey, true
		abs, _ := filepath.Abs(*dir)
		target = "dir:" + abs
	} else {
		if *token == "" {
			return usageErrorf("give --token or set PARLEY_TOKEN", "audit --url needs a member's token")
		}
		cl := &tlog.Client{URL: *url, Token: *token, HTTP: c.httpClient()}
		k, err := cl.Key(ctx)
		if err != nil {
			return withExit(4, "check --url and --token", err)
		}
		src, tiles, servedKey = cl, cl, k
		target = "url:" + *url
	}
	if *seenPath == "" {
		p, err := defaultSeenPath(target)
		if err != nil {
			return withExit(3, "give --seen FILE", err)
		}
		*seenPath = p
	}
	seen, err := tlog.LoadSeen(*seenPath)
	if err != nil {
		return withExit(3, "", err)
	}
	key := *logKey
	switch {
	case key == "" && seen.Key != "":
		key = seen.Key
	case key == "":
		key = servedKey
		if key == "" {
			return usageErrorf("give --log-key VKEY", "no log verifier key to trust")
		}
		fmt.Fprintf(c.stderr, "parley: pinning the log key on first use: %s\n", key)
	}
	if seen.Key != "" && seen.Key != key {
		return withExit(1, "if the operator really rotated the key, start a new --seen file", fmt.Errorf("the log key %s isn't the one pinned in %s (%s)", key, *seenPath, seen.Key))
	}
	if servedKey != "" && servedKey != key {
		fmt.Fprintf(c.stderr, "parley: warning: the node serves another log key (%s); verifying with the pinned one\n", servedKey)
	}
	v, err := tlog.NewVerifier(key)
	if err != nil {
		return usageErrorf("a verifier key looks like name+1234abcd+AbC...", "%v", err)
	}
	seen.Key = key
	opts := tlog.AuditOptions{Verifier: v, Seen: seen, AllObjects: all, Tiles: tiles}
	if logIsTerminal(c.stderr) {
		opts.Progress = func(done, total uint64) {
			fmt.Fprintf(c.stderr, "\rparley: audit: %d/%d entries", done, total)
			if done == total {
				fmt.Fprintln(c.stderr)
			}
		}
	}
	rep, err := tlog.Audit(ctx, src, opts)
	if err != nil {
		code := 3
		if errors.Is(err, tlog.ErrHTTP) {
			code = 4
		}
		return withExit(code, "", err)
	}
	if err := seen.Save(); err != nil {
		return withExit(3, "", err)
	}
	cp := rep.Checkpoint
	for _, p := range rep.Problems {
		fmt.Fprintf(c.stderr, "parley: audit: %s\n", p)
	}
	if rep.Fork != nil {
		fmt.Fprintf(c.stderr, "parley: audit: two conflicting signed checkpoints are kept as evidence in %s\n", *seenPath)
	}
	if !rep.OK() {
		return withExit(1, "each problem is listed above", fmt.Errorf("audit failed: %d problem(s) in the log %s", len(rep.Problems), cp.Origin))
	}
	fmt.Fprintf(c.stdout, "log %s verified: %d entries, root %s, %d checkpoint(s), %d object(s) checked (%d unsigned)\n",
		cp.Origin, rep.Entries, cp.Hash, rep.Checkpoints, rep.Objects, rep.Unsigned)
	return nil
}

// flagGiven reports whether the flag name appears on the command line.
func flagGiven(args []string, name string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		a = strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		if a == name || strings.HasPrefix(a, name+"=") {
			return true
		}
	}
	return false
}

// defaultSeenPath is where the checkpoints seen of one log are kept when
// --seen isn't given: one file per audited target.
func defaultSeenPath(target string) (string, error) {
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("couldn't find a place for seen checkpoints: %w", err)
	}
	h := sha256.Sum256([]byte(target))
	return filepath.Join(d, "parley", "seen", hex.EncodeToString(h[:8])+".json"), nil
}

// logIsTerminal reports whether w is a terminal (progress is shown only there).
func logIsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
