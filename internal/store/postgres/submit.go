package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/tlog"
)

// Submit implements [store.Store].
//
// A submission is one transaction that costs four round trips whatever
// its size (BEGIN, two batches, COMMIT), as many as a plain batched
// INSERT: the first batch locks the log head (as [Store.logTx] does) and
// reads the state the items are checked against with set queries (which
// collection, versions, owners and contents exist); the items are decided
// in order in Go exactly as the SQLite store decides them one by one (an
// earlier item of the same submission counts as stored for the later
// ones); the second batch writes everything (entries and objects as
// arrays, the version flags, owners, usage, the log head and the status).
// The head's lock is the batch's first statement, so the state read is
// the committed state, which no other appender can change until this
// transaction ends.
//
// A transaction retried after a serialization failure ([Store.inTx]) is
// decided again from the start, so each item's Entry may be called once
// per attempt; only the last attempt's leaves are stored.
func (s *Store) Submit(ctx context.Context, sub store.Submission) (store.Status, error) {
	if sub.StatusID == "" {
		return store.Status{}, fmt.Errorf("couldn't submit: empty status id: %w", store.ErrInvalid)
	}
	var st store.Status
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		st, err = s.submit(ctx, tx, sub)
		return err
	})
	if err != nil {
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrSubmitterChanged) {
			return store.Status{}, err
		}
		return store.Status{}, fmt.Errorf("couldn't submit: %w", err)
	}
	return st, nil
}

// versionKey names an object version within one collection.
type versionKey struct {
	id, version string
}

// submitState is what a submission's items are checked against, as
// committed before it.
type submitState struct {
	// unversioned[i]: the (lowest) version of a stored copy of item i,
	// an item without a version, with the same bytes; "" if none.
	unversioned map[int]string
	// owners of the owned items' ids.
	owners map[string]string
	// otherContent[i]: item i (versioned) has a stored version with the
	// same id and version and other bytes, in some collection.
	otherContent map[int]bool
	// stored: the bytes of stored versions with the items' versions (and
	// of any stored version later than the log head's last time, which an
	// unversioned item's new version could meet), in this collection.
	stored map[versionKey][]byte
	// bounds: the lowest and highest stored version of each item's id in
	// this collection.
	bounds map[string][2]string
	// usage is the member's storage use.
	usage int64
	// submitter is the member as committed, for CheckSubmitter.
	submitter committedMember
}

