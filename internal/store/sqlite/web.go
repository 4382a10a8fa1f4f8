package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/parley-exchange/parley/internal/store"
)

// uiTextBody is the SQL expression of an object's words in ui_text, over
// %[1]s, its raw JSON (a column or a parameter).
const uiTextBody = `concat_ws(' ',
	json_extract(CAST(%[1]s AS TEXT), '$.name'),
	json_extract(CAST(%[1]s AS TEXT), '$.description'),
	json_extract(CAST(%[1]s AS TEXT), '$.pattern'),
	json_extract(CAST(%[1]s AS TEXT), '$.value'),
	json_extract(CAST(%[1]s AS TEXT), '$.hashes'),
	json_extract(CAST(%[1]s AS TEXT), '$.aliases'),
	json_extract(CAST(%[1]s AS TEXT), '$.labels'),
	json_extract(CAST(%[1]s AS TEXT), '$.opinion'),
	json_extract(CAST(%[1]s AS TEXT), '$.explanation'))`

// uiTextTable is the name, quoted, of the full-text table of a
// collection's object versions: ui_text_ and the collection id in hex.
//
// Each collection has its own (since migration 314): a search then reads
// the postings of the collections the member may read and no others, so
// neither its results nor its time depend on what other collections
// hold. With one table for all, a word common in a collection the member
// may not read made its searches measurably slower, which told it that
// the word was there.
func uiTextTable(collection string) string {
	return `"ui_text_` + hex.EncodeToString([]byte(collection)) + `"`
}

// insertUIText is the statement that indexes one object version's words
// in its collection's full-text table (?1 its seq, ?2 its raw JSON): the
// row the trigger of migration 310 inserted into the single ui_text.
// Submit runs it for every object version it inserts whose raw JSON is
// valid, in the same transaction, after the group's other writes (see
// submitStmts.indexText). From the trigger it ran within each objects
// INSERT, whose statement journal made FTS5 write a segment to disk for
// every object and then merge them.
func insertUIText(collection string) string {
	return `INSERT INTO ` + uiTextTable(collection) + `(rowid, body) VALUES (?1, ` + fmt.Sprintf(uiTextBody, "?2") + `)`
}

// createUIText makes collection's full-text table, with the trigger that
// keeps it in step when rows are deleted behind the node's back, and
// indexes the collection's object versions stored so far (in tx, so those
// tx inserted too), and reports whether it made it. A collection that has
// its table is left as it is.
func createUIText(ctx context.Context, tx *sql.Tx, collection string) (bool, error) {
	t := uiTextTable(collection)
	trigger := `"ui_text_delete_` + hex.EncodeToString([]byte(collection)) + `"`
	lit := `CAST(x'` + hex.EncodeToString([]byte(collection)) + `' AS TEXT)`
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?`, strings.Trim(t, `"`)).Scan(&one)
	if err == nil {
		return false, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return false, err
	}
	_, err = tx.ExecContext(ctx, `CREATE VIRTUAL TABLE `+t+` USING fts5(body, tokenize = 'unicode61');
-- Objects are never deleted, but an operator may delete rows behind the
-- node's back (the fork tests do), and SQLite then reuses the seq.
CREATE TRIGGER `+trigger+` AFTER DELETE ON objects WHEN OLD.collection = `+lit+` BEGIN
	DELETE FROM `+t+` WHERE rowid = OLD.seq;
END;
INSERT INTO `+t+`(rowid, body) SELECT o.seq, `+fmt.Sprintf(uiTextBody, "o.raw")+` FROM objects o
WHERE o.collection = `+lit+` AND json_valid(CAST(o.raw AS TEXT));`)
	return err == nil, err
}

// hasUIText reports whether collection has its full-text table: every
// collection has one while s.uiText (see ensureUIText; Submit makes one
// it finds missing), so false means that the collection doesn't exist.
// Tables are never dropped, so those found are remembered: sqlite_schema
// has no index, and holds about seven rows a collection.
func (s *Store) hasUIText(ctx context.Context, collection string) (bool, error) {
	if _, ok := s.textTables.Load(collection); ok {
		return true, nil
	}
	var one int
	err := s.r.QueryRowContext(ctx, `SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?`, strings.Trim(uiTextTable(collection), `"`)).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	s.textTables.Store(collection, true)
	return true, nil
}

// ensureUIText gives every collection its full-text table (see
// uiTextTable), indexing what it holds: after migration 314, and for a
// collection added while the database was open with a driver without
// FTS5 (the cgo driver of tests and benchmarks). Objects stored into an
// existing table's collection by such a driver are not indexed: the node
// never uses one.
func (s *Store) ensureUIText(ctx context.Context) error {
	return s.Write(ctx, func(tx *sql.Tx) error {
		ids, err := collectionIDs(ctx, tx)
		if err != nil {
			return err
		}
		for _, id := range ids {
			created, err := createUIText(ctx, tx, id)
			if err == nil && !created {
				err = repairUIText(ctx, tx, id)
			}
			if err != nil {
				return fmt.Errorf("collection %q: %w", id, err)
			}
		}
		return nil
	})
}

