package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/tlog"
)

// Private sets (package private, internal/node/private*.go): the tables
// that hold each set's key, its tags, the provider's indicator values the
// set was built from, and every reader's spent query budget.
//
// What is stored, and what never is: a set's OPRF private key (the node
// evaluates on the provider's behalf, so it must hold it; it is a secret
// like node.key), the tags, and for sets built from a collection the
// canonical "type:value" lines of the provider's own indicators (already
// in the objects table in clear) so that the set can follow revocations.
// A querier's blinded elements, the evaluated elements and any notion of
// which of its values matched are never written anywhere: the only trace
// of a query is the per-(set, reader) counter of elements evaluated, with
// no timestamp.
//
// Tags are bytea, which PostgreSQL orders byte by byte, as the SQLite
// store orders its blobs. created is text (see timeLayout) so that it
// reads back to the nanosecond; expires is only compared, so it is a
// timestamptz.
func init() {
	registerMigrations(migration{200, "private sets", `
CREATE TABLE private_sets (
	id            TEXT PRIMARY KEY,
	member        TEXT NOT NULL REFERENCES members(id),
	collection    TEXT NOT NULL REFERENCES collections(id),
	source        TEXT NOT NULL,
	suite         TEXT NOT NULL,
	private_key   BYTEA NOT NULL,
	public_key    BYTEA NOT NULL,
	key_log_index BIGINT NOT NULL UNIQUE,
	created       TEXT NOT NULL,
	cursor        BIGINT NOT NULL
);
CREATE TABLE private_set_tags (
	set_id TEXT NOT NULL REFERENCES private_sets(id),
	tag    BYTEA NOT NULL,
	line   TEXT,
	PRIMARY KEY (set_id, tag)
);
CREATE INDEX private_set_tags_line ON private_set_tags(set_id, line) WHERE line IS NOT NULL;
CREATE TABLE private_set_indicators (
	set_id       TEXT NOT NULL REFERENCES private_sets(id),
	indicator_id TEXT NOT NULL,
	line         TEXT NOT NULL,
	expires      TIMESTAMPTZ,
	PRIMARY KEY (set_id, indicator_id, line)
);
CREATE INDEX private_set_indicators_line ON private_set_indicators(set_id, line);
CREATE INDEX private_set_indicators_expires ON private_set_indicators(set_id, expires) WHERE expires IS NOT NULL;
CREATE TABLE private_budget (
	set_id TEXT NOT NULL REFERENCES private_sets(id),
	member TEXT NOT NULL,
	used   BIGINT NOT NULL,
	PRIMARY KEY (set_id, member)
);
`}, migration{202, "private sets by collection and member", `
CREATE INDEX private_sets_collection ON private_sets(collection);
CREATE INDEX private_sets_member ON private_sets(member);
`}, migration{860, "withdrawn private sets and their readers", `
CREATE TABLE private_set_withdrawals (
	id                   TEXT PRIMARY KEY,
	member               TEXT NOT NULL,
	collection           TEXT NOT NULL,
	suite                TEXT NOT NULL,
	public_key           BYTEA NOT NULL,
	key_log_index        BIGINT NOT NULL UNIQUE,
	created              TEXT NOT NULL,
	withdrawn            TEXT NOT NULL,
	withdrawal_log_index BIGINT NOT NULL UNIQUE
);
CREATE TABLE private_set_withdrawal_readers (
	set_id TEXT NOT NULL REFERENCES private_set_withdrawals(id),
	member TEXT NOT NULL,
	PRIMARY KEY (set_id, member)
);
`}, migration{890, "the provider's signed statement of a withdrawal", `
ALTER TABLE private_set_withdrawals ADD COLUMN signed TEXT;
ALTER TABLE private_set_withdrawals ADD COLUMN nonce BYTEA;
ALTER TABLE private_set_withdrawals ADD COLUMN signer BYTEA;
ALTER TABLE private_set_withdrawals ADD COLUMN signature BYTEA;
`})
}

// privateBatch is how many rows one INSERT of tags or indicator lines
// carries, so that a set of any size is written in bounded statements.
const privateBatch = 5000

