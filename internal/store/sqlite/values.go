package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/parley-exchange/parley/internal/store"
)

// The web UI's exact-value index (migration 317): ui_values holds, for
// each object version, its collection, its seq and each of its exact
// values (store.ExactValues), keyed by collection first, so that a
// look-up reads the entries of the collections the member may read and
// no others. Submit writes the rows of the versions it inserts, in the
// same transaction; the versions stored before the migration are indexed
// at Open (ui_values_backfill holds how far that got), in batches.
func init() {
	registerMigrations(migration{317, "ui exact values", `
CREATE TABLE ui_values (
	collection TEXT NOT NULL,
	value      TEXT NOT NULL,
	seq        INTEGER NOT NULL,
	PRIMARY KEY (collection, value, seq)
) WITHOUT ROWID;
CREATE TRIGGER ui_values_delete AFTER DELETE ON objects BEGIN
	DELETE FROM ui_values WHERE collection = OLD.collection AND seq = OLD.seq;
END;
CREATE TABLE ui_values_backfill (next INTEGER NOT NULL, upto INTEGER NOT NULL);
INSERT INTO ui_values_backfill(next, upto) SELECT 1, coalesce(max(seq), 0) FROM objects;
`})
	// Every object version indexed gets a row with the empty value (no
	// exact value is empty, and no look-up reads it), so that the
	// versions an older build stored without their rows (it writes none)
	// can be told and are indexed at Open (repairUIValues), as the
	// full-text tables are. The versions stored before it are indexed
	// again (INSERT OR IGNORE: what they have stays), which gives them
	// these rows and the values that store.ExactValues added since: URLs
	// with their query strings.
	registerMigrations(migration{318, "ui exact values marked, indexed again", `
DELETE FROM ui_values_backfill;
INSERT INTO ui_values_backfill(next, upto) SELECT 1, coalesce(max(seq), 0) FROM objects;
`})
	// ui_values_delete deletes a version's rows by collection and seq,
	// which the primary key (collection, value, seq) can only serve
	// through its collection: each row an operator deletes behind the
	// node's back read every value row of its collection, and a delete
	// of k rows of a collection of n versions read k times n rows (1,000
	// rows of a collection of 20,000 took 2.7 s, 40 ms without the
	// trigger). With an index led by the seq it reads the row's own
	// (TestHandDeleteTriggersPlan).
	registerMigrations(migration{877, "ui exact values by seq", `
CREATE INDEX ui_values_seq ON ui_values(seq, collection);
`})
}

// indexedValues returns the ui_values values of an object version of
// JSON raw: its exact values and the empty value, which marks it indexed
// (migration 318).
func indexedValues(raw []byte) []string {
	return append([]string{""}, store.ExactValues(raw)...)
}

const insertUIValue = `INSERT OR IGNORE INTO ui_values(collection, value, seq) VALUES (?, ?, ?)`

// backfillBatch is how many object versions one transaction of the
// backfill indexes.
var backfillBatch = 2000

// backfillUIValues indexes the exact values of the object versions
// stored before migration 317, a batch per transaction, resuming where
// an interrupted open stopped.
func (s *Store) backfillUIValues(ctx context.Context) error {
	var one int
	switch err := s.w.QueryRowContext(ctx, `SELECT 1 FROM schema_migrations WHERE version = 317`).Scan(&one); {
	case errors.Is(err, sql.ErrNoRows):
		return nil // a store opened with fewer migrations (the tests')
	case err != nil:
		return fmt.Errorf("exact-value index: %w", err)
	}
	for {
		done := false
		err := s.Write(ctx, func(tx *sql.Tx) error {
			var next, upto int64
			err := tx.QueryRowContext(ctx, `SELECT next, upto FROM ui_values_backfill`).Scan(&next, &upto)
			if errors.Is(err, sql.ErrNoRows) {
				done = true
				return nil
			}
			if err != nil {
				return err
			}
			if next > upto {
				done = true
				_, err := tx.ExecContext(ctx, `DELETE FROM ui_values_backfill`)
				return err
			}
			rows, err := tx.QueryContext(ctx, `SELECT seq, collection, raw FROM objects WHERE seq >= ? AND seq <= ? ORDER BY seq LIMIT ?`, next, upto, backfillBatch)
			if err != nil {
				return err
			}
			batch, err := readUIValueRows(rows)
			if err != nil {
				return err
			}
			if err := insertUIValues(ctx, tx, batch); err != nil {
				return err
			}
			last := upto
			if len(batch) == backfillBatch {
				last = batch[len(batch)-1].seq
			}
			_, err = tx.ExecContext(ctx, `UPDATE ui_values_backfill SET next = ?`, last+1)
			return err
		})
		if err != nil {
			return fmt.Errorf("exact-value index: %w", err)
		}
		if done {
			return nil
		}
	}
}

