package sqlite

// collection_stats holds what [Store.CollectionStats] returns for each
// collection that holds objects: its object ids (its rows with is_last),
// its versions and its latest date_added, so that the UI's home page
// reads one row per collection instead of counting every version.
// Triggers keep it in the transaction that inserts or deletes an object
// version: Submit only ever inserts (a version that is already stored is
// ignored, and then fires nothing), but an operator may delete rows
// behind the node's back (the fork tests do), and the counts then follow
// (is_last isn't given back to an older version by a delete, so the
// count of objects stays that of the rows with is_last). The migration
// counts the objects stored before it (one read of the whole table, a
// one-time cost of the upgrade).
func init() {
	registerMigrations(migration{875, "collection stats", `
CREATE TABLE collection_stats (
	collection TEXT PRIMARY KEY,
	objects    INTEGER NOT NULL,
	versions   INTEGER NOT NULL,
	last_added TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO collection_stats(collection, objects, versions, last_added)
SELECT collection, sum(is_last), count(*), max(date_added) FROM objects GROUP BY collection;
CREATE TRIGGER objects_collection_stats_insert AFTER INSERT ON objects BEGIN
	INSERT INTO collection_stats(collection, objects, versions, last_added)
	VALUES (NEW.collection, NOT EXISTS (SELECT 1 FROM objects WHERE collection = NEW.collection AND object_id = NEW.object_id AND seq <> NEW.seq), 1, NEW.date_added)
	ON CONFLICT (collection) DO UPDATE SET objects = objects + excluded.objects, versions = versions + 1,
		last_added = max(last_added, excluded.last_added);
END;
CREATE TRIGGER objects_collection_stats_delete AFTER DELETE ON objects BEGIN
	UPDATE collection_stats SET objects = objects - OLD.is_last, versions = versions - 1,
		last_added = coalesce((SELECT max(date_added) FROM objects WHERE collection = OLD.collection), '')
	WHERE collection = OLD.collection;
	DELETE FROM collection_stats WHERE collection = OLD.collection AND versions <= 0;
END;
`})
}

// Migration 876 counts objects as the rows with is_last, which is what
// the doc above says they are, instead of as the ids a row is the first
// of: after the newest version of an id was deleted behind the node's
// back (its older versions keep is_last 0), a newer version of the id
// gave is_last back to a row but added no object, and the count stayed
// one short for good. An inserted row now adds its is_last, and the
// version flags' trigger (migration 2), which clears is_last on the row
// it supersedes, subtracts it through the update trigger, in whatever
// order SQLite fires them. The migration recounts the objects once, so
// that a count that drifted is right again.
func init() {
	registerMigrations(migration{876, "collection stats follow is_last", `
DROP TRIGGER objects_collection_stats_insert;
CREATE TRIGGER objects_collection_stats_insert AFTER INSERT ON objects BEGIN
	INSERT INTO collection_stats(collection, objects, versions, last_added)
	VALUES (NEW.collection, NEW.is_last, 1, NEW.date_added)
	ON CONFLICT (collection) DO UPDATE SET objects = objects + excluded.objects, versions = versions + 1,
		last_added = max(last_added, excluded.last_added);
END;
CREATE TRIGGER objects_collection_stats_is_last AFTER UPDATE OF is_last ON objects WHEN NEW.is_last <> OLD.is_last BEGIN
	UPDATE collection_stats SET objects = objects + NEW.is_last - OLD.is_last WHERE collection = NEW.collection;
END;
UPDATE collection_stats SET objects = coalesce((SELECT sum(is_last) FROM objects WHERE collection = collection_stats.collection), 0);
`})
}
