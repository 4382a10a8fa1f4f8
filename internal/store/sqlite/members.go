package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/parley-exchange/parley/internal/store"
)

// Operator actions on tokens and members ([store.Store] RevokeTokens,
// ReplaceTokens, RemoveMember). A member's revoked column, set by a
// revoke-member key event or by RemoveMember, makes AddToken and
// ReplaceTokens refuse it; nothing caches tokens, so a deleted token fails
// on the next request of every process that opened this database.

// memberRevoked reports whether member exists (ErrNotFound if not) and
// was revoked or removed.
func memberRevoked(ctx context.Context, tx *sql.Tx, member string) (bool, error) {
	var revoked int
	err := tx.QueryRowContext(ctx, `SELECT revoked FROM members WHERE id = ?`, member).Scan(&revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("member %q: %w", member, store.ErrNotFound)
	}
	return revoked != 0, err
}

// insertToken checks that t.Member may hold tokens and stores t.
func insertToken(ctx context.Context, tx *sql.Tx, t store.Token) error {
	revoked, err := memberRevoked(ctx, tx, t.Member)
	if err != nil {
		return err
	}
	if revoked {
		return fmt.Errorf("member %q was revoked or removed: %w", t.Member, store.ErrInvalid)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO tokens(hash, lookup, member, created) VALUES (?, ?, ?, ?)`,
		t.Hash[:], t.Hash[:8], t.Member, fmtTime(t.Created))
	return err
}

// RevokeTokens implements [store.Store].
func (s *Store) RevokeTokens(ctx context.Context, member string) (int, error) {
	var n int64
	err := s.Write(ctx, func(tx *sql.Tx) error {
		if _, err := memberRevoked(ctx, tx, member); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM tokens WHERE member = ?`, member)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("couldn't revoke the tokens of %s: %w", member, err)
	}
	return int(n), nil
}

// ReplaceTokens implements [store.Store].
func (s *Store) ReplaceTokens(ctx context.Context, t store.Token) (int, error) {
	if t.Created.IsZero() {
		t.Created = s.now()
	}
	var n int64
	err := s.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM tokens WHERE member = ?`, t.Member)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		return insertToken(ctx, tx, t)
	})
	if isUnique(err) {
		err = store.ErrConflict
	}
	if err != nil {
		return 0, fmt.Errorf("couldn't replace the tokens of %s: %w", t.Member, err)
	}
	return int(n), nil
}

// SetCollectionDescription implements [store.Store].
func (s *Store) SetCollectionDescription(ctx context.Context, id, description string) error {
	return s.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE collections SET description = ? WHERE id = ?`, description, id)
		if err != nil {
			return fmt.Errorf("couldn't change the description of collection %s: %w", id, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("collection %s: %w", id, store.ErrNotFound)
		}
		return nil
	})
}

// RemoveMember implements [store.Store].
func (s *Store) RemoveMember(ctx context.Context, member string) error {
	err := s.Write(ctx, func(tx *sql.Tx) error {
		if _, err := memberRevoked(ctx, tx, member); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM tokens WHERE member = ?`,
			`DELETE FROM collection_access WHERE member = ?`,
			`UPDATE members SET revoked = 1 WHERE id = ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, member); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("couldn't remove member %s: %w", member, err)
	}
	return nil
}

// RevokeAccess implements [store.Store].
func (s *Store) RevokeAccess(ctx context.Context, collection, member string, read, write bool) error {
	if !read && !write {
		return fmt.Errorf("couldn't revoke access to collection %s: neither read nor write given: %w", collection, store.ErrInvalid)
	}
	err := s.Write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE collection_access SET can_read = can_read AND NOT ?, can_write = can_write AND NOT ? WHERE collection = ? AND member = ?`,
			read, write, collection, member)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("member %s is not on the access lists of collection %s: %w", member, collection, store.ErrNotFound)
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM collection_access WHERE collection = ? AND member = ? AND NOT can_read AND NOT can_write`, collection, member)
		return err
	})
	if err != nil {
		return fmt.Errorf("couldn't revoke access to collection %s: %w", collection, err)
	}
	return nil
}

// GrantAccess implements [store.Store].
func (s *Store) GrantAccess(ctx context.Context, collection, member string, read, write bool) error {
	if !read && !write {
		return fmt.Errorf("couldn't grant access to collection %s: neither read nor write given: %w", collection, store.ErrInvalid)
	}
	err := s.Write(ctx, func(tx *sql.Tx) error {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM collections WHERE id = ?`, collection).Scan(&one); errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("collection %s: %w", collection, store.ErrNotFound)
		} else if err != nil {
			return err
		}
		revoked, err := memberRevoked(ctx, tx, member)
		if err != nil {
			return err
		}
		if revoked {
			return fmt.Errorf("member %q was revoked or removed: %w", member, store.ErrInvalid)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO collection_access(collection, member, can_read, can_write) VALUES (?, ?, ?, ?)
			ON CONFLICT (collection, member) DO UPDATE SET can_read = can_read OR excluded.can_read, can_write = can_write OR excluded.can_write`,
			collection, member, read, write)
		return err
	})
	if err != nil {
		return fmt.Errorf("couldn't grant access to collection %s: %w", collection, err)
	}
	return nil
}
