package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
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
		usage: "opinion --url U --token T --key K OBJECT_ID VALUE [--explanation TEXT] [--confidence N]   sign and post an opinion (--revoke OBJECT_ID withdraws it)",
		run:   runOpinion,
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
	confidence := fs.Int("confidence", -1, "your confidence from 0 to 100 (`N`; default: none given)")
	coll := fs.String("collection", "", "post to collection `C` (id or title; default: a collection holding the object that you may write)")
	as := fs.String("as", "", "your member identity `ID` (default: the member whose registered key is --key)")
	revoke := fs.Bool("revoke", false, "revoke your counted opinion on OBJECT_ID instead of posting a new one")
	trust := addTrustFlags(fs)
	pos, err := parseInterspersed(c, fs, args)
	if err != nil {
		return err
	}
	if err := readToken(token, *tokenFile); err != nil {
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
	if *confidence != -1 {
		if *confidence < 0 || *confidence > 100 {
			return usageErrorf("", "--confidence must be from 0 to 100")
		}
		conf = confidence
	}
	key, err := readPrivateKey(*keyFile)
	if err != nil {
		return err
	}
	me := *as
	if me == "" {
		if me, err = identityOfKey(ctx, *u, *token, key.Public().(ed25519.PublicKey)); err != nil {
			return err
		}
	}
	conc, err := fetchConcurrence(ctx, *u, *token, object)
	if err != nil {
		return err
	}
	// What the node says about the opinions (and, for --revoke, the
	// opinion revoked) is used only once it verifies against the log.
	if err := verifyConcurrenceEvidence(ctx, c, trust, *u, *token, conc); err != nil {
		return err
	}
	client := &taxii.Client{BaseURL: *u, Token: *token}
	var signed []byte
	var target string
	if *revoke {
		if signed, target, err = revokeOwn(conc, me, key); err != nil {
			return err
		}
	} else {
		if signed, err = opinion.New(opinion.Draft{Member: me, Object: object, Value: value, Explanation: *explanation, Confidence: conf}, key, time.Now(), rand.Reader); err != nil {
			return usageErrorf("", "%v", err)
		}
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
	}
	st, err := client.AddObjects(ctx, target, []json.RawMessage{signed})
	if err != nil {
		return withExit(4, "check --url, --token and --collection", fmt.Errorf("couldn't post the opinion: %w", err))
	}
	op, _ := opinion.Parse(signed)
	if st.FailureCount > 0 {
		return withExit(4, "", fmt.Errorf("the node refused opinion %s: %s", op.ID, st.Failures[0].Message))
	}
	what := string(op.Value)
	if op.Revoked {
		what = "revoked (was " + what + ")"
	}
	fmt.Fprintf(c.stdout, "%s %s on %s, version %s, posted to collection %s\n", op.ID, what, object, op.Version.UTC().Format("2006-01-02T15:04:05.000Z"), target)
	return nil
}

// identityOfKey finds the member whose registered key is pub.
func identityOfKey(ctx context.Context, base, token string, pub ed25519.PublicKey) (string, error) {
	cl := &tlog.Client{URL: base, Token: token}
	resp, err := cl.Keys(ctx)
	if err != nil {
		return "", withExit(4, "check --url and --token", fmt.Errorf("couldn't list the member keys: %w", err))
	}
	// Only a lookup: what is posted with the identity is then checked
	// against the log by the node and by every reader.
	keys, err := resp.Replay()
	if err != nil {
		return "", withExit(4, "", fmt.Errorf("couldn't read the member keys: %w", err))
	}
	var ids []string
	for _, id := range keys.Members() {
		if k, ok := keys.KeyAt(id, resp.TreeSize); ok && bytes.Equal(k.Key, pub) {
			ids = append(ids, id)
		}
	}
	switch len(ids) {
	case 1:
		return ids[0], nil
	case 0:
		return "", usageErrorf("register it with parley member add --pubkey, or name your identity with --as", "no member has the public key of --key registered")
	}
	return "", usageErrorf("name your identity with --as", "%d members have this key registered: %s", len(ids), strings.Join(ids, ", "))
}

// revokeOwn writes the revoking version of me's counted opinion in conc
// and returns it with the collection its counted version is in.
func revokeOwn(conc opinion.Concurrence, me string, key ed25519.PrivateKey) ([]byte, string, error) {
	var mine *opinion.Vote
	for i := range conc.Votes {
		if conc.Votes[i].Member == me {
			mine = &conc.Votes[i]
		}
	}
	if mine == nil {
		return nil, "", withExit(1, "parley concurrence OBJECT_ID shows the opinions that count", fmt.Errorf("you have no counted opinion on %s to revoke", conc.Object))
	}
	for _, it := range conc.Evidence.Items {
		// An opinion without created_by_ref belongs to its sharer.
		op, err := opinion.VerifyShared(it.Object, it.Member, opinion.Keys{me: key.Public().(ed25519.PublicKey)})
		if err != nil || op.ID != mine.OpinionID || op.Member != me || op.Version.UTC().Format(time.RFC3339Nano) != mustTime(mine.Version) {
			continue
		}
		rev, err := opinion.Revoke(it.Object, key, time.Now())
		if err != nil {
			return nil, "", withExit(3, "", err)
		}
		return rev, it.Collection, nil
	}
	return nil, "", withExit(1, "", fmt.Errorf("the node's answer lacks your counted opinion %s", mine.OpinionID))
}

// mustTime normalises a timestamp text for comparison ("" if it doesn't parse).
func mustTime(s string) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
