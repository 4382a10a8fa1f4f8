package main

import (
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
