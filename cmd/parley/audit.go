package main

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/parley-exchange/parley/internal/node"
	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/internal/untrusted"
	"github.com/parley-exchange/parley/tlog"
	"golang.org/x/mod/sumdb/note"
)

func init() {
	register(command{
		name:  "audit",
		usage: "audit (--data DIR | --url U --token-file F) [--log-key VKEY] [--seen FILE] [--me KEY.pub] [--bundle FILE|DIR]... [--witness-policy FILE] [--clock-skew D]   verify a whole log",
		run:   runAudit,
	})
}

// runAudit replays a whole log. Exit 0 only if everything verified; 1 if
// anything didn't (each problem is named on stderr); 2 for bad usage; 4
// when the node couldn't be read (with --data: a store whose schema this
// version can't read without changing it).
func runAudit(ctx context.Context, c *cli, args []string) error {
	c.evidenceNotWritten = 0
	defer func() {
		if c.evidenceNotWritten > 0 {
			fmt.Fprintf(c.stderr, "parley: audit: %d piece(s) of evidence found by this audit not written: %d evidence files of this log are kept beside the seen file already, and the first already proves that the log's key signed a lie (docs/log.md, \"Audits and fork evidence\")\n", c.evidenceNotWritten, maxSeenEvidence)
		}
	}()
	fs := c.newFlagSet("audit")
	dir := fs.String("data", "", "audit the store in the node's data `DIR` (running or stopped)")
	url := fs.String("url", "", "audit the node at `URL` over HTTP")
	token := fs.String("token", "", "the member's API `TOKEN` (with --url; better: PARLEY_TOKEN or --token-file)")
	tokenFile := fs.String("token-file", "", "read the token from `FILE` (the token, or member add --json output)")
	logKey := fs.String("log-key", "", "the node's note verifier `KEY` to trust (default: the one pinned in --seen, else pinned on first use)")
	seenPath := fs.String("seen", "", "the `FILE` of checkpoints seen before (default: in the user config directory, one per log), or a file holding one signed checkpoint of the log (a witness's) to start from")
	var me stringList
	fs.Var(&me, "me", "your member public key `FILE` (keygen's .pub; repeat for each key you held): every other key the log registers for you is named")
	myKey := fs.String("key", "", "your member private key `FILE`, as --me with its public half")
	var bundles stringList
	fs.Var(&bundles, "bundle", "a proof bundle or concurrence evidence `FILE` you kept, or a directory of them (*.json; repeat for more): its key index is checked against the whole log")
	polFlags := addPolicyFlags(fs)
	skew := fs.Duration("clock-skew", tlog.DefaultClockSkew, "the clock `SKEW` allowed between an entry's received time and the witness cosignatures that bound it")
	if err := c.parseFlags(fs, args); err != nil {
		return err
	}
	pol, err := polFlags.policy()
	if err != nil {
		return err
	}
	if err := readToken(c.stderr, token, *tokenFile); err != nil {
		return err
	}
	// A flag on the command line wins over the other one's environment
	// fallback (PARLEY_URL set in the shell shouldn't block --data).
	switch explicitData, explicitURL := flagGiven(args, "data"), flagGiven(args, "url"); {
	case explicitData && !explicitURL:
		*url = ""
	case explicitURL && !explicitData:
		*dir = ""
	}
	if (*dir == "") == (*url == "") || fs.NArg() > 0 {
		return usageErrorf("parley audit --data DIR, or parley audit --url URL --token TOKEN", "audit needs exactly one of --data and --url")
	}
	var (
		src       tlog.AuditSource
		tiles     tlog.TileReader
		servedKey string
		storeSrc  *node.StoreAuditSource
		client    *tlog.Client
		target    string
		all       bool
	)
	if *dir != "" {
		s, vkey, closeStore, err := node.OpenStoreAudit(ctx, *dir)
		if errors.Is(err, node.ErrNotInitialized) {
			return usageErrorf("give the data directory of a node", "%v", err)
		}
		if errors.Is(err, store.ErrSchemaTooOld) || errors.Is(err, store.ErrNewerSchema) {
			// An audit changes nothing of what it audits: not even the
			// schema upgrade that serving the store would make.
			return withExit(4, "nothing was changed; audit it with the version of parley that wrote it, or with this one after the node has run on it (parley serve of this version upgrades the store, then parley audit --data or --url)", err)
		}
		if err != nil {
			return withExit(3, "", err)
		}
		defer closeStore()
		src, tiles, servedKey, all, storeSrc = s, s, vkey, true, s
		abs, _ := filepath.Abs(*dir)
		target = "dir:" + abs
	} else {
		if *token == "" {
			return usageErrorf("give --token or set PARLEY_TOKEN", "audit --url needs a member's token")
		}
		cl := &tlog.Client{URL: *url, Token: *token, HTTP: c.httpClient()}
		k, err := cl.Key(ctx)
		if err != nil {
			return withExit(4, "check --url and "+tokenFlag, err)
		}
		src, tiles, servedKey = cl, cl, k
		target = "url:" + *url
		client = cl
	}
	if *seenPath == "" {
		p, err := defaultSeenPath(target)
		if err != nil {
			return withExit(3, "give --seen FILE", err)
		}
		*seenPath = p
	}
	// A file holding one signed checkpoint note (a witness's, from
	// monitor retrieval) is the memory of that checkpoint, as
	// parley restore --seen reads it; the audit writes a seen file in
	// its place.
	seen, start, err := tlog.LoadSeenOrCheckpoint(*seenPath)
	if err != nil {
		return withExit(3, "give the seen file parley audit keeps, or a file holding one signed checkpoint of the log (a witness's)", err)
	}
	// The policy of the flags is recorded for the seen file, and every
	// later command on it (this one's too) checks it without flags
	// ([recordSeenPolicy]); without flags, the one recorded is checked.
	if pol != nil {
		if err := recordSeenPolicy(*seenPath, pol); err != nil {
			return err
		}
	} else if pol, err = loadSeenPolicy(*seenPath); err != nil {
		return err
	}
	// The policy witnesses' lines of what is recorded there are
	// verified first: forged ones merged in would push out honest ones.
	seen.Policy = pol
	v, key, err := pinLogKey(c, *logKey, servedKey, seen, *seenPath)
	if err != nil {
		return err
	}
	if start != nil {
		cp, err := tlog.OpenCheckpoint(start, v)
		if err != nil {
			return usageErrorf("give a checkpoint of this log (signed by its key), or its seen file", "--seen %s holds a signed checkpoint that isn't this log's: %v", *seenPath, err)
		}
		// Its cosignatures, each kept only if it verifies on its own.
		if n := tlog.VerifiedLines(start, v, pol); n != nil {
			seen.Notes = []string{string(n)}
		}
		fmt.Fprintf(c.stderr, "parley: audit: note: %s holds a signed checkpoint of size %d, not a seen file: the audit starts from it, and writes the seen file in its place\n", *seenPath, cp.Size)
	}
	forged, seenChanged := reportSeenFaults(c, "audit", seen, v, *seenPath)
	mine, err := auditorKeys(c.stderr, me, *myKey)
	if err != nil {
		return err
	}
	indexes, err := savedKeyIndexes(c, bundles, key)
	if err != nil {
		return err
	}
	// downgraded: the node dropped the index of every member it served
	// before (servedKeyIndex); it fails the audit once the rest is made.
	var downgraded error
	if client != nil {
		// Read before the audit's checkpoint: its tree is no larger.
		served, dg, err := servedKeyIndex(ctx, c, client, seen, v, *seenPath)
		if err != nil {
			return err
		}
		downgraded = dg
		indexes = append(served, indexes...)
	}
	opts := tlog.AuditOptions{Verifier: v, Seen: seen, AllObjects: all, Tiles: tiles, Mine: mine, Policy: pol, ClockSkew: *skew, KeyIndexes: indexes}
	if storeSrc != nil {
		// The node signs the index it serves when it answers, so none
		// is here to check: its look-up of member key entries is, built
		// into the indexes it would sign.
		opts.KeyLookup = storeSrc.KeyIndex
	}
	if logIsTerminal(c.stderr) {
		opts.Progress = func(done, total uint64) {
			fmt.Fprintf(c.stderr, "\rparley: audit: %d/%d entries", done, total)
			if done == total {
				fmt.Fprintln(c.stderr)
			}
		}
	}
	rep, err := tlog.Audit(ctx, src, opts)
	foundBy := auditFoundBy(target)
	if qerr := quorumExit(err); qerr != nil {
		// The witnesses may have refused to cosign it because it isn't
		// consistent with what they cosigned: ask them (monitor
		// retrieval) before saying only that the quorum isn't met.
		// And it may contradict a checkpoint this audit saw before:
		// signed by the log key, that proves a fork whatever the
		// witnesses say.
		if n, cerr := src.Checkpoint(ctx); cerr == nil {
			_, proven, werr := reportWitnessViews(ctx, c, pol, key, v, n, tiles, nil, *seenPath, foundBy)
			if werr != nil {
				return werr
			}
			forked, shrank, serr := reportSeenViews(ctx, c, key, v, n, seen, tiles, *seenPath, foundBy)
			if serr != nil {
				return serr
			}
			if shrank {
				// Kept as tlog.Audit keeps a shrink it finds: both
				// checkpoints, signed by the log key, in the seen file.
				if err := seen.Save(); err != nil {
					return withExit(3, "", err)
				}
			}
			switch {
			case proven > 0 && forked:
				return withExit(1, "each problem is listed above", fmt.Errorf("audit failed: %w; and %d witness(es) hold a checkpoint of the log inconsistent with it, and it contradicts a checkpoint seen before, with the evidence: a split view", err, proven))
			case proven > 0:
				return withExit(1, "each problem is listed above", fmt.Errorf("audit failed: %w; and %d witness(es) hold a checkpoint of the log inconsistent with it, with the evidence: a split view", err, proven))
			case forked:
				return withExit(1, "each problem is listed above", fmt.Errorf("audit failed: %w; and it contradicts a checkpoint seen before, with the evidence: a split view", err))
			case shrank:
				return withExit(1, "each problem is listed above", fmt.Errorf("audit failed: %w; and the log shrank: it is smaller than a checkpoint seen before", err))
			}
		}
		return qerr
	}
	if err != nil {
		code := 3
		if errors.Is(err, tlog.ErrHTTP) {
			code = 4
		}
		return withExit(code, "", err)
	}
	if err := seen.Save(); err != nil {
		return withExit(3, "", err)
	}
	cp := rep.Checkpoint
	for _, p := range rep.Problems {
		fmt.Fprintf(c.stderr, "parley: audit: %s\n", p)
	}
	if rep.Fork != nil {
		fmt.Fprintf(c.stderr, "parley: audit: two conflicting signed checkpoints are kept as evidence in %s\n", *seenPath)
		if ev := forkEvidence(ctx, key, v, rep.Fork, tiles); ev != nil {
			path, err := writeEvidence(*seenPath, ev, foundBy, time.Now())
			switch {
			case errors.Is(err, errEvidenceKept):
				fmt.Fprintf(c.stderr, "parley: audit: split-view %s\n", c.evidenceKept())
			case err != nil:
				return withExit(3, "", err)
			default:
				fmt.Fprintf(c.stderr, "parley: audit: split-view evidence written to %s (parley verify --log-key KEY %s)\n", path, path)
			}
		}
	}
	if err := reportKeyIndexFaults(ctx, c, rep, indexes, key, v, src, tiles, *seenPath, foundBy); err != nil {
		return err
	}
	split, _, err := reportWitnessViews(ctx, c, pol, key, v, rep.CheckpointNote, tiles, seen, *seenPath, foundBy)
	if err != nil {
		return err
	}
	if err := seen.Save(); err != nil { // with the witnesses' checkpoints
		return withExit(3, "", err)
	}
	if forged > 0 && rep.OK() && split == 0 && downgraded == nil {
		// The log checks; the auditor's own evidence doesn't.
		fmt.Fprintf(c.stderr, "parley: audit: the rest of the log checks (%d entries, root %s), but the seen file was changed\n", rep.Entries, cp.Hash)
		return seenChanged
	}
	if !rep.OK() || split > 0 {
		if downgraded != nil {
			return withExit(1, "each problem is listed above", fmt.Errorf("audit failed: %d problem(s) in the log %s, and the node downgraded its key index", len(rep.Problems)+split, untrusted.Text(cp.Origin, 200)))
		}
		return withExit(1, "each problem is listed above", fmt.Errorf("audit failed: %d problem(s) in the log %s", len(rep.Problems)+split, untrusted.Text(cp.Origin, 200)))
	}
	if downgraded != nil {
		// The rest of the audit found nothing: the downgrade alone.
		fmt.Fprintf(c.stderr, "parley: audit: the rest of the log checks (%d entries, root %s), but the downgrade fails the audit\n", rep.Entries, cp.Hash)
		return downgraded
	}
	foreign := ""
	if rep.Foreign > 0 {
		foreign = fmt.Sprintf(", %d of them signed with keys this log doesn't hold, under members it registered without a key: what a node replicates from a peer, whose log says who signed it (parley proof --peer-collection)", rep.Foreign)
	}
	fmt.Fprintf(c.stdout, "log %s verified: %d entries, root %s, %d checkpoint(s), %d object(s) checked (%d unsigned%s)%s\n",
		untrusted.Text(cp.Origin, 200), rep.Entries, cp.Hash, rep.Checkpoints, rep.Objects, rep.Unsigned, foreign, keyIndexNote(len(indexes), storeSrc != nil))
	if storeSrc != nil {
		// The store may hold entries no checkpoint covers yet (appended
		// while the node was stopped, or not integrated when it
		// stopped): the audit checked none of them, and a "verified"
		// that doesn't say so reads as the whole store.
		if size, err := storeSrc.LogSize(ctx); err == nil && uint64(size) > rep.Entries {
			fmt.Fprintf(c.stderr, "parley: audit: the store holds %d more entries after the latest checkpoint (size %d), not yet integrated, so not checked: parley serve integrates and signs them; audit again then\n",
				uint64(size)-rep.Entries, rep.Entries)
		}
	}
	return nil
}