// ValueObjects returns the latest versions, in the given collections, of
// the objects that hold value among their exact values, in seq order,
// within b, and whether some were left out (see [store.UIQueries]).
func (s *Store) ValueObjects(ctx context.Context, collections []string, value string, b store.Bound) ([]store.Object, bool, error) {
	if len(collections) == 0 || !store.IsExactValue(value) {
		return nil, false, nil
	}
	out, more, err := s.queryBoundedEach(ctx, b, collections, false, func(c string) (string, []any) {
		// CROSS JOIN: ui_values drives, through its key (collection,
		// value); left to itself the planner may walk the collection's
		// objects in seq order, probing each, for the ORDER BY.
		return `FROM ui_values v CROSS JOIN objects o ON o.seq = v.seq WHERE v.collection = ? AND v.value = ? AND o.collection = ? AND o.is_last = 1`, []any{c, value, c}
	})
	if err != nil {
		return nil, false, fmt.Errorf("couldn't look up a value: %w", err)
	}
	return out, more, nil
}

// repairUIValues indexes the object versions that ui_values lacks (no
// row with the empty value: see migration 318), which a build from
// before it stores, in each collection whose count of marked versions
// is short of its count of versions: a count of each first, so that
// nothing else is read when none is missing. It runs after the backfill
// (which indexes every version up to its end).
func (s *Store) repairUIValues(ctx context.Context) error {
	var one int
	switch err := s.w.QueryRowContext(ctx, `SELECT 1 FROM schema_migrations WHERE version = 318`).Scan(&one); {
	case errors.Is(err, sql.ErrNoRows):
		return nil // a store opened with fewer migrations (the tests')
	case err != nil:
		return fmt.Errorf("exact-value index: %w", err)
	}
	err := s.Write(ctx, func(tx *sql.Tx) error {
		ids, err := collectionIDs(ctx, tx)
		if err != nil {
			return err
		}
		for _, id := range ids {
			var objects, marked int64
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM objects WHERE collection = ?`, id).Scan(&objects); err != nil {
				return err
			}
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM ui_values WHERE collection = ? AND value = ''`, id).Scan(&marked); err != nil {
				return err
			}
			if marked >= objects {
				continue
			}
			if err := repairUIValuesOf(ctx, tx, id); err != nil {
				return fmt.Errorf("collection %q: %w", id, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("exact-value index: %w", err)
	}
	return nil
}

// repairUIValuesOf indexes collection's object versions that have no
// row with the empty value in ui_values.
func repairUIValuesOf(ctx context.Context, tx *sql.Tx, collection string) error {
	rows, err := tx.QueryContext(ctx, `SELECT o.seq, o.collection, o.raw FROM objects o WHERE o.collection = ?
AND NOT EXISTS (SELECT 1 FROM ui_values v WHERE v.collection = o.collection AND v.value = '' AND v.seq = o.seq) ORDER BY o.seq`, collection)
	if err != nil {
		return err
	}
	missing, err := readUIValueRows(rows)
	if err != nil {
		return err
	}
	return insertUIValues(ctx, tx, missing)
}

// uiValueRow is an object version whose exact values are to be indexed.
type uiValueRow struct {
	seq  int64
	coll string
	raw  []byte
}

// readUIValueRows reads rows of (seq, collection, raw) to the end and
// closes them, so that the transaction can then write.
func readUIValueRows(rows *sql.Rows) ([]uiValueRow, error) {
	defer rows.Close()
	var out []uiValueRow
	for rows.Next() {
		var r uiValueRow
		if err := rows.Scan(&r.seq, &r.coll, &r.raw); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// insertUIValues adds the exact values of each of vs (and its row with
// the empty value, which marks it indexed) to ui_values.
func insertUIValues(ctx context.Context, tx *sql.Tx, vs []uiValueRow) error {
	st, err := tx.PrepareContext(ctx, insertUIValue)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, r := range vs {
		for _, v := range indexedValues(r.raw) {
			if _, err := st.ExecContext(ctx, r.coll, v, r.seq); err != nil {
				return err
			}
		}
	}
	return nil
}

// collectionIDs lists the ids of the store's collections, in order.
func collectionIDs(ctx context.Context, tx *sql.Tx) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id FROM collections ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
