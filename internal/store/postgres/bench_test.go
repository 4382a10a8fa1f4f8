package postgres

import (
	"context"
	"crypto/ed25519"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parley-exchange/parley/internal/store"
)

// Benchmarks of the store against bounds measured in the same run on the
// same objects (docs/benchmarks.md, "PostgreSQL store"). They need the
// server of PARLEY_TEST_POSTGRES, like the tests.

// benchRaw is a realistic stored object: a signed indicator of about 700
// bytes, as the node stores it (the SQLite store's benchmark object).
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

const (
	benchMember = "identity--3b0e8f3a-6f1c-4f57-9b59-6a0b2b1c6d11"
	benchColl   = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
)

// openBench opens a store in a fresh schema with one member and one
// collection.
func openBench(b *testing.B) *Store {
	s := openTest(b, testURL(b), Options{MaxConns: 8})
	ctx := context.Background()
	if err := s.AddMember(ctx, store.Member{ID: benchMember, Name: "bench", Identity: []byte("{}")}); err != nil {
		b.Fatal(err)
	}
	c := store.Collection{ID: benchColl, Title: "bench", Readers: []string{benchMember}, Writers: []string{benchMember}}
	if err := s.AddCollection(ctx, c); err != nil {
		b.Fatal(err)
	}
	return s
}

func benchItems(from, to int) []store.Item {
	items := make([]store.Item, 0, to-from)
	salt := make([]byte, 32)
	for i := from; i < to; i++ {
		items = append(items, store.Item{
			Owned:  true,
			Object: store.Object{ID: benchID(i), Type: "indicator", SpecVersion: "2.1", Version: benchVersion, Signed: true, Raw: benchRaw(i)},
			Salt:   salt, Entry: benchLeaf,
		})
	}
	return items
}