func (s *Store) readSubmitState(ctx context.Context, tx pgx.Tx, sub store.Submission) (*submitState, *logHead, bool, error) {
	var zeroIdx, verIdx []int64
	var zeroIDs, ownedIDs, verIDs, vers, allIDs []string
	var zeroRaws [][]byte
	for i, it := range sub.Items {
		o := it.Object
		allIDs = append(allIDs, o.ID)
		if o.Version.IsZero() {
			zeroIdx, zeroIDs, zeroRaws = append(zeroIdx, int64(i)), append(zeroIDs, o.ID), append(zeroRaws, o.Raw)
		} else {
			verIdx, verIDs, vers = append(verIdx, int64(i)), append(verIDs, o.ID), append(vers, fmtTime(o.Version))
		}
		if it.Owned {
			ownedIDs = append(ownedIDs, o.ID)
		}
	}
	st := &submitState{
		unversioned:  map[int]string{},
		owners:       map[string]string{},
		otherContent: map[int]bool{},
		stored:       map[versionKey][]byte{},
		bounds:       map[string][2]string{},
	}
	var b pgx.Batch
	h := new(logHead)
	var collection bool
	b.Queue(`SELECT next_idx, last_received, EXISTS (SELECT 1 FROM collections WHERE id = $1) FROM log_head WHERE id = 1 FOR UPDATE`, sub.Collection).
		QueryRow(func(row pgx.Row) error { return h.scan(row, &collection) })
	if len(zeroIdx) > 0 {
		own := "" // any member's copy, unless OwnCopiesOnly
		if sub.OwnCopiesOnly {
			own = sub.Member
		}
		b.Queue(`SELECT u.i, (SELECT o.version FROM objects o WHERE o.collection = $1 AND o.object_id = u.id AND o.raw = u.raw
				AND ($5::text = '' OR o.member = $5) ORDER BY o.version LIMIT 1)
			FROM unnest($2::bigint[], $3::text[], $4::bytea[]) AS u(i, id, raw)`, sub.Collection, zeroIdx, zeroIDs, zeroRaws, own).
			Query(func(rows pgx.Rows) error {
				var i int64
				var v *string
				_, err := pgx.ForEachRow(rows, []any{&i, &v}, func() error {
					if v != nil {
						st.unversioned[int(i)] = *v
					}
					return nil
				})
				return err
			})
		b.Queue(`SELECT object_id, version, raw FROM objects WHERE collection = $1 AND object_id = ANY($2)
			AND version > (SELECT last_received COLLATE "C" FROM log_head WHERE id = 1)`, sub.Collection, zeroIDs).
			Query(st.scanStored)
	}
	if len(ownedIDs) > 0 {
		b.Queue(`SELECT object_id, member FROM object_owners WHERE object_id = ANY($1)`, ownedIDs).Query(func(rows pgx.Rows) error {
			var id, m string
			_, err := pgx.ForEachRow(rows, []any{&id, &m}, func() error { st.owners[id] = m; return nil })
			return err
		})
	}
	if len(verIdx) > 0 {
		// Every stored version with an item's id and version, in any
		// collection, through one index probe per item: it is the
		// stored copy in this collection, or, with other bytes, a
		// conflict anywhere (an id and version name one object
		// everywhere; the same version may be shared into several
		// collections, but only with the same content). Ingest of new
		// objects finds none, so no object's bytes cross the wire.
		// A peer's copy (stored under a peer's member, claiming no id) is
		// no conflict: the peer's log, not this node's first writer, says
		// whose it is, so a peer that logged an id and version first can't
		// keep a member of this node from sharing it (docs/federation.md).
		b.Queue(`SELECT u.i, o.collection, o.raw, EXISTS (SELECT 1 FROM peers p WHERE p.member = o.member)
			FROM unnest($1::bigint[], $2::text[], $3::text[]) AS u(i, id, v)
			JOIN objects o ON o.object_id = u.id AND o.version = u.v`, verIdx, verIDs, vers).
			Query(func(rows pgx.Rows) error {
				var i int64
				var coll string
				var raw []byte
				var peerCopy bool
				_, err := pgx.ForEachRow(rows, []any{&i, &coll, &raw, &peerCopy}, func() error {
					o := sub.Items[i].Object
					if coll == sub.Collection {
						st.stored[versionKey{o.ID, fmtTime(o.Version)}] = raw
					}
					if !bytes.Equal(raw, o.Raw) && (!peerCopy || coll == sub.Collection) {
						st.otherContent[int(i)] = true
					}
					return nil
				})
				return err
			})
	}
	if len(allIDs) > 0 {
		b.Queue(`SELECT object_id, min(version), max(version) FROM objects WHERE collection = $1 AND object_id = ANY($2) GROUP BY object_id`,
			sub.Collection, allIDs).Query(func(rows pgx.Rows) error {
			var id, lo, hi string
			_, err := pgx.ForEachRow(rows, []any{&id, &lo, &hi}, func() error { st.bounds[id] = [2]string{lo, hi}; return nil })
			return err
		})
	}
	b.Queue(`SELECT coalesce((SELECT bytes FROM member_usage WHERE member = $1), 0)`, sub.Member).QueryRow(func(row pgx.Row) error {
		return row.Scan(&st.usage)
	})
	if sub.CheckSubmitter || sub.CheckRevoked {
		// Read after the log head's lock, under READ COMMITTED: every
		// key event (which takes the same lock) is committed before it,
		// or waits for this transaction to end.
		b.Queue(committedMemberQuery, sub.Collection, sub.Member).Query(st.submitter.scan)
	}
	if err := tx.SendBatch(ctx, &b).Close(); err != nil {
		return nil, nil, false, err
	}
	return st, h, collection, nil
}

func (st *submitState) scanStored(rows pgx.Rows) error {
	var id, v string
	var raw []byte
	_, err := pgx.ForEachRow(rows, []any{&id, &v, &raw}, func() error {
		st.stored[versionKey{id, v}] = raw
		return nil
	})
	return err
}

// newVersion is an item that Submit stores.
type newVersion struct {
	o     store.Object
	v     string // fmtTime(o.Version)
	leaf  []byte
	salt  []byte
	owned bool
}

