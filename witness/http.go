package witness

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/parley-exchange/parley/tlog"
)

// MaxBodySize bounds an add-checkpoint request body: a checkpoint with a
// few dozen signatures and at most 63 proof lines fits many times over.
const MaxBodySize = 256 << 10

// maxProofLines is C2SP tlog-witness's limit on consistency proof lines.
const maxProofLines = 63

// ContentTypeSize is the media type of a 409 response body.
const ContentTypeSize = "text/x.tlog.size"

// Handler serves the C2SP tlog-witness HTTP API, with the same prefix for
// submission and monitoring:
//
//	POST /add-checkpoint           cosign a checkpoint
//	GET  /<origin hash>/checkpoint the latest cosigned checkpoint of a log
func (w *Witness) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /add-checkpoint", w.serveAdd)
	mux.HandleFunc("GET /{origin}/checkpoint", w.serveCheckpoint)
	return mux
}

func (w *Witness) serveAdd(rw http.ResponseWriter, r *http.Request) {
	body, err := readBody(rw, r)
	if err != nil {
		respond(rw, http.StatusBadRequest, "text/plain; charset=utf-8", "request body too large or unreadable\n")
		return
	}
	old, proof, signed, err := ParseAddCheckpoint(body)
	if err != nil {
		respond(rw, http.StatusBadRequest, "text/plain; charset=utf-8", err.Error()+"\n")
		return
	}
	sig, err := w.AddCheckpoint(r.Context(), old, proof, signed)
	var conflict *ConflictError
	switch {
	case err == nil:
		respond(rw, http.StatusOK, "text/plain; charset=utf-8", string(sig))
	case errors.As(err, &conflict) && conflict.Fork:
		// C2SP tlog-witness (since C2SP/C2SP#280): equal sizes with
		// different roots is a 422, "closer to an invalid proof than to
		// a conflict-retry-with-new-size", so that every 409 means
		// "retry from this size".
		respond(rw, http.StatusUnprocessableEntity, "text/plain; charset=utf-8", err.Error()+"\n")
	case errors.As(err, &conflict):
		respond(rw, http.StatusConflict, ContentTypeSize, strconv.FormatUint(conflict.Size, 10)+"\n")
	case errors.Is(err, ErrUnknownLog):
		respond(rw, http.StatusNotFound, "text/plain; charset=utf-8", unknownLogBody)
	case errors.Is(err, ErrSignature):
		respond(rw, http.StatusForbidden, "text/plain; charset=utf-8", "checkpoint isn't signed by the log's key\n")
	case errors.Is(err, ErrMalformed):
		respond(rw, http.StatusBadRequest, "text/plain; charset=utf-8", err.Error()+"\n")
	case errors.Is(err, ErrInconsistent):
		respond(rw, http.StatusUnprocessableEntity, "text/plain; charset=utf-8", err.Error()+"\n")
	default:
		w.cfg.Logger.Error("add-checkpoint failed", "err", err)
		respond(rw, http.StatusInternalServerError, "text/plain; charset=utf-8", "internal error\n")
	}
}

// maxBodyPrealloc bounds the buffer readBody allocates for a declared
// length before the bytes arrive: a request of a checkpoint and its proof
// is a few KiB.
const maxBodyPrealloc = 16 << 10

// readBody reads a request body of at most MaxBodySize bytes, into one
// buffer of the declared length when there is one of at most
// maxBodyPrealloc (io.ReadAll would grow its buffer two or three times
// for a typical request). A longer declared length is read as io.ReadAll
// does, its buffer growing with the bytes that arrive: add-checkpoint
// takes no token, and a buffer of the declared length, allocated before
// they arrive, let anyone hold MaxBodySize of the witness's memory per
// connection by declaring it and sending nothing.
func readBody(rw http.ResponseWriter, r *http.Request) ([]byte, error) {
	br := http.MaxBytesReader(rw, r.Body, MaxBodySize)
	n := r.ContentLength
	if n < 0 || n > MaxBodySize || n > maxBodyPrealloc {
		b, err := io.ReadAll(br)
		if err == nil && int64(len(b)) < n {
			return nil, fmt.Errorf("the body ended after %d of its %d bytes", len(b), n)
		}
		return b, err
	}
	// One byte more than declared, to see the end of the body (the
	// server's body reader stops at the declared length; another reader
	// may not).
	buf := make([]byte, n+1)
	k, err := io.ReadFull(br, buf)
	switch {
	case int64(k) == n && errors.Is(err, io.ErrUnexpectedEOF), n == 0 && errors.Is(err, io.EOF):
		return buf[:n], nil
	case err == nil:
		// Longer than declared: read the rest as io.ReadAll would.
		rest, err := io.ReadAll(br)
		return append(buf, rest...), err
	case errors.Is(err, io.ErrUnexpectedEOF):
		return nil, fmt.Errorf("the body ended after %d of its %d bytes", k, n)
	}
	return nil, err
}

