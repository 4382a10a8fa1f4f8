package match

import "syscall"

// adviseSequential tells the kernel to read ahead.
func adviseSequential(b []byte) { syscall.Madvise(b, syscall.MADV_SEQUENTIAL) }

// mapPopulate asks mmap to map a file's pages at once; populateMax keeps
// that to files whose pages are quick to read in before matching starts
// (a larger one is better read ahead while earlier lines are matched).
const (
	mapPopulate       = syscall.MAP_POPULATE
	populateMax int64 = 256 << 20
)
