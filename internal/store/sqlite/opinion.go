package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"

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

// OpinionVersions implements [store.OpinionIndex]. The newest versions of
// each member within perMember are chosen by window functions over the
// versions' sizes (octet_length, read from the record header), so the
// versions left out are never read.
func (s *Store) OpinionVersions(ctx context.Context, collections []string, object string, perMember store.Bound) ([]store.Object, error) {
	if len(collections) == 0 || object == "" {
		return nil, nil
	}
	choice, args := opinionChoice(collections, object, perMember)
	out, err := s.queryObjects(ctx, `SELECT `+objectCols+` FROM objects o WHERE o.seq IN (SELECT seq FROM (`+choice+`)) ORDER BY o.seq`, args...)
	if err != nil {
		return nil, fmt.Errorf("couldn't query opinions: %w", err)
	}
	return out, nil
}

// OpinionSizes implements [store.OpinionIndex]: the choice of
// OpinionVersions, its sizes read from the record headers.
func (s *Store) OpinionSizes(ctx context.Context, collections []string, object string, perMember store.Bound) ([]int64, int64, error) {
	if len(collections) == 0 || object == "" {
		return nil, 0, nil
	}
	choice, args := opinionChoice(collections, object, perMember)
	rows, err := s.r.QueryContext(ctx, choice+` ORDER BY seq`, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("couldn't measure opinions: %w", err)
	}
	defer rows.Close()
	var seqs []int64
	var total int64
	for rows.Next() {
		var seq, size int64
		if err := rows.Scan(&seq, &size); err != nil {
			return nil, 0, fmt.Errorf("couldn't measure opinions: %w", err)
		}
		seqs = append(seqs, seq)
		total += size
	}
	if err := rows.Err(); err != nil {
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
	args := make([]any, 0, 2*len(collections)+3)
	args = append(args, strArgs(collections)...)
	args = append(args, object)
	args = append(args, strArgs(collections)...)
	args = append(args, rows, bytes)
	in := placeholders(len(collections))
	// raw is a BLOB holding JSON text: CAST makes SQLite read it as text
	// rather than as its binary JSONB format. The argument order follows
	// the placeholders: the outer IN, the object, the inner IN, the bound.
	// rn is a version's place among its member's, newest first (among
	// equals, the greater opinion id first, as opinion.Compute prefers
	// it); before, the sizes of its member's newer versions.
	const win = `PARTITION BY v.member ORDER BY v.version DESC, v.object_id DESC, v.seq DESC`
	return `SELECT seq, size FROM (SELECT v.seq, octet_length(v.raw) AS size, row_number() OVER (` + win + `) AS rn,
	coalesce(sum(octet_length(v.raw)) OVER (` + win + ` ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
	FROM objects v WHERE v.type = 'opinion' AND v.collection IN (` + in + `)
	AND v.object_id IN (SELECT opinion_id FROM opinion_refs WHERE object_ref = ? AND collection IN (` + in + `)))
WHERE rn = 1 OR (rn <= ? AND before + size <= ?)`, args
}

// LatestRevoked implements [store.OpinionIndex]: the latest version of
// each collection through objects_version (is_last), the flag read by
// SQLite's JSON functions from the stored text, so the JSON never leaves
// the store.
func (s *Store) LatestRevoked(ctx context.Context, collections []string, object string) (store.Object, bool, error) {
	if len(collections) == 0 || object == "" {
		return store.Object{}, false, fmt.Errorf("couldn't find %s: %w", object, store.ErrNotFound)
	}
	args := append([]any{object}, strArgs(collections)...)
	var o store.Object
	var version, added string
	var revoked int
	err := s.r.QueryRowContext(ctx, `SELECT seq, collection, object_id, type, spec_version, version, date_added, member, signed, log_index,
	CASE WHEN json_valid(CAST(raw AS TEXT)) AND json_type(CAST(raw AS TEXT), '$.revoked') = 'true' THEN 1 ELSE 0 END AS revoked
FROM objects o INDEXED BY objects_version WHERE o.object_id = ? AND o.collection IN (`+placeholders(len(collections))+`) AND o.is_last = 1
ORDER BY o.version DESC, revoked DESC, o.seq DESC LIMIT 1`, args...).Scan(
		&o.Seq, &o.Collection, &o.ID, &o.Type, &o.SpecVersion, &version, &added, &o.Member, &o.Signed, &o.LogIndex, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
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
	return o, revoked != 0, nil
}