// flagGiven reports whether the flag name appears on the command line.
func flagGiven(args []string, name string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		a = strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		if a == name || strings.HasPrefix(a, name+"=") {
			return true
		}
	}
	return false
}

// defaultSeenPath is where the checkpoints seen of one log are kept when
// --seen isn't given: one file per audited target.
// auditFoundBy is the found_by of the evidence an audit of target
// ("dir:PATH" or "url:URL") writes. Evidence is made to be shown to
// others, so a URL appears without its user, password and query (a
// proxy's credentials, a key).
func auditFoundBy(target string) string {
	if raw, ok := strings.CutPrefix(target, "url:"); ok {
		target = "url:" + shownURL(raw)
	}
	return "parley audit of " + target
}

func defaultSeenPath(target string) (string, error) {
	d, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("couldn't find a place for seen checkpoints: %w", err)
	}
	h := sha256.Sum256([]byte(target))
	return filepath.Join(d, "parley", "seen", hex.EncodeToString(h[:8])+".json"), nil
}

// logIsTerminal reports whether w is a terminal (progress is shown only there).
func logIsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// auditorKeys reads the auditing member's own public keys from --me (each
// file) and --key (may be empty).
func auditorKeys(warn io.Writer, pubFiles []string, privFile string) ([]ed25519.PublicKey, error) {
	var out []ed25519.PublicKey
	for _, f := range pubFiles {
		pub, err := readPublicKey(f)
		if err != nil {
			return nil, usageErrorf("give the .pub file parley keygen wrote", "couldn't read --me: %v", err)
		}
		out = append(out, pub)
	}
	if privFile != "" {
		priv, err := readPrivateKey(warn, privFile)
		if err != nil {
			return nil, usageErrorf("give the key file parley keygen wrote", "couldn't read --key: %v", err)
		}
		out = append(out, priv.Public().(ed25519.PublicKey))
	}
	return out, nil
}

