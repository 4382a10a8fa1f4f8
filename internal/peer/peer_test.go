package peer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/tlog"
)

func TestReadToken(t *testing.T) {
	for _, tc := range []struct {
		name, file, want, err string
	}{
		{"plain", "parley_abc\n", "parley_abc", ""},
		{"first line", "  parley_abc  \nsecond\n", "parley_abc", ""},
		{"member add --json", `{"id":"identity--x","token":"parley_abc"}`, "parley_abc", ""},
		{"json without token", `{"id":"identity--x"}`, "", `has no "token"`},
		{"empty", "\n \n", "", "is empty"},
		{"binary", "\x00\x01k\x1b[2J\xff", "", "holds binary data"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "token")
			if err := os.WriteFile(path, []byte(tc.file), 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := ReadToken(path)
			if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("ReadToken = %q, %v; want %q, %q", got, err, tc.want, tc.err)
			}
		})
	}
	if _, err := ReadToken(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("a missing file read")
	}
}

// TestPeerFilesBounded: a token file (read again for every round) and a
// CA file of 1 GiB (sparse) fail naming their bound; they were read
// whole.
func TestPeerFilesBounded(t *testing.T) {
	huge := filepath.Join(t.TempDir(), "huge")
	if err := os.WriteFile(huge, nil, 0o600); err != nil || os.Truncate(huge, 1<<30) != nil {
		t.Fatal(err)
	}
	if _, err := ReadToken(huge); err == nil || !strings.Contains(err.Error(), "huge: larger than 64 KiB") {
		t.Errorf("ReadToken of 1 GiB = %v, want an error naming 64 KiB", err)
	}
	if _, err := HTTPClient(huge); err == nil || !strings.Contains(err.Error(), "huge: larger than 4 MiB") {
		t.Errorf("HTTPClient with a CA file of 1 GiB = %v, want an error naming 4 MiB", err)
	}
}

// FuzzReadToken: whatever the file, ReadToken doesn't panic, and a token
// it returns is one non-empty line with no surrounding space.
func FuzzReadToken(f *testing.F) {
	for _, s := range []string{"parley_x\n", `{"token":"a"}`, "{", "\n\n", "a\r\nb", `{"token":"a\nb"}`} {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, s string) {
		path := filepath.Join(dir, "token")
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		tok, err := ReadToken(path)
		if err != nil {
			return
		}
		if tok == "" || (!strings.HasPrefix(strings.TrimSpace(s), "{") && (strings.ContainsAny(tok, "\n") || strings.TrimSpace(tok) != tok)) {
			t.Fatalf("token %q from %q", tok, s)
		}
	})
}

func TestCheckNameAndURL(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{{"b", true}, {"node-b.example_1", true}, {"", false}, {"a/b", false}, {"peer b", false}, {strings.Repeat("x", 65), false}} {
		if err := CheckName(tc.name); (err == nil) != tc.ok || (err != nil && !errors.Is(err, store.ErrInvalid)) {
			t.Errorf("CheckName(%q) = %v", tc.name, err)
		}
	}
	for _, tc := range []struct {
		url string
		ok  bool
	}{{"https://b.example", true}, {"http://127.0.0.1:8080", true}, {"ftp://b.example", false}, {"b.example", false}, {"https://", false},
		{"https://b:hunter2@b.example", false}, {"https://hunter2@b.example", false}, {"https://b.example/?token=hunter2", false},
		{"https://b.example/%zzhunter2", false}} {
		err := CheckURL(tc.url)
		if (err == nil) != tc.ok {
			t.Errorf("CheckURL(%q) = %v", tc.url, err)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("CheckURL(%q)'s error repeats a secret of the URL: %v", tc.url, err)
		}
	}
}

// TestStatusOf: a stopped, forked peer whose position (4908) is above
// the size of the forked checkpoint (610) showed "lag": 0, as if caught
// up; its lag is null, and a followed peer's is what it lacks.
func TestStatusOf(t *testing.T) {
	p := store.Peer{Name: "b", State: store.PeerState{Next: 4908, RemoteSize: 610, Stopped: "forked", Evidence: "/e.json"}}
	s := StatusOf(p)
	if s.Lag != nil || s.State != "stopped" || s.Evidence != "/e.json" || s.LastRound != "" {
		t.Fatalf("%+v", s)
	}
	b, err := json.Marshal(s)
	if err != nil || !strings.Contains(string(b), `"lag":null`) {
		t.Fatalf("stopped peer's JSON %s, %v: want \"lag\":null", b, err)
	}
	p.State = store.PeerState{Next: 10, RemoteSize: 25}
	if s := StatusOf(p); s.Lag == nil || *s.Lag != 15 || s.State != "following" {
		t.Fatalf("%+v", s)
	}
	p.State = store.PeerState{Next: 30, RemoteSize: 25}
	if s := StatusOf(p); s.Lag == nil || *s.Lag != 0 || s.State != "following" {
		t.Fatalf("%+v", s)
	}
}

