package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/parley-exchange/parley/internal/store"
)

// Operator actions on tokens and members ([store.Store] RevokeTokens,
// ReplaceTokens, RemoveMember). A member's revoked column, set by a
// revoke-member key event or by RemoveMember, makes AddToken and
// ReplaceTokens refuse it. Nothing caches tokens: a deleted token fails on
// the next request of every front end on this database.

// memberRevoked locks the member's row (FOR UPDATE: a concurrent token
// insert, which takes FOR SHARE, waits for the revocation and then sees
// it) and reports whether it was revoked or removed; ErrNotFound for an
// unknown member.
func memberRevoked(ctx context.Context, tx pgx.Tx, member string) (bool, error) {
	var revoked bool
	err := tx.QueryRow(ctx, `SELECT revoked FROM members WHERE id = $1 FOR UPDATE`, member).Scan(&revoked)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, fmt.Errorf("member %q: %w", member, store.ErrNotFound)
	}
	return revoked, err
}

// insertToken checks, under a share lock on the member's row, that
// t.Member may hold tokens, and stores t.
func insertToken(ctx context.Context, tx pgx.Tx, t store.Token) error {
	var revoked bool
	err := tx.QueryRow(ctx, `SELECT revoked FROM members WHERE id = $1 FOR SHARE`, t.Member).Scan(&revoked)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("member %q: %w", t.Member, store.ErrNotFound)
	}
	if err != nil {
		return err
	}
	if revoked {
		return fmt.Errorf("member %q was revoked or removed: %w", t.Member, store.ErrInvalid)
	}
	_, err = tx.Exec(ctx, `INSERT INTO tokens(hash, lookup, member, created) VALUES ($1, $2, $3, $4)`,
		t.Hash[:], t.Hash[:8], t.Member, fmtTime(t.Created))
	return err
}

// RevokeTokens implements [store.Store].
func (s *Store) RevokeTokens(ctx context.Context, member string) (int, error) {
	var n int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := memberRevoked(ctx, tx, member); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM tokens WHERE member = $1`, member)
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
		return nil
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
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		revoked, err := memberRevoked(ctx, tx, t.Member)
		if err != nil {
			return err
		}
		if revoked {
			return fmt.Errorf("member %q was revoked or removed: %w", t.Member, store.ErrInvalid)
		}
		tag, err := tx.Exec(ctx, `DELETE FROM tokens WHERE member = $1`, t.Member)
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
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
	return s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE collections SET description = $1 WHERE id = $2`, description, id)
		if err != nil {
			return fmt.Errorf("couldn't change the description of collection %s: %w", id, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("collection %s: %w", id, store.ErrNotFound)
		}
		return nil
	})
}

// RemoveMember implements [store.Store].
func (s *Store) RemoveMember(ctx context.Context, member string) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := memberRevoked(ctx, tx, member); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM tokens WHERE member = $1`,
			`DELETE FROM collection_access WHERE member = $1`,
			`UPDATE members SET revoked = true WHERE id = $1`,
		} {
			if _, err := tx.Exec(ctx, q, member); err != nil {
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
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		// The log head's lock orders it with every submission and
		// private set (which check the access under that lock): each
		// is logged wholly before the change or checked after it.
		if _, err := lockHead(ctx, tx); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE collection_access SET can_read = can_read AND NOT $1, can_write = can_write AND NOT $2 WHERE collection = $3 AND member = $4`,
			read, write, collection, member)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("member %s is not on the access lists of collection %s: %w", member, collection, store.ErrNotFound)
		}
		_, err = tx.Exec(ctx, `DELETE FROM collection_access WHERE collection = $1 AND member = $2 AND NOT can_read AND NOT can_write`, collection, member)
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
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM collections WHERE id = $1`, collection).Scan(&one); errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("collection %s: %w", collection, store.ErrNotFound)
		} else if err != nil {
			return err
		}
		// The member's row lock orders it with RemoveMember and the
		// revocation of its key (which lock or update that row): a member
		// removed meanwhile is refused, not put back on the lists.
		revoked, err := memberRevoked(ctx, tx, member)
		if err != nil {
			return err
		}
		if revoked {
			return fmt.Errorf("member %q was revoked or removed: %w", member, store.ErrInvalid)
		}
		// A member new to the lists goes last on them, as AddCollection
		// keeps its order (pos).
		_, err = tx.Exec(ctx, `INSERT INTO collection_access(collection, member, can_read, can_write, pos)
			SELECT $1, $2, $3, $4, COALESCE(MAX(pos) + 1, 0) FROM collection_access WHERE collection = $1
			ON CONFLICT (collection, member) DO UPDATE SET can_read = collection_access.can_read OR excluded.can_read, can_write = collection_access.can_write OR excluded.can_write`,
			collection, member, read, write)
		return err
	})
	if err != nil {
		return fmt.Errorf("couldn't grant access to collection %s: %w", collection, err)
	}
	return nil
}
