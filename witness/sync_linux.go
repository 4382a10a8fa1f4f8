package witness

import (
	"os"
	"syscall"
)

// datasync flushes f's data, and the metadata needed to read it back, to
// the disk (fdatasync(2)). The journal overwrites preallocated zeros, so
// there is no such metadata to flush: the file's size and blocks don't
// change.
func datasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			if err != nil {
				return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: err}
			}
			return nil
		}
	}
}
