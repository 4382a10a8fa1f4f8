package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/parley-exchange/parley/internal/store"
)

const memberCols = `id, name, public_key, identity, created`

func scanMember(row pgx.Row) (store.Member, error) {
	var m store.Member
	var created string
	if err := row.Scan(&m.ID, &m.Name, &m.PublicKey, &m.Identity, &created); err != nil {
		return m, err
	}
	if len(m.PublicKey) == 0 {
		m.PublicKey = nil
	}
	var err error
	m.Created, err = parseTime(created)
	return m, err
}

func (s *Store) memberWhere(ctx context.Context, where string, arg any) (store.Member, error) {
	m, err := scanMember(s.pool.QueryRow(ctx, `SELECT `+memberCols+` FROM members WHERE `+where, arg))
	if errors.Is(err, pgx.ErrNoRows) {
		return m, fmt.Errorf("couldn't find member %v: %w", arg, store.ErrNotFound)
	}
	if err != nil {
		return m, fmt.Errorf("couldn't read member: %w", err)
	}
	return m, nil
}

// Member implements [store.Store].
func (s *Store) Member(ctx context.Context, id string) (store.Member, error) {
	return s.memberWhere(ctx, "id = $1", id)
}

// MemberByName implements [store.Store].
func (s *Store) MemberByName(ctx context.Context, name string) (store.Member, error) {
	return s.memberWhere(ctx, "name = $1", name)
}

