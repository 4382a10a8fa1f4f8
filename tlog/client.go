package tlog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/parley-exchange/parley/internal/untrusted"
)

// Client reads a Parley node's log over HTTP: the C2SP endpoints under
// /log/ and the node's /log/objects, /log/bundle and /members. It is an
// [AuditSource] (after [Client.Checkpoint], which fixes the tree size that
// Leaves reads) and a [TileReader].
type Client struct {
	// URL is the node's base URL ("https://parley.example").
	URL string
	// Token is the member's API token, sent as a bearer token.
	Token string
	// HTTP is the client to use; nil means http.DefaultClient.
	HTTP *http.Client

	size uint64
}

var _ CosignedHistory = (*Client)(nil)

// ErrHTTP is returned (wrapped) when the node answers with a non-2xx
// status.
var ErrHTTP = errors.New("the node refused the request")

// HTTPError is the error of a non-2xx answer: its status code, so that a
// caller tells a 503 from the rest without reading the message, which
// the node writes; it matches [ErrHTTP].
type HTTPError struct {
	Path    string // the request's path and query
	Code    int    // the HTTP status code
	Message string // the start of the node's message, without control characters
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("%v: GET %s: %d %s: %s", ErrHTTP, e.Path, e.Code, http.StatusText(e.Code), e.Message)
}

// Is makes errors.Is(err, ErrHTTP) true.
func (e *HTTPError) Is(target error) bool { return target == ErrHTTP }

// maxResponse bounds what the client reads from one response (except
// GET /log/objects, which is streamed: see maxObjectsResponse).
const maxResponse = 64 << 20

// maxObjectsResponse bounds one GET /log/objects response, which the
// client reads item by item; the node ends its responses after 16 MiB of
// objects (and one object more), so this only stops a node that doesn't.
const maxObjectsResponse = 256 << 20

// errTooLarge is returned (wrapped) when a response is larger than the
// client reads.
var errTooLarge = errors.New("the response is larger than this client reads")

// limitedReader reads at most n bytes from r and then fails with
// errTooLarge, rather than ending quietly as io.LimitReader does (a cut
// response would then fail to parse with a misleading error, or parse as
// a shorter valid one).
type limitedReader struct {
	r io.Reader
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		// One byte more than allowed tells a full response from a cut
		// one.
		var b [1]byte
		for {
			n, err := l.r.Read(b[:])
			if n > 0 {
				return 0, errTooLarge
			}
			if err != nil {
				return 0, err
			}
		}
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// open sends GET path and returns the response of a 2xx status, whose
// body the caller closes; any other status is an error wrapping ErrHTTP
// with the start of the node's message (at most 200 bytes, no control
// characters) and the status's standard text (not the node's reason
// phrase, which can be megabytes).
func (c *Client) open(ctx context.Context, path string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(c.URL, "/")+path, nil)
	if err != nil {
		return nil, fmt.Errorf("couldn't build a request: %w", err)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("couldn't reach the node: %w", untrusted.ClipURLError(err))
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		msg := strings.TrimSpace(string(b))
		// A Parley node answers errors with a TAXII error object.
		var e struct{ Title, Description string }
		if json.Unmarshal(b, &e) == nil && e.Title != "" {
			msg = e.Title
			if e.Description != "" {
				msg += ": " + e.Description
			}
		}
		return nil, &HTTPError{Path: path, Code: resp.StatusCode, Message: untrusted.Text(msg, 200)}
	}
	return resp, nil
}

func (c *Client) get(ctx context.Context, path string) ([]byte, error) {
	return c.getMax(ctx, path, maxResponse)
}