// repairUIText indexes the object versions of collection that its
// full-text table lacks. A build from before migration 313 (whose
// trigger filled the single ui_text, which 314 dropped) that opens an
// upgraded database stores objects without indexing their words, and
// they were never found again by a search. A count of each first: when
// the table has a row for every object version with valid JSON, nothing
// else is read.
func repairUIText(ctx context.Context, tx *sql.Tx, collection string) error {
	t := uiTextTable(collection)
	var objects, texts int64
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM objects WHERE collection = ? AND json_valid(CAST(raw AS TEXT))`, collection).Scan(&objects); err != nil {
		return err
	}
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM `+t).Scan(&texts); err != nil {
		return err
	}
	if texts >= objects {
		return nil
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO `+t+`(rowid, body) SELECT o.seq, `+fmt.Sprintf(uiTextBody, "o.raw")+` FROM objects o
WHERE o.collection = ? AND json_valid(CAST(o.raw AS TEXT)) AND o.seq NOT IN (SELECT rowid FROM `+t+`)`, collection)
	return err
}

// The web UI's indexes (migration range 300–399), filled in the
// transaction that inserts an object version (by triggers, and ui_text by
// Submit since migration 313), so that the indexes can't lag behind the
// objects:
//
//   - ui_text (one per collection since migration 314: see
//     uiTextTable), an FTS5 table whose rowid is the object's seq,
//     holding the words of its name, description, pattern, value,
//     hashes, aliases, labels, opinion and explanation;
//   - ui_refs (ui_collection_refs since migration 315), (collection,
//     referenced id, seq) for the source_ref and target_ref of
//     relationships and the sighting_of_ref of sightings, so an object
//     page finds its relationships and sightings with one lookup per
//     collection;
//   - ui_pdq (ui_collection_pdq since migration 316, with the
//     collection and an index (collection, seq)), the PDQ hashes of file objects (hashes.PDQ), of PDQ
//     indicators (pattern_type "pdq", the pattern is the hash: package
//     pdq's sharing format) and of STIX patterns comparing
//     file:hashes.PDQ (the first such comparison), for lookups within a
//     Hamming radius.
//
// Each migration also indexes the rows stored before it.
//
// Migration 313 drops the trigger that filled ui_text: Submit inserts the
// same rows itself (see insertUIText).
//
// Migrations 314–316 make every index the UI searches keyed by collection
// first, so that a query reads the entries of the collections the member
// may read and no others: what it costs, and so how long it takes, does
// not depend on what other collections hold. 314 replaces ui_text by one
// full-text table per collection (see uiTextTable; made by ensureUIText
// at Open and by AddCollection); 315 replaces ui_refs by
// ui_collection_refs, keyed by collection first; 316 replaces ui_pdq by
// ui_collection_pdq, with the collection and an index (collection, seq).
// They make new tables rather than alter the old ones: ALTER TABLE
// re-checks every trigger of the schema, and a database made with FTS5
// then opened by a driver without it (see needsModule) would fail on
// migration 310's trigger on ui_text.
func init() {
	const pdq = `coalesce(json_extract(CAST(%[1]s AS TEXT), '$.hashes.PDQ'),
	CASE WHEN json_extract(CAST(%[1]s AS TEXT), '$.pattern_type') = 'pdq' THEN json_extract(CAST(%[1]s AS TEXT), '$.pattern') END,
	CASE WHEN instr(json_extract(CAST(%[1]s AS TEXT), '$.pattern'), 'hashes.PDQ = ''') > 0
	THEN substr(json_extract(CAST(%[1]s AS TEXT), '$.pattern'), instr(json_extract(CAST(%[1]s AS TEXT), '$.pattern'), 'hashes.PDQ = ''') + 14, 64) END)`
	const text = uiTextBody
	valid := `json_valid(CAST(%[1]s AS TEXT))`
	f := func(s, row string) string { return fmt.Sprintf(s, row+".raw") }
	registerMigrations(migration{310, "ui full-text index", `
CREATE VIRTUAL TABLE ui_text USING fts5(body, tokenize = 'unicode61');
CREATE TRIGGER ui_text_insert AFTER INSERT ON objects WHEN ` + f(valid, "NEW") + ` BEGIN
	INSERT INTO ui_text(rowid, body) VALUES (NEW.seq, ` + f(text, "NEW") + `);
END;
-- Objects are never deleted, but an operator may delete rows behind the
-- node's back (the fork tests do), and SQLite then reuses the seq.
CREATE TRIGGER ui_text_delete AFTER DELETE ON objects BEGIN
	DELETE FROM ui_text WHERE rowid = OLD.seq;
END;
INSERT INTO ui_text(rowid, body) SELECT o.seq, ` + f(text, "o") + ` FROM objects o WHERE ` + f(valid, "o") + `;
`}, migration{311, "ui references", `
CREATE TABLE ui_refs (
	ref TEXT NOT NULL,
	seq INTEGER NOT NULL,
	PRIMARY KEY (ref, seq)
) WITHOUT ROWID;
CREATE TRIGGER ui_refs_insert AFTER INSERT ON objects
WHEN NEW.type IN ('relationship', 'sighting') AND ` + f(valid, "NEW") + ` BEGIN
	INSERT OR IGNORE INTO ui_refs(ref, seq) SELECT j.value, NEW.seq
	FROM json_each(CAST(NEW.raw AS TEXT)) j
	WHERE j.key IN ('source_ref', 'target_ref', 'sighting_of_ref') AND j.type = 'text';
END;
CREATE TRIGGER ui_refs_delete AFTER DELETE ON objects BEGIN
	DELETE FROM ui_refs WHERE seq = OLD.seq;
END;
INSERT OR IGNORE INTO ui_refs(ref, seq) SELECT j.value, o.seq
FROM objects o, json_each(CAST(o.raw AS TEXT)) j
WHERE o.type IN ('relationship', 'sighting') AND ` + f(valid, "o") + `
AND j.key IN ('source_ref', 'target_ref', 'sighting_of_ref') AND j.type = 'text';
`}, migration{312, "ui pdq hashes", `
CREATE TABLE ui_pdq (
	seq  INTEGER PRIMARY KEY,
	hash TEXT NOT NULL
);
CREATE TRIGGER ui_pdq_insert AFTER INSERT ON objects
WHEN NEW.type IN ('file', 'indicator') AND ` + f(valid, "NEW") + ` AND ` + f(pdq, "NEW") + ` IS NOT NULL BEGIN
	INSERT OR IGNORE INTO ui_pdq(seq, hash) VALUES (NEW.seq, ` + f(pdq, "NEW") + `);
END;
CREATE TRIGGER ui_pdq_delete AFTER DELETE ON objects BEGIN
	DELETE FROM ui_pdq WHERE seq = OLD.seq;
END;
INSERT OR IGNORE INTO ui_pdq(seq, hash) SELECT o.seq, ` + f(pdq, "o") + ` FROM objects o
WHERE o.type IN ('file', 'indicator') AND ` + f(valid, "o") + ` AND ` + f(pdq, "o") + ` IS NOT NULL;
`}, migration{313, "ui text indexed by Submit", `
DROP TRIGGER ui_text_insert;
`}, migration{314, "ui text per collection", `
DROP TRIGGER ui_text_delete;
DROP TABLE ui_text;
`}, migration{315, "ui references by collection", `
DROP TRIGGER ui_refs_insert;
DROP TRIGGER ui_refs_delete;
CREATE TABLE ui_collection_refs (
	collection TEXT NOT NULL,
	ref        TEXT NOT NULL,
	seq        INTEGER NOT NULL,
	PRIMARY KEY (collection, ref, seq)
) WITHOUT ROWID;
CREATE INDEX ui_collection_refs_seq ON ui_collection_refs(seq);
INSERT INTO ui_collection_refs(collection, ref, seq) SELECT o.collection, r.ref, r.seq FROM ui_refs r JOIN objects o ON o.seq = r.seq;
DROP TABLE ui_refs;
CREATE TRIGGER ui_collection_refs_insert AFTER INSERT ON objects
WHEN NEW.type IN ('relationship', 'sighting') AND ` + f(valid, "NEW") + ` BEGIN
	INSERT OR IGNORE INTO ui_collection_refs(collection, ref, seq) SELECT NEW.collection, j.value, NEW.seq
	FROM json_each(CAST(NEW.raw AS TEXT)) j
	WHERE j.key IN ('source_ref', 'target_ref', 'sighting_of_ref') AND j.type = 'text';
END;
CREATE TRIGGER ui_collection_refs_delete AFTER DELETE ON objects WHEN OLD.type IN ('relationship', 'sighting') BEGIN
	DELETE FROM ui_collection_refs WHERE seq = OLD.seq;
END;
`}, migration{316, "ui pdq hashes by collection", `
DROP TRIGGER ui_pdq_insert;
DROP TRIGGER ui_pdq_delete;
CREATE TABLE ui_collection_pdq (
	seq        INTEGER PRIMARY KEY,
	collection TEXT NOT NULL,
	hash       TEXT NOT NULL
);
CREATE INDEX ui_collection_pdq_collection ON ui_collection_pdq(collection, seq);
INSERT INTO ui_collection_pdq(seq, collection, hash) SELECT p.seq, o.collection, p.hash FROM ui_pdq p JOIN objects o ON o.seq = p.seq;
DROP TABLE ui_pdq;
CREATE TRIGGER ui_collection_pdq_insert AFTER INSERT ON objects
WHEN NEW.type IN ('file', 'indicator') AND ` + f(valid, "NEW") + ` AND ` + f(pdq, "NEW") + ` IS NOT NULL BEGIN
	INSERT OR IGNORE INTO ui_collection_pdq(seq, collection, hash) VALUES (NEW.seq, NEW.collection, ` + f(pdq, "NEW") + `);
END;
CREATE TRIGGER ui_collection_pdq_delete AFTER DELETE ON objects BEGIN
	DELETE FROM ui_collection_pdq WHERE seq = OLD.seq;
END;
`})
}

// needsModule names, by migration version, the SQLite module a
// migration needs. A migration whose module the driver lacks is skipped
// and not recorded, so it applies when a driver that has the module next
// opens the database; until then the features it serves fail (the UI's
// full-text search fails with errNoFTS). Only the cgo driver, linked
// into tests and benchmarks, lacks FTS5 (mattn/go-sqlite3 builds it only
// with its sqlite_fts5 tag); the node's pure-Go driver has it.
//
// Migration 313 drops the trigger migration 310 made (Submit then indexes
// the words itself), so it waits for 310: it needs the same module.
//
// Migration 314 replaces ui_text by one table per collection, so it waits
// for 310 and 313 too.
var needsModule = map[int]string{310: "fts5", 313: "fts5", 314: "fts5"}

// hasModule reports whether the writer connection's SQLite has the
// virtual-table module mod, by making and dropping a temporary table.
func (s *Store) hasModule(ctx context.Context, mod string) bool {
	if _, err := s.w.ExecContext(ctx, `CREATE VIRTUAL TABLE temp.parley_module_probe USING `+mod+`(x)`); err != nil {
		return false
	}
	s.w.ExecContext(ctx, `DROP TABLE temp.parley_module_probe`)
	return true
}

// MaxBrowseLimit is the largest page [Store.BrowseObjects] returns.
const MaxBrowseLimit = store.MaxBrowseLimit

// FTSQuery turns what an analyst typed into an FTS5 query: each
// white-space separated term becomes a quoted phrase (FTS5 splits it into
// words the way it split the indexed text), and all must match. It
// returns "" when the input holds no letter or digit, as FTS5 rejects an
// empty phrase list.
func FTSQuery(s string) string {
	// Control characters (a NUL ends SQLite's parse of the query) and
	// invalid UTF-8 separate terms; they are never part of a word.
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, " "))
	var terms []string
	for _, t := range strings.Fields(s) {
		if !strings.ContainsFunc(t, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) {
			continue
		}
		terms = append(terms, `"`+strings.ReplaceAll(t, `"`, `""`)+`"`)
	}
	return strings.Join(terms, " ")
}

