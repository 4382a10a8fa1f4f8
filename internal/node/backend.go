package node

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/parley-exchange/parley/internal/cursor"
	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/pdq"
	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/taxii"
	"github.com/parley-exchange/parley/tlog"
)

// backend implements [taxii.Backend] over the node's store: it is where
// authentication, access control and the submission pipeline meet the
// TAXII handler.
//
// Access control is default deny. A collection a member may neither read
// nor write does not exist for it (404 everywhere, left out of lists). A
// write-only member sees the collection (TAXII can_read false) so that it
// can post, and gets 403 when it reads objects.
type backend struct{ n *Node }

var _ taxii.Backend = backend{}

// Backend returns the node's TAXII backend.
func (n *Node) Backend() taxii.Backend { return unavailableBackend{backend{n}} }

// unavailableBackend is the one place where the TAXII backend's errors
// meet [store.ErrUnavailable]: a store that can't be reached becomes
// TAXII's 503 with Retry-After ([taxii.ErrUnavailable]) and
// [UnavailableMessage], the store's error kept wrapped for the log.
type unavailableBackend struct{ b backend }

var _ taxii.Backend = unavailableBackend{}

func unavailableTAXII(err error) error {
	if errors.Is(err, store.ErrUnavailable) {
		return fmt.Errorf("%w: %w", &taxii.RequestError{Kind: taxii.ErrUnavailable, Message: UnavailableMessage}, err)
	}
	return err
}

func (u unavailableBackend) Authenticate(ctx context.Context, token string) (taxii.Principal, error) {
	p, err := u.b.Authenticate(ctx, token)
	return p, unavailableTAXII(err)
}

func (u unavailableBackend) Collections(ctx context.Context, p taxii.Principal) ([]taxii.Collection, error) {
	cs, err := u.b.Collections(ctx, p)
	return cs, unavailableTAXII(err)
}

func (u unavailableBackend) Collection(ctx context.Context, p taxii.Principal, id string) (taxii.Collection, error) {
	c, err := u.b.Collection(ctx, p, id)
	return c, unavailableTAXII(err)
}

func (u unavailableBackend) Objects(ctx context.Context, p taxii.Principal, collectionID string, q taxii.Query) (taxii.Page, error) {
	pg, err := u.b.Objects(ctx, p, collectionID, q)
	return pg, unavailableTAXII(err)
}

func (u unavailableBackend) AddObjects(ctx context.Context, p taxii.Principal, collectionID string, objects []json.RawMessage) (taxii.Status, error) {
	st, err := u.b.AddObjects(ctx, p, collectionID, objects)
	return st, unavailableTAXII(err)
}

func (u unavailableBackend) Status(ctx context.Context, p taxii.Principal, id string) (taxii.Status, error) {
	st, err := u.b.Status(ctx, p, id)
	return st, unavailableTAXII(err)
}

// Authenticate implements [taxii.Backend].
func (b backend) Authenticate(ctx context.Context, token string) (taxii.Principal, error) {
	m, err := b.n.Authenticate(ctx, token)
	if errors.Is(err, store.ErrNotFound) {
		return taxii.Principal{}, taxii.ErrUnauthorized
	}
	if err != nil {
		return taxii.Principal{}, err
	}
	noteMember(ctx, m.ID)
	return taxii.Principal{MemberID: m.ID}, nil
}

// toTAXII is c as member sees it. can_write is whether member can write
// (TAXII 2.1 section 5.2): a writer of a collection that requires
// signatures cannot while it has no signing key in force (every object it
// posted would be refused), so signer says whether it has one.
func toTAXII(c store.Collection, member string, signer bool) taxii.Collection {
	sigs := c.Signatures
	if sigs == "" {
		sigs = store.SignaturesRequired
	}
	tc := taxii.Collection{
		ID: c.ID, Title: c.Title, Description: c.Description,
		CanRead: c.CanRead(member), CanWrite: c.CanWrite(member),
		MediaTypes: []string{taxii.STIXMediaType},
		Relay:      c.Relay, Signatures: string(sigs),
	}
	if tc.CanWrite && c.RequiresSignatures() && !signer {
		tc.CanWrite = false
		tc.WriteRefusal = "this collection requires signatures, and you have no signing key in force: " +
			"every object you posted would be refused (ask the operator to register your public key)"
	}
	return tc
}

