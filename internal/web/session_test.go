package web

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
)

// TestSessionsKeepNoSessionID: the server keeps a session under the hash
// of its id, like API tokens: nothing in the session table is the
// cookie's value (which a memory dump could replay, and which a map
// lookup would compare with what a client sends), and the id still finds
// its session, and after close no longer does.
func TestSessionsKeepNoSessionID(t *testing.T) {
	ss := newSessions(Deps{Rand: rand.Reader, Now: time.Now, SessionTTL: time.Hour, IdleTimeout: time.Hour})
	s, id, err := ss.open(store.Member{ID: "identity--x"}, "parley_tok")
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range ss.m {
		if bytes.Contains([]byte(fmt.Sprint(k)), []byte(id)) || bytes.Contains(k[:], []byte(id)) {
			t.Errorf("the session table's key holds the session id")
		}
		if bytes.Contains([]byte(fmt.Sprintf("%+v", *v)), []byte(id)) {
			t.Errorf("the session holds its own id: %+v", *v)
		}
	}
	if got := ss.get(id); got == nil || got.member.ID != "identity--x" {
		t.Fatalf("get(id) = %+v", got)
	}
	if ss.get(id[:len(id)-1]+"A") != nil && id[len(id)-1] != 'A' {
		t.Fatal("another id finds the session")
	}
	ss.close(s.key)
	if ss.get(id) != nil {
		t.Fatal("a closed session is still found")
	}
}
