package postgres

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/parley-exchange/parley/internal/store"
)

// scaleNode is a community node's store: scaleMembers members, each
// writing to every one of scaleColls collections, with indicators in
// several versions, relationships and opinions on the indicators.
const (
	scaleMembers = 30
	scaleColls   = 30
)

func scaleMember(m int) string { return fmt.Sprintf("identity--%08d-0000-4000-8000-000000000000", m) }
func scaleColl(c int) string   { return fmt.Sprintf("%08d-0000-4000-8000-00000000c011", c) }

// loadScale submits about n object versions through Submit, spread over
// the collections, and ANALYZEs. Every fifth indicator has three versions;
// each indicator gets a relationship; every indicator of the first
// collection gets opinions from several members.
func loadScale(tb testing.TB, s *Store, n int) {
	ctx := context.Background()
	var readers []string
	for m := range scaleMembers {
		if err := s.AddMember(ctx, store.Member{ID: scaleMember(m), Name: fmt.Sprint("m", m), Identity: []byte("{}")}); err != nil {
			tb.Fatal(err)
		}
		readers = append(readers, scaleMember(m))
	}
	for c := range scaleColls {
		if err := s.AddCollection(ctx, store.Collection{ID: scaleColl(c), Title: fmt.Sprint("c", c), Readers: readers, Writers: readers}); err != nil {
			tb.Fatal(err)
		}
	}
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	salt := make([]byte, 32)
	entry := func(o store.Object) ([]byte, error) { return fmt.Appendf(nil, `{"seq":%d}`, o.Seq), nil }
	per := n / scaleColls
	var wg sync.WaitGroup
	errs := make(chan error, scaleColls)
	sem := make(chan struct{}, 4)
	for c := range scaleColls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			var items []store.Item
			member := c % scaleMembers
			flush := func() {
				if len(items) == 0 {
					return
				}
				_, err := s.Submit(ctx, store.Submission{StatusID: fmt.Sprintf("st-%d-%d", c, len(items)) + items[0].Object.ID, Collection: scaleColl(c), Member: scaleMember(member), Received: t0, Items: items})
				if err != nil {
					errs <- err
				}
				items = nil
			}
			add := func(owned bool, id, typ string, v time.Time, raw string) {
				items = append(items, store.Item{Owned: owned, Object: store.Object{ID: id, Type: typ, SpecVersion: "2.1", Version: v, Signed: true, Raw: []byte(raw)}, Salt: salt, Entry: entry})
				if len(items) >= 500 {
					flush()
				}
			}
			for i, k := 0, 0; k < per; i++ {
				id := fmt.Sprintf("indicator--%08d-%04d-4000-8000-000000000000", i, c)
				versions := 1
				if i%5 == 0 {
					versions = 3
				}
				for v := range versions {
					mod := t0.Add(time.Duration(v) * time.Hour)
					add(true, id, "indicator", mod, fmt.Sprintf(`{"created":"2026-03-01T00:00:00Z","created_by_ref":%q,"id":%q,"indicator_types":["malicious-activity"],"modified":%q,"name":"word%d crossing %d","pattern":"[ipv4-addr:value = '10.%d.%d.%d']","pattern_type":"stix","spec_version":"2.1","type":"indicator","valid_from":"2026-03-01T00:00:00Z"}`,
						scaleMember(member), id, mod.Format(time.RFC3339), i%100, i, c, i/256%256, i%256))
					k++
				}
				rid := fmt.Sprintf("relationship--%08d-%04d-4000-8000-000000000000", i, c)
				add(true, rid, "relationship", t0, fmt.Sprintf(`{"id":%q,"relationship_type":"indicates","source_ref":%q,"target_ref":"malware--00000000-0000-4000-8000-00000000000%d","type":"relationship","spec_version":"2.1"}`, rid, id, c%10))
				k++
				if i%4 == 0 {
					oid := fmt.Sprintf("opinion--%08d-%04d-4000-8000-000000000000", i, c)
					add(true, oid, "opinion", t0, fmt.Sprintf(`{"id":%q,"object_refs":[%q],"opinion":"agree","type":"opinion","spec_version":"2.1"}`, oid, id))
					k++
				}
			}
			flush()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		tb.Fatal(err)
	}
	// Opinions of every member on the shared indicator of collection 0.
	for m := range scaleMembers {
		var items []store.Item
		for v := range 3 {
			oid := fmt.Sprintf("opinion--%08d-0000-4000-8000-0000000000ff", m)
			mod := t0.Add(time.Duration(v) * time.Hour)
			items = append(items, store.Item{Owned: true, Object: store.Object{ID: oid, Type: "opinion", SpecVersion: "2.1", Version: mod,
				Raw: fmt.Appendf(nil, `{"id":%q,"modified":%q,"object_refs":["indicator--00000000-0000-4000-8000-000000000000"],"opinion":"agree","type":"opinion","spec_version":"2.1"}`, oid, mod.Format(time.RFC3339))},
				Salt: salt, Entry: entry})
		}
		if _, err := s.Submit(ctx, store.Submission{StatusID: fmt.Sprint("op-", m), Collection: scaleColl(0), Member: scaleMember(m), Received: t0, Items: items}); err != nil {
			tb.Fatal(err)
		}
	}
	// VACUUM too, so that autovacuum has nothing left that would read the
	// tables while a test counts what a query reads.
	if _, err := s.pool.Exec(ctx, `VACUUM ANALYZE`); err != nil {
		tb.Fatal(err)
	}
}