// needsSigner reports whether member's can_write in c depends on its
// signing key, which [backend.signer] then looks up.
func needsSigner(c store.Collection, member string) bool {
	return c.RequiresSignatures() && c.CanWrite(member)
}

// signer reports whether member has a signing key in force.
func (b backend) signer(ctx context.Context, member string) (bool, error) {
	m, err := b.n.store.Member(ctx, member)
	if err != nil {
		return false, err
	}
	return m.PublicKey != nil, nil
}

// Collections implements [taxii.Backend].
func (b backend) Collections(ctx context.Context, p taxii.Principal) ([]taxii.Collection, error) {
	cs, err := b.n.store.Collections(ctx)
	if err != nil {
		return nil, err
	}
	out := []taxii.Collection{}
	signer, looked := false, false
	for _, c := range cs {
		if c.CanRead(p.MemberID) || c.CanWrite(p.MemberID) {
			if needsSigner(c, p.MemberID) && !looked {
				if signer, err = b.signer(ctx, p.MemberID); err != nil {
					return nil, err
				}
				looked = true
			}
			out = append(out, toTAXII(c, p.MemberID, signer))
		}
	}
	return out, nil
}

// visible returns the collection if p may read or write it, and
// taxii.ErrNotFound otherwise, so that a hidden collection and a missing
// one cannot be told apart.
//
// Access is decided first by one indexed lookup ([store.Store].Access):
// the collection with its access lists is read only for a member who
// may see it, so the 404 of a hidden collection takes no longer the more
// readers and writers it has.
func (b backend) visible(ctx context.Context, p taxii.Principal, id string) (store.Collection, error) {
	rd, wr, err := b.n.store.Access(ctx, id, p.MemberID)
	if errors.Is(err, store.ErrNotFound) {
		return store.Collection{}, taxii.ErrNotFound
	}
	if err != nil {
		return store.Collection{}, err
	}
	if !rd && !wr {
		return store.Collection{}, taxii.ErrNotFound
	}
	c, err := b.n.store.Collection(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return c, taxii.ErrNotFound // removed since
	}
	if err != nil {
		return c, err
	}
	if !c.CanRead(p.MemberID) && !c.CanWrite(p.MemberID) {
		return c, taxii.ErrNotFound // its lists changed since
	}
	return c, nil
}

// Collection implements [taxii.Backend].
func (b backend) Collection(ctx context.Context, p taxii.Principal, id string) (taxii.Collection, error) {
	c, err := b.visible(ctx, p, id)
	if err != nil {
		return taxii.Collection{}, err
	}
	signer := false
	if needsSigner(c, p.MemberID) {
		if signer, err = b.signer(ctx, p.MemberID); err != nil {
			return taxii.Collection{}, err
		}
	}
	return toTAXII(c, p.MemberID, signer), nil
}

