package web_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

// resign signs l's tree afresh with signer (another log of the same
// name and key: a fork its operator made).
func (l *v2Log) resign(t *testing.T, signer note.Signer, vkey string) {
	t.Helper()
	l.signer, l.vkey = signer, vkey
	root := mth(l.leaves)
	text := fmt.Sprintf("%s\n%d\n%s\n", "parley.test/v2", len(l.leaves), base64.StdEncoding.EncodeToString(root))
	signed, err := note.Sign(&note.Note{Text: text}, signer)
	if err != nil {
		t.Fatal(err)
	}
	l.checkpoint = string(signed)
}

// prefix is l's first size entries as a log of their own, signed with
// signer: an older checkpoint of l's tree.
func (l *v2Log) prefix(t *testing.T, size int, signer note.Signer, vkey string) *v2Log {
	t.Helper()
	p := &v2Log{n: l.n, entries: l.entries[:size], leaves: l.leaves[:size],
		objects: map[string]int{}, openings: map[int]opening{}, keyEvents: map[string][]int{}}
	for k, i := range l.objects {
		if i < size {
			p.objects[k] = i
			p.openings[i] = l.openings[i]
		}
	}
	for m, idx := range l.keyEvents {
		for _, i := range idx {
			if i < size {
				p.keyEvents[m] = append(p.keyEvents[m], i)
			}
		}
	}
	p.resign(t, signer, vkey)
	return p
}

