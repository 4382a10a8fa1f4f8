package node

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/internal/untrusted"
	"github.com/parley-exchange/parley/tlog"
)

// The log's HTTP API, for authenticated members (docs/log.md, "HTTP API"):
//
//	GET /log/checkpoint                      the latest signed checkpoint (C2SP tlog-checkpoint)
//	GET /log/key                             the node's note verifier key
//	GET /log/tile/<L>/<N>[.p/<W>]            hash tiles (C2SP tlog-tiles)
//	GET /log/tile/entries/<N>[.p/<W>]        entry bundles (C2SP tlog-tiles)
//	GET /log/receipt?object=ID&version=V     inclusion of one object version (readers of its collection only)
//	GET /log/proof/consistency?from=N&to=M   {"proof": [base64 hashes]}
//	GET /log/objects?start=N&end=M           the objects (with salts) of entries in [N, M) the member may read, for audits;
//	                                         at most MaxLogObjectsBytes per response, then "next": where to continue
//	GET /log/bundle?object=ID[&object=ID]    a proof bundle of every readable version of those objects
//	GET /log/keys[?member=ID...]             member key entries with inclusion proofs against the latest checkpoint
//	GET /log/checkpoints?start=N             the cosigned checkpoints of sizes ≥ N (log_time.go)
//
// The routes are rows of the route table (routes.go).

// ReceiptWait is how long GET /log/receipt waits for an acknowledged but
// not yet integrated entry before answering 503 with Retry-After.
const ReceiptWait = 2 * time.Second

// MaxLogObjects is the most entries one GET /log/objects may span.
const MaxLogObjects = 4096

// TileCacheSize is how many full hash tiles (with their inner hashes,
// about 16 KiB each) the log's HTTP handlers keep in memory to build
// proofs without rehashing.
const TileCacheSize = 1024

type logHandler struct {
	n     *Node
	tiles *tlog.TileCache
}

type memberHandler func(w http.ResponseWriter, r *http.Request, m store.Member, ls store.Store)

// withLog passes a log handler of the route table the node's store; the
// handler then ends with one call to writeJSON, writeBytes or
// respondError.
func (h *logHandler) withLog(next memberHandler) MemberHandler {
	return func(w http.ResponseWriter, r *http.Request, m store.Member) {
		next(w, r, m, h.n.store)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(v)
}

// writeBundle writes a proof bundle as JSON without HTML escaping. A
// bundle carries its objects' JSON as stored; escaped, each <, > and & in
// them would be written as six bytes (\u003c), so a bundle of objects full
// of them would take over six times their size to encode (34 times it in
// allocations, measured), beyond what bundleReservation reserves.
// Unescaped, an object's encoding is at most its stored size (compaction
// only drops whitespace). The response is JSON, not HTML, and nosniff
// keeps a browser from taking it for HTML.
func writeBundle(w http.ResponseWriter, b tlog.Bundle) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(b)
}

func writeBytes(w http.ResponseWriter, contentType, cache string, b []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", cache)
	w.Write(b)
}

func (h *logHandler) checkpoint(w http.ResponseWriter, r *http.Request, _ store.Member, ls store.Store) {
	size, note, err := ls.LatestCheckpoint(r.Context())
	if err != nil {
		respondError(w, r, err)
		return
	}
	writeBytes(w, "text/plain; charset=utf-8", "no-cache", withCosignatures(r.Context(), ls, size, note))
}

func (h *logHandler) key(w http.ResponseWriter, _ *http.Request, _ store.Member, _ store.Store) {
	writeBytes(w, "text/plain; charset=utf-8", "max-age=3600", []byte(h.n.vkey+"\n"))
}

