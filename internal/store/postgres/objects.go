package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parley-exchange/parley/internal/store"
)

const objectCols = `seq, collection, object_id, type, spec_version, version, date_added, member, signed, raw, log_index, (SELECT salt FROM log_entries WHERE idx = o.log_index) AS salt`

func scanObject(rows pgx.Rows, extra ...any) (store.Object, error) {
	var o store.Object
	var version, added string
	dest := append([]any{&o.Seq, &o.Collection, &o.ID, &o.Type, &o.SpecVersion, &version, &added, &o.Member, &o.Signed, &o.Raw, &o.LogIndex, &o.Salt}, extra...)
	if err := rows.Scan(dest...); err != nil {
		return o, err
	}
	var err error
	if o.Version, err = parseTime(version); err != nil {
		return o, err
	}
	o.DateAdded, err = parseTime(added)
	return o, err
}

// Objects implements [store.Store].
//
// With q.MaxBytes set, the server cuts the page: each row carries the
// running total of the sizes before it, and of the rows past the page
// only the first is sent, without its content (it only tells that there
// is more). So a page of large objects transfers and
// holds at most MaxBytes plus one object, like the SQLite store's, and
// pgx reads the rows one at a time.
func (s *Store) Objects(ctx context.Context, q store.Query) (store.Page, error) {
	if q.Limit < 1 {
		return store.Page{}, fmt.Errorf("couldn't query objects: limit %d: %w", q.Limit, store.ErrInvalid)
	}
	after := q.After
	if !q.AddedAfter.IsZero() {
		// date_added grows strictly with seq, so added_after is a seq
		// floor: the seq of the collection's first addition after it,
		// one entry of objects_collection_date_added, the one index that
		// gives date_added's order (so no plan reads another
		// collection's additions in it).
		var floor int64
		err := s.pool.QueryRow(ctx, `SELECT seq FROM objects WHERE collection = $1 AND date_added > $2 ORDER BY date_added LIMIT 1`,
			q.Collection, fmtTime(q.AddedAfter)).Scan(&floor)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.Page{}, nil
		}
		if err != nil {
			return store.Page{}, fmt.Errorf("couldn't query objects: %w", err)
		}
		after = max(after, floor-1)
	}
	var b strings.Builder
	args := []any{q.Collection, after}
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	cols := objectCols
	if q.OmitRaw {
		cols = strings.Replace(cols, "raw", "''::bytea AS raw", 1)
	}
	cut := q.MaxBytes > 0 && !q.OmitRaw
	if cut {
		cols += `, octet_length(raw) AS size`
	}
	// Without ids, the collection and the cursor as a range of
	// (collection, seq) in that order (see inCollectionRange), so that no plan
	// walks the table in seq order through other collections' rows. With
	// ids, the collection's equality, so that objects_version (collection,
	// object_id, version) finds the ids' versions: a walk of the
	// collection in (collection, seq) order would read all of it for an
	// id it holds few versions of.
	order := "collection, seq"
	if len(q.IDs) > 0 {
		order = "seq"
		b.WriteString(`SELECT ` + cols + ` FROM objects o WHERE collection = $1 AND seq > $2`)
	} else {
		b.WriteString(`SELECT ` + cols + ` FROM objects o WHERE ` + inCollectionRange("collection", "seq", "$1", ">", "$2"))
	}
	in := func(col string, vals []string) {
		if len(vals) > 0 {
			fmt.Fprintf(&b, " AND %s = ANY(%s)", col, arg(vals))
		}
	}
	in("object_id", q.IDs)
	in("type", q.Types)
	in("spec_version", q.SpecVersions)
	sel := q.Versions
	if len(sel) == 0 {
		sel = []store.VersionSelector{{Kind: store.VersionLast}}
	}
	if !hasAll(sel) {
		var conds []string
		for _, v := range sel {
			switch v.Kind {
			case store.VersionLast:
				conds = append(conds, `o.is_last`)
			case store.VersionFirst:
				conds = append(conds, `o.is_first`)
			case store.VersionAt:
				conds = append(conds, `o.version = `+arg(fmtTime(v.At)))
			default:
				return store.Page{}, fmt.Errorf("couldn't query objects: version selector %q: %w", v.Kind, store.ErrInvalid)
			}
		}
		b.WriteString(" AND (" + strings.Join(conds, " OR ") + ")")
	}
	b.WriteString(" ORDER BY " + order + " LIMIT " + arg(q.Limit+1))
	query := b.String()
	if cut {
		// before: the sizes of the rows ahead of this one; rn: its place.
		// A row is sent if the one ahead of it is on the page (the first
		// always is; the others if everything up to them fits), and its
		// content only if it is on the page itself.
		max, limit := arg(q.MaxBytes), arg(q.Limit)
		query = `SELECT seq, collection, object_id, type, spec_version, version, date_added, member, signed,
				CASE WHEN rn = 1 OR before + size <= ` + max + ` AND rn <= ` + limit + ` THEN raw ELSE ''::bytea END, log_index, salt, size
			FROM (SELECT p.*,
					coalesce(sum(size) OVER (ORDER BY seq ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before,
					row_number() OVER (ORDER BY seq) AS rn
				FROM (` + query + `) AS p) AS w
			WHERE rn <= 2 OR before <= ` + max + ` ORDER BY seq`
	}
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return store.Page{}, fmt.Errorf("couldn't query objects: %w", err)
	}
	defer rows.Close()
	var p store.Page
	var size int64
	for rows.Next() {
		var o store.Object
		var n int64
		if cut {
			o, err = scanObject(rows, &n)
		} else {
			o, err = scanObject(rows)
			n = int64(len(o.Raw))
		}
		if err != nil {
			return store.Page{}, fmt.Errorf("couldn't query objects: %w", err)
		}
		size += n
		if len(p.Objects) == q.Limit || cut && size > q.MaxBytes && len(p.Objects) > 0 {
			p.More = true
			break
		}
		p.Objects = append(p.Objects, o)
	}
	if err := rows.Err(); err != nil {
		return store.Page{}, fmt.Errorf("couldn't query objects: %w", err)
	}
	return p, nil
}

