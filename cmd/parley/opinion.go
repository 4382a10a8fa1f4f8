package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/parley-exchange/parley/opinion"
	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/taxii"
	"github.com/parley-exchange/parley/tlog"
)

func init() {
	register(command{
		name:  "opinion",
		usage: "opinion --url U --token-file F --key K OBJECT_ID VALUE [--explanation TEXT] [--confidence N]   sign and post an opinion (--revoke OBJECT_ID withdraws your stance)",
		help: `VALUE is strongly-disagree, disagree, neutral, agree or strongly-agree.
With --revoke (and no VALUE) every opinion of yours on OBJECT_ID gets a new
version that is revoked, so none of them counts any more (an opinion also
about other objects instead gets a version that no longer names OBJECT_ID).
Flags may come before or after the arguments.`,
		run: runOpinion,
	})
}

const opinionUsage = "parley opinion --url URL --token TOKEN --key KEY report--… agree [--explanation TEXT]"

// runOpinion signs and posts a STIX opinion on an object (or, with
// --revoke, the revoking version of the member's counted opinion on it).
// The member's identity is the one whose registered key is --key (found
// through GET /members) unless --as names it; the collection is --collection
// or the first collection holding the object that the member may write.
func runOpinion(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlagSet("opinion")
	u := fs.String("url", "", "the node's `URL`")
	token := fs.String("token", "", "your API `TOKEN` (better: PARLEY_TOKEN or --token-file)")
	tokenFile := fs.String("token-file", "", "read the token from `FILE` (the token, or member add --json output)")
	keyFile := fs.String("key", "", "your private key `FILE`")
	explanation := fs.String("explanation", "", "why you hold this opinion (`TEXT`)")
	var confidence optionalInt
	fs.Var(&confidence, "confidence", "your confidence in the opinion, from 0 to 100 (`N`); without it the opinion states none")
	coll := fs.String("collection", "", "post to collection `C` (id or title; default: a collection holding the object that you may write)")
	as := fs.String("as", "", "your member identity `ID` (default: the member whose registered key is --key)")
	revoke := fs.Bool("revoke", false, "withdraw your stance on OBJECT_ID (no VALUE): each of your opinions on it gets a revoked version, so none counts")
	trust := addTrustFlags(fs)
	trust.policy = addPolicyFlags(fs)
	pos, err := parseInterspersed(c, fs, args)
	if err != nil {
		return err
	}
	if err := readToken(c.stderr, token, *tokenFile); err != nil {
		return err
	}
	want := 2
	if *revoke {
		want = 1
	}
	if *u == "" || *token == "" || *keyFile == "" || len(pos) != want {
		if *revoke {
			return usageErrorf("parley opinion --url URL --token TOKEN --key KEY --revoke report--…", "opinion --revoke needs --url, --token, --key and one object id")
		}
		return usageErrorf(opinionUsage, "opinion needs --url, --token, --key, an object id and a value (strongly-disagree, disagree, neutral, agree or strongly-agree)")
	}
	object := pos[0]
	if _, err := stix.SplitIdentifier(object); err != nil {
		return usageErrorf(opinionUsage, "OBJECT_ID must be a STIX id such as report--…: %v", err)
	}
	var value opinion.Value
	if !*revoke {
		// Accept "Agree", "strongly agree" and "strongly_agree" too.
		v := strings.NewReplacer(" ", "-", "_", "-").Replace(strings.ToLower(strings.TrimSpace(pos[1])))
		if value, err = opinion.ParseValue(v); err != nil {
			return usageErrorf(opinionUsage, "%v", err)
		}
	}
	var conf *int
	if confidence.set {
		if confidence.v < 0 || confidence.v > 100 {
			return usageErrorf("", "--confidence must be from 0 to 100")
		}
		conf = &confidence.v
	}
	key, err := readPrivateKey(c.stderr, *keyFile)
	if err != nil {
		return err
	}
	// A node whose log isn't the pinned one gets no opinion, even one
	// whose answer holds no evidence to verify, and nothing it answers is
	// used.
	if err := trust.checkSendTarget(ctx, c, *u, *token); err != nil {
		return err
	}
	me := *as
	if me == "" {
		if me, err = identityOfKey(ctx, c.httpClient(), c.stderr, *u, *token, key.Public().(ed25519.PublicKey)); err != nil {
			return err
		}
	}
	conc, err := fetchConcurrence(ctx, c.httpClient(), *u, *token, object)
	if err != nil {
		return err
	}
	// What the node says about the opinions (and, for --revoke, the
	// opinions withdrawn) is used only once it verifies against the log.
	if err := verifyConcurrenceEvidence(ctx, c, trust, *u, *token, conc); err != nil {
		return err
	}
	client := &taxii.Client{BaseURL: *u, Token: *token, HTTP: c.httpClient()}
	if *revoke {
		return withdrawOwn(ctx, c, client, conc, me, key)
	}
	// An opinion on a revoked object is posted all the same (one may
	// well disagree with it), with a word that it is revoked.
	if conc.ObjectRevoked {
		fmt.Fprintf(c.stderr, "parley: warning: %s; your opinion is posted all the same\n", revokedWarning(conc, ""))
	}
	// Of a member's opinions on the object the latest counts: one dated
	// later than now (a clock ahead, or a version future-dated on
	// purpose) would outrank the new one for good, so the new one is
	// dated just after it.
	now := time.Now()
	if standing, ok := standingVersion(conc, me); ok && !standing.Before(now) {
		now = standing.Add(time.Millisecond)
		fmt.Fprintf(c.stderr, "parley: note: your opinion that counts on %s is dated %s, later than now; this one is dated %s so that it takes its place\n",
			object, formatVersion(standing), formatVersion(now))
	}
	signed, err := opinion.New(opinion.Draft{Member: me, Object: object, Value: value, Explanation: *explanation, Confidence: conf}, key, now, rand.Reader)
	if err != nil {
		return usageErrorf("", "%v", err)
	}
	var target string
	switch {
	case *coll != "":
		if target, err = resolveCollection(ctx, client, *coll); err != nil {
			return err
		}
	case len(conc.WritableCollections) > 0:
		target = conc.WritableCollections[0]
	default:
		return withExit(4, "name a collection you may write with --collection", fmt.Errorf("you may not write to any collection holding %s", object))
	}
	if err := postOpinion(ctx, client, target, signed); err != nil {
		return err
	}
	op, _ := opinion.Parse(signed)
	fmt.Fprintf(c.stdout, "%s %s on %s, version %s, posted to collection %s\n", op.ID, op.Value, object, formatVersion(op.Version), target)
	return nil
}

