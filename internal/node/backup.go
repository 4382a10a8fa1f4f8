package node

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/internal/store/sqlite"
	"github.com/parley-exchange/parley/internal/untrusted"
	"github.com/parley-exchange/parley/tlog"
	"golang.org/x/mod/sumdb/note"
)

// Backups (parley backup, parley restore).
//
// A backup is a gzip-compressed tar archive of a node's data directory,
// taken while the node runs: backup.json (the manifest, first), a
// consistent snapshot of the store (parley.db, [sqlite.Store.Snapshot]),
// config.json, node.pub and, unless left out, node.key, the log's secret
// signing key. The archive is written with mode 0600 because of that key
// and because the store holds every object, salt and private set.
// TLS certificate files and witness CA files named in config.json are
// not in it.
//
// Restoring checks before it writes anything: the files against the
// manifest's SHA-256s, the node key against node.pub and the origin, and
// then the whole restored log as `parley audit --data` does: the latest
// checkpoint verifies under the node key, every entry recomputes its root,
// the stored checkpoints and tiles agree with the tree. Given checkpoints
// that members saw (their seen files), it also checks that the restored
// log is consistent with each of them, and refuses when one is newer than
// the backup: see [Restore].

// BackupFormat names the archive format in backup.json.
const BackupFormat = "parley-backup/1"

// BackupManifestFile is the manifest's name in the archive.
const BackupManifestFile = "backup.json"

// BackupManifest is backup.json.
type BackupManifest struct {
	Format  string    `json:"format"`
	Origin  string    `json:"origin"`
	Created time.Time `json:"created"`
	// LogSize is the number of log entries in the snapshot; Checkpoint
	// the newest signed checkpoint in it (empty when the node never
	// signed one), whose size may be smaller: entries appended but not
	// yet integrated are integrated after a restore.
	LogSize    int64  `json:"log_size"`
	Checkpoint string `json:"checkpoint,omitempty"`
	// Files maps each other file of the archive to its hex SHA-256.
	Files map[string]string `json:"files"`
}

// backupFiles are the files an archive may hold besides the manifest, in
// archive order; config.json is restored last because its presence marks
// a complete node.
var backupFiles = []string{StoreFile, PubKeyFile, KeyFile, ConfigFile}

// BackupOptions configure [Backup].
type BackupOptions struct {
	// WithoutKey leaves node.key out of the archive; restoring then
	// needs the key from elsewhere ([RestoreOptions].KeyFile).
	WithoutKey bool
	// Now is the clock for the manifest; nil means time.Now.
	Now func() time.Time
}

// Backup writes an online backup of the node in dir to the file out
// (replaced atomically if it exists; mode 0600) and returns its manifest.
// The node may be serving and writing meanwhile: the store snapshot holds
// exactly the transactions committed when it began. On error out is left
// as it was.
func Backup(ctx context.Context, dir, out string, opts BackupOptions) (BackupManifest, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	cfg, err := LoadConfig(dir)
	if err != nil {
		return BackupManifest{}, err
	}
	if kind, err := storeKindOf(cfg.Store); err != nil || kind != storeSQLite {
		return BackupManifest{}, fmt.Errorf("couldn't back up: %w", ErrBackupNotSQLite)
	}
	man := BackupManifest{Format: BackupFormat, Origin: cfg.Origin, Created: opts.Now().UTC(), Files: map[string]string{}}
	tmp, err := os.MkdirTemp(filepath.Dir(out), ".parley-backup-*")
	if err != nil {
		return man, fmt.Errorf("couldn't back up: %w", err)
	}
	defer os.RemoveAll(tmp)

	// The snapshot, then what it says about the log.
	snap := filepath.Join(tmp, StoreFile)
	st, err := openStore(ctx, dir, cfg, storeOptions{Existing: true, KeepModes: true})
	if err != nil {
		return man, err
	}
	if s, ok := st.(snapshotter); ok {
		err = s.Snapshot(ctx, snap)
	} else {
		err = fmt.Errorf("couldn't back up: %w", ErrBackupNotSQLite)
	}
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// Restored, a session would outlive its logout (see
		// sqlite.DropUISessions).
		err = sqlite.DropUISessions(ctx, snap)
	}
	if err != nil {
		// The snapshot is written beside --out: on a full disk there,
		// SQLite's "database or disk is full" is about that disk, not
		// the node's store.
		return man, fmt.Errorf("couldn't back up to %s (the snapshot of the store is written in %s first): %w", out, filepath.Dir(out), err)
	}
	if man.LogSize, man.Checkpoint, err = snapshotLog(ctx, snap); err != nil {
		return man, err
	}

	names := []string{StoreFile, PubKeyFile, ConfigFile}
	if !opts.WithoutKey {
		names = append(names, KeyFile)
	}
	paths := map[string]string{StoreFile: snap}
	for _, name := range names {
		p, ok := paths[name]
		if !ok {
			p = filepath.Join(dir, name)
			paths[name] = p
		}
		sum, err := fileSHA256(p)
		if err != nil {
			return man, fmt.Errorf("couldn't back up %s: %w", name, err)
		}
		man.Files[name] = sum
	}

	f, err := os.CreateTemp(filepath.Dir(out), ".parley-backup-*.tar.gz")
	if err != nil {
		return man, fmt.Errorf("couldn't write the backup: %w", err)
	}
	defer os.Remove(f.Name()) // a no-op after the rename
	err = errors.Join(f.Chmod(secretMode), writeArchive(f, man, names, paths), f.Sync(), f.Close())
	if err == nil {
		err = os.Rename(f.Name(), out)
	}
	if err != nil {
		return man, fmt.Errorf("couldn't write the backup %s: %w", out, err)
	}
	return man, nil
}

