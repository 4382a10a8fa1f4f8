package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/parley-exchange/parley/internal/store"
)

func init() {
	// The web UI's sessions (store.UISessions), so that every process on
	// the store knows them: keyed by the SHA-256 of the session id, with
	// the SHA-256 of the member's token, never either secret. Times are
	// Unix nanoseconds of the UI's clock.
	registerMigrations(migration{730, "ui sessions", `
CREATE TABLE ui_sessions (
	key       BLOB PRIMARY KEY,
	member    TEXT NOT NULL,
	token     BLOB NOT NULL,
	csrf      TEXT NOT NULL,
	created   INTEGER NOT NULL,
	last_seen INTEGER NOT NULL,
	expires   INTEGER NOT NULL
);
CREATE INDEX ui_sessions_member ON ui_sessions(member, last_seen);
CREATE INDEX ui_sessions_expires ON ui_sessions(expires);
CREATE INDEX ui_sessions_last_seen ON ui_sessions(last_seen);
`})
	// The session's binding (store.UISession.Binding), NULL for none.
	// The sessions of the builds before it are ended here: none is
	// bound, and an analyst logs in again once after the upgrade (a
	// session an older build opens later is unbound, and held to
	// reading by the UI).
	registerMigrations(migration{731, "ui session binding", `
ALTER TABLE ui_sessions ADD COLUMN binding BLOB;
DELETE FROM ui_sessions;
`})
}

var _ store.UISessions = (*Store)(nil)

// OpenUISession implements [store.UISessions].
func (s *Store) OpenUISession(ctx context.Context, us store.UISession, idleBefore time.Time) error {
	if !us.Valid() {
		return fmt.Errorf("couldn't open a UI session: %w", store.ErrInvalid)
	}
	err := s.Write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM ui_sessions WHERE expires <= ? OR last_seen <= ?`, us.Created.UnixNano(), idleBefore.UnixNano()); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM ui_sessions WHERE key IN (
			SELECT key FROM ui_sessions WHERE member = ? ORDER BY last_seen DESC, key LIMIT -1 OFFSET ?)`, us.Member, store.MaxUISessionsPerMember-1); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO ui_sessions(key, member, token, csrf, created, last_seen, expires, binding) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			us.Key[:], us.Member, us.Token[:], us.CSRF, us.Created.UnixNano(), us.LastSeen.UnixNano(), us.Expires.UnixNano(), bindingColumn(us.Binding))
		return err
	})
	if isUnique(err) {
		return fmt.Errorf("couldn't open a UI session: %w", store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("couldn't open a UI session: %w", err)
	}
	return nil
}

// TouchUISession implements [store.UISessions].
func (s *Store) TouchUISession(ctx context.Context, key [32]byte, now, idleBefore time.Time) (store.UISession, error) {
	// A key that names no session (a stale or made-up cookie, which any
	// client can send) costs a read, never a write on the one writer; so
	// does a live session seen recently (UISession.ReadOnlyAt).
	us, err := scanUISession(s.r.QueryRowContext(ctx, `SELECT member, token, csrf, created, last_seen, expires, binding FROM ui_sessions WHERE key = ?`, key[:]), key)
	if errors.Is(err, sql.ErrNoRows) {
		return store.UISession{}, fmt.Errorf("no such UI session: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.UISession{}, fmt.Errorf("couldn't read a UI session: %w", err)
	}
	if us.ReadOnlyAt(now, idleBefore) {
		return us, nil
	}
	found := false
	err = s.Write(ctx, func(tx *sql.Tx) error {
		var err error
		us, err = scanUISession(tx.QueryRowContext(ctx, `UPDATE ui_sessions SET last_seen = max(last_seen, ?)
			WHERE key = ? AND expires > ? AND last_seen > ?
			RETURNING member, token, csrf, created, last_seen, expires, binding`,
			now.UnixNano(), key[:], now.UnixNano(), idleBefore.UnixNano()), key)
		if errors.Is(err, sql.ErrNoRows) {
			// Ended or unknown: an ended one goes now.
			found = false
			_, err = tx.ExecContext(ctx, `DELETE FROM ui_sessions WHERE key = ?`, key[:])
			return err
		}
		found = err == nil
		return err
	})
	if err != nil {
		return store.UISession{}, fmt.Errorf("couldn't read a UI session: %w", err)
	}
	if !found {
		return store.UISession{}, fmt.Errorf("no such UI session: %w", store.ErrNotFound)
	}
	return us, nil
}

// UISession implements [store.UISessions].
func (s *Store) UISession(ctx context.Context, key [32]byte, now, idleBefore time.Time) (store.UISession, error) {
	us, err := scanUISession(s.r.QueryRowContext(ctx, `SELECT member, token, csrf, created, last_seen, expires, binding FROM ui_sessions WHERE key = ?`, key[:]), key)
	if errors.Is(err, sql.ErrNoRows) {
		return store.UISession{}, fmt.Errorf("no such UI session: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.UISession{}, fmt.Errorf("couldn't read a UI session: %w", err)
	}
	if !us.Expires.After(now) || !us.LastSeen.After(idleBefore) {
		return store.UISession{}, fmt.Errorf("UI session ended: %w", store.ErrNotFound)
	}
	return us, nil
}

// CloseUISession implements [store.UISessions].
func (s *Store) CloseUISession(ctx context.Context, key [32]byte) error {
	err := s.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM ui_sessions WHERE key = ?`, key[:])
		return err
	})
	if err != nil {
		return fmt.Errorf("couldn't close a UI session: %w", err)
	}
	return nil
}

// scanUISession reads a session's member, token, csrf, created, last_seen,
// expires and binding columns, in that order, from row.
func scanUISession(row *sql.Row, key [32]byte) (store.UISession, error) {
	var us store.UISession
	var token, binding []byte
	var created, seen, expires int64
	if err := row.Scan(&us.Member, &token, &us.CSRF, &created, &seen, &expires, &binding); err != nil {
		return store.UISession{}, err
	}
	switch len(binding) {
	case 0: // unbound
	case len(us.Binding):
		copy(us.Binding[:], binding)
	default:
		return store.UISession{}, fmt.Errorf("a stored UI session's binding has %d bytes", len(binding))
	}
	if len(token) != len(us.Token) {
		return store.UISession{}, fmt.Errorf("a stored UI session's token hash has %d bytes", len(token))
	}
	us.Key = key
	copy(us.Token[:], token)
	us.Created, us.LastSeen, us.Expires = time.Unix(0, created).UTC(), time.Unix(0, seen).UTC(), time.Unix(0, expires).UTC()
	return us, nil
}

// bindingColumn is the binding column of b: NULL for an unbound session.
func bindingColumn(b [32]byte) any {
	if b == ([32]byte{}) {
		return nil
	}
	return b[:]
}
