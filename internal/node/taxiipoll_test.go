package node

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/taxii"
)

// siemPoller polls a collection over plain HTTP the way one kind of
// third-party TAXII 2.1 consumer does, and records every object version
// it is served (as "id@version").
type siemPoller struct {
	name  string
	style string // "elastic", "opencti" or "added_after"
	kind  string // "objects" or "manifest"
	limit int

	polls atomic.Int64 // polls that brought at least one new version
	pages atomic.Int64 // pages read, empty ones included
	// onPage, when set, is called after each page read.
	onPage func()
	seen   map[string]int
	// pageLast is, for each version served, the X-TAXII-Date-Added-Last
	// of the page that first served it: its date_added is at most that.
	pageLast map[string]time.Time
	prevLast time.Time // the last page's X-TAXII-Date-Added-Last
}

// poll runs one poll from cursor (an added_after, or "" for the start of
// the collection) until the server says there is no more, and returns
// the cursor for the next poll. The styles are those of the clients'
// own code:
//
//   - elastic: Elastic's TAXII input (the ti_custom integration's CEL
//     program): added_after on the first request only, then only next
//     (no added_after, no other filter) while the answer has a next.
//     Here the next poll's added_after is the last page's
//     X-TAXII-Date-Added-Last (Elastic's own program restarts from now
//     minus its initial interval instead).
//   - opencti: OpenCTI's TAXII ingestion (ingestionManager.ts): every
//     request of a run sends the run's added_after and, after the first,
//     the previous page's next; when a page has no more, the next run's
//     added_after is that page's X-TAXII-Date-Added-Last as a JavaScript
//     Date keeps it: cut to the millisecond. So a run may be served again
//     versions added within that millisecond, and none other.
//   - added_after: clients that never send next (MISP-style pollers):
//     each request's added_after is the previous page's
//     X-TAXII-Date-Added-Last.
//
// Every page's X-TAXII-Date-Added-First must be after the added_after
// sent, and but for opencti's millisecond repeats, after the previous
// page's X-TAXII-Date-Added-Last.
func (p *siemPoller) poll(base, token, cursor string) (string, error) {
	next := ""
	got := false
	for {
		v := url.Values{"limit": {strconv.Itoa(p.limit)}, "match[version]": {"all"}}
		addedAfter := ""
		switch {
		case p.style == "elastic" && next != "":
			v = url.Values{"next": {next}, "limit": {strconv.Itoa(p.limit)}, "match[version]": {"all"}}
		case p.style == "opencti" && next != "":
			v.Set("next", next)
			addedAfter = cursor
		default:
			addedAfter = cursor
		}
		if addedAfter != "" {
			v.Set("added_after", addedAfter)
		}
		req, err := http.NewRequest(http.MethodGet, base+p.kind+"/?"+v.Encode(), nil)
		if err != nil {
			return "", err
		}
		req.Header.Set("Accept", "application/taxii+json;version=2.1")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", err
		}
		var body struct {
			More    bool
			Next    string
			Objects []struct {
				ID, Modified, Version string
				DateAdded             string `json:"date_added"`
			}
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || err != nil {
			return "", fmt.Errorf("%s %s: %d %v", p.name, v.Encode(), resp.StatusCode, err)
		}
		p.pages.Add(1)
		if p.onPage != nil {
			p.onPage()
		}
		if len(body.Objects) > 0 {
			first, err1 := taxii.ParseTimestamp(resp.Header.Get(taxii.HeaderDateAddedFirst))
			last, err2 := taxii.ParseTimestamp(resp.Header.Get(taxii.HeaderDateAddedLast))
			if err1 != nil || err2 != nil {
				return "", fmt.Errorf("%s: page of %d without X-TAXII-Date-Added-First/Last (%v, %v)", p.name, len(body.Objects), err1, err2)
			}
			if addedAfter != "" {
				if aa, _ := taxii.ParseTimestamp(addedAfter); !first.After(aa) {
					return "", fmt.Errorf("%s: added_after %s, but the page's first date_added is %v", p.name, addedAfter, first)
				}
			}
			repeats := p.style == "opencti" && next == ""
			if !repeats && !first.After(p.prevLast) {
				return "", fmt.Errorf("%s: a page's first date_added %v is not after the previous page's last %v", p.name, first, p.prevLast)
			}
			p.prevLast = last
			for i, o := range body.Objects {
				version := o.Version
				if p.kind == "objects" {
					version = o.Modified
				} else if i > 0 && o.DateAdded <= body.Objects[i-1].DateAdded {
					return "", fmt.Errorf("%s: manifest entries out of order: %s after %s", p.name, o.DateAdded, body.Objects[i-1].DateAdded)
				}
				k := o.ID + "@" + version
				if pl, ok := p.pageLast[k]; ok && p.style == "opencti" {
					// Served again: only a version added after the
					// millisecond the cursor was cut to may be.
					aa, _ := taxii.ParseTimestamp(addedAfter)
					if !pl.After(aa) {
						return "", fmt.Errorf("%s: %s served again after added_after %s, though its page ended at %v", p.name, k, addedAfter, pl)
					}
					continue
				}
				p.seen[k]++
				got = true
				if _, ok := p.pageLast[k]; !ok {
					p.pageLast[k] = last
				}
			}
			cursor = resp.Header.Get(taxii.HeaderDateAddedLast)
		}
		if !body.More {
			if body.Next != "" {
				// Elastic's program follows next whenever there is one.
				return "", fmt.Errorf("%s: next %q with more false", p.name, body.Next)
			}
			break
		}
		if body.Next == "" {
			return "", fmt.Errorf("%s: more without next", p.name)
		}
		next = body.Next
	}
	if got {
		p.polls.Add(1)
	}
	if p.style == "opencti" && cursor != "" {
		t, err := taxii.ParseTimestamp(cursor)
		if err != nil {
			return "", err
		}
		cursor = t.Truncate(time.Millisecond).Format("2006-01-02T15:04:05.000Z")
	}
	return cursor, nil
}