func (s *Store) submit(ctx context.Context, tx pgx.Tx, sub store.Submission) (store.Status, error) {
	st := store.Status{
		ID:               sub.StatusID,
		Collection:       sub.Collection,
		Member:           sub.Member,
		RequestTimestamp: sub.Received,
	}
	state, h, ok, err := s.readSubmitState(ctx, tx, sub)
	if err != nil {
		return st, err
	}
	if !ok {
		return st, fmt.Errorf("couldn't submit to collection %q: %w", sub.Collection, store.ErrNotFound)
	}
	if sub.CheckSubmitter || sub.CheckRevoked {
		if err := state.submitter.check(sub.Collection, sub.Member, sub.CheckSubmitter, sub.CheckSubmitter, sub.Key); err != nil {
			return st, err
		}
	}
	for _, it := range sub.Items {
		if it.Object.ID == "" || len(it.Object.Raw) == 0 {
			return st, fmt.Errorf("couldn't submit: an item has no id or no content: %w", store.ErrInvalid)
		}
	}
	head := *h

	// Decide each item in order, as if the earlier ones were stored.
	var news []newVersion
	added := map[versionKey][]byte{} // new versions of this submission
	addedRaw := map[string]string{}  // id + "\x00" + raw → version, of new versions
	ownedHere := map[string]bool{}   // owned ids this submission stores first
	for i, it := range sub.Items {
		o := it.Object
		if o.Version.IsZero() {
			// Objects without modified or created (most SCOs): an
			// identical copy is the same object; anything else is a new
			// version stamped with its date_added.
			// The lowest version with these bytes, stored or new.
			v, ok := state.unversioned[i]
			if w, here := addedRaw[o.ID+"\x00"+string(o.Raw)]; here && (!ok || w < v) {
				v, ok = w, true
			}
			if ok {
				t, err := parseTime(v)
				if err != nil {
					return st, err
				}
				st.Successes = append(st.Successes, store.StatusDetail{ID: o.ID, Version: store.FormatTime(t), Message: "already stored"})
				continue
			}
		}
		if it.Owned {
			// The id belongs to the member who created its first version.
			if owner, ok := state.owners[o.ID]; ok && owner != sub.Member {
				st.Failures = append(st.Failures, store.StatusDetail{ID: o.ID, Version: store.FormatTime(o.Version),
					Message: "this id belongs to the member who created its first version; only that member may add versions of it"})
				continue
			}
		}
		if it.Owned && !o.Version.IsZero() {
			// An id and version name one object in every collection.
			raw, here := added[versionKey{o.ID, fmtTime(o.Version)}]
			if state.otherContent[i] || here && !bytes.Equal(raw, o.Raw) {
				st.Failures = append(st.Failures, store.StatusDetail{ID: o.ID, Version: store.FormatTime(o.Version),
					Message: store.VersionConflictMessage})
				continue
			}
		}
		// The index and time this version takes if it is new; a version
		// found stored below gives them back.
		saved := *h
		idx, at := h.take(s.now())
		if o.Version.IsZero() {
			o.Version = at
		}
		v := fmtTime(o.Version)
		key := versionKey{o.ID, v}
		raw, found := added[key]
		if !found {
			raw, found = state.stored[key]
		}
		if found {
			// Like SQLite's ON CONFLICT DO NOTHING: the index isn't
			// used, but the time stays taken for this submission.
			h.giveBack(saved)
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
		o.Collection, o.Member, o.DateAdded, o.LogIndex, o.Seq = sub.Collection, sub.Member, at, idx, idx+1
		var leaf []byte
		if it.Entry != nil {
			if leaf, err = it.Entry(o); err != nil {
				return st, fmt.Errorf("couldn't build the log entry of %s: %w", o.ID, err)
			}
		}
		if len(leaf) == 0 {
			return st, fmt.Errorf("couldn't submit %s: empty log entry: %w", o.ID, store.ErrInvalid)
		}
		added[key] = o.Raw
		if w, ok := addedRaw[o.ID+"\x00"+string(o.Raw)]; !ok || v < w {
			addedRaw[o.ID+"\x00"+string(o.Raw)] = v
		}
		if it.Owned {
			if _, ok := state.owners[o.ID]; !ok {
				ownedHere[o.ID] = true
			}
		}
		news = append(news, newVersion{o: o, v: v, leaf: leaf, salt: it.Salt, owned: it.Owned})
		d := store.StatusDetail{ID: o.ID, Version: store.FormatTime(o.Version)}
		if !o.Signed {
			d.Message = store.UnsignedMessage
		}
		st.Successes = append(st.Successes, d)
	}
	var need int64
	for _, n := range news {
		need += int64(len(n.o.Raw))
	}
	if err := s.checkLimits(sub, state.usage, need); err != nil {
		return st, err
	}
	st.Failures = append(st.Failures, sub.Failures...)
	body, err := json.Marshal(statusBody(st))
	if err != nil {
		return st, err
	}
	var b pgx.Batch
	queueSubmission(&b, sub, state, news, ownedHere, need)
	if h.next != head.next || !h.entry.Equal(head.entry) {
		h.queueSave(&b)
	}
	// Last in the batch: a taken status id ends the batch with an error.
	b.Queue(`INSERT INTO statuses(id, collection, member, body) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING`,
		st.ID, st.Collection, st.Member, body).Exec(func(tag pgconn.CommandTag) error {
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("couldn't submit: status id %q taken: %w", st.ID, store.ErrConflict)
		}
		return nil
	})
	if err := tx.SendBatch(ctx, &b).Close(); err != nil {
		return st, err
	}
	return st, nil
}

