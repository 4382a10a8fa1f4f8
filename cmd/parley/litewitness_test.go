package main

import (
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"filippo.io/torchwood"
	"github.com/rogpeppe/go-internal/testscript"
)

// TestLitewitness runs testdata/litewitness/*.txt: a node and the CLI's
// clients against litewitness (filippo.io/torchwood, the `tool` directives
// of go.mod), a C2SP tlog-witness written by others, which signs through an
// ssh-agent and whose logs are registered with witnessctl. Both are built
// here from the module graph (no network beyond the module proxy); the
// ssh-agent, ssh-add and ssh-keygen are the system's.
func TestLitewitness(t *testing.T) {
	if _, err := exec.LookPath("ssh-agent"); err != nil {
		t.Skip("SKIPPED: THE LITEWITNESS INTEROPERABILITY TEST DID NOT RUN: ssh-agent is not installed " +
			"(litewitness signs through an ssh-agent; install OpenSSH's client tools to run it)")
	}
	testdata, err := filepath.Abs(filepath.Join("..", "..", "testdata"))
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin, "filippo.io/torchwood/cmd/litewitness", "filippo.io/torchwood/cmd/witnessctl")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("couldn't build litewitness and witnessctl: %v\n%s", err, out)
	}
	// A unix socket's path is limited to about 100 bytes: the agent's
	// goes in a directory of its own, not in the script's work directory.
	sockDir := t.TempDir()
	p := scriptParams(testdata, filepath.Join("testdata", "litewitness"))
	setup := p.Setup
	p.Setup = func(env *testscript.Env) error {
		if err := setup(env); err != nil {
			return err
		}
		env.Setenv("PATH", bin+string(os.PathListSeparator)+env.Getenv("PATH"))
		env.Setenv("SSH_AUTH_SOCK", filepath.Join(sockDir, filepath.Base(env.WorkDir)+".sock"))
		return nil
	}
	p.Cmds["litewitnesskey"] = litewitnessKey
	p.Cmds["freeaddr"] = freeAddr
	p.Cmds["waitlisten"] = waitListen
	p.Cmds["cpsqlite"] = cpSQLite
	p.Cmds["vkeyname"] = vkeyName
	testscript.Run(t, p)
}

// litewitnessKey implements `litewitnesskey PUB_FILE NAME VKEY_FILE`: from
// the OpenSSH Ed25519 public key in PUB_FILE it sets LW_FP to the key's
// SHA256 fingerprint (litewitness's -key), LW_VKEY to the cosignature
// verifier key litewitness named NAME has (as torchwood, litewitness's
// own library, derives it) and LW_VKEY_RE to a regexp matching it, and
// writes LW_VKEY to VKEY_FILE.
func litewitnessKey(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: litewitnesskey PUB_FILE NAME VKEY_FILE")
	}
	f := strings.Fields(ts.ReadFile(args[0]))
	if len(f) < 2 || f[0] != "ssh-ed25519" {
		ts.Fatalf("%s: not an OpenSSH Ed25519 public key", args[0])
	}
	blob, err := base64.StdEncoding.DecodeString(f[1])
	ts.Check(err)
	// The wire form: string "ssh-ed25519", string key (each with a
	// 4-byte length); the key is the last 32 bytes.
	if len(blob) != 4+11+4+ed25519.PublicKeySize {
		ts.Fatalf("%s: a key blob of %d bytes", args[0], len(blob))
	}
	fp := sha256.Sum256(blob)
	pub := ed25519.PublicKey(blob[len(blob)-ed25519.PublicKeySize:])
	s, err := torchwood.NewCosignatureSigner(args[1], publicOnly{pub})
	ts.Check(err)
	vkey := s.Verifier().String()
	ts.Setenv("LW_FP", "SHA256:"+base64.RawStdEncoding.EncodeToString(fp[:]))
	ts.Setenv("LW_VKEY", vkey)
	ts.Setenv("LW_VKEY_RE", regexp.QuoteMeta(vkey))
	ts.Check(os.WriteFile(ts.MkAbs(args[2]), []byte(vkey+"\n"), 0o644))
}

// publicOnly is a crypto.Signer that only knows its public key: enough
// for torchwood to derive a verifier key.
type publicOnly struct{ pub ed25519.PublicKey }

func (p publicOnly) Public() crypto.PublicKey { return p.pub }
func (publicOnly) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("public key only")
}

// freeAddr implements `freeaddr URL_FILE VAR`: it sets VAR to a loopback
// address whose port was free a moment ago and writes http://ADDR to
// URL_FILE, for servers (litewitness) that can't listen on port 0 and
// report the port.
func freeAddr(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: freeaddr URL_FILE VAR")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	addr := ln.Addr().String()
	ts.Check(ln.Close())
	ts.Setenv(args[1], addr)
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte("http://"+addr+"\n"), 0o644))
}

// waitListen implements `waitlisten ADDR`: it waits up to 30 s until ADDR
// (HOST:PORT, or the path of a unix socket) accepts a connection.
func waitListen(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitlisten ADDR")
	}
	network := "tcp"
	if strings.HasPrefix(args[0], "/") {
		network = "unix"
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout(network, args[0], time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("nothing listens on %s after 30s: %v", args[0], err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cpSQLite implements `cpsqlite SRC DST`: it copies the SQLite database
// SRC of a stopped process to DST with its write-ahead log, SRC-wal, when
// there is one (litewitness opens its database in WAL mode and doesn't
// close it when it stops, so the latest state may be only in the log).
func cpSQLite(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: cpsqlite SRC DST")
	}
	src, dst := ts.MkAbs(args[0]), ts.MkAbs(args[1])
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(dst + suffix)
	}
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(src + suffix)
		if suffix != "" && errors.Is(err, os.ErrNotExist) {
			continue
		}
		ts.Check(err)
		ts.Check(os.WriteFile(dst+suffix, b, 0o644))
	}
}

// vkeyName implements `vkeyname VKEY VAR`: it sets VAR to the key's name
// (the text before the first '+'), a Parley log's origin.
func vkeyName(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: vkeyname VKEY VAR")
	}
	name, _, ok := strings.Cut(args[0], "+")
	if !ok || name == "" {
		ts.Fatalf("%q is not a verifier key", args[0])
	}
	ts.Setenv(args[1], name)
}
