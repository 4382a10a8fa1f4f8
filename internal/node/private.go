package node

// Private sets (docs/private.md; package private): a member
// publishes an OPRF set of its indicator values, readers of the set's
// collection query it with blinded values.
//
// # What each side learns
//
// The node evaluates on the provider's behalf, so "provider" below means
// the provider's member and the node operator together.
//
//   - The provider learns, per reader and set, how many elements the
//     reader had evaluated (the budget counter, stored) and when each
//     request arrived and how large it was (visible while serving, never
//     stored or logged by this code). It learns nothing about the values:
//     a blinded element is a uniformly random group element, independent
//     of the value, and the answer is computed without knowing which
//     values matched. It does not learn the results: matching happens on
//     the querier's machine against the published tags.
//   - The querier learns, for each value it submits, whether that value
//     is in the set (up to the false-positive rate of 64-bit tags, see
//     private.TagSize), and the set's size. Tags of values it never
//     submitted are pseudorandom to it: it cannot test a value without
//     spending budget, which is what bounds a dictionary sweep of small
//     spaces such as IPv4.
//   - Both learn nothing else. Every evaluation carries a DLEQ proof
//     against the set's public key, which is committed in the node's log
//     (an oprf-key entry), so the node cannot answer different readers
//     under different keys without leaving signed evidence.
//
// # What is stored and logged
//
// Never: a blinded element, an evaluated element, a proof, a queried
// value or a match result. The request logger of the node records method,
// path (which holds only the set id) and status. Stored: the sets, their
// OPRF private keys (secret, like node.key), the tags, the provider's own
// indicator lines (collection sets only; those values are already stored
// as the indicators themselves) and per-(set, reader) budget counters.
// Logged: a set's key (oprf-key entry) and its withdrawal (oprf-withdrawal
// entry), both salted commitments; of a withdrawn set the node keeps its
// public description and who could read it then, to serve them its
// receipt (withdraw, receipt), never its private key.

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/internal/untrusted"
	"github.com/parley-exchange/parley/private"
	"github.com/parley-exchange/parley/taxii"
	"github.com/parley-exchange/parley/tlog"
)

// PrivateConfig is the "private" object of config.json.
type PrivateConfig struct {
	// QueryBudget is the most elements one reader may have evaluated
	// against one set, over the set's life. Finite by default (10,000)
	// because a budget is what stops a reader from sweeping a small space
	// (all of IPv4 is only 2^32 values). A negative value refuses all
	// queries.
	QueryBudget int64 `json:"query_budget,omitempty"`
	// MaxBatch is the most elements in one evaluation request. Default
	// 1,000, at most private.MaxBatch.
	MaxBatch int `json:"max_batch,omitempty"`
	// RefreshInterval is how often sets built from a collection follow
	// new and revoked indicators in the background (they are also
	// refreshed whenever their tags or description are read). Default 5s.
	RefreshInterval Duration `json:"refresh_interval,omitempty"`
	// MaxValues is the most values in one publication (POST /private/sets
	// with "values"): a body with more is refused with 413 as it is read,
	// before any value is evaluated. Each value costs about 75 µs of one
	// CPU (docs/benchmarks.md), so the default, 1,000,000, is about 75
	// CPU-seconds.
	MaxValues int `json:"max_values,omitempty"`
	// MaxSetsPerMember is the most private sets one member may have: a
	// publication beyond it is refused with 507 before any value is
	// evaluated, and nothing is stored. It bounds what listing the sets
	// (GET /private/sets, the web UI's page) costs, whatever a member
	// publishes. Default 100.
	MaxSetsPerMember int `json:"max_sets_per_member,omitempty"`
	// Workers is the most CPUs the node keeps busy at once evaluating the
	// OPRF for private sets: publications, refreshes of sets made from a
	// collection and readers' evaluations together. Work beyond it waits
	// its turn, the member keeping fewest busy first, then in order of
	// arrival, one chunk of 256 values (or one
	// evaluation request) at a time, so that a large publication
	// interleaves with other work instead of holding the CPUs until it
	// ends. Default half the CPUs (GOMAXPROCS), at least 1.
	Workers int `json:"workers,omitempty"`
	// PublishMemory is the budget, in bytes, of the memory of all
	// publications in flight. Each reserves, before it reads its body,
	// what it may hold (see [publishReservation]: 6 bytes a byte of its
	// body plus 112 bytes a value, doubled for garbage). One member holds
	// at most half of it; one publication needing more is counted as
	// half, so two such may hold twice the largest reservation. The rest
	// wait their turn (see memoryBudget), up to 30 s, then 503 with
	// Retry-After. A publication without values (a set made from
	// the collection) reads the member's stored indicators instead, which
	// member_quota_bytes bounds, not this budget. Default 256 MiB.
	PublishMemory int64 `json:"publish_memory_bytes,omitempty"`
	// RequireSignedWithdrawals, when true, refuses with 403 a withdrawal
	// (DELETE /private/sets/{id}) that its provider didn't sign with its
	// member key (an empty body: an older client's, or parley private
	// withdraw without --key), and one by a provider with no member key,
	// changing nothing; a signed withdrawal is checked as always. A
	// member who may not read the set is still answered 404 and a reader
	// who isn't the provider 403, before the statement is looked at. It
	// binds the API only: the operator, who can write the store, can
	// still log a withdrawal unsigned, which readers are shown as the
	// node's word (docs/private.md, "Who withdrew it"). Default false:
	// unsigned withdrawals are taken.
	RequireSignedWithdrawals bool `json:"require_signed_withdrawals,omitempty"`
}

// Defaults of [PrivateConfig]; the default of Workers is
// [defaultPrivateWorkers].
const (
	DefaultPrivateQueryBudget   = 10000
	DefaultPrivateMaxBatch      = 1000
	DefaultPrivateRefresh       = 5 * time.Second
	DefaultPrivateMaxValues     = 1000000
	DefaultPrivateMaxSets       = 100
	DefaultPrivatePublishMemory = 256 << 20
)

// defaultPrivateWorkers returns the default of PrivateConfig.Workers:
// half the CPUs Go uses, at least 1, so that private-set work alone
// never takes every CPU from the node's other requests.
func defaultPrivateWorkers() int { return max(1, runtime.GOMAXPROCS(0)/2) }

