package sqlite

import (
	"context"
	"fmt"
)

// PrivateSetTagsAfter returns up to limit tags of set id greater than
// after (nil: from the first), in order: one page of the set's tags, so
// that a caller can send a large set in bounded memory, with no read
// transaction open between pages.
func (s *Store) PrivateSetTagsAfter(ctx context.Context, id string, after []byte, limit int) ([][]byte, error) {
	if after == nil {
		after = []byte{}
	}
	rows, err := s.r.QueryContext(ctx, `SELECT tag FROM private_set_tags WHERE set_id = ? AND tag > ? ORDER BY tag LIMIT ?`, id, after, limit)
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
