package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/parley-exchange/parley/internal/untrusted"
	"github.com/parley-exchange/parley/opinion"
	"github.com/parley-exchange/parley/private"
	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/tlog"
)

func init() {
	register(command{
		name:  "verify",
		usage: "verify [--log-key VKEY] [--require-key-index] [--witness-policy FILE] FILE   check a proof bundle, split-view or false key index evidence, a concurrence answer (parley concurrence --json) or a kept private set receipt offline (- for stdin); verify --receipt RECEIPT --log-key VKEY [--witness-policy FILE] OBJECT   check that a receipt proves an object was logged",
		run:   runVerify,
	})
}

// documentKinds names the kinds of document data reads as, by its
// top-level names: one at most for any document parley writes. A file
// that reads as two (a concurrence answer with a kept receipt's "set"
// and "receipt" beside, say) was verified as the first that matched,
// the other's fields passed over as unknown, and its verified line
// answered a question its reader may not have asked.
func documentKinds(data []byte) []string {
	var kinds []string
	for _, k := range []struct {
		name string
		is   func([]byte) bool
	}{
		{"split-view evidence", tlog.IsEvidence},
		{"false key index evidence", tlog.IsKeyIndexEvidence},
		{"a concurrence answer", opinion.IsConcurrence},
		{"a kept private set receipt", private.IsSavedReceipt},
	} {
		if k.is(data) {
			kinds = append(kinds, k.name)
		}
	}
	return kinds
}