// browsePositions returns b with its date_added cursor (AddedAfter or
// AddedBefore) made a Seq cursor: since date_added grows strictly with
// seq, the collection's first addition after AddedAfter (at or after
// AddedBefore) bounds the page as the position does, one entry of
// objects_collection_date_added, which holds the collection's additions
// only. A position past the collection's last addition is a cursor past
// every seq.
func (s *Store) browsePositions(ctx context.Context, b store.Browse) (store.Browse, error) {
	n := 0
	for _, set := range []bool{b.After != 0, b.Before != 0, !b.AddedAfter.IsZero(), !b.AddedBefore.IsZero()} {
		if set {
			n++
		}
	}
	if n > 1 {
		return b, fmt.Errorf("couldn't browse objects: more than one cursor: %w", store.ErrInvalid)
	}
	at, op := b.AddedAfter, ">"
	if !b.AddedBefore.IsZero() {
		at, op = b.AddedBefore, ">="
	}
	if at.IsZero() {
		return b, nil
	}
	var seq int64
	err := s.r.QueryRowContext(ctx, `SELECT seq FROM objects WHERE collection = ? AND date_added `+op+` ? ORDER BY date_added LIMIT 1`, b.Collection, fmtTime(at)).Scan(&seq)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		seq = math.MaxInt64
	case err != nil:
		return b, fmt.Errorf("couldn't browse objects: %w", err)
	}
	if b.AddedAfter.IsZero() {
		b.Before = seq
	} else {
		b.After = seq - 1
		if seq == math.MaxInt64 {
			b.After = seq
		}
	}
	b.AddedAfter, b.AddedBefore = time.Time{}, time.Time{}
	return b, nil
}

