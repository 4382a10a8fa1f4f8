package witness

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
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
// record of an origin wins. A torn or corrupt tail (a crash mid-write) is
// cut off when the file is opened; everything before it was acknowledged
// by fsync. Concurrent appends share one write and one fsync (group
// commit), so a witness of many logs pays one disk flush for many
// checkpoints. The file is rewritten with one record per origin (write a
// temporary file, fsync, rename, fsync the directory) when opened and when
// it holds many superseded records, so its size stays proportional to the
// number of logs.
type journal struct {
	dir string
	// noSync skips the fsync of appends (Config.NoSync): an append is then
	// durable against a crash of the process, not of the machine.
	noSync bool

	mu      sync.Mutex
	cond    *sync.Cond // signalled when a batch is written
	cur     *batch     // appends waiting for the next write
	writing bool       // a leader is writing; it also owns the fields below
	broken  error      // a failed write: the file's state is unknown

	f       *os.File
	latest  map[string][]byte // origin → last record written
	records int               // records in the file
	slack   int               // compact when records > 4·origins + slack
}

type batch struct {
	buf     []byte
	origins []string
	recs    [][]byte
	written bool // under journal.mu
	err     error
}

const (
	journalFile = "journal"
	frameHeader = 8
	// maxRecord bounds one record (a checkpoint note with signatures).
	maxRecord = 1 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// openJournal reads (and compacts) the journal in dir, creating it if
// needed, and returns the latest record of each origin.
func openJournal(dir string) (*journal, map[string][]byte, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("couldn't create the state directory: %w", err)
	}
	j := &journal{dir: dir, latest: map[string][]byte{}, slack: 1024}
	j.cond = sync.NewCond(&j.mu)
	b, err := os.ReadFile(filepath.Join(dir, journalFile))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, nil, fmt.Errorf("couldn't read the witness state: %w", err)
	}
	for len(b) >= frameHeader {
		n := binary.BigEndian.Uint32(b)
		if n == 0 || n > maxRecord || len(b) < frameHeader+int(n) {
			break
		}
		rec := b[frameHeader : frameHeader+int(n)]
		if crc32.Checksum(rec, castagnoli) != binary.BigEndian.Uint32(b[4:]) {
			break
		}
		j.latest[recordOrigin(rec)] = bytes.Clone(rec)
		b = b[frameHeader+int(n):]
	}
	if err := j.compact(); err != nil {
		return nil, nil, err
	}
	out := make(map[string][]byte, len(j.latest))
	for k, v := range j.latest {
		out[k] = v
	}
	return j, out, nil
}

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

// compact rewrites the journal with one record per origin and reopens it
// for appending. Only the opener or the current leader calls it.
func (j *journal) compact() error {
	origins := make([]string, 0, len(j.latest))
	for o := range j.latest {
		origins = append(origins, o)
	}
	sort.Strings(origins)
	var buf []byte
	for _, o := range origins {
		buf = frame(buf, j.latest[o])
	}
	path := filepath.Join(j.dir, journalFile)
	if err := writeFileSync(path, buf, 0o600); err != nil {
		return fmt.Errorf("couldn't write the witness state: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("couldn't open the witness state: %w", err)
	}
	if j.f != nil {
		j.f.Close()
	}
	j.f, j.records = f, len(origins)
	return nil
}

// append durably records rec (a checkpoint note of origin): when it
// returns nil the record survives a crash (of the process only, with
// noSync). After a failed write every
// later append fails too, so the witness stops cosigning rather than risk
// forgetting what it signed.
//
// Group commit: records that arrive while a batch is being written wait
// together in the next batch, and one of them writes it. Each caller
// writes at most one batch, so none waits on more than the batch before
// its own.
func (j *journal) append(origin string, rec []byte) error {
	if len(rec) == 0 || len(rec) > maxRecord {
		return fmt.Errorf("couldn't save the checkpoint: record of %d bytes", len(rec))
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.broken != nil {
		return j.broken
	}
	if j.cur == nil {
		j.cur = &batch{}
	}
	b := j.cur
	b.buf = frame(b.buf, rec)
	b.origins = append(b.origins, origin)
	b.recs = append(b.recs, rec)
	for !b.written {
		if j.writing {
			j.cond.Wait()
			continue
		}
		// b is still the pending batch: write it.
		j.writing = true
		j.cur = nil
		err := j.broken
		j.mu.Unlock()
		if err == nil {
			err = j.write(b)
		}
		j.mu.Lock()
		b.err, b.written = err, true
		if err != nil && j.broken == nil {
			j.broken = err
		}
		j.writing = false
		j.cond.Broadcast()
	}
	return b.err
}

// write appends one batch and syncs; the leader only.
func (j *journal) write(b *batch) error {
	if j.f == nil {
		return errors.New("couldn't save the checkpoint: the witness state is closed")
	}
	if _, err := j.f.Write(b.buf); err != nil {
		return fmt.Errorf("couldn't save the checkpoint: %w", err)
	}
	if !j.noSync {
		if err := j.f.Sync(); err != nil {
			return fmt.Errorf("couldn't save the checkpoint: %w", err)
		}
	}
	for i, o := range b.origins {
		j.latest[o] = b.recs[i]
	}
	j.records += len(b.recs)
	if j.records > 4*len(j.latest)+j.slack {
		if err := j.compact(); err != nil {
			return err
		}
	}
	return nil
}

// close closes the file; call it when no append is running.
func (j *journal) close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
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
