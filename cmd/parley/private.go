package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/parley-exchange/parley/internal/match"
	"github.com/parley-exchange/parley/internal/untrusted"
	"github.com/parley-exchange/parley/private"
	"github.com/parley-exchange/parley/taxii"
	"github.com/parley-exchange/parley/tlog"
	"golang.org/x/mod/sumdb/note"
)

// parley private publish --url U --token T --collection C [--values FILE]
// parley private check   --url U --token T --set ID [--log-key VKEY] [FILE|-]
// parley private sets    --url U --token T [--log-key VKEY] [--seen FILE] [--json]
// parley private withdraw --url U --token T --set ID [--key FILE]
// parley private receipt --url U --token T --set ID [--log-key VKEY] [--seen FILE] [--receipts DIR]
// parley private receipt --file SAVED --log-key VKEY [--witness-policy FILE]
//
// Exit codes: publish, sets and withdraw: 0 done, 2 bad usage or a bad value, 4 the
// node refused. check: 0 at least one line is in the set (they are
// printed), 1 none is, 2 bad usage or a bad line, 3 the verified receipt
// couldn't be saved, 4 the node refused (including a spent query budget)
// or a proof or the key's log receipt did not verify. receipt: 0
// verified (and saved), 1 the log forked or lacks the witness quorum,
// or an entry's time (the withdrawal's) disagrees with the witnesses'
// cosignatures, 2 bad usage, 3 couldn't save, 4 the node refused or the
// receipt did not verify.
func init() {
	register(command{
		name:  "private",
		usage: "private publish|check|sets|withdraw|receipt --url U --token-file F ...   private set membership (OPRF): publish your indicators, check values privately",
		help: `  publish  make a private set of your equality indicators in collection C
           (or of the type:value lines of --values FILE); prints its id
  check    check type:value lines (or --format zeek|eve|ecs|stix logs)
           against set ID without revealing them; prints the lines in the
           set. Exit 0 some are in the set, 1 none, 2 bad input or usage,
           4 the node refused or its answer did not verify
  sets     the sets you may query, their sizes and your query budget left
  withdraw withdraw set ID, which you published: nothing matches it after
           (--key FILE signs the withdrawal, so readers see it was you)
  receipt  fetch, verify and keep set ID's log receipt (a withdrawn set's
           too, for those who could read it), or verify a kept one (--file)`,
		subcommands: []subcommand{
			{name: "publish", usage: "private publish --url U --token-file F --collection C [--values FILE]"},
			{name: "check", usage: "private check   --url U --token-file F --set ID [--log-key VKEY] [--seen FILE] [--witness-policy FILE] [FILE|-]",
				help: "Exit 0 some are in the set (they are printed), 1 none (or the log forked, or\nits checkpoint lacks the witness quorum), 2 bad input or usage, 4 the node\nrefused or its answer did not verify."},
			{name: "sets", usage: "private sets    --url U --token-file F [--log-key VKEY] [--seen FILE] [--json]"},
			{name: "withdraw", usage: "private withdraw --url U --token-file F --set ID [--key FILE]"},
			{name: "receipt", usage: "private receipt --url U --token-file F --set ID [--log-key VKEY] [--seen FILE] [--witness-policy FILE] [--receipts DIR]   |   private receipt --file SAVED --log-key VKEY [--witness-policy FILE]"},
		},
		run: runPrivate,
	})
}

const privateUsage = `usage:
  parley private publish --url U --token-file F --collection C [--values FILE]
  parley private check   --url U --token-file F --set ID [--log-key VKEY] [FILE|-]
  parley private sets    --url U --token-file F [--log-key VKEY] [--seen FILE] [--json]
  parley private withdraw --url U --token-file F --set ID [--key FILE] [--log-key VKEY] [--seen FILE]
  parley private receipt --url U --token-file F --set ID [--log-key VKEY] [--seen FILE] [--receipts DIR]
  parley private receipt --file SAVED --log-key VKEY [--witness-policy FILE]`

func runPrivate(ctx context.Context, c *cli, args []string) error {
	if len(args) == 0 {
		return usageErrorf(privateUsage, "private needs a subcommand: publish, check, sets, withdraw or receipt")
	}
	switch args[0] {
	case "publish":
		return runPrivatePublish(ctx, c, args[1:])
	case "check":
		return runPrivateCheck(ctx, c, args[1:])
	case "sets":
		return runPrivateSets(ctx, c, args[1:])
	case "withdraw":
		return runPrivateWithdraw(ctx, c, args[1:])
	case "receipt":
		return runPrivateReceipt(ctx, c, args[1:])
	}
	return usageErrorf(privateUsage, "unknown private subcommand %q", args[0])
}

