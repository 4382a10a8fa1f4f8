package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/internal/store/sqlite"
)

// TestSessionsKeepNoSessionID: the server keeps a session under the hash
// of its id, like API tokens, and the member's token only as its hash:
// no row of the session table holds the cookie's value or the token
// (which a dump of the store could replay, and which a lookup would
// compare with what a client sends), and the id still finds its session,
// and after close no longer does.
func TestSessionsKeepNoSessionID(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "ui.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const token = "parley_tokentokentokentokentokentokentokentoken"
	ss := newSessions(Deps{Store: s, Rand: rand.Reader, Now: time.Now, SessionTTL: time.Hour, IdleTimeout: time.Hour})
	sess, id, err := ss.open(ctx, store.Member{ID: "identity--x"}, token, sha256.Sum256([]byte("secret")))
	if err != nil {
		t.Fatal(err)
	}
	if sess.token != sha256.Sum256([]byte(token)) {
		t.Errorf("the session's token is not the token's hash")
	}
	_, r := s.DB()
	rows, err := r.Query(`SELECT * FROM ui_sessions`)
	if err != nil {
		t.Fatal(err)
	}
	cols, _ := rows.Columns()
	n := 0
	for rows.Next() {
		n++
		vals := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			for _, secret := range []string{id, token} {
				if bytes.Contains(v, []byte(secret)) || bytes.Contains([]byte(fmt.Sprintf("%x", []byte(v))), []byte(secret)) {
					t.Errorf("column %s of the session table holds a secret", cols[i])
				}
			}
		}
	}
	rows.Close()
	if n != 1 {
		t.Fatalf("%d rows in the session table, want 1", n)
	}
	if got, err := ss.get(ctx, id); err != nil || got == nil || got.member.ID != "identity--x" {
		t.Fatalf("get(id) = %+v, %v", got, err)
	}
	if id[len(id)-1] != 'A' {
		if got, _ := ss.get(ctx, id[:len(id)-1]+"A"); got != nil {
			t.Fatal("another id finds the session")
		}
	}
	if err := ss.close(ctx, sess.key); err != nil {
		t.Fatal(err)
	}
	if got, _ := ss.get(ctx, id); got != nil {
		t.Fatal("a closed session is still found")
	}
}
