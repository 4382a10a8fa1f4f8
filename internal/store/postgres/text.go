package postgres

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/parley-exchange/parley/internal/store"
)

// textFirst is [Store.TextObjects] within b, b.Rows set, for lexemes in
// colls (sorted, each once): the first b.Rows+1 matches of each
// collection, latest versions only, in seq order, then the first of all
// of those, read within b. Each collection is read one of two ways,
// whichever reads fewer rows by the statistics of ui_objects.terms (see
// textWalks): for a word most of the collection's objects hold, a walk of
// the collection in seq order through ui_objects_collection that stops at
// b.Rows+1 matches; for a rarer one, its matches through the GIN index,
// then a top-N sort. The GIN lookup reads every match (a common word
// over a million objects read them all, joined each to objects and
// sorted them); the walk of a rare word would read the whole
// collection. The planner can't make this choice itself: it multiplies
// the selectivity of the collection by that of the terms, which already
// hold the collection (see collectionTerms), and so expects a word that
// most of a collection's objects hold to be rare in it.
func (s *Store) textFirst(ctx context.Context, colls, lexemes []string, b store.Bound) ([]store.Object, bool, error) {
	n := b.Rows + 1
	var seqs []int64
	err := s.readIndexed(ctx, func(tx pgx.Tx) error {
		seqs = nil
		walk, err := textWalks(ctx, tx, colls, lexemes, n)
		if err != nil {
			return err
		}
		read := func(walking bool) error {
			var a args
			var union []string
			lim := a.add(n)
			for _, c := range colls {
				if walk[c] != walking {
					continue
				}
				// The walk's range of (collection, object_seq) keeps it in
				// the collection (see inCollection); the GIN lookup's
				// plain collection = c keeps the planner from adding the
				// collection's index entries to the bitmap.
				id := a.add(c)
				where, order := `u.collection = `+id, `u.object_seq`
				if walking {
					where, order = inCollectionRange("u.collection", "u.object_seq", id, "", ""), `u.collection, u.object_seq`
				}
				union = append(union, `(SELECT u.object_seq FROM ui_objects u
	CROSS JOIN LATERAL (SELECT 1 FROM objects o WHERE o.seq = u.object_seq AND o.is_last OFFSET 0) AS o
	WHERE `+where+` AND u.terms @> `+a.add(collectionTerms(c, lexemes))+`::text[]
	ORDER BY `+order+` LIMIT `+lim+`)`)
			}
			if len(union) == 0 {
				return nil
			}
			if walking {
				// The walk only: the GIN index is reached through a
				// bitmap, and a sort would read the whole collection.
				if _, err := tx.Exec(ctx, `SET LOCAL enable_bitmapscan = off; SET LOCAL enable_sort = off`); err != nil {
					return err
				}
			}
			rows, err := tx.Query(ctx, strings.Join(union, " UNION ALL "), planned(a)...)
			if err != nil {
				return err
			}
			got, err := pgx.CollectRows(rows, pgx.RowTo[int64])
			seqs = append(seqs, got...)
			return err
		}
		if err := read(false); err != nil {
			return err
		}
		return read(true)
	})
	if err != nil {
		return nil, false, err
	}
	slices.Sort(seqs)
	if len(seqs) > n {
		seqs = seqs[:n]
	}
	if len(seqs) == 0 {
		return nil, false, nil
	}
	// o.is_last again: a version added since is not the latest any more.
	return s.queryBounded(ctx, b, `FROM objects o WHERE o.seq = ANY($1::bigint[]) AND o.is_last`, "seq", args{seqs})
}

// textWalks returns the collections of colls whose first n matches of
// lexemes a walk in seq order reads with fewer rows than the GIN index:
// by the statistics of ui_objects.terms (the most common elements and
// their frequencies, each a collection's lexeme) and the collection's
// count of versions, the rows walked until n matches, n over the
// collection's share of rows that hold every term (each term's share
// multiplied, as if independent), against the rows of the rarest
// term's matches. A term among no most common elements is rare: without
// statistics (before the table is first analyzed) none is walked.
func textWalks(ctx context.Context, tx pgx.Tx, colls, lexemes []string, n int) (map[string]bool, error) {
	var elems []string
	var freqs []float64
	var tuples float64
	err := tx.QueryRow(ctx, `SELECT s.most_common_elems::text::text[], s.most_common_elem_freqs::float8[], c.reltuples::float8
FROM pg_stats s JOIN pg_class c ON c.relname = s.tablename AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
WHERE s.schemaname = current_schema() AND s.tablename = 'ui_objects' AND s.attname = 'terms' AND s.most_common_elems IS NOT NULL`).Scan(&elems, &freqs, &tuples)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	freq := make(map[string]float64, len(elems))
	for i, e := range elems {
		if i < len(freqs) {
			freq[e] = freqs[i]
		}
	}
	rows, err := tx.Query(ctx, `SELECT collection, versions FROM collection_stats WHERE collection = ANY($1::text[])`, planned(args{colls})...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	versions := map[string]float64{}
	for rows.Next() {
		var c string
		var v int64
		if err := rows.Scan(&c, &v); err != nil {
			return nil, err
		}
		versions[c] = float64(v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	walk := map[string]bool{}
	for _, c := range colls {
		size := versions[c]
		if size <= 0 {
			continue
		}
		share, rarest := 1.0, size
		for _, t := range collectionTerms(c, lexemes) {
			m := freq[t] * tuples
			share *= min(m/size, 1)
			rarest = min(rarest, m)
		}
		walk[c] = share > 0 && float64(n)/share <= rarest
	}
	return walk, nil
}
