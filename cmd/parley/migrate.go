package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/parley-exchange/parley/internal/node"
	"github.com/parley-exchange/parley/internal/store"
)

func init() {
	register(command{
		name:  "migrate",
		usage: "migrate --data DIR --to postgres://...   move a stopped SQLite node to PostgreSQL (the same log)",
		help: `Moves the node in DIR from its embedded SQLite store to the PostgreSQL
database (or schema: a search_path parameter in the URL selects it) that
--to names, which must hold no node yet. Stop the node first.

It copies a consistent snapshot of every table that holds the node's
state (members and their key events, tokens, collections and their
readers and writers, every log entry with its salt, the tiles, signed
and cosigned checkpoints, objects with their order, owners, statuses,
private sets with their tags, lines, budgets and cursor, feeds, usage,
and followed peers with their tiles, checkpoints and provenance)
in one transaction, and rebuilds the search and opinion indexes there. It
then verifies the copy: every table read back from PostgreSQL equals the
snapshot row for row, and the newest signed checkpoint is the same. Only
then does it set "store" in config.json to the URL (atomically, mode
0600). The log is the same log: receipts and proof bundles issued before
still verify, and parley serve continues it on PostgreSQL. parley.db is
left in DIR as the way back until you delete it: its contents (and its
files' modes) as they were, though opening it first brings its schema up to this version, as
any command of this version that opens it does.

The URL may hold a password: give it in PARLEY_TO rather than on the
command line, where other users of the machine can see it. It is never
printed. Rows copied per table are reported on stderr.

Refused, with nothing changed: a node that is running (another process
has its store open), a node whose config.json names another
store already, a target that holds another node. Refused with config.json
unchanged: a node that wrote to its store while it was copied (it is
running: stop it, drop the target schema, run again). A migrate stopped
after its copy committed and before config.json was rewritten (killed,
power cut) is finished by running it again: a target that holds this
node, row for row, is taken as that copy.

Exit status: 0 migrated, 1 refused, 2 usage, 3 the copy or its
verification failed (config.json still names SQLite).`,
		run: runMigrate,
	})
}

func runMigrate(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlagSet("migrate")
	dir := fs.String("data", "", "the stopped node's data `DIR`ectory")
	to := fs.String("to", "", "the PostgreSQL `URL` (postgres://...; better: PARLEY_TO, which other users can't see)")
	if err := c.parseFlags(fs, args); err != nil {
		return err
	}
	if *dir == "" || *to == "" || fs.NArg() > 0 {
		return usageErrorf("parley migrate --data DIR --to postgres://USER@HOST/DB (or set PARLEY_TO)", "migrate needs --data and --to, and no arguments")
	}
	// On a terminal, a line that follows the copy and the verification;
	// elsewhere (logs) only the summary per table at the end.
	tty := logIsTerminal(c.stderr)
	progress := func(table string, rows int64, verify bool) {
		if tty {
			what := "copying"
			if verify {
				what = "verifying"
			}
			fmt.Fprintf(c.stderr, "\r\033[Kparley: migrate: %s %s: %d rows", what, table, rows)
		}
	}
	rep, err := node.Migrate(ctx, *dir, *to, node.MigrateOptions{Progress: progress})
	if tty {
		fmt.Fprint(c.stderr, "\r\033[K")
	}
	switch {
	case errors.Is(err, node.ErrNotInitialized):
		return usageErrorf("give the data directory of a node", "%v", err)
	case errors.Is(err, node.ErrMigrate):
		return withExit(1, "config.json was not changed", err)
	case err != nil:
		return withExit(3, "config.json still names the SQLite store; the node runs on it as before", err)
	}
	for _, t := range store.StateTables {
		fmt.Fprintf(c.stderr, "parley: migrate: %s: %d rows copied and verified\n", t.Name, rep.Rows[t.Name])
	}
	cp := "no checkpoint yet"
	if rep.CheckpointSize > 0 {
		cp = fmt.Sprintf("the same checkpoint of size %d", rep.CheckpointSize)
	}
	if rep.Resumed {
		fmt.Fprintf(c.stderr, "parley: migrate: the target already held this node, row for row (an earlier migrate stopped after its copy): finished that one\n")
	}
	fmt.Fprintf(c.stdout, "migrated %s to PostgreSQL: %d log entries, %s; config.json now names the PostgreSQL store\n", *dir, rep.LogSize, cp)
	return nil
}
