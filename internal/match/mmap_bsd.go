//go:build darwin || freebsd || netbsd || openbsd

package match

// adviseSequential is a no-op where the syscall package has no madvise.
func adviseSequential([]byte) {}

// mapPopulate is Linux's; elsewhere pages are mapped as they are read.
const (
	mapPopulate       = 0
	populateMax int64 = 0
)