// privateRemoteFlags are the flags every private subcommand shares.
type privateRemoteFlags struct {
	url, token, tokenFile *string
}

func addPrivateRemoteFlags(fs interface {
	String(name, value, usage string) *string
}) privateRemoteFlags {
	return privateRemoteFlags{
		url:       fs.String("url", "", "the node's `URL`"),
		token:     fs.String("token", "", "your API `TOKEN` (better: PARLEY_TOKEN or --token-file)"),
		tokenFile: fs.String("token-file", "", "read the token from `FILE` (the token, or member add --json output)"),
	}
}

func (r privateRemoteFlags) client(c *cli, usage string) (*private.Client, error) {
	if err := readToken(c.stderr, r.token, *r.tokenFile); err != nil {
		return nil, err
	}
	if *r.url == "" || *r.token == "" {
		return nil, usageErrorf(usage, "--url and --token are required")
	}
	return &private.Client{BaseURL: *r.url, Token: *r.token, HTTP: c.httpClient()}, nil
}

// privateRemoteError maps an error from the node to exit 4 with a hint.
func privateRemoteError(what string, err error) error {
	var he *private.HTTPError
	switch {
	case errors.Is(err, private.ErrBudgetSpent):
		return withExit(4, "your query budget for this set is spent or smaller than this batch; parley private sets shows what is left, and the node's operator sets private.query_budget", fmt.Errorf("couldn't %s: %w", what, err))
	case errors.As(err, &he) && he.Status == 401:
		return withExit(4, "check "+tokenFlag, fmt.Errorf("couldn't %s: %w", what, err))
	case errors.As(err, &he) && he.Status == 404:
		return withExit(4, "list the sets you may query with parley private sets (a set withdrawn since you could read it: parley private receipt --set ID keeps its receipt)", fmt.Errorf("couldn't %s: %w", what, err))
	}
	return withExit(4, "", fmt.Errorf("couldn't %s: %w", what, err))
}

// readPrivateLines reads "type:value" lines from a file or stdin ("-"), skipping
// blank lines and # comments, and checks each one.
func readPrivateLines(c *cli, name string) ([]string, error) {
	var r io.Reader = c.stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, usageErrorf("", "couldn't read values: %v", err)
		}
		defer f.Close()
		r = f
	}
	var lines []string
	size := 0
	sc := newLineScanner(r, maxScanLine)
	for n := 1; sc.Scan(); n++ {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if _, _, _, err := private.ParseLine(l); err != nil {
			return nil, usageErrorf("write one type:value per line, such as domain-name:evil.example or ipv4-addr:198.51.100.7",
				"%s line %d: %v", name, n, err)
		}
		if size += len(l) + len(`"",`); size > maxPrivateValues {
			return nil, errTooManyValues(name)
		}
		lines = append(lines, l)
	}
	if err := sc.Err(); err != nil {
		return nil, usageErrorf("", "couldn't read values: %v", scanError(err, maxScanLine))
	}
	return lines, nil
}

func runPrivatePublish(ctx context.Context, c *cli, args []string) error {
	const usage = "parley private publish --url U --token T --collection C [--values FILE]"
	fs := c.newFlagSet("private publish")
	rf := addPrivateRemoteFlags(fs)
	coll := fs.String("collection", "", "the collection `ID` (or title) whose readers may query the set")
	values := fs.String("values", "", "publish the type:value lines of `FILE` (- for stdin) instead of your indicators in the collection")
	asJSON := fs.Bool("json", false, "print the set as JSON")
	trust := addSendTrustFlags(fs)
	if err := c.parseFlags(fs, args); err != nil {
		return err
	}
	client, err := rf.client(c, usage)
	if err != nil {
		return err
	}
	if *coll == "" || fs.NArg() > 0 {
		return usageErrorf(usage, "publish needs --collection and no arguments")
	}
	req := private.PublishRequest{}
	if *values != "" {
		if req.Values, err = readPrivateLines(c, *values); err != nil {
			return err
		}
		if len(req.Values) == 0 {
			return usageErrorf("", "%s holds no values", *values)
		}
	}
	// A node whose log isn't the pinned one gets neither the values nor
	// the request to publish the member's indicators, and is asked
	// nothing else: its collections (whose titles an error would print)
	// are read once its log passed.
	if err := trust.checkSendTarget(ctx, c, client.BaseURL, client.Token); err != nil {
		return err
	}
	if req.Collection, err = resolveCollection(ctx, &taxii.Client{BaseURL: client.BaseURL, Token: client.Token, HTTP: client.HTTP}, *coll); err != nil {
		return err
	}
	set, err := client.Publish(ctx, req)
	if err != nil {
		return privateRemoteError("publish the set", err)
	}
	if *asJSON {
		return printPrivateJSON(c.stdout, set)
	}
	fmt.Fprintln(c.stdout, set.ID)
	fmt.Fprintf(c.stderr, "parley: published %d values under key %s (log entry %d); readers of the collection may check values against it\n",
		set.Size, base64.StdEncoding.EncodeToString(set.PublicKey), set.KeyLogIndex)
	return nil
}

