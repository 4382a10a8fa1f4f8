package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/parley-exchange/parley/taxii"
	"github.com/parley-exchange/parley/tlog"
)

func init() {
	register(command{
		name:  "proof",
		usage: "proof --url U --token-file F [--log-key VKEY] [--peer-collection C] OBJECT_ID...   export a proof bundle to stdout",
		run:   runProof,
	})
}

// runProof fetches a proof bundle of every version of the objects that the
// member may read, verifies it (against --log-key when given) and writes
// it to stdout. With --peer-collection, the bundle is the node's proof, in
// its peer's log, of one object it replicated into that collection (GET
// /peers/bundle), and --log-key is the peer's key.
func runProof(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlagSet("proof")
	url := fs.String("url", "", "the node's `URL`")
	token := fs.String("token", "", "the member's API `TOKEN` (better: PARLEY_TOKEN or --token-file)")
	tokenFile := fs.String("token-file", "", "read the token from `FILE` (the token, or member add --json output)")
	logKey := fs.String("log-key", "", "the node's note verifier `KEY` to check the bundle against (with --peer-collection: the peer's)")
	peerColl := fs.String("peer-collection", "", "the `COLLECTION` (id or title) a node replicated the object into from a peer: get the proof in the peer's log, where its signer's key is")
	polFlags := addPolicyFlags(fs)
	skew := addClockSkewFlag(fs)
	// Flags may also follow the arguments (parley verify proof.json --log-key K).
	pos, err := parseInterspersed(c, fs, args)
	if err != nil {
		return err
	}
	if err := readToken(c.stderr, token, *tokenFile); err != nil {
		return err
	}
	if *url == "" || *token == "" || len(pos) == 0 {
		return usageErrorf("parley proof --url URL --token TOKEN indicator--…", "proof needs --url, --token and at least one object id")
	}
	pol, err := polFlags.policy()
	if err != nil {
		return err
	}
	cl := &tlog.Client{URL: *url, Token: *token, HTTP: c.httpClient()}
	var b []byte
	if *peerColl != "" {
		if len(pos) != 1 {
			return usageErrorf("parley proof --peer-collection C OBJECT_ID", "with --peer-collection, give one object id")
		}
		coll, err := resolveCollection(ctx, &taxii.Client{BaseURL: *url, Token: *token, HTTP: c.httpClient()}, *peerColl)
		if err != nil {
			return err
		}
		if b, err = cl.PeerBundle(ctx, coll, pos[0]); err != nil {
			return withExit(4, "check the collection: it must be one the node replicates from a peer, and the object one it replicated", err)
		}
		if *logKey == "" {
			fmt.Fprintln(c.stderr, "parley: warning: checked against the key the node says its peer has; pin the peer's key you trust with --log-key")
		}
	} else if b, err = cl.Bundle(ctx, pos...); err != nil {
		return withExit(4, "check the object ids: only objects you may read can be proved", err)
	}
	res, err := tlog.VerifyBundle(b, *logKey)
	if err != nil {
		return withExit(1, "the node served a bundle that doesn't verify; keep it as evidence", err)
	}
	if err := bundleQuorum(pol, b); err != nil {
		return err
	}
	if _, err := bundleTimes(c, pol, res, *skew); err != nil {
		return err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return withExit(3, "", errors.New("couldn't format the bundle"))
	}
	c.stdout.Write(out.Bytes())
	fmt.Fprintf(c.stderr, "parley: proof of %d object version(s) in %s at tree size %d\n", len(res.Items), res.Checkpoint.Origin, res.Checkpoint.Size)
	return nil
}