// queueSubmission queues the writes of the new versions, their entries,
// the version flags, owners and usage in b.
func queueSubmission(b *pgx.Batch, sub store.Submission, state *submitState, news []newVersion, ownedHere map[string]bool, need int64) {
	if len(news) == 0 {
		return
	}
	n := len(news)
	var (
		idx, seq                       = make([]int64, n), make([]int64, n)
		leaf, salt, raw                = make([][]byte, n), make([][]byte, n), make([][]byte, n)
		ids, vers, types, specs, added = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		signed, first, last            = make([]bool, n), make([]bool, n), make([]bool, n)
		owners                         []string
	)
	// The version flags: is_first and is_last mark the lowest and highest
	// version of an id in the collection, over what is stored and what
	// this submission adds.
	lo, hi := map[string]string{}, map[string]string{}
	for id, b := range state.bounds {
		lo[id], hi[id] = b[0], b[1]
	}
	for _, nv := range news {
		if l, ok := lo[nv.o.ID]; !ok || nv.v < l {
			lo[nv.o.ID] = nv.v
		}
		if h, ok := hi[nv.o.ID]; !ok || nv.v > h {
			hi[nv.o.ID] = nv.v
		}
	}
	var newLo, newHi []string // ids whose stored first or last version is superseded
	seen := map[string]bool{}
	var newIDs int64 // ids the collection didn't hold
	var lastAdded string
	for i, nv := range news {
		o := nv.o
		idx[i], seq[i] = o.LogIndex, o.Seq
		leaf[i], salt[i], raw[i] = nv.leaf, nv.salt, o.Raw
		if salt[i] == nil {
			salt[i] = []byte{}
		}
		ids[i], vers[i], types[i], specs[i], added[i] = o.ID, nv.v, o.Type, o.SpecVersion, fmtTime(o.DateAdded)
		signed[i], first[i], last[i] = o.Signed, nv.v == lo[o.ID], nv.v == hi[o.ID]
		if added[i] > lastAdded {
			lastAdded = added[i]
		}
		if b, ok := state.bounds[o.ID]; !seen[o.ID] {
			seen[o.ID] = true
			if !ok {
				newIDs++
			} else {
				if lo[o.ID] < b[0] {
					newLo = append(newLo, o.ID)
				}
				if hi[o.ID] > b[1] {
					newHi = append(newHi, o.ID)
				}
			}
		}
		if ownedHere[o.ID] {
			owners = append(owners, o.ID)
			delete(ownedHere, o.ID)
		}
	}
	b.Queue(`INSERT INTO log_entries(idx, leaf, salt, collection, object_id, version, member, received, kind)
		SELECT u.idx, u.leaf, u.salt, $1, u.id, u.v, $2, u.added, $3
		FROM unnest($4::bigint[], $5::bytea[], $6::bytea[], $7::text[], $8::text[], $9::text[]) AS u(idx, leaf, salt, id, v, added)`,
		sub.Collection, sub.Member, tlog.KindObject, idx, leaf, salt, ids, vers, added)
	if len(newLo) > 0 {
		b.Queue(`UPDATE objects SET is_first = false WHERE collection = $1 AND object_id = ANY($2) AND is_first`, sub.Collection, newLo)
	}
	if len(newHi) > 0 {
		b.Queue(`UPDATE objects SET is_last = false WHERE collection = $1 AND object_id = ANY($2) AND is_last`, sub.Collection, newHi)
	}
	b.Queue(`INSERT INTO objects(seq, collection, object_id, type, spec_version, version, date_added, member, signed, raw, log_index, is_first, is_last)
		SELECT u.seq, $1, u.id, u.type, u.spec, u.v, u.added, $2, u.signed, u.raw, u.idx, u.first, u.last
		FROM unnest($3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::bool[], $10::bytea[], $11::bigint[], $12::bool[], $13::bool[])
			AS u(seq, id, type, spec, v, added, signed, raw, idx, first, last)`,
		sub.Collection, sub.Member, seq, ids, types, specs, vers, added, signed, raw, idx, first, last)
	objs := make([]store.Object, n)
	for i, nv := range news {
		objs[i] = nv.o
	}
	queueIndexes(b, objs) // the web UI's and the opinion index's rows (ui.go)
	queueStats(b, sub.Collection, newIDs, int64(n), lastAdded)
	if len(owners) > 0 {
		b.Queue(`INSERT INTO object_owners(object_id, member) SELECT id, $1 FROM unnest($2::text[]) AS u(id) ON CONFLICT (object_id) DO NOTHING`, sub.Member, owners)
	}
	b.Queue(`INSERT INTO member_usage(member, bytes) VALUES ($1, $2) ON CONFLICT (member) DO UPDATE SET bytes = member_usage.bytes + excluded.bytes`, sub.Member, need)
}

