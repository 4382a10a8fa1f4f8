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

var _ store.TableReader = (*Store)(nil)

// ErrNotEmpty means [Store.Load] found the database already holding a
// node (members, collections or log entries); it changed nothing.
var ErrNotEmpty = errors.New("the PostgreSQL schema already holds a node")

// loadProgressEvery is how many rows [Store.Load] copies between two
// progress reports of one table.
const loadProgressEvery = 10000

// indexPage is how many object versions [Store.Load] indexes at a time.
const indexPage = 500

// Load copies a whole node's state from src into this store, which must
// hold no node, in one transaction: when it returns nil every row of
// every table of [store.StateTables] is committed, bit for bit (times of
// private_set_indicators.expires to the microsecond), the derived indexes
// (the web UI's, the opinion index and the collections' counts) are rebuilt from the objects, and
// the log's counter continues after the last entry. On error nothing was
// changed. It returns the rows copied per table.
//
// Rows go in by COPY, streamed from src, so memory stays bounded. Unlike
// the other writes Load is not retried on a serialization failure: src
// can't be read twice. src's log must be contiguous (entries 0..n-1) and
// its objects' seq at most n, so that the seq Submit assigns next
// (index+1) sorts after every copied one; otherwise Load fails.
//
// progress, if not nil, is called with a table's name and its rows copied
// so far, every few thousand rows and when the table is done.
func (s *Store) Load(ctx context.Context, src store.TableReader, progress func(table string, rows int64)) (map[string]int64, error) {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return nil, fmt.Errorf("couldn't begin the copy: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) // a no-op after Commit
	h, err := lockHead(ctx, tx)
	if err != nil {
		return nil, err
	}
	var used bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM members) OR EXISTS (SELECT 1 FROM collections) OR EXISTS (SELECT 1 FROM log_entries)`).Scan(&used); err != nil {
		return nil, fmt.Errorf("couldn't check that the target is empty: %w", err)
	}
	if used || h.next != 0 {
		return nil, ErrNotEmpty
	}
	counts := map[string]int64{}
	for _, t := range store.StateTables {
		rows, err := src.ReadTable(ctx, t)
		if err != nil {
			return nil, err
		}
		names := make([]string, len(t.Columns))
		for i, c := range t.Columns {
			names[i] = c.Name
		}
		cr := &countingRows{Rows: rows, table: t.Name, progress: progress}
		n, err := tx.CopyFrom(ctx, pgx.Identifier{t.Name}, names, cr)
		if cerr := rows.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("couldn't copy table %s: %w", t.Name, err)
		}
		counts[t.Name] = n
		if progress != nil {
			progress(t.Name, n)
		}
	}
	if err := setHead(ctx, tx); err != nil {
		return nil, err
	}
	if err := rebuildIndexes(ctx, tx); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, countStatsSQL); err != nil {
		return nil, fmt.Errorf("couldn't count the copied objects: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("couldn't commit the copy: %w", err)
	}
	return counts, nil
}

// setHead points the log's counter after the copied entries.
func setHead(ctx context.Context, tx pgx.Tx) error {
	var n, next, maxSeq int64
	var last string
	err := tx.QueryRow(ctx, `SELECT count(*), coalesce(max(idx) + 1, 0), coalesce((SELECT received FROM log_entries ORDER BY idx DESC LIMIT 1), ''),
	coalesce((SELECT max(seq) FROM objects), 0) FROM log_entries`).Scan(&n, &next, &last, &maxSeq)
	if err != nil {
		return fmt.Errorf("couldn't read the copied log: %w", err)
	}
	if n != next {
		return fmt.Errorf("couldn't continue the copied log: it has %d entries but its last index is %d", n, next-1)
	}
	if maxSeq > next {
		return fmt.Errorf("couldn't continue the copied log: an object's seq (%d) is beyond the log's size (%d), so new objects would sort before it", maxSeq, next)
	}
	if last != "" {
		if _, err := parseTime(last); err != nil {
			return err
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE log_head SET next_idx = $1, last_received = $2 WHERE id = 1`, next, last); err != nil {
		return fmt.Errorf("couldn't set the log head: %w", err)
	}
	return nil
}

