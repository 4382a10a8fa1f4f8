//go:build linux || darwin

package node

import "syscall"

// diskFree returns the bytes free for an unprivileged user on the file
// system of path, and whether it could tell.
func diskFree(path string) (int64, bool) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return 0, false
	}
	free := uint64(st.Bavail) * uint64(st.Bsize)
	if free > 1<<62 {
		free = 1 << 62
	}
	return int64(free), true
}