// reportWitnessViews does the audit's monitor retrieval: it reads, from
// each witness the policy gives a URL for, its latest checkpoint of the
// log and compares it with cpNote (checkWitnessViews), prints a line for
// each note and each split view, and writes the evidence of each split
// view beside the seen file. It returns how many witnesses' checkpoints
// failed the comparison, and how many of those come with evidence (the
// others: a witness ahead of the node whose tree the node can't show).
// With seen, it records there each witness checkpoint of one history
// with the node's (witnessView.consistent); the caller saves it.
func reportWitnessViews(ctx context.Context, c *cli, pol *tlog.Policy, key string, v note.Verifier, cpNote []byte, tiles tlog.TileReader, seen *tlog.SeenCheckpoints, seenPath, foundBy string) (split, proven int, err error) {
	for _, wv := range checkWitnessViews(ctx, c, pol, key, v, cpNote, tiles) {
		if seen != nil && wv.consistent != nil {
			if n := tlog.VerifiedLines(wv.consistent, v, pol); n != nil {
				seen.Add(n)
			}
		}
		if wv.note != "" {
			fmt.Fprintf(c.stderr, "parley: audit: note: %s\n", wv.note)
		}
		if wv.problem == "" {
			continue
		}
		split++
		line := wv.problem
		if wv.evidence != nil {
			proven++
			path, err := writeEvidence(seenPath, wv.evidence, foundBy, time.Now())
			switch {
			case errors.Is(err, errEvidenceKept):
				line += "; " + c.evidenceKept()
			case err != nil:
				return split, proven, withExit(3, "", err)
			default:
				line += "; evidence in " + path
			}
		}
		fmt.Fprintf(c.stderr, "parley: audit: %s\n", line)
	}
	return split, proven, nil
}

