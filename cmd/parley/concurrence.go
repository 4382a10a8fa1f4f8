package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

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
	logKey := fs.String("log-key", "", "the node's note verifier `KEY` to pin (default: fetched from the node's /log/key)")
	asJSON := fs.Bool("json", false, "print the verified answer as JSON instead of a table")
	seenPath := fs.String("seen", "", "check the evidence's checkpoint against the checkpoints seen before in `FILE` (as parley audit --seen keeps them), then add it")
	pos, err := parseInterspersed(c, fs, args)
	if err != nil {
		return err
	}
	if err := readToken(token, *tokenFile); err != nil {
		return err
	}
	if *u == "" || *token == "" || len(pos) != 1 {
		return usageErrorf("parley concurrence --url URL --token TOKEN report--…", "concurrence needs --url, --token and one object id")
	}
	object := pos[0]
	if _, err := stix.SplitIdentifier(object); err != nil {
		return usageErrorf("parley concurrence --url URL --token TOKEN report--…", "OBJECT_ID must be a STIX id such as report--…: %v", err)
	}
	conc, err := fetchConcurrence(ctx, c.httpClient(), *u, *token, object)
	if err != nil {
		return err
	}
	var seen *tlog.SeenCheckpoints
	if *seenPath != "" {
		if seen, err = tlog.LoadSeen(*seenPath); err != nil {
			return withExit(3, "", err)
		}
	}
	key := *logKey
	if key == "" && seen != nil {
		key = seen.Key
	}
	if key == "" {
		cl := &tlog.Client{URL: *u, Token: *token, HTTP: c.httpClient()}
		if key, err = cl.Key(ctx); err != nil {
			return withExit(4, "check --url and --token", fmt.Errorf("couldn't fetch the node's log key: %w", err))
		}
	}
	if conc.Object != object {
		return withExit(1, "", fmt.Errorf("the node answered about %s, not %s", conc.Object, object))
	}
	res, verr := opinion.VerifyConcurrence(conc, key)
	if seen != nil && verr == nil && conc.Evidence.Checkpoint != "" {
		if err := checkSeen(ctx, &tlog.Client{URL: *u, Token: *token, HTTP: c.httpClient()}, seen, key, []byte(conc.Evidence.Checkpoint), res.Checkpoint); err != nil {
			var ee *exitError
			if errors.As(err, &ee) {
				return err
			}
			return withExit(1, "the conflicting checkpoints are kept as evidence in "+*seenPath, err)
		}
	}
	if *asJSON {
		if verr != nil {
			return withExit(1, "", verr)
		}
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(conc)
	}
	if errors.Is(verr, opinion.ErrEvidence) {
		return withExit(1, "the node served log evidence that doesn't verify; keep its answer as evidence", verr)
	}
	printConcurrence(c.stdout, conc, res, key)
	if verr != nil {
		return withExit(1, "the node's counts are not backed by signed, logged opinions; keep its answer as evidence (parley concurrence --json)",
			fmt.Errorf("the node's tally does not follow from the verified opinions: %w", verr))
	}
	return nil
}

// printConcurrence prints the verified tally beside the node's claim.
func printConcurrence(w io.Writer, conc opinion.Concurrence, res opinion.Verification, key string) {
	fmt.Fprintf(w, "concurrence on %s\n", conc.Object)
	if res.Checkpoint.Size > 0 {
		fmt.Fprintf(w, "log %s, checkpoint at tree size %d (key %s)\n", res.Checkpoint.Origin, res.Checkpoint.Size, key)
	}
	fmt.Fprintf(w, "%d of %d members with access have an opinion that counts\n\n", res.Tally.Voices(), conc.MembersWithAccess)
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
	ops := map[string]opinion.Opinion{}
	for _, it := range res.Items {
		if it.Opinion.Verified() {
			ops[it.Opinion.ID+" "+it.Opinion.Member] = it.Opinion
		}
	}
	if len(res.Tally.Votes) > 0 {
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "MEMBER\tOPINION\tCONFIDENCE\tVERSION\tOPINION ID\tEXPLANATION")
		for _, v := range res.Tally.Votes {
			name := res.Names[v.Member]
			if name == "" {
				name = v.Member
			}
			conf := "-"
			if v.Confidence != nil {
				conf = strconv.Itoa(*v.Confidence)
			}
			expl := ops[v.OpinionID+" "+v.Member].Explanation
			if r := []rune(expl); len(r) > 60 {
				expl = string(r[:59]) + "…"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", name, v.Value, conf, v.Version, v.OpinionID, strings.Join(strings.Fields(expl), " "))
		}
		tw.Flush()
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
			return conc, withExit(4, "check --url", fmt.Errorf("couldn't reach the node: %w", err))
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
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
			return conc, withExit(4, "check --token", errors.New("the node refused the token"))
		}
		msg := strings.TrimSpace(string(body))
		if len(msg) > 200 {
			msg = msg[:200]
		}
		return conc, withExit(4, "", fmt.Errorf("the node answered %s: %s", resp.Status, msg))
	}
}

