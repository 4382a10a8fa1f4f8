//go:build race

package node

// raceDetector is true when the tests run with -race, whose runtime
// allocates differently: allocation checks measure only without it.
const raceDetector = true