// snapshotter is the ability [Backup] needs of a store:
// [sqlite.Store.Snapshot].
type snapshotter interface {
	Snapshot(ctx context.Context, path string) error
}

// ErrBackupNotSQLite means the node's store is not the embedded SQLite
// database: back PostgreSQL up with its own tools (pg_dump, or continuous
// archiving) and copy config.json and the keys beside it.
var ErrBackupNotSQLite = errors.New("parley backup copies the embedded SQLite store; this node's config.json names another store: use that database's own backup tools (pg_dump) and keep config.json, node.key and node.pub with it")

// snapshotLog opens a snapshot store and reads its log size and newest
// checkpoint note.
func snapshotLog(ctx context.Context, path string) (int64, string, error) {
	st, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		return 0, "", err
	}
	defer st.Close()
	size, err := st.LogSize(ctx)
	if err != nil {
		return 0, "", err
	}
	_, cp, err := st.LatestCheckpoint(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return size, "", nil
	}
	return size, string(cp), err
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// writeArchive writes the manifest, then each named file, as a gzip tar.
func writeArchive(w io.Writer, man BackupManifest, names []string, paths map[string]string) error {
	zw := gzip.NewWriter(w)
	tw := tar.NewWriter(zw)
	mb, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return err
	}
	mb = append(mb, '\n')
	hdr := func(name string, size int64) *tar.Header {
		return &tar.Header{Name: name, Mode: secretMode, Size: size, ModTime: man.Created, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
	}
	if err := tw.WriteHeader(hdr(BackupManifestFile, int64(len(mb)))); err != nil {
		return err
	}
	if _, err := tw.Write(mb); err != nil {
		return err
	}
	for _, name := range names {
		if err := addFile(tw, hdr, name, paths[name]); err != nil {
			return err
		}
	}
	return errors.Join(tw.Close(), zw.Close())
}

func addFile(tw *tar.Writer, hdr func(string, int64) *tar.Header, name, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(hdr(name, fi.Size())); err != nil {
		return err
	}
	// The file is read to its size at Stat: config.json or a key
	// rewritten meanwhile would fail here rather than be cut short.
	n, err := io.Copy(tw, f)
	if err == nil && n != fi.Size() {
		err = fmt.Errorf("%s changed while it was copied", name)
	}
	return err
}

// ErrRestoreRefused means a restore found the backup broken or
// inconsistent with checkpoints members saw; nothing was written.
var ErrRestoreRefused = errors.New("restore refused")

// ErrRestoreKey means a restore was refused for the node key alone: the
// backup was made without it and no key file was given, or it holds the
// key and one was given too. It comes wrapped together with
// [ErrRestoreRefused], so the remedy (--key, or not) can be told apart
// from a broken or outgrown backup.
var ErrRestoreKey = errors.New("restore refused over the node key")

// restoreKeyError is a refusal over the node key: it is both
// [ErrRestoreRefused] and [ErrRestoreKey].
type restoreKeyError string

func (e restoreKeyError) Error() string { return ErrRestoreRefused.Error() + ": " + string(e) }

func (e restoreKeyError) Is(target error) bool {
	return target == ErrRestoreRefused || target == ErrRestoreKey
}

