package postgres

import (
	"context"
	"fmt"

	"github.com/parley-exchange/parley/internal/store"
)

var _ store.OpinionIndex = (*Store)(nil)

// Opinions are found through opinion_refs, one row per (referenced
// object, collection, opinion id), which [Store.indexObjects] writes from
// each opinion version's object_refs in the transaction that inserts the
// version: the index can't lag behind the objects.
func init() {
	registerMigrations(migration{300, "opinion_refs", `
CREATE TABLE opinion_refs (
	object_ref TEXT NOT NULL,
	collection TEXT NOT NULL,
	opinion_id TEXT NOT NULL,
	PRIMARY KEY (object_ref, collection, opinion_id)
);
`})
}

// OpinionVersions implements [store.OpinionIndex].
func (s *Store) OpinionVersions(ctx context.Context, collections []string, object string) ([]store.Object, error) {
	if len(collections) == 0 || object == "" {
		return nil, nil
	}
	out, err := s.queryObjectList(ctx, `SELECT `+objectCols+` FROM objects o WHERE o.type = 'opinion' AND o.collection = ANY($1::text[])
AND o.object_id IN (SELECT opinion_id FROM opinion_refs WHERE object_ref = $2 AND collection = ANY($1::text[]))
ORDER BY o.seq`, collections, object)
	if err != nil {
		return nil, fmt.Errorf("couldn't query opinions: %w", err)
	}
	return out, nil
}