// LoadPrivateConfig reads the "private" object of DIR/config.json (absent
// means the defaults) and applies the defaults.
func LoadPrivateConfig(dir string) (PrivateConfig, error) {
	var c struct {
		Private PrivateConfig `json:"private"`
	}
	b, err := untrusted.ReadFile(filepath.Join(dir, ConfigFile), maxConfigSz)
	if err != nil {
		return PrivateConfig{}, fmt.Errorf("couldn't read the configuration: %w", err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return PrivateConfig{}, fmt.Errorf("couldn't parse %s: %w", ConfigFile, err)
	}
	p := c.Private
	if p.QueryBudget == 0 {
		p.QueryBudget = DefaultPrivateQueryBudget
	}
	if p.MaxBatch <= 0 {
		p.MaxBatch = DefaultPrivateMaxBatch
	}
	p.MaxBatch = min(p.MaxBatch, private.MaxBatch)
	if p.RefreshInterval <= 0 {
		p.RefreshInterval = Duration(DefaultPrivateRefresh)
	}
	return p.withLimitDefaults(), nil
}

// withLimitDefaults returns c with its zero work limits (MaxValues,
// MaxSetsPerMember, Workers, PublishMemory) set to their defaults.
func (c PrivateConfig) withLimitDefaults() PrivateConfig {
	if c.MaxValues <= 0 {
		c.MaxValues = DefaultPrivateMaxValues
	}
	if c.MaxSetsPerMember <= 0 {
		c.MaxSetsPerMember = DefaultPrivateMaxSets
	}
	if c.Workers <= 0 {
		c.Workers = defaultPrivateWorkers()
	}
	if c.PublishMemory <= 0 {
		c.PublishMemory = DefaultPrivatePublishMemory
	}
	return c
}

// privateAPI holds the private-set handlers' state for one node.
type privateAPI struct {
	n     *Node
	st    store.PrivateSets
	cfgMu sync.Mutex
	cfg   *PrivateConfig
	// cpu bounds the CPUs busy with OPRF work (cfg.Workers) and pubMem
	// the memory of publications in flight (cfg.PublishMemory); both are
	// made with cfg. Their holders are members: the one publishing or
	// evaluating, or for a refresh the set's provider.
	cpu    sharedGate
	pubMem *memoryBudget

	syncMu sync.Mutex // serialises set refreshes

	provMu    sync.Mutex
	providers map[string]*private.Provider

	// evaluated, when set (tests), is called by an evaluation once its
	// batch is evaluated, before the set is checked again and the answer
	// sent.
	evaluated func(setID string)
}

// newPrivateAPI makes the private-set state of a node as it opens.
func newPrivateAPI(n *Node) *privateAPI {
	return &privateAPI{n: n, st: n.store, providers: map[string]*private.Provider{}}
}

// privateAPI returns the node's private-set state.
func (n *Node) privateAPI() *privateAPI { return n.private }

func (a *privateAPI) config() (PrivateConfig, error) {
	c, _, _, err := a.limits()
	return c, err
}

// limits returns the configuration with the CPU gate and the publication
// memory budget it sizes.
func (a *privateAPI) limits() (PrivateConfig, sharedGate, *memoryBudget, error) {
	a.cfgMu.Lock()
	defer a.cfgMu.Unlock()
	if a.cfg == nil {
		c, err := LoadPrivateConfig(a.n.dir)
		if err != nil {
			return c, nil, nil, err
		}
		a.setConfigLocked(c)
	}
	return *a.cfg, a.cpu, a.pubMem, nil
}

// setConfig replaces the configuration (tests): zero limits take their
// defaults, and the gates are made anew.
func (a *privateAPI) setConfig(c PrivateConfig) {
	a.cfgMu.Lock()
	defer a.cfgMu.Unlock()
	a.setConfigLocked(c.withLimitDefaults())
}

func (a *privateAPI) setConfigLocked(c PrivateConfig) {
	a.cfg = &c
	a.cpu = newWorkerGate(c.Workers)
	a.pubMem = newMemoryBudget(c.PublishMemory)
}

// Errors of the private-set API, mapped to HTTP statuses in errorKinds.
var (
	errPrivateForbidden = errors.New("forbidden")
)

func privateJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// readableSet returns set id if m may read it (a reader of its
// collection, or its provider), and otherwise fails with
// store.ErrNotFound, as for an unknown id. Access is decided from the
// set's collection and member alone, before the set is read: reading it
// counts its tags, which would make the answer about a hidden set take
// longer the larger it is.
func (a *privateAPI) readableSet(ctx context.Context, m store.Member, id string) (store.PrivateSet, error) {
	_, _, rd, err := a.setAccess(ctx, m, id)
	if err != nil {
		return store.PrivateSet{}, err
	}
	if !rd {
		return store.PrivateSet{}, fmt.Errorf("private set %s: %w", id, store.ErrNotFound)
	}
	return a.st.PrivateSet(ctx, id)
}

// noSetCollection is the collection whose access [privateAPI.setAccess]
// looks up for an unknown set id: the nil UUID, which no collection has
// (AddCollection makes random UUIDs), though the answer is unused anyway.
var noSetCollection = uuid.Nil.String()

// setAccess returns the collection and provider of private set id and
// whether m may read it (a reader of its collection, or its provider),
// with store.ErrNotFound for an unknown id. Either way it makes the same
// two store calls: the set's owner, then m's access to a collection (the
// set's, or for an unknown id [noSetCollection]), so that a member's 404
// about a set it may not read is the same work as about one that doesn't
// exist, and its time doesn't tell that the set exists. The access is one
// indexed lookup, not the collection's access lists, whose length would
// show in the time of the answer too.
func (a *privateAPI) setAccess(ctx context.Context, m store.Member, id string) (coll, provider string, readable bool, err error) {
	coll, provider, err = a.st.PrivateSetOwner(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		if _, _, aerr := a.n.store.Access(ctx, noSetCollection, m.ID); aerr != nil && !errors.Is(aerr, store.ErrNotFound) {
			return "", "", false, aerr
		}
		return "", "", false, err
	}
	if err != nil {
		return "", "", false, err
	}
	rd, _, err := a.n.store.Access(ctx, coll, m.ID)
	if err != nil {
		return "", "", false, err
	}
	return coll, provider, rd || provider == m.ID, nil
}

// stillReadable checks again, for a request held open or about to
// answer, that its token still authenticates m and that m may still read
// set id (held.go): errUnauthorized or errAccessChanged if not.
func (a *privateAPI) stillReadable(ctx context.Context, m store.Member, id string) error {
	if err := reauthenticate(ctx); err != nil {
		return err
	}
	// The set's owner and m's access, not the set itself
	// (readableSet): reading it counts its tags, and a stream checks
	// again at each page, a held request every heldRecheck.
	_, _, rd, err := a.setAccess(ctx, m, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && !rd {
		return errAccessChanged
	}
	return err
}

func (a *privateAPI) info(ctx context.Context, m store.Member, s store.PrivateSet) (private.SetInfo, error) {
	cfg, err := a.config()
	if err != nil {
		return private.SetInfo{}, err
	}
	used, err := a.st.PrivateBudgetUsed(ctx, s.ID, m.ID)
	if err != nil {
		return private.SetInfo{}, err
	}
	return private.SetInfo{
		ID: s.ID, Suite: s.Suite, PublicKey: s.PublicKey, Size: s.Size, KeyLogIndex: s.KeyLogIndex,
		Collection: s.Collection, Provider: s.Member, Source: string(s.Source), Created: s.Created.UTC(),
		Budget:   &private.Budget{Limit: max(cfg.QueryBudget, 0), Left: max(cfg.QueryBudget-used, 0)},
		MaxBatch: cfg.MaxBatch,
	}, nil
}

// refreshedInfo brings set id up to date (see [privateAPI.refresh]) and
// describes it to member m as it stands after the refresh. It does not
// check that m may read the set: callers do, with [privateAPI.readableSet].
func (a *privateAPI) refreshedInfo(ctx context.Context, m store.Member, id string) (private.SetInfo, error) {
	if err := a.refresh(ctx, id); err != nil {
		return private.SetInfo{}, err
	}
	s, err := a.st.PrivateSet(ctx, id)
	if err != nil {
		return private.SetInfo{}, err
	}
	return a.info(ctx, m, s)
}

// decodeRequest decodes the JSON request body of r into v, strictly: a
// field v doesn't have (a misspelt name would otherwise be dropped, and
// the request mean something else) or data after the object is an error
// wrapping store.ErrInvalid, a body over limit bytes one wrapping
// store.ErrTooLarge, and one that didn't arrive in time errBodyTimeout.
func decodeRequest(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = errors.New("data after the request")
			if terr != nil && !errors.As(terr, new(*json.SyntaxError)) {
				err = terr
			}
		}
	}
	var tooBig *http.MaxBytesError
	switch {
	case err == nil, errors.Is(err, errBodyTimeout):
		return err
	case errors.As(err, &tooBig):
		return fmt.Errorf("the request is larger than %d bytes: %w", limit, store.ErrTooLarge)
	}
	return fmt.Errorf("couldn't parse the request: %v: %w", err, store.ErrInvalid)
}

