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
		usage: "collection add --data DIR --title T --read M,... --write M,... [--signatures required|optional] [--relay] [--json]   make a collection, default deny (also: collection grant, collection revoke)",
		help:  "The operator makes TAXII collections on its node (run on the node's machine); access is default deny.",
		subcommands: []subcommand{{name: "add", usage: "collection add --data DIR --title T --read M,... --write M,... [--signatures required|optional] [--relay] [--json]",
			help: `Makes a collection and prints its id; its title is unique on the node,
as commands name collections by title too. Only the members named in --read
may read it and only those in --write may write it (names or identity
ids); to anyone else it does not exist. With --relay, writers may share
objects they did not author: their signature vouches for the relay.`},
			{name: "revoke", usage: "collection revoke --data DIR --collection C --member M [--read] [--write]",
				help: `Takes away a member's read (--read), write (--write) or, with neither,
both on a collection (its id or title), at once on a running node and on
every front end of its store: the member's next request, an open web UI
session's included, sees the collection as it now may. What it read
before is not taken back; what it wrote stays in the log.`},
			{name: "grant", usage: "collection grant --data DIR --collection C --member M [--read] [--write]",
				help: `Gives an existing member read (--read), write (--write) or, with
neither, both on a collection (its id or title), keeping what it has, at
once on a running node and on every front end of its store: the
member's next request, an open web UI session's included, sees the
collection as it now may. A member revoked (member revoke) or removed
(member remove) is refused: its access ended for good.`}},
		run: runCollection,
	})
}

func runCollection(ctx context.Context, c *cli, args []string) error {
	if len(args) > 0 && args[0] == "revoke" {
		return runCollectionRevoke(ctx, c, args[1:])
	}
	if len(args) > 0 && args[0] == "grant" {
		return runCollectionGrant(ctx, c, args[1:])
	}
	if len(args) == 0 || args[0] != "add" {
		return usageErrorf("parley collection add --data DIR --title T --read M,... --write M,...", "collection needs the subcommand add, grant or revoke")
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
	if errors.Is(err, node.ErrSystemMember) {
		return usageErrorf(systemMemberHint, "%v", err)
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

// accessRequest is what collection grant and collection revoke are
// asked: a member's read and/or write on a collection.
type accessRequest struct {
	dir, collection, member string
	read, write             bool
}

// parseAccess parses the flags of collection grant or revoke (sub),
// whose --read and --write help verb gives ("give it", "take away its"):
// --collection and --member are required, no arguments are taken, and
// neither --read nor --write means both.
func parseAccess(c *cli, sub, verb string, args []string) (accessRequest, error) {
	usage := "parley collection " + sub + " --data DIR --collection C --member M [--read] [--write]"
	fs := c.newFlagSet("collection " + sub)
	dir := fs.String("data", "", "the node's data `DIR`ectory")
	coll := fs.String("collection", "", "the collection's id or `TITLE`")
	ref := fs.String("member", "", "the member's `NAME` or identity id")
	read := fs.Bool("read", false, verb+" read (with neither --read nor --write: both)")
	write := fs.Bool("write", false, verb+" write")
	if err := c.parseFlags(fs, args); err != nil {
		return accessRequest{}, err
	}
	if *coll == "" || *ref == "" || fs.NArg() > 0 {
		return accessRequest{}, usageErrorf(usage, "collection %s needs --collection and --member, and no arguments", sub)
	}
	if !*read && !*write {
		*read, *write = true, true
	}
	return accessRequest{dir: *dir, collection: *coll, member: *ref, read: *read, write: *write}, nil
}

// what names the access asked: "read", "write" or "read and write".
func (a accessRequest) what() string {
	switch {
	case !a.write:
		return "read"
	case !a.read:
		return "write"
	}
	return "read and write"
}

// runCollectionRevoke takes away a member's read and/or write on a
// collection.
func runCollectionRevoke(ctx context.Context, c *cli, args []string) error {
	a, err := parseAccess(c, "revoke", "take away its", args)
	if err != nil {
		return err
	}
	n, err := openNode(ctx, a.dir)
	if err != nil {
		return err
	}
	defer n.Close()
	col, m, err := n.RevokeAccess(ctx, a.collection, a.member, a.read, a.write)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) {
		return usageErrorf("check the names: collection add and member add printed them", "%v", err)
	}
	if err != nil {
		return withExit(3, "", err)
	}
	fmt.Fprintf(c.stdout, "took away the %s of %s (%s) on %s (%s): its next request sees it; what it wrote stays in the log\n", a.what(), m.Name, m.ID, col.Title, col.ID)
	return nil
}

// runCollectionGrant gives a member read and/or write on a collection.
func runCollectionGrant(ctx context.Context, c *cli, args []string) error {
	a, err := parseAccess(c, "grant", "give it", args)
	if err != nil {
		return err
	}
	n, err := openNode(ctx, a.dir)
	if err != nil {
		return err
	}
	defer n.Close()
	col, m, err := n.GrantAccess(ctx, a.collection, a.member, a.read, a.write)
	if errors.Is(err, node.ErrSystemMember) {
		return usageErrorf(systemMemberHint, "%v", err)
	}
	if errors.Is(err, store.ErrNotFound) {
		return usageErrorf("check the names: collection add and member add printed them", "%v", err)
	}
	if errors.Is(err, store.ErrInvalid) {
		return usageErrorf("a revoked or removed member's access ended for good: add it again as a new member", "%v", err)
	}
	if errors.Is(err, store.ErrConflict) {
		return usageErrorf("give --read alone: a followed peer's collection is read-only (docs/federation.md)", "%v", err)
	}
	if err != nil {
		return withExit(3, "", err)
	}
	fmt.Fprintf(c.stdout, "gave %s (%s) %s on %s (%s), keeping what it had: its next request sees it\n", m.Name, m.ID, a.what(), col.Title, col.ID)
	return nil
}

// systemMemberHint is the hint of a grant to a peer's or a feed's member
// (node.ErrSystemMember).
const systemMemberHint = "grant read to the members who read the peer's or feed's collection: its own member (peer:NAME, feed:NAME) has no token, and the node alone writes as it"