// Objects implements [taxii.Backend]. The cursor ([formatCursor]) is the
// date_added of the last item returned, in the collection: stateless,
// valid on any replica and after restarts, and since date_added grows
// strictly with the order of addition, paging neither skips nor repeats
// while others add objects.
//
// A request with both next and added_after applies both: versions after
// the cursor and added after added_after. Clients such as OpenCTI's TAXII
// ingester send the previous page's X-TAXII-Date-Added-Last as added_after
// together with next; both then select the same versions and the pages
// still cover the collection exactly once (TestOpenCTIIngesterReplay).
func (b backend) Objects(ctx context.Context, p taxii.Principal, collectionID string, q taxii.Query) (taxii.Page, error) {
	c, err := b.visible(ctx, p, collectionID)
	if err != nil {
		return taxii.Page{}, err
	}
	if !c.CanRead(p.MemberID) {
		return taxii.Page{}, taxii.ErrForbidden
	}
	sq := store.Query{
		Collection: c.ID, IDs: q.IDs, Types: q.Types, SpecVersions: q.SpecVersions,
		AddedAfter: q.AddedAfter, Limit: q.Limit,
		MaxBytes: q.MaxBytes, OmitRaw: q.WithoutObjects,
	}
	if q.Next != "" {
		after, err := parseCursor(c.ID, q.Next)
		if err != nil {
			return taxii.Page{}, err
		}
		if after.After(sq.AddedAfter) {
			sq.AddedAfter = after
		}
	}
	sq.Versions = versionSelectors(q.Versions)
	page, err := b.n.store.Objects(ctx, sq)
	if err != nil {
		return taxii.Page{}, err
	}
	// Checked again once read (one indexed lookup): a version stored
	// after the operator took p's read, between the check above and the
	// read, is not answered (held.go). The answer is what p would get if
	// it asked now.
	if rd, wr, err := b.n.store.Access(ctx, c.ID, p.MemberID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return taxii.Page{}, err
	} else if !rd && wr {
		return taxii.Page{}, taxii.ErrForbidden
	} else if !rd {
		return taxii.Page{}, taxii.ErrNotFound
	}
	out := taxii.Page{More: page.More, Items: make([]taxii.Item, len(page.Objects))}
	for i, o := range page.Objects {
		out.Items[i] = taxii.Item{
			ID: o.ID, Version: stix.FormatTimestamp(o.Version), DateAdded: o.DateAdded,
			MediaType: taxii.STIXMediaType, Object: o.Raw,
			Opening: &taxii.ObjectOpening{LogIndex: uint64(o.LogIndex), Opening: o.Opening()},
		}
	}
	if page.More && len(page.Objects) > 0 {
		out.Next = formatCursor(c.ID, page.Objects[len(page.Objects)-1].DateAdded)
	}
	return out, nil
}

func versionSelectors(v taxii.VersionMatch) []store.VersionSelector {
	var sel []store.VersionSelector
	if v.All {
		return []store.VersionSelector{{Kind: store.VersionAll}}
	}
	if v.First {
		sel = append(sel, store.VersionSelector{Kind: store.VersionFirst})
	}
	if v.Last {
		sel = append(sel, store.VersionSelector{Kind: store.VersionLast})
	}
	for _, t := range v.At {
		sel = append(sel, store.VersionSelector{Kind: store.VersionAt, At: t})
	}
	return sel
}

// formatCursor is the TAXII next cursor of a page of the collection whose
// last version was added at added ([cursor.Format]).
//
// The position is the collection's own: the date_added of that version,
// which the page's X-TAXII-Date-Added-Last header shows anyway. It was
// the store's sequence number, counted over every collection: the
// difference of two cursors of a member's pages told how many versions
// others had added meanwhile where the member can't read
// (TestCursorRevealsNothingHidden), and a member who sent made-up cursors
// could find the number of each version it reads. A cursor of one
// collection is refused in another (400): it would select by a time
// unrelated to that collection's pages, which a client never means.
func formatCursor(collection string, added time.Time) string {
	return cursor.Format(collection, added)
}

