//go:build linux || darwin || freebsd || netbsd || openbsd

package match

import (
	"os"
	"syscall"
)

// mapFile maps a regular file read-only so that its lines can be matched
// without copying them through a read buffer; ok is false when it cannot
// (then the caller reads). unmap releases the mapping.
func mapFile(f *os.File) (data []byte, unmap func(), ok bool) {
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() == 0 || fi.Size() > 1<<40 {
		return nil, nil, false
	}
	flags := syscall.MAP_SHARED
	if fi.Size() <= populateMax {
		// Mapping every page in one call costs less than a fault per
		// read-ahead window (measured: system time 4–10 ms instead of 14
		// for a 163 MB file).
		flags |= mapPopulate
	}
	data, err = syscall.Mmap(int(f.Fd()), 0, int(fi.Size()), syscall.PROT_READ, flags)
	if err != nil {
		return nil, nil, false
	}
	adviseSequential(data)
	return data, func() { syscall.Munmap(data) }, true
}