// BrowseObjects returns one page of b: latest versions only, in seq
// order, keyset-paged (see [store.Browse]). An unknown collection is an
// empty page; b.Limit outside 1..[MaxBrowseLimit] is ErrInvalid.
func (s *Store) BrowseObjects(ctx context.Context, b store.Browse) (store.BrowsePage, error) {
	if b.Limit < 1 || b.Limit > MaxBrowseLimit || (b.After > 0 && b.Before > 0) {
		return store.BrowsePage{}, fmt.Errorf("couldn't browse objects: limit %d, after %d, before %d: %w", b.Limit, b.After, b.Before, store.ErrInvalid)
	}
	b, err := s.browsePositions(ctx, b)
	if err != nil {
		return store.BrowsePage{}, err
	}
	fts := ""
	if strings.TrimSpace(b.Text) != "" {
		if fts = FTSQuery(b.Text); fts == "" {
			return store.BrowsePage{}, nil
		}
		if !s.uiText {
			return store.BrowsePage{}, errNoFTS
		}
		if ok, err := s.hasUIText(ctx, b.Collection); err != nil || !ok {
			return store.BrowsePage{}, err // an unknown collection
		}
	}
	where, args := browseFilter(b, fts)
	var p store.BrowsePage
	desc := b.Before > 0
	// With a text query the full-text index drives the loop, in rowid
	// (= seq) order from the cursor, so a page stops after its Limit
	// matches instead of first collecting every match of a common word.
	// INDEXED BY: the (collection, seq) index serves a page with one
	// range scan; without it the planner may walk the whole table in
	// seq order, through every other collection's rows.
	from := `objects o INDEXED BY objects_collection_seq`
	if fts != "" {
		from = uiTextTable(b.Collection) + ` t JOIN objects o ON o.seq = t.rowid`
	}
	q := `FROM ` + from + ` WHERE ` + where
	pargs := append([]any(nil), args...)
	order := "o.seq"
	if desc {
		q += ` AND o.seq < ?`
		pargs, order = append(pargs, b.Before), "o.seq DESC"
	} else {
		q += ` AND o.seq > ?`
		pargs = append(pargs, b.After)
	}
	objs, more, err := s.queryBounded(ctx, store.Bound{Rows: b.Limit, Bytes: b.MaxBytes}, q, order, pargs...)
	if err != nil {
		return p, fmt.Errorf("couldn't browse objects: %w", err)
	}
	if desc {
		for i, j := 0, len(objs)-1; i < j; i, j = i+1, j-1 {
			objs[i], objs[j] = objs[j], objs[i]
		}
		p.HasPrev = more
		p.HasNext = true // the cursor itself came from a later object
	} else {
		p.HasNext = more
		if b.After > 0 {
			// One probe for an earlier match, through the same index.
			var one int
			err := s.r.QueryRowContext(ctx, `SELECT 1 FROM `+from+` WHERE `+where+` AND o.seq <= ? ORDER BY o.seq DESC LIMIT 1`, append(args, b.After)...).Scan(&one)
			if err != nil && err != sql.ErrNoRows {
				return p, fmt.Errorf("couldn't browse objects: %w", err)
			}
			p.HasPrev = err == nil
		}
	}
	p.Objects = objs
	return p, nil
}

