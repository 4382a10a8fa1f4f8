package postgres

import "github.com/jackc/pgx/v5"

// collection_stats holds what [Store.CollectionStats] returns for each
// collection that holds objects: its object ids (its rows with is_last),
// its versions and its latest date_added, so that the UI's home page
// reads one row per collection instead of counting every version (238 ms
// for 30 collections of 2,000 versions, docs/benchmarks.md).
//
// Objects are only ever added, by Submit and by Load, and never deleted
// or moved; Submit updates the row of its collection in the transaction
// that inserts the versions (queueStats) and Load counts the copied
// objects (countStats), so the counts are exact whenever a transaction
// commits. A Submit holds the log head's row lock until it commits (see
// [Store.Submit]), so submissions are already one at a time and the
// collection's counter row adds no lock wait of its own.
//
// The migration counts the objects stored before it: one read of the
// whole table, a one-time cost of the upgrade that grows with the table.
// It takes the log head's lock first, so that a Submit of a node still
// running the previous version either committed before the count (and is
// counted) or waits for the migration; a node of the previous version
// that goes on submitting after it doesn't update the counts, so every
// node of a PostgreSQL store must run this version or later once it is
// applied (as for any migration: a store a newer version migrated is
// refused at Open).
func init() {
	registerMigrations(migration{875, "collection stats", `
SELECT 1 FROM log_head WHERE id = 1 FOR UPDATE;
CREATE TABLE collection_stats (
	collection TEXT PRIMARY KEY,
	objects    BIGINT NOT NULL,
	versions   BIGINT NOT NULL,
	last_added TEXT COLLATE "C" NOT NULL
);
` + countStatsSQL})
}

// countStatsSQL counts the stored objects of every collection into
// collection_stats, which must hold no row.
const countStatsSQL = `INSERT INTO collection_stats(collection, objects, versions, last_added)
SELECT collection, count(*) FILTER (WHERE is_last), count(*), max(date_added COLLATE "C") FROM objects GROUP BY collection;
`

// queueStats queues the update of collection's row of collection_stats
// for versions new versions, newIDs of them the first of their object id
// in the collection, the latest added at added.
func queueStats(b *pgx.Batch, collection string, newIDs, versions int64, added string) {
	b.Queue(`INSERT INTO collection_stats(collection, objects, versions, last_added) VALUES ($1, $2, $3, $4)
ON CONFLICT (collection) DO UPDATE SET objects = collection_stats.objects + excluded.objects,
	versions = collection_stats.versions + excluded.versions, last_added = greatest(collection_stats.last_added, excluded.last_added)`,
		collection, newIDs, versions, added)
}
