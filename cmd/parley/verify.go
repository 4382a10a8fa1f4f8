package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/parley-exchange/parley/internal/untrusted"
	"github.com/parley-exchange/parley/private"
	"github.com/parley-exchange/parley/tlog"
)

func init() {
	register(command{
		name:  "verify",
		usage: "verify [--log-key VKEY] [--require-key-index] [--witness-policy FILE] FILE   check a proof bundle, split-view or false key index evidence, or a kept private set receipt, offline (- for stdin)",
		run:   runVerify,
	})
}

// runVerify checks a proof bundle with no network access: exit 0 if it
// verifies, 1 naming the first failure, 2 for bad usage.
func runVerify(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlagSet("verify")
	logKey := fs.String("log-key", "", "the node's note verifier `KEY` you trust (recommended: without it the bundle's own key is used)")
	requireIndex := fs.Bool("require-key-index", false, "refuse a bundle without a key index (as nodes older than it made them), whose key entries may leave out a rotation or revocation")
	polFlags := addPolicyFlags(fs)
	skew := addClockSkewFlag(fs)
	// Flags may also follow the arguments (parley verify proof.json --log-key K).
	pos, err := parseInterspersed(c, fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErrorf("parley verify bundle.json", "verify needs one bundle file")
	}
	pol, err := polFlags.policy()
	if err != nil {
		return err
	}
	// A bundle over the bound fails here rather than being cut, which
	// would read as a bundle that was changed.
	data, err := readDocument(c, pos[0])
	if err != nil {
		return usageErrorf("", "couldn't read the bundle: %v", err)
	}
	if tlog.IsEvidence(data) {
		return verifyEvidence(c, *logKey, data)
	}
	if tlog.IsKeyIndexEvidence(data) {
		return verifyKeyIndexEvidence(c, *logKey, data)
	}
	if saved, ok := savedReceipt(data); ok {
		return verifySavedReceipt(c, *logKey, saved)
	}
	if t, ok := unknownType(data); ok {
		return withExit(1, "a newer parley may know it; this one verifies proof bundles (parley proof), split-view evidence and false key index evidence",
			fmt.Errorf("the file is of type %q, which this parley doesn't know: it verifies %s, %s and %s", untrusted.Text(t, 100), tlog.BundleType, tlog.EvidenceType, tlog.KeyIndexEvidenceType))
	}
	res, err := tlog.VerifyBundle(data, *logKey)
	if err != nil {
		return withExit(1, "the bundle or something in it was changed, or it isn't from the log you trust", err)
	}
	if *requireIndex && !res.KeysComplete {
		return withExit(1, "a node older than the key index made it, or someone dropped the index from it: parley audit against the log checks every signature with the whole key history; or verify without --require-key-index, at the risk its warning names", fmt.Errorf("the bundle has no key index, so nothing shows that its member key entries are all the log holds: %w", tlog.ErrKeyIndex))
	}
	if err := bundleQuorum(pol, data); err != nil {
		return err
	}
	times, err := bundleTimes(c, pol, res, *skew)
	if err != nil {
		return err
	}
	cp := res.Checkpoint
	fmt.Fprintf(c.stdout, "bundle verified: %d object version(s) in log %s at tree size %d, root %s\n", len(res.Items), cp.Origin, cp.Size, cp.Hash)
	for i, it := range res.Items {
		witnessed := ""
		if w := times[i]; w.Size > 0 {
			witnessed = fmt.Sprintf(", witnessed by %s at %s", w.Earliest.Witness, w.Earliest.Time.Format(time.RFC3339))
		}
		fmt.Fprintf(c.stdout, "  %s version %s: %s, received %s%s\n", it.Opening.ObjectID, it.Opening.Version,
			describeSigner(it.Opening.Member, it.Signed, it.Check), it.Entry.Received.Format("2006-01-02T15:04:05Z07:00"), witnessed)
	}
	// What a bundle can't show, said where its reader looks: whoever
	// made it chose which versions to put in (a later version, such as
	// a revocation, may be left out).
	fmt.Fprintf(c.stdout, "(a bundle proves that the versions it holds were logged, not that they are all there are: the log may hold later ones, such as a revocation; parley pull or audit against the log shows them)\n")
	warnNoKeyIndex(c, res)
	if *logKey == "" {
		fmt.Fprintf(c.stderr, "parley: warning: checked against the bundle's own log key %s; pin the key you trust with --log-key\n", res.LogKey)
	}
	return nil
}

