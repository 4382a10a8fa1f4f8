//go:build amd64

package match

import "unsafe"

// prefetch asks the processor to bring the cache line at p into its
// caches (PREFETCHT0) and returns at once; it changes nothing else, and p
// need not be read afterwards.
//
//go:noescape
func prefetch(p unsafe.Pointer)