// parseCursor returns the date_added of a cursor [formatCursor] issued for
// collection; anything else (a cursor of another collection, or of an
// earlier version of Parley, which was a number) is a 400.
func parseCursor(collection, s string) (time.Time, error) {
	t, err := cursor.Parse(collection, s)
	switch {
	case errors.Is(err, cursor.ErrOtherCollection):
		return time.Time{}, taxii.BadRequest("next %q is a cursor of another collection", truncate(s, 40))
	case err != nil:
		return time.Time{}, taxii.BadRequest("next %q is not a cursor this server issued (a cursor of an earlier version of the server no longer pages: start again, with added_after)", truncate(s, 40))
	}
	return t, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// Status implements [taxii.Backend]; only the member who made the
// submission can read its status. Who made it is read first, alone: the
// resource itself grows with the submission, and reading it for another
// member would make the 404 take longer the more that member posted.
func (b backend) Status(ctx context.Context, p taxii.Principal, id string) (taxii.Status, error) {
	member, err := b.n.store.StatusMember(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return taxii.Status{}, taxii.ErrNotFound
	}
	if err != nil {
		return taxii.Status{}, err
	}
	if member != p.MemberID {
		return taxii.Status{}, taxii.ErrNotFound
	}
	st, err := b.n.store.Status(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return taxii.Status{}, taxii.ErrNotFound
	}
	if err != nil {
		return taxii.Status{}, err
	}
	return statusToTAXII(st), nil
}

func statusToTAXII(st store.Status) taxii.Status {
	conv := func(ds []store.StatusDetail) []taxii.StatusDetails {
		var out []taxii.StatusDetails
		for _, d := range ds {
			out = append(out, taxii.StatusDetails{ID: d.ID, Version: d.Version, Message: d.Message})
		}
		return out
	}
	return taxii.Status{
		ID: st.ID, Status: taxii.StatusComplete,
		RequestTimestamp: taxii.FormatTimestamp(st.RequestTimestamp),
		TotalCount:       len(st.Successes) + len(st.Failures) + len(st.Pendings),
		SuccessCount:     len(st.Successes), Successes: conv(st.Successes),
		FailureCount: len(st.Failures), Failures: conv(st.Failures),
		PendingCount: len(st.Pendings), Pendings: conv(st.Pendings),
	}
}

// AddObjects implements [taxii.Backend]: the submission pipeline.
func (b backend) AddObjects(ctx context.Context, p taxii.Principal, collectionID string, objects []json.RawMessage) (taxii.Status, error) {
	c, err := b.visible(ctx, p, collectionID)
	if err != nil {
		return taxii.Status{}, err
	}
	if !c.CanWrite(p.MemberID) {
		return taxii.Status{}, taxii.ErrForbidden
	}
	st, err := b.n.Submit(ctx, p.MemberID, c, objects)
	if err != nil {
		return taxii.Status{}, b.limitError(err)
	}
	b.n.metrics.ingested.Add(float64(len(st.Successes)))
	return statusToTAXII(st), nil
}

// limitError turns the store's refusals of a submission over its limits
// (and a full disk) into TAXII errors the member may read: 413 for an object over
// max_object_size (as stored: its canonical form may be larger than what
// was sent), 507 for the member's storage quota. Other errors pass.
func (b backend) limitError(err error) error {
	var qe *store.QuotaError
	switch {
	case errors.As(err, &qe):
		// The details let a client tell objects that need more than
		// the whole quota (never stored under it) from a quota that is
		// full (stored once room is made).
		msg := fmt.Sprintf("your objects use %d of your %d bytes of storage and these need %d more: nothing was stored", qe.Used, qe.Quota, qe.Need)
		if qe.Need > qe.Quota {
			msg += "; they need more than your whole quota, and are refused until it is raised"
		}
		return &taxii.RequestError{Kind: taxii.ErrInsufficientStorage, Title: "storage quota exceeded", Message: msg,
			Details: map[string]any{"used_bytes": qe.Used, "quota_bytes": qe.Quota, "needed_bytes": qe.Need}}
	case errors.Is(err, store.ErrFull):
		return &taxii.RequestError{Kind: taxii.ErrInsufficientStorage, Title: "insufficient storage",
			Message: "the node's storage is full: nothing was stored. Retry later"}
	case errors.Is(err, store.ErrSubmitterChanged):
		return &taxii.RequestError{Kind: taxii.ErrForbidden, Message: "your key or your access changed while these objects were checked " +
			"(the operator rotated or revoked your key, revoked or removed you, or took away your write access): nothing was stored"}
	case errors.Is(err, store.ErrTooLarge):
		return &taxii.RequestError{Kind: taxii.ErrTooLarge, Message: fmt.Sprintf(
			"an object is larger than max_object_size (%d bytes) in its canonical form (RFC 8785), as it would be stored: nothing was stored", b.n.cfg.MaxObjectSize)}
	}
	return err
}

// checked is one object after the pipeline's checks.
type checked struct {
	item      store.Item
	version   string // the version text for the log entry, "" for unversioned
	createdBy string // the object's created_by_ref
	fail      *store.StatusDetail
}

// checkChunk is how many received objects one CPU of Node.checks checks
// before it is given back (about 1 ms of signature checks).
const checkChunk = 16

// acquireCheck takes a CPU of n.checks for member, waiting up to
// budgetWait, as the other budgets do; then a TAXII 503 with Retry-After
// (the envelope's memory is not held longer than any other wait).
func (n *Node) acquireCheck(ctx context.Context, member string) error {
	wctx, cancel := context.WithTimeout(ctx, budgetWait)
	defer cancel()
	err := n.checks.Acquire(wctx, member, 1)
	if err != nil && ctx.Err() == nil {
		return &taxii.RequestError{Kind: taxii.ErrBusy, Message: "the node is busy checking other objects: nothing was stored; retry shortly"}
	}
	return err
}

// Submit runs the submission pipeline for objects sent by member to
// collection c (whose write access the caller checked):
//
//  1. parse and validate each object as STIX 2.1 (stix.Validator);
//  2. created_by_ref must be the member's identity; an object without
//     one is refused unless it is a cyber-observable (no created and
//     modified), which must then be signed by the member;
//  3. the signature extension must verify with the member's registered
//     key; unsigned objects are refused unless the collection's policy is
//     optional, and then stored as unsigned;
//  4. each accepted object is stored as its RFC 8785 canonical JSON, with
//     a log entry (a fresh 32-byte salt, the commitment over the stored
//     bytes), and the status resource, in one store transaction.
//
// Objects failing a check are failures in the status with one sentence
// each; they do not fail the others. Checks run in parallel on all CPUs,
// since Ed25519 verification dominates the cost, a chunk of checkChunk at
// a time for each CPU of Node.checks, taken in the member's name.
func (n *Node) Submit(ctx context.Context, memberID string, c store.Collection, objects []json.RawMessage) (store.Status, error) {
	return n.submit(ctx, memberID, c, objects, false)
}

// submit is [Node.Submit]; with largeFails, an object over
// max_object_size in its canonical form is a failure of that object
// alone instead of the store's refusal of the whole submission
// (store.ErrTooLarge). A TAXII request is refused whole (413), as the
// node's configuration says; a feed's page is not the feed's server's
// request to refuse, and one large object must not stop the feed for ever.
// With largeFails an object nested deeper than [Node.maxObjectDepth] is a
// failure of that object alone as well: a member's request is held to
// max_json_depth whole, by the TAXII handler, before it gets here.
func (n *Node) submit(ctx context.Context, memberID string, c store.Collection, objects []json.RawMessage, largeFails bool) (store.Status, error) {
	received := n.now()
	m, err := n.store.Member(ctx, memberID)
	if err != nil {
		return store.Status{}, err
	}
	results := make([]checked, len(objects))
	workers := min(runtime.GOMAXPROCS(0), (len(objects)+checkChunk-1)/checkChunk)
	var wg sync.WaitGroup
	var next int
	var mu sync.Mutex
	var gateErr error
	for range max(workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next += checkChunk
				mu.Unlock()
				if i >= len(objects) {
					return
				}
				// A CPU of the node's checks, in the member's name, for
				// this chunk only: members sending many envelopes at
				// once take turns with the others, not their CPUs.
				if err := n.acquireCheck(ctx, m.ID); err != nil {
					mu.Lock()
					gateErr, next = err, len(objects)
					mu.Unlock()
					return
				}
				for j := i; j < min(i+checkChunk, len(objects)); j++ {
					results[j] = n.check(m, c, objects[j])
					if largeFails && results[j].fail == nil && int64(len(results[j].item.Object.Raw)) > n.cfg.MaxObjectSize {
						r := &results[j]
						r.fail = &store.StatusDetail{ID: r.item.Object.ID, Version: r.version, Message: fmt.Sprintf(
							"the object is %d bytes in its canonical form (RFC 8785), more than max_object_size (%d bytes): not stored", len(r.item.Object.Raw), n.cfg.MaxObjectSize)}
					}
					if largeFails && results[j].fail == nil {
						// A feed's objects are held to the depth a
						// member's are (the TAXII handler checks a
						// member's whole envelope before this).
						if why := n.tooDeep(taxii.JSONDepth(objects[j])); why != "" {
							r := &results[j]
							r.fail = &store.StatusDetail{ID: r.item.Object.ID, Version: r.version, Message: why}
						}
					}
					if f := results[j].fail; f != nil && f.ID == "unknown" {
						// No id to name it by: its place in the envelope.
						f.Message = fmt.Sprintf("objects[%d]: %s", j, f.Message)
					}
				}
				n.checks.Release(m.ID, 1)
			}
		}()
	}
	wg.Wait()
	if gateErr != nil {
		return store.Status{}, gateErr // the request ended: nothing stored
	}
	sid, err := uuid.NewRandomFromReader(n.rand)
	if err != nil {
		return store.Status{}, fmt.Errorf("couldn't make a status id: %w", err)
	}
	// A writer who may not read c must not learn from the answer what
	// others stored there: an observable identical to another member's
	// copy is stored as its own version, with the answer a fresh one gets.
	sub := store.Submission{StatusID: sid.String(), Collection: c.ID, Member: m.ID, Received: received, OwnCopiesOnly: !c.CanRead(m.ID),
		// The member, its key and its right to write were read before
		// the checks: the store checks again in its transaction, so
		// that an operator's rotation, revocation or removal committed
		// meanwhile doesn't let these objects into the log after it.
		CheckSubmitter: true, Key: m.PublicKey}
	creators := map[string]string{} // created_by_ref: the member's name, "" for none
	// Another member is named in a failure only to a submitter shown it
	// in the member lists (store.ListedMembers): a feed's or a peer's
	// member, whose id is in clear in the log, is "another member" to
	// those who may not read the collection it fills. Read once, at the
	// first such failure.
	var listed map[string]bool
	nameOf := func(other store.Member) (string, error) {
		if listed == nil {
			ms, err := n.listedMembers(ctx, m)
			if err != nil {
				return "", err
			}
			listed = map[string]bool{}
			for _, l := range ms {
				listed[l.ID] = true
			}
		}
		if listed[other.ID] {
			return "the member " + other.Name, nil
		}
		return "another member", nil
	}
	for i := range results {
		r := &results[i]
		if r.fail == nil && r.item.Object.Type == "identity" && r.item.Object.ID != m.ID {
			// A member's identity id is the member's: another
			// member, a relayer or a feed sharing an object with it
			// first would own the id (and could name the member as
			// it liked), and the member could then never share its
			// own identity object on this node.
			switch other, err := n.store.Member(ctx, r.item.Object.ID); {
			case err == nil:
				who, err := nameOf(other)
				if err != nil {
					return store.Status{}, err
				}
				r.fail = &store.StatusDetail{ID: r.item.Object.ID, Version: r.version, Message: fmt.Sprintf(
					"this id is the identity of %s: only that member may share objects with it", who)}
			case !errors.Is(err, store.ErrNotFound):
				return store.Status{}, err
			}
		}
		if r.fail == nil && !r.item.Object.Signed && r.item.Owned && r.createdBy != "" && r.createdBy != m.ID {
			// An unsigned object (a feed's, a relayer's) in the name of
			// another member of the node: its id would be the
			// sharer's (the first version's member owns it), and
			// the member named its creator could then never share
			// it, nor a new version of it, on this node (a feed
			// serving a member's objects from another node before
			// the member shares them here). The member shares its
			// objects itself, signed; a relay collection takes
			// objects in the name of others, not of its members.
			// Once per creator: a feed's page names the same one
			// (its vendor's identity) in every object.
			name, seen := creators[r.createdBy]
			if !seen {
				switch other, err := n.store.Member(ctx, r.createdBy); {
				case err == nil:
					if name, err = nameOf(other); err != nil {
						return store.Status{}, err
					}
				case !errors.Is(err, store.ErrNotFound):
					return store.Status{}, err
				}
				creators[r.createdBy] = name
			}
			if name != "" {
				r.fail = &store.StatusDetail{ID: r.item.Object.ID, Version: r.version, Message: fmt.Sprintf(
					"created_by_ref names %s of this node: only that member may share objects in its name (signed)", name)}
			}
		}
		if r.fail != nil {
			if r.fail.Version == "" {
				// TAXII 2.1 requires a version in every status
				// detail (section 4.3.1). An object with neither
				// modified nor created (a cyber-observable, or one
				// that couldn't be read) is versioned by its
				// date_added; a refused one has none, so it gets the
				// time it would have had: the request's timestamp.
				r.fail.Version = taxii.FormatTimestamp(received)
			}
			sub.Failures = append(sub.Failures, *r.fail)
			continue
		}
		salt, err := tlog.NewSalt(n.rand)
		if err != nil {
			return store.Status{}, err
		}
		r.item.Salt = salt
		r.item.Entry = func(o store.Object) ([]byte, error) {
			// The store assigns the version of an object that has none
			// (its date_added), so the commitment is made here.
			op := tlog.Opening{Salt: salt, Collection: o.Collection, ObjectID: o.ID, Version: store.FormatTime(o.Version), Member: o.Member}
			return tlog.Entry{Kind: tlog.KindObject, Received: o.DateAdded, Commitment: tlog.ObjectCommitment(op, o.Raw)}.Marshal()
		}
		sub.Items = append(sub.Items, r.item)
	}
	st, err := n.store.Submit(ctx, sub)
	for i, d := range st.Successes {
		// Only the predefined object passes validation under a TLP id.
		if _, tlp := stix.LookupTLP(d.ID); tlp && d.Message == store.UnsignedMessage {
			st.Successes[i].Message = PredefinedTLPMessage
		}
	}
	return st, err
}