func runPrivateCheck(ctx context.Context, c *cli, args []string) error {
	const usage = "parley private check --url U --token T --set ID [--log-key VKEY] [--seen FILE] [--witness-policy FILE] [FILE|-]"
	fs := c.newFlagSet("private check")
	rf := addPrivateRemoteFlags(fs)
	setID := fs.String("set", "", "the private set `ID`")
	trust := addTrustFlags(fs)
	polFlags := addPolicyFlags(fs)
	batch := fs.Int("batch", 0, "values per evaluation request (`N`; default: the node's max_batch)")
	format := fs.String("format", "lines", "the input: `lines` of type:value, or the matcher's event logs: zeek, eve, ecs, stix or auto (their observables are checked, each once, and printed as type:value)")
	receipts := addReceiptsFlag(fs)
	if err := c.parseFlags(fs, args); err != nil {
		return err
	}
	client, err := rf.client(c, usage)
	if err != nil {
		return err
	}
	if *setID == "" || fs.NArg() > 1 {
		return usageErrorf(usage, "check needs --set and at most one FILE")
	}
	pol, err := polFlags.policy()
	if err != nil {
		return err
	}
	name := "-"
	if fs.NArg() == 1 {
		name = fs.Arg(0)
	}
	var lines []string
	if *format == "lines" {
		lines, err = readPrivateLines(c, name)
	} else {
		lines, err = readEventObservables(c, name, *format)
	}
	if err != nil {
		return err
	}
	if len(lines) == 0 {
		return withExit(1, "", errSilent)
	}
	// The log key as every client pins it (--log-key, else the one the
	// seen file pinned, else the served one, pinned on first use), and
	// the set key's checkpoint checked against the checkpoints seen
	// before and the witness policy, as pull and proof check theirs: a
	// node can't show this querier alone another log, with another key
	// for the set, to learn what it checks.
	p, err := trust.pin(ctx, c, *rf.url, *rf.token)
	if err != nil {
		return err
	}
	p.seen.Policy = pol // its witnesses' lines verified before they are kept
	logClient := &tlog.Client{URL: *rf.url, Token: *rf.token, HTTP: c.httpClient()}
	// A node whose log went back behind what this querier saw (or a
	// policy witness holds) is refused too: restored from a backup older
	// than a withdrawal, it serves the set as live (checkNotBehind).
	client.CheckCheckpoint = func(ctx context.Context, n []byte) error {
		if err := checkNotBehind(ctx, c, pol, p.seen, p.verifier, n, logClient); err != nil {
			return err
		}
		_, err := checkQuorum(pol, n)
		return err
	}
	// The verified receipt is kept as evidence beside the seen file's
	// checkpoints, before any value is sent.
	// A set whose withdrawal this querier verified and kept before is
	// withdrawn, whatever the node answers now (a node replaying it, or
	// restored from before the withdrawal): nothing is sent.
	client.Verified = func(_ context.Context, saved private.SavedReceipt) error {
		dir := receiptsDir(*receipts, p.seenPath)
		if _, err := saveReceipt(dir, saved); err != nil {
			return withExit(3, "give --receipts DIR", err)
		}
		if saved.Receipt.Withdrawal == nil {
			path, err := keptWithdrawal(dir, saved.Set, p.verifier)
			if err != nil {
				return withExit(3, "nothing was sent: make the file readable, or move it away if it isn't a receipt you kept", err)
			}
			if path != "" {
				return fmt.Errorf("%w: set %s, as the receipt kept in %s shows", private.ErrWithdrawn, untrusted.Text(saved.Set, 120), path)
			}
		}
		return nil
	}
	client.Progress = c.privateProgress()
	hits, err := client.Check(ctx, *setID, p.verifier, lines, *batch, rand.Reader)
	if client.Progress != nil {
		client.Progress(-1, 0)
	}
	switch {
	case errors.Is(err, tlog.ErrProof):
		p.seen.Save()
		return withExit(1, "the conflicting checkpoints are kept as evidence in the seen file", fmt.Errorf("couldn't check values: %w", err))
	case errors.As(err, new(*exitError)):
		return err // the witness policy's refusal (exit 1)
	case errors.Is(err, tlog.ErrBehind):
		p.seen.Save()
		return withExit(4, logBehindHint, fmt.Errorf("couldn't check values: %w", err))
	case errors.Is(err, private.ErrWithdrawn):
		return withExit(4, "its provider withdrew it: do not trust this node's answers for this set (its receipt, with the withdrawal, is kept: parley private receipt --file)", fmt.Errorf("couldn't check values: %w", err))
	case errors.Is(err, private.ErrKeyNotInLog), errors.Is(err, private.ErrInvalidProof), errors.Is(err, private.ErrKeyMismatch):
		return withExit(4, "do not trust this node's answers for this set", fmt.Errorf("couldn't verify the set: %w", err))
	case err != nil:
		return privateRemoteError("check values", err)
	}
	if err := p.seen.Save(); err != nil {
		return withExit(3, "", err)
	}
	for _, i := range hits {
		fmt.Fprintln(c.stdout, lines[i])
	}
	if len(hits) == 0 {
		return withExit(1, "", errSilent)
	}
	return nil
}

