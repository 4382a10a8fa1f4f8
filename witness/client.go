package witness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/parley-exchange/parley/internal/untrusted"
	"github.com/parley-exchange/parley/tlog"
)

// Client talks to a C2SP tlog-witness: a log submits its checkpoints with
// [Client.AddCheckpoint] or [Client.Submit], a monitor reads the witness's
// view with [Client.Checkpoint]. It is safe for concurrent use.
type Client struct {
	// URL is the witness's prefix ("https://witness.example/w1"); the
	// same prefix serves submission and monitoring.
	URL string
	// HTTP is the client to use; nil means http.DefaultClient.
	HTTP *http.Client

	mu    sync.Mutex
	sizes map[string]uint64 // origin → the witness's size as last seen
}

// ErrNoCheckpoint is returned by [Client.Checkpoint] when the witness has
// never cosigned a checkpoint of the log (404). When the witness says
// that it doesn't witness the log (a Parley witness's 404 "unknown log":
// it never did, or no longer does), the error is also [ErrUnknownLog].
var ErrNoCheckpoint = errors.New("the witness has no checkpoint of that log")

// notWitnessedError is [Client.Checkpoint]'s error for a 404 "unknown
// log": it is [ErrNoCheckpoint] and [ErrUnknownLog].
type notWitnessedError struct{}

func (notWitnessedError) Error() string {
	return "the witness doesn't witness that log (404, unknown log)"
}

func (notWitnessedError) Is(target error) bool {
	return target == ErrNoCheckpoint || target == ErrUnknownLog
}

// StatusError is a witness's answer other than 200 and 409 (Body: the
// start of it: at most 200 bytes, "…" where it was cut, no control
// characters, see [untrusted.Text]). It wraps the
// sentinel matching the status ([ErrMalformed], [ErrSignature],
// [ErrUnknownLog], [ErrInconsistent]) when there is one.
type StatusError struct {
	Code int
	Body string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("the witness answered %d %s: %s", e.Code, http.StatusText(e.Code), e.Body)
}

func (e *StatusError) Unwrap() error {
	switch e.Code {
	case http.StatusBadRequest:
		return ErrMalformed
	case http.StatusForbidden:
		return ErrSignature
	case http.StatusNotFound:
		return ErrUnknownLog
	case http.StatusUnprocessableEntity:
		return ErrInconsistent
	}
	return nil
}

func (c *Client) do(req *http.Request) (int, http.Header, []byte, error) {
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("couldn't reach the witness: %w", untrusted.ClipURLError(err))
	}
	defer resp.Body.Close()
	// An answer is a cosignature or a checkpoint, bounded as a request
	// is; a longer one fails rather than being cut (a cut one would read
	// as a malformed cosignature).
	body, err := untrusted.ReadAll(resp.Body, MaxBodySize)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("couldn't read the witness's answer: %w", err)
	}
	return resp.StatusCode, resp.Header, body, nil
}

// AddCheckpoint sends one add-checkpoint request and returns the
// cosignature line(s). A 409 is a *[ConflictError] carrying the witness's
// size (Fork set when that size is oldSize and the checkpoint's: see
// [ConflictError]), and so is a 422 to a request without a proof whose
// old size is the checkpoint's (Fork set: C2SP tlog-witness's answer to
// equal sizes with different roots); other refusals are *[StatusError].
func (c *Client) AddCheckpoint(ctx context.Context, oldSize uint64, proof []tlog.Hash, signed []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.URL, "/")+"/add-checkpoint", bytes.NewReader(MarshalAddCheckpoint(oldSize, proof, signed)))
	if err != nil {
		return nil, fmt.Errorf("couldn't build the request: %w", err)
	}
	code, h, body, err := c.do(req)
	if err != nil {
		return nil, err
	}
	switch code {
	case http.StatusOK:
		if !bytes.HasPrefix(body, []byte("— ")) || !bytes.HasSuffix(body, []byte("\n")) {
			return nil, fmt.Errorf("couldn't read the witness's answer: not signature lines")
		}
		return body, nil
	case http.StatusConflict:
		s := strings.TrimSuffix(string(body), "\n")
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil || !strings.HasPrefix(h.Get("Content-Type"), ContentTypeSize) {
			return nil, fmt.Errorf("couldn't read the witness's 409 answer %.40q", body)
		}
		size, ok := signedSize(signed)
		return nil, &ConflictError{Size: n, Fork: n == oldSize && ok && size == n}
	case http.StatusUnprocessableEntity:
		// C2SP tlog-witness since C2SP/C2SP#280: equal sizes with
		// different roots is a 422 (it was a 409, which witnesses of
		// the older text still send, read above). With the old size
		// the checkpoint's and no proof, no other check of the spec
		// can fail: the witness holds another root of that size.
		if size, ok := signedSize(signed); ok && size == oldSize && len(proof) == 0 {
			return nil, &ConflictError{Size: oldSize, Fork: true}
		}
	}
	return nil, &StatusError{Code: code, Body: untrusted.Text(strings.TrimSpace(string(body)), 200)}
}

