package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/parley-exchange/parley/internal/untrusted"
	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/taxii"
	"github.com/parley-exchange/parley/tlog"
)

func init() {
	register(command{
		name:  "proof",
		usage: "proof --url U --token-file F [--log-key VKEY] [--seen FILE] [--peer-collection C] [--allow-no-key-index] OBJECT_ID...   export a proof bundle to stdout",
		run:   runProof,
	})
}

// runProof fetches a proof bundle of every version of the objects that the
// member may read, verifies it and writes it to stdout. The node's log is
// checked first, as every reader checks it ([trustFlags.pin]): its latest
// checkpoint signed by the key of --log-key, else the one pinned in the
// seen file (--seen, else the node's default one, shared with pull and
// audit), else the served one pinned on first use, and consistent with
// the seen file; a node that fails it is asked for no bundle. The
// bundle must then verify with that key, and its checkpoint be
// consistent with the seen file, which records it. With
// --peer-collection, the bundle is the node's proof, in its peer's log,
// of one object it replicated into that collection (GET /peers/bundle),
// and --log-key is the peer's key: the node's own log is checked with
// the key pinned for it in the seen file (or pinned on first use).
func runProof(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlagSet("proof")
	url := fs.String("url", "", "the node's `URL`")
	token := fs.String("token", "", "the member's API `TOKEN` (better: PARLEY_TOKEN or --token-file)")
	tokenFile := fs.String("token-file", "", "read the token from `FILE` (the token, or member add --json output)")
	logKey := fs.String("log-key", "", "the node's note verifier `KEY` to check the bundle against (with --peer-collection: the peer's)")
	peerColl := fs.String("peer-collection", "", "the `COLLECTION` (id or title) a node replicated the object into from a peer: get the proof in the peer's log, where its signer's key is")
	allowNoIndex := fs.Bool("allow-no-key-index", false, "accept a bundle without a key index, as nodes older than it send (with a warning): a current node always sends one, so one without is refused unless the node is known to be old")
	seenFile := fs.String("seen", "", "the `FILE` of checkpoints seen before, as pull and parley audit keep it: the node's log must be the one pinned there, and the bundle's checkpoint consistent with them (default: in the user config directory, one per node)")
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
		return usageErrorf("parley proof --url URL --token TOKEN indicator--…", "proof needs --url, --token and at least one object id%s",
			missing(required{"--url", *url != ""}, required{"--token-file (or --token)", *token != ""}, required{"an object id", len(pos) > 0}))
	}
	pol, err := polFlags.policy()
	if err != nil {
		return err
	}
	if *peerColl != "" {
		if len(pos) != 1 {
			return usageErrorf("parley proof --peer-collection C OBJECT_ID", "with --peer-collection, give one object id")
		}
		if *logKey == "" {
			// The node's word for its peer's key would prove nothing
			// about the node's copies.
			return usageErrorf("give the peer's log key, from its operator", "with --peer-collection, --log-key is the peer's key and must be given")
		}
	}
	// The node's log first, as every reader checks it: a node showing
	// another log, a fork of the pinned one or one gone back is asked
	// for nothing, and nothing of it is printed. With --peer-collection,
	// --log-key is the peer's: the node's is the one pinned for it.
	nodeKey := *logKey
	if *peerColl != "" {
		nodeKey = ""
	}
	trust := &trustFlags{cmd: "proof", logKey: &nodeKey, seen: seenFile}
	if *peerColl == "" {
		// The policy is of the node's log (with --peer-collection, of
		// the peer's: its bundle is checked against it).
		trust.readPolicy = pol
	}
	p, err := trust.pin(ctx, c, *url, *token)
	if err != nil {
		return err
	}
	if err := p.seen.Save(); err != nil {
		return withExit(3, "", err)
	}
	if pol == nil && *peerColl == "" {
		// No policy flags: the one recorded for the seen file, which
		// the node's latest checkpoint met ([trustFlags.pin]), holds
		// for the bundle's checkpoint too, as with the flags (and as
		// pull checks its objects' checkpoints against it).
		pol = p.policy
	}
	cl := &tlog.Client{URL: *url, Token: *token, HTTP: c.httpClient()}
	var (
		b      []byte
		copies [][]byte // with --peer-collection: the node's own copies
	)
	bundleKey := *logKey
	if *peerColl != "" {
		tc := &taxii.Client{BaseURL: *url, Token: *token, HTTP: c.httpClient()}
		coll, err := resolveCollection(ctx, tc, *peerColl)
		if err != nil {
			return err
		}
		if copies, err = objectCopies(ctx, tc, coll, pos[0]); err != nil {
			return withExit(4, "check the collection and the object id", err)
		}
		if b, err = retryUnavailable(ctx, func() ([]byte, error) { return cl.PeerBundle(ctx, coll, pos[0]) }); err != nil {
			if unavailable(err) {
				return withExit(4, "the node has no replicated checkpoint of the peer's log with this version yet; retry later", err)
			}
			return withExit(4, "check the collection: it must be one the node replicates from a peer, and the object one it replicated", err)
		}
	} else if b, err = retryUnavailable(ctx, func() ([]byte, error) { return cl.Bundle(ctx, pos...) }); err != nil {
		if unavailable(err) {
			return withExit(4, "the node has signed no checkpoint with these objects yet, or is busy; retry later", err)
		}
		var he *tlog.HTTPError
		if errors.As(err, &he) && he.Code == http.StatusUnauthorized {
			return withExit(4, "check "+tokenFlag, err)
		}
		return withExit(4, "check the object ids: only objects you may read can be proved", err)
	} else {
		bundleKey = p.key
	}
	res, err := tlog.VerifyBundle(b, bundleKey)
	if err != nil {
		// The hint says to keep it: stdout gets it as served.
		c.stdout.Write(b)
		return withExit(1, "the node served a bundle that doesn't verify; keep it (written to stdout, as served) as evidence", err)
	}
	if !res.KeysComplete && copies == nil && !*allowNoIndex {
		// A current node always signs a key index into its bundles; an
		// answer without one is a node that dropped it (so that a
		// rotation or revocation it leaves out goes unnoticed) or a node
		// older than it. Peer bundles carry none by design (the node
		// holds no index the peer signed).
		c.stdout.Write(b)
		return withExit(1, "a node of this version always sends a key index; if the node is older than the key index, run again with --allow-no-key-index (the bundle, written to stdout as served, then can't show that its key entries are complete)", fmt.Errorf("the node's bundle has no key index, so nothing shows that its member key entries are all the log holds: %w", tlog.ErrKeyIndex))
	}
	if copies != nil {
		if err := provesCopies(c, b, res, pos[0], copies); err != nil {
			writeIndented(c, b)
			var ns *notSignedThereError
			if errors.As(err, &ns) {
				// Not the node's fault: the peer's log holds the copy,
				// but doesn't say who signed it.
				return withExit(1, "the bundle (written to stdout) proves that the peer's log holds the node's copy, not who signed it: the peer logged it unsigned, or under a member it registered without a key (what a node replicates from yet another node, whose log says who signed it: follow that node, or ask its operator)", err)
			}
			return withExit(1, "the node's copy isn't what the peer's log holds signed; keep the bundle (written to stdout) as evidence", err)
		}
	}
	if err := bundleQuorum(pol, b); err != nil {
		return err
	}
	if copies == nil {
		// The bundle's checkpoint, of the node's log, against every one
		// seen before: a bundle from a fork of the log, or from one
		// gone back behind them, is refused; the seen file records it.
		var bn tlog.Bundle
		if err := json.Unmarshal(b, &bn); err != nil {
			return withExit(1, "", fmt.Errorf("couldn't read the bundle's checkpoint: %w", err))
		}
		p.seen.Policy = pol // its witnesses' lines verified before they are kept
		cerr := p.seen.CheckConsistent(ctx, []byte(bn.Checkpoint), p.verifier, cl)
		if err := p.seen.Save(); err != nil { // also a fork's checkpoints, as evidence
			return withExit(3, "", err)
		}
		switch {
		case cerr == nil:
		case errors.Is(cerr, tlog.ErrBehind):
			return withExit(4, logBehindHint, fmt.Errorf("proof used nothing from the node: %w", cerr))
		case !errors.Is(cerr, tlog.ErrProof):
			return withExit(4, nodeReadHint(cerr), fmt.Errorf("couldn't check the bundle's checkpoint against the seen file, so proof used nothing from the node: %w", cerr))
		default:
			return withExit(1, "the conflicting checkpoints are kept as evidence in "+untrusted.Text(p.seenPath, 200), fmt.Errorf("proof used nothing from the node: %w", cerr))
		}
	}
	if _, err := bundleTimes(c, pol, res, *skew); err != nil {
		return err
	}
	if err := writeIndented(c, b); err != nil {
		return withExit(3, "", err)
	}
	fmt.Fprintf(c.stderr, "parley: proof of %d object version(s) in %s at tree size %d\n", len(res.Items), untrusted.Text(res.Checkpoint.Origin, 200), res.Checkpoint.Size)
	warnNoKeyIndex(c, res)
	warnUnknownFields(c, res)
	return nil
}