// getMax is get reading at most max bytes.
func (c *Client) getMax(ctx context.Context, path string, max int64) ([]byte, error) {
	resp, err := c.open(ctx, path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(&limitedReader{r: resp.Body, n: max})
	if err != nil {
		return nil, fmt.Errorf("couldn't read %s: %w", path, err)
	}
	return body, nil
}

// maxCheckpoint bounds a checkpoint note the client reads: no reader
// takes a longer one ([MaxCheckpointNote]).
const maxCheckpoint = MaxCheckpointNote

// Checkpoint returns the latest signed checkpoint note (at most 1 MiB),
// unverified; it also fixes the tree size that [Client.Leaves] reads.
func (c *Client) Checkpoint(ctx context.Context) ([]byte, error) {
	b, err := c.getMax(ctx, "/log/checkpoint", maxCheckpoint)
	if err != nil {
		return nil, err
	}
	if text, err := SplitNote(b); err == nil {
		if cp, err := ParseCheckpoint(text); err == nil {
			c.size = cp.Size
		}
	}
	return b, nil
}

// SetTreeSize fixes the tree size that [Client.Leaves] reads, as
// [Client.Checkpoint] does: for a checkpoint read otherwise (the one of a
// GET /log/keys answer), once verified.
func (c *Client) SetTreeSize(size uint64) { c.size = size }

// Key returns the node's note verifier key as the node serves it (pin it:
// don't trust it anew each time); an answer over 64 KiB is an error.
func (c *Client) Key(ctx context.Context) (string, error) {
	b, err := c.getMax(ctx, "/log/key", 64<<10)
	return strings.TrimSpace(string(b)), err
}

// ReadTile fetches a hash tile or entry bundle, reading no more than the
// largest one of its width can be (t.Width hashes; t.Width entries of at
// most [MaxEntrySize] bytes, each with its 2-byte length).
func (c *Client) ReadTile(ctx context.Context, t Tile) ([]byte, error) {
	max := int64(t.Width) * HashSize
	if t.Entries {
		max = int64(t.Width) * (2 + MaxEntrySize)
	}
	return c.getMax(ctx, "/log/"+t.Path(), max)
}

// Leaves implements [AuditSource] by fetching entry bundles of the tree of
// the size of the last checkpoint read.
func (c *Client) Leaves(ctx context.Context, start, end uint64, fn func(index uint64, leaf []byte) error) error {
	for _, t := range TilesForSize(0, true, start, c.size) {
		first := t.N * TileWidth
		if first >= end {
			break
		}
		data, err := c.ReadTile(ctx, t)
		if err != nil {
			return err
		}
		leaves, err := ParseEntryBundle(data)
		if err != nil {
			return err
		}
		if len(leaves) != t.Width {
			return fmt.Errorf("%w: %s has %d entries", ErrMalformedTile, t.Path(), len(leaves))
		}
		for j, l := range leaves {
			i := first + uint64(j)
			if i < start || i >= end {
				continue
			}
			if err := fn(i, l); err != nil {
				return err
			}
		}
	}
	return nil
}

// LogObject is one item of GET /log/objects: an object the member may
// read, with its entry's index and opening.
type LogObject struct {
	LogIndex uint64 `json:"log_index"`
	Opening
	Object json.RawMessage `json:"object"`
}

// Objects implements [AuditSource] with GET /log/objects: only objects the
// member may read come back. Each response is read item by item, so memory
// is one object whatever the response's size, and a response the node
// ended early ("next") is continued where it stopped. A response is
// refused ([ErrObjectsBound]) at its first item that isn't of an entry
// asked for, after the item before it and before its "next": so fn is
// called at most end-start times in all, however many items a node sends.
func (c *Client) Objects(ctx context.Context, start, end uint64, fn func(index uint64, op Opening, object []byte) error) error {
	const span = 4096
	for s := start; s < end; {
		e := min(s+span, end)
		next, more, err := c.objectsPage(ctx, s, e, fn)
		if err != nil {
			return err
		}
		if !more {
			s = e
			continue
		}
		if next <= s || next > e {
			return fmt.Errorf("couldn't read /log/objects: the node said to continue at %d, outside %d–%d", next, s+1, e)
		}
		s = next
	}
	return nil
}

// objectsPage reads one GET /log/objects response, calling fn for each
// item as it is decoded; more is true when the response ended early, with
// the index to continue from in next.
func (c *Client) objectsPage(ctx context.Context, start, end uint64, fn func(index uint64, op Opening, object []byte) error) (next uint64, more bool, err error) {
	path := "/log/objects?start=" + strconv.FormatUint(start, 10) + "&end=" + strconv.FormatUint(end, 10)
	resp, err := c.open(ctx, path)
	if err != nil {
		return 0, false, err
	}
	defer resp.Body.Close()
	next, more, err = decodeObjects(&limitedReader{r: resp.Body, n: maxObjectsResponse}, start, end, fn)
	if err != nil {
		var fnErr callbackError
		if errors.As(err, &fnErr) {
			return 0, false, fnErr.err
		}
		return 0, false, fmt.Errorf("couldn't decode %s: %w", path, err)
	}
	return next, more, nil
}

// errCut is a /log/objects response that ends before its JSON does: the
// node aborted it (it failed after it began) or the connection broke.
var errCut = errors.New("the response ended before its end (the node aborted it, or the connection broke)")

// callbackError carries an error of the caller's fn through
// decodeObjects unchanged.
type callbackError struct{ err error }

func (e callbackError) Error() string { return e.err.Error() }

// ErrObjectsBound is returned (wrapped) for a GET /log/objects response
// that lists more objects than the entries it was asked for: one whose
// item is of an entry outside [start, end), or not after the item before
// it (the node lists at most one object per entry, in index order), or,
// with "next", of an entry at or past next. The response is refused at
// the first such item, decoded no further. Before, a response of tiny
// items (up to its 256 MiB bound: millions) was decoded whole and each
// item handed on, the items of a collection the caller skips unchecked.
var ErrObjectsBound = errors.New("the response lists more objects than the entries asked for")

// decodeObjects parses a GET /log/objects response for entries [start,
// end) from r item by item (memory: one item), calling fn for each; more
// is true when the response has "next", the index to continue from. Items
// must be of entries in [start, end) in strictly increasing order, so at
// most end-start of them (see [ErrObjectsBound]).
func decodeObjects(r io.Reader, start, end uint64, fn func(index uint64, op Opening, object []byte) error) (next uint64, more bool, err error) {
	dec := json.NewDecoder(r)
	bad := func(err error) (uint64, bool, error) {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			err = errCut
		}
		return 0, false, err
	}
	delim := func(want json.Delim) error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); !ok || d != want {
			return fmt.Errorf("want %q, got %v", want, tok)
		}
		return nil
	}
	if err := delim('{'); err != nil {
		return bad(err)
	}
	sawObjects := false
	items, last := 0, uint64(0) // last: the entry of the last item
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return bad(err)
		}
		switch tok {
		case "objects":
			if sawObjects {
				return bad(errors.New(`two "objects" lists`))
			}
			sawObjects = true
			if err := delim('['); err != nil {
				return bad(err)
			}
			for dec.More() {
				var o LogObject
				if err := dec.Decode(&o); err != nil {
					return bad(err)
				}
				switch i := o.LogIndex; {
				case i < start || i >= end:
					return bad(fmt.Errorf("%w: item %d is of entry %d, outside the %d entries %d–%d asked for", ErrObjectsBound, items+1, i, end-start, start, end))
				case items > 0 && i <= last:
					return bad(fmt.Errorf("%w: item %d is of entry %d, not after entry %d of the item before it (at most one object per entry, in index order: at most %d items)", ErrObjectsBound, items+1, i, last, end-start))
				case more && i >= next:
					return bad(fmt.Errorf("%w: item %d is of entry %d, and the response says to continue at %d", ErrObjectsBound, items+1, i, next))
				}
				items, last = items+1, o.LogIndex
				if len(o.Object) == 0 || o.Object[0] != '{' {
					return bad(fmt.Errorf("item %d has no object", o.LogIndex))
				}
				if err := fn(o.LogIndex, o.Opening, o.Object); err != nil {
					return 0, false, callbackError{err}
				}
			}
			if err := delim(']'); err != nil {
				return bad(err)
			}
		case "next":
			if more {
				return bad(errors.New(`two "next"`))
			}
			if err := dec.Decode(&next); err != nil {
				return bad(err)
			}
			more = true
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return bad(err)
			}
		}
	}
	if err := delim('}'); err != nil {
		return bad(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return bad(errors.New("data after the response"))
	}
	if !sawObjects {
		return bad(errors.New(`no "objects" list`))
	}
	if more && items > 0 && last >= next {
		// The node stopped before next: it sent nothing of next or after.
		return bad(fmt.Errorf("%w: an item is of entry %d, and the response says to continue at %d", ErrObjectsBound, last, next))
	}
	return next, more, nil
}