// serveCheckpoint is monitor retrieval. Its 404 says which: "unknown
// log" for a log the witness doesn't witness (never did, or no longer
// does: not in Config.Logs), as add-checkpoint's 404 does, and "no
// checkpoint of that log" for one it witnesses and hasn't cosigned yet
// ([Client.Checkpoint] tells them apart).
func (w *Witness) serveCheckpoint(rw http.ResponseWriter, r *http.Request) {
	origin, ok := w.byHash[r.PathValue("origin")]
	if !ok {
		respond(rw, http.StatusNotFound, "text/plain; charset=utf-8", unknownLogBody)
		return
	}
	if n := w.Checkpoint(origin); n != nil {
		respond(rw, http.StatusOK, "text/plain; charset=utf-8", string(n))
		return
	}
	respond(rw, http.StatusNotFound, "text/plain; charset=utf-8", "no checkpoint of that log\n")
}

// unknownLogBody is the body of a 404 for a log the witness doesn't
// witness, on either endpoint.
const unknownLogBody = "unknown log\n"

// The response headers' values, shared by every response: a header
// set to one of these is replaced, never changed in place (Header.Add
// appends to a full slice, which copies it).
var (
	noStore         = []string{"no-store"}
	contentTypeText = []string{"text/plain; charset=utf-8"}
	contentTypeSize = []string{ContentTypeSize}
)

func respond(rw http.ResponseWriter, status int, contentType, body string) {
	h := rw.Header()
	switch contentType {
	case contentTypeText[0]:
		h["Content-Type"] = contentTypeText
	case ContentTypeSize:
		h["Content-Type"] = contentTypeSize
	default:
		h.Set("Content-Type", contentType)
	}
	h["Cache-Control"] = noStore
	rw.WriteHeader(status)
	io.WriteString(rw, body)
}

// ParseAddCheckpoint parses an add-checkpoint request body: "old <size>",
// up to 63 base64 consistency proof hashes, one per line, an empty line,
// then the signed checkpoint note (returned as is, not verified). It fails
// with [ErrMalformed].
func ParseAddCheckpoint(body []byte) (oldSize uint64, proof []tlog.Hash, signed []byte, err error) {
	bad := func(why string) (uint64, []tlog.Hash, []byte, error) {
		return 0, nil, nil, fmt.Errorf("%w: %s", ErrMalformed, why)
	}
	line, rest, ok := bytes.Cut(body, []byte{'\n'})
	if !ok {
		return bad("no old size line")
	}
	// Room for the proof's lines (up to the empty line), so that
	// appending them doesn't grow the slice again and again.
	if i := bytes.Index(rest, []byte("\n\n")); i >= 0 && rest[0] != '\n' {
		proof = make([]tlog.Hash, 0, min(bytes.Count(rest[:i+1], []byte{'\n'}), maxProofLines))
	}
	num, ok := strings.CutPrefix(string(line), "old ")
	if !ok {
		return bad("the first line isn't \"old <size>\"")
	}
	oldSize, perr := strconv.ParseUint(num, 10, 64)
	if perr != nil || strconv.FormatUint(oldSize, 10) != num {
		return bad("the old size isn't a decimal number without leading zeros")
	}
	for {
		line, rest, ok = bytes.Cut(rest, []byte{'\n'})
		if !ok {
			return bad("no empty line before the checkpoint")
		}
		if len(line) == 0 {
			break
		}
		if len(proof) == maxProofLines {
			return bad("more than 63 consistency proof lines")
		}
		h, herr := tlog.ParseHash(string(line))
		if herr != nil {
			return bad("a consistency proof line isn't a base64 hash")
		}
		proof = append(proof, h)
	}
	if len(rest) == 0 {
		return bad("no checkpoint")
	}
	return oldSize, proof, rest, nil
}

// MarshalAddCheckpoint encodes an add-checkpoint request body.
func MarshalAddCheckpoint(oldSize uint64, proof []tlog.Hash, signed []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "old %d\n", oldSize)
	for _, h := range proof {
		b.WriteString(h.String())
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.Write(signed)
	return b.Bytes()
}