// readEventObservables decodes a Zeek, EVE, ECS or STIX log with the
// matcher's decoders and returns the distinct canonical type:value lines
// of the observables private sets carry, in order of first appearance.
// Lines that are not records of the format are counted and reported.
func readEventObservables(c *cli, name, format string) ([]string, error) {
	f, err := match.ParseFormat(format)
	if err != nil {
		return nil, usageErrorf("--format lines, zeek, eve, ecs, stix or auto", "%v", err)
	}
	var r io.Reader = c.stdin
	if name != "-" {
		file, err := os.Open(name)
		if err != nil {
			return nil, usageErrorf("", "couldn't read events: %v", err)
		}
		defer file.Close()
		r = file
	}
	dec := match.NewDecoder(f)
	seen := map[string]bool{}
	var lines []string
	size, bad := 0, 0
	sc := newLineScanner(r, maxEventLine)
	for sc.Scan() {
		evs, err := dec.Decode(sc.Bytes())
		if err != nil {
			bad++
			continue
		}
		for _, ev := range evs {
			for _, fl := range ev.Fields {
				var typ, prefix string
				switch fl.Attr {
				case match.AttrIPv4:
					typ = private.TypeIPv4
				case match.AttrIPv6:
					typ = private.TypeIPv6
				case match.AttrDomain:
					typ = private.TypeDomainName
				case match.AttrURL:
					typ = private.TypeURL
				case match.AttrEmail:
					typ = private.TypeEmail
				case match.AttrMAC:
					typ = private.TypeMAC
				case match.AttrFileMD5:
					typ, prefix = private.TypeFile, "MD5="
				case match.AttrFileSHA1:
					typ, prefix = private.TypeFile, "SHA-1="
				case match.AttrFileSHA256:
					typ, prefix = private.TypeFile, "SHA-256="
				default:
					continue
				}
				v, err := private.Normalize(typ, prefix+string(fl.Value))
				if err != nil {
					continue
				}
				if l := typ + ":" + v; !seen[l] {
					if size += len(l) + len(`"",`); size > maxPrivateValues {
						return nil, errTooManyValues(name)
					}
					seen[l] = true
					lines = append(lines, l)
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, usageErrorf("", "couldn't read events: %v", scanError(err, maxEventLine))
	}
	if bad > 0 {
		fmt.Fprintf(c.stderr, "parley: skipped %d lines that are not %s records\n", bad, f)
	}
	return lines, nil
}

// runPrivateWithdraw withdraws one of the caller's sets: a set of values
// follows no revocation, so this is how its provider takes back a value
// it shared by mistake.
func runPrivateWithdraw(ctx context.Context, c *cli, args []string) error {
	const usage = "parley private withdraw --url U --token T --set ID [--key FILE] [--log-key VKEY] [--seen FILE]"
	fs := c.newFlagSet("private withdraw")
	rf := addPrivateRemoteFlags(fs)
	setID := fs.String("set", "", "the private set to withdraw (one you published)")
	keyFile := fs.String("key", "", "your member private key `FILE`: the withdrawal is signed, so that the set's readers see you withdrew it, not only the node")
	trust := addTrustFlags(fs)
	// A signed withdrawal is sent once the node's checkpoint meets the
	// witness policy too.
	trust.policy = addPolicyFlags(fs)
	if err := c.parseFlags(fs, args); err != nil {
		return err
	}
	client, err := rf.client(c, usage)
	if err != nil {
		return err
	}
	if *setID == "" || fs.NArg() > 0 {
		return usageErrorf(usage, "withdraw needs --set and no arguments")
	}
	var key ed25519.PrivateKey
	if *keyFile != "" {
		if key, err = readPrivateKey(c.stderr, *keyFile); err != nil {
			return usageErrorf(usage, "--key: %v", err)
		}
	}
	// The node's log is checked before anything is sent, signed or not,
	// as every sending command does; a signed statement names the log
	// (its origin, from the pinned log key), so that it withdraws
	// nothing on another node.
	p, err := trust.pin(ctx, c, *rf.url, *rf.token)
	if err != nil {
		return err
	}
	if key == nil {
		if err := client.Withdraw(ctx, *setID); err != nil {
			return privateRemoteError("withdraw the private set", err)
		}
		if err := p.seen.Save(); err != nil {
			return withExit(3, "", err)
		}
		fmt.Fprintf(c.stderr, "parley: withdrew %s: nothing is evaluated or matched against it any more\n", untrusted.Text(*setID, 120))
		fmt.Fprintf(c.stderr, "parley: hint: the withdrawal is unsigned, the node's word alone to the set's readers; give --key to sign it\n")
		return nil
	}
	if err := client.WithdrawSigned(ctx, *setID, private.SignWithdrawal(key, p.verifier.Name(), *setID, time.Now())); err != nil {
		return privateRemoteError("withdraw the private set", err)
	}
	if err := p.seen.Save(); err != nil {
		return withExit(3, "", err)
	}
	fmt.Fprintf(c.stderr, "parley: withdrew %s: nothing is evaluated or matched against it any more\n", untrusted.Text(*setID, 120))
	// A node from before signed withdrawals takes the DELETE and drops
	// its body: the set is then withdrawn unsigned. Only the withdrawal's
	// receipt shows which.
	rc, err := client.Receipt(ctx, *setID)
	if err == nil {
		_, err = rc.VerifyWithdrawn(p.verifier, *setID)
	}
	switch {
	case err != nil:
		fmt.Fprintf(c.stderr, "parley: warning: couldn't check that the node logged your signature: %v\n", untrusted.ClipURLError(err))
		fmt.Fprintf(c.stderr, "parley: hint: parley private receipt --set %s shows who the set's readers see withdrew it\n", untrusted.Text(*setID, 120))
	case !rc.Withdrawal.ProviderSigned():
		return withExit(1, "the node took the withdrawal but not your signature (a node from before signed withdrawals?): its readers see the node's word alone",
			fmt.Errorf("the set %s is withdrawn unsigned", untrusted.Text(*setID, 120)))
	default:
		fmt.Fprintf(c.stderr, "parley: the node logged your signed withdrawal (entry %d)\n", rc.Withdrawal.LogIndex)
	}
	return nil
}

// addReceiptsFlag adds --receipts, where verified set receipts are kept.
func addReceiptsFlag(fs interface {
	String(name, value, usage string) *string
}) *string {
	return fs.String("receipts", "", "the `DIR` where verified set receipts are kept, one file per set and key entry (default: beside the seen file, SEEN.receipts)")
}

// receiptsDir is the directory of --receipts, or by default the seen
// file's path without .json, with .receipts: each node's receipts beside
// its checkpoints.
func receiptsDir(flag, seenPath string) string {
	if flag != "" {
		return flag
	}
	return strings.TrimSuffix(seenPath, ".json") + ".receipts"
}

// saveReceipt writes a verified receipt to dir/SET-INDEX.json (or
// SET-INDEX.withdrawn.json for a withdrawn set's), unless that file
// exists: a receipt of the same entry kept before is evidence as good.
// Two key entries for one set give two files, evidence of equivocation.
// A set id that isn't a plain file name is named by its hash.
func saveReceipt(dir string, saved private.SavedReceipt) (string, error) {
	name := fmt.Sprintf("%s-%d", receiptName(saved.Set), saved.Receipt.LogIndex)
	if saved.Receipt.Withdrawal != nil {
		name += ".withdrawn"
	}
	path := filepath.Join(dir, name+".json")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	b, err := json.MarshalIndent(saved, "", "  ")
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("couldn't keep the set's receipt: %w", err)
	}
	f, err := os.CreateTemp(dir, ".receipt-*")
	if err != nil {
		return "", fmt.Errorf("couldn't keep the set's receipt: %w", err)
	}
	_, err = f.Write(append(b, '\n'))
	err = errors.Join(err, f.Sync(), f.Close())
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("couldn't keep the set's receipt: %w", err)
	}
	return path, nil
}

// receiptName is the start of the names of set id's kept receipts: the
// id, or one that isn't a plain file name named by its hash.
func receiptName(id string) string {
	if safeFileName(id) {
		return id
	}
	h := sha256.Sum256([]byte(id))
	return "set-" + hex.EncodeToString(h[:16])
}

// keptWithdrawal returns the path of a receipt kept in dir
// (SET-INDEX.withdrawn.json) that shows set id withdrawn and verifies
// with v, or "" if there is none. A receipt of that name that can't be
// read is an error, not "none": the querier sends nothing until it
// knows. (The names are matched one by one, not by filepath.Glob, whose
// pattern a '[' in dir would break.)
func keptWithdrawal(dir, id string, v note.Verifier) (string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", nil
		}
		return "", fmt.Errorf("couldn't look for kept withdrawals of set %s: %w", untrusted.Text(id, 120), err)
	}
	prefix := receiptName(id) + "-"
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, prefix) || !strings.HasSuffix(name, ".withdrawn.json") {
			continue
		}
		path := filepath.Join(dir, name)
		b, err := untrusted.ReadFile(path, 1<<20)
		if err != nil {
			return "", fmt.Errorf("couldn't read %s, a kept withdrawal of set %s: %w", path, untrusted.Text(id, 120), err)
		}
		saved, err := private.ParseSavedReceipt(b)
		if err == nil && saved.Set == id && saved.Receipt.Withdrawal != nil && saved.Verify(v) == nil {
			return path, nil
		}
	}
	return "", nil
}

