package store

import (
	"context"
	"time"

	"github.com/parley-exchange/parley/tlog"
)

// Peer is another Parley node whose log this node follows
// (internal/peer, docs/federation.md): one collection of the peer, read as
// one of the peer's members, replicated into a local read-only collection.
type Peer struct {
	// Name is unique among peers; the objects are stored as the local
	// member "peer:"+Name.
	Name string
	// URL is the peer's base URL.
	URL string
	// TokenFile is the absolute path of the file holding the bearer token
	// the peer issued to this node; it is read at each round and never
	// stored here.
	TokenFile string
	// CAFile, when not empty, is the absolute path of the PEM CA
	// certificates trusted for an https URL instead of the system's.
	CAFile string
	// LogKey is the peer's pinned note verifier key.
	LogKey string
	// Policy is the witness policy its checkpoints must meet, in C2SP
	// tlog-policy text; empty means none.
	Policy string
	// Remote is the peer's collection id.
	Remote string
	// Into is the local collection id; Member the local member id the
	// objects are stored under.
	Into, Member string
	// Created is when the peer was added.
	Created time.Time
	// State is where replication stands.
	State PeerState
}

// PeerState is where the replication of one peer stands.
type PeerState struct {
	// Next is the number of the peer's log entries replicated: entries
	// [0, Next) were verified and their objects stored.
	Next int64
	// Checkpoint is the latest of the peer's signed checkpoints accepted
	// (nil before the first); its size is at least Next.
	Checkpoint []byte
	// Objects and Keys count the objects and member key entries
	// replicated.
	Objects, Keys int64
	// RemoteSize is the peer's log size at the last round.
	RemoteSize int64
	// LastRound is when the last round ended; LastError is its error, or
	// empty.
	LastRound time.Time
	LastError string
	// Stopped, when not empty, says why replication stopped for good (the
	// peer signed inconsistent checkpoints); Evidence is then the path of
	// the split-view evidence file.
	Stopped  string
	Evidence string
	// RoundStarted is when the round in progress started (zero when no
	// round runs), and RoundFrom the position (Next) then: `parley peer
	// status`, in another process than the node's, tells a running
	// round from an idle node by them. A node killed during a round
	// leaves them set until the round's lease (RoundExpires) expires;
	// then a node process counts that round as failed
	// (InterruptPeerRound, peer.Interrupted).
	RoundStarted time.Time
	RoundFrom    int64
	// RoundActive is when the round in progress last received bytes from
	// the peer, as its node records them every few seconds
	// (BeatPeerRound), and RoundBytes how many it has received so far
	// (zero and 0 before the first record, and when no round runs): a
	// step over a slow link records its position only when it ends,
	// and these say that it is still coming.
	RoundActive time.Time
	RoundBytes  int64
	// RoundOwner names the process that runs the round in progress and
	// RoundExpires is when its lease ends unless renewed (ClaimPeerRound,
	// RenewPeerRound); both empty when no round runs, and for a round
	// marked by MarkPeerRound.
	RoundOwner   string
	RoundExpires time.Time
	// Failures counts the rounds in a row that failed (RecordPeerRound
	// with an error) since the last that didn't or the last step
	// (AdvancePeer), which reset it to 0: the node spaces out the rounds
	// of a failing peer by it (peer.NextRound), and `parley peer status`,
	// in another process, derives when the next round is due from it.
	Failures int64
	// KeyIndex is the peer's signed key index ([tlog.KeyIndex], from its
	// GET /log/keys) of the tree of KeyIndexCheckpoint, one of the peer's
	// checkpoints whose tree this node replicated whole (of size
	// KeyIndexSize ≤ Next), checked here against the peer's key entries
	// replicated: nil before the first, or from a peer that serves none.
	// It is recorded with the step that reaches its tree (AdvancePeer) or,
	// when no step was needed, with RecordPeerKeyIndex while Next is its
	// size, so it is never of a tree that isn't replicated here.
	KeyIndex           []byte
	KeyIndexCheckpoint []byte
	KeyIndexSize       int64
	// Refused counts the peer's objects that were refused and skipped
	// (PeerStep.Refused: proved by the peer's log, but refused by this
	// node's rules), and LastRefused says which was the last and why.
	Refused     int64
	LastRefused string
	// KeyIndexMissing, when not empty, says why the last round stored no
	// key index (the peer serves none, a node older than it; or it
	// couldn't be read): KeyIndex, when not nil, is then of an older tree.
	KeyIndexMissing string
}