// TestSIEMPollersDuringIngest is the property SIEM integrations depend
// on: two members add objects (new objects and new versions of their
// earlier ones, in batches of random sizes) while four consumers poll the
// collection the way Elastic's TAXII input, OpenCTI's ingester and
// added_after-only clients do, on the objects and manifest endpoints,
// with small pages. Writers keep going until every poller has had at
// least three polls that brought new objects, so paging and ingest
// overlap; then each poller makes one last poll. The writers are paced
// by the slowest poller (a batch of at most 6 versions for each 3 pages
// it reads, of at least 3 versions each, or empty): unpaced, on a store
// that takes writes faster than a poller of 3 a page reads them (the
// PostgreSQL node suite), a poll never reached the end. Every poller must have
// been served exactly the versions that were stored: none skipped, none
// twice (but for the versions OpenCTI's millisecond cursor asks for
// again; see [siemPoller.poll]). An added_after that is not strict, a
// cursor that is not, or pages ordered by anything but the order of
// addition breaks it.
func TestSIEMPollersDuringIngest(t *testing.T) {
	tn := newTestNode(t)
	ctx := context.Background()
	base := tn.URL + "/api/collections/" + tn.shared + "/"

	var mu sync.Mutex
	stored := map[string]bool{}
	var total atomic.Int64
	const minObjects, maxObjects = 150, 5000

	pollers := []*siemPoller{
		{name: "elastic objects", style: "elastic", kind: "objects", limit: 5},
		{name: "opencti objects", style: "opencti", kind: "objects", limit: 3},
		{name: "added_after objects", style: "added_after", kind: "objects", limit: 4},
		{name: "elastic manifest", style: "elastic", kind: "manifest", limit: 7},
	}
	enough := func() bool {
		if total.Load() < minObjects {
			return false
		}
		for _, p := range pollers {
			if p.polls.Load() < 3 {
				return false
			}
		}
		return true
	}

	writersDone := make(chan struct{})
	var writers sync.WaitGroup
	var failed atomic.Bool
	var paceMu sync.Mutex
	pace := sync.NewCond(&paceMu)
	wake := func() { paceMu.Lock(); pace.Broadcast(); paceMu.Unlock() }
	slowest := func() int64 {
		least := pollers[0].pages.Load()
		for _, p := range pollers[1:] {
			least = min(least, p.pages.Load())
		}
		return least
	}
	var batches atomic.Int64
	for w, m := range []testMember{tn.alice, tn.bob} {
		writers.Add(1)
		go func() {
			defer writers.Done()
			rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			type mine struct {
				id      string
				version time.Time
			}
			var own []mine
			for n := 0; !enough() && !failed.Load(); n++ {
				if total.Load() > maxObjects {
					t.Errorf("%d objects stored and the pollers still have not polled three times each", total.Load())
					failed.Store(true)
					return
				}
				b := batches.Add(1)
				paceMu.Lock()
				for slowest() < 3*b && !failed.Load() {
					pace.Wait()
				}
				paceMu.Unlock()
				var batch []json.RawMessage
				var keys []string
				for range 1 + rng.IntN(6) {
					o := mine{id: stix.NewIdentifier("indicator"), version: t0.Add(time.Duration(n) * time.Millisecond)}
					if len(own) > 0 && rng.IntN(3) == 0 {
						// A new version of one of this member's objects.
						i := rng.IntN(len(own))
						own[i].version = own[i].version.Add(time.Second)
						o = own[i]
					} else {
						own = append(own, o)
					}
					v := stix.FormatTimestamp(o.version)
					batch = append(batch, object(t, m.Key, map[string]any{
						"type": "indicator", "spec_version": "2.1", "id": o.id,
						"created": stix.FormatTimestamp(t0), "modified": v,
						"created_by_ref": m.ID, "name": "poll " + o.id,
						"pattern": "[domain-name:value = 'poll.example']", "pattern_type": "stix",
						"valid_from": "2026-01-01T00:00:00Z",
					}))
					keys = append(keys, o.id+"@"+v)
				}
				st, err := m.Client.AddObjects(ctx, tn.shared, batch)
				if err != nil || st.SuccessCount != len(batch) {
					t.Errorf("writer %d: %+v %v", w, st, err)
					failed.Store(true)
					return
				}
				mu.Lock()
				for _, k := range keys {
					if stored[k] {
						t.Errorf("writer %d: %s twice", w, k)
					}
					stored[k] = true
				}
				mu.Unlock()
				total.Add(int64(len(batch)))
			}
		}()
	}
	go func() { writers.Wait(); close(writersDone) }()

	var readers sync.WaitGroup
	for _, p := range pollers {
		p.seen, p.pageLast, p.onPage = map[string]int{}, map[string]time.Time{}, wake
		readers.Add(1)
		go func() {
			defer readers.Done()
			cursor := ""
			for {
				final := false
				select {
				case <-writersDone:
					final = true
				default:
				}
				var err error
				if cursor, err = p.poll(base, tn.alice.Token, cursor); err != nil {
					t.Error(err)
					failed.Store(true)
					wake()
					return
				}
				if final || failed.Load() {
					return
				}
			}
		}()
	}
	readers.Wait()
	if t.Failed() {
		return
	}
	for _, p := range pollers {
		var twice, skipped []string
		for k, n := range p.seen {
			if n > 1 {
				twice = append(twice, k)
			}
			if !stored[k] {
				t.Errorf("%s: served %s, which no writer stored", p.name, k)
			}
		}
		for k := range stored {
			if p.seen[k] == 0 {
				skipped = append(skipped, k)
			}
		}
		if len(twice) > 0 || len(skipped) > 0 {
			t.Errorf("%s: of %d versions stored, %d served twice (%q), %d skipped (%q), in %d polls",
				p.name, len(stored), len(twice), twice[:min(3, len(twice))], len(skipped), skipped[:min(3, len(skipped))], p.polls.Load())
		}
	}
	t.Logf("%d object versions stored; polls with new objects: %d, %d, %d, %d", len(stored),
		pollers[0].polls.Load(), pollers[1].polls.Load(), pollers[2].polls.Load(), pollers[3].polls.Load())
}

