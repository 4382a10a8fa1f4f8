package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/parley-exchange/parley/internal/store"
)

// Submit implements [store.Store].
//
// Submissions that arrive while the writer is busy are committed together
// (group commit): they share one transaction, and every Submit of the
// group returns only after the one COMMIT, with synchronous=FULL, made
// them all durable. Each is still all or nothing: a failing one reports
// its own error and the others are written without it (see
// [Store.submitGroup]); if the commit fails, every Submit of the group
// fails and nothing of it was stored. This costs one fsync per group
// instead of one per submission, and the statements are prepared once per
// group.
func (s *Store) Submit(ctx context.Context, sub store.Submission) (store.Status, error) {
	if sub.StatusID == "" {
		return store.Status{}, fmt.Errorf("couldn't submit: empty status id: %w", store.ErrInvalid)
	}
	req := &submitRequest{ctx: ctx, sub: sub}
	s.qmu.Lock()
	s.queue = append(s.queue, req)
	s.qmu.Unlock()

	s.mu.Lock()
	defer s.mu.Unlock()
	// Whoever held the writer before may have taken req into its group;
	// it finished the group before releasing s.mu, so req.done is set.
	// Otherwise req is still queued, and this caller commits groups from
	// the front of the queue until its own is done.
	for !req.done {
		// Oldest first, up to maxGroupItems items (at least one
		// submission), so that a transaction and the wait of the first
		// caller in it stay bounded however many callers queue.
		s.qmu.Lock()
		n, items := 0, 0
		for n < len(s.queue) && (n == 0 || items+len(s.queue[n].sub.Items) <= maxGroupItems) {
			items += len(s.queue[n].sub.Items)
			n++
		}
		group := s.queue[:n:n]
		s.queue = s.queue[n:]
		s.qmu.Unlock()
		s.submitGroup(group)
	}
	return req.st, req.err
}

// maxGroupItems bounds the items of one group commit (a variable for
// tests).
var maxGroupItems = 10_000

// submitRequest is one [Store.Submit] call waiting for a group commit.
// Its fields after ctx and sub are written under Store.mu.
type submitRequest struct {
	ctx  context.Context
	sub  store.Submission
	st   store.Status
	err  error
	done bool
}

// submitStmts are the statements a group of submissions shares.
type submitStmts struct {
	byVersion, otherContent, insEntry, insObject, owner, setOwner, insValue *sql.Stmt
	// tx is the group's transaction, in which indexText prepares the
	// statements of insText.
	tx *sql.Tx
	// uiText is whether the group indexes the words of its object
	// versions (see Store.uiText); insText holds, by collection, the
	// statement that indexes an object's words in the collection's
	// full-text table, prepared by indexText for each of texts at the
	// end of the group.
	uiText  bool
	insText map[string]*sql.Stmt
	texts   []uiTextRow
}

// uiTextRow is an object version inserted by the group, whose words
// indexText indexes before the commit.
type uiTextRow struct {
	collection string
	seq        int64
	raw        []byte
}

// indexText indexes the words of the group's new object versions in
// their collections' full-text tables (see uiTextTable), after all of
// the group's other writes. Any statement that runs
// with a statement journal (the objects INSERT, with its triggers, does)
// makes FTS5 write its pending words to disk as a new segment when the
// full-text table is already part of the transaction; writing them last
// keeps them in FTS5's memory until the one flush at the commit.
func (ps *submitStmts) indexText(ctx context.Context) error {
	made := map[string]bool{}
	for _, t := range ps.texts {
		if made[t.collection] {
			continue
		}
		st := ps.insText[t.collection]
		if st == nil {
			// A collection without its table (added by a process that
			// had no FTS5) gets it now, with every object it holds,
			// this group's included.
			created, err := createUIText(ctx, ps.tx, t.collection)
			if err != nil {
				return err
			}
			if created {
				made[t.collection] = true
				continue
			}
			if st, err = ps.tx.PrepareContext(ctx, insertUIText(t.collection)); err != nil {
				return err
			}
			ps.insText[t.collection] = st
		}
		if _, err := st.ExecContext(ctx, t.seq, t.raw); err != nil {
			return err
		}
	}
	ps.texts = nil
	return nil
}

