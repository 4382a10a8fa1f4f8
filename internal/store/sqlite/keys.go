package sqlite

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/tlog"
)

func init() {
	// Log format v2: every entry has a kind; member key events are log
	// entries (found by kind and member), and SDO/SRO/meta ids belong to
	// the member who created their first version.
	registerMigrations(migration{400, "log format v2: entry kinds, object owners", `
ALTER TABLE log_entries ADD COLUMN kind TEXT NOT NULL DEFAULT 'object';
CREATE INDEX log_entries_kind_member ON log_entries(kind, member, idx);
CREATE TABLE object_owners (
	object_id TEXT PRIMARY KEY,
	member    TEXT NOT NULL
);
ALTER TABLE members ADD COLUMN revoked INTEGER NOT NULL DEFAULT 0;
ALTER TABLE collections ADD COLUMN relay INTEGER NOT NULL DEFAULT 0;
`})
}

// nextEntry returns the index and received time of the next log entry: one
// past the last entry, stamped strictly after it (microseconds), so that
// entries of every kind are received in log order.
func (s *Store) nextEntry(ctx context.Context, tx *sql.Tx) (int64, time.Time, error) {
	var idx int64
	var last string
	err := tx.QueryRowContext(ctx, `SELECT idx, received FROM log_entries ORDER BY idx DESC LIMIT 1`).Scan(&idx, &last)
	now := s.now().UTC().Truncate(time.Microsecond)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, now, nil
	}
	if err != nil {
		return 0, time.Time{}, err
	}
	t, err := parseTime(last)
	if err != nil {
		return 0, time.Time{}, err
	}
	if !now.After(t) {
		now = t.Add(time.Microsecond)
	}
	return idx + 1, now, nil
}

// appendKeyEntry appends a member key entry inside tx.
func (s *Store) appendKeyEntry(ctx context.Context, tx *sql.Tx, e tlog.Entry) error {
	idx, received, err := s.nextEntry(ctx, tx)
	if err != nil {
		return err
	}
	e.Kind, e.Received = tlog.KindMemberKey, received
	leaf, err := e.Marshal()
	if err != nil {
		return fmt.Errorf("%w: %v", store.ErrInvalid, err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO log_entries(idx, leaf, salt, collection, object_id, version, member, received, kind) VALUES (?, ?, ?, '', '', ?, ?, ?, ?)`,
		idx, leaf, []byte{}, fmtTime(received), e.Member, fmtTime(received), tlog.KindMemberKey)
	return err
}

// AddMember implements [store.Store].
func (s *Store) AddMember(ctx context.Context, m store.Member) error {
	if m.ID == "" || m.Name == "" {
		return fmt.Errorf("couldn't add member: empty id or name: %w", store.ErrInvalid)
	}
	if m.PublicKey != nil && len(m.PublicKey) != ed25519.PublicKeySize {
		return fmt.Errorf("couldn't add member %q: public key is %d bytes, not 32: %w", m.Name, len(m.PublicKey), store.ErrInvalid)
	}
	if m.Created.IsZero() {
		m.Created = s.now()
	}
	err := s.Write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO members(id, name, public_key, identity, created) VALUES (?, ?, ?, ?, ?)`,
			m.ID, m.Name, m.PublicKey, m.Identity, fmtTime(m.Created)); err != nil {
			return err
		}
		// After the insert, so that a taken id or name is said first.
		if err := keyHeldByAnother(ctx, tx, m.PublicKey, m.ID); err != nil {
			return err
		}
		e := tlog.Entry{Member: m.ID, Event: tlog.EventRegister, Authority: tlog.AuthorityOperator}
		if m.PublicKey != nil {
			e.Key = ed25519.PublicKey(m.PublicKey)
		}
		return s.appendKeyEntry(ctx, tx, e)
	})
	if isUnique(err) {
		return fmt.Errorf("couldn't add member %q: id or name taken: %w", m.Name, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("couldn't add member %q: %w", m.Name, err)
	}
	return nil
}

