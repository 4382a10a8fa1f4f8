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
	// Leases (store.Leases): one row per lease, kept after release so
	// that fences only grow. SQLite serves one process, but a second
	// process on the same file (an operator's second `parley serve`)
	// is fenced out like a second node on a shared PostgreSQL.
	registerMigrations(migration{720, "leases", `
CREATE TABLE leases (
	name    TEXT PRIMARY KEY,
	holder  TEXT NOT NULL,
	fence   INTEGER NOT NULL,
	expires TEXT NOT NULL
);
`})
}

var _ store.Leases = (*Store)(nil)

type leaseRow struct {
	holder  string
	fence   int64
	expires time.Time
}

// readLease returns the lease's row; ok is false when there is none.
func readLease(ctx context.Context, tx *sql.Tx, name string) (l leaseRow, ok bool, err error) {
	var expires string
	err = tx.QueryRowContext(ctx, `SELECT holder, fence, expires FROM leases WHERE name = ?`, name).Scan(&l.holder, &l.fence, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return l, false, nil
	}
	if err != nil {
		return l, false, fmt.Errorf("couldn't read lease %s: %w", name, err)
	}
	l.expires, err = parseTime(expires)
	return l, err == nil, err
}

// AcquireLease implements [store.Leases].
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (int64, bool, error) {
	if name == "" || holder == "" || ttl <= 0 {
		return 0, false, fmt.Errorf("couldn't acquire a lease: name %q, ttl %v: %w", name, ttl, store.ErrInvalid)
	}
	var fence int64
	var ok bool
	err := s.Write(ctx, func(tx *sql.Tx) error {
		now := s.now()
		l, found, err := readLease(ctx, tx, name)
		if err != nil {
			return err
		}
		switch {
		case !found:
			fence = 1
			_, err = tx.ExecContext(ctx, `INSERT INTO leases(name, holder, fence, expires) VALUES (?, ?, ?, ?)`, name, holder, fence, fmtTime(now.Add(ttl)))
		case l.holder == holder:
			fence = l.fence
			_, err = tx.ExecContext(ctx, `UPDATE leases SET expires = ? WHERE name = ?`, fmtTime(now.Add(ttl)), name)
		case !now.Before(l.expires):
			fence = l.fence + 1
			_, err = tx.ExecContext(ctx, `UPDATE leases SET holder = ?, fence = ?, expires = ? WHERE name = ?`, holder, fence, fmtTime(now.Add(ttl)), name)
		default:
			return nil // held by another
		}
		if err != nil {
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
	return s.Write(ctx, func(tx *sql.Tx) error {
		if err := checkFence(ctx, tx, name, holder, fence); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE leases SET expires = ? WHERE name = ?`, fmtTime(s.now().Add(ttl)), name); err != nil {
			return fmt.Errorf("couldn't renew lease %s: %w", name, err)
		}
		return nil
	})
}

// ReleaseLease implements [store.Leases].
func (s *Store) ReleaseLease(ctx context.Context, name, holder string, fence int64) error {
	return s.Write(ctx, func(tx *sql.Tx) error {
		if err := checkFence(ctx, tx, name, holder, fence); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE leases SET expires = ? WHERE name = ?`, fmtTime(s.now()), name); err != nil {
			return fmt.Errorf("couldn't release lease %s: %w", name, err)
		}
		return nil
	})
}

// checkFence fails with store.ErrFenced unless holder holds lease name
// with fence (expired or not: no one took it since). holder "" checks the
// fence alone (the guarded writes carry only the fence).
func checkFence(ctx context.Context, tx *sql.Tx, name, holder string, fence int64) error {
	l, found, err := readLease(ctx, tx, name)
	if err != nil {
		return err
	}
	if !found || fence < 1 || l.fence != fence || holder != "" && l.holder != holder {
		return fmt.Errorf("lease %s, fence %d: %w", name, fence, store.ErrFenced)
	}
	return nil
}
