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
// finishes the old file and continues from the start of the new one. fn is
// called from Follow's goroutine; tick, if not nil, is called at every
// poll so that a caller can flush on its own schedule.
func Follow(ctx context.Context, path string, poll time.Duration, fn func(line []byte), tick func()) error {
	if poll <= 0 {
		poll = 250 * time.Millisecond
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("couldn't follow %s: %w", path, err)
	}
	defer func() { f.Close() }()
	br := bufio.NewReaderSize(f, 1<<16)
	var partial []byte
	var offset int64
	drain := func() error {
		for {
			line, err := br.ReadSlice('\n')
			offset += int64(len(line))
			if errors.Is(err, bufio.ErrBufferFull) {
				partial = append(partial, line...)
				continue
			}
			if err == io.EOF {
				// An incomplete last line waits for the rest of it.
				partial = append(partial, line...)
				return nil
			}
			if err != nil {
				return err
			}
			if len(partial) > 0 {
				fn(append(partial, line...))
				partial = partial[:0]
			} else {
				fn(line)
			}
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
			if len(partial) > 0 {
				fn(partial)
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
			if len(partial) > 0 {
				fn(partial)
				partial = partial[:0]
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