// reportSeenViews compares the node's checkpoint cpNote, which the audit
// can't accept (it lacks the policy's quorum), with the checkpoints seen
// before: one that the log key signed and that contradicts it proves a
// fork, quorum or not (the witnesses may have refused it for that very
// reason). Each is printed and its evidence written beside the seen file,
// reading the larger tree's hashes from the node's tiles (checked against
// that tree's root). It reports whether it found one. A seen checkpoint
// larger than the node's that the node's tiles can't prove a fork with
// (a node restored from an older backup serves no tiles of that tree) is
// a shrink, printed as tlog.Audit prints it, and both checkpoints are
// added to seen (the caller saves it); shrank reports whether there was
// one.
func reportSeenViews(ctx context.Context, c *cli, key string, v note.Verifier, cpNote []byte, seen *tlog.SeenCheckpoints, tiles tlog.TileReader, seenPath, foundBy string) (forked, shrank bool, err error) {
	cp, err := tlog.OpenCheckpoint(cpNote, v)
	if err != nil || seen == nil {
		return false, false, nil
	}
	// Those of the same size, and the nearest smaller and larger ones: a
	// checkpoint consistent with its neighbours in a history is
	// consistent with all of it, and each comparison with another size
	// reads the node's tiles.
	same, lower, upper := seen.Neighbours(cp, v)
	found := false
	for _, s := range append(same, lower, upper) {
		if s == "" {
			continue
		}
		scp, _ := tlog.OpenCheckpoint([]byte(s), v)
		ev, err := tlog.CompareCheckpoints(ctx, key, []byte(s), cpNote, tlog.TileHashReader(max(cp.Size, scp.Size), tiles))
		if !errors.Is(err, tlog.ErrSplitView) {
			if scp.Size > cp.Size {
				fmt.Fprintf(c.stderr, "parley: audit: the log shrank: a checkpoint of size %d was seen before, the latest has size %d\n", scp.Size, cp.Size)
				seen.Add([]byte(s))
				seen.Add(cpNote)
				shrank = true
			}
			continue
		}
		where := ""
		path, err := writeEvidence(seenPath, ev, foundBy, time.Now())
		switch {
		case errors.Is(err, errEvidenceKept):
			where = c.evidenceKept()
		case err != nil:
			return found, shrank, withExit(3, "", err)
		default:
			where = "evidence in " + path
		}
		found = true
		fmt.Fprintf(c.stderr, "parley: audit: split view: the node's checkpoint of size %d is inconsistent with the checkpoint of size %d seen before: the log forked; %s\n", cp.Size, scp.Size, where)
	}
	return found, shrank, nil
}