// rawInsert writes rows [from, to) into s's schema as plain INSERTs, one
// statement per row sent as one pipelined batch in one transaction: the
// same rows Submit writes (log entry, object), without its checks, flags,
// owners, usage or status. Indexes idx and seq start after the rows
// already there.
func rawInsert(ctx context.Context, s *Store, from, to int) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var next int64
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(idx) + 1, 0) FROM log_entries`).Scan(&next); err != nil {
			return err
		}
		salt := make([]byte, 32)
		version := fmtTime(benchVersion)
		var b pgx.Batch
		for i := from; i < to; i++ {
			idx := next + int64(i-from)
			added := fmtTime(benchVersion.Add(time.Duration(idx) * time.Microsecond))
			leaf, _ := benchLeaf(store.Object{Collection: benchColl, Member: benchMember, ID: benchID(i), Seq: idx + 1})
			b.Queue(`INSERT INTO log_entries(idx, leaf, salt, collection, object_id, version, member, received, kind) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'object')`,
				idx, leaf, salt, benchColl, benchID(i), version, benchMember, added)
			b.Queue(`INSERT INTO objects(seq, collection, object_id, type, spec_version, version, date_added, member, signed, raw, log_index, is_first, is_last) VALUES ($1, $2, $3, 'indicator', '2.1', $4, $5, $6, true, $7, $8, true, true)`,
				idx+1, benchColl, benchID(i), version, added, benchMember, benchRaw(i), idx)
		}
		return tx.SendBatch(ctx, &b).Close()
	})
}

// verifyAll is the two-core Ed25519 bound: bare ed25519.Verify of the
// messages on two goroutines.
func verifyAll(b *testing.B, pub ed25519.PublicKey, msgs, sigs [][]byte) {
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(msgs); i += 2 {
				if !ed25519.Verify(pub, msgs[i], sigs[i]) {
					b.Error("bad signature")
					return
				}
			}
		}()
	}
	wg.Wait()
}

// BenchmarkIngest compares Store.Submit (envelopes of batch objects,
// submitted by four clients at once, as a node's handlers do) with the
// lower of two bounds on the same objects: the two-core Ed25519
// verification rate, and raw batched INSERTs of the same rows into the
// same server (one client, one transaction per batch). Each round holds
// one envelope per client; the three run one after the other in an order
// that rotates from round to round, so that they share the machine's
// load. ratio = submit / the lower bound. Run with -benchtime 1x.
func BenchmarkIngest(b *testing.B) {
	for _, batch := range []int{100, 1000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			ctx := context.Background()
			s, raw := openBench(b), openBench(b)
			const clients = 4
			perRound := clients * batch
			rounds := max(5, 10_000/perRound)
			pub, priv, _ := ed25519.GenerateKey(nil)
			msgs, sigs := make([][]byte, perRound), make([][]byte, perRound)
			for i := range msgs {
				msgs[i] = benchRaw(i)
				sigs[i] = ed25519.Sign(priv, msgs[i])
			}
			var submitT, rawT, verifyT time.Duration
			for r := range rounds {
				base := r * perRound
				submit := func() {
					var wg sync.WaitGroup
					for c := range clients {
						wg.Add(1)
						go func() {
							defer wg.Done()
							from := base + c*batch
							_, err := s.Submit(ctx, store.Submission{StatusID: fmt.Sprintf("%d-%d", r, c), Collection: benchColl, Member: benchMember,
								Received: time.Now(), Items: benchItems(from, from+batch)})
							if err != nil {
								b.Error(err)
							}
						}()
					}
					wg.Wait()
				}
				insert := func() {
					for from := base; from < base+perRound; from += batch {
						if err := rawInsert(ctx, raw, from, from+batch); err != nil {
							b.Fatal(err)
						}
					}
				}
				verify := func() { verifyAll(b, pub, msgs, sigs) }
				steps := []struct {
					fn func()
					t  *time.Duration
				}{{submit, &submitT}, {insert, &rawT}, {verify, &verifyT}}
				for k := range steps {
					st := steps[(r+k)%len(steps)]
					t := time.Now()
					st.fn()
					*st.t += time.Since(t)
				}
			}
			n := float64(rounds * perRound)
			submitRate, rawRate, verifyRate := n/submitT.Seconds(), n/rawT.Seconds(), n/verifyT.Seconds()
			b.ReportMetric(submitRate, "submit-rows/s")
			b.ReportMetric(verifyRate, "ed25519-verify/s")
			b.ReportMetric(rawRate, "raw-insert-rows/s")
			b.ReportMetric(submitRate/min(verifyRate, rawRate), "ratio")
			b.ReportMetric(0, "ns/op")
		})
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

// loadRows writes n objects and their log entries with COPY (what Submit
// would write for them, version flags included) and moves the log head
// past them.
func loadRows(b *testing.B, s *Store, n int) {
	ctx := context.Background()
	var start int64
	if err := s.pool.QueryRow(ctx, `SELECT next_idx FROM log_head`).Scan(&start); err != nil {
		b.Fatal(err)
	}
	version := fmtTime(benchVersion)
	salt := make([]byte, 32)
	const chunk = 50_000
	for from := 0; from < n; from += chunk {
		to := min(from+chunk, n)
		err := s.inTx(ctx, func(tx pgx.Tx) error {
			entries := make([][]any, 0, to-from)
			objects := make([][]any, 0, to-from)
			for i := from; i < to; i++ {
				idx := start + int64(i)
				added := fmtTime(benchVersion.Add(time.Duration(idx) * time.Microsecond))
				leaf, _ := benchLeaf(store.Object{Collection: benchColl, Member: benchMember, ID: benchID(i), Seq: idx + 1})
				entries = append(entries, []any{idx, leaf, salt, benchColl, benchID(i), version, benchMember, added, "object"})
				objects = append(objects, []any{idx + 1, benchColl, benchID(i), "indicator", "2.1", version, added, benchMember, true, benchRaw(i), idx, true, true})
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"log_entries"}, []string{"idx", "leaf", "salt", "collection", "object_id", "version", "member", "received", "kind"}, pgx.CopyFromRows(entries)); err != nil {
				return err
			}
			_, err := tx.CopyFrom(ctx, pgx.Identifier{"objects"}, []string{"seq", "collection", "object_id", "type", "spec_version", "version", "date_added", "member", "signed", "raw", "log_index", "is_first", "is_last"}, pgx.CopyFromRows(objects))
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	last := fmtTime(benchVersion.Add(time.Duration(start+int64(n)-1) * time.Microsecond))
	if _, err := s.pool.Exec(ctx, `UPDATE log_head SET next_idx = $1, last_received = $2`, start+int64(n), last); err != nil {
		b.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkPage reads a page of 100 objects at a random position of a
// collection of pageRows() objects: through Store.Objects (TAXII's
// default match[version]=last, decoding; once without and once with a
// MaxBytes budget, which the node sets) and with the bare SELECT of the
// same rows and columns (the objects joined to their entries' salts).
// After a warm-up the three alternate page by page; ratio = store / raw.
func BenchmarkPage(b *testing.B) {
	s := openBench(b)
	n := pageRows()
	loadRows(b, s, n)
	ctx := context.Background()
	// The member's registration is entry 0, so seq runs from 2 to n+1.
	storePage := func(maxBytes int64) func() {
		return func() {
			p, err := s.Objects(ctx, store.Query{Collection: benchColl, Limit: 100, After: int64(mrand.IntN(n - 100)), MaxBytes: maxBytes})
			if err != nil || len(p.Objects) != 100 {
				b.Fatal(len(p.Objects), err)
			}
		}
	}
	rawPage := func() {
		rows, err := s.pool.Query(ctx, `SELECT o.seq, o.collection, o.object_id, o.type, o.spec_version, o.version, o.date_added, o.member, o.signed, o.raw, o.log_index, e.salt
			FROM objects o JOIN log_entries e ON e.idx = o.log_index WHERE o.collection = $1 AND o.seq > $2 ORDER BY o.seq LIMIT 100`, benchColl, mrand.IntN(n-100))
		if err != nil {
			b.Fatal(err)
		}
		got := 0
		for rows.Next() {
			var seq, logIndex int64
			var c, id, typ, sv, v, added, member string
			var signed bool
			var raw, salt []byte
			if err := rows.Scan(&seq, &c, &id, &typ, &sv, &v, &added, &member, &signed, &raw, &logIndex, &salt); err != nil {
				b.Fatal(err)
			}
			got++
		}
		rows.Close()
		if got != 100 {
			b.Fatal(got, rows.Err())
		}
	}
	reads := []struct {
		name string
		fn   func()
		t    time.Duration
	}{{"raw", rawPage, 0}, {"store", storePage(0), 0}, {"store-maxbytes", storePage(8 << 20), 0}}
	for range 200 {
		for _, r := range reads {
			r.fn()
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j := range reads {
			t := time.Now()
			reads[j].fn()
			reads[j].t += time.Since(t)
		}
	}
	for _, r := range reads {
		rate := float64(b.N) / r.t.Seconds()
		b.ReportMetric(rate, r.name+"-pages/s")
		if r.name != "raw" {
			b.ReportMetric(reads[0].t.Seconds()/r.t.Seconds(), r.name+"-ratio")
		}
	}
	b.ReportMetric(0, "ns/op")
}

// BenchmarkReadsAtScale times the reads a node makes per object or per
// page over a member's readable collections (ObjectsAt for a tally of
// GET /concurrence, an object's versions, latest versions, revocation
// and opinions, the UI's home page counts, recent objects, text search
// and a browse page by creator) on stores of scaleColls collections, all
// readable, holding 6,000 and 60,000 object versions (loadScale, through
// Submit). A read's time should not grow with the collections' size:
// compare the two sizes' ns/op in one run (TestReadPlans bounds the rows
// each reads).
//
// The reads a change replaced are timed beside their replacements,
// before then after, three times in turn on the same load: the tally's
// choice of opinion versions read per (collection, opinion)
// (OpinionSizes/before) and CollectionStats counting every row
// (CollectionStats/before), the queries as they were at cab594e, kept
// here only to be timed.
func BenchmarkReadsAtScale(b *testing.B) {
	for _, n := range []int{6000, 60000} {
		b.Run(fmt.Sprint("objects=", n), func(b *testing.B) {
			s := openTest(b, testURL(b), Options{MaxConns: 4})
			loadScale(b, s, n)
			ctx := context.Background()
			all := make([]string, scaleColls)
			for c := range all {
				all[c] = scaleColl(c)
			}
			var seqs []int64
			if err := s.pool.QueryRow(ctx, `SELECT array_agg(seq ORDER BY seq) FROM objects WHERE type = 'opinion' AND seq % 16 = 0`).Scan(&seqs); err != nil || len(seqs) < 16 {
				b.Fatal(len(seqs), err)
			}
			seqs = seqs[len(seqs)-16:]
			shared := "indicator--00000000-0000-4000-8000-000000000000"
			bound := store.Bound{Rows: 20, Bytes: 8 << 20}
			run := func(name string, fn func() error) {
				b.Run(name, func(b *testing.B) {
					for b.Loop() {
						if err := fn(); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
			for _, r := range []struct {
				name string
				fn   func() error
			}{
				{"ObjectsAt", func() error { _, _, err := s.ObjectsAt(ctx, all, seqs, store.Bound{}); return err }},
				{"ObjectVersions", func() error { _, _, err := s.ObjectVersions(ctx, all, shared, bound); return err }},
				{"LatestObjects", func() error { _, _, err := s.LatestObjects(ctx, all, []string{shared}, bound); return err }},
				{"LatestRevoked", func() error { _, _, err := s.LatestRevoked(ctx, all, shared); return err }},
				{"OpinionVersions", func() error { _, err := s.OpinionVersions(ctx, all, shared, store.Bound{Rows: 5}); return err }},
				{"RecentObjects", func() error { _, err := s.RecentObjects(ctx, all, bound); return err }},
				{"TextObjects", func() error { _, _, err := s.TextObjects(ctx, all, "word7 crossing", bound); return err }},
				{"BrowseObjects-creator", func() error {
					_, err := s.BrowseObjects(ctx, store.Browse{Collection: all[3], Creators: []string{scaleMember(3)}, Limit: 20})
					return err
				}},
			} {
				run(r.name, r.fn)
			}
			for range 3 {
				run("OpinionSizes/before", func() error { return beforeOpinionSizes(ctx, s, all, shared, 5) })
				run("OpinionSizes/after", func() error { _, _, err := s.OpinionSizes(ctx, all, shared, store.Bound{Rows: 5}); return err })
				run("CollectionStats/before", func() error { return beforeCollectionStats(ctx, s, all) })
				run("CollectionStats/after", func() error { _, err := s.CollectionStats(ctx, all); return err })
			}
		})
	}
}

// beforeOpinionSizes runs OpinionSizes' query as it was before the
// opinions' versions were read once each: once per (collection,
// opinion).
func beforeOpinionSizes(ctx context.Context, s *Store, collections []string, object string, rows int64) error {
	const win = `PARTITION BY v.member ORDER BY v.version DESC, v.object_id DESC, v.seq DESC`
	q := `SELECT seq, size FROM (SELECT v.seq, octet_length(v.raw)::bigint AS size, row_number() OVER (` + win + `) AS rn,
	coalesce(sum(octet_length(v.raw)) OVER (` + win + ` ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
	FROM (SELECT DISTINCT r.opinion_id FROM ` + eachCollection("$1", "c") + `
		CROSS JOIN LATERAL (SELECT opinion_id FROM opinion_refs WHERE object_ref = $2 AND collection = c.id OFFSET 0) AS r) AS i(id)
	CROSS JOIN ` + eachCollection("$1", "vc") + `
	CROSS JOIN LATERAL (SELECT seq, member, version, object_id, raw FROM objects
		WHERE collection = vc.id AND object_id = i.id AND type = 'opinion' ORDER BY collection, object_id, version OFFSET 0) AS v) w
WHERE rn = 1 OR (rn <= $3 AND before + size <= $4) ORDER BY seq`
	return s.readIndexed(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, q, planned([]any{collections, object, rows, int64(1 << 62)})...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
		}
		return rows.Err()
	})
}

// beforeCollectionStats runs CollectionStats' query as it was before
// collection_stats: every row of each collection counted.
func beforeCollectionStats(ctx context.Context, s *Store, collections []string) error {
	rows, err := s.pool.Query(ctx, `SELECT c.id, n.objects, n.versions, n.last FROM `+eachCollection("$1", "c")+`
CROSS JOIN LATERAL (SELECT count(*) FILTER (WHERE is_last) AS objects, count(*) AS versions, max(date_added) AS last FROM objects
	WHERE `+inCollectionRange("collection", "seq", "c.id", "", "")+`) AS n
WHERE n.versions > 0 ORDER BY c.id COLLATE "C"`, planned(args{collections})...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
	}
	return rows.Err()
}
