package witness

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// journal is the witness's durable state: the latest cosigned checkpoint
// of each log and the witness's time reservation, as an append-only file (big-endian integers throughout):
//
//	file   = magic ‖ batch ‖ batch ‖ … ‖ zeros
//	magic  = "parley witness journal v2\n"
//	batch  = header ‖ record ‖ record ‖ …
//	header = "wjb2" ‖ uint64 seq ‖ uint32 count ‖ uint32 length ‖
//	         uint32 CRC-32C(records) ‖ uint32 CRC-32C(the header's first 24 bytes) ‖ "\n"
//	record = uint32 length ‖ uint32 CRC-32C(payload) ‖ payload
//
// where a payload is a signed checkpoint note, whose origin is its first
// line, or a time reservation (reservationRecord, whose first line no
// origin can be: see [TimeReservation]), the last record of an origin wins, seq numbers the batches of the file from 0, count is the
// number of records in the batch and length their bytes. The first batch
// is the file's snapshot, written whole by [journal.compact]; each later
// one is one group-commit write. The file is preallocated: after the last
// batch it holds zeros (written, not a hole or an unwritten extent), and
// zeros end the batches. A batch is appended with one write over the zeros
// and flushed with fdatasync (fsync where there is none): the file's size
// and blocks don't change, so the flush carries the data and no metadata.
//
// A cosignature is returned only once the batch holding its checkpoint is
// flushed; batches are written one after another, each flushed before the
// next is written, and an opened journal is flushed before its first
// append. So only the last batch of the file can be unflushed, and a power
// loss can tear only it, in any way (the disk may persist any of its
// sectors and not the others), while every earlier batch was complete on
// disk before the last was written. [readJournalV2] relies on that: a last
// batch that doesn't verify, with a sector of it that reads as zeros (what
// a write the disk didn't finish leaves), is a torn tail whose
// cosignatures were never returned, and is dropped (Open logs it); a bad
// byte in an earlier batch, a bad batch followed by one that verifies, a
// bad snapshot, or a last batch written whole that doesn't verify is
// damage, which Open refuses ([ErrStateDamaged]).
//
// Concurrent appends share one write and one flush (group commit), so a
// witness of many logs, or of one log with several checkpoints in flight,
// pays one disk flush for many checkpoints. The file is rewritten with one
// record per origin and fresh zeros (write a temporary file, fsync, rename,
// fsync the directory) when opened (unless it is batches then zeros with
// room left: then it is flushed and appended to as it is), when the zeros
// run out and when it holds many superseded records, so its size stays
// proportional to the number of logs and no stale bytes ever follow the
// batches.
//
// Version 1 files, without the magic and the batches (records from the
// first byte, then zeros or the end of the file), are read with the rules
// of that layout ([readJournalV1], [damageV1]) and rewritten as version 2
// at the first open. A version 2 file starts with a byte that isn't zero
// and a version 1 file with a zero byte (a record's length is below 2^24),
// so neither is read as the other. A file that starts with a zero byte, has no
// record at its start and is longer than an empty version 1 journal is a
// version 2 one whose first sector was lost: damage, not an empty journal.
type journal struct {
	dir string
	// lock holds the exclusive lock on the state directory until close.
	lock *os.File
	// noSync skips the flush of appends (Config.NoSync): an append is then
	// durable against a crash of the process, not of the machine.
	noSync bool
	// beforeWrite, if set (tests), runs in the leader before each batch
	// is written; an error fails the batch as a failed write would.
	beforeWrite func(*batch) error

	mu      sync.Mutex
	cur     *batch // appends waiting for the next write
	writing bool   // a leader is writing; it also owns the fields below
	broken  error  // a failed write: the file's state is unknown
	writes  int    // batches written (or failed)

	f       *os.File
	buf     []byte            // the batch being written: header, then framed records
	end     int64             // end of the batches: where the next one goes
	seq     uint64            // the next batch's sequence number
	size    int64             // the file's size: records, then zeros
	latest  map[string][]byte // origin → last record written
	records int               // records in the file
	slack   int               // compact when records > 4·origins + slack
}

