package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/tlog"
)

func init() {
	// Federation (internal/peer), versions 700-709, as in the SQLite
	// store: the peers a node follows, their position, their hash tiles
	// (computed here from their entries), their member key entries, the
	// checkpoints accepted and the provenance of each replicated object.
	// The token stays in the file named by token_file, never in the
	// database. Times are text (timeLayout; "" for the zero time).
	registerMigrations(migration{700, "peers", `
CREATE TABLE peers (
	name        TEXT PRIMARY KEY,
	url         TEXT NOT NULL,
	token_file  TEXT NOT NULL,
	ca_file     TEXT NOT NULL,
	log_key     TEXT NOT NULL,
	policy      TEXT NOT NULL,
	remote      TEXT NOT NULL,
	into_coll   TEXT NOT NULL REFERENCES collections(id),
	member      TEXT NOT NULL REFERENCES members(id),
	created     TEXT NOT NULL,
	next        BIGINT NOT NULL,
	checkpoint  BYTEA,
	objects     BIGINT NOT NULL,
	keys        BIGINT NOT NULL,
	remote_size BIGINT NOT NULL,
	last_round  TEXT NOT NULL,
	last_error  TEXT NOT NULL,
	stopped     TEXT NOT NULL,
	evidence    TEXT NOT NULL
);
CREATE TABLE peer_tiles (
	peer  TEXT NOT NULL REFERENCES peers(name),
	level INTEGER NOT NULL,
	n     BIGINT NOT NULL,
	width INTEGER NOT NULL,
	data  BYTEA NOT NULL,
	PRIMARY KEY (peer, level, n)
);
CREATE TABLE peer_checkpoints (
	peer TEXT NOT NULL REFERENCES peers(name),
	size BIGINT NOT NULL,
	note BYTEA NOT NULL,
	PRIMARY KEY (peer, size)
);
CREATE TABLE peer_keys (
	peer TEXT NOT NULL REFERENCES peers(name),
	idx  BIGINT NOT NULL,
	leaf BYTEA NOT NULL,
	PRIMARY KEY (peer, idx)
);
CREATE TABLE peer_objects (
	peer      TEXT NOT NULL REFERENCES peers(name),
	idx       BIGINT NOT NULL,
	leaf      BYTEA NOT NULL,
	opening   BYTEA NOT NULL,
	object_id TEXT NOT NULL,
	version   TEXT NOT NULL,
	PRIMARY KEY (peer, idx)
);
CREATE INDEX peer_objects_id ON peer_objects(peer, object_id);
`}, migration{701, "peer rounds in progress", `
ALTER TABLE peers ADD COLUMN round_started TEXT NOT NULL DEFAULT '';
ALTER TABLE peers ADD COLUMN round_from BIGINT NOT NULL DEFAULT 0;
`}, migration{702, "consecutive failed peer rounds", `
ALTER TABLE peers ADD COLUMN failures BIGINT NOT NULL DEFAULT 0;
`}, migration{760, "peer key indexes", `
ALTER TABLE peers ADD COLUMN key_index BYTEA;
ALTER TABLE peers ADD COLUMN key_index_checkpoint BYTEA;
ALTER TABLE peers ADD COLUMN key_index_size BIGINT NOT NULL DEFAULT 0;
ALTER TABLE peers ADD COLUMN key_index_missing TEXT NOT NULL DEFAULT '';
`}, migration{780, "transfer of peer rounds in progress", `
ALTER TABLE peers ADD COLUMN round_active TEXT NOT NULL DEFAULT '';
ALTER TABLE peers ADD COLUMN round_bytes BIGINT NOT NULL DEFAULT 0;
`}, migration{820, "leases of peer rounds in progress", `
ALTER TABLE peers ADD COLUMN round_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE peers ADD COLUMN round_expires TEXT NOT NULL DEFAULT '';
`}, migration{870, "refused objects of peers", `
ALTER TABLE peers ADD COLUMN refused BIGINT NOT NULL DEFAULT 0;
ALTER TABLE peers ADD COLUMN last_refused TEXT NOT NULL DEFAULT '';
`})
}