// PredefinedTLPMessage is the status message of a predefined TLP marking
// definition, which every collection takes unsigned.
const PredefinedTLPMessage = "stored unsigned: a predefined TLP marking definition, exactly as the specification fixes it (nobody signs it)"

// checkPDQQuality refuses a pdq indicator whose x_pdq_quality is not a
// whole number from 0 to 100 (pdq.ValidateQuality): every reader's
// pdq.ParseIndicator would refuse it, and a matcher could not tell a
// reliable hash from one it should not match.
func checkPDQQuality(o *stix.Object) error {
	if pt, _ := o.Props["pattern_type"].(string); o.Type != "indicator" || pt != pdq.PatternType {
		return nil
	}
	q, ok := o.Props[pdq.QualityProperty]
	if !ok {
		return nil
	}
	if _, err := pdq.ValidateQuality(q); err != nil {
		return fmt.Errorf("property %q is not a PDQ quality: %w", pdq.QualityProperty, err)
	}
	return nil
}

// MaxVersionAhead is how far ahead of the node's clock a version of an
// object (its modified, or its created) may be dated. The version that
// stands is the one with the greatest modified, and replacing,
// revoking or withdrawing takes a later version: one dated at the last
// instant a STIX timestamp can name (9999-12-31T23:59:59.999Z, a stolen
// key's before its member rotated it: an indicator, a report, an
// opinion) could never be outranked, and would stand for good. Any
// version within the bound leaves its member room for a later one, once
// the node's clock has passed the time the version was shared. The bound
// is wide, so that a clock ahead or a version dated in the future on
// purpose still goes in (`parley opinion` dates its version just after
// such a one).
const MaxVersionAhead = 100 * 365 * 24 * time.Hour