// ChangeKey implements [store.Store]. The event is checked against the
// member's logged history (replayed from its key entries) with the same
// rules every verifier applies, so the log never holds an event they
// would refuse.
func (s *Store) ChangeKey(ctx context.Context, ev store.KeyEvent) error {
	e := tlog.Entry{Member: ev.Member, Event: ev.Event, Authority: ev.Authority, Statement: ev.Statement}
	if ev.Key != nil {
		e.Key = ed25519.PublicKey(ev.Key)
	}
	if ev.Event == tlog.EventRegister {
		return fmt.Errorf("couldn't change the key of %s: registration is AddMember: %w", ev.Member, store.ErrInvalid)
	}
	err := s.Write(ctx, func(tx *sql.Tx) error {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM members WHERE id = ?`, ev.Member).Scan(&one); errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("member %s: %w", ev.Member, store.ErrNotFound)
		} else if err != nil {
			return err
		}
		history, err := keyHistory(ctx, tx, ev.Member)
		if err != nil {
			return err
		}
		if ev.Event == tlog.EventRotate {
			if err := keyHeldByAnother(ctx, tx, ev.Key, ev.Member); err != nil {
				return err
			}
		}
		idx, received, err := s.nextEntry(ctx, tx)
		if err != nil {
			return err
		}
		e.Kind, e.Received = tlog.KindMemberKey, received
		if _, err := e.Marshal(); err != nil {
			return fmt.Errorf("%w: %v", store.ErrInvalid, err)
		}
		if err := history.Apply(uint64(idx), e); err != nil {
			return fmt.Errorf("%w: %v", store.ErrInvalid, err)
		}
		switch ev.Event {
		case tlog.EventRotate:
			_, err = tx.ExecContext(ctx, `UPDATE members SET public_key = ? WHERE id = ?`, ev.Key, ev.Member)
		case tlog.EventRevokeKey:
			_, err = tx.ExecContext(ctx, `UPDATE members SET public_key = NULL WHERE id = ?`, ev.Member)
		case tlog.EventRevokeMember:
			if _, err = tx.ExecContext(ctx, `UPDATE members SET public_key = NULL, revoked = 1 WHERE id = ?`, ev.Member); err == nil {
				_, err = tx.ExecContext(ctx, `DELETE FROM tokens WHERE member = ?`, ev.Member)
			}
		}
		if err != nil {
			return err
		}
		return s.appendKeyEntry(ctx, tx, e)
	})
	if err != nil {
		return fmt.Errorf("couldn't record the %s of %s: %w", ev.Event, ev.Member, err)
	}
	return nil
}

// keyHeldByAnother fails with [store.ErrKeyHeld] when key (nil: none) was
// put in force for another member than member by a logged key entry
// ([store.CheckKeyHeld]).
func keyHeldByAnother(ctx context.Context, tx *sql.Tx, key []byte, member string) error {
	if key == nil {
		return nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT idx, member, leaf FROM log_entries WHERE kind = ? AND member <> ? ORDER BY idx`, tlog.KindMemberKey, member)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var idx int64
		var other string
		var leaf []byte
		if err := rows.Scan(&idx, &other, &leaf); err != nil {
			return err
		}
		if err := store.CheckKeyHeld(idx, other, leaf, key); err != nil {
			return err
		}
	}
	return rows.Err()
}

// keyHistory replays a member's logged key entries.
func keyHistory(ctx context.Context, tx *sql.Tx, member string) (*tlog.KeyHistory, error) {
	rows, err := tx.QueryContext(ctx, `SELECT idx, leaf FROM log_entries WHERE kind = ? AND member = ? ORDER BY idx`, tlog.KindMemberKey, member)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	h := tlog.NewKeyHistory()
	for rows.Next() {
		var idx int64
		var leaf []byte
		if err := rows.Scan(&idx, &leaf); err != nil {
			return nil, err
		}
		e, err := tlog.ParseEntry(leaf)
		if err != nil {
			return nil, err
		}
		if err := h.Apply(uint64(idx), e); err != nil {
			return nil, err
		}
	}
	return h, rows.Err()
}

// KeyEntries implements [store.Store].
func (s *Store) KeyEntries(ctx context.Context, size int64, members ...string) ([]store.Entry, error) {
	q := `SELECT ` + entryCols + ` FROM log_entries WHERE kind = ? AND idx < ?`
	args := []any{tlog.KindMemberKey, size}
	if len(members) > 0 {
		q += ` AND member IN (?` + strings.Repeat(",?", len(members)-1) + `)`
		for _, m := range members {
			args = append(args, m)
		}
	}
	rows, err := s.r.QueryContext(ctx, q+` ORDER BY idx`, args...)
	if err != nil {
		return nil, fmt.Errorf("couldn't read member key entries: %w", err)
	}
	defer rows.Close()
	var out []store.Entry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, fmt.Errorf("couldn't read member key entries: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
