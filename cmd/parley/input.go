package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"github.com/parley-exchange/parley/internal/untrusted"
)

// How much of an input whose size the user (or whoever wrote the file)
// chose a command reads. Each is read whole, so each is bounded; larger
// input fails with an error naming the bound, never cut quietly.
const (
	// maxDocument bounds a file of STIX objects (an object, an array, a
	// bundle, an envelope) that sign, push, export misp, pattern match
	// and verify read whole.
	maxDocument = 256 << 20
	// maxSecretFile bounds a key, token, secret or rotation statement
	// file: real ones are under a KiB.
	maxSecretFile = 64 << 10
	// maxCAFile bounds a PEM file of CA certificates (a system bundle of
	// every public CA is about 200 KiB).
	maxCAFile = 4 << 20
)

// readDocument reads the file name, or standard input for "-", of at most
// maxDocument bytes.
func readDocument(c *cli, name string) ([]byte, error) {
	if name == "-" {
		return readBounded(c.stdin, "standard input", maxDocument)
	}
	return untrusted.ReadFile(name, maxDocument)
}

// readBounded reads r, at most limit bytes; the error of a longer input
// names what and the limit.
func readBounded(r io.Reader, what string, limit int64) ([]byte, error) {
	b, err := untrusted.ReadAll(r, limit)
	if errors.Is(err, untrusted.ErrTooLarge) {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return b, err
}

// tooLargeHint is the hint of an error that [readDocument] returned for
// input over the bound, "" for any other error.
func tooLargeHint(err error) string {
	if errors.Is(err, untrusted.ErrTooLarge) {
		return fmt.Sprintf("a file is read whole, up to %s; split larger input into several files", untrusted.Size(maxDocument))
	}
	return ""
}

// maxScanLine bounds a line of a list read line by line (import iocs,
// private values); maxEventLine a line of events (private query
// --events), as long as a line [match] reads may grow.
const (
	maxScanLine  = 1 << 20
	maxEventLine = 64 << 20
)

// newLineScanner scans lines of r of at most limit bytes each.
func newLineScanner(r io.Reader, limit int) *bufio.Scanner {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), limit)
	return sc
}

// scanError is the error of a scanner made by [newLineScanner] with
// limit, naming the bound of a line that passed it.
func scanError(err error, limit int) error {
	if errors.Is(err, bufio.ErrTooLong) {
		return fmt.Errorf("a line is longer than %s", untrusted.Size(int64(limit)))
	}
	return err
}

// maxPrivateValues bounds the type:value lines private publish and
// private check hold, as JSON strings: what a node takes in one set
// (POST /private/sets, 64 MiB), far more than a query budget allows.
const maxPrivateValues = 64 << 20

// errTooManyValues is the error of values past maxPrivateValues.
func errTooManyValues(name string) error {
	if name == "-" {
		name = "standard input"
	}
	return usageErrorf("split the values into several files", "%s holds more than %s of values, the most a node takes in one set", name, untrusted.Size(maxPrivateValues))
}
