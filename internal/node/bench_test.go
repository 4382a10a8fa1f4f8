package node

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/internal/store/sqlite"
	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/taxii"
	"github.com/parley-exchange/parley/tlog"
)

// Benchmarks of issue 2, each reported as a ratio to bounds measured in
// the same benchmark run (the machine's speed drifts between runs). See
// docs/benchmarks.md for the commands and results.

// benchNode is a node serving on a loopback port with one member.
type benchNode struct {
	n      *Node
	url    string
	member string
	token  string
	key    ed25519.PrivateKey
	stop   func()
}

func newBenchNode(b *testing.B, dir string) *benchNode {
	ctx := context.Background()
	if _, err := Init(ctx, dir, Config{}, nil); err != nil {
		b.Fatal(err)
	}
	n, err := Open(ctx, dir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	m, err := n.AddMember(ctx, "bench", pub)
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { n.Serve(sctx, ln, nil); close(done) }()
	return &benchNode{n: n, url: "http://" + ln.Addr().String(), member: m.ID, token: m.Token, key: key,
		stop: func() { cancel(); <-done; n.Close() }}
}

// signedSet is a set of signed indicators with the messages and signatures
// for the bare Ed25519 bound.
type signedSet struct {
	objects []json.RawMessage
	msgs    [][]byte
	sigs    [][]byte
	pub     ed25519.PublicKey
}

func makeSigned(b *testing.B, count int, member string, key ed25519.PrivateKey) *signedSet {
	s := &signedSet{objects: make([]json.RawMessage, count), msgs: make([][]byte, count), sigs: make([][]byte, count), pub: key.Public().(ed25519.PublicKey)}
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < count; i += workers {
				raw, _ := json.Marshal(map[string]any{
					"type": "indicator", "spec_version": "2.1", "id": stix.NewIdentifier("indicator"),
					"created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
					"created_by_ref": member, "name": fmt.Sprintf("benchmark indicator %d", i),
					"indicator_types": []string{"malicious-activity"},
					"pattern":         fmt.Sprintf("[ipv4-addr:value = '198.51.%d.%d']", i/256%256, i%256),
					"pattern_type":    "stix", "valid_from": "2026-01-01T00:00:00Z",
				})
				canon, err := stix.Canonicalize(raw)
				if err != nil {
					b.Error(err)
					return
				}
				s.msgs[i] = append([]byte("parley-stix-signature-v1\n"), canon...)
				s.sigs[i] = ed25519.Sign(key, s.msgs[i])
				if s.objects[i], err = stix.Sign(raw, key); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return s
}

// verifyTime runs bare ed25519.Verify on the set's messages [from, to)
// on GOMAXPROCS goroutines (the two-core bound) and returns how long it
// took.
func verifyTime(b *testing.B, s *signedSet, from, to int) time.Duration {
	start := time.Now()
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := from + w; i < to; i += workers {
				if !ed25519.Verify(s.pub, s.msgs[i], s.sigs[i]) {
					b.Error("bad signature")
					return
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(start)
}

// rawInserter writes the set's rows (canonical objects, log entries and
// object owners, as the pipeline stores them) with plain prepared INSERTs, one transaction
// per batch, into a separate store with the node's settings and driver:
// the raw batched INSERT bound.
type rawInserter struct {
	st     *sqlite.Store
	coll   string
	member string
	rows   []rawRow
	// base is the first free log index: with log format v2 the member's
	// key is itself a log entry.
	base int
}

type rawRow struct {
	id   string
	raw  []byte
	leaf []byte
	salt []byte
}

func newRawInserter(b *testing.B, s *signedSet, member string) *rawInserter {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "raw.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if err := st.AddMember(ctx, store.Member{ID: member, Name: "bench", Identity: []byte("{}")}); err != nil {
		b.Fatal(err)
	}
	coll := "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
	if err := st.AddCollection(ctx, store.Collection{ID: coll, Title: "raw", Readers: []string{member}, Writers: []string{member}}); err != nil {
		b.Fatal(err)
	}
	// The rows are prepared outside the timing: canonical bytes, salts, leaves.
	rows := make([]rawRow, len(s.objects))
	now := time.Now()
	for i, o := range s.objects {
		canon, _ := stix.Canonicalize(o)
		salt, _ := tlog.NewSalt(rand.Reader)
		obj, _ := stix.Parse(o)
		op := tlog.Opening{Salt: salt, Collection: coll, ObjectID: obj.ID, Version: obj.Version(), Member: member}
		leaf, _ := tlog.Entry{Kind: tlog.KindObject, Received: now, Commitment: tlog.ObjectCommitment(op, canon)}.Marshal()
		rows[i] = rawRow{obj.ID, canon, leaf, salt}
	}
	w, _ := st.DB()
	var base int
	if err := w.QueryRow(`SELECT COALESCE(MAX(idx) + 1, 0) FROM log_entries`).Scan(&base); err != nil {
		b.Fatal(err)
	}
	return &rawInserter{st: st, coll: coll, member: member, rows: rows, base: base}
}

// insert writes rows [from, to) in transactions of batch rows and returns
// how long it took.
func (ri *rawInserter) insert(b *testing.B, from, to, batch int) time.Duration {
	w, _ := ri.st.DB()
	const version = "2026-01-01T00:00:00.000000000Z"
	start := time.Now()
	for lo := from; lo < to; lo += batch {
		err := func() error {
			tx, err := w.Begin()
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
			// Log format v2: the pipeline also records the owner of every
			// new SDO id, so the bound writes that row too.
			insOwner, err := tx.Prepare(`INSERT INTO object_owners(object_id, member) VALUES (?, ?)`)
			if err != nil {
				return err
			}
			for i := lo; i < min(lo+batch, to); i++ {
				r := ri.rows[i]
				added := time.Unix(0, int64(i)*1000).UTC().Format("2006-01-02T15:04:05.000000000Z")
				if _, err := insEntry.Exec(ri.base+i, r.leaf, r.salt, ri.coll, r.id, version, ri.member, added); err != nil {
					return err
				}
				if _, err := insObject.Exec(ri.coll, r.id, "indicator", "2.1", version, added, ri.member, true, r.raw, ri.base+i); err != nil {
					return err
				}
				if _, err := insOwner.Exec(r.id, ri.member); err != nil {
					return err
				}
			}
			return tx.Commit()
		}()
		if err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start)
}

// ingestClients is how many clients post at once in BenchmarkIngest: more
// than one, so that one envelope's transaction overlaps the next one's
// signature checks, as with several members posting.
const ingestClients = 4

// ingestTime posts objects [from, to) to coll in envelopes, from
// [ingestClients] clients at once, and returns how long it took.
func ingestTime(b *testing.B, bn *benchNode, coll string, s *signedSet, from, to, envelope int) time.Duration {
	ctx := context.Background()
	// One keep-alive connection per client (the default transport keeps
	// only two idle connections per host and would reconnect).
	client := &taxii.Client{BaseURL: bn.url, Token: bn.token, HTTP: &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: ingestClients},
	}}
	start := time.Now()
	var wg sync.WaitGroup
	next := make(chan int)
	for range ingestClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for lo := range next {
				st, err := client.AddObjects(ctx, coll, s.objects[lo:min(lo+envelope, to)])
				if err != nil {
					b.Error(err)
					return
				}
				if st.FailureCount > 0 {
					b.Errorf("refused: %+v", st.Failures[0])
					return
				}
			}
		}()
	}
	for lo := from; lo < to; lo += envelope {
		next <- lo
	}
	close(next)
	wg.Wait()
	return time.Since(start)
}