// maxPublishBody bounds POST /private/sets (a values list).
const maxPublishBody = 64 << 20

// privateWait is how long a private-set request waits for its memory
// reservation or its turn on the CPUs before it is answered 503 with
// Retry-After (a variable for tests).
var privateWait = budgetWait

// errPrivateBusy: the publication memory or the private-set CPUs stayed
// taken for privateWait (503 with Retry-After).
var errPrivateBusy = errors.New("the node is busy with other private-set work")

// publishReservation is what a publication of a body of size bytes
// reserves from PrivateConfig.PublishMemory before it reads the body,
// with at most maxValues values. The body is decoded a value at a time
// (see [decodePublish]) and only the values' canonical lines are kept. Per
// byte of the body, 6: the decoder's buffer, which holds the value being
// read and grows by doubling (2: one value may be the whole body), the
// value as decoded (1), and the canonical lines (3: a non-ASCII byte of a
// URL becomes %XX). Per value, 112 bytes: the string headers of the lines
// as their list grows (32), the tag as computed, sorted and listed again
// (24) and the store's row (56). A valid value takes at least 8 bytes of
// JSON (`"url:a:"`), which bounds the count by the size. The budget
// doubles the whole for the garbage.
func publishReservation(size int64, maxValues int) int64 {
	values := min(int64(maxValues), size/minValueJSON+1)
	return 6*size + 112*values + reserveSlack
}

// minValueJSON is the fewest bytes of JSON a valid value takes: the
// shortest line private.ParseLine accepts, "url:a:", in quotes.
const minValueJSON = 8

// publishBody is a decoded POST /private/sets: the collection and the
// canonical lines of the values (none: a set made from the collection).
type publishBody struct {
	collection string
	lines      []string
}

// decodePublish decodes a publication from r's body, at most limit bytes,
// one token at a time: each value is checked and normalised as it is read
// ([private.ParseLine]) and only its canonical line is kept, so that the
// body is never held whole and a bad value or the value past maxValues
// stops the reading at once. Its errors are those of [decodeRequest],
// and for a value past maxValues a [taxii.RequestError] of kind
// store.ErrTooLarge, for an invalid value one of kind store.ErrInvalid
// that names its position.
func decodePublish(w http.ResponseWriter, r *http.Request, limit int64, maxValues int) (publishBody, error) {
	var out publishBody
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	err := func() error {
		if tok, err := dec.Token(); err != nil {
			return err
		} else if tok != json.Delim('{') {
			return errors.New("the request is not a JSON object")
		}
		seen := map[string]bool{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			key, _ := tok.(string)
			if seen[key] {
				return fmt.Errorf("field %q given twice", key)
			}
			seen[key] = true
			switch key {
			case "collection":
				if err := dec.Decode(&out.collection); err != nil {
					return err
				}
			case "values":
				if out.lines, err = decodeValues(dec, maxValues); err != nil {
					return err
				}
			default:
				return fmt.Errorf("json: unknown field %q", key)
			}
		}
		if _, err := dec.Token(); err != nil { // the closing brace
			return err
		}
		if _, err := dec.Token(); err != io.EOF {
			if err == nil || errors.As(err, new(*json.SyntaxError)) {
				return errors.New("data after the request")
			}
			return err
		}
		return nil
	}()
	var tooBig *http.MaxBytesError
	var re *taxii.RequestError
	switch {
	case err == nil, errors.Is(err, errBodyTimeout), errors.As(err, &re):
		return out, err
	case errors.As(err, &tooBig):
		return out, fmt.Errorf("the request is larger than %d bytes: %w", limit, store.ErrTooLarge)
	}
	return out, fmt.Errorf("couldn't parse the request: %v: %w", err, store.ErrInvalid)
}

// decodeValues decodes the "values" list of a publication (null: none)
// into canonical lines; see [decodePublish].
func decodeValues(dec *json.Decoder, maxValues int) ([]string, error) {
	tok, err := dec.Token()
	if err != nil || tok == nil {
		return nil, err
	}
	if tok != json.Delim('[') {
		return nil, errors.New(`"values" is not a list of strings`)
	}
	var lines []string
	for dec.More() {
		if len(lines) >= maxValues {
			return nil, requestErrorf(store.ErrTooLarge, fmt.Sprintf("the publication holds more than %d values, the most this node accepts in one (private.max_values): publish fewer values", maxValues))
		}
		var v string
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("values[%d]: %w", len(lines), err)
		}
		_, _, canon, err := private.ParseLine(v)
		if err != nil {
			return nil, requestErrorf(store.ErrInvalid, fmt.Sprintf("value %d: %v", len(lines)+1, err))
		}
		lines = append(lines, canon)
	}
	_, err = dec.Token() // the closing bracket
	return lines, err
}

