package postgres

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/parley-exchange/parley/internal/store"
)

// The web UI's indexes (migrations 310-312), written by [queueIndexes]
// in the transaction that inserts an object version (Submit's write
// batch), so that they can't lag behind the objects:
//
//   - ui_objects, one row per object version that has words, markings or
//     a PDQ hash: its collection; the words of its name, description,
//     pattern, value, hashes, aliases, labels, opinion and explanation as
//     terms (the lexemes of a tsvector of text search configuration
//     'simple': lower-cased words, no stemming, no stop words; each
//     prefixed with its collection's key, see collectionTerms); its
//     object_marking_refs; and its PDQ hash (hashes.PDQ of a file; the
//     pattern of a "pdq" indicator; the first comparison of
//     file:hashes.PDQ in a STIX pattern);
//   - ui_refs, (collection, referenced id, seq) for the source_ref and
//     target_ref of relationships and the sighting_of_ref of sightings.
//
// The rows are built in Go rather than by triggers: an object whose
// stored bytes are not JSON is simply not indexed (PostgreSQL 15 can't
// test JSON validity without an exception block), and the SQL is plain
// INSERTs that every PostgreSQL-compatible database runs.
//
// Full-text search differs from the SQLite store's FTS5 index in how
// text is cut into words: PostgreSQL's parser keeps host names, IP
// addresses, e-mail addresses, URLs and file paths whole
// ("10.0.0.17" is one word, so "10.0.0" does not find it, where FTS5
// finds the phrase 10 0 0), and it does not remove diacritics. In both,
// every word of the query must occur; there is no prefix matching.
// FTS5 returns matches in seq order from the cursor; a GIN index
// doesn't, so a text page is either a walk of the collection in seq
// order testing each row or a collection of every match then a sort, as
// the planner estimates cheaper: a word neither rare nor common may walk
// much of the collection (1.6 s for 400,000 rows on the two-core test
// machine).
// The column names differ from objects' so that the unqualified
// [objectCols] stay unambiguous in joins.
//
// Migration 312 keys every index the UI searches by collection, so that
// a query reads the index entries of the collections the member may read
// and no others: what it costs, and so how long it takes, does not
// depend on what other collections hold. The words become terms, each
// lexeme of the object's tsvector prefixed with its collection's key and
// a space (see collectionTerms), in a text[] (collation "C": compared
// byte by byte, as tsvector lexemes are) with a GIN index: a search asks for all of its
// words' terms in each collection the member may read (the same
// condition as plainto_tsquery's, every word present), and the GIN index
// then reads those collections' postings only; with one tsvector index
// for all, a word common in a collection the member may not read made
// its searches slower. ui_objects also gets its collection, and its PDQ
// index is (collection, object_seq); ui_refs is keyed (collection, ref,
// object_seq).
func init() {
	registerMigrations(migration{310, "ui objects index", `
CREATE TABLE ui_objects (
	object_seq BIGINT PRIMARY KEY,
	words      TSVECTOR NOT NULL,
	markings   TEXT[] NOT NULL,
	pdq_hash   TEXT
);
CREATE INDEX ui_objects_words ON ui_objects USING GIN (words);
CREATE INDEX ui_objects_pdq ON ui_objects(object_seq) WHERE pdq_hash IS NOT NULL;
`}, migration{311, "ui references", `
CREATE TABLE ui_refs (
	ref        TEXT NOT NULL,
	object_seq BIGINT NOT NULL,
	PRIMARY KEY (ref, object_seq)
);
`}, migration{312, "ui indexes by collection", `
ALTER TABLE ui_objects ADD COLUMN collection TEXT NOT NULL DEFAULT '';
ALTER TABLE ui_objects ADD COLUMN terms TEXT[] COLLATE "C" NOT NULL DEFAULT '{}';
UPDATE ui_objects u SET collection = o.collection,
	terms = ARRAY(SELECT left(md5(o.collection), 12) || ' ' || l.lexeme FROM unnest(u.words) AS l)
FROM objects o WHERE o.seq = u.object_seq;
DROP INDEX ui_objects_words;
ALTER TABLE ui_objects DROP COLUMN words;
CREATE INDEX ui_objects_terms ON ui_objects USING GIN (terms);
DROP INDEX ui_objects_pdq;
CREATE INDEX ui_objects_pdq ON ui_objects(collection, object_seq) WHERE pdq_hash IS NOT NULL;
CREATE INDEX ui_objects_collection ON ui_objects(collection, object_seq);
CREATE TABLE ui_collection_refs (
	collection TEXT NOT NULL,
	ref        TEXT NOT NULL,
	object_seq BIGINT NOT NULL,
	PRIMARY KEY (collection, ref, object_seq)
);
INSERT INTO ui_collection_refs(collection, ref, object_seq)
SELECT o.collection, r.ref, r.object_seq FROM ui_refs r JOIN objects o ON o.seq = r.object_seq;
DROP TABLE ui_refs;
ALTER TABLE ui_collection_refs RENAME TO ui_refs;
ALTER TABLE ui_refs RENAME CONSTRAINT ui_collection_refs_pkey TO ui_refs_pkey;
`})
}

