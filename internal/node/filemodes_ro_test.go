package node

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestFileModesReadOnly: Open tightens the node's files where it can, but
// config.json and node.pub (nothing secret) on a file system that refuses
// the change (a read-only mount such as a Kubernetes ConfigMap, another
// owner's file) are left as they are, as versions before 4 December 2026
// left them, while a node.key others may read that can't be tightened
// stops the node with a sentence saying how to mount it.
func TestFileModesReadOnly(t *testing.T) {
	onlySQLite(t)
	ctx := context.Background()
	for _, c := range []struct {
		file  string
		err   error
		opens bool
	}{
		{ConfigFile, &fs.PathError{Op: "chmod", Err: syscall.EROFS}, true},
		{PubKeyFile, &fs.PathError{Op: "chmod", Err: syscall.EPERM}, true},
		{KeyFile, &fs.PathError{Op: "chmod", Err: syscall.EROFS}, false},
		{ConfigFile, &fs.PathError{Op: "chmod", Err: syscall.EIO}, false},
	} {
		name := fmt.Sprintf("%s %v", c.file, c.err)
		dir := filepath.Join(t.TempDir(), "data")
		if _, err := Init(ctx, dir, Config{}, nil); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, c.file)
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
		chmodNodeFile = func(p string, m os.FileMode) error {
			if p == path {
				return c.err
			}
			return os.Chmod(p, m)
		}
		n, err := Open(ctx, dir, Options{})
		chmodNodeFile = os.Chmod
		if c.opens {
			if err != nil {
				t.Errorf("%s: %v, want the node to open", name, err)
				continue
			}
			n.Close()
			continue
		}
		if err == nil {
			n.Close()
			t.Errorf("%s: the node opened", name)
			continue
		}
		if c.file == KeyFile && !strings.Contains(err.Error(), "give it mode 600 or 400 where it is stored") {
			t.Errorf("%s: %v, want how to mount the key", name, err)
		}
	}
}
