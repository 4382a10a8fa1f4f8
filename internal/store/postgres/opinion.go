package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/jackc/pgx/v5"

	"github.com/parley-exchange/parley/internal/store"
)

var _ store.OpinionIndex = (*Store)(nil)

// Opinions are found through opinion_refs, one row per (referenced
// object, collection, opinion id), which [Store.indexObjects] writes from
// each opinion version's object_refs in the transaction that inserts the
// version: the index can't lag behind the objects.
func init() {
	registerMigrations(migration{300, "opinion_refs", `
CREATE TABLE opinion_refs (
	object_ref TEXT NOT NULL,
	collection TEXT NOT NULL,
	opinion_id TEXT NOT NULL,
	PRIMARY KEY (object_ref, collection, opinion_id)
);
`})
}

// OpinionVersions implements [store.OpinionIndex]. The newest versions of
// each member within perMember are chosen by window functions over the
// versions' sizes (octet_length, which doesn't detoast), so the versions
// left out are never read. Sequential scans are off (see readIndexed):
// for an object that many opinions name, in this collection or others,
// the planner would read all of opinion_refs.
func (s *Store) OpinionVersions(ctx context.Context, collections []string, object string, perMember store.Bound) ([]store.Object, error) {
	if len(collections) == 0 || object == "" {
		return nil, nil
	}
	choice, a := opinionChoice(collections, object, perMember)
	var out []store.Object
	err := s.readIndexed(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = queryObjectList(ctx, tx, `SELECT `+objectCols+` `+bySeqs(`SELECT seq FROM (`+choice+`) AS ch`)+` ORDER BY o.seq`, a...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("couldn't query opinions: %w", err)
	}
	return out, nil
}

// OpinionSizes implements [store.OpinionIndex]: the choice of
// OpinionVersions, measured with octet_length, sequential scans off as
// there.
func (s *Store) OpinionSizes(ctx context.Context, collections []string, object string, perMember store.Bound) ([]int64, int64, error) {
	if len(collections) == 0 || object == "" {
		return nil, 0, nil
	}
	choice, a := opinionChoice(collections, object, perMember)
	var seqs []int64
	var total int64
	err := s.readIndexed(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, choice+` ORDER BY seq`, planned(a)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var seq, size int64
			if err := rows.Scan(&seq, &size); err != nil {
				return err
			}
			seqs = append(seqs, seq)
			total += size
		}
		return rows.Err()
	})
	if err != nil {
		return nil, 0, fmt.Errorf("couldn't measure opinions: %w", err)
	}
	return seqs, total, nil
}

// opinionChoice returns the query of the seq and size of each opinion
// version OpinionVersions returns, and its arguments.
func opinionChoice(collections []string, object string, perMember store.Bound) (string, []any) {
	rows, bytes := int64(perMember.Rows), perMember.Bytes
	if rows <= 0 {
		rows = math.MaxInt64
	}
	if bytes <= 0 {
		bytes = math.MaxInt64
	}
	// rn is a version's place among its member's, newest first (among
	// equals, the greater opinion id first, as opinion.Compute prefers
	// it); before, the sizes of its member's newer versions. The
	// versions are those, in every collection given, of the opinions that
	// name object in any of them: i, read from each collection's
	// opinion_refs, then each opinion's versions once, through
	// objects_id_version, those of the given collections kept. Reading
	// each (collection, opinion) instead, as before, probed
	// objects_id_version once per collection for the same rows (the
	// planner takes it over objects_version for an equality on both:
	// the estimates tie and it is the smaller index), N×M probes, and
	// through objects_version with the collections as an array of its
	// first column it is N×M descents (docs/benchmarks.md). What is read
	// beyond the given collections is the versions of those opinions
	// that other collections hold, as before (once now, not once per
	// collection given).
	const win = `PARTITION BY v.member ORDER BY v.version DESC, v.object_id DESC, v.seq DESC`
	return `SELECT seq, size FROM (SELECT v.seq, octet_length(v.raw)::bigint AS size, row_number() OVER (` + win + `) AS rn,
	coalesce(sum(octet_length(v.raw)) OVER (` + win + ` ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
	FROM (SELECT DISTINCT r.opinion_id FROM ` + eachCollection("$1", "c") + `
		CROSS JOIN LATERAL (SELECT opinion_id FROM opinion_refs WHERE object_ref = $2 AND collection = c.id OFFSET 0) AS r) AS i(id)
	CROSS JOIN LATERAL (SELECT seq, member, version, object_id, raw FROM objects
		WHERE object_id = i.id AND collection = ANY($1::text[]) AND type = 'opinion' OFFSET 0) AS v) w
WHERE rn = 1 OR (rn <= $3 AND before + size <= $4)`, []any{collections, object, rows, bytes}
}

// LatestRevoked implements [store.OpinionIndex]: the latest version of
// each collection through objects_version (is_last, as LatestObjects),
// the flag read by the server from the stored JSON, so the JSON never
// leaves the store. Only a version whose bytes name "revoked" is parsed;
// the node stores JSON only, but one that isn't would fail the query.
func (s *Store) LatestRevoked(ctx context.Context, collections []string, object string) (store.Object, bool, error) {
	if len(collections) == 0 || object == "" {
		return store.Object{}, false, fmt.Errorf("couldn't find %s: %w", object, store.ErrNotFound)
	}
	a := args{object, collections}
	var o store.Object
	var version, added string
	var revoked bool
	err := s.readIndexed(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT v.seq, v.collection, v.object_id, v.type, v.spec_version, v.version, v.date_added, v.member, v.signed, v.log_index, v.revoked
FROM `+eachCollection("$2", "c")+`
CROSS JOIN LATERAL (SELECT seq, collection, object_id, type, spec_version, version, date_added, member, signed, log_index,
	CASE WHEN position(convert_to('"revoked"', 'UTF8') IN raw) > 0 THEN coalesce(convert_from(raw, 'UTF8')::jsonb -> 'revoked' = 'true'::jsonb, false) ELSE false END AS revoked
	FROM objects WHERE `+isObject("c.id", "$1")+` AND is_last
	ORDER BY collection DESC, object_id DESC, version DESC LIMIT 1) AS v
ORDER BY v.version DESC, v.revoked DESC, v.seq DESC LIMIT 1`, planned(a)...).Scan(
			&o.Seq, &o.Collection, &o.ID, &o.Type, &o.SpecVersion, &version, &added, &o.Member, &o.Signed, &o.LogIndex, &revoked)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Object{}, false, fmt.Errorf("couldn't find %s: %w", object, store.ErrNotFound)
	}
	if err == nil {
		if o.Version, err = parseTime(version); err == nil {
			o.DateAdded, err = parseTime(added)
		}
	}
	if err != nil {
		return store.Object{}, false, fmt.Errorf("couldn't read the latest version of %s: %w", object, err)
	}
	return o, revoked, nil
}
