package match

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Follow reads path like `tail -F`: every complete line now in the file
// and every line appended later is passed to fn, until ctx is done. When
// the file is rotated (the path names a new file, or the file shrank) it
// finishes the old file and continues from the start of the new one. A
// line of more than maxLine bytes (its "\n" or "\r\n" aside; 1 MiB when maxLine
// is 0 or less) is dropped as it is read, so that memory stays bounded
// whatever the file holds, and long, if not nil, is called for it instead
// of fn. fn and long are called from Follow's goroutine; tick, if not nil,
// is called at every poll so that a caller can flush on its own schedule.
func Follow(ctx context.Context, path string, poll time.Duration, maxLine int, fn func(line []byte), long, tick func()) error {
	if poll <= 0 {
		poll = 250 * time.Millisecond
	}
	if maxLine <= 0 {
		maxLine = 1 << 20
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("couldn't follow %s: %w", path, err)
	}
	defer func() { f.Close() }()
	br := bufio.NewReaderSize(f, 1<<16)
	var partial []byte
	skipping := false // the line read is longer than maxLine
	var offset int64
	// keep holds a piece of the line being read, or drops the line once
	// it passes maxLine.
	keep := func(piece []byte) {
		switch {
		case skipping:
		case len(partial)+len(piece) > maxLine+1: // +1: a carriage return before the newline
			partial, skipping = nil, true
		default:
			partial = append(partial, piece...)
		}
	}
	// end passes on the line whose last piece is line.
	end := func(line []byte) {
		if !skipping && lineContentLen(partial, line) > maxLine {
			partial, skipping = nil, true
		}
		switch {
		case skipping:
			if long != nil {
				long()
			}
		case len(partial) > 0:
			fn(append(partial, line...))
		case len(line) > 0:
			fn(line)
		}
		partial, skipping = partial[:0], false
	}
	drain := func() error {
		for {
			line, err := br.ReadSlice('\n')
			offset += int64(len(line))
			if errors.Is(err, bufio.ErrBufferFull) {
				keep(line)
				continue
			}
			if err == io.EOF {
				// An incomplete last line waits for the rest of it.
				keep(line)
				return nil
			}
			if err != nil {
				return err
			}
			end(line)
		}
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		if err := drain(); err != nil {
			return fmt.Errorf("couldn't read %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			if len(partial) > 0 || skipping {
				end(nil)
			}
			return nil
		case <-t.C:
		}
		if tick != nil {
			tick()
		}
		cur, err1 := f.Stat()
		now, err2 := os.Stat(path)
		if err1 != nil || err2 != nil {
			continue // rotated away and not yet recreated
		}
		if !os.SameFile(cur, now) || now.Size() < offset {
			// Finish what the old file still has, then switch.
			if err := drain(); err != nil {
				return fmt.Errorf("couldn't read %s: %w", path, err)
			}
			if len(partial) > 0 || skipping {
				end(nil)
			}
			nf, err := os.Open(path)
			if err != nil {
				continue
			}
			f.Close()
			f = nf
			br.Reset(f)
			offset = 0
		}
	}
}
