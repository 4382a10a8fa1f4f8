package sqlite

import (
	"context"
	"fmt"

	"github.com/parley-exchange/parley/internal/store"
)

var _ store.OpinionIndex = (*Store)(nil)

// The opinion lookup reads object_refs out of the stored JSON with
// SQLite's JSON functions (the stored raw is canonical JSON text), so it
// needs no table of its own that Submit would have to fill; the index on
// (type, collection) keeps the scan to opinions.
func init() {
	registerMigrations(migration{300, "opinions by type", `
CREATE INDEX objects_type_collection ON objects(type, collection, object_id);
`})
}

// OpinionVersions implements [store.OpinionIndex].
func (s *Store) OpinionVersions(ctx context.Context, collections []string, object string) ([]store.Object, error) {
	if len(collections) == 0 || object == "" {
		return nil, nil
	}
	args := make([]any, 0, 2*len(collections)+1)
	for _, c := range collections {
		args = append(args, c)
	}
	args = append(args, object)
	for _, c := range collections {
		args = append(args, c)
	}
	in := placeholders(len(collections))
	// raw is a BLOB holding JSON text: CAST makes SQLite read it as text
	// rather than as its binary JSONB format.
	q := `SELECT ` + objectCols + ` FROM objects o WHERE type = 'opinion' AND collection IN (` + in + `)
AND object_id IN (
	SELECT DISTINCT r.object_id FROM objects r, json_each(CAST(r.raw AS TEXT), '$.object_refs') j
	WHERE j.value = ? AND r.type = 'opinion' AND r.collection IN (` + in + `)
) ORDER BY seq`
	// The argument order follows the placeholders: the outer IN, the
	// object, the inner IN.
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("couldn't query opinions: %w", err)
	}
	defer rows.Close()
	var out []store.Object
	for rows.Next() {
		o, err := scanObject(rows)
		if err != nil {
			return nil, fmt.Errorf("couldn't query opinions: %w", err)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("couldn't query opinions: %w", err)
	}
	return out, nil
}