func browseFilter(b store.Browse, fts string) (string, []any) {
	var w strings.Builder
	args := []any{b.Collection}
	w.WriteString(`o.collection = ? AND o.is_last = 1`)
	args = andIn(&w, args, "o.type", b.Types)
	args = andIn(&w, args, "o.member", b.Creators)
	if !b.From.IsZero() {
		w.WriteString(` AND o.date_added >= ?`)
		args = append(args, fmtTime(b.From))
	}
	if !b.To.IsZero() {
		w.WriteString(` AND o.date_added < ?`)
		args = append(args, fmtTime(b.To))
	}
	if len(b.Markings) > 0 {
		fmt.Fprintf(&w, ` AND EXISTS (SELECT 1 FROM json_each(CAST(o.raw AS TEXT), '$.object_marking_refs') j WHERE j.value IN (%s))`, placeholders(len(b.Markings)))
		for _, m := range b.Markings {
			args = append(args, m)
		}
	}
	if fts != "" {
		// The full-text table's hidden column has the table's name.
		w.WriteString(` AND ` + uiTextTable(b.Collection) + ` MATCH ?`)
		args = append(args, fts)
	}
	return w.String(), args
}

// errNoFTS is the error of a full-text search on a SQLite without FTS5
// (see needsModule).
var errNoFTS = errors.New("no full-text index: this SQLite has no FTS5 module")

