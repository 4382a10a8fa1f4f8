package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"time"

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

// addClockSkewFlag adds --clock-skew, the skew allowed when received times
// are checked against witness cosignature times.
func addClockSkewFlag(fs *flag.FlagSet) *time.Duration {
	return fs.Duration("clock-skew", tlog.DefaultClockSkew, "the clock `SKEW` allowed between an entry's received time and the witness cosignatures that bound it")
}

// bundleTimes checks the received time of each item of a verified bundle
// against the times of the policy witnesses' cosignatures on the
// checkpoints it carries (tlog.BundleResult.WitnessedTimes) and returns the
// earliest witnessed time covering each item (Size 0: none) or, when one
// contradicts them, a failed verification (exit 1) after naming each on
// stderr. Without a policy nothing vouches for a cosignature's key, so
// nothing is checked.
func bundleTimes(c *cli, pol *tlog.Policy, res tlog.BundleResult, skew time.Duration) ([]tlog.WitnessedAt, error) {
	if pol == nil {
		return make([]tlog.WitnessedAt, len(res.Items)), nil
	}
	if err := res.CheckWitnessed(pol); err != nil {
		return nil, withExit(1, "the bundle or something in it was changed: a cosignature of a policy witness doesn't verify", err)
	}
	times, problems := res.WitnessedTimes(pol, skew)
	for _, p := range problems {
		fmt.Fprintf(c.stderr, "parley: %s\n", p)
	}
	if len(problems) > 0 {
		return nil, withExit(1, "a witness saw the log at a time that contradicts the entry's received time: the log back-dated (or post-dated) it",
			fmt.Errorf("%d item(s) with a received time the witnesses contradict", len(problems)))
	}
	return times, nil
}
