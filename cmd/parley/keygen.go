package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/parley-exchange/parley/internal/untrusted"
	"github.com/parley-exchange/parley/tlog"
)

func init() {
	register(command{
		name:  "keygen",
		usage: "keygen --out FILE [--rotate OLD.key]      member Ed25519 key pair (FILE 0600, FILE.pub; with --rotate also FILE.rotation)",
		run:   runKeygen,
	})
}

func runKeygen(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlagSet("keygen")
	out := fs.String("out", "", "write the private key to `FILE` (mode 0600) and the public key to FILE.pub")
	rotate := fs.String("rotate", "", "the member's current private key `FILE`: also write FILE.rotation, the statement (signed by it) that moves the member to the new key, for the operator's parley member key rotate --statement")
	if err := c.parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() > 0 {
		return usageErrorf("parley keygen --out member.key", "keygen needs --out and no arguments")
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return withExit(3, "", fmt.Errorf("couldn't generate a key: %w", err))
	}
	var statement []byte
	if *rotate != "" {
		old, err := readPrivateKey(c.stderr, *rotate)
		if err != nil {
			return err
		}
		statement = ed25519.Sign(old, tlog.RotationMessage(old.Public().(ed25519.PublicKey), pub))
	}
	if err := writeKeyPair(*out, pub, priv); err != nil {
		return err
	}
	if statement != nil {
		if err := writeNew(*out+".rotation", []byte(base64.StdEncoding.EncodeToString(statement)+"\n"), 0o644); err != nil {
			if exitCode(err) != 2 {
				// The new pair is of no use without its statement.
				os.Remove(*out)
				os.Remove(*out + ".pub")
			}
			return err
		}
		fmt.Fprintf(c.stderr, "parley: give %s.pub and %s.rotation to the operator (parley member key rotate --pubkey %s.pub --statement %s.rotation)\n", *out, *out, *out, *out)
	}
	fmt.Fprintf(c.stdout, "%s\n", base64.StdEncoding.EncodeToString(pub))
	return nil
}

// writeKeyPair writes priv as a PKCS #8 PEM file (0600) at path and pub as
// the standard base64 of its 32 bytes plus a newline at path.pub. It never
// overwrites a file.
func writeKeyPair(path string, pub ed25519.PublicKey, priv ed25519.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return withExit(3, "", fmt.Errorf("couldn't encode the key: %w", err))
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if err := writeNew(path, pemBytes, 0o600); err != nil {
		return err
	}
	if err := writeNew(path+".pub", []byte(base64.StdEncoding.EncodeToString(pub)+"\n"), 0o644); err != nil {
		// A key without its .pub is of no use, and would make the next
		// try refuse path as existing: nobody has this key yet.
		if exitCode(err) != 2 {
			os.Remove(path)
		}
		return err
	}
	return nil
}

func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if errors.Is(err, os.ErrExist) {
		return usageErrorf("choose another file name, or remove the old key if you are sure", "%s exists; parley never overwrites a key", path)
	}
	if err != nil {
		return withExit(3, "", fmt.Errorf("couldn't write %s: %w", path, err))
	}
	// A file that couldn't be written whole (a full disk) is removed: left
	// empty or cut short, it would be refused as "exists" by the next try.
	_, err = writeNewData(f, data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return withExit(3, "", fmt.Errorf("couldn't write %s: %w", path, err))
	}
	return nil
}

// writeNewData writes a new key file's bytes; tests replace it to make the
// write fail as on a full disk.
var writeNewData = func(f *os.File, b []byte) (int, error) { return f.Write(b) }

// readPrivateKey reads a key written by keygen (PKCS #8 PEM). Errors never
// include the file's content. A key every user may read is warned about
// on warn ([warnReadable]).
func readPrivateKey(warn io.Writer, path string) (ed25519.PrivateKey, error) {
	warnReadable(warn, path, "the private key")
	b, err := untrusted.ReadFile(path, maxSecretFile)
	if err != nil {
		return nil, usageErrorf("make one with parley keygen --out FILE", "couldn't read the private key: %v", err)
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, usageErrorf("use a key made by parley keygen", "%s is not a PEM private key", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, usageErrorf("use a key made by parley keygen", "%s is not a valid PKCS #8 private key", path)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, usageErrorf("use a key made by parley keygen", "%s is not an Ed25519 key", path)
	}
	return priv, nil
}

// readPublicKey reads a .pub file: the standard base64 of the 32-byte
// Ed25519 public key on one line.
func readPublicKey(path string) (ed25519.PublicKey, error) {
	b, err := untrusted.ReadFile(path, maxSecretFile)
	if err != nil {
		return nil, usageErrorf("", "couldn't read the public key: %v", err)
	}
	k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(k) != ed25519.PublicKeySize {
		return nil, usageErrorf("use the .pub file written by parley keygen", "%s does not hold the standard base64 of a 32-byte Ed25519 public key", path)
	}
	return ed25519.PublicKey(k), nil
}
