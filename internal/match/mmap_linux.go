package match

import "syscall"

// adviseSequential tells the kernel to read ahead.
func adviseSequential(b []byte) { syscall.Madvise(b, syscall.MADV_SEQUENTIAL) }
