package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/mod/sumdb/note"

	"github.com/parley-exchange/parley/internal/node"
	"github.com/parley-exchange/parley/internal/untrusted"
	"github.com/parley-exchange/parley/tlog"
)

func init() {
	register(command{
		name:  "backup",
		usage: "backup --data DIR --out F [--without-key]   online snapshot of a node (F 0600: it holds the node key)",
		help: `Writes a consistent snapshot of the node in DIR to F while the node
serves and writes: a gzip tar holding backup.json (a manifest with each
file's SHA-256, the log's size and newest signed checkpoint), the store
(parley.db, copied in one read transaction: every submission is in it
whole or not at all), config.json, node.pub and node.key.

node.key is the log's secret signing key: whoever holds F can sign
checkpoints in the node's name, so F is written with mode 0600; keep it as
you keep node.key (the node's own files keep their modes). --without-key leaves the key out (restore then needs
--key). The store holds every object, salt and private set too. TLS
certificate files named in config.json are not included.

Exit status: 0 written, 2 usage, 3 I/O.`,
		run: runBackup,
	})
	register(command{
		name:  "restore",
		usage: "restore --data DIR --from F [--seen FILE]... [--force] [--key FILE]   restore a backup after checking it",
		help: `Restores the backup F into DIR after checking, in a staging directory,
that it is whole (each file's SHA-256), that node.key, node.pub and the
origin belong together, and that the log verifies as parley audit --data
checks it: the newest checkpoint verifies under the node key, the entries
recompute its root, and every stored checkpoint and tile agrees. Only then
are the files moved into DIR. DIR must be empty or absent; --force
replaces the node files of a stopped node's DIR (other files stay), and
checks the backup against the newest checkpoint that node signed: a
backup older than it (a rollback of the log) or inconsistent with it is
refused; to roll back on purpose, move DIR/parley.db aside (keep it) and
restore again. A store there that can't be read is said, not checked.

Restore names on stderr each file the restored node will read and send
to another server (a feed's token or password file, a peer's token
file), with that server: the backup, not you, names them, so check them
before the node serves. With --force it also names, before replacing
DIR/config.json, every setting of the backup's config.json that differs
from the node's (listen, public_url, witnesses, store, limits...), with
both values. A backup whose config.json names a store other than its own
SQLite one (a PostgreSQL URL) is refused. The rollback check reads the
store DIR/config.json names (DIR/parley.db, or the PostgreSQL database of
a migrated node).

After a restore the node's log is consistent with every checkpoint it
signed up to the backup. It is NOT consistent with checkpoints signed
after the backup: a member that saw one would find the log forked as soon
as it grows again, with other entries at those positions. Collect the
members' seen files (parley audit --seen) and witnesses' latest
checkpoints (a file holding one signed checkpoint note) and give each
with --seen: restore checks the log against
every checkpoint of this log in them and refuses when one is newer than
the backup or has another root. Then restore a newer backup or recover
the store instead; if none exists, tell the members: their audits will
show the fork, rightly. Without --seen, restore warns that it could not
check this.

Exit status: 0 restored, 1 refused (the backup is damaged, doesn't verify
or is older than what members saw; nothing was written), 2 usage, 3 I/O.`,
		run: runRestore,
	})
}

