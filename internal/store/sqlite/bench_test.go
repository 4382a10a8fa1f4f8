package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
)

// Benchmarks comparing the store with raw SQL on the same rows, for each
// driver: "sqlite" is modernc.org/sqlite (pure Go, the default) and
// "sqlite3" is github.com/mattn/go-sqlite3 (cgo), registered by
// driver_mattn_test.go when cgo is available. docs/benchmarks.md has the
// commands and results.

// benchDrivers lists the drivers to compare; mattn adds itself when built
// with cgo.
var benchDrivers = []string{"sqlite"}

// benchRaw is a realistic stored object: a signed indicator of about 700
// bytes, as the node stores it (RFC 8785 canonical JSON).
func benchRaw(i int) []byte {
	return fmt.Appendf(nil, `{"created":"2026-01-01T00:00:00.000Z","created_by_ref":"identity--3b0e8f3a-6f1c-4f57-9b59-6a0b2b1c6d11",`+
		`"extensions":{"extension-definition--f0b55baa-9c82-4c6a-84d6-8f59124ea46f":{"alg":"ed25519","extension_type":"property-extension",`+
		`"public_key":"dmTZu+7n9YePLYDSsZkJ77NlaRMJGAdGleWqnd+bACI=","signature":"Pk0mJ3a1f8wq3h2e6R5t7y8u9i0o1p2a3s4d5f6g7h8j9k0l1z2x3c4v5b6n7m8q9w0e1r2t3y4u5i6o7p8a9s0d1A=="}},`+
		`"id":"indicator--%08d-1111-4222-8333-444455556666","indicator_types":["malicious-activity"],"modified":"2026-01-01T00:00:00.000Z",`+
		`"name":"benchmark indicator %d","pattern":"[ipv4-addr:value = '198.51.100.%d']","pattern_type":"stix","spec_version":"2.1",`+
		`"type":"indicator","valid_from":"2026-01-01T00:00:00Z"}`, i, i, i%256)
}

func benchID(i int) string { return fmt.Sprintf("indicator--%08d-1111-4222-8333-444455556666", i) }

var benchVersion = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func benchLeaf(o store.Object) ([]byte, error) {
	return fmt.Appendf(nil, `{"collection":%q,"commitment":"%064x","member":%q,"object_id":%q,"received":%q,"version":"2026-01-01T00:00:00.000Z"}`,
		o.Collection, o.Seq, o.Member, o.ID, o.DateAdded.Format(time.RFC3339Nano)), nil
}

// openBench opens a fresh store with one member and one collection.
func openBench(b *testing.B, driver, dir string) (*Store, string, string) {
	s, err := Open(context.Background(), filepath.Join(dir, "bench.db"), Options{Driver: driver})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	m := store.Member{ID: "identity--3b0e8f3a-6f1c-4f57-9b59-6a0b2b1c6d11", Name: "bench", Identity: []byte("{}")}
	if err := s.AddMember(ctx, m); err != nil {
		b.Fatal(err)
	}
	c := store.Collection{ID: "91a7b528-80eb-42ed-a74d-c6fbd5a26116", Title: "bench", Readers: []string{m.ID}, Writers: []string{m.ID}}
	if err := s.AddCollection(ctx, c); err != nil {
		b.Fatal(err)
	}
	return s, m.ID, c.ID
}

// rawInsert writes rows [from, to) with plain prepared INSERTs in one
// transaction: the same rows Submit writes, without its checks.
func rawInsert(db *sql.DB, coll, member string, from, to int) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	insEntry, err := tx.Prepare(`INSERT INTO log_entries(idx, leaf, salt, collection, object_id, version, member, received) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	insObject, err := tx.Prepare(`INSERT INTO objects(collection, object_id, type, spec_version, version, date_added, member, signed, raw, log_index) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	salt := make([]byte, 32)
	version := fmtTime(benchVersion)
	for i := from; i < to; i++ {
		added := fmtTime(benchVersion.Add(time.Duration(i) * time.Microsecond))
		leaf, _ := benchLeaf(store.Object{Collection: coll, Member: member, ID: benchID(i), Seq: int64(i)})
		if _, err := insEntry.Exec(i, leaf, salt, coll, benchID(i), version, member, added); err != nil {
			return err
		}
		if _, err := insObject.Exec(coll, benchID(i), "indicator", "2.1", version, added, member, true, benchRaw(i), i); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func benchItems(from, to int) []store.Item {
	items := make([]store.Item, 0, to-from)
	salt := make([]byte, 32)
	for i := from; i < to; i++ {
		items = append(items, store.Item{
			Object: store.Object{ID: benchID(i), Type: "indicator", SpecVersion: "2.1", Version: benchVersion, Signed: true, Raw: benchRaw(i)},
			Salt:   salt, Entry: benchLeaf,
		})
	}
	return items
}

// BenchmarkInsert compares Store.Submit with raw batched INSERTs of the
// same rows, per driver and batch size. The metric rows/s is what matters;
// ns/op is per batch.
func BenchmarkInsert(b *testing.B) {
	for _, driver := range benchDrivers {
		for _, batch := range []int{100, 1000} {
			b.Run(fmt.Sprintf("driver=%s/batch=%d/submit", driver, batch), func(b *testing.B) {
				s, member, coll := openBench(b, driver, b.TempDir())
				defer s.Close()
				ctx := context.Background()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					items := benchItems(i*batch, (i+1)*batch)
					if _, err := s.Submit(ctx, store.Submission{StatusID: strconv.Itoa(i), Collection: coll, Member: member, Items: items}); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "rows/s")
			})
			b.Run(fmt.Sprintf("driver=%s/batch=%d/raw", driver, batch), func(b *testing.B) {
				s, member, coll := openBench(b, driver, b.TempDir())
				defer s.Close()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if err := rawInsert(s.w, coll, member, i*batch, (i+1)*batch); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "rows/s")
			})
		}
	}
}

