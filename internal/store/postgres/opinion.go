package postgres

import (
	"context"
	"fmt"
	"math"

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
// left out are never read.
func (s *Store) OpinionVersions(ctx context.Context, collections []string, object string, perMember store.Bound) ([]store.Object, error) {
	if len(collections) == 0 || object == "" {
		return nil, nil
	}
	rows, bytes := int64(perMember.Rows), perMember.Bytes
	if rows <= 0 {
		rows = math.MaxInt64
	}
	if bytes <= 0 {
		bytes = math.MaxInt64
	}
	// rn is a version's place among its member's, newest first (among
	// equals, the greater opinion id first, as opinion.Compute prefers
	// it); before, the sizes of its member's newer versions.
	const win = `PARTITION BY v.member ORDER BY v.version DESC, v.object_id DESC, v.seq DESC`
	out, err := s.queryObjectList(ctx, `SELECT `+objectCols+` FROM objects o WHERE o.seq IN (
SELECT seq FROM (SELECT v.seq, octet_length(v.raw) AS size, row_number() OVER (`+win+`) AS rn,
	coalesce(sum(octet_length(v.raw)) OVER (`+win+` ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
	FROM objects v WHERE v.type = 'opinion' AND v.collection = ANY($1::text[])
	AND v.object_id IN (SELECT opinion_id FROM opinion_refs WHERE object_ref = $2 AND collection = ANY($1::text[]))) w
WHERE rn = 1 OR (rn <= $3 AND before + size <= $4))
ORDER BY o.seq`, collections, object, rows, bytes)
	if err != nil {
		return nil, fmt.Errorf("couldn't query opinions: %w", err)
	}
	return out, nil
}
