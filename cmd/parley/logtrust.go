package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/parley-exchange/parley/internal/untrusted"
	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/taxii"
	"github.com/parley-exchange/parley/tlog"
)

// trustFlags are the flags of every command that uses a node's objects and
// checks them against the node's log: which log key to trust and where the
// checkpoints seen before are kept (shared with parley audit).
type trustFlags struct {
	logKey *string
	seen   *string
	// cmd names the command in what it says about the seen file
	// ([reportSeenFaults]): "pull", "private check".
	cmd string
	// policy, when not nil, are the witness policy flags a sending
	// command checks the node's checkpoint against before it sends
	// ([trustFlags.checkSendTarget], and [trustFlags.pin] for private
	// withdraw); readers pass theirs apart ([logCheck]).
	policy *policyFlags
	// readPolicy, when not nil, is the policy of a reader's own witness
	// policy flags ([logCheckFlags], or [addPolicyFlags] apart), which
	// the reader checks its objects' checkpoints against: [trustFlags.pin]
	// checks the node's latest checkpoint against it too, before the
	// reader asks the node for anything else.
	readPolicy *tlog.Policy
}

func addTrustFlags(fs *flag.FlagSet) *trustFlags {
	return &trustFlags{
		cmd:    strings.TrimPrefix(fs.Name(), "parley "),
		logKey: fs.String("log-key", "", "the node's note verifier `KEY` to trust (default: the one pinned in --seen, else pinned on first use)"),
		seen:   fs.String("seen", "", "the `FILE` of checkpoints seen before, as parley audit keeps it (default: in the user config directory, one per node)"),
	}
}

// addSendTrustFlags are [addTrustFlags] for a command that only sends
// objects (push, import --url, private publish): the pinned key is
// checked, or pinned on first use, and the node's checkpoint against the
// witness policy flags ([addPolicyFlags]), before anything is sent
// ([trustFlags.checkSendTarget]).
func addSendTrustFlags(fs *flag.FlagSet) *trustFlags {
	return &trustFlags{
		cmd:    strings.TrimPrefix(fs.Name(), "parley "),
		logKey: fs.String("log-key", "", "the node's note verifier `KEY`: its log must be signed by it before anything is sent (default: the one pinned in --seen, else pinned on first use)"),
		seen:   fs.String("seen", "", "the `FILE` of checkpoints seen before, as pull and parley audit keep it: the node must serve the key pinned there, and a checkpoint consistent with them, before anything is sent (default: in the user config directory, one per node)"),
		policy: addPolicyFlags(fs),
	}
}

// pinLogKey decides which log key to trust: --log-key, else the key pinned
// in the seen file, else served (pinned on first use, said on stderr). A
// key other than the pinned one is refused (exit 1). It records the key in
// seen.
func pinLogKey(c *cli, flagKey, served string, seen *tlog.SeenCheckpoints, seenPath string) (note.Verifier, string, error) {
	key := flagKey
	switch {
	case key == "" && seen.Key != "":
		key = seen.Key
	case key == "":
		key = served
		if key == "" {
			return nil, "", usageErrorf("give --log-key VKEY", "no log verifier key to trust")
		}
		// The served key is the node's word, whatever it answered (a
		// web page, a megabyte, terminal escapes): it is said, and
		// pinned, only once it parses as a key.
		if _, err := tlog.NewVerifier(key); err != nil {
			return nil, "", withExit(4, "check --url, or give the node's key with --log-key VKEY", fmt.Errorf("the node's /log/key isn't a log verifier key: it begins %.40q", key))
		}
		// Said inert: the key's name is the node's choice (a
		// right-to-left override parses as a name).
		fmt.Fprintf(c.stderr, "parley: pinning the log key on first use: %s\n", untrusted.Text(key, 1000))
	}
	if seen.Key != "" && seen.Key != key {
		return nil, "", withExit(1, "if the operator really rotated the key, start a new --seen file", fmt.Errorf("the log key %s isn't the pinned key in %s (%s)", key, seenPath, seen.Key))
	}
	if served != "" && served != key {
		pinnedIn := seenPath
		if flagKey != "" {
			pinnedIn = ""
		}
		warnServedKey(c, served, key, pinnedIn)
	}
	v, err := tlog.NewVerifier(key)
	if err != nil {
		return nil, "", usageErrorf("a verifier key looks like name+1234abcd+AbC...", "%v", err)
	}
	seen.Key = key
	return v, key, nil
}