// publish handles POST /private/sets: a writer of the collection makes a
// set from its indicators there, or from the values it sends. Before it
// reads the body it reserves the memory the publication may hold
// ([publishReservation], from its Content-Length, or from maxPublishBody
// when the client doesn't say); its OPRF work then takes turns on the
// node's private-set CPUs (PrivateConfig.Workers) and stops when the
// client goes. A refused or abandoned publication stores nothing.
func (a *privateAPI) publish(w http.ResponseWriter, r *http.Request, m store.Member) {
	ctx := r.Context()
	cfg, _, mem, err := a.limits()
	if err != nil {
		respondError(w, r, err)
		return
	}
	tooLarge := requestErrorf(store.ErrTooLarge, fmt.Sprintf("the request is larger than %d MiB: publish fewer values", maxPublishBody>>20))
	size := r.ContentLength
	if size > maxPublishBody {
		respondError(w, r, tooLarge)
		return
	}
	if size < 0 {
		size = maxPublishBody
	}
	reservation := publishReservation(size, cfg.MaxValues)
	wctx, cancel := context.WithTimeout(ctx, privateWait)
	err = mem.Acquire(wctx, m.ID, reservation)
	cancel()
	if err != nil {
		respondError(w, r, errPrivateBusy)
		return
	}
	defer mem.Release(m.ID, reservation)
	req, err := decodePublish(w, r, size, cfg.MaxValues)
	if err != nil {
		var re *taxii.RequestError
		if errors.Is(err, store.ErrTooLarge) && !errors.As(err, &re) {
			err = tooLarge
		}
		respondError(w, r, err)
		return
	}
	// Access first, by one indexed lookup: a collection the member may
	// not see is not read, so its 404 takes no longer the longer its
	// access lists are.
	var c store.Collection
	rd, wr, err := a.n.store.Access(ctx, req.collection, m.ID)
	if err == nil && (rd || wr) {
		c, err = a.n.store.Collection(ctx, req.collection)
	}
	if err != nil || (!c.CanRead(m.ID) && !c.CanWrite(m.ID)) {
		respondError(w, r, fmt.Errorf("collection %q: %w", req.collection, store.ErrNotFound))
		return
	}
	if !c.CanWrite(m.ID) {
		respondError(w, r, fmt.Errorf("%w: only a writer of the collection may publish a private set for it", errPrivateForbidden))
		return
	}
	set, err := a.create(ctx, m, c, req.lines)
	var qe *store.QuotaError
	var le *store.SetLimitError
	switch {
	case errors.As(err, &qe):
		err = requestErrorf(store.ErrQuota, fmt.Sprintf("your objects and private sets use %d of your %d bytes of storage (member_quota_bytes) and this set needs %d more: nothing was stored", qe.Used, qe.Quota, qe.Need))
	case errors.As(err, &le):
		err = requestErrorf(store.ErrQuota, fmt.Sprintf("you have %d private sets, the most this node keeps for one member (private.max_sets_per_member): nothing was stored", le.Have))
	}
	if err != nil {
		respondError(w, r, err)
		return
	}
	out, err := a.info(ctx, m, set)
	if err != nil {
		respondError(w, r, err)
		return
	}
	privateJSON(w, http.StatusCreated, out)
}

// create makes a set: a fresh key, its oprf-key log entry, and the tags
// of lines, canonical (or, with none, of the member's indicators in c, at most
// PrivateConfig.MaxValues of them), all stored in one transaction once
// the tags are computed: an error, or ctx ending, leaves nothing. It
// sorts lines and drops their duplicates in place.
func (a *privateAPI) create(ctx context.Context, m store.Member, c store.Collection, lines []string) (store.PrivateSet, error) {
	n := a.n
	cfg, cpu, _, err := a.limits()
	if err != nil {
		return store.PrivateSet{}, err
	}
	maxValues := cfg.MaxValues
	// Refused before any work (the store checks again as it stores): a
	// set over the member's count, a second set made from c, a set over
	// its quota.
	have, fromColl, err := a.st.PrivateSetCounts(ctx, m.ID, c.ID)
	if err != nil {
		return store.PrivateSet{}, err
	}
	if have >= cfg.MaxSetsPerMember {
		return store.PrivateSet{}, &store.SetLimitError{Member: m.ID, Have: have, Most: cfg.MaxSetsPerMember}
	}
	if len(lines) == 0 && fromColl > 0 {
		return store.PrivateSet{}, requestErrorf(store.ErrConflict, "you have a private set made from this collection already: it follows your indicators there; publish values instead, or use that set")
	}
	// A values set's cost is known now, at most: a tag a distinct value.
	// The lines are canonical (private.ParseLine), so values equal once
	// normalised are one line here, as they are one tag in the set; two
	// distinct lines may share a tag, never the reverse, so the estimate
	// is never below what the store charges (store.PrivateSetBytes).
	// Sorted and compacted in place: no memory beyond the lines the
	// publication reserved, and no tag is computed for a duplicate.
	slices.Sort(lines)
	lines = slices.Compact(lines)
	if err := a.withinQuota(ctx, m, int64(store.PrivateSetOverhead+private.TagSize*len(lines))); err != nil {
		return store.PrivateSet{}, err
	}
	key, err := private.GenerateKey(n.rand)
	if err != nil {
		return store.PrivateSet{}, err
	}
	prov := private.NewProvider(key, n.rand)
	tagger := prov.WithGate(heldBy(cpu, m.ID))
	u, err := uuid.NewRandomFromReader(n.rand)
	if err != nil {
		return store.PrivateSet{}, err
	}
	now := n.now().UTC()
	ps := store.PrivateSet{
		ID: "private-set--" + u.String(), Member: m.ID, Collection: c.ID, Source: store.PrivateSourceCollection,
		Suite: private.SuiteID, PrivateKey: key.Bytes(), PublicKey: key.Public().Bytes(), Created: now,
	}
	var tags []store.PrivateTag
	var indicators []store.IndicatorValues
	if len(lines) > 0 {
		ps.Source = store.PrivateSourceValues
		computed, err := tagger.TagsCanonical(ctx, lines)
		if err != nil {
			return store.PrivateSet{}, err
		}
		// Values sets keep no lines: only their distinct tags.
		sorted := private.NewSet(prov.PublicKey(), computed).Tags()
		tags = make([]store.PrivateTag, len(sorted))
		for i := range sorted {
			tags[i] = store.PrivateTag{Tag: sorted[i][:]}
		}
	} else {
		// A collection set is built whole before it is stored, in the
		// transaction that logs its key, so that a publication refused or
		// abandoned while its tags are computed leaves nothing behind.
		// Its scan holds the member's indicators of the collection in
		// memory, which its small body reserved nothing for: scans take
		// turns with each other and with refreshes (syncMu), so that
		// parallel publications can't hold many at once.
		a.syncMu.Lock()
		indicators, ps.Cursor, err = a.changes(ctx, ps, now)
		if err == nil {
			fresh := freshLines(indicators, nil)
			if len(fresh) > maxValues {
				err = requestErrorf(store.ErrTooLarge, fmt.Sprintf("your indicators in the collection hold %d values, more than the %d this node evaluates in one publication (private.max_values)", len(fresh), maxValues))
			} else if err = a.withinQuota(ctx, m, collectionSetBytes(fresh, indicators)); err == nil {
				tags, err = tagLines(ctx, tagger, fresh)
			}
		}
		a.syncMu.Unlock()
		if err != nil {
			return store.PrivateSet{}, err
		}
	}
	salt, err := tlog.NewSalt(n.rand)
	if err != nil {
		return store.PrivateSet{}, err
	}
	// The key entry shows only a salted commitment: the set's id,
	// collection and provider are opened to the set's readers alone.
	commitment := tlog.OPRFKeyCommitment(tlog.Opening{Salt: salt, ObjectID: ps.ID, Collection: c.ID, Member: m.ID}, private.SuiteID, ps.PublicKey)
	ps, err = a.st.CreatePrivateSet(ctx, store.NewPrivateSet{
		Set: ps, Tags: tags, Indicators: indicators, Version: now, Salt: salt, MaxPerMember: cfg.MaxSetsPerMember,
		// The member and its write access were checked before the
		// tags were computed: the store checks them again as it logs.
		CheckWriter: true,
		KeyEntry: func(_ int64, received time.Time) ([]byte, error) {
			return tlog.Entry{Kind: tlog.KindOPRFKey, Received: received, Commitment: commitment}.Marshal()
		},
	})
	if err != nil {
		return ps, err
	}
	a.provMu.Lock()
	a.providers[ps.ID] = prov
	a.provMu.Unlock()
	return ps, nil
}

