package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/internal/store/sqlite"
	"github.com/parley-exchange/parley/opinion"
)

// countingWriter is a ResponseWriter that keeps nothing of the body (a
// server writes it to the connection as it comes), so that measuring a
// page's allocations doesn't count a buffer the server doesn't have. It
// looks for needles in the body as it passes, in buffers allocated
// before the measurement.
type countingWriter struct {
	h       http.Header
	status  int
	n       int
	needles []string
	found   []bool
	tail    []byte // the last bytes written, for needles across writes
	scratch []byte
}

const needleMax = 256

func newCountingWriter(needles ...string) *countingWriter {
	return &countingWriter{h: http.Header{}, needles: needles, found: make([]bool, len(needles)),
		tail: make([]byte, 0, needleMax), scratch: make([]byte, 0, 2*needleMax)}
}

func (w *countingWriter) Header() http.Header { return w.h }
func (w *countingWriter) WriteHeader(s int) {
	if w.status == 0 {
		w.status = s
	}
}
func (w *countingWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.n += len(b)
	w.scratch = append(append(w.scratch[:0], w.tail...), b[:min(len(b), needleMax)]...)
	for i, n := range w.needles {
		w.found[i] = w.found[i] || bytes.Contains(b, []byte(n)) || bytes.Contains(w.scratch, []byte(n))
	}
	if len(b) >= needleMax {
		w.tail = append(w.tail[:0], b[len(b)-needleMax:]...)
	} else {
		w.tail = append(w.tail, b...)
		if len(w.tail) > needleMax {
			w.tail = append(w.tail[:0], w.tail[len(w.tail)-needleMax:]...)
		}
	}
	return len(b), nil
}

// heavyUI is a UI handler over a SQLite store holding objects of nearly
// maxObject bytes each, made to cost the most to render: their text is
// '&', which HTML-escaping turns into five bytes. It records what each
// request reserved.
type heavyUI struct {
	h        *Handler
	cookie   *http.Cookie
	mu       sync.Mutex
	reserved []int64
}

const maxObject = 1 << 20

// pdqQuery is the PDQ hash the tests look up (its last digit 2: the
// nearest indicator's 3 is one bit away).
const pdqQuery = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"

// flipNibbles returns hash with all four bits of its first n hex digits
// flipped: 4n bits away.
func flipNibbles(hash string, n int) string {
	b := []byte(hash)
	for i := range n {
		v := strings.IndexByte("0123456789abcdef", b[i]) ^ 0xf
		b[i] = "0123456789abcdef"[v]
	}
	return string(b)
}

// heavyShapes are the properties of objects of nearly maxObject bytes
// that cost the most to show whole: the largest name (in the title and
// the heading), the largest description, the most labels, the most
// numbers, the most external references.
var heavyShapes = func() []string {
	n := maxObject - 4096
	list := func(item string) string { return strings.TrimSuffix(strings.Repeat(item+",", n/(len(item)+1)), ",") }
	return []string{
		fmt.Sprintf(`"name":%q`, strings.Repeat("&", n)),
		fmt.Sprintf(`"description":%q,"name":"shape"`, strings.Repeat("&", n)),
		`"labels":[` + list(`""`) + `],"name":"shape"`,
		`"x_numbers":[` + list(`1`) + `],"name":"shape"`,
		`"external_references":[` + list(`{"source_name":"&"}`) + `],"name":"shape"`,
	}
}()

