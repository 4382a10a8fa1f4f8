package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/parley-exchange/parley/internal/untrusted"
	"github.com/parley-exchange/parley/opinion"
	"github.com/parley-exchange/parley/tlog"
)

// savedKeyIndexes reads the key indexes of the files --bundle names (a
// proof bundle or concurrence evidence each, or a directory of them,
// *.json) for the audit to check against its replay. A file of another
// log (another log key) or without a key index is named on stderr and
// skipped; a file that can't be read or isn't either kind is a usage
// error.
func savedKeyIndexes(c *cli, paths []string, logKey string) ([]tlog.AuditKeyIndex, error) {
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, usageErrorf("give a proof bundle or concurrence evidence file, or a directory of them", "couldn't read --bundle: %v", err)
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		m, err := untrusted.FilesIn(p, "*.json")
		if err != nil {
			return nil, usageErrorf("", "couldn't read --bundle %s: %v", p, err)
		}
		sort.Strings(m)
		files = append(files, m...)
	}
	var out []tlog.AuditKeyIndex
	for _, f := range files {
		b, err := untrusted.ReadFile(f, maxDocument)
		if err != nil {
			return nil, usageErrorf("give a proof bundle or concurrence evidence file", "couldn't read --bundle %s: %v", f, err)
		}
		// Read by exact field names, as parley verify reads them: a
		// name in another case, or given twice, is refused.
		var bundle tlog.Bundle
		if opinion.IsConcurrence(b) {
			conc, _, err := opinion.ParseConcurrence(b)
			if err != nil {
				return nil, usageErrorf("give a proof bundle (parley proof) or concurrence evidence (parley concurrence --json)", "--bundle %s: %v", f, err)
			}
			bundle = conc.Evidence
		} else if bundle, _, err = tlog.ParseBundle(b); err != nil || bundle.Type != tlog.BundleType {
			if err == nil {
				err = errors.New("neither a proof bundle nor concurrence evidence")
			}
			return nil, usageErrorf("give a proof bundle (parley proof) or concurrence evidence (parley concurrence --json)", "--bundle %s: %v", f, err)
		}
		switch {
		case bundle.LogKey != logKey:
			fmt.Fprintf(c.stderr, "parley: audit: note: %s is of another log (log key %s), not checked\n", f, untrusted.Text(bundle.LogKey, 200))
		case bundle.KeyIndex == "":
			fmt.Fprintf(c.stderr, "parley: audit: note: %s has no key index (a node older than it made it), nothing to check\n", f)
		default:
			out = append(out, tlog.AuditKeyIndex{Source: f, KeyIndex: []byte(bundle.KeyIndex), Checkpoint: []byte(bundle.Checkpoint)})
		}
	}
	return out, nil
}

