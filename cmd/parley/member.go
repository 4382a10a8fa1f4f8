package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/parley-exchange/parley/internal/node"
	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/internal/untrusted"
)

func init() {
	register(command{
		name:  "member",
		usage: "member add --data DIR --name NAME [--pubkey FILE] [--json | --token-out FILE]   prints the member id and API token (also: member key rotate, member revoke, member token, member remove)",
		help:  "The operator registers a member organisation on its node, logs its key rotations and revocations, rotates or revokes its API tokens and removes it (run on the node's machine; these work while parley serve runs, and take effect on its next request).",
		subcommands: []subcommand{{name: "add", usage: "member add --data DIR --name NAME [--pubkey FILE] [--json | --token-out FILE]", help: `Registers a member: a STIX identity (printed as id) and an API token,
shown once (the node keeps only its SHA-256). --pubkey is the member's
Ed25519 public key (the FILE.pub of parley keygen); without one the
member can't share signed objects. Give the token to the member over a
safe channel; it goes into a file for --token-file. --token-out writes
that file ({"id": ..., "token": ...}, mode 0600, never over an existing
file) and keeps the token off the terminal.`},
			{name: "key", usage: "member key rotate --data DIR --member M --pubkey NEW.pub [--statement NEW.rotation]", help: `Logs a member's new key (a member key entry in clear). With --statement,
the file parley keygen --rotate CURRENT.key --out NEW wrote, the rotation
is signed by the member's key in force and recorded as the member's own;
without it, it is operator-asserted, and every client and audit shows it
as such.`},
			{name: "revoke", usage: "member revoke --data DIR --member M [--key-only]", help: `Logs a revocation: of the member (its tokens stop working and no key of it
is in force for later entries), or with --key-only of its key in force.
What it shared before stays, signed and verifiable.`},
			{name: "token", usage: "member token --data DIR --member M (--rotate | --revoke) [--json | --token-out FILE]", help: `Manages a member's API tokens. --rotate issues a new token, printed once
(the node keeps only its SHA-256) or written by --token-out to a new
0600 file, and revokes every token the member held before, in one
transaction. --revoke revokes all of them at once and
issues none (a leaked token: rotate later to let the member back in). The
member keeps its keys and access. The node caches no token, so a revoked
token fails on the next request to every front end of the store.`},
			{name: "remove", usage: "member remove --data DIR --member M", help: `Removes a member: it can no longer authenticate (every token revoked, no
new one can be issued) and is taken off every collection's readers and
writers. Unless it was revoked already, its revocation is logged as with
member revoke, so no key of it is in force for later entries. Its identity,
its objects and the log's entries stay: the log is append-only, and what
it shared before still verifies.`}},
		run: runMember,
	})
}

const memberUsage = "parley member add|key rotate|revoke|token|remove --data DIR ..."

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
	case len(args) > 0 && args[0] == "token":
		return runMemberToken(ctx, c, args[1:])
	case len(args) > 0 && args[0] == "remove":
		return runMemberRemove(ctx, c, args[1:])
	}
	return usageErrorf(memberUsage, "member needs a subcommand: add, key rotate, revoke, token or remove")
}

