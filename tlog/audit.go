package tlog

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/parley-exchange/parley/internal/untrusted"
)

// AuditSource is a log to audit: a node's store read directly or a node
// read over HTTP. Methods stream, so an audit runs in bounded memory.
type AuditSource interface {
	// Checkpoint returns the log's latest signed checkpoint note.
	Checkpoint(ctx context.Context) ([]byte, error)
	// Leaves calls fn with the leaf bytes of every entry with start ≤
	// index < end, in index order.
	Leaves(ctx context.Context, start, end uint64, fn func(index uint64, leaf []byte) error) error
	// Objects calls fn for every stored object version whose entry index
	// is in [start, end) and that the auditor may read, in index order,
	// with its entry's opening (the collection the object is stored in
	// among it) and the object exactly as stored. fn may keep the slices
	// after it returns.
	Objects(ctx context.Context, start, end uint64, fn func(index uint64, op Opening, object []byte) error) error
}

// CheckpointHistory is an optional ability of an [AuditSource]: every
// checkpoint the log has signed, so that each is checked against the
// recomputed tree.
type CheckpointHistory interface {
	Checkpoints(ctx context.Context) ([][]byte, error)
}

// EntryNamer is an optional ability of an [AuditSource] that knows every
// entry's object (the node's own store): problems with entries whose object
// is missing or unreadable are named with it.
type EntryNamer interface {
	EntryObjectID(ctx context.Context, index uint64) (string, error)
}

// ConsistencyProver is an optional ability of an [AuditSource]: the log's
// own consistency proofs (GET /log/proof/consistency), which the audit
// checks between the latest checkpoint seen before and the new one, so
// that a log serving wrong proofs to monitors is caught too.
type ConsistencyProver interface {
	ConsistencyProof(ctx context.Context, from, to uint64) ([]Hash, error)
}

// AuditOptions configure [Audit].
type AuditOptions struct {
	// Verifier is the log's note verifier (the pinned node key).
	Verifier note.Verifier
	// Seen, when not nil, holds the checkpoints seen before; the audit
	// checks the log against them and records the new checkpoint (the
	// caller saves it).
	Seen *SeenCheckpoints
	// AllObjects says that the source holds every object (an audit of the
	// node's own store), so an object entry without its object is a
	// problem rather than an object the auditor may not read.
	AllObjects bool
	// Tiles, when not nil, are the log's hash tiles: each recomputed leaf
	// hash is compared with the log's, which names the exact entry that
	// was changed.
	Tiles TileReader
	// Progress, when not nil, is called with the entries done so far.
	Progress func(done, total uint64)
	// Mine, when not empty, are the auditing member's own public keys:
	// every key the log registers for a member that holds one of them and
	// that isn't among them is a problem (a key the operator swapped in).
	Mine []ed25519.PublicKey
	// Policy, when not nil, is the witness policy the latest checkpoint
	// must meet ([CheckQuorum]); one that doesn't fails the audit with an
	// error wrapping [ErrQuorum], before anything is recorded in Seen.
	// With a source that has a [CosignedHistory], the times of its
	// witnesses' cosignatures bound every entry's received time
	// ([TimeBounds]).
	Policy *Policy
	// ClockSkew is the clock skew allowed when checking received times
	// against witness cosignatures; ≤ 0 means [DefaultClockSkew].
	ClockSkew time.Duration
	// KeyIndexes are signed key indexes to check against the replay:
	// each must be of a tree the log holds at its size, and list for
	// each member it lists exactly the positions of that member's key
	// entries in that tree (every member with one, when Complete). Each
	// that isn't is a problem and a [KeyIndexFault] in the report.
	KeyIndexes []AuditKeyIndex
	// KeyLookup, when not nil, is how the log's server finds member key
	// entries to index (an audit of a node's store: the query behind its
	// GET /log/keys). The audit builds with it the index of every member
	// of the audited tree, and of each member alone, and compares each
	// with the replay: a look-up that leaves out, adds or misattributes a
	// key entry (a damaged or tampered look-up table) would make the
	// server sign false key indexes, and is a problem.
	KeyLookup KeyLookup
}

// Problem is one thing an audit found wrong.
type Problem struct {
	// Index is the entry index, or -1 for a problem with the whole log.
	Index int64
	// ObjectID is the object the entry is about, if known.
	ObjectID string
	// Reason says what is wrong, in one sentence.
	Reason string
}

// String formats the problem as one line naming the entry and object.
// The object id (and whatever of the node's the reason quotes) comes
// from the node: it is printed inert, never as terminal escapes or a
// carriage return that would overwrite the line.
func (p Problem) String() string {
	reason := untrusted.Text(p.Reason, 4000)
	switch {
	case p.Index < 0:
		return reason
	case p.ObjectID != "":
		return fmt.Sprintf("entry %d, object %s: %s", p.Index, untrusted.Text(p.ObjectID, 200), reason)
	default:
		return fmt.Sprintf("entry %d: %s", p.Index, reason)
	}
}

// AuditReport is the outcome of an [Audit].
type AuditReport struct {
	// Checkpoint is the latest checkpoint, the tree that was recomputed;
	// CheckpointNote its signed note as the source served it.
	Checkpoint     Checkpoint
	CheckpointNote []byte
	// Entries is the number of entries replayed.
	Entries uint64
	// Objects is the number of objects checked against their entries;
	// Unsigned how many of them no key of this log vouches for: no
	// signature, or ([ErrForeignSignature]) a member the log registered
	// without a key, Foreign of them (objects replicated from another
	// log).
	Objects, Unsigned, Foreign uint64
	// Checkpoints is the number of signed checkpoints checked.
	Checkpoints int
	// Witnessed is the number of cosigned checkpoints whose policy
	// witnesses' times bounded the entries' received times.
	Witnessed int
	// Problems lists everything that didn't verify; empty means the log
	// verified.
	Problems []Problem
	// Keys is the member key history the log shows.
	Keys *KeyHistory
	// KeyIndexFaults are the false key indexes among
	// [AuditOptions.KeyIndexes] (each also a problem).
	KeyIndexFaults []KeyIndexFault
	// Fork holds two signed checkpoints of this log that can't both be
	// true (same size, different roots, or an old one that isn't a prefix
	// of the recomputed tree): proof that the log forked.
	Fork [][]byte
}

// OK reports whether everything verified.
func (r *AuditReport) OK() bool { return len(r.Problems) == 0 }

func (r *AuditReport) add(index int64, id, format string, args ...any) {
	r.Problems = append(r.Problems, Problem{Index: index, ObjectID: id, Reason: fmt.Sprintf(format, args...)})
}

// auditChunk is how many entries are held in memory at a time.
const auditChunk = 4096

// auditObjectBytes bounds the bytes of objects a chunk holds while they
// wait to be checked: a chunk of 4,096 objects of 1 MiB each would
// otherwise hold 4 GiB (two chunks, with the one checked in the
// background). Past it, the objects read so far are checked at once and
// dropped, so an audit holds about twice this whatever the objects' sizes.
// A variable for the tests.
var auditObjectBytes = 64 << 20

