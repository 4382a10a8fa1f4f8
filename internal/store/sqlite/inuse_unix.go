//go:build unix

package sqlite

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// shmDMS is the byte of the WAL index (the -shm file) on which every
// connection to a WAL database holds a read lock for as long as it is
// open, the "dead man switch" of SQLite's unix VFS (os_unix.c: UNIX_SHM_DMS
// = UNIX_SHM_BASE 120 + SQLITE_SHM_NLOCK 8).
const shmDMS = 128

// InUse reports whether another process has the database at path open
// (a node serving it, an audit reading it): it tries to take, and at once
// releases, a write lock on the WAL index's DMS byte, which fails while
// any connection holds its read lock there.
//
// POSIX record locks belong to the process, so InUse must be called while
// this process holds no connection to the database: its own connections
// would not count, and closing the file here would drop their locks.
func InUse(path string) (bool, error) {
	f, err := os.OpenFile(path+"-shm", os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil // no WAL index: nobody has it open in WAL mode
	}
	if err != nil {
		return false, fmt.Errorf("couldn't check whether the store is in use: %w", err)
	}
	defer f.Close()
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: 0, Start: shmDMS, Len: 1}
	err = syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, &lk)
	if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EACCES) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("couldn't check whether the store is in use: %w", err)
	}
	lk.Type = syscall.F_UNLCK
	syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, &lk)
	return false, nil
}
