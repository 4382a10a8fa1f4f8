package sqlite

import (
	"context"
	"fmt"

	"github.com/parley-exchange/parley/internal/store"
)

var _ store.OpinionIndex = (*Store)(nil)

// Opinions are found through opinion_refs, one row per (referenced
// object, collection, opinion id), which a trigger fills in the very
// transaction that inserts an opinion version: Submit needs no change and
// the index can't lag behind the objects. The trigger reads object_refs
// out of the stored JSON (canonical JSON text) with SQLite's JSON
// functions; migration 301 also indexes the opinions stored before it.
// Migration 300 (an index on type) came first and stays, as applied
// migrations never change.
func init() {
	registerMigrations(migration{300, "opinions by type", `
CREATE INDEX objects_type_collection ON objects(type, collection, object_id);
`}, migration{301, "opinion_refs", `
CREATE TABLE opinion_refs (
	object_ref TEXT NOT NULL,
	collection TEXT NOT NULL,
	opinion_id TEXT NOT NULL,
	PRIMARY KEY (object_ref, collection, opinion_id)
) WITHOUT ROWID;
CREATE TRIGGER opinion_refs_insert AFTER INSERT ON objects
WHEN NEW.type = 'opinion' AND json_valid(CAST(NEW.raw AS TEXT))
BEGIN
	INSERT OR IGNORE INTO opinion_refs(object_ref, collection, opinion_id)
	SELECT j.value, NEW.collection, NEW.object_id
	FROM json_each(CAST(NEW.raw AS TEXT), '$.object_refs') j WHERE j.type = 'text';
END;
INSERT OR IGNORE INTO opinion_refs(object_ref, collection, opinion_id)
SELECT j.value, o.collection, o.object_id
FROM objects o, json_each(CAST(o.raw AS TEXT), '$.object_refs') j
WHERE o.type = 'opinion' AND json_valid(CAST(o.raw AS TEXT)) AND j.type = 'text';
`}, migration{302, "opinion_refs of arrays only", `
DROP TRIGGER opinion_refs_insert;
CREATE TRIGGER opinion_refs_insert AFTER INSERT ON objects
WHEN NEW.type = 'opinion' AND json_valid(CAST(NEW.raw AS TEXT)) AND json_type(CAST(NEW.raw AS TEXT), '$.object_refs') = 'array'
BEGIN
	INSERT OR IGNORE INTO opinion_refs(object_ref, collection, opinion_id)
	SELECT j.value, NEW.collection, NEW.object_id
	FROM json_each(CAST(NEW.raw AS TEXT), '$.object_refs') j WHERE j.type = 'text';
END;
DELETE FROM opinion_refs;
INSERT OR IGNORE INTO opinion_refs(object_ref, collection, opinion_id)
SELECT j.value, o.collection, o.object_id
FROM objects o, json_each(CAST(o.raw AS TEXT), '$.object_refs') j
WHERE o.type = 'opinion' AND json_valid(CAST(o.raw AS TEXT)) AND json_type(CAST(o.raw AS TEXT), '$.object_refs') = 'array' AND j.type = 'text';
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
	// rather than as its binary JSONB format. The argument order follows
	// the placeholders: the outer IN, the object, the inner IN.
	q := `SELECT ` + objectCols + ` FROM objects o WHERE type = 'opinion' AND collection IN (` + in + `)
AND object_id IN (SELECT opinion_id FROM opinion_refs WHERE object_ref = ? AND collection IN (` + in + `))
ORDER BY seq`
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