// Audit replays a whole log: it verifies the latest checkpoint's signature,
// recomputes the tree from every entry and compares its root, checks that
// entries of every kind were received in log order (strictly increasing
// times), replays the member key events ([KeyHistory]), checks every
// other checkpoint the source and opts.Seen know of against the tree at
// their sizes (two checkpoints for one size with different roots are kept
// in the report as fork evidence), and checks every object the source
// returns against its entry's commitment and the key in force for its
// member at its position, and, with opts.Mine, names every key registered
// for the auditing member that it doesn't hold. What
// doesn't verify is in the report's Problems, naming entry and object; the
// error is only for failing to read the source.
func Audit(ctx context.Context, src AuditSource, opts AuditOptions) (*AuditReport, error) {
	rep := &AuditReport{}
	if opts.Verifier == nil {
		return nil, errors.New("couldn't audit: no log key to verify checkpoints with")
	}
	cpNote, err := src.Checkpoint(ctx)
	if err != nil {
		return nil, fmt.Errorf("couldn't read the checkpoint: %w", err)
	}
	cp, err := OpenCheckpoint(cpNote, opts.Verifier)
	if err != nil {
		rep.add(-1, "", "the latest checkpoint doesn't verify: %v", err)
		return rep, nil
	}
	if opts.Policy != nil {
		if _, err := CheckQuorum(opts.Policy, cpNote); err != nil {
			return nil, fmt.Errorf("couldn't accept the latest checkpoint: %w", err)
		}
	}
	rep.Checkpoint, rep.CheckpointNote = cp, cpNote
	rep.Checkpoints++

	// Roots to check at sizes below the latest: from the log's own history
	// and from the checkpoints seen before.
	type known struct {
		note []byte
		cp   Checkpoint
	}
	want := map[uint64][]known{}
	if h, ok := src.(CheckpointHistory); ok {
		notes, err := h.Checkpoints(ctx)
		if err != nil {
			return nil, fmt.Errorf("couldn't read the checkpoint history: %w", err)
		}
		for _, n := range notes {
			c, err := OpenCheckpoint(n, opts.Verifier)
			if err != nil {
				rep.add(-1, "", "a stored checkpoint doesn't verify: %v", err)
				continue
			}
			rep.Checkpoints++
			want[c.Size] = append(want[c.Size], known{n, c})
		}
	}
	if opts.Seen != nil {
		for _, n := range opts.Seen.Notes {
			c, err := OpenCheckpoint([]byte(n), opts.Verifier)
			if err != nil {
				continue // another log's, or kept evidence under an old key
			}
			want[c.Size] = append(want[c.Size], known{[]byte(n), c})
		}
	}
	times, err := witnessedTimes(ctx, src, cpNote, opts, rep)
	if err != nil {
		return nil, err
	}
	for _, w := range times.notes {
		want[w.cp.Size] = append(want[w.cp.Size], known{w.note, w.cp})
	}
	// The policy whose witnesses' lines are verified before a note is
	// recorded in opts.Seen (SeenCheckpoints.add).
	var seenPolicy *Policy
	if opts.Seen != nil {
		seenPolicy = opts.Seen.policyOr(opts.Policy)
	}
	fork := func(a, b []byte, format string, args ...any) {
		rep.add(-1, "", format, args...)
		if rep.Fork == nil {
			rep.Fork = [][]byte{a, b}
		}
		if opts.Seen != nil {
			opts.Seen.add(a, seenPolicy)
			opts.Seen.add(b, seenPolicy)
		}
	}
	for size, ks := range want {
		for _, k := range ks {
			if size > cp.Size {
				fork(k.note, cpNote, "the log shrank: a checkpoint of size %d was seen before, the latest has size %d", size, cp.Size)
			}
			if size == cp.Size && k.cp.Hash != cp.Hash {
				fork(k.note, cpNote, "two checkpoints of size %d with different roots: the log forked", size)
			}
		}
	}

	keys := NewKeyHistory()
	rep.Keys = keys
	var kic *keyIndexCheck
	if len(opts.KeyIndexes) > 0 || opts.KeyLookup != nil {
		kic = newKeyIndexCheck(opts.KeyIndexes, opts.Verifier, cp.Size, rep)
	}
	namer, _ := src.(EntryNamer)
	var pending *pendingChunk
	merge := func(p *pendingChunk) {
		if p == nil {
			return
		}
		<-p.done
		for _, j := range p.jobs {
			rep.Objects++
			switch {
			case errors.Is(j.err, ErrForeignSignature):
				rep.Unsigned++
				rep.Foreign++
			case errors.Is(j.err, ErrUnsignedObject):
				rep.Unsigned++
			case j.err != nil:
				rep.add(int64(j.index), j.op.ObjectID, "%v", j.err)
			}
		}
		if opts.AllObjects {
			for j, ok := range p.seen {
				if e := p.entries[j]; !ok && e.Kind == KindObject && e.Commitment != "" {
					rep.add(int64(p.start)+int64(j), "", "the object of this entry isn't in the store")
				}
			}
		}
		// Name the object of each of this chunk's entry problems where the
		// auditor may read it (the entry itself names nothing); the names
		// are then dropped, so memory stays bounded by the chunk.
		for i := range rep.Problems {
			q := &rep.Problems[i]
			if q.Index < int64(p.start) || q.Index >= int64(p.end) || q.ObjectID != "" {
				continue
			}
			q.ObjectID = p.names[uint64(q.Index)]
			if q.ObjectID == "" && namer != nil {
				q.ObjectID, _ = namer.EntryObjectID(ctx, uint64(q.Index))
			}
		}
		rep.Entries = p.end
		if opts.Progress != nil {
			opts.Progress(p.end, cp.Size)
		}
	}
	tree := NewTree()
	var lastReceived time.Time
	for start := uint64(0); start < cp.Size; start += auditChunk {
		end := min(start+auditChunk, cp.Size)
		entries := make([]Entry, end-start)
		hashes := make([]Hash, end-start)
		next := start
		err := src.Leaves(ctx, start, end, func(i uint64, leaf []byte) error {
			if i != next {
				return fmt.Errorf("entry %d came where %d was expected", i, next)
			}
			next++
			h := LeafHash(leaf)
			hashes[i-start] = h
			tree.Append(h)
			kic.appended(tree)
			if rs, ok := want[tree.Size()]; ok && tree.Size() < cp.Size {
				root := tree.Root()
				for _, k := range rs {
					if k.cp.Hash != root {
						fork(k.note, cpNote, "the checkpoint of size %d doesn't match the tree recomputed from the entries", k.cp.Size)
					}
				}
			}
			e, err := ParseEntry(leaf)
			if err != nil {
				rep.add(int64(i), "", "the entry is malformed: %v", err)
				return nil
			}
			entries[i-start] = e
			// The node stamps entries of every kind in log order with
			// strictly increasing times, so an entry received no later than
			// the one before it was back-dated or reordered.
			if !lastReceived.IsZero() && !e.Received.After(lastReceived) {
				rep.add(int64(i), "", "received %s, not after the entry before it (%s): back-dated or reordered",
					e.Received.Format(time.RFC3339Nano), lastReceived.Format(time.RFC3339Nano))
			}
			lastReceived = e.Received
			if times.bounds != nil {
				if reason := times.bounds.CheckReceived(i, e.Received, opts.ClockSkew); reason != "" {
					rep.add(int64(i), "", "%s", reason)
				}
			}
			if e.Kind == KindMemberKey {
				kic.entry(i, e.Member)
				if err := keys.Apply(i, e); err != nil {
					rep.add(int64(i), "", "%v", err)
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("couldn't read entries %d–%d: %w", start, end, err)
		}
		if next != end {
			rep.add(int64(next), "", "the log has no entry %d but its checkpoint covers %d entries", next, cp.Size)
			break
		}
		if opts.Tiles != nil {
			if err := compareTiles(ctx, opts.Tiles, start, end, cp.Size, hashes, rep); err != nil {
				return nil, err
			}
		}
		seen := make([]bool, end-start)
		names := map[uint64]string{}
		var jobs []objectJob
		checked, held := 0, 0 // jobs[:checked] are checked; held: bytes of the others
		check := func(j *objectJob) {
			_, j.err = CheckObject(j.object, j.op, entries[j.index-start], j.index, keys)
			j.object = nil
		}
		err = src.Objects(ctx, start, end, func(i uint64, op Opening, object []byte) error {
			if i < start || i >= end {
				return fmt.Errorf("object for entry %d outside %d–%d", i, start, end)
			}
			seen[i-start] = true
			switch e := entries[i-start]; {
			case e.Kind == "":
				return nil // malformed entry, reported above
			case e.Commitment == "":
				// A member key entry, in clear: no object belongs to it,
				// and one served for it was never checked (a node
				// mislabelling an object's index to keep it unchecked).
				rep.add(int64(i), op.ObjectID, "the node served an object for entry %d, a %s entry, not an object entry", i, e.Kind)
				return nil
			}
			names[i] = op.ObjectID
			jobs = append(jobs, objectJob{index: i, object: object, op: op})
			if held += len(object); held > auditObjectBytes {
				checkObjects(jobs[checked:], check)
				checked, held = len(jobs), 0
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("couldn't read objects %d–%d: %w", start, end, err)
		}
		// Check this chunk's objects in the background while the next
		// chunk's entries are read and hashed; results are merged in
		// chunk order.
		merge(pending)
		p := &pendingChunk{start: start, end: end, jobs: jobs, entries: entries, seen: seen, names: names, done: make(chan struct{})}
		go func(unchecked []objectJob) {
			defer close(p.done)
			checkObjects(unchecked, check)
		}(jobs[checked:])
		pending = p
	}
	merge(pending)
	checkMine(keys, opts.Mine, rep)
	if kic != nil && rep.Entries == cp.Size {
		kic.check(opts.KeyIndexes, rep)
		if opts.KeyLookup != nil {
			kic.checkLookup(ctx, opts.KeyLookup, cp.Size, rep)
		}
	}
	if rep.Entries == cp.Size && tree.Root() != cp.Hash {
		rep.add(-1, "", "the entries don't produce the checkpoint's root hash: the log was rewritten")
	}
	if opts.Tiles != nil && rep.OK() {
		// The higher-level tiles (what monitors and receipts use) must
		// describe the same tree as the entries.
		root, err := TreeRoot(ctx, cp.Size, TileHashReader(cp.Size, opts.Tiles))
		if err != nil || root != cp.Hash {
			rep.add(-1, "", "the log's hash tiles don't produce the checkpoint's root hash")
		}
	}
	if cprover, ok := src.(ConsistencyProver); ok && rep.OK() {
		// The largest earlier size the auditor knows a checkpoint of.
		var prev *Checkpoint
		for size, ks := range want {
			if size > 0 && size < cp.Size && (prev == nil || size > prev.Size) {
				prev = &ks[0].cp
			}
		}
		if prev != nil {
			p, err := cprover.ConsistencyProof(ctx, prev.Size, cp.Size)
			if err != nil {
				rep.add(-1, "", "the log didn't serve a consistency proof from size %d to %d: %v", prev.Size, cp.Size, err)
			} else if err := VerifyConsistency(prev.Size, cp.Size, p, prev.Hash, cp.Hash); err != nil {
				rep.add(-1, "", "the log's consistency proof from size %d to %d doesn't verify", prev.Size, cp.Size)
			}
		}
	}
	if opts.Seen != nil && rep.Fork == nil {
		opts.Seen.add(cpNote, seenPolicy)
	}
	// Objects are checked in the background, so problems arrive out of
	// order: report the log's own first, then by entry.
	sort.SliceStable(rep.Problems, func(i, j int) bool { return rep.Problems[i].Index < rep.Problems[j].Index })
	return rep, nil
}

// auditTimes are the cosigned checkpoints an audit checks entries'
// received times against.
type auditTimes struct {
	bounds *TimeBounds // nil: no policy witnesses or no cosigned history
	notes  []struct {
		note []byte
		cp   Checkpoint
	}
}

// witnessedTimes reads the source's cosigned checkpoints (and the latest
// one) when opts has a policy with witnesses, keeps each that verifies with
// the log key (to check its root against the recomputed tree) and indexes
// the times of its policy witnesses' cosignatures. A cosigned checkpoint
// that doesn't verify is a problem in rep; the error is for failing to
// read the source.
func witnessedTimes(ctx context.Context, src AuditSource, latest []byte, opts AuditOptions, rep *AuditReport) (auditTimes, error) {
	var out auditTimes
	if opts.Policy == nil || len(opts.Policy.Witnesses) == 0 {
		return out, nil
	}
	var ws []WitnessedAt
	done := map[string]bool{}
	add := func(n []byte) {
		if done[string(n)] {
			return
		}
		done[string(n)] = true
		cp, err := OpenCheckpoint(n, opts.Verifier)
		if err != nil {
			rep.add(-1, "", "a cosigned checkpoint the log serves doesn't verify: %v", err)
			return
		}
		out.notes = append(out.notes, struct {
			note []byte
			cp   Checkpoint
		}{n, cp})
		w, err := CosignedTimes(n, opts.Verifier, opts.Policy)
		switch {
		case errors.Is(err, ErrQuorum):
			// Cosigned only by witnesses this policy doesn't name.
		case err != nil:
			rep.add(-1, "", "the cosigned checkpoint of size %d has a bad cosignature: %v", cp.Size, err)
		default:
			ws = append(ws, w)
		}
	}
	add(latest)
	if h, ok := src.(CosignedHistory); ok {
		if err := h.CosignedCheckpoints(ctx, func(n []byte) error { add(n); return nil }); err != nil {
			return out, fmt.Errorf("couldn't read the cosigned checkpoints: %w", err)
		}
	}
	// The checkpoints seen before bound the times too: the log chooses
	// which cosigned checkpoints it serves, and may stop serving the one
	// that shows an entry back-dated, but the auditor kept it (with its
	// cosignatures) when it was the latest. Their roots are checked with
	// the others'; one that isn't this log's, or whose cosignatures this
	// policy can't use, is skipped.
	if opts.Seen != nil {
		for _, s := range opts.Seen.Notes {
			n := []byte(s)
			if done[s] {
				continue
			}
			done[s] = true
			// CosignedTimes opens the checkpoint with the log's key first.
			if w, err := seenCosignedTimes(n, opts.Verifier, opts.Policy); err == nil {
				ws = append(ws, w)
			}
		}
	}
	out.bounds = NewTimeBounds(ws)
	rep.Witnessed = len(ws)
	return out, nil
}

// checkMine names every key the log registers for a member holding one of
// mine that isn't among mine: a key the operator put in the member's name.
func checkMine(keys *KeyHistory, mine []ed25519.PublicKey, rep *AuditReport) {
	if len(mine) == 0 {
		return
	}
	held := func(k ed25519.PublicKey) bool {
		for _, m := range mine {
			if m.Equal(k) {
				return true
			}
		}
		return false
	}
	found := false
	for _, member := range keys.Members() {
		ks := keys.Keys(member)
		if !slices.ContainsFunc(ks, func(k MemberKey) bool { return held(k.Key) }) {
			continue
		}
		found = true
		for _, k := range ks {
			if !held(k.Key) {
				rep.add(int64(k.From), "", "the log registers key %s for %s (%s-asserted), which you don't hold",
					base64.StdEncoding.EncodeToString(k.Key), member, k.Authority)
			}
		}
	}
	if !found {
		rep.add(-1, "", "no member of this log is registered with your key")
	}
}

// pendingChunk is a chunk whose objects are being checked.
type pendingChunk struct {
	start, end uint64
	jobs       []objectJob
	entries    []Entry
	seen       []bool
	names      map[uint64]string // object ids of the chunk's readable entries
	done       chan struct{}
}

type objectJob struct {
	index  uint64
	object []byte
	op     Opening
	err    error
}

// checkObjects runs check on every job, spread over GOMAXPROCS goroutines:
// the Ed25519 verification of member signatures dominates an audit, and
// each object is independent.
func checkObjects(jobs []objectJob, check func(*objectJob)) {
	workers := min(runtime.GOMAXPROCS(0), len(jobs))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(jobs) {
					return
				}
				check(&jobs[i])
			}
		}()
	}
	wg.Wait()
}

// compareTiles checks leaf hashes against the log's level-0 tiles at size.
func compareTiles(ctx context.Context, tr TileReader, start, end, size uint64, hashes []Hash, rep *AuditReport) error {
	for _, t := range TilesForSize(0, false, start, size) {
		first := t.N * TileWidth
		if first >= end {
			break
		}
		data, err := tr.ReadTile(ctx, t)
		if err != nil {
			rep.add(-1, "", "the log's tile %s can't be read: %v", t.Path(), err)
			continue
		}
		hs, err := ParseHashTile(t, data)
		if err != nil {
			rep.add(-1, "", "%v", err)
			continue
		}
		for j, h := range hs {
			i := first + uint64(j)
			if i < start || i >= end {
				continue
			}
			if h != hashes[i-start] {
				rep.add(int64(i), "", "the entry doesn't match the leaf hash in the log's tree: the entry was changed")
			}
		}
	}
	return nil
}

// SeenCheckpoints is the auditor's local memory of checkpoints it saw, in
// a file: the signed notes, so that a log that later rewrites or forks its
// history is caught, and two conflicting checkpoints stay as evidence.
// Beyond [MaxSeenNotes] the older ones are thinned out; the latest and any
// evidence of a fork are kept.
type SeenCheckpoints struct {
	// Key is the log verifier key pinned on first use.
	Key string `json:"key,omitempty"`
	// Notes are signed checkpoint notes, oldest first.
	Notes []string `json:"checkpoints"`
	// Policy, when not nil, is the witness policy of whoever records
	// notes in the file (not saved in it): before a note is recorded or
	// merged with another of the same checkpoint, the signature lines of
	// its witnesses (their name and key ID) are verified, in both notes,
	// and those that don't verify are dropped ([SeenCheckpoints.Add]).
	// [Audit] and [ObjectVerifier] use their own policy when they have
	// one.
	Policy *Policy `json:"-"`
	path   string
	// read says that the file existed when it was read (or was saved
	// since): one gone at Save was removed by someone else. readKey is
	// the key it pinned then: one that pins another at Save was
	// re-pinned by someone else.
	read    bool
	readKey string
}

// seenFields are the names of a seen file's fields.
var seenFields = jsonFields{"key": nil, "checkpoints": nil}

// MaxSeenFile bounds the seen file [LoadSeen] reads: 256 MiB, far above
// what [MaxSeenNotes] checkpoints take (each a few hundred bytes to a few
// kilobytes with its cosignatures).
const MaxSeenFile = 256 << 20

// seenFileLimit is the longest seen file [LoadSeen] reads: [MaxSeenFile],
// a variable for the tests. [SeenCheckpoints.add] keeps the file to half
// of it ([maxSeenBytes]).
var seenFileLimit int64 = MaxSeenFile

// LoadSeen reads the file at path; a missing file is an empty memory.
// Anything else that isn't a seen file, as [SeenCheckpoints.Save] writes
// it (a JSON object with "checkpoints" and at most "key"), is refused, so
// that a wrong path (a bundle, a key file) is not replaced by Save; as is
// a file larger than [MaxSeenFile] or holding more than twice
// [MaxSeenNotes] notes (nothing is verified before that is checked).
func LoadSeen(path string) (*SeenCheckpoints, error) {
	s := &SeenCheckpoints{path: path}
	b, err := untrusted.ReadFile(path, seenFileLimit)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("couldn't read seen checkpoints: %w", err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil || fields == nil {
		return nil, fmt.Errorf("couldn't read seen checkpoints in %s: not a JSON object", path)
	}
	for name := range fields {
		if name != "key" && name != "checkpoints" {
			return nil, fmt.Errorf("couldn't read seen checkpoints in %s: it isn't a seen file (it has %.40q)", path, name)
		}
	}
	// Each name once: encoding/json keeps the last of two "checkpoints"
	// (or "key"s), which another reader of the file may not.
	if err := exactNames(b, seenFields); err != nil {
		return nil, fmt.Errorf("couldn't read seen checkpoints in %s: %v", path, err)
	}
	if _, ok := fields["checkpoints"]; !ok {
		return nil, fmt.Errorf("couldn't read seen checkpoints in %s: it isn't a seen file (no \"checkpoints\")", path)
	}
	if err := json.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("couldn't read seen checkpoints in %s: %w", path, err)
	}
	if len(s.Notes) > maxSeenRead() {
		return nil, fmt.Errorf("couldn't read seen checkpoints in %s: it holds %d notes, over the limit of %d (no parley writes more than %d): it was made or changed by something else", path, len(s.Notes), maxSeenRead(), maxSeenKept())
	}
	s.read, s.readKey = true, s.Key
	return s, nil
}

// LoadSeenOrCheckpoint is [LoadSeen], except that a file holding one
// signed checkpoint note (a witness's latest checkpoint of the log, as
// monitor retrieval serves it: GET <witness>/<hash>/checkpoint; cosigned
// or not) is read as the memory of that checkpoint alone, which it
// returns as checkpoint (nil for a seen file): the caller checks that
// the log's key signs it. Save then writes a seen file in its place,
// holding it. A file that is neither is refused, saying so.
func LoadSeenOrCheckpoint(path string) (s *SeenCheckpoints, checkpoint []byte, err error) {
	b, rerr := untrusted.ReadFile(path, seenFileLimit)
	if rerr == nil {
		if text, err := SplitNote(b); err == nil {
			if _, err := ParseCheckpoint(text); err == nil {
				return &SeenCheckpoints{path: path, Notes: []string{string(b)}, read: true}, b, nil
			}
		}
	}
	s, err = LoadSeen(path)
	if err != nil {
		if rerr == nil {
			return nil, nil, fmt.Errorf("%s is neither a seen file nor a signed checkpoint: %w", path, err)
		}
		return nil, nil, err
	}
	return s, nil, nil
}

// CheckConsistent checks a signed checkpoint note against the checkpoints
// seen before (those that verify with v and name the same origin): one of
// the same size must have the same root, and the log's consistency proofs
// (from prover) from the nearest smaller seen checkpoint to it, and from it
// to the nearest larger one, must verify. It then records the note, also
// when it conflicts, as evidence next to the one it conflicts with (the
// caller saves the file). Failures wrap [ErrProof] and say the log forked.
//
// Only the seen checkpoints it compares with have their signatures
// verified (their text is read first): a seen file of thousands of
// checkpoints costs a few signature checks, not thousands.
func (s *SeenCheckpoints) CheckConsistent(ctx context.Context, n []byte, v note.Verifier, prover ConsistencyProver) error {
	return s.checkConsistent(ctx, n, v, prover, s.Policy)
}

// ErrBehind is a log whose checkpoint is smaller than one seen before and
// that can't prove it a prefix of it: the log went back.
var ErrBehind = errors.New("the log went back behind a checkpoint seen before")

// checkConsistent is [SeenCheckpoints.CheckConsistent], recording n with
// the lines of p's witnesses verified ([SeenCheckpoints.add]).
func (s *SeenCheckpoints) checkConsistent(ctx context.Context, n []byte, v note.Verifier, prover ConsistencyProver, p *Policy) error {
	cp, err := OpenCheckpoint(n, v)
	if err != nil {
		return err
	}
	s.add(n, p)
	same, lowerNote, upperNote := s.Neighbours(cp, v)
	if len(same) > 0 {
		return fmt.Errorf("%w: two checkpoints of size %d with different roots: the log forked", ErrProof, cp.Size)
	}
	var lower, upper *Checkpoint
	if c, ok := peekCheckpoint(lowerNote); ok {
		lower = &c
	}
	if c, ok := peekCheckpoint(upperNote); ok {
		upper = &c
	}
	for i, pair := range [][2]*Checkpoint{{lower, &cp}, {&cp, upper}} {
		small, big := pair[0], pair[1]
		if small == nil || big == nil || small.Size == 0 {
			continue
		}
		p, err := prover.ConsistencyProof(ctx, small.Size, big.Size)
		var refused *HTTPError
		if err != nil && i == 1 && errors.As(err, &refused) {
			// A log only grows: one that shows a tree smaller than one
			// seen before and, asked, can't prove it a prefix of that
			// one (it answered, refusing: not a network that failed)
			// went back (restored from an older backup, or it lost its
			// state), and what was logged since (a withdrawal, a
			// revocation) may be missing from what it serves.
			return fmt.Errorf("%w: the node's latest checkpoint is of size %d, and it couldn't prove it a prefix of the checkpoint of size %d seen before (%v)", ErrBehind, small.Size, big.Size, err)
		}
		if err != nil {
			return fmt.Errorf("couldn't read the log's consistency proof from %d to %d: %w", small.Size, big.Size, err)
		}
		if err := VerifyConsistency(small.Size, big.Size, p, small.Hash, big.Hash); err != nil {
			return fmt.Errorf("%w: the checkpoints of sizes %d and %d aren't consistent: the log forked or was rewritten", ErrProof, small.Size, big.Size)
		}
	}
	return nil
}

// Neighbours returns the seen checkpoints that a checkpoint cp of the log
// whose key is v is compared with, each signed by v and of cp's origin:
// those of cp's size with another root (which prove a fork), and the
// nearest smaller one (not the empty tree) and the nearest larger one (""
// when there is none). A checkpoint consistent with its neighbours in a
// history is consistent with all of it. The notes are read by their text
// first: only those it returns, and the ones it passes over for not
// verifying, have their signatures verified, not the whole file.
func (s *SeenCheckpoints) Neighbours(cp Checkpoint, v note.Verifier) (same []string, lower, upper string) {
	var below, above []seenNote
	for _, old := range s.Notes {
		c, ok := peekCheckpoint(old)
		switch {
		case !ok || c.Origin != cp.Origin:
		case c.Size == cp.Size && c.Hash != cp.Hash:
			if _, err := OpenCheckpoint([]byte(old), v); err == nil {
				same = append(same, old)
			}
		case c.Size < cp.Size && c.Size > 0:
			below = append(below, seenNote{old, c})
		case c.Size > cp.Size:
			above = append(above, seenNote{old, c})
		}
	}
	sort.SliceStable(below, func(i, j int) bool { return below[i].cp.Size > below[j].cp.Size })
	sort.SliceStable(above, func(i, j int) bool { return above[i].cp.Size < above[j].cp.Size })
	// nearest is the first of sorted that verifies with v (another log's
	// under this origin, or kept evidence under an old key, does not).
	nearest := func(sorted []seenNote) string {
		for _, o := range sorted {
			if _, err := OpenCheckpoint([]byte(o.note), v); err == nil {
				return o.note
			}
		}
		return ""
	}
	return same, nearest(below), nearest(above)
}

// Unverified returns the seen notes that read as checkpoints but don't
// verify with the log's key v, which every reader of the file passes
// over: forged, those with a signature line that names v's key (its name
// and key ID) and doesn't verify, which no parley writes (it records only
// notes it opened with v): the file was changed, or a note made up; and
// others, those with no line of v's key, such as checkpoints kept under a
// key pinned before, which are no sign of tampering. Others includes the
// near-forgeries [SeenCheckpoints.Faults] tells apart.
func (s *SeenCheckpoints) Unverified(v note.Verifier) (forged, others []Checkpoint) {
	f := s.Faults(v)
	others = f.Others
	for _, n := range f.Near {
		others = append(others, n.Checkpoint)
	}
	return f.Forged, others
}

// SeenFaults are the seen checkpoints that don't verify with the log's
// key, by what their signature lines claim ([SeenCheckpoints.Faults]).
type SeenFaults struct {
	// Forged have a line of the log key's name and key ID that doesn't
	// verify, or a line of its name whose key ID can't be read (not
	// base64, or too short): no parley writes one, so the file was
	// changed.
	Forged []Checkpoint
	// Near have a line of the log key's name under another key ID, and
	// none of its key ID: a checkpoint of another key of the same name
	// (a key pinned before the node was made again), or a line made to
	// look like the log's. No reader compares with them.
	Near []NearCheckpoint
	// Others have no line of the log key's name: another log's, or
	// kept under a key of another name pinned before.
	Others []Checkpoint
}

// NearCheckpoint is a seen checkpoint with a signature line of the log
// key's name but another key ID ([SeenFaults.Near]).
type NearCheckpoint struct {
	Checkpoint
	// KeyIDs are the key IDs of its lines of the log key's name, in
	// the order of the note.
	KeyIDs []uint32
}

// Faults sorts the seen notes that read as checkpoints but don't verify
// with the log's key v (every reader of the file passes over them) by
// what their signature lines claim: see [SeenFaults]. Key indexes and
// notes that verify are left out.
func (s *SeenCheckpoints) Faults(v note.Verifier) SeenFaults {
	var f SeenFaults
	for _, n := range s.Notes {
		c, ok := peekCheckpoint(n)
		if !ok {
			continue // a key index, kept in the list
		}
		if _, err := OpenCheckpoint([]byte(n), v); err == nil {
			continue
		}
		claims, ids := claimsKey(n, v)
		switch {
		case claims:
			f.Forged = append(f.Forged, c)
		case len(ids) > 0:
			f.Near = append(f.Near, NearCheckpoint{Checkpoint: c, KeyIDs: ids})
		default:
			f.Others = append(f.Others, c)
		}
	}
	return f
}

// claimsKey reports whether the signed note n has a signature line of
// v's name and key ID (C2SP signed-note: "— name base64(keyID || sig)"),
// or one of v's name whose key ID can't be read (not base64, or shorter
// than a key ID), and, when it has none, the key IDs of its lines of v's
// name.
func claimsKey(n string, v note.Verifier) (bool, []uint32) {
	i := strings.LastIndex(n, "\n\n")
	if i < 0 {
		return false, nil
	}
	var ids []uint32
	for _, line := range strings.Split(n[i+2:], "\n") {
		name, b64, ok := strings.Cut(strings.TrimPrefix(line, "\u2014 "), " ")
		if !ok || !strings.HasPrefix(line, "\u2014 ") || name != v.Name() {
			continue
		}
		sig, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(sig) < 4 {
			// A line of v's name whose key ID can't be read: no
			// signer writes it, and note.Open refuses the note for
			// it, so no parley kept it either.
			return true, nil
		}
		id := binary.BigEndian.Uint32(sig)
		if id == v.KeyHash() {
			return true, nil
		}
		ids = append(ids, id)
	}
	return false, ids
}

// seenNote is a seen checkpoint note and its text, not yet verified.
type seenNote struct {
	note string
	cp   Checkpoint
}

// peekCheckpoint reads a signed note's checkpoint text without verifying
// any signature.
func peekCheckpoint(n string) (Checkpoint, bool) {
	text, err := SplitNote([]byte(n))
	if err != nil {
		return Checkpoint{}, false
	}
	c, err := ParseCheckpoint(text)
	return c, err == nil
}

// MaxSeenNotes bounds the checkpoints a seen file keeps. A client run
// often (a pull every minute) sees a new checkpoint each time; beyond
// this many, [SeenCheckpoints] thins the older ones out (see thin), so
// that the file, and the time to read it, stay bounded. A variable for
// the tests.
var MaxSeenNotes = 4096

// Add records n, a checkpoint note that the caller opened with the log's
// key, such as a witness's latest checkpoint of the log that the caller
// found consistent with the node's (monitor retrieval): the next [Audit]
// checks it against the log's tree like any checkpoint seen, and counts
// its policy witnesses' cosignatures among those that bound entries'
// received times. A note recorded already is not added twice. The
// caller saves the file.
//
// With s.Policy, the lines of its witnesses that don't verify on their own
// are dropped from n, and from the note of the same checkpoint n is merged
// with, first (see add).
func (s *SeenCheckpoints) Add(n []byte) { s.add(n, s.Policy) }

// policyOr returns p, or s.Policy when p is nil: the policy whose
// witnesses' lines are verified before a note is recorded.
func (s *SeenCheckpoints) policyOr(p *Policy) *Policy {
	if p != nil {
		return p
	}
	return s.Policy
}

// add records n. With the witness policy p, it first drops from n, and
// from each note of the same checkpoint it merges n with, the signature
// lines of p's witnesses that don't verify ([dropForgedLines]): the merge
// keeps each signer's first and latest line by the time the line claims,
// so forged lines of a witness with extreme times, recorded unverified
// (the node's checkpoint, read without a policy or before its quorum was
// checked), would take both places and push that witness's honest
// cosignatures out of the file. Lines of keys p doesn't name are kept as
// they are (nothing here can verify them).
func (s *SeenCheckpoints) add(n []byte, p *Policy) {
	n = []byte(dropForgedLines(string(n), p))
	text, split := noteText(string(n))
	into := -1 // the last note of n's text
	for i, have := range s.Notes {
		if have == string(n) {
			return
		}
		if t, ok := noteText(have); ok && split && t == text {
			into = i
		}
	}
	// The same checkpoint again, with other cosignatures (a quiet log
	// the witnesses cosigned again): one note with each signer's first
	// and latest line, not one more note per audit. A merge that would
	// hold more signature lines than a note may ([maxNoteSignatures]:
	// note.Open refuses it, and the checkpoint seen would be lost to
	// every later audit), or be longer ([MaxCheckpointNote]: every reader
	// refuses it, and would report it forged), keeps the note as it is,
	// and n is recorded beside it. Only the last note of the text is
	// merged into (the one recorded beside the others): one merge, not
	// one for each note a node had recorded beside.
	if into >= 0 {
		if m := mergeSignatures(dropForgedLines(s.Notes[into], p), string(n)); checkNoteBounds([]byte(m)) == nil {
			s.Notes[into] = m
			// A merge may make the note longer (lines of keys
			// no one knows are all kept): the file is bounded
			// as for a note added.
			s.bound(m)
			return
		}
	}
	s.Notes = append(s.Notes, string(n))
	if len(s.Notes) > MaxSeenNotes {
		s.thin(string(n), false)
	}
	s.bound(string(n))
}

// bound thins the file, keeping the note keep, until it holds at most
// [maxSeenKept] notes and [maxSeenBytes] bytes, or nothing more may go:
// first notes that are no evidence of a fork, then evidence too.
func (s *SeenCheckpoints) bound(keep string) {
	for s.overBytes() && s.thin(keep, false) > 0 {
	}
	for (len(s.Notes) > maxSeenKept() || s.overBytes()) && s.thin(keep, true) > 0 {
	}
}

// maxSeenBytes is the most bytes [SeenCheckpoints.add] leaves in a seen
// file, as Save writes it: half of what [LoadSeen] reads. A note may be
// as long as [MaxCheckpointNote], and its "<", ">" and "&" take six bytes
// each in the file, so a node could otherwise have the file grow past
// what LoadSeen reads in a few hundred pulls, long before it holds
// [MaxSeenNotes] notes.
func maxSeenBytes() int64 { return seenFileLimit / 2 }

// overBytes reports whether the file, as Save writes it, would be longer
// than [maxSeenBytes]: its notes are counted byte by byte only when six
// bytes for each of theirs (what an escaped "<" takes) would be.
func (s *SeenCheckpoints) overBytes() bool {
	var most int64
	for _, n := range s.Notes {
		most += 6*int64(len(n)) + 8
	}
	return most > maxSeenBytes() && s.jsonSize() > maxSeenBytes()
}

// jsonSize returns about how many bytes the notes take in the file as
// [SeenCheckpoints.Save] writes them (JSON, indented): each note is a
// checkpoint that opened (valid UTF-8, no control character but its
// newlines), so only these are escaped.
func (s *SeenCheckpoints) jsonSize() int64 {
	var size int64
	for _, n := range s.Notes {
		size += int64(len(n)) + 8 // quotes, comma, newline, indent
		for _, c := range []string{`"`, `\`, "\n"} {
			size += int64(strings.Count(n, c))
		}
		for _, c := range []string{"<", ">", "&"} {
			size += 5 * int64(strings.Count(n, c))
		}
		for _, c := range []string{"\u2028", "\u2029"} {
			size += 3 * int64(strings.Count(n, c))
		}
	}
	return size
}

// maxSeenKept is the most notes [SeenCheckpoints.add] leaves in a seen
// file, evidence of forks included: half as many again as [MaxSeenNotes],
// below what [LoadSeen] reads ([maxSeenRead]) by room for the notes that
// are never thinned (a key index of each key pinned, the latest
// checkpoint of each origin).
func maxSeenKept() int { return MaxSeenNotes + MaxSeenNotes/2 }

// maxSeenRead is the most notes [LoadSeen] reads from a seen file: twice
// [MaxSeenNotes]. Every reader of the file verifies its notes (each
// forged one is reported), so a doctored file of a million notes would
// cost about a minute of CPU; no parley writes more than [maxSeenKept].
func maxSeenRead() int { return 2 * MaxSeenNotes }

// RecordKeyIndexAll records n, a key index of every member
// ([KeyIndexAllHeader]) that the log served, signed by its key v: the
// log's own proof that it serves that form, so that a later index of the
// older form ([KeyIndexHeader]), under which a member left out can't be
// proved false, is caught as a downgrade ([SeenCheckpoints.KeyIndexAll]).
// One index proves it, of whatever tree: the file keeps one per log, the
// one of the smallest tree recorded (each is as long as the log's
// membership at its tree, so the latest would grow the file with every
// member registered since; the smallest doesn't grow). It reports
// whether the file records the log's index of every member after the
// call (n, or one of a tree no larger kept in its place): one that isn't
// such an index of v's log is not recorded. The caller saves the file.
//
// The note is kept in the file's "checkpoints" list, where whatever reads
// a seen file for checkpoints (parley versions older than this one
// included) skips a note that doesn't read as a checkpoint, and thinning
// keeps it: a seen file with it stays a seen file to every version.
func (s *SeenCheckpoints) RecordKeyIndexAll(n []byte, v note.Verifier) bool {
	k, err := OpenKeyIndex(n, v)
	if err != nil || !k.Complete {
		return false
	}
	for i, have := range s.Notes {
		if isKeyIndexAll(have, v) {
			if h, err := OpenKeyIndex([]byte(have), v); err != nil || k.Size < h.Size {
				s.Notes[i] = string(n)
			}
			return true
		}
	}
	s.Notes = append(s.Notes, string(n))
	return true
}

// KeyIndexAll returns the key index of every member of v's log recorded
// by [SeenCheckpoints.RecordKeyIndexAll] (verified with v), or nil when
// none is: the log served the index of every member before.
func (s *SeenCheckpoints) KeyIndexAll(v note.Verifier) []byte {
	for _, n := range s.Notes {
		if isKeyIndexAll(n, v) {
			return []byte(n)
		}
	}
	return nil
}

// isKeyIndexAll reports whether n is a key index of every member of v's
// log, signed by v (its first line read before any signature is checked).
func isKeyIndexAll(n string, v note.Verifier) bool {
	if !strings.HasPrefix(n, KeyIndexAllHeader+"\n") {
		return false
	}
	k, err := OpenKeyIndex([]byte(n), v)
	return err == nil && k.Complete
}

// maxNoteSignatures is the most signature lines a note may have:
// note.Open refuses one with more (golang.org/x/mod/sumdb/note).
const maxNoteSignatures = 100

// noteText splits a signed note at its blank line: the text, with its
// final newline, and whether it has one.
func noteText(n string) (string, bool) {
	i := strings.LastIndex(n, "\n\n")
	if i < 0 {
		return "", false
	}
	return n[:i+1], true
}

// dropForgedLines returns the signed note n without the signature lines
// of p's witnesses (their name and key ID) that don't verify on their own
// over n's text, and without those of a witness past the first
// [maxKeyLines] distinct ones, or past [maxVerifiedBytes] checked,
// dropped unchecked as [VerifiedLines] drops them (one [lineChecker]
// bounds both). Other lines, and a note p names no witness of, are left
// as they are; so is n when it isn't a signed note.
func dropForgedLines(n string, p *Policy) string {
	if p == nil || len(p.Witnesses) == 0 {
		return n
	}
	i := strings.LastIndex(n, "\n\n")
	if i < 0 || checkNoteBounds([]byte(n)) != nil {
		return n
	}
	vs := make([]note.Verifier, len(p.Witnesses))
	for j, w := range p.Witnesses {
		vs[j] = w.v
	}
	c := newLineChecker([]byte(n[:i+2]), note.VerifierList(vs...))
	good := map[string]bool{} // a line's verdict, for its repeats
	out := n[:i+2]
	for _, l := range strings.SplitAfter(n[i+2:], "\n") {
		if l == "" {
			continue
		}
		ok, decided := good[l]
		if !decided {
			// Kept unless it is a line of a witness of p that doesn't
			// verify (or is past the checker's bounds): a line that is
			// no signature, or one of a key p doesn't know, can't be
			// checked and stays.
			_, known, verified := c.check([]byte(l))
			ok = !known || verified
			good[l] = ok
		}
		if ok {
			out += l
		}
	}
	return out
}

// mergeSignatures returns the note of a's text with the signature lines
// of a and b: every distinct line, except that of the cosignatures by one
// key (name and key ID) only the earliest and the latest are kept, which
// is all a cosigned checkpoint says about time ([CosignedTimes]: the
// first bounds the entries it includes, the latest those after it).
func mergeSignatures(a, b string) string {
	i := strings.LastIndex(a, "\n\n")
	out := a[:i+2]
	type signer struct {
		name string
		id   uint32
	}
	type timed struct {
		line string
		at   time.Time
	}
	var order []signer
	first, last := map[signer]timed{}, map[signer]timed{}
	var plain []string
	seen := map[string]bool{}
	for _, note := range []string{a, b} {
		j := strings.LastIndex(note, "\n\n")
		for _, l := range strings.SplitAfter(note[j+2:], "\n") {
			if l == "" || seen[l] {
				continue
			}
			seen[l] = true
			name, id, _, ok := SignatureLine(strings.TrimSuffix(l, "\n"))
			at, terr := time.Time{}, error(nil)
			if ok {
				_, b64, _ := strings.Cut(strings.TrimPrefix(strings.TrimSuffix(l, "\n"), "— "), " ")
				at, terr = CosignatureTime(b64)
			}
			if !ok || terr != nil {
				plain = append(plain, l) // the log's own signature, or not a cosignature
				continue
			}
			k := signer{name, id}
			f, have := first[k]
			if !have {
				order = append(order, k)
				first[k], last[k] = timed{l, at}, timed{l, at}
				continue
			}
			if at.Before(f.at) {
				first[k] = timed{l, at}
			}
			if !at.Before(last[k].at) {
				last[k] = timed{l, at}
			}
		}
	}
	for _, l := range plain {
		out += l
	}
	for _, k := range order {
		out += first[k].line
		if last[k].line != first[k].line {
			out += last[k].line
		}
	}
	return out
}

// thin drops every second checkpoint of the smaller half of those it may
// drop, about a quarter of the file. It keeps keep (the one just added),
// the largest checkpoint of each origin (what the next is compared
// with: a checkpoint consistent with it is consistent with every
// checkpoint before it), every checkpoint that shares its origin and size
// with another of another root (evidence of a fork), and any note whose
// text doesn't read; of notes of one origin, size and root, only the
// last is kept so (the others may go). What thinning costs: older entries' witnessed times
// are bounded by fewer of the checkpoints seen back then, so the bounds
// [Audit] draws from this file for them get wider; the checkpoints the
// node serves still bound them.
//
// With forks, evidence of a fork may go too, but for that of each
// origin's smallest forked size: [SeenCheckpoints.add] thins so when a
// file holding evidence of many forks (a node that showed a new fork at
// every audit) would otherwise grow past what [LoadSeen] reads. It
// returns how many notes it dropped.
func (s *SeenCheckpoints) thin(keep string, forks bool) int {
	type key struct {
		origin string
		size   uint64
	}
	roots := map[key]map[Hash]bool{}
	largest := map[string]uint64{}
	parsed := make([]seenNote, len(s.Notes))
	ok := make([]bool, len(s.Notes))
	for i, n := range s.Notes {
		c, good := peekCheckpoint(n)
		parsed[i], ok[i] = seenNote{n, c}, good
		if !good {
			continue
		}
		k := key{c.Origin, c.Size}
		if roots[k] == nil {
			roots[k] = map[Hash]bool{}
		}
		roots[k][c.Hash] = true
		largest[c.Origin] = max(largest[c.Origin], c.Size)
	}
	// A note is a repeat when a later one has its origin, size and root
	// (another extension line, or lines recorded beside it when a merge
	// would have been too long): it tells nothing about consistency that
	// the later one doesn't, and may go whatever it is, so that a node
	// serving one checkpoint as a new note at every audit can't grow the
	// file with notes kept as the latest, or as evidence of a fork.
	type same struct {
		key
		root Hash
	}
	last := map[same]int{}
	for i, o := range parsed {
		if ok[i] {
			last[same{key{o.cp.Origin, o.cp.Size}, o.cp.Hash}] = i
		}
	}
	firstFork := map[string]uint64{} // origin: its smallest forked size
	for k, r := range roots {
		if f, have := firstFork[k.origin]; len(r) > 1 && (!have || k.size < f) {
			firstFork[k.origin] = k.size
		}
	}
	var may []int // indexes of the notes that may go
	for i, o := range parsed {
		c := o.cp
		if !ok[i] || o.note == keep {
			continue
		}
		if last[same{key{c.Origin, c.Size}, c.Hash}] != i {
			may = append(may, i) // a repeat
			continue
		}
		if c.Size == largest[c.Origin] {
			continue
		}
		if len(roots[key{c.Origin, c.Size}]) > 1 {
			if f, have := firstFork[c.Origin]; !forks || have && f == c.Size {
				continue
			}
		}
		may = append(may, i)
	}
	sort.SliceStable(may, func(a, b int) bool { return parsed[may[a]].cp.Size < parsed[may[b]].cp.Size })
	drop := map[int]bool{}
	for j := 1; j < len(may)/2; j += 2 {
		drop[may[j]] = true
	}
	kept := s.Notes[:0]
	for i, n := range s.Notes {
		if !drop[i] {
			kept = append(kept, n)
		}
	}
	clear(s.Notes[len(kept):])
	s.Notes = kept
	return len(drop)
}

// ErrSeenChanged is a seen file that another process re-pinned (another
// key) or removed since it was read: [SeenCheckpoints.Save] doesn't write
// the old pin back over it.
var ErrSeenChanged = errors.New("the seen file changed since it was read")

// Save writes the file atomically (write to a temporary file, sync, rename).
// Several processes may share one seen file (a daemon's parley match
// --url --poll beside parley audit and pull): Save first merges in the
// notes the file holds now and s doesn't (a fork's evidence or a larger
// checkpoint another process recorded since s was read), so that no
// writer drops what another kept. A file that now pins another key, or
// that was removed since it was read (to pin a rebuilt node's key
// again), is left as it is, and Save fails with [ErrSeenChanged].
func (s *SeenCheckpoints) Save() error {
	if err := s.mergeOnDisk(); err != nil {
		return err
	}
	notes := s.Notes
	sort.SliceStable(notes, func(i, j int) bool { return sizeOf(notes[i]) < sizeOf(notes[j]) })
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return fmt.Errorf("couldn't save seen checkpoints: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(s.path), ".seen-*")
	if err != nil {
		return fmt.Errorf("couldn't save seen checkpoints: %w", err)
	}
	_, err = f.Write(append(b, '\n'))
	err = errors.Join(err, f.Sync(), f.Close())
	if err == nil {
		err = os.Rename(f.Name(), s.path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("couldn't save seen checkpoints: %w", err)
	}
	s.read, s.readKey = true, s.Key
	return nil
}

// mergeOnDisk adds to s the notes of the file as it is now that s lacks,
// or fails with [ErrSeenChanged] (see [SeenCheckpoints.Save]). A file that
// doesn't read as a seen file now is written over, as before.
func (s *SeenCheckpoints) mergeOnDisk() error {
	now, err := LoadSeen(s.path)
	if err != nil {
		return nil
	}
	if !now.read {
		if s.read {
			return fmt.Errorf("%w: %s was removed since this command read it (to pin the node's key again?); it isn't written back", ErrSeenChanged, s.path)
		}
		return nil
	}
	if now.Key != s.readKey && now.Key != s.Key {
		return fmt.Errorf("%w: %s now pins another log key than when this command read it (another parley pinned a new key); it isn't overwritten", ErrSeenChanged, s.path)
	}
	if s.Key == "" {
		s.Key = now.Key
	}
	have := make(map[string]bool, len(s.Notes))
	other := false // s holds a note that is no checkpoint: a key index's
	for _, n := range s.Notes {
		have[n] = true
		if _, ok := peekCheckpoint(n); !ok {
			other = true
		}
	}
	for _, n := range now.Notes {
		switch _, ok := peekCheckpoint(n); {
		case have[n]:
		case ok:
			s.add([]byte(n), s.Policy)
		case !other:
			// The key index another process recorded; s's own, when
			// it has one, replaced it or is the one to keep.
			s.Notes = append(s.Notes, n)
			other = true
		}
	}
	return nil
}

func sizeOf(n string) uint64 {
	c, _ := peekCheckpoint(n)
	return c.Size
}