// TestBrowserTamperingOperator: an operator who serves the browser
// altered log answers must never get an object page to say "verified".
func TestBrowserTamperingOperator(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	chromium(t)
	f := newFixture(t)
	l1 := newV2Log(t, f.n)
	// l2: the same objects, logged with other salts, signed with l1's
	// key: a second log of one name, size and key.
	l2 := newV2Log(t, f.n)
	l2.resign(t, l1.signer, l1.vkey)
	// l3: the same, signed with another key.
	l3 := newV2Log(t, f.n)
	// l4: an older checkpoint of l1's tree, with the indicator in it; l5:
	// one of l2's (another log), both signed with l1's key.
	at := 0
	for k, i := range l1.objects {
		if strings.HasPrefix(k, f.indicator+"\n") {
			at = i
		}
	}
	if at == 0 || at+2 >= len(l1.leaves) {
		t.Fatalf("the indicator is at %d of %d", at, len(l1.leaves))
	}
	l4 := l1.prefix(t, at+2, l1.signer, l1.vkey)
	l5 := l2.prefix(t, at+2, l1.signer, l1.vkey)

	var (
		mu     sync.Mutex
		log    = l1
		mutate func(path string, body []byte) []byte
		page   func(body []byte) []byte
	)
	set := func(l *v2Log, m func(string, []byte) []byte, p func([]byte) []byte) {
		mu.Lock()
		log, mutate, page = l, m, p
		mu.Unlock()
	}
	wrap := func(api http.Handler) http.Handler {
		for _, l := range []*v2Log{l1, l2, l3, l4, l5} {
			l.next = api
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			l, m := log, mutate
			mu.Unlock()
			rec := httptest.NewRecorder()
			if r.URL.Path == "/log/proof/consistency" {
				// Proofs in l1's tree, the one the node says it has.
				var from, to int
				fmt.Sscan(r.URL.Query().Get("from"), &from)
				fmt.Sscan(r.URL.Query().Get("to"), &to)
				if from < 1 || from > to || to > len(l1.leaves) {
					http.Error(w, "bad sizes", http.StatusBadRequest)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				json.NewEncoder(w).Encode(map[string]any{"proof": b64s(consistency(from, l1.leaves[:to]))})
				return
			}
			l.ServeHTTP(rec, r)
			body := rec.Body.Bytes()
			if m != nil && rec.Code == http.StatusOK {
				body = m(r.URL.Path, bytes.Clone(body))
			}
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.Header().Del("Content-Length")
			w.WriteHeader(rec.Code)
			w.Write(body)
		})
	}
	f.pages = func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			p := page
			mu.Unlock()
			if p == nil || !strings.HasPrefix(r.URL.Path, "/ui/objects/") {
				h.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.Header().Del("Content-Length")
			w.WriteHeader(rec.Code)
			w.Write(p(rec.Body.Bytes()))
		})
	}
	base := uiServerWrapped(t, f, l1, wrap)

	// jsonEdit changes the JSON answer of path with edit.
	jsonEdit := func(path string, edit func(map[string]any)) func(string, []byte) []byte {
		return func(p string, body []byte) []byte {
			if p != path {
				return body
			}
			var v map[string]any
			if err := json.Unmarshal(body, &v); err != nil {
				t.Errorf("%s: %v", p, err)
				return body
			}
			edit(v)
			out, _ := json.Marshal(v)
			return out
		}
	}
	flip := func(s string) string {
		b, _ := base64.StdEncoding.DecodeString(s)
		b[0] ^= 1
		return base64.StdEncoding.EncodeToString(b)
	}
	b64re := regexp.MustCompile(`data-object-base64="([^"]*)"`)
	editObject := func(edit func(map[string]any)) func([]byte) []byte {
		return func(body []byte) []byte {
			return b64re.ReplaceAllFunc(body, func(m []byte) []byte {
				raw, _ := base64.StdEncoding.DecodeString(html.UnescapeString(string(b64re.FindSubmatch(m)[1])))
				var o map[string]any
				json.Unmarshal(raw, &o)
				edit(o)
				raw, _ = json.Marshal(o)
				return []byte(`data-object-base64="` + base64.StdEncoding.EncodeToString(raw) + `"`)
			})
		}
	}

	ctx, cancel := browser(t, 1280)
	defer cancel()
	logIn(t, ctx, base, f.aurelia.Token)
	// The check names the root, for analysts to compare (a split view
	// between browsers is caught only so).
	root := base64.StdEncoding.EncodeToString(mth(l1.leaves))
	if st, text := checkObjectPage(t, ctx, base, f.indicator, "tamper-00-honest"); st != "verified" || !strings.Contains(text, "(root "+root+")") {
		t.Fatalf("the honest log: %s: %s (want its root %s named)", st, text, root)
	}
	for _, c := range []struct {
		name string
		l    *v2Log
		m    func(string, []byte) []byte
		p    func([]byte) []byte
		want string // "" for anything but verified
	}{
		{"01-content-changed", l1, nil, editObject(func(o map[string]any) { o["name"] = "Changed after signing" }), ""},
		{"02-signature-removed", l1, nil, editObject(func(o map[string]any) { delete(o, "extensions") }), ""},
		{"03-inclusion-proof-altered", l1, jsonEdit("/log/receipt", func(v map[string]any) {
			p := v["inclusion_proof"].([]any)
			p[0] = flip(p[0].(string))
		}), nil, ""},
		{"04-inclusion-proof-truncated", l1, jsonEdit("/log/receipt", func(v map[string]any) {
			v["inclusion_proof"] = v["inclusion_proof"].([]any)[1:]
		}), nil, ""},
		{"05-checkpoint-other-key", l3, func(p string, b []byte) []byte {
			if p == "/log/key" {
				return []byte(l1.vkey + "\n")
			}
			return b
		}, nil, ""},
		{"06-log-key-swapped", l3, nil, nil, ""},
		{"07-forged-member-key", l1, jsonEdit("/log/keys", func(v map[string]any) {
			for _, ev := range v["events"].([]any) {
				e := ev.(map[string]any)
				leaf, _ := base64.StdEncoding.DecodeString(e["entry"].(string))
				var ent map[string]string
				json.Unmarshal(leaf, &ent)
				ent["key"] = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
				leaf, _ = json.Marshal(ent)
				e["entry"] = base64.StdEncoding.EncodeToString(leaf)
			}
		}), nil, ""},
		{"08-receipt-for-other-object", l1, jsonEdit("/log/receipt", func(v map[string]any) {
			v["object_id"] = f.report
		}), nil, ""},
		// After the browser saw l1: another tree of the same size, then an
		// older checkpoint of l1 (consistent: verified), then an older
		// checkpoint of another tree (a fork, or a rollback to one).
		{"09-forked-log-same-key", l2, nil, nil, ""},
		{"10-older-checkpoint-same-log", l4, nil, nil, "verified"},
		{"11-older-checkpoint-forked-log", l5, nil, nil, ""},
	} {
		set(c.l, c.m, c.p)
		st, text := checkObjectPage(t, ctx, base, f.indicator, "tamper-"+c.name)
		t.Logf("%s: %s: %s", c.name, st, text)
		switch {
		case c.want == "" && st == "verified":
			t.Errorf("%s: the page says verified: %s", c.name, text)
		case c.want != "" && st != c.want:
			t.Errorf("%s: %s, want %s: %s", c.name, st, c.want, text)
		case strings.HasPrefix(c.name, "1") && !strings.Contains(text, map[bool]string{true: "an older checkpoint", false: "the node shows different logs"}[c.want != ""]):
			t.Errorf("%s: the check doesn't say why: %s", c.name, text)
		}
	}
}
