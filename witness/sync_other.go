//go:build !linux

package witness

import "os"

// datasync flushes f to the disk: fsync (F_FULLFSYNC on macOS) where
// fdatasync isn't available.
func datasync(f *os.File) error { return f.Sync() }
