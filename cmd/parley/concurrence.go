package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/parley-exchange/parley/internal/untrusted"
	"github.com/parley-exchange/parley/opinion"
	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/tlog"
)

func init() {
	register(command{
		name:  "concurrence",
		usage: "concurrence --url U --token-file F [--log-key VKEY] [--seen FILE] [--json] OBJECT_ID   how many members concur, re-checked from signatures and the log",
		run:   runConcurrence,
	})
}

// runConcurrence fetches the node's tally of opinions on an object and
// re-checks it: the log evidence against the node's checkpoint key, each
// opinion's signature against its member's key, and the tally against the
// verified opinions (opinion.VerifyConcurrence). Exit 1 when the tally
// doesn't follow or the evidence doesn't verify.
func runConcurrence(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlagSet("concurrence")
	u := fs.String("url", "", "the node's `URL`")
	token := fs.String("token", "", "your API `TOKEN` (better: PARLEY_TOKEN or --token-file)")
	tokenFile := fs.String("token-file", "", "read the token from `FILE` (the token, or member add --json output)")
	asJSON := fs.Bool("json", false, "print the verified answer as JSON instead of a table")
	trust := addTrustFlags(fs)
	polFlags := addPolicyFlags(fs)
	pos, err := parseInterspersed(c, fs, args)
	if err != nil {
		return err
	}
	pol, err := polFlags.policy()
	if err != nil {
		return err
	}
	if err := readToken(c.stderr, token, *tokenFile); err != nil {
		return err
	}
	if *u == "" || *token == "" || len(pos) != 1 {
		return usageErrorf("parley concurrence --url URL --token TOKEN report--…", "concurrence needs --url, --token and one object id%s",
			missing(required{"--url", *u != ""}, required{"--token-file (or --token)", *token != ""}, required{"an object id", len(pos) > 0}))
	}
	object := pos[0]
	if _, err := stix.SplitIdentifier(object); err != nil {
		return usageErrorf("parley concurrence --url URL --token TOKEN report--…", "OBJECT_ID must be a STIX id such as report--…: %v", err)
	}
	// The node's log first ([trustFlags.pin]): a node showing another
	// log, or a fork of the pinned one, is asked nothing. The evidence is
	// then checked with the pinned log key, and its checkpoint against
	// the ones seen before (as parley audit keeps them).
	trust.readPolicy = pol
	p, err := trust.pin(ctx, c, *u, *token)
	if err != nil {
		return err
	}
	if pol == nil {
		// No policy flags: the one recorded for the seen file, which
		// the node's latest checkpoint met, holds for the evidence's
		// checkpoint too, as with the flags.
		pol = p.policy
	}
	conc, err := fetchConcurrence(ctx, c.httpClient(), *u, *token, object)
	if err != nil {
		return err
	}
	seen, seenPath, key := p.seen, p.seenPath, p.key
	seen.Policy = pol // its witnesses' lines verified before they are kept
	if conc.Object != object {
		return withExit(1, "", fmt.Errorf("the node answered about %s, not %s", conc.Object, object))
	}
	res, verr := opinion.VerifyConcurrence(conc, key)
	if verr == nil && pol != nil && conc.Evidence.Checkpoint != "" {
		if _, err := checkQuorum(pol, []byte(conc.Evidence.Checkpoint)); err != nil {
			return err
		}
	}
	stale := ""
	if verr == nil && conc.Evidence.Checkpoint != "" {
		stale = olderThanSeen(seen, key, res.Checkpoint)
		if err := checkSeen(ctx, &tlog.Client{URL: *u, Token: *token, HTTP: c.httpClient()}, seen, key, []byte(conc.Evidence.Checkpoint)); err != nil {
			var ee *exitError
			if errors.As(err, &ee) {
				return err
			}
			return withExit(1, "the conflicting checkpoints are kept as evidence in "+seenPath, err)
		}
	}
	// The node's word that the object is revoked, checked where it can
	// be: its revoked version, signed by its author, in the log.
	revocation := ""
	if conc.ObjectRevoked && verr == nil {
		revocation = checkRevocation(ctx, &tlog.Client{URL: *u, Token: *token, HTTP: c.httpClient()}, key, object)
	}
	if stale != "" {
		fmt.Fprintf(c.stderr, "parley: warning: %s\n", stale)
	}
	if *asJSON {
		if verr != nil {
			return withExit(1, "", verr)
		}
		// The answer as JSON on stdout (object_revoked with it), the
		// warning on stderr.
		if conc.ObjectRevoked {
			fmt.Fprintf(c.stderr, "parley: warning: %s\n", revokedWarning(conc, revocation))
		}
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(conc)
	}
	if errors.Is(verr, opinion.ErrEvidence) {
		return withExit(1, "the node served log evidence that doesn't verify; keep its answer as evidence", verr)
	}
	printConcurrence(c.stdout, conc, res, key, revocation)
	if verr != nil {
		return withExit(1, "the node's counts are not backed by signed, logged opinions; keep its answer as evidence (parley concurrence --json)",
			fmt.Errorf("the node's tally does not follow from the verified opinions: %w", verr))
	}
	return nil
}

