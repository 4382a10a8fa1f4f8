package postgres

// The core schema: the tables of the SQLite store's migrations 1–3, 400
// (log format v2) and 410 (member usage) as one step, since this store
// starts at log format v2. Differences from SQLite, each for portability
// to PostgreSQL-compatible distributed databases (docs/scaling.md):
//
//   - log_head is the one counter row that orders the log: the next log
//     index and the last entry's received time. objects.seq is assigned
//     from it too (the entry's index + 1), never from a sequence.
//   - No triggers: Submit sets the version flags (is_first, is_last) and
//     the members' storage use itself, in the same transaction.
//   - collection_access keeps each member's place in the lists (pos),
//     which SQLite took from rowid.
//   - Times are fixed-width text (see timeLayout); the ones ranged over
//     and names ordered by use byte order (COLLATE "C"), like SQLite.
//
// Migration 4 is the SQLite store's: TAXII's added_after is found among
// the collection's additions, through an index led by the collection,
// instead of among every collection's through objects_date_added, which
// read the rows of collections the member may not read
// (storetest.Unreadable) and which nothing else used. CREATE INDEX reads
// the whole objects table once, a one-time cost of the upgrade that grows
// with the table, and blocks writes to it meanwhile (a migration is a
// transaction, so not CONCURRENTLY).
func init() {
	registerMigrations(migration{1, "core", `
CREATE TABLE members (
	id         TEXT PRIMARY KEY,
	name       TEXT COLLATE "C" NOT NULL UNIQUE,
	public_key BYTEA,
	identity   BYTEA NOT NULL,
	created    TEXT NOT NULL,
	revoked    BOOLEAN NOT NULL DEFAULT false
);
CREATE TABLE tokens (
	hash    BYTEA PRIMARY KEY,
	lookup  BYTEA NOT NULL,
	member  TEXT NOT NULL REFERENCES members(id),
	created TEXT NOT NULL
);
CREATE INDEX tokens_lookup ON tokens(lookup);
CREATE TABLE collections (
	id          TEXT PRIMARY KEY,
	title       TEXT NOT NULL,
	description TEXT NOT NULL,
	signatures  TEXT NOT NULL,
	relay       BOOLEAN NOT NULL DEFAULT false,
	created     TEXT COLLATE "C" NOT NULL
);
CREATE TABLE collection_access (
	collection TEXT NOT NULL REFERENCES collections(id),
	member     TEXT NOT NULL REFERENCES members(id),
	can_read   BOOLEAN NOT NULL,
	can_write  BOOLEAN NOT NULL,
	pos        INTEGER NOT NULL,
	PRIMARY KEY (collection, member)
);
CREATE TABLE log_head (
	id            INTEGER PRIMARY KEY CHECK (id = 1),
	next_idx      BIGINT NOT NULL,
	last_received TEXT NOT NULL
);
INSERT INTO log_head(id, next_idx, last_received) VALUES (1, 0, '');
CREATE TABLE log_entries (
	idx        BIGINT PRIMARY KEY,
	leaf       BYTEA NOT NULL,
	salt       BYTEA NOT NULL,
	collection TEXT NOT NULL,
	object_id  TEXT NOT NULL,
	version    TEXT NOT NULL,
	member     TEXT NOT NULL,
	received   TEXT NOT NULL,
	kind       TEXT NOT NULL
);
CREATE INDEX log_entries_kind_member ON log_entries(kind, member, idx);
CREATE TABLE objects (
	seq          BIGINT PRIMARY KEY,
	collection   TEXT NOT NULL REFERENCES collections(id),
	object_id    TEXT NOT NULL,
	type         TEXT NOT NULL,
	spec_version TEXT NOT NULL,
	version      TEXT COLLATE "C" NOT NULL,
	date_added   TEXT COLLATE "C" NOT NULL,
	member       TEXT NOT NULL,
	signed       BOOLEAN NOT NULL,
	raw          BYTEA NOT NULL,
	log_index    BIGINT NOT NULL UNIQUE REFERENCES log_entries(idx),
	is_first     BOOLEAN NOT NULL,
	is_last      BOOLEAN NOT NULL
);
CREATE UNIQUE INDEX objects_version ON objects(collection, object_id, version);
CREATE INDEX objects_collection_seq ON objects(collection, seq);
CREATE INDEX objects_date_added ON objects(date_added);
CREATE INDEX objects_id_version ON objects(object_id, version);
CREATE TABLE object_owners (
	object_id TEXT PRIMARY KEY,
	member    TEXT NOT NULL
);
CREATE TABLE statuses (
	id         TEXT PRIMARY KEY,
	collection TEXT NOT NULL,
	member     TEXT NOT NULL,
	body       BYTEA NOT NULL
);
CREATE TABLE member_usage (
	member TEXT PRIMARY KEY,
	bytes  BIGINT NOT NULL
);
`}, migration{4, "objects by collection and date added", `
CREATE INDEX objects_collection_date_added ON objects(collection, date_added);
DROP INDEX objects_date_added;
`})
}