// TestStatusAtStalled: a round hanging on a black-holed peer left state
// "following" and an old last_round, nothing saying so.
func TestStatusAtStalled(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	p := store.Peer{Name: "b", Created: now.Add(-time.Hour), State: store.PeerState{LastRound: now.Add(-time.Second)}}
	if s := StatusAt(p, now, 5*time.Second); s.Stalled != "" {
		t.Fatalf("a peer whose round ended a second ago: %+v", s)
	}
	p.State.LastRound = now.Add(-10 * time.Minute)
	if s := StatusAt(p, now, 5*time.Second); s.State != "following" || !strings.Contains(s.Stalled, "no round of this peer has ended for 10m0s") {
		t.Fatalf("a peer whose last round ended 10 minutes ago: %+v", s)
	}
	p.State.LastRound = time.Time{}
	if s := StatusAt(p, now, 5*time.Second); !strings.Contains(s.Stalled, "since it was added") {
		t.Fatalf("a peer with no round in an hour: %+v", s)
	}
	p.State.Stopped = "forked"
	if s := StatusAt(p, now, 5*time.Second); s.Stalled != "" {
		t.Fatalf("a stopped peer is not stalled: %+v", s)
	}
}

// TestEvidencePathAbsolute: a node served with a relative --data recorded
// the evidence as "A/evidence/peer-b-….json", which parley peer status,
// run from any other directory, printed as a path that isn't there.
func TestEvidencePathAbsolute(t *testing.T) {
	root := t.TempDir()
	t.Chdir(root)
	path, err := writeEvidence("A", "b", []byte("{}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(path) {
		t.Fatalf("evidence path %q is relative to the serving process's directory", path)
	}
	t.Chdir(t.TempDir())
	if b, err := os.ReadFile(path); err != nil || string(b) != "{}\n" {
		t.Fatalf("evidence at %q, read from another directory: %q, %v", path, b, err)
	}
}

// TestBackoff: a failing peer's rounds are spaced out from the interval,
// doubling, up to MaxBackoff (or the interval when longer); none before a
// failure.
func TestBackoff(t *testing.T) {
	for _, c := range []struct {
		failures int64
		interval time.Duration
		want     time.Duration
	}{
		{0, 5 * time.Second, 0},
		{1, 5 * time.Second, 5 * time.Second},
		{2, 5 * time.Second, 10 * time.Second},
		{4, 5 * time.Second, 40 * time.Second},
		{7, 5 * time.Second, 320 * time.Second},
		{8, 5 * time.Second, MaxBackoff},
		{1 << 40, 5 * time.Second, MaxBackoff},
		{1, time.Hour, time.Hour},
		{3, time.Hour, time.Hour},
	} {
		if got := Backoff(c.failures, c.interval); got != c.want {
			t.Errorf("Backoff(%d, %s) = %s, want %s", c.failures, c.interval, got, c.want)
		}
	}
}

// TestStatusNextRound: peer status shows when a failing peer's next round
// is due, and doesn't call it stalled while it waits for it.
func TestStatusNextRound(t *testing.T) {
	last := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := store.Peer{Name: "b", Created: last.Add(-time.Hour), State: store.PeerState{LastRound: last, LastError: "unreachable", Failures: 8}}
	s := StatusAt(p, last.Add(MaxBackoff), 5*time.Second)
	if s.NextRound != last.Add(MaxBackoff).Format(time.RFC3339Nano) || s.FailedRounds != 8 || s.Stalled != "" {
		t.Errorf("a backed-off peer: next_round %q, failed_rounds %d, stalled %q", s.NextRound, s.FailedRounds, s.Stalled)
	}
	if s := StatusAt(p, last.Add(MaxBackoff+StallAfter(5*time.Second)+time.Second), 5*time.Second); !strings.Contains(s.Stalled, "no round of this peer has ended") {
		t.Errorf("a backed-off peer past its next round: stalled %q", s.Stalled)
	}
	p.State.Failures, p.State.LastError = 0, ""
	if s := StatusAt(p, last, 5*time.Second); s.NextRound != "" || s.FailedRounds != 0 {
		t.Errorf("a peer whose last round worked: next_round %q, failed_rounds %d", s.NextRound, s.FailedRounds)
	}
}

// TestStatusAtRunningRound: a running round is judged by its progress
// (the bytes it received, recorded with RoundActive, or a step it
// stored), not by the time since a round last ended: a step that has
// been coming for an hour over a slow link, its last bytes seconds ago,
// is not stalled; one that received nothing for ActivityWindow is. A
// round interrupted by the node's stop says so.
func TestStatusAtRunningRound(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	p := store.Peer{Name: "b", Created: now.Add(-2 * time.Hour), State: store.PeerState{
		RoundStarted: now.Add(-time.Hour), RoundActive: now.Add(-5 * time.Second), RoundBytes: 12 << 20}}
	s := StatusAt(p, now, 5*time.Second)
	if s.Stalled != "" || s.Round != "running" || s.RoundBytes == nil || *s.RoundBytes != 12<<20 || s.RoundActive != p.State.RoundActive.Format(time.RFC3339Nano) {
		t.Fatalf("a step still coming: %+v", s)
	}
	p.State.RoundActive = now.Add(-ActivityWindow - time.Second)
	if s := StatusAt(p, now, 5*time.Second); !strings.Contains(s.Stalled, "received nothing from the peer") {
		t.Fatalf("a step that received nothing for %s: %+v", ActivityWindow+time.Second, s)
	}
	// A step stored since the last bytes is progress too.
	p.State.LastRound = now.Add(-time.Second)
	if s := StatusAt(p, now, 5*time.Second); s.Stalled != "" {
		t.Fatalf("a round that stored a step a second ago: %+v", s)
	}
	// No bytes recorded yet: judged from the round's start.
	p.State = store.PeerState{RoundStarted: now.Add(-10 * time.Second)}
	if s := StatusAt(p, now, 5*time.Second); s.Stalled != "" || s.RoundBytes != nil {
		t.Fatalf("a round started 10 s ago: %+v", s)
	}
	p.State = store.PeerState{RoundStarted: now.Add(-ActivityWindow - time.Second)}
	if s := StatusAt(p, now, 5*time.Second); !strings.Contains(s.Stalled, "since it started") {
		t.Fatalf("a round that received nothing since it started: %+v", s)
	}
	// Its lease: shown with its process; expired, the round is stalled
	// (its process stopped renewing it) though bytes came recently.
	p.State = store.PeerState{RoundStarted: now.Add(-time.Hour), RoundActive: now.Add(-time.Second), RoundBytes: 1,
		RoundOwner: "fe1/42/ab", RoundExpires: now.Add(time.Second)}
	if s := StatusAt(p, now, 5*time.Second); s.Stalled != "" || s.RoundOwner != "fe1/42/ab" || s.RoundExpires != p.State.RoundExpires.Format(time.RFC3339Nano) {
		t.Fatalf("a round whose lease lasts: %+v", s)
	}
	p.State.RoundExpires = now
	if s := StatusAt(p, now, 5*time.Second); !strings.Contains(s.Stalled, "lease expired") || !strings.Contains(s.Stalled, "fe1/42/ab") {
		t.Fatalf("a round whose lease expired: %+v", s)
	}
	p.State = store.PeerState{LastRound: now, LastError: InterruptedPrefix + ": the round started at …", Failures: 1}
	if s := StatusAt(p, now, 5*time.Second); !s.Interrupted || s.FailedRounds != 1 || s.NextRound == "" || s.Round != "idle" {
		t.Fatalf("an interrupted round: %+v", s)
	}
}

// TestSkipped: a version dated too far ahead, a refused marking
// definition and an id of another form are skipped; a forged object (B's
// node lying about its log) still fails its step.
func TestSkipped(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("%w: the indicator is dated 9999-12-31", ErrVersionAhead), true},
		{fmt.Errorf("%w: %w", tlog.ErrObjectMismatch, tlog.ErrBadSignature), false},
		{fmt.Errorf("%w: TLP", ErrMarking), true},
		{idFormError{fmt.Errorf("%w: not type--UUID", stix.ErrIdentifier)}, true},
		{fmt.Errorf("%w: %w", tlog.ErrObjectMismatch, ErrIDForm), false},
		{errors.New("other"), false},
	} {
		if got := Skipped(tc.err); got != tc.want {
			t.Errorf("Skipped(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// TestStatusShowsNoSecret: a peer recorded by an older version with a
// token in its URL (user information or query), and texts of B's recorded
// before they were cleaned (terminal escapes), show in peer status
// without the token and without control characters.
func TestStatusShowsNoSecret(t *testing.T) {
	p := store.Peer{Name: "b", URL: "https://parley_TOKEN1:pw@b.example/base?api_key=TOKEN2#TOKEN3", Remote: "r\x1b[2J",
		State: store.PeerState{LastError: "bad\x1b]0;owned\x07", Stopped: "fork\x1b[31m", KeyIndexMissing: "none\x1b[1m", LastRefused: "x\x1b[2J"}}
	js, err := json.Marshal(StatusAt(p, time.Now(), time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if s := string(js); strings.Contains(s, "TOKEN") || strings.Contains(s, "pw@") || strings.Contains(s, `\u001b`) || strings.Contains(s, `\u0007`) {
		t.Fatalf("peer status %s shows a secret or a control character", s)
	}
}