func (h *logHandler) tile(w http.ResponseWriter, r *http.Request, _ store.Member, ls store.Store) {
	t, err := tlog.ParseTilePath(r.URL.Path[len("/log/"):])
	if err != nil {
		respondError(w, r, requestErrorf(store.ErrNotFound, "no such tile"))
		return
	}
	// Full tiles never change; partial ones are replaced by wider ones.
	// "private": the log is for authenticated members only, and a shared
	// cache may store a response to an authenticated request only when it
	// is marked public (RFC 9111 §3.5), which would serve it to anyone.
	cache := "private, max-age=31536000, immutable"
	if t.Width < tlog.TileWidth {
		cache = "no-cache"
	}
	if !t.Entries {
		data, err := ls.ReadTile(r.Context(), t)
		if err != nil {
			respondError(w, r, err)
			return
		}
		writeBytes(w, "application/octet-stream", cache, data)
		return
	}
	size, _, err := ls.LatestCheckpoint(r.Context())
	if err != nil {
		respondError(w, r, err)
		return
	}
	start := int64(t.N) * tlog.TileWidth
	end := start + int64(t.Width)
	if t.N > uint64(size)/tlog.TileWidth || end > size {
		respondError(w, r, requestErrorf(store.ErrNotFound, "entry bundle beyond the checkpoint"))
		return
	}
	es, err := h.n.store.Entries(r.Context(), start, end)
	if err != nil || int64(len(es)) != end-start {
		respondError(w, r, err)
		return
	}
	leaves := make([][]byte, len(es))
	for i, e := range es {
		leaves[i] = e.Leaf
	}
	b, err := tlog.MarshalEntryBundle(leaves)
	if err != nil {
		respondError(w, r, err)
		return
	}
	writeBytes(w, "application/octet-stream", cache, b)
}

func (h *logHandler) receipt(w http.ResponseWriter, r *http.Request, m store.Member, ls store.Store) {
	ctx := r.Context()
	id, vs := r.URL.Query().Get("object"), r.URL.Query().Get("version")
	version, err := time.Parse(time.RFC3339Nano, vs)
	if id == "" || err != nil {
		respondError(w, r, requestErrorf(store.ErrInvalid, "object and version (RFC 3339) are required"))
		return
	}
	rc, err := receipt(ctx, h.n, ls, m, id, version, ReceiptWait, h.tiles)
	switch {
	case err != nil:
		respondError(w, r, err)
	default:
		writeJSON(w, rc)
	}
}

// ErrNotIntegrated means the entry is sequenced (acknowledged) but no signed
// checkpoint covers it yet; retry shortly.
var ErrNotIntegrated = errors.New("entry not integrated yet")

// Receipt returns the receipt of one object version for member m: its
// entry, salt and inclusion proof in the latest checkpoint. A version in a
// collection m may not read is ErrNotFound, exactly like one that doesn't
// exist. An entry not yet integrated is waited for up to wait.
func Receipt(ctx context.Context, n *Node, ls store.Store, m store.Member, objectID string, version time.Time, wait time.Duration) (tlog.Receipt, error) {
	return receipt(ctx, n, ls, m, objectID, version, wait, n.tiles)
}

func receipt(ctx context.Context, n *Node, ls store.Store, m store.Member, objectID string, version time.Time, wait time.Duration, cache *tlog.TileCache) (tlog.Receipt, error) {
	cs, err := n.store.Collections(ctx)
	if err != nil {
		return tlog.Receipt{}, err
	}
	var e store.Entry
	var in string
	err = fmt.Errorf("couldn't find %s: %w", objectID, store.ErrNotFound)
	for _, c := range cs {
		if !c.CanRead(m.ID) {
			continue
		}
		if e, err = n.store.EntryFor(ctx, c.ID, objectID, version); err == nil {
			in = c.ID
			break
		}
		if !errors.Is(err, store.ErrNotFound) {
			return tlog.Receipt{}, err
		}
	}
	if err != nil {
		return tlog.Receipt{}, err
	}
	// Found under the lists read above: checked again, with the token,
	// while it waits and before it answers (held.go).
	return entryReceipt(ctx, ls, e, wait, cache, func(ctx context.Context) error { return n.mayStillRead(ctx, m, []string{in}) })
}

// EntryReceipt returns the receipt of one stored log entry (of any kind,
// such as a private set's key entry): its inclusion proof in the latest
// signed checkpoint, built from the stored tiles in O(log n). An entry not
// yet integrated is waited for up to wait (then [ErrNotIntegrated]). It does
// no access control: callers decide who may see the entry and its salt.
func EntryReceipt(ctx context.Context, ls store.Store, e store.Entry, wait time.Duration) (tlog.Receipt, error) {
	return entryReceipt(ctx, ls, e, wait, nil, nil)
}

// hashReader reads proof hashes from the stored tiles, through cache when
// there is one.
func hashReader(size int64, ls store.Store, cache *tlog.TileCache) tlog.HashReader {
	if cache == nil {
		return tlog.TileHashReader(uint64(size), ls)
	}
	return tlog.CachedTileHashReader(uint64(size), ls, cache)
}