// writeIndented writes the verified bundle b to stdout, indented.
func writeIndented(c *cli, b []byte) error {
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return errors.New("couldn't format the bundle")
	}
	c.stdout.Write(out.Bytes())
	return nil
}

// notSignedThereError is provesCopies' answer when a copy of the node is,
// byte for byte, an item of the peer's bundle, but one that the peer's
// log holds unsigned or signed with a key it doesn't hold: the node
// copied it faithfully, and the peer's log doesn't say who signed it
// (the peer replicated it from a third node, as when C follows A's copy
// of B's collection).
type notSignedThereError struct {
	id, version, origin string
	index               uint64
	signer              string
}

func (e *notSignedThereError) Error() string {
	return fmt.Sprintf("version %s of %s is entry %d of %s, which doesn't say who signed it: %s", e.version, e.id, e.index, e.origin, e.signer)
}

// objectCopies returns the canonical JSON of every version of object id
// that the node serves in collection coll.
func objectCopies(ctx context.Context, tc *taxii.Client, coll, id string) ([][]byte, error) {
	var out [][]byte
	for env, err := range tc.ObjectPages(ctx, coll, taxii.Query{IDs: []string{id}, Versions: taxii.VersionMatch{All: true}}) {
		if err != nil {
			return nil, fmt.Errorf("couldn't read %s from the node: %w", id, err)
		}
		for _, o := range env.Objects {
			canon, err := stix.Canonicalize(o)
			if err != nil {
				return nil, fmt.Errorf("the node served %s as invalid JSON: %w", id, err)
			}
			out = append(out, canon)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the node serves no %s in that collection", id)
	}
	return out, nil
}

// provesCopies checks that the peer bundle b, verified as res, proves the
// node's copies of object id: every item is of id, and each copy is, byte
// for byte (canonical JSON), an item signed by a key the peer's log gave
// the member who shared it there. It says, for each copy, who signed it
// in the peer's log. A copy missing from the bundle is an error of its
// own; a copy that is an item the peer's log holds unsigned or signed
// with a key it doesn't hold gives a [notSignedThereError]: the copy is
// faithful, but nothing says who signed it.
func provesCopies(c *cli, b []byte, res tlog.BundleResult, id string, copies [][]byte) error {
	var bundle tlog.Bundle
	if err := json.Unmarshal(b, &bundle); err != nil || len(bundle.Items) != len(res.Items) {
		return fmt.Errorf("couldn't read the bundle's objects")
	}
	signed := map[string]tlog.VerifiedItem{}
	unproved := map[string]tlog.VerifiedItem{} // in the bundle, but unsigned or foreign there
	for i, it := range res.Items {
		if it.Opening.ObjectID != id {
			return fmt.Errorf("the bundle holds %s, not only %s", it.Opening.ObjectID, id)
		}
		canon, err := stix.Canonicalize(bundle.Items[i].Object)
		if err != nil {
			return fmt.Errorf("the bundle's %s isn't valid JSON: %w", id, err)
		}
		if it.Signed && !it.Check.Foreign() {
			signed[string(canon)] = it
		} else {
			unproved[string(canon)] = it
		}
	}
	// A copy the bundle lacks is the node's doing and is reported first;
	// one the peer's log holds without saying who signed it is not.
	var notSigned error
	for _, cp := range copies {
		it, ok := signed[string(cp)]
		if u, in := unproved[string(cp)]; !ok && in {
			if notSigned == nil {
				notSigned = &notSignedThereError{id: id, version: u.Opening.Version, origin: res.Checkpoint.Origin, index: u.Index,
					signer: describeSigner(u.Opening.Member, u.Signed, u.Check)}
			}
			continue
		}
		if !ok {
			return fmt.Errorf("a version of %s the node serves isn't in the bundle signed by a member of the peer's log", id)
		}
		fmt.Fprintf(c.stderr, "parley: %s version %s: the node's copy is entry %d of %s, %s\n", untrusted.Text(id, 200), untrusted.Text(it.Opening.Version, 100), it.Index, untrusted.Text(res.Checkpoint.Origin, 200), describeSigner(it.Opening.Member, it.Signed, it.Check))
	}
	return notSigned
}

// proofRetry is how long parley proof keeps asking while the node answers
// 503: an object not yet in a signed checkpoint (the node signs one within
// a second of a push, and a standby process takes the integration over
// within 10 s of the integrating one stopping), a peer's version not yet
// in a replicated checkpoint, a store restarting or a busy node.
const proofRetry = 20 * time.Second

// retryUnavailable calls fetch until it succeeds, fails otherwise than
// with a 503 from the node, or proofRetry has passed, a second apart.
func retryUnavailable(ctx context.Context, fetch func() ([]byte, error)) ([]byte, error) {
	deadline := time.Now().Add(proofRetry)
	for {
		b, err := fetch()
		if err == nil || !unavailable(err) || time.Now().After(deadline) {
			return b, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(time.Second):
		}
	}
}

// unavailable reports whether err is the node's 503 Service Unavailable
// answer.
func unavailable(err error) bool {
	var he *tlog.HTTPError
	return errors.As(err, &he) && he.Code == http.StatusServiceUnavailable
}
