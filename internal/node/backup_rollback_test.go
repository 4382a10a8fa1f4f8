package node

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRestoreRefusesRollback: a backup restored with Force over the node
// it was taken of, after that node signed a larger checkpoint, is refused
// (nothing written): the node's own newest checkpoint is what its members
// and witnesses may have seen, and the restore would roll the log back
// behind it, with or without their seen files. A store there that can't
// be read is reported, and the restore goes on.
func TestRestoreRefusesRollback(t *testing.T) {
	onlySQLite(t)
	ctx := context.Background()
	dir, out := backupNode(t)
	n, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.AddMember(ctx, "carol", nil); err != nil {
		t.Fatal(err)
	}
	li, err := NewLogIntegrator(n, LogIntegratorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := li.Integrate(ctx); err != nil {
		t.Fatal(err)
	}
	n.Close()
	before, err := os.ReadFile(filepath.Join(dir, StoreFile))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Restore(ctx, out, dir, RestoreOptions{Force: true})
	if !errors.Is(err, ErrRestoreRefused) || !strings.Contains(err.Error(), "roll the log back") || !strings.Contains(err.Error(), "size 3") {
		t.Fatalf("Restore of an older backup over the node = %v, want a refused rollback", err)
	}
	if after, err := os.ReadFile(filepath.Join(dir, StoreFile)); err != nil || string(after) != string(before) {
		t.Fatalf("a refused restore changed the store (%v)", err)
	}

	// A store that can't be read (the damage a restore may be for) is
	// reported, not checked, and doesn't stop the restore.
	if err := os.WriteFile(filepath.Join(dir, StoreFile), []byte("not a database"), 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err := Restore(ctx, out, dir, RestoreOptions{Force: true})
	if err != nil || rep.ReplacedUnread == nil {
		t.Fatalf("Restore over an unreadable store = %v (unread: %v)", err, rep.ReplacedUnread)
	}
	// Over the node it restored, the same backup is its own checkpoint.
	rep, err = Restore(ctx, out, dir, RestoreOptions{Force: true})
	if err != nil || rep.Replaced.Size != 2 || rep.ReplacedUnread != nil {
		t.Fatalf("Restore over the same node = %v, replaced %+v (%v)", err, rep.Replaced, rep.ReplacedUnread)
	}
}

// TestRestoreRefusesBomb: a backup whose file unpacks to more than the
// disk holds (a gzip of zeros is a thousandth of its size) is refused
// from its header, before anything of it is written: unpacked, it would
// fill the disk the node's data is on before its SHA-256 could fail.
func TestRestoreRefusesBomb(t *testing.T) {
	onlySQLite(t)
	ctx := context.Background()
	_, out := backupNode(t)
	files := readArchive(t, out)
	files[StoreFile] = make([]byte, 4<<20)
	rehash(t, files, StoreFile)
	bomb := filepath.Join(t.TempDir(), "bomb.backup")
	writeTestArchive(t, bomb, files, []string{StoreFile, PubKeyFile, ConfigFile, KeyFile})
	defer func(f func(string) (int64, bool)) { freeSpace = f }(freeSpace)
	var written int64
	freeSpace = func(path string) (int64, bool) {
		// What the stage holds is on the disk already.
		ents, _ := os.ReadDir(path)
		for _, e := range ents {
			if fi, err := e.Info(); err == nil {
				written += fi.Size()
			}
		}
		return 1 << 20, true
	}
	target := filepath.Join(t.TempDir(), "restored")
	_, err := Restore(ctx, bomb, target, RestoreOptions{})
	if !errors.Is(err, ErrRestoreRefused) || !strings.Contains(err.Error(), "unpacks to 4194304 bytes, more than the 1048576 bytes free") {
		t.Fatalf("Restore = %v, want a refusal for the disk's free space", err)
	}
	if written != 0 {
		t.Errorf("%d bytes were written before the refusal", written)
	}
}

// TestRestoreRefusesBombInParts: a backup whose files each fit in the
// space free but together do not is refused before the file that would
// pass it is written, on a file system whose free space doesn't shrink
// as the first ones are written (ZFS, a network one: data counted once
// flushed). Before, each file was checked alone against what the file
// system said, and the whole archive was unpacked.
func TestRestoreRefusesBombInParts(t *testing.T) {
	onlySQLite(t)
	ctx := context.Background()
	_, out := backupNode(t)
	files := readArchive(t, out)
	files[StoreFile] = make([]byte, 700<<10)
	files[ConfigFile] = append([]byte("{}"), make([]byte, 700<<10)...)
	bomb := filepath.Join(t.TempDir(), "bomb.backup")
	writeTestArchive(t, bomb, files, []string{StoreFile, ConfigFile, PubKeyFile, KeyFile})
	defer func(f func(string) (int64, bool)) { freeSpace = f }(freeSpace)
	var written int64
	freeSpace = func(path string) (int64, bool) {
		ents, _ := os.ReadDir(path)
		for _, e := range ents {
			if fi, err := e.Info(); err == nil && fi.Name() != StoreFile {
				written += fi.Size()
			}
		}
		return 1 << 20, true
	}
	_, err := Restore(ctx, bomb, filepath.Join(t.TempDir(), "restored"), RestoreOptions{})
	if !errors.Is(err, ErrRestoreRefused) || !strings.Contains(err.Error(), "unpack to at least 1433602 bytes, more than the 1048576 bytes free") {
		t.Fatalf("Restore = %v, want a refusal for the disk's free space", err)
	}
	if written != 0 {
		t.Errorf("%d bytes of the second file were written before the refusal", written)
	}
}

// TestRestoreHeaderUndersized: a tar header whose size is smaller than
// the data that follows it passes the free-space check with its small
// size, but no more than that size is read as the file: the rest is read
// as the next header, and the backup is refused as damaged (read whole,
// the store would match the manifest's SHA-256, and be restored).
func TestRestoreHeaderUndersized(t *testing.T) {
	onlySQLite(t)
	ctx := context.Background()
	_, out := backupNode(t)
	files := readArchive(t, out)
	if len(files[StoreFile]) <= 1024 {
		t.Fatalf("the store is of %d bytes", len(files[StoreFile]))
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, name := range []string{BackupManifestFile, StoreFile, PubKeyFile, ConfigFile, KeyFile} {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(files[name])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(files[name]); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	undersize := 1024
	// The store's header, the second: its size field (octal, at 124)
	// made 1024, its checksum (at 148) made again.
	raw := buf.Bytes()
	h := raw[512+(len(files[BackupManifestFile])+511)/512*512:][:512]
	if !bytes.HasPrefix(h, []byte(StoreFile)) {
		t.Fatal("the store's header is not where expected")
	}
	copy(h[124:136], fmt.Sprintf("%011o\x00", undersize))
	copy(h[148:156], "        ")
	sum := 0
	for _, c := range h {
		sum += int(c)
	}
	copy(h[148:156], fmt.Sprintf("%06o\x00 ", sum))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	lying := filepath.Join(t.TempDir(), "lying.backup")
	if err := os.WriteFile(lying, gz.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Restore(ctx, lying, filepath.Join(t.TempDir(), "restored"), RestoreOptions{})
	if !errors.Is(err, ErrRestoreRefused) {
		t.Fatalf("Restore of a header smaller than its data = %v, want it refused", err)
	}
}
