package main

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/parley-exchange/parley/internal/node"
	"github.com/parley-exchange/parley/internal/store"
)

func init() {
	register(command{
		name:  "member",
		usage: "member add --data DIR --name NAME [--pubkey FILE] [--json]   prints the member id and API token (also: member key rotate, member revoke)",
		help:  "The operator registers a member organisation on its node and logs its key rotations and revocations (run on the node's machine).",
		subcommands: []subcommand{{name: "add", usage: "member add --data DIR --name NAME [--pubkey FILE] [--json]", help: `Registers a member: a STIX identity (printed as id) and an API token,
shown once (the node keeps only its SHA-256). --pubkey is the member's
Ed25519 public key (the FILE.pub of parley keygen); without one the
member can't share signed objects. Give the token to the member over a
safe channel; it goes into a file for --token-file.`},
			{name: "key", usage: "member key rotate --data DIR --member M --pubkey NEW.pub [--statement NEW.rotation]", help: `Logs a member's new key (a member key entry in clear). With --statement,
the file parley keygen --rotate CURRENT.key --out NEW wrote, the rotation
is signed by the member's key in force and recorded as the member's own;
without it, it is operator-asserted, and every client and audit shows it
as such.`},
			{name: "revoke", usage: "member revoke --data DIR --member M [--key-only]", help: `Logs a revocation: of the member (its tokens stop working and no key of it
is in force for later entries), or with --key-only of its key in force.
What it shared before stays, signed and verifiable.`}},
		run: runMember,
	})
}

const memberUsage = "parley member add|key rotate|revoke --data DIR ..."

func runMember(ctx context.Context, c *cli, args []string) error {
	switch {
	case len(args) > 0 && args[0] == "add":
		return runMemberAdd(ctx, c, args[1:])
	case len(args) > 0 && args[0] == "key":
		rest := args[1:]
		if len(rest) > 0 && rest[0] == "rotate" {
			rest = rest[1:]
		}
		return runMemberKeyRotate(ctx, c, rest)
	case len(args) > 0 && args[0] == "revoke":
		return runMemberRevoke(ctx, c, args[1:])
	}
	return usageErrorf(memberUsage, "member needs a subcommand: add, key rotate or revoke")
}

func runMemberAdd(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlagSet("member add")
	dir := fs.String("data", "", "the node's data `DIR`ectory")
	name := fs.String("name", "", "the member's `NAME` (an organisation)")
	pubFile := fs.String("pubkey", "", "the member's Ed25519 public key `FILE` (the .pub from parley keygen)")
	asJSON := fs.Bool("json", false, `print {"id": ..., "token": ...}`)
	if err := c.parseFlags(fs, args); err != nil {
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

// runMemberKeyRotate logs a member's new key. With --statement (from the
// member's `parley keygen --rotate`), the rotation is the member's own;
// without, it is operator-asserted, and every client says so.
func runMemberKeyRotate(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlagSet("member key")
	dir := fs.String("data", "", "the node's data `DIR`ectory")
	ref := fs.String("member", "", "the member's `NAME` or identity id")
	pubFile := fs.String("pubkey", "", "the member's new public key `FILE` (NEW.pub from parley keygen --rotate)")
	stmtFile := fs.String("statement", "", "the rotation statement `FILE` signed by the member's previous key (NEW.rotation from parley keygen --rotate); without it the rotation is operator-asserted")
	if err := c.parseFlags(fs, args); err != nil {
		return err
	}
	if *ref == "" || *pubFile == "" || fs.NArg() > 0 {
		return usageErrorf("parley member key rotate --data DIR --member M --pubkey NEW.pub [--statement NEW.rotation]", "member key rotate needs --member and --pubkey, and no arguments")
	}
	pub, err := readPublicKey(*pubFile)
	if err != nil {
		return err
	}
	var stmt []byte
	if *stmtFile != "" {
		b, err := os.ReadFile(*stmtFile)
		if err != nil {
			return usageErrorf("", "couldn't read the rotation statement: %v", err)
		}
		if stmt, err = base64.StdEncoding.Strict().DecodeString(strings.TrimSpace(string(b))); err != nil || len(stmt) != ed25519.SignatureSize {
			return usageErrorf("give the .rotation file parley keygen --rotate wrote", "%s is not a rotation statement (base64 of a 64-byte signature)", *stmtFile)
		}
	}
	n, m, err := openMember(ctx, *dir, *ref)
	if err != nil {
		return err
	}
	defer n.Close()
	err = n.RotateKey(ctx, m.ID, pub, stmt)
	if errors.Is(err, store.ErrInvalid) {
		return withExit(2, "the statement must be signed by the member's key in force (parley keygen --rotate CURRENT.key)", err)
	}
	if err != nil {
		return withExit(3, "", err)
	}
	if stmt != nil {
		fmt.Fprintf(c.stdout, "rotated the key of %s (%s), signed by its previous key\n", m.Name, m.ID)
	} else {
		fmt.Fprintf(c.stdout, "rotated the key of %s (%s) on the operator's word: clients show this key as operator-asserted\n", m.Name, m.ID)
	}
	return nil
}

// openMember opens the node in dir and finds the member named or with id
// ref; the caller closes the node.
func openMember(ctx context.Context, dir, ref string) (*node.Node, store.Member, error) {
	n, err := openNode(ctx, dir)
	if err != nil {
		return nil, store.Member{}, err
	}
	m, err := n.ResolveMember(ctx, ref)
	if err != nil {
		n.Close()
		if errors.Is(err, store.ErrNotFound) {
			return nil, m, usageErrorf("check the name: member add printed it", "%v", err)
		}
		return nil, m, withExit(3, "", err)
	}
	return n, m, nil
}

// runMemberRevoke logs the revocation of a member (or only of its key).
func runMemberRevoke(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlagSet("member revoke")
	dir := fs.String("data", "", "the node's data `DIR`ectory")
	ref := fs.String("member", "", "the member's `NAME` or identity id")
	keyOnly := fs.Bool("key-only", false, "revoke only the member's key in force (it was compromised), not the member")
	if err := c.parseFlags(fs, args); err != nil {
		return err
	}
	if *ref == "" || fs.NArg() > 0 {
		return usageErrorf("parley member revoke --data DIR --member M [--key-only]", "member revoke needs --member and no arguments")
	}
	n, m, err := openMember(ctx, *dir, *ref)
	if err != nil {
		return err
	}
	defer n.Close()
	if *keyOnly {
		err = n.RevokeKey(ctx, m.ID)
	} else {
		err = n.RevokeMember(ctx, m.ID)
	}
	if errors.Is(err, store.ErrInvalid) {
		return withExit(2, "", err)
	}
	if err != nil {
		return withExit(3, "", err)
	}
	if *keyOnly {
		fmt.Fprintf(c.stdout, "revoked the key of %s (%s): signatures by it at later log positions fail\n", m.Name, m.ID)
	} else {
		fmt.Fprintf(c.stdout, "revoked %s (%s): its tokens no longer work and no key of it is in force for later entries\n", m.Name, m.ID)
	}
	return nil
}