func runMemberAdd(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlagSet("member add")
	dir := fs.String("data", "", "the node's data `DIR`ectory")
	name := fs.String("name", "", "the member's `NAME` (an organisation)")
	pubFile := fs.String("pubkey", "", "the member's Ed25519 public key `FILE` (the .pub from parley keygen)")
	asJSON := fs.Bool("json", false, `print {"id": ..., "token": ...}`)
	tokenOut := fs.String("token-out", "", "write {\"id\": ..., \"token\": ...} to a new `FILE` (mode 0600) instead of printing the token")
	if err := c.parseFlags(fs, args); err != nil {
		return err
	}
	if *name == "" || fs.NArg() > 0 {
		return usageErrorf("parley member add --data DIR --name NAME [--pubkey FILE]", "member add needs --name and no arguments")
	}
	if *asJSON && *tokenOut != "" {
		return usageErrorf("--json prints the token, --token-out writes it to a file", "give --json or --token-out, not both")
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
	// The file is made before the member, so that a path that can't be
	// written changes nothing on the node.
	tf, err := createTokenFile(*tokenOut)
	if err != nil {
		return err
	}
	m, err := n.AddMember(ctx, *name, pub)
	if err != nil {
		tf.drop()
	}
	if errors.Is(err, store.ErrKeyHeld) {
		return usageErrorf("make a new key for this member (parley keygen --out FILE)", "%v", err)
	}
	if errors.Is(err, store.ErrConflict) {
		return usageErrorf("choose another name", "a member named %q exists", *name)
	}
	if errors.Is(err, store.ErrInvalid) {
		return usageErrorf("", "%v", err)
	}
	if err != nil {
		return withExit(3, "", err)
	}
	if err := showToken(c, tf, *asJSON, m, fmt.Sprintf("member %s was added; issue a new token with parley member token --data DIR --member %s --rotate --token-out FILE", m.ID, m.ID)); err != nil {
		return err
	}
	if tf == nil && !*asJSON {
		fmt.Fprintln(c.stderr, "parley: the token is shown only once; the node keeps only its hash")
	}
	return nil
}

// showToken hands a new token to the operator: written to tf (when not
// nil; a failed write is exit 3 with hint), printed as JSON, or printed as
// two lines.
func showToken(c *cli, tf *tokenFile, asJSON bool, nm node.NewMember, hint string) error {
	switch {
	case tf != nil:
		if err := tf.write(nm); err != nil {
			return withExit(3, hint, err)
		}
		fmt.Fprintf(c.stdout, "id:    %s\ntoken: written to %s\n", nm.ID, tf.name)
	case asJSON:
		return json.NewEncoder(c.stdout).Encode(nm)
	default:
		fmt.Fprintf(c.stdout, "id:    %s\ntoken: %s\n", nm.ID, nm.Token)
	}
	return nil
}

// tokenFile is a new file, mode 0600, for a member's token in the form
// --token-file reads ({"id": ..., "token": ...}). It is created before the
// token is issued, so that a path that can't be written fails before
// anything changes, and never over an existing file (O_EXCL), so a token
// file of another member is not lost and a planted link is not followed.
type tokenFile struct {
	f    *os.File
	name string
}

// createTokenFile creates name, or returns nil when name is empty.
func createTokenFile(name string) (*tokenFile, error) {
	if name == "" {
		return nil, nil
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil, usageErrorf("give a new file name, or remove the old file first", "%s exists; --token-out never overwrites a file", name)
	}
	if err != nil {
		return nil, withExit(3, "", fmt.Errorf("couldn't create the token file: %w", err))
	}
	// Reserve the file's space now, before the token is issued: on a full
	// disk the empty file is created but its content can't be written,
	// and a member added (or a token rotated) whose token is then lost
	// would be a change on the node that the operator has to undo.
	// write overwrites these bytes in place and cuts the file to the
	// token's length, which needs no new space.
	if _, err := writeTokenFileAt(f, bytes.Repeat([]byte{' '}, tokenFileReserve), 0); err != nil {
		f.Close()
		os.Remove(name)
		return nil, withExit(3, "", fmt.Errorf("couldn't write the token file %s: %w", name, err))
	}
	return &tokenFile{f: f, name: name}, nil
}

// tokenFileReserve is the space reserved in a token file before the token
// is issued: one block, more than the {"id": ..., "token": ...} line takes.
const tokenFileReserve = 4096

// writeTokenFileAt writes a token file's bytes; tests replace it to make
// the write fail as on a full disk.
var writeTokenFileAt = func(f *os.File, b []byte, off int64) (int, error) { return f.WriteAt(b, off) }

// write writes the token and closes the file; on error the file is
// removed.
func (t *tokenFile) write(m node.NewMember) error {
	var buf bytes.Buffer
	err := json.NewEncoder(&buf).Encode(m)
	if err == nil {
		_, err = writeTokenFileAt(t.f, buf.Bytes(), 0)
	}
	if err == nil {
		err = t.f.Truncate(int64(buf.Len()))
	}
	if err == nil {
		err = t.f.Sync()
	}
	if cerr := t.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(t.name)
		return fmt.Errorf("couldn't write the token file: %w", err)
	}
	return nil
}