// warnServedKey says on stderr that the node serves the log key served
// (the node's word: quoted and cut at 200 bytes), not key, the one the
// command verifies with. pinnedIn is the seen file that pinned key, named
// with what to do if the node was really made again; "" when key came
// from --log-key.
func warnServedKey(c *cli, served, key, pinnedIn string) {
	if pinnedIn == "" {
		fmt.Fprintf(c.stderr, "parley: warning: the node serves another log key (%.200q); verifying with the pinned one\n", served)
		return
	}
	fmt.Fprintf(c.stderr, "parley: warning: the node serves another log key (%.200q) than the one pinned for it in %s (%s); verifying with the pinned one: if the node was really made again, remove that file (or give --seen NEWFILE or --log-key); if not, it is showing you another log\n", served, pinnedIn, key)
}

// loadSeen reads the seen file of --seen, or of the node at url by default.
func (t *trustFlags) loadSeen(url string) (*tlog.SeenCheckpoints, string, error) {
	path := *t.seen
	if path == "" {
		p, err := defaultSeenPath("url:" + url)
		if err != nil {
			return nil, "", withExit(3, "give --seen FILE", err)
		}
		path = p
	}
	seen, err := tlog.LoadSeen(path)
	if err != nil {
		return nil, "", withExit(3, "", err)
	}
	return seen, path, nil
}

// sendPolicy is the witness policy of t.policy's flags (nil: none, or no
// such flags); a bad policy is a usage error (exit 2).
func (t *trustFlags) sendPolicy() (*tlog.Policy, error) {
	if t.policy == nil {
		return nil, nil
	}
	return t.policy.policy()
}

// pinned is the log key a command trusts and the seen file it came from.
type pinned struct {
	verifier note.Verifier
	key      string
	seen     *tlog.SeenCheckpoints
	seenPath string
	// policy is the witness policy recorded for the seen file
	// ([loadSeenPolicy]; nil: none), which a reader without witness
	// policy flags of its own checks every checkpoint against.
	policy *tlog.Policy
}

// pin loads the seen file for the node at url and decides the log key to
// trust ([pinLogKey]), fetching the served key only when nothing pins one.
// A seen file that holds forged checkpoints of the log fails it (exit 1),
// each named as parley audit names them ([reportSeenFaults]), before the
// command asks the node anything more. Then the node's latest checkpoint
// must verify with the key, meet the witness policy of t.policy's flags
// (a sending command's, such as private withdraw; readers check theirs
// apart, [logCheck]), else the one recorded for the seen file
// ([loadSeenPolicy]), and be consistent with the seen file, which
// records it (the caller saves the file): [logCheckError] says how a
// failure fails the command (another log exit 4, a fork or a checkpoint
// short of the quorum exit 1). A bad policy flag is a usage error (exit 2).
func (t *trustFlags) pin(ctx context.Context, c *cli, url, token string) (pinned, error) {
	pol, err := t.sendPolicy()
	if err != nil {
		return pinned{}, err
	}
	seen, path, err := t.loadSeen(url)
	if err != nil {
		return pinned{}, err
	}
	recorded, err := loadSeenPolicy(path)
	if err != nil {
		return pinned{}, err
	}
	if pol == nil {
		pol = t.readPolicy
	}
	if pol == nil {
		pol = recorded
	}
	served := ""
	if *t.logKey == "" && seen.Key == "" {
		if served, err = (&tlog.Client{URL: url, Token: token, HTTP: c.httpClient()}).Key(ctx); err != nil {
			return pinned{}, withExit(4, nodeReadHint(err), fmt.Errorf("couldn't fetch the node's log key: %w", err))
		}
	}
	v, key, err := pinLogKey(c, *t.logKey, served, seen, path)
	if err != nil {
		return pinned{}, err
	}
	if _, err := reportSeenFaults(c, t.cmd, seen, v, path); err != nil {
		return pinned{}, err
	}
	if *t.logKey == "" && served == "" {
		// The key was pinned on first use by an earlier command. A node
		// made again at the same URL (a test node re-initialized, the
		// walkthrough started over) signs with another key, and every
		// checkpoint then fails "note has no verifiable signatures"
		// with nothing to say why: ask which key it serves, and say so
		// if it isn't the pinned one. The pinned key is still the one
		// used: the node's word doesn't replace it.
		if k, err := (&tlog.Client{URL: url, Token: token, HTTP: c.httpClient()}).Key(ctx); err == nil && k != key {
			warnServedKey(c, k, key, path)
		}
	}
	// The node's log itself, before the command asks it anything more:
	// its latest checkpoint signed by that key and consistent with the
	// seen file (which records it; the command saves the file).
	ov := &tlog.ObjectVerifier{Log: &tlog.Client{URL: url, Token: token, HTTP: c.httpClient()}, Key: v, Seen: seen, Policy: pol}
	if err := ov.CheckLog(ctx); err != nil {
		hint := fmt.Sprintf("the node's checkpoint isn't signed by the log key %s checks with (--log-key, or the one pinned in %s): if the node was really made again, remove that file or give its new key with --log-key; if not, it is showing you another log", t.cmd, untrusted.Text(path, 200))
		return pinned{}, logCheckError(t.cmd, "used nothing from the node", hint, err, seen.Save)
	}
	return pinned{verifier: v, key: key, seen: seen, seenPath: path, policy: recorded}, nil
}

