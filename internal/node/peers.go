package node

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/parley-exchange/parley/internal/peer"
	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/internal/untrusted"
	"github.com/parley-exchange/parley/tlog"
	"github.com/parley-exchange/parley/witness"
)

// Federation (docs/federation.md): the worker that follows the peers
// recorded with parley peer add, and GET /peers/bundle, which serves the
// peer's proofs of a replicated object. Their rows are in the route and
// worker tables (routes.go).

// PeerWitnessDir is the directory, in the data directory, of the node's
// witness of its peers' logs: `parley witness init --data DIR/witness
// --name NAME` creates its key, and then the node cosigns each peer's
// checkpoints as it follows it (C2SP tlog-witness, pulling: it reads the
// peer's checkpoint and tiles itself).
const PeerWitnessDir = "witness"

// PeerWitnessPath is the prefix under which the node serves the C2SP
// tlog-witness API of its peers' witness (POST add-checkpoint, GET
// <origin hash>/checkpoint), without authentication as a witness does.
const PeerWitnessPath = "/witness/"

// servePeerWitness serves the witness of the peers' logs, or 404 when the
// node runs none.
func (n *Node) servePeerWitness(w http.ResponseWriter, r *http.Request) {
	pw := n.peerWitness.Load()
	if pw == nil {
		respondError(w, r, requestErrorf(store.ErrNotFound, "this node witnesses no log"))
		return
	}
	pw.Handler().ServeHTTP(w, r)
}

// openPeerWitness opens the witness of the peers' logs when the data
// directory has its key (nil, nil when it hasn't).
func (n *Node) openPeerWitness(ps []store.Peer, logger *slog.Logger) (*witness.Witness, error) {
	dir := filepath.Join(n.dir, PeerWitnessDir)
	skey, err := untrusted.ReadFile(filepath.Join(dir, "witness.key"), maxKeySz)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("couldn't read the witness key: %w", err)
	}
	cos, err := tlog.ParseCosignerKey(string(skey), n.now)
	if err != nil {
		return nil, fmt.Errorf("couldn't read the witness key: %w", err)
	}
	var logs []string
	for _, p := range ps {
		if !slices.Contains(logs, p.LogKey) {
			logs = append(logs, p.LogKey)
		}
	}
	return witness.Open(witness.Config{Dir: dir, Cosigner: cos, Logs: logs, Logger: logger, Now: n.now})
}

// failureRelog is how often a failure that lasts is logged again: a
// peer's ([failureLog]), the peers' list's, and the log witnessing's
// ([LogWitnessing.Run]).
const failureRelog = 10 * time.Minute

// failureKinds are the failures of a peer that mean more than an outage
// (and a stall, peer.ErrStalled: a peer that keeps connections open and
// sends nothing): a failure of another kind than the one logged before is
// logged at once, whatever failureRelog says (a peer that was down and now
// shows a fork, or stalls).
var failureKinds = []error{peer.ErrFork, peer.ErrFalseKeyIndex, tlog.ErrKeyIndex, tlog.ErrSplitView, witness.ErrInconsistent, tlog.ErrProof,
	tlog.ErrKey, tlog.ErrBadSignature, tlog.ErrObjectMismatch, tlog.ErrCheckpointSignature, tlog.ErrQuorum, peer.ErrStopped,
	peer.ErrStalled}

// failureKind is the first of failureKinds that err is, or -1.
func failureKind(err error) int {
	for i, k := range failureKinds {
		if errors.Is(err, k) {
			return i
		}
	}
	return -1
}

// failureLog says when a peer's lasting failure is logged: at once when
// it begins or changes kind (failureKind), then every failureRelog while
// it lasts, and once when it ends.
type failureLog struct {
	failing map[string]failureSeen
}

type failureSeen struct {
	at   time.Time
	kind int
}

