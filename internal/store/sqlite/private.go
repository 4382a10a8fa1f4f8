package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

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
func init() {
	registerMigrations(migration{200, "private sets", `
CREATE TABLE private_sets (
	id            TEXT PRIMARY KEY,
	member        TEXT NOT NULL REFERENCES members(id),
	collection    TEXT NOT NULL REFERENCES collections(id),
	source        TEXT NOT NULL,
	suite         TEXT NOT NULL,
	private_key   BLOB NOT NULL,
	public_key    BLOB NOT NULL,
	key_log_index INTEGER NOT NULL UNIQUE REFERENCES log_entries(idx),
	created       TEXT NOT NULL,
	cursor        INTEGER NOT NULL
);
CREATE TABLE private_set_tags (
	set_id TEXT NOT NULL REFERENCES private_sets(id),
	tag    BLOB NOT NULL,
	line   TEXT,
	PRIMARY KEY (set_id, tag)
) WITHOUT ROWID;
CREATE TABLE private_set_indicators (
	set_id       TEXT NOT NULL REFERENCES private_sets(id),
	indicator_id TEXT NOT NULL,
	line         TEXT NOT NULL,
	PRIMARY KEY (set_id, indicator_id, line)
) WITHOUT ROWID;
CREATE INDEX private_set_indicators_line ON private_set_indicators(set_id, line);
CREATE TABLE private_budget (
	set_id TEXT NOT NULL REFERENCES private_sets(id),
	member TEXT NOT NULL,
	used   INTEGER NOT NULL,
	PRIMARY KEY (set_id, member)
) WITHOUT ROWID;
`}, migration{201, "private set indicator expiry", `
ALTER TABLE private_set_indicators ADD COLUMN expires TEXT;
CREATE INDEX private_set_indicators_expires ON private_set_indicators(set_id, expires) WHERE expires IS NOT NULL;
`}, migration{202, "private sets by collection and member", `
CREATE INDEX private_sets_collection ON private_sets(collection);
CREATE INDEX private_sets_member ON private_sets(member);
`}, migration{860, "withdrawn private sets and their readers", `
CREATE TABLE private_set_withdrawals (
	id                   TEXT PRIMARY KEY,
	member               TEXT NOT NULL,
	collection           TEXT NOT NULL,
	suite                TEXT NOT NULL,
	public_key           BLOB NOT NULL,
	key_log_index        INTEGER NOT NULL UNIQUE REFERENCES log_entries(idx),
	created              TEXT NOT NULL,
	withdrawn            TEXT NOT NULL,
	withdrawal_log_index INTEGER NOT NULL UNIQUE REFERENCES log_entries(idx)
);
CREATE TABLE private_set_withdrawal_readers (
	set_id TEXT NOT NULL REFERENCES private_set_withdrawals(id),
	member TEXT NOT NULL,
	PRIMARY KEY (set_id, member)
) WITHOUT ROWID;
`}, migration{890, "the provider's signed statement of a withdrawal", `
ALTER TABLE private_set_withdrawals ADD COLUMN signed TEXT;
ALTER TABLE private_set_withdrawals ADD COLUMN nonce BLOB;
ALTER TABLE private_set_withdrawals ADD COLUMN signer BLOB;
ALTER TABLE private_set_withdrawals ADD COLUMN signature BLOB;
`})
}

