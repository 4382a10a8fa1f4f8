package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"net/http/httptest"
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

// TestBindingProved: what proves a session's browser binding: the secret
// whose hash it keeps, in the header, or a look-up's proof for that very
// look-up; never for an unbound session, another secret, the hash itself,
// or another look-up's proof.
func TestBindingProved(t *testing.T) {
	const secret = "the tab's secret"
	bound := &session{binding: sha256.Sum256([]byte(secret))}
	unbound := &session{}
	proof := lookupProof(bound.binding, "evil.example")
	hash := bound.binding
	for _, c := range []struct {
		name           string
		s              *session
		header, target string
		q              string
		want           bool
	}{
		{"the secret", bound, secret, "/ui/api/log/keys", "", true},
		{"no secret", bound, "", "/ui/api/log/keys", "", false},
		{"another secret", bound, "another tab's secret", "/ui/api/log/keys", "", false},
		{"the hash for the secret", bound, string(hash[:]), "/ui/api/log/keys", "", false},
		{"unbound, with a secret", unbound, secret, "/ui/api/log/keys", "", false},
		{"unbound, empty secret", unbound, "", "/ui/api/log/keys", "", false},
		{"the look-up's proof", bound, "", "/ui/search?q=evil.example&proof=" + proof, "evil.example", true},
		{"another look-up's proof", bound, "", "/ui/search?q=good.example&proof=" + proof, "good.example", false},
		{"a proof, unbound", unbound, "", "/ui/search?q=evil.example&proof=" + lookupProof([32]byte{}, "evil.example"), "evil.example", false},
		{"the secret on a look-up", bound, secret, "/ui/search?q=evil.example", "evil.example", true},
	} {
		r := httptest.NewRequest("GET", c.target, nil)
		if c.header != "" {
			r.Header.Set(bindingHeader, c.header)
		}
		if got := bindingProved(r, c.s, c.q); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