// note records err (nil: the operation worked) of key at now and reports
// whether to log it, and whether it is an end of a failure.
func (l *failureLog) note(key string, err error, now time.Time) (logIt, ended bool) {
	last, was := l.failing[key]
	if err == nil {
		delete(l.failing, key)
		return was, was
	}
	k := failureKind(err)
	if !was || k != last.kind || now.Sub(last.at) >= failureRelog {
		l.failing[key] = failureSeen{now, k}
		return true, false
	}
	return false, false
}

// peerRoundsAtOnce bounds the rounds of different peers that run at once
// (each holds up to two steps of objects in memory).
const peerRoundsAtOnce = 4

// followPeers starts a round of every peer that isn't stopped, every
// Config.PeerInterval, until ctx is done. Peers added while it runs are
// picked up at the next tick. Each peer's rounds run on their own, at
// most peerRoundsAtOnce at once: a peer whose round hangs (a connection
// black-holed until peer.RequestTimeout) delays no other, and its next
// round starts at the first tick after it ended, or, after a failed
// round, at the first tick from peer.NextRound on (a bounded exponential
// backoff, reset by a round that works).
func (n *Node) followPeers(ctx context.Context, logger *slog.Logger) error {
	st := n.store
	// Two peers of one remote collection, recorded before peer add
	// refused the second: both are followed, and said so once.
	if dups, err := n.PeerDuplicates(ctx); err == nil {
		for _, name := range slices.Sorted(maps.Keys(dups)) {
			logger.Warn("two peers follow one remote collection", "peer", name, "duplicate_of", dups[name])
		}
	}
	// Rounds that never ended (their process was killed during them)
	// and whose lease expired count as failed at each tick, before any
	// round starts (peer.Interrupted): their peers are backed off. A
	// round whose lease another front end renews is left to it.
	interrupted := func() {
		if names, err := peer.Interrupted(ctx, st, n.now(), n.now(), n.roundOwner); err != nil && ctx.Err() == nil {
			logger.Warn("couldn't record the peers' interrupted rounds", "err", err)
		} else {
			for _, name := range names {
				logger.Warn("peer round interrupted: the process running the peer's last round stopped during it (its lease expired); it counts as a failed round", "peer", name)
			}
		}
	}
	followers := map[string]*peer.Follower{}
	running := map[string]bool{} // by name; guarded by mu
	// Rounds ended here, by peer name (guarded by mu): a round that
	// ended after the peers were listed has a stale record in the list
	// (its failure, and so its backoff, not in it yet).
	ended := map[string]uint64{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	slots := make(chan struct{}, peerRoundsAtOnce)
	t := time.NewTicker(time.Duration(n.cfg.PeerInterval))
	defer t.Stop()
	// The witness is reopened when the set of peers changes (it knows its
	// logs from the start); rounds use it under pwMu's read lock.
	var pw *witness.Witness
	var pwMu sync.RWMutex
	witnessed := -1
	// A failure that repeats every round (a peer down for an hour, a
	// forked log the witness keeps refusing) is logged when it begins,
	// then at most every failureRelog while it lasts (its text changes
	// from round to round: ports, resets), not every PeerInterval; its
	// end is logged too.
	failures := failureLog{failing: map[string]failureSeen{}}
	warn := func(what, peerName string, err error) {
		mu.Lock()
		logIt, ended := failures.note(what+"\x00"+peerName, err, time.Now())
		mu.Unlock()
		switch {
		case !logIt:
		case ended:
			logger.Info(what+": works again", "peer", peerName)
		default:
			attrs := []any{"peer", peerName, "err", err}
			if h := peerTLSHint(err); h != "" {
				attrs = append(attrs, "hint", h)
			}
			logger.Warn(what, attrs...)
		}
	}
	defer func() {
		if pw != nil {
			n.peerWitness.Store(nil)
			pw.Close()
		}
	}()
	// Runs before the witness is closed: the rounds end with ctx.
	defer wg.Wait()
	round := func(p store.Peer, f *peer.Follower) {
		defer wg.Done()
		defer func() {
			mu.Lock()
			delete(running, p.Name)
			ended[p.Name]++
			mu.Unlock()
		}()
		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
		case <-ctx.Done():
			return
		}
		res, err := f.Round(ctx)
		if ctx.Err() != nil || errors.Is(err, peer.ErrBusy) {
			return // another front end claimed it since the list
		}
		warn("peer round failed", p.Name, err)
		if err == nil && res.Entries > 0 {
			logger.Info("peer replicated", "peer", p.Name, "position", res.Next, "objects", res.Objects, "key_entries", res.Keys)
		}
		if err != nil {
			return
		}
		pwMu.RLock()
		defer pwMu.RUnlock()
		if pw != nil {
			// Witnessing is independent of replication: the witness
			// reads the peer's checkpoint and tiles itself.
			if src, cerr := f.Source(p); cerr == nil {
				_, werr := pw.PullOnce(ctx, p.LogKey, src)
				if ctx.Err() != nil {
					return
				}
				warn("couldn't witness the peer's checkpoint", p.Name, werr)
			}
		}
	}
	for {
		interrupted()
		mu.Lock()
		endedBefore := maps.Clone(ended)
		mu.Unlock()
		ps, err := st.Peers(ctx)
		// The store down (PostgreSQL restarting) fails every round: said
		// when it begins, changes kind or every failureRelog, and when it
		// ends, as a peer's failures are.
		if ctx.Err() == nil {
			mu.Lock()
			logIt, ended := failures.note("couldn't list peers", err, time.Now())
			mu.Unlock()
			switch {
			case !logIt:
			case ended:
				logger.Info("couldn't list peers: works again")
			default:
				logger.Warn("couldn't list peers", "err", err)
			}
		}
		if err == nil && len(ps) != witnessed {
			pwMu.Lock()
			if pw != nil {
				n.peerWitness.Store(nil)
				pw.Close()
				pw = nil
			}
			if pw, err = n.openPeerWitness(ps, logger); err != nil {
				logger.Warn("couldn't open the witness of the peers' logs", "err", err)
			}
			witnessed = len(ps)
			if pw != nil {
				n.peerWitness.Store(pw)
			}
			pwMu.Unlock()
		}
		for _, p := range ps {
			mu.Lock()
			busy, stale := running[p.Name], ended[p.Name] != endedBefore[p.Name]
			mu.Unlock()
			if busy {
				continue // its last round hasn't ended
			}
			if stale {
				// Its last round ended while the list was read: p is
				// from before that round's end was recorded (its
				// failure not counted, its backoff not begun); the next
				// tick reads it again.
				continue
			}
			if !p.State.RoundStarted.IsZero() && p.State.RoundOwner != n.roundOwner {
				continue // another front end runs it, or ran it until its lease expires
			}
			// A mark of this process's own, with no round of it running
			// here (busy, above), is of a round whose end the store
			// couldn't record (down then): it is ended now (a stopped
			// peer's too), or taken back by the next round
			// (peer.ClaimPeerRound), rather than left to expire and be
			// counted as a crash (peer.Interrupted leaves this process's
			// rounds alone).
			if !p.State.RoundStarted.IsZero() {
				l := store.RoundLease{Owner: n.roundOwner, Started: p.State.RoundStarted}
				if _, err := st.EndPeerRound(ctx, p.Name, l); err != nil && ctx.Err() == nil {
					logger.Warn("couldn't record the end of the round", "peer", p.Name, "err", err)
				}
			}
			// A stopped peer has no more rounds, unless its follower
			// holds evidence of its fork that it couldn't write yet
			// (a full disk): each round writes it again.
			if p.State.Stopped != "" && (followers[p.Name] == nil || !followers[p.Name].HoldsEvidence()) {
				continue
			}
			// A peer whose rounds keep failing is backed off
			// (peer.Backoff, from the failures the store counts, so a
			// restart keeps it): a black-holed or hostile peer holds a
			// round slot a few percent of the time, and a peer down for
			// a day is asked once every peer.MaxBackoff.
			if next := peer.NextRound(p, time.Duration(n.cfg.PeerInterval)); n.now().Before(next) {
				continue
			}
			f := followers[p.Name]
			if f == nil {
				f, err = peer.New(peer.Config{Store: depthStore{Store: st, n: n}, Dir: n.dir, Now: n.now, Rand: n.rand, Step: n.cfg.PeerStep, Logger: logger,
					Owner: n.roundOwner, Lease: time.Duration(n.cfg.RoundLeaseTTL), MaxVersionAhead: MaxVersionAhead}, p)
				if err != nil {
					logger.Warn("couldn't follow peer", "peer", p.Name, "err", err)
					continue
				}
				followers[p.Name] = f
			}
			mu.Lock()
			running[p.Name] = true
			mu.Unlock()
			wg.Add(1)
			go round(p, f)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// PeerSpec is what [Node.AddPeer] records.
type PeerSpec struct {
	// Name names the peer and its member (peer:NAME).
	Name string
	// URL, TokenFile (absolute), CAFile (absolute or empty), LogKey,
	// Policy and Remote are those of [store.Peer].
	URL, TokenFile, CAFile, LogKey, Policy, Remote string
	// Into is the title of the local collection, created read-only: read
	// by Readers (member names or ids), written by nobody over TAXII.
	Into    string
	Readers []string
}

// AddPeer records a peer to follow: its member (peer:NAME, without a key;
// the objects are stored under it and verified against the peer's log),
// its local read-only collection, and the peer. Bad input (a bad name, URL,
// log key or policy, an unreadable token or CA file, an unknown reader, a
// taken name or title, a reader that is a peer's or feed's member:
// [ErrSystemMember]) is refused before anything is written, as is, with
// store.ErrConflict, a remote collection another followed peer follows
// ([samePeerRemote]: the same collection at the same origin or of the
// same log key) or a feed follows; an I/O
// failure midway leaves a member and collection that a second try reuses.
func (n *Node) AddPeer(ctx context.Context, spec PeerSpec) (store.Peer, error) {
	st := n.store
	if err := peer.CheckName(spec.Name); err != nil {
		return store.Peer{}, err
	}
	if err := peer.CheckURL(spec.URL); err != nil {
		return store.Peer{}, err
	}
	if _, err := tlog.NewVerifier(spec.LogKey); err != nil {
		return store.Peer{}, fmt.Errorf("couldn't add peer %q: its log key: %v: %w", spec.Name, err, store.ErrInvalid)
	}
	if spec.Policy != "" {
		if _, err := tlog.ParsePolicy([]byte(spec.Policy)); err != nil {
			return store.Peer{}, fmt.Errorf("couldn't add peer %q: %v: %w", spec.Name, err, store.ErrInvalid)
		}
	}
	if spec.Remote == "" || spec.Into == "" || spec.TokenFile == "" {
		return store.Peer{}, fmt.Errorf("couldn't add peer %q: the remote collection, the local title and the token file are needed: %w", spec.Name, store.ErrInvalid)
	}
	if _, err := peer.ReadToken(spec.TokenFile); err != nil {
		return store.Peer{}, fmt.Errorf("couldn't add peer %q: %v: %w", spec.Name, err, store.ErrInvalid)
	}
	if _, err := peer.HTTPClient(spec.CAFile); err != nil {
		return store.Peer{}, fmt.Errorf("couldn't add peer %q: %v: %w", spec.Name, err, store.ErrInvalid)
	}
	ps, err := st.Peers(ctx)
	if err != nil {
		return store.Peer{}, err
	}
	for _, o := range ps {
		if o.Name == spec.Name {
			return store.Peer{}, fmt.Errorf("couldn't add peer %q: the name is taken: %w", spec.Name, store.ErrConflict)
		}
	}
	for _, o := range ps {
		if o.State.Stopped != "" || !samePeerRemote(spec.URL, spec.LogKey, spec.Remote, o) {
			continue
		}
		// A peer whose member was revoked by an older version, not
		// stopped yet, doesn't count: it stops at its next round.
		if revoked, err := store.MemberRevoked(ctx, n.store, o.Member); err != nil {
			return store.Peer{}, err
		} else if revoked {
			continue
		}
		return store.Peer{}, fmt.Errorf("couldn't add peer %q: the peer %s already follows collection %s at %s (into local collection %s)%s; %s: %w", spec.Name, o.Name, untrusted.Text(spec.Remote, 300), peer.StatusURL(o.URL), o.Into, addSameLogNote(spec.URL, o.URL), twoPeersRefused, store.ErrConflict)
	}
	fs, err := n.FeedStore().Feeds(ctx)
	if err != nil {
		return store.Peer{}, err
	}
	for _, o := range fs {
		if SameRemote(spec.URL, spec.Remote, o.URL, o.Collection) {
			return store.Peer{}, fmt.Errorf("couldn't add peer %q: the feed %s already follows collection %s at %s; %s: %w", spec.Name, o.Name, spec.Remote, o.URL, bothRefused, store.ErrConflict)
		}
	}
	member, err := n.store.MemberByName(ctx, peer.MemberName(spec.Name))
	switch {
	case errors.Is(err, store.ErrNotFound):
		member = store.Member{}
	case err != nil:
		return store.Peer{}, err
	case member.PublicKey != nil:
		return store.Peer{}, fmt.Errorf("couldn't add peer %q: the member %s has a key, so it is not a peer's member: %w", spec.Name, member.Name, store.ErrConflict)
	}
	c, err := n.findCollection(ctx, spec.Into)
	create := errors.Is(err, store.ErrNotFound)
	switch {
	case create:
		for _, r := range spec.Readers {
			m, err := n.ResolveMember(ctx, r)
			if err != nil {
				return store.Peer{}, err
			}
			if err := n.refuseSystemMember(ctx, m, "read on the peer's collection"); err != nil {
				return store.Peer{}, err
			}
		}
	case err != nil:
		return store.Peer{}, err
	case len(c.Writers) > 0 || member.ID == "" || c.Description != peerDescription(spec):
		// Only the collection a failed try of this same peer made is
		// reused: one with writers, or another's, would mix objects.
		return store.Peer{}, fmt.Errorf("couldn't add peer %q: a collection %q exists; give a new title for the peer's read-only collection: %w", spec.Name, spec.Into, store.ErrConflict)
	}
	if member.ID == "" {
		nm, err := n.addSystemMember(ctx, peer.MemberName(spec.Name))
		if err != nil {
			return store.Peer{}, err
		}
		member.ID = nm.ID
	} else if _, err := n.RevokeTokens(ctx, member.ID); err != nil {
		// The member is taken over (a failed try of this peer made it,
		// or an earlier version's member add did, before its name was
		// reserved): nobody but the node writes as it, so a token an
		// earlier version issued it, or that was given out with it,
		// stops working.
		return store.Peer{}, fmt.Errorf("couldn't revoke the API tokens of %s, taken over as the peer's member: %w", peer.MemberName(spec.Name), err)
	}
	if create {
		id, err := n.CreateCollection(ctx, CollectionSpec{
			Title: spec.Into, Description: peerDescription(spec),
			Readers: spec.Readers, Signatures: store.SignaturesOptional, Relay: true,
		})
		if err != nil {
			return store.Peer{}, err
		}
		c.ID = id
	}
	p := store.Peer{
		Name: spec.Name, URL: spec.URL, TokenFile: spec.TokenFile, CAFile: spec.CAFile,
		LogKey: spec.LogKey, Policy: spec.Policy, Remote: spec.Remote,
		Into: c.ID, Member: member.ID, Created: n.now(),
	}
	if err := st.AddPeer(ctx, p); err != nil {
		return store.Peer{}, err
	}
	return p, nil
}

// bothRefused says why a node can't follow one remote collection both as
// a peer and as a feed.
const bothRefused = "a node can't follow one remote collection both as a peer and as a feed: the peer keeps the objects' signatures and the feed strips them, so each object one of them stores is refused to the other as a different object with the same id and version (ids are unique in a node). Follow it once: as a peer (verified against the node's log) when it is a Parley node"

const twoPeersRefused = "a node follows one remote collection with one peer: a second would replicate the same objects, with the same ids, into a second read-only collection, two copies that B's log alone owns, that every revocation must reach twice and whose readers differ only by the collections' lists (grant read on the first instead). To follow it again under another name, stop the first for good (parley member remove --member peer:NAME)"

// samePeerRemote reports whether a peer of url, logKey and remote
// collection follows the same remote collection as the peer o: the same
// collection id at the same origin ([SameRemote]), or of the same log
// (the same Ed25519 key, [sameLogKey]) reached at another URL (B's
// address and IP, an old and a new name of B): B's log is what a peer
// replicates, and its collection ids are B's.
func samePeerRemote(url, logKey, remote string, o store.Peer) bool {
	if SameRemote(url, remote, o.URL, o.Remote) {
		return true
	}
	return remote != "" && remote == o.Remote && sameLogKey(logKey, o.LogKey)
}

// sameLogKey reports whether two note verifier keys are of the same
// Ed25519 public key, whatever the names they give it; false if either
// doesn't parse.
func sameLogKey(a, b string) bool {
	ka, ok := logKeyBits(a)
	if !ok {
		return false
	}
	kb, ok := logKeyBits(b)
	return ok && ka == kb
}

// logKeyBits returns the key of a note verifier key
// ("<name>+<hex id>+<base64(type ‖ key)>"), decoded, once it parses.
func logKeyBits(vkey string) (string, bool) {
	if _, err := tlog.NewVerifier(vkey); err != nil {
		return "", false
	}
	// The name has no '+' and the id is hex; the key's base64 may.
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) != 3 {
		return "", false
	}
	k, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil {
		return "", false
	}
	return string(k), true
}

// sameLogNote is what an error or a duplicate_of adds when two peers of
// one remote collection reach it at different origins (url, and other,
// the other peer's): both follow the log of one key.
func sameLogNote(url, other string) string {
	if remoteOrigin(url) == remoteOrigin(other) {
		return ""
	}
	return " at " + peer.StatusURL(other) + ", the same log (the same log key) at another URL,"
}

// addSameLogNote is what parley peer add's refusal adds when the peer
// it asks for reaches the collection at another origin (url) than the
// existing one (other).
func addSameLogNote(url, other string) string {
	if remoteOrigin(url) == remoteOrigin(other) {
		return ""
	}
	return ", the same log (the same log key) as at " + peer.StatusURL(url)
}

// SameRemote reports whether a peer (its URL and remote collection) and a
// feed (its URL and collection) follow the same remote collection: the
// same collection id at the same origin (scheme, host and port; a feed's
// URL may be the node's base URL or its TAXII API root).
func SameRemote(peerURL, peerCollection, feedURL, feedCollection string) bool {
	if peerCollection == "" || peerCollection != feedCollection {
		return false
	}
	a, b := remoteOrigin(peerURL), remoteOrigin(feedURL)
	return a != "" && a == b
}

// remoteOrigin returns scheme://host:port of a URL, lower case, with the
// scheme's default port; "" if it isn't an http(s) URL with a host.
func remoteOrigin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	switch {
	case port != "":
	case scheme == "http":
		port = "80"
	case scheme == "https":
		port = "443"
	default:
		return ""
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// FeedConflict returns, for a feed that follows the same remote
// collection as a peer (recorded before parley peer add and feed add
// refused that), why its objects are refused; "" when no peer does.
func (n *Node) FeedConflict(ctx context.Context, f store.Feed) (string, error) {
	ps, err := n.store.Peers(ctx)
	if err != nil {
		return "", err
	}
	for _, p := range ps {
		if SameRemote(p.URL, p.Remote, f.URL, f.Collection) {
			return fmt.Sprintf("peer %s follows the same collection %s at %s; %s", p.Name, f.Collection, p.URL, bothRefused), nil
		}
	}
	return "", nil
}

// PeerDuplicates returns, for each followed peer that follows the same
// remote collection as another followed peer (at the same origin, or of
// the same log key at another: [samePeerRemote]; two peer
// records from before parley peer add refused the second), why: the
// other peers' names and local collections, and how to stop one. Both
// are still followed (their readers differ), each storing the same
// objects; a peer stopped for good, or whose member was revoked, doesn't
// count. `parley peer status` shows it as duplicate_of, and parley serve
// logs it when it starts.
func (n *Node) PeerDuplicates(ctx context.Context) (map[string]string, error) {
	ps, err := n.store.Peers(ctx)
	if err != nil {
		return nil, err
	}
	var live []store.Peer
	for _, p := range ps {
		if p.State.Stopped != "" {
			continue
		}
		if revoked, err := store.MemberRevoked(ctx, n.store, p.Member); err != nil {
			return nil, err
		} else if revoked {
			continue
		}
		live = append(live, p)
	}
	out := map[string]string{}
	for _, p := range live {
		var others []string
		for _, o := range live {
			if o.Name != p.Name && samePeerRemote(p.URL, p.LogKey, p.Remote, o) {
				others = append(others, fmt.Sprintf("peer %s (into local collection %s)%s", o.Name, o.Into, sameLogNote(p.URL, o.URL)))
			}
		}
		if len(others) > 0 {
			out[p.Name] = fmt.Sprintf("%s also follows collection %s at %s: each stores the same objects; %s", strings.Join(others, ", "), untrusted.Text(p.Remote, 300), peer.StatusURL(p.URL), duplicatePeersHint)
		}
	}
	return out, nil
}

// duplicatePeersHint says how to end two peers of one remote collection.
const duplicatePeersHint = "keep one: grant its collection's readers read (parley collection grant --read) and stop the other for good (parley member remove --member peer:NAME)"

func peerDescription(spec PeerSpec) string {
	return fmt.Sprintf("Replicated from collection %s of the Parley node %s (peer %s), verified against its log; read-only. Proofs in the peer's log: GET /peers/bundle.", spec.Remote, spec.URL, spec.Name)
}

// servePeerBundle serves GET /peers/bundle?collection=ID&object=ID: the
// proof bundle, in the peer's log, of every replicated version of the
// object in a peer's local collection (see [peer.Bundle]), for readers of
// that collection. Anything the member can't read is 404 like an unknown
// one.
func (n *Node) servePeerBundle(w http.ResponseWriter, r *http.Request, m store.Member) {
	q := r.URL.Query()
	coll, id := q.Get("collection"), q.Get("object")
	if coll == "" || id == "" {
		respondError(w, r, requestErrorf(store.ErrInvalid, "name the collection=ID and the object=ID"))
		return
	}
	st := n.store
	// Access first, one indexed lookup: the collection itself (its access
	// lists, whose length shows in the time of the answer) is read only
	// for a reader, so that the 404 about a collection m may not read is
	// the same work as about one that doesn't exist.
	rd, _, err := st.Access(r.Context(), coll, m.ID)
	var c store.Collection
	if err == nil && rd {
		c, err = st.Collection(r.Context(), coll)
	}
	if err != nil || !rd || !c.CanRead(m.ID) {
		respondError(w, r, requestErrorf(store.ErrNotFound, "collection not found"))
		return
	}
	ps, err := st.Peers(r.Context())
	if err != nil {
		respondError(w, r, err)
		return
	}
	for _, p := range ps {
		if p.Into != c.ID {
			continue
		}
		// All the object's versions are held at once: bounded and
		// reserved as GET /log/bundle's are.
		// The proofs are in the peer's tree as replicated (at most
		// p.State.Next entries), whose tiles peer.Bundle doesn't cache.
		reservation, err := n.bundleReservation(r.Context(), []store.Collection{c}, m, []string{id}, bundleTree{size: p.State.Next})
		if err != nil {
			respondError(w, r, err)
			return
		}
		if p.State.KeyIndex != nil && p.State.Keys > n.peerBundleKeys() {
			// Too many to show: the bundle goes without the key index
			// (peer.Bundle), with the sharers' key entries only.
		} else if p.State.KeyIndex != nil {
			// With the peer's key index, the bundle shows every key
			// entry it lists (at most all the peer's key entries
			// replicated), each with its proof read from the peer's
			// uncached tiles, as a version's is.
			reservation += p.State.Keys*bundleItemBytes*bundleFactor + bundleTileBytes(bundleTree{size: p.State.Next}, p.State.Keys)
		}
		release, ok := n.reserve(w, r, m, reservation)
		if !ok {
			return
		}
		defer release()
		// The reservation may have taken a while: m must still read the
		// collection (held.go).
		if err := n.mayStillRead(r.Context(), m, []string{c.ID}); err != nil {
			respondError(w, r, err)
			return
		}
		b, omitted, err := peer.Bundle(r.Context(), st, p, id, n.peerBundleKeys(), MaxPeerBundleKeyBytes)
		if err != nil {
			respondError(w, r, err)
			return
		}
		if omitted != "" {
			w.Header().Set("Parley-Key-Index-Omitted", omitted)
		}
		writeBundle(w, b)
		return
	}
	respondError(w, r, requestErrorf(store.ErrNotFound, "the collection isn't replicated from a peer"))
}

// MaxPeerBundleKeys and MaxPeerBundleKeyBytes bound the peer's key
// entries a GET /peers/bundle shows with the peer's key index (which
// makes it show every member's): each is shown with its inclusion proof
// (about 1.5 KiB of JSON for a Parley entry of a few hundred bytes), and
// clients read at most 64 MiB of one response (tlog's client), while a
// peer may log 1,048,576 key entries (peer.DefaultMaxKeyEntries). Past
// either bound, the bundle goes without the key index, with the sharers'
// key entries only (it verifies, its key history not proved complete, as
// a bundle of a peer older than the key index), and the response's
// Parley-Key-Index-Omitted header says why; before, its memory was
// reserved for a share at most and its answer was more than clients
// read.
const (
	MaxPeerBundleKeys     = 16384
	MaxPeerBundleKeyBytes = 8 << 20
)

// peerBundleKeys is MaxPeerBundleKeys, or a test's bound.
func (n *Node) peerBundleKeys() int64 {
	if n.testPeerBundleKeys > 0 {
		return n.testPeerBundleKeys
	}
	return MaxPeerBundleKeys
}

// peerTLSHint says what to do about a peer round that failed on the
// peer's certificate, or "": a peer added without the --ca of its
// private CA fails every round with Go's x509 error alone.
func peerTLSHint(err error) string {
	var unknown x509.UnknownAuthorityError
	var host x509.HostnameError
	switch {
	case err == nil:
	case errors.As(err, &unknown):
		return "the peer's certificate is not signed by a CA this node trusts for it: stop the peer (parley member remove --member peer:NAME) and add it again with parley peer add --ca FILE, its CA certificate (docs/federation.md)"
	case errors.As(err, &host):
		return "the peer's certificate is not valid for the host in its URL: add the peer again with a URL of a name its certificate was issued for (docs/federation.md)"
	}
	return ""
}