func newHeavyUI(t *testing.T, objects int) *heavyUI {
	t.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "ui.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	me := store.Member{ID: "identity--aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa", Name: strings.Repeat("&", 200), PublicKey: bytes.Repeat([]byte{1}, 32), Identity: []byte(`{}`)}
	if err := s.AddMember(ctx, me); err != nil {
		t.Fatal(err)
	}
	// The token that login sends: a session lasts while its hash names me.
	if err := s.AddToken(ctx, store.Token{Hash: sha256.Sum256([]byte("the-token")), Member: me.ID, Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	const coll = "c"
	if err := s.AddCollection(ctx, store.Collection{ID: coll, Title: "heavy", Readers: []string{me.ID}, Writers: []string{me.ID}}); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	fill := strings.Repeat("&", maxObject-4096)
	put := func(id, typ string, version time.Time, fields string) {
		t.Helper()
		raw := fmt.Sprintf(`{%s,"id":%q,"modified":%q,"type":%q}`, fields, id, store.FormatTime(version), typ)
		_, err := s.Submit(ctx, store.Submission{StatusID: "st-" + id + version.String(), Collection: coll, Member: me.ID, Received: version,
			Items: []store.Item{{Object: store.Object{ID: id, Type: typ, SpecVersion: "2.1", Version: version, Signed: true, Raw: []byte(raw)},
				Salt: make([]byte, 32), Entry: func(store.Object) ([]byte, error) { return []byte(raw), nil }}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	for i := range objects {
		id := fmt.Sprintf("indicator--%08d-0000-4000-8000-000000000000", i)
		ids = append(ids, id)
		put(id, "indicator", base, fmt.Sprintf(`"description":%q,"name":"heavy %d","pattern":"[domain-name:value = 'heavy.example']","pattern_type":"stix"`, fill, i))
		put(fmt.Sprintf("relationship--%08d-0000-4000-8000-000000000000", i), "relationship", base,
			fmt.Sprintf(`"description":%q,"relationship_type":"indicates","source_ref":%q,"target_ref":"malware--00000000-0000-4000-8000-000000000000"`, fill, id))
		put("malware--00000000-0000-4000-8000-000000000000", "malware", base.Add(time.Duration(i)*time.Hour), fmt.Sprintf(`"description":%q,"name":"target"`, fill))
	}
	// Objects shown whole in the shapes that cost the most to decode and
	// show, one each.
	for i, fields := range heavyShapes {
		put(fmt.Sprintf("malware--%08d-1111-4111-8111-111111111111", i), "malware", base, fields)
	}
	// PDQ indicators of about 800 KiB, from farthest to nearest to
	// pdqQuery in the log's order: a look-up reads the nearest first.
	for i, flip := range []struct {
		name string
		hash string
	}{{"pdq far", flipNibbles(pdqQuery, 7)}, {"pdq middle", flipNibbles(pdqQuery, 6)}, {"pdq nearest", pdqQuery[:63] + "3"}} {
		put(fmt.Sprintf("indicator--%08d-2222-4222-8222-222222222222", i), "indicator", base,
			fmt.Sprintf(`"description":%q,"name":%q,"pattern":%q,"pattern_type":"pdq"`, fill[:800<<10], flip.name, flip.hash))
	}
	refs := `"` + strings.Join(ids, `","`) + `"`
	put("report--00000000-0000-4000-8000-000000000000", "report", base, fmt.Sprintf(`"description":%q,"name":"heavy report","object_refs":[%s]`, fill[:maxObject/2], refs))
	u := &heavyUI{}
	u.h, err = New(Deps{
		Store: s,
		Authenticate: func(_ context.Context, token string) (store.Member, error) {
			if token == "the-token" {
				return me, nil
			}
			return store.Member{}, store.ErrNotFound
		},
		Reserve: func(_ context.Context, m store.Member, n int64) (func(), error) {
			u.mu.Lock()
			u.reserved = append(u.reserved, n)
			u.mu.Unlock()
			return func() {}, nil
		},
		MaxObjectSize: maxObject,
	})
	if err != nil {
		t.Fatal(err)
	}
	u.cookie = u.login(t)
	return u
}

func (u *heavyUI) login(t *testing.T) *http.Cookie {
	w := httptest.NewRecorder()
	u.h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/ui/login", nil))
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(w.Body.String())
	if csrf == nil {
		t.Fatal("no csrf field in the login page")
	}
	r := httptest.NewRequest(http.MethodPost, "/ui/login", strings.NewReader(url.Values{"csrf": {csrf[1]}, "token": {"the-token"}, bindingField: {testBindingSum()}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range w.Result().Cookies() {
		r.AddCookie(c)
	}
	w = httptest.NewRecorder()
	u.h.ServeHTTP(w, r)
	for _, c := range w.Result().Cookies() {
		if c.Name == sessionCookie && c.Value != "" {
			return c
		}
	}
	t.Fatalf("login: %d, no session cookie", w.Code)
	return nil
}

// get serves path and returns the response, the bytes allocated while
// serving it, and what it reserved.
func (u *heavyUI) get(path string, needles ...string) (w *countingWriter, allocated uint64, reserved int64) {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	r.AddCookie(u.cookie)
	r.Header.Set(bindingHeader, internalBinding)
	w = newCountingWriter(needles...)
	u.mu.Lock()
	u.reserved = nil
	u.mu.Unlock()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	u.h.ServeHTTP(w, r)
	runtime.ReadMemStats(&after)
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, n := range u.reserved {
		reserved += n
	}
	return w, after.TotalAlloc - before.TotalAlloc, reserved
}

// TestPageMemoryWithinReservation: every page that reads objects reserves
// before it reads, and allocates no more than it reserved, with objects
// of the largest size made to cost the most: more of them than the
// page's bounds take, versions, relationships and references, and text
// that HTML-escaping makes five times larger. Allocated bytes count the
// garbage too, so the bytes held at once are fewer still. Each page says
// what it left out.
func TestPageMemoryWithinReservation(t *testing.T) {
	if testing.Short() {
		t.Skip("stores 30 MiB of objects")
	}
	u := newHeavyUI(t, 9)
	for _, c := range []struct {
		name, path string
		// says is what the page must say, as it left objects out.
		says string
	}{
		{"home", "/ui/", "heavy report"},
		{"collection", "/ui/collections/c", "Next"},
		{"object, versions and relationships", "/ui/objects/malware--00000000-0000-4000-8000-000000000000", "Older versions are not shown"},
		{"object, references", "/ui/objects/report--00000000-0000-4000-8000-000000000000", "More referenced objects exist"},
		{"object, large", "/ui/objects/indicator--00000003-0000-4000-8000-000000000000", "heavy 3"},
		{"object, largest name", "/ui/objects/malware--00000000-1111-4111-8111-111111111111", "too long to show here"},
		{"object, largest description", "/ui/objects/malware--00000001-1111-4111-8111-111111111111", "too long to show here"},
		{"object, most labels", "/ui/objects/malware--00000002-1111-4111-8111-111111111111", "too long to show here"},
		{"object, most numbers", "/ui/objects/malware--00000003-1111-4111-8111-111111111111", "too long to show here"},
		{"object, most references", "/ui/objects/malware--00000004-1111-4111-8111-111111111111", "shape"},
		{"search", "/ui/search?q=heavy.example", "Only the first results are shown"},
		{"search, PDQ", "/ui/search?q=" + pdqQuery, "pdq nearest"},
		{"search, PDQ, the next nearest", "/ui/search?q=" + pdqQuery, "pdq middle"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w, allocated, reserved := u.get(c.path, c.says)
			if w.status != http.StatusOK {
				t.Fatalf("status %d", w.status)
			}
			if !w.found[0] {
				t.Errorf("the page doesn't say %q", c.says)
			}
			if reserved == 0 {
				t.Fatalf("nothing reserved (allocated %d bytes, wrote %d)", allocated, w.n)
			}
			t.Logf("allocated %.1f MiB, reserved %.1f MiB (%.2f), wrote %.1f MiB", float64(allocated)/(1<<20), float64(reserved)/(1<<20), float64(allocated)/float64(reserved), float64(w.n)/(1<<20))
			if int64(allocated) > reserved {
				t.Errorf("allocated %d bytes, more than the %d reserved", allocated, reserved)
			}
		})
	}
}

// TestPDQLookupMemory: a PDQ lookup allocates at most pdqHashBytes per
// hash it searches (its reservation counts MaxPDQLookup of them), beside the page's slack: the hashes are read without their
// objects.
func TestPDQLookupMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("stores 20,000 objects")
	}
	const n = 20_000
	ctx := context.Background()
	s, me := oneMemberStore(t, "hashes")
	var err error
	sub := store.Submission{StatusID: "st", Collection: "c", Member: me.ID, Received: time.Now()}
	for i := range n {
		raw := []byte(fmt.Sprintf(`{"id":"indicator--%08d-0000-4000-8000-000000000000","pattern":"%064x","pattern_type":"pdq","type":"indicator"}`, i, uint64(i)*0x9e3779b97f4a7c15))
		sub.Items = append(sub.Items, store.Item{Object: store.Object{ID: fmt.Sprintf("indicator--%08d-0000-4000-8000-000000000000", i), Type: "indicator", SpecVersion: "2.1", Version: time.Now(), Raw: raw},
			Salt: make([]byte, 32), Entry: func(store.Object) ([]byte, error) { return raw, nil }})
	}
	if _, err := s.Submit(ctx, sub); err != nil {
		t.Fatal(err)
	}
	u := &heavyUI{}
	u.h, err = New(Deps{Store: s, MaxObjectSize: maxObject,
		Authenticate: func(context.Context, string) (store.Member, error) { return me, nil },
		Reserve: func(_ context.Context, _ store.Member, n int64) (func(), error) {
			u.reserved = append(u.reserved, n)
			return func() {}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	u.cookie = u.login(t)
	// Within the radius of the first hash (all zero) are those with few
	// bits set.
	w, allocated, reserved := u.get("/ui/search?q="+strings.Repeat("0", 63)+"1", "indicator--00000000")
	if w.status != http.StatusOK || !w.found[0] {
		t.Fatalf("status %d, found the nearest %v", w.status, w.found[0])
	}
	perHash := float64(allocated-pageSlack) / n
	t.Logf("allocated %.1f MiB for %d hashes (%.0f bytes a hash beside the slack), reserved %.1f MiB", float64(allocated)/(1<<20), n, perHash, float64(reserved)/(1<<20))
	if allocated > pdqHashBytes*n+pageSlack {
		t.Errorf("allocated %d bytes, more than %d bytes a hash and the page's slack", allocated, pdqHashBytes)
	}
}

// TestObjectPageReservesTally: the object page measures the tally
// (Deps.Concurrence) before it reads anything, reserves it together with
// its own memory in one reservation, and computes the tally only while
// that reservation is held.
func TestObjectPageReservesTally(t *testing.T) {
	ctx := context.Background()
	s, me := oneMemberStore(t, "c")
	const id = "report--00000000-0000-4000-8000-000000000000"
	raw := []byte(`{"id":"` + id + `","name":"the report","type":"report"}`)
	sub := store.Submission{StatusID: "st", Collection: "c", Member: me.ID, Received: time.Now(), Items: []store.Item{{
		Object: store.Object{ID: id, Type: "report", SpecVersion: "2.1", Version: time.Now(), Raw: raw},
		Salt:   make([]byte, 32), Entry: func(store.Object) ([]byte, error) { return raw, nil }}}}
	if _, err := s.Submit(ctx, sub); err != nil {
		t.Fatal(err)
	}
	const tally = 3 << 20
	var mu sync.Mutex
	var reserved []int64
	held, measured, computed := 0, 0, 0
	u := &heavyUI{}
	var err error
	u.h, err = New(Deps{Store: s, MaxObjectSize: maxObject,
		Authenticate: func(context.Context, string) (store.Member, error) { return me, nil },
		Reserve: func(_ context.Context, _ store.Member, n int64) (func(), error) {
			mu.Lock()
			defer mu.Unlock()
			reserved = append(reserved, n)
			held++
			return func() { mu.Lock(); held--; mu.Unlock() }, nil
		},
		Concurrence: func(_ context.Context, m store.Member, object string) (int64, func(context.Context) (opinion.Concurrence, error), error) {
			mu.Lock()
			defer mu.Unlock()
			if m.ID != me.ID || object != id {
				t.Errorf("Concurrence(%s, %s), want (%s, %s)", m.ID, object, me.ID, id)
			}
			if held != 0 {
				t.Errorf("the tally was measured while %d reservations were held", held)
			}
			measured++
			return tally, func(context.Context) (opinion.Concurrence, error) {
				mu.Lock()
				defer mu.Unlock()
				if held != 1 {
					t.Errorf("the tally was computed while %d reservations were held, want the page's", held)
				}
				computed++
				return opinion.Concurrence{}, nil
			}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	u.cookie = u.login(t)
	mu.Lock()
	reserved = nil
	mu.Unlock()
	w, _, _ := u.get("/ui/objects/"+id, "the report")
	if w.status != http.StatusOK || !w.found[0] {
		t.Fatalf("status %d, shows the report %v", w.status, w.found[0])
	}
	want := objectPageMemory
	want.extra = tally
	mu.Lock()
	defer mu.Unlock()
	if len(reserved) != 1 || reserved[0] != want.bytes(maxObject) {
		t.Errorf("reserved %v, want one reservation of %d (the page's %d and the tally's %d)", reserved, want.bytes(maxObject), objectPageMemory.bytes(maxObject), tally)
	}
	if measured != 1 || computed != 1 || held != 0 {
		t.Errorf("tally measured %d times, computed %d, %d reservations still held; want 1, 1, 0", measured, computed, held)
	}
}

// oneMemberStore opens a SQLite store, closed when t ends, with one
// member, "me", who reads and writes its one collection "c" (title
// title).
func oneMemberStore(t *testing.T, title string) (*sqlite.Store, store.Member) {
	t.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "ui.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	me := store.Member{ID: "identity--aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa", Name: "me", PublicKey: bytes.Repeat([]byte{1}, 32), Identity: []byte(`{}`)}
	if err := s.AddMember(ctx, me); err != nil {
		t.Fatal(err)
	}
	// The token that login sends: a session lasts while its hash names me.
	if err := s.AddToken(ctx, store.Token{Hash: sha256.Sum256([]byte("the-token")), Member: me.ID, Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddCollection(ctx, store.Collection{ID: "c", Title: title, Readers: []string{me.ID}, Writers: []string{me.ID}}); err != nil {
		t.Fatal(err)
	}
	return s, me
}

// internalBinding is the browser-binding secret of this package's own
// tests' sessions, sent as the pages' scripts send theirs.
const internalBinding = "internal-test-binding"

// testBindingSum is the login form's binding field for internalBinding.
func testBindingSum() string {
	h := sha256.Sum256([]byte(internalBinding))
	return base64.RawURLEncoding.EncodeToString(h[:])
}
