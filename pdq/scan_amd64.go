//go:build amd64 && !purego

package pdq

import "golang.org/x/sys/cpu"

// Without GOAMD64=v2 the compiler guards every bits.OnesCount64 with a CPU
// feature test and a fallback call, and the call makes it keep the loop's
// values on the stack: the scan runs at half speed. The assembly loop tests
// the feature once.
func init() {
	if cpu.X86.HasPOPCNT {
		scanFast = scanPopcnt
		filterFast = filterPopcnt
	}
}

// scanPopcnt is scanFast with POPCNT (scan_amd64.s).
//
//go:noescape
func scanPopcnt(hs *Hash, n int, q *Hash, radius int, ids *uint32) int

// filterPopcnt is filterFast with POPCNT (scan_amd64.s).
//
//go:noescape
func filterPopcnt(hs *Hash, ids *uint32, n int, q *Hash, radius int, out *uint32) int