func (s *Store) prepareSubmit(ctx context.Context, tx *sql.Tx) (*submitStmts, error) {
	ps := submitStmts{tx: tx, uiText: s.uiText, insText: map[string]*sql.Stmt{}}
	var err error
	if ps.byVersion, err = tx.PrepareContext(ctx, `SELECT raw FROM objects WHERE collection = ? AND object_id = ? AND version = ?`); err != nil {
		return nil, err
	}
	// An id and version name one object everywhere: the same version may be
	// shared into several collections, but only with the same content. A
	// peer's copy (stored under a peer's member, claiming no id) is not
	// compared: the peer's log, not this node's first writer, says whose
	// it is, so a peer that logged an id and version first can't keep a
	// member of this node from sharing it (docs/federation.md).
	if ps.otherContent, err = tx.PrepareContext(ctx, `SELECT collection FROM objects WHERE object_id = ? AND version = ? AND raw != ?
		AND NOT EXISTS (SELECT 1 FROM peers WHERE peers.member = objects.member) LIMIT 1`); err != nil {
		ps.close()
		return nil, err
	}
	if ps.owner, err = tx.PrepareContext(ctx, `SELECT member FROM object_owners WHERE object_id = ?`); err != nil {
		ps.close()
		return nil, err
	}
	if ps.setOwner, err = tx.PrepareContext(ctx, `INSERT INTO object_owners(object_id, member) VALUES (?, ?) ON CONFLICT (object_id) DO NOTHING`); err != nil {
		ps.close()
		return nil, err
	}
	if ps.insValue, err = tx.PrepareContext(ctx, insertUIValue); err != nil {
		ps.close()
		return nil, err
	}
	if ps.insEntry, err = tx.PrepareContext(ctx, `INSERT INTO log_entries(idx, leaf, salt, collection, object_id, version, member, received) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`); err != nil {
		ps.close()
		return nil, err
	}
	if ps.insObject, err = tx.PrepareContext(ctx, `INSERT INTO objects(collection, object_id, type, spec_version, version, date_added, member, signed, raw, log_index, is_first, is_last) `+
		`VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, `+
		`NOT EXISTS (SELECT 1 FROM objects WHERE collection = ?1 AND object_id = ?2 AND version < ?5), `+
		`NOT EXISTS (SELECT 1 FROM objects WHERE collection = ?1 AND object_id = ?2 AND version > ?5)) `+
		`ON CONFLICT (collection, object_id, version) DO NOTHING`); err != nil {
		ps.close()
		return nil, err
	}
	return &ps, nil
}

func (ps *submitStmts) close() {
	for _, st := range []*sql.Stmt{ps.byVersion, ps.otherContent, ps.insEntry, ps.insObject, ps.owner, ps.setOwner, ps.insValue} {
		if st != nil {
			st.Close()
		}
	}
	for _, st := range ps.insText {
		st.Close()
	}
}

