package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/parley-exchange/parley/internal/node"
	"github.com/parley-exchange/parley/internal/peer"
	"github.com/parley-exchange/parley/internal/store"
)

func init() {
	register(command{
		name:  "peer",
		usage: "peer add --data DIR --url B_URL --token-file F --log-key B_VKEY --collection REMOTE --into LOCAL   follow another Parley node's collection, verified against its log (also: peer status)",
		help:  "Federation (docs/federation.md): this node follows a collection of another node, as one of its members, checking the peer's checkpoints, every entry's inclusion and every object's commitment and signature against the peer's log; parley serve replicates.",
		subcommands: []subcommand{
			{name: "add", usage: "peer add --data DIR --url B_URL --token-file F --log-key B_VKEY --collection REMOTE --into LOCAL [--name N] [--reader M]... [--ca FILE] [--witness-policy FILE | --witness VKEY... [--witness-quorum K]]", help: "Records a peer; creates LOCAL, a read-only collection (read by the --reader members, written by nobody over TAXII) that parley serve fills from the peer's REMOTE collection."},
			{name: "status", usage: "peer status --data DIR", help: "Prints each peer's position, lag, last checkpoint, last error, split-view evidence, whether it is stalled, the round in progress (round, round_started, round_from), and the peer's key index held (key_index_size; key_index_all when it is signed as the index of every member) or why there is none (key_index_missing), the objects refused and skipped (refused, last_refused), and another peer of the same remote collection (duplicate_of) as JSON."},
		},
		run: runPeer,
	})
}

const peerUsage = "parley peer add|status --data DIR ..."

func runPeer(ctx context.Context, c *cli, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "add":
			return runPeerAdd(ctx, c, args[1:])
		case "status":
			return runPeerStatus(ctx, c, args[1:])
		}
	}
	return usageErrorf(peerUsage, "peer needs a subcommand: add or status")
}

func runPeerAdd(ctx context.Context, c *cli, args []string) error {
	const usage = "parley peer add --data DIR --url B_URL --token-file F --log-key B_VKEY --collection REMOTE --into LOCAL"
	fs := c.newFlagSet("peer add")
	dir := fs.String("data", "", "the node's data `DIR`ectory")
	url := fs.String("url", "", "the peer node's base `URL`")
	tokenFile := fs.String("token-file", "", "a `FILE` holding the token the peer's operator issued to this node (read at each round)")
	logKey := fs.String("log-key", "", "the peer's log verifier key (`VKEY`, from its operator; pinned)")
	remote := fs.String("collection", "", "the peer's collection `ID` to follow")
	into := fs.String("into", "", "the `TITLE` of the local read-only collection to create")
	name := fs.String("name", "", "the peer's `NAME` (default: --into, each run of characters other than letters, digits, '-', '_' and '.' as one '-'); its member here is peer:NAME")
	var readers multiFlag
	fs.Var(&readers, "reader", "a member (`NAME` or identity id) who may read the local collection (repeatable)")
	pol := addPolicyFlags(fs)
	asJSON := fs.Bool("json", false, "print the peer as JSON")
	if err := c.parseFlags(fs, args); err != nil {
		return err
	}
	if *url == "" || *tokenFile == "" || *logKey == "" || *remote == "" || *into == "" || fs.NArg() > 0 {
		return usageErrorf(usage, "peer add needs --url, --token-file, --log-key, --collection and --into, and no arguments")
	}
	policy, err := pol.policy()
	if err != nil {
		return err
	}
	spec := node.PeerSpec{Name: *name, URL: *url, LogKey: *logKey, Remote: *remote, Into: *into, Readers: readers}
	if spec.Name == "" {
		spec.Name = nameFromTitle(*into)
	}
	if policy != nil {
		spec.Policy = policy.String()
	}
	// The node reads the files from its own working directory.
	if spec.TokenFile, err = filepath.Abs(*tokenFile); err != nil {
		return usageErrorf("", "couldn't resolve %s: %v", *tokenFile, err)
	}
	warnReadable(c.stderr, spec.TokenFile, "the token file")
	warnClearText(c.stderr, spec.URL, "the token for the peer")
	if ca := fs.Lookup("ca").Value.String(); ca != "" {
		if spec.CAFile, err = filepath.Abs(ca); err != nil {
			return usageErrorf("", "couldn't resolve %s: %v", ca, err)
		}
	}
	if err := peer.CheckName(spec.Name); err != nil {
		return usageErrorf("give --name NAME", "%v", err)
	}
	n, err := openNode(ctx, *dir)
	if err != nil {
		return err
	}
	defer n.Close()
	p, err := n.AddPeer(ctx, spec)
	switch {
	case errors.Is(err, node.ErrSystemMember):
		return usageErrorf(systemMemberHint, "%v", err)
	case errors.Is(err, store.ErrNotFound):
		return usageErrorf("add the reader first with parley member add", "%v", err)
	case errors.Is(err, store.ErrInvalid), errors.Is(err, store.ErrConflict):
		return usageErrorf("", "%v", err)
	case err != nil:
		return withExit(3, "", err)
	}
	if *asJSON {
		return json.NewEncoder(c.stdout).Encode(peer.StatusOf(p))
	}
	fmt.Fprintf(c.stdout, "peer %s: collection %s at %s into read-only collection %s as member %s; parley serve replicates it\n", p.Name, p.Remote, p.URL, p.Into, peer.MemberName(p.Name))
	return nil
}

func runPeerStatus(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlagSet("peer status")
	dir := fs.String("data", "", "the node's data `DIR`ectory")
	if err := c.parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("parley peer status --data DIR", "peer status takes no arguments")
	}
	n, err := openNode(ctx, *dir)
	if err != nil {
		return err
	}
	defer n.Close()
	ps, err := n.Store().Peers(ctx)
	if err != nil {
		return withExit(3, "", err)
	}
	dups, err := n.PeerDuplicates(ctx)
	if err != nil {
		return withExit(3, "", err)
	}
	out := []peer.Status{}
	for _, p := range ps {
		s := peer.StatusAt(p, time.Now(), time.Duration(n.Config().PeerInterval))
		s.DuplicateOf = dups[p.Name]
		out = append(out, s)
	}
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(map[string]any{"peers": out})
}
