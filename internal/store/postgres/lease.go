package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parley-exchange/parley/internal/store"
)

func init() {
	// Leases (store.Leases), as in the SQLite store's migration 720: one
	// row per lease, kept after release so that fences only grow.
	registerMigrations(migration{720, "leases", `
CREATE TABLE leases (
	name    TEXT PRIMARY KEY,
	holder  TEXT NOT NULL,
	fence   BIGINT NOT NULL,
	expires TEXT NOT NULL
);
`})
}

var _ store.Leases = (*Store)(nil)

type leaseRow struct {
	holder  string
	fence   int64
	expires time.Time // zero: free (never held)
}

// lockLease returns the lease's row, locked for the transaction; a lease
// never held reads as fence 0, free. The row is made first when missing
// (ON CONFLICT DO NOTHING waits for a concurrent maker), so concurrent
// acquirers all queue on the same row lock.
func lockLease(ctx context.Context, tx pgx.Tx, name string) (leaseRow, error) {
	if _, err := tx.Exec(ctx, `INSERT INTO leases(name, holder, fence, expires) VALUES ($1, '', 0, '') ON CONFLICT (name) DO NOTHING`, name); err != nil {
		return leaseRow{}, fmt.Errorf("couldn't read lease %s: %w", name, err)
	}
	var l leaseRow
	var expires string
	if err := tx.QueryRow(ctx, `SELECT holder, fence, expires FROM leases WHERE name = $1 FOR UPDATE`, name).Scan(&l.holder, &l.fence, &expires); err != nil {
		return leaseRow{}, fmt.Errorf("couldn't read lease %s: %w", name, err)
	}
	if expires != "" {
		var err error
		if l.expires, err = parseTime(expires); err != nil {
			return leaseRow{}, err
		}
	}
	return l, nil
}

// AcquireLease implements [store.Leases].
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (int64, bool, error) {
	if name == "" || holder == "" || ttl <= 0 {
		return 0, false, fmt.Errorf("couldn't acquire a lease: name %q, ttl %v: %w", name, ttl, store.ErrInvalid)
	}
	var fence int64
	var ok bool
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		fence, ok = 0, false
		now := s.now()
		l, err := lockLease(ctx, tx, name)
		if err != nil {
			return err
		}
		switch {
		case l.holder == holder:
			fence = l.fence
		case l.holder == "" || !now.Before(l.expires):
			fence = l.fence + 1
		default:
			return nil // held by another
		}
		if _, err := tx.Exec(ctx, `UPDATE leases SET holder = $1, fence = $2, expires = $3 WHERE name = $4`, holder, fence, fmtTime(now.Add(ttl)), name); err != nil {
			return fmt.Errorf("couldn't acquire lease %s: %w", name, err)
		}
		ok = true
		return nil
	})
	if err != nil || !ok {
		return 0, false, err
	}
	return fence, true, nil
}

// RenewLease implements [store.Leases].
func (s *Store) RenewLease(ctx context.Context, name, holder string, fence int64, ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("couldn't renew lease %s: ttl %v: %w", name, ttl, store.ErrInvalid)
	}
	return s.setLeaseExpiry(ctx, name, holder, fence, func() time.Time { return s.now().Add(ttl) })
}

// ReleaseLease implements [store.Leases].
func (s *Store) ReleaseLease(ctx context.Context, name, holder string, fence int64) error {
	return s.setLeaseExpiry(ctx, name, holder, fence, s.now)
}

// setLeaseExpiry moves the expiry of holder's lease, or fails with
// store.ErrFenced when holder doesn't hold it with fence.
func (s *Store) setLeaseExpiry(ctx context.Context, name, holder string, fence int64, expires func() time.Time) error {
	if holder == "" {
		return fmt.Errorf("lease %s, fence %d: %w", name, fence, store.ErrFenced)
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		l, err := lockLease(ctx, tx, name)
		if err != nil {
			return err
		}
		if l.fence < 1 || l.fence != fence || l.holder != holder {
			return fmt.Errorf("lease %s, fence %d: %w", name, fence, store.ErrFenced)
		}
		if _, err := tx.Exec(ctx, `UPDATE leases SET expires = $1 WHERE name = $2`, fmtTime(expires()), name); err != nil {
			return fmt.Errorf("couldn't update lease %s: %w", name, err)
		}
		return nil
	})
}

// checkFence fails with store.ErrFenced unless fence is the current fence
// of lease name. It locks the lease row for share, so that no one can
// acquire the lease until the caller's transaction ends.
func checkFence(ctx context.Context, tx pgx.Tx, name string, fence int64) error {
	var have int64
	err := tx.QueryRow(ctx, `SELECT fence FROM leases WHERE name = $1 FOR SHARE`, name).Scan(&have)
	if errors.Is(err, pgx.ErrNoRows) || err == nil && (fence < 1 || have != fence) {
		return fmt.Errorf("lease %s, fence %d: %w", name, fence, store.ErrFenced)
	}
	return err
}