// servedKeyIndex reads the key index of every member that the node at cl
// serves (GET /log/keys), to check against the audit's replay; it is read
// before the audit's checkpoint, so its tree is no larger. A node that
// sends none (older than the key index) is named on stderr, and so is
// one whose index doesn't claim every member (older than
// parley-key-index-all-v1), which is checked as every member's anyway,
// unless the seen file records that this log served the index of every
// member before ([tlog.SeenCheckpoints.KeyIndexAll]): then the older form,
// no index, or no GET /log/keys (404) is a downgrade, under which a
// member left out couldn't be proved: it is named on stderr and returned
// as downgraded, which fails the audit (exit 1) once the rest of the audit
// is made (a node dropping its index must not spare itself the audit's
// other checks: forks, witnesses' views, saved indexes). An index of every
// member that verifies with v is recorded in seen (the caller saves it).
func servedKeyIndex(ctx context.Context, c *cli, cl *tlog.Client, seen *tlog.SeenCheckpoints, v note.Verifier, seenPath string) (_ []tlog.AuditKeyIndex, downgraded, _ error) {
	// downgrade fails the audit when the seen file records that this log
	// served the index of every member before and its answer now (what)
	// proves less: no key index at all, or the older form, under which a
	// member left out can't be proved. Nil when it records none.
	downgrade := func(what, short string) error {
		all := seen.KeyIndexAll(v)
		if all == nil {
			return nil
		}
		size := "?"
		if ak, err := tlog.ParseKeyIndex(noteText(string(all))); err == nil {
			size = strconv.FormatUint(ak.Size, 10)
		}
		fmt.Fprintf(c.stderr, "parley: audit: the node's GET /log/keys %s, and this log served the index of every member (%s, of tree size %s, kept in %s) before: a downgrade, under which a member it leaves out can't be proved\n", what, tlog.KeyIndexAllHeader, size, seenPath)
		return withExit(1, "a node that signed the index of every member signs it from then on; ask its operator why it went back (an older version of parley serving the log, or a node hiding a member's key entries)", fmt.Errorf("audit failed: the node downgraded its key index: %s", short))
	}
	r, err := cl.Keys(ctx)
	var he *tlog.HTTPError
	if errors.As(err, &he) && he.Code == http.StatusNotFound {
		if err := downgrade("is not found (HTTP 404)", "GET /log/keys is not found"); err != nil {
			return nil, err, nil
		}
		// A node older than GET /log/keys (format v1 entries) has none;
		// every current client needs it, so a node can't hide its index
		// this way and still serve them.
		fmt.Fprintf(c.stderr, "parley: audit: note: the node serves no GET /log/keys (a node older than it), no key index to check\n")
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, withExit(4, "check --url and "+tokenFlag, err)
	}
	if r.KeyIndex == "" {
		if err := downgrade("answer carries no key index", "GET /log/keys sent none"); err != nil {
			return nil, err, nil
		}
		fmt.Fprintf(c.stderr, "parley: audit: note: the node sent no key index with GET /log/keys (a node older than it), nothing to check\n")
		return nil, nil, nil
	}
	if k, err := tlog.ParseKeyIndex(noteText(r.KeyIndex)); err == nil && !k.Complete {
		if err := downgrade("index is of the older form "+tlog.KeyIndexHeader, "to the older form "+tlog.KeyIndexHeader); err != nil {
			// Checked all the same, as the older form always is.
			downgraded = err
		}
		// Checked as every member's all the same: a member left out is
		// named, but no evidence proves it against the older form.
		fmt.Fprintf(c.stderr, "parley: audit: warning: the node's GET /log/keys index is of the form %s, which doesn't claim to list every member (a node older than %s): a member it leaves out is named, but can't be proved to others\n", tlog.KeyIndexHeader, tlog.KeyIndexAllHeader)
	}
	seen.RecordKeyIndexAll([]byte(r.KeyIndex), v)
	return []tlog.AuditKeyIndex{{Source: "GET /log/keys", KeyIndex: []byte(r.KeyIndex), Checkpoint: []byte(r.Checkpoint), Complete: true}}, downgraded, nil
}

// reportKeyIndexFaults writes the evidence of each false key index the
// audit found beside the seen file and says where, one line each: false
// key index evidence for an entry left out or wrongly listed, or for a
// member left out of an index of every member (parley-key-index-all-v1),
// split-view evidence for an index of a tree the log doesn't hold (when
// the node's tiles prove it). A member missing from an index of the
// older form served as every member's is proved by nothing offline: its
// problem line says what was found.
func reportKeyIndexFaults(ctx context.Context, c *cli, rep *tlog.AuditReport, list []tlog.AuditKeyIndex, key string, v note.Verifier, src tlog.AuditSource, tiles tlog.TileReader, seenPath, foundBy string) error {
	done := map[int]bool{} // one piece of evidence proves an index false
	for _, f := range rep.KeyIndexFaults {
		if done[f.Index] {
			continue
		}
		a := list[f.Index]
		var path string
		switch f.Kind {
		case tlog.FaultLeftOut, tlog.FaultWronglyListed, tlog.FaultMemberLeftOut:
			ev, err := f.KeyIndexEvidence(ctx, key, a, src, tiles, rep.Checkpoint.Size, foundBy, time.Now().UTC().Format(time.RFC3339))
			if err != nil {
				fmt.Fprintf(c.stderr, "parley: audit: couldn't build the evidence of the false key index of %s: %v\n", a.Source, err)
				continue
			}
			path, err = writeKeyIndexEvidence(seenPath, ev)
			if errors.Is(err, errEvidenceKept) {
				fmt.Fprintf(c.stderr, "parley: audit: false key index of %s: %s\n", untrusted.Text(a.Source, 200), c.evidenceKept())
				break
			}
			if err != nil {
				return withExit(3, "", err)
			}
			fmt.Fprintf(c.stderr, "parley: audit: false key index evidence written to %s (parley verify --log-key KEY %s)\n", path, path)
		case tlog.FaultNotPrefix:
			ev := forkEvidence(ctx, key, v, [][]byte{a.Checkpoint, rep.CheckpointNote}, tiles)
			if ev == nil {
				continue
			}
			var err error
			path, err = writeEvidence(seenPath, ev, foundBy, time.Now())
			if errors.Is(err, errEvidenceKept) {
				fmt.Fprintf(c.stderr, "parley: audit: key index of %s of another history: split-view %s\n", untrusted.Text(a.Source, 200), c.evidenceKept())
				break
			}
			if err != nil {
				return withExit(3, "", err)
			}
			fmt.Fprintf(c.stderr, "parley: audit: split-view evidence written to %s (parley verify --log-key KEY %s)\n", path, path)
		default:
			continue
		}
		done[f.Index] = true
	}
	return nil
}

