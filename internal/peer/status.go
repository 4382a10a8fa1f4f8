package peer

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/internal/untrusted"
	"github.com/parley-exchange/parley/tlog"
)

// CheckName checks a peer's name: 1 to 64 letters, digits, '-', '_' or
// '.' (it names a member and an evidence file).
func CheckName(name string) error {
	if name == "" || len(name) > 64 {
		return fmt.Errorf("a peer name has 1 to 64 characters: %w", store.ErrInvalid)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("peer name %q: use letters, digits, '-', '_' and '.': %w", name, store.ErrInvalid)
		}
	}
	return nil
}

// CheckURL checks a peer's base URL: http or https with a host, and no
// user, password or query. The token goes in the token file: the URL is
// repeated in the description of the peer's local collection (which its
// readers see), in fork evidence (made to be shown to others), in logs
// and in the peer's status. Its errors never quote the URL whole.
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("the peer's URL isn't an http:// or https:// URL with a host: %w", store.ErrInvalid)
	}
	if untrusted.URLHasSecret(u) {
		return fmt.Errorf("the peer's URL %s has a user, password or query; the peer's token goes in the token file, never in the URL: %w", untrusted.URLWithoutSecret(u), store.ErrInvalid)
	}
	return nil
}

// Status is one peer as `parley peer status` prints it (JSON).
type Status struct {
	Name   string `json:"name"`
	URL    string `json:"url"`
	LogKey string `json:"log_key"`
	Remote string `json:"remote_collection"`
	Into   string `json:"local_collection"`
	Member string `json:"member"`
	// Position is the number of the peer's entries replicated; Lag how
	// many entries of its size at the last round are not, for a peer
	// that is followed: nil (JSON null) for a stopped one, whose position
	// and remote size may be of different histories (a fork), so that
	// their difference means nothing.
	Position   int64  `json:"position"`
	RemoteSize int64  `json:"remote_size"`
	Lag        *int64 `json:"lag"`
	Objects    int64  `json:"objects"`
	Keys       int64  `json:"key_entries"`
	// Checkpoint is the last accepted signed checkpoint note, and
	// CheckpointSize its tree size.
	Checkpoint     string `json:"checkpoint,omitempty"`
	CheckpointSize uint64 `json:"checkpoint_size"`
	LastRound      string `json:"last_round,omitempty"`
	LastError      string `json:"last_error,omitempty"`
	// State is "following" or "stopped"; Stopped says why, and Evidence
	// is the split-view evidence file.
	State    string `json:"state"`
	Stopped  string `json:"stopped,omitempty"`
	Evidence string `json:"evidence,omitempty"`
	// Stalled, set by [StatusAt] for a followed peer, says that the
	// running round has received nothing from the peer and stored no step
	// for [ActivityWindow] (it hangs in the node, or the node stopped
	// during it); while no round runs, that no round has ended for longer
	// than a round of a live peer takes (the node isn't serving), or that
	// the last round was abandoned because a request to the peer made no
	// progress for the stall timeout (a black-holed connection: the
	// round's error, last_error, names the request and the time). Empty
	// while a running round's bytes keep coming, however long its step,
	// and when rounds end on time and the last one didn't stall.
	Stalled string `json:"stalled,omitempty"`
	// Round is "running" while a round of the peer runs, as the node
	// records it in the store, and "idle" otherwise; RoundStarted is when
	// the running round started, and RoundFrom the position then (so
	// position - round_from entries were replicated by it so far). A
	// node killed during a round leaves it "running", `stalled` once
	// nothing has come for [ActivityWindow], until the node starts
	// again and counts it as a failed round ([Interrupted]).
	Round        string `json:"round"`
	RoundStarted string `json:"round_started,omitempty"`
	RoundFrom    *int64 `json:"round_from,omitempty"`
	// RoundBytes, for a running round, is the bytes it has received from
	// the peer so far, and RoundActive when the last of them came, as the
	// node records them every few seconds ([DefaultHeartbeat]); absent
	// before the first record. A step over a slow link moves position
	// only when it ends: these show that it is still coming, and
	// [StatusAt] calls a running round stalled only when nothing has
	// come, and no step ended, for [ActivityWindow].
	RoundBytes  *int64 `json:"round_bytes,omitempty"`
	RoundActive string `json:"round_active,omitempty"`
	// RoundOwner, for a running round, names the process that runs it
	// (host/pid/random: which front end), and RoundExpires is when its
	// lease ends unless that process renews it, which it does every
	// heartbeat while the round runs ([DefaultRoundLease]): once it has
	// expired, the next process to look counts the round as interrupted
	// ([Interrupted]), and [StatusAt] calls it stalled meanwhile.
	RoundOwner   string `json:"round_owner,omitempty"`
	RoundExpires string `json:"round_expires,omitempty"`
	// Interrupted is true when the last round failed because the node
	// stopped during it (killed, crashed, out of memory: last_error
	// begins with [InterruptedPrefix]); the node counted it, when it
	// started again, as a failed round ([Interrupted]).
	Interrupted bool `json:"interrupted,omitempty"`
	// FailedRounds is the number of rounds in a row that failed; the
	// node backs off by it ([Backoff]). NextRound, set by [StatusAt] for
	// a followed peer whose last round failed, is the earliest time the
	// node starts the next (it starts at its first tick from then on);
	// empty when rounds start every interval.
	FailedRounds int64  `json:"failed_rounds"`
	NextRound    string `json:"next_round,omitempty"`
	// KeyIndexSize is the tree size of the peer's signed key index this
	// node holds, checked against the peer's key entries replicated (0:
	// none): GET /peers/bundle carries it for the objects it covers, so
	// that clients check their signers' key history complete.
	// KeyIndexMissing says why the last round got none: the peer serves
	// none (a node older than the key index: its replicated objects check
	// as logged, not verified), couldn't be read, or was refused. A false
	// one (ErrFalseKeyIndex) stops the peer: state, stopped and evidence
	// say so.
	KeyIndexSize    int64  `json:"key_index_size"`
	KeyIndexMissing string `json:"key_index_missing,omitempty"`
	// KeyIndexAll is true when the key index held is signed as the index
	// of every member (parley-key-index-all-v1): a member it left out
	// would have stopped the peer with evidence. False for none, and for
	// an index of the older form (parley-key-index-v1, a peer older than
	// it), which was checked to list every member but doesn't claim to.
	KeyIndexAll bool `json:"key_index_all,omitempty"`
	// Refused counts the peer's objects refused and skipped ([Skipped]):
	// proved by the peer's log, but refused by this node's rules (a
	// version dated too far ahead, a refused marking, an id of another form: [Skipped]), so not stored;
	// replication went on past them. LastRefused names the last one, its
	// entry and why (printable, at most [MaxErrorText] bytes).
	Refused     int64  `json:"refused"`
	LastRefused string `json:"last_refused,omitempty"`
	// DuplicateOf, set by `parley peer status` (node.PeerDuplicates),
	// says that another followed peer follows the same remote collection
	// (recorded before parley peer add refused a second peer of one
	// collection), which, and how to keep one.
	DuplicateOf string `json:"duplicate_of,omitempty"`
}