var _ store.UIQueries = (*Store)(nil)

// maxIndexedText bounds the text of one object that full-text search
// covers: a tsvector holds at most 1 MiB (256 KiB of distinct three-letter
// words make 0.56 MiB), and the rest of a huge description adds little to
// a search.
const maxIndexedText = 256 << 10

// textFields are the fields whose values the full-text index holds, in
// the order the SQLite store concatenates them.
var textFields = []string{"name", "description", "pattern", "value", "hashes", "aliases", "labels", "opinion", "explanation"}

// uiIndex is what [uiRows] extracts from one object version.
type uiIndex struct {
	text     string
	markings []string
	pdq      string // "" when none
	refs     []string
	opinions []string // object_refs of an opinion
}

// extractIndex reads the indexed parts of o; ok is false when o.Raw is
// not a JSON object (such a version is not indexed).
func extractIndex(o store.Object) (ix uiIndex, ok bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(o.Raw, &m) != nil || m == nil {
		return ix, false
	}
	str := func(k string) (string, bool) {
		var s string
		if v, found := m[k]; found && json.Unmarshal(v, &s) == nil && v[0] == '"' {
			return s, true
		}
		return "", false
	}
	strs := func(k string) []string {
		var out []string
		var arr []json.RawMessage
		if v, found := m[k]; !found || json.Unmarshal(v, &arr) != nil {
			return nil
		}
		for _, e := range arr {
			var s string
			if len(e) > 0 && e[0] == '"' && json.Unmarshal(e, &s) == nil {
				out = append(out, s)
			}
		}
		return out
	}
	var parts []string
	for _, k := range textFields {
		v, found := m[k]
		if !found || string(v) == "null" {
			continue
		}
		if s, isStr := str(k); isStr {
			parts = append(parts, s)
		} else {
			parts = append(parts, string(v)) // arrays and objects as JSON text
		}
	}
	ix.text = searchText(strings.Join(parts, " "), maxIndexedText)
	ix.markings = strs("object_marking_refs")
	switch o.Type {
	case "file", "indicator":
		ix.pdq = pdqOf(m, str)
	case "relationship", "sighting":
		for _, k := range []string{"source_ref", "target_ref", "sighting_of_ref"} {
			if s, isStr := str(k); isStr {
				ix.refs = append(ix.refs, s)
			}
		}
	case "opinion":
		ix.opinions = strs("object_refs")
	}
	return ix, true
}

// pdqOf returns the PDQ hash text an object carries, by the SQLite
// store's rules: hashes.PDQ, else the pattern of a "pdq" indicator, else
// the 64 characters after the first "hashes.PDQ = '" of a pattern.
func pdqOf(m map[string]json.RawMessage, str func(string) (string, bool)) string {
	var hashes map[string]json.RawMessage
	if v, ok := m["hashes"]; ok && json.Unmarshal(v, &hashes) == nil {
		var h string
		if v, ok := hashes["PDQ"]; ok && len(v) > 0 && v[0] == '"' && json.Unmarshal(v, &h) == nil {
			return h
		}
	}
	pattern, ok := str("pattern")
	if !ok {
		return ""
	}
	if pt, _ := str("pattern_type"); pt == "pdq" {
		return pattern
	}
	const cmp = "hashes.PDQ = '"
	if i := strings.Index(pattern, cmp); i >= 0 {
		h := pattern[i+len(cmp):]
		if len(h) > 64 {
			h = h[:64]
		}
		return h
	}
	return ""
}

// searchText makes s storable as PostgreSQL text and bounded to max
// bytes: control characters (PostgreSQL text can't hold NUL) and invalid
// UTF-8 become spaces, which separate words anyway.
func searchText(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, " "))
	if len(s) > max {
		s = strings.ToValidUTF8(s[:max], "")
	}
	return s
}