type batch struct {
	origins []string
	recs    [][]byte
	written bool // under journal.mu
	err     error
	// done is closed once the batch is written (or failed); lead gets
	// a token when the write before it ends, for one of its waiters to
	// write it. So a write's end wakes its own requests and one of the
	// next batch's, not every request waiting.
	done chan struct{}
	lead chan struct{}
}

func newBatch() *batch {
	return &batch{done: make(chan struct{}), lead: make(chan struct{}, 1)}
}

const (
	journalFile = "journal"
	// journalMagic starts a version 2 journal.
	journalMagic = "parley witness journal v2\n"
	// batchTag starts a batch header, batchHeader its size.
	batchTag    = "wjb2"
	batchHeader = 29
	// sectorSize is the unit a disk writes whole or not at all (at
	// least): a torn batch has one that reads as zeros.
	sectorSize  = 512
	frameHeader = 8
	// maxRecord bounds one record (a checkpoint note with signatures).
	maxRecord = 1 << 20
	// journalZeros is the least room for appends a rewritten journal
	// gets (more when the records take more: as much as they take).
	journalZeros = 256 << 10
	// minOpenRoom is the least room for appends with which an open
	// journal is kept as it is rather than rewritten.
	minOpenRoom = journalZeros / 8
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// readJournalV1 parses the records at the start of b (a version 1
// journal) and returns the last record of each origin, the number of
// records and where they end (the first record that is torn, corrupt,
// empty or zero ends them).
func readJournalV1(b []byte) (latest map[string][]byte, records int, end int) {
	latest = map[string][]byte{}
	recs, end := readFrames(b)
	for _, rec := range recs {
		latest[recordOrigin(rec)] = rec
	}
	return latest, len(recs), end
}

// journalContents is what reading a journal file finds.
type journalContents struct {
	latest  map[string][]byte // origin → its last record
	records int
	// end is where the records (v1) or the batches (v2) that are kept
	// end; seq the next batch's sequence number (v2).
	end int
	seq uint64
	v1  bool
	// clean: nothing but zeros follows end.
	clean bool
	// torn says what was dropped as a torn last batch (v2), "" if none.
	torn string
	// damage says why the file is damaged (not what a crash leaves), ""
	// if it isn't; the damage is at byte end.
	damage string
	// newer is the version named by the file's first line when it is the
	// magic of a journal version after 2 (a newer parley wrote it), ""
	// otherwise.
	newer string
}

// readJournal reads a journal file of either version.
func readJournal(b []byte) journalContents {
	if len(b) > 0 && b[0] != 0 {
		return readJournalV2(b)
	}
	latest, records, end := readJournalV1(b)
	c := journalContents{latest: latest, records: records, end: end, v1: true,
		clean: allZero(b[end:]), damage: damageV1(b, end)}
	if records == 0 && c.damage == "" && len(b) > journalZeros {
		// A version 1 journal with no record at its start is empty (no
		// bytes, or journalZeros of zeros from its compaction) or its
		// first append was torn, in a file of journalZeros bytes; every
		// version 2 file is longer (its snapshot, then at least
		// journalZeros). So this is a version 2 journal whose start (the
		// magic, and maybe every record, all in one sector for a witness
		// of a log or two) was lost: read as version 1 it would be empty,
		// and the witness would cosign forks of every log.
		c.damage = "the file starts with zeros but is longer than an empty version 1 journal: a version 2 journal whose start was lost"
	}
	return c
}

// readJournalV2 reads a version 2 journal (see [journal]): the batches
// that verify, in sequence, from the first; then zeros (clean), a torn
// last batch (dropped, torn says so) or damage.
func readJournalV2(b []byte) journalContents {
	c := journalContents{latest: map[string][]byte{}, end: len(journalMagic)}
	if !bytes.HasPrefix(b, []byte(journalMagic)) {
		c.end = 0
		if v, ok := laterJournalVersion(b); ok {
			c.newer = v
			return c
		}
		c.damage = "the file doesn't start as a version 2 witness journal (nor a version 1 one)"
		return c
	}
	for {
		if allZero(b[c.end:]) {
			if c.seq == 0 {
				// Every version 2 file is written with its snapshot.
				c.damage = "the journal's first batch is zeros"
			}
			c.clean = true
			return c
		}
		h, ok := parseBatchHeader(b[c.end:])
		if !ok || h.seq != c.seq {
			break
		}
		recs, ok := batchRecords(b[c.end:], h)
		if !ok {
			break
		}
		for _, rec := range recs {
			c.latest[recordOrigin(rec)] = rec
		}
		c.records += len(recs)
		c.end += batchHeader + int(h.length)
		c.seq++
	}
	c.torn, c.damage = badBatch(b, c.end, c.seq)
	return c
}

// badBatch says whether the batch at off, the first that doesn't verify
// (seq is the sequence number it should have), is a torn last batch (torn
// describes it) or damage (damage says why).
func badBatch(b []byte, off int, seq uint64) (torn, damage string) {
	h, hok := parseBatchHeader(b[off:])
	if hok && h.seq != seq {
		// A header written whole, of another batch: no write of this
		// one left it.
		return "", fmt.Sprintf("batch %d is where batch %d should be", h.seq, seq)
	}
	if seq == 0 {
		return "", "the journal's first batch, written whole before it was renamed into place, doesn't verify"
	}
	// Batches are written one after another, each flushed before the
	// next: one that verifies after this one means this one was complete
	// on disk, then changed.
	for p := off + 1; len(b)-p >= batchHeader; p++ {
		if b[p] != batchTag[0] {
			continue
		}
		if h2, ok := parseBatchHeader(b[p:]); ok {
			if _, ok := batchRecords(b[p:], h2); ok {
				return "", fmt.Sprintf("batch %d at byte %d verifies after one that doesn't", h2.seq, p)
			}
		}
	}
	// The bytes of the batch: all of it when its header verifies, else
	// only the header (its length can't be trusted).
	end := off + batchHeader
	if hok {
		end += int(h.length)
	}
	if end > len(b) {
		return "", "the file ends inside a batch (a version 2 journal is preallocated and never shrinks)"
	}
	if hok && !allZero(b[end:]) {
		return "", fmt.Sprintf("bytes that aren't zeros follow the last batch, at byte %d", end+firstNonZero(b[end:]))
	}
	// A write the disk didn't finish leaves sectors of it unwritten,
	// zeros; a batch with every sector written that doesn't verify was
	// changed after it was written.
	if !zeroSector(b, off, end) {
		return "", "the last batch was written whole (no sector of it reads as zeros) but doesn't verify"
	}
	what := "its header doesn't verify"
	if hok {
		what = fmt.Sprintf("%d records in %d bytes that don't verify", h.count, h.length)
	}
	return fmt.Sprintf("the last batch (%d, at byte %d: %s) was torn by a crash during its write: dropped; its checkpoints were never cosigned back", seq, off, what), ""
}

// batchHead is a parsed batch header.
type batchHead struct {
	seq           uint64
	count, length uint32
	crc           uint32 // of the records
}

// parseBatchHeader reads a batch header at the start of b; ok is false
// unless it is whole and its checksum verifies.
func parseBatchHeader(b []byte) (h batchHead, ok bool) {
	if len(b) < batchHeader || string(b[:4]) != batchTag || b[batchHeader-1] != '\n' ||
		crc32.Checksum(b[:24], castagnoli) != binary.BigEndian.Uint32(b[24:]) {
		return h, false
	}
	h = batchHead{seq: binary.BigEndian.Uint64(b[4:]), count: binary.BigEndian.Uint32(b[12:]),
		length: binary.BigEndian.Uint32(b[16:]), crc: binary.BigEndian.Uint32(b[20:])}
	return h, true
}

// batchRecords returns the records of the batch at the start of b with
// header h, if its records verify: their checksum, their count, each
// record's frame and checksum, filling exactly the batch's length.
func batchRecords(b []byte, h batchHead) ([][]byte, bool) {
	if uint64(len(b)-batchHeader) < uint64(h.length) {
		return nil, false
	}
	body := b[batchHeader : batchHeader+int(h.length)]
	if crc32.Checksum(body, castagnoli) != h.crc {
		return nil, false
	}
	recs, end := readFrames(body)
	if end != len(body) || uint64(len(recs)) != uint64(h.count) {
		return nil, false
	}
	return recs, true
}

// putBatchHeader fills in the header of a batch (buf: batchHeader bytes,
// then the records) with count records and sequence number seq.
func putBatchHeader(buf []byte, seq uint64, count int) {
	copy(buf, batchTag)
	binary.BigEndian.PutUint64(buf[4:], seq)
	binary.BigEndian.PutUint32(buf[12:], uint32(count))
	binary.BigEndian.PutUint32(buf[16:], uint32(len(buf)-batchHeader))
	binary.BigEndian.PutUint32(buf[20:], crc32.Checksum(buf[batchHeader:], castagnoli))
	binary.BigEndian.PutUint32(buf[24:], crc32.Checksum(buf[:24], castagnoli))
	buf[batchHeader-1] = '\n'
}

// readFrames parses the records at the start of b; the first that is
// torn, corrupt, empty or zero ends them at end.
func readFrames(b []byte) (recs [][]byte, end int) {
	for len(b)-end >= frameHeader {
		n := binary.BigEndian.Uint32(b[end:])
		if n == 0 || n > maxRecord || len(b)-end-frameHeader < int(n) {
			break
		}
		rec := b[end+frameHeader : end+frameHeader+int(n)]
		if crc32.Checksum(rec, castagnoli) != binary.BigEndian.Uint32(b[end+4:]) {
			break
		}
		recs = append(recs, rec)
		end += frameHeader + int(n)
	}
	return recs, end
}

// zeroSector reports whether one of the sectors (sectorSize, aligned in
// the file) that b[off:end] overlaps reads as zeros within it.
func zeroSector(b []byte, off, end int) bool {
	for s := off - off%sectorSize; s < end; s += sectorSize {
		if allZero(b[max(s, off):min(s+sectorSize, end)]) {
			return true
		}
	}
	return false
}

func allZero(b []byte) bool { return firstNonZero(b) == len(b) }

func firstNonZero(b []byte) int {
	for i, c := range b {
		if c != 0 {
			return i
		}
	}
	return len(b)
}

// openJournal reads (and compacts) the journal in dir, creating it if
// needed, and returns the latest record of each origin, and what it
// dropped as a torn last batch ("" if nothing).
func openJournal(dir string) (*journal, map[string][]byte, string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, "", fmt.Errorf("couldn't create the state directory: %w", err)
	}
	// One witness at a time: two processes on one state would each
	// check requests against their own latest checkpoints, so one key
	// could cosign two inconsistent checkpoints of a log.
	lock, err := lockState(filepath.Join(dir, lockFile))
	if errors.Is(err, errStateInUse) {
		return nil, nil, "", fmt.Errorf("couldn't open the witness state in %s: %w", dir, err)
	}
	if err != nil {
		return nil, nil, "", err
	}
	j := &journal{dir: dir, lock: lock, slack: 1024}
	b, err := os.ReadFile(filepath.Join(dir, journalFile))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		lock.Close()
		return nil, nil, "", fmt.Errorf("couldn't read the witness state: %w", err)
	}
	c := readJournal(b)
	if c.newer != "" {
		// Not damage: a newer parley's journal, which this version
		// can't read. Moving it aside or restoring an older state
		// directory would forget checkpoints the newer version
		// cosigned, as damage would.
		lock.Close()
		return nil, nil, "", fmt.Errorf("%w: %s is a version %s witness journal, and this version reads versions 1 and 2; run the version of parley that wrote it (a witness is never downgraded: don't move the file aside or restore an older state directory, the witness would forget checkpoints it cosigned and could then cosign a fork); nothing was changed",
			ErrStateNewer, filepath.Join(dir, journalFile), c.newer)
	}
	if c.damage != "" {
		// Not a torn tail: starting would forget checkpoints this key
		// cosigned, and compacting would erase what is left of them.
		lock.Close()
		return nil, nil, "", fmt.Errorf("%w: %s at byte %d of %s; the witness would forget checkpoints it cosigned and could then cosign a fork, so it doesn't start and leaves the file as it is: restore the state directory from a backup (docs/witness.md, \"Operating a witness\")",
			ErrStateDamaged, c.damage, c.end, filepath.Join(dir, journalFile))
	}
	removeTemps(dir)
	latest := c.latest
	for o, rec := range latest {
		latest[o] = bytes.Clone(rec)
	}
	// A version 2 journal with nothing but zeros after its batches (a
	// clean stop, or kill -9 between writes) and room left is appended
	// to as it is. Rewriting it needs the journal's size again in free
	// space: a witness restarted on a full disk didn't start, though
	// its appends need no new blocks.
	if room := len(b) - c.end; !c.v1 && c.clean && room >= minOpenRoom && c.records <= 4*len(latest)+j.slack {
		f, err := os.OpenFile(filepath.Join(dir, journalFile), os.O_WRONLY, 0o600)
		if err == nil {
			// The last batch may be in the page cache only (kill -9
			// before its flush): flushed now, so that it is on disk
			// before the next is written, and only the last batch of
			// the file is ever unflushed. So may the file's name (kill
			// -9 between a compaction's rename and its directory's
			// flush): without the directory's flush a power loss could
			// bring back the file it replaced, without every batch
			// this run appends and cosigns.
			if err = datasync(f); err == nil {
				err = syncDir(dir)
			}
			if err != nil {
				f.Close()
			}
		}
		if err != nil {
			lock.Close()
			return nil, nil, "", fmt.Errorf("couldn't open the witness state: %w", err)
		}
		j.f, j.end, j.size, j.seq, j.latest, j.records = f, int64(c.end), int64(len(b)), c.seq, latest, c.records
		return j, maps.Clone(latest), "", nil
	}
	if err := j.compact(latest); err != nil {
		lock.Close()
		return nil, nil, "", err
	}
	return j, maps.Clone(j.latest), c.torn, nil
}