// KeysResponse is the node's answer to GET /log/keys: member key entries
// with inclusion proofs against one checkpoint.
type KeysResponse struct {
	TreeSize   uint64      `json:"tree_size"`
	Checkpoint string      `json:"checkpoint"`
	Events     []BundleKey `json:"events"`
	// Sequenced is the log's size, entries not yet in a checkpoint
	// included, when the node answered (a Parley node since it added the
	// field; 0 from one before): above TreeSize, a key registered or
	// rotated moments ago may be among the entries the next checkpoint
	// covers. Unproved (the node's word): only a reason to wait.
	Sequenced uint64 `json:"sequenced,omitempty"`
	// KeyIndex is the node's signed list of the indexes of every key
	// entry, up to the checkpoint, of the members asked for (of every
	// member when none was) ([KeyIndex]): what shows that Events leaves
	// none out. A Parley node since it added the field sends one.
	KeyIndex string `json:"key_index,omitempty"`
}

// Verify checks the response's checkpoint with the log key (and that it is
// of TreeSize), every event's inclusion, and replays the events, in log
// order, into a [KeyHistory]. When the response has a key index, it must
// be signed with the log key, of the checkpoint's tree, and list exactly
// the events shown of every member it shows ([Bundle.CheckKeyIndex]); a
// response without one (a node older than it) is verified as before: use
// [KeysResponse.VerifyComplete] where a left-out rotation or revocation
// matters.
func (r KeysResponse) Verify(v note.Verifier) (*KeyHistory, Checkpoint, error) {
	return r.verify(v, false, nil)
}