// queueIndexes queues on b, Submit's write batch, the UI and opinion
// index rows of the new versions objs (Seq, Collection, ID, Type and Raw
// set): at most three statements whatever the number of versions, and
// none when no version has anything to index.
func queueIndexes(b *pgx.Batch, objs []store.Object) {
	var (
		seqs, refSeqs          []int64
		colls, refColls, keys  []string
		words, marks           []string
		pdqs                   []*string
		refs                   []string
		opRefs, opColls, opIDs []string
	)
	for _, o := range objs {
		ix, ok := extractIndex(o)
		if !ok {
			continue
		}
		if ix.text != "" || len(ix.markings) > 0 || ix.pdq != "" {
			seqs, colls, keys = append(seqs, o.Seq), append(colls, o.Collection), append(keys, collectionKey(o.Collection))
			words = append(words, ix.text)
			ms := make([]string, len(ix.markings))
			for i, m := range ix.markings {
				ms[i] = searchText(m, len(m))
			}
			mj, _ := json.Marshal(ms) // a []string always marshals
			marks = append(marks, string(mj))
			var p *string
			if ix.pdq != "" {
				h := searchText(ix.pdq, len(ix.pdq))
				p = &h
			}
			pdqs = append(pdqs, p)
		}
		for _, r := range ix.refs {
			refs, refSeqs, refColls = append(refs, searchText(r, len(r))), append(refSeqs, o.Seq), append(refColls, o.Collection)
		}
		for _, r := range ix.opinions {
			opRefs, opColls, opIDs = append(opRefs, searchText(r, len(r))), append(opColls, o.Collection), append(opIDs, o.ID)
		}
	}
	queueValues(b, objs)
	if len(seqs) > 0 {
		b.Queue(`INSERT INTO ui_objects(object_seq, collection, terms, markings, pdq_hash)
SELECT u.seq, u.coll, ARRAY(SELECT u.key || l.lexeme FROM unnest(to_tsvector('simple', u.words)) AS l),
	ARRAY(SELECT jsonb_array_elements_text(u.marks::jsonb)), u.pdq
FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS u(seq, coll, words, marks, pdq, key)
ON CONFLICT (object_seq) DO NOTHING`, seqs, colls, words, marks, pdqs, keys)
	}
	if len(refs) > 0 {
		b.Queue(`INSERT INTO ui_refs(collection, ref, object_seq) SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) ON CONFLICT DO NOTHING`, refColls, refs, refSeqs)
	}
	if len(opRefs) > 0 {
		b.Queue(`INSERT INTO opinion_refs(object_ref, collection, opinion_id) SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
ON CONFLICT DO NOTHING`, opRefs, opColls, opIDs)
	}
}

// SearchText returns the text whose lexemes (to_tsvector, the words
// plainto_tsquery would ask for) [Store.BrowseObjects] and
// [Store.TextObjects] look for, for what an analyst typed, or "" when it
// holds no letter or digit (such a search finds nothing). Whatever the
// input, the query it makes is valid: to_tsvector reads no operators.
func SearchText(s string) string {
	s = searchText(s, maxIndexedText)
	if !strings.ContainsFunc(s, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) {
		return ""
	}
	return s
}

// planned returns a's arguments for a query of the UI (or any that takes
// the collections a member may read) with pgx's exec mode first:
// QueryExecModeExec runs the query as an unnamed statement, which
// PostgreSQL plans for the values it is given every time (unless
// plan_cache_mode forces generic plans). The queries are written to read
// only the given collections' rows whatever the plan (see
// eachCollection); this is the second line of defence. pgx's default
// prepares and caches statements, and after five runs PostgreSQL may
// switch a prepared statement to a generic plan, made without the
// values: for "collection = ANY($1)" or "collection = c.id" it then
// expects a common collection and walks whole tables, through every
// collection's rows (storetest.Unreadable runs each query more than five
// times to catch it). Planning each time costs the server a fraction of
// a millisecond.
func planned(a args) []any {
	return append([]any{pgx.QueryExecModeExec}, a...)
}

// readIndexed runs fn in a read-only transaction with sequential scans
// off (SET LOCAL enable_seqscan), for queries whose every condition
// leads an index but whose values the planner may expect to be common
// (an object many opinions name, a small table): it would then read the
// whole table, every collection's rows, to find them, where with the
// scan priced out it takes the index. Its error is fn's, or the
// transaction's, without more context; one that says the server can't be
// reached is marked [store.ErrUnavailable] (see [unavailable]).
func (s *Store) readIndexed(ctx context.Context, fn func(tx pgx.Tx) error) error {
	tx, err := s.begin(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return err // already through unavailableIn (db.BeginTx)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SET LOCAL enable_seqscan = off`); err != nil {
		return unavailableIn(ctx, err)
	}
	return unavailableIn(ctx, fn(tx))
}