// safeFileName reports whether s is a name of letters, digits, '.', '-'
// and '_' only, not starting with '.', of at most 200 bytes.
func safeFileName(s string) bool {
	if s == "" || len(s) > 200 || s[0] == '.' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// runPrivateReceipt fetches set ID's receipt, verifies it (a withdrawn
// set's with its withdrawal entry), checks its checkpoints against the
// seen file and the witness policy, keeps it (--receipts) and describes
// it; or, with --file, verifies a kept receipt offline.
func runPrivateReceipt(ctx context.Context, c *cli, args []string) error {
	const usage = "parley private receipt --url U --token T --set ID [--log-key VKEY] [--seen FILE] [--witness-policy FILE] [--receipts DIR]\n       parley private receipt --file SAVED --log-key VKEY [--witness-policy FILE]"
	fs := c.newFlagSet("private receipt")
	rf := addPrivateRemoteFlags(fs)
	setID := fs.String("set", "", "the private set `ID`")
	trust := addTrustFlags(fs)
	polFlags := addPolicyFlags(fs)
	skew := addClockSkewFlag(fs)
	receipts := addReceiptsFlag(fs)
	file := fs.String("file", "", "verify the kept receipt in `FILE` (offline: needs --log-key)")
	if err := c.parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf(usage, "receipt takes no arguments")
	}
	pol, err := polFlags.policy()
	if err != nil {
		return err
	}
	if *file != "" {
		if *trust.logKey == "" || *setID != "" || *rf.url != "" {
			return usageErrorf(usage, "--file needs --log-key, and neither --set nor --url")
		}
		v, err := tlog.NewVerifier(*trust.logKey)
		if err != nil {
			return usageErrorf(usage, "--log-key: %v", err)
		}
		b, err := untrusted.ReadFile(*file, 1<<20)
		if err != nil {
			return usageErrorf(usage, "couldn't read the receipt: %v", err)
		}
		saved, err := private.ParseSavedReceipt(b)
		if err != nil {
			return usageErrorf(usage, "couldn't read the receipt in %s: %v", *file, err)
		}
		if err := saved.Verify(v); err != nil {
			return withExit(4, "", fmt.Errorf("the receipt in %s doesn't verify: %w", *file, err))
		}
		if err := checkReceiptWitnesses(&saved, v, pol, *skew); err != nil {
			return err
		}
		describeReceipt(c, saved, "")
		return nil
	}
	client, err := rf.client(c, usage)
	if err != nil {
		return err
	}
	if *setID == "" {
		return usageErrorf(usage, "receipt needs --set (or --file)")
	}
	p, err := trust.pin(ctx, c, *rf.url, *rf.token)
	if err != nil {
		return err
	}
	p.seen.Policy = pol // its witnesses' lines verified before they are kept
	rc, err := client.Receipt(ctx, *setID)
	if err != nil {
		return privateRemoteError("fetch the set's receipt", err)
	}
	saved := private.SavedReceipt{Set: *setID, Receipt: rc}
	if rc.Withdrawal != nil {
		key, err := rc.VerifyWithdrawn(p.verifier, *setID)
		if err != nil {
			return withExit(4, "do not trust this node's answers for this set", fmt.Errorf("couldn't verify the set's receipt: %w", err))
		}
		saved.Suite, saved.PublicKey = rc.Withdrawal.Suite, key.Bytes()
	} else {
		info, err := client.Set(ctx, *setID)
		if err != nil {
			return privateRemoteError("read the set", err)
		}
		key, err := private.ParsePublicKey(info.PublicKey)
		if err == nil && info.Suite != private.SuiteID {
			err = fmt.Errorf("suite %q is not %s", info.Suite, private.SuiteID)
		}
		if err == nil {
			err = rc.Verify(p.verifier, *setID, key)
		}
		if err == nil && int64(rc.LogIndex) != info.KeyLogIndex {
			err = fmt.Errorf("%w: the set names log index %d, the receipt %d", private.ErrKeyNotInLog, info.KeyLogIndex, rc.LogIndex)
		}
		if err != nil {
			return withExit(4, "do not trust this node's answers for this set", fmt.Errorf("couldn't verify the set's receipt: %w", err))
		}
		saved.Suite, saved.PublicKey = info.Suite, info.PublicKey
	}
	// Its checkpoints, as every client checks those it is shown.
	logClient := &tlog.Client{URL: *rf.url, Token: *rf.token, HTTP: c.httpClient()}
	notes := []string{rc.Checkpoint}
	if rc.Withdrawal != nil {
		notes = append(notes, rc.Withdrawal.Checkpoint)
	}
	for _, n := range notes {
		if err := checkNotBehind(ctx, c, pol, p.seen, p.verifier, []byte(n), logClient); err != nil {
			if errors.Is(err, tlog.ErrProof) {
				p.seen.Save()
				return withExit(1, "the conflicting checkpoints are kept as evidence in the seen file", fmt.Errorf("couldn't check the receipt: %w", err))
			}
			if errors.Is(err, tlog.ErrBehind) {
				p.seen.Save()
				return withExit(4, logBehindHint, fmt.Errorf("couldn't check the receipt: %w", err))
			}
			return withExit(4, "", fmt.Errorf("couldn't check the receipt's checkpoint: %w", err))
		}
	}
	// The quorum's cosignatures, and the entries' times against them: a
	// withdrawal dated after its witnesses saw it logged is refused.
	if err := checkReceiptWitnesses(&saved, p.verifier, pol, *skew); err != nil {
		return err
	}
	if err := p.seen.Save(); err != nil {
		return withExit(3, "", err)
	}
	dir := receiptsDir(*receipts, p.seenPath)
	path, err := saveReceipt(dir, saved)
	if err != nil {
		return withExit(3, "give --receipts DIR", err)
	}
	// A set whose withdrawal this reader verified and kept before is
	// withdrawn, whatever the node serves now (as private check refuses
	// it): a live receipt of it is kept (evidence of a node serving it
	// again in --receipts), but the answer is exit 4, not a live set.
	if rc.Withdrawal == nil {
		kept, err := keptWithdrawal(dir, *setID, p.verifier)
		if err != nil {
			return withExit(3, "make the file readable, or move it away if it isn't a receipt you kept", err)
		}
		if kept != "" {
			return withExit(4, "its provider withdrew it: do not trust this node's answers for this set (the withdrawal's receipt: parley private receipt --file "+kept+")",
				fmt.Errorf("%w: set %s, as the receipt kept in %s shows, though the node serves it as live", private.ErrWithdrawn, untrusted.Text(*setID, 120), kept))
		}
	}
	describeReceipt(c, saved, path)
	return nil
}

