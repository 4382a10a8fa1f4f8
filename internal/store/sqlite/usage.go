package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/parley-exchange/parley/internal/store"
)

// Each member's storage use, for the quota of [store.Limits]: the sum of
// the stored bytes of every object version it submitted, kept by a
// trigger in the transaction that inserts the version (and the bytes of
// its private sets, added by CreatePrivateSet: [store.PrivateSetBytes]),
// so that checking the quota is one lookup however much the member
// stored. (Sets stored before CreatePrivateSet charged them are not
// charged: an upgrade puts no member over its quota.) An insert that
// finds the version already stored (ON CONFLICT DO NOTHING) fires no
// trigger and costs nothing.
func init() {
	registerMigrations(migration{410, "member usage", `
CREATE TABLE member_usage (
	member TEXT PRIMARY KEY,
	bytes  INTEGER NOT NULL
);
INSERT INTO member_usage(member, bytes) SELECT member, sum(length(raw)) FROM objects GROUP BY member;
CREATE TRIGGER objects_member_usage AFTER INSERT ON objects BEGIN
	INSERT OR IGNORE INTO member_usage(member, bytes) VALUES (NEW.member, 0);
	UPDATE member_usage SET bytes = bytes + length(NEW.raw) WHERE member = NEW.member;
END;
`})
}

// Usage returns the bytes of stored JSON of every object version member
// submitted, in every collection (0 for a member that stored nothing).
func (s *Store) Usage(ctx context.Context, member string) (int64, error) {
	n, err := usage(ctx, s.r, member)
	if err != nil {
		return 0, fmt.Errorf("couldn't read the storage use of %s: %w", member, err)
	}
	return n, nil
}

func usage(ctx context.Context, q queryRower, member string) (int64, error) {
	var n int64
	err := q.QueryRowContext(ctx, `SELECT bytes FROM member_usage WHERE member = ?`, member).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return n, err
}

// checkLimits is called by submitOne once it has written a submission's
// new versions, inside the transaction: an item over the largest object
// size, or a member now over its quota, fails the submission, and the
// transaction's rollback takes back everything it wrote.
func (s *Store) checkLimits(ctx context.Context, tx *sql.Tx, sub store.Submission) error {
	if limit := s.limits.MaxObjectSize; limit > 0 {
		for _, it := range sub.Items {
			if n := int64(len(it.Object.Raw)); n > limit {
				return fmt.Errorf("couldn't submit %s: it is %d bytes, more than the largest object (%d bytes): %w", it.Object.ID, n, limit, store.ErrTooLarge)
			}
		}
	}
	return s.checkQuota(ctx, tx, sub.Member)
}

// checkQuota fails, inside the transaction tx that added to member's
// use, when the member is now over its quota.
func (s *Store) checkQuota(ctx context.Context, tx *sql.Tx, member string) error {
	quota := s.limits.MemberQuota
	if quota <= 0 {
		return nil
	}
	after, err := usage(ctx, tx, member)
	if err != nil {
		return err
	}
	if after <= quota {
		return nil
	}
	// What the member used before this transaction, as committed: the
	// readers don't see it. (Another submission of the same member in the
	// same group commit counts as this one's need.)
	before, err := usage(ctx, s.r, member)
	if err != nil {
		return err
	}
	return &store.QuotaError{Member: member, Used: before, Need: after - before, Quota: quota}
}

// charge adds bytes to member's use, inside tx, and fails as checkQuota
// does.
func (s *Store) charge(ctx context.Context, tx *sql.Tx, member string, bytes int64) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO member_usage(member, bytes) VALUES (?, ?) ON CONFLICT (member) DO UPDATE SET bytes = bytes + excluded.bytes`, member, bytes); err != nil {
		return err
	}
	return s.checkQuota(ctx, tx, member)
}

// ObjectsSize implements [store.Sizes].
func (s *Store) ObjectsSize(ctx context.Context, collection string, ids []string) (int64, int64, error) {
	if len(ids) == 0 {
		return 0, 0, nil
	}
	args := []any{collection}
	for _, id := range ids {
		args = append(args, id)
	}
	var n, size int64
	err := s.r.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(length(raw)), 0) FROM objects WHERE collection = ? AND object_id IN (`+placeholders(len(ids))+`)`, args...).Scan(&n, &size)
	if err != nil {
		return 0, 0, fmt.Errorf("couldn't size objects: %w", err)
	}
	return n, size, nil
}