func runBackup(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlagSet("backup")
	dir := fs.String("data", "", "the node's data `DIR`ectory (the node may be running)")
	out := fs.String("out", "", "the backup `FILE` to write (mode 0600; replaced atomically if it exists)")
	withoutKey := fs.Bool("without-key", false, "leave the node key out of the backup (restore then needs --key)")
	if err := c.parseFlags(fs, args); err != nil {
		return err
	}
	if *dir == "" || *out == "" || fs.NArg() > 0 {
		return usageErrorf("parley backup --data DIR --out FILE", "backup needs --data and --out, and no arguments")
	}
	man, err := node.Backup(ctx, *dir, *out, node.BackupOptions{WithoutKey: *withoutKey})
	if errors.Is(err, node.ErrNotInitialized) {
		return usageErrorf("give the data directory of a node", "%v", err)
	}
	if errors.Is(err, node.ErrBackupNotSQLite) {
		return withExit(2, "", err)
	}
	if err != nil {
		return withExit(3, "", err)
	}
	cp := "no checkpoint yet"
	if man.Checkpoint != "" {
		if text, err := tlog.SplitNote([]byte(man.Checkpoint)); err == nil {
			if p, err := tlog.ParseCheckpoint(text); err == nil {
				cp = fmt.Sprintf("newest checkpoint of size %d", p.Size)
			}
		}
	}
	fmt.Fprintf(c.stdout, "backed up %s: %d log entries, %s, to %s\n", untrusted.Text(man.Origin, 200), man.LogSize, cp, *out)
	if *withoutKey {
		fmt.Fprintln(c.stderr, "parley: the backup holds no node key: keep node.key safe elsewhere, restore needs it (--key)")
	} else {
		fmt.Fprintf(c.stderr, "parley: %s holds the node's secret key (mode 0600): keep it as safe as node.key\n", *out)
	}
	return nil
}

// readSeenCheckpoints reads a seen file (what parley audit --seen keeps)
// or a file holding one signed checkpoint note (a witness's or a
// monitor's copy), as parley audit --seen reads it
// ([tlog.LoadSeenOrCheckpoint]).
func readSeenCheckpoints(path string) (*tlog.SeenCheckpoints, error) {
	// What parley audit --seen starts from too.
	s, _, err := tlog.LoadSeenOrCheckpoint(path)
	if err != nil {
		return nil, err
	}
	if len(s.Notes) == 0 {
		return nil, fmt.Errorf("%s holds no checkpoint", path)
	}
	return s, nil
}

