package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/parley-exchange/parley/internal/store"
)

var _ store.TableReader = (*Store)(nil)

// copyColumns maps the neutral names of [store.StateTables] to this
// store's expressions where they differ: collection_access keeps each
// member's place in a list by rowid here, and feeds name their user
// "user".
var copyColumns = map[string]string{
	"collection_access.pos": "rowid",
	"feeds.username":        `"user"`,
}

// ReadTable implements [store.TableReader]: one query over t, streamed,
// so that memory stays bounded whatever the table's size. Rows are in key
// order (text in byte order, SQLite's BINARY collation). Read a snapshot
// ([Store.Snapshot]) for a copy consistent across tables.
func (s *Store) ReadTable(ctx context.Context, t store.Table) (store.Rows, error) {
	if _, ok := store.StateTable(t.Name); !ok {
		return nil, fmt.Errorf("couldn't read table %q: not a state table: %w", t.Name, store.ErrInvalid)
	}
	exprs := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		exprs[i] = c.Name
		if e, ok := copyColumns[t.Name+"."+c.Name]; ok {
			exprs[i] = e
		}
	}
	q := `SELECT ` + strings.Join(exprs, ", ") + ` FROM ` + t.Name + ` ORDER BY ` + strings.Join(t.Key, ", ")
	rows, err := s.r.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("couldn't read table %s: %w", t.Name, err)
	}
	return &tableRows{t: t, rows: rows, vals: make([]any, len(t.Columns))}, nil
}

// tableRows scans each row into the neutral types of [store.ColumnKind].
type tableRows struct {
	t    store.Table
	rows *sql.Rows
	vals []any
	err  error
}

func (r *tableRows) Next() bool {
	if r.err != nil || !r.rows.Next() {
		return false
	}
	dst := make([]any, len(r.t.Columns))
	var (
		ints  = make([]int64, len(dst))
		strs  = make([]sql.NullString, len(dst))
		blobs = make([][]byte, len(dst))
	)
	for i, c := range r.t.Columns {
		switch c.Kind {
		case store.KindInt, store.KindBool:
			dst[i] = &ints[i]
		case store.KindText, store.KindNullText, store.KindNullTime:
			dst[i] = &strs[i]
		default:
			dst[i] = &blobs[i]
		}
	}
	if err := r.rows.Scan(dst...); err != nil {
		r.err = fmt.Errorf("couldn't read table %s: %w", r.t.Name, err)
		return false
	}
	for i, c := range r.t.Columns {
		switch c.Kind {
		case store.KindInt:
			r.vals[i] = ints[i]
		case store.KindBool:
			r.vals[i] = ints[i] != 0
		case store.KindText:
			if !strs[i].Valid {
				r.err = fmt.Errorf("couldn't read table %s: column %s is NULL", r.t.Name, c.Name)
				return false
			}
			r.vals[i] = strs[i].String
		case store.KindNullText:
			var p *string
			if strs[i].Valid {
				p = &strs[i].String
			}
			r.vals[i] = p
		case store.KindNullTime:
			var p *time.Time
			if strs[i].Valid {
				t, err := parseTime(strs[i].String)
				if err != nil {
					r.err = fmt.Errorf("couldn't read table %s: %w", r.t.Name, err)
					return false
				}
				p = &t
			}
			r.vals[i] = p
		case store.KindBytes:
			b := blobs[i]
			if b == nil {
				b = []byte{}
			}
			r.vals[i] = b
		case store.KindNullBytes:
			r.vals[i] = blobs[i]
		}
	}
	return true
}

func (r *tableRows) Values() ([]any, error) { return r.vals, r.err }

func (r *tableRows) Err() error {
	if r.err != nil {
		return r.err
	}
	return r.rows.Err()
}

func (r *tableRows) Close() error { return r.rows.Close() }
