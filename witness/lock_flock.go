//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package witness

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockState takes an exclusive lock on the file at path (created if
// needed), held until the returned file is closed. It fails if another
// process, or another open witness, holds it.
func lockState(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("couldn't open the witness state lock: %w", err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errStateInUse
		}
		return nil, fmt.Errorf("couldn't lock the witness state: %w", err)
	}
	return f, nil
}