// objectVerifier returns a verifier of the node's objects against its log
// (the pinned key; with proofs, inclusion in a checkpoint consistent with
// the seen file) and a function that saves the seen file.
func (t *trustFlags) objectVerifier(ctx context.Context, c *cli, url, token string, proofs bool) (*tlog.ObjectVerifier, func() error, error) {
	p, err := t.pin(ctx, c, url, token)
	if err != nil {
		return nil, nil, err
	}
	ov := &tlog.ObjectVerifier{Log: &tlog.Client{URL: url, Token: token, HTTP: c.httpClient()}, Key: p.verifier, Proofs: proofs, Seen: p.seen, Policy: p.policy}
	return ov, p.seen.Save, nil
}

// logCheck is how a command that reads from a node checks its log beyond
// the pinned key: the witness policy every checkpoint must meet (nil:
// none) and, with proofs, each object's inclusion in a signed checkpoint.
type logCheck struct {
	proofs bool
	policy *tlog.Policy
}

// logCheckFlags are the flags of a [logCheck], named as pull names them:
// --proofs and the witness policy flags ([addPolicyFlags]).
type logCheckFlags struct {
	proofs *bool
	policy *policyFlags
}

func addLogCheckFlags(fs *flag.FlagSet) *logCheckFlags {
	return &logCheckFlags{
		proofs: fs.Bool("proofs", false, "also prove each object's log entry included in a signed checkpoint consistent with the seen file"),
		policy: addPolicyFlags(fs),
	}
}

// logCheck returns the check the flags give; a bad policy is a usage
// error (exit 2).
func (f *logCheckFlags) logCheck() (logCheck, error) {
	pol, err := f.policy.policy()
	if err != nil {
		return logCheck{}, err
	}
	return logCheck{proofs: *f.proofs, policy: pol}, nil
}

// checkedVerifier is [trustFlags.objectVerifier] for a command that uses
// a node's objects (match --url, export --url), with lc's policy and
// proofs, once the node's log has been checked: its latest checkpoint
// signed by the pinned key, meeting the policy and consistent with every
// checkpoint in the seen file, which then records it and is saved. check
// does all that again, whatever was checked before (match --url calls it
// at every poll). A failed check fails the command before any object is
// fetched ([logCheckError]: a fork or a checkpoint short of the policy
// exit 1, another log exit 4).
func (t *trustFlags) checkedVerifier(ctx context.Context, c *cli, url, token string, lc logCheck) (*tlog.ObjectVerifier, func(context.Context) error, error) {
	t.readPolicy = lc.policy
	ov, saveSeen, err := t.objectVerifier(ctx, c, url, token, lc.proofs)
	if err != nil {
		return nil, nil, err
	}
	if lc.policy != nil {
		ov.Policy = lc.policy
	}
	hint := fmt.Sprintf("the node's checkpoint isn't signed by the log key %s checks with (--log-key, or the one pinned in the seen file): if the node was really made again, remove that file or give its new key with --log-key; if not, it is showing you another log", t.cmd)
	check := func(ctx context.Context) error {
		if err := ov.CheckLogAgain(ctx); err != nil {
			return logCheckError(t.cmd, "used nothing from the node", hint, err, saveSeen)
		}
		if err := saveSeen(); err != nil {
			return withExit(3, "", err)
		}
		return nil
	}
	if err := check(ctx); err != nil {
		return nil, nil, err
	}
	return ov, check, nil
}

