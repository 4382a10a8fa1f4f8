package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/parley-exchange/parley/internal/store"
)

// Each member's storage use is the member_usage row that Submit keeps in
// the transaction that inserts the member's versions (see
// [Store.checkLimits]); reading it is one lookup however much the member
// stored.

var _ store.Sizes = (*Store)(nil)

// Usage returns the bytes of stored JSON of every object version member
// submitted, in every collection (0 for a member that stored nothing).
func (s *Store) Usage(ctx context.Context, member string) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT bytes FROM member_usage WHERE member = $1`, member).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("couldn't read the storage use of %s: %w", member, err)
	}
	return n, nil
}

// ObjectsSize implements [store.Sizes].
func (s *Store) ObjectsSize(ctx context.Context, collection string, ids []string) (int64, int64, error) {
	if len(ids) == 0 {
		return 0, 0, nil
	}
	var n, size int64
	err := s.pool.QueryRow(ctx, `SELECT count(*), coalesce(sum(octet_length(raw)), 0)::bigint FROM objects
WHERE collection = $1 AND object_id = ANY($2::text[])`, collection, ids).Scan(&n, &size)
	if err != nil {
		return 0, 0, fmt.Errorf("couldn't size objects: %w", err)
	}
	return n, size, nil
}
