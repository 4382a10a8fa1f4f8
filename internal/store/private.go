package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// PrivateSource says where a private set's values come from.
type PrivateSource string

// Sources of a private set's values.
const (
	// PrivateSourceCollection: the equality values of the provider's
	// indicators in the collection, kept up to date.
	PrivateSourceCollection PrivateSource = "collection"
	// PrivateSourceValues: a fixed list of values given at publication.
	PrivateSourceValues PrivateSource = "values"
)

// ErrBudgetSpent is returned by [PrivateSets.SpendPrivateBudget] when a
// reader has no query budget left for the set.
var ErrBudgetSpent = errors.New("query budget spent")

// PrivateSet is a stored private set without its tags.
type PrivateSet struct {
	ID         string
	Member     string
	Collection string
	// Source is [PrivateSourceCollection] or [PrivateSourceValues].
	Source PrivateSource
	Suite  string
	// PrivateKey is the OPRF private key: a secret, never to be logged.
	PrivateKey []byte
	PublicKey  []byte
	// KeyLogIndex is the index of the log entry committing PublicKey.
	KeyLogIndex int64
	Created     time.Time
	// Cursor is the Seq of the last collection object the set has taken
	// into account.
	Cursor int64
	// Size is the number of tags.
	Size int
}

// PrivateTag is one tag of a set and, for sets built from a collection,
// the canonical line it is the tag of.
type PrivateTag struct {
	Tag  []byte
	Line string
}

// IndicatorValues are the canonical lines of one indicator's latest
// version; no lines means the indicator no longer contributes (revoked,
// expired, or with no equality values).
type IndicatorValues struct {
	IndicatorID string
	Lines       []string
	// Expires is the indicator's valid_until (zero: never); see
	// [PrivateSets.ExpirePrivateIndicators].
	Expires time.Time
}

// NewPrivateSet is what [PrivateSets.CreatePrivateSet] writes.
type NewPrivateSet struct {
	Set PrivateSet
	// Tags are the set's tags (with their lines for collection sets).
	Tags []PrivateTag
	// Indicators map indicator ids to their lines (collection sets).
	Indicators []IndicatorValues
	// KeyEntry is the leaf of the log entry committing the public key,
	// given the entry's index and received time (which it must contain).
	// It is called inside the transaction and must not do I/O.
	KeyEntry func(index int64, received time.Time) ([]byte, error)
	// Salt is the key entry's commitment salt (its opening is the salt,
	// the set id, collection and member, served to the set's readers).
	Salt []byte
	// Version is the key entry's version (the set's creation time).
	Version time.Time
	// MaxPerMember, when > 0, is the most sets the set's member may have:
	// a set beyond it fails with a *[SetLimitError], changing nothing.
	MaxPerMember int
	// CheckWriter makes the store refuse the set with
	// [ErrSubmitterChanged], changing nothing, unless, inside the
	// transaction that logs its key, the set's member is not revoked and
	// may write its collection: the node checks both before it computes
	// the tags, which takes seconds for a large set, and an operator's
	// revocation or removal meanwhile must not let the set into the log
	// after it.
	CheckWriter bool
}

// PrivateWithdrawal is what [PrivateSets.RemovePrivateSet] writes.
type PrivateWithdrawal struct {
	// ID is the set's, Member its provider's (the member withdrawing).
	ID, Member string
	// Salt is the withdrawal entry's commitment salt.
	Salt []byte
	// Entry returns the leaf of the withdrawal's log entry given its
	// index and received time (which it must contain) and the leaf of
	// the set's key entry (whose commitment it binds). It is called
	// inside the transaction and must not do I/O.
	Entry func(index int64, received time.Time, keyLeaf []byte) ([]byte, error)
	// Statement is the provider's signed statement of the withdrawal,
	// nil for a withdrawal without one. It is stored as given (the
	// node checked it, and derived Salt from it).
	Statement *WithdrawalStatement
}

// WithdrawalStatement is a provider's signed statement that it withdraws
// a set (private.WithdrawRequest), as a withdrawn set keeps it: the time
// and signature, the member key that signed, and the nonce that with
// them makes the withdrawal entry's salt (private.WithdrawalSalt).
type WithdrawalStatement struct {
	Signed                   time.Time
	Nonce, Signer, Signature []byte
}

