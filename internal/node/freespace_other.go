//go:build !(linux || darwin)

package node

// diskFree can't tell the free space here (see freespace_unix.go).
func diskFree(string) (int64, bool) { return 0, false }