// MaxBackoff is the longest a node waits between two rounds of a peer
// whose rounds keep failing, unless the interval is longer ([Backoff]).
const MaxBackoff = 10 * time.Minute

// Backoff is how long after the end of a round a node waits before the
// next round of a peer whose last failures rounds failed in a row: no
// wait for none (the next tick), then the interval, doubled for each
// failure after the first, up to MaxBackoff (or the interval when it is
// longer). A round without error, or one that stored a step, resets it.
// A black-holed or hostile peer so holds one of the node's round slots
// a few percent of the time, not most of it, and an unreachable one is
// asked about once every MaxBackoff.
func Backoff(failures int64, interval time.Duration) time.Duration {
	if failures <= 0 {
		return 0
	}
	limit := max(MaxBackoff, interval)
	d := interval
	for i := int64(1); i < failures && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

// NextRound is the earliest time a node that starts rounds every interval
// starts the next round of p: zero when it is due at the next tick (its
// last round didn't fail), else the end of its last round plus
// [Backoff].
func NextRound(p store.Peer, interval time.Duration) time.Time {
	if p.State.Failures <= 0 || p.State.LastRound.IsZero() {
		return time.Time{}
	}
	return p.State.LastRound.Add(Backoff(p.State.Failures, interval))
}

// RequestTimeout is the Timeout of the client of [HTTPClient]. A
// [Follower] doesn't let it cut a response body that keeps coming at
// [Config.MinRate] or faster (a large catch-up over a slow link): past
// it, only a slower body is abandoned.
const RequestTimeout = 2 * time.Minute

// StallAfter is how long after its last round (or its addition) a
// followed peer is shown as stalled by [StatusAt], when rounds start every
// interval: the interval, and two requests that time out. A peer backed
// off ([Backoff]) is shown as stalled that long after its next round is
// due.
func StallAfter(interval time.Duration) time.Duration {
	return interval + 2*RequestTimeout
}

// ActivityWindow is how long a running round may receive nothing from the
// peer and end no step before [StatusAt] calls it stalled: twice the
// stall timeout ([DefaultStallTimeout]), the 30 seconds a request may get
// no byte before it is abandoned (which ends the round), and as much
// again for the node's work between requests (verifying and storing a
// step) and the heartbeat's lag ([DefaultHeartbeat]). A round that keeps
// receiving bytes, however slowly, is not stalled, however long its step.
const ActivityWindow = 2 * DefaultStallTimeout

// StatusURL returns a peer's recorded URL as its status, logs and reports
// show it: without user information, query or fragment (a peer recorded
// by an older version may hold its token there), and printable.
func StatusURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(a URL that doesn't parse)"
	}
	return untrusted.Text(untrusted.URLWithoutSecret(u), 300)
}