// describeCheck says, for a verified object, who vouched for it and how
// far to trust that: relayed objects and keys the operator rotated in
// alone are named; "" for an object signed by its creator's own key.
func describeCheck(ch taxii.Check, member string, raw []byte) string {
	var notes []string
	switch {
	case ch.Unsigned && !ch.Foreign() && isPredefinedTLP(raw):
		notes = append(notes, "unsigned: a predefined TLP marking definition, exactly as the specification fixes it (nobody signs it)")
	case ch.Foreign():
		notes = append(notes, fmt.Sprintf("signed with key %s, which this log doesn't hold: this log doesn't say who signed it; if the node replicated it from a peer, check it in the peer's log (parley proof --peer-collection)", base64.StdEncoding.EncodeToString(ch.ForeignKey)))
	case ch.Unsigned:
		notes = append(notes, "unsigned: nobody vouches for its content (the collection accepts unsigned objects)")
	}
	if ch.Relayed() {
		notes = append(notes, fmt.Sprintf("relayed by %s; claims to be from %s (not verified)", member, ch.ClaimedCreator))
	}
	if ch.Signer.OperatorAsserted() {
		notes = append(notes, fmt.Sprintf("signed with a key the operator rotated in for %s without the member's signature (operator-asserted)", member))
	}
	out := ""
	for i, n := range notes {
		if i > 0 {
			out += "; "
		}
		out += n
	}
	return out
}

// isPredefinedTLP reports whether raw is exactly one of the predefined TLP
// marking definitions ([stix.IsPredefinedTLP]), which the node takes
// unsigned in every collection.
func isPredefinedTLP(raw []byte) bool {
	o, err := stix.Parse(raw)
	return err == nil && stix.IsPredefinedTLP(o)
}

// checkSendTarget checks, before a command sends the member's objects to
// the node at url, that the node's log is the one pinned for it, as the
// commands that read do ([trustFlags.pin]): the key of --log-key, else the
// one in the seen file (--seen, else the node's default seen file), else
// the key the node serves, pinned on first use (said on stderr). A seen
// file that holds forged checkpoints of the log fails it (exit 1,
// [reportSeenFaults]). The node must serve that key at /log/key, and its
// latest checkpoint must verify with it, meet the witness policy of the
// command's flags (--witness-policy, --witness, --witness-quorum), else
// the one recorded for the seen file ([loadSeenPolicy]), and be consistent with every checkpoint seen
// before ([tlog.ObjectVerifier.CheckLog]; a node that has signed none yet
// passes, unless the seen file holds a checkpoint of that log). A node made again at the same URL, or another server
// answering at that address, fails it (exit 4); a checkpoint inconsistent
// with one seen before is a fork, and one short of the policy's quorum a
// failed verification (exit 1, a fork's checkpoints kept in the seen file
// as evidence). Either way the command sends nothing. The checkpoint
// checked is recorded in the seen file, which is saved. A bad policy flag
// is a usage error (exit 2).
func (t *trustFlags) checkSendTarget(ctx context.Context, c *cli, url, token string) error {
	_, err := t.sendTarget(ctx, c, url, token)
	return err
}