// VerifyComplete is [KeysResponse.Verify] requiring the key index, and
// listed in it each of members (the members asked for): it fails with
// [ErrKeyIndex] for a response whose events may not be the whole key
// history of those members up to the checkpoint.
func (r KeysResponse) VerifyComplete(v note.Verifier, members ...string) (*KeyHistory, Checkpoint, error) {
	return r.verify(v, true, members)
}

func (r KeysResponse) verify(v note.Verifier, complete bool, members []string) (*KeyHistory, Checkpoint, error) {
	cp, err := OpenCheckpoint([]byte(r.Checkpoint), v)
	if err != nil {
		return nil, cp, err
	}
	if cp.Size != r.TreeSize {
		return nil, cp, fmt.Errorf("%w: tree size %d isn't the checkpoint's %d", ErrProof, r.TreeSize, cp.Size)
	}
	if r.KeyIndex != "" || complete {
		b := Bundle{LogKey: v.Name(), Keys: r.Events, KeyIndex: r.KeyIndex}
		if err := b.checkKeyIndex(v, cp, members); err != nil {
			return nil, cp, err
		}
	}
	h, err := ReplayKeys(r.Events, cp)
	if err != nil {
		return nil, cp, fmt.Errorf("%w: %w", ErrProof, err)
	}
	return h, cp, nil
}

// Replay replays the events, in log order, into a [KeyHistory] WITHOUT
// checking the checkpoint or their inclusion: for lookups whose outcome is
// checked against the log later (such as finding one's own identity). Use
// [KeysResponse.Verify] for anything that must be true.
func (r KeysResponse) Replay() (*KeyHistory, error) {
	return replayKeys(r.Events, nil)
}

// Keys fetches the member key entries of the given members (every member's
// when none is given), unverified: use [KeysResponse.Verify].
func (c *Client) Keys(ctx context.Context, members ...string) (KeysResponse, error) {
	path := "/log/keys"
	if len(members) > 0 {
		path += "?" + url.Values{"member": members}.Encode()
	}
	b, err := c.get(ctx, path)
	if err != nil {
		return KeysResponse{}, err
	}
	var r KeysResponse
	if err := json.Unmarshal(b, &r); err != nil {
		return KeysResponse{}, fmt.Errorf("couldn't decode /log/keys: %w", err)
	}
	return r, nil
}

