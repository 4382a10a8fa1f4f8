package storetest

import (
	"crypto/rand"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/tlog"
)

// feedNamed returns the feed name as stored.
func feedNamed(t *testing.T, s store.Store, name string) store.Feed {
	t.Helper()
	fs, err := s.Feeds(ctx)
	must(t, err)
	for _, f := range fs {
		if f.Name == name {
			return f
		}
	}
	t.Fatalf("no feed %s", name)
	return store.Feed{}
}

// testFeedRoundLeases: a feed's round is claimed by one owner at a time
// (ClaimFeedRound), renewed only by its owner while it is the one marked
// (RenewFeedRound), written by its owner only (RecordPoll with
// RoundOwner: ErrFenced for another), counted as interrupted only once
// its lease has expired, once (InterruptFeedRound), and its lease and
// transfer are cleared with its mark.
func testFeedRoundLeases(t *testing.T, s store.Store) {
	fm := member("feed:ics")
	fm.PublicKey = nil
	must(t, s.AddMember(ctx, fm))
	must(t, s.AddCollection(ctx, store.Collection{ID: "c1", Title: "ics", Writers: []string{fm.ID}, Relay: true, Signatures: store.SignaturesOptional}))
	created := time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)
	for _, name := range []string{"a", "b"} {
		must(t, s.AddFeed(ctx, store.Feed{Name: name, URL: "https://example.org/", Collection: "x", Into: "c1", Member: fm.ID, Created: created}))
	}
	must(t, s.RecordPoll(ctx, "b", store.FeedPosition{Pages: 7, Added: 3}))
	started := created.Add(time.Hour)
	l1 := store.RoundLease{Owner: "fe1", Started: started, Expires: started.Add(30 * time.Second)}
	if _, _, err := s.ClaimFeedRound(ctx, "b", store.RoundLease{Started: started, Expires: started}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("ClaimFeedRound without an owner: %v", err)
	}
	if p, ok, err := s.ClaimFeedRound(ctx, "b", l1); !ok || err != nil || p.Pages != 7 || p.Added != 3 || !p.RoundStarted.Equal(started) || p.RoundOwner != "fe1" {
		t.Fatalf("ClaimFeedRound: %+v %v %v", p, ok, err)
	}
	f := feedNamed(t, s, "b")
	if !f.RoundStarted.Equal(started) || f.RoundFrom != 7 || f.RoundOwner != "fe1" || !f.RoundExpires.Equal(l1.Expires) || !f.RoundActive.IsZero() || f.RoundBytes != 0 {
		t.Fatalf("a claimed round: %+v", f.FeedPosition)
	}
	if a := feedNamed(t, s, "a"); !a.RoundStarted.IsZero() || a.RoundOwner != "" {
		t.Fatalf("another feed claimed: %+v", a.FeedPosition)
	}
	// Another owner can't claim it, expired or not, nor renew it, nor
	// write the feed's position as its round's.
	l2 := store.RoundLease{Owner: "fe2", Started: started.Add(time.Minute), Expires: started.Add(2 * time.Minute)}
	if _, ok, err := s.ClaimFeedRound(ctx, "b", l2); ok || err != nil {
		t.Fatalf("ClaimFeedRound of a claimed feed: %v %v", ok, err)
	}
	if ok, err := s.RenewFeedRound(ctx, "b", store.RoundLease{Owner: "fe2", Started: started, Expires: started.Add(time.Hour)}, started, 1); ok || err != nil {
		t.Fatalf("RenewFeedRound by another owner: %v %v", ok, err)
	}
	if err := s.RecordPoll(ctx, "b", store.FeedPosition{Pages: 99, RoundStarted: started, RoundOwner: "fe2"}); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("RecordPoll by another owner: %v", err)
	}
	if _, _, err := s.ClaimFeedRound(ctx, "nope", l2); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ClaimFeedRound of an unknown feed: %v", err)
	}
	if _, err := s.RenewFeedRound(ctx, "nope", l1, started, 1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("RenewFeedRound of an unknown feed: %v", err)
	}
	// The owner renews it and records its transfer; a page written by
	// the owner keeps the lease and transfer.
	l1.Expires = started.Add(40 * time.Second)
	if ok, err := s.RenewFeedRound(ctx, "b", l1, time.Time{}, 0); !ok || err != nil {
		t.Fatalf("RenewFeedRound: %v %v", ok, err)
	}
	if f := feedNamed(t, s, "b"); !f.RoundExpires.Equal(l1.Expires) || !f.RoundActive.IsZero() {
		t.Fatalf("a renewed round without transfer: %+v", f.FeedPosition)
	}
	l1.Expires = started.Add(45 * time.Second)
	if ok, err := s.RenewFeedRound(ctx, "b", l1, started.Add(44*time.Second+3), 4096); !ok || err != nil {
		t.Fatalf("RenewFeedRound: %v %v", ok, err)
	}
	p := f.FeedPosition
	p.Pages, p.Added = 8, 4
	must(t, s.RecordPoll(ctx, "b", p))
	if f := feedNamed(t, s, "b"); f.Pages != 8 || !f.RoundExpires.Equal(l1.Expires) || !f.RoundActive.Equal(started.Add(44*time.Second+3)) || f.RoundBytes != 4096 || f.RoundOwner != "fe1" {
		t.Fatalf("a renewed round after a page: %+v", f.FeedPosition)
	}
	// Its owner may claim it again (a round of the same process that
	// never cleared its mark).
	l1.Started = started.Add(time.Second)
	if p, ok, err := s.ClaimFeedRound(ctx, "b", l1); !ok || err != nil || !p.RoundStarted.Equal(l1.Started) || p.RoundFrom != 8 || p.RoundBytes != 0 {
		t.Fatalf("ClaimFeedRound by its owner: %+v %v %v", p, ok, err)
	}
	started = l1.Started
	// Not interrupted while its lease is live, nor as another round.
	if ok, err := s.InterruptFeedRound(ctx, "b", started, l1.Expires.Add(-time.Nanosecond), "interrupted"); ok || err != nil {
		t.Fatalf("InterruptFeedRound of a live round: %v %v", ok, err)
	}
	if ok, err := s.InterruptFeedRound(ctx, "b", started.Add(time.Second), l1.Expires.Add(time.Hour), "interrupted"); ok || err != nil {
		t.Fatalf("InterruptFeedRound of another round: %v %v", ok, err)
	}
	if f := feedNamed(t, s, "b"); f.Failures != 0 || !f.RoundStarted.Equal(started) {
		t.Fatalf("a live round counted: %+v", f.FeedPosition)
	}
	must(t, s.RecordPoll(ctx, "b", feedNamed(t, s, "b").FeedPosition)) // keeps the lease
	// Expired: counted once, the position kept, the mark and lease
	// cleared; the owner's late writes are fenced out.
	at := l1.Expires
	if ok, err := s.InterruptFeedRound(ctx, "b", started, at, "interrupted"); !ok || err != nil {
		t.Fatalf("InterruptFeedRound of an expired round: %v %v", ok, err)
	}
	if ok, err := s.InterruptFeedRound(ctx, "b", started, at, "interrupted"); ok || err != nil {
		t.Fatalf("InterruptFeedRound twice: %v %v", ok, err)
	}
	f = feedNamed(t, s, "b")
	if f.Failures != 1 || f.LastError != "interrupted" || !f.LastPoll.Equal(at) || f.Pages != 8 || f.Added != 4 ||
		!f.RoundStarted.IsZero() || f.RoundFrom != 0 || f.RoundOwner != "" || !f.RoundExpires.IsZero() || !f.RoundActive.IsZero() || f.RoundBytes != 0 {
		t.Fatalf("after InterruptFeedRound: %+v", f.FeedPosition)
	}
	if ok, err := s.RenewFeedRound(ctx, "b", l1, at, 5000); ok || err != nil {
		t.Fatalf("RenewFeedRound of an interrupted round: %v %v", ok, err)
	}
	if err := s.RecordPoll(ctx, "b", store.FeedPosition{Pages: 9, RoundStarted: started, RoundOwner: "fe1"}); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("RecordPoll of an interrupted round: %v", err)
	}
	if _, err := s.InterruptFeedRound(ctx, "nope", started, at, "interrupted"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("InterruptFeedRound of an unknown feed: %v", err)
	}
	// The next owner claims it; its last page (RoundStarted zero)
	// clears the mark, the lease and the transfer.
	if _, ok, err := s.ClaimFeedRound(ctx, "b", l2); !ok || err != nil {
		t.Fatalf("ClaimFeedRound after the interruption: %v %v", ok, err)
	}
	if ok, err := s.RenewFeedRound(ctx, "b", l2, l2.Started, 10); !ok || err != nil {
		t.Fatalf("RenewFeedRound: %v %v", ok, err)
	}
	p = feedNamed(t, s, "b").FeedPosition
	p.RoundStarted, p.RoundFrom = time.Time{}, 0
	must(t, s.RecordPoll(ctx, "b", p))
	if f := feedNamed(t, s, "b"); !f.RoundStarted.IsZero() || f.RoundOwner != "" || !f.RoundExpires.IsZero() || !f.RoundActive.IsZero() || f.RoundBytes != 0 {
		t.Fatalf("after the round's last page: %+v", f.FeedPosition)
	}
	// A round marked without a lease (RecordPoll, by an older version)
	// has none to wait for.
	p.RoundStarted, p.RoundOwner = started.Add(time.Hour), ""
	must(t, s.RecordPoll(ctx, "b", p))
	if ok, err := s.InterruptFeedRound(ctx, "b", p.RoundStarted, p.RoundStarted, "interrupted"); !ok || err != nil {
		t.Fatalf("InterruptFeedRound of a round without a lease: %v %v", ok, err)
	}
}