var _ store.PeerStore = (*Store)(nil)

// AddPeer implements [store.PeerStore].
func (s *Store) AddPeer(ctx context.Context, p store.Peer) error {
	if p.Name == "" || p.URL == "" || p.TokenFile == "" || p.LogKey == "" || p.Remote == "" || p.Into == "" || p.Member == "" {
		return fmt.Errorf("couldn't add peer %q: name, url, token file, log key, remote, into and member are needed: %w", p.Name, store.ErrInvalid)
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO peers(name, url, token_file, ca_file, log_key, policy, remote, into_coll, member, created,
			next, checkpoint, objects, keys, remote_size, last_round, last_error, stopped, evidence)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, NULL, 0, 0, 0, '', '', '', '')`,
			p.Name, p.URL, p.TokenFile, p.CAFile, p.LogKey, p.Policy, p.Remote, p.Into, p.Member, fmtTime(p.Created))
		return err
	})
	switch {
	case isUnique(err):
		return fmt.Errorf("couldn't add peer %q: the name is taken: %w", p.Name, store.ErrConflict)
	case isForeignKey(err):
		return fmt.Errorf("couldn't add peer %q: collection %q or member %q: %w", p.Name, p.Into, p.Member, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("couldn't add peer %q: %w", p.Name, err)
	}
	return nil
}

// Peers implements [store.PeerStore].
func (s *Store) Peers(ctx context.Context) ([]store.Peer, error) {
	rows, err := s.pool.Query(ctx, `SELECT name, url, token_file, ca_file, log_key, policy, remote, into_coll, member, created,
		next, checkpoint, objects, keys, remote_size, last_round, last_error, stopped, evidence, round_started, round_from, failures,
		key_index, key_index_checkpoint, key_index_size, key_index_missing, round_active, round_bytes, round_owner, round_expires, refused, last_refused FROM peers ORDER BY name COLLATE "C"`)
	if err != nil {
		return nil, fmt.Errorf("couldn't list peers: %w", err)
	}
	defer rows.Close()
	var out []store.Peer
	for rows.Next() {
		var p store.Peer
		var created, last, started, active, expires string
		st := &p.State
		if err := rows.Scan(&p.Name, &p.URL, &p.TokenFile, &p.CAFile, &p.LogKey, &p.Policy, &p.Remote, &p.Into, &p.Member, &created,
			&st.Next, &st.Checkpoint, &st.Objects, &st.Keys, &st.RemoteSize, &last, &st.LastError, &st.Stopped, &st.Evidence, &started, &st.RoundFrom, &st.Failures,
			&st.KeyIndex, &st.KeyIndexCheckpoint, &st.KeyIndexSize, &st.KeyIndexMissing, &active, &st.RoundBytes, &st.RoundOwner, &expires, &st.Refused, &st.LastRefused); err != nil {
			return nil, fmt.Errorf("couldn't list peers: %w", err)
		}
		var e1, e2, e3, e4, e5 error
		p.Created, e1 = parseTime(created)
		st.LastRound, e2 = parseOptTime(last)
		st.RoundStarted, e3 = parseOptTime(started)
		st.RoundActive, e4 = parseOptTime(active)
		st.RoundExpires, e5 = parseOptTime(expires)
		if err := errors.Join(e1, e2, e3, e4, e5); err != nil {
			return nil, fmt.Errorf("couldn't read peer %s: %w", p.Name, err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("couldn't list peers: %w", err)
	}
	return out, nil
}

// AdvancePeer implements [store.PeerStore]. The peer's row is locked
// first (FOR UPDATE), so that of two concurrent steps from the same
// position one waits for the other and then fails with ErrConflict.
func (s *Store) AdvancePeer(ctx context.Context, st store.PeerStep) error {
	if st.To < st.From || len(st.Checkpoint) == 0 {
		return fmt.Errorf("couldn't record a step of peer %s: %w", st.Peer, store.ErrInvalid)
	}
	for t, data := range st.Tiles {
		if t.Entries || t.Width < 1 || t.Width > tlog.TileWidth || len(data) != t.Width*tlog.HashSize {
			return fmt.Errorf("couldn't record a step of peer %s: bad tile %s: %w", st.Peer, t.Path(), store.ErrInvalid)
		}
	}
	// Encoded once, outside the transaction, which may be run again.
	objects := make([][]any, len(st.Objects))
	for i, o := range st.Objects {
		op, err := json.Marshal(o.Opening)
		if err != nil {
			return fmt.Errorf("couldn't record a step of peer %s: %w", st.Peer, err)
		}
		objects[i] = []any{st.Peer, o.Index, o.Leaf, op, o.Opening.ObjectID, fmtTime(o.Version)}
	}
	keys := make([][]any, len(st.Keys))
	for i, k := range st.Keys {
		keys[i] = []any{st.Peer, k.Index, k.Leaf}
	}
	cpSize, cpErr := openNoteSize(st.Checkpoint)
	if st.KeyIndex != nil && (cpErr != nil || cpSize != st.To) {
		return fmt.Errorf("couldn't record a step of peer %s: a key index goes only with the step that reaches its checkpoint's size: %w", st.Peer, store.ErrInvalid)
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var next int64
		var stopped, owner, started string
		err := tx.QueryRow(ctx, `SELECT next, stopped, round_owner, round_started FROM peers WHERE name = $1 FOR UPDATE`, st.Peer).Scan(&next, &stopped, &owner, &started)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("couldn't record a step of peer %s: %w", st.Peer, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if st.Round.Owner != "" && (owner != st.Round.Owner || started != fmtTime(st.Round.Started)) {
			return fmt.Errorf("couldn't record a step of peer %s: its round is not %s's any more: %w", st.Peer, st.Round.Owner, store.ErrFenced)
		}
		if next != st.From || stopped != "" {
			return fmt.Errorf("couldn't record a step of peer %s from %d: it is at %d (stopped: %q): %w", st.Peer, st.From, next, stopped, store.ErrConflict)
		}
		if len(st.Tiles) > 0 {
			var b pgx.Batch
			for t, data := range st.Tiles {
				b.Queue(`INSERT INTO peer_tiles(peer, level, n, width, data) VALUES ($1, $2, $3, $4, $5)
					ON CONFLICT (peer, level, n) DO UPDATE SET width = EXCLUDED.width, data = EXCLUDED.data WHERE EXCLUDED.width > peer_tiles.width`,
					st.Peer, t.Level, int64(t.N), t.Width, data)
			}
			if err := tx.SendBatch(ctx, &b).Close(); err != nil {
				return err
			}
		}
		if len(keys) > 0 {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"peer_keys"}, []string{"peer", "idx", "leaf"}, pgx.CopyFromRows(keys)); err != nil {
				return err
			}
		}
		if len(objects) > 0 {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"peer_objects"}, []string{"peer", "idx", "leaf", "opening", "object_id", "version"}, pgx.CopyFromRows(objects)); err != nil {
				return err
			}
		}
		if cpErr == nil && cpSize == st.To {
			if _, err := tx.Exec(ctx, `INSERT INTO peer_checkpoints(peer, size, note) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, st.Peer, st.To, st.Checkpoint); err != nil {
				return err
			}
		}
		_, err = tx.Exec(ctx, `UPDATE peers SET next = $1, checkpoint = $2, objects = objects + $3, keys = keys + $4, remote_size = $5, last_round = $6, last_error = '', failures = 0 WHERE name = $7`,
			st.To, st.Checkpoint, len(st.Objects), len(st.Keys), st.RemoteSize, fmtTime(st.At), st.Peer)
		if err != nil {
			return err
		}
		if n := len(st.Refused); n > 0 {
			if _, err := tx.Exec(ctx, `UPDATE peers SET refused = refused + $1, last_refused = $2 WHERE name = $3`, n, st.Refused[n-1].Reason, st.Peer); err != nil {
				return err
			}
		}
		if st.KeyIndex == nil {
			return nil
		}
		_, err = tx.Exec(ctx, `UPDATE peers SET key_index = $1, key_index_checkpoint = $2, key_index_size = $3, key_index_missing = '' WHERE name = $4`,
			st.KeyIndex, st.Checkpoint, st.To, st.Peer)
		return err
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrConflict):
		return err
	case isUnique(err):
		return fmt.Errorf("couldn't record a step of peer %s: an entry is already recorded: %w", st.Peer, store.ErrConflict)
	default:
		return fmt.Errorf("couldn't record a step of peer %s: %w", st.Peer, err)
	}
}

