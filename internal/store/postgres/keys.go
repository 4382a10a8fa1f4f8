package postgres

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/tlog"
)

// logHead is the log's counter row (table log_head), locked by the
// transaction that read it until that transaction ends. It is the only
// source of log indexes, received times and object Seq values: a
// transaction that appends entries of any kind locks it first, takes
// indexes from it in order and writes it back ([Store.logTx] does all
// three; Submit does the same in its batches), so the log has no gaps and one received-time order for every
// kind of entry, on any number of nodes sharing the database.
type logHead struct {
	next int64     // index of the next entry
	last time.Time // received time of the last entry taken; zero before the first
	// entry is the received time of the last entry kept (what save
	// writes): a time taken for an entry that was then given back
	// ([logHead.giveBack]) still orders the rest of its transaction, but
	// not later ones.
	entry time.Time
}

// headQuery reads and locks the counter row.
const headQuery = `SELECT next_idx, last_received FROM log_head WHERE id = 1 FOR UPDATE`

// lockHead reads and locks the counter row inside tx.
func lockHead(ctx context.Context, tx pgx.Tx) (*logHead, error) {
	var h logHead
	if err := h.scan(tx.QueryRow(ctx, headQuery)); err != nil {
		return nil, fmt.Errorf("couldn't lock the log head: %w", err)
	}
	return &h, nil
}

// scan reads the row of headQuery (and any extra columns after it).
func (h *logHead) scan(row pgx.Row, extra ...any) error {
	var last string
	if err := row.Scan(append([]any{&h.next, &last}, extra...)...); err != nil {
		return err
	}
	if last != "" {
		t, err := parseTime(last)
		if err != nil {
			return err
		}
		h.last, h.entry = t, t
	}
	return nil
}

// take reserves the next entry: its index and its received time, now
// (to the microsecond) or one microsecond after the last entry's if now
// isn't later.
func (h *logHead) take(now time.Time) (int64, time.Time) {
	t := now.UTC().Truncate(time.Microsecond)
	if !h.last.IsZero() && !t.After(h.last) {
		t = h.last.Add(time.Microsecond)
	}
	idx := h.next
	h.next++
	h.last, h.entry = t, t
	return idx, t
}

// giveBack returns the entry last taken, when it turned out not to be
// needed; before is the head as it was before that take.
func (h *logHead) giveBack(before logHead) {
	h.next, h.entry = before.next, before.entry
}

func (h *logHead) saveArgs() (string, []any) {
	last := ""
	if !h.entry.IsZero() {
		last = fmtTime(h.entry)
	}
	return `UPDATE log_head SET next_idx = $1, last_received = $2 WHERE id = 1`, []any{h.next, last}
}

// save writes the head back inside tx.
func (h *logHead) save(ctx context.Context, tx pgx.Tx) error {
	q, args := h.saveArgs()
	_, err := tx.Exec(ctx, q, args...)
	return err
}

// queueSave queues the write of the head in b (for a transaction that
// sends its writes as one batch).
func (h *logHead) queueSave(b *pgx.Batch) {
	q, args := h.saveArgs()
	b.Queue(q, args...)
}

// logTx runs fn in one transaction ([Store.inTx], retried as a whole)
// that holds the locked log head, and saves the head before committing.
// Every transaction that appends log entries must use it.
func (s *Store) logTx(ctx context.Context, fn func(tx pgx.Tx, h *logHead) error) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		h, err := lockHead(ctx, tx)
		if err != nil {
			return err
		}
		if err := fn(tx, h); err != nil {
			return err
		}
		return h.save(ctx, tx)
	})
}

// insertEntry inserts one log entry inside tx; idx and received come from
// [logHead.take].
func insertEntry(ctx context.Context, tx pgx.Tx, idx int64, leaf, salt []byte, collection, objectID string, version time.Time, member string, received time.Time, kind string) error {
	if salt == nil {
		salt = []byte{}
	}
	_, err := tx.Exec(ctx, `INSERT INTO log_entries(idx, leaf, salt, collection, object_id, version, member, received, kind) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		idx, leaf, salt, collection, objectID, fmtTime(version), member, fmtTime(received), kind)
	return err
}

// appendKeyEntry appends a member key entry inside tx.
func (s *Store) appendKeyEntry(ctx context.Context, tx pgx.Tx, h *logHead, e tlog.Entry) error {
	idx, received := h.take(s.now())
	e.Kind, e.Received = tlog.KindMemberKey, received
	leaf, err := e.Marshal()
	if err != nil {
		return fmt.Errorf("%w: %v", store.ErrInvalid, err)
	}
	return insertEntry(ctx, tx, idx, leaf, nil, "", "", received, e.Member, received, tlog.KindMemberKey)
}

// AddMember implements [store.Store].
func (s *Store) AddMember(ctx context.Context, m store.Member) error {
	if m.ID == "" || m.Name == "" {
		return fmt.Errorf("couldn't add member: empty id or name: %w", store.ErrInvalid)
	}
	if m.PublicKey != nil && len(m.PublicKey) != ed25519.PublicKeySize {
		return fmt.Errorf("couldn't add member %q: public key is %d bytes, not 32: %w", m.Name, len(m.PublicKey), store.ErrInvalid)
	}
	if m.Created.IsZero() {
		m.Created = s.now()
	}
	err := s.logTx(ctx, func(tx pgx.Tx, h *logHead) error {
		tag, err := tx.Exec(ctx, `INSERT INTO members(id, name, public_key, identity, created) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
			m.ID, m.Name, m.PublicKey, m.Identity, fmtTime(m.Created))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("id or name taken: %w", store.ErrConflict)
		}
		// After the insert, so that a taken id or name is said first.
		if err := keyHeldByAnother(ctx, tx, m.PublicKey, m.ID); err != nil {
			return err
		}
		e := tlog.Entry{Member: m.ID, Event: tlog.EventRegister, Authority: tlog.AuthorityOperator}
		if m.PublicKey != nil {
			e.Key = ed25519.PublicKey(m.PublicKey)
		}
		return s.appendKeyEntry(ctx, tx, h, e)
	})
	if isUnique(err) {
		err = fmt.Errorf("id or name taken: %w", store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("couldn't add member %q: %w", m.Name, err)
	}
	return nil
}