// PeerKey is one of the peer's member key entries.
type PeerKey struct {
	Index int64
	Leaf  []byte
}

// PeerObject is the provenance of one replicated object version: its
// entry in the peer's log and the entry's opening there.
type PeerObject struct {
	Index   int64
	Leaf    []byte
	Opening tlog.Opening
	// Version is the local version of the object (the opening's version).
	Version time.Time
}

// PeerStep is one step of replication: the peer's entries [From, To),
// proved by Checkpoint, whose objects the caller already stored in the
// local collection (Submit).
type PeerStep struct {
	Peer     string
	From, To int64
	// Checkpoint is the peer's signed checkpoint that proves the entries
	// (its size is at least To); it becomes [PeerState].Checkpoint.
	Checkpoint []byte
	// Tiles are the hash tiles of the peer's tree, computed locally from
	// its entries, that changed up to size To.
	Tiles   map[tlog.Tile][]byte
	Keys    []PeerKey
	Objects []PeerObject
	// RemoteSize is the peer's log size seen in this round.
	RemoteSize int64
	At         time.Time
	// Round, when its Owner is set, is the lease of the round that
	// recorded the step: AdvancePeer then fails with ErrFenced, changing
	// nothing, unless that round is the one marked (a round whose lease
	// expired and that another process counted as interrupted records
	// no step, whatever the position). An empty Owner: no fence.
	Round RoundLease
	// KeyIndex, when not nil, is the peer's signed key index of the tree
	// of Checkpoint, whose size must then be To: it becomes the peer's
	// [PeerState].KeyIndex (with Checkpoint as its KeyIndexCheckpoint)
	// in the step's transaction, and KeyIndexMissing is cleared. A step
	// without one leaves the stored index as it is.
	KeyIndex []byte
	// Refused are the peer's objects of the step that were not stored
	// because this node's rules refuse them (peer.Skipped),
	// though the peer's log proves them: the step skips them, and the
	// peer's Refused count grows by their number, LastRefused becoming
	// the last one's Reason, in the step's transaction.
	Refused []PeerRefusal
}

// PeerRefusal is an object of a peer refused and skipped by a step
// ([PeerStep].Refused): its index in the peer's log and why, as a
// printable text (internal/untrusted).
type PeerRefusal struct {
	Index  int64
	Reason string
}