// drop removes the file when no token was issued; nil does nothing.
func (t *tokenFile) drop() {
	if t != nil {
		t.f.Close()
		os.Remove(t.name)
	}
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
		b, err := untrusted.ReadFile(*stmtFile, maxSecretFile)
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
	if errors.Is(err, store.ErrKeyHeld) {
		return withExit(2, "make a new key for this member (parley keygen --rotate CURRENT.key --out NEW.key)", err)
	}
	if errors.Is(err, store.ErrInvalid) {
		hint := ""
		if stmt != nil && strings.Contains(err.Error(), "statement") {
			hint = "the statement must be signed by the member's key in force (parley keygen --rotate CURRENT.key)"
		}
		return withExit(2, hint, err)
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

// runMemberToken rotates (new token, old ones revoked) or revokes a
// member's API tokens.
func runMemberToken(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlagSet("member token")
	dir := fs.String("data", "", "the node's data `DIR`ectory")
	ref := fs.String("member", "", "the member's `NAME` or identity id")
	rotate := fs.Bool("rotate", false, "issue a new token (printed once) and revoke every earlier one")
	revoke := fs.Bool("revoke", false, "revoke every token of the member and issue none")
	asJSON := fs.Bool("json", false, `with --rotate, print {"id": ..., "token": ...} (the file --token-file reads)`)
	tokenOut := fs.String("token-out", "", "with --rotate, write {\"id\": ..., \"token\": ...} to a new `FILE` (mode 0600) instead of printing the token")
	if err := c.parseFlags(fs, args); err != nil {
		return err
	}
	if *ref == "" || *rotate == *revoke || fs.NArg() > 0 {
		return usageErrorf("parley member token --data DIR --member M (--rotate | --revoke)", "member token needs --member and exactly one of --rotate and --revoke, and no arguments")
	}
	if (*asJSON || *tokenOut != "") && !*rotate {
		return usageErrorf("--revoke issues no token", "--json and --token-out go with --rotate")
	}
	if *asJSON && *tokenOut != "" {
		return usageErrorf("--json prints the token, --token-out writes it to a file", "give --json or --token-out, not both")
	}
	n, m, err := openMember(ctx, *dir, *ref)
	if err != nil {
		return err
	}
	defer n.Close()
	if *revoke {
		count, err := n.RevokeTokens(ctx, m.ID)
		if err != nil {
			return withExit(3, "", err)
		}
		fmt.Fprintf(c.stdout, "revoked %d token(s) of %s (%s): none of them works any more; member token --rotate issues a new one\n", count, m.Name, m.ID)
		return nil
	}
	tf, err := createTokenFile(*tokenOut)
	if err != nil {
		return err
	}
	tok, count, err := n.RotateToken(ctx, m.ID)
	if err != nil {
		tf.drop()
	}
	if errors.Is(err, store.ErrInvalid) {
		return withExit(2, "a revoked or removed member gets no token; add it again under another name", err)
	}
	if err != nil {
		return withExit(3, "", err)
	}
	if err := showToken(c, tf, *asJSON, node.NewMember{ID: m.ID, Token: tok}, "the earlier tokens are revoked; rotate again to issue one you can keep"); err != nil {
		return err
	}
	if tf != nil {
		fmt.Fprintf(c.stderr, "parley: revoked %d earlier token(s) of %s; the node keeps only the new token's hash\n", count, m.Name)
	} else {
		fmt.Fprintf(c.stderr, "parley: revoked %d earlier token(s) of %s; the new token is shown only once, the node keeps only its hash\n", count, m.Name)
	}
	return nil
}

// runMemberRemove ends a member's access; its log entries and objects
// stay.
func runMemberRemove(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlagSet("member remove")
	dir := fs.String("data", "", "the node's data `DIR`ectory")
	ref := fs.String("member", "", "the member's `NAME` or identity id")
	if err := c.parseFlags(fs, args); err != nil {
		return err
	}
	if *ref == "" || fs.NArg() > 0 {
		return usageErrorf("parley member remove --data DIR --member M", "member remove needs --member and no arguments")
	}
	n, m, err := openMember(ctx, *dir, *ref)
	if err != nil {
		return err
	}
	defer n.Close()
	logged, err := n.RemoveMember(ctx, m.ID)
	if err != nil {
		return withExit(3, "run it again to finish the removal", err)
	}
	if logged {
		fmt.Fprintf(c.stdout, "removed %s (%s): its revocation is logged, its tokens no longer work and it is on no collection's access list; what it shared stays in the log\n", m.Name, m.ID)
	} else {
		fmt.Fprintf(c.stdout, "removed %s (%s), revoked before: its tokens no longer work and it is on no collection's access list; what it shared stays in the log\n", m.Name, m.ID)
	}
	return nil
}
