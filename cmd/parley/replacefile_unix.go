//go:build unix

package main

import (
	"io/fs"
	"os"
	"syscall"
)

// fileOwner returns the owner and group of fi.
func fileOwner(fi fs.FileInfo) (uid, gid int, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, false
	}
	return int(st.Uid), int(st.Gid), true
}

// mayFollow reports whether Linux's fs.protected_symlinks would let this
// process follow link, which lies in dir: always outside a sticky
// directory that others can write, and in one only if the link is the
// process's own or the directory owner's.
func mayFollow(link, dir fs.FileInfo) bool {
	if dir.Mode()&fs.ModeSticky == 0 || dir.Mode().Perm()&0o002 == 0 {
		return true
	}
	luid, _, ok := fileOwner(link)
	duid, _, dok := fileOwner(dir)
	return ok && dok && (luid == os.Geteuid() || luid == duid)
}
