package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/parley-exchange/parley/internal/untrusted"
	"github.com/parley-exchange/parley/tlog"
	"github.com/parley-exchange/parley/witness"
)

// Monitor retrieval in parley audit: each witness that the policy gives a
// URL for serves its latest cosigned checkpoint of the log (C2SP
// tlog-witness, GET <url>/<origin hash>/checkpoint); the audit checks that
// the node's checkpoint and the witness's are of one history, so a member
// learns of a split view (the node showing the member one history and the
// witness another) at its next audit. Split-view evidence (docs/witness.md)
// is written beside the seen file as <seen>.evidence-<n>.json.

// witnessView is what the audit found comparing one witness's checkpoint
// with the node's.
type witnessView struct {
	name string
	// problem is one line when the views can't both be true; evidence,
	// when not nil, proves it offline.
	problem  string
	evidence []byte
	// note is a line for stderr that isn't a failure (witness down, no
	// checkpoint yet).
	note string
	// consistent, when not nil, is the witness's checkpoint note (its
	// cosignature included), signed by the log key, no larger than the
	// node's and of one history with it: the audit keeps it in its seen
	// file, so that the time of the cosignature bounds, at later audits,
	// the received time of every entry that tree doesn't hold. A node
	// never shows the cosignatures of a witness that pulls its log, and
	// the witness serves only its latest: without this, an entry
	// appended later and back-dated to before that cosignature would
	// go unseen (found by h/witfed).
	consistent []byte
}

// witnessViewTimeout bounds the reading of one witness's checkpoint
// (C2SP tlog-witness limits the answer to a checkpoint note; the client
// reads 256 KiB at most): a witness that never answers is reported as not
// checked, and the audit goes on to the next one. A variable for tests.
var witnessViewTimeout = 30 * time.Second

// checkWitnessViews fetches each policy witness's checkpoint of the log
// (those with a URL, in name order, each within witnessViewTimeout) and
// compares it with the node's
// checkpoint cpNote, reading the larger tree's hashes from the node's
// tiles (checked against that tree's root, so a lying node can't fake
// either outcome).
func checkWitnessViews(ctx context.Context, c *cli, pol *tlog.Policy, logKey string, v note.Verifier, cpNote []byte, tiles tlog.TileReader) []witnessView {
	if pol == nil {
		return nil
	}
	cp, err := tlog.OpenCheckpoint(cpNote, v)
	if err != nil {
		return nil // the audit reported it
	}
	urls := pol.WitnessURLs()
	names := make([]string, 0, len(urls))
	for name := range urls {
		names = append(names, name)
	}
	sort.Strings(names)
	// The witnesses whose valid cosignature the node's checkpoint carries:
	// a 404 from one of them doesn't mean it never cosigned the log.
	cosigned := map[string]bool{}
	cos, _ := tlog.CheckQuorum(pol, cpNote)
	for _, c := range cos {
		cosigned[c.Witness] = true
	}
	var out []witnessView
	for _, name := range names {
		wv := witnessView{name: name}
		wc := &witness.Client{URL: urls[name], HTTP: c.httpClient()}
		wctx, cancel := context.WithTimeout(ctx, witnessViewTimeout)
		n, err := wc.Checkpoint(wctx, cp.Origin)
		cancel()
		// A witness the quorum can't do without: its 404 is why the
		// node's checkpoints lack the quorum (which the audit reports
		// as a failure of its own).
		needed := ""
		if pol.Needs(name) {
			needed = "; the policy's quorum can't be met without it"
		}
		switch {
		case errors.Is(err, witness.ErrUnknownLog) && cosigned[name]:
			// A Parley witness's 404 "unknown log": the log isn't
			// among those it witnesses now, though it cosigned this
			// checkpoint before.
			wv.note = fmt.Sprintf("witness %s no longer witnesses log %s: it answered 404 (unknown log) for its checkpoint, though it cosigned the node's (not checked)%s", name, untrusted.Text(cp.Origin, 200), needed)
		case errors.Is(err, witness.ErrUnknownLog):
			wv.note = fmt.Sprintf("witness %s doesn't witness log %s (it never did, or no longer does): it answered 404 (unknown log) for its checkpoint (not checked)%s", name, untrusted.Text(cp.Origin, 200), needed)
		case errors.Is(err, witness.ErrNoCheckpoint) && cosigned[name]:
			// C2SP tlog-witness: 404 means it never cosigned one, yet
			// here is its cosignature; monitor retrieval is a SHOULD
			// (litewitness has none) and its prefix may differ.
			wv.note = fmt.Sprintf("witness %s answered 404 for its checkpoint of log %s though it cosigned the node's: it serves no monitor retrieval at that URL (not checked)", name, untrusted.Text(cp.Origin, 200))
		case errors.Is(err, witness.ErrNoCheckpoint):
			// Another implementation's 404 doesn't say which.
			wv.note = fmt.Sprintf("witness %s has cosigned no checkpoint of log %s (it answered 404): it doesn't witness this log (or no longer does), or hasn't cosigned one yet (not checked)%s", name, untrusted.Text(cp.Origin, 200), needed)
		case err != nil:
			wv.note = fmt.Sprintf("couldn't read witness %s's checkpoint (not checked): %v", name, err)
		default:
			wv.problem, wv.evidence, wv.note = compareView(ctx, name, logKey, v, cp, cpNote, n, tiles)
			if wv.problem == "" && wv.note == "" {
				if wcp, err := tlog.OpenCheckpoint(n, v); err == nil && wcp.Size <= cp.Size {
					wv.consistent = n
				}
			}
		}
		out = append(out, wv)
	}
	return out
}