// RestoreOptions configure [Restore].
type RestoreOptions struct {
	// Force replaces the node files (config.json, node.key, node.pub and
	// the store) of a non-empty directory; other files there stay. The
	// node must be stopped. The newest checkpoint of this log in the
	// store there is checked as a seen one: a backup older than it (a
	// rollback of the log) is refused, and so is one inconsistent with
	// it; a store there that can't be read is reported
	// ([RestoreReport].ReplacedUnread), not refused.
	Force bool
	// KeyFile is the node key to restore with a backup made without it
	// (it must match the backup's node.pub); empty otherwise.
	KeyFile string
	// Seen are checkpoints members saw (the notes of their seen files;
	// those of other logs are ignored). The restored log must be
	// consistent with each: a checkpoint larger than the backup's log, or
	// of the same size with another root, refuses the restore.
	Seen []string
	// CheckSeen, when set, is called with the restored node's log key
	// before the log is audited; an error it returns refuses the
	// restore (returned as it is, nothing written): the caller reports
	// the seen checkpoints that claim the key but don't verify, as
	// every reader of a seen file does.
	CheckSeen func(v note.Verifier) error
	// ConfigChanges, when set, is called with the settings of the
	// backup's config.json that differ from those of the config.json in
	// dir (with Force; none without) once every check passed, before
	// anything in dir is replaced: the caller shows them (the backup's
	// text, through internal/untrusted) before the node's own
	// configuration is gone.
	ConfigChanges func([]ConfigChange)
}

// ConfigChange is a setting of config.json that a restore changes: the
// backup's value differs from the replaced node's. Current and Restored
// are the values as JSON ("" where the field is absent), the store's URL
// without its password; Restored is the backup's text, an attacker's in
// a crafted backup, to be shown with [untrusted.Text].
type ConfigChange struct {
	Field             string
	Current, Restored string
}

// RestoreReport is what [Restore] checked.
type RestoreReport struct {
	Manifest BackupManifest
	// Checkpoint is the restored log's newest checkpoint (zero when the
	// node never signed one); Entries the entries the audit replayed.
	Checkpoint tlog.Checkpoint
	Entries    uint64
	// SeenChecked is how many of the given seen checkpoints were this
	// log's and were checked.
	SeenChecked int
	// Replaced is the newest checkpoint of this log that the node in
	// dir had signed (with Force; zero when there was none), which the
	// restored log was checked against as a seen one; ReplacedUnread
	// says why the store there couldn't be read for it (then nothing was
	// checked against it).
	Replaced       tlog.Checkpoint
	ReplacedUnread error
	// Sends are the files of this machine that the restored node will
	// read and send to other servers (see [RestoredSend]).
	Sends []RestoredSend
	// ConfigChanges are the settings of the backup's config.json that
	// differ from the replaced node's (with Force), by field name.
	ConfigChanges []ConfigChange
}

// RestoredSend is a file on the node's machine that a restored node reads
// at each round of a feed or peer and sends to its server, as a bearer
// token or a password. The paths and URLs are the backup's (nothing of a
// backup says who made it): a crafted one can name any file the operator
// can read and any server, and the node would send the file's first line
// there. Fields are as the store holds them: attacker's text, to be shown
// with [untrusted.Text].
type RestoredSend struct {
	Kind string // "feed" or "peer"
	Name string
	URL  string
	File string
}

// restoredSends lists the feeds and peers of the staged store st that
// send a secret file ([RestoredSend]).
func restoredSends(ctx context.Context, st store.Store) ([]RestoredSend, error) {
	var out []RestoredSend
	feeds, err := st.Feeds(ctx)
	if err != nil {
		return nil, fmt.Errorf("couldn't restore: %w", err)
	}
	for _, f := range feeds {
		if f.SecretFile != "" {
			out = append(out, RestoredSend{Kind: "feed", Name: f.Name, URL: f.URL, File: f.SecretFile})
		}
	}
	peers, err := st.Peers(ctx)
	if err != nil {
		return nil, fmt.Errorf("couldn't restore: %w", err)
	}
	for _, p := range peers {
		if p.TokenFile != "" {
			out = append(out, RestoredSend{Kind: "peer", Name: p.Name, URL: p.URL, File: p.TokenFile})
		}
	}
	return out, nil
}

