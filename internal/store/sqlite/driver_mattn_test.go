//go:build cgo

package sqlite

// The cgo driver is linked into the tests only, for the driver comparison
// of bench_test.go; the parley binary uses modernc.org/sqlite alone.
import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"strconv"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/parley-exchange/parley/internal/store"
)

func init() { benchDrivers = append(benchDrivers, "sqlite3") }

// BenchmarkDriverRatio submits the same batches to a store on each driver
// and reads the same pages from each (1,000,000 objects, or
// PARLEY_BENCH_ROWS), alternating batch by batch and page by page so that
// both drivers share the machine's load. Metrics: cgo/purego is how many
// times faster the cgo driver is (goal: at most 1.5).
func BenchmarkDriverRatio(b *testing.B) {
	for _, batch := range []int{100, 1000} {
		b.Run(fmt.Sprintf("submit/batch=%d", batch), func(b *testing.B) {
			pure, member, coll := openBench(b, "sqlite", b.TempDir())
			defer pure.Close()
			cgo, _, _ := openBench(b, "sqlite3", b.TempDir())
			defer cgo.Close()
			ctx := context.Background()
			var tPure, tCgo time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				items := benchItems(i*batch, (i+1)*batch)
				for k, s := range []*Store{pure, cgo} {
					if i%2 == 1 {
						s = []*Store{cgo, pure}[k]
					}
					t := time.Now()
					if _, err := s.Submit(ctx, store.Submission{StatusID: strconv.Itoa(i), Collection: coll, Member: member, Items: items}); err != nil {
						b.Fatal(err)
					}
					if s == pure {
						tPure += time.Since(t)
					} else {
						tCgo += time.Since(t)
					}
				}
			}
			n := float64(b.N * batch)
			b.ReportMetric(n/tPure.Seconds(), "purego-rows/s")
			b.ReportMetric(n/tCgo.Seconds(), "cgo-rows/s")
			b.ReportMetric(tPure.Seconds()/tCgo.Seconds(), "cgo/purego")
			b.ReportMetric(0, "ns/op")
		})
	}
	b.Run("page", func(b *testing.B) {
		pure, coll := pageStore(b, "sqlite")
		cgo, _ := pageStore(b, "sqlite3")
		n := pageRows()
		ctx := context.Background()
		page := func(s *Store) time.Duration {
			t := time.Now()
			p, err := s.Objects(ctx, store.Query{Collection: coll, Limit: 100, After: int64(mrand.IntN(n - 100))})
			if err != nil || len(p.Objects) != 100 {
				b.Fatal(len(p.Objects), err)
			}
			return time.Since(t)
		}
		for range 200 {
			page(pure)
			page(cgo)
		}
		var tPure, tCgo time.Duration
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			tPure += page(pure)
			tCgo += page(cgo)
		}
		b.ReportMetric(float64(b.N)/tPure.Seconds(), "purego-pages/s")
		b.ReportMetric(float64(b.N)/tCgo.Seconds(), "cgo-pages/s")
		b.ReportMetric(tPure.Seconds()/tCgo.Seconds(), "cgo/purego")
		b.ReportMetric(0, "ns/op")
	})
}
