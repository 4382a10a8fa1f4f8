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
// The new file gets the mode of the file it replaces and, where the
// process may give it, its owner and group (a sensor's group keeps read
// access); when there is none, 0600 less the umask ([privateFileMode]):
// what the commands write this way (exports, import --out bundles,
// import state) holds intel that may be TLP:RED, which other users of the
// machine must not read because the umask would let them. A name that is
// not a regular file (a FIFO, /dev/stdout) is written directly, as
// os.Create would.
type pendingFile struct {
	*os.File
	name   string
	direct bool // written in place: not a regular file
}

// privateFileMode is the mode of a file [createPending] makes where
// none was: readable by its owner alone, as tokens and keys are.
const privateFileMode fs.FileMode = 0o600

// createPending starts the replacement of name; its directory must exist.
// The caller writes to it and ends with Commit or Abort. A new file gets
// [privateFileMode].
//
// A symbolic link is followed, and its target replaced, only where the
// kernel's protected_symlinks rule would let this process follow it: not
// a link of another user in a sticky directory that others can write
// (/tmp), which could point a privileged export at any file.
func createPending(name string) (*pendingFile, error) {
	return createPendingPerm(name, privateFileMode)
}

// createPendingPerm is [createPending], a new file getting perm less the
// umask.
func createPendingPerm(name string, perm fs.FileMode) (*pendingFile, error) {
	if fi, err := os.Lstat(name); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		dir, err := os.Stat(filepath.Dir(name))
		if err != nil {
			return nil, err
		}
		if !mayFollow(fi, dir) {
			return nil, fmt.Errorf("%s is a symbolic link of another user in a directory others can write; not following it", name)
		}
		target, err := filepath.EvalSymlinks(name)
		if err != nil {
			return nil, err
		}
		name = target
	}
	old, statErr := os.Stat(name)
	if statErr == nil {
		if !old.Mode().IsRegular() {
			f, err := os.OpenFile(name, os.O_WRONLY|os.O_TRUNC, 0)
			if err != nil {
				return nil, err
			}
			return &pendingFile{File: f, name: name, direct: true}, nil
		}
		perm = old.Mode().Perm()
	}
	dir, base := filepath.Split(name)
	if dir == "" {
		dir = "."
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
		if statErr == nil {
			if err := f.Chmod(perm); err != nil {
				f.Close()
				os.Remove(tmp)
				return nil, err
			}
			if uid, gid, ok := fileOwner(old); ok {
				// Best effort: only root may give a file away, and a
				// group the process is not in is refused.
				f.Chown(uid, gid)
			}
		}
		return &pendingFile{File: f, name: name}, nil
	}
}

// Commit makes what was written durable and puts it in place of the
// file, then syncs the directory so that the rename survives a crash (as
// far as the file system allows). On error the temporary file is removed
// and the old file is left as it was.
func (p *pendingFile) Commit() error {
	if p.direct {
		return p.Close()
	}
	err := p.Sync()
	if cerr := p.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(p.File.Name(), p.name)
	}
	if err != nil {
		os.Remove(p.File.Name())
		return err
	}
	if d, err := os.Open(filepath.Dir(p.name)); err == nil {
		d.Sync() // some file systems refuse to sync a directory; the rename stands
		d.Close()
	}
	return nil
}

// Abort drops what was written; the file keeps its old content (a file
// written directly keeps what was written). It may follow a failed
// Commit.
func (p *pendingFile) Abort() {
	p.Close()
	if !p.direct {
		os.Remove(p.File.Name())
	}
}

// replaceFile writes data to name as a [pendingFile]: readers of name see
// the old content or data, never part of data.
func replaceFile(name string, data []byte) error {
	return replaceFilePerm(name, data, privateFileMode)
}

// replaceFilePerm is [replaceFile], a new file getting perm less the
// umask.
func replaceFilePerm(name string, data []byte, perm fs.FileMode) error {
	p, err := createPendingPerm(name, perm)
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
