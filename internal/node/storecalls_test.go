package node

import (
	"context"
	"sync"
	"time"

	"github.com/parley-exchange/parley/internal/held"
	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/tlog"
)

// storeCalls is a store that records, for each request the node serves,
// the methods it calls in order, so that a test can compare the work two
// requests cost (TestHiddenAndAbsentAlike). It forwards every method of
// [store.Store] to inner; it holds inner as a named field, not embedded,
// so that a method added to the interface doesn't compile here until it
// is recorded too. A call outside a request (a background worker's) is
// not recorded.
type storeCalls struct {
	inner store.Store
	mu    sync.Mutex
	calls map[string][]string // by request id
}

var _ store.Store = (*storeCalls)(nil)

func newStoreCalls(inner store.Store) *storeCalls {
	return &storeCalls{inner: inner, calls: map[string][]string{}}
}

func (s *storeCalls) note(ctx context.Context, method string) {
	info := infoOf(ctx)
	if info == nil || held.Checking(ctx) {
		// A held request's periodic re-check reads the store by the
		// clock, whatever the request asked.
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[info.id] = append(s.calls[info.id], method)
}

// take returns the calls of the request with id requestID, and forgets
// them.
func (s *storeCalls) take(requestID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calls[requestID]
	delete(s.calls, requestID)
	return c
}

func (s *storeCalls) Access(ctx context.Context, a1 string, a2 string) (bool, bool, error) {
	s.note(ctx, "Access")
	return s.inner.Access(ctx, a1, a2)
}

func (s *storeCalls) AcquireLease(ctx context.Context, a1 string, a2 string, a3 time.Duration) (int64, bool, error) {
	s.note(ctx, "AcquireLease")
	return s.inner.AcquireLease(ctx, a1, a2, a3)
}

func (s *storeCalls) AddCollection(ctx context.Context, a1 store.Collection) error {
	s.note(ctx, "AddCollection")
	return s.inner.AddCollection(ctx, a1)
}

func (s *storeCalls) AddFeed(ctx context.Context, a1 store.Feed) error {
	s.note(ctx, "AddFeed")
	return s.inner.AddFeed(ctx, a1)
}

func (s *storeCalls) AddMember(ctx context.Context, a1 store.Member) error {
	s.note(ctx, "AddMember")
	return s.inner.AddMember(ctx, a1)
}

func (s *storeCalls) AddPeer(ctx context.Context, a1 store.Peer) error {
	s.note(ctx, "AddPeer")
	return s.inner.AddPeer(ctx, a1)
}

func (s *storeCalls) AddToken(ctx context.Context, a1 store.Token) error {
	s.note(ctx, "AddToken")
	return s.inner.AddToken(ctx, a1)
}

func (s *storeCalls) AdvancePeer(ctx context.Context, a1 store.PeerStep) error {
	s.note(ctx, "AdvancePeer")
	return s.inner.AdvancePeer(ctx, a1)
}

func (s *storeCalls) BeatPeerRound(ctx context.Context, a1 string, a2 time.Time, a3 time.Time, a4 int64) error {
	s.note(ctx, "BeatPeerRound")
	return s.inner.BeatPeerRound(ctx, a1, a2, a3, a4)
}

func (s *storeCalls) BrowseObjects(ctx context.Context, a1 store.Browse) (store.BrowsePage, error) {
	s.note(ctx, "BrowseObjects")
	return s.inner.BrowseObjects(ctx, a1)
}

func (s *storeCalls) ChangeKey(ctx context.Context, a1 store.KeyEvent) error {
	s.note(ctx, "ChangeKey")
	return s.inner.ChangeKey(ctx, a1)
}

func (s *storeCalls) Checkpoints(ctx context.Context) ([][]uint8, error) {
	s.note(ctx, "Checkpoints")
	return s.inner.Checkpoints(ctx)
}

func (s *storeCalls) ClaimFeedRound(ctx context.Context, a1 string, a2 store.RoundLease) (store.FeedPosition, bool, error) {
	s.note(ctx, "ClaimFeedRound")
	return s.inner.ClaimFeedRound(ctx, a1, a2)
}

func (s *storeCalls) ClaimPeerRound(ctx context.Context, a1 string, a2 store.RoundLease) (bool, error) {
	s.note(ctx, "ClaimPeerRound")
	return s.inner.ClaimPeerRound(ctx, a1, a2)
}

func (s *storeCalls) Close() error {
	return s.inner.Close()
}

func (s *storeCalls) CloseUISession(ctx context.Context, a1 [32]uint8) error {
	s.note(ctx, "CloseUISession")
	return s.inner.CloseUISession(ctx, a1)
}

func (s *storeCalls) Collection(ctx context.Context, a1 string) (store.Collection, error) {
	s.note(ctx, "Collection")
	return s.inner.Collection(ctx, a1)
}

func (s *storeCalls) CollectionStats(ctx context.Context, a1 []string) ([]store.CollectionStats, error) {
	s.note(ctx, "CollectionStats")
	return s.inner.CollectionStats(ctx, a1)
}

func (s *storeCalls) Collections(ctx context.Context) ([]store.Collection, error) {
	s.note(ctx, "Collections")
	return s.inner.Collections(ctx)
}

func (s *storeCalls) CosignedCheckpoint(ctx context.Context, a1 int64) ([]uint8, error) {
	s.note(ctx, "CosignedCheckpoint")
	return s.inner.CosignedCheckpoint(ctx, a1)
}

func (s *storeCalls) CosignedCheckpointAtMost(ctx context.Context, a1 int64) (int64, []uint8, error) {
	s.note(ctx, "CosignedCheckpointAtMost")
	return s.inner.CosignedCheckpointAtMost(ctx, a1)
}

func (s *storeCalls) CosignedCheckpoints(ctx context.Context, a1 int64, a2 int64, a3 int, a4 func(int64, []uint8) error) error {
	s.note(ctx, "CosignedCheckpoints")
	return s.inner.CosignedCheckpoints(ctx, a1, a2, a3, a4)
}

func (s *storeCalls) CreatePrivateSet(ctx context.Context, a1 store.NewPrivateSet) (store.PrivateSet, error) {
	s.note(ctx, "CreatePrivateSet")
	return s.inner.CreatePrivateSet(ctx, a1)
}

func (s *storeCalls) EndPeerRound(ctx context.Context, a1 string, a2 store.RoundLease) (bool, error) {
	s.note(ctx, "EndPeerRound")
	return s.inner.EndPeerRound(ctx, a1, a2)
}

func (s *storeCalls) Entries(ctx context.Context, a1 int64, a2 int64) ([]store.Entry, error) {
	s.note(ctx, "Entries")
	return s.inner.Entries(ctx, a1, a2)
}

func (s *storeCalls) EntryFor(ctx context.Context, a1 string, a2 string, a3 time.Time) (store.Entry, error) {
	s.note(ctx, "EntryFor")
	return s.inner.EntryFor(ctx, a1, a2, a3)
}

func (s *storeCalls) ExpirePrivateIndicators(ctx context.Context, a1 string, a2 time.Time) (int, error) {
	s.note(ctx, "ExpirePrivateIndicators")
	return s.inner.ExpirePrivateIndicators(ctx, a1, a2)
}

func (s *storeCalls) Feeds(ctx context.Context) ([]store.Feed, error) {
	s.note(ctx, "Feeds")
	return s.inner.Feeds(ctx)
}

func (s *storeCalls) FinishPeerRound(ctx context.Context, a1 string, a2 store.RoundLease, a3 time.Time, a4 int64, a5 string) (bool, error) {
	s.note(ctx, "FinishPeerRound")
	return s.inner.FinishPeerRound(ctx, a1, a2, a3, a4, a5)
}

func (s *storeCalls) GrantAccess(ctx context.Context, a1 string, a2 string, a3 bool, a4 bool) error {
	s.note(ctx, "GrantAccess")
	return s.inner.GrantAccess(ctx, a1, a2, a3, a4)
}

func (s *storeCalls) Integrate(ctx context.Context, a1 int64, a2 int64, a3 int64, a4 map[tlog.Tile][]uint8, a5 []uint8) error {
	s.note(ctx, "Integrate")
	return s.inner.Integrate(ctx, a1, a2, a3, a4, a5)
}

func (s *storeCalls) InterruptFeedRound(ctx context.Context, a1 string, a2 time.Time, a3 time.Time, a4 string) (bool, error) {
	s.note(ctx, "InterruptFeedRound")
	return s.inner.InterruptFeedRound(ctx, a1, a2, a3, a4)
}

func (s *storeCalls) InterruptPeerRound(ctx context.Context, a1 string, a2 time.Time, a3 time.Time, a4 string) (bool, error) {
	s.note(ctx, "InterruptPeerRound")
	return s.inner.InterruptPeerRound(ctx, a1, a2, a3, a4)
}

func (s *storeCalls) KeyEntries(ctx context.Context, a1 int64, a2 ...string) ([]store.Entry, error) {
	s.note(ctx, "KeyEntries")
	return s.inner.KeyEntries(ctx, a1, a2...)
}

func (s *storeCalls) LatestCheckpoint(ctx context.Context) (int64, []uint8, error) {
	s.note(ctx, "LatestCheckpoint")
	return s.inner.LatestCheckpoint(ctx)
}

func (s *storeCalls) LatestCheckpointTime(ctx context.Context) (int64, time.Time, error) {
	s.note(ctx, "LatestCheckpointTime")
	return s.inner.LatestCheckpointTime(ctx)
}

func (s *storeCalls) LatestObjects(ctx context.Context, a1 []string, a2 []string, a3 store.Bound) ([]store.Object, bool, error) {
	s.note(ctx, "LatestObjects")
	return s.inner.LatestObjects(ctx, a1, a2, a3)
}

func (s *storeCalls) LatestRevoked(ctx context.Context, a1 []string, a2 string) (store.Object, bool, error) {
	s.note(ctx, "LatestRevoked")
	return s.inner.LatestRevoked(ctx, a1, a2)
}

func (s *storeCalls) LogObjects(ctx context.Context, a1 int64, a2 int64, a3 []string, a4 func(int64, tlog.Opening, []uint8) error) error {
	s.note(ctx, "LogObjects")
	return s.inner.LogObjects(ctx, a1, a2, a3, a4)
}

func (s *storeCalls) LogSize(ctx context.Context) (int64, error) {
	s.note(ctx, "LogSize")
	return s.inner.LogSize(ctx)
}

func (s *storeCalls) MarkPeerRound(ctx context.Context, a1 string, a2 time.Time) error {
	s.note(ctx, "MarkPeerRound")
	return s.inner.MarkPeerRound(ctx, a1, a2)
}

func (s *storeCalls) Member(ctx context.Context, a1 string) (store.Member, error) {
	s.note(ctx, "Member")
	return s.inner.Member(ctx, a1)
}

func (s *storeCalls) MemberByName(ctx context.Context, a1 string) (store.Member, error) {
	s.note(ctx, "MemberByName")
	return s.inner.MemberByName(ctx, a1)
}

func (s *storeCalls) Members(ctx context.Context) ([]store.Member, error) {
	s.note(ctx, "Members")
	return s.inner.Members(ctx)
}

func (s *storeCalls) ObjectVersions(ctx context.Context, a1 []string, a2 string, a3 store.Bound) ([]store.Object, bool, error) {
	s.note(ctx, "ObjectVersions")
	return s.inner.ObjectVersions(ctx, a1, a2, a3)
}

func (s *storeCalls) Objects(ctx context.Context, a1 store.Query) (store.Page, error) {
	s.note(ctx, "Objects")
	return s.inner.Objects(ctx, a1)
}

func (s *storeCalls) ObjectsAt(ctx context.Context, a1 []string, a2 []int64, a3 store.Bound) ([]store.Object, bool, error) {
	s.note(ctx, "ObjectsAt")
	return s.inner.ObjectsAt(ctx, a1, a2, a3)
}

func (s *storeCalls) ObjectsSize(ctx context.Context, a1 string, a2 []string) (int64, int64, error) {
	s.note(ctx, "ObjectsSize")
	return s.inner.ObjectsSize(ctx, a1, a2)
}

func (s *storeCalls) OpenUISession(ctx context.Context, a1 store.UISession, a2 time.Time) error {
	s.note(ctx, "OpenUISession")
	return s.inner.OpenUISession(ctx, a1, a2)
}

func (s *storeCalls) OpinionSizes(ctx context.Context, a1 []string, a2 string, a3 store.Bound) ([]int64, int64, error) {
	s.note(ctx, "OpinionSizes")
	return s.inner.OpinionSizes(ctx, a1, a2, a3)
}

func (s *storeCalls) OpinionVersions(ctx context.Context, a1 []string, a2 string, a3 store.Bound) ([]store.Object, error) {
	s.note(ctx, "OpinionVersions")
	return s.inner.OpinionVersions(ctx, a1, a2, a3)
}

func (s *storeCalls) PDQHashes(ctx context.Context, a1 []string, a2 int) ([]store.PDQHash, bool, error) {
	s.note(ctx, "PDQHashes")
	return s.inner.PDQHashes(ctx, a1, a2)
}

func (s *storeCalls) PeerCheckpoint(ctx context.Context, a1 string, a2 int64) ([]uint8, error) {
	s.note(ctx, "PeerCheckpoint")
	return s.inner.PeerCheckpoint(ctx, a1, a2)
}

func (s *storeCalls) PeerKeys(ctx context.Context, a1 string, a2 int64) ([]store.PeerKey, error) {
	s.note(ctx, "PeerKeys")
	return s.inner.PeerKeys(ctx, a1, a2)
}

func (s *storeCalls) PeerObjects(ctx context.Context, a1 string, a2 string) ([]store.PeerObject, error) {
	s.note(ctx, "PeerObjects")
	return s.inner.PeerObjects(ctx, a1, a2)
}

func (s *storeCalls) PeerTile(ctx context.Context, a1 string, a2 tlog.Tile) ([]uint8, error) {
	s.note(ctx, "PeerTile")
	return s.inner.PeerTile(ctx, a1, a2)
}

func (s *storeCalls) Peers(ctx context.Context) ([]store.Peer, error) {
	s.note(ctx, "Peers")
	return s.inner.Peers(ctx)
}

func (s *storeCalls) PrivateBudgetUsed(ctx context.Context, a1 string, a2 string) (int64, error) {
	s.note(ctx, "PrivateBudgetUsed")
	return s.inner.PrivateBudgetUsed(ctx, a1, a2)
}

func (s *storeCalls) PrivateSet(ctx context.Context, a1 string) (store.PrivateSet, error) {
	s.note(ctx, "PrivateSet")
	return s.inner.PrivateSet(ctx, a1)
}

func (s *storeCalls) PrivateSetCounts(ctx context.Context, a1 string, a2 string) (int, int, error) {
	s.note(ctx, "PrivateSetCounts")
	return s.inner.PrivateSetCounts(ctx, a1, a2)
}

func (s *storeCalls) PrivateSetLines(ctx context.Context, a1 string) (map[string][]uint8, error) {
	s.note(ctx, "PrivateSetLines")
	return s.inner.PrivateSetLines(ctx, a1)
}

func (s *storeCalls) PrivateSetLive(ctx context.Context, a1 string) error {
	s.note(ctx, "PrivateSetLive")
	return s.inner.PrivateSetLive(ctx, a1)
}

func (s *storeCalls) PrivateSetOwner(ctx context.Context, a1 string) (string, string, error) {
	s.note(ctx, "PrivateSetOwner")
	return s.inner.PrivateSetOwner(ctx, a1)
}

func (s *storeCalls) PrivateSetTags(ctx context.Context, a1 string) ([][]uint8, error) {
	s.note(ctx, "PrivateSetTags")
	return s.inner.PrivateSetTags(ctx, a1)
}

func (s *storeCalls) PrivateSetTagsAfter(ctx context.Context, a1 string, a2 []uint8, a3 int) ([][]uint8, error) {
	s.note(ctx, "PrivateSetTagsAfter")
	return s.inner.PrivateSetTagsAfter(ctx, a1, a2, a3)
}

func (s *storeCalls) PrivateSets(ctx context.Context) ([]store.PrivateSet, error) {
	s.note(ctx, "PrivateSets")
	return s.inner.PrivateSets(ctx)
}

func (s *storeCalls) PrivateSetsFor(ctx context.Context, a1 []string, a2 string) ([]store.PrivateSet, error) {
	s.note(ctx, "PrivateSetsFor")
	return s.inner.PrivateSetsFor(ctx, a1, a2)
}

func (s *storeCalls) PutCosignedCheckpoint(ctx context.Context, a1 int64, a2 []uint8) error {
	s.note(ctx, "PutCosignedCheckpoint")
	return s.inner.PutCosignedCheckpoint(ctx, a1, a2)
}

func (s *storeCalls) ReadTile(ctx context.Context, a1 tlog.Tile) ([]uint8, error) {
	s.note(ctx, "ReadTile")
	return s.inner.ReadTile(ctx, a1)
}

func (s *storeCalls) RecentObjects(ctx context.Context, a1 []string, a2 store.Bound) ([]store.Object, error) {
	s.note(ctx, "RecentObjects")
	return s.inner.RecentObjects(ctx, a1, a2)
}

func (s *storeCalls) RecordPeerKeyIndex(ctx context.Context, a1 string, a2 int64, a3 []uint8, a4 []uint8, a5 string) error {
	s.note(ctx, "RecordPeerKeyIndex")
	return s.inner.RecordPeerKeyIndex(ctx, a1, a2, a3, a4, a5)
}

func (s *storeCalls) RecordPeerRound(ctx context.Context, a1 string, a2 time.Time, a3 int64, a4 string) error {
	s.note(ctx, "RecordPeerRound")
	return s.inner.RecordPeerRound(ctx, a1, a2, a3, a4)
}

func (s *storeCalls) RecordPoll(ctx context.Context, a1 string, a2 store.FeedPosition) error {
	s.note(ctx, "RecordPoll")
	return s.inner.RecordPoll(ctx, a1, a2)
}

func (s *storeCalls) Referencing(ctx context.Context, a1 []string, a2 string, a3 store.Bound) ([]store.Object, bool, error) {
	s.note(ctx, "Referencing")
	return s.inner.Referencing(ctx, a1, a2, a3)
}

func (s *storeCalls) ReleaseLease(ctx context.Context, a1 string, a2 string, a3 int64) error {
	s.note(ctx, "ReleaseLease")
	return s.inner.ReleaseLease(ctx, a1, a2, a3)
}

func (s *storeCalls) RemoveMember(ctx context.Context, a1 string) error {
	s.note(ctx, "RemoveMember")
	return s.inner.RemoveMember(ctx, a1)
}

func (s *storeCalls) RemovePrivateSet(ctx context.Context, a1 store.PrivateWithdrawal) (store.WithdrawnPrivateSet, error) {
	s.note(ctx, "RemovePrivateSet")
	return s.inner.RemovePrivateSet(ctx, a1)
}

func (s *storeCalls) RenewFeedRound(ctx context.Context, a1 string, a2 store.RoundLease, a3 time.Time, a4 int64) (bool, error) {
	s.note(ctx, "RenewFeedRound")
	return s.inner.RenewFeedRound(ctx, a1, a2, a3, a4)
}

func (s *storeCalls) RenewLease(ctx context.Context, a1 string, a2 string, a3 int64, a4 time.Duration) error {
	s.note(ctx, "RenewLease")
	return s.inner.RenewLease(ctx, a1, a2, a3, a4)
}

func (s *storeCalls) RenewPeerRound(ctx context.Context, a1 string, a2 store.RoundLease, a3 time.Time, a4 int64) (bool, error) {
	s.note(ctx, "RenewPeerRound")
	return s.inner.RenewPeerRound(ctx, a1, a2, a3, a4)
}

func (s *storeCalls) ReplaceTokens(ctx context.Context, a1 store.Token) (int, error) {
	s.note(ctx, "ReplaceTokens")
	return s.inner.ReplaceTokens(ctx, a1)
}

func (s *storeCalls) RevokeAccess(ctx context.Context, a1 string, a2 string, a3 bool, a4 bool) error {
	s.note(ctx, "RevokeAccess")
	return s.inner.RevokeAccess(ctx, a1, a2, a3, a4)
}

func (s *storeCalls) RevokeTokens(ctx context.Context, a1 string) (int, error) {
	s.note(ctx, "RevokeTokens")
	return s.inner.RevokeTokens(ctx, a1)
}

func (s *storeCalls) SetCollectionDescription(ctx context.Context, a1 string, a2 string) error {
	s.note(ctx, "SetCollectionDescription")
	return s.inner.SetCollectionDescription(ctx, a1, a2)
}

func (s *storeCalls) SpendPrivateBudget(ctx context.Context, a1 string, a2 string, a3 int64, a4 int64) (int64, error) {
	s.note(ctx, "SpendPrivateBudget")
	return s.inner.SpendPrivateBudget(ctx, a1, a2, a3, a4)
}

func (s *storeCalls) Status(ctx context.Context, a1 string) (store.Status, error) {
	s.note(ctx, "Status")
	return s.inner.Status(ctx, a1)
}

func (s *storeCalls) StatusMember(ctx context.Context, a1 string) (string, error) {
	s.note(ctx, "StatusMember")
	return s.inner.StatusMember(ctx, a1)
}

func (s *storeCalls) StopPeer(ctx context.Context, a1 string, a2 string, a3 string, a4 time.Time) error {
	s.note(ctx, "StopPeer")
	return s.inner.StopPeer(ctx, a1, a2, a3, a4)
}

func (s *storeCalls) Submit(ctx context.Context, a1 store.Submission) (store.Status, error) {
	s.note(ctx, "Submit")
	return s.inner.Submit(ctx, a1)
}

func (s *storeCalls) TextObjects(ctx context.Context, a1 []string, a2 string, a3 store.Bound) ([]store.Object, bool, error) {
	s.note(ctx, "TextObjects")
	return s.inner.TextObjects(ctx, a1, a2, a3)
}

func (s *storeCalls) TokenMember(ctx context.Context, a1 [32]uint8) (store.Member, error) {
	s.note(ctx, "TokenMember")
	return s.inner.TokenMember(ctx, a1)
}

func (s *storeCalls) TouchUISession(ctx context.Context, a1 [32]uint8, a2 time.Time, a3 time.Time) (store.UISession, error) {
	s.note(ctx, "TouchUISession")
	return s.inner.TouchUISession(ctx, a1, a2, a3)
}

func (s *storeCalls) UISession(ctx context.Context, a1 [32]uint8, a2 time.Time, a3 time.Time) (store.UISession, error) {
	s.note(ctx, "UISession")
	return s.inner.UISession(ctx, a1, a2, a3)
}

func (s *storeCalls) UpdatePrivateSet(ctx context.Context, a1 string, a2 int64, a3 int64, a4 []store.IndicatorValues, a5 []store.PrivateTag) error {
	s.note(ctx, "UpdatePrivateSet")
	return s.inner.UpdatePrivateSet(ctx, a1, a2, a3, a4, a5)
}

func (s *storeCalls) Usage(ctx context.Context, a1 string) (int64, error) {
	s.note(ctx, "Usage")
	return s.inner.Usage(ctx, a1)
}

func (s *storeCalls) ValueObjects(ctx context.Context, a1 []string, a2 string, a3 store.Bound) ([]store.Object, bool, error) {
	s.note(ctx, "ValueObjects")
	return s.inner.ValueObjects(ctx, a1, a2, a3)
}

func (s *storeCalls) WithdrawnPrivateSet(ctx context.Context, a1 string, a2 string) (store.WithdrawnPrivateSet, error) {
	s.note(ctx, "WithdrawnPrivateSet")
	return s.inner.WithdrawnPrivateSet(ctx, a1, a2)
}