// openNoteSize returns the tree size of a checkpoint note (already
// verified by the caller).
func openNoteSize(note []byte) (int64, error) {
	text, err := tlog.SplitNote(note)
	if err != nil {
		return 0, err
	}
	cp, err := tlog.ParseCheckpoint(text)
	if err != nil {
		return 0, err
	}
	return int64(cp.Size), nil
}

// RecordPeerRound implements [store.PeerStore].
func (s *Store) RecordPeerRound(ctx context.Context, name string, at time.Time, remoteSize int64, lastError string) error {
	return s.updatePeer(ctx, name, `UPDATE peers SET last_round = $1, remote_size = CASE WHEN $2::bigint < 0 THEN remote_size ELSE $2::bigint END, last_error = $3,
		failures = CASE WHEN $3 = '' THEN 0 ELSE failures + 1 END WHERE name = $4`,
		fmtTime(at), remoteSize, lastError, name)
}

// RecordPeerKeyIndex implements [store.PeerStore].
func (s *Store) RecordPeerKeyIndex(ctx context.Context, name string, size int64, checkpoint, index []byte, missing string) error {
	if index == nil {
		return s.updatePeer(ctx, name, `UPDATE peers SET key_index_missing = $1 WHERE name = $2`, missing, name)
	}
	if n, err := openNoteSize(checkpoint); err != nil || n != size {
		return fmt.Errorf("couldn't record the key index of peer %s: its checkpoint isn't of size %d: %w", name, size, store.ErrInvalid)
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var next int64
		var stopped string
		err := tx.QueryRow(ctx, `SELECT next, stopped FROM peers WHERE name = $1 FOR UPDATE`, name).Scan(&next, &stopped)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("couldn't record the key index of peer %s: %w", name, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("couldn't record the key index of peer %s: %w", name, err)
		}
		if next != size || stopped != "" {
			return fmt.Errorf("couldn't record the key index of peer %s of size %d: it is at %d (stopped: %q): %w", name, size, next, stopped, store.ErrConflict)
		}
		_, err = tx.Exec(ctx, `UPDATE peers SET key_index = $1, key_index_checkpoint = $2, key_index_size = $3, key_index_missing = '' WHERE name = $4`,
			index, checkpoint, size, name)
		return err
	})
}