// sendTarget is [trustFlags.checkSendTarget], which it does once; it
// returns a function that checks the node's log again, for a command that
// goes on sending (match --push with --nats or --follow), before each
// later send: the latest checkpoint read again, signed by the same key,
// meeting the same policy and consistent with every checkpoint seen,
// which the seen file then records (saved). Its failure is
// [logCheckError]'s (what: "sent nothing more"), and once it failed it
// fails every later call the same way, whatever the node shows then: a
// node that showed another log or a fork gets nothing more from this run.
func (t *trustFlags) sendTarget(ctx context.Context, c *cli, url, token string) (func(context.Context) error, error) {
	pol, err := t.sendPolicy()
	if err != nil {
		return nil, err
	}
	seen, path, err := t.loadSeen(url)
	if err != nil {
		return nil, err
	}
	if pol == nil {
		// The policy recorded for the seen file ([recordSeenPolicy]).
		if pol, err = loadSeenPolicy(path); err != nil {
			return nil, err
		}
	}
	log := &tlog.Client{URL: url, Token: token, HTTP: c.httpClient()}
	served, err := log.Key(ctx)
	if err != nil {
		return nil, withExit(4, nodeReadHint(err), fmt.Errorf("couldn't fetch the node's log key, so %s sent nothing: %w", t.cmd, err))
	}
	v, key, err := pinLogKey(c, *t.logKey, served, seen, path)
	if err != nil {
		return nil, err
	}
	if _, err := reportSeenFaults(c, t.cmd, seen, v, path); err != nil {
		return nil, err
	}
	hint := fmt.Sprintf("the node's log isn't the one %s checks with (--log-key, or the one pinned in %s): if the node was really made again, remove that file or give its new key with --log-key; if not, it is showing you another log", t.cmd, untrusted.Text(path, 200))
	if served != key {
		// pinLogKey said which key the node serves.
		return nil, withExit(4, hint, fmt.Errorf("the node serves another log key than the pinned one: %s sent nothing", t.cmd))
	}
	ov := &tlog.ObjectVerifier{Log: log, Key: v, Seen: seen, Policy: pol}
	if err := ov.CheckLog(ctx); err != nil {
		return nil, logCheckError(t.cmd, "sent nothing", hint, err, seen.Save)
	}
	if err := seen.Save(); err != nil {
		return nil, withExit(3, "", err)
	}
	var failed error
	again := func(ctx context.Context) error {
		if failed != nil {
			return failed
		}
		if err := ov.CheckLogAgain(ctx); err != nil {
			failed = logCheckError(t.cmd, "sent nothing more", hint, err, seen.Save)
			return failed
		}
		if err := seen.Save(); err != nil {
			return withExit(3, "", err)
		}
		return nil
	}
	return again, nil
}

// logCheckError is the failure of command cmd whose check of the node's
// log ([tlog.ObjectVerifier.CheckLog]) failed with err; what says what
// the command did not do ("sent nothing", "used nothing"). A checkpoint
// inconsistent with the seen file (a fork, [tlog.ErrProof]) and one that
// lacks the witness policy's cosignatures fail it as a failed
// verification (exit 1; the seen file, which keeps both checkpoints of a
// fork as evidence, is saved); one not signed by the pinned key with
// hint (exit 4), as does a node that can't be read.
func logCheckError(cmd, what, hint string, err error, saveSeen func() error) error {
	if qerr := quorumExit(err); qerr != nil {
		return qerr
	}
	if errors.Is(err, tlog.ErrProof) {
		saveSeen()
		return withExit(1, "the conflicting checkpoints are kept as evidence in the seen file", fmt.Errorf("%s %s: %w", cmd, what, err))
	}
	if errors.Is(err, tlog.ErrCheckpointSignature) {
		return withExit(4, hint, fmt.Errorf("%s %s: %w", cmd, what, err))
	}
	if errors.Is(err, tlog.ErrBehind) {
		return withExit(4, logBehindHint, fmt.Errorf("%s %s: %w", cmd, what, err))
	}
	return withExit(4, nodeReadHint(err), fmt.Errorf("couldn't check the node's log, so %s %s: %w", cmd, what, err))
}

// nodeReadHint is the hint of a command that couldn't read what it needs
// from the node: the token when the node refused it (401), else the URL
// and the token.
func nodeReadHint(err error) string {
	var he *tlog.HTTPError
	if errors.As(err, &he) && he.Code == http.StatusUnauthorized || errors.Is(err, taxii.ErrUnauthorized) {
		return "check " + tokenFlag
	}
	return "check --url and " + tokenFlag
}