// ChangeKey implements [store.Store]. The event is checked against the
// member's logged history (replayed from its key entries) with the same
// rules every verifier applies, so the log never holds an event they
// would refuse. The log head is locked before the history is read, so two
// concurrent changes of one member are checked one after the other.
func (s *Store) ChangeKey(ctx context.Context, ev store.KeyEvent) error {
	e := tlog.Entry{Member: ev.Member, Event: ev.Event, Authority: ev.Authority, Statement: ev.Statement}
	if ev.Key != nil {
		e.Key = ed25519.PublicKey(ev.Key)
	}
	if ev.Event == tlog.EventRegister {
		return fmt.Errorf("couldn't change the key of %s: registration is AddMember: %w", ev.Member, store.ErrInvalid)
	}
	err := s.logTx(ctx, func(tx pgx.Tx, h *logHead) error {
		ok, err := exists(ctx, tx, `SELECT 1 FROM members WHERE id = $1 FOR UPDATE`, ev.Member)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("member %s: %w", ev.Member, store.ErrNotFound)
		}
		history, err := keyHistory(ctx, tx, ev.Member)
		if err != nil {
			return err
		}
		if ev.Event == tlog.EventRotate {
			if err := keyHeldByAnother(ctx, tx, ev.Key, ev.Member); err != nil {
				return err
			}
		}
		idx, received := h.take(s.now())
		e.Kind, e.Received = tlog.KindMemberKey, received
		leaf, err := e.Marshal()
		if err != nil {
			return fmt.Errorf("%w: %v", store.ErrInvalid, err)
		}
		if err := history.Apply(uint64(idx), e); err != nil {
			return fmt.Errorf("%w: %v", store.ErrInvalid, err)
		}
		switch ev.Event {
		case tlog.EventRotate:
			_, err = tx.Exec(ctx, `UPDATE members SET public_key = $1 WHERE id = $2`, ev.Key, ev.Member)
		case tlog.EventRevokeKey:
			_, err = tx.Exec(ctx, `UPDATE members SET public_key = NULL WHERE id = $1`, ev.Member)
		case tlog.EventRevokeMember:
			if _, err = tx.Exec(ctx, `UPDATE members SET public_key = NULL, revoked = true WHERE id = $1`, ev.Member); err == nil {
				_, err = tx.Exec(ctx, `DELETE FROM tokens WHERE member = $1`, ev.Member)
			}
		}
		if err != nil {
			return err
		}
		return insertEntry(ctx, tx, idx, leaf, nil, "", "", received, ev.Member, received, tlog.KindMemberKey)
	})
	if err != nil {
		return fmt.Errorf("couldn't record the %s of %s: %w", ev.Event, ev.Member, err)
	}
	return nil
}

// keyHeldByAnother fails with [store.ErrKeyHeld] when key (nil: none) was
// put in force for another member than member by a logged key entry
// ([store.CheckKeyHeld]). The caller holds the log head's lock, so no
// concurrent change can register the key meanwhile.
func keyHeldByAnother(ctx context.Context, tx pgx.Tx, key []byte, member string) error {
	if key == nil {
		return nil
	}
	rows, err := tx.Query(ctx, `SELECT idx, member, leaf FROM log_entries WHERE kind = $1 AND member <> $2 ORDER BY idx`, tlog.KindMemberKey, member)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var idx int64
		var other string
		var leaf []byte
		if err := rows.Scan(&idx, &other, &leaf); err != nil {
			return err
		}
		if err := store.CheckKeyHeld(idx, other, leaf, key); err != nil {
			return err
		}
	}
	return rows.Err()
}

// keyHistory replays a member's logged key entries.
func keyHistory(ctx context.Context, tx pgx.Tx, member string) (*tlog.KeyHistory, error) {
	rows, err := tx.Query(ctx, `SELECT idx, leaf FROM log_entries WHERE kind = $1 AND member = $2 ORDER BY idx`, tlog.KindMemberKey, member)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	h := tlog.NewKeyHistory()
	for rows.Next() {
		var idx int64
		var leaf []byte
		if err := rows.Scan(&idx, &leaf); err != nil {
			return nil, err
		}
		e, err := tlog.ParseEntry(leaf)
		if err != nil {
			return nil, err
		}
		if err := h.Apply(uint64(idx), e); err != nil {
			return nil, err
		}
	}
	return h, rows.Err()
}

// KeyEntries implements [store.Store].
func (s *Store) KeyEntries(ctx context.Context, size int64, members ...string) ([]store.Entry, error) {
	q := `SELECT ` + entryCols + ` FROM log_entries WHERE kind = $1 AND idx < $2`
	args := []any{tlog.KindMemberKey, size}
	if len(members) > 0 {
		q += ` AND member = ANY($3)`
		args = append(args, members)
	}
	entries, err := s.queryEntries(ctx, q+` ORDER BY idx`, args...)
	if err != nil {
		return nil, fmt.Errorf("couldn't read member key entries: %w", err)
	}
	return entries, nil
}
