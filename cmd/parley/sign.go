package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/google/uuid"

	"github.com/parley-exchange/parley/internal/node"
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
	doc, err := readObjects(c, fs.Arg(0))
	if err != nil {
		return err
	}
	// Every object is checked as push checks it before anything is
	// printed: a signed object any node refuses is of no use, and a
	// bundle cut short by a bad object would be half written.
	if err := validateSpans(doc.spans, doc.name, "sign prints nothing"); err != nil {
		return err
	}
	if single(doc.data) && len(doc.spans) == 1 {
		signed, err := signSpans(doc.spans, key, doc.name)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(c.stdout, "%s\n", signed[0])
		return err
	}
	// A batch at a time: sign holds the file, its objects' spans and one
	// batch of signed objects, whatever the file's size.
	show := c.progressOf("signed", len(doc.spans))
	defer show(-1)
	bw := newBundleWriter(c.stdout)
	for start := 0; start < len(doc.spans); start += signBatch {
		end := min(start+signBatch, len(doc.spans))
		signed, err := signSpans(doc.spans[start:end], key, doc.name)
		if err != nil {
			return err
		}
		for _, o := range signed {
			bw.add(o)
		}
		show(end)
	}
	show(-1)
	return bw.close()
}

// readInput reads a file, or standard input for "-".
func readInput(c *cli, name string) ([]byte, error) {
	b, err := readDocument(c, name)
	if err != nil {
		return nil, usageErrorf(tooLargeHint(err), "couldn't read %s: %v", name, err)
	}
	return b, nil
}

// signBatch is how many objects sign and push parse and sign at once, on
// every core: with the input file, all they hold.
const signBatch = 1000

// objectsDoc is a document of STIX objects read whole (an object, an
// array, a bundle or an envelope), checked, and each object's span of
// it, none parsed: [signSpans] parses and signs them a batch at a time.
type objectsDoc struct {
	name  string
	data  []byte
	spans []json.RawMessage
}

// readObjects reads and checks the document name ("-": standard input),
// failing (exit 2) as a bad document did before anything is signed.
func readObjects(c *cli, name string) (*objectsDoc, error) {
	data, err := readInput(c, name)
	if err != nil {
		return nil, err
	}
	spans, err := stix.ObjectSpans(data)
	if err != nil {
		lines, ok, lerr := objectLines(data)
		if !ok {
			return nil, usageErrorf("give a STIX object, a JSON array of objects, a bundle, or one JSON object a line", "%s: %v", name, err)
		}
		if lerr != nil {
			return nil, usageErrorf("give one JSON object a line (as parley match writes its sightings, and --dead-letter its FILE)", "%s: %v", name, lerr)
		}
		spans = lines
	}
	return &objectsDoc{name: name, data: data, spans: spans}, nil
}

// objectLines reads data as JSON Lines: one STIX object a line (blank
// lines skipped), as parley match prints its sightings and a fleet
// member appends the objects it sets apart to its --dead-letter FILE. It
// returns the objects' spans of data; ok is false when data is not such
// a document (its first line is not one object, or it has only one),
// and err names the first line that is not one STIX object.
func objectLines(data []byte) (spans []json.RawMessage, ok bool, err error) {
	n := 0
	for rest := data; len(rest) > 0; {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		n++
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		got, perr := stix.ObjectSpans(line)
		if perr == nil && (len(got) != 1 || !single(line)) {
			perr = fmt.Errorf("%w: not one object", stix.ErrNotObject)
		}
		if perr != nil {
			if len(spans) == 0 {
				return nil, false, nil
			}
			return nil, true, fmt.Errorf("line %d: %w", n, perr)
		}
		spans = append(spans, got[0])
	}
	if len(spans) < 2 {
		return nil, false, nil
	}
	return spans, true, nil
}

