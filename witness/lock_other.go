//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package witness

import (
	"fmt"
	"os"
)

// lockState opens the lock file; this system has no flock(2), so two
// witnesses on one data directory aren't detected here.
func lockState(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("couldn't open the witness state lock: %w", err)
	}
	return f, nil
}
