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
	data, err = syscall.Mmap(int(f.Fd()), 0, int(fi.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, false
	}
	adviseSequential(data)
	return data, func() { syscall.Munmap(data) }, true
}