// PeerStore keeps the peers a node follows and their replication state
// (internal/peer).
//
// Durability: AdvancePeer writes the whole step in one transaction, so a
// crash leaves the state of the step before or after it, never between.
type PeerStore interface {
	// AddPeer records a peer with a zero State. ErrConflict if the name
	// is taken; ErrInvalid if a field other than CAFile, Policy and State
	// is empty.
	AddPeer(ctx context.Context, p Peer) error
	// Peers returns every peer, by name.
	Peers(ctx context.Context) ([]Peer, error)
	// AdvancePeer records a step: the new position, checkpoint, tiles,
	// member key entries and provenance. It fails with ErrConflict, and
	// changes nothing, unless the peer's Next is s.From and it isn't
	// stopped; with ErrFenced, changing nothing, when s.Round names a
	// round that is not the one marked; ErrNotFound for an unknown peer.
	AdvancePeer(ctx context.Context, s PeerStep) error
	// RecordPeerRound records the outcome of a round that stored nothing:
	// its time, the peer's size (negative: unknown, keep the last one) and
	// the error (empty for none). An error adds one to the peer's
	// Failures; none resets them to 0, as AdvancePeer does.
	RecordPeerRound(ctx context.Context, name string, at time.Time, remoteSize int64, lastError string) error
	// RecordPeerKeyIndex records the peer's key index of the tree of
	// size, with checkpoint, the peer's signed checkpoint of that tree
	// (the caller checked both): it fails with ErrConflict, and changes
	// nothing, unless the peer's Next is size and it isn't stopped (so an
	// index is never of a tree not replicated here), and clears
	// KeyIndexMissing. With a nil index it records only missing, why no
	// index was stored, as KeyIndexMissing (the stored index stays).
	// ErrNotFound for an unknown peer.
	RecordPeerKeyIndex(ctx context.Context, name string, size int64, checkpoint, index []byte, missing string) error
	// MarkPeerRound records that a round of the peer started at started
	// (RoundStarted, with RoundFrom the peer's Next now), or, for the zero
	// time, that none runs (both cleared). ErrNotFound for an unknown
	// peer.
	MarkPeerRound(ctx context.Context, name string, started time.Time) error
	// BeatPeerRound records the transfer of the round of the peer that
	// started at started (RoundActive at, RoundBytes bytes). It changes
	// nothing, without error, when no round or another round is marked.
	// ErrNotFound for an unknown peer.
	BeatPeerRound(ctx context.Context, name string, started, at time.Time, bytes int64) error
	// InterruptPeerRound records the round of the peer that started at
	// started, whose node stopped during it, as a failed round, in one
	// transaction: LastRound at, LastError reason, one more Failure,
	// and the round's mark (RoundStarted, RoundFrom, RoundActive,
	// RoundBytes) cleared. The position stays. It reports false, and
	// changes nothing, when no round or another round is marked.
	// ErrNotFound for an unknown peer.
	// Since a round holds a lease (ClaimPeerRound), it also reports
	// false, changing nothing, while the round's lease is live at at
	// (RoundExpires after at); a round without one (MarkPeerRound, or
	// marked by an older version) has none to wait for.
	InterruptPeerRound(ctx context.Context, name string, started, at time.Time, reason string) (bool, error)
	// ClaimPeerRound marks a round of the peer as started, held by
	// l.Owner until l.Expires (RoundStarted l.Started, RoundFrom the
	// peer's Next, RoundOwner, RoundExpires; RoundActive and RoundBytes
	// cleared), when no round is marked or the round marked is
	// l.Owner's own (a round of the same process that never cleared its
	// mark). It reports false, changing nothing, when another owner's
	// round is marked, whether or not its lease has expired
	// (InterruptPeerRound ends an expired one first). ErrNotFound for an
	// unknown peer.
	ClaimPeerRound(ctx context.Context, name string, l RoundLease) (bool, error)
	// RenewPeerRound extends the lease of l.Owner's round that started
	// at l.Started to l.Expires and records its transfer as
	// BeatPeerRound does (at kept when zero). It reports false, changing
	// nothing, when that round is not the one marked. ErrNotFound for an
	// unknown peer.
	RenewPeerRound(ctx context.Context, name string, l RoundLease, at time.Time, bytes int64) (bool, error)
	// EndPeerRound clears the mark of l.Owner's round that started at
	// l.Started; false, changing nothing, when it is not the one marked.
	// ErrNotFound for an unknown peer.
	EndPeerRound(ctx context.Context, name string, l RoundLease) (bool, error)
	// FinishPeerRound records the outcome of l.Owner's round that
	// started at l.Started as RecordPeerRound does (at, the peer's size,
	// the error) and clears its mark, as EndPeerRound does, in one
	// transaction, so that no other process's round can start between
	// the two and have its state overwritten. It reports false, changing
	// nothing, when that round is not the one marked (its lease expired
	// and another process counted it as interrupted, and may run a round
	// of its own): the outcome of a round taken over is not recorded.
	// ErrNotFound for an unknown peer.
	FinishPeerRound(ctx context.Context, name string, l RoundLease, at time.Time, remoteSize int64, lastError string) (bool, error)
	// StopPeer stops the replication of a peer for good, with the reason
	// and the path of the evidence file (ErrNotFound for an unknown peer).
	StopPeer(ctx context.Context, name, reason, evidence string, at time.Time) error
	// PeerTile returns the hash tile t of the peer's tree as replicated (a
	// stored wider version of a partial tile serves its prefix);
	// ErrNotFound if the tree isn't replicated that far.
	PeerTile(ctx context.Context, name string, t tlog.Tile) ([]byte, error)
	// PeerKeys returns the peer's member key entries with index < size,
	// in log order.
	PeerKeys(ctx context.Context, name string, size int64) ([]PeerKey, error)
	// PeerCheckpoint returns the largest checkpoint of size ≤ size among
	// those of the peer accepted at the end of a step whose To was their
	// size (so their tree is replicated); ErrNotFound if there is none.
	// It reads that one checkpoint, however many were accepted.
	PeerCheckpoint(ctx context.Context, name string, size int64) ([]byte, error)
	// PeerObjects returns the provenance of the replicated versions of one
	// object, in the peer's log order.
	PeerObjects(ctx context.Context, name, objectID string) ([]PeerObject, error)
}

// PeerCollections returns the local collections ps replicate into (their
// Into). A peer's copies there claim no id (docs/federation.md): where a
// reader's collections hold versions of an id both inside and outside
// them, the latest version outside them stands for the object.
func PeerCollections(ps []Peer) map[string]bool {
	copies := make(map[string]bool, len(ps))
	for _, p := range ps {
		copies[p.Into] = true
	}
	return copies
}