// CheckContent runs the checks the node makes of a valid STIX 2.1 object
// after its validator, whoever sends it and whatever the collection: a
// pdq indicator's quality ([checkPDQQuality]) and a cyber-observable's
// UUIDv5 id ([stix.CheckDeterministicID]). parley push runs them too, so
// that a file the node would refuse part of for what it holds pushes
// nothing.
func CheckContent(o *stix.Object) error {
	if err := checkPDQQuality(o); err != nil {
		return err
	}
	return stix.CheckDeterministicID(o)
}

// check runs steps 1–3 of [Node.Submit] on one object.
func (n *Node) check(m store.Member, c store.Collection, raw json.RawMessage) checked {
	fail := func(id, version, format string, args ...any) checked {
		if id == "" {
			id = "unknown"
		}
		return checked{fail: &store.StatusDetail{ID: id, Version: version, Message: fmt.Sprintf(format, args...)}}
	}
	o, err := stix.Parse(raw)
	if err != nil {
		return fail(guessID(raw), "", "%s", err)
	}
	version := ""
	if vs := o.Version(); vs != "" {
		version = vs
	}
	if err := n.validator.Validate(o); err != nil {
		return fail(o.ID, version, "%s", err)
	}
	if err := CheckContent(o); err != nil {
		return fail(o.ID, version, "%s", err)
	}
	relay := c.Relay
	switch {
	case o.CreatedByRef != "" && o.CreatedByRef != m.ID && !relay:
		return fail(o.ID, version, "created_by_ref is %s, but you are %s: members may only share objects they created (a collection with the relay policy takes objects you pass on)", o.CreatedByRef, m.ID)
	case o.CreatedByRef == "" && !stix.IsObservable(o.Type) && o.Type != "marking-definition" && !relay:
		// Only cyber-observables (which have no created_by_ref in STIX
		// 2.1) and creatorless marking definitions go without.
		return fail(o.ID, version, "the object has no created_by_ref: name your identity %s in it (objects without one are refused, unless the collection's policy is relay)", m.ID)
	}
	// The object is decoded once: the signature check and the stored
	// canonical bytes are built from the same decoded properties.
	signed := true
	pub, err := stix.VerifyObject(o)
	switch {
	case errors.Is(err, stix.ErrUnsigned) && stix.IsPredefinedTLP(o):
		// A predefined TLP marking definition is the specification's
		// object, not a member's: it can't carry a signature (validation
		// refuses any other content under its id), and every member's
		// bundles may bring it along (it is not owned).
		signed = false
	case errors.Is(err, stix.ErrUnsigned):
		if c.Signatures != store.SignaturesOptional {
			return fail(o.ID, version, "the object is not signed, and this collection requires signatures (sign it with parley sign or parley push)")
		}
		if o.CreatedByRef == "" && !relay {
			return fail(o.ID, version, "an unsigned object must name its creator in created_by_ref")
		}
		signed = false
	case err != nil:
		return fail(o.ID, version, "%s", err)
	case m.PublicKey == nil:
		return fail(o.ID, version, "the object is signed, but you have no registered public key")
	case !bytes.Equal(pub, ed25519.PublicKey(m.PublicKey)):
		return fail(o.ID, version, "the object is signed with a key that is not your registered key")
	}
	canon, err := o.Canonical()
	if err != nil {
		return fail(o.ID, version, "%s", err)
	}
	var v time.Time
	switch {
	case !o.Modified.IsZero():
		v = o.Modified
	case !o.Created.IsZero():
		v = o.Created
	}
	if limit := n.now().Add(MaxVersionAhead); v.After(limit) {
		return fail(o.ID, version, "the %s is dated %s, more than %d years ahead of the node's clock (%s): no later version of it could ever replace or revoke it", o.Type, stix.FormatTimestamp(v), MaxVersionAhead/(365*24*time.Hour), stix.FormatTimestamp(n.now().UTC()))
	}
	return checked{
		version: version, createdBy: o.CreatedByRef,
		item: store.Item{Owned: owned(o), Object: store.Object{
			ID: o.ID, Type: o.Type, SpecVersion: o.SpecVersion, Version: v, Signed: signed, Raw: canon,
		}},
	}
}