// TestEmptyPageHasObjectsList: a page of the objects or object endpoint
// that holds nothing still has an "objects" list, empty. Elastic's TAXII
// input (the ti_custom integration's CEL program) reads body.objects
// without checking that it is there, so on an envelope without it every
// poll that finds nothing new fails ("no such key: objects") and the
// integration reports an error until something is added. The manifest
// and versions endpoints, which Elastic does not read, are unchanged.
func TestEmptyPageHasObjectsList(t *testing.T) {
	tn := newTestNode(t)
	a := tn.alice
	obj := indicator(t, a.ID, a.Key, t0)
	id := idOf(t, obj)
	post(t, a.Client, tn.shared, obj)
	base := tn.URL + "/api/collections/" + tn.shared + "/objects/"
	future := "2099-01-01T00:00:00Z"
	for _, tc := range []struct{ name, url string }{
		{"objects, added_after in the future", base + "?added_after=" + future},
		{"objects, a type the collection lacks", base + "?match%5Btype%5D=malware"},
		{"objects of an empty collection", tn.URL + "/api/collections/" + tn.optional + "/objects/"},
		{"object, added_after in the future", base + id + "/?added_after=" + future},
		{"object, a version it lacks", base + id + "/?match%5Bversion%5D=2000-01-01T00:00:00Z"},
	} {
		code, body := rawGet(t, tc.url, a.Token)
		var env map[string]json.RawMessage
		if code != http.StatusOK || json.Unmarshal([]byte(body), &env) != nil {
			t.Errorf("%s: %d %s", tc.name, code, body)
			continue
		}
		if objs, ok := env["objects"]; !ok || string(objs) != "[]" {
			t.Errorf("%s: %s; want an empty \"objects\" list", tc.name, body)
		}
		if string(env["more"]) != "false" {
			t.Errorf("%s: %s; want more false", tc.name, body)
		}
	}
	// A page with objects is as before.
	code, body := rawGet(t, base, a.Token)
	var env struct {
		More    bool
		Objects []json.RawMessage
	}
	if code != http.StatusOK || json.Unmarshal([]byte(body), &env) != nil || len(env.Objects) != 1 || idOf(t, env.Objects[0]) != id {
		t.Errorf("objects: %d %s", code, body)
	}
}