// writeKeyIndexEvidence writes false key index evidence beside the seen
// file, as <seen>.evidence-<n>.json (0600) with the first unused n (the
// numbering split-view evidence uses), and returns its path; evidence
// against the same key index with the same entry already there isn't
// written again; with maxSeenEvidence files of the log there already it
// writes nothing and returns errEvidenceKept.
func writeKeyIndexEvidence(seenPath string, ev []byte) (string, error) {
	var e tlog.KeyIndexEvidence
	if err := json.Unmarshal(ev, &e); err != nil {
		return "", err
	}
	path, n, err := evidenceBeside(seenPath, e.LogKey, func(b []byte) bool {
		var o tlog.KeyIndexEvidence
		return tlog.IsKeyIndexEvidence(b) && json.Unmarshal(b, &o) == nil && o.KeyIndex == e.KeyIndex && sameEntry(o.Entry, e.Entry)
	})
	switch {
	case err != nil:
		return "", err
	case path != "":
		return path, nil
	case n >= maxSeenEvidence:
		return "", errEvidenceKept
	}
	for i := 1; ; i++ {
		path := seenPath + ".evidence-" + strconv.Itoa(i) + ".json"
		_, err := os.Lstat(path)
		if err == nil {
			continue
		}
		if !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("couldn't write evidence: %w", err)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return "", fmt.Errorf("couldn't write evidence: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("couldn't write evidence: %w", err)
		}
		_, err = f.Write(ev)
		if err = errors.Join(err, f.Sync(), f.Close()); err != nil {
			os.Remove(path)
			return "", fmt.Errorf("couldn't write evidence: %w", err)
		}
		return path, nil
	}
}

// verifyKeyIndexEvidence checks false key index evidence: exit 0 only if
// it proves that the log's key signed a false key index.
func verifyKeyIndexEvidence(c *cli, logKey string, data []byte) error {
	f, err := tlog.VerifyKeyIndexEvidence(logKey, data)
	if err != nil {
		return withExit(1, "this evidence doesn't prove that the log's key signed a false key index", err)
	}
	fmt.Fprintf(c.stdout, "evidence verified: the log's key signed a false key index: %s\n", untrusted.Text(f.String(), 2000))
	if logKey == "" {
		fmt.Fprintln(c.stderr, "parley: warning: checked against the evidence's own log key; pin the key you trust with --log-key")
	}
	return nil
}

// sameEntry reports whether two evidence documents' entries are at the
// same log index, or both absent (evidence of an index of another tree).
func sameEntry(a, b *tlog.BundleKey) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.LogIndex == b.LogIndex
}

// keyIndexNote is the one-line summary of what the audit checked of key
// indexes (n signed ones, and with lookup the indexes the store's member
// key look-up builds), for the verified line.
func keyIndexNote(n int, lookup bool) string {
	note := ""
	if n > 0 {
		note = fmt.Sprintf(", %d key index(es) checked", n)
	}
	if lookup {
		note += ", the member key look-up checked"
	}
	return note
}

// noteText is the text of a signed note, before its signatures (the whole
// of it when it has none): what [tlog.ParseKeyIndex] reads. The caller
// verifies the signatures.
func noteText(signed string) []byte {
	if i := strings.Index(signed, "\n\n"); i >= 0 {
		return []byte(signed[:i+1])
	}
	return []byte(signed)
}