// signSpans parses and signs every object of spans (checked by
// [stix.ObjectSpans]) with key, on every core, in order; the error is the
// first object's in order. The predefined TLP marking definitions
// ([stix.IsPredefinedTLP]) stay as they are: their content is fixed by
// the specification, so a signed one would be another object under a
// predefined id, which every STIX validator (the node's too) refuses; the
// node takes them unsigned.
func signSpans(spans []json.RawMessage, key ed25519.PrivateKey, name string) ([]json.RawMessage, error) {
	out := make([]json.RawMessage, len(spans))
	err := eachSpan(spans, func(i int, span json.RawMessage) error {
		o, err := stix.Parse(span)
		if err != nil {
			return usageErrorf("give a STIX object, a JSON array of objects or a bundle", "%s: %v", name, err)
		}
		if stix.IsPredefinedTLP(o) {
			out[i] = o.Raw
			return nil
		}
		s, err := stix.Sign(o.Raw, key)
		if err != nil {
			return usageErrorf("", "%s: object %s: %v", name, o.ID, err)
		}
		out[i] = s
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// validateSpans parses every object of spans (checked by
// [stix.ObjectSpans]) and validates it as STIX 2.1 with the node's own
// validator and pattern checks ([node.DefaultPatterns]) and the node's
// checks of its content ([node.CheckContent]) as push sends it,
// signed ([asSigned]; a predefined TLP marking as it is), on every core;
// the error (exit 2) is the first invalid object's in order, and its hint
// ends with nothing ("push sends nothing"), what the command does until
// every object passes. What the node would refuse for what the object
// is, whoever sends it, is found before anything is sent (push) or
// printed (sign); what depends on the node (the collection's policy, the
// member's key, ids another member owns) is the node's word.
func validateSpans(spans []json.RawMessage, name, nothing string) error {
	v := stix.Validator{Patterns: node.DefaultPatterns()}
	return eachSpan(spans, func(_ int, span json.RawMessage) error {
		o, err := stix.Parse(span)
		if err != nil {
			return usageErrorf("give a STIX object, a JSON array of objects or a bundle", "%s: %v", name, err)
		}
		if !stix.IsPredefinedTLP(o) {
			asSigned(o)
		}
		if err := v.Validate(o); err != nil {
			return usageErrorf("fix the object: the node refuses what isn't valid STIX 2.1, and "+nothing+" until every object is", "%s: %v", name, err)
		}
		if err := node.CheckContent(o); err != nil {
			return usageErrorf("fix the object: the node refuses it whatever the collection, and "+nothing+" until every object passes", "%s: object %s: %v", name, o.ID, err)
		}
		return nil
	})
}

// asSigned makes o's properties what [stix.Sign] makes of them: any old
// Parley signature extension goes, whatever its shape, and so does an
// "extensions" it leaves empty; then the new signature's entry is added
// (with placeholder bytes: the validator checks its shape, which Sign's
// always has). push sends objects signed, so the node never sees what
// signing drops; validating the object as read would refuse objects the
// node stores (a re-pushed object with a stale or half-written
// signature, an empty "extensions").
func asSigned(o *stix.Object) {
	ext, ok := o.Props["extensions"].(map[string]any)
	if !ok {
		if _, present := o.Props["extensions"]; present {
			return // not a dictionary: Sign refuses it, and so does validation
		}
		ext = map[string]any{}
		o.Props["extensions"] = ext
	}
	ext[stix.SignatureExtensionID] = map[string]any{
		"extension_type": "property-extension",
		"alg":            stix.SignatureAlgorithm,
		"public_key":     base64.StdEncoding.EncodeToString(make([]byte, ed25519.PublicKeySize)),
		"signature":      base64.StdEncoding.EncodeToString(make([]byte, ed25519.SignatureSize)),
	}
}

// eachSpan calls f for every span on every core and returns the first
// error in the spans' order (not the first to happen), so that what is
// reported doesn't depend on scheduling. Once a span failed, no later
// span is given to f and no later error is kept: the check of a large
// file of invalid objects (a STIX 2.0 bundle) holds one error, not one
// per object, and stops early. Every span before the first failing one
// is still given to f, so the error returned is the same on any number
// of cores.
func eachSpan(spans []json.RawMessage, f func(i int, span json.RawMessage) error) error {
	var (
		mu       sync.Mutex
		firstErr error
		first    atomic.Int64 // the index of firstErr; len(spans) while none
	)
	first.Store(int64(len(spans)))
	workers := min(runtime.GOMAXPROCS(0), len(spans))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(spans) && int64(i) < first.Load(); i += workers {
				err := f(i, spans[i])
				if err == nil {
					continue
				}
				mu.Lock()
				if int64(i) < first.Load() {
					firstErr = err
					first.Store(int64(i))
				}
				mu.Unlock()
				return // every later span of this worker comes after i
			}
		}()
	}
	wg.Wait()
	return firstErr
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