// MarkPeerRound implements [store.PeerStore].
func (s *Store) MarkPeerRound(ctx context.Context, name string, started time.Time) error {
	if started.IsZero() {
		return s.updatePeer(ctx, name, `UPDATE peers SET round_started = '', round_from = 0, round_active = '', round_bytes = 0, round_owner = '', round_expires = '' WHERE name = $1`, name)
	}
	return s.updatePeer(ctx, name, `UPDATE peers SET round_started = $1, round_from = next, round_active = '', round_bytes = 0, round_owner = '', round_expires = '' WHERE name = $2`, fmtTime(started), name)
}

// BeatPeerRound implements [store.PeerStore].
func (s *Store) BeatPeerRound(ctx context.Context, name string, started, at time.Time, bytes int64) error {
	_, err := s.ifRound(ctx, "peers", name, `UPDATE peers SET round_active = $1, round_bytes = $2 WHERE name = $3 AND round_started = $4 AND round_started != ''`,
		fmtTime(at), bytes, name, fmtTime(started))
	return err
}

// InterruptPeerRound implements [store.PeerStore].
func (s *Store) InterruptPeerRound(ctx context.Context, name string, started, at time.Time, reason string) (bool, error) {
	return s.ifRound(ctx, "peers", name, `UPDATE peers SET last_round = $1, last_error = $2, failures = failures + 1,
		round_started = '', round_from = 0, round_active = '', round_bytes = 0, round_owner = '', round_expires = ''
		WHERE name = $3 AND round_started = $4 AND round_started != '' AND round_expires COLLATE "C" <= $1`,
		fmtTime(at), reason, name, fmtTime(started))
}