// CreatePrivateSet stores a new set and appends the log entry that commits
// its public key, in one transaction; set.KeyLogIndex is assigned. It
// fails with store.ErrConflict for a taken id and store.ErrNotFound for an
// unknown collection or member, changing nothing.
func (s *Store) CreatePrivateSet(ctx context.Context, n store.NewPrivateSet) (store.PrivateSet, error) {
	set := n.Set
	if set.ID == "" || len(set.PublicKey) == 0 || len(set.PrivateKey) == 0 || n.KeyEntry == nil {
		return store.PrivateSet{}, fmt.Errorf("couldn't create a private set: missing id, key or entry: %w", store.ErrInvalid)
	}
	// logTx: the key's entry takes its index and time from the locked
	// log head, like every other entry.
	err := s.logTx(ctx, func(tx pgx.Tx, h *logHead) error {
		set.KeyLogIndex = 0
		if ok, err := exists(ctx, tx, `SELECT 1 FROM collections WHERE id = $1`, set.Collection); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("couldn't create a private set: collection %q: %w", set.Collection, store.ErrNotFound)
		}
		if ok, err := exists(ctx, tx, `SELECT 1 FROM members WHERE id = $1`, set.Member); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("couldn't create a private set: member %q: %w", set.Member, store.ErrNotFound)
		}
		if ok, err := exists(ctx, tx, `SELECT 1 FROM private_sets WHERE id = $1 UNION ALL SELECT 1 FROM private_set_withdrawals WHERE id = $1`, set.ID); err != nil {
			return err
		} else if ok {
			return fmt.Errorf("couldn't create private set %q: %w", set.ID, store.ErrConflict)
		}
		var have, fromColl int
		if err := tx.QueryRow(ctx, privateSetCountsSQL, set.Member, set.Collection, string(store.PrivateSourceCollection)).Scan(&have, &fromColl); err != nil {
			return err
		}
		if n.MaxPerMember > 0 && have >= n.MaxPerMember {
			return &store.SetLimitError{Member: set.Member, Have: have, Most: n.MaxPerMember}
		}
		if set.Source == store.PrivateSourceCollection && fromColl > 0 {
			return fmt.Errorf("couldn't create private set %q: its member has a set made from collection %s already: %w", set.ID, set.Collection, store.ErrConflict)
		}
		if n.CheckWriter {
			// After the log head's lock: every revocation (a key
			// event) is committed before, or waits for this one.
			rows, err := tx.Query(ctx, committedMemberQuery, set.Collection, set.Member)
			if err != nil {
				return err
			}
			var m committedMember
			if err := m.scan(rows); err != nil {
				return err
			}
			if err := m.check(set.Collection, set.Member, true, false, nil); err != nil {
				return err
			}
		}
		idx, received := h.take(s.now())
		leaf, err := n.KeyEntry(idx, received)
		if err != nil {
			return err
		}
		if err := insertEntry(ctx, tx, idx, leaf, n.Salt, set.Collection, set.ID, n.Version, set.Member, received, tlog.KindOPRFKey); err != nil {
			return err
		}
		set.KeyLogIndex = idx
		if _, err := tx.Exec(ctx, `INSERT INTO private_sets(id, member, collection, source, suite, private_key, public_key, key_log_index, created, cursor)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			set.ID, set.Member, set.Collection, set.Source, set.Suite, set.PrivateKey, set.PublicKey, set.KeyLogIndex, fmtTime(set.Created), set.Cursor); err != nil {
			if isUnique(err) {
				return fmt.Errorf("couldn't create private set %q: %w", set.ID, store.ErrConflict)
			}
			return err
		}
		// The set's bytes count against its member's quota, read and
		// added under the log head's lock, as Submit's objects do.
		need := store.PrivateSetBytes(n)
		var used int64
		if err := tx.QueryRow(ctx, `SELECT coalesce((SELECT bytes FROM member_usage WHERE member = $1), 0)`, set.Member).Scan(&used); err != nil {
			return err
		}
		if quota := s.limits.MemberQuota; quota > 0 && used+need > quota {
			return &store.QuotaError{Member: set.Member, Used: used, Need: need, Quota: quota}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO member_usage(member, bytes) VALUES ($1, $2) ON CONFLICT (member) DO UPDATE SET bytes = member_usage.bytes + excluded.bytes`, set.Member, need); err != nil {
			return err
		}
		if err := insertIndicators(ctx, tx, set.ID, n.Indicators); err != nil {
			return err
		}
		return insertTags(ctx, tx, set.ID, n.Tags)
	})
	if err != nil {
		if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrQuota) {
			return store.PrivateSet{}, err
		}
		return store.PrivateSet{}, fmt.Errorf("couldn't create private set %q: %w", set.ID, err)
	}
	set.Size = countDistinct(n.Tags)
	return set, nil
}