// Members implements [store.Store].
func (s *Store) Members(ctx context.Context) ([]store.Member, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+memberCols+` FROM members ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("couldn't list members: %w", err)
	}
	defer rows.Close()
	var out []store.Member
	for rows.Next() {
		m, err := scanMember(rows)
		if err != nil {
			return nil, fmt.Errorf("couldn't list members: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("couldn't list members: %w", err)
	}
	return out, nil
}

// exists reports whether a row matches query (SELECT 1 ...) inside tx.
func exists(ctx context.Context, tx pgx.Tx, query string, args ...any) (bool, error) {
	var one int
	err := tx.QueryRow(ctx, query, args...).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// AddToken implements [store.Store]. The lookup column holds the first 8
// bytes of the hash so that [Store.TokenMember] can find a candidate by
// index and then compare the full hash in constant time.
func (s *Store) AddToken(ctx context.Context, t store.Token) error {
	if t.Created.IsZero() {
		t.Created = s.now()
	}
	// insertToken takes the member's row FOR SHARE: a concurrent
	// revocation (which deletes the member's tokens) can't slip between
	// its check and the insert.
	err := s.inTx(ctx, func(tx pgx.Tx) error { return insertToken(ctx, tx, t) })
	if isUnique(err) {
		return fmt.Errorf("couldn't add token: %w", store.ErrConflict)
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("couldn't add token: %w", err)
	}
	return err
}

// TokenMember implements [store.Store], comparing every candidate with
// the same lookup prefix in constant time ([store.TokenMatch]).
func (s *Store) TokenMember(ctx context.Context, hash [32]byte) (store.Member, error) {
	rows, err := s.pool.Query(ctx, `SELECT hash, member FROM tokens WHERE lookup = $1`, hash[:8])
	if err != nil {
		return store.Member{}, fmt.Errorf("couldn't look up token: %w", err)
	}
	match := store.NewTokenMatch(hash)
	for rows.Next() {
		var h []byte
		var m string
		if err := rows.Scan(&h, &m); err != nil {
			rows.Close()
			return store.Member{}, fmt.Errorf("couldn't look up token: %w", err)
		}
		match.Offer(h, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return store.Member{}, fmt.Errorf("couldn't look up token: %w", err)
	}
	member, err := match.Member()
	if err != nil {
		return store.Member{}, err
	}
	return s.Member(ctx, member)
}

// AddCollection implements [store.Store].
func (s *Store) AddCollection(ctx context.Context, c store.Collection) error {
	access, err := c.PrepareNew(s.now())
	if err != nil {
		return err
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO collections(id, title, description, signatures, relay, created) VALUES ($1, $2, $3, $4, $5, $6)`,
			c.ID, c.Title, c.Description, string(c.Signatures), c.Relay, fmtTime(c.Created)); err != nil {
			return err
		}
		for i, a := range access {
			ok, err := exists(ctx, tx, `SELECT 1 FROM members WHERE id = $1`, a.Member)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("couldn't add collection %q: member %q: %w", c.Title, a.Member, store.ErrNotFound)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO collection_access(collection, member, can_read, can_write, pos) VALUES ($1, $2, $3, $4, $5)`,
				c.ID, a.Member, a.Read, a.Write, i); err != nil {
				return err
			}
		}
		return nil
	})
	if isUnique(err) {
		return fmt.Errorf("couldn't add collection %q: id taken: %w", c.Title, store.ErrConflict)
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("couldn't add collection %q: %w", c.Title, err)
	}
	return err
}

func (s *Store) loadAccess(ctx context.Context, cs []store.Collection) error {
	idx := map[string]int{}
	for i, c := range cs {
		idx[c.ID] = i
	}
	q, args := `SELECT collection, member, can_read, can_write FROM collection_access ORDER BY collection, pos`, []any(nil)
	if len(cs) == 1 {
		q, args = `SELECT collection, member, can_read, can_write FROM collection_access WHERE collection = $1 ORDER BY pos`, []any{cs[0].ID}
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var coll, m string
		var rd, wr bool
		if err := rows.Scan(&coll, &m, &rd, &wr); err != nil {
			return err
		}
		i, ok := idx[coll]
		if !ok {
			continue
		}
		if rd {
			cs[i].Readers = append(cs[i].Readers, m)
		}
		if wr {
			cs[i].Writers = append(cs[i].Writers, m)
		}
	}
	return rows.Err()
}

func (s *Store) collections(ctx context.Context, where string, args ...any) ([]store.Collection, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, title, description, signatures, relay, created FROM collections `+where+` ORDER BY created, id`, args...)
	if err != nil {
		return nil, err
	}
	var out []store.Collection
	for rows.Next() {
		var c store.Collection
		var sig, created string
		if err := rows.Scan(&c.ID, &c.Title, &c.Description, &sig, &c.Relay, &created); err != nil {
			rows.Close()
			return nil, err
		}
		c.Signatures = store.SignaturePolicy(sig)
		if c.Created, err = parseTime(created); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if err := s.loadAccess(ctx, out); err != nil {
		return nil, err
	}
	return out, nil
}

// Collection implements [store.Store].
func (s *Store) Collection(ctx context.Context, id string) (store.Collection, error) {
	cs, err := s.collections(ctx, `WHERE id = $1`, id)
	if err != nil {
		return store.Collection{}, fmt.Errorf("couldn't read collection: %w", err)
	}
	if len(cs) == 0 {
		return store.Collection{}, fmt.Errorf("couldn't find collection %q: %w", id, store.ErrNotFound)
	}
	return cs[0], nil
}

// Access implements [store.Store]: the collections and collection_access
// primary keys find the collection and the pair.
func (s *Store) Access(ctx context.Context, id, member string) (bool, bool, error) {
	var rd, wr *bool
	err := s.pool.QueryRow(ctx, `SELECT a.can_read, a.can_write FROM collections c
		LEFT JOIN collection_access a ON a.collection = c.id AND a.member = $1 WHERE c.id = $2`, member, id).Scan(&rd, &wr)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, false, fmt.Errorf("couldn't find collection %q: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return false, false, fmt.Errorf("couldn't read collection access: %w", err)
	}
	return rd != nil && *rd, wr != nil && *wr, nil
}

// Collections implements [store.Store].
func (s *Store) Collections(ctx context.Context) ([]store.Collection, error) {
	cs, err := s.collections(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("couldn't list collections: %w", err)
	}
	return cs, nil
}