// submitGroup writes the group's submissions in one transaction and
// commits; it is called with s.mu held and marks every request done.
//
// A submission that fails once it has written something cannot be undone
// alone without a savepoint, and savepoints make SQLite copy every page
// they touch into a sub-journal, which costs more than the group saves.
// So the group runs without them: when a submission fails, the whole
// transaction is rolled back and the group runs again without it.
// Failures are rare (an unknown collection, a taken status id); each costs
// one extra attempt.
func (s *Store) submitGroup(group []*submitRequest) {
	// One caller's cancellation must not abort the others' transaction:
	// each request's own context is checked before its turn instead.
	ctx := context.WithoutCancel(group[0].ctx)
	var pending []*submitRequest
	for _, r := range group {
		r.done = true
		if err := r.ctx.Err(); err != nil {
			r.err = fmt.Errorf("couldn't submit: %w", err)
			continue
		}
		pending = append(pending, r)
	}
	for len(pending) > 0 {
		bad := -1
		err := func() error {
			tx, err := s.w.BeginTx(ctx, nil)
			if err != nil {
				return fmt.Errorf("couldn't begin a transaction: %w", err)
			}
			defer tx.Rollback()
			ps, err := s.prepareSubmit(ctx, tx)
			if err != nil {
				return err
			}
			defer ps.close()
			for i, r := range pending {
				st, err := s.submitOne(ctx, tx, ps, r.sub)
				if err != nil {
					if isFull(err) {
						// Not this submission's fault: the whole
						// group fails below.
						return fullError(err)
					}
					bad = i
					return err
				}
				r.st = st
			}
			if err := ps.indexText(ctx); err != nil {
				return fullError(err)
			}
			if err := tx.Commit(); err != nil {
				return fmt.Errorf("couldn't commit: %w", fullError(err))
			}
			return nil
		}()
		if bad >= 0 {
			// Only pending[bad] failed; the rollback undid the others'
			// writes too, so they run again.
			r := pending[bad]
			r.st = store.Status{}
			if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrSubmitterChanged) {
				r.err = err
			} else {
				r.err = fmt.Errorf("couldn't submit: %w", err)
			}
			pending = append(pending[:bad], pending[bad+1:]...)
			continue
		}
		if err != nil {
			for _, r := range pending {
				r.st, r.err = store.Status{}, fmt.Errorf("couldn't submit: %w", err)
			}
		}
		return
	}
}