// runVerify checks a proof bundle with no network access: exit 0 if it
// verifies, 1 naming the first failure, 2 for bad usage.
func runVerify(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlagSet("verify")
	logKey := fs.String("log-key", "", "the node's note verifier `KEY` you trust (recommended: without it the bundle's own key is used)")
	requireIndex := fs.Bool("require-key-index", false, "refuse a bundle without a key index (as nodes older than it made them), whose key entries may leave out a rotation or revocation")
	receipt := fs.String("receipt", "", "check that the receipt in `FILE` (GET /log/receipt) proves that the object in the file argument (the object alone, or a STIX bundle or TAXII envelope holding it) was logged (needs --log-key)")
	polFlags := addPolicyFlags(fs)
	skew := addClockSkewFlag(fs)
	// Flags may also follow the arguments (parley verify proof.json --log-key K).
	pos, err := parseInterspersed(c, fs, args)
	if err != nil {
		return err
	}
	if *receipt != "" {
		return verifyReceipt(c, *receipt, pos, *logKey, *requireIndex, polFlags, *skew)
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
	if kinds := documentKinds(data); len(kinds) > 1 {
		return withExit(1, "give each document in a file of its own, as parley wrote it",
			fmt.Errorf("the file reads as %s: refused, since each would verify another part of it", strings.Join(kinds, " and as ")))
	}
	if tlog.IsEvidence(data) {
		return verifyEvidence(c, *logKey, data)
	}
	if tlog.IsKeyIndexEvidence(data) {
		return verifyKeyIndexEvidence(c, *logKey, data)
	}
	if opinion.IsConcurrence(data) {
		return verifyConcurrenceFile(c, *logKey, pol, data)
	}
	if private.IsSavedReceipt(data) {
		return verifySavedReceipt(c, *logKey, data, pol, *skew)
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
	fmt.Fprintf(c.stdout, "bundle verified: %d object version(s) in log %s at tree size %d, root %s\n", len(res.Items), untrusted.Text(cp.Origin, 200), cp.Size, cp.Hash)
	for i, it := range res.Items {
		witnessed := ""
		if w := times[i]; w.Size > 0 {
			witnessed = fmt.Sprintf(", witnessed by %s at %s", untrusted.Text(w.Earliest.Witness, 200), w.Earliest.Time.Format(time.RFC3339))
		}
		fmt.Fprintf(c.stdout, "  %s version %s: %s, received %s%s\n", untrusted.Text(it.Opening.ObjectID, 200), untrusted.Text(it.Opening.Version, 64),
			untrusted.Text(describeSigner(it.Opening.Member, it.Signed, it.Check), 1000), it.Entry.Received.Format("2006-01-02T15:04:05Z07:00"), witnessed)
	}
	// What a bundle can't show, said where its reader looks: whoever
	// made it chose which versions to put in (a later version, such as
	// a revocation, may be left out).
	fmt.Fprintf(c.stdout, "(a bundle proves that the versions it holds were logged, not that they are all there are: the log may hold later ones, such as a revocation; parley pull or audit against the log shows them)\n")
	warnNoKeyIndex(c, res)
	warnUnknownFields(c, res)
	if *logKey == "" {
		fmt.Fprintf(c.stderr, "parley: warning: checked against the bundle's own log key %s; pin the key you trust with --log-key\n", untrusted.Text(res.LogKey, 400))
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

// warnUnknownFields warns of a bundle's fields that this parley doesn't
// know (a later node's additions): nothing verified them.
func warnUnknownFields(c *cli, res tlog.BundleResult) {
	if len(res.Unknown) > 0 {
		fmt.Fprintf(c.stderr, "parley: warning: the bundle has field(s) this parley doesn't know, not verified: %s\n", untrusted.Text(strings.Join(res.Unknown, ", "), 400))
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
	fmt.Fprintf(c.stdout, "evidence verified: the log's key signed inconsistent histories: %s\n", untrusted.Text(sv.String(), 2000))
	if logKey == "" {
		fmt.Fprintln(c.stderr, "parley: warning: checked against the evidence's own log key; pin the key you trust with --log-key")
	}
	return nil
}

// verifyReceipt checks that the receipt in the file receiptPath proves
// that the object in the file pos[0] was logged (tlog.Receipt.VerifyObject):
// exit 0 with one line saying what it proved, 1 naming the failure, 2 for
// bad usage. A receipt names no log key, so one must be pinned.
func verifyReceipt(c *cli, receiptPath string, pos []string, logKey string, requireIndex bool, polFlags *policyFlags, skew time.Duration) error {
	const usage = "parley verify --receipt receipt.json --log-key VKEY object.json"
	switch {
	case len(pos) != 1:
		return usageErrorf(usage, "verify --receipt needs one object file")
	case logKey == "":
		return usageErrorf(usage, "verify --receipt needs --log-key: a receipt doesn't name the log's key")
	case requireIndex:
		return usageErrorf(usage, "--require-key-index is for proof bundles: a receipt carries no key entries")
	case receiptPath == "-" && pos[0] == "-":
		return usageErrorf(usage, "only one of the receipt and the object can be read from standard input")
	}
	if _, err := tlog.NewVerifier(logKey); err != nil {
		return usageErrorf("give the node's note verifier key (parley init prints it)", "--log-key: %v", err)
	}
	pol, err := polFlags.policy()
	if err != nil {
		return err
	}
	rb, err := readDocument(c, receiptPath)
	if err != nil {
		return usageErrorf("", "couldn't read the receipt: %v", err)
	}
	ob, err := readDocument(c, pos[0])
	if err != nil {
		return usageErrorf("", "couldn't read the object: %v", err)
	}
	if private.IsSavedReceipt(rb) {
		return verifySetReceipt(c, rb, ob, pos[0], logKey, pol, skew)
	}
	r, unknown, err := tlog.ParseReceipt(rb)
	if err != nil {
		return withExit(1, "give the node's receipt as GET /log/receipt serves it", err)
	}
	ob, err = receiptObject(ob, r.Opening, pos[0])
	if err != nil {
		return err
	}
	res, err := r.VerifyObject(logKey, ob, pol, skew)
	if err != nil {
		hint := "the receipt or the object was changed, the object isn't the one the receipt is of, or the receipt isn't from the log you trust"
		if errors.Is(err, tlog.ErrQuorum) {
			hint = "the receipt's checkpoints lack the cosignatures the witness policy requires; ask the node's operator which witnesses it uses"
		}
		return withExit(1, hint, err)
	}
	cp := res.Checkpoint
	from := "shared by " + untrusted.Text(res.Opening.Member, 200)
	if res.ClaimedCreator != "" {
		from = "relayed by " + untrusted.Text(res.Opening.Member, 200) + ", claims to be from " + untrusted.Text(res.ClaimedCreator, 200) + " (not verified)"
	}
	witnessed := ""
	if w := res.Witnessed; w.Size > 0 {
		witnessed = fmt.Sprintf(", witnessed by %s at %s", w.Earliest.Witness, w.Earliest.Time.Format(time.RFC3339))
	}
	fmt.Fprintf(c.stdout, "receipt verified: %s version %s (the object in %s) is entry %d of log %s at tree size %d, root %s, %s into collection %s, received %s%s\n",
		untrusted.Text(res.Opening.ObjectID, 200), untrusted.Text(res.Opening.Version, 64), untrusted.Text(pos[0], 200), res.Index, untrusted.Text(cp.Origin, 200), cp.Size, cp.Hash,
		from, untrusted.Text(res.Opening.Collection, 200), res.Entry.Received.Format(time.RFC3339Nano), witnessed)
	// What a receipt can't show, where its reader looks.
	fmt.Fprintf(c.stderr, "parley: note: a receipt carries no member keys, so the object's signature isn't checked: a proof bundle (parley proof) checks it against the key the log shows in force\n")
	if len(unknown) > 0 {
		fmt.Fprintf(c.stderr, "parley: warning: the receipt has field(s) this parley doesn't know, not verified: %s\n", untrusted.Text(strings.Join(unknown, ", "), 400))
	}
	return nil
}

// receiptObject returns the object of the file data (named name) that
// a receipt of opening op is checked against: data itself when it holds
// one object, and of a STIX bundle or a TAXII envelope the one object
// whose id and version (modified, else created) are op's. A list that
// holds no such object, or more than one, fails (exit 1), naming the
// object. The object picked is checked as one given alone is
// (tlog.Receipt.VerifyObject): its id and version only choose it.
func receiptObject(data []byte, op tlog.Opening, name string) ([]byte, error) {
	if names, ok := tlog.MemberNames(data); !ok || !names["objects"] {
		return data, nil // not a list (a receipt given as the object fails as before)
	}
	spans, err := stix.ObjectSpans(data)
	if err != nil || (len(spans) == 1 && bytes.Equal(spans[0], bytes.TrimSpace(data))) {
		// One object, or a file that isn't a list of valid ones: checked
		// as it is, as before lists were read.
		return data, nil
	}
	var found []json.RawMessage
	for _, raw := range spans {
		o, err := stix.Parse(raw)
		if err != nil {
			continue // ObjectSpans parsed each
		}
		if o.ID == op.ObjectID && sameVersion(o.Version(), op.Version) {
			found = append(found, raw)
		}
	}
	what := fmt.Sprintf("%s version %s", untrusted.Text(op.ObjectID, 200), untrusted.Text(op.Version, 64))
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return nil, withExit(1, "give the file that holds the object the receipt is of, or the object alone",
			fmt.Errorf("%s holds %d object(s), none of them %s, which the receipt is of", untrusted.Text(name, 200), len(spans), what))
	default:
		return nil, withExit(1, "give the object the receipt is of alone: which of them the receipt proves can't be told",
			fmt.Errorf("%s holds %s %d times", untrusted.Text(name, 200), what, len(found)))
	}
}

// sameVersion reports whether two STIX timestamps name one instant
// ("2026-01-01T00:00:00Z" and "2026-01-01T00:00:00.000Z" do).
func sameVersion(a, b string) bool {
	ta, err := stix.ParseTimestamp(a)
	if err != nil {
		return a == b
	}
	tb, err := stix.ParseTimestamp(b)
	return err == nil && ta.Equal(tb)
}

// verifyConcurrenceFile re-checks offline a concurrence answer as parley
// concurrence --json saves it (opinion.VerifyConcurrence): exit 0 only if
// its evidence verifies under logKey (and the witness policy) and the
// node's tally follows from the signed, logged opinions in it, printing
// the tally as parley concurrence does and one line saying what was
// proved; 1 naming the failure.
func verifyConcurrenceFile(c *cli, logKey string, pol *tlog.Policy, data []byte) error {
	conc, unknown, err := opinion.ParseConcurrence(data)
	if err != nil {
		return withExit(1, "give the answer as parley concurrence --json wrote it", err)
	}
	res, verr := opinion.VerifyConcurrence(conc, logKey)
	if errors.Is(verr, opinion.ErrEvidence) {
		return withExit(1, "the evidence was changed, or isn't from the log you trust", verr)
	}
	if verr == nil && pol != nil && conc.Evidence.Checkpoint != "" {
		if _, err := checkQuorum(pol, []byte(conc.Evidence.Checkpoint)); err != nil {
			return err
		}
	}
	key := logKey
	if key == "" {
		key = conc.Evidence.LogKey
	}
	printConcurrence(c.stdout, conc, res, untrusted.Text(key, 200), "")
	if verr != nil {
		return withExit(1, "the answer was changed, or the node's counts are not backed by the signed, logged opinions in its evidence",
			fmt.Errorf("the node's tally does not follow from the verified opinions: %w", verr))
	}
	fmt.Fprintf(c.stdout, "concurrence verified: the tally of %d opinion(s) on %s follows from the signed opinions logged in %s at tree size %d\n",
		res.Tally.Voices(), untrusted.Text(conc.Object, 200), untrusted.Text(res.Checkpoint.Origin, 200), res.Checkpoint.Size)
	// What the evidence can't show, where its reader looks.
	fmt.Fprintf(c.stderr, "parley: note: members_with_access and object_revoked are the node's word, which the log doesn't record; a revocation is checked against the log by parley concurrence --url\n")
	if len(unknown) > 0 {
		fmt.Fprintf(c.stderr, "parley: warning: the answer has field(s) this parley doesn't know, not verified: %s\n", untrusted.Text(strings.Join(unknown, ", "), 400))
	}
	if logKey == "" {
		fmt.Fprintln(c.stderr, "parley: warning: checked against the evidence's own log key; pin the key you trust with --log-key")
	}
	return nil
}

// verifySetReceipt checks that a private set's saved receipt (parley
// private check and parley private receipt keep them) proves that the
// log committed the set described in the file object (GET
// /private/sets/{id}, or a list of sets) to its key: the receipt's
// oprf-key entry (and oprf-withdrawal entry, for a withdrawn set) under
// logKey, its set, suite, key, collection and provider the
// description's. With a witness policy, the quorum must have cosigned
// the receipt's checkpoints, and the entries' times (the withdrawal's,
// printed) must agree with their cosignatures.
func verifySetReceipt(c *cli, rb, ob []byte, objectPath, logKey string, pol *tlog.Policy, skew time.Duration) error {
	saved, err := private.ParseSavedReceipt(rb)
	if err != nil {
		return withExit(1, "give the receipt as parley private check or parley private receipt kept it", err)
	}
	info, unknown, err := private.ParseSetInfo(ob, saved.Set)
	if err != nil {
		return withExit(1, "give the set's description, as GET /private/sets/{id} or parley private sets --json gives it", err)
	}
	v, _ := tlog.NewVerifier(logKey) // the caller checked it
	if err := saved.VerifySet(v, info); err != nil {
		return withExit(1, "the receipt or the description was changed, they are of different sets or keys, or the receipt isn't from the log you trust", err)
	}
	if err := checkReceiptWitnesses(&saved, v, pol, skew); err != nil {
		return err
	}
	rc := saved.Receipt
	cp, err := tlog.OpenCheckpoint([]byte(rc.Checkpoint), v)
	if err != nil { // VerifySet opened it
		return withExit(1, "", err)
	}
	withdrawn := ""
	if w := rc.Withdrawal; w != nil {
		withdrawn = fmt.Sprintf("; withdrawn, entry %d (oprf-withdrawal), at %s", w.LogIndex, untrusted.Text(w.Opening.Version, 64))
	}
	fmt.Fprintf(c.stdout, "receipt verified: private set %s (the set in %s) has key %s, committed by entry %d (oprf-key) of log %s at tree size %d, root %s, published by %s into collection %s%s\n",
		untrusted.Text(saved.Set, 200), untrusted.Text(objectPath, 200), base64.StdEncoding.EncodeToString(saved.PublicKey), rc.LogIndex,
		untrusted.Text(cp.Origin, 200), cp.Size, cp.Hash, untrusted.Text(rc.Opening.Member, 200), untrusted.Text(rc.Opening.Collection, 200), withdrawn)
	if len(unknown) > 0 {
		fmt.Fprintf(c.stderr, "parley: warning: the set's description has field(s) this parley doesn't know, not verified: %s\n", untrusted.Text(strings.Join(unknown, ", "), 400))
	}
	return nil
}

// checkReceiptWitnesses checks a verified private set receipt under
// witness policy pol (nil: nothing to check): the quorum must have
// cosigned its checkpoints (the withdrawal's too), and its entries'
// times (the withdrawal's, printed as the time the set was withdrawn)
// must agree with those cosignatures ([private.SavedReceipt.CheckTimes],
// with clock skew skew). Its failures exit 1.
func checkReceiptWitnesses(saved *private.SavedReceipt, v note.Verifier, pol *tlog.Policy, skew time.Duration) error {
	if pol == nil {
		return nil
	}
	rc := saved.Receipt
	checkpoints := []string{rc.Checkpoint}
	if rc.Withdrawal != nil {
		checkpoints = append(checkpoints, rc.Withdrawal.Checkpoint)
	}
	for _, n := range checkpoints {
		if _, err := checkQuorum(pol, []byte(n)); err != nil {
			return err
		}
	}
	if err := saved.CheckTimes(v, pol, skew); err != nil {
		return withExit(1, "the log's time of an entry disagrees with its witnesses' cosignatures: the node dated it falsely", err)
	}
	return nil
}

// verifySavedReceipt checks a kept private set receipt with the log key
// (which it must be given: the receipt names none), as parley private
// receipt --file does: exit 0 if it verifies, 1 if it doesn't, or if,
// under witness policy pol, it lacks the quorum or its times disagree
// with the cosignatures (checkReceiptWitnesses).
func verifySavedReceipt(c *cli, logKey string, data []byte, pol *tlog.Policy, skew time.Duration) error {
	saved, err := private.ParseSavedReceipt(data)
	if err != nil {
		return withExit(1, "give the receipt as parley private check or parley private receipt kept it", err)
	}
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
	if err := checkReceiptWitnesses(&saved, v, pol, skew); err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, "private set receipt verified")
	describeReceipt(c, saved, "")
	return nil
}