func hasAll(sel []store.VersionSelector) bool {
	for _, v := range sel {
		if v.Kind == store.VersionAll {
			return true
		}
	}
	return false
}

// LogSize implements [store.Store]: the log head's next index.
func (s *Store) LogSize(ctx context.Context) (int64, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, `SELECT next_idx FROM log_head WHERE id = 1`).Scan(&n); err != nil {
		return 0, fmt.Errorf("couldn't read the log size: %w", err)
	}
	return n, nil
}

const entryCols = `idx, leaf, salt, collection, object_id, version, member, received, kind`

func scanEntry(row pgx.Row) (store.Entry, error) {
	var e store.Entry
	var version, received string
	if err := row.Scan(&e.Index, &e.Leaf, &e.Salt, &e.Collection, &e.ObjectID, &version, &e.Member, &received, &e.Kind); err != nil {
		return e, err
	}
	var err error
	if e.Version, err = parseTime(version); err != nil {
		return e, err
	}
	e.Received, err = parseTime(received)
	return e, err
}

func (s *Store) queryEntries(ctx context.Context, query string, args ...any) ([]store.Entry, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Entry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Entries implements [store.Store].
func (s *Store) Entries(ctx context.Context, start, end int64) ([]store.Entry, error) {
	out, err := s.queryEntries(ctx, `SELECT `+entryCols+` FROM log_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx`, start, end)
	if err != nil {
		return nil, fmt.Errorf("couldn't read log entries: %w", err)
	}
	return out, nil
}

// EntryFor implements [store.Store].
func (s *Store) EntryFor(ctx context.Context, collection, objectID string, version time.Time) (store.Entry, error) {
	e, err := scanEntry(s.pool.QueryRow(ctx, `SELECT `+entryCols+` FROM log_entries WHERE idx = (SELECT log_index FROM objects WHERE collection = $1 AND object_id = $2 AND version = $3)`,
		collection, objectID, fmtTime(version)))
	if errors.Is(err, pgx.ErrNoRows) {
		return e, fmt.Errorf("couldn't find the log entry of %s: %w", objectID, store.ErrNotFound)
	}
	if err != nil {
		return e, fmt.Errorf("couldn't read a log entry: %w", err)
	}
	return e, nil
}