// ErrStateNewer: the journal was written by a newer version of parley (its
// first line names a journal version after 2); Open refuses to start and
// changes nothing.
var ErrStateNewer = errors.New("the witness state was written by a newer version of parley")

// laterJournalVersion returns the version that b's first line names when
// it is the magic of a journal version after 2 ("parley witness journal
// vN\n", N a decimal number above 2): what a later version of parley would
// write, told apart from damage so that the refusal says to run that
// version.
func laterJournalVersion(b []byte) (string, bool) {
	const prefix = "parley witness journal v"
	if !bytes.HasPrefix(b, []byte(prefix)) {
		return "", false
	}
	rest := b[len(prefix):]
	nl := bytes.IndexByte(rest, '\n')
	if nl <= 0 || nl > 9 {
		return "", false
	}
	n, err := strconv.ParseUint(string(rest[:nl]), 10, 32)
	if err != nil || n <= 2 || strconv.FormatUint(n, 10) != string(rest[:nl]) {
		return "", false
	}
	return string(rest[:nl]), true
}

// ErrStateDamaged: the journal is damaged in a way a crash can't leave
// (Open refuses to start).
var ErrStateDamaged = errors.New("the witness state is damaged")

// damageV1 says why the bytes after the records of a version 1 journal,
// b[end:], are damage and not what a crash leaves ("" when they may be a
// torn tail). Appends go into preallocated zeros, one batch after another,
// each flushed before the next is written, so a crash leaves at most one
// batch partly written: zeros where its bytes never reached the disk. A
// record written whole (its payload, a note, holds no zero byte) whose
// checksum is wrong was changed after it was written; a record that reads
// whole after an unreadable one means that the unreadable one was damaged
// (or that a crash wrote a batch's later bytes without its earlier ones:
// version 1 has no batch framing to tell them apart, which version 2 does).
func damageV1(b []byte, end int) string {
	if len(b)-end >= frameHeader {
		n := int(binary.BigEndian.Uint32(b[end:]))
		if n > 0 && n <= maxRecord && len(b)-end-frameHeader >= n && bytes.IndexByte(b[end+frameHeader:end+frameHeader+n], 0) < 0 {
			return "a record written whole doesn't match its checksum"
		}
	}
	for i := end + 1; len(b)-i >= frameHeader; i++ {
		n := int(binary.BigEndian.Uint32(b[i:]))
		if n == 0 || n > maxRecord || len(b)-i-frameHeader < n {
			continue
		}
		if crc32.Checksum(b[i+frameHeader:i+frameHeader+n], castagnoli) == binary.BigEndian.Uint32(b[i+4:]) {
			return "records that read whole follow one that doesn't"
		}
	}
	return ""
}