// bySeqs is the FROM clause of the objects o whose seqs the query seqs
// selects (one column, each seq once). The LATERAL join makes seqs drive
// the loop, one primary-key lookup a row: with o.seq IN (seqs) the
// planner may instead walk the objects table in seq order, through every
// collection's rows, testing each against the set. OFFSET 0 keeps the
// subquery a subquery: a plain one is pulled up into an ordinary join,
// which a plan made without the values (a generic plan) made a merge
// join over a walk of the whole table.
func bySeqs(seqs string) string {
	return `FROM (` + seqs + `) AS m(object_seq) CROSS JOIN LATERAL (SELECT * FROM objects WHERE seq = m.object_seq OFFSET 0) AS o`
}

// eachCollection is a FROM item alias(id) of the collections in the
// text[] argument arg, each once. The queries over the collections a member may
// read join it LATERAL to a subquery that reads one collection, c.id,
// through an index led by the collection, so that the query's structure,
// not the planner's estimates, keeps other collections' rows unread: a
// condition collection = ANY(arg) on the whole table left the planner
// free to scan the table, or an index by object id, testing each row's
// collection, and a plan made without the values (a generic plan: see
// planned, and the generic plans of TestQueriesReadNothingOfUnreadableCollections)
// did. A subquery that is neither limited nor an aggregate needs OFFSET 0
// (see bySeqs).
func eachCollection(arg, alias string) string {
	return `(SELECT DISTINCT unnest(` + arg + `::text[])) AS ` + alias + `(id)`
}

// inCollection is the condition that the row's (coll, seq) columns are
// in collection id and, unless op is "", that seq op cursor (op one of
// <, <=, >, >=), written as a range of the pair for the queries that
// read a collection's rows in seq order through an index on (coll, seq)
// and ORDER BY coll, seq. With coll = id the planner drops coll from the
// order (it is fixed) and may then walk the primary key in seq order
// instead, testing each row's collection, through every other
// collection's rows: it does when it expects the collection to be
// common, as with two collections, and always in a generic plan. No
// other index gives the pair's order, and no other index can test a
// range of the pair. The range includes both its ends, and a strict
// cursor is excluded apart, with <>, which no index serves (seq > cursor
// would let the primary key walk every collection's rows from the
// cursor on): the planner estimates a comparison of pairs by their first
// columns alone, and coll > id, the rows of the collections after id,
// would make the plan depend on where id falls among the collections.
func inCollection(coll, seq, id, op, cursor string) string {
	pair := `(` + coll + `, ` + seq + `)`
	lo, hi, strict := `(`+id+`, 0)`, `(`+id+`, 9223372036854775807)`, ""
	switch op {
	case ">", ">=":
		lo = `(` + id + `, ` + cursor + `)`
	case "<", "<=":
		hi = `(` + id + `, ` + cursor + `)`
	}
	if op == ">" || op == "<" {
		strict = ` AND ` + seq + ` <> ` + cursor
	}
	return pair + ` >= ` + lo + ` AND ` + pair + ` <= ` + hi + strict
}

// inCollectionRange is inCollection with the same range of coll alone
// (coll >= id AND coll <= id), which changes no result. The planner
// estimates a row comparison's selectivity from its first column as an
// open inequality, never pairing its two ends, so that through (coll,
// seq) a collection of 30 looked like a third of the table; it then
// preferred an index whose prefix takes a plain range,
// objects_collection_date_added, and sorted the whole collection: the
// UI's recent objects read every readable collection's rows per call
// (400 ms on 60,000 objects in 30 collections), and a browse page by
// creator, and a TAXII page in a generic plan, the whole collection
// (TestReadPlans). The conditions on
// ui_objects in browseFilter keep inCollection alone: with the plain
// range the planner saw the collection's own statistics and took plans
// through ui_objects that read other collections' rows
// (TestQueriesReadNothingOfUnreadableCollections).
func inCollectionRange(coll, seq, id, op, cursor string) string {
	return coll + ` >= ` + id + ` AND ` + coll + ` <= ` + id + ` AND ` + inCollection(coll, seq, id, op, cursor)
}

// isObject is the condition that the row of objects is a version of
// object id in collection coll, written as a range of (collection,
// object_id), which only objects_version (collection, object_id,
// version), led by the collection, can serve: the query ORDERs BY
// collection, object_id, version, in either direction. With collection
// = coll AND object_id = id the planner may take objects_id_version,
// which holds every collection's versions of the id, and testing their
// collection: it does when it expects the id to be rare, as it always
// does for an id it doesn't know (a parameter of a generic plan, or a
// column of a LATERAL join's outer side). The plain range of the
// collection (see inCollectionRange) makes the planner see how few rows the
// range holds: without it, objects_collection_seq, which the row
// comparison's estimate priced as objects_version, read the whole
// collection for each (ObjectVersions, an object's page).
func isObject(coll, id string) string {
	return `collection >= ` + coll + ` AND collection <= ` + coll + ` AND (collection, object_id) >= (` + coll + `, ` + id + `) AND (collection, object_id) <= (` + coll + `, ` + id + `)`
}

