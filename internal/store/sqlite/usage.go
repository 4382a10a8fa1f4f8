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
// trigger in the transaction that inserts the version, so that checking
// the quota is one lookup however much the member stored. An insert that
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
	quota := s.limits.MemberQuota
	if quota <= 0 {
		return nil
	}
	after, err := usage(ctx, tx, sub.Member)
	if err != nil {
		return err
	}
	if after <= quota {
		return nil
	}
	// What the member used before this submission, as committed: the
	// readers don't see this transaction. (Another submission of the same
	// member in the same group commit counts as this one's need.)
	before, err := usage(ctx, s.r, sub.Member)
	if err != nil {
		return err
	}
	return &store.QuotaError{Member: sub.Member, Used: before, Need: after - before, Quota: quota}
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