// compareView compares a witness's checkpoint note with the node's.
func compareView(ctx context.Context, name, logKey string, v note.Verifier, cp tlog.Checkpoint, cpNote, wNote []byte, tiles tlog.TileReader) (problem string, evidence []byte, info string) {
	wcp, err := tlog.OpenCheckpoint(wNote, v)
	if err != nil {
		return "", nil, fmt.Sprintf("witness %s serves a checkpoint the log key didn't sign (not checked): %v", name, err)
	}
	larger := max(cp.Size, wcp.Size)
	ev, err := tlog.CompareCheckpoints(ctx, logKey, cpNote, wNote, tlog.TileHashReader(larger, tiles))
	switch {
	case err == nil:
		return "", nil, ""
	case errors.Is(err, tlog.ErrSplitView):
		return fmt.Sprintf("split view: witness %s has a checkpoint of size %d that is inconsistent with the node's checkpoint of size %d: the log showed the witness and you different histories", name, wcp.Size, cp.Size), ev, ""
	case wcp.Size > cp.Size:
		// The node can't show the witness's larger tree: it grew since
		// (tiles of the new size not served yet) or it hides that
		// history from you.
		return fmt.Sprintf("witness %s has a checkpoint of size %d, and the node can't show that its checkpoint of size %d is a prefix of it: the log may show the witness and you different histories (%v)", name, wcp.Size, cp.Size, err), nil, ""
	default:
		return fmt.Sprintf("couldn't compare witness %s's checkpoint of size %d with the node's tree: %v", name, wcp.Size, err), nil, ""
	}
}

// forkEvidence turns the two conflicting checkpoints an audit found into
// split-view evidence, reading the larger tree's hashes from the node's
// tiles; nil when they can't prove it (the larger one isn't the node's
// current tree).
func forkEvidence(ctx context.Context, logKey string, v note.Verifier, fork [][]byte, tiles tlog.TileReader) []byte {
	if len(fork) != 2 {
		return nil
	}
	var larger uint64
	for _, n := range fork {
		cp, err := tlog.OpenCheckpoint(n, v)
		if err != nil {
			return nil
		}
		larger = max(larger, cp.Size)
	}
	ev, err := tlog.CompareCheckpoints(ctx, logKey, fork[0], fork[1], tlog.TileHashReader(larger, tiles))
	if !errors.Is(err, tlog.ErrSplitView) {
		return nil
	}
	return ev
}

// maxSeenEvidence bounds the evidence files an audit keeps beside one
// seen file for one log key: a node that forks at every audit could
// otherwise add a file each time, without limit. The first proves that the
// log's key signed a lie; those after it add little. Beyond it the audit
// still fails and names each split view; it writes no more evidence and
// says how much it left unwritten.
const maxSeenEvidence = 32

// errEvidenceKept is what writeEvidence and writeKeyIndexEvidence return
// when maxSeenEvidence files of the log are kept beside the seen file
// already and none of them proves the same thing.
var errEvidenceKept = errors.New("evidence not written")

