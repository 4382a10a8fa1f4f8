package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/parley-exchange/parley/internal/untrusted"
	"github.com/parley-exchange/parley/tlog"
)

// seenPolicyPath is the file, next to the seen file at seenPath, that
// holds the witness policy recorded for it ([recordSeenPolicy]): the
// seen file itself holds only the pinned key and the checkpoints (its
// format is read by earlier versions, which refuse any other field).
func seenPolicyPath(seenPath string) string { return seenPath + ".policy" }

// loadSeenPolicy returns the witness policy recorded for the seen file at
// seenPath, nil when none is. A recorded policy that can't be read or
// parsed fails the command (exit 3): dropping it silently would accept
// checkpoints short of it.
func loadSeenPolicy(seenPath string) (*tlog.Policy, error) {
	path := seenPolicyPath(seenPath)
	b, err := untrusted.ReadFile(path, tlog.MaxPolicySize)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	hint := "fix it, or remove it to check no witness policy unless one is given (--witness-policy, --witness)"
	if err != nil {
		return nil, withExit(3, hint, fmt.Errorf("couldn't read the witness policy recorded for the seen file: %w", err))
	}
	pol, err := tlog.ParsePolicy(b)
	if err != nil {
		return nil, withExit(3, hint, fmt.Errorf("the witness policy recorded for the seen file, %s: %w", untrusted.Text(path, 200), err))
	}
	return pol, nil
}

// recordSeenPolicy records pol for the seen file at seenPath (in
// [seenPolicyPath], as C2SP tlog-policy text), replacing any recorded
// before: every later command that reads that seen file without witness
// policy flags of its own then refuses a checkpoint short of it, as the
// command that recorded it did. parley audit records the policy of its
// flags.
func recordSeenPolicy(seenPath string, pol *tlog.Policy) error {
	if err := replaceFile(seenPolicyPath(seenPath), []byte(pol.String())); err != nil {
		return withExit(3, "", fmt.Errorf("couldn't record the witness policy for the seen file: %w", err))
	}
	return nil
}
