package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// craftBackup rewrites the backup at path with its config.json's fields
// set as in set (the manifest's SHA-256 of it updated, as an attacker
// who made the file would), and returns the new file's path.
func craftBackup(t *testing.T, path string, set map[string]any) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var names []string
	files := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		files[h.Name] = b
	}
	var cfg map[string]any
	if err := json.Unmarshal(files["config.json"], &cfg); err != nil {
		t.Fatal(err)
	}
	for k, v := range set {
		cfg[k] = v
	}
	if files["config.json"], err = json.Marshal(cfg); err != nil {
		t.Fatal(err)
	}
	var man map[string]json.RawMessage
	if err := json.Unmarshal(files["backup.json"], &man); err != nil {
		t.Fatal(err)
	}
	var sums map[string]string
	if err := json.Unmarshal(man["files"], &sums); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(files["config.json"])
	sums["config.json"] = hex.EncodeToString(sum[:])
	if man["files"], err = json.Marshal(sums); err != nil {
		t.Fatal(err)
	}
	if files["backup.json"], err = json.Marshal(man); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, name := range names {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(files[name])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(files[name]); err != nil {
			t.Fatal(err)
		}
	}
	if err := errors.Join(tw.Close(), zw.Close()); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "crafted.backup")
	if err := os.WriteFile(out, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRestoreShowsConfigChanges: restore --force of a crafted backup
// names each setting of its config.json that differs from the node's
// (a public listen address, a public_url, a title with a terminal
// escape), the backup's text escaped, and none of the settings that
// agree.
func TestRestoreShowsConfigChanges(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "node")
	if code, _, stderr := runCLI(t, "init", "--data", dir); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	out := filepath.Join(t.TempDir(), "node.backup")
	if code, _, stderr := runCLI(t, "backup", "--data", dir, "--out", out); code != 0 {
		t.Fatalf("backup: %s", stderr)
	}
	crafted := craftBackup(t, out, map[string]any{"listen": "0.0.0.0:80", "public_url": "http://evil.example/", "title": "Evil\x1b[2J"})
	code, _, stderr := runCLI(t, "restore", "--data", dir, "--from", crafted, "--force")
	if code != 0 {
		t.Fatalf("restore --force: exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		`changes listen from `, ` to "0.0.0.0:80"`,
		`changes public_url from (unset) to "http://evil.example/"`,
		`changes title from `,
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("restore's notes lack %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "\x1b") || strings.Contains(stderr, "changes origin") {
		t.Errorf("restore's notes: %q", stderr)
	}
	// The same backup again: nothing changes.
	code, _, stderr = runCLI(t, "restore", "--data", dir, "--from", crafted, "--force")
	if code != 0 || strings.Contains(stderr, "config.json changes") {
		t.Errorf("restore --force of the same backup again: exit %d: %s", code, stderr)
	}
}