// ClaimPeerRound implements [store.PeerStore].
func (s *Store) ClaimPeerRound(ctx context.Context, name string, l store.RoundLease) (bool, error) {
	if l.Owner == "" || l.Started.IsZero() || l.Expires.IsZero() {
		return false, fmt.Errorf("couldn't claim a round of peer %s: owner, start and expiry are needed: %w", name, store.ErrInvalid)
	}
	return s.ifRound(ctx, "peers", name, `UPDATE peers SET round_started = $1, round_from = next, round_owner = $2, round_expires = $3,
		round_active = '', round_bytes = 0 WHERE name = $4 AND (round_started = '' OR round_owner = $2)`,
		fmtTime(l.Started), l.Owner, fmtTime(l.Expires), name)
}

// RenewPeerRound implements [store.PeerStore].
func (s *Store) RenewPeerRound(ctx context.Context, name string, l store.RoundLease, at time.Time, bytes int64) (bool, error) {
	return s.ifRound(ctx, "peers", name, `UPDATE peers SET round_expires = $1, round_active = CASE WHEN $2 = '' THEN round_active ELSE $2 END, round_bytes = $3
		WHERE name = $4 AND round_owner = $5 AND round_started = $6 AND round_started != '' AND round_owner != ''`,
		fmtTime(l.Expires), fmtOptTime(at), bytes, name, l.Owner, fmtTime(l.Started))
}

// EndPeerRound implements [store.PeerStore].
func (s *Store) EndPeerRound(ctx context.Context, name string, l store.RoundLease) (bool, error) {
	return s.ifRound(ctx, "peers", name, `UPDATE peers SET round_started = '', round_from = 0, round_active = '', round_bytes = 0, round_owner = '', round_expires = ''
		WHERE name = $1 AND round_owner = $2 AND round_started = $3 AND round_started != '' AND round_owner != ''`,
		name, l.Owner, fmtTime(l.Started))
}

// FinishPeerRound implements [store.PeerStore].
func (s *Store) FinishPeerRound(ctx context.Context, name string, l store.RoundLease, at time.Time, remoteSize int64, lastError string) (bool, error) {
	return s.ifRound(ctx, "peers", name, `UPDATE peers SET last_round = $1, remote_size = CASE WHEN $2::bigint < 0 THEN remote_size ELSE $2::bigint END, last_error = $3,
		failures = CASE WHEN $3 = '' THEN 0 ELSE failures + 1 END,
		round_started = '', round_from = 0, round_active = '', round_bytes = 0, round_owner = '', round_expires = ''
		WHERE name = $4 AND round_owner = $5 AND round_started = $6 AND round_started != '' AND round_owner != ''`,
		fmtTime(at), remoteSize, lastError, name, l.Owner, fmtTime(l.Started))
}

