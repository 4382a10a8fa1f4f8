package store

import (
	"bytes"
	"fmt"

	"github.com/parley-exchange/parley/tlog"
)

// CheckKeyHeld is the rule behind [ErrKeyHeld], for one logged member key
// entry (its index, member and leaf bytes) of another member than the one
// a registration or rotation is for: it fails with ErrKeyHeld when the
// entry put key in force (a register or rotate of that key), whether or
// not that member still holds it. A key belongs to one member
// (tlog.KeyHistory.Apply refuses the same for every verifier); the stores
// check each other member's key entries with it before they log a key.
func CheckKeyHeld(idx int64, member string, leaf, key []byte) error {
	e, err := tlog.ParseEntry(leaf)
	if err != nil || e.Key == nil || !bytes.Equal(e.Key, key) || (e.Event != tlog.EventRegister && e.Event != tlog.EventRotate) {
		return nil
	}
	return fmt.Errorf("the key is %s's (put in force at log entry %d); a key belongs to one member: make a new one: %w", member, idx, ErrKeyHeld)
}