// withinQuota returns a *store.QuotaError when a set of need bytes would
// take m over member_quota_bytes: checked before a set's tags are
// computed, so that a member at its quota can't make the node do the work
// for nothing. The store checks again as it stores the set.
func (a *privateAPI) withinQuota(ctx context.Context, m store.Member, need int64) error {
	quota := a.n.cfg.MemberQuotaBytes
	if quota <= 0 {
		return nil
	}
	used, err := a.n.store.Usage(ctx, m.ID)
	if err != nil {
		return err
	}
	if used+need > quota {
		return &store.QuotaError{Member: m.ID, Used: used, Need: need, Quota: quota}
	}
	return nil
}

// collectionSetBytes is what a set made from a collection with these
// fresh lines and indicators costs, as store.PrivateSetBytes counts it:
// the overhead, each line's tag and the line, and the indicators' lines.
func collectionSetBytes(fresh []string, indicators []store.IndicatorValues) int64 {
	size := int64(store.PrivateSetOverhead)
	for _, l := range fresh {
		size += int64(private.TagSize + len(l))
	}
	for _, iv := range indicators {
		for _, l := range iv.Lines {
			size += int64(len(l))
		}
	}
	return size
}

// provider returns the provider of set s, without a gate: callers that
// compute tags give it theirs, for the member the work is done for.
func (a *privateAPI) provider(s store.PrivateSet) (*private.Provider, error) {
	a.provMu.Lock()
	defer a.provMu.Unlock()
	if p := a.providers[s.ID]; p != nil {
		return p, nil
	}
	key, err := private.ParsePrivateKey(s.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("couldn't load the key of private set %s: %w", s.ID, err)
	}
	p := private.NewProvider(key, a.n.rand)
	a.providers[s.ID] = p
	return p, nil
}

// list handles GET /private/sets: the sets the member may query. Only
// those are read (PrivateSetsFor), so that neither the answer nor its
// time tells the member anything of the sets made from collections it
// may not read: counting every set's tags made it as slow as all of them
// were large.
func (a *privateAPI) list(w http.ResponseWriter, r *http.Request, m store.Member) {
	ctx := r.Context()
	cs, err := a.n.store.Collections(ctx)
	if err != nil {
		respondError(w, r, err)
		return
	}
	readable := store.ReadableBy(cs, m.ID)
	sets, err := a.st.PrivateSetsFor(ctx, readable, m.ID)
	if err != nil {
		respondError(w, r, err)
		return
	}
	out := []private.SetInfo{}
	for _, s := range sets {
		if !slices.Contains(readable, s.Collection) && s.Member != m.ID {
			continue // readableSet's rule, which the store applied
		}
		info, err := a.refreshedInfo(ctx, m, s.ID)
		if err != nil {
			respondError(w, r, err)
			return
		}
		out = append(out, info)
	}
	privateJSON(w, http.StatusOK, map[string]any{"sets": out})
}

// get handles GET /private/sets/{id}.
func (a *privateAPI) get(w http.ResponseWriter, r *http.Request, m store.Member) {
	ctx := r.Context()
	s, err := a.readableSet(ctx, m, r.PathValue("id"))
	var info private.SetInfo
	if err == nil {
		info, err = a.refreshedInfo(ctx, m, s.ID)
	}
	if err != nil {
		respondError(w, r, err)
		return
	}
	privateJSON(w, http.StatusOK, info)
}

// withdraw handles DELETE /private/sets/{id}: the set's provider
// withdraws it (store.RemovePrivateSet), so that nothing is evaluated or
// matched against it any more, for a value it shared by mistake (a set
// of values follows no revocation). A member who may not read the set is
// answered 404 like a missing one; a reader who is not its provider 403;
// only then is the provider's signed statement read (withdrawalStatement),
// and, with PrivateConfig.RequireSignedWithdrawals, a withdrawal without
// one refused with 403.
//
// The withdrawal is logged (an oprf-withdrawal entry, binding the set's
// key entry), and what the set's readers were shown stays theirs: its
// receipt (GET /private/sets/{id}/receipt) is still served to the
// members who could read it when it was withdrawn, with the withdrawal
// entry's, so that a provider can't later deny the set or its key. The
// private key is deleted with the set, here and, at their next use or
// refresh round, from the other front ends' caches (forget).
func (a *privateAPI) withdraw(w http.ResponseWriter, r *http.Request, m store.Member) {
	ctx := r.Context()
	id := r.PathValue("id")
	// Decided as readableSet does, without the set's tags, and with the
	// same store calls for an unknown id as for a hidden set.
	coll, member, rd, err := a.setAccess(ctx, m, id)
	if err == nil && member != m.ID {
		if rd {
			err = fmt.Errorf("%w: only the member who published a private set may withdraw it", errPrivateForbidden)
		} else {
			err = fmt.Errorf("private set %s: %w", id, store.ErrNotFound)
		}
	}
	var cfg PrivateConfig
	if err == nil {
		cfg, err = a.config()
	}
	var st *store.WithdrawalStatement
	if err == nil {
		st, err = a.withdrawalStatement(w, r, m, id, cfg.RequireSignedWithdrawals)
	}
	if err == nil && st == nil && cfg.RequireSignedWithdrawals {
		err = unsignedWithdrawalError(m)
	}
	var salt []byte
	if err == nil {
		salt, err = tlog.NewSalt(a.n.rand)
	}
	if err == nil && st != nil {
		// The entry's salt commits to the provider's statement.
		st.Nonce = salt
		salt = private.WithdrawalSalt(st.Nonce, st.Signed, st.Signer, st.Signature)
	}
	if err == nil {
		wd := store.PrivateWithdrawal{ID: id, Member: m.ID, Salt: salt, Statement: st,
			Entry: func(_ int64, received time.Time, keyLeaf []byte) ([]byte, error) {
				return withdrawalEntry(keyLeaf, tlog.Opening{Salt: salt, ObjectID: id, Collection: coll, Member: m.ID, Version: store.FormatTime(received)}, received)
			}}
		// Not in the middle of a refresh of the set (see refresh).
		a.syncMu.Lock()
		_, err = a.st.RemovePrivateSet(ctx, wd)
		a.syncMu.Unlock()
	}
	if err != nil {
		respondError(w, r, err)
		return
	}
	a.forget(id)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

// maxWithdrawBody bounds DELETE /private/sets/{id}'s body (a
// private.WithdrawRequest).
const maxWithdrawBody = 4 << 10

// withdrawalStatement reads the provider's signed statement from the
// body of DELETE /private/sets/{id} (private.WithdrawRequest), nil for
// an empty body (a client older than signed withdrawals: the withdrawal
// is then the node's word alone). The statement must be signed by m's
// member key in force, over the node's origin, set id and a time within
// private.WithdrawalSkew of the node's clock: a malformed one is
// answered 400, one that isn't m's (or m has no key) 403. m is the
// set's provider (withdraw checked it first, so that nobody else learns
// more than a 404 tells). required (PrivateConfig.RequireSignedWithdrawals)
// only changes what the refusals advise.
func (a *privateAPI) withdrawalStatement(w http.ResponseWriter, r *http.Request, m store.Member, id string, required bool) (*store.WithdrawalStatement, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWithdrawBody))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, fmt.Errorf("the request is larger than %d bytes: %w", maxWithdrawBody, store.ErrTooLarge)
	case err != nil:
		return nil, err
	case len(bytes.TrimSpace(body)) == 0:
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var req private.WithdrawRequest
	if err := dec.Decode(&req); err != nil || dec.More() {
		return nil, requestErrorf(store.ErrInvalid, "couldn't parse the withdrawal: the body is a JSON object with time and signature")
	}
	if req.Time.IsZero() || len(req.Signature) != ed25519.SignatureSize {
		return nil, requestErrorf(store.ErrInvalid, fmt.Sprintf("the withdrawal needs a time and a %d-byte signature", ed25519.SignatureSize))
	}
	now := a.n.now()
	if d := now.Sub(req.Time); d > private.WithdrawalSkew || d < -private.WithdrawalSkew {
		return nil, requestErrorf(store.ErrInvalid, fmt.Sprintf("the withdrawal was signed at %s, more than %s from the node's clock (%s): sign it again, with a set clock",
			req.Time.UTC().Format(time.RFC3339), private.WithdrawalSkew, now.UTC().Format(time.RFC3339)))
	}
	if len(m.PublicKey) != ed25519.PublicKeySize {
		if required {
			return nil, unsignedWithdrawalError(m)
		}
		return nil, fmt.Errorf("%w: you have no member key to sign a withdrawal with (withdraw without a signature, or register a key)", errPrivateForbidden)
	}
	if !ed25519.Verify(ed25519.PublicKey(m.PublicKey), private.WithdrawalMessage(a.n.verifier.Name(), id, req.Time), req.Signature) {
		return nil, fmt.Errorf("%w: the withdrawal's signature isn't your member key's, over this node's origin %q, set %s and its time", errPrivateForbidden, a.n.verifier.Name(), id)
	}
	return &store.WithdrawalStatement{Signed: req.Time.UTC(), Signer: bytes.Clone(m.PublicKey), Signature: req.Signature}, nil
}