// ifRound runs q, an update of the row named name of table ("feeds" or
// "peers") that applies only to one round; false when it changed
// nothing, ErrNotFound when there is no such row.
func (s *Store) ifRound(ctx context.Context, table, name, q string, args ...any) (bool, error) {
	what := "couldn't update " + strings.TrimSuffix(table, "s")
	changed := false
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		changed = false
		tag, err := tx.Exec(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("%s %s: %w", what, name, err)
		}
		if tag.RowsAffected() > 0 {
			changed = true
			return nil
		}
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM `+table+` WHERE name = $1`, name).Scan(&one); errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%s %s: %w", what, name, store.ErrNotFound)
		} else if err != nil {
			return fmt.Errorf("%s %s: %w", what, name, err)
		}
		return nil
	})
	return changed && err == nil, err
}

// StopPeer implements [store.PeerStore].
func (s *Store) StopPeer(ctx context.Context, name, reason, evidence string, at time.Time) error {
	return s.updatePeer(ctx, name, `UPDATE peers SET stopped = $1, evidence = $2, last_error = $1, last_round = $3 WHERE name = $4`, reason, evidence, fmtTime(at), name)
}

func (s *Store) updatePeer(ctx context.Context, name, q string, args ...any) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("couldn't update peer %s: %w", name, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("couldn't update peer %s: %w", name, store.ErrNotFound)
		}
		return nil
	})
}

// PeerTile implements [store.PeerStore].
func (s *Store) PeerTile(ctx context.Context, name string, t tlog.Tile) ([]byte, error) {
	if t.Entries || t.Width < 1 || t.Width > tlog.TileWidth {
		return nil, fmt.Errorf("couldn't read tile %s of peer %s: %w", t.Path(), name, store.ErrInvalid)
	}
	var data []byte
	err := s.pool.QueryRow(ctx, `SELECT data FROM peer_tiles WHERE peer = $1 AND level = $2 AND n = $3 AND width >= $4`, name, t.Level, int64(t.N), t.Width).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("couldn't read tile %s of peer %s: %w", t.Path(), name, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("couldn't read tile %s of peer %s: %w", t.Path(), name, err)
	}
	return data[:t.Width*tlog.HashSize], nil
}

// PeerKeys implements [store.PeerStore].
func (s *Store) PeerKeys(ctx context.Context, name string, size int64) ([]store.PeerKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT idx, leaf FROM peer_keys WHERE peer = $1 AND idx < $2 ORDER BY idx`, name, size)
	if err != nil {
		return nil, fmt.Errorf("couldn't read the key entries of peer %s: %w", name, err)
	}
	defer rows.Close()
	var out []store.PeerKey
	for rows.Next() {
		var k store.PeerKey
		if err := rows.Scan(&k.Index, &k.Leaf); err != nil {
			return nil, fmt.Errorf("couldn't read the key entries of peer %s: %w", name, err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("couldn't read the key entries of peer %s: %w", name, err)
	}
	return out, nil
}

// PeerCheckpoint implements [store.PeerStore].
func (s *Store) PeerCheckpoint(ctx context.Context, name string, size int64) ([]byte, error) {
	var n []byte
	err := s.pool.QueryRow(ctx, `SELECT note FROM peer_checkpoints WHERE peer = $1 AND size <= $2 ORDER BY size DESC LIMIT 1`, name, size).Scan(&n)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("no checkpoint of peer %s of size at most %d: %w", name, size, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("couldn't read a checkpoint of peer %s: %w", name, err)
	}
	return n, nil
}

// PeerObjects implements [store.PeerStore].
func (s *Store) PeerObjects(ctx context.Context, name, objectID string) ([]store.PeerObject, error) {
	rows, err := s.pool.Query(ctx, `SELECT idx, leaf, opening, version FROM peer_objects WHERE peer = $1 AND object_id = $2 ORDER BY idx`, name, objectID)
	if err != nil {
		return nil, fmt.Errorf("couldn't read the provenance of %s: %w", objectID, err)
	}
	defer rows.Close()
	var out []store.PeerObject
	for rows.Next() {
		var o store.PeerObject
		var op []byte
		var version string
		if err := rows.Scan(&o.Index, &o.Leaf, &op, &version); err != nil {
			return nil, fmt.Errorf("couldn't read the provenance of %s: %w", objectID, err)
		}
		if err := json.Unmarshal(op, &o.Opening); err != nil {
			return nil, fmt.Errorf("couldn't read the provenance of %s: %w", objectID, err)
		}
		if o.Version, err = parseTime(version); err != nil {
			return nil, fmt.Errorf("couldn't read the provenance of %s: %w", objectID, err)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("couldn't read the provenance of %s: %w", objectID, err)
	}
	return out, nil
}