// Restore restores the backup archive from into dir. It refuses a
// non-empty dir unless opts.Force, and a dir where a node seems to run
// (its store's -wal file exists). It unpacks into a staging directory in
// dir, checks everything there (see the package comment above [Backup])
// and only then moves the files into place, config.json last, so a failed
// restore leaves dir as it was (with Force, a crash during the final moves
// leaves a directory without config.json that no node opens; run the
// restore again): a dir that did not exist doesn't exist after a failed
// restore. Failed checks, and an archive that is cut short or damaged,
// wrap [ErrRestoreRefused]; a backup (or key file) that can't be opened
// wraps the [os.Open] error.
//
// After a restore, the node's log is consistent with every checkpoint it
// signed up to the backup, and with every checkpoint in opts.Seen. It is
// not consistent with checkpoints the node signed after the backup: a
// member that saw one would find the restored log forked as soon as it
// grows past the backup's size with other entries. Only the members know
// what they saw, so give their seen files; without them Restore can't
// tell, and the caller must say so.
func Restore(ctx context.Context, from, dir string, opts RestoreOptions) (rep RestoreReport, err error) {
	if err := checkRestoreTarget(dir, opts.Force); err != nil {
		return rep, err
	}
	f, err := os.Open(from)
	if err != nil {
		return rep, fmt.Errorf("couldn't open the backup: %w", err)
	}
	f.Close()
	if fi, serr := os.Stat(dir); errors.Is(serr, os.ErrNotExist) {
		defer func() {
			if err != nil {
				os.RemoveAll(dir)
			}
		}()
	} else if serr == nil && fi.Mode().Perm() != dirMode {
		// The directory is restricted to dirMode below; a refused
		// restore gives it its mode back with the rest.
		defer func() {
			if err != nil {
				os.Chmod(dir, fi.Mode().Perm())
			}
		}()
	}
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return rep, fmt.Errorf("couldn't create %s: %w", dir, err)
	}
	if err := os.Chmod(dir, dirMode); err != nil {
		return rep, fmt.Errorf("couldn't restrict %s to mode %o: %w", dir, dirMode, err)
	}
	stage, err := os.MkdirTemp(dir, ".parley-restore-*")
	if err != nil {
		return rep, fmt.Errorf("couldn't restore: %w", err)
	}
	defer os.RemoveAll(stage)

	man, err := unpackBackup(from, stage)
	if err != nil {
		return rep, err
	}
	rep.Manifest = man
	if _, ok := man.Files[KeyFile]; !ok {
		if opts.KeyFile == "" {
			return rep, restoreKeyError("the backup holds no node key (it was made --without-key): give the node's key file")
		}
		b, err := untrusted.ReadFile(opts.KeyFile, maxKeySz)
		if err != nil {
			return rep, fmt.Errorf("couldn't read the node key: %w", err)
		}
		if err := writeFileSync(filepath.Join(stage, KeyFile), b, secretMode); err != nil {
			return rep, fmt.Errorf("couldn't restore the node key: %w", err)
		}
	} else if opts.KeyFile != "" {
		return rep, restoreKeyError("the backup holds the node key; --key is only for a backup made without it")
	}
	v, err := checkNodeKeys(stage, man.Origin)
	if err != nil {
		return rep, err
	}
	if opts.Force {
		if rep.ConfigChanges, err = configChanges(dir, stage); err != nil {
			return rep, err
		}
	}
	if opts.CheckSeen != nil {
		if err := opts.CheckSeen(v); err != nil {
			return rep, err
		}
	}
	// With Force, the node being replaced has signed checkpoints of its
	// own: the newest is what its members, witnesses and followers may
	// have seen last, and the restored log must not go back behind it.
	var own []string
	if opts.Force {
		note, cp, err := nodeCheckpoint(ctx, dir, v, man.Origin)
		switch {
		case err != nil:
			rep.ReplacedUnread = err
		case note != "":
			rep.Replaced, own = cp, []string{note}
			if err := refuseRollback(man, v, cp, dir); err != nil {
				return rep, err
			}
		}
	}
	// The staged copy is restore's own: opened once, as the node will
	// open it (migrated to this version's schema, which a backup of an
	// older version needs), but read once through, for the audit and
	// the report of what the node will send where.
	src, _, closeStore, err := openStoreAudit(ctx, stage, storeOptions{Existing: true, KeepModes: true, ReadOnce: true})
	if err != nil {
		// The file is the backup's (its SHA-256 matched): one that
		// doesn't open as a store is a broken backup, not an I/O error.
		// A newer version's store is said as such.
		if errors.Is(err, store.ErrNewerSchema) {
			return rep, err
		}
		return rep, fmt.Errorf("%w: the backup's %s doesn't open as a node's store: %v", ErrRestoreRefused, StoreFile, err)
	}
	err = auditRestored(ctx, src, v, man, opts.Seen, own, &rep)
	if err == nil {
		rep.Sends, err = restoredSends(ctx, src.st)
	}
	if cerr := closeStore(); err == nil && cerr != nil {
		err = fmt.Errorf("couldn't restore: %w", cerr)
	}
	if err != nil {
		return rep, err
	}
	// A backup made before snapshots left the UI's sessions out may hold
	// some (see sqlite.DropUISessions).
	if err := sqlite.DropUISessions(ctx, filepath.Join(stage, StoreFile)); err != nil {
		return rep, fmt.Errorf("couldn't restore: %w", err)
	}
	if opts.ConfigChanges != nil && len(rep.ConfigChanges) > 0 {
		opts.ConfigChanges(rep.ConfigChanges)
	}
	if err := moveRestored(stage, dir); err != nil {
		return rep, err
	}
	return rep, nil
}