// unsignedWithdrawalError refuses (403) provider m's withdrawal without
// a statement signed by its member key, on a node that requires one
// (PrivateConfig.RequireSignedWithdrawals): it says how to sign it, or,
// for a member with no key, to have one registered first.
func unsignedWithdrawalError(m store.Member) error {
	if len(m.PublicKey) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: this node requires withdrawals signed by the provider's member key (private.require_signed_withdrawals), and you have no member key: register a key first (ask the node's operator: parley member key rotate), then withdraw with parley private withdraw --key FILE", errPrivateForbidden)
	}
	return fmt.Errorf("%w: this node requires withdrawals signed by the provider's member key (private.require_signed_withdrawals): withdraw with parley private withdraw --key FILE", errPrivateForbidden)
}

// withdrawalEntry returns the leaf of the withdrawal entry of the set
// whose key entry is keyLeaf, with opening op (received as its version).
func withdrawalEntry(keyLeaf []byte, op tlog.Opening, received time.Time) ([]byte, error) {
	ke, err := tlog.ParseEntry(keyLeaf)
	if err != nil {
		return nil, fmt.Errorf("couldn't read the key entry of private set %s: %w", op.ObjectID, err)
	}
	if ke.Kind != tlog.KindOPRFKey {
		return nil, fmt.Errorf("the key entry of private set %s is a %s entry", op.ObjectID, ke.Kind)
	}
	return tlog.Entry{Kind: tlog.KindOPRFWithdrawal, Received: received, Commitment: tlog.OPRFWithdrawalCommitment(op, ke.Commitment)}.Marshal()
}

// forget drops the cached provider (and with it the private key) of a set
// that is withdrawn, or found gone.
func (a *privateAPI) forget(id string) {
	a.provMu.Lock()
	delete(a.providers, id)
	a.provMu.Unlock()
}

