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
	"sync"
)

// journal is the witness's durable state: the latest cosigned checkpoint
// of each log, as an append-only file of records
//
//	uint32 length ‖ uint32 CRC-32C(payload) ‖ payload
//
// (big-endian), where a payload is a signed checkpoint note; the last
// record of an origin wins. The file is preallocated: after the last
// record it holds zeros (written, not a hole or an unwritten extent), and
// a zero length ends the records. Appends overwrite the zeros in place and
// are flushed with fdatasync (fsync where there is none): the file's size
// and blocks don't change, so the flush carries the data and no metadata.
// A torn, corrupt or zero tail (a crash mid-write, a write the disk never
// completed) ends the records when the file is opened; everything before
// it was flushed before any cosignature it holds was returned, and the
// batches are written one after another, each flushed before the next
// starts, so nothing acknowledged lies past the first bad record.
//
// Concurrent appends share one write and one flush (group commit), so a
// witness of many logs, or of one log with several checkpoints in flight,
// pays one disk flush for many checkpoints. The file is rewritten with one
// record per origin and fresh zeros (write a temporary file, fsync, rename,
// fsync the directory) when opened (unless it is records then zeros with
// room left: then it is appended to as it is), when the zeros run out
// and when it holds many superseded records, so its size stays proportional to the
// number of logs and no stale bytes ever follow the records.
//
// Files written before preallocation (records to the end of the file) read
// the same way; the first open rewrites them in the new layout.
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
	buf     []byte            // the framed records of the batch being written
	end     int64             // end of the records: where the next batch goes
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

// readJournal parses the records at the start of b and returns the last
// record of each origin, the number of records and where they end (the
// first record that is torn, corrupt, empty or zero ends them).
func readJournal(b []byte) (latest map[string][]byte, records int, end int) {
	latest = map[string][]byte{}
	for len(b)-end >= frameHeader {
		n := binary.BigEndian.Uint32(b[end:])
		if n == 0 || n > maxRecord || len(b)-end-frameHeader < int(n) {
			break
		}
		rec := b[end+frameHeader : end+frameHeader+int(n)]
		if crc32.Checksum(rec, castagnoli) != binary.BigEndian.Uint32(b[end+4:]) {
			break
		}
		latest[recordOrigin(rec)] = rec
		records++
		end += frameHeader + int(n)
	}
	return latest, records, end
}

// openJournal reads (and compacts) the journal in dir, creating it if
// needed, and returns the latest record of each origin.
func openJournal(dir string) (*journal, map[string][]byte, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("couldn't create the state directory: %w", err)
	}
	// One witness at a time: two processes on one state would each
	// check requests against their own latest checkpoints, so one key
	// could cosign two inconsistent checkpoints of a log.
	lock, err := lockState(filepath.Join(dir, lockFile))
	if errors.Is(err, errStateInUse) {
		return nil, nil, fmt.Errorf("couldn't open the witness state in %s: %w", dir, err)
	}
	if err != nil {
		return nil, nil, err
	}
	j := &journal{dir: dir, lock: lock, slack: 1024}
	b, err := os.ReadFile(filepath.Join(dir, journalFile))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		lock.Close()
		return nil, nil, fmt.Errorf("couldn't read the witness state: %w", err)
	}
	latest, records, end := readJournal(b)
	if why := damage(b, end); why != "" {
		// Not a torn tail: starting would forget checkpoints this key
		// cosigned, and compacting would erase what is left of them.
		lock.Close()
		return nil, nil, fmt.Errorf("%w: %s at byte %d of %s; the witness would forget checkpoints it cosigned and could then cosign a fork, so it doesn't start and leaves the file as it is: restore the state directory from a backup (docs/witness.md, \"Operating a witness\")",
			ErrStateDamaged, why, end, filepath.Join(dir, journalFile))
	}
	removeTemps(dir)
	for o, rec := range latest {
		latest[o] = bytes.Clone(rec)
	}
	// A journal in the preallocated layout with nothing but zeros after
	// its records (a clean stop, or kill -9 between writes) and room
	// left is appended to as it is. Rewriting it needs the journal's
	// size again in free space: a witness restarted on a full disk
	// didn't start, though its appends need no new blocks.
	if room := len(b) - end; room >= minOpenRoom && records <= 4*len(latest)+j.slack && !bytes.ContainsFunc(b[end:], func(r rune) bool { return r != 0 }) {
		f, err := os.OpenFile(filepath.Join(dir, journalFile), os.O_WRONLY, 0o600)
		if err != nil {
			lock.Close()
			return nil, nil, fmt.Errorf("couldn't open the witness state: %w", err)
		}
		j.f, j.end, j.size, j.latest, j.records = f, int64(end), int64(len(b)), latest, records
		return j, maps.Clone(latest), nil
	}
	if err := j.compact(latest); err != nil {
		lock.Close()
		return nil, nil, err
	}
	return j, maps.Clone(j.latest), nil
}

// ErrStateDamaged: the journal is damaged in a way a crash can't leave
// (Open refuses to start).
var ErrStateDamaged = errors.New("the witness state is damaged")

// damage says why the bytes after the records, b[end:], are damage and
// not what a crash leaves ("" when they may be a torn tail). Appends go
// into preallocated zeros, one batch after another, each flushed before
// the next is written, so a crash leaves at most one batch partly written:
// zeros where its bytes never reached the disk. A record written whole
// (its payload, a note, holds no zero byte) whose checksum is wrong was
// changed after it was written; a record that reads whole after an
// unreadable one means that the unreadable one was damaged (or that a
// crash wrote a batch's later bytes without its earlier ones, which the
// operator decides from a backup too).
func damage(b []byte, end int) string {
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
// lock, when no writeFileSync of this process runs.
func removeTemps(dir string) {
	tmps, _ := filepath.Glob(filepath.Join(dir, ".tmp-*"))
	for _, p := range tmps {
		os.Remove(p)
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

// compact rewrites the journal with one record per origin of latest,
// followed by zeros, durably (whatever noSync says), and reopens it for
// writing; latest becomes the journal's. Only the opener or the current
// leader calls it.
func (j *journal) compact(latest map[string][]byte) error {
	origins := make([]string, 0, len(latest))
	for o := range latest {
		origins = append(origins, o)
	}
	sort.Strings(origins)
	var buf []byte
	for _, o := range origins {
		buf = frame(buf, latest[o])
	}
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
	j.f, j.end, j.size, j.latest, j.records = f, end, size, latest, len(origins)
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
	j.buf = j.buf[:0]
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
	if _, err := j.f.WriteAt(j.buf, j.end); err != nil {
		return fmt.Errorf("couldn't save the checkpoint: %w", err)
	}
	if !j.noSync {
		if err := datasync(j.f); err != nil {
			return fmt.Errorf("couldn't save the checkpoint: %w", err)
		}
	}
	j.end += int64(len(j.buf))
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
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}
