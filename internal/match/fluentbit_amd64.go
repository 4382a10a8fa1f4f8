//go:build amd64

package match

// specialMasks sets m[k] to the mask of the quotes and backslashes of
// d[64k:64k+64] (bit i for d[64k+i]) for each whole block of d that m has
// room for, and reports whether those blocks hold a byte below 0x20
// (control) or one of 0x80 or above (high); it is [specialMasksGo] with
// SSE2.
//
//go:noescape
func specialMasks(d []byte, m []uint64) (control, high bool)