// StatusOf returns the status of a peer as stored.
func StatusOf(p store.Peer) Status {
	// The texts that may quote the peer are cleaned when recorded; they
	// are cleaned again here for rows an older version recorded, and a
	// URL recorded with a token in it (before peer add refused that)
	// shows without it.
	s := Status{
		Name: p.Name, URL: StatusURL(p.URL), LogKey: p.LogKey, Remote: untrusted.Text(p.Remote, 300), Into: p.Into, Member: p.Member,
		Position: p.State.Next, RemoteSize: p.State.RemoteSize,
		Objects: p.State.Objects, Keys: p.State.Keys,
		Checkpoint: string(p.State.Checkpoint), LastError: untrusted.Text(p.State.LastError, MaxErrorText),
		State: "following", Stopped: untrusted.Text(p.State.Stopped, MaxErrorText), Evidence: p.State.Evidence,
		FailedRounds:    p.State.Failures,
		KeyIndexMissing: untrusted.Text(p.State.KeyIndexMissing, MaxErrorText),
		Refused:         p.State.Refused, LastRefused: untrusted.Text(p.State.LastRefused, MaxErrorText),
	}
	if p.State.KeyIndex != nil {
		s.KeyIndexSize = p.State.KeyIndexSize
		if v, err := tlog.NewVerifier(p.LogKey); err == nil {
			k, err := tlog.OpenKeyIndex(p.State.KeyIndex, v)
			s.KeyIndexAll = err == nil && k.Complete
		}
	}
	if !p.State.LastRound.IsZero() {
		s.LastRound = p.State.LastRound.UTC().Format(time.RFC3339Nano)
	}
	s.Round = "idle"
	if !p.State.RoundStarted.IsZero() {
		from := p.State.RoundFrom
		s.Round, s.RoundStarted, s.RoundFrom = "running", p.State.RoundStarted.UTC().Format(time.RFC3339Nano), &from
		if !p.State.RoundActive.IsZero() {
			n := p.State.RoundBytes
			s.RoundBytes, s.RoundActive = &n, p.State.RoundActive.UTC().Format(time.RFC3339Nano)
		}
		s.RoundOwner = p.State.RoundOwner
		if !p.State.RoundExpires.IsZero() {
			s.RoundExpires = p.State.RoundExpires.UTC().Format(time.RFC3339Nano)
		}
	}
	s.Interrupted = strings.HasPrefix(p.State.LastError, InterruptedPrefix)
	if text, err := tlog.SplitNote(p.State.Checkpoint); err == nil {
		if cp, err := tlog.ParseCheckpoint(text); err == nil {
			s.CheckpointSize = cp.Size
		}
	}
	if p.State.Stopped != "" {
		s.State = "stopped"
	} else {
		lag := max(0, p.State.RemoteSize-p.State.Next)
		s.Lag = &lag
	}
	return s
}

