//go:build unix

package node

import (
	"syscall"
	"testing"
)

// TestFileModesUmaskZero runs [TestFileModes] under umask 0, which masks
// nothing: the modes come from the code (OpenFile's 0600, SQLite giving
// its -wal and -shm files the database's mode), not from a umask that
// happened to hide a looser one.
func TestFileModesUmaskZero(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	TestFileModes(t)
}
