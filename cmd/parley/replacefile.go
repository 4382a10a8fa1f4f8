package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// pendingFile is the next content of a file, written beside it under a
// hidden temporary name and renamed over it by Commit. A program reading
// the name meanwhile (a sensor reloading its intel file, a supervisor
// polling a state file) sees the old content or the new, never part of
// one, and a write that fails leaves the old file as it was.
//
// The new file gets the mode of the file it replaces, or, when there is
// none, 0644 less the umask, as os.Create and os.WriteFile would give.
type pendingFile struct {
	*os.File
	name string
}

// createPending starts the replacement of name; its directory must exist.
// The caller writes to it and ends with Commit or Abort.
//
// A name that is a symbolic link keeps its link: the file it points to is
// the one replaced (an operator may link a sensor's path to the export).
func createPending(name string) (*pendingFile, error) {
	if fi, err := os.Lstat(name); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		target, err := filepath.EvalSymlinks(name)
		if err != nil {
			return nil, err
		}
		name = target
	}
	dir, base := filepath.Split(name)
	if dir == "" {
		dir = "."
	}
	perm := fs.FileMode(0o644)
	if fi, err := os.Stat(name); err == nil && fi.Mode().IsRegular() {
		perm = fi.Mode().Perm()
	}
	var suffix [6]byte
	for {
		rand.Read(suffix[:])
		tmp := filepath.Join(dir, "."+base+"."+hex.EncodeToString(suffix[:])+".tmp")
		// O_EXCL with the mode at creation lets the umask apply, as it
		// would to a file os.Create makes; an existing file's mode is set
		// again below, because the umask may have narrowed it.
		f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if _, statErr := os.Stat(name); statErr == nil {
			if err := f.Chmod(perm); err != nil {
				f.Close()
				os.Remove(tmp)
				return nil, err
			}
		}
		return &pendingFile{File: f, name: name}, nil
	}
}

// Commit makes what was written durable and puts it in place of the
// file. On error the temporary file is removed and the old file is left
// as it was.
func (p *pendingFile) Commit() error {
	err := p.Sync()
	if cerr := p.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(p.File.Name(), p.name)
	}
	if err != nil {
		os.Remove(p.File.Name())
	}
	return err
}

// Abort drops what was written; the file keeps its old content. It may
// follow a failed Commit.
func (p *pendingFile) Abort() {
	p.Close()
	os.Remove(p.File.Name())
}

// replaceFile writes data to name as a [pendingFile]: readers of name see
// the old content or data, never part of data.
func replaceFile(name string, data []byte) error {
	p, err := createPending(name)
	if err != nil {
		return err
	}
	if _, err := p.Write(data); err != nil {
		p.Abort()
		return err
	}
	return p.Commit()
}

// commitAll puts every pending file in place, in order, after none of
// them failed to write: a caller names last the file that refers to the
// others (Suricata's rules name their datasets), so a reader never finds
// it before what it names. On error the files not yet renamed are
// dropped and the error says which were already replaced.
func commitAll(files []*pendingFile) error {
	for i, p := range files {
		if err := p.Commit(); err != nil {
			for _, q := range files[i+1:] {
				q.Abort()
			}
			if i > 0 {
				return fmt.Errorf("%w (%d of %d files were already replaced, %s first)", err, i, len(files), files[0].name)
			}
			return err
		}
	}
	return nil
}
