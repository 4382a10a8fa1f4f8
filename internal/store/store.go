// Package store defines the storage interface of a Parley node and the
// guarantees every implementation keeps.
//
// The interface is shaped around what the node does (register a member,
// submit an envelope of STIX 2.1 objects with their log entries, page
// through a TAXII 2.1 collection) rather than around tables. One
// conformance suite, [github.com/parley-exchange/parley/internal/store/storetest],
// is run unchanged against every implementation: the embedded SQLite store
// (internal/store/sqlite) and PostgreSQL (internal/store/postgres).
//
// # Durability contract
//
// A method that changes state (AddMember, ChangeKey, AddToken,
// AddCollection, Submit, Integrate, CreatePrivateSet, UpdatePrivateSet,
// SpendPrivateBudget, AddFeed, RecordPoll, PutCosignedCheckpoint...)
// returns nil only after the change is durable: it survives a crash of the
// process or of the machine at any later moment. A method that returns an
// error changed nothing. Every Submit is one transaction: the object
// versions, their log entries and the status resource are written together
// or not at all.
//
// # Append-only
//
// Object versions and log entries are never updated or deleted. Re-submitting
// an identical object version is accepted and not duplicated (no second row,
// no second log entry); submitting the same id and version with different
// content is rejected with [ErrConflict].
package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/parley-exchange/parley/tlog"
)

// Sentinel errors that callers branch on. Implementations wrap them, so use
// errors.Is.
var (
	// ErrNotFound: the member, token, collection, status, object or log
	// entry does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the write would overwrite or duplicate something that
	// exists (a member name or id, a collection id, an object version with
	// different content).
	ErrConflict = errors.New("conflict")
	// ErrKeyHeld: a registration or rotation names a key that another
	// member holds or held (a key belongs to one member, docs/log.md). It
	// wraps [ErrConflict].
	ErrKeyHeld = fmt.Errorf("%w: the key is another member's", ErrConflict)
	// ErrInvalid: the argument breaks the interface's contract (an empty
	// id, a zero limit, a malformed key); nothing was changed.
	ErrInvalid = errors.New("invalid argument")
	// ErrTooLarge: a submitted object is larger than the store's largest
	// object ([Limits].MaxObjectSize); nothing was stored.
	ErrTooLarge = errors.New("object too large")
	// ErrQuota: the submission would take its member over its storage
	// quota ([Limits].MemberQuota); nothing was stored. The error is a
	// [*QuotaError].
	ErrQuota = errors.New("storage quota exceeded")
	// ErrFull: the store's storage is full (a full disk, SQLite's
	// SQLITE_FULL, ENOSPC); the write was rolled back and nothing was
	// stored. It may succeed once space is freed.
	ErrFull = errors.New("storage full")
	// ErrUnavailable: the store can't be reached now (its server is down
	// or restarting, the network to it is cut, it refuses connections or
	// has none left). It is temporary as far as the store can tell: the
	// same call may be retried later, and the store reconnects by itself.
	// The error also wraps the driver's error, for the log; that text may
	// name hosts and users, so it is never shown to a client.
	//
	// A read, or a write that failed before its COMMIT was sent, changed
	// nothing. A write whose connection broke while its COMMIT was in
	// flight has an unknown outcome: the server may have committed it.
	// So a caller must not tell its client that nothing was stored, only
	// that the store is unavailable and the request may be retried. A
	// retry may find the first attempt done: a submission of the same
	// object version is accepted and stored once, a creation may then
	// fail with [ErrConflict].
	ErrUnavailable = errors.New("store unavailable")
	// ErrSubmitterChanged: a [Submission] with CheckSubmitter found, in
	// its own transaction, that its member was revoked or removed, may
	// no longer write the collection, or has another key in force than
	// the one the node checked the signatures against; nothing was
	// stored.
	ErrSubmitterChanged = errors.New("the submitting member's key or access changed while the submission was checked")
)

