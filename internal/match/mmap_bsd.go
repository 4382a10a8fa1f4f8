//go:build darwin || freebsd || netbsd || openbsd

package match

// adviseSequential is a no-op where the syscall package has no madvise.
func adviseSequential([]byte) {}
