package untrusted

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// ErrTooLarge is wrapped by the errors of [ReadAll] and [ReadFile] for an
// input longer than the limit they were given.
var ErrTooLarge = errors.New("too large")

// tooLarge says which limit an input passed; it is an [ErrTooLarge].
type tooLarge struct{ limit int64 }

func (e tooLarge) Error() string        { return "larger than " + Size(e.limit) }
func (e tooLarge) Is(target error) bool { return target == ErrTooLarge }

// ReadAll reads r to its end, at most limit bytes. An input of more than
// limit bytes fails with an error wrapping [ErrTooLarge] that names the
// limit ("larger than 256 MiB"); at most limit+1 bytes are read from r and
// held, whatever the input's size. io.LimitReader alone would end a longer
// input quietly: a cut JSON document then fails to parse with a
// misleading error, and a cut list parses as a shorter one.
func ReadAll(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, tooLarge{limit}
	}
	return b, nil
}

// readInto reads r to its end into buf (growing it if r is longer than
// its capacity), at most limit bytes, as [ReadAll] does.
func readInto(buf []byte, r io.Reader, limit int64) ([]byte, error) {
	r = io.LimitReader(r, limit+1)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if int64(len(buf)) > limit {
		return nil, tooLarge{limit}
	}
	return buf, nil
}

// ReadFile reads the file name, of at most limit bytes, as [ReadAll] does
// (a regular file over the limit fails before anything is read). The error
// names the file.
func ReadFile(name string, limit int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// One err for the whole function: a read error (a directory, a FIFO
	// over the limit) assigned to a copy scoped to the if was lost, and
	// the file read as empty.
	var b []byte
	fi, err := f.Stat()
	if err == nil && fi.Mode().IsRegular() {
		if fi.Size() > limit {
			return nil, fmt.Errorf("%s: %w", name, tooLarge{limit})
		}
		// Read into a buffer of the file's size (and a little, to see
		// its end), as os.ReadFile does: io.ReadAll's growing buffer
		// takes about twice a large file at its peak.
		b, err = readInto(make([]byte, 0, fi.Size()+512), f, limit)
	} else {
		b, err = ReadAll(f, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return b, nil
}

// Size writes n bytes for a person: "256 MiB", "64 KiB", "1000 bytes"
// (a whole number of the largest unit that divides n).
func Size(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// FilesIn returns the paths of the entries of the directory dir whose
// names match pattern ([filepath.Match]), sorted by name. Only pattern
// is a pattern: dir is taken as it is written, where filepath.Glob of
// filepath.Join(dir, pattern) would read a '[', '*' or '?' in dir as
// pattern syntax and find nothing (or files of other directories). A
// malformed pattern is an error.
func FilesIn(dir, pattern string) ([]string, error) {
	if _, err := filepath.Match(pattern, ""); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if ok, _ := filepath.Match(pattern, e.Name()); ok {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out, nil
}
