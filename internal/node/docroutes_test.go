package node

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// docEndpoint matches an endpoint in backquotes in the README or docs/:
// `GET /log/keys`, `DELETE /private/sets/{id}`, `/log/checkpoint`,
// `GET /log/receipt?object=ID&version=MODIFIED`.
var docEndpoint = regexp.MustCompile("`(?:(GET|POST|PUT|DELETE|PATCH|HEAD) )?(/[A-Za-z0-9_./{}$-]*)[^`]*`")

// TestDocsEndpointsRouted checks that every endpoint of the node that the
// README or docs/ name is in the route table with that method, and that
// every route of the table is named there: a path
// whose first segment is one of the table's (/log, /private, /peers,
// /members, ...) must be served, by the method the text gives, or by
// some method when it gives none. A path without a method may name a
// group of routes (`/log/`, `/private`). Other paths (a witness's `/add-checkpoint`,
// a TAXII API root's `/api/status/{id}/`, a file's) are not the node's.
func TestDocsEndpointsRouted(t *testing.T) {
	n, _ := initNode(t, Options{})
	t.Cleanup(func() { n.Close() })
	routes := n.routes(slog.New(slog.DiscardHandler), http.NewServeMux())
	mux := http.NewServeMux()
	firsts := map[string]bool{}
	var paths []string
	for _, rt := range routes {
		mux.Handle(rt.Pattern, http.NotFoundHandler())
		_, path, ok := strings.Cut(rt.Pattern, " ")
		if !ok {
			path = rt.Pattern
		}
		paths = append(paths, path)
		if seg := firstSegment(path); seg != "" && !strings.HasPrefix(seg, "{") {
			firsts[seg] = true
		}
	}
	routed := func(method, path string) bool {
		_, pattern := mux.Handler(httptest.NewRequest(method, path, nil))
		return pattern != ""
	}

	files, err := filepath.Glob(filepath.Join("..", "..", "docs", "*.md"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no docs/*.md (%v)", err)
	}
	files = append(files, filepath.Join("..", "..", "README.md"))
	sort.Strings(files)
	checked := 0
	all := ""
	for _, file := range files {
		if filepath.Base(file) == "benchmarks.md" {
			continue // a dated record of what was measured then
		}
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		all += string(b) + "\n"
		name := filepath.Base(file)
		if name != "README.md" {
			name = "docs/" + name
		}
		for i, line := range strings.Split(string(b), "\n") {
			for _, m := range docEndpoint.FindAllStringSubmatch(line, -1) {
				method, path := m[1], m[2]
				if !firsts[firstSegment(path)] {
					continue
				}
				path = strings.TrimRight(path, ".")
				path = strings.ReplaceAll(path, "{id}", "x")
				checked++
				ok := false
				if method != "" {
					ok = routed(method, path)
				} else {
					for _, mt := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
						ok = ok || routed(mt, path)
					}
				}
				if !ok && method == "" {
					group := strings.TrimSuffix(path, "/") + "/"
					for _, p := range paths {
						ok = ok || strings.HasPrefix(p, group)
					}
				}
				if !ok {
					t.Errorf("%s:%d: %s is not in the node's route table", name, i+1, strings.TrimSpace(method+" "+m[2]))
				}
			}
		}
	}
	// The other way: every route is in the docs, as `METHOD /path` (or,
	// for a route that takes every method, as its path); a route whose
	// path ends in its only wildcard may be named by the path up to it
	// when no other route's path begins so
	// (`/extension-definitions/extension-definition--…`).
	for _, rt := range routes {
		method, path, ok := strings.Cut(rt.Pattern, " ")
		if !ok {
			method, path = "", rt.Pattern
		}
		if path == "/{$}" {
			continue // the redirect to /ui/
		}
		named := strings.Contains(all, strings.TrimSpace(method+" "+path))
		if i := strings.Index(path, "{"); !named && i > 0 && strings.HasSuffix(path, "}") && sharing(paths, path[:i]) == 1 {
			named = strings.Contains(all, path[:i])
		}
		if !named {
			t.Errorf("route %q is in neither README.md nor docs/", rt.Pattern)
		}
	}
	if checked < 50 {
		t.Errorf("checked only %d endpoints in the docs; the pattern no longer finds them", checked)
	}
}

// firstSegment returns the first segment of path: "log" of "/log/keys".
func firstSegment(path string) string {
	seg, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	seg, _, _ = strings.Cut(seg, "?")
	return seg
}

// sharing returns how many of paths begin with prefix.
func sharing(paths []string, prefix string) int {
	n := 0
	for _, p := range paths {
		if strings.HasPrefix(p, prefix) {
			n++
		}
	}
	return n
}
