package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/node"
	"github.com/parley-exchange/parley/misp"
	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/taxii"
)

// testNode is a node served on a free port of 127.0.0.1 from a
// temporary folder, with one member whose key and token are in files.
type testNode struct {
	n                  *node.Node
	member             node.NewMember
	key                ed25519.PrivateKey
	url                string
	keyFile, tokenFile string
}

func startTestNode(tb testing.TB) *testNode {
	ctx := context.Background()
	dir := tb.TempDir()
	if _, err := node.Init(ctx, filepath.Join(dir, "node"), node.Config{}, nil); err != nil {
		tb.Fatal(err)
	}
	n, err := node.Open(ctx, filepath.Join(dir, "node"), node.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	m, err := n.AddMember(ctx, "bench", pub)
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { n.Serve(sctx, ln, nil); close(done) }()
	tb.Cleanup(func() { cancel(); <-done; n.Close() })
	tn := &testNode{n: n, member: m, key: key, url: "http://" + ln.Addr().String(),
		keyFile: filepath.Join(dir, "member.key"), tokenFile: filepath.Join(dir, "member.json")}
	if err := writeKeyPair(tn.keyFile, pub, key); err != nil {
		tb.Fatal(err)
	}
	tj, _ := json.Marshal(map[string]string{"id": m.ID, "token": m.Token})
	if err := os.WriteFile(tn.tokenFile, tj, 0o600); err != nil {
		tb.Fatal(err)
	}
	return tn
}

// benchAttributes is how many MISP attributes BenchmarkImportMISP imports:
// PARLEY_BENCH_ATTRS, default 100,000 (10,000 with -short).
func benchAttributes() int {
	if n, err := strconv.Atoi(os.Getenv("PARLEY_BENCH_ATTRS")); err == nil && n > 0 {
		return n
	}
	if testing.Short() {
		return 10_000
	}
	return 100_000
}

// writeMISPEvents writes n attributes as MISP events of 1,000 attributes
// (a REST search response): domains, addresses, hashes and URLs, four in
// five with to_ids (indicators), the others observed-data.
func writeMISPEvents(b *testing.B, path string, from, n int) {
	var events []map[string]any
	for e := from / 1000; e*1000 < from+n; e++ {
		var attrs []map[string]any
		for i := e * 1000; i < min(from+n, (e+1)*1000); i++ {
			typ, val := "domain", fmt.Sprintf("host%d.example.org", i)
			switch i % 5 {
			case 1:
				typ, val = "ip-dst", fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
			case 2:
				typ, val = "md5", fmt.Sprintf("%032x", i)
			case 3:
				typ, val = "sha256", fmt.Sprintf("%064x", i)
			case 4:
				typ, val = "url", fmt.Sprintf("http://host%d.example.org/x.php", i)
			}
			attrs = append(attrs, map[string]any{
				"uuid": fmt.Sprintf("5758ebf5-c898-48e6-9fe9-%012x", i), "type": typ, "category": "Network activity",
				"value": val, "to_ids": i%5 != 1, "timestamp": "1465681801",
			})
		}
		events = append(events, map[string]any{"Event": map[string]any{
			"uuid": fmt.Sprintf("6758ebf5-c898-48e6-9fe9-%012x", e), "info": fmt.Sprintf("benchmark event %d", e),
			"date": "2016-06-11", "timestamp": "1465681801", "published": true, "publish_timestamp": "1465681901",
			"Orgc": map[string]any{"name": "CIRCL", "uuid": "55f6ea5e-2c60-40e5-964f-47a8950d210f"},
			"Tag":  []any{map[string]any{"name": "tlp:green"}}, "Attribute": attrs,
		}})
	}
	data, err := json.Marshal(map[string]any{"response": events})
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
}

// parallelIngest posts signed objects in envelopes of pushBatch from four
// clients at once, as internal/node's BenchmarkIngest does: the node's
// ingest at its best.
func parallelIngest(b *testing.B, client *taxii.Client, coll string, signed []json.RawMessage) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for lo := range next {
				st, err := client.AddObjects(context.Background(), coll, signed[lo:min(lo+pushBatch, len(signed))])
				if err != nil || st.FailureCount > 0 {
					b.Errorf("ingest4: %v %+v", err, st)
				}
			}
		}()
	}
	for lo := 0; lo < len(signed); lo += pushBatch {
		next <- lo
	}
	close(next)
	wg.Wait()
}