// searchLexemes returns the words of what an analyst typed as the
// full-text index holds them (the lexemes of to_tsvector('simple'), the
// words plainto_tsquery would ask for), sorted and each once; none when
// it holds no word.
func (s *Store) searchLexemes(ctx context.Context, text string) ([]string, error) {
	if text = SearchText(text); text == "" {
		return nil, nil
	}
	var lexemes []string
	if err := s.pool.QueryRow(ctx, `SELECT coalesce(array_agg(l.lexeme ORDER BY l.lexeme), '{}') FROM unnest(to_tsvector('simple', $1)) AS l`, text).Scan(&lexemes); err != nil {
		return nil, fmt.Errorf("couldn't search: %w", err)
	}
	return lexemes, nil
}

// collectionKey is the prefix of collection's terms: the first 12 hex
// digits of the MD5 of its id, and a space. Migration 312 computed the
// same with SQL's md5(), which hashes the id in the server's encoding;
// with UTF-8 (and for the ASCII ids the node makes, in any encoding) the
// two agree.
func collectionKey(collection string) string {
	sum := md5.Sum([]byte(collection))
	return hex.EncodeToString(sum[:])[:12] + " "
}

// collectionTerms returns lexemes as collection's terms in ui_objects:
// each prefixed with the collection's key (see collectionKey). The key
// is short, so that the GIN index's entries
// stay small (the whole id made ingest about 8% slower), and wide enough
// (48 bits) that two collections of a node share one only by a chance
// too small to matter; queries also test the row's collection, so such a
// sharing would cost time, never a wrong or unreadable result.
func collectionTerms(collection string, lexemes []string) []string {
	prefix := collectionKey(collection)
	out := make([]string, len(lexemes))
	for i, l := range lexemes {
		out[i] = prefix + l
	}
	return out
}

// args collects positional query arguments.
type args []any

// add appends v and returns its placeholder.
func (a *args) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// BrowseObjects returns one page of b: latest versions only, in seq
// order, keyset-paged (see [store.Browse]). An unknown collection is an
// empty page; b.Limit outside 1..[store.MaxBrowseLimit] is ErrInvalid.
func (s *Store) BrowseObjects(ctx context.Context, b store.Browse) (store.BrowsePage, error) {
	if b.Limit < 1 || b.Limit > store.MaxBrowseLimit || b.After < 0 || b.Before < 0 || (b.After > 0 && b.Before > 0) {
		return store.BrowsePage{}, fmt.Errorf("couldn't browse objects: limit %d, after %d, before %d: %w", b.Limit, b.After, b.Before, store.ErrInvalid)
	}
	b, err := s.browsePositions(ctx, b)
	if err != nil {
		return store.BrowsePage{}, err
	}
	var terms []string
	if strings.TrimSpace(b.Text) != "" {
		lexemes, err := s.searchLexemes(ctx, b.Text)
		if err != nil || len(lexemes) == 0 {
			return store.BrowsePage{}, err
		}
		terms = collectionTerms(b.Collection, lexemes)
	}
	var p store.BrowsePage
	desc := b.Before > 0
	var a args
	var where, order string
	if desc {
		where, order = browseFilter(&a, b, terms, "<", b.Before), "collection DESC, seq DESC"
	} else {
		where, order = browseFilter(&a, b, terms, ">", b.After), "collection, seq"
	}
	objs, more, err := s.queryBounded(ctx, store.Bound{Rows: b.Limit, Bytes: b.MaxBytes}, `FROM objects o WHERE `+where, order, a)
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
			// One probe for an earlier match.
			var a args
			var one int
			err := s.pool.QueryRow(ctx, `SELECT 1 FROM objects o WHERE `+browseFilter(&a, b, terms, "<=", b.After)+` ORDER BY o.collection DESC, o.seq DESC LIMIT 1`, planned(a)...).Scan(&one)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return p, fmt.Errorf("couldn't browse objects: %w", err)
			}
			p.HasPrev = err == nil
		}
	}
	p.Objects = objs
	return p, nil
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
	err := s.pool.QueryRow(ctx, `SELECT seq FROM objects WHERE collection = $1 AND date_added `+op+` $2 ORDER BY date_added LIMIT 1`, b.Collection, fmtTime(at)).Scan(&seq)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
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