// testPeerRoundLeases: as testFeedRoundLeases, for peers (ClaimPeerRound,
// RenewPeerRound, EndPeerRound, InterruptPeerRound).
func testPeerRoundLeases(t *testing.T, s store.Store) {
	pm := member("peer:b")
	pm.PublicKey = nil
	must(t, s.AddMember(ctx, pm))
	must(t, s.AddCollection(ctx, store.Collection{ID: "c1", Title: "from b", Relay: true, Signatures: store.SignaturesOptional}))
	_, vkey, err := tlog.NewNodeKey(rand.Reader, "b.example/log")
	must(t, err)
	created := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)
	for _, name := range []string{"a", "b"} {
		must(t, s.AddPeer(ctx, store.Peer{Name: name, URL: "https://b.example", TokenFile: "/t", LogKey: vkey, Remote: "r", Into: "c1", Member: pm.ID, Created: created}))
	}
	started := created.Add(time.Hour)
	l1 := store.RoundLease{Owner: "fe1", Started: started, Expires: started.Add(30 * time.Second)}
	l2 := store.RoundLease{Owner: "fe2", Started: started.Add(time.Minute), Expires: started.Add(2 * time.Minute)}
	if _, err := s.ClaimPeerRound(ctx, "b", store.RoundLease{Started: started, Expires: started}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("ClaimPeerRound without an owner: %v", err)
	}
	if ok, err := s.ClaimPeerRound(ctx, "b", l1); !ok || err != nil {
		t.Fatalf("ClaimPeerRound: %v %v", ok, err)
	}
	if st := peerNamed(t, s, "b").State; !st.RoundStarted.Equal(started) || st.RoundOwner != "fe1" || !st.RoundExpires.Equal(l1.Expires) || st.RoundBytes != 0 {
		t.Fatalf("a claimed round: %+v", st)
	}
	if st := peerNamed(t, s, "a").State; !st.RoundStarted.IsZero() || st.RoundOwner != "" {
		t.Fatalf("another peer claimed: %+v", st)
	}
	if ok, err := s.ClaimPeerRound(ctx, "b", l2); ok || err != nil {
		t.Fatalf("ClaimPeerRound of a claimed peer: %v %v", ok, err)
	}
	if ok, err := s.RenewPeerRound(ctx, "b", store.RoundLease{Owner: "fe2", Started: started, Expires: started.Add(time.Hour)}, started, 1); ok || err != nil {
		t.Fatalf("RenewPeerRound by another owner: %v %v", ok, err)
	}
	if ok, err := s.EndPeerRound(ctx, "b", store.RoundLease{Owner: "fe2", Started: started}); ok || err != nil {
		t.Fatalf("EndPeerRound by another owner: %v %v", ok, err)
	}
	for _, err := range []error{
		func() error { _, err := s.ClaimPeerRound(ctx, "nope", l2); return err }(),
		func() error { _, err := s.RenewPeerRound(ctx, "nope", l1, started, 1); return err }(),
		func() error { _, err := s.EndPeerRound(ctx, "nope", l1); return err }(),
	} {
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a round of an unknown peer: %v", err)
		}
	}
	// Its owner may claim it again (its own mark, never cleared).
	if ok, err := s.ClaimPeerRound(ctx, "b", l1); !ok || err != nil {
		t.Fatalf("ClaimPeerRound by its owner: %v %v", ok, err)
	}
	l1.Expires = started.Add(45 * time.Second)
	if ok, err := s.RenewPeerRound(ctx, "b", l1, started.Add(44*time.Second), 4096); !ok || err != nil {
		t.Fatalf("RenewPeerRound: %v %v", ok, err)
	}
	if ok, err := s.RenewPeerRound(ctx, "b", l1, time.Time{}, 4096); !ok || err != nil {
		t.Fatalf("RenewPeerRound without transfer: %v %v", ok, err)
	}
	if st := peerNamed(t, s, "b").State; !st.RoundExpires.Equal(l1.Expires) || !st.RoundActive.Equal(started.Add(44*time.Second)) || st.RoundBytes != 4096 {
		t.Fatalf("a renewed round: %+v", st)
	}
	if ok, err := s.InterruptPeerRound(ctx, "b", started, l1.Expires.Add(-time.Nanosecond), "interrupted"); ok || err != nil {
		t.Fatalf("InterruptPeerRound of a live round: %v %v", ok, err)
	}
	if st := peerNamed(t, s, "b").State; st.Failures != 0 || !st.RoundStarted.Equal(started) {
		t.Fatalf("a live round counted: %+v", st)
	}
	if ok, err := s.InterruptPeerRound(ctx, "b", started, l1.Expires, "interrupted"); !ok || err != nil {
		t.Fatalf("InterruptPeerRound of an expired round: %v %v", ok, err)
	}
	if ok, err := s.InterruptPeerRound(ctx, "b", started, l1.Expires, "interrupted"); ok || err != nil {
		t.Fatalf("InterruptPeerRound twice: %v %v", ok, err)
	}
	if st := peerNamed(t, s, "b").State; st.Failures != 1 || !st.RoundStarted.IsZero() || st.RoundOwner != "" || !st.RoundExpires.IsZero() || st.RoundBytes != 0 {
		t.Fatalf("after InterruptPeerRound: %+v", st)
	}
	if ok, err := s.RenewPeerRound(ctx, "b", l1, started, 1); ok || err != nil {
		t.Fatalf("RenewPeerRound of an interrupted round: %v %v", ok, err)
	}
	if ok, err := s.EndPeerRound(ctx, "b", l1); ok || err != nil {
		t.Fatalf("EndPeerRound of an interrupted round: %v %v", ok, err)
	}
	if ok, err := s.ClaimPeerRound(ctx, "b", l2); !ok || err != nil {
		t.Fatalf("ClaimPeerRound after the interruption: %v %v", ok, err)
	}
	if ok, err := s.EndPeerRound(ctx, "b", l2); !ok || err != nil {
		t.Fatalf("EndPeerRound: %v %v", ok, err)
	}
	if st := peerNamed(t, s, "b").State; !st.RoundStarted.IsZero() || st.RoundOwner != "" || !st.RoundExpires.IsZero() || st.Failures != 1 {
		t.Fatalf("after EndPeerRound: %+v", st)
	}
	// FinishPeerRound records a round's outcome and ends it, only while
	// the round marked is its own: a round taken over records nothing.
	l3 := store.RoundLease{Owner: "fe3", Started: started.Add(2 * time.Minute), Expires: started.Add(3 * time.Minute)}
	if ok, err := s.ClaimPeerRound(ctx, "b", l3); !ok || err != nil {
		t.Fatalf("ClaimPeerRound: %v %v", ok, err)
	}
	if ok, err := s.FinishPeerRound(ctx, "b", l1, l3.Started, 7, "taken over"); ok || err != nil {
		t.Fatalf("FinishPeerRound of a round taken over: %v %v", ok, err)
	}
	if st := peerNamed(t, s, "b").State; st.LastError != "" && st.LastError != "interrupted" || st.Failures != 1 || st.RoundOwner != "fe3" || st.RemoteSize == 7 {
		t.Fatalf("FinishPeerRound of a round taken over changed: %+v", st)
	}
	if ok, err := s.FinishPeerRound(ctx, "b", l3, l3.Expires, 7, "down"); !ok || err != nil {
		t.Fatalf("FinishPeerRound: %v %v", ok, err)
	}
	if st := peerNamed(t, s, "b").State; st.LastError != "down" || st.Failures != 2 || st.RemoteSize != 7 || !st.LastRound.Equal(l3.Expires) ||
		!st.RoundStarted.IsZero() || st.RoundOwner != "" || !st.RoundExpires.IsZero() {
		t.Fatalf("after FinishPeerRound with an error: %+v", st)
	}
	if ok, err := s.FinishPeerRound(ctx, "b", l3, l3.Expires, 8, ""); ok || err != nil {
		t.Fatalf("FinishPeerRound twice: %v %v", ok, err)
	}
	l3.Started = l3.Expires
	if ok, err := s.ClaimPeerRound(ctx, "b", l3); !ok || err != nil {
		t.Fatalf("ClaimPeerRound: %v %v", ok, err)
	}
	if ok, err := s.FinishPeerRound(ctx, "b", l3, l3.Started, -1, ""); !ok || err != nil {
		t.Fatalf("FinishPeerRound: %v %v", ok, err)
	}
	if st := peerNamed(t, s, "b").State; st.LastError != "" || st.Failures != 0 || st.RemoteSize != 7 || !st.RoundStarted.IsZero() {
		t.Fatalf("after FinishPeerRound without an error, size unknown: %+v", st)
	}
	if _, err := s.FinishPeerRound(ctx, "nope", l3, started, 1, ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("FinishPeerRound of an unknown peer: %v", err)
	}
	// MarkPeerRound marks a round without a lease, which has none to
	// wait for.
	must(t, s.MarkPeerRound(ctx, "b", started))
	if st := peerNamed(t, s, "b").State; st.RoundOwner != "" || !st.RoundExpires.IsZero() {
		t.Fatalf("MarkPeerRound: %+v", st)
	}
	if ok, err := s.InterruptPeerRound(ctx, "b", started, started, "interrupted"); !ok || err != nil {
		t.Fatalf("InterruptPeerRound of a round without a lease: %v %v", ok, err)
	}
}