// BenchmarkIngest posts signed objects over HTTP (TAXII add objects,
// [ingestClients] clients in parallel) in envelopes of 100 (10,000
// objects) and 1,000 (100,000 objects; 20 envelopes each with -short),
// and measures on the same objects the two-core Ed25519 verification rate
// and the raw batched INSERT rate (same rows, same driver, same batch
// size). The three are interleaved in ten rounds, in rotating order, so
// that they share the machine's drifting load. Goal: ingest >= 0.5 x the
// lower bound (the "ratio" metric).
func BenchmarkIngest(b *testing.B) {
	for _, tc := range []struct{ envelope, total int }{{100, 10_000}, {1000, 100_000}} {
		if testing.Short() {
			tc.total = min(tc.total, 20*tc.envelope)
		}
		b.Run(fmt.Sprintf("envelope=%d/objects=%d", tc.envelope, tc.total), func(b *testing.B) {
			bn := newBenchNode(b, b.TempDir())
			defer bn.stop()
			set := makeSigned(b, tc.total, bn.member, bn.key)
			ctx := context.Background()
			var ingest, verify, insert time.Duration
			const rounds = 10
			chunk := tc.total / rounds
			b.ResetTimer()
			for it := 0; it < b.N; it++ {
				// Fresh targets per iteration, so every object is new.
				coll, err := bn.n.AddCollection(ctx, fmt.Sprintf("bench %d", it), "", []string{"bench"}, []string{"bench"}, "")
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				ri := newRawInserter(b, set, bn.member)
				b.StartTimer()
				for r := range rounds {
					from, to := r*chunk, (r+1)*chunk
					for k := range 3 {
						switch (r + k) % 3 {
						case 0:
							ingest += ingestTime(b, bn, coll, set, from, to, tc.envelope)
						case 1:
							verify += verifyTime(b, set, from, to)
						case 2:
							insert += ri.insert(b, from, to, tc.envelope)
						}
					}
				}
				ri.st.Close()
			}
			n := float64(b.N * rounds * chunk)
			ingestRate, verifyRate, insertRate := n/ingest.Seconds(), n/verify.Seconds(), n/insert.Seconds()
			b.ReportMetric(ingestRate, "ingest/s")
			b.ReportMetric(verifyRate, "verify/s")
			b.ReportMetric(insertRate, "rawinsert/s")
			b.ReportMetric(ingestRate/min(verifyRate, insertRate), "ratio")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// pageRows is the size of the collection BenchmarkPage reads:
// PARLEY_BENCH_ROWS, default 1,000,000.
func pageRows() int {
	if n, err := strconv.Atoi(os.Getenv("PARLEY_BENCH_ROWS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

// BenchmarkPage reads a page of 100 objects at a random position of a
// collection of pageRows() signed objects: over HTTP (TAXII GET objects
// with limit=100 and a next cursor), through the store (Store.Objects),
// and with the bare SELECT of the same rows. Goal: store >= 0.5 x raw.
// The rows are written with raw INSERTs (signing a million objects would
// take most of the run); they are the rows the pipeline writes.
func BenchmarkPage(b *testing.B) {
	bn := newBenchNode(b, b.TempDir())
	defer bn.stop()
	ctx := context.Background()
	coll, err := bn.n.AddCollection(ctx, "page", "", []string{"bench"}, []string{"bench"}, "")
	if err != nil {
		b.Fatal(err)
	}
	n := pageRows()
	st := bn.n.Store().(*sqlite.Store)
	w, r := st.DB()
	tmpl := makeSigned(b, 1, bn.member, bn.key).objects[0]
	if err := fillRows(w, coll, bn.member, tmpl, n); err != nil {
		b.Fatal(err)
	}
	client := &http.Client{}
	get := func(url string) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer "+bn.token)
		req.Header.Set("Accept", taxii.MediaType)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatal(resp.Status)
		}
	}
	// Seqs of the collection start after the rows of other tests; a
	// random seq is a random position.
	var first int64
	if err := r.QueryRow(`SELECT min(seq) FROM objects WHERE collection = ?`, coll).Scan(&first); err != nil {
		b.Fatal(err)
	}
	pos := func() int64 { return first + int64(mrand.IntN(n-101)) }
	// The node's cursor is a version's date_added: those of random
	// positions, looked up before the timing.
	cursors := make([]string, 256)
	for i := range cursors {
		var added string
		if err := r.QueryRow(`SELECT date_added FROM objects WHERE seq = ?`, pos()).Scan(&added); err != nil {
			b.Fatal(err)
		}
		at, err := time.Parse(time.RFC3339Nano, added)
		if err != nil {
			b.Fatal(err)
		}
		cursors[i] = formatCursor(coll, at)
	}
	httpPage := func() {
		get(fmt.Sprintf("%s/api/collections/%s/objects/?limit=100&next=%s", bn.url, coll, cursors[mrand.IntN(len(cursors))]))
	}
	storePage := func() {
		p, err := st.Objects(ctx, store.Query{Collection: coll, Limit: 100, After: pos()})
		if err != nil || len(p.Objects) != 100 {
			b.Fatal(len(p.Objects), err)
		}
	}
	sqlPage := func() {
		if got, err := rawPage(r, coll, pos()); err != nil || got != 100 {
			b.Fatal(got, err)
		}
	}
	// Warm the connections' page caches, then time the three kinds of
	// read alternately, page by page, so that they share the load.
	for range 200 {
		httpPage()
		storePage()
		sqlPage()
	}
	var httpTime, storeTime, rawTime time.Duration
	const pages = 300
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		for range pages {
			t := time.Now()
			httpPage()
			httpTime += time.Since(t)
			t = time.Now()
			storePage()
			storeTime += time.Since(t)
			t = time.Now()
			sqlPage()
			rawTime += time.Since(t)
		}
	}
	total := float64(b.N * pages)
	httpRate, storeRate, rawRate := total/httpTime.Seconds(), total/storeTime.Seconds(), total/rawTime.Seconds()
	b.ReportMetric(httpRate, "http-pages/s")
	b.ReportMetric(storeRate, "store-pages/s")
	b.ReportMetric(rawRate, "raw-pages/s")
	b.ReportMetric(storeRate/rawRate, "store-ratio")
	b.ReportMetric(httpRate/rawRate, "http-ratio")
	b.ReportMetric(0, "ns/op")
}

// fillRows writes n copies of tmpl (with distinct ids) and their log
// entries into coll with raw INSERTs, 10,000 per transaction.
func fillRows(w *sql.DB, coll, member string, tmpl json.RawMessage, n int) error {
	var base int64
	if err := w.QueryRow(`SELECT coalesce(max(idx) + 1, 0) FROM log_entries`).Scan(&base); err != nil {
		return err
	}
	obj, err := stix.Parse(tmpl)
	if err != nil {
		return err
	}
	const version = "2026-01-01T00:00:00.000000000Z"
	salt := make([]byte, 32)
	t0 := time.Now().Add(-time.Hour)
	for from := 0; from < n; from += 10000 {
		tx, err := w.Begin()
		if err != nil {
			return err
		}
		for i := from; i < min(from+10000, n); i++ {
			id := fmt.Sprintf("indicator--%08x-0000-4000-8000-000000000000", i)
			raw := []byte(strings.Replace(string(tmpl), obj.ID, id, 1))
			idx := base + int64(i)
			added := t0.Add(time.Duration(i) * time.Microsecond).UTC().Format("2006-01-02T15:04:05.000000000Z")
			op := tlog.Opening{Salt: salt, Collection: coll, ObjectID: id, Version: obj.Version(), Member: member}
			leaf, _ := tlog.Entry{Kind: tlog.KindObject, Received: t0.Add(time.Duration(i) * time.Microsecond), Commitment: tlog.ObjectCommitment(op, raw)}.Marshal()
			if _, err := tx.Exec(`INSERT INTO log_entries(idx, leaf, salt, collection, object_id, version, member, received) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
				idx, leaf, salt, coll, id, version, member, added); err != nil {
				tx.Rollback()
				return err
			}
			if _, err := tx.Exec(`INSERT INTO objects(collection, object_id, type, spec_version, version, date_added, member, signed, raw, log_index) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				coll, id, "indicator", "2.1", version, added, member, true, raw, idx); err != nil {
				tx.Rollback()
				return err
			}
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	_, err = w.Exec(`ANALYZE`)
	return err
}

// rawPage is the bare SELECT of one page: the same columns the store
// reads, without version selection or decoding.
func rawPage(r *sql.DB, coll string, after int64) (int, error) {
	rows, err := r.Query(`SELECT seq, collection, object_id, type, spec_version, version, date_added, member, signed, raw, log_index FROM objects WHERE collection = ? AND seq > ? ORDER BY seq LIMIT 100`, coll, after)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	got := 0
	for rows.Next() {
		var seq, logIndex int64
		var c, id, typ, sv, v, added, member string
		var signed bool
		var raw []byte
		if err := rows.Scan(&seq, &c, &id, &typ, &sv, &v, &added, &member, &signed, &raw, &logIndex); err != nil {
			return 0, err
		}
		got++
	}
	return got, rows.Err()
}

// BenchmarkAddObjectsMemory posts one envelope of about 8 MiB of signed
// indicators (4,000 of 2 KiB) to a node and samples its heap while the
// node handles it: the growth over the idle heap, per byte of the body,
// is what taxii.envelopeMemoryFactor must cover (the reservation a POST
// takes from the response memory budget, which then doubles it for the
// garbage collector). "live/body" is the live heap's growth as the
// collections during the POST marked it; "heap/body" counts garbage not
// yet collected too.
func BenchmarkAddObjectsMemory(b *testing.B) {
	bn := newBenchNode(b, b.TempDir())
	b.Cleanup(bn.stop)
	ctx := context.Background()
	coll, err := bn.n.AddCollection(ctx, "intel", "", []string{"bench"}, []string{"bench"}, "")
	if err != nil {
		b.Fatal(err)
	}
	pad := strings.Repeat("x", 1800)
	envelope := func() []byte {
		objs := make([]json.RawMessage, 4000)
		for i := range objs {
			raw, _ := json.Marshal(map[string]any{
				"type": "indicator", "spec_version": "2.1", "id": stix.NewIdentifier("indicator"),
				"created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
				"created_by_ref": bn.member, "name": fmt.Sprintf("indicator %d", i), "description": pad,
				"pattern": fmt.Sprintf("[ipv4-addr:value = '198.51.%d.%d']", i/256%256, i%256), "pattern_type": "stix",
				"valid_from": "2026-01-01T00:00:00Z",
			})
			if objs[i], err = stix.Sign(raw, bn.key); err != nil {
				b.Fatal(err)
			}
		}
		body, _ := json.Marshal(taxii.Envelope{Objects: objs})
		return body
	}
	worstHeap, worstLive := 0.0, 0.0
	size := 0
	for b.Loop() {
		b.StopTimer()
		body := envelope()
		size = len(body)
		req, _ := http.NewRequest(http.MethodPost, bn.url+"/api/collections/"+coll+"/objects/", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", taxii.MediaType)
		req.Header.Set("Accept", taxii.MediaType)
		req.Header.Set("Authorization", "Bearer "+bn.token)
		runtime.GC()
		idle, idleLive := readHeap()
		b.StartTimer()
		h := startHeapSampler()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		heap, live := h.peaks()
		if resp.StatusCode != http.StatusAccepted {
			b.Fatalf("POST: %s", resp.Status)
		}
		worstHeap = max(worstHeap, float64(heap-idle)/float64(size))
		worstLive = max(worstLive, float64(live-idleLive)/float64(size))
	}
	b.ReportMetric(float64(size)/(1<<20), "body-MiB")
	b.ReportMetric(worstHeap, "heap/body")
	b.ReportMetric(worstLive, "live/body")
}
