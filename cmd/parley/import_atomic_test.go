package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"

	"github.com/parley-exchange/parley/taxii"
)

// storedVersions counts every object version in a collection.
func storedVersions(t *testing.T, tn *testNode, coll string) int {
	t.Helper()
	client := &taxii.Client{BaseURL: tn.url, Token: tn.member.Token}
	n := 0
	for env, err := range client.ObjectPages(context.Background(), coll, taxii.Query{Versions: taxii.VersionMatch{All: true}}) {
		if err != nil {
			t.Fatal(err)
		}
		n += len(env.Objects)
	}
	return n
}

// TestImportLinesBadInputPushesNothing feeds import iocs and import csv a
// file whose record well past the first envelope (1,000 objects) is
// malformed: the command exits 2 naming the line, and the node holds
// nothing from it (not the envelopes before the bad line). The fixed file
// then imports whole, once. Without the check before pushing, the first
// 1,000 indicators were stored under an exit status that says "bad
// input", and the re-run without --created stored each again as a new
// version.
func TestImportLinesBadInputPushesNothing(t *testing.T) {
	const good = 1500 // good lines; the bad one is line 1201
	lines := func(bad bool, format string, badLine string) string {
		var b strings.Builder
		for i := range good {
			if bad && i == 1200 {
				b.WriteString(badLine + "\n")
			}
			fmt.Fprintf(&b, format+"\n", i/256, i%256)
		}
		return b.String()
	}
	for _, tc := range []struct {
		name, kind string
		args       []string
		stdin      bool
		badLine    string
		format     string
		stderr     string
	}{
		{"iocs line too long", "iocs", nil, false, strings.Repeat("x", 2<<20), "10.%d.%d.1", "line 1201 is longer than 1 MiB"},
		{"iocs from stdin", "iocs", nil, true, strings.Repeat("x", 2<<20), "10.%d.%d.1", "line 1201 is longer than 1 MiB"},
		{"csv fields", "csv", []string{"--columns", "value,type"}, false, "198.51.100.1", "10.%d.%d.1,ip-dst", "line 1201 has 1 fields, want 2"},
		{"csv quoting", "csv", []string{"--columns", "value,type"}, false, `"198.51.100.1,ip-dst`, "10.%d.%d.1,ip-dst", "line 1201"},
		{"csv from stdin", "csv", []string{"--columns", "value,type"}, true, "198.51.100.1", "10.%d.%d.1,ip-dst", "line 1201 has 1 fields, want 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tn := startTestNode(t)
			coll, err := tn.n.AddCollection(context.Background(), "intel", "", []string{"bench"}, []string{"bench"}, "")
			if err != nil {
				t.Fatal(err)
			}
			src := filepath.Join(t.TempDir(), "list")
			run := func(content string) (int, string, string) {
				args := append([]string{"import", tc.kind, "--url", tn.url, "--token-file", tn.tokenFile, "--key", tn.keyFile, "--collection", coll}, tc.args...)
				if tc.stdin {
					return runCLIWithStdin(t, []byte(content), append(args, "-")...)
				}
				if err := os.WriteFile(src, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
				return runCLI(t, append(args, src)...)
			}
			code, stdout, stderr := run(lines(true, tc.format, tc.badLine))
			if code != 2 || !strings.Contains(stderr, tc.stderr) {
				t.Fatalf("bad input: exit %d, stderr:\n%.2000s\nwant exit 2 and %q", code, stderr, tc.stderr)
			}
			if n := storedVersions(t, tn, coll); n != 0 {
				t.Fatalf("the node stored %d objects of a file refused as bad input\nstdout:\n%s", n, stdout)
			}
			code, stdout, stderr = run(lines(false, tc.format, ""))
			if code != 0 || !strings.Contains(stdout, fmt.Sprintf("pushed %d objects: %d stored (0 already there)", good, good)) {
				t.Fatalf("fixed input: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
			if n := storedVersions(t, tn, coll); n != good {
				t.Errorf("after the fixed run the node holds %d object versions, want %d", n, good)
			}
		})
	}
}

// mispEvent is a MISP event document of n ip-dst attributes, its values
// in 10.k.0.0/16. Its uuid is k+1 repeated (11111111-1111-4111-8111-...
// for k = 0), as a feed's manifest names it.
func mispEvent(k, n int) string {
	var attrs []string
	for i := range n {
		attrs = append(attrs, fmt.Sprintf(`{"uuid":%q,"type":"ip-dst","category":"Network activity","value":"10.%d.%d.%d","to_ids":true,"timestamp":"1465681801"}`, uuid.NewString(), k, i/256, i%256))
	}
	d := strings.Repeat(strconv.Itoa(k+1), 12)
	id := d[:8] + "-" + d[:4] + "-4" + d[:3] + "-8" + d[:3] + "-" + d
	return fmt.Sprintf(`{"Event":{"uuid":%q,"info":"e%d","timestamp":"1465681801","Orgc":{"name":"O"},"Attribute":[%s]}}`, id, k, strings.Join(attrs, ","))
}

// TestImportMISPBadInputPushesNothing pushes MISP documents with one
// malformed event after more than an envelope's worth of good ones. A
// local file, folder or feed is read whole first: exit 2 naming the file
// and the event, nothing stored. A document fetched over HTTP is pushed
// as it is read: the error names the event, stderr says how many objects
// the node stored before it, and the re-run of the fixed source stores
// the rest, the others "already there", each object once.
func TestImportMISPBadInputPushesNothing(t *testing.T) {
	events := make([]string, 6)
	for i := range events {
		events[i] = mispEvent(i, 300)
	}
	badEvent := `{"Event":{"uuid":"5758ebf5-c898-48e6-9fe9-5665c0a83866","info":"bad","Attribute":"oops"}}`
	response := func(bad bool) string {
		evs := slices.Clone(events)
		if bad {
			evs[4] = badEvent
		}
		return `{"response":[` + strings.Join(evs, ",") + `]}`
	}
	var served atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, served.Load().(string))
	}))
	defer srv.Close()
	for _, tc := range []struct {
		name   string
		files  map[string]string // the source, bad; fixed with the good event
		src    string
		stderr []string
	}{
		{"folder", map[string]string{"d/a.json": events[0] + "\n", "d/b.json": events[1], "d/c.json": events[2], "d/d.json": events[3], "d/e.json": "BAD"}, "d",
			[]string{"e.json: event 1 of the list", "not MISP JSON"}},
		{"search response", map[string]string{"r.json": "RESPONSE"}, "r.json", []string{"r.json: event 5 of the list (at byte "}},
		{"feed", map[string]string{"f/manifest.json": `{"11111111-1111-4111-8111-111111111111":{"timestamp":"1465681801"},"22222222-2222-4222-8222-222222222222":{"timestamp":"1465681801"},"33333333-3333-4333-8333-333333333333":{"timestamp":"1465681801"},"44444444-4444-4444-8444-444444444444":{"timestamp":"1465681801"},"55555555-5555-4555-8555-555555555555":{"timestamp":"1465681801"}}`,
			"f/11111111-1111-4111-8111-111111111111.json": events[0], "f/22222222-2222-4222-8222-222222222222.json": events[1], "f/33333333-3333-4333-8333-333333333333.json": events[2],
			"f/44444444-4444-4444-8444-444444444444.json": events[3], "f/55555555-5555-4555-8555-555555555555.json": "BAD"}, "f", []string{"55555555-5555-4555-8555-555555555555.json: event 1 of the list"}},
		{"over HTTP", nil, srv.URL + "/events.json", []string{"events.json: event 5 of the list", "parley: import: stopped after the node answered for ", "stores only what is missing"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tn := startTestNode(t)
			coll, err := tn.n.AddCollection(context.Background(), "intel", "", []string{"bench"}, []string{"bench"}, "")
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			write := func(bad bool) {
				served.Store(response(bad))
				for name, content := range tc.files {
					switch content {
					case "BAD":
						content = `[` + badEvent + `]`
						if !bad {
							content = events[4]
						}
					case "RESPONSE":
						content = response(bad)
					}
					p := filepath.Join(dir, name)
					os.MkdirAll(filepath.Dir(p), 0o755)
					if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			src := tc.src
			if tc.files != nil {
				src = filepath.Join(dir, src)
			}
			args := []string{"import", "misp", "--url", tn.url, "--token-file", tn.tokenFile, "--key", tn.keyFile, "--collection", coll, "--state", filepath.Join(dir, "state.json"), src}
			write(true)
			code, stdout, stderr := runCLI(t, args...)
			for _, want := range tc.stderr {
				if code != 2 || !strings.Contains(stderr, want) {
					t.Fatalf("bad input: exit %d, stderr:\n%.3000s\nwant exit 2 and %q", code, stderr, want)
				}
			}
			stored := storedVersions(t, tn, coll)
			if tc.files != nil && stored != 0 {
				t.Fatalf("the node stored %d objects of a local source refused as bad input\nstdout:\n%s", stored, stdout)
			}
			if tc.files == nil {
				if stored < 1000 {
					t.Fatalf("over HTTP, %d objects stored before the bad event, want the envelopes before it (1,000 and more)", stored)
				}
				if want := fmt.Sprintf("answered for %d objects: %d stored (0 already there)", stored, stored); !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q:\n%.3000s", want, stderr)
				}
			}
			write(false)
			code, stdout, stderr = runCLI(t, args...)
			if code != 0 || !strings.Contains(stdout, fmt.Sprintf("(%d already there), 0 conflicts, 0 refused", stored)) {
				t.Fatalf("fixed input: exit %d\nstdout:\n%s\nstderr:\n%.3000s", code, stdout, stderr)
			}
			// 300 indicators and a report an event; the folder and the
			// feed hold 5 events, the responses 6.
			want := 6 * 301
			if tc.name == "folder" || tc.name == "feed" {
				want = 5 * 301
			}
			if n := storedVersions(t, tn, coll); n != want {
				t.Errorf("after the fixed run the node holds %d object versions, want %d", n, want)
			}
		})
	}
}