// configChanges lists the top-level settings of the backup's config.json
// (in stage) that differ from those of the config.json in dir, by field
// name; none when dir holds none. A config.json in dir that can't be
// read as JSON counts as empty: every setting of the backup's is then
// listed.
func configChanges(dir, stage string) ([]ConfigChange, error) {
	cur, err := untrusted.ReadFile(filepath.Join(dir, ConfigFile), maxConfigSz)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("couldn't read %s: %w", filepath.Join(dir, ConfigFile), err)
	}
	restored, err := untrusted.ReadFile(filepath.Join(stage, ConfigFile), maxConfigSz)
	if err != nil {
		return nil, fmt.Errorf("couldn't read the backup's %s: %w", ConfigFile, err)
	}
	var a, b map[string]json.RawMessage
	if json.Unmarshal(cur, &a) != nil {
		a = nil
	}
	if err := json.Unmarshal(restored, &b); err != nil {
		return nil, fmt.Errorf("%w: the backup's %s: %v", ErrRestoreRefused, ConfigFile, err)
	}
	fields := map[string]bool{}
	for k := range a {
		fields[k] = true
	}
	for k := range b {
		fields[k] = true
	}
	var out []ConfigChange
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		x, y := compactJSON(a[k]), compactJSON(b[k])
		if x == y {
			continue
		}
		if k == "store" {
			x, y = redactStoreJSON(x), redactStoreJSON(y)
		}
		out = append(out, ConfigChange{Field: k, Current: x, Restored: y})
	}
	return out, nil
}

// compactJSON is v without insignificant spaces ("" for none).
func compactJSON(v json.RawMessage) string {
	if v == nil {
		return ""
	}
	var b bytes.Buffer
	if json.Compact(&b, v) != nil {
		return string(v)
	}
	return b.String()
}

// redactStoreJSON is the JSON string v, a store's URL, without its
// password.
func redactStoreJSON(v string) string {
	var s string
	if json.Unmarshal([]byte(v), &s) != nil {
		return v
	}
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return v
	}
	if _, ok := u.User.Password(); !ok {
		return v
	}
	u.User = url.UserPassword(u.User.Username(), "xxxxx")
	b, _ := json.Marshal(u.String())
	return string(b)
}

// checkRestoreTarget refuses a directory that holds anything (unless
// force) or where a node seems to run.
func checkRestoreTarget(dir string, force bool) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("couldn't read %s: %w", dir, err)
	}
	if len(ents) > 0 && !force {
		return fmt.Errorf("couldn't restore into %s: it is not empty: %w", dir, ErrExists)
	}
	// SQLite keeps the -wal file while a connection is open and removes
	// it when the last one closes cleanly: its presence means a running
	// node, or one that crashed.
	if _, err := os.Stat(filepath.Join(dir, StoreFile+"-wal")); err == nil {
		return fmt.Errorf("couldn't restore into %s: %s-wal exists, so a node is running there or crashed: stop it (or, if none runs, open the store once, e.g. with parley audit --data, which removes the file)", dir, StoreFile)
	}
	return nil
}