// parseInterspersed parses flags that may come before, between or after
// the positional arguments (`parley opinion ID agree --explanation …`;
// after "--" everything is positional), then applies the PARLEY_*
// fallbacks, and returns the positionals.
func parseInterspersed(c *cli, fs *flag.FlagSet, args []string) ([]string, error) {
	c.addRemoteFlags(fs)
	var pos []string
	rest := args
	for len(rest) > 0 {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &exitError{code: 2, err: errSilent}
		}
		left := fs.Args()
		if i := len(rest) - len(left) - 1; i >= 0 && rest[i] == "--" {
			pos = append(pos, left...)
			break
		}
		if len(left) == 0 {
			break
		}
		pos = append(pos, left[0])
		rest = left[1:]
	}
	if err := c.parseFlags(fs, nil); err != nil {
		return nil, err
	}
	return pos, nil
}

// checkSeen checks that cp (the signed note) is consistent with the
// largest checkpoint seen before in seen, whose key must be key: same
// size, same root; otherwise a consistency proof from the node between
// the two sizes. It then records cp (also when it conflicts, as evidence)
// and saves the file.
func checkSeen(ctx context.Context, cl *tlog.Client, seen *tlog.SeenCheckpoints, key string, note []byte, cp tlog.Checkpoint) error {
	if seen.Key != "" && seen.Key != key {
		return fmt.Errorf("the log key %s isn't the one pinned in the seen file (%s)", key, seen.Key)
	}
	v, err := tlog.NewVerifier(key)
	if err != nil {
		return err
	}
	// Same size: the same root. Otherwise the nearest smaller and larger
	// checkpoints seen must be consistent with cp.
	var lower, upper *tlog.Checkpoint
	var cerr error
	for _, n := range seen.Notes {
		c, err := tlog.OpenCheckpoint([]byte(n), v)
		if err != nil || c.Origin != cp.Origin {
			continue
		}
		switch {
		case c.Size == cp.Size:
			if c.Hash != cp.Hash && cerr == nil {
				cerr = fmt.Errorf("the node signed two different trees of size %d: its log forked", cp.Size)
			}
		case c.Size < cp.Size && c.Size > 0 && (lower == nil || c.Size > lower.Size):
			lower = &c
		case c.Size > cp.Size && (upper == nil || c.Size < upper.Size):
			upper = &c
		}
	}
	for _, pair := range [][2]*tlog.Checkpoint{{lower, &cp}, {&cp, upper}} {
		small, big := pair[0], pair[1]
		if cerr != nil || small == nil || big == nil || small.Size == 0 {
			continue
		}
		p, err := cl.ConsistencyProof(ctx, small.Size, big.Size)
		if err != nil {
			return withExit(4, "", fmt.Errorf("couldn't get a consistency proof from size %d to %d: %w", small.Size, big.Size, err))
		}
		if err := tlog.VerifyConsistency(small.Size, big.Size, p, small.Hash, big.Hash); err != nil {
			cerr = fmt.Errorf("the checkpoints of sizes %d and %d aren't consistent: the log was rewritten", small.Size, big.Size)
		}
	}
	seen.Key = key
	dup := false
	for _, n := range seen.Notes {
		dup = dup || n == string(note)
	}
	if !dup {
		seen.Notes = append(seen.Notes, string(note))
	}
	if err := seen.Save(); err != nil {
		return withExit(3, "", err)
	}
	return cerr
}