// standingVersion returns the version of me's opinion that counts in
// conc, as recomputed from its verified evidence.
func standingVersion(conc opinion.Concurrence, me string) (time.Time, bool) {
	res, err := opinion.VerifyConcurrence(conc, "")
	if err != nil && !errors.Is(err, opinion.ErrMismatch) {
		return time.Time{}, false
	}
	for _, v := range res.Tally.Votes {
		if v.Member == me {
			t, err := time.Parse(time.RFC3339Nano, v.Version)
			return t, err == nil
		}
	}
	return time.Time{}, false
}

// postOpinion posts one signed opinion version to collection target.
func postOpinion(ctx context.Context, client *taxii.Client, target string, signed []byte) error {
	st, err := client.AddObjects(ctx, target, []json.RawMessage{signed})
	if err != nil {
		return withExit(4, "check --url, "+tokenFlag+" and --collection", fmt.Errorf("couldn't post the opinion: %w", err))
	}
	if st.FailureCount > 0 {
		op, _ := opinion.Parse(signed)
		return withExit(4, "", fmt.Errorf("the node refused opinion %s: %s", op.ID, st.Failures[0].Message))
	}
	return nil
}

func formatVersion(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// identityOfKey finds the member whose registered key is pub. The keys
// are those the log's checkpoint covers: when none is pub's and the node
// has entries sequenced beyond its checkpoint (a key registered or rotated
// moments ago), it says so on progress and waits, up to keyWait, for a
// checkpoint that covers them, then looks again.
func identityOfKey(ctx context.Context, hc *http.Client, progress io.Writer, base, token string, pub ed25519.PublicKey) (string, error) {
	cl := &tlog.Client{URL: base, Token: token, HTTP: hc}
	resp, ids, err := keyOwners(ctx, cl, pub)
	if err != nil {
		return "", err
	}
	if len(ids) == 0 && resp.Sequenced > resp.TreeSize {
		target := resp.Sequenced
		fmt.Fprintf(progress, "parley: your key isn't in the node's checkpoint of size %d, which doesn't cover %d newer log entries yet (a key registered or rotated moments ago?): waiting up to %s for the next checkpoint\n", resp.TreeSize, target-resp.TreeSize, keyWait)
		wctx, cancel := context.WithTimeout(ctx, keyWait)
		defer cancel()
		t := time.NewTicker(keyPoll)
		defer t.Stop()
		for resp.TreeSize < target {
			select {
			case <-wctx.Done():
				return "", withExit(4, "try again once the node integrates its log (parley status shows it)", fmt.Errorf("the node's checkpoint didn't cover its log entries up to %d within %s", target, keyWait))
			case <-t.C:
			}
			if resp, ids, err = keyOwners(wctx, cl, pub); err != nil && wctx.Err() == nil {
				return "", err
			}
		}
	}
	switch len(ids) {
	case 1:
		return ids[0], nil
	case 0:
		// A key the log shows ended (rotated out or revoked) was a
		// member's: registering it again is no remedy (a key belongs to
		// one member), signing with the key in force is.
		if id, k, ok := retiredKeyOwner(resp, pub); ok {
			if k.Revoked {
				return "", usageErrorf("signatures by a revoked key never count: ask the operator to put a new key in force (parley keygen, then parley member key rotate)", "the key of --key was %s's until its revocation at log entry %d", id, k.Until)
			}
			return "", usageErrorf("signatures by a key rotated out never count: sign with the key that replaced it (parley keygen --rotate wrote it)", "the key of --key was %s's until its rotation at log entry %d", id, k.Until)
		}
		return "", usageErrorf("register it with parley member add --pubkey, or name your identity with --as; a key registered or rotated in moments ago is listed once the node's next checkpoint covers it (within a second): try again then", "no member has the public key of --key registered in the log up to its checkpoint of size %d", resp.TreeSize)
	}
	return "", usageErrorf("name your identity with --as", "%d members have this key registered: %s", len(ids), strings.Join(ids, ", "))
}

// keyWait bounds how long identityOfKey waits for a checkpoint that covers
// the node's latest entries (its integrator runs every 100 ms); keyPoll is
// how often it looks.
const (
	keyWait = 10 * time.Second
	keyPoll = 100 * time.Millisecond
)

// keyOwners reads the member keys the node's checkpoint covers and
// returns the members whose key in force at its size is pub.
func keyOwners(ctx context.Context, cl *tlog.Client, pub ed25519.PublicKey) (tlog.KeysResponse, []string, error) {
	resp, err := cl.Keys(ctx)
	if err != nil {
		return resp, nil, withExit(4, "check --url and "+tokenFlag, fmt.Errorf("couldn't list the member keys: %w", err))
	}
	// Only a lookup: what is posted with the identity is then checked
	// against the log by the node and by every reader.
	keys, err := resp.Replay()
	if err != nil {
		return resp, nil, withExit(4, "", fmt.Errorf("couldn't read the member keys: %w", err))
	}
	var ids []string
	for _, id := range keys.Members() {
		if k, ok := keys.KeyAt(id, resp.TreeSize); ok && bytes.Equal(k.Key, pub) {
			ids = append(ids, id)
		}
	}
	return resp, ids, nil
}

// retiredKeyOwner returns the member whose key pub was, and the key as
// the log of resp shows it, when that key was ended (rotated out or
// revoked) within resp's checkpoint.
func retiredKeyOwner(resp tlog.KeysResponse, pub ed25519.PublicKey) (string, tlog.MemberKey, bool) {
	keys, err := resp.Replay()
	if err != nil {
		return "", tlog.MemberKey{}, false
	}
	for _, id := range keys.Members() {
		for _, k := range keys.Keys(id) {
			if bytes.Equal(k.Key, pub) && k.Until != 0 && k.Until < resp.TreeSize {
				return id, k, true
			}
		}
	}
	return "", tlog.MemberKey{}, false
}

// withdrawOwn withdraws me's stance on conc's object: every opinion of
// me's that counts for the object gets a new version that is revoked (or,
// when it is also about other objects, no longer names this one; see
// opinion.Withdraw), posted to the collection its standing version is in.
// Revoking only the counted opinion would bring back an older one.
func withdrawOwn(ctx context.Context, c *cli, client *taxii.Client, conc opinion.Concurrence, me string, key ed25519.PrivateKey) error {
	var ops []opinion.Opinion
	collection := map[string]string{} // opinion id and version → collection
	// Each version is verified with the key me had in force when it was
	// logged, as the tally counts it: an opinion signed before a rotation
	// still counts, so it must be withdrawn too (the evidence verified
	// already: verifyConcurrenceEvidence).
	var keys *tlog.KeyHistory
	if len(conc.Evidence.Items) > 0 {
		var err error
		if _, keys, err = conc.Evidence.Open(); err != nil {
			return withExit(1, "the node served log evidence that doesn't verify; keep its answer as evidence", err)
		}
	}
	for _, it := range conc.Evidence.Items {
		// An opinion without created_by_ref belongs to its sharer.
		op, err := opinion.VerifyLogged(it.Object, it.Member, it.LogIndex, keys)
		if err != nil || op.Member != me {
			continue
		}
		ops = append(ops, op)
		collection[op.ID+" "+formatVersion(op.Version)] = it.Collection
	}
	ws, err := opinion.Withdraw(conc.Object, me, ops, key, time.Now())
	if err != nil {
		return withExit(3, "", err)
	}
	if len(ws) == 0 {
		return withExit(1, "parley concurrence OBJECT_ID shows the opinions that count", fmt.Errorf("you have no opinion on %s to withdraw", conc.Object))
	}
	for _, w := range ws {
		target := collection[w.Standing.ID+" "+formatVersion(w.Standing.Version)]
		if err := postOpinion(ctx, client, target, w.Raw); err != nil {
			return err
		}
		op, _ := opinion.Parse(w.Raw)
		what := "revoked"
		if !w.Revoked {
			what = "no longer about it (still about " + strings.Join(op.ObjectRefs, ", ") + ")"
		}
		fmt.Fprintf(c.stdout, "%s (%s) %s, version %s, posted to collection %s\n", op.ID, op.Value, what, formatVersion(op.Version), target)
	}
	fmt.Fprintf(c.stdout, "withdrew your stance on %s: none of your opinions on it counts now\n", conc.Object)
	return nil
}

// optionalInt is an integer flag that may be absent: unlike fs.Int with a
// sentinel, its help shows no default.
type optionalInt struct {
	v   int
	set bool
}

func (o *optionalInt) String() string {
	if o == nil || !o.set {
		return ""
	}
	return strconv.Itoa(o.v)
}

func (o *optionalInt) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return errors.New("not an integer")
	}
	o.v, o.set = n, true
	return nil
}
