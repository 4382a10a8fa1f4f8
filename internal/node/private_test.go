package node

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-exchange/parley/private"
	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/tlog"
)

func TestPatternLines(t *testing.T) {
	tests := []struct {
		pattern string
		want    []string
	}{
		{"[domain-name:value = 'Evil.Example.']", []string{"domain-name:evil.example"}},
		{"[ipv4-addr:value = '198.51.100.7/32' OR ipv6-addr:value = '2001:DB8::1']", []string{"ipv4-addr:198.51.100.7", "ipv6-addr:2001:db8::1"}},
		{"[file:hashes.'SHA-256' = 'E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855']", []string{"file:SHA-256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}},
		{"[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']", []string{"file:MD5=d41d8cd98f00b204e9800998ecf8427e"}},
		{"[url:value = 'HTTP://evil.example/a/../b']", []string{"url:http://evil.example/b"}},
		{"[email-addr:value = 'Boss@Evil.Example'] OR [domain-name:value = 'x.example']", []string{"domain-name:x.example", "email-addr:Boss@evil.example"}},
		{"[domain-name:value IN ('a.example', 'b.example')]", []string{"domain-name:a.example", "domain-name:b.example"}},
		{`[domain-name:value = 'it\'s.example']`, nil}, // not a valid name: dropped
		// Conjunctions, negations and sequences are not single values.
		{"[domain-name:value = 'a.example' AND domain-name:value = 'b.example']", nil},
		{"[domain-name:value = 'a.example'] FOLLOWEDBY [domain-name:value = 'b.example']", nil},
		{"[domain-name:value = 'a.example'] AND [domain-name:value = 'b.example']", nil},
		{"[domain-name:value != 'a.example']", nil},
		{"[NOT domain-name:value = 'a.example']", nil},
		{"[domain-name:value LIKE 'a.%']", nil},
		{"[domain-name:value = 'a.example'] REPEATS 2 TIMES", nil},
		{"[process:name = 'evil.exe']", nil},
		{"[ipv4-addr:value = 'not an ip']", nil},
		{"[domain-name:value = 'unterminated]", nil},
		// ... but an OR sibling of those is a value on its own.
		{"[domain-name:value = 'a.example' AND ipv4-addr:value = '192.0.2.1'] OR [domain-name:value = 'c.example']", []string{"domain-name:c.example"}},
		{"[domain-name:value = 'a.example' OR domain-name:value LIKE '%.b.example']", []string{"domain-name:a.example"}},
		{"([domain-name:value = 'a.example'] OR ([url:value = 'http://x.example/']))", []string{"domain-name:a.example", "url:http://x.example/"}},
		{"[(domain-name:value = 'a.example' OR domain-name:value = 'b.example') AND domain-name:value = 'c.example']", nil},
		{"[file:hashes.'SHA-1' = 'da39a3ee5e6b4b0d3255bfef95601890afd80709' OR file:name = 'x.exe']", []string{"file:SHA-1=da39a3ee5e6b4b0d3255bfef95601890afd80709"}},
	}
	for _, tt := range tests {
		if got := patternLines(tt.pattern); !slices.Equal(got, tt.want) {
			t.Errorf("patternLines(%q) = %q, want %q", tt.pattern, got, tt.want)
		}
	}
	if got, _ := indicatorLines([]byte(`{"type":"indicator","pattern":"[domain-name:value = 'a.example']","pattern_type":"stix","revoked":true}`)); got != nil {
		t.Errorf("a revoked indicator contributes %q", got)
	}
	if got, _ := indicatorLines([]byte(`{"type":"indicator","pattern":"alert tcp any any","pattern_type":"snort"}`)); got != nil {
		t.Errorf("a snort indicator contributes %q", got)
	}
	got, until := indicatorLines([]byte(`{"type":"indicator","pattern":"[domain-name:value = 'a.example']","pattern_type":"stix","valid_until":"2026-05-01T00:00:00Z"}`))
	if !slices.Equal(got, []string{"domain-name:a.example"}) || !until.Equal(time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("valid_until: %q, %v", got, until)
	}
}

// patternIndicator is an indicator by creator with the given pattern.
func patternIndicator(t *testing.T, id, creator string, key []byte, modified time.Time, pattern string, revoked bool) json.RawMessage {
	t.Helper()
	m := map[string]any{
		"type": "indicator", "spec_version": "2.1", "id": id,
		"created": "2026-01-01T00:00:00.000Z", "modified": stix.FormatTimestamp(modified),
		"created_by_ref": creator, "name": "private set test indicator",
		"pattern": pattern, "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
	}
	if revoked {
		m["revoked"] = true
	}
	return object(t, key, m)
}

func logVerifier(t *testing.T, n *Node) interface {
	Name() string
	KeyHash() uint32
	Verify(msg, sig []byte) bool
} {
	t.Helper()
	v, err := tlog.NewVerifier(n.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestPrivateSetsEndToEnd: alice publishes a set of her indicators in
// "shared"; bob checks a mixed list; the set follows additions and
// revocations; carol (no access) is refused; nothing bob asked is left in
// the node's files or logs; the tags reveal no value.
func TestPrivateSetsEndToEnd(t *testing.T) {
	ctx := context.Background()
	tn := newTestNode(t)
	var logBuf privateLogBuffer
	logged := httptest.NewServer(tn.Handler(slog.New(slog.NewTextHandler(&logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	defer logged.Close()

	ind1 := stix.NewIdentifier("indicator")
	ind2 := stix.NewIdentifier("indicator")
	ind3 := stix.NewIdentifier("indicator")
	post(t, tn.alice.Client, tn.shared,
		patternIndicator(t, ind1, tn.alice.ID, tn.alice.Key, t0, "[domain-name:value = 'c2.evil.example' OR ipv4-addr:value = '198.51.100.7']", false),
		patternIndicator(t, ind2, tn.alice.ID, tn.alice.Key, t0, "[file:hashes.'SHA-256' = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa']", false),
		patternIndicator(t, ind3, tn.alice.ID, tn.alice.Key, t0, "[url:value = 'http://evil.example/drop.exe' AND domain-name:value = 'and.example']", false),
	)
	// bob's own indicator in the same collection is not part of alice's set.
	post(t, tn.bob.Client, tn.shared,
		patternIndicator(t, stix.NewIdentifier("indicator"), tn.bob.ID, tn.bob.Key, t0, "[domain-name:value = 'bobs.example']", false))

	alice := &private.Client{BaseURL: logged.URL, Token: tn.alice.Token}
	bob := &private.Client{BaseURL: logged.URL, Token: tn.bob.Token}
	carol := &private.Client{BaseURL: logged.URL, Token: tn.carol.Token}

	set, err := alice.Publish(ctx, private.PublishRequest{Collection: tn.shared})
	if err != nil {
		t.Fatal(err)
	}
	if set.Size != 3 || set.Suite != private.SuiteID || set.Provider != tn.alice.ID || set.Source != "collection" {
		t.Fatalf("published set = %+v", set)
	}
	// The key entry is in the log, committing to the key.
	entries, err := tn.store.Entries(ctx, set.KeyLogIndex, set.KeyLogIndex+1)
	if err != nil || len(entries) != 1 {
		t.Fatalf("key entry: %v", err)
	}
	e, err := tlog.ParseEntry(entries[0].Leaf)
	if err != nil || e.Kind != tlog.KindOPRFKey || e.Commitment != tlog.OPRFKeyCommitment(entries[0].Opening(), private.SuiteID, set.PublicKey) || entries[0].ObjectID != set.ID {
		t.Fatalf("key entry = %+v, %v", e, err)
	}

	v := logVerifier(t, tn.Node)
	secretMiss := "domain-name:bobs-secret-investigation.example"
	queries := []string{
		"domain-name:C2.Evil.Example.", // hit
		secretMiss,                     // miss
		"ipv4-addr:198.51.100.7",       // hit
		"ipv4-addr:203.0.113.99",       // miss
		"file:sha256=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", // hit
		"domain-name:and.example",  // miss: it was in an AND pattern
		"domain-name:bobs.example", // miss: bob's own indicator, not alice's
	}
	hits, err := bob.Check(ctx, set.ID, v, queries, 3, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{0, 2, 4}; !slices.Equal(hits, want) {
		t.Fatalf("hits = %v, want %v", hits, want)
	}

	// The set follows alice's indicators: ind1 revoked, a new one added.
	post(t, tn.alice.Client, tn.shared,
		patternIndicator(t, ind1, tn.alice.ID, tn.alice.Key, t0.Add(time.Hour), "[domain-name:value = 'c2.evil.example' OR ipv4-addr:value = '198.51.100.7']", true),
		patternIndicator(t, stix.NewIdentifier("indicator"), tn.alice.ID, tn.alice.Key, t0, "[ipv6-addr:value = '2001:db8::bad']", false))
	hits, err = bob.Check(ctx, set.ID, v, []string{"domain-name:c2.evil.example", "ipv4-addr:198.51.100.7", "ipv6-addr:2001:DB8:0::BAD"}, 0, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(hits, []int{2}) {
		t.Fatalf("after revocation hits = %v, want [2] (ipv6-addr:2001:db8::bad)", hits)
	}
	info, err := bob.Set(ctx, set.ID)
	if err != nil || info.Size != 2 {
		t.Fatalf("set after update = %+v, %v", info, err)
	}
	if info.Budget == nil || info.Budget.Limit != DefaultPrivateQueryBudget || info.Budget.Left != DefaultPrivateQueryBudget-10 {
		t.Fatalf("budget = %+v, want 10 spent", info.Budget)
	}
	sets, err := bob.Sets(ctx)
	if err != nil || len(sets) != 1 || sets[0].ID != set.ID {
		t.Fatalf("bob's sets = %+v, %v", sets, err)
	}

	// carol reads neither the collection nor the set.
	if _, err := carol.Check(ctx, set.ID, v, []string{"domain-name:c2.evil.example"}, 0, rand.Reader); !isStatus(err, http.StatusNotFound) {
		t.Fatalf("carol's check = %v, want 404", err)
	}
	if _, err := carol.Evaluate(ctx, set.ID, &private.EvaluateRequest{Elements: [][]byte{set.PublicKey}}); !isStatus(err, http.StatusNotFound) {
		t.Fatalf("carol's evaluate = %v, want 404", err)
	}
	if sets, err := carol.Sets(ctx); err != nil || len(sets) != 0 {
		t.Fatalf("carol's sets = %+v, %v", sets, err)
	}
	if _, err := carol.Publish(ctx, private.PublishRequest{Collection: tn.shared}); !isStatus(err, http.StatusNotFound) {
		t.Fatalf("carol publishing = %v, want 404", err)
	}
	if _, err := (&private.Client{BaseURL: logged.URL}).Sets(ctx); !isStatus(err, http.StatusUnauthorized) {
		t.Fatalf("no token = %v, want 401", err)
	}

	// The tags reveal no value.
	var raw []byte
	req, _ := http.NewRequest(http.MethodGet, logged.URL+"/private/sets/"+set.ID+"/tags", nil)
	req.Header.Set("Authorization", "Bearer "+tn.bob.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if len(raw) != 2*private.TagSize {
		t.Fatalf("tags are %d bytes", len(raw))
	}
	for _, s := range []string{"evil", "2001", "db8", "aaaa", "198.51"} {
		if bytes.Contains(raw, []byte(s)) {
			t.Errorf("tags contain %q", s)
		}
	}

	// Nothing bob asked about (and did not match) is in the node's files or logs.
	tn.Close() // flush the WAL into the database file
	for _, needle := range []string{"bobs-secret-investigation", "203.0.113.99"} {
		if strings.Contains(logBuf.String(), needle) {
			t.Errorf("the request log contains %q", needle)
		}
		filepath.WalkDir(tn.Dir(), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if bytes.Contains(b, []byte(needle)) {
				t.Errorf("%s contains the queried value %q", path, needle)
			}
			return nil
		})
	}
}

func TestPrivateBudgetAndValues(t *testing.T) {
	ctx := context.Background()
	tn := newTestNode(t)
	tn.privateAPI().setConfig(PrivateConfig{QueryBudget: 5, MaxBatch: 4, RefreshInterval: Duration(time.Hour)})
	alice := &private.Client{BaseURL: tn.URL, Token: tn.alice.Token}
	bob := &private.Client{BaseURL: tn.URL, Token: tn.bob.Token}

	// Only a writer of the collection may publish; bad values are refused whole.
	if _, err := bob.Publish(ctx, private.PublishRequest{Collection: tn.writeOnly}); !isStatus(err, http.StatusNotFound) {
		t.Fatalf("bob publishing to a collection he can't see = %v", err)
	}
	size, _ := tn.store.LogSize(ctx)
	if _, err := alice.Publish(ctx, private.PublishRequest{Collection: tn.shared, Values: []string{"domain-name:ok.example", "ipv4-addr:999.1.1.1"}}); !isStatus(err, http.StatusBadRequest) {
		t.Fatalf("publishing a bad value = %v, want 400", err)
	}
	if after, _ := tn.store.LogSize(ctx); after != size {
		t.Fatalf("a refused publication changed the log: %d -> %d", size, after)
	}
	set, err := alice.Publish(ctx, private.PublishRequest{Collection: tn.shared, Values: []string{"domain-name:one.example", "url:http://two.example/x", "domain-name:ONE.example"}})
	if err != nil {
		t.Fatal(err)
	}
	if set.Size != 2 || set.Source != "values" || set.MaxBatch != 4 {
		t.Fatalf("set = %+v", set)
	}
	v := logVerifier(t, tn.Node)
	hits, err := bob.Check(ctx, set.ID, v, []string{"domain-name:one.example", "domain-name:three.example"}, 0, rand.Reader)
	if err != nil || !slices.Equal(hits, []int{0}) {
		t.Fatalf("hits = %v, %v", hits, err)
	}
	// A batch over max_batch is refused and charges nothing.
	q := private.NewQuerier(mustKey(t, set.PublicKey), rand.Reader)
	_, req, err := q.Blind([]string{"domain-name:a.example", "domain-name:b.example", "domain-name:c.example", "domain-name:d.example", "domain-name:e.example"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Evaluate(ctx, set.ID, req); !isStatus(err, http.StatusBadRequest) {
		t.Fatalf("an oversized batch = %v, want 400", err)
	}
	// 2 spent; 3 left: a batch of 4 is refused with 429, a batch of 3 passes, then nothing.
	_, req4, _ := q.Blind([]string{"domain-name:a.example", "domain-name:b.example", "domain-name:c.example", "domain-name:d.example"})
	if _, err := bob.Evaluate(ctx, set.ID, req4); !errors.Is(err, private.ErrBudgetSpent) || !isStatus(err, http.StatusTooManyRequests) {
		t.Fatalf("over budget = %v, want 429", err)
	}
	if _, err := bob.Check(ctx, set.ID, v, []string{"domain-name:a.example", "domain-name:b.example", "domain-name:c.example"}, 0, rand.Reader); err != nil {
		t.Fatalf("the last 3 of the budget: %v", err)
	}
	_, err = bob.Check(ctx, set.ID, v, []string{"domain-name:one.example"}, 0, rand.Reader)
	var he *private.HTTPError
	if !errors.As(err, &he) || he.Status != http.StatusTooManyRequests || !strings.Contains(he.Description, "budget") {
		t.Fatalf("spent budget = %v, want 429 with a clear message", err)
	}
	// alice's budget is her own.
	if _, err := alice.Check(ctx, set.ID, v, []string{"domain-name:one.example"}, 0, rand.Reader); err != nil {
		t.Fatalf("alice: %v", err)
	}
	// Malformed elements are refused, and charge nothing.
	before, _ := alice.Set(ctx, set.ID)
	if _, err := alice.Evaluate(ctx, set.ID, &private.EvaluateRequest{Elements: [][]byte{make([]byte, 32)}}); !isStatus(err, http.StatusBadRequest) {
		t.Fatalf("identity element = %v, want 400", err)
	}
	if after, _ := alice.Set(ctx, set.ID); after.Budget.Left != before.Budget.Left {
		t.Fatalf("a refused request was charged: %d -> %d", before.Budget.Left, after.Budget.Left)
	}
}

func TestLoadPrivateConfig(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, ConfigFile), []byte(`{"origin":"x","private":{"query_budget":7,"max_batch":50000,"refresh_interval":"1s"}}`), 0o644)
	c, err := LoadPrivateConfig(dir)
	if err != nil || c.QueryBudget != 7 || c.MaxBatch != private.MaxBatch || time.Duration(c.RefreshInterval) != time.Second {
		t.Fatalf("config = %+v, %v", c, err)
	}
	os.WriteFile(filepath.Join(dir, ConfigFile), []byte(`{"origin":"x","private":{"max_values":5,"workers":3,"publish_memory_bytes":1000}}`), 0o644)
	if c, err = LoadPrivateConfig(dir); err != nil || c.MaxValues != 5 || c.Workers != 3 || c.PublishMemory != 1000 {
		t.Fatalf("limits = %+v, %v", c, err)
	}
	os.WriteFile(filepath.Join(dir, ConfigFile), []byte(`{"origin":"x"}`), 0o644)
	if c, err = LoadPrivateConfig(dir); err != nil || c.QueryBudget != DefaultPrivateQueryBudget || c.MaxBatch != DefaultPrivateMaxBatch ||
		c.MaxValues != DefaultPrivateMaxValues || c.Workers != max(1, runtime.GOMAXPROCS(0)/2) || c.PublishMemory != DefaultPrivatePublishMemory {
		t.Fatalf("defaults = %+v, %v", c, err)
	}
}

func mustKey(t *testing.T, b []byte) *private.PublicKey {
	t.Helper()
	k, err := private.ParsePublicKey(b)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func isStatus(err error, status int) bool {
	var he *private.HTTPError
	return errors.As(err, &he) && he.Status == status
}

// privateLogBuffer is a bytes.Buffer safe for the server's goroutines.
type privateLogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *privateLogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *privateLogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// FuzzPatternLines: any pattern text yields only canonical lines (each a
// fixed point of private.ParseLine), sorted and distinct, and never panics.
func FuzzPatternLines(f *testing.F) {
	for _, s := range []string{
		"[domain-name:value = 'evil.example']",
		"[ipv4-addr:value IN ('198.51.100.1', '198.51.100.2')]",
		"[file:hashes.'SHA-256' = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855']",
		`[url:value = 'http://a.example/\'x']`,
		"[a:b = 'c' AND d:e = 'f']",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		lines := patternLines(p)
		for i, l := range lines {
			_, _, canon, err := private.ParseLine(l)
			if err != nil || canon != l {
				t.Fatalf("line %q from %q is not canonical: %q, %v", l, p, canon, err)
			}
			if i > 0 && lines[i-1] >= l {
				t.Fatalf("lines not sorted and distinct: %q", lines)
			}
		}
	})
}

// TestPrivateSetExpiry: an indicator's values leave the set when its
// valid_until passes, without a new version.
func TestPrivateSetExpiry(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	n, _ := initNode(t, Options{Now: clock})
	defer n.Close()
	alice, err := n.AddMember(ctx, "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	collID, err := n.AddCollection(ctx, "open", "", []string{"alice"}, []string{"alice"}, "optional")
	if err != nil {
		t.Fatal(err)
	}
	coll, err := n.store.Collection(ctx, collID)
	if err != nil {
		t.Fatal(err)
	}
	ind := func(pattern, until string) json.RawMessage {
		m := map[string]any{
			"type": "indicator", "spec_version": "2.1", "id": stix.NewIdentifier("indicator"),
			"created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
			"created_by_ref": alice.ID, "pattern": pattern, "pattern_type": "stix",
			"valid_from": "2026-01-01T00:00:00Z",
		}
		if until != "" {
			m["valid_until"] = until
		}
		b, _ := json.Marshal(m)
		return b
	}
	st, err := n.Submit(ctx, alice.ID, coll, []json.RawMessage{
		ind("[domain-name:value = 'short-lived.example']", "2026-04-01T00:00:00Z"),
		ind("[domain-name:value = 'already-expired.example']", "2026-02-01T00:00:00Z"),
		ind("[domain-name:value = 'forever.example']", ""),
	})
	if err != nil || len(st.Failures) != 0 {
		t.Fatalf("submit: %+v, %v", st.Failures, err)
	}
	m, err := n.store.Member(ctx, alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	api := n.privateAPI()
	set, err := api.create(ctx, m, coll, nil)
	if err != nil {
		t.Fatal(err)
	}
	if set.Size != 2 {
		t.Fatalf("set size %d, want 2 (the expired indicator left out)", set.Size)
	}
	mu.Lock()
	now = time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	mu.Unlock()
	if err := api.refresh(ctx, set.ID); err != nil {
		t.Fatal(err)
	}
	got, err := api.st.PrivateSet(ctx, set.ID)
	if err != nil || got.Size != 1 {
		t.Fatalf("after valid_until: size %d, %v; want 1", got.Size, err)
	}
	p, err := api.provider(got)
	if err != nil {
		t.Fatal(err)
	}
	forever, _ := p.Tag("domain-name:forever.example")
	tags, _ := api.st.PrivateSetTags(ctx, set.ID)
	if len(tags) != 1 || !bytes.Equal(tags[0], forever[:]) {
		t.Fatalf("remaining tag is not forever.example's")
	}
}
