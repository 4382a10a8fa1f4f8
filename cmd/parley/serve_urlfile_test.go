package main

import (
	"net"
	"os"
	"path/filepath"
	"testing"
)

// TestServeFailedStartRemovesURLFile: a --url-file left by an earlier run
// must not survive a serve that fails to start (here its address is
// taken), or a script waiting for the file connects to the old URL.
func TestServeFailedStartRemovesURLFile(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "node")
	if code, _, stderr := runCLI(t, "init", "--data", data); code != 0 {
		t.Fatalf("init: %d %s", code, stderr)
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	urlFile := filepath.Join(dir, "url")
	if err := os.WriteFile(urlFile, []byte("http://127.0.0.1:1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, "serve", "--data", data, "--listen", taken.Addr().String(), "--url-file", urlFile)
	if code == 0 {
		t.Fatalf("serve on a taken address exited 0: %s", stderr)
	}
	if _, err := os.Stat(urlFile); !os.IsNotExist(err) {
		b, _ := os.ReadFile(urlFile)
		t.Fatalf("the URL file of the earlier run is still there after a failed start (%v): %q", err, b)
	}
}

// TestWitnessServeFailedStartRemovesURLFile is the same for witness serve.
func TestWitnessServeFailedStartRemovesURLFile(t *testing.T) {
	dir := t.TempDir()
	urlFile := filepath.Join(dir, "url")
	if err := os.WriteFile(urlFile, []byte("http://127.0.0.1:1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, "witness", "serve", "--data", filepath.Join(dir, "w"), "--log", "x", "--poll", "0s", "--url-file", urlFile)
	if code == 0 {
		t.Fatalf("witness serve with --poll 0 exited 0: %s", stderr)
	}
	if _, err := os.Stat(urlFile); !os.IsNotExist(err) {
		t.Fatalf("the URL file of the earlier run is still there after a failed start: %v", err)
	}
}
