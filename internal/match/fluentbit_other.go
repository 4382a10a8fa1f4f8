//go:build !amd64

package match

// specialMasks is [specialMasksGo] on this architecture (see
// fluentbit_amd64.go).
func specialMasks(d []byte, m []uint64) (control, high bool) {
	return specialMasksGo(d, m)
}