// checkLimits fails a submission with an item over the largest object
// size, or one that would take its member over its quota (used: what the
// member stored before; need: what the new versions add). As in the
// SQLite store, a member already over its quota (after it was lowered)
// can't submit even what is already stored.
func (s *Store) checkLimits(sub store.Submission, used, need int64) error {
	if limit := s.limits.MaxObjectSize; limit > 0 {
		for _, it := range sub.Items {
			if n := int64(len(it.Object.Raw)); n > limit {
				return fmt.Errorf("couldn't submit %s: it is %d bytes, more than the largest object (%d bytes): %w", it.Object.ID, n, limit, store.ErrTooLarge)
			}
		}
	}
	if quota := s.limits.MemberQuota; quota > 0 && used+need > quota {
		return &store.QuotaError{Member: sub.Member, Used: used, Need: need, Quota: quota}
	}
	return nil
}

// statusJSON is how a status is kept in the statuses table (the same
// JSON as the SQLite store's).
type statusJSON struct {
	RequestTimestamp time.Time            `json:"request_timestamp"`
	Successes        []store.StatusDetail `json:"successes"`
	Failures         []store.StatusDetail `json:"failures"`
	Pendings         []store.StatusDetail `json:"pendings"`
}

func statusBody(st store.Status) statusJSON {
	return statusJSON{st.RequestTimestamp, st.Successes, st.Failures, st.Pendings}
}

// StatusMember returns the member of a status resource, without its body.
func (s *Store) StatusMember(ctx context.Context, id string) (string, error) {
	var member string
	err := s.pool.QueryRow(ctx, `SELECT member FROM statuses WHERE id = $1`, id).Scan(&member)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("couldn't find status %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("couldn't read status: %w", err)
	}
	return member, nil
}

// Status implements [store.Store].
func (s *Store) Status(ctx context.Context, id string) (store.Status, error) {
	st := store.Status{ID: id}
	var body []byte
	err := s.pool.QueryRow(ctx, `SELECT collection, member, body FROM statuses WHERE id = $1`, id).Scan(&st.Collection, &st.Member, &body)
	if errors.Is(err, pgx.ErrNoRows) {
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

// committedMemberQuery reads, for collection $1 and member $2, what
// [committedMember] holds. Run after the log head's lock, under READ
// COMMITTED, it sees every key event, revocation, removal and access
// change committed before (each takes the same lock), and any later one
// waits for the transaction to end.
const committedMemberQuery = `SELECT m.public_key, m.revoked, coalesce(a.can_write, false) FROM members m
	LEFT JOIN collection_access a ON a.collection = $1 AND a.member = m.id WHERE m.id = $2`

// committedMember is a member as committed, read by committedMemberQuery,
// for [store.Submission].CheckSubmitter and CheckRevoked and
// [store.NewPrivateSet].CheckWriter.
type committedMember struct {
	found, revoked, canWrite bool
	key                      []byte
}

// scan reads the answer of committedMemberQuery: no row leaves found false.
func (m *committedMember) scan(rows pgx.Rows) error {
	_, err := pgx.ForEachRow(rows, []any{&m.key, &m.revoked, &m.canWrite}, func() error {
		m.found = true
		return nil
	})
	return err
}

// check refuses, with [store.ErrSubmitterChanged], a member not found or
// revoked (or removed); with write, one that may not write collection;
// with withKey, one whose key in force isn't key (nil: no key). It is the
// SQLite store's checkMember, so that both stores refuse alike.
func (m committedMember) check(collection, member string, write, withKey bool, key []byte) error {
	switch {
	case !m.found:
		return fmt.Errorf("member %s: %w", member, store.ErrSubmitterChanged)
	case m.revoked:
		return fmt.Errorf("member %s was revoked or removed: %w", member, store.ErrSubmitterChanged)
	case write && !m.canWrite:
		return fmt.Errorf("member %s may not write collection %s: %w", member, collection, store.ErrSubmitterChanged)
	case withKey && !bytes.Equal(m.key, key):
		return fmt.Errorf("member %s has another key in force: %w", member, store.ErrSubmitterChanged)
	}
	return nil
}