// Limits bound what one member may store. The zero value sets no limit.
type Limits struct {
	// MaxObjectSize is the largest object, in bytes of its stored JSON
	// ([Object].Raw); 0 means no limit.
	MaxObjectSize int64
	// MemberQuota is the most bytes of stored JSON (the sum of Raw over
	// every object version a member submitted, in every collection) one
	// member may have; 0 means no limit. Identical re-submissions, which
	// store nothing, cost nothing.
	MemberQuota int64
}

// QuotaError is the error of a submission refused by the member quota
// ([ErrQuota]): Used is what the member stored before it, Need what its
// new versions would add.
type QuotaError struct {
	Member            string
	Used, Need, Quota int64
}

func (e *QuotaError) Error() string {
	return fmt.Sprintf("storage quota exceeded: member %s uses %d of %d bytes and these objects need %d more", e.Member, e.Used, e.Quota, e.Need)
}

// Unwrap returns [ErrQuota].
func (e *QuotaError) Unwrap() error { return ErrQuota }

// UnsignedMessage is the status message a store gives an object it
// stored unsigned, which only a collection accepting unsigned objects
// does, but for the predefined TLP marking definitions: the node
// replaces it for those (node.PredefinedTLPMessage), which every
// collection takes unsigned.
const UnsignedMessage = "stored unsigned (the collection accepts unsigned objects)"

// VersionConflictMessage is the status message of an object whose id and
// version are already stored with other content. It is a failure of that
// object alone (versions are never overwritten), and clients recognise
// it by this text: `parley push --on-conflict skip` counts such objects as
// skipped rather than failed.
const VersionConflictMessage = "a different object with this id and version is already stored; versions are never overwritten (change modified)"

// SignaturePolicy says whether a collection accepts unsigned objects.
type SignaturePolicy string

const (
	// SignaturesRequired rejects every object that is not signed by its
	// creator's registered key. It is the default.
	SignaturesRequired SignaturePolicy = "required"
	// SignaturesOptional accepts unsigned objects (from tools that cannot
	// sign) and marks them unsigned; signed objects are still verified.
	SignaturesOptional SignaturePolicy = "optional"
)

// Member is an organisation taking part in the exchange.
type Member struct {
	// ID is the id of the member's STIX identity object ("identity--UUID").
	ID string
	// Name is unique among members; the CLI accepts it wherever an id is.
	Name string
	// PublicKey is the member's 32-byte Ed25519 key, or nil when the
	// member has not registered one (it can then submit only unsigned
	// objects to collections with [SignaturesOptional]).
	PublicKey []byte
	// Identity is the STIX identity object the node created for the
	// member, as JSON.
	Identity []byte
	// Created is when the member was added.
	Created time.Time
}

// Token is an API token, known to the store only by its SHA-256 hash.
type Token struct {
	// Hash is SHA-256 of the token as the client sends it.
	Hash [32]byte
	// Member is the id of the member the token authenticates.
	Member string
	// Created is when the token was issued.
	Created time.Time
}

// Collection is a TAXII collection with its access lists.
type Collection struct {
	// ID is the TAXII collection id (a UUID).
	ID string
	// Title and Description are shown to members who may see the collection.
	Title       string
	Description string
	// Readers and Writers are member ids. A member in neither list cannot
	// see the collection at all (default deny).
	Readers []string
	Writers []string
	// Signatures is the collection's signature policy; empty means
	// [SignaturesRequired].
	Signatures SignaturePolicy
	// Relay says that writers may share objects they did not author
	// (created_by_ref naming someone else, or no one): the writer's
	// signature then vouches for the relay, not the authorship, and the
	// writer owns the ids it relays first.
	Relay bool
	// Created is when the collection was added.
	Created time.Time
}

// CanRead reports whether member may read the collection.
func (c Collection) CanRead(member string) bool { return contains(c.Readers, member) }