// testRoundClaimRace: of owners claiming the round of one feed and of one
// peer at once, one gets each.
func testRoundClaimRace(t *testing.T, s store.Store) {
	fm := member("feed:ics")
	fm.PublicKey = nil
	must(t, s.AddMember(ctx, fm))
	must(t, s.AddCollection(ctx, store.Collection{ID: "c1", Title: "ics", Writers: []string{fm.ID}, Relay: true, Signatures: store.SignaturesOptional}))
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	must(t, s.AddFeed(ctx, store.Feed{Name: "f", URL: "https://example.org/", Collection: "x", Into: "c1", Member: fm.ID, Created: created}))
	_, vkey, err := tlog.NewNodeKey(rand.Reader, "b.example/log")
	must(t, err)
	must(t, s.AddPeer(ctx, store.Peer{Name: "p", URL: "https://b.example", TokenFile: "/t", LogKey: vkey, Remote: "r", Into: "c1", Member: fm.ID, Created: created}))
	const n = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	feeds, peers := 0, 0
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := store.RoundLease{Owner: string(rune('a' + i)), Started: created.Add(time.Duration(i)), Expires: created.Add(time.Hour)}
			_, fok, ferr := s.ClaimFeedRound(ctx, "f", l)
			pok, perr := s.ClaimPeerRound(ctx, "p", l)
			mu.Lock()
			defer mu.Unlock()
			if ferr != nil || perr != nil {
				t.Errorf("claims: %v, %v", ferr, perr)
			}
			if fok {
				feeds++
			}
			if pok {
				peers++
			}
		}()
	}
	wg.Wait()
	if feeds != 1 || peers != 1 {
		t.Fatalf("%d feed claims and %d peer claims succeeded, want one each", feeds, peers)
	}
}