// WithdrawnPrivateSet is what stays of a withdrawn private set: what its
// readers need to check the receipts of its key entry and of its
// withdrawal entry. Never its private key, its tags or its lines.
type WithdrawnPrivateSet struct {
	ID         string
	Member     string
	Collection string
	Suite      string
	PublicKey  []byte
	// KeyLogIndex is the index of the set's key entry.
	KeyLogIndex int64
	Created     time.Time
	// Withdrawn is the withdrawal entry's received time, and
	// WithdrawalLogIndex its index.
	Withdrawn          time.Time
	WithdrawalLogIndex int64
	// Statement is the provider's signed statement of the withdrawal,
	// nil when it had none ([PrivateWithdrawal]).
	Statement *WithdrawalStatement
}

// SetLimitError refuses a private set to a member that has Have sets, the
// most [NewPrivateSet].MaxPerMember allows. It wraps [ErrQuota].
type SetLimitError struct {
	Member     string
	Have, Most int
}

func (e *SetLimitError) Error() string {
	return fmt.Sprintf("member %s has %d private sets, the most it may have (%d)", e.Member, e.Have, e.Most)
}

// Unwrap returns [ErrQuota].
func (e *SetLimitError) Unwrap() error { return ErrQuota }

// PrivateSets keeps OPRF private sets (package private,
// internal/node/private*.go): each set's key, its tags, the provider's
// indicator lines a collection set was built from, and every reader's
// spent query budget.
//
// What is stored, and what never is: a set's OPRF private key (the node
// evaluates on the provider's behalf, so it must hold it; it is a secret
// like node.key), the tags, and for sets built from a collection the
// canonical "type:value" lines of the provider's own indicators so that
// the set can follow revocations. A querier's blinded elements, the
// evaluated elements and which of its values matched are never written:
// the only trace of a query is the per-(set, reader) counter of elements
// evaluated, with no timestamp.
type PrivateSets interface {
	// CreatePrivateSet stores a new set, its tags and indicator lines, and
	// appends the log entry that commits its public key (kind OPRF key,
	// built by n.KeyEntry), in one transaction; the returned set has
	// KeyLogIndex and Size assigned. The entry's opening is n.Salt, the
	// set's collection, id (as ObjectID) and member, and n.Version. It
	// fails, changing nothing, with ErrInvalid when the id, either key or
	// KeyEntry is missing, ErrConflict for a taken id and ErrNotFound for
	// an unknown collection, and as n.MaxPerMember says. A member has at
	// most one set made from a given collection (a second is ErrConflict:
	// each would hold its own copy of the member's values there). The
	// set's member is charged
	// [PrivateSetBytes] of it against its storage quota
	// ([Limits].MemberQuota), with its objects: a set that would take the
	// member over it fails with a *[QuotaError], changing nothing. (What a
	// set made from a collection gains at its refreshes is not charged: it
	// derives from indicators the member stored, which were.)
	CreatePrivateSet(ctx context.Context, n NewPrivateSet) (PrivateSet, error)
	// PrivateSet returns one set, with its Size (ErrNotFound).
	PrivateSet(ctx context.Context, id string) (PrivateSet, error)
	// PrivateSetOwner returns the collection a set was made for and its
	// member (ErrNotFound): what deciding who may see the set needs,
	// read without its tags, so that its time doesn't depend on the
	// set's size (PrivateSet counts them).
	PrivateSetOwner(ctx context.Context, id string) (collection, member string, err error)
	// PrivateSets returns every set, oldest (by Created) first.
	PrivateSets(ctx context.Context) ([]PrivateSet, error)
	// PrivateSetsFor returns the sets made from one of collections or by
	// member, oldest (by Created) first: the sets that a member who may
	// read collections may list. It reads those sets and no others, so
	// that its time tells the member nothing of the rest (their number,
	// their sizes).
	PrivateSetsFor(ctx context.Context, collections []string, member string) ([]PrivateSet, error)
	// PrivateSetCounts returns how many sets member has, and how many of
	// them are made from collection (at most one), without reading them.
	PrivateSetCounts(ctx context.Context, member, collection string) (all, fromCollection int, err error)
	// PrivateSetTags returns the set's tags in ascending byte order
	// (none for an unknown set).
	PrivateSetTags(ctx context.Context, id string) ([][]byte, error)
	// PrivateSetTagsAfter returns up to limit tags of set id greater than
	// after (nil: from the first), in ascending byte order: one page of
	// the set's tags, so that a caller can send a large set in bounded
	// memory, with no read transaction open between pages.
	PrivateSetTagsAfter(ctx context.Context, id string, after []byte, limit int) ([][]byte, error)
	// PrivateSetLines returns, for a collection set, the lines that
	// already have a tag, with their tags, so that only new lines need an
	// OPRF evaluation.
	PrivateSetLines(ctx context.Context, id string) (map[string][]byte, error)
	// UpdatePrivateSet replaces the lines of the given indicators (an
	// indicator with no lines is removed), adds the tags of new lines
	// (newTags, with their lines), removes the tags of lines no indicator
	// holds any more, and moves the set's cursor to toCursor, in one
	// transaction. It fails with ErrConflict, changing nothing, if the
	// stored cursor is not fromCursor (another update ran first), and
	// with ErrNotFound for an unknown set.
	UpdatePrivateSet(ctx context.Context, id string, fromCursor, toCursor int64, changed []IndicatorValues, newTags []PrivateTag) error
	// ExpirePrivateIndicators removes from a collection set the indicators
	// whose Expires is at or before now, and the tags of lines no
	// remaining indicator holds, in one transaction. It returns how many
	// indicator lines expired.
	ExpirePrivateIndicators(ctx context.Context, id string, now time.Time) (int, error)
	// SpendPrivateBudget charges n evaluated elements to member's budget
	// for the set and returns what is left of limit. If fewer than n
	// remain it charges nothing and fails with [ErrBudgetSpent] (so
	// exactly limit elements can be spent, in any split). The charge is
	// durable before it returns, so a crash cannot refund queries;
	// concurrent calls never together spend more than limit. An unknown
	// (or withdrawn) set is ErrNotFound, and nothing is charged.
	SpendPrivateBudget(ctx context.Context, setID, member string, n, limit int64) (left int64, err error)
	// PrivateBudgetUsed returns how many elements member has had
	// evaluated against the set (0 if none).
	PrivateBudgetUsed(ctx context.Context, setID, member string) (int64, error)
	// RemovePrivateSet withdraws set w.ID of w.Member: its row, its keys
	// (the OPRF private key is destroyed: nothing can evaluate under it
	// any more), its tags, its indicator lines and every reader's budget
	// counter go, and the log entry that records the withdrawal (kind
	// OPRF withdrawal, built by w.Entry) is appended, in one transaction.
	// What stays, to show the set's readers what they were shown: a
	// [WithdrawnPrivateSet] (its id, collection, provider, suite, public
	// key and both entries' indexes), and the members who could read it
	// then (the readers of its collection and its provider), whom
	// [PrivateSets.WithdrawnPrivateSet] answers. Its key entry stays, as
	// every entry does, and what its member was charged for it stays
	// charged (the charge of a set is not stored). The withdrawal
	// entry's opening is w.Salt, the set's collection, id (as ObjectID)
	// and member, and the entry's received time as its version. An
	// unknown set, or one of another member, is ErrNotFound, and nothing
	// changes; a missing w.Entry is ErrInvalid.
	RemovePrivateSet(ctx context.Context, w PrivateWithdrawal) (WithdrawnPrivateSet, error)
	// WithdrawnPrivateSet returns withdrawn set id if member could read
	// it when it was withdrawn, and otherwise fails with ErrNotFound, as
	// for an id no set ever had: one indexed lookup, so that the answer's
	// time doesn't depend on how many readers the set had.
	WithdrawnPrivateSet(ctx context.Context, id, member string) (WithdrawnPrivateSet, error)
	// PrivateSetLive returns nil if set id is stored, ErrNotFound if it
	// isn't (never was, or is withdrawn). It is the guard an evaluation
	// passes after it computed its answer and before it sends it: ordered
	// against [PrivateSets.RemovePrivateSet] by the store (a withdrawal
	// under way is waited for), so that once a withdrawal has committed,
	// which is before its 204, no evaluation still to be sent passes it,
	// whichever front end sharing the store evaluated it.
	PrivateSetLive(ctx context.Context, id string) error
}

// PrivateSetBytes is what a new private set costs its member against the
// storage quota: PrivateSetOverhead, and the bytes of its tags and of
// their lines, and of its indicators' lines.
func PrivateSetBytes(n NewPrivateSet) int64 {
	size := int64(PrivateSetOverhead)
	for _, t := range n.Tags {
		size += int64(len(t.Tag) + len(t.Line))
	}
	for _, iv := range n.Indicators {
		for _, l := range iv.Lines {
			size += int64(len(l))
		}
	}
	return size
}

// PrivateSetOverhead is what any private set costs against its member's
// quota, for its row, its keys and its log entry, so that even sets with
// no value are not free.
const PrivateSetOverhead = 1024