// pageRows is the size of the collection BenchmarkPage reads from:
// PARLEY_BENCH_ROWS, default 1,000,000.
func pageRows() int {
	if n, err := strconv.Atoi(os.Getenv("PARLEY_BENCH_ROWS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

var (
	pageMu  sync.Mutex
	pageDBs = map[string]*Store{}
)

// pageStore returns a store holding pageRows() objects, built once per
// driver and process with raw inserts (its contents are identical to what
// Submit would have written).
func pageStore(b *testing.B, driver string) (*Store, string) {
	pageMu.Lock()
	defer pageMu.Unlock()
	const coll = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
	if s, ok := pageDBs[driver]; ok {
		return s, coll
	}
	dir, err := os.MkdirTemp("", "parley-bench-")
	if err != nil {
		b.Fatal(err)
	}
	s, member, _ := openBench(b, driver, dir)
	n := pageRows()
	for i := 0; i < n; i += 10000 {
		if err := rawInsert(s.w, coll, member, i, min(i+10000, n)); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := s.w.Exec(`ANALYZE`); err != nil {
		b.Fatal(err)
	}
	pageDBs[driver] = s
	return s, coll
}

// BenchmarkPage reads a page of 100 objects at a random position of a
// collection of pageRows() objects, per driver: through Store.Objects
// (default version selection "last", which checks each row for newer
// versions, and decoding) and with the bare SELECT of the same columns.
// After a warm-up, the two alternate page by page so that they share the
// machine's load; the store-ratio metric is store/raw.
func BenchmarkPage(b *testing.B) {
	for _, driver := range benchDrivers {
		b.Run("driver="+driver, func(b *testing.B) {
			s, coll := pageStore(b, driver)
			n := pageRows()
			ctx := context.Background()
			storePage := func() {
				p, err := s.Objects(ctx, store.Query{Collection: coll, Limit: 100, After: int64(mrand.IntN(n - 100))})
				if err != nil || len(p.Objects) != 100 {
					b.Fatal(len(p.Objects), err)
				}
			}
			rawPage := func() {
				rows, err := s.r.Query(`SELECT `+objectCols+` FROM objects WHERE collection = ? AND seq > ? ORDER BY seq LIMIT 100`, coll, mrand.IntN(n-100))
				if err != nil {
					b.Fatal(err)
				}
				got := 0
				for rows.Next() {
					var seq, logIndex int64
					var c, id, typ, sv, v, added, member string
					var signed bool
					var raw []byte
					if err := rows.Scan(&seq, &c, &id, &typ, &sv, &v, &added, &member, &signed, &raw, &logIndex); err != nil {
						b.Fatal(err)
					}
					got++
				}
				rows.Close()
				if got != 100 {
					b.Fatal(got)
				}
			}
			for range 200 {
				storePage()
				rawPage()
			}
			var storeTime, rawTime time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t := time.Now()
				storePage()
				storeTime += time.Since(t)
				t = time.Now()
				rawPage()
				rawTime += time.Since(t)
			}
			storeRate, rawRate := float64(b.N)/storeTime.Seconds(), float64(b.N)/rawTime.Seconds()
			b.ReportMetric(storeRate, "store-pages/s")
			b.ReportMetric(rawRate, "raw-pages/s")
			b.ReportMetric(storeRate/rawRate, "store-ratio")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// BenchmarkObjectsAt reads 16 object versions by seq (what a tally of
// GET /concurrence reads) from a collection of 2,000 and of 32,000 rows:
// the time per read should not grow with the collection (it grew about
// linearly before ObjectsAt's query was pinned to walk the seqs,
// TestObjectsAtPlan).
func BenchmarkObjectsAt(b *testing.B) {
	for _, rows := range []int{2000, 32000} {
		b.Run(fmt.Sprint("rows=", rows), func(b *testing.B) {
			s, member, coll := openBench(b, "sqlite", b.TempDir())
			defer s.Close()
			if err := rawInsert(s.w, coll, member, 1, rows+1); err != nil { // entry 0 is the member's key
				b.Fatal(err)
			}
			var seqs []int64
			if err := func() error {
				r, err := s.r.Query(`SELECT seq FROM objects ORDER BY seq`)
				if err != nil {
					return err
				}
				defer r.Close()
				for i := 0; r.Next(); i++ {
					var q int64
					if err := r.Scan(&q); err != nil {
						return err
					}
					if i%(rows/16) == 0 {
						seqs = append(seqs, q)
					}
				}
				return r.Err()
			}(); err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			for b.Loop() {
				objs, _, err := s.ObjectsAt(ctx, []string{coll}, seqs, store.Bound{})
				if err != nil || len(objs) != len(seqs) {
					b.Fatalf("%d objects, %v", len(objs), err)
				}
			}
		})
	}
}