// describeReceipt prints what a verified receipt proves.
func describeReceipt(c *cli, saved private.SavedReceipt, path string) {
	rc := saved.Receipt
	fmt.Fprintf(c.stdout, "set\t%s\ncollection\t%s\nprovider\t%s\nkey\t%s\nkey entry\t%d\n",
		untrusted.Text(saved.Set, 200), untrusted.Text(rc.Opening.Collection, 200), untrusted.Text(rc.Opening.Member, 200),
		base64.StdEncoding.EncodeToString(saved.PublicKey), rc.LogIndex)
	if w := rc.Withdrawal; w != nil {
		fmt.Fprintf(c.stdout, "withdrawn\t%s\nwithdrawal entry\t%d\n", untrusted.Text(w.Opening.Version, 64), w.LogIndex)
		switch {
		case w.SignerOperatorAsserted():
			fmt.Fprintf(c.stdout, "withdrawn by\tthe provider's key %s, which the operator rotated in alone (operator-asserted): the operator could have signed it (signed at %s)\n", base64.StdEncoding.EncodeToString(w.Signer), w.SignedAt.UTC().Format(time.RFC3339Nano))
		case w.ProviderSigned():
			fmt.Fprintf(c.stdout, "withdrawn by\tthe provider (signed at %s with its key %s)\n", w.SignedAt.UTC().Format(time.RFC3339Nano), base64.StdEncoding.EncodeToString(w.Signer))
		default:
			fmt.Fprintf(c.stdout, "withdrawn by\tthe node (unsigned: the node's word, the provider's or the operator's alone)\n")
		}
	}
	if path != "" {
		fmt.Fprintf(c.stdout, "kept\t%s\n", path)
	}
}