// ProofFunc returns the consistency proof between two tree sizes of the
// log (0 < from < to), such as [tlog.Client.ConsistencyProof] or one built
// from the log's own tiles.
type ProofFunc func(ctx context.Context, from, to uint64) ([]tlog.Hash, error)

// Submit gets signed (a checkpoint of size > 0) cosigned: it sends it with
// the witness's size as last seen (0 at first), and on a 409 builds the
// proof from the size the witness reports and retries, a few times at
// most. It returns the cosignature line(s). A checkpoint smaller than the
// witness's fails with [ErrRollback] (the log went back: restored from an
// older backup), without a request. A 409 that names the old size sent
// fails at once, without a retry, which would get the same answer: when
// that size is the checkpoint's, with a *[ConflictError] whose Fork is set
// ([ErrFork]: the witness holds another checkpoint of that size signed by
// the log's key); a 422 to a request whose old size is the checkpoint's
// fails the same way (C2SP tlog-witness's answer to equal sizes with
// different roots since C2SP/C2SP#280); otherwise with that *[ConflictError] (the witness contradicts
// itself).
func (c *Client) Submit(ctx context.Context, signed []byte, prove ProofFunc) ([]byte, error) {
	text, err := tlog.SplitNote(signed)
	if err != nil {
		return nil, err
	}
	cp, err := tlog.ParseCheckpoint(text)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	old := c.sizes[cp.Origin]
	c.mu.Unlock()
	for try := 0; ; try++ {
		var proof []tlog.Hash
		if old > cp.Size {
			c.setSize(cp.Origin, old)
			return nil, fmt.Errorf("couldn't submit: %w: the witness already has size %d, larger than %d", ErrRollback, old, cp.Size)
		}
		if old > 0 && old < cp.Size {
			if proof, err = prove(ctx, old, cp.Size); err != nil {
				return nil, fmt.Errorf("couldn't build the consistency proof: %w", err)
			}
		}
		sig, err := c.AddCheckpoint(ctx, old, proof, signed)
		var conflict *ConflictError
		if errors.As(err, &conflict) && conflict.Size == old {
			// Sent again, the same request gets the same answer.
			c.setSize(cp.Origin, old)
			if conflict.Fork {
				return nil, fmt.Errorf("couldn't submit: %w", err)
			}
			return nil, fmt.Errorf("couldn't submit: the witness answered 409 with the old size it was sent (it contradicts itself): %w", err)
		}
		if errors.As(err, &conflict) {
			old = conflict.Size
			if try < 3 {
				continue
			}
			c.setSize(cp.Origin, old)
		}
		if err != nil {
			return nil, err
		}
		c.setSize(cp.Origin, cp.Size)
		return sig, nil
	}
}

// Size returns the witness's size of the log named origin as this client
// last saw it (0 when it never did): after an [ErrRollback], the size
// the witness holds.
func (c *Client) Size(origin string) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sizes[origin]
}

func (c *Client) setSize(origin string, size uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sizes == nil {
		c.sizes = map[string]uint64{}
	}
	c.sizes[origin] = size
}

// Checkpoint fetches the witness's latest cosigned checkpoint of the log
// with that origin (C2SP monitor retrieval), unverified: check it with
// [tlog.OpenCheckpoint] and [tlog.CheckQuorum]. A 404 is [ErrNoCheckpoint],
// and also [ErrUnknownLog] when the witness says it doesn't witness the
// log; a witness that can't be reached is neither.
func (c *Client) Checkpoint(ctx context.Context, origin string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(c.URL, "/")+"/"+OriginHash(origin)+"/checkpoint", nil)
	if err != nil {
		return nil, fmt.Errorf("couldn't build the request: %w", err)
	}
	code, _, body, err := c.do(req)
	switch {
	case err != nil:
		return nil, err
	case code == http.StatusNotFound && string(body) == unknownLogBody:
		return nil, notWitnessedError{}
	case code == http.StatusNotFound:
		return nil, ErrNoCheckpoint
	case code != http.StatusOK:
		return nil, &StatusError{Code: code, Body: untrusted.Text(strings.TrimSpace(string(body)), 200)}
	}
	return body, nil
}

// signedSize is the size of the checkpoint note signed, if it is one.
func signedSize(signed []byte) (uint64, bool) {
	text, err := tlog.SplitNote(signed)
	if err != nil {
		return 0, false
	}
	cp, err := tlog.ParseCheckpoint(text)
	if err != nil {
		return 0, false
	}
	return cp.Size, true
}