func entryReceipt(ctx context.Context, ls store.Store, e store.Entry, wait time.Duration, cache *tlog.TileCache, check func(context.Context) error) (tlog.Receipt, error) {
	size, note, err := waitCovered(ctx, ls, e.Index, wait, check)
	if err != nil {
		return tlog.Receipt{}, err
	}
	hr := hashReader(size, ls, cache)
	p, err := tlog.InclusionProof(ctx, uint64(e.Index), uint64(size), hr)
	if err != nil {
		return tlog.Receipt{}, err
	}
	wc, err := firstWitnessed(ctx, ls, size, e.Index, hr)
	if err != nil {
		return tlog.Receipt{}, err
	}
	return tlog.Receipt{
		LogIndex: uint64(e.Index), TreeSize: uint64(size), Entry: e.Leaf, Opening: e.Opening(),
		InclusionProof: p, Checkpoint: string(note), Witnessed: wc,
	}, nil
}

// keys serves GET /log/keys[?member=ID...]: the member key entries (of
// those members, or of all) up to the latest checkpoint, each with its
// inclusion proof against it, and their signed key index (of every
// member, parley-key-index-all-v1, when none is named). Key events are
// in clear for every member.
func (h *logHandler) keys(w http.ResponseWriter, r *http.Request, _ store.Member, ls store.Store) {
	members := r.URL.Query()["member"]
	if len(members) > MaxBundleObjects {
		respondError(w, r, requestErrorf(store.ErrInvalid, fmt.Sprintf("name at most %d members", MaxBundleObjects)))
		return
	}
	// No member id is empty or has spaces or control characters (the
	// key index, one member a line, has no room for one): such a name is
	// the client's mistake, answered 400 before anything is read.
	for _, m := range members {
		if m == "" || strings.ContainsFunc(m, func(r rune) bool { return r <= ' ' }) {
			respondError(w, r, requestErrorf(store.ErrInvalid, fmt.Sprintf("member %q is no member id: an id is never empty and has no spaces or control characters", untrusted.Text(m, 64))))
			return
		}
	}
	size, note, err := ls.LatestCheckpoint(r.Context())
	if err != nil {
		respondError(w, r, err)
		return
	}
	events, err := h.n.keyEvidence(r.Context(), size, hashReader(size, ls, h.tiles), members...)
	if err != nil {
		respondError(w, r, err)
		return
	}
	// The entries sequenced beyond the checkpoint: a client that doesn't
	// find a key registered or rotated moments ago waits for the next
	// checkpoint only when there are some (parley opinion --key NEW).
	seq, err := ls.LogSize(r.Context())
	if err != nil {
		respondError(w, r, err)
		return
	}
	var index string
	if note != nil {
		if index, err = h.n.keyIndex(note, events, members, len(members) == 0); err != nil {
			respondError(w, r, err)
			return
		}
	}
	note = withCosignatures(r.Context(), ls, size, note)
	writeJSON(w, tlog.KeysResponse{TreeSize: uint64(size), Checkpoint: string(note), Events: events, Sequenced: uint64(max(seq, size)), KeyIndex: index})
}

func (h *logHandler) consistency(w http.ResponseWriter, r *http.Request, _ store.Member, ls store.Store) {
	q := r.URL.Query()
	from, err1 := strconv.ParseUint(q.Get("from"), 10, 63)
	to, err2 := strconv.ParseUint(q.Get("to"), 10, 63)
	if err1 != nil || err2 != nil || from == 0 || from > to {
		respondError(w, r, requestErrorf(store.ErrInvalid, "from and to must be tree sizes with 0 < from <= to"))
		return
	}
	size, _, err := ls.LatestCheckpoint(r.Context())
	if err != nil {
		respondError(w, r, err)
		return
	}
	if to > uint64(size) {
		respondError(w, r, requestErrorf(store.ErrInvalid, fmt.Sprintf("to is beyond the latest checkpoint (size %d)", size)))
		return
	}
	p, err := tlog.ConsistencyProof(r.Context(), from, to, hashReader(int64(to), ls, h.tiles))
	if err != nil {
		respondError(w, r, err)
		return
	}
	if p == nil {
		p = []tlog.Hash{}
	}
	writeJSON(w, tlog.ConsistencyResponse{Proof: p})
}

// MaxLogObjectsBytes bounds the objects of one GET /log/objects response:
// once that much is written, the response ends with "next", the entry
// index to continue from.
const MaxLogObjectsBytes = 16 << 20

// errStopObjects ends LogObjects early at MaxLogObjectsBytes.
var errStopObjects = errors.New("response full")

