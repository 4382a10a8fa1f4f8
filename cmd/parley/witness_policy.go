package main

import (
	"encoding/json"
	"errors"

	"github.com/parley-exchange/parley/tlog"
)

// The witness policy flags (addPolicyFlags) in the commands that check
// checkpoints: audit and pull pass the policy to tlog (AuditOptions,
// ObjectVerifier), which refuses a checkpoint short of the quorum with
// tlog.ErrQuorum; proof, verify and concurrence check the checkpoint their
// bundle carries (bundles carry the cosigned note, so this works offline).

// bundleQuorum checks the checkpoint of a proof bundle (JSON, already
// verified with tlog.VerifyBundle) against the policy (nil: nothing to
// check).
func bundleQuorum(pol *tlog.Policy, bundle []byte) error {
	if pol == nil {
		return nil
	}
	var b struct {
		Checkpoint string `json:"checkpoint"`
	}
	if err := json.Unmarshal(bundle, &b); err != nil {
		return withExit(1, "", errors.New("couldn't read the bundle's checkpoint"))
	}
	_, err := checkQuorum(pol, []byte(b.Checkpoint))
	return err
}

// quorumExit turns an error that wraps tlog.ErrQuorum into the failed
// verification checkQuorum reports (exit 1), and returns nil otherwise.
func quorumExit(err error) error {
	if !errors.Is(err, tlog.ErrQuorum) {
		return nil
	}
	return withExit(1, "the checkpoint lacks the cosignatures the witness policy requires; ask the node's operator which witnesses it uses", err)
}