// unknownType returns the "type" of a JSON document that names one this
// parley doesn't verify (evidence of a later format, say), so that verify
// says so instead of reading it as a proof bundle that was changed. A
// document without a type, or of any proof bundle type (the refused
// parley-proof-bundle-v1 among them), is left to tlog.VerifyBundle.
func unknownType(data []byte) (string, bool) {
	var head struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(data, &head) != nil || head.Type == "" || strings.HasPrefix(head.Type, "parley-proof-bundle-") {
		return "", false
	}
	return head.Type, true
}

// warnNoKeyIndex warns, for a bundle verified without a key index (one an
// older node made), that its key entries may not be all there are: the
// signatures were checked against the keys they show, and a rotation or
// revocation left out would leave an ended key looking in force.
func warnNoKeyIndex(c *cli, res tlog.BundleResult) {
	if !res.KeysComplete {
		fmt.Fprintf(c.stderr, "parley: warning: the bundle has no key index (a node older than it made the bundle, or, for a proof in a peer's log, the peer serves none), so nothing shows that its member key entries are all the log holds: a key rotation or revocation left out would make an object signed with a key the log had ended verify here; parley audit against the log checks every signature with the whole key history\n")
	}
}

// describeSigner says who vouched for an object and how far to trust it:
// signed by the member's key, operator-asserted when the operator alone
// put that key in force, and relayed when the object claims another
// creator, whose authorship nothing verifies.
func describeSigner(member string, signed bool, check tlog.ObjectCheck) string {
	var s string
	switch {
	case check.Foreign():
		s = "shared by " + member + ", signed with key " + base64.StdEncoding.EncodeToString(check.ForeignKey) + ", which this log doesn't hold (if the node replicated it from a peer, check it in the peer's log)"
	case !signed:
		s = "unsigned, shared by " + member
	case check.Signer.OperatorAsserted():
		s = "signed by " + member + " with an operator-asserted key (the operator rotated it in, without the member's signature)"
	default:
		s = "signed by " + member
	}
	if check.Relayed() {
		rest := ""
		switch {
		case check.Foreign():
			rest = "; signed with key " + base64.StdEncoding.EncodeToString(check.ForeignKey) + ", which this log doesn't hold (if the node replicated it from a peer, check it in the peer's log)"
		case !signed:
			rest = "; unsigned"
		default:
			rest = strings.TrimPrefix(s, "signed by "+member)
		}
		s = "relayed by " + member + "; claims to be from " + check.ClaimedCreator + " (not verified)" + rest
	}
	return s
}

// verifyEvidence checks split-view evidence (docs/witness.md): exit 0 only
// if it proves that the log's key signed two inconsistent checkpoints.
func verifyEvidence(c *cli, logKey string, data []byte) error {
	sv, err := tlog.VerifyEvidence(logKey, data)
	if err != nil {
		return withExit(1, "this evidence doesn't prove that the log's key signed inconsistent histories", err)
	}
	fmt.Fprintf(c.stdout, "evidence verified: the log's key signed inconsistent histories: %s\n", sv)
	if logKey == "" {
		fmt.Fprintln(c.stderr, "parley: warning: checked against the evidence's own log key; pin the key you trust with --log-key")
	}
	return nil
}

// savedReceipt reads data as a private set receipt as parley private
// check and parley private receipt keep it (private.SavedReceipt, which
// has no "type"): an object with "set" and "receipt".
func savedReceipt(data []byte) (private.SavedReceipt, bool) {
	var head struct {
		Type    string          `json:"type"`
		Set     string          `json:"set"`
		Receipt json.RawMessage `json:"receipt"`
	}
	if json.Unmarshal(data, &head) != nil || head.Type != "" || head.Set == "" || len(head.Receipt) == 0 {
		return private.SavedReceipt{}, false
	}
	var saved private.SavedReceipt
	if json.Unmarshal(data, &saved) != nil {
		return private.SavedReceipt{}, false
	}
	return saved, true
}

// verifySavedReceipt checks a kept private set receipt with the log key
// (which it must be given: the receipt names none), as parley private
// receipt --file does: exit 0 if it verifies, 1 if it doesn't.
func verifySavedReceipt(c *cli, logKey string, saved private.SavedReceipt) error {
	if logKey == "" {
		return usageErrorf("parley verify --log-key VKEY SAVED-RECEIPT", "a kept private set receipt is checked against the node's log key: give --log-key")
	}
	v, err := tlog.NewVerifier(logKey)
	if err != nil {
		return usageErrorf("", "--log-key: %v", err)
	}
	if err := saved.Verify(v); err != nil {
		return withExit(1, "this receipt doesn't prove what it claims of the set", fmt.Errorf("the private set receipt doesn't verify: %w", err))
	}
	fmt.Fprintln(c.stdout, "private set receipt verified")
	describeReceipt(c, saved, "")
	return nil
}