func countDistinct(tags []store.PrivateTag) int {
	seen := make(map[string]bool, len(tags))
	for _, t := range tags {
		seen[string(t.Tag)] = true
	}
	return len(seen)
}

// insertIndicators writes the lines of ivs, [privateBatch] rows per
// statement; a line already stored for the indicator is kept.
func insertIndicators(ctx context.Context, tx pgx.Tx, setID string, ivs []store.IndicatorValues) error {
	var ids, lines []string
	var expires []*time.Time
	flush := func() error {
		if len(ids) == 0 {
			return nil
		}
		_, err := tx.Exec(ctx, `INSERT INTO private_set_indicators(set_id, indicator_id, line, expires)
SELECT $1, u.id, u.line, u.expires FROM unnest($2::text[], $3::text[], $4::timestamptz[]) AS u(id, line, expires)
ON CONFLICT DO NOTHING`, setID, ids, lines, expires)
		ids, lines, expires = ids[:0], lines[:0], expires[:0]
		return err
	}
	for _, iv := range ivs {
		var exp *time.Time
		if !iv.Expires.IsZero() {
			e := iv.Expires
			exp = &e
		}
		for _, l := range iv.Lines {
			ids, lines, expires = append(ids, iv.IndicatorID), append(lines, l), append(expires, exp)
			if len(ids) == privateBatch {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}

// insertTags writes tags, [privateBatch] rows per statement; a tag
// already in the set is kept with its line.
func insertTags(ctx context.Context, tx pgx.Tx, setID string, tags []store.PrivateTag) error {
	var ts [][]byte
	var lines []*string
	flush := func() error {
		if len(ts) == 0 {
			return nil
		}
		_, err := tx.Exec(ctx, `INSERT INTO private_set_tags(set_id, tag, line)
SELECT $1, u.tag, u.line FROM unnest($2::bytea[], $3::text[]) AS u(tag, line)
ON CONFLICT DO NOTHING`, setID, ts, lines)
		ts, lines = ts[:0], lines[:0]
		return err
	}
	for _, t := range tags {
		var line *string
		if t.Line != "" {
			l := t.Line
			line = &l
		}
		ts, lines = append(ts, t.Tag), append(lines, line)
		if len(ts) == privateBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

const privateSetCols = `id, member, collection, source, suite, private_key, public_key, key_log_index, created, cursor,
	(SELECT count(*) FROM private_set_tags t WHERE t.set_id = private_sets.id)`

func scanPrivateSet(row pgx.Row) (store.PrivateSet, error) {
	var p store.PrivateSet
	var created string
	var size int64
	if err := row.Scan(&p.ID, &p.Member, &p.Collection, &p.Source, &p.Suite, &p.PrivateKey, &p.PublicKey, &p.KeyLogIndex, &created, &p.Cursor, &size); err != nil {
		return p, err
	}
	p.Size = int(size)
	var err error
	p.Created, err = parseTime(created)
	return p, err
}

// PrivateSet returns one set (store.ErrNotFound).
func (s *Store) PrivateSet(ctx context.Context, id string) (store.PrivateSet, error) {
	p, err := scanPrivateSet(s.pool.QueryRow(ctx, `SELECT `+privateSetCols+` FROM private_sets WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return p, fmt.Errorf("couldn't find private set %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return p, fmt.Errorf("couldn't read a private set: %w", err)
	}
	return p, nil
}

// PrivateSetOwner returns a set's collection and member, without
// counting its tags.
func (s *Store) PrivateSetOwner(ctx context.Context, id string) (collection, member string, err error) {
	err = s.pool.QueryRow(ctx, `SELECT collection, member FROM private_sets WHERE id = $1`, id).Scan(&collection, &member)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", fmt.Errorf("couldn't find private set %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return "", "", fmt.Errorf("couldn't read a private set: %w", err)
	}
	return collection, member, nil
}

// PrivateSets returns every set, oldest first.
func (s *Store) PrivateSets(ctx context.Context) ([]store.PrivateSet, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+privateSetCols+` FROM private_sets ORDER BY created COLLATE "C", id COLLATE "C"`)
	if err != nil {
		return nil, fmt.Errorf("couldn't list private sets: %w", err)
	}
	defer rows.Close()
	var out []store.PrivateSet
	for rows.Next() {
		p, err := scanPrivateSet(rows)
		if err != nil {
			return nil, fmt.Errorf("couldn't list private sets: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("couldn't list private sets: %w", err)
	}
	return out, nil
}

// PrivateSetsFor returns the sets made from one of collections or by
// member, oldest first (see [store.PrivateSets]). It finds their ids
// through the indexes on member and collection, then reads each set by
// its id, with sequential scans off (see readIndexed): the table is
// small, and the planner would otherwise read all of it (every set,
// whoever may read it) to find a few rows; the LATERAL subquery, kept
// one by OFFSET 0, reads one collection's sets at a time, where a join
// would scan the whole collection index (see eachCollection).
func (s *Store) PrivateSetsFor(ctx context.Context, collections []string, member string) ([]store.PrivateSet, error) {
	var out []store.PrivateSet
	err := s.readIndexed(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id FROM private_sets WHERE member = $2
UNION SELECT p.id FROM `+eachCollection("$1", "c")+` CROSS JOIN LATERAL (SELECT id FROM private_sets WHERE collection = c.id OFFSET 0) AS p`, planned(args{collections, member})...)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, id := range ids {
			p, err := scanPrivateSet(tx.QueryRow(ctx, `SELECT `+privateSetCols+` FROM private_sets WHERE id = $1`, planned(args{id})...))
			if err != nil {
				return err
			}
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("couldn't list private sets: %w", err)
	}
	slices.SortFunc(out, func(a, b store.PrivateSet) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// PrivateSetTags returns the set's tags in ascending byte order.
func (s *Store) PrivateSetTags(ctx context.Context, id string) ([][]byte, error) {
	out, err := s.readTags(ctx, `SELECT tag FROM private_set_tags WHERE set_id = $1 ORDER BY tag`, id)
	if err != nil {
		return nil, fmt.Errorf("couldn't read private set tags: %w", err)
	}
	return out, nil
}

// PrivateSetTagsAfter returns up to limit tags of set id greater than
// after (nil: from the first), in order: one page of the set's tags, so
// that a caller can send a large set in bounded memory, with no read
// transaction open between pages.
func (s *Store) PrivateSetTagsAfter(ctx context.Context, id string, after []byte, limit int) ([][]byte, error) {
	if limit < 1 {
		return nil, fmt.Errorf("couldn't read private set tags: limit %d: %w", limit, store.ErrInvalid)
	}
	if after == nil {
		after = []byte{}
	}
	out, err := s.readTags(ctx, `SELECT tag FROM private_set_tags WHERE set_id = $1 AND tag > $2 ORDER BY tag LIMIT $3`, id, after, limit)
	if err != nil {
		return nil, fmt.Errorf("couldn't read private set tags: %w", err)
	}
	return out, nil
}

func (s *Store) readTags(ctx context.Context, q string, a ...any) ([][]byte, error) {
	rows, err := s.pool.Query(ctx, q, a...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var t []byte
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// PrivateSetLines returns, for a collection set, the lines that already
// have a tag, with their tags, so that only new lines need an OPRF
// evaluation.
func (s *Store) PrivateSetLines(ctx context.Context, id string) (map[string][]byte, error) {
	rows, err := s.pool.Query(ctx, `SELECT line, tag FROM private_set_tags WHERE set_id = $1 AND line IS NOT NULL`, id)
	if err != nil {
		return nil, fmt.Errorf("couldn't read private set lines: %w", err)
	}
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var l string
		var t []byte
		if err := rows.Scan(&l, &t); err != nil {
			return nil, fmt.Errorf("couldn't read private set lines: %w", err)
		}
		out[l] = t
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("couldn't read private set lines: %w", err)
	}
	return out, nil
}

// UpdatePrivateSet replaces the lines of the given indicators, adds the
// tags of new lines (newTags, with their lines), removes the tags of lines
// no indicator holds any more, and moves the set's cursor, in one
// transaction. It fails with store.ErrConflict, changing nothing, if the
// stored cursor is not fromCursor (another update ran first, perhaps on
// another front end: the set's row is locked until the commit, so two
// updates from the same cursor can't both succeed).
func (s *Store) UpdatePrivateSet(ctx context.Context, id string, fromCursor, toCursor int64, changed []store.IndicatorValues, newTags []store.PrivateTag) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var cur int64
		err := tx.QueryRow(ctx, `SELECT cursor FROM private_sets WHERE id = $1 FOR UPDATE`, id).Scan(&cur)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("couldn't update private set %q: %w", id, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if cur != fromCursor {
			return fmt.Errorf("couldn't update private set %q: cursor moved: %w", id, store.ErrConflict)
		}
		var touched []string
		if len(changed) > 0 {
			ids := make([]string, len(changed))
			for i, iv := range changed {
				ids[i] = iv.IndicatorID
			}
			rows, err := tx.Query(ctx, `DELETE FROM private_set_indicators WHERE set_id = $1 AND indicator_id = ANY($2::text[]) RETURNING line`, id, ids)
			if err != nil {
				return err
			}
			for rows.Next() {
				var l string
				if err := rows.Scan(&l); err != nil {
					rows.Close()
					return err
				}
				touched = append(touched, l)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		if err := insertIndicators(ctx, tx, id, changed); err != nil {
			return err
		}
		if err := insertTags(ctx, tx, id, newTags); err != nil {
			return err
		}
		if err := deleteOrphanTags(ctx, tx, id, touched); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE private_sets SET cursor = $1 WHERE id = $2`, toCursor, id)
		return err
	})
	if err != nil && !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("couldn't update private set %q: %w", id, err)
	}
	return err
}

// deleteOrphanTags removes the tags of those of lines that no indicator
// of the set holds any more, [privateBatch] lines per statement.
func deleteOrphanTags(ctx context.Context, tx pgx.Tx, id string, lines []string) error {
	slices.Sort(lines)
	lines = slices.Compact(lines)
	for len(lines) > 0 {
		n := min(len(lines), privateBatch)
		if _, err := tx.Exec(ctx, `DELETE FROM private_set_tags t WHERE t.set_id = $1 AND t.line = ANY($2::text[])
AND NOT EXISTS (SELECT 1 FROM private_set_indicators i WHERE i.set_id = $1 AND i.line = t.line)`, id, lines[:n]); err != nil {
			return err
		}
		lines = lines[n:]
	}
	return nil
}

// ExpirePrivateIndicators removes from a collection set the indicators
// whose valid_until is at or before now, and the tags of lines no
// remaining indicator holds, in one transaction. It returns how many
// indicator lines expired.
func (s *Store) ExpirePrivateIndicators(ctx context.Context, id string, now time.Time) (int, error) {
	n := 0
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		n = 0
		rows, err := tx.Query(ctx, `DELETE FROM private_set_indicators WHERE set_id = $1 AND expires IS NOT NULL AND expires <= $2 RETURNING line`, id, now)
		if err != nil {
			return err
		}
		var lines []string
		for rows.Next() {
			var l string
			if err := rows.Scan(&l); err != nil {
				rows.Close()
				return err
			}
			lines = append(lines, l)
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(lines) == 0 {
			return err
		}
		n = len(lines)
		return deleteOrphanTags(ctx, tx, id, lines)
	})
	if err != nil {
		return 0, fmt.Errorf("couldn't expire the indicators of private set %q: %w", id, err)
	}
	return n, nil
}

// SpendPrivateBudget charges n evaluated elements to member's budget for
// the set and returns what is left of limit. If fewer than n remain it
// charges nothing and fails with [store.ErrBudgetSpent]; a negative n is
// store.ErrInvalid, and an unknown set store.ErrNotFound. The charge is
// committed before the evaluation is returned, so a crash cannot refund
// queries.
//
// The budget is exact however many front ends share the database: the
// charge is one conditional upsert (... DO UPDATE ... WHERE used + n <=
// limit), which locks the (set, member) row and tests the limit against
// its latest committed value, so concurrent spenders take turns and
// their sum never passes the limit.
func (s *Store) SpendPrivateBudget(ctx context.Context, setID, member string, n, limit int64) (left int64, err error) {
	if n < 0 {
		return 0, fmt.Errorf("couldn't charge a query budget: %d elements: %w", n, store.ErrInvalid)
	}
	var spent bool
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		// A set withdrawn since the caller read it charges nothing; the
		// share lock waits for a withdrawal under way (RemovePrivateSet).
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM private_sets WHERE id = $1 FOR SHARE`, setID).Scan(&one); errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("couldn't charge a query budget: private set %q: %w", setID, store.ErrNotFound)
		} else if err != nil {
			return err
		}
		var used int64
		err := tx.QueryRow(ctx, `INSERT INTO private_budget(set_id, member, used) SELECT $1, $2, $3::bigint WHERE $3::bigint <= $4::bigint
ON CONFLICT (set_id, member) DO UPDATE SET used = private_budget.used + EXCLUDED.used
WHERE private_budget.used + EXCLUDED.used <= $4::bigint
RETURNING used`, setID, member, n, limit).Scan(&used)
		if err == nil {
			spent, left = false, limit-used
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		// Nothing charged: read what is left for the error.
		err = tx.QueryRow(ctx, `SELECT used FROM private_budget WHERE set_id = $1 AND member = $2`, setID, member).Scan(&used)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		spent, left = true, max(0, limit-used)
		return nil
	})
	switch {
	case isForeignKey(err):
		return 0, fmt.Errorf("couldn't charge a query budget: private set %q: %w", setID, store.ErrNotFound)
	case err != nil:
		return 0, fmt.Errorf("couldn't charge a query budget: %w", err)
	case spent:
		return left, fmt.Errorf("%w: %d of %d queries left, %d asked", store.ErrBudgetSpent, left, limit, n)
	}
	return left, nil
}

// PrivateBudgetUsed returns how many elements member has had evaluated
// against the set.
func (s *Store) PrivateBudgetUsed(ctx context.Context, setID, member string) (int64, error) {
	var used int64
	err := s.pool.QueryRow(ctx, `SELECT used FROM private_budget WHERE set_id = $1 AND member = $2`, setID, member).Scan(&used)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("couldn't read a query budget: %w", err)
	}
	return used, nil
}

// privateSetCountsSQL counts a member's ($1) sets, and those made from
// collection $2 ($3 is the collection source).
const privateSetCountsSQL = `SELECT count(*), count(*) FILTER (WHERE collection = $2 AND source = $3) FROM private_sets WHERE member = $1`

// PrivateSetCounts implements [store.PrivateSets].
func (s *Store) PrivateSetCounts(ctx context.Context, member, collection string) (int, int, error) {
	var all, fromColl int
	if err := s.pool.QueryRow(ctx, privateSetCountsSQL, member, collection, string(store.PrivateSourceCollection)).Scan(&all, &fromColl); err != nil {
		return 0, 0, fmt.Errorf("couldn't count private sets: %w", err)
	}
	return all, fromColl, nil
}

// RemovePrivateSet implements [store.PrivateSets]. The withdrawal entry
// takes its index and time from the locked log head (logTx); the set's
// row is locked for update, so that a charge (SpendPrivateBudget) or an
// evaluation's guard (PrivateSetLive) under way on another front end
// is waited for, or waits for the withdrawal and then finds no set.
func (s *Store) RemovePrivateSet(ctx context.Context, w store.PrivateWithdrawal) (store.WithdrawnPrivateSet, error) {
	if w.Entry == nil {
		return store.WithdrawnPrivateSet{}, fmt.Errorf("couldn't withdraw private set %q: no withdrawal entry: %w", w.ID, store.ErrInvalid)
	}
	var out store.WithdrawnPrivateSet
	err := s.logTx(ctx, func(tx pgx.Tx, h *logHead) error {
		out = store.WithdrawnPrivateSet{}
		var created string
		err := tx.QueryRow(ctx, `SELECT member, collection, suite, public_key, key_log_index, created FROM private_sets WHERE id = $1 FOR UPDATE`, w.ID).
			Scan(&out.Member, &out.Collection, &out.Suite, &out.PublicKey, &out.KeyLogIndex, &created)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && out.Member != w.Member) {
			return fmt.Errorf("couldn't withdraw private set %q: %w", w.ID, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		out.ID = w.ID
		if out.Created, err = parseTime(created); err != nil {
			return err
		}
		var keyLeaf []byte
		if err := tx.QueryRow(ctx, `SELECT leaf FROM log_entries WHERE idx = $1`, out.KeyLogIndex).Scan(&keyLeaf); err != nil {
			return fmt.Errorf("couldn't read the key entry of private set %q: %w", w.ID, err)
		}
		idx, received := h.take(s.now())
		leaf, err := w.Entry(idx, received, keyLeaf)
		if err != nil {
			return err
		}
		if err := insertEntry(ctx, tx, idx, leaf, w.Salt, out.Collection, w.ID, received, out.Member, received, tlog.KindOPRFWithdrawal); err != nil {
			return err
		}
		out.Withdrawn, out.WithdrawalLogIndex = received, idx
		st := statementColumns(w.Statement)
		if _, err := tx.Exec(ctx, `INSERT INTO private_set_withdrawals(id, member, collection, suite, public_key, key_log_index, created, withdrawn, withdrawal_log_index, signed, nonce, signer, signature)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			w.ID, out.Member, out.Collection, out.Suite, out.PublicKey, out.KeyLogIndex, created, fmtTime(received), idx, st[0], st[1], st[2], st[3]); err != nil {
			return err
		}
		out.Statement = w.Statement
		// Who could read the set as it is withdrawn: its provider and the
		// readers of its collection (the node's readableSet rule).
		if _, err := tx.Exec(ctx, `INSERT INTO private_set_withdrawal_readers(set_id, member)
SELECT $1, member FROM collection_access WHERE collection = $2 AND can_read UNION SELECT $1, $3::text
ON CONFLICT DO NOTHING`, w.ID, out.Collection, out.Member); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM private_budget WHERE set_id = $1`,
			`DELETE FROM private_set_indicators WHERE set_id = $1`,
			`DELETE FROM private_set_tags WHERE set_id = $1`,
			`DELETE FROM private_sets WHERE id = $1`,
		} {
			if _, err := tx.Exec(ctx, q, w.ID); err != nil {
				return fmt.Errorf("couldn't withdraw private set %q: %w", w.ID, err)
			}
		}
		return nil
	})
	if err != nil {
		return store.WithdrawnPrivateSet{}, err
	}
	return out, nil
}

// WithdrawnPrivateSet implements [store.PrivateSets]: one lookup by the
// readers' primary key.
func (s *Store) WithdrawnPrivateSet(ctx context.Context, id, member string) (store.WithdrawnPrivateSet, error) {
	var out store.WithdrawnPrivateSet
	var created, withdrawn string
	var signed *string
	var st store.WithdrawalStatement
	err := s.pool.QueryRow(ctx, `SELECT w.id, w.member, w.collection, w.suite, w.public_key, w.key_log_index, w.created, w.withdrawn, w.withdrawal_log_index,
	w.signed, w.nonce, w.signer, w.signature
FROM private_set_withdrawal_readers r JOIN private_set_withdrawals w ON w.id = r.set_id WHERE r.set_id = $1 AND r.member = $2`, id, member).
		Scan(&out.ID, &out.Member, &out.Collection, &out.Suite, &out.PublicKey, &out.KeyLogIndex, &created, &withdrawn, &out.WithdrawalLogIndex,
			&signed, &st.Nonce, &st.Signer, &st.Signature)
	if errors.Is(err, pgx.ErrNoRows) {
		return out, fmt.Errorf("couldn't find private set %q: %w", id, store.ErrNotFound)
	}
	if err == nil {
		out.Created, err = parseTime(created)
	}
	if err == nil {
		out.Withdrawn, err = parseTime(withdrawn)
	}
	if err == nil && signed != nil {
		if st.Signed, err = parseTime(*signed); err == nil {
			out.Statement = &st
		}
	}
	if err != nil {
		return store.WithdrawnPrivateSet{}, fmt.Errorf("couldn't read a withdrawn private set: %w", err)
	}
	return out, nil
}

// PrivateSetLive implements [store.PrivateSets]. The share lock waits
// for a withdrawal under way on any front end (RemovePrivateSet locks the
// row for update), after which the row is gone: a set found here is
// withdrawn, if ever, by a transaction that commits after this read.
func (s *Store) PrivateSetLive(ctx context.Context, id string) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var one int
		return tx.QueryRow(ctx, `SELECT 1 FROM private_sets WHERE id = $1 FOR SHARE`, id).Scan(&one)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("couldn't find private set %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("couldn't read a private set: %w", err)
	}
	return nil
}

// statementColumns returns the signed, nonce, signer and signature
// columns of a withdrawal's statement, all NULL for none.
func statementColumns(st *store.WithdrawalStatement) [4]any {
	if st == nil {
		return [4]any{}
	}
	return [4]any{fmtTime(st.Signed), st.Nonce, st.Signer, st.Signature}
}
