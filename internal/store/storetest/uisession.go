package storetest

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
)

// testUISessions: the web UI's sessions, shared by every process on the
// store. A session is found by its key while live (before Expires,
// LastSeen after idleBefore) and touching it moves LastSeen forward,
// never back; an ended one is deleted when touched; a closed one is gone;
// opening one deletes every ended session and keeps a member at most
// store.MaxUISessionsPerMember sessions, its most recently seen. A
// session's Binding is kept as it was opened, zero (unbound) included.
func testUISessions(t *testing.T, s store.Store) {
	key := func(name string) [32]byte { return sha256.Sum256([]byte(name)) }
	t0 := base
	const ttl, idle = 8 * time.Hour, time.Hour
	session := func(name, member string, at time.Time) store.UISession {
		return store.UISession{Key: key(name), Member: member, Token: key("token of " + member), CSRF: "csrf " + name,
			Created: at, LastSeen: at, Expires: at.Add(ttl), Binding: key("binding of " + name)}
	}
	open := func(us store.UISession) {
		t.Helper()
		must(t, s.OpenUISession(ctx, us, us.Created.Add(-idle)))
	}
	touch := func(name string, now time.Time) (store.UISession, error) {
		t.Helper()
		return s.TouchUISession(ctx, key(name), now, now.Add(-idle))
	}
	live := func(name string, now time.Time) store.UISession {
		t.Helper()
		us, err := touch(name, now)
		if err != nil {
			t.Fatalf("session %s at %v: %v", name, now.Sub(t0), err)
		}
		return us
	}
	gone := func(name string, now time.Time) {
		t.Helper()
		if us, err := touch(name, now); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("session %s at %v: %+v, %v; want ErrNotFound", name, now.Sub(t0), us, err)
		}
	}

	for _, bad := range []store.UISession{
		{Key: key("x"), CSRF: "c", Created: t0, LastSeen: t0, Expires: t0},
		{Key: key("x"), Member: "m", Created: t0, LastSeen: t0, Expires: t0},
		{Key: key("x"), Member: "m", CSRF: "c", LastSeen: t0, Expires: t0},
		{Key: key("x"), Member: "m", CSRF: "c", Created: t0, LastSeen: t0},
	} {
		if err := s.OpenUISession(ctx, bad, t0); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("OpenUISession(%+v): %v, want ErrInvalid", bad, err)
		}
	}
	gone("a", t0)
	must(t, s.CloseUISession(ctx, key("a"))) // unknown: no error

	a := session("a", "m", t0)
	open(a)
	if err := s.OpenUISession(ctx, session("a", "other", t0), t0.Add(-idle)); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a second session under a's key: %v, want ErrConflict", err)
	}
	got := live("a", t0.Add(time.Minute))
	want := a
	want.LastSeen = t0.Add(time.Minute)
	if got.Key != want.Key || got.Member != want.Member || got.Token != want.Token || got.CSRF != want.CSRF || got.Binding != want.Binding ||
		!got.Created.Equal(want.Created) || !got.LastSeen.Equal(want.LastSeen) || !got.Expires.Equal(want.Expires) {
		t.Fatalf("touched: %+v\nwant %+v", got, want)
	}
	// Reading a session (UISession) writes nothing: LastSeen stays, and a
	// session only read ends as idle as if it had not been asked for.
	peek := func(name string, now time.Time) (store.UISession, error) {
		t.Helper()
		return s.UISession(ctx, key(name), now, now.Add(-idle))
	}
	if got, err := peek("a", t0.Add(10*time.Minute)); err != nil || !got.LastSeen.Equal(t0.Add(time.Minute)) || got.CSRF != a.CSRF || got.Binding != a.Binding {
		t.Fatalf("read: %+v, %v; want LastSeen %v", got, err, time.Minute)
	}
	if _, err := peek("a", t0.Add(time.Minute+idle)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("read at idle after the last touch: %v, want ErrNotFound", err)
	}
	if _, err := peek("a", a.Expires); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("read at its expiry: %v, want ErrNotFound", err)
	}
	if _, err := peek("no such session", t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("read of no session: %v, want ErrNotFound", err)
	}
	// Another front end whose clock is behind doesn't move LastSeen back.
	if got := live("a", t0.Add(30*time.Second)); !got.LastSeen.Equal(t0.Add(time.Minute)) {
		t.Fatalf("LastSeen went back to %v", got.LastSeen.Sub(t0))
	}
	// A request soon after the last write reads the session and writes
	// nothing: LastSeen stays until store.UISessionTouchEvery has passed.
	if got := live("a", t0.Add(time.Minute+store.UISessionTouchEvery-time.Second)); !got.LastSeen.Equal(t0.Add(time.Minute)) {
		t.Fatalf("LastSeen written again after %v", got.LastSeen.Sub(t0.Add(time.Minute)))
	}
	if got := live("a", t0.Add(time.Minute+store.UISessionTouchEvery)); !got.LastSeen.Equal(t0.Add(time.Minute + store.UISessionTouchEvery)) {
		t.Fatalf("LastSeen %v after %v, want it written", got.LastSeen.Sub(t0), store.UISessionTouchEvery)
	}
	// Idle: live just before idle has passed since the last request, gone
	// at it, and deleted (an earlier clock doesn't find it again).
	live("a", t0.Add(time.Minute+idle-time.Nanosecond))
	last := t0.Add(time.Minute + idle - time.Nanosecond)
	gone("a", last.Add(idle))
	gone("a", last)

	// A short idle timeout writes LastSeen more often (an eighth of it): a
	// session used every 900 ms with 8 s of idle time stays live.
	short := session("short", "m", t0)
	open(short)
	const shortIdle = 8 * time.Second
	for at := t0; at.Before(t0.Add(time.Minute)); at = at.Add(900 * time.Millisecond) {
		if _, err := s.TouchUISession(ctx, key("short"), at, at.Add(-shortIdle)); err != nil {
			t.Fatalf("session short, used every 900 ms, at %v: %v", at.Sub(t0), err)
		}
	}
	must(t, s.CloseUISession(ctx, key("short")))

	// Expiry: used all along, it ends at Expires.
	b := session("b", "m", t0)
	open(b)
	for at := t0; at.Before(b.Expires); at = at.Add(idle / 2) {
		live("b", at)
	}
	live("b", b.Expires.Add(-time.Nanosecond))
	gone("b", b.Expires)
	gone("b", t0)

	// A session without a binding (logged in without the page's script)
	// is stored and read back as one: a zero Binding.
	unbound := session("unbound", "m", t0)
	unbound.Binding = [32]byte{}
	open(unbound)
	if got := live("unbound", t0); got.Binding != ([32]byte{}) {
		t.Fatalf("an unbound session read back with binding %x", got.Binding)
	}
	must(t, s.CloseUISession(ctx, key("unbound")))

	// Close.
	c := session("c", "m", t0)
	open(c)
	must(t, s.CloseUISession(ctx, key("c")))
	gone("c", t0)

	// Opening a session sweeps the ended ones, of every member.
	t1 := t0.Add(24 * time.Hour)
	open(session("expiring", "m", t1))             // expires at t1+ttl
	open(session("idle", "n", t1.Add(ttl-2*idle))) // last seen then
	open(session("busy", "n", t1.Add(ttl-2*idle))) // seen later:
	for at := t1.Add(ttl - 2*idle); at.Before(t1.Add(ttl)); at = at.Add(idle / 2) {
		live("busy", at)
	}
	open(session("new", "o", t1.Add(ttl+time.Minute))) // sweeps
	gone("expiring", t1)                               // swept, though live at t1
	gone("idle", t1.Add(ttl-2*idle))                   // swept, though live then
	live("busy", t1.Add(ttl))
	live("new", t1.Add(ttl+time.Minute))
	// A member keeps at most MaxUISessionsPerMember sessions, the most
	// recently seen; another member's are not touched.
	t2 := t1.Add(48 * time.Hour)
	open(session("other member", "q", t2))
	const extra = 3
	n := store.MaxUISessionsPerMember + extra
	for i := range n {
		open(session(fmt.Sprint("p", i), "p", t2.Add(time.Duration(i)*time.Second)))
	}
	// The least recently seen (the first opened) went as more opened.
	now := t2.Add(time.Duration(n) * time.Second)
	for i := range n {
		name := fmt.Sprint("p", i)
		if i < extra {
			gone(name, now)
		} else {
			live(name, now)
		}
	}
	live("other member", now)
}