func runPrivateSets(ctx context.Context, c *cli, args []string) error {
	const usage = "parley private sets --url U --token T [--json]"
	fs := c.newFlagSet("private sets")
	rf := addPrivateRemoteFlags(fs)
	asJSON := fs.Bool("json", false, "print the sets as JSON")
	trust := addTrustFlags(fs)
	if err := c.parseFlags(fs, args); err != nil {
		return err
	}
	client, err := rf.client(c, usage)
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf(usage, "sets takes no arguments")
	}
	// The node's log first, as every command that reads from a node
	// checks it: a node showing another log, or a fork, is asked nothing.
	p, err := trust.pin(ctx, c, *rf.url, *rf.token)
	if err != nil {
		return err
	}
	if err := p.seen.Save(); err != nil {
		return withExit(3, "", err)
	}
	sets, err := client.Sets(ctx)
	if err != nil {
		return privateRemoteError("list private sets", err)
	}
	if *asJSON {
		return printPrivateJSON(c.stdout, sets)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSIZE\tSOURCE\tCOLLECTION\tPROVIDER\tBUDGET LEFT")
	for _, s := range sets {
		left := "-"
		if s.Budget != nil {
			left = fmt.Sprintf("%d/%d", s.Budget.Left, s.Budget.Limit)
		}
		// Every string is the node's: printed inert.
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", untrusted.Text(s.ID, 120), s.Size, untrusted.Text(s.Source, 40), untrusted.Text(s.Collection, 120), untrusted.Text(s.Provider, 120), left)
	}
	return tw.Flush()
}

// privateProgress returns a progress callback that shows "checked i/n" on
// stderr when it is a terminal, or nil; done < 0 clears the line.
func (c *cli) privateProgress() func(done, total int) {
	f, ok := c.stderr.(*os.File)
	if !ok {
		return nil
	}
	if fi, err := f.Stat(); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	return func(done, total int) {
		if done < 0 {
			fmt.Fprint(f, "\r\033[K")
			return
		}
		fmt.Fprintf(f, "\r\033[Kparley: checked %d/%d values", done, total)
	}
}

func printPrivateJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