// objects serves GET /log/objects?start=N&end=M:
//
//	{"objects":[{"log_index":…,"salt":…,"collection":…,"object_id":…,"version":…,"member":…,"object":{…}},…],"next":K}
//
// with the objects of entries in [start, end) that the member may read,
// in index order. "next" is present only when the response stopped
// before end (after MaxLogObjectsBytes of objects): the client asks again
// from start=K. Objects are written as the store reads them, under a
// reservation of the node's response budget, so memory doesn't grow with
// the response; a failure once the response has begun aborts it (the
// client sees a truncated body, never a short list that looks complete).
func (h *logHandler) objects(w http.ResponseWriter, r *http.Request, m store.Member, ls store.Store) {
	q := r.URL.Query()
	start, err1 := strconv.ParseInt(q.Get("start"), 10, 64)
	end, err2 := strconv.ParseInt(q.Get("end"), 10, 64)
	if err1 != nil || err2 != nil || start < 0 || end < start {
		respondError(w, r, requestErrorf(store.ErrInvalid, "start and end must be entry indexes with 0 <= start <= end (both are required)"))
		return
	}
	if end-start > MaxLogObjects {
		respondError(w, r, requestErrorf(store.ErrInvalid, fmt.Sprintf("start and end must span at most %d entries", MaxLogObjects)))
		return
	}
	reservation := h.n.logObjectsReservation()
	release, ok := h.n.reserve(w, r, m, reservation)
	if !ok {
		return
	}
	defer release()
	// The lists are read once the reservation came, which may take a
	// while: a member whose read was taken meanwhile reads nothing of
	// that collection, least of all what was stored since (held.go).
	// The store reads in batches, with no transaction held between them:
	// entries past the log's size before the lists were read are not
	// read, for they may have been logged after a revocation that the
	// lists don't show yet. (They are not there for the client to ask
	// for anyway until a checkpoint covers them, which is later still.)
	size, err := h.n.store.LogSize(r.Context())
	if err != nil {
		respondError(w, r, err)
		return
	}
	end = max(start, min(end, size))
	cs, err := h.n.store.Collections(r.Context())
	if err != nil {
		respondError(w, r, err)
		return
	}
	ids := store.ReadableBy(cs, m.ID)
	readable := setOf(ids)

	rc := http.NewResponseController(w)
	defer rc.SetWriteDeadline(time.Time{}) // the connection may serve more requests
	send := func(b []byte) error {
		rc.SetWriteDeadline(time.Now().Add(WriteTimeout)) // unsupported by some writers: then none
		_, err := w.Write(b)
		return err
	}
	begun := false
	begin := func() error {
		if begun {
			return nil
		}
		begun = true
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		return send([]byte(`{"objects":[`))
	}
	// A slow reader holds the answer open (a write timeout for each
	// write, up to MaxLogObjectsBytes): every heldRecheck the token and
	// the lists are read again, so that nothing of a collection whose
	// read is taken meanwhile, and nothing at all once the token is
	// revoked, is sent after (held.go).
	checked := time.Now()
	recheck := func(ctx context.Context) error {
		if err := reauthenticate(ctx); err != nil {
			return err
		}
		cs, err := h.n.store.Collections(ctx)
		if err != nil {
			return err
		}
		// Only ever narrowed: a read granted meanwhile waits for the
		// next request.
		now := setOf(store.ReadableBy(cs, m.ID))
		for id := range readable {
			readable[id] = now[id]
		}
		return nil
	}
	var sent int64
	var next int64 = -1
	var head []byte
	// The store reads only the readable collections' objects: the time
	// the answer takes doesn't depend on the others.
	err = ls.LogObjects(r.Context(), start, end, ids, func(i int64, op tlog.Opening, raw []byte) error {
		if sent >= MaxLogObjectsBytes {
			next = i
			return errStopObjects
		}
		if time.Since(checked) >= heldRecheck {
			if err := recheck(r.Context()); err != nil {
				return err
			}
			checked = time.Now()
		}
		if !readable[op.Collection] {
			// The store keeps to ids already; the node checks again
			// what it answers for, so that a store's bug can't leak.
			return nil
		}
		if err := begin(); err != nil {
			return err
		}
		// The item without its object, then the object verbatim.
		item, err := json.Marshal(tlog.LogObject{LogIndex: uint64(i), Opening: op})
		if err != nil {
			return err
		}
		item = bytes.TrimSuffix(item, []byte(`"object":null}`))
		head = head[:0]
		if sent > 0 {
			head = append(head, ',')
		}
		head = append(append(head, item...), `"object":`...)
		if err := send(head); err != nil {
			return err
		}
		if err := send(raw); err != nil {
			return err
		}
		sent += int64(len(raw)) + 1
		return send([]byte{'}'})
	})
	if err != nil && !errors.Is(err, errStopObjects) {
		if !begun {
			respondError(w, r, err)
			return
		}
		// The 200 and part of the list are gone: abort, so that the
		// client can't take the part for the whole.
		panic(http.ErrAbortHandler)
	}
	if err := begin(); err != nil {
		panic(http.ErrAbortHandler)
	}
	tail := []byte("]")
	if next >= 0 {
		tail = fmt.Appendf(tail, `,"next":%d`, next)
	}
	send(append(tail, "}\n"...))
}