// tags handles GET /private/sets/{id}/tags: the sorted 8-byte tags,
// concatenated (private.ParseTags). They are read and written in pages of
// tagsPage, so a set of any size is sent in bounded memory (and no read
// transaction is held while the client reads). A refresh that runs
// between two pages shows in the later ones only: the list stays sorted
// and without duplicates. A withdrawal (withdraw) between two pages
// aborts the answer, which would otherwise end as a whole list of the
// tags sent before it; so does a revocation of the member's read or
// token (each later page is sent only after [privateAPI.stillReadable]
// passes, after it was read).
func (a *privateAPI) tags(w http.ResponseWriter, r *http.Request, m store.Member) {
	ctx := r.Context()
	s, err := a.readableSet(ctx, m, r.PathValue("id"))
	if err == nil {
		err = a.refresh(ctx, s.ID)
	}
	if err == nil {
		// The refresh may have waited for another, and tagged indicators
		// stored meanwhile: the member must still read the set now.
		err = a.stillReadable(ctx, m, s.ID)
	}
	var page [][]byte
	if err == nil {
		page, err = a.st.PrivateSetTagsAfter(ctx, s.ID, nil, tagsPage)
	}
	if err != nil {
		respondError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Cache-Control", "no-store")
	rc := http.NewResponseController(w)
	defer rc.SetWriteDeadline(time.Time{})
	body := make([]byte, 0, tagsPage*private.TagSize)
	for len(page) > 0 {
		body = body[:0]
		for _, t := range page {
			body = append(body, t...)
		}
		rc.SetWriteDeadline(time.Now().Add(WriteTimeout))
		if _, err := w.Write(body); err != nil {
			return
		}
		if len(page) < tagsPage {
			return
		}
		if page, err = a.st.PrivateSetTagsAfter(ctx, s.ID, page[len(page)-1], tagsPage); err != nil {
			// Part of the list is gone: abort, so that the client can't
			// take it for the whole set.
			panic(http.ErrAbortHandler)
		}
		// A slow reader holds the stream for as long as the set is
		// large (a write timeout for each page): each page read is sent
		// only while the member still reads the set with this token,
		// so that nothing read after a revocation reaches it (held.go).
		// Otherwise abort, as for a failed read.
		if err := a.stillReadable(ctx, m, s.ID); err != nil {
			panic(http.ErrAbortHandler)
		}
		if len(page) < tagsPage {
			// The list's end, or the set withdrawn meanwhile (its tags
			// read as none): then abort too, rather than end the part
			// sent as the whole set.
			if _, _, err := a.st.PrivateSetOwner(ctx, s.ID); err != nil {
				panic(http.ErrAbortHandler)
			}
		}
	}
}

// tagsPage is how many tags GET /private/sets/{id}/tags reads at a time
// (a variable for tests).
var tagsPage = 8192

// receipt handles GET /private/sets/{id}/receipt: the key's log entry,
// its inclusion proof and a signed checkpoint (private.KeyReceipt). For a
// withdrawn set, to the members who could read it when it was withdrawn
// (and to no one else: the others are answered as for an id no set ever
// had), the same with the set's suite and key and the withdrawal entry's
// receipt (private.KeyReceipt.Withdrawal): the set is gone, but what its
// readers were shown is not deniable.
func (a *privateAPI) receipt(w http.ResponseWriter, r *http.Request, m store.Member) {
	ctx := r.Context()
	s, err := a.readableSet(ctx, m, r.PathValue("id"))
	var rc private.KeyReceipt
	if err == nil {
		rc, err = a.n.keyReceipt(ctx, s.KeyLogIndex, func(ctx context.Context) error { return a.stillReadable(ctx, m, s.ID) })
	} else if errors.Is(err, store.ErrNotFound) {
		rc, err = a.withdrawnReceipt(ctx, m, r.PathValue("id"))
	}
	if err != nil {
		respondError(w, r, err)
		return
	}
	privateJSON(w, http.StatusOK, rc)
}

// withdrawnReceipt returns the receipt of withdrawn set id to m, if m
// could read it when it was withdrawn (store.ErrNotFound otherwise, as
// for a missing set): one indexed lookup.
func (a *privateAPI) withdrawnReceipt(ctx context.Context, m store.Member, id string) (private.KeyReceipt, error) {
	ws, err := a.st.WithdrawnPrivateSet(ctx, id, m.ID)
	if err != nil {
		return private.KeyReceipt{}, err
	}
	// Who may have it doesn't change after the withdrawal; only the
	// token is checked again while the receipt waits for a checkpoint.
	rc, err := a.n.keyReceipt(ctx, ws.KeyLogIndex, reauthenticate)
	if err != nil {
		return private.KeyReceipt{}, err
	}
	wr, err := a.n.keyReceipt(ctx, ws.WithdrawalLogIndex, reauthenticate)
	if err != nil {
		return private.KeyReceipt{}, err
	}
	rc.Withdrawal = &private.WithdrawalReceipt{
		Suite: ws.Suite, PublicKey: ws.PublicKey, Created: ws.Created.UTC(), Withdrawn: ws.Withdrawn.UTC(),
		LogIndex: wr.LogIndex, TreeSize: wr.TreeSize, Entry: wr.Entry, Opening: wr.Opening,
		InclusionProof: wr.InclusionProof, Checkpoint: wr.Checkpoint,
	}
	if st := ws.Statement; st != nil {
		keys, err := a.n.providerKeys(ctx, ws.Member, wr.TreeSize)
		if err != nil {
			return private.KeyReceipt{}, err
		}
		rc.Withdrawal.SignedAt, rc.Withdrawal.Nonce, rc.Withdrawal.Signer, rc.Withdrawal.Signature = st.Signed.UTC(), st.Nonce, st.Signer, st.Signature
		rc.Withdrawal.ProviderKeys = &keys
	}
	return rc, nil
}

// evaluate handles POST /private/sets/{id}/evaluate. A malformed request
// is refused before anything is charged; then the budget is charged
// (durably) before the evaluation is computed, so a reader cannot get
// answers without paying for them, even across a crash. Neither the
// request nor the answer is stored or logged.
func (a *privateAPI) evaluate(w http.ResponseWriter, r *http.Request, m store.Member) {
	ctx := r.Context()
	cfg, cpu, _, err := a.limits()
	if err != nil {
		respondError(w, r, err)
		return
	}
	s, err := a.readableSet(ctx, m, r.PathValue("id"))
	if err != nil {
		respondError(w, r, err)
		return
	}
	// A batch of MaxBatch elements is about 45 bytes each in JSON.
	limit := int64(cfg.MaxBatch)*64 + 4096
	var req private.EvaluateRequest
	if err := decodeRequest(w, r, limit, &req); err != nil {
		if errors.Is(err, store.ErrTooLarge) {
			err = fmt.Errorf("couldn't parse the evaluation request (at most %d elements): %w", cfg.MaxBatch, store.ErrInvalid)
		}
		respondError(w, r, err)
		return
	}
	if len(req.Elements) == 0 || len(req.Elements) > cfg.MaxBatch {
		respondError(w, r, fmt.Errorf("%w: %d elements, 1 to %d allowed", private.ErrBatchSize, len(req.Elements), cfg.MaxBatch))
		return
	}
	prov, err := a.provider(s)
	if err != nil {
		respondError(w, r, err)
		return
	}
	batch, err := private.ParseRequest(&req)
	if err != nil {
		respondError(w, r, err)
		return
	}
	// A set with no tags has nothing to match: the batch is refused
	// before the charge, so it costs no budget. It is refused, not
	// answered free: a set made from a collection may gain values at a
	// refresh, and a tag evaluated now would test them then.
	if s.Size == 0 {
		respondError(w, r, requestErrorf(store.ErrConflict, "the private set holds no values: there is nothing to match against, and nothing was charged"))
		return
	}
	// One CPU of the node's private-set work for the batch, taken before
	// the charge so that a reader who gives up waiting isn't charged.
	// While it waits, and once it has the CPU, the member must still
	// read the set: one whose read was taken, or who was revoked,
	// meanwhile gets no answer from the set's key (held.go).
	still := func(ctx context.Context) error { return a.stillReadable(ctx, m, s.ID) }
	wctx, cancel := context.WithTimeout(ctx, privateWait)
	err = watchHeld(wctx, still, func(ctx context.Context) error { return cpu.Acquire(ctx, m.ID, 1) })
	cancel()
	if refused(err) {
		respondError(w, r, err)
		return
	}
	if err != nil {
		respondError(w, r, errPrivateBusy)
		return
	}
	resp, err := func() (*private.EvaluateResponse, error) {
		// Given back before the answer is written, which a slow client
		// could make long.
		defer cpu.Release(m.ID, 1)
		if err := still(ctx); err != nil {
			return nil, err
		}
		if _, err := a.st.SpendPrivateBudget(ctx, s.ID, m.ID, int64(batch.Len()), cfg.QueryBudget); err != nil {
			return nil, err
		}
		return prov.EvaluateBatch(batch)
	}()
	if err == nil && a.evaluated != nil {
		a.evaluated(s.ID)
	}
	if err == nil {
		// The set may have been withdrawn since the charge, through any
		// front end: the store orders this check against the
		// withdrawal, so that no answer passes it once the withdrawal
		// has committed (and so before its 204). A batch charged and
		// found withdrawn here is answered 404, as the set now is; its
		// charge went with the set's budget counters.
		if err = a.st.PrivateSetLive(ctx, s.ID); errors.Is(err, store.ErrNotFound) {
			a.forget(s.ID)
		}
	}
	if err != nil {
		respondError(w, r, err)
		return
	}
	a.n.metrics.evaluations.Add(float64(batch.Len()))
	privateJSON(w, http.StatusOK, resp)
}

// refreshLoop keeps collection sets up to date in the background. A
// failure is logged once until a round succeeds again.
func (a *privateAPI) refreshLoop(ctx context.Context, logger *slog.Logger) error {
	if a.st == nil {
		return nil
	}
	cfg, err := a.config()
	if err != nil {
		return err
	}
	t := time.NewTicker(time.Duration(cfg.RefreshInterval))
	defer t.Stop()
	var last string
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		// A failed refresh is retried at the next tick; readers see its
		// error when they read the set (which refreshes it too).
		sets, err := a.st.PrivateSets(ctx)
		if err == nil {
			a.forgetGone(sets)
		}
		for _, s := range sets {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			// A set withdrawn since the listing has nothing to refresh.
			if rerr := a.refresh(ctx, s.ID); rerr != nil && !errors.Is(rerr, store.ErrNotFound) && err == nil {
				err = fmt.Errorf("private set %s: %w", s.ID, rerr)
			}
		}
		switch {
		case err != nil && ctx.Err() == nil && err.Error() != last:
			logger.Warn("private-set refresh failed; retrying", "err", err)
			last = err.Error()
		case err == nil:
			last = ""
		}
	}
}

