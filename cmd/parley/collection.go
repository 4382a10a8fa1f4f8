package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/parley-exchange/parley/internal/node"
	"github.com/parley-exchange/parley/internal/store"
)

func init() {
	register(command{
		name:  "collection",
		usage: "collection add --data DIR --title T --read M,... --write M,... [--signatures required|optional] [--relay] [--json]",
		help:  "The operator makes TAXII collections on its node (run on the node's machine); access is default deny.",
		subcommands: []subcommand{{name: "add", usage: "collection add --data DIR --title T --read M,... --write M,... [--signatures required|optional] [--relay] [--json]",
			help: `Makes a collection and prints its id; its title is unique on the node,
as commands name collections by title too. Only the members named in --read
may read it and only those in --write may write it (names or identity
ids); to anyone else it does not exist. With --relay, writers may share
objects they did not author: their signature vouches for the relay.`}},
		run: runCollection,
	})
}

func runCollection(ctx context.Context, c *cli, args []string) error {
	if len(args) == 0 || args[0] != "add" {
		return usageErrorf("parley collection add --data DIR --title T --read M,... --write M,...", "collection needs the subcommand add")
	}
	fs := c.newFlagSet("collection add")
	dir := fs.String("data", "", "the node's data `DIR`ectory")
	title := fs.String("title", "", "the collection's `TITLE`")
	desc := fs.String("description", "", "a `DESCRIPTION`")
	read := fs.String("read", "", "`MEMBERS` (names or identity ids, comma-separated) who may read")
	write := fs.String("write", "", "`MEMBERS` who may write")
	sigs := fs.String("signatures", "required", "signature `POLICY`: required, or optional to accept unsigned objects")
	relay := fs.Bool("relay", false, "make a relay collection: writers may share objects they did not author (another created_by_ref, or none); their signature vouches for the relay, not the authorship")
	asJSON := fs.Bool("json", false, `print {"id": ...}`)
	if err := c.parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *title == "" || fs.NArg() > 0 {
		return usageErrorf("parley collection add --data DIR --title T --read M,... --write M,...", "collection add needs --title and no arguments")
	}
	policy := store.SignaturePolicy(*sigs)
	if policy != store.SignaturesRequired && policy != store.SignaturesOptional {
		return usageErrorf("use --signatures required or --signatures optional", "unknown signature policy %q", *sigs)
	}
	n, err := openNode(ctx, *dir)
	if err != nil {
		return err
	}
	defer n.Close()
	id, err := n.CreateCollection(ctx, node.CollectionSpec{
		Title: *title, Description: *desc, Readers: split(*read), Writers: split(*write),
		Signatures: policy, Relay: *relay,
	})
	if errors.Is(err, store.ErrNotFound) {
		return usageErrorf("add the member first with parley member add", "%v", err)
	}
	if errors.Is(err, store.ErrInvalid) {
		return usageErrorf("", "%v", err)
	}
	if errors.Is(err, store.ErrConflict) {
		return usageErrorf("choose another title; the existing collection keeps its members", "%v", err)
	}
	if err != nil {
		return withExit(3, "", err)
	}
	if *asJSON {
		return json.NewEncoder(c.stdout).Encode(map[string]string{"id": id})
	}
	fmt.Fprintln(c.stdout, id)
	return nil
}

func split(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