// browseFilter returns b's conditions on objects o (and its ui_objects
// row), with o.seq compared to cursor by op, adding their arguments to a.
// The collection and the cursor make a range of (o.collection, o.seq)
// (see inCollection): the query must ORDER BY o.collection, o.seq, in
// either direction.
func browseFilter(a *args, b store.Browse, terms []string, op string, cursor int64) string {
	var w strings.Builder
	bound := a.add(cursor)
	w.WriteString(inCollectionRange("o.collection", "o.seq", a.add(b.Collection), op, bound) + ` AND o.is_last`)
	if len(b.Types) > 0 {
		w.WriteString(` AND o.type = ANY(` + a.add(b.Types) + `::text[])`)
	}
	if len(b.Creators) > 0 {
		w.WriteString(` AND o.member = ANY(` + a.add(b.Creators) + `::text[])`)
	}
	// The period as a range of (o.collection, o.date_added), both ends
	// in the collection, as in inCollection: a plan through
	// objects_collection_date_added then reads the collection's additions
	// of the period and no others; with one end only, a range of the
	// pair from (collection, from) on would go through the collections
	// after it. An open end is the collection's first or last possible
	// date (timeLayout is fixed-width: '' sorts first, year 9999 last).
	// The end is excluded with <>.
	if !b.From.IsZero() || !b.To.IsZero() {
		from, to := "", fmtTime(time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC))
		if !b.From.IsZero() {
			from = fmtTime(b.From)
		}
		if !b.To.IsZero() {
			to = fmtTime(b.To)
		}
		coll, to := a.add(b.Collection), a.add(to)
		w.WriteString(` AND (o.collection, o.date_added) >= (` + coll + `, ` + a.add(from) + `) AND (o.collection, o.date_added) <= (` + coll + `, ` + to + `)`)
		if !b.To.IsZero() {
			w.WriteString(` AND o.date_added <> ` + to)
		}
	}
	if len(b.Markings) > 0 || len(terms) > 0 {
		// The collection and the cursor again, as a range of
		// ui_objects_collection: the planner doesn't carry an inequality
		// across the join, and without it a page deep in the collection
		// reads the collection's index entries from its start; with
		// u.object_seq compared to the cursor, a generic plan walked
		// the primary key of ui_objects from the cursor on, through
		// every collection's rows.
		w.WriteString(` AND EXISTS (SELECT 1 FROM ui_objects u WHERE u.object_seq = o.seq AND ` + inCollection("u.collection", "u.object_seq", a.add(b.Collection), op, bound))
		if len(b.Markings) > 0 {
			w.WriteString(` AND u.markings && ` + a.add(b.Markings) + `::text[]`)
		}
		if len(terms) > 0 {
			w.WriteString(` AND u.terms @> ` + a.add(terms) + `::text[]`)
		}
		w.WriteString(`)`)
	}
	return w.String()
}