// unpackBackup reads the archive into stage, checking names, the manifest
// and every file's SHA-256.
func unpackBackup(from, stage string) (BackupManifest, error) {
	var man BackupManifest
	f, err := os.Open(from)
	if err != nil {
		return man, fmt.Errorf("couldn't open the backup: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return man, fmt.Errorf("%w: %s is not a parley backup (not gzip): %v", ErrRestoreRefused, from, err)
	}
	tr := tar.NewReader(zr)
	got := map[string]string{}
	// freeBefore is the space free before the first file was written
	// (-1 until known); unpacked, the sizes of the files written since.
	freeBefore, unpacked := int64(-1), int64(0)
	for i := 0; ; i++ {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return man, fmt.Errorf("%w: %s is cut short or damaged: %v", ErrRestoreRefused, from, err)
		}
		if h.Typeflag != tar.TypeReg {
			return man, fmt.Errorf("%w: the backup holds %q, not a regular file", ErrRestoreRefused, h.Name)
		}
		if i == 0 {
			if h.Name != BackupManifestFile || h.Size > 1<<20 {
				return man, fmt.Errorf("%w: %s is not a parley backup (no %s first)", ErrRestoreRefused, from, BackupManifestFile)
			}
			b, err := io.ReadAll(tr)
			if err != nil {
				return man, fmt.Errorf("%w: couldn't read the manifest: %v", ErrRestoreRefused, err)
			}
			if err := json.Unmarshal(b, &man); err != nil || man.Format != BackupFormat {
				return man, fmt.Errorf("%w: the manifest is not %s", ErrRestoreRefused, BackupFormat)
			}
			continue
		}
		// Only the known names, each once: nothing else is written, so no
		// name can reach outside the staging directory.
		if !slices.Contains(backupFiles, h.Name) || got[h.Name] != "" {
			return man, fmt.Errorf("%w: unexpected file %q in the backup", ErrRestoreRefused, h.Name)
		}
		// The header gives the size before anything is written: a
		// small archive that unpacks to more than the disk holds (a
		// crafted one, a gzip of zeros) is refused before it fills the
		// disk the node's data is on, not once it has.
		// The sizes are summed too, against the space free before the
		// first file was written: a file system that counts data only
		// once it is flushed (ZFS, a network one) would otherwise show
		// each file the space the ones before it are about to take.
		free, ok := freeSpace(stage)
		if ok && freeBefore < 0 {
			freeBefore = free
		}
		if ok && h.Size > free {
			return man, fmt.Errorf("%w: the backup's %s unpacks to %d bytes, more than the %d bytes free in %s", ErrRestoreRefused, h.Name, h.Size, free, filepath.Dir(stage))
		}
		if freeBefore >= 0 && h.Size > freeBefore-unpacked {
			return man, fmt.Errorf("%w: the backup's files unpack to at least %d bytes, more than the %d bytes free in %s", ErrRestoreRefused, unpacked+h.Size, freeBefore, filepath.Dir(stage))
		}
		unpacked += h.Size
		src := &archiveReader{r: tr}
		sum, err := writeStaged(filepath.Join(stage, h.Name), src)
		if src.err != nil {
			return man, fmt.Errorf("%w: %s is cut short or damaged: %s: %v", ErrRestoreRefused, from, h.Name, src.err)
		}
		if err != nil {
			return man, fmt.Errorf("couldn't unpack %s: %w", h.Name, err)
		}
		got[h.Name] = sum
	}
	if man.Format == "" {
		return man, fmt.Errorf("%w: %s is empty", ErrRestoreRefused, from)
	}
	for _, name := range []string{StoreFile, PubKeyFile, ConfigFile} {
		if _, ok := man.Files[name]; !ok {
			return man, fmt.Errorf("%w: the backup lacks %s", ErrRestoreRefused, name)
		}
	}
	for name, want := range man.Files {
		if got[name] != want {
			return man, fmt.Errorf("%w: %s doesn't match the manifest's SHA-256 (the backup is damaged or incomplete)", ErrRestoreRefused, name)
		}
	}
	for name := range got {
		if _, ok := man.Files[name]; !ok {
			return man, fmt.Errorf("%w: %s is not in the manifest", ErrRestoreRefused, name)
		}
	}
	return man, nil
}

// freeSpace returns the bytes free on the file system of a path, and
// whether it could tell; a variable for tests.
var freeSpace = diskFree

// archiveReader keeps the error of reading the archive, to tell a
// damaged backup from a failure to write the staged copy.
type archiveReader struct {
	r   io.Reader
	err error
}

func (a *archiveReader) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	if err != nil && err != io.EOF {
		a.err = err
	}
	return n, err
}

func writeStaged(path string, r io.Reader) (string, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, secretMode)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(f, h), r)
	if err = errors.Join(err, f.Sync(), f.Close()); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// checkNodeKeys checks the staged config, key and verifier key belong
