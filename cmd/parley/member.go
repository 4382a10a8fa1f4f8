package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/parley-exchange/parley/internal/store"
)

func init() {
	register(command{
		name:  "member",
		usage: "member add --data DIR --name NAME [--pubkey FILE] [--json]   prints the member id and API token",
		help:  "The operator registers a member organisation on its node (run on the node's machine).",
		subcommands: []subcommand{{name: "add", usage: "member add --data DIR --name NAME [--pubkey FILE] [--json]", help: `Registers a member: a STIX identity (printed as id) and an API token,
shown once (the node keeps only its SHA-256). --pubkey is the member's
Ed25519 public key (the FILE.pub of parley keygen); without one the
member can't share signed objects. Give the token to the member over a
safe channel; it goes into a file for --token-file.`}},
		run: runMember,
	})
}

func runMember(ctx context.Context, c *cli, args []string) error {
	if len(args) == 0 || args[0] != "add" {
		return usageErrorf("parley member add --data DIR --name NAME [--pubkey FILE]", "member needs the subcommand add")
	}
	fs := c.newFlagSet("member add")
	dir := fs.String("data", "", "the node's data `DIR`ectory")
	name := fs.String("name", "", "the member's `NAME` (an organisation)")
	pubFile := fs.String("pubkey", "", "the member's Ed25519 public key `FILE` (the .pub from parley keygen)")
	asJSON := fs.Bool("json", false, `print {"id": ..., "token": ...}`)
	if err := c.parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *name == "" || fs.NArg() > 0 {
		return usageErrorf("parley member add --data DIR --name NAME [--pubkey FILE]", "member add needs --name and no arguments")
	}
	var pub ed25519.PublicKey
	if *pubFile != "" {
		var err error
		if pub, err = readPublicKey(*pubFile); err != nil {
			return err
		}
	}
	n, err := openNode(ctx, *dir)
	if err != nil {
		return err
	}
	defer n.Close()
	m, err := n.AddMember(ctx, *name, pub)
	if errors.Is(err, store.ErrConflict) {
		return usageErrorf("choose another name", "a member named %q exists", *name)
	}
	if errors.Is(err, store.ErrInvalid) {
		return usageErrorf("", "%v", err)
	}
	if err != nil {
		return withExit(3, "", err)
	}
	if *asJSON {
		return json.NewEncoder(c.stdout).Encode(m)
	}
	fmt.Fprintf(c.stdout, "id:    %s\ntoken: %s\n", m.ID, m.Token)
	fmt.Fprintln(c.stderr, "parley: the token is shown only once; the node keeps only its hash")
	return nil
}