// queryBounded returns the objects o of from, the rest of a query after
// its SELECT list ("FROM objects o WHERE ..."; args are its arguments), in
// the order order ("o.seq", "o.version DESC, o.seq DESC"), within b, and
// whether it stopped at b with objects left. It reads in two steps: the
// sizes of the rows (SQLite takes octet_length from the record header,
// without reading the value), in order, up to the bound; then the
// objects taken, and only those. So a query holds at most max(b.Bytes, one
// object) of raw JSON, and no row past the bound is read. The two steps
// may see different commits; the second reads the versions the first
// chose, by seq, so a version stored in between is not among them.
func (s *Store) queryBounded(ctx context.Context, b store.Bound, from, order string, args ...any) ([]store.Object, bool, error) {
	limit := -1
	if b.Rows > 0 {
		limit = b.Rows + 1
	}
	rows, err := s.r.QueryContext(ctx, `SELECT o.seq, octet_length(o.raw) `+from+` ORDER BY `+order+` LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, false, err
	}
	var seqs []any
	var total int64
	more := false
	for rows.Next() {
		var seq, size int64
		if err := rows.Scan(&seq, &size); err != nil {
			rows.Close()
			return nil, false, err
		}
		if !b.Takes(len(seqs), total, size) {
			more = true
			break
		}
		total += size
		seqs = append(seqs, seq)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	out, err := s.objectsBySeq(ctx, seqs)
	return out, more, err
}

// objectsBySeq reads the object versions whose seqs are seqs (int64s),
// in that order.
func (s *Store) objectsBySeq(ctx context.Context, seqs []any) ([]store.Object, error) {
	if len(seqs) == 0 {
		return nil, nil
	}
	objs, err := s.queryObjects(ctx, `SELECT `+objectCols+` FROM objects o WHERE o.seq IN (`+placeholders(len(seqs))+`)`, seqs...)
	if err != nil {
		return nil, err
	}
	if len(objs) != len(seqs) {
		// Objects are never deleted (but an operator may delete rows
		// behind the node's back, as the fork tests do).
		return nil, fmt.Errorf("%d of %d objects vanished while being read", len(seqs)-len(objs), len(seqs))
	}
	place := make(map[int64]int, len(seqs))
	for i, q := range seqs {
		place[q.(int64)] = i
	}
	out := make([]store.Object, len(seqs))
	for _, o := range objs {
		out[place[o.Seq]] = o
	}
	return out, nil
}

// queryBoundedEach is [Store.queryBounded] over the union of one query
// per collection: from(c) is the rest of collection c's query after its
// SELECT list, with its arguments, and each reads in seq order (desc:
// newest first) through an index keyed by collection first, so that the
// union reads the rows of the given collections and no others (one
// query over all of them could walk every collection's rows, as the
// planner chooses). Each query reads the sizes of at most b's worth of
// its rows and one more; the lists are merged in seq order and cut at b;
// then only the objects taken are read.
func (s *Store) queryBoundedEach(ctx context.Context, b store.Bound, collections []string, desc bool, from func(c string) (string, []any)) ([]store.Object, bool, error) {
	return s.queryBoundedEachBy(ctx, b, collections, desc, "o.seq", from)
}

// queryBoundedEachBy is [Store.queryBoundedEach] with each collection's
// query ordered by seqCol, a column equal to o.seq that may give the
// order without a sort (a full-text table's rowid).
func (s *Store) queryBoundedEachBy(ctx context.Context, b store.Bound, collections []string, desc bool, seqCol string, from func(c string) (string, []any)) ([]store.Object, bool, error) {
	type sized struct{ seq, size int64 }
	var all []sized
	order, limit := seqCol, -1
	if desc {
		order += " DESC"
	}
	if b.Rows > 0 {
		limit = b.Rows + 1
	}
	for _, c := range slices.Compact(slices.Sorted(slices.Values(collections))) {
		q, args := from(c)
		if q == "" {
			continue
		}
		err := func() error {
			rows, err := s.r.QueryContext(ctx, `SELECT o.seq, octet_length(o.raw) `+q+` ORDER BY `+order+` LIMIT ?`, append(args, limit)...)
			if err != nil {
				return err
			}
			defer rows.Close()
			var n int
			var total int64
			for rows.Next() {
				var r sized
				if err := rows.Scan(&r.seq, &r.size); err != nil {
					return err
				}
				all = append(all, r)
				// Past the collection's own bound, the merge can't
				// take a row of it either; the first such row tells
				// it that rows were left out.
				if !b.Takes(n, total, r.size) {
					break
				}
				n, total = n+1, total+r.size
			}
			return rows.Err()
		}()
		if err != nil {
			return nil, false, err
		}
	}
	slices.SortFunc(all, func(x, y sized) int {
		if desc {
			return cmp.Compare(y.seq, x.seq)
		}
		return cmp.Compare(x.seq, y.seq)
	})
	var seqs []any
	var total int64
	more := false
	for _, r := range all {
		if !b.Takes(len(seqs), total, r.size) {
			more = true
			break
		}
		total += r.size
		seqs = append(seqs, r.seq)
	}
	out, err := s.objectsBySeq(ctx, seqs)
	return out, more, err
}

func strArgs(vals []string) []any {
	out := make([]any, len(vals))
	for i, v := range vals {
		out[i] = v
	}
	return out
}

// CollectionStats returns the counts and latest addition of each of the
// given collections that holds objects, in one query: their rows of
// collection_stats (stats.go), which triggers maintain.
func (s *Store) CollectionStats(ctx context.Context, collections []string) ([]store.CollectionStats, error) {
	if len(collections) == 0 {
		return nil, nil
	}
	rows, err := s.r.QueryContext(ctx, `SELECT collection, objects, versions, last_added FROM collection_stats
WHERE collection IN (`+placeholders(len(collections))+`) AND versions > 0 ORDER BY collection`, strArgs(collections)...)
	if err != nil {
		return nil, fmt.Errorf("couldn't count objects: %w", err)
	}
	defer rows.Close()
	var out []store.CollectionStats
	for rows.Next() {
		var c store.CollectionStats
		var last string
		if err := rows.Scan(&c.Collection, &c.Objects, &c.Versions, &last); err != nil {
			return nil, fmt.Errorf("couldn't count objects: %w", err)
		}
		if c.LastAdded, err = parseTime(last); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// RecentObjects returns the most recently added object versions in the
// given collections, newest first, within b (b.Rows must be set).
func (s *Store) RecentObjects(ctx context.Context, collections []string, b store.Bound) ([]store.Object, error) {
	if len(collections) == 0 || b.Rows < 1 {
		return nil, nil
	}
	out, _, err := s.queryBoundedEach(ctx, b, collections, true, func(c string) (string, []any) {
		return `FROM objects o INDEXED BY objects_collection_seq WHERE o.collection = ?`, []any{c}
	})
	if err != nil {
		return nil, fmt.Errorf("couldn't read recent objects: %w", err)
	}
	return out, nil
}

// ObjectVersions returns the newest stored versions of the object id in
// the given collections that fit b, oldest version first, and whether
// older versions were left out.
func (s *Store) ObjectVersions(ctx context.Context, collections []string, id string, b store.Bound) ([]store.Object, bool, error) {
	if len(collections) == 0 {
		return nil, false, nil
	}
	// INDEXED BY: one lookup per collection; objects_id_version would
	// also read the versions in other collections.
	out, more, err := s.queryBounded(ctx, b, `FROM objects o INDEXED BY objects_version WHERE o.object_id = ? AND o.collection IN (`+placeholders(len(collections))+`)`,
		"o.version DESC, o.seq DESC", append([]any{id}, strArgs(collections)...)...)
	if err != nil {
		return nil, false, fmt.Errorf("couldn't read the versions of %s: %w", id, err)
	}
	slices.Reverse(out)
	return out, more, nil
}

// LatestObjects returns the latest version of each of ids found in the
// given collections (one row per collection holding it), in seq order,
// within b, and whether some were left out.
func (s *Store) LatestObjects(ctx context.Context, collections, ids []string, b store.Bound) ([]store.Object, bool, error) {
	if len(collections) == 0 || len(ids) == 0 {
		return nil, false, nil
	}
	args := append(strArgs(ids), strArgs(collections)...)
	out, more, err := s.queryBounded(ctx, b, `FROM objects o INDEXED BY objects_version WHERE o.object_id IN (`+placeholders(len(ids))+`)
AND o.collection IN (`+placeholders(len(collections))+`) AND o.is_last = 1`, "o.seq", args...)
	if err != nil {
		return nil, false, fmt.Errorf("couldn't read objects: %w", err)
	}
	return out, more, nil
}

// Referencing returns the latest versions of the relationships and
// sightings in the given collections that name id as source_ref,
// target_ref or sighting_of_ref, in seq order, within b, and whether
// some were left out.
func (s *Store) Referencing(ctx context.Context, collections []string, id string, b store.Bound) ([]store.Object, bool, error) {
	if len(collections) == 0 {
		return nil, false, nil
	}
	args := append(strArgs(collections), id)
	out, more, err := s.queryBounded(ctx, b, `FROM objects o WHERE o.seq IN (SELECT seq FROM ui_collection_refs WHERE collection IN (`+placeholders(len(collections))+`) AND ref = ?)
AND o.is_last = 1`, "o.seq", args...)
	if err != nil {
		return nil, false, fmt.Errorf("couldn't read the references to %s: %w", id, err)
	}
	return out, more, nil
}

// TextObjects returns the latest versions, in the given collections, of
// the objects whose indexed text matches every term of text (see
// [FTSQuery]), in seq order, within b, and whether some were left out.
// Callers that want an exact value check the candidates themselves.
func (s *Store) TextObjects(ctx context.Context, collections []string, text string, b store.Bound) ([]store.Object, bool, error) {
	fts := FTSQuery(text)
	if len(collections) == 0 || fts == "" {
		return nil, false, nil
	}
	if !s.uiText {
		return nil, false, fmt.Errorf("couldn't search: %w", errNoFTS)
	}
	var known []string
	for _, c := range collections {
		ok, err := s.hasUIText(ctx, c)
		if err != nil {
			return nil, false, fmt.Errorf("couldn't search: %w", err)
		}
		if ok {
			known = append(known, c)
		}
	}
	out, more, err := s.queryBoundedEachBy(ctx, b, known, false, textSeq, func(c string) (string, []any) {
		return textFrom(c), []any{fts, c}
	})
	if err != nil {
		return nil, false, fmt.Errorf("couldn't search: %w", err)
	}
	return out, more, nil
}

// textSeq is what TextObjects orders each collection's matches by: FTS5
// gives its matches in rowid order (a collection's table's rowid is the
// seq) and the query stops at the bound; ordered by o.seq, SQLite read
// every match of the collection, with its object, into a sort
// (TestTextObjectsPlan).
const textSeq = "t.rowid"

// textFrom is TextObjects' query of collection c's matches after its
// SELECT list; its arguments are the FTS5 query and c.
func textFrom(c string) string {
	t := uiTextTable(c)
	// o.collection: the table's rows are c's, but a seq reused after
	// rows were deleted behind the node's back must not bring another
	// collection's object.
	return `FROM ` + t + ` t JOIN objects o ON o.seq = t.rowid WHERE ` + t + ` MATCH ? AND o.collection = ? AND o.is_last = 1`
}

// PDQHashes returns the PDQ hashes of the latest versions, in the given
// collections, of the objects that carry one, at most limit, newest
// first, and whether some (the oldest) were left out.
func (s *Store) PDQHashes(ctx context.Context, collections []string, limit int) ([]store.PDQHash, bool, error) {
	if len(collections) == 0 || limit < 1 {
		return nil, false, nil
	}
	// INDEXED BY: the hashes of the given collections only, sorted (a
	// sort with a LIMIT keeps only the first limit+1 rows); in seq order
	// through the table, the walk would cross every other collection's.
	rows, err := s.r.QueryContext(ctx, `SELECT p.seq, p.hash FROM ui_collection_pdq p INDEXED BY ui_collection_pdq_collection JOIN objects o ON o.seq = p.seq
WHERE p.collection IN (`+placeholders(len(collections))+`) AND o.is_last = 1 ORDER BY p.seq DESC LIMIT ?`, append(strArgs(collections), limit+1)...)
	if err != nil {
		return nil, false, fmt.Errorf("couldn't read pdq hashes: %w", err)
	}
	defer rows.Close()
	var out []store.PDQHash
	for rows.Next() {
		var h store.PDQHash
		if err := rows.Scan(&h.Seq, &h.Hash); err != nil {
			return nil, false, fmt.Errorf("couldn't read pdq hashes: %w", err)
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("couldn't read pdq hashes: %w", err)
	}
	if len(out) > limit {
		return out[:limit], true, nil
	}
	return out, false, nil
}

// ObjectsAt returns the object versions whose seq is one of seqs, in the
// given collections only, in the order of seqs (each once), within b
// taken in that order, and whether some were left out. The seqs go in as
// one JSON array, whose json_each keys give their order.
func (s *Store) ObjectsAt(ctx context.Context, collections []string, seqs []int64, b store.Bound) ([]store.Object, bool, error) {
	if len(collections) == 0 || len(seqs) == 0 {
		return nil, false, nil
	}
	seen := make(map[int64]bool, len(seqs))
	once := make([]int64, 0, len(seqs))
	for _, q := range seqs {
		if !seen[q] {
			seen[q] = true
			once = append(once, q)
		}
	}
	list, err := json.Marshal(once)
	if err != nil {
		return nil, false, err
	}
	args := append([]any{string(list)}, strArgs(collections)...)
	out, more, err := s.queryBounded(ctx, b, objectsAtFrom(len(collections)), "j.key", args...)
	if err != nil {
		return nil, false, fmt.Errorf("couldn't read objects: %w", err)
	}
	return out, more, nil
}

// objectsAtFrom is ObjectsAt's query after its SELECT list, for n
// collections; its arguments are the JSON list of seqs, then the
// collections. CROSS JOIN makes SQLite walk the list and look each seq
// up by its primary key: with a plain JOIN the planner may walk the
// collections' rows through objects_collection_seq instead and search
// the list for each, which made a tally (GET /concurrence) cost a pass
// over every object of the collections the member reads per opinion
// version (TestObjectsAtPlan).
func objectsAtFrom(n int) string {
	return `FROM json_each(?) j CROSS JOIN objects o ON o.seq = j.value
WHERE o.collection IN (` + placeholders(n) + `)`
}

// LatestCheckpointTime returns the size of the newest signed checkpoint
// and when it was stored; ErrNotFound before the first.
func (s *Store) LatestCheckpointTime(ctx context.Context) (int64, time.Time, error) {
	var size int64
	var created string
	err := s.r.QueryRowContext(ctx, `SELECT size, created FROM log_checkpoints ORDER BY size DESC LIMIT 1`).Scan(&size, &created)
	if err == sql.ErrNoRows {
		return 0, time.Time{}, fmt.Errorf("couldn't read the latest checkpoint: %w", store.ErrNotFound)
	}
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("couldn't read the latest checkpoint: %w", err)
	}
	t, err := parseTime(created)
	return size, t, err
}