// Receipt fetches the receipt of one object version, read by its exact
// field names ([ParseReceipt]; unverified: use [Receipt.Verify] or
// [Receipt.VerifyObject]).
func (c *Client) Receipt(ctx context.Context, objectID, version string) (Receipt, error) {
	b, err := c.get(ctx, "/log/receipt?object="+url.QueryEscape(objectID)+"&version="+url.QueryEscape(version))
	if err != nil {
		return Receipt{}, err
	}
	r, _, err := ParseReceipt(b)
	if err != nil {
		return Receipt{}, fmt.Errorf("couldn't decode the receipt: %w", err)
	}
	return r, nil
}

// ConsistencyProof fetches the consistency proof between two tree sizes
// (unverified: use [VerifyConsistency]).
func (c *Client) ConsistencyProof(ctx context.Context, from, to uint64) ([]Hash, error) {
	b, err := c.get(ctx, fmt.Sprintf("/log/proof/consistency?from=%d&to=%d", from, to))
	if err != nil {
		return nil, err
	}
	var r ConsistencyResponse
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("couldn't decode the consistency proof: %w", err)
	}
	return r.Proof, nil
}

// Bundle fetches the proof bundle of every readable version of the objects
// (unverified: use [VerifyBundle]).
func (c *Client) Bundle(ctx context.Context, ids ...string) ([]byte, error) {
	q := url.Values{"object": ids}
	return c.get(ctx, "/log/bundle?"+q.Encode())
}

// PeerBundle returns the node's proof bundle, in its peer's log, of the
// object id it replicated into its collection (GET
// /peers/bundle?collection=ID&object=ID; docs/federation.md), unverified:
// check it with [VerifyBundle] against the peer's log key.
func (c *Client) PeerBundle(ctx context.Context, collection, id string) ([]byte, error) {
	q := url.Values{"collection": {collection}, "object": {id}}
	return c.get(ctx, "/peers/bundle?"+q.Encode())
}

// CheckpointsResponse is the node's answer to GET /log/checkpoints?start=N:
// its cosigned checkpoint notes of sizes ≥ N in increasing size order, and,
// when it stopped early, the size to continue from in Next.
type CheckpointsResponse struct {
	Checkpoints []string `json:"checkpoints"`
	Next        *uint64  `json:"next,omitempty"`
}

// CosignedCheckpoints implements [CosignedHistory] with GET
// /log/checkpoints, page by page; the notes are unverified ([Audit] and
// [CosignedTimes] check them).
//
// It reads the history of the tree of the last checkpoint read
// ([Client.Checkpoint]; without one, of the empty tree), so that what a
// node serves is bounded whatever it sends: a note of a larger tree (the
// log grew since; it can't be checked against the tree read) is skipped,
// paging stops at a "next" past that tree's size, and more notes than the
// tree has sizes (one cosigned checkpoint per size at most, and each
// unparsable one counts) fail. So fn is called at most size times, and at
// most size+1 pages of at most 64 MiB are read.
func (c *Client) CosignedCheckpoints(ctx context.Context, fn func(note []byte) error) error {
	passed := uint64(0)
	for start := uint64(0); ; {
		b, err := c.get(ctx, "/log/checkpoints?start="+strconv.FormatUint(start, 10))
		if err != nil {
			return err
		}
		var r CheckpointsResponse
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("couldn't decode /log/checkpoints: %w", err)
		}
		for _, n := range r.Checkpoints {
			if text, err := SplitNote([]byte(n)); err == nil {
				if cp, err := ParseCheckpoint(text); err == nil && cp.Size > c.size {
					continue // the log grew since the checkpoint read
				}
			}
			if passed++; passed > c.size {
				return fmt.Errorf("couldn't read /log/checkpoints: the node serves more than %d cosigned checkpoints of its tree of size %d", c.size, c.size)
			}
			if err := fn([]byte(n)); err != nil {
				return err
			}
		}
		if r.Next == nil || *r.Next > c.size {
			return nil
		}
		if *r.Next <= start {
			return fmt.Errorf("couldn't read /log/checkpoints: the node said to continue at %d, not after %d", *r.Next, start)
		}
		start = *r.Next
	}
}
