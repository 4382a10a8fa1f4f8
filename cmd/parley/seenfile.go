package main

import (
	"fmt"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/parley-exchange/parley/internal/untrusted"
	"github.com/parley-exchange/parley/tlog"
)

// reportSeenFaults is the one path by which every command that reads a
// seen file (audit, and each command with [trustFlags]: pull, match,
// export, concurrence, opinion, private check, withdraw and receipt)
// reports its checkpoints that don't verify with the log's key v
// ([tlog.SeenCheckpoints.Faults]), on stderr, each line beginning
// "parley: CMD: ":
//
//   - each forged one (a line of the log key's name and key ID that
//     doesn't verify, which no parley writes) by size and root, the
//     first [maxNamedCheckpoints], the rest counted;
//   - each near-forgery (a line of the log key's name under another key
//     ID) by size, root and key ID, as a note, as many, the rest counted;
//   - the others (no line of the log key's name) counted in one note.
//
// It returns the error that fails the command for the forged ones
// ([seenChangedError]), nil when there are none. Near-forgeries and
// others fail nothing: no reader compares with them (docs/log.md, "Seen
// checkpoints").
func reportSeenFaults(c *cli, cmd string, seen *tlog.SeenCheckpoints, v note.Verifier, seenPath string) (forged int, err error) {
	f := seen.Faults(v)
	path := untrusted.Text(seenPath, 200)
	for _, cp := range f.Forged[:min(len(f.Forged), maxNamedCheckpoints)] {
		fmt.Fprintf(c.stderr, "parley: %s: the seen file %s holds a checkpoint of size %d, root %s, that claims the log's key but whose signature doesn't verify: someone or something changed the file\n",
			cmd, path, cp.Size, cp.Hash)
	}
	if n := len(f.Forged) - maxNamedCheckpoints; n > 0 {
		fmt.Fprintf(c.stderr, "parley: %s: the seen file %s holds %d more such checkpoints\n", cmd, path, n)
	}
	for _, cp := range f.Near[:min(len(f.Near), maxNamedCheckpoints)] {
		ids := keyIDList(cp.KeyIDs)
		fmt.Fprintf(c.stderr, "parley: %s: note: the seen file %s holds a checkpoint of size %d, root %s, signed under the log key's name %s but key ID %s, not the log's %08x: another key of that name (one pinned before the node was made again), or a line made to look like the log's; it is not compared with\n",
			cmd, path, cp.Size, cp.Hash, untrusted.Text(v.Name(), 200), ids, v.KeyHash())
	}
	if n := len(f.Near) - maxNamedCheckpoints; n > 0 {
		fmt.Fprintf(c.stderr, "parley: %s: note: the seen file %s holds %d more checkpoints under the log key's name and another key ID\n", cmd, path, n)
	}
	if len(f.Others) > 0 {
		fmt.Fprintf(c.stderr, "parley: %s: note: the seen file %s holds %d checkpoint(s) not signed by the log's key (kept under a key pinned before, or another log's): they are not compared with\n", cmd, path, len(f.Others))
	}
	if len(f.Forged) == 0 {
		return 0, nil
	}
	return len(f.Forged), seenChangedError(seenPath, len(f.Forged))
}

// seenChangedError is the failure (exit 1) of a command whose seen file
// holds forged checkpoints of the log ([reportSeenFaults]).
func seenChangedError(seenPath string, forged int) error {
	return withExit(1, "keep a copy of "+untrusted.Text(seenPath, 200)+" as evidence of who changed it, then remove those checkpoints from it (or audit with a new seen file, started from a witness's checkpoint of the log)",
		fmt.Errorf("the seen file %s holds %d checkpoint(s) that claim the log's key but whose signature doesn't verify: the seen file was changed", untrusted.Text(seenPath, 200), forged))
}

// maxNamedCheckpoints is the most forged checkpoints, and the most
// near-forgeries, that [reportSeenFaults] names one line each; the
// others are counted in one line. A doctored seen file may hold any
// number of checkpoints (a million in 256 MiB), and a command's stderr
// should stay readable whatever it holds.
const maxNamedCheckpoints = 16

// maxNamedKeyIDs is the most key IDs of one near-forgery that
// [reportSeenFaults] names; the others are counted. A doctored seen file
// may give a note any number of lines (a million in 20 MB).
const maxNamedKeyIDs = 8

// keyIDList writes key IDs as hex, comma-separated: the first
// maxNamedKeyIDs, then how many more there are.
func keyIDList(ids []uint32) string {
	var b strings.Builder
	for i, id := range ids[:min(len(ids), maxNamedKeyIDs)] {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%08x", id)
	}
	if len(ids) > maxNamedKeyIDs {
		fmt.Fprintf(&b, " and %d more", len(ids)-maxNamedKeyIDs)
	}
	return b.String()
}