// MaxBundleObjects is the most object ids one GET /log/bundle may name.
const MaxBundleObjects = 100

// bundle serves GET /log/bundle?object=ID[&object=ID...]: a proof bundle
// of every version of those objects that the member may read, all proved
// against one checkpoint. An id the member can't read is 404 like an
// unknown one.
func (h *logHandler) bundle(w http.ResponseWriter, r *http.Request, m store.Member, ls store.Store) {
	ids := r.URL.Query()["object"]
	if len(ids) == 0 || len(ids) > MaxBundleObjects {
		respondError(w, r, requestErrorf(store.ErrInvalid, fmt.Sprintf("name 1 to %d objects with object=ID", MaxBundleObjects)))
		return
	}
	cs, err := h.n.store.Collections(r.Context())
	if err != nil {
		respondError(w, r, err)
		return
	}
	// The proofs are against the latest checkpoint: at most the log's
	// size now, or a few entries more by the time they are built.
	treeSize, err := h.n.store.LogSize(r.Context())
	if err != nil {
		respondError(w, r, err)
		return
	}
	reservation, err := h.n.bundleReservation(r.Context(), cs, m, ids, bundleTree{size: treeSize, cached: h.tiles != nil})
	if err != nil {
		respondError(w, r, err)
		return
	}
	release, ok := h.n.reserve(w, r, m, reservation)
	if !ok {
		return
	}
	defer release()
	b, err := proofBundle(r.Context(), h.n, ls, m, ids, ReceiptWait, h.tiles)
	switch {
	case err != nil:
		respondError(w, r, err)
	default:
		writeBundle(w, b)
	}
}

// ProofBundle builds the proof bundle of every version of the objects ids
// that member m may read, against the latest checkpoint (waiting up to
// wait for entries not yet integrated). An id with no readable version is
// ErrNotFound.
func ProofBundle(ctx context.Context, n *Node, ls store.Store, m store.Member, ids []string, wait time.Duration) (tlog.Bundle, error) {
	return proofBundle(ctx, n, ls, m, ids, wait, n.tiles)
}

func proofBundle(ctx context.Context, n *Node, ls store.Store, m store.Member, ids []string, wait time.Duration, cache *tlog.TileCache) (tlog.Bundle, error) {
	b := tlog.Bundle{Type: tlog.BundleType, LogKey: n.vkey}
	cs, err := n.store.Collections(ctx)
	if err != nil {
		return b, err
	}
	var objs []store.Object
	for _, id := range ids {
		found := false
		for _, c := range cs {
			if !c.CanRead(m.ID) {
				continue
			}
			for after := int64(0); ; {
				page, err := n.store.Objects(ctx, store.Query{Collection: c.ID, IDs: []string{id},
					Versions: []store.VersionSelector{{Kind: store.VersionAll}}, After: after, Limit: 1000})
				if err != nil {
					return b, err
				}
				objs = append(objs, page.Objects...)
				found = found || len(page.Objects) > 0
				if !page.More || len(page.Objects) == 0 {
					break
				}
				after = page.Objects[len(page.Objects)-1].Seq
			}
		}
		if !found {
			return b, fmt.Errorf("couldn't find %s: %w", id, store.ErrNotFound)
		}
	}
	colls := make([]string, len(objs))
	for i, o := range objs {
		colls[i] = o.Collection
	}
	return n.bundleOf(ctx, ls, objs, wait, cache, func(ctx context.Context) error { return n.mayStillRead(ctx, m, colls) })
}

// setOf returns ids as a set.
func setOf(ids []string) map[string]bool {
	set := make(map[string]bool, len(ids))
	for _, id := range ids {
		set[id] = true
	}
	return set
}