// CreatePrivateSet stores a new set and appends the log entry that commits
// its public key, in one transaction; set.KeyLogIndex is assigned. It
// fails with store.ErrConflict for a taken id and store.ErrNotFound for an
// unknown collection or member, changing nothing.
func (s *Store) CreatePrivateSet(ctx context.Context, n store.NewPrivateSet) (store.PrivateSet, error) {
	set := n.Set
	if set.ID == "" || len(set.PublicKey) == 0 || len(set.PrivateKey) == 0 || n.KeyEntry == nil {
		return store.PrivateSet{}, fmt.Errorf("couldn't create a private set: missing id, key or entry: %w", store.ErrInvalid)
	}
	err := s.Write(ctx, func(tx *sql.Tx) error {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM collections WHERE id = ?`, set.Collection).Scan(&one); errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("couldn't create a private set: collection %q: %w", set.Collection, store.ErrNotFound)
		} else if err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM private_sets WHERE id = ? UNION ALL SELECT 1 FROM private_set_withdrawals WHERE id = ?`, set.ID, set.ID).Scan(&one); err == nil {
			return fmt.Errorf("couldn't create private set %q: %w", set.ID, store.ErrConflict)
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		have, fromColl, err := privateSetCounts(ctx, tx, set.Member, set.Collection)
		if err != nil {
			return err
		}
		if n.MaxPerMember > 0 && have >= n.MaxPerMember {
			return &store.SetLimitError{Member: set.Member, Have: have, Most: n.MaxPerMember}
		}
		if set.Source == store.PrivateSourceCollection && fromColl > 0 {
			return fmt.Errorf("couldn't create private set %q: its member has a set made from collection %s already: %w", set.ID, set.Collection, store.ErrConflict)
		}
		next, received, err := s.nextEntry(ctx, tx)
		if err != nil {
			return err
		}
		if n.CheckWriter {
			if err := checkMember(ctx, tx, set.Collection, set.Member, true, false, nil); err != nil {
				return err
			}
		}
		leaf, err := n.KeyEntry(next, received)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO log_entries(idx, leaf, salt, collection, object_id, version, member, received, kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			next, leaf, n.Salt, set.Collection, set.ID, fmtTime(n.Version), set.Member, fmtTime(received), tlog.KindOPRFKey); err != nil {
			return err
		}
		set.KeyLogIndex = next
		if _, err := tx.ExecContext(ctx, `INSERT INTO private_sets(id, member, collection, source, suite, private_key, public_key, key_log_index, created, cursor) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			set.ID, set.Member, set.Collection, set.Source, set.Suite, set.PrivateKey, set.PublicKey, set.KeyLogIndex, fmtTime(set.Created), set.Cursor); err != nil {
			if isUnique(err) {
				return fmt.Errorf("couldn't create private set %q: %w", set.ID, store.ErrConflict)
			}
			return err
		}
		if err := insertIndicators(ctx, tx, set.ID, n.Indicators); err != nil {
			return err
		}
		if err := insertTags(ctx, tx, set.ID, n.Tags); err != nil {
			return err
		}
		return s.charge(ctx, tx, set.Member, store.PrivateSetBytes(n))
	})
	if err != nil {
		return store.PrivateSet{}, err
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

func insertIndicators(ctx context.Context, tx *sql.Tx, setID string, ivs []store.IndicatorValues) error {
	ins, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO private_set_indicators(set_id, indicator_id, line, expires) VALUES (?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer ins.Close()
	for _, iv := range ivs {
		var expires any
		if !iv.Expires.IsZero() {
			expires = fmtTime(iv.Expires)
		}
		for _, l := range iv.Lines {
			if _, err := ins.ExecContext(ctx, setID, iv.IndicatorID, l, expires); err != nil {
				return err
			}
		}
	}
	return nil
}

func insertTags(ctx context.Context, tx *sql.Tx, setID string, tags []store.PrivateTag) error {
	ins, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO private_set_tags(set_id, tag, line) VALUES (?, ?, ?)`)
	if err != nil {
		return err
	}
	defer ins.Close()
	for _, t := range tags {
		var line any
		if t.Line != "" {
			line = t.Line
		}
		if _, err := ins.ExecContext(ctx, setID, t.Tag, line); err != nil {
			return err
		}
	}
	return nil
}

const privateSetCols = `id, member, collection, source, suite, private_key, public_key, key_log_index, created, cursor,
	(SELECT count(*) FROM private_set_tags t WHERE t.set_id = private_sets.id)`

func scanPrivateSet(row interface{ Scan(...any) error }) (store.PrivateSet, error) {
	var p store.PrivateSet
	var created string
	if err := row.Scan(&p.ID, &p.Member, &p.Collection, &p.Source, &p.Suite, &p.PrivateKey, &p.PublicKey, &p.KeyLogIndex, &created, &p.Cursor, &p.Size); err != nil {
		return p, err
	}
	var err error
	p.Created, err = parseTime(created)
	return p, err
}

// PrivateSet returns one set (store.ErrNotFound).
func (s *Store) PrivateSet(ctx context.Context, id string) (store.PrivateSet, error) {
	p, err := scanPrivateSet(s.r.QueryRowContext(ctx, `SELECT `+privateSetCols+` FROM private_sets WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
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
	err = s.r.QueryRowContext(ctx, `SELECT collection, member FROM private_sets WHERE id = ?`, id).Scan(&collection, &member)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", fmt.Errorf("couldn't find private set %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return "", "", fmt.Errorf("couldn't read a private set: %w", err)
	}
	return collection, member, nil
}

// PrivateSets returns every set, oldest first.
func (s *Store) PrivateSets(ctx context.Context) ([]store.PrivateSet, error) {
	return s.listPrivateSets(ctx, `SELECT `+privateSetCols+` FROM private_sets ORDER BY created, id`)
}

// listPrivateSets runs q, which selects privateSetCols.
func (s *Store) listPrivateSets(ctx context.Context, q string, args ...any) ([]store.PrivateSet, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
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
	return out, rows.Err()
}

// PrivateSetsFor returns the sets made from one of collections or by
// member, oldest first, each found through an index on its collection or
// member (see [store.PrivateSets]).
func (s *Store) PrivateSetsFor(ctx context.Context, collections []string, member string) ([]store.PrivateSet, error) {
	q := `SELECT id FROM private_sets WHERE member = ?`
	args := []any{member}
	if len(collections) > 0 {
		q += ` UNION SELECT id FROM private_sets WHERE collection IN (` + placeholders(len(collections)) + `)`
		args = append(args, strArgs(collections)...)
	}
	return s.listPrivateSets(ctx, `SELECT `+privateSetCols+` FROM private_sets WHERE id IN (`+q+`) ORDER BY created, id`, args...)
}

// PrivateSetTags returns the set's tags in ascending byte order.
func (s *Store) PrivateSetTags(ctx context.Context, id string) ([][]byte, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT tag FROM private_set_tags WHERE set_id = ? ORDER BY tag`, id)
	if err != nil {
		return nil, fmt.Errorf("couldn't read private set tags: %w", err)
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var t []byte
		if err := rows.Scan(&t); err != nil {
			return nil, fmt.Errorf("couldn't read private set tags: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// PrivateSetLines returns, for a collection set, which of lines already
// have a tag, so that only new lines need an OPRF evaluation.
func (s *Store) PrivateSetLines(ctx context.Context, id string) (map[string][]byte, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT line, tag FROM private_set_tags WHERE set_id = ? AND line IS NOT NULL`, id)
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
	return out, rows.Err()
}

// UpdatePrivateSet replaces the lines of the given indicators, adds the
// tags of new lines (newTags, with their lines), removes the tags of lines
// no indicator holds any more, and moves the set's cursor, in one
// transaction. It fails with store.ErrConflict, changing nothing, if the
// stored cursor is not fromCursor (another update ran first).
func (s *Store) UpdatePrivateSet(ctx context.Context, id string, fromCursor, toCursor int64, changed []store.IndicatorValues, newTags []store.PrivateTag) error {
	return s.Write(ctx, func(tx *sql.Tx) error {
		var cur int64
		err := tx.QueryRowContext(ctx, `SELECT cursor FROM private_sets WHERE id = ?`, id).Scan(&cur)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("couldn't update private set %q: %w", id, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if cur != fromCursor {
			return fmt.Errorf("couldn't update private set %q: cursor moved: %w", id, store.ErrConflict)
		}
		var touched []string
		for _, iv := range changed {
			rows, err := tx.QueryContext(ctx, `SELECT line FROM private_set_indicators WHERE set_id = ? AND indicator_id = ?`, id, iv.IndicatorID)
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
			if _, err := tx.ExecContext(ctx, `DELETE FROM private_set_indicators WHERE set_id = ? AND indicator_id = ?`, id, iv.IndicatorID); err != nil {
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
		_, err = tx.ExecContext(ctx, `UPDATE private_sets SET cursor = ? WHERE id = ?`, toCursor, id)
		return err
	})
}

// deleteOrphanTags removes the tags of lines that no indicator of the set
// holds any more.
func deleteOrphanTags(ctx context.Context, tx *sql.Tx, id string, lines []string) error {
	slices.Sort(lines)
	for _, l := range slices.Compact(lines) {
		if _, err := tx.ExecContext(ctx, `DELETE FROM private_set_tags WHERE set_id = ? AND line = ? AND NOT EXISTS (SELECT 1 FROM private_set_indicators WHERE set_id = ? AND line = ?)`, id, l, id, l); err != nil {
			return err
		}
	}
	return nil
}

// ExpirePrivateIndicators removes from a collection set the indicators
// whose valid_until is at or before now, and the tags of lines no
// remaining indicator holds, in one transaction. It returns how many
// indicator lines expired.
func (s *Store) ExpirePrivateIndicators(ctx context.Context, id string, now time.Time) (int, error) {
	n := 0
	err := s.Write(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT line FROM private_set_indicators WHERE set_id = ? AND expires IS NOT NULL AND expires <= ?`, id, fmtTime(now))
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
		if _, err := tx.ExecContext(ctx, `DELETE FROM private_set_indicators WHERE set_id = ? AND expires IS NOT NULL AND expires <= ?`, id, fmtTime(now)); err != nil {
			return err
		}
		n = len(lines)
		return deleteOrphanTags(ctx, tx, id, lines)
	})
	return n, err
}

// SpendPrivateBudget charges n evaluated elements to member's budget for
// the set and returns what is left of limit. If fewer than n remain it
// charges nothing and fails with [store.ErrBudgetSpent]. The charge is durable
// before the evaluation is returned, so a crash cannot refund queries.
func (s *Store) SpendPrivateBudget(ctx context.Context, setID, member string, n, limit int64) (left int64, err error) {
	err = s.Write(ctx, func(tx *sql.Tx) error {
		// A set withdrawn since the caller read it charges nothing.
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM private_sets WHERE id = ?`, setID).Scan(&one); errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("couldn't charge a query budget: private set %q: %w", setID, store.ErrNotFound)
		} else if err != nil {
			return err
		}
		var used int64
		err := tx.QueryRowContext(ctx, `SELECT used FROM private_budget WHERE set_id = ? AND member = ?`, setID, member).Scan(&used)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if used+n > limit {
			left = max(0, limit-used)
			return fmt.Errorf("%w: %d of %d queries left, %d asked", store.ErrBudgetSpent, left, limit, n)
		}
		left = limit - used - n
		_, err = tx.ExecContext(ctx, `INSERT INTO private_budget(set_id, member, used) VALUES (?, ?, ?)
			ON CONFLICT(set_id, member) DO UPDATE SET used = excluded.used`, setID, member, used+n)
		return err
	})
	return left, err
}

// PrivateBudgetUsed returns how many elements member has had evaluated
// against the set.
func (s *Store) PrivateBudgetUsed(ctx context.Context, setID, member string) (int64, error) {
	var used int64
	err := s.r.QueryRowContext(ctx, `SELECT used FROM private_budget WHERE set_id = ? AND member = ?`, setID, member).Scan(&used)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("couldn't read a query budget: %w", err)
	}
	return used, nil
}

// PrivateSetCounts implements [store.PrivateSets].
func (s *Store) PrivateSetCounts(ctx context.Context, member, collection string) (int, int, error) {
	all, fromColl, err := privateSetCounts(ctx, s.r, member, collection)
	if err != nil {
		return 0, 0, fmt.Errorf("couldn't count private sets: %w", err)
	}
	return all, fromColl, nil
}

func privateSetCounts(ctx context.Context, q queryRower, member, collection string) (all, fromColl int, err error) {
	err = q.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE collection = ? AND source = ?) FROM private_sets WHERE member = ?`,
		collection, string(store.PrivateSourceCollection), member).Scan(&all, &fromColl)
	return all, fromColl, err
}

// RemovePrivateSet implements [store.PrivateSets].
func (s *Store) RemovePrivateSet(ctx context.Context, w store.PrivateWithdrawal) (store.WithdrawnPrivateSet, error) {
	if w.Entry == nil {
		return store.WithdrawnPrivateSet{}, fmt.Errorf("couldn't withdraw private set %q: no withdrawal entry: %w", w.ID, store.ErrInvalid)
	}
	var out store.WithdrawnPrivateSet
	err := s.Write(ctx, func(tx *sql.Tx) error {
		var created string
		err := tx.QueryRowContext(ctx, `SELECT member, collection, suite, public_key, key_log_index, created FROM private_sets WHERE id = ?`, w.ID).
			Scan(&out.Member, &out.Collection, &out.Suite, &out.PublicKey, &out.KeyLogIndex, &created)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && out.Member != w.Member) {
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
		if err := tx.QueryRowContext(ctx, `SELECT leaf FROM log_entries WHERE idx = ?`, out.KeyLogIndex).Scan(&keyLeaf); err != nil {
			return fmt.Errorf("couldn't read the key entry of private set %q: %w", w.ID, err)
		}
		next, received, err := s.nextEntry(ctx, tx)
		if err != nil {
			return err
		}
		leaf, err := w.Entry(next, received, keyLeaf)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO log_entries(idx, leaf, salt, collection, object_id, version, member, received, kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			next, leaf, w.Salt, out.Collection, w.ID, fmtTime(received), out.Member, fmtTime(received), tlog.KindOPRFWithdrawal); err != nil {
			return err
		}
		out.Withdrawn, out.WithdrawalLogIndex = received, next
		st := statementColumns(w.Statement)
		if _, err := tx.ExecContext(ctx, `INSERT INTO private_set_withdrawals(id, member, collection, suite, public_key, key_log_index, created, withdrawn, withdrawal_log_index, signed, nonce, signer, signature) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			w.ID, out.Member, out.Collection, out.Suite, out.PublicKey, out.KeyLogIndex, created, fmtTime(received), next, st[0], st[1], st[2], st[3]); err != nil {
			return err
		}
		out.Statement = w.Statement
		// Who could read the set as it is withdrawn: its provider and the
		// readers of its collection (readableSet's rule).
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO private_set_withdrawal_readers(set_id, member)
			SELECT ?, member FROM collection_access WHERE collection = ? AND can_read UNION SELECT ?, ?`, w.ID, out.Collection, w.ID, out.Member); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM private_budget WHERE set_id = ?`,
			`DELETE FROM private_set_indicators WHERE set_id = ?`,
			`DELETE FROM private_set_tags WHERE set_id = ?`,
			// The private key is overwritten before its row is deleted,
			// so that the deleted row's page doesn't keep it.
			`UPDATE private_sets SET private_key = zeroblob(length(private_key)) WHERE id = ?`,
			`DELETE FROM private_sets WHERE id = ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, w.ID); err != nil {
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
	var signed sql.NullString
	var st store.WithdrawalStatement
	err := s.r.QueryRowContext(ctx, `SELECT w.id, w.member, w.collection, w.suite, w.public_key, w.key_log_index, w.created, w.withdrawn, w.withdrawal_log_index,
		w.signed, w.nonce, w.signer, w.signature
		FROM private_set_withdrawal_readers r JOIN private_set_withdrawals w ON w.id = r.set_id WHERE r.set_id = ? AND r.member = ?`, id, member).
		Scan(&out.ID, &out.Member, &out.Collection, &out.Suite, &out.PublicKey, &out.KeyLogIndex, &created, &withdrawn, &out.WithdrawalLogIndex,
			&signed, &st.Nonce, &st.Signer, &st.Signature)
	if errors.Is(err, sql.ErrNoRows) {
		return out, fmt.Errorf("couldn't find private set %q: %w", id, store.ErrNotFound)
	}
	if err == nil {
		out.Created, err = parseTime(created)
	}
	if err == nil {
		out.Withdrawn, err = parseTime(withdrawn)
	}
	if err == nil && signed.Valid {
		if st.Signed, err = parseTime(signed.String); err == nil {
			out.Statement = &st
		}
	}
	if err != nil {
		return store.WithdrawnPrivateSet{}, fmt.Errorf("couldn't read a withdrawn private set: %w", err)
	}
	return out, nil
}

// PrivateSetLive implements [store.PrivateSets]. SQLite has one writer,
// and a read sees every transaction committed before it began: a set
// read here was not yet withdrawn when the read began, so the withdrawal
// (and its 204) comes after.
func (s *Store) PrivateSetLive(ctx context.Context, id string) error {
	var one int
	err := s.r.QueryRowContext(ctx, `SELECT 1 FROM private_sets WHERE id = ?`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
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
