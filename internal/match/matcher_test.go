package match

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var testNow = time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)

func loadTestIndicators(t *testing.T) *IndicatorSet {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "indicators.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	inds, err := ReadIndicators(f)
	if err != nil {
		t.Fatal(err)
	}
	set := NewIndicatorSet()
	for _, ind := range inds {
		set.Put(ind)
	}
	return set
}

func testMatcher(t *testing.T, set *IndicatorSet) *Matcher {
	t.Helper()
	active, _ := set.Active(testNow)
	e, errs := Compile(active, Options{})
	if len(errs) > 0 {
		t.Fatalf("compile: %v", errs)
	}
	return NewMatcher(e, Config{
		Identity: "identity--11111111-1111-4111-8111-111111111111",
		Now:      func() time.Time { return testNow },
		Rand:     rand.New(rand.NewSource(1)),
	})
}

// TestSightingsGolden runs the sample logs against the sample indicators
// and compares the sightings (counts = matching events per indicator)
// with a golden file.
func TestSightingsGolden(t *testing.T) {
	set := loadTestIndicators(t)
	m := testMatcher(t, set)
	for _, name := range []string{"zeek.log", "eve.json", "ecs.json", "bundle.json"} {
		f, err := os.Open(filepath.Join("testdata", "logs", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := m.ReadLines(context.Background(), f); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	var buf bytes.Buffer
	if err := WriteObjects(&buf, m.Flush()); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "sightings.jsonl", buf.String())
	s := m.Stats()
	if s.Events != 21 || s.Malformed != 0 || s.Errors != 0 {
		t.Errorf("stats = %+v", s)
	}
	// Counts, spelled out so the golden file cannot drift unnoticed.
	want := map[string]string{
		"000000000001": `"count":2`, // dns query + http host
		"000000000002": `"count":3`, // dns answer, http server, files tx_hosts
		"000000000003": `"count":1`,
		"000000000004": `"count":2`, // http + fileinfo
		"000000000005": `"count":1`,
		"000000000006": `"count":1`,
		"000000000007": `"count":2`,
		"000000000008": `"count":1`,
		"00000000000a": `"count":1`,
		"00000000000c": `"count":1`,
		"00000000000d": `"count":2`, // conn + dns
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != len(want) {
		t.Errorf("%d sightings, want %d:\n%s", len(lines), len(want), buf.String())
	}
	for id, c := range want {
		found := false
		for _, l := range lines {
			if strings.Contains(l, "8000-"+id+`"`) {
				found = true
				if !strings.Contains(l, c) {
					t.Errorf("indicator %s: want %s in %s", id, c, l)
				}
			}
		}
		if !found {
			t.Errorf("no sighting of indicator %s", id)
		}
	}
}

// TestLiveIndicatorChanges: a new indicator and a revocation take effect
// for the events after the engine is swapped, without restarting.
func TestLiveIndicatorChanges(t *testing.T) {
	set := NewIndicatorSet()
	old := &Indicator{ID: "indicator--a", Pattern: "[domain-name:value = 'old.example']", Modified: testNow}
	set.Put(old)
	m := testMatcher(t, set)
	line := func(d string) { m.Line([]byte(`{"ts":1700000000.5,"query":"` + d + `"}`)) }
	line("old.example")
	line("new.example")
	set.Put(&Indicator{ID: "indicator--b", Pattern: "[domain-name:value = 'new.example']", Modified: testNow})
	rev := *old
	rev.Revoked = true
	rev.Modified = testNow.Add(time.Second)
	if !set.Put(&rev) {
		t.Fatal("revocation not taken")
	}
	active, _ := set.Active(testNow)
	e, _ := Compile(active, Options{})
	m.SetEngine(e)
	line("old.example")
	line("new.example")
	out := m.Flush()
	if len(out) != 2 {
		t.Fatalf("got %d sightings: %v", len(out), out)
	}
	for _, s := range out {
		if s["count"] != int64(1) {
			t.Errorf("%v: count %v, want 1", s["sighting_of_ref"], s["count"])
		}
	}
	// Expiry: valid_until passes.
	set.Put(&Indicator{ID: "indicator--c", Pattern: "[domain-name:value = 'c.example']", Modified: testNow, ValidUntil: testNow.Add(time.Hour)})
	if a, next := set.Active(testNow); len(a) != 2 || !next.Equal(testNow.Add(time.Hour)) {
		t.Errorf("active = %d, next = %v", len(a), next)
	}
	if a, _ := set.Active(testNow.Add(time.Hour)); len(a) != 1 {
		t.Errorf("after expiry %d active, want 1", len(a))
	}
}

func TestFollowRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "dns.log")
	if err := os.WriteFile(path, []byte("a\nb"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan string, 100)
	done := make(chan error)
	go func() {
		done <- Follow(ctx, path, 10*time.Millisecond, 0, func(l []byte) { got <- strings.TrimSpace(string(l)) }, nil, nil)
	}()
	want := func(s string) {
		t.Helper()
		select {
		case g := <-got:
			if g != s {
				t.Fatalf("got %q, want %q", g, s)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("timed out waiting for %q", s)
		}
	}
	want("a")
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("c\n")
	f.Close()
	want("bc")
	// Rotate: rename and create a new file.
	os.Rename(path, path+".1")
	os.WriteFile(path, []byte("d\n"), 0o644)
	want("d")
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestDecodeMask: a matcher whose indicators are all answered by the index
// decodes only their attributes; its sightings must be those of a full
// decode.
func TestDecodeMask(t *testing.T) {
	var inds []*Indicator
	for i, p := range []string{
		"[domain-name:value = 'testmyids.com']", "[ipv4-addr:value = '31.3.245.133']",
		"[file:hashes.MD5 = '44d88612fea8a8f36de82e1278abb02f']", "[url:value = 'http://www.example.com/download/setup.exe?id=1']",
		"[network-traffic:dst_port = 4444]", "[email-addr:value = 'bob@example.net']", "[ipv6-addr:value = '2001:db8::1']",
		"[domain-name:value = 'www.google.com']", "[x509-certificate:serial_number = '0E2A8B6FE4C3A3B4B7D5C0A6']",
	} {
		inds = append(inds, &Indicator{ID: fmt.Sprintf("indicator--%d", i), Pattern: p})
	}
	run := func(only []*Indicator, full bool) map[any]any {
		e, errs := Compile(only, Options{})
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		if m := e.decodeMask(); m == nil {
			t.Fatal("an index-only engine should not need every attribute")
		}
		m := NewMatcher(e, Config{ObservedData: full, Now: func() time.Time { return testNow }})
		for _, name := range []string{"zeek.log", "eve.json", "ecs.json"} {
			f, err := os.Open(filepath.Join("testdata", "logs", name))
			if err != nil {
				t.Fatal(err)
			}
			m.ReadLines(context.Background(), f)
			f.Close()
		}
		got := map[any]any{}
		for _, o := range m.Flush() {
			if o["type"] == "sighting" {
				got[o["sighting_of_ref"]] = o["count"]
			}
		}
		return got
	}
	for i := range inds {
		// One indicator at a time, so that each mask is as narrow as it gets.
		masked, full := run(inds[i:i+1], false), run(inds[i:i+1], true)
		if fmt.Sprint(masked) != fmt.Sprint(full) || len(full) != 1 {
			t.Errorf("%s: masked %v, full %v", inds[i].Pattern, masked, full)
		}
	}
}

// TestMappedRead: a regular file is read through a memory map and gives
// the same results as a pipe (line ends, a last line without a newline,
// blank lines).
func TestMappedRead(t *testing.T) {
	set := NewIndicatorSet()
	set.Put(&Indicator{ID: "indicator--a", Pattern: "[domain-name:value = 'a.example']"})
	content := "{\"ts\":1.5,\"query\":\"a.example\"}\r\n\n{\"ts\":2.5,\"query\":\"b.example\"}\nnot json\n{\"ts\":3.5,\"query\":\"a.example\"}"
	path := filepath.Join(t.TempDir(), "dns.log")
	os.WriteFile(path, []byte(content), 0o644)
	var stats [2]Stats
	for i := range stats {
		m := testMatcher(t, set)
		var r io.Reader = strings.NewReader(content)
		if i == 1 {
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			r = f
		}
		if err := m.ReadLines(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		out := m.Flush()
		if len(out) != 1 || out[0]["count"] != int64(2) {
			t.Fatalf("read %d: %v", i, out)
		}
		stats[i] = m.Stats()
	}
	if stats[0] != stats[1] || stats[0].Events != 3 || stats[0].Malformed != 1 {
		t.Errorf("stats %+v vs %+v", stats[0], stats[1])
	}
}

// TestWindow: patterns of several observations see the events of the last
// Window of event time (widened by WITHIN), and a match consumes them.
func TestWindow(t *testing.T) {
	line := func(ts int, d string) []byte {
		return []byte(fmt.Sprintf(`{"ts":%d.0,"query":"%s"}`, ts, d))
	}
	for _, tc := range []struct {
		pattern string
		gap     int // seconds between the two events
		want    int64
	}{
		{"[domain-name:value = 'a.example'] FOLLOWEDBY [domain-name:value = 'b.example']", 60, 1},
		{"[domain-name:value = 'a.example'] FOLLOWEDBY [domain-name:value = 'b.example']", 1200, 0}, // beyond 10 minutes
		{"([domain-name:value = 'a.example'] FOLLOWEDBY [domain-name:value = 'b.example']) WITHIN 3600 SECONDS", 1200, 1},
		{"([domain-name:value = 'a.example'] FOLLOWEDBY [domain-name:value = 'b.example']) WITHIN 30 SECONDS", 60, 0},
	} {
		set := NewIndicatorSet()
		set.Put(&Indicator{ID: "indicator--w", Pattern: tc.pattern})
		m := testMatcher(t, set)
		m.Line(line(1700000000, "a.example"))
		m.Line(line(1700000000+tc.gap, "b.example"))
		m.Line(line(1700000000+tc.gap+1, "b.example")) // the a was consumed (or expired): no second match
		var got int64
		for _, o := range m.Flush() {
			got += o["count"].(int64)
		}
		if got != tc.want {
			t.Errorf("%s, %ds apart: count %d, want %d", tc.pattern, tc.gap, got, tc.want)
		}
	}
}

// TestWindowSurvivesRebuild: a partial match of a compound pattern is kept
// when the engine is recompiled because another indicator changed.
func TestWindowSurvivesRebuild(t *testing.T) {
	set := NewIndicatorSet()
	set.Put(&Indicator{ID: "indicator--seq", Pattern: "[domain-name:value = 'a.example'] FOLLOWEDBY [domain-name:value = 'b.example']", Modified: testNow})
	m := testMatcher(t, set)
	m.Line([]byte(`{"ts":1700000000.0,"query":"a.example"}`))
	set.Put(&Indicator{ID: "indicator--other", Pattern: "[domain-name:value = 'c.example']", Modified: testNow})
	active, _ := set.Active(testNow)
	e, _ := Compile(active, Options{})
	m.SetEngine(e)
	m.Line([]byte(`{"ts":1700000010.0,"query":"b.example"}`))
	out := m.Flush()
	if len(out) != 1 || out[0]["sighting_of_ref"] != "indicator--seq" {
		t.Fatalf("sightings %v", out)
	}
}