// removeTemps removes the temporary files that writeFileSync leaves in
// dir when the process dies between creating one and renaming it (kill
// -9 during a compaction): each is as large as the journal, and a witness
// restarted after every such kill would pile them up. Call it holding the
// lock, when no writeFileSync of this process runs. The names are
// matched one by one, not with filepath.Glob, whose pattern would hold
// the data directory's path: one with '[' in it was a bad pattern, and
// no temporary file was ever removed.
func removeTemps(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// lockFile, in the state directory, is locked by the witness that has it
// open.
const lockFile = "lock"

// errStateInUse: another witness (another parley witness serve, or a
// node's peer witness) has the state directory open.
var errStateInUse = errors.New("in use by another witness process (parley witness serve or a node on the same data directory); stop it first")

// recordOrigin is the first line of a checkpoint note: its origin.
func recordOrigin(rec []byte) string {
	i := bytes.IndexByte(rec, '\n')
	if i < 0 {
		return string(rec)
	}
	return string(rec[:i])
}

func frame(buf, rec []byte) []byte {
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(rec)))
	buf = binary.BigEndian.AppendUint32(buf, crc32.Checksum(rec, castagnoli))
	return append(buf, rec...)
}

// compact rewrites the journal with one record per origin of latest, as
// its first batch (the snapshot), followed by zeros, durably (whatever noSync says), and reopens it for
// writing; latest becomes the journal's. Only the opener or the current
// leader calls it.
func (j *journal) compact(latest map[string][]byte) error {
	origins := make([]string, 0, len(latest))
	for o := range latest {
		origins = append(origins, o)
	}
	sort.Strings(origins)
	buf := append([]byte(journalMagic), make([]byte, batchHeader)...)
	for _, o := range origins {
		buf = frame(buf, latest[o])
	}
	putBatchHeader(buf[len(journalMagic):], 0, len(origins))
	end := int64(len(buf))
	size := (end + max(end, journalZeros) + 4095) &^ 4095
	buf = append(buf, make([]byte, size-end)...)
	path := filepath.Join(j.dir, journalFile)
	if err := writeFileSync(path, buf, 0o600); err != nil {
		return fmt.Errorf("couldn't write the witness state: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("couldn't open the witness state: %w", err)
	}
	if j.f != nil {
		j.f.Close()
	}
	j.f, j.end, j.size, j.seq, j.latest, j.records = f, end, size, 1, latest, len(origins)
	return nil
}

// append durably records rec (a checkpoint note of origin): when it
// returns nil the record survives a crash (of the process only, with
// noSync). It is enqueue then wait.
func (j *journal) append(origin string, rec []byte) error {
	b, err := j.enqueue(origin, rec)
	if err != nil {
		return err
	}
	return j.wait(b)
}

// enqueue adds rec (a checkpoint note of origin) to the batch that the
// next write will carry and returns that batch; [journal.wait] returns
// once it is written. Records enqueued one after another are written in
// that order, in the same batch or in batches written one after another.
// After a failed write every later batch fails too (enqueue fails at
// once), so the witness stops cosigning rather than risk forgetting what
// it signed, and a record enqueued after another never outlives it.
func (j *journal) enqueue(origin string, rec []byte) (*batch, error) {
	if len(rec) == 0 || len(rec) > maxRecord {
		return nil, fmt.Errorf("couldn't save the checkpoint: record of %d bytes", len(rec))
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.broken != nil {
		return nil, j.broken
	}
	if j.cur == nil {
		j.cur = newBatch()
	}
	b := j.cur
	b.origins = append(b.origins, origin)
	b.recs = append(b.recs, rec)
	return b, nil
}

// err is the error of a failed write, after which nothing is written.
func (j *journal) err() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.broken
}

// wait returns once b is written (nil) or failed.
//
// Group commit: records that arrive while a batch is being written wait
// together in the next batch, and one of them writes it. Each caller
// writes at most one batch, so none waits on more than the batch before
// its own.
func (j *journal) wait(b *batch) error {
	j.mu.Lock()
	for !b.written {
		if j.writing {
			// b is being written (then done is closed when it is), or
			// it is the pending batch (then the end of the write in
			// flight gives lead a token, and whoever takes it comes
			// back here to write b).
			j.mu.Unlock()
			select {
			case <-b.done:
			case <-b.lead:
			}
			j.mu.Lock()
			continue
		}
		// No batch is being written and b isn't written, so b is still
		// the pending batch: write it.
		j.writing = true
		j.cur = nil
		err := j.broken
		j.mu.Unlock()
		if err == nil {
			err = j.write(b)
		}
		j.mu.Lock()
		b.err, b.written = err, true
		j.writes++
		if err != nil && j.broken == nil {
			j.broken = err
		}
		j.writing = false
		close(b.done)
		if next := j.cur; next != nil {
			select {
			case next.lead <- struct{}{}:
			default: // a token is there already
			}
		}
	}
	j.mu.Unlock()
	return b.err
}

// write writes one batch and flushes it; the leader only.
func (j *journal) write(b *batch) error {
	if j.f == nil {
		return errors.New("couldn't save the checkpoint: the witness state is closed")
	}
	if j.beforeWrite != nil {
		if err := j.beforeWrite(b); err != nil {
			return fmt.Errorf("couldn't save the checkpoint: %w", err)
		}
	}
	// Framed here, by the leader, into a buffer kept from one write to
	// the next, rather than by each append under j.mu.
	j.buf = append(j.buf[:0], make([]byte, batchHeader)...)
	for _, rec := range b.recs {
		j.buf = frame(j.buf, rec)
	}
	if cap(j.buf) > 1<<20 {
		defer func() { j.buf = nil }() // not kept after an unusually large batch
	}
	if j.end+int64(len(j.buf)) > j.size || j.records+len(b.recs) > 4*len(j.latest)+j.slack {
		// No room left, or many superseded records: rewrite the file
		// with the batch in it.
		latest := maps.Clone(j.latest)
		for i, o := range b.origins {
			latest[o] = b.recs[i]
		}
		return j.compact(latest)
	}
	// The batch's header and records go in one write, flushed before any
	// cosignature they hold is returned and before the next is written.
	putBatchHeader(j.buf, j.seq, len(b.recs))
	if _, err := j.f.WriteAt(j.buf, j.end); err != nil {
		return fmt.Errorf("couldn't save the checkpoint: %w", err)
	}
	if !j.noSync {
		if err := datasync(j.f); err != nil {
			return fmt.Errorf("couldn't save the checkpoint: %w", err)
		}
	}
	j.end += int64(len(j.buf))
	j.seq++
	for i, o := range b.origins {
		j.latest[o] = b.recs[i]
	}
	j.records += len(b.recs)
	return nil
}

// close closes the file and releases the lock; call it when no append is
// running.
func (j *journal) close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	var err error
	if j.f != nil {
		err = j.f.Close()
		j.f = nil
	}
	if j.lock != nil {
		j.lock.Close()
		j.lock = nil
	}
	return err
}

// writeFileSync writes data to path so that after it returns the file
// survives a crash: a temporary file in the same directory, fsync, rename
// over path, fsync the directory.
func writeFileSync(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	err = errors.Join(err, f.Sync(), f.Close())
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return err
	}
	return syncDir(dir)
}

// syncDir flushes the directory dir (its entries: a rename into it). A
// variable for tests, which see it called.
var syncDir = func(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}
