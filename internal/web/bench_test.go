package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/cursor"
	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/stix"
)

// fill adds n indicators to coll straight through the store (the
// pipeline's signature checks would dominate the set-up, and the pages
// measured don't depend on them), 1,000 per submission.
func fill(b testing.TB, f *fixture, coll string, n int) {
	ctx := context.Background()
	t0 := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	for start := 0; start < n; start += 1000 {
		var items []store.Item
		for i := start; i < min(start+1000, n); i++ {
			id := fmt.Sprintf("indicator--%08x-0000-4000-8000-%012x", i, len(coll))
			v := t0.Add(time.Duration(i) * time.Second)
			raw := fmt.Sprintf(`{"created":%q,"created_by_ref":%q,"id":%q,"modified":%q,"name":"Bench indicator %d","object_marking_refs":[%q],"pattern":"[ipv4-addr:value = '10.%d.%d.%d']","pattern_type":"stix","spec_version":"2.1","type":"indicator","valid_from":%q}`,
				stix.FormatTimestamp(v), f.aurelia.ID, id, stix.FormatTimestamp(v), i, stix.TLP2GreenID, i>>16&255, i>>8&255, i&255, stix.FormatTimestamp(v))
			items = append(items, store.Item{
				Object: store.Object{ID: id, Type: "indicator", SpecVersion: "2.1", Version: v, Signed: true, Raw: []byte(raw)},
				Salt:   make([]byte, 32),
				Entry:  func(store.Object) ([]byte, error) { return []byte(`{}`), nil },
			})
		}
		if _, err := f.n.Store().Submit(ctx, store.Submission{StatusID: fmt.Sprintf("bench-%s-%d", coll, start), Collection: coll, Member: f.aurelia.ID, Received: time.Now(), Items: items}); err != nil {
			b.Fatal(err)
		}
	}
}

func serve(b *testing.B, h http.Handler, req *http.Request) int {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("%s: %d %s", req.URL, rec.Code, rec.Body.String()[:min(200, rec.Body.Len())])
	}
	return rec.Body.Len()
}

// BenchmarkCollectionPage measures, in one run, the UI's collection page
// of 100 objects and the TAXII objects page (limit=100) of the same
// objects, interleaved, and reports ui/taxii: the UI's rate as a
// fraction of TAXII's (the goal is at least 0.5). It then measures the
// UI page at the start and at the end of a 100,000-object collection
// and of a 100-object one: deep/shallow and big/small (the goal is
// about 1).
func BenchmarkCollectionPage(b *testing.B) {
	f := newFixture(b)
	fill(b, f, f.private, 100) // borova's: aurelia isn't a reader; use borova below
	h := f.n.Handler(nil)
	ck := pagerSession(b, h, f.borova.Token)
	uiReq := func(path string) *http.Request {
		r := httptest.NewRequest("GET", path, nil)
		r.AddCookie(ck)
		r.Header.Set("X-Parley-Binding", testBinding)
		return r
	}
	taxiiReq := func(path string) *http.Request {
		r := httptest.NewRequest("GET", path, nil)
		r.Header.Set("Authorization", "Bearer "+f.borova.Token)
		r.Header.Set("Accept", "application/taxii+json;version=2.1")
		return r
	}
	b.Run("ui-vs-taxii", func(b *testing.B) {
		var ui, tx time.Duration
		for range b.N {
			t := time.Now()
			serve(b, h, uiReq("/ui/collections/"+f.private))
			ui += time.Since(t)
			t = time.Now()
			serve(b, h, taxiiReq("/api/collections/"+f.private+"/objects/?limit=100"))
			tx += time.Since(t)
		}
		b.ReportMetric(float64(ui.Nanoseconds())/float64(b.N), "ui-ns/page")
		b.ReportMetric(float64(tx.Nanoseconds())/float64(b.N), "taxii-ns/page")
		b.ReportMetric(float64(tx)/float64(ui), "ui/taxii")
	})
	// The 100,000-object collection is made only when a benchmark below
	// runs, so -bench CollectionPage/ui-vs-taxii stays quick.
	var big, last string
	bigColl := func(b *testing.B) {
		if big != "" {
			return
		}
		var err error
		if big, err = f.n.AddCollection(context.Background(), "big", "", []string{"cert-borovia"}, []string{"cert-borovia"}, ""); err != nil {
			b.Fatal(err)
		}
		fill(b, f, big, 100_000)
		page, err := f.n.Store().BrowseObjects(context.Background(), store.Browse{Collection: big, Limit: 1, Before: 1 << 62})
		if err != nil || len(page.Objects) != 1 {
			b.Fatal(err)
		}
		last = cursor.Format(big, page.Objects[0].DateAdded)
		b.ResetTimer()
	}
	b.Run("depth", func(b *testing.B) {
		bigColl(b)
		var small, first, deep time.Duration
		for range b.N {
			t := time.Now()
			serve(b, h, uiReq("/ui/collections/"+f.private))
			small += time.Since(t)
			t = time.Now()
			serve(b, h, uiReq("/ui/collections/"+big))
			first += time.Since(t)
			t = time.Now()
			serve(b, h, uiReq(fmt.Sprintf("/ui/collections/%s?before=%s", big, last)))
			deep += time.Since(t)
		}
		b.ReportMetric(float64(small)/float64(first), "small/big-first")
		b.ReportMetric(float64(small)/float64(deep), "small/big-last")
		b.ReportMetric(float64(deep.Nanoseconds())/float64(b.N), "big-last-ns/page")
	})
	b.Run("filtered-text", func(b *testing.B) {
		bigColl(b)
		var small, bigT time.Duration
		for range b.N {
			t := time.Now()
			serve(b, h, uiReq("/ui/collections/"+f.private+"?q=Bench&tlp="+url.QueryEscape(stix.TLP2GreenID)))
			small += time.Since(t)
			t = time.Now()
			serve(b, h, uiReq("/ui/collections/"+big+"?q=Bench&tlp="+url.QueryEscape(stix.TLP2GreenID)))
			bigT += time.Since(t)
		}
		b.ReportMetric(float64(small)/float64(bigT), "small/big")
		b.ReportMetric(float64(bigT.Nanoseconds())/float64(b.N), "big-ns/page")
	})
}