// explainingStore is a store on url whose one session sends the plan
// of every statement (auto_explain, with ANALYZE and BUFFERS) to the
// client as a notice, collected by plans. It fails where the server
// lacks auto_explain.
func explainingStore(url string) (*Store, func() []string, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, nil, err
	}
	cfg.MaxConns = 1
	for k, v := range map[string]string{"session_preload_libraries": "auto_explain", "auto_explain.log_min_duration": "0", "auto_explain.log_analyze": "on",
		"auto_explain.log_buffers": "on", "auto_explain.log_level": "notice", "client_min_messages": "notice", "auto_explain.log_nested_statements": "on"} {
		cfg.ConnConfig.RuntimeParams[k] = v
	}
	var mu sync.Mutex
	var plans []string
	cfg.ConnConfig.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) {
		mu.Lock()
		plans = append(plans, n.Message)
		mu.Unlock()
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err == nil {
		err = pool.Ping(context.Background())
	}
	if err != nil {
		return nil, nil, err
	}
	return &Store{pool: db{pool}, now: time.Now}, func() []string {
		mu.Lock()
		defer mu.Unlock()
		p := plans
		plans = nil
		return p
	}, nil
}

// TestReadPlans runs the read paths that a node's members call per object
// or per page (a tally's ObjectsAt, object and search pages, TAXII pages,
// revocation checks) over a store of scaleColls collections that a
// member may all read, and fails any that reads the objects table
// sequentially or reads more rows of the tables and indexes than a
// bound far below what the collections hold: a plan that walks a
// collection, or every collection, per call. Work is counted as in
// TestQueriesReadNothingOfUnreadableCollections (rows read, from the
// statistics views, nested statements included), after ANALYZE of
// everything stored, with the plans made for the values (custom) and
// without them (generic). On a failure the plans are logged where the
// server has auto_explain.
//
// Rows, not blocks: a query that walks a collection's index entries
// without fetching its rows passes (ObjectVersions does, within one
// collection: the row comparison of isObject positions the scan at the
// collection, not at the object id). OpinionVersions and OpinionSizes
// read each opinion's versions once (they read them once per collection
// given, about 5,600 rows here, before), and CollectionStats a row per
// collection (every row of every collection before), each within a
// tighter bound of its own. A browse page by creator is left out: for a
// creator the planner expects to be rare, reading the collection
// through a bitmap is a sound plan, and whether it expects so varies
// with how loadScale's concurrent submissions interleaved.
func TestReadPlans(t *testing.T) {
	const n = 15000 // 500 object versions a collection
	url := testURL(t)
	s := openTest(t, url, Options{MaxConns: 4})
	loadScale(t, s, n)
	ctx := context.Background()
	all := make([]string, scaleColls)
	for c := range all {
		all[c] = scaleColl(c)
	}
	// 16 seqs spread over the table: the opinion versions of a tally.
	var seqs []int64
	if err := s.pool.QueryRow(ctx, `SELECT array_agg(seq ORDER BY seq) FROM (SELECT seq FROM objects WHERE type = 'opinion' ORDER BY seq) o
		WHERE seq % 16 = 0`).Scan(&seqs); err != nil || len(seqs) < 16 {
		t.Fatal(len(seqs), err)
	}
	seqs = seqs[:16]
	shared := "indicator--00000000-0000-4000-8000-000000000000"
	bound := store.Bound{Rows: 10, Bytes: 8 << 20}
	// The common word's search walks every collection (textWalks) and
	// finds what reading every match finds (a bound of bytes alone).
	if err := s.readIndexed(ctx, func(tx pgx.Tx) error {
		walk, err := textWalks(ctx, tx, all, []string{"crossing"}, bound.Rows+1)
		if err == nil && len(walk) != scaleColls {
			err = fmt.Errorf("walks %d collections of %d", len(walk), scaleColls)
		}
		for c, w := range walk {
			if !w && err == nil {
				err = fmt.Errorf("collection %s not walked", c)
			}
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	every, _, err := s.TextObjects(ctx, all, "crossing", store.Bound{Bytes: 1 << 30})
	if err != nil || len(every) < 1000 {
		t.Fatal(len(every), err)
	}
	first, more, err := s.TextObjects(ctx, all, "crossing", bound)
	if err != nil || !more || fmt.Sprint(seqIDs(first)) != fmt.Sprint(seqIDs(every[:bound.Rows])) {
		t.Fatalf("TextObjects(crossing) = %v, more %v, %v; want %v", seqIDs(first), more, err, seqIDs(every[:bound.Rows]))
	}
	// Tighter bounds: the shared indicator's 31 opinion ids in
	// opinion_refs and its 91 opinion versions (30 members' three and one
	// more), each read through an index and fetched (about 215 rows), and
	// for OpinionVersions the chosen versions again by seq with their log
	// entries (about 580); a row of collection_stats per collection.
	// A search for a word that two thirds of every collection's rows
	// hold walks each collection until its first 11 matches (about 17
	// rows, each looked up in objects for is_last: about 75 rows read
	// a collection); it read every match of every collection, 41,000
	// rows, before (textFirst).
	limits := map[string]int64{"OpinionVersions": 700, "OpinionSizes": 300, "CollectionStats": 2 * scaleColls, "TextObjects common": 3000}
	for _, mode := range []string{"custom", "generic"} {
		t.Run(mode, func(t *testing.T) {
			u := url
			if mode == "generic" {
				u += "&plan_cache_mode=force_generic_plan"
			}
			q := openTest(t, u, Options{MaxConns: 1})
			for _, tc := range []struct {
				name string
				fn   func(s *Store) error
			}{
				{"ObjectsAt", func(s *Store) error { _, _, err := s.ObjectsAt(ctx, all, seqs, bound); return err }},
				{"ObjectsAt unbounded", func(s *Store) error { _, _, err := s.ObjectsAt(ctx, all, seqs, store.Bound{}); return err }},
				{"LatestRevoked", func(s *Store) error { _, _, err := s.LatestRevoked(ctx, all, shared); return err }},
				{"ObjectVersions", func(s *Store) error { _, _, err := s.ObjectVersions(ctx, all, shared, bound); return err }},
				{"LatestObjects", func(s *Store) error { _, _, err := s.LatestObjects(ctx, all, []string{shared}, bound); return err }},
				{"Referencing", func(s *Store) error { _, _, err := s.Referencing(ctx, all, shared, bound); return err }},
				{"RecentObjects", func(s *Store) error { _, err := s.RecentObjects(ctx, all, bound); return err }},
				{"ValueObjects", func(s *Store) error { _, _, err := s.ValueObjects(ctx, all, "10.3.0.7", bound); return err }},
				{"TextObjects common", func(s *Store) error { _, _, err := s.TextObjects(ctx, all, "crossing", bound); return err }},
				{"TextObjects rare", func(s *Store) error { _, _, err := s.TextObjects(ctx, all, "10.3.0.7", bound); return err }},
				{"OpinionVersions", func(s *Store) error { _, err := s.OpinionVersions(ctx, all, shared, store.Bound{Rows: 5}); return err }},
				{"OpinionSizes", func(s *Store) error { _, _, err := s.OpinionSizes(ctx, all, shared, store.Bound{Rows: 5}); return err }},
				{"CollectionStats", func(s *Store) error { _, err := s.CollectionStats(ctx, all); return err }},
				{"Objects id", func(s *Store) error {
					_, err := s.Objects(ctx, store.Query{Collection: all[0], IDs: []string{shared}, Versions: []store.VersionSelector{{Kind: store.VersionAll}}, Limit: 20})
					return err
				}},
				{"Objects added_after", func(s *Store) error {
					_, err := s.Objects(ctx, store.Query{Collection: all[3], AddedAfter: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), Limit: 20})
					return err
				}},
			} {
				rows, seqScans := readWork(t, q, func() error { return tc.fn(q) })
				// The most a query needs is a page of each collection's
				// newest (RecentObjects, about 400 rows); a collection
				// holds 500 rows, the 30 of them 15,000, and a walk of
				// one's rows is read through an index and fetched,
				// 1,000.
				var limit int64 = 800
				if l, ok := limits[tc.name]; ok {
					limit = l
				}
				if rows > limit || seqScans > 0 {
					t.Errorf("%s: %d rows read (at most %d), %d sequential scans of objects; plans:\n%s", tc.name, rows, limit, seqScans, plansOf(t, u, tc.fn))
				} else {
					t.Logf("%s: %d rows read", tc.name, rows)
				}
			}
		})
	}
}

// readWork runs fn on s (a pool of one connection) and returns the rows
// read from the schema's tables and indexes, and the sequential scans
// of objects, while it ran.
func readWork(t *testing.T, s *Store, fn func() error) (rows, objectSeqScans int64) {
	ctx := context.Background()
	read := func() (int64, int64) {
		// The backend's counters reach the statistics when it next goes
		// idle; forced, whatever the time since the last flush.
		if _, err := s.pool.Exec(ctx, `SELECT pg_stat_force_next_flush()`); err != nil {
			t.Fatal(err)
		}
		if _, err := s.pool.Exec(ctx, `SELECT pg_stat_clear_snapshot()`); err != nil {
			t.Fatal(err)
		}
		var n, seq int64
		if err := s.pool.QueryRow(ctx, `SELECT
	(SELECT coalesce(sum(coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)), 0) FROM pg_stat_user_tables WHERE schemaname = current_schema())
	+ (SELECT coalesce(sum(idx_tup_read), 0) FROM pg_stat_user_indexes WHERE schemaname = current_schema()),
	(SELECT coalesce(seq_scan, 0) FROM pg_stat_user_tables WHERE schemaname = current_schema() AND relname = 'objects')`).Scan(&n, &seq); err != nil {
			t.Fatal(err)
		}
		return n, seq
	}
	if err := fn(); err != nil { // warm: the catalog reads of a first use
		t.Fatal(err)
	}
	// The lesser of two runs: another backend's reads (autovacuum's)
	// count too, and are unlikely to fall within both.
	rows, objectSeqScans = -1, -1
	for range 2 {
		n0, s0 := read()
		if err := fn(); err != nil {
			t.Fatal(err)
		}
		n1, s1 := read()
		if rows < 0 || n1-n0 < rows {
			rows = n1 - n0
		}
		if objectSeqScans < 0 || s1-s0 < objectSeqScans {
			objectSeqScans = s1 - s0
		}
	}
	return rows, objectSeqScans
}

// plansOf runs fn on a store of url whose sessions report the plan of
// every statement (see explainingStore), and returns the plans, or why
// there are none.
func plansOf(t *testing.T, url string, fn func(s *Store) error) string {
	e, plans, err := explainingStore(url)
	if err != nil {
		return fmt.Sprintf("(no plans: %v)", err)
	}
	defer e.Close()
	if err := fn(e); err != nil {
		return fmt.Sprintf("(no plans: %v)", err)
	}
	return strings.Join(plans(), "\n")
}

// seqIDs is the seq and id of each of objs.
func seqIDs(objs []store.Object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, fmt.Sprint(o.Seq, " ", o.ID))
	}
	return out
}