// rebuildIndexes writes the UI and opinion index rows of every copied
// object version, indexPage versions at a time, as Submit would have.
func rebuildIndexes(ctx context.Context, tx pgx.Tx) error {
	after := int64(-1 << 62)
	for {
		rows, err := tx.Query(ctx, `SELECT seq, collection, object_id, type, raw FROM objects WHERE seq > $1 ORDER BY seq LIMIT $2`, after, indexPage)
		if err != nil {
			return fmt.Errorf("couldn't index the copied objects: %w", err)
		}
		objs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Object, error) {
			var o store.Object
			return o, r.Scan(&o.Seq, &o.Collection, &o.ID, &o.Type, &o.Raw)
		})
		if err != nil {
			return fmt.Errorf("couldn't index the copied objects: %w", err)
		}
		if len(objs) == 0 {
			return nil
		}
		var b pgx.Batch
		queueIndexes(&b, objs)
		if b.Len() > 0 {
			if err := tx.SendBatch(ctx, &b).Close(); err != nil {
				return fmt.Errorf("couldn't index the copied objects: %w", err)
			}
		}
		after = objs[len(objs)-1].Seq
	}
}

// countingRows reports progress while COPY reads rows.
type countingRows struct {
	store.Rows
	table    string
	n        int64
	progress func(string, int64)
}

func (r *countingRows) Next() bool {
	if !r.Rows.Next() {
		return false
	}
	r.n++
	if r.progress != nil && r.n%loadProgressEvery == 0 {
		r.progress(r.table, r.n)
	}
	return true
}

// ReadTable implements [store.TableReader], for verifying a copy: t's
// rows in key order, text keys in byte order (COLLATE "C") as SQLite
// orders them.
func (s *Store) ReadTable(ctx context.Context, t store.Table) (store.Rows, error) {
	if _, ok := store.StateTable(t.Name); !ok {
		return nil, fmt.Errorf("couldn't read table %q: not a state table: %w", t.Name, store.ErrInvalid)
	}
	names := make([]string, len(t.Columns))
	kinds := map[string]store.ColumnKind{}
	for i, c := range t.Columns {
		names[i] = c.Name
		kinds[c.Name] = c.Kind
	}
	order := make([]string, len(t.Key))
	for i, k := range t.Key {
		order[i] = k
		if kinds[k] == store.KindText {
			order[i] += ` COLLATE "C"`
		}
	}
	q := `SELECT ` + strings.Join(names, ", ") + ` FROM ` + t.Name + ` ORDER BY ` + strings.Join(order, ", ")
	rows, err := s.pool.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("couldn't read table %s: %w", t.Name, err)
	}
	return &pgTableRows{t: t, rows: rows, vals: make([]any, len(t.Columns))}, nil
}

type pgTableRows struct {
	t    store.Table
	rows pgx.Rows
	vals []any
	err  error
}

func (r *pgTableRows) Next() bool {
	if r.err != nil || !r.rows.Next() {
		return false
	}
	dst := make([]any, len(r.t.Columns))
	for i, c := range r.t.Columns {
		switch c.Kind {
		case store.KindInt:
			dst[i] = new(int64)
		case store.KindBool:
			dst[i] = new(bool)
		case store.KindText:
			dst[i] = new(string)
		case store.KindNullText:
			dst[i] = new(*string)
		case store.KindNullTime:
			dst[i] = new(*time.Time)
		default:
			dst[i] = new([]byte)
		}
	}
	if err := r.rows.Scan(dst...); err != nil {
		r.err = fmt.Errorf("couldn't read table %s: %w", r.t.Name, err)
		return false
	}
	for i, c := range r.t.Columns {
		switch c.Kind {
		case store.KindInt:
			r.vals[i] = *dst[i].(*int64)
		case store.KindBool:
			r.vals[i] = *dst[i].(*bool)
		case store.KindText:
			r.vals[i] = *dst[i].(*string)
		case store.KindNullText:
			r.vals[i] = *dst[i].(**string)
		case store.KindNullTime:
			r.vals[i] = *dst[i].(**time.Time)
		case store.KindBytes:
			b := *dst[i].(*[]byte)
			if b == nil {
				b = []byte{}
			}
			r.vals[i] = b
		default:
			r.vals[i] = *dst[i].(*[]byte)
		}
	}
	return true
}

func (r *pgTableRows) Values() ([]any, error) { return r.vals, r.err }

func (r *pgTableRows) Err() error {
	if r.err != nil {
		return r.err
	}
	return r.rows.Err()
}

func (r *pgTableRows) Close() error {
	r.rows.Close()
	return nil
}