// verifyConcurrenceEvidence checks the log evidence of a node's
// concurrence answer with the pinned log key (see [trustFlags]): the
// opinions, their entries and openings, and the member keys in force.
func verifyConcurrenceEvidence(ctx context.Context, c *cli, trust *trustFlags, url, token string, conc opinion.Concurrence) error {
	p, err := trust.pin(ctx, c, url, token)
	if err != nil {
		return err
	}
	if _, err := opinion.VerifyConcurrence(conc, p.key); errors.Is(err, opinion.ErrEvidence) {
		return withExit(1, "the node served log evidence that doesn't verify; keep its answer as evidence", err)
	}
	return p.seen.Save()
}

// printConcurrence prints the verified tally beside the node's claim.
func printConcurrence(w io.Writer, conc opinion.Concurrence, res opinion.Verification, key, revocation string) {
	fmt.Fprintf(w, "concurrence on %s\n", untrusted.Text(conc.Object, 200))
	if res.Checkpoint.Size > 0 {
		fmt.Fprintf(w, "log %s, checkpoint at tree size %d (key %s)\n", untrusted.Text(res.Checkpoint.Origin, 200), res.Checkpoint.Size, key)
	}
	fmt.Fprintf(w, "%d of %d members with access have an opinion that counts\n", res.Tally.Voices(), conc.MembersWithAccess)
	if conc.ObjectRevoked {
		fmt.Fprintf(w, "WARNING: %s\n", revokedWarning(conc, revocation))
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "OPINION\tVERIFIED\tNODE SAYS\t")
	for _, v := range opinion.Values {
		mark := ""
		if conc.Counts[v] != res.Tally.Counts[v] {
			mark = "  <- does not follow"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d%s\t\n", v, res.Tally.Counts[v], conc.Counts[v], mark)
	}
	tw.Flush()
	fmt.Fprintln(w)
	// The explanation shown is the counted version's: an opinion has
	// several versions in the evidence, in the node's order.
	ops := map[string]opinion.Opinion{}
	for _, it := range res.Items {
		if it.Opinion.Verified() {
			ops[it.Opinion.ID+" "+it.Opinion.Member+" "+stix.FormatTimestamp(it.Opinion.Version)] = it.Opinion
		}
	}
	if len(res.Tally.Votes) > 0 {
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "MEMBER\tOPINION\tCONFIDENCE\tVERSION\tMEMBER ID\tOPINION ID\tEXPLANATION")
		for _, v := range res.Tally.Votes {
			name := res.Names[v.Member]
			if name == "" {
				name = v.Member
			}
			conf := "-"
			if v.Confidence != nil {
				conf = strconv.Itoa(*v.Confidence)
			}
			expl := ops[v.OpinionID+" "+v.Member+" "+v.Version].Explanation
			if r := []rune(expl); len(r) > 60 {
				expl = string(r[:59]) + "…"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", untrusted.Text(name, 40), v.Value, conf, untrusted.Text(v.Version, 64), untrusted.Text(v.Member, 200), untrusted.Text(v.OpinionID, 200), untrusted.Text(strings.Join(strings.Fields(expl), " "), 200))
		}
		tw.Flush()
		// The member ids are what the signatures verified; the names are
		// the node's word (the log doesn't hold them), so a node could
		// swap two members' names, never their ids.
		fmt.Fprintln(w, "(MEMBER is the node's name for MEMBER ID; the signatures vouch for the id, not the name)")
		if note := earlierOpinions(conc, res); note != "" {
			fmt.Fprintf(w, "note: %s\n", note)
		}
		fmt.Fprintln(w)
	}
	var superseded, unsigned, forged, invalid int
	for _, it := range res.Items {
		switch {
		case it.Err == nil:
		case errors.Is(it.Err, opinion.ErrUnsigned):
			unsigned++
		case errors.Is(it.Err, opinion.ErrForged), errors.Is(it.Err, opinion.ErrUnknownMember):
			forged++
		default:
			invalid++
		}
	}
	superseded = len(res.Items) - unsigned - forged - invalid - res.Tally.Voices()
	fmt.Fprintf(w, "%d opinion versions in evidence: %d counted, %d superseded, revoked or about other objects, %d unsigned, %d with a bad signature, %d invalid\n",
		len(res.Items), res.Tally.Voices(), superseded, unsigned, forged, invalid)
}

// olderThanSeen says, when a checkpoint of the log larger than cp (the
// evidence's) was seen before, that the tally may be stale: a node answers
// from its latest checkpoint, and one that answers from an older one can
// leave out every opinion version logged since (a revocation, a new
// stance) without any proof failing. "" when none larger was seen.
func olderThanSeen(seen *tlog.SeenCheckpoints, key string, cp tlog.Checkpoint) string {
	v, err := tlog.NewVerifier(key)
	if err != nil {
		return ""
	}
	_, _, upper := seen.Neighbours(cp, v)
	if upper == "" {
		return ""
	}
	newer, err := tlog.OpenCheckpoint([]byte(upper), v)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("the evidence's checkpoint (tree size %d) is older than one of this log seen before (tree size %d): opinion versions logged in between, a revocation or a new stance, are not in this tally (a node answers from its latest checkpoint)", cp.Size, newer.Size)
}

// earlierOpinions names the counted opinions dated before the latest
// version of the object that the node says the member may read
// (object_latest_version): an opinion names the object's id, not one of
// its versions, so its author may have changed the object since (the
// attribution of a report, say) and the opinion still counts. Its date
// is its member's signed word, the latest version the node's; "" when
// none is earlier or the node gives no version.
func earlierOpinions(conc opinion.Concurrence, res opinion.Verification) string {
	latest, err := time.Parse(time.RFC3339Nano, conc.ObjectLatestVersion)
	if err != nil {
		return ""
	}
	var names []string
	for _, v := range res.Tally.Votes {
		t, err := time.Parse(time.RFC3339Nano, v.Version)
		if err != nil || !t.Before(latest) {
			continue
		}
		name := res.Names[v.Member]
		if name == "" {
			name = v.Member
		}
		names = append(names, untrusted.Text(name, 40))
	}
	if len(names) == 0 {
		return ""
	}
	return fmt.Sprintf("%d counted opinion(s) are dated before the latest version of %s (%s, the node's word), so they may be about what an earlier version said: an opinion names an object, not one of its versions (%s)",
		len(names), untrusted.Text(conc.Object, 120), untrusted.Text(conc.ObjectLatestVersion, 40), strings.Join(names, ", "))
}

// revokedWarning says that the node reports conc's object withdrawn: its
// latest version that the member may read is revoked (object_revoked).
// That is the node's word, like members_with_access, unless checked
// names the revoked version that [checkRevocation] found in the log; the
// node's text is printed inert.
func revokedWarning(conc opinion.Concurrence, checked string) string {
	version := ""
	if conc.ObjectLatestVersion != "" {
		version = " (version " + untrusted.Text(conc.ObjectLatestVersion, 40) + ")"
	}
	how := "the node's word, not checked against the log"
	if checked != "" {
		how = checked
	}
	return fmt.Sprintf("the node says the latest version of %s%s is revoked: its author revoked it, so opinions agreeing with it vouch for a revoked object (%s)", untrusted.Text(conc.Object, 120), version, how)
}

// checkRevocation looks for the revocation of object in the log: the
// proof bundle of its versions (GET /log/bundle, as parley proof gets it)
// must verify with the pinned log key and a complete key index, and hold
// a revoked version signed by the member who shared it and who created
// it. It returns what it checked, or "" when it couldn't (the warning is
// then the node's word). A logged, signed revocation can't be undone (a
// revoked STIX object gets no later version); that the node shows every
// revocation, it can't check.
func checkRevocation(ctx context.Context, cl *tlog.Client, key, object string) string {
	data, err := cl.Bundle(ctx, object)
	if err != nil {
		return ""
	}
	res, err := tlog.VerifyBundle(data, key)
	if err != nil || !res.KeysComplete {
		return ""
	}
	var b tlog.Bundle
	if err := json.Unmarshal(data, &b); err != nil || len(b.Items) != len(res.Items) {
		return ""
	}
	for i, it := range res.Items {
		var o struct {
			ID      string `json:"id"`
			Revoked bool   `json:"revoked"`
		}
		if json.Unmarshal(b.Items[i].Object, &o) != nil || o.ID != object || it.Opening.ObjectID != object || !o.Revoked || !it.Signed || it.Check.Relayed() {
			continue
		}
		return fmt.Sprintf("checked: its revoked version %s is in the log at entry %d, signed by its author %s", untrusted.Text(it.Opening.Version, 40), it.Index, untrusted.Text(it.Opening.Member, 120))
	}
	return ""
}

// maxConcurrenceAnswer bounds the node's answer to GET /concurrence: the
// opinions about one object with their proofs.
const maxConcurrenceAnswer = 64 << 20

// fetchConcurrence gets GET /concurrence?object=ID, retrying for a few
// seconds while the node answers 503 (opinions not yet in a checkpoint).
func fetchConcurrence(ctx context.Context, hc *http.Client, base, token, object string) (opinion.Concurrence, error) {
	var conc opinion.Concurrence
	u := strings.TrimSuffix(base, "/") + "/concurrence?object=" + url.QueryEscape(object)
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return conc, usageErrorf("", "bad --url: %v", err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := hc.Do(req)
		if err != nil {
			return conc, withExit(4, "check --url", fmt.Errorf("couldn't reach the node: %w", untrusted.ClipURLError(err)))
		}
		// Cut quietly, a longer answer would read as one that isn't a
		// concurrence.
		body, err := readBounded(resp.Body, "the node's answer", maxConcurrenceAnswer)
		resp.Body.Close()
		if err != nil {
			return conc, withExit(4, "", fmt.Errorf("couldn't read the node's answer: %w", err))
		}
		switch {
		case resp.StatusCode == http.StatusOK:
			if err := json.Unmarshal(body, &conc); err != nil {
				return conc, withExit(1, "", fmt.Errorf("the node's answer isn't a concurrence: %v", err))
			}
			return conc, nil
		case resp.StatusCode == http.StatusServiceUnavailable && time.Now().Before(deadline):
			select {
			case <-ctx.Done():
				return conc, ctx.Err()
			case <-time.After(500 * time.Millisecond):
			}
			continue
		case resp.StatusCode == http.StatusNotFound:
			return conc, withExit(4, "only objects in collections you may read have a concurrence", fmt.Errorf("the node knows no object %s that you may read", object))
		case resp.StatusCode == http.StatusUnauthorized:
			return conc, withExit(4, "check "+tokenFlag, errors.New("the node refused the token"))
		}
		msg := untrusted.Text(strings.TrimSpace(string(body)), 200)
		return conc, withExit(4, "", fmt.Errorf("the node answered %s: %s", statusText(resp.StatusCode), msg))
	}
}

// checkSeen checks note against the checkpoints in seen
// ([tlog.SeenCheckpoints.CheckConsistent]), whose pinned key must be key,
// then records it and saves the file (also when it conflicts, as evidence).
func checkSeen(ctx context.Context, cl *tlog.Client, seen *tlog.SeenCheckpoints, key string, note []byte) error {
	if seen.Key != "" && seen.Key != key {
		return fmt.Errorf("the log key %s isn't the one pinned in the seen file (%s)", key, seen.Key)
	}
	v, err := tlog.NewVerifier(key)
	if err != nil {
		return err
	}
	seen.Key = key
	cerr := seen.CheckConsistent(ctx, note, v, cl)
	if cerr != nil && !errors.Is(cerr, tlog.ErrProof) {
		return withExit(4, "", cerr)
	}
	if err := seen.Save(); err != nil {
		return withExit(3, "", err)
	}
	return cerr
}