// submitOne writes one submission inside the group's transaction.
func (s *Store) submitOne(ctx context.Context, tx *sql.Tx, ps *submitStmts, sub store.Submission) (store.Status, error) {
	st := store.Status{
		ID:               sub.StatusID,
		Collection:       sub.Collection,
		Member:           sub.Member,
		RequestTimestamp: sub.Received,
	}
	var err error
	var one int
	if err := tx.QueryRowContext(ctx, `SELECT 1 FROM collections WHERE id = ?`, sub.Collection).Scan(&one); errors.Is(err, sql.ErrNoRows) {
		return st, fmt.Errorf("couldn't submit to collection %q: %w", sub.Collection, store.ErrNotFound)
	} else if err != nil {
		return st, err
	}
	// Entries of every kind are stamped in log order with strictly
	// increasing times.
	next, first, err := s.nextEntry(ctx, tx)
	if err != nil {
		return st, err
	}
	if sub.CheckSubmitter || sub.CheckRevoked {
		// The writer is held: every key event and removal is committed
		// before or after this whole transaction, never in between.
		if err := checkMember(ctx, tx, sub.Collection, sub.Member, sub.CheckSubmitter, sub.CheckSubmitter, sub.Key); err != nil {
			return st, err
		}
	}
	last := first.Add(-time.Microsecond)
	for _, it := range sub.Items {
		o := it.Object
		if o.ID == "" || len(o.Raw) == 0 {
			return st, fmt.Errorf("couldn't submit: an item has no id or no content: %w", store.ErrInvalid)
		}
		if o.Version.IsZero() {
			// Objects without modified or created (most SCOs): an
			// identical copy is the same object; anything else is a
			// new version stamped with its date_added.
			var v string
			own := ""
			if sub.OwnCopiesOnly {
				own = sub.Member
			}
			err := tx.QueryRowContext(ctx, `SELECT version FROM objects WHERE collection = ? AND object_id = ? AND raw = ? AND (? = '' OR member = ?) ORDER BY version LIMIT 1`,
				sub.Collection, o.ID, o.Raw, own, own).Scan(&v)
			if err == nil {
				t, err := parseTime(v)
				if err != nil {
					return st, err
				}
				st.Successes = append(st.Successes, store.StatusDetail{ID: o.ID, Version: store.FormatTime(t), Message: "already stored"})
				continue
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return st, err
			}
		}
		if it.Owned {
			// The id belongs to the member who created its first version.
			var owner string
			switch err := ps.owner.QueryRowContext(ctx, o.ID).Scan(&owner); {
			case err == nil && owner != sub.Member:
				st.Failures = append(st.Failures, store.StatusDetail{ID: o.ID, Version: store.FormatTime(o.Version),
					Message: "this id belongs to the member who created its first version; only that member may add versions of it"})
				continue
			case err != nil && !errors.Is(err, sql.ErrNoRows):
				return st, err
			}
		}
		if it.Owned && !o.Version.IsZero() {
			// An id and version name one object in every collection.
			var other string
			switch err := ps.otherContent.QueryRowContext(ctx, o.ID, fmtTime(o.Version), o.Raw).Scan(&other); {
			case err == nil:
				st.Failures = append(st.Failures, store.StatusDetail{ID: o.ID, Version: store.FormatTime(o.Version),
					Message: store.VersionConflictMessage})
				continue
			case !errors.Is(err, sql.ErrNoRows):
				return st, err
			}
		}
		added := s.now().UTC().Truncate(time.Microsecond)
		if !added.After(last) {
			added = last.Add(time.Microsecond)
		}
		last = added
		if o.Version.IsZero() {
			o.Version = added
		}
		o.Collection, o.Member, o.DateAdded, o.LogIndex = sub.Collection, sub.Member, added, next
		var leaf []byte
		if it.Entry != nil {
			if leaf, err = it.Entry(o); err != nil {
				return st, fmt.Errorf("couldn't build the log entry of %s: %w", o.ID, err)
			}
		}
		if len(leaf) == 0 {
			return st, fmt.Errorf("couldn't submit %s: empty log entry: %w", o.ID, store.ErrInvalid)
		}
		v := fmtTime(o.Version)
		if _, err := ps.insEntry.ExecContext(ctx, next, leaf, it.Salt, sub.Collection, o.ID, v, sub.Member, fmtTime(added)); err != nil {
			return st, err
		}
		// The unique index on (collection, object_id, version) finds an
		// existing version in the same statement that inserts a new one;
		// only then is the stored copy read and the log entry taken back
		// (inside this transaction, so it was never visible).
		res, err := ps.insObject.ExecContext(ctx, sub.Collection, o.ID, o.Type, o.SpecVersion, v, fmtTime(added), sub.Member, o.Signed, o.Raw, next)
		if err != nil {
			return st, err
		}
		if n, err := res.RowsAffected(); err != nil {
			return st, err
		} else if n == 0 {
			if _, err := tx.ExecContext(ctx, `DELETE FROM log_entries WHERE idx = ?`, next); err != nil {
				return st, err
			}
			var raw []byte
			if err := ps.byVersion.QueryRowContext(ctx, sub.Collection, o.ID, fmtTime(o.Version)).Scan(&raw); err != nil {
				return st, err
			}
			d := store.StatusDetail{ID: o.ID, Version: store.FormatTime(o.Version)}
			if bytes.Equal(raw, o.Raw) {
				d.Message = "already stored"
				st.Successes = append(st.Successes, d)
			} else {
				d.Message = store.VersionConflictMessage
				st.Failures = append(st.Failures, d)
			}
			continue
		}
		if vals := indexedValues(o.Raw); len(vals) > 0 {
			seq, err := res.LastInsertId()
			if err != nil {
				return st, err
			}
			for _, v := range vals {
				if _, err := ps.insValue.ExecContext(ctx, sub.Collection, v, seq); err != nil {
					return st, err
				}
			}
		}
		if ps.uiText && json.Valid(o.Raw) {
			// The row the trigger of migration 310 inserted (the same
			// condition: json_valid of the raw JSON, RFC 8259).
			seq, err := res.LastInsertId()
			if err != nil {
				return st, err
			}
			ps.texts = append(ps.texts, uiTextRow{sub.Collection, seq, o.Raw})
		}
		if it.Owned {
			if _, err := ps.setOwner.ExecContext(ctx, o.ID, sub.Member); err != nil {
				return st, err
			}
		}
		next++
		d := store.StatusDetail{ID: o.ID, Version: store.FormatTime(o.Version)}
		if !o.Signed {
			d.Message = store.UnsignedMessage
		}
		st.Successes = append(st.Successes, d)
	}
	if err := s.checkLimits(ctx, tx, sub); err != nil {
		return st, err
	}
	st.Failures = append(st.Failures, sub.Failures...)
	body, err := json.Marshal(statusBody(st))
	if err != nil {
		return st, err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO statuses(id, collection, member, body) VALUES (?, ?, ?, ?)`, st.ID, st.Collection, st.Member, body)
	if isUnique(err) {
		return st, fmt.Errorf("couldn't submit: status id %q taken: %w", st.ID, store.ErrConflict)
	}
	if err != nil {
		return st, err
	}
	return st, nil
}

// statusJSON is how a status is kept in the statuses table.
type statusJSON struct {
	RequestTimestamp time.Time            `json:"request_timestamp"`
	Successes        []store.StatusDetail `json:"successes"`
	Failures         []store.StatusDetail `json:"failures"`
	Pendings         []store.StatusDetail `json:"pendings"`
}

func statusBody(st store.Status) statusJSON {
	return statusJSON{st.RequestTimestamp, st.Successes, st.Failures, st.Pendings}
}

// Status implements [store.Store].
func (s *Store) Status(ctx context.Context, id string) (store.Status, error) {
	st := store.Status{ID: id}
	var body []byte
	err := s.r.QueryRowContext(ctx, `SELECT collection, member, body FROM statuses WHERE id = ?`, id).Scan(&st.Collection, &st.Member, &body)
	if errors.Is(err, sql.ErrNoRows) {
		return st, fmt.Errorf("couldn't find status %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return st, fmt.Errorf("couldn't read status: %w", err)
	}
	var b statusJSON
	if err := json.Unmarshal(body, &b); err != nil {
		return st, fmt.Errorf("couldn't read status: %w", err)
	}
	st.RequestTimestamp, st.Successes, st.Failures, st.Pendings = b.RequestTimestamp, b.Successes, b.Failures, b.Pendings
	return st, nil
}

// StatusMember returns the member of a status resource, without its body.
func (s *Store) StatusMember(ctx context.Context, id string) (string, error) {
	var member string
	err := s.r.QueryRowContext(ctx, `SELECT member FROM statuses WHERE id = ?`, id).Scan(&member)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("couldn't find status %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("couldn't read status: %w", err)
	}
	return member, nil
}

const objectCols = `seq, collection, object_id, type, spec_version, version, date_added, member, signed, raw, log_index, (SELECT salt FROM log_entries WHERE idx = o.log_index)`

func scanObject(rows *sql.Rows) (store.Object, error) {
	var o store.Object
	var version, added string
	if err := rows.Scan(&o.Seq, &o.Collection, &o.ID, &o.Type, &o.SpecVersion, &version, &added, &o.Member, &o.Signed, &o.Raw, &o.LogIndex, &o.Salt); err != nil {
		return o, err
	}
	var err error
	if o.Version, err = parseTime(version); err != nil {
		return o, err
	}
	o.DateAdded, err = parseTime(added)
	return o, err
}

// queryObjects runs q, which selects objectCols from objects o, on a
// reader and returns every row.
func (s *Store) queryObjects(ctx context.Context, q string, args ...any) ([]store.Object, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
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

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// andIn adds the condition " AND col IN (?, ...)" to the WHERE clause
// being written in w, for the [Store.Objects] query and the UI's
// [Store.BrowseObjects] filter, and returns args with vals appended for its
// placeholders. For no vals it adds nothing: an empty list filters
// nothing.
func andIn(w *strings.Builder, args []any, col string, vals []string) []any {
	if len(vals) == 0 {
		return args
	}
	fmt.Fprintf(w, " AND %s IN (%s)", col, placeholders(len(vals)))
	return append(args, strArgs(vals)...)
}

// Objects implements [store.Store].
func (s *Store) Objects(ctx context.Context, q store.Query) (store.Page, error) {
	if q.Limit < 1 {
		return store.Page{}, fmt.Errorf("couldn't query objects: limit %d: %w", q.Limit, store.ErrInvalid)
	}
	after := q.After
	if !q.AddedAfter.IsZero() {
		// date_added grows strictly with seq, so added_after is a seq
		// floor: the seq of the collection's first addition after it,
		// one entry of objects_collection_date_added, which holds the
		// collection's additions only.
		var floor int64
		err := s.r.QueryRowContext(ctx, `SELECT seq FROM objects WHERE collection = ? AND date_added > ? ORDER BY date_added LIMIT 1`,
			q.Collection, fmtTime(q.AddedAfter)).Scan(&floor)
		if errors.Is(err, sql.ErrNoRows) {
			return store.Page{}, nil
		}
		if err != nil {
			return store.Page{}, fmt.Errorf("couldn't query objects: %w", err)
		}
		after = max(after, floor-1)
	}
	query, args, err := objectsQuery(q, after)
	if err != nil {
		return store.Page{}, err
	}
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return store.Page{}, fmt.Errorf("couldn't query objects: %w", err)
	}
	defer rows.Close()
	var p store.Page
	var size int64
	for rows.Next() {
		o, err := scanObject(rows)
		if err != nil {
			return store.Page{}, fmt.Errorf("couldn't query objects: %w", err)
		}
		size += int64(len(o.Raw))
		if len(p.Objects) == q.Limit || q.MaxBytes > 0 && !q.OmitRaw && size > q.MaxBytes && len(p.Objects) > 0 {
			p.More = true
			break
		}
		p.Objects = append(p.Objects, o)
	}
	if err := rows.Err(); err != nil {
		return store.Page{}, fmt.Errorf("couldn't query objects: %w", err)
	}
	return p, nil
}

// objectsQuery is the SELECT of [Store.Objects] for q, from seq after.
func objectsQuery(q store.Query, after int64) (string, []any, error) {
	var b strings.Builder
	args := []any{q.Collection, after}
	cols := objectCols
	if q.OmitRaw {
		cols = strings.Replace(cols, "raw", "x'' AS raw", 1)
	}
	// seq orders the page; but given ids, SQLite (without statistics)
	// would still walk the collection in seq order through
	// objects_collection_seq to spare a sort, reading every object of
	// the collection to find a few ids: seconds for one proof bundle in
	// a collection of 100,000 objects. "+seq" keeps seq out of the
	// index choice, so the ids are looked up in objects_version and their
	// few versions sorted.
	seq := "seq"
	if len(q.IDs) > 0 {
		seq = "+seq"
	}
	b.WriteString(`SELECT ` + cols + ` FROM objects o WHERE collection = ? AND ` + seq + ` > ?`)
	args = andIn(&b, args, "object_id", q.IDs)
	args = andIn(&b, args, "type", q.Types)
	args = andIn(&b, args, "spec_version", q.SpecVersions)
	sel := q.Versions
	if len(sel) == 0 {
		sel = []store.VersionSelector{{Kind: store.VersionLast}}
	}
	if !hasAll(sel) {
		var conds []string
		for _, v := range sel {
			switch v.Kind {
			case store.VersionLast:
				conds = append(conds, `o.is_last = 1`)
			case store.VersionFirst:
				conds = append(conds, `o.is_first = 1`)
			case store.VersionAt:
				conds = append(conds, `o.version = ?`)
				args = append(args, fmtTime(v.At))
			default:
				return "", nil, fmt.Errorf("couldn't query objects: version selector %q: %w", v.Kind, store.ErrInvalid)
			}
		}
		b.WriteString(" AND (" + strings.Join(conds, " OR ") + ")")
	}
	b.WriteString(" ORDER BY " + seq + " LIMIT ?")
	args = append(args, q.Limit+1)
	return b.String(), args, nil
}

func hasAll(sel []store.VersionSelector) bool {
	for _, v := range sel {
		if v.Kind == store.VersionAll {
			return true
		}
	}
	return false
}

// LogSize implements [store.Store].
func (s *Store) LogSize(ctx context.Context) (int64, error) {
	var n int64
	if err := s.r.QueryRowContext(ctx, `SELECT coalesce(max(idx) + 1, 0) FROM log_entries`).Scan(&n); err != nil {
		return 0, fmt.Errorf("couldn't read the log size: %w", err)
	}
	return n, nil
}

const entryCols = `idx, leaf, salt, collection, object_id, version, member, received, kind`

func scanEntry(row interface{ Scan(...any) error }) (store.Entry, error) {
	var e store.Entry
	var version, received string
	if err := row.Scan(&e.Index, &e.Leaf, &e.Salt, &e.Collection, &e.ObjectID, &version, &e.Member, &received, &e.Kind); err != nil {
		return e, err
	}
	var err error
	if e.Version, err = parseTime(version); err != nil {
		return e, err
	}
	e.Received, err = parseTime(received)
	return e, err
}

// Entries implements [store.Store].
func (s *Store) Entries(ctx context.Context, start, end int64) ([]store.Entry, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+entryCols+` FROM log_entries WHERE idx >= ? AND idx < ? ORDER BY idx`, start, end)
	if err != nil {
		return nil, fmt.Errorf("couldn't read log entries: %w", err)
	}
	defer rows.Close()
	var out []store.Entry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, fmt.Errorf("couldn't read log entries: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// EntryFor implements [store.Store].
func (s *Store) EntryFor(ctx context.Context, collection, objectID string, version time.Time) (store.Entry, error) {
	e, err := scanEntry(s.r.QueryRowContext(ctx, `SELECT `+entryCols+` FROM log_entries WHERE idx = (SELECT log_index FROM objects WHERE collection = ? AND object_id = ? AND version = ?)`,
		collection, objectID, fmtTime(version)))
	if errors.Is(err, sql.ErrNoRows) {
		return e, fmt.Errorf("couldn't find the log entry of %s: %w", objectID, store.ErrNotFound)
	}
	if err != nil {
		return e, fmt.Errorf("couldn't read a log entry: %w", err)
	}
	return e, nil
}

// checkMember fails with [store.ErrSubmitterChanged] unless member, as
// committed now, is not revoked and, with write, may write collection
// and, with withKey, has key in force ([store.Submission].CheckSubmitter
// and CheckRevoked, [store.NewPrivateSet].CheckWriter).
func checkMember(ctx context.Context, tx *sql.Tx, collection, member string, write, withKey bool, key []byte) error {
	var inForce []byte
	var revoked int
	var canWrite sql.NullBool
	err := tx.QueryRowContext(ctx, `SELECT m.public_key, m.revoked, a.can_write FROM members m
		LEFT JOIN collection_access a ON a.collection = ? AND a.member = m.id WHERE m.id = ?`, collection, member).Scan(&inForce, &revoked, &canWrite)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("member %s: %w", member, store.ErrSubmitterChanged)
	case err != nil:
		return err
	case revoked != 0:
		return fmt.Errorf("member %s was revoked or removed: %w", member, store.ErrSubmitterChanged)
	case write && !canWrite.Bool:
		return fmt.Errorf("member %s may not write collection %s: %w", member, collection, store.ErrSubmitterChanged)
	case withKey && !bytes.Equal(inForce, key):
		return fmt.Errorf("member %s has another key in force: %w", member, store.ErrSubmitterChanged)
	}
	return nil
}
