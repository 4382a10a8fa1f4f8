package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/parley-exchange/parley/internal/store"
)

// The web UI's exact-value index (migration 313): ui_values holds, for
// each object version, its collection, its seq and each of its exact
// values (store.ExactValues), keyed by collection first, so that a
// look-up reads the entries of the collections the member may read and
// no others. Submit queues the rows of the versions it inserts with the
// other index rows (queueIndexes); the versions stored before the
// migration are indexed at Open (ui_values_backfill holds how far that
// got), in batches.
func init() {
	registerMigrations(migration{313, "ui exact values", `
CREATE TABLE ui_values (
	collection TEXT NOT NULL,
	value      TEXT NOT NULL,
	object_seq BIGINT NOT NULL,
	PRIMARY KEY (collection, value, object_seq)
);
CREATE TABLE ui_values_backfill (next BIGINT NOT NULL, upto BIGINT NOT NULL);
INSERT INTO ui_values_backfill(next, upto) SELECT 1, coalesce(max(seq), 0) FROM objects;
`})
	// As the SQLite store's migration 318: every object version indexed
	// gets a row with the empty value (no exact value is empty, and no
	// look-up reads it), so that the versions an older build stored
	// without their rows can be told and are indexed at Open
	// (repairUIValues); the versions stored before it are indexed again
	// (ON CONFLICT DO NOTHING), which gives them these rows and the values
	// store.ExactValues added since (URLs with their query strings).
	registerMigrations(migration{314, "ui exact values marked, indexed again", `
DELETE FROM ui_values_backfill;
INSERT INTO ui_values_backfill(next, upto) SELECT 1, coalesce(max(seq), 0) FROM objects;
`})
}

// backfillBatch is how many object versions one transaction of the
// backfill indexes.
var backfillBatch = 2000

// valueRows appends to the three columns of ui_values the rows of o.
func valueRows(colls, vals []string, seqs []int64, o store.Object) ([]string, []string, []int64) {
	// The empty value marks the version indexed (migration 314).
	for _, v := range append([]string{""}, store.ExactValues(o.Raw)...) {
		colls, vals, seqs = append(colls, o.Collection), append(vals, v), append(seqs, o.Seq)
	}
	return colls, vals, seqs
}

// queueValues queues on b the ui_values rows of objs (Seq, Collection and
// Raw set), in one statement, or none when there are no objs.
func queueValues(b *pgx.Batch, objs []store.Object) {
	var colls, vals []string
	var seqs []int64
	for _, o := range objs {
		colls, vals, seqs = valueRows(colls, vals, seqs, o)
	}
	if len(vals) > 0 {
		b.Queue(`INSERT INTO ui_values(collection, value, object_seq) SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) ON CONFLICT DO NOTHING`, colls, vals, seqs)
	}
}

// backfillUIValues indexes the exact values of the object versions
// stored before migration 313, a batch per transaction, resuming where
// an interrupted open stopped.
func (s *Store) backfillUIValues(ctx context.Context) error {
	var one int
	switch err := s.pool.QueryRow(ctx, `SELECT 1 FROM schema_migrations WHERE version = 313`).Scan(&one); {
	case errors.Is(err, pgx.ErrNoRows):
		return nil // a store opened with fewer migrations (the tests')
	case err != nil:
		return fmt.Errorf("exact-value index: %w", err)
	}
	for {
		done := false
		err := s.inTx(ctx, func(tx pgx.Tx) error {
			done = false
			var next, upto int64
			err := tx.QueryRow(ctx, `SELECT next, upto FROM ui_values_backfill FOR UPDATE`).Scan(&next, &upto)
			if errors.Is(err, pgx.ErrNoRows) {
				done = true
				return nil
			}
			if err != nil {
				return err
			}
			if next > upto {
				done = true
				_, err := tx.Exec(ctx, `DELETE FROM ui_values_backfill`)
				return err
			}
			rows, err := tx.Query(ctx, `SELECT seq, collection, raw FROM objects WHERE seq >= $1 AND seq <= $2 ORDER BY seq LIMIT $3`, next, upto, backfillBatch)
			if err != nil {
				return err
			}
			objs, err := pgx.CollectRows(rows, scanSeqObject)
			if err != nil {
				return err
			}
			var b pgx.Batch
			queueValues(&b, objs)
			last := upto
			if len(objs) == backfillBatch {
				last = objs[len(objs)-1].Seq
			}
			b.Queue(`UPDATE ui_values_backfill SET next = $1`, last+1)
			return tx.SendBatch(ctx, &b).Close()
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
	// One primary-key lookup per collection.
	var a args
	var union []string
	for _, c := range slices.Compact(slices.Sorted(slices.Values(collections))) {
		union = append(union, `SELECT object_seq FROM ui_values WHERE collection = `+a.add(c)+` AND value = `+a.add(value))
	}
	out, more, err := s.queryBounded(ctx, b, bySeqs(strings.Join(union, " UNION ALL "))+` WHERE o.is_last`, "seq", a)
	if err != nil {
		return nil, false, fmt.Errorf("couldn't look up a value: %w", err)
	}
	return out, more, nil
}

// repairUIValues indexes the object versions that ui_values lacks (no
// row with the empty value: see migration 314), which a build from
// before it stores, in each collection whose count of marked versions
// is short of its count of versions: a count of each first, so that
// nothing else is read when none is missing. It runs after the backfill
// (which indexes every version up to its end).
func (s *Store) repairUIValues(ctx context.Context) error {
	var one int
	switch err := s.pool.QueryRow(ctx, `SELECT 1 FROM schema_migrations WHERE version = 314`).Scan(&one); {
	case errors.Is(err, pgx.ErrNoRows):
		return nil // a store opened with fewer migrations (the tests')
	case err != nil:
		return fmt.Errorf("exact-value index: %w", err)
	}
	rows, err := s.pool.Query(ctx, `SELECT c.id FROM collections c
WHERE (SELECT count(*) FROM objects o WHERE o.collection = c.id) > (SELECT count(*) FROM ui_values v WHERE v.collection = c.id AND v.value = '')
ORDER BY c.id`)
	if err != nil {
		return fmt.Errorf("exact-value index: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("exact-value index: %w", err)
	}
	for _, id := range ids {
		err := s.inTx(ctx, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, `SELECT o.seq, o.collection, o.raw FROM objects o WHERE o.collection = $1
AND NOT EXISTS (SELECT 1 FROM ui_values v WHERE v.collection = o.collection AND v.value = '' AND v.object_seq = o.seq) ORDER BY o.seq`, id)
			if err != nil {
				return err
			}
			objs, err := pgx.CollectRows(rows, scanSeqObject)
			if err != nil {
				return err
			}
			var b pgx.Batch
			queueValues(&b, objs)
			return tx.SendBatch(ctx, &b).Close()
		})
		if err != nil {
			return fmt.Errorf("exact-value index: collection %q: %w", id, err)
		}
	}
	return nil
}

// scanSeqObject reads a row of (seq, collection, raw) as the object
// version whose exact values queueValues indexes.
func scanSeqObject(row pgx.CollectableRow) (store.Object, error) {
	var o store.Object
	err := row.Scan(&o.Seq, &o.Collection, &o.Raw)
	return o, err
}