// queryObjectList runs q, which selects [objectCols] from objects o, in
// tx.
func queryObjectList(ctx context.Context, tx pgx.Tx, q string, a ...any) ([]store.Object, error) {
	rows, err := tx.Query(ctx, q, planned(a)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Object
	for rows.Next() {
		o, err := scanObject(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// queryBounded selects objectCols from, the rest of a query over
// objects o after its SELECT list ("FROM objects o WHERE ..."), in the
// order order (over objectCols' names: "seq", "version DESC, seq DESC"),
// and returns its objects within b, and whether it stopped at b with
// objects left; a holds from's arguments. As in [Store.Objects], the
// server cuts at b.Bytes: each row carries the running total of the sizes
// before it, and of the rows past the bound only the first is sent,
// without its content, so a query transfers and holds at most b.Bytes
// plus one object.
func (s *Store) queryBounded(ctx context.Context, b store.Bound, from, order string, a args) ([]store.Object, bool, error) {
	q := `SELECT ` + objectCols + `, octet_length(o.raw) AS size ` + from + ` ORDER BY ` + order
	if b.Rows > 0 {
		q += ` LIMIT ` + a.add(b.Rows+1)
	}
	if b.Bytes > 0 {
		// before: the sizes of the rows ahead of this one; rn: its place.
		// A row is sent if the one ahead of it is taken (the first
		// always is; the others if everything up to them fits), and its
		// content only if it is taken itself.
		max := a.add(b.Bytes)
		taken := `(rn = 1 OR before + size <= ` + max + `)`
		if b.Rows > 0 {
			taken = `(` + taken + ` AND rn <= ` + a.add(b.Rows) + `)`
		}
		q = `SELECT seq, collection, object_id, type, spec_version, version, date_added, member, signed,
				CASE WHEN ` + taken + ` THEN raw ELSE ''::bytea END, log_index, salt, size
			FROM (SELECT p.*,
					coalesce(sum(size) OVER (ORDER BY ` + order + ` ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before,
					row_number() OVER (ORDER BY ` + order + `) AS rn
				FROM (` + q + `) AS p) AS w
			WHERE rn <= 2 OR before <= ` + max + ` ORDER BY ` + order
	}
	rows, err := s.pool.Query(ctx, q, planned(a)...)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	var out []store.Object
	var total int64
	for rows.Next() {
		var size int64
		o, err := scanObject(rows, &size)
		if err != nil {
			return nil, false, err
		}
		if !b.Takes(len(out), total, size) {
			return out, true, nil
		}
		total += size
		out = append(out, o)
	}
	return out, false, rows.Err()
}

// CollectionStats returns the counts and latest addition of each of the
// given collections that holds objects, in one query, ordered by
// collection id: each collection's row of collection_stats (stats.go),
// maintained by Submit and Load, through its primary key (sequential
// scans off: the planner would read the small table whole).
func (s *Store) CollectionStats(ctx context.Context, collections []string) ([]store.CollectionStats, error) {
	if len(collections) == 0 {
		return nil, nil
	}
	var out []store.CollectionStats
	err := s.readIndexed(ctx, func(tx pgx.Tx) error {
		out = nil
		rows, err := tx.Query(ctx, `SELECT n.collection, n.objects, n.versions, n.last_added FROM `+eachCollection("$1", "c")+`
CROSS JOIN LATERAL (SELECT collection, objects, versions, last_added FROM collection_stats WHERE collection = c.id) AS n
WHERE n.versions > 0 ORDER BY n.collection COLLATE "C"`, planned(args{collections})...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c store.CollectionStats
			var last string
			if err := rows.Scan(&c.Collection, &c.Objects, &c.Versions, &last); err != nil {
				return err
			}
			if c.LastAdded, err = parseTime(last); err != nil {
				return err
			}
			out = append(out, c)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("couldn't count objects: %w", err)
	}
	return out, nil
}

// RecentObjects returns the most recently added object versions in the
// given collections, newest first, within b (b.Rows must be set).
func (s *Store) RecentObjects(ctx context.Context, collections []string, b store.Bound) ([]store.Object, error) {
	if len(collections) == 0 || b.Rows < 1 {
		return nil, nil
	}
	// Each collection's newest through its (collection, seq) index, then
	// the newest of those: walking the table in seq order could cross
	// every other collection's newest rows (see inCollection). The
	// newest seqs are chosen before any row is read, so that a member
	// who reads 30 collections has a page's rows read, not 30 pages'.
	a := args{collections}
	limit := a.add(b.Rows + 1)
	out, _, err := s.queryBounded(ctx, b, bySeqs(`SELECT r.seq FROM `+eachCollection("$1", "c")+`
CROSS JOIN LATERAL (SELECT seq FROM objects WHERE `+inCollectionRange("collection", "seq", "c.id", "", "")+` ORDER BY collection DESC, seq DESC LIMIT `+limit+`) AS r
ORDER BY r.seq DESC LIMIT `+limit), "seq DESC", a)
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
	// Each collection's newest versions through objects_version (see
	// eachCollection, isObject); the limit is written out so that even
	// a generic plan knows how few rows it reads.
	limit := ""
	if b.Rows > 0 {
		limit = ` LIMIT ` + strconv.Itoa(b.Rows+1)
	}
	a := args{id, collections}
	out, more, err := s.queryBounded(ctx, b, bySeqs(`SELECT v.seq FROM `+eachCollection("$2", "c")+`
CROSS JOIN LATERAL (SELECT seq FROM objects WHERE `+isObject("c.id", "$1")+`
	ORDER BY collection DESC, object_id DESC, version DESC`+limit+`) AS v`), "version DESC, seq DESC", a)
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
	// Each (collection, id) through objects_version, newest first (see
	// eachCollection, isObject): the latest version is the newest.
	a := args{ids, collections}
	out, more, err := s.queryBounded(ctx, b, bySeqs(`SELECT v.seq FROM `+eachCollection("$2", "c")+` CROSS JOIN (SELECT DISTINCT unnest($1::text[])) AS i(id)
CROSS JOIN LATERAL (SELECT seq FROM objects WHERE `+isObject("c.id", "i.id")+` AND is_last
	ORDER BY collection DESC, object_id DESC, version DESC LIMIT 1) AS v`), "seq", a)
	if err != nil {
		return nil, false, fmt.Errorf("couldn't read objects: %w", err)
	}
	return out, more, nil
}

// Referencing returns the latest versions of the relationships and
// sightings in the given collections that name id as source_ref,
// target_ref or sighting_of_ref, in seq order, within b, and whether some
// were left out.
func (s *Store) Referencing(ctx context.Context, collections []string, id string, b store.Bound) ([]store.Object, bool, error) {
	if len(collections) == 0 {
		return nil, false, nil
	}
	a := args{id, collections}
	out, more, err := s.queryBounded(ctx, b, bySeqs(`SELECT r.object_seq FROM `+eachCollection("$2", "c")+`
CROSS JOIN LATERAL (SELECT object_seq FROM ui_refs WHERE collection = c.id AND ref = $1 OFFSET 0) AS r`)+` WHERE o.is_last`, "seq", a)
	if err != nil {
		return nil, false, fmt.Errorf("couldn't read the references to %s: %w", id, err)
	}
	return out, more, nil
}

// TextObjects returns the latest versions, in the given collections, of
// the objects whose indexed text holds every word of text (see
// [SearchText]), in seq order, within b, and whether some were left out.
// Callers that want an exact value check the candidates themselves.
func (s *Store) TextObjects(ctx context.Context, collections []string, text string, b store.Bound) ([]store.Object, bool, error) {
	if len(collections) == 0 || SearchText(text) == "" {
		return nil, false, nil
	}
	lexemes, err := s.searchLexemes(ctx, text)
	if err != nil || len(lexemes) == 0 {
		return nil, false, err
	}
	colls := slices.Compact(slices.Sorted(slices.Values(collections)))
	if b.Rows > 0 {
		out, more, err := s.textFirst(ctx, colls, lexemes, b)
		if err != nil {
			return nil, false, fmt.Errorf("couldn't search: %w", err)
		}
		return out, more, nil
	}
	// One GIN lookup per collection, each of its own terms.
	var a args
	var union []string
	for _, c := range colls {
		union = append(union, `SELECT object_seq FROM ui_objects WHERE terms @> `+a.add(collectionTerms(c, lexemes))+`::text[] AND collection = `+a.add(c))
	}
	out, more, err := s.queryBounded(ctx, b, bySeqs(strings.Join(union, " UNION ALL "))+` WHERE o.is_last`, "seq", a)
	if err != nil {
		return nil, false, fmt.Errorf("couldn't search: %w", err)
	}
	return out, more, nil
}

// PDQHashes returns the PDQ hashes of the latest versions, in the given
// collections, of the objects that carry one, at most limit, newest
// first, and whether some (the oldest) were left out.
func (s *Store) PDQHashes(ctx context.Context, collections []string, limit int) ([]store.PDQHash, bool, error) {
	if len(collections) == 0 || limit < 1 {
		return nil, false, nil
	}
	// Each collection's newest hashes, then the newest of those (a top-N
	// sort): in one walk of ui_objects in seq order the planner could
	// cross every other collection's rows (see inCollection).
	rows, err := s.pool.Query(ctx, `SELECT h.seq, h.pdq_hash FROM `+eachCollection("$1", "c")+`
CROSS JOIN LATERAL (SELECT u.object_seq AS seq, u.pdq_hash FROM ui_objects u JOIN objects o ON o.seq = u.object_seq
	WHERE `+inCollectionRange("u.collection", "u.object_seq", "c.id", "", "")+` AND u.pdq_hash IS NOT NULL AND o.is_last ORDER BY u.collection DESC, u.object_seq DESC LIMIT $2) AS h
ORDER BY h.seq DESC LIMIT $2`, planned(args{collections, limit + 1})...)
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
// taken in that order, and whether some were left out.
func (s *Store) ObjectsAt(ctx context.Context, collections []string, seqs []int64, b store.Bound) ([]store.Object, bool, error) {
	if len(collections) == 0 || len(seqs) == 0 {
		return nil, false, nil
	}
	a := args{seqs, collections}
	out, more, err := s.queryBounded(ctx, b, `FROM objects o WHERE o.seq = ANY($1::bigint[]) AND o.collection = ANY($2::text[])`, "array_position($1::bigint[], seq)", a)
	if err != nil {
		return nil, false, fmt.Errorf("couldn't read objects: %w", err)
	}
	return out, more, nil
}

// LatestCheckpointTime returns the size of the newest signed checkpoint
// and when it was stored; ErrNotFound before the first.
func (s *Store) LatestCheckpointTime(ctx context.Context) (int64, time.Time, error) {
	var size int64
	var created string
	err := s.pool.QueryRow(ctx, `SELECT size, created FROM log_checkpoints ORDER BY size DESC LIMIT 1`).Scan(&size, &created)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, time.Time{}, fmt.Errorf("couldn't read the latest checkpoint: %w", store.ErrNotFound)
	}
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("couldn't read the latest checkpoint: %w", err)
	}
	t, err := parseTime(created)
	return size, t, err
}