// evidenceBeside reads the evidence files beside the seen file
// (<seen>.evidence-<n>.json): it returns the path of the first for which
// same reports true, else "" and how many are evidence of the log key
// logKey (split-view or false key index evidence).
func evidenceBeside(seenPath, logKey string, same func([]byte) bool) (string, int, error) {
	dir, base := filepath.Split(seenPath)
	if dir == "" {
		dir = "."
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", 0, nil
		}
		return "", 0, fmt.Errorf("couldn't write evidence: %w", err)
	}
	type numbered struct {
		n    int // of <seen>.evidence-<n>.json
		path string
	}
	var files []numbered
	for _, e := range ents {
		n, ok := strings.CutPrefix(e.Name(), base+".evidence-")
		if !ok || !e.Type().IsRegular() {
			continue
		}
		if n, ok = strings.CutSuffix(n, ".json"); !ok {
			continue
		}
		if i, err := strconv.Atoi(n); err == nil {
			files = append(files, numbered{i, filepath.Join(dir, e.Name())})
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].n < files[j].n })
	count := 0
	for _, f := range files {
		b, err := os.ReadFile(f.path)
		if err != nil {
			continue
		}
		if same(b) {
			return f.path, 0, nil
		}
		var k struct {
			LogKey string `json:"log_key"`
		}
		if json.Unmarshal(b, &k) == nil && k.LogKey == logKey {
			count++
		}
	}
	return "", count, nil
}

// evidenceKept is the line for evidence whose evidence isn't
// written (errEvidenceKept); it counts it for the audit's summary.
func (c *cli) evidenceKept() string {
	c.evidenceNotWritten++
	return fmt.Sprintf("evidence not written (%d files of this log are kept beside the seen file already)", maxSeenEvidence)
}

// writeEvidence writes split-view evidence beside the seen file, as
// <seen>.evidence-<n>.json (0600) with the first unused n, and returns its
// path; evidence of the same two checkpoints (origin, size and root)
// already there isn't written again (its path is returned). With
// maxSeenEvidence files of the log there already it writes nothing and
// returns errEvidenceKept.
func writeEvidence(seenPath string, ev []byte, foundBy string, now time.Time) (string, error) {
	e, err := tlog.ParseEvidence(ev)
	if err != nil {
		return "", err
	}
	e.FoundBy, e.FoundAt = foundBy, now.UTC().Format(time.RFC3339)
	path, n, err := evidenceBeside(seenPath, e.LogKey, func(b []byte) bool {
		o, err := tlog.ParseEvidence(b)
		return err == nil && sameCheckpoints(o.Checkpoints, e.Checkpoints)
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
		out, err := tlog.NewEvidence(e.LogKey, []byte(e.Checkpoints[0]), []byte(e.Checkpoints[1]), proofRoot(e), proofHashes(e), e.FoundBy, e.FoundAt)
		if err != nil {
			return "", err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("couldn't write evidence: %w", err)
		}
		_, err = f.Write(out)
		if err = errors.Join(err, f.Sync(), f.Close()); err != nil {
			os.Remove(path)
			return "", fmt.Errorf("couldn't write evidence: %w", err)
		}
		return path, nil
	}
}

// sameCheckpoints reports whether two evidence documents hold the same two
// checkpoints, whatever cosignatures and extension lines each note
// carries (their origins, sizes and roots alike; a node can sign one tree
// with any number of extension lines, each pair otherwise one more file): the node's
// checkpoint seen with two witnesses' cosignatures is one checkpoint, and
// one fork found by several witnesses (or by a witness and the seen file)
// makes one file (found by h/witfed: three files for one fork).
func sameCheckpoints(a, b []string) bool {
	if len(a) != 2 || len(b) != 2 {
		return false
	}
	a0, a1, b0, b1 := checkpointTree(a[0]), checkpointTree(a[1]), checkpointTree(b[0]), checkpointTree(b[1])
	return (a0 == b0 && a1 == b1) || (a0 == b1 && a1 == b0)
}

// checkpointText is the text of the signed note n, without its signature
// lines: the checkpoint itself (origin, size, root and any extension
// lines). Evidence holds only notes that verified under the log's key, so
// two with one text are one checkpoint the log signed.
func checkpointText(n string) string {
	if i := strings.Index(n, "\n\n"); i >= 0 {
		return n[:i+1]
	}
	return n
}

// checkpointTree is the first three lines of the checkpoint note n: its
// origin, size and root.
func checkpointTree(n string) string {
	l := strings.SplitAfterN(checkpointText(n), "\n", 4)
	return strings.Join(l[:min(3, len(l))], "")
}

func proofRoot(e *tlog.Evidence) tlog.Hash {
	if e.Proof == nil {
		return tlog.Hash{}
	}
	return e.Proof.PrefixRoot
}

func proofHashes(e *tlog.Evidence) []tlog.Hash {
	if e.Proof == nil {
		return nil
	}
	return e.Proof.Consistency
}
