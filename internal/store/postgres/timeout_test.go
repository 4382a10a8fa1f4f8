package postgres

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parley-exchange/parley/internal/store"
)

// TestServerTimeoutsUnavailable: a statement the server cancels by itself
// (statement_timeout, lock_timeout, here while another session holds
// log_head locked) and a session it ends (idle_in_transaction_session_timeout)
// are store.ErrUnavailable, for writes (inTx) and reads (the pool) alike:
// the node answers 503 with Retry-After, not a 500, and nothing was
// stored. A statement the caller itself cancels is not.
func TestServerTimeoutsUnavailable(t *testing.T) {
	ctx := context.Background()
	base := testURL(t)
	withParams := func(kv ...string) string {
		u, err := url.Parse(base)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		for i := 0; i < len(kv); i += 2 {
			q.Set(kv[i], kv[i+1])
		}
		u.RawQuery = q.Encode()
		return u.String()
	}
	openTest(t, base, Options{}).Close() // migrate without timeouts

	// Another session holds the log locked.
	locker, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer locker.Close(ctx)
	lockTx, err := locker.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lockTx.Exec(ctx, `LOCK TABLE log_head IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}

	for _, param := range []string{"statement_timeout", "lock_timeout"} {
		t.Run(param, func(t *testing.T) {
			s := openTest(t, withParams(param, "200ms"), Options{})
			err := s.AddMember(ctx, store.Member{ID: "m-" + param, Name: param, Identity: []byte("{}")})
			if !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("a write canceled by the server's %s: %v, want store.ErrUnavailable", param, err)
			}
			if _, err := s.LogSize(ctx); !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("a read canceled by the server's %s: %v, want store.ErrUnavailable", param, err)
			}
			// The caller's own deadline stays the caller's.
			cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
			defer cancel()
			if _, err := s.LogSize(cctx); errors.Is(err, store.ErrUnavailable) || err == nil {
				t.Errorf("a read past the caller's deadline: %v, want not store.ErrUnavailable", err)
			}
		})
	}
	if err := lockTx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}

	t.Run("idle_in_transaction_session_timeout", func(t *testing.T) {
		s := openTest(t, withParams("idle_in_transaction_session_timeout", "100ms"), Options{})
		err := s.inTx(ctx, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT 1`); err != nil {
				return err
			}
			time.Sleep(400 * time.Millisecond) // the server ends the session
			_, err := tx.Exec(ctx, `UPDATE log_head SET next_idx = next_idx`)
			return err
		})
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("a transaction whose session the server ended: %v, want store.ErrUnavailable", err)
		}
		// The pool recovers by itself.
		if _, err := s.LogSize(ctx); err != nil {
			t.Errorf("after the session ended: %v", err)
		}
	})
	// The store still works once the lock is gone.
	s := openTest(t, withParams("statement_timeout", "200ms"), Options{})
	if err := s.AddMember(ctx, store.Member{ID: "m-after", Name: "after", Identity: []byte("{}")}); err != nil {
		t.Errorf("after the lock: %v", err)
	}
}