// TestImportCSVNodeFailsMidway: the node fails the second envelope of a
// CSV import (a runtime failure, exit 4, not bad input). stderr says how
// many objects the node stored before, and the --created that makes the
// re-run store only the rest; that re-run adds no second version.
func TestImportCSVNodeFailsMidway(t *testing.T) {
	tn := startTestNode(t)
	coll, err := tn.n.AddCollection(context.Background(), "intel", "", []string{"bench"}, []string{"bench"}, "")
	if err != nil {
		t.Fatal(err)
	}
	target, _ := url.Parse(tn.url)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var posts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && posts.Add(1) == 2 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer srv.Close()
	var b strings.Builder
	for i := range 1500 {
		fmt.Fprintf(&b, "10.%d.%d.1,ip-dst\n", i/256, i%256)
	}
	src := filepath.Join(t.TempDir(), "rows.csv")
	if err := os.WriteFile(src, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	args := func(url string, extra ...string) []string {
		return append([]string{"import", "csv", "--columns", "value,type", "--url", url, "--token-file", tn.tokenFile, "--key", tn.keyFile, "--collection", coll, src}, extra...)
	}
	code, _, stderr := runCLI(t, args(srv.URL)...)
	m := regexp.MustCompile(`answered for 1000 objects: 1000 stored \(0 already there\), 0 conflicts, 0 refused; what it stored stays, and the same import run again with --created (\S+) stores only what is missing`).FindStringSubmatch(stderr)
	if code != 4 || m == nil {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	code, stdout, stderr := runCLI(t, args(tn.url, "--created", m[1])...)
	if code != 0 || !strings.Contains(stdout, "pushed 1500 objects: 1500 stored (1000 already there)") {
		t.Fatalf("re-run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if n := storedVersions(t, tn, coll); n != 1500 {
		t.Errorf("%d object versions stored, want 1500", n)
	}
}

// TestPushNodeFailsMidway: the node fails the second envelope of a push.
// stderr says how many objects it stored before, and pushing the same
// file again stores only the rest, the others "already stored".
func TestPushNodeFailsMidway(t *testing.T) {
	tn := startTestNode(t)
	coll, err := tn.n.AddCollection(context.Background(), "intel", "", []string{"bench"}, []string{"bench"}, "")
	if err != nil {
		t.Fatal(err)
	}
	target, _ := url.Parse(tn.url)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var posts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && posts.Add(1) == 2 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer srv.Close()
	var objs []string
	for i := range 1500 {
		objs = append(objs, fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-%012d","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","created_by_ref":%q,"pattern":"[ipv4-addr:value = '198.51.100.%d']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}`, i, tn.member.ID, i%256))
	}
	src := filepath.Join(t.TempDir(), "objects.json")
	if err := os.WriteFile(src, []byte("["+strings.Join(objs, ",")+"]"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := func(url string) []string {
		return []string{"push", "--url", url, "--token-file", tn.tokenFile, "--key", tn.keyFile, "--collection", coll, src}
	}
	code, _, stderr := runCLI(t, args(srv.URL)...)
	if want := "the node stored 1000 of the 1500 objects before the error"; code != 4 || !strings.Contains(stderr, want) {
		t.Fatalf("exit %d, stderr:\n%s\nwant exit 4 and %q", code, stderr, want)
	}
	code, stdout, stderr := runCLI(t, args(tn.url)...)
	if code != 0 || !strings.Contains(stdout, "pushed 1500 objects: 1500 succeeded") {
		t.Fatalf("re-run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if n := storedVersions(t, tn, coll); n != 1500 {
		t.Errorf("%d object versions stored, want 1500", n)
	}
}

// TestImportLinesNothingImportable: a list or CSV none of whose lines
// can be imported (the columns given in the wrong order, the wrong file)
// is an error, not an empty bundle or push with exit 0; a file with
// some good lines still imports them and lists the others.
func TestImportLinesNothingImportable(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	rows := write("rows.csv", "198.51.100.1,ip-dst\nevil.example,domain\n")
	prose := write("prose.txt", "Dear team,\nplease find attached\n")
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"csv columns swapped", []string{"csv", "--columns", "type,value", rows}, 2, "none of the 2 lines of " + rows + " could be imported"},
		{"not a list", []string{"iocs", prose}, 2, "none of the 2 lines of " + prose + " could be imported"},
		{"csv right", []string{"csv", "--columns", "value,type", rows}, 0, "2 indicators, 0 lines not imported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "b.json")
			args := append([]string{"import", tc.args[0], "--out", out}, tc.args[1:]...)
			code, _, stderr := runCLI(t, args...)
			if code != tc.code || !strings.Contains(stderr, tc.stderr) {
				t.Fatalf("exit %d, stderr:\n%s\nwant exit %d and %q", code, stderr, tc.code, tc.stderr)
			}
			if _, err := os.Stat(out); (err == nil) != (tc.code == 0) {
				t.Errorf("bundle written: %v, want %v", err == nil, tc.code == 0)
			}
		})
	}
}