// together and returns the verifier.
func checkNodeKeys(stage, origin string) (note.Verifier, error) {
	cfg, err := LoadConfig(stage)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRestoreRefused, err)
	}
	if cfg.Origin != origin {
		return nil, fmt.Errorf("%w: config.json names the origin %q, the manifest %q", ErrRestoreRefused, cfg.Origin, origin)
	}
	if kind, err := storeKindOf(cfg.Store); err != nil || kind != storeSQLite {
		// A crafted backup naming a PostgreSQL database would have
		// the audit, and the restored node, read that server's log,
		// not the backup's; its URL (a password, the backup's text)
		// isn't repeated, and nothing connects to it.
		return nil, fmt.Errorf("%w: config.json names a store other than the embedded one in the backup (a PostgreSQL database, or an unknown kind): a backup holds a SQLite store, and the restored node would serve from the other; nothing was opened", ErrRestoreRefused)
	}
	skey, err := untrusted.ReadFile(filepath.Join(stage, KeyFile), maxKeySz)
	if err != nil {
		return nil, err
	}
	signer, err := note.NewSigner(strings.TrimSpace(string(skey)))
	if err != nil {
		// note.NewSigner's error never contains the key.
		return nil, fmt.Errorf("%w: the node key doesn't parse: %v", ErrRestoreRefused, err)
	}
	pub, err := untrusted.ReadFile(filepath.Join(stage, PubKeyFile), maxKeySz)
	if err != nil {
		return nil, err
	}
	v, err := tlog.NewVerifier(strings.TrimSpace(string(pub)))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRestoreRefused, err)
	}
	msg := []byte("parley restore: the node key matches node.pub\n")
	sig, err := signer.Sign(msg)
	if err != nil || signer.Name() != cfg.Origin || v.Name() != cfg.Origin || !v.Verify(msg, sig) {
		return nil, fmt.Errorf("%w: the node key, node.pub and the origin %q don't belong together", ErrRestoreRefused, cfg.Origin)
	}
	return v, nil
}

// auditRestored audits the staged store's log under v, against the
// manifest and the seen checkpoints.
// own holds the newest checkpoint of the node being replaced (see
// [nodeCheckpoint]), checked as a seen one.
func auditRestored(ctx context.Context, src *StoreAuditSource, v note.Verifier, man BackupManifest, seen, own []string, rep *RestoreReport) error {
	mine := &tlog.SeenCheckpoints{}
	for _, n := range seen {
		if cp, err := tlog.OpenCheckpoint([]byte(n), v); err == nil && cp.Origin == man.Origin {
			mine.Notes = append(mine.Notes, n)
		}
	}
	rep.SeenChecked = len(mine.Notes)
	if len(seen) > 0 && len(mine.Notes) == 0 {
		return fmt.Errorf("%w: none of the %d seen checkpoints is this log's (origin %s, this node key)", ErrRestoreRefused, len(seen), man.Origin)
	}
	mine.Notes = append(mine.Notes, own...)
	if man.Checkpoint == "" {
		// A node that never signed a checkpoint: nothing to verify, and
		// nobody can have seen one.
		if len(mine.Notes) > 0 {
			return fmt.Errorf("%w: members saw checkpoints of this log, and the backup has none: it is older than what they saw", ErrRestoreRefused)
		}
		if _, err := src.Checkpoint(ctx); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%w: the store holds a checkpoint the manifest doesn't name", ErrRestoreRefused)
		}
		return nil
	}
	ar, err := tlog.Audit(ctx, src, tlog.AuditOptions{Verifier: v, Seen: mine, AllObjects: true, Tiles: src, KeyLookup: src.KeyIndex})
	if err != nil {
		return fmt.Errorf("%w: couldn't audit the restored log: %v", ErrRestoreRefused, err)
	}
	rep.Checkpoint, rep.Entries = ar.Checkpoint, ar.Entries
	if !ar.OK() {
		var b bytes.Buffer
		for i, p := range ar.Problems {
			if i == 5 {
				fmt.Fprintf(&b, "; and %d more", len(ar.Problems)-i)
				break
			}
			if i > 0 {
				b.WriteString("; ")
			}
			b.WriteString(p.String())
		}
		return fmt.Errorf("%w: the restored log doesn't verify: %s", ErrRestoreRefused, b.String())
	}
	if cp, err := tlog.OpenCheckpoint([]byte(man.Checkpoint), v); err != nil || cp.Origin != ar.Checkpoint.Origin || cp.Size != ar.Checkpoint.Size || cp.Hash != ar.Checkpoint.Hash {
		return fmt.Errorf("%w: the store's newest checkpoint isn't the one the manifest names", ErrRestoreRefused)
	}
	return nil
}