// BenchmarkImportMISP measures `parley import misp` of benchAttributes()
// attributes into a node started on a temporary folder (parse, map,
// sign, push in envelopes; the node validates, verifies and stores),
// against the node's ingest of the same number of signed objects (the
// same objects, converted and signed beforehand, pushed the same way,
// one envelope at a time), and against the same objects posted from four
// clients at once (BenchmarkIngest's way, "ratio4"). The attributes are
// ten files; the three measurements take turns on each file in rotating
// order, each into its own fresh collection, so that they share the
// machine's drifting load. Goal: import >= 0.5 x ingest (the "ratio" metric; also
// reported: "ratio4").
func BenchmarkImportMISP(b *testing.B) {
	ctx := context.Background()
	tn := startTestNode(b)
	n, m, key, url, keyFile, tokenFile := tn.n, tn.member, tn.key, tn.url, tn.keyFile, tn.tokenFile
	dir := b.TempDir()
	attrs := benchAttributes()
	const rounds = 10
	chunk := attrs / rounds

	// Ten files of chunk attributes each, and the baseline's objects per
	// file: the import's own, converted and signed beforehand.
	files := make([]string, rounds)
	signed := make([][]json.RawMessage, rounds)
	total := 0
	conv := misp.NewConverter(misp.Options{CreatedBy: m.ID, NoMarkingObjects: true})
	for r := range rounds {
		files[r] = filepath.Join(dir, fmt.Sprintf("events-%d.json", r))
		writeMISPEvents(b, files[r], r*chunk, chunk)
		data, _ := os.ReadFile(files[r])
		err := misp.ReadEvents(bytes.NewReader(data), func(ev *misp.Event) error {
			for _, o := range conv.Convert(ev).Objects {
				s, err := stix.Sign(o, key)
				if err != nil {
					return err
				}
				signed[r] = append(signed[r], s)
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		total += len(signed[r])
	}
	client := &taxii.Client{BaseURL: url, Token: m.Token}
	var importTime, ingestTime, parallelTime time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var colls [3]string
		for k := range colls {
			var err error
			if colls[k], err = n.AddCollection(ctx, fmt.Sprintf("bench %d %d", i, k), "", []string{"bench"}, []string{"bench"}, ""); err != nil {
				b.Fatal(err)
			}
		}
		// The three measurements take turns on each chunk, in rotating
		// order, so that they share the machine's drifting load.
		for r := range rounds {
			for k := range 3 {
				switch (r + k) % 3 {
				case 0:
					var out, errb bytes.Buffer
					c := &cli{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
					start := time.Now()
					code := c.main(ctx, []string{"import", "misp", "--url", url, "--token-file", tokenFile, "--key", keyFile, "--collection", colls[0], files[r]})
					importTime += time.Since(start)
					want := fmt.Sprintf("pushed %d objects: %d stored (0 already there), 0 conflicts, 0 refused", len(signed[r]), len(signed[r]))
					if code != 0 || !bytes.Contains(out.Bytes(), []byte(want)) {
						b.Fatalf("import: exit %d\n%s\n%s\nwant %q", code, out.Bytes(), errb.Bytes(), want)
					}
				case 1:
					var stored int
					start := time.Now()
					err := sendEnvelopes(ctx, client, colls[1], signed[r], func(st *taxii.Status) bool { stored += st.SuccessCount; return true })
					ingestTime += time.Since(start)
					if err != nil || stored != len(signed[r]) {
						b.Fatalf("ingest: %v, %d of %d stored", err, stored, len(signed[r]))
					}
				case 2:
					start := time.Now()
					parallelIngest(b, client, colls[2], signed[r])
					parallelTime += time.Since(start)
				}
			}
		}
	}
	objs := float64(b.N * total)
	importRate, ingestRate, parallelRate := objs/importTime.Seconds(), objs/ingestTime.Seconds(), objs/parallelTime.Seconds()
	b.ReportMetric(float64(b.N*attrs)/importTime.Seconds(), "attributes/s")
	b.ReportMetric(importRate, "import-objects/s")
	b.ReportMetric(ingestRate, "ingest-objects/s")
	b.ReportMetric(parallelRate, "ingest4-objects/s")
	b.ReportMetric(importRate/ingestRate, "ratio")
	b.ReportMetric(importRate/parallelRate, "ratio4")
	b.ReportMetric(float64(total), "objects")
	b.ReportMetric(0, "ns/op")
}