// forgetGone drops the cached providers (and private keys) of the sets
// not in sets, the node's every set: sets another front end withdrew.
func (a *privateAPI) forgetGone(sets []store.PrivateSet) {
	live := make(map[string]bool, len(sets))
	for _, s := range sets {
		live[s.ID] = true
	}
	a.provMu.Lock()
	defer a.provMu.Unlock()
	for id := range a.providers {
		if !live[id] {
			delete(a.providers, id)
		}
	}
}

// refresh brings a collection set up to date with the provider's
// indicators added to its collection since the set's cursor (see
// [privateAPI.changes]). New lines get their tags; lines no indicator
// holds any more lose theirs. A refresh whose context ends stops its
// OPRF work and changes nothing.
func (a *privateAPI) refresh(ctx context.Context, id string) error {
	a.syncMu.Lock()
	defer a.syncMu.Unlock()
	s, err := a.st.PrivateSet(ctx, id)
	if err != nil || s.Source != store.PrivateSourceCollection {
		return err
	}
	now := a.n.now()
	changed, cursor, err := a.changes(ctx, s, now)
	if err != nil {
		return err
	}
	if cursor == s.Cursor {
		_, err := a.st.ExpirePrivateIndicators(ctx, id, now)
		return err
	}
	known, err := a.st.PrivateSetLines(ctx, id)
	if err != nil {
		return err
	}
	// The key is loaded only when there is something to tag.
	var newTags []store.PrivateTag
	if fresh := freshLines(changed, known); len(fresh) > 0 {
		prov, err := a.provider(s)
		if err != nil {
			return err
		}
		_, cpu, _, err := a.limits()
		if err != nil {
			return err
		}
		// The upkeep of a set is its provider's work.
		if newTags, err = tagLines(ctx, prov.WithGate(heldBy(cpu, s.Member)), fresh); err != nil {
			return err
		}
	}
	if err := a.st.UpdatePrivateSet(ctx, id, s.Cursor, cursor, changed, newTags); err != nil {
		return err
	}
	_, err = a.st.ExpirePrivateIndicators(ctx, id, now)
	return err
}

// changes reads the indicators of set s's provider in its collection
// added after s.Cursor: for each, the lines of its latest version (none
// when it is revoked or its valid_until is at or before now), sorted by
// indicator id, and the cursor after the last object read.
func (a *privateAPI) changes(ctx context.Context, s store.PrivateSet, now time.Time) ([]store.IndicatorValues, int64, error) {
	type latest struct {
		version time.Time
		lines   []string
		expires time.Time
	}
	byID := map[string]latest{}
	cursor := s.Cursor
	for {
		page, err := a.n.store.Objects(ctx, store.Query{
			Collection: s.Collection, Types: []string{"indicator"},
			Versions: []store.VersionSelector{{Kind: store.VersionAll}},
			After:    cursor, Limit: 1000,
		})
		if err != nil {
			return nil, 0, err
		}
		for _, o := range page.Objects {
			cursor = o.Seq
			if o.Member != s.Member {
				continue
			}
			if prev, ok := byID[o.ID]; ok && prev.version.After(o.Version) {
				continue
			}
			lines, expires := indicatorLines(o.Raw)
			if !expires.IsZero() && !expires.After(now) {
				lines = nil
			}
			byID[o.ID] = latest{o.Version, lines, expires}
		}
		if !page.More || len(page.Objects) == 0 {
			break
		}
	}
	changed := make([]store.IndicatorValues, 0, len(byID))
	for ind, l := range byID {
		changed = append(changed, store.IndicatorValues{IndicatorID: ind, Lines: l.lines, Expires: l.expires})
	}
	sort.Slice(changed, func(i, j int) bool { return changed[i].IndicatorID < changed[j].IndicatorID })
	return changed, cursor, nil
}

// freshLines returns the distinct lines of changed that known (line →
// tag) lacks.
func freshLines(changed []store.IndicatorValues, known map[string][]byte) []string {
	var fresh []string
	seen := map[string]bool{}
	for _, c := range changed {
		for _, line := range c.Lines {
			if known[line] == nil && !seen[line] {
				seen[line] = true
				fresh = append(fresh, line)
			}
		}
	}
	return fresh
}

// tagLines returns the tags of lines, with their lines, computed by prov
// (on the node's private-set CPUs, see [private.Provider.WithGate]).
func tagLines(ctx context.Context, prov *private.Provider, fresh []string) ([]store.PrivateTag, error) {
	if len(fresh) == 0 {
		return nil, nil
	}
	tags, err := prov.TagsCanonical(ctx, fresh)
	if err != nil {
		return nil, err
	}
	out := make([]store.PrivateTag, len(tags))
	for i, t := range tags {
		out[i] = store.PrivateTag{Tag: t[:], Line: fresh[i]}
	}
	return out, nil
}

// providerKeys returns member's key history (GET /log/keys?member=ID's
// answer) up to the latest checkpoint, of size at least size (the
// checkpoint a withdrawal receipt was just built with, or a later one):
// what shows which key of the provider was in force at its withdrawal.
func (n *Node) providerKeys(ctx context.Context, member string, size uint64) (tlog.KeysResponse, error) {
	cpSize, note, err := n.store.LatestCheckpoint(ctx)
	if err != nil {
		return tlog.KeysResponse{}, err
	}
	if note == nil || uint64(cpSize) < size {
		return tlog.KeysResponse{}, fmt.Errorf("no checkpoint of size %d: %w", size, ErrNotIntegrated)
	}
	hr := hashReader(cpSize, n.store, n.tiles)
	events, err := n.keyEvidence(ctx, cpSize, hr, member)
	if err != nil {
		return tlog.KeysResponse{}, err
	}
	index, err := n.keyIndex(note, events, []string{member}, false)
	if err != nil {
		return tlog.KeysResponse{}, err
	}
	return tlog.KeysResponse{TreeSize: uint64(cpSize), Checkpoint: string(note), Events: events, KeyIndex: index}, nil
}

// keyReceipt proves that log entry index (a set's oprf-key entry) is in
// the log: the entry, its inclusion proof in the integrated tree and the
// latest signed checkpoint, as the log's own receipts are built
// ([EntryReceipt], through the node's tile cache). An entry not yet
// integrated is waited for up to
// [ReceiptWait], then [ErrNotIntegrated]; check is whether the request
// may still have it ([waitCovered]).
func (n *Node) keyReceipt(ctx context.Context, index int64, check func(context.Context) error) (private.KeyReceipt, error) {
	es, err := n.store.Entries(ctx, index, index+1)
	if err != nil {
		return private.KeyReceipt{}, err
	}
	if len(es) != 1 {
		return private.KeyReceipt{}, fmt.Errorf("log entry %d: %w", index, store.ErrNotFound)
	}
	r, err := entryReceipt(ctx, n.store, es[0], ReceiptWait, n.tiles, check) // the node's one tile cache
	if err != nil {
		return private.KeyReceipt{}, err
	}
	return private.KeyReceipt{
		LogIndex: r.LogIndex, TreeSize: r.TreeSize, Entry: []byte(r.Entry), Opening: r.Opening,
		InclusionProof: r.InclusionProof, Checkpoint: r.Checkpoint,
	}, nil
}