// nodeCheckpoint returns the newest checkpoint (its note and what it
// says) that the node in dir signed, read without writing anything from
// the store its config.json names: ""
// when dir holds no store, none was signed, or the checkpoint isn't this
// log's (another origin or key: the backup replaces another node, whose
// checkpoints say nothing of this log). An error when the store is there
// but can't be read (damaged, perhaps why it is restored, or of another
// schema): restore then can't tell whether it goes back behind it.
func nodeCheckpoint(ctx context.Context, dir string, v note.Verifier, origin string) (string, tlog.Checkpoint, error) {
	// The store the node's config.json names: DIR/parley.db, or the
	// PostgreSQL database of a migrated node (whose parley.db, if left,
	// is the old copy). Without a config.json, DIR/parley.db as left.
	cfg, err := LoadConfig(dir)
	switch {
	case errors.Is(err, ErrNotInitialized):
		cfg = Config{}
	case err != nil:
		return "", tlog.Checkpoint{}, fmt.Errorf("couldn't tell which store the node in %s has: %w", dir, err)
	}
	if kind, _ := storeKindOf(cfg.Store); kind == storeSQLite {
		if _, err := os.Stat(filepath.Join(dir, StoreFile)); errors.Is(err, os.ErrNotExist) {
			return "", tlog.Checkpoint{}, nil
		}
	}
	st, err := openStore(ctx, dir, cfg, storeOptions{Existing: true, ReadOnly: true, KeepModes: true})
	if err != nil {
		return "", tlog.Checkpoint{}, fmt.Errorf("couldn't read the newest checkpoint of the store in %s: %w", dir, err)
	}
	defer st.Close()
	_, b, err := st.LatestCheckpoint(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return "", tlog.Checkpoint{}, nil
	}
	if err != nil {
		return "", tlog.Checkpoint{}, fmt.Errorf("couldn't read the newest checkpoint of the store in %s: %w", dir, err)
	}
	cp, err := tlog.OpenCheckpoint(b, v)
	if err != nil || cp.Origin != origin {
		return "", tlog.Checkpoint{}, nil
	}
	return string(b), cp, nil
}

// refuseRollback refuses a backup whose newest checkpoint is older than
// cp, the newest the node in dir signed: restoring it would roll the log
// back (see [RestoreOptions].Force). The restored log's consistency with
// cp, when it is not older, is checked with the seen checkpoints.
func refuseRollback(man BackupManifest, v note.Verifier, cp tlog.Checkpoint, dir string) error {
	var size uint64
	if man.Checkpoint != "" {
		b, err := tlog.OpenCheckpoint([]byte(man.Checkpoint), v)
		if err != nil {
			return fmt.Errorf("%w: the manifest's checkpoint doesn't verify under the node key: %v", ErrRestoreRefused, err)
		}
		size = b.Size
	}
	if cp.Size <= size {
		return nil
	}
	aside := fmt.Sprintf("move %s aside, keeping it,", filepath.Join(dir, StoreFile))
	if cfg, err := LoadConfig(dir); err == nil {
		if kind, _ := storeKindOf(cfg.Store); kind == storePostgres {
			aside = fmt.Sprintf("remove \"store\" from %s, which names a PostgreSQL database (it stays as it is; the restored node serves from the backup's SQLite store), move %s aside if there is one, keeping both,", filepath.Join(dir, ConfigFile), filepath.Join(dir, StoreFile))
		}
	}
	return fmt.Errorf("%w: the node in %s has signed a checkpoint of size %d and the backup's newest is of size %d: restoring it would roll the log back, and whoever saw the node's later checkpoints (members, witnesses, followers) would find it forked (%s and restore again to roll back on purpose)",
		ErrRestoreRefused, dir, cp.Size, size, aside)
}

// moveRestored moves the staged files into dir, replacing the node files
// there; config.json is removed first and put back last.
func moveRestored(stage, dir string) error {
	for _, name := range []string{ConfigFile, StoreFile, StoreFile + "-wal", StoreFile + "-shm", StoreFile + "-journal", KeyFile, PubKeyFile} {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("couldn't replace %s: %w", name, err)
		}
	}
	// The store first, with any -wal the audit's connection left (a clean
	// close leaves none), config.json last.
	names := []string{StoreFile + "-wal", StoreFile + "-shm"}
	names = append(names, backupFiles...)
	for _, name := range names {
		err := os.Rename(filepath.Join(stage, name), filepath.Join(dir, name))
		if err != nil && !(errors.Is(err, os.ErrNotExist) && name != StoreFile && name != ConfigFile && name != KeyFile && name != PubKeyFile) {
			return fmt.Errorf("couldn't move %s into place: %w", name, err)
		}
	}
	// The renames are durable once the directory is synced.
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}