// MemberRevoked reports whether the revocation of member (an identity
// id) is logged among its key entries in s (parley member revoke, and
// parley member remove, which revokes first).
func MemberRevoked(ctx context.Context, s Store, member string) (bool, error) {
	es, err := s.KeyEntries(ctx, math.MaxInt64, member)
	if err != nil {
		return false, err
	}
	for _, e := range es {
		le, err := tlog.ParseEntry(e.Leaf)
		if err != nil {
			return false, fmt.Errorf("couldn't read key entry %d: %w", e.Index, err)
		}
		if le.Event == tlog.EventRevokeMember {
			return true, nil
		}
	}
	return false, nil
}

// ReadableBy returns the ids of the collections of cs that member may
// read, in the order of cs; never nil, for "no readable collection" is a
// list the store reads nothing of, not "no restriction".
func ReadableBy(cs []Collection, member string) []string {
	ids := []string{}
	for _, c := range cs {
		if c.CanRead(member) {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

// CanWrite reports whether member may write to the collection.
func (c Collection) CanWrite(member string) bool { return contains(c.Writers, member) }

// RequiresSignatures reports whether the collection takes only objects
// signed by their member (anything but [SignaturesOptional]): a writer
// with no signing key in force can write nothing to it.
func (c Collection) RequiresSignatures() bool { return c.Signatures != SignaturesOptional }

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Object is one stored version of a STIX object in one collection.
type Object struct {
	// Seq is the store's monotonic sequence number, assigned on insert:
	// every object version added later has a larger Seq. Cursors are
	// built on it.
	Seq int64
	// Collection is the collection id.
	Collection string
	// ID, Type and SpecVersion are the object's id, type and spec_version.
	ID          string
	Type        string
	SpecVersion string
	// Version is the object's modified (or created) timestamp; objects
	// with neither get their DateAdded.
	Version time.Time
	// DateAdded is when the node added this version. It is strictly
	// increasing with Seq (microsecond resolution), so added_after never
	// skips an object added in the same instant as another.
	DateAdded time.Time
	// Member is the id of the member who submitted it.
	Member string
	// Signed is false for objects accepted unsigned under
	// [SignaturesOptional].
	Signed bool
	// Raw is the object's JSON exactly as stored and served.
	Raw []byte
	// LogIndex is the index of this version's log entry.
	LogIndex int64
	// Salt is the salt of the log entry's commitment (filled by Objects;
	// only readers of the collection may see it).
	Salt []byte
}

// Opening returns the opening of the object's log entry: what a reader
// checks the object against ([tlog.CheckObject]).
func (o Object) Opening() tlog.Opening {
	return tlog.Opening{Salt: o.Salt, Collection: o.Collection, ObjectID: o.ID, Version: FormatTime(o.Version), Member: o.Member}
}

// Item is one object version of a [Submission].
type Item struct {
	// Owned says that the object's id belongs to the member that created
	// its first version (SDOs, SROs and meta objects): a version from any
	// other member is a failure, in every collection. Cyber-observables are
	// not owned: their ids are deterministic, so the same observable in two
	// collections is two copies, and the store never compares them across
	// collections (which would tell a writer what a collection it may not
	// read holds).
	Owned bool
	// Object is the version to store; Seq, DateAdded, Collection, Member
	// and LogIndex are assigned by the store. A zero Version means "use
	// DateAdded".
	Object Object
	// Salt is the secret salt of the log entry's commitment.
	Salt []byte
	// Entry returns the log entry's leaf bytes for the object as it will
	// be stored (all fields assigned). It is called inside the
	// transaction, once per new version, and must not do I/O; an error
	// aborts the whole Submit.
	Entry func(o Object) ([]byte, error)
}

// StatusDetail is one object's line in a status resource.
type StatusDetail struct {
	ID      string
	Version string
	Message string
}

// Status is a TAXII status resource: the outcome of one submission.
type Status struct {
	ID string
	// Collection and Member say where the submission went and who made
	// it; only that member may read the status.
	Collection string
	Member     string
	// RequestTimestamp is when the request was received.
	RequestTimestamp time.Time
	// Successes, Failures and Pendings list the objects in submission
	// order. Parley processes submissions synchronously, so Pendings is
	// always empty once a status exists.
	Successes []StatusDetail
	Failures  []StatusDetail
	Pendings  []StatusDetail
}

// Submission is one envelope's accepted objects plus the failures the node
// already found (validation, signature), recorded together as one status.
type Submission struct {
	// StatusID is the id of the status resource to create.
	StatusID   string
	Collection string
	Member     string
	// Received is the request time (the status's request_timestamp).
	Received time.Time
	// Items are the objects that passed the node's checks, in order.
	Items []Item
	// Failures are objects the node rejected before the store saw them.
	Failures []StatusDetail
	// OwnCopiesOnly makes an unversioned object (most SCOs) "already
	// stored" only when Member itself stored an identical copy in the
	// collection; another member's copy doesn't count, and the object is
	// stored as a new version. The node sets it when Member may write the
	// collection but not read it, so that the answer doesn't tell it what
	// others stored there, or when.
	OwnCopiesOnly bool
	// CheckSubmitter makes the store check, inside the submission's
	// transaction and after it has taken its place in the log (so
	// against every key event and removal committed before), that Member
	// is not revoked, may write Collection, and has Key in force (nil:
	// no key); otherwise it stores nothing and fails with
	// [ErrSubmitterChanged]. The node reads the member, and checks the
	// signatures against its key, before the transaction; without this
	// check an operator's key rotation or revocation, or a member's
	// revocation or removal, committed in between would leave objects
	// logged after the key event, signed by a key no longer in force, or
	// written by a member no longer allowed to.
	CheckSubmitter bool
	// Key is the member's key in force that the node checked the items'
	// signatures against, for CheckSubmitter.
	Key []byte
	// CheckRevoked, for a submission whose member writes without being
	// on the collection's access lists (a peer's member replicating),
	// makes the store refuse it with [ErrSubmitterChanged], storing
	// nothing, when Member, as committed, was revoked or removed.
	// CheckSubmitter checks this too.
	CheckRevoked bool
}

// VersionSelector is one value of TAXII's match[version].
type VersionSelector struct {
	// Kind is "first", "last", "all" or "at".
	Kind string
	// At is the version for Kind "at".
	At time.Time
}

// Version selector kinds.
const (
	VersionFirst = "first"
	VersionLast  = "last"
	VersionAll   = "all"
	VersionAt    = "at"
)

// Query selects object versions of one collection, in Seq order.
type Query struct {
	Collection string
	// IDs, Types and SpecVersions, when not empty, keep only objects whose
	// id, type or spec_version is in the list.
	IDs          []string
	Types        []string
	SpecVersions []string
	// Versions selects versions per object id (their union); empty means
	// "last".
	Versions []VersionSelector
	// AddedAfter, when not zero, keeps only versions added strictly after it.
	AddedAfter time.Time
	// After is a cursor: only versions with Seq > After are returned.
	After int64
	// Limit is the largest number of versions returned (at least 1).
	Limit int
	// MaxBytes, when > 0, bounds the page's memory: the page ends before
	// a version whose Raw would take the page's total over MaxBytes (More
	// is then true), but holds at least one version whatever its size.
	MaxBytes int64
	// OmitRaw leaves Raw empty (for manifests and version lists), so that
	// a page costs no memory for the objects; MaxBytes doesn't apply.
	OmitRaw bool
}

// Page is one page of a [Query].
type Page struct {
	Objects []Object
	// More is true when versions after the last one returned match too;
	// the next page is the same query with After set to the last Seq.
	More bool
}

// KeyEvent is a member key event after registration: a rotation or a
// revocation ([tlog.EventRotate], [tlog.EventRevokeKey],
// [tlog.EventRevokeMember]) with the authority that made it.
type KeyEvent struct {
	Member    string
	Event     string
	Key       []byte
	Authority string
	// Statement is the member's signature of the rotation
	// ([tlog.RotationMessage]) by its previous key, for authority "member".
	Statement []byte
}

// Entry is one log entry.
type Entry struct {
	// Index is the entry's position in the log: 0, 1, 2... without gaps.
	Index int64
	// Leaf is the entry's canonical bytes (the Merkle tree leaf).
	Leaf []byte
	// Kind is the entry's kind (tlog.Kind*).
	Kind string
	// Salt is the commitment's salt; only readers of Collection may see it.
	Salt       []byte
	Collection string
	ObjectID   string
	Version    time.Time
	Member     string
	Received   time.Time
}

// Opening returns the entry's opening (for object and OPRF key entries).
func (e Entry) Opening() tlog.Opening {
	return tlog.Opening{Salt: e.Salt, Collection: e.Collection, ObjectID: e.ObjectID, Version: FormatTime(e.Version), Member: e.Member}
}

// Store is the node's persistent state: everything the node keeps goes
// through it, so a node runs on any implementation that passes storetest.
// It is organised as named parts embedded below, one file each; there are
// no optional abilities to type-assert. Implementations are safe for
// concurrent use. Every method with a ctx stops waiting when ctx is done.
type Store interface {
	// AddMember registers m and appends its registration (a member key
	// entry in clear, with its key if it has one) to the log, in one
	// transaction. It fails with ErrConflict if the id or the name is
	// taken, ErrInvalid if either is empty or a key is not 32 bytes.
	AddMember(ctx context.Context, m Member) error
	// ChangeKey records a key rotation or revocation: the member's key in
	// force changes (to ev.Key, or to none) and the event is appended to
	// the log, in one transaction. A revoked member's tokens stop working.
	// It fails with ErrNotFound for an unknown member and ErrInvalid for
	// an event the log's rules refuse ([tlog.KeyHistory.Apply]), changing
	// nothing.
	ChangeKey(ctx context.Context, ev KeyEvent) error
	// KeyEntries returns the member key entries of the given members (of
	// every member when none is given) with index < size, in log order.
	KeyEntries(ctx context.Context, size int64, members ...string) ([]Entry, error)
	// Member returns the member with the given identity id (ErrNotFound).
	Member(ctx context.Context, id string) (Member, error)
	// MemberByName returns the member with the given name (ErrNotFound).
	MemberByName(ctx context.Context, name string) (Member, error)
	// Members returns every member ordered by name.
	Members(ctx context.Context) ([]Member, error)

	// AddToken stores a token hash for an existing member (ErrNotFound if
	// the member does not exist, ErrInvalid if it was revoked or removed,
	// ErrConflict if the hash exists).
	AddToken(ctx context.Context, t Token) error
	// TokenMember returns the member a token hash belongs to, or
	// ErrNotFound. Implementations find candidates by a short prefix of
	// the hash and compare the full hash in constant time.
	TokenMember(ctx context.Context, hash [32]byte) (Member, error)

	// ---- Operator actions on tokens and members (issue #13: parley
	// member token --rotate|--revoke, parley member remove). ----
	//
	// None of them is cached anywhere: once one returns, TokenMember
	// answers accordingly on every front end of the store.

	// RevokeTokens deletes every token of member at once and returns how
	// many there were (0 is not an error). ErrNotFound for an unknown
	// member.
	RevokeTokens(ctx context.Context, member string) (int, error)
	// ReplaceTokens deletes every token of t.Member and stores t, in one
	// transaction, and returns how many tokens were deleted: after it
	// returns only t authenticates the member. ErrNotFound for an unknown
	// member, ErrInvalid for a revoked or removed one (as AddToken),
	// ErrConflict if t.Hash exists; each changes nothing.
	ReplaceTokens(ctx context.Context, t Token) (int, error)
	// RemoveMember ends a member's access in one transaction: its tokens
	// are deleted, it is taken off every collection's readers and
	// writers, and AddToken and ReplaceTokens refuse it from then on
	// (ErrInvalid). Its identity, objects and log entries stay (the log is
	// append-only; Member and Members still return it). It logs nothing:
	// the caller logs the member's revocation first (ChangeKey with
	// [tlog.EventRevokeMember]). Removing a removed member succeeds and
	// changes nothing. ErrNotFound for an unknown member.
	RemoveMember(ctx context.Context, member string) error
	// SetCollectionDescription replaces the description of collection id
	// (ErrNotFound for an unknown one); nothing else of it changes.
	SetCollectionDescription(ctx context.Context, id, description string) error
	// RevokeAccess takes away member's read (read) and/or write (write)
	// on collection, in one transaction; a member left with neither is
	// off the collection's lists. Nothing caches access lists, so it
	// holds from the next request on every process sharing the store, a
	// submission or private set in flight included (see
	// [Submission].CheckSubmitter). ErrNotFound for an unknown collection
	// or a member not on its lists; ErrInvalid when neither is asked.
	RevokeAccess(ctx context.Context, collection, member string, read, write bool) error
	// GrantAccess gives member read (read) and/or write (write) on
	// collection, in one transaction, keeping what it has: a member not
	// on the collection's lists is put on them. Like RevokeAccess it logs
	// nothing and holds from the next request on every process sharing
	// the store. ErrNotFound for an unknown collection or member;
	// ErrInvalid for a revoked or removed member (as AddToken) or when
	// neither is asked; each changes nothing.
	GrantAccess(ctx context.Context, collection, member string, read, write bool) error
	// ---- end of the operator actions ----

	// AddCollection stores c. Readers and writers must be existing member
	// ids (ErrNotFound); a taken id is ErrConflict.
	AddCollection(ctx context.Context, c Collection) error
	// Collection returns one collection (ErrNotFound).
	Collection(ctx context.Context, id string) (Collection, error)
	// Collections returns every collection ordered by creation.
	Collections(ctx context.Context) ([]Collection, error)
	// Access reports whether member may read and write collection id
	// (ErrNotFound for an unknown collection) by one lookup of the pair in
	// an index: unlike Collection, it reads nothing of the access lists
	// whose time grows with their length, so the answer to a member who
	// may not see a collection takes as long however many may.
	Access(ctx context.Context, id, member string) (canRead, canWrite bool, err error)

	// Submit stores the new versions among s.Items, one log entry for each
	// in item order, and the status resource, in one transaction. An item
	// identical to a stored version (same collection, id, version and raw
	// bytes) is a success that adds nothing; an item with a stored id and
	// version but different bytes is a failure (its message says so) and
	// the other items still succeed. The error is non-nil only when
	// nothing was stored (the collection is unknown: ErrNotFound; a taken
	// status id: ErrConflict; an item over the store's [Limits]:
	// ErrTooLarge or ErrQuota; I/O).
	Submit(ctx context.Context, s Submission) (Status, error)
	// Objects returns one page of q.
	Objects(ctx context.Context, q Query) (Page, error)
	// Status returns a status resource (ErrNotFound).
	Status(ctx context.Context, id string) (Status, error)
	// StatusMember returns the member who made a status resource's
	// submission (ErrNotFound), without reading the resource, whose size
	// grows with the submission's objects: what deciding who may read it
	// needs, in a time that doesn't depend on what it holds.
	StatusMember(ctx context.Context, id string) (string, error)

	// The log: its entries, tiles and checkpoints.
	LogStore
	// Fenced leases (the integrator's).
	Leases
	// Witness cosignatures of the log's checkpoints.
	CosignedCheckpoints
	// OPRF private sets.
	PrivateSets
	// Opinions by the objects they are about.
	OpinionIndex
	// Storage use and object sizes.
	Sizes
	// Followed TAXII feeds.
	Feeds
	// The web UI's queries.
	UIQueries
	// The peers a node follows and their replication (federation).
	PeerStore
	// The web UI's sessions.
	UISessions

	// Close releases the store; it must be the last call.
	Close() error
}

// FormatTime formats t as a STIX/TAXII timestamp: UTC, RFC 3339, with
// millisecond precision, or more digits when t has them.
func FormatTime(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond()%int(time.Millisecond) == 0 {
		return t.Format("2006-01-02T15:04:05.000Z")
	}
	return t.Format(time.RFC3339Nano)
}