// StatusAt is [StatusOf] with Stalled set, at now, for a node that starts
// a round of each peer every interval (config.json's peer_interval):
// state stays "following" while a round hangs, and last_round alone
// didn't say that it was old.
func StatusAt(p store.Peer, now time.Time, interval time.Duration) Status {
	s := StatusOf(p)
	if p.State.Stopped != "" {
		return s
	}
	if started := p.State.RoundStarted; !started.IsZero() {
		// A round runs: it is judged by its progress, the last bytes
		// from the peer or step stored, not by the time since a round
		// last ended (a long step over a slow link ends late).
		if next := NextRound(p, interval); !next.IsZero() {
			s.NextRound = next.UTC().Format(time.RFC3339Nano)
		}
		active, what := started, "the round has received nothing from the peer and stored no step since it started"
		if p.State.RoundActive.After(active) {
			active, what = p.State.RoundActive, "the round has received nothing from the peer and stored no step"
		}
		if p.State.LastRound.After(active) {
			active, what = p.State.LastRound, "the round has received nothing from the peer since its last step"
		}
		if exp := p.State.RoundExpires; !exp.IsZero() && !now.Before(exp) {
			s.Stalled = fmt.Sprintf("the round's lease expired at %s: its process (%s) stopped renewing it (killed, crashed or paused); the next process to look counts the round as interrupted", exp.UTC().Format(time.RFC3339), p.State.RoundOwner)
		} else if d := now.Sub(active); d > ActivityWindow {
			s.Stalled = fmt.Sprintf("%s for %s (a request to the peer that gets no byte for %s is abandoned, which ends the round): the round hangs in the node, or the node stopped during it and hasn't started since", what, d.Round(time.Second), DefaultStallTimeout)
		}
		return s
	}
	last, what := p.State.LastRound, "no round of this peer has ended"
	if last.IsZero() {
		last, what = p.Created, "no round of this peer has ended since it was added"
	}
	if last.IsZero() {
		return s
	}
	backoff := Backoff(p.State.Failures, interval)
	if next := NextRound(p, interval); !next.IsZero() {
		s.NextRound = next.UTC().Format(time.RFC3339Nano)
	}
	backedOff := ""
	if backoff > 0 {
		backedOff = fmt.Sprintf(", the next one %s after the last for a peer whose last %d rounds failed", backoff, p.State.Failures)
	}
	if d := now.Sub(last); d > StallAfter(interval)+backoff {
		s.Stalled = fmt.Sprintf("%s for %s (rounds start every %s%s, and each request to the peer times out after %s): a round is hanging on the peer, or the node isn't serving", what, d.Round(time.Second), interval, backedOff, RequestTimeout)
	} else if strings.HasPrefix(p.State.LastError, StalledPrefix) {
		s.Stalled = "the last round was abandoned: a request to the peer made no progress (see last_error); the peer is black-holed or stalls on purpose, and each round retries"
	}
	return s
}