// owned reports whether o's id belongs to the member who creates its first
// version: every object but cyber-observables whose ids anyone may share
// and marking definitions without a creator (such as the fixed TLP
// definitions, which every member shares).
//
// An observable's id is shared when it is the UUIDv5 of STIX 2.1 section
// 2.9 over its ID contributing properties ([stix.CheckDeterministicID] has
// checked it): the id names the value, so nobody can put another value
// under it. It is shared too when the observable's type has no
// contributing property (a process: section 2.9 then makes the id
// random). An observable of another type with another UUID version (the
// UUIDv4 ids MISP, OpenCTI and the OASIS examples give observables, which
// the specification allows) has an id that names nothing but itself:
// shared, any writer could add a version with another value under it, and
// every observed-data, relationship or sighting that refers to it would
// then point at that value. So it is owned, like a domain object's random
// id, whether or not the version at hand has contributing properties
// ([stix.OwnedObservableID]): a version without any is another value too.
func owned(o *stix.Object) bool {
	if stix.IsObservable(o.Type) {
		return stix.OwnedObservableID(o)
	}
	return !(o.Type == "marking-definition" && o.CreatedByRef == "")
}

// guessID returns the "id" member of what looks like a JSON object, for
// naming an object that failed to parse in the status.
func guessID(raw []byte) string {
	var v struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(raw, &v) != nil || len(v.ID) > 200 {
		return ""
	}
	return v.ID
}
