package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"

	"github.com/google/uuid"

	"github.com/parley-exchange/parley/stix"
)

func init() {
	register(command{
		name:  "sign",
		usage: "sign --key K FILE                        print FILE's STIX objects signed (an object, or a bundle)",
		run:   runSign,
	})
}

func runSign(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlagSet("sign")
	keyFile := fs.String("key", "", "the member's private key `FILE` (from parley keygen)")
	if err := c.parseFlags(fs, args); err != nil {
		return err
	}
	if *keyFile == "" || fs.NArg() != 1 {
		return usageErrorf("parley sign --key member.key objects.json", "sign needs --key and one FILE (- for standard input)")
	}
	key, err := readPrivateKey(c.stderr, *keyFile)
	if err != nil {
		return err
	}
	data, err := readInput(c, fs.Arg(0))
	if err != nil {
		return err
	}
	signed, err := signAll(data, key, fs.Arg(0))
	if err != nil {
		return err
	}
	if single(data) && len(signed) == 1 {
		_, err = fmt.Fprintf(c.stdout, "%s\n", signed[0])
		return err
	}
	return writeBundle(c.stdout, signed)
}

// readInput reads a file, or standard input for "-".
func readInput(c *cli, name string) ([]byte, error) {
	b, err := readDocument(c, name)
	if err != nil {
		return nil, usageErrorf(tooLargeHint(err), "couldn't read %s: %v", name, err)
	}
	return b, nil
}

// signAll parses data (an object, an array, a bundle or an envelope) and
// signs every object with key.
func signAll(data []byte, key ed25519.PrivateKey, name string) ([]json.RawMessage, error) {
	objs, err := stix.ParseObjects(data)
	if err != nil {
		return nil, usageErrorf("give a STIX object, a JSON array of objects or a bundle", "%s: %v", name, err)
	}
	return signObjects(objs, key, name)
}

// signObjects signs every object with key, but for the predefined TLP
// marking definitions ([stix.IsPredefinedTLP]), which it leaves as they
// are: their content is fixed by the specification, so a signed one would
// be another object under a predefined id, which every STIX validator (the
// node's too) refuses; the node takes them unsigned.
func signObjects(objs []*stix.Object, key ed25519.PrivateKey, name string) ([]json.RawMessage, error) {
	out := make([]json.RawMessage, 0, len(objs))
	for _, o := range objs {
		if stix.IsPredefinedTLP(o) {
			out = append(out, o.Raw)
			continue
		}
		s, err := stix.Sign(o.Raw, key)
		if err != nil {
			return nil, usageErrorf("", "%s: object %s: %v", name, o.ID, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// single reports whether data is one STIX object (not a bundle, array or
// envelope).
func single(data []byte) bool {
	var v struct {
		Type string `json:"type"`
	}
	return json.Unmarshal(data, &v) == nil && v.Type != "" && v.Type != "bundle"
}

// writeBundle writes objects as a STIX 2.1 bundle.
func writeBundle(w io.Writer, objects []json.RawMessage) error {
	bw := newBundleWriter(w)
	for _, o := range objects {
		bw.add(o)
	}
	return bw.close()
}

// bundleWriter writes a STIX bundle object by object, as
// json.MarshalIndent with two spaces would write it whole, so that a
// command need not hold the objects: a bundle of any size takes the memory
// of one object.
type bundleWriter struct {
	w       *bufio.Writer
	n       int
	scratch bytes.Buffer
	err     error
}

func newBundleWriter(w io.Writer) *bundleWriter {
	bw := &bundleWriter{w: bufio.NewWriterSize(w, 64<<10)}
	fmt.Fprintf(bw.w, "{\n  \"type\": \"bundle\",\n  \"id\": \"bundle--%s\",\n  \"objects\": [", uuid.NewString())
	return bw
}

// add writes one object (JSON); the first error is kept for close.
func (bw *bundleWriter) add(o json.RawMessage) {
	if bw.err != nil {
		return
	}
	bw.scratch.Reset()
	if err := json.Indent(&bw.scratch, o, "    ", "  "); err != nil {
		bw.err = withExit(3, "", fmt.Errorf("couldn't write the bundle: %w", err))
		return
	}
	if bw.n > 0 {
		bw.w.WriteByte(',')
	}
	bw.w.WriteString("\n    ")
	bw.w.Write(bytes.TrimSpace(bw.scratch.Bytes()))
	bw.n++
}

// close ends the bundle and returns the first error.
func (bw *bundleWriter) close() error {
	if bw.err != nil {
		return bw.err
	}
	if bw.n > 0 {
		bw.w.WriteString("\n  ")
	}
	bw.w.WriteString("]\n}\n")
	return bw.w.Flush()
}