func runRestore(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlagSet("restore")
	dir := fs.String("data", "", "the data `DIR`ectory to restore into (empty or absent; see --force)")
	from := fs.String("from", "", "the backup `FILE` (parley backup --out)")
	force := fs.Bool("force", false, "replace the node files in a non-empty DIR (the node must be stopped)")
	keyFile := fs.String("key", "", "the node key `FILE`, for a backup made --without-key")
	var seen stringList
	fs.Var(&seen, "seen", "a member's seen-checkpoints `FILE` (parley audit --seen), or a file holding one signed checkpoint (a witness's); repeat for each: the restored log must be consistent with every checkpoint of this log in them")
	if err := c.parseFlags(fs, args); err != nil {
		return err
	}
	if *dir == "" || *from == "" || fs.NArg() > 0 {
		return usageErrorf("parley restore --data DIR --from FILE [--seen FILE]...", "restore needs --data and --from, and no arguments")
	}
	var notes []string
	files := make([]*tlog.SeenCheckpoints, len(seen))
	for i, p := range seen {
		s, err := readSeenCheckpoints(p)
		if err != nil {
			return usageErrorf("give the seen file a member's parley audit --seen keeps, or a signed checkpoint", "%v", err)
		}
		files[i] = s
		notes = append(notes, s.Notes...)
	}
	// Each seen file's forged checkpoints of the restored log (its key
	// is the backup's) are named as every reader of a seen file names
	// them, and refuse the restore (exit 1, nothing written).
	checkSeen := func(v note.Verifier) error {
		var first error
		for i, s := range files {
			if _, err := reportSeenFaults(c, "restore", s, v, seen[i]); err != nil && first == nil {
				first = err
			}
		}
		return first
	}
	// Before --force replaces the node's config.json: each setting the
	// backup's changes (the backup's text, not the operator's).
	showChanges := func(cs []node.ConfigChange) {
		for _, ch := range cs {
			fmt.Fprintf(c.stderr, "parley: note: the backup's config.json changes %s from %s to %s\n",
				untrusted.Text(ch.Field, 64), configValue(ch.Current), configValue(ch.Restored))
		}
	}
	rep, err := node.Restore(ctx, *from, *dir, node.RestoreOptions{Force: *force, KeyFile: *keyFile, Seen: notes, CheckSeen: checkSeen, ConfigChanges: showChanges})
	var seenChanged *exitError
	switch {
	case errors.As(err, &seenChanged):
		seenChanged.hint += "; nothing was written to " + *dir
		return seenChanged
	case errors.Is(err, node.ErrExists):
		return usageErrorf("restore into an empty directory, or stop the node and give --force", "%v", err)
	case errors.Is(err, node.ErrRestoreKey):
		return withExit(1, "give the node's key file with --key FILE for a backup made --without-key, and no --key for one that holds the key; nothing was written to "+*dir, err)
	case errors.Is(err, node.ErrRestoreRefused):
		return withExit(1, "restore a newer backup or recover the store; nothing was written to "+*dir, err)
	case errors.Is(err, os.ErrNotExist):
		return usageErrorf("check --from and --key; nothing was written to "+*dir, "%v", err)
	case err != nil:
		return withExit(3, "", err)
	}
	if rep.Checkpoint.Size > 0 || rep.Manifest.Checkpoint != "" {
		fmt.Fprintf(c.stdout, "restored %s into %s: the log verified, %d entries up to its newest checkpoint (size %d) and %d more to integrate\n",
			rep.Manifest.Origin, *dir, rep.Entries, rep.Checkpoint.Size, rep.Manifest.LogSize-int64(rep.Checkpoint.Size))
	} else {
		fmt.Fprintf(c.stdout, "restored %s into %s: the node had signed no checkpoint yet\n", untrusted.Text(rep.Manifest.Origin, 200), *dir)
	}
	// The backup names these files and servers, not the operator: a
	// crafted one could have the node send any file of this machine's
	// to any server, once it serves.
	for _, r := range rep.Sends {
		fmt.Fprintf(c.stderr, "parley: note: the restored node reads %s at each round of %s %s and sends it to %s: if you don't expect that, remove the %s before serving\n",
			untrusted.Text(r.File, 512), r.Kind, untrusted.Text(r.Name, 64), untrusted.Text(shownURL(r.URL), 512), r.Kind)
	}
	for _, f := range missingConfigFiles(*dir) {
		fmt.Fprintf(c.stderr, "parley: note: config.json names %s (%s), which is not in %s (a backup holds no TLS or CA files): copy it in before parley serve\n",
			untrusted.Text(f.path, 512), f.field, *dir)
	}
	if rep.Replaced.Size > 0 {
		fmt.Fprintf(c.stdout, "consistent with the newest checkpoint (size %d) of the node it replaced\n", rep.Replaced.Size)
	}
	if rep.ReplacedUnread != nil {
		fmt.Fprintf(c.stderr, "parley: warning: %v: restore could not check that the backup is no older than what the replaced node had signed\n", rep.ReplacedUnread)
	}
	if len(seen) > 0 {
		fmt.Fprintf(c.stdout, "consistent with the %d checkpoint(s) of this log in the seen files\n", rep.SeenChecked)
	} else {
		fmt.Fprintf(c.stderr, "parley: warning: no --seen file given, so restore could not check what members saw: if any saw a checkpoint newer than this backup (size %d), the restored log forks from it; collect their seen files and run restore again with --seen to be sure\n", rep.Checkpoint.Size)
	}
	return nil
}

// configValue shows a config.json value as restore's notes do: its JSON
// through untrusted.Text, "(unset)" for none.
func configValue(v string) string {
	if v == "" {
		return "(unset)"
	}
	return untrusted.Text(v, 512)
}

// configFile is a file config.json names, by its field.
type configFile struct{ field, path string }

// missingConfigFiles lists the files the config.json in dir names that
// are not there: its TLS certificate and key and its witnesses' CA
// files, which a backup doesn't hold, so that a restored node doesn't
// fail to start on them without a word at restore.
func missingConfigFiles(dir string) []configFile {
	cfg, err := node.LoadConfig(dir)
	if err != nil {
		return nil
	}
	files := []configFile{{"tls_cert", cfg.TLSCert}, {"tls_key", cfg.TLSKey}}
	for i, w := range cfg.Witnesses {
		files = append(files, configFile{fmt.Sprintf("the ca of witness %d", i+1), w.CA})
	}
	var missing []configFile
	for _, f := range files {
		if f.path == "" {
			continue
		}
		p := f.path
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
			missing = append(missing, f)
		}
	}
	return missing
}
