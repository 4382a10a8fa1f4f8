package web_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/tlog"
)

// hostileBundles are proof bundles (GET /peers/bundle) that another
// reader could read otherwise than tlog.ParseBundle: invalid UTF-8, a
// byte order mark, a field given twice or named in another case, lists
// and numbers past the bounds, indices JavaScript rounds or reads from
// 1.0, base64 that isn't strict. docs/log.md, "Bounds on offline
// documents".
func hostileBundles() map[string][]byte {
	hash := strings.Repeat("A", 43) + "="
	item := func(fields string) string {
		return `{"object":{"type":"indicator","id":"indicator--1"},"entry":"eyJraW5kIjoib2JqZWN0In0=","salt":"` + hash + `","collection":"c","object_id":"indicator--1","version":"2024-01-01T00:00:00Z","member":"identity--1","log_index":3,"inclusion_proof":["` + hash + `"]` + fields + `}`
	}
	doc := func(fields, items string) []byte {
		return []byte(`{"type":"parley-proof-bundle-v1","log_key":"log+01+AAAA","checkpoint":"origin\n4\n` + hash + `\n\n— sig\n","keys":[{"entry":"e30=","log_index":1,"inclusion_proof":[]}],"items":[` + items + `]` + fields + `}`)
	}
	many := func(n int) string { return strings.TrimSuffix(strings.Repeat("{},", n), ",") }
	return map[string][]byte{
		"valid":                            doc("", item("")),
		"valid, later fields":              doc(`,"later":{"x":[1,2,{"y":null}]}`, item(`,"also":"z"`)),
		"valid, null fields":               doc(`,"key_index":null,"names":null,"witnessed":null`, `{"salt":null,"log_index":null,"inclusion_proof":[null]}`),
		"valid, names":                     doc(`,"names":{"identity--1":"Aurelia"}`, item("")),
		"valid, witnessed":                 doc(`,"witnessed":[{"checkpoint":"x","consistency":["`+hash+`"]}]`, item("")),
		"valid, object keys twice":         doc("", `{"object":{"a":1,"a":2}}`),
		"valid, lone surrogate escape":     doc(`,"key_index":"\ud800"`, item("")),
		"valid, 65536 items":               doc("", many(65536)),
		"valid, index 2^64-1":              doc("", `{"log_index":18446744073709551615}`),
		"valid, index 2^53+1":              doc("", `{"log_index":9007199254740993}`),
		"valid, a 64-byte number":          doc(`,"later":`+strings.Repeat("1", 64), item("")),
		"valid, null document":             []byte(`null`),
		"invalid UTF-8 in a name":          doc(`,"names":{"identity--1":"A`+"\xff"+`"}`, item("")),
		"invalid UTF-8 in the checkpoint":  bytes.Replace(doc("", item("")), []byte("origin"), []byte("orig\xc3\x28n"), 1),
		"invalid UTF-8 in a later field":   doc(`,"later":"`+"\xed\xa0\x80"+`"`, item("")),
		"byte order mark":                  append([]byte("\xef\xbb\xbf"), doc("", item(""))...),
		"data after the document":          append(doc("", item("")), []byte(` {}`)...),
		"checkpoint twice":                 doc(`,"checkpoint":"another"`, item("")),
		"checkpoint twice, escaped":        doc(`,"check\u0070oint":"another"`, item("")),
		"an item's index twice":            doc("", item(`,"log_index":4`)),
		"a name twice":                     doc(`,"names":{"identity--1":"A","identity--1":"B"}`, item("")),
		"log_key in another case":          doc(`,"LOG_KEY":"log+01+BBBB"`, item("")),
		"an item's member in another case": doc("", item(`,"Member":"identity--2"`)),
		"65537 items":                      doc("", many(65537)),
		"65537 key entries":                []byte(`{"keys":[` + many(65537) + `]}`),
		"a 65-byte number":                 doc(`,"later":`+strings.Repeat("1", 65), item("")),
		"index 1.0":                        doc("", `{"log_index":1.0}`),
		"index 1e0":                        doc("", `{"log_index":1e0}`),
		"index -1":                         doc("", `{"log_index":-1}`),
		"index 2^64":                       doc("", `{"log_index":18446744073709551616}`),
		"index as text":                    doc("", `{"log_index":"3"}`),
		"type a number":                    []byte(`{"type":5}`),
		"entry not strict base64":          doc("", `{"entry":"e31="}`),
		"entry unpadded":                   doc("", `{"entry":"e30"}`),
		"entry with a line break":          doc("", `{"entry":"e3\n0="}`),
		"a hash of 31 bytes":               doc("", `{"inclusion_proof":["`+strings.Repeat("A", 42)+`=="]}`),
		"an item null":                     doc("", `null`),
		"items an object":                  []byte(`{"items":{}}`),
		"a list":                           []byte(`[]`),
		"trailing comma":                   []byte(`{"type":"x",}`),
	}
}

// TestBundleReadersAgree reads every hostile bundle with tlog.ParseBundle
// (what `parley verify` and the node read) and with the object page's
// reader in Chromium (ParleyLog.readBundle, which the page's check of a
// replicated object reads GET /peers/bundle with): both must accept it,
// or both refuse it. JSON.parse alone kept the last of two fields, read
// invalid UTF-8 as U+FFFD and 1.0 as an index.
func TestBundleReadersAgree(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	docs := hostileBundles()
	evaluate := logv2Page(t, docs)
	for name, doc := range docs {
		_, _, goErr := tlog.ParseBundle(doc)
		got := evaluate(name, `try { window.ParleyLog.readBundle(b); return "accepted"; } catch (e) { return "refused: " + e.message; }`)
		goSays := "accepted"
		if goErr != nil {
			goSays = "refused: " + goErr.Error()
		}
		if strings.HasPrefix(name, "valid") != (goErr == nil) {
			t.Errorf("%s: Go %s (the table expects otherwise)", name, goSays)
		}
		if (goErr == nil) != (got == "accepted") {
			t.Errorf("%s: Go %s; the browser %s", name, goSays, got)
		}
	}
}

// logv2Page starts Chromium on a page that loads assets/logv2.js, and
// returns a function that runs body (a function's body, of the bytes b of
// docs[name]) there and returns what it returns.
func logv2Page(t *testing.T, docs map[string][]byte) func(name, body string) string {
	t.Helper()
	chromium(t)
	script, err := os.ReadFile(filepath.Join("assets", "logv2.js"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/":
			fmt.Fprint(w, `<!doctype html><title>t</title><script src="/logv2.js"></script>`)
		case r.URL.Path == "/logv2.js":
			w.Header().Set("Content-Type", "text/javascript")
			w.Write(script)
		case r.URL.Path == "/doc/":
			w.Header().Set("Content-Type", "application/json")
			w.Write(docs[r.URL.Query().Get("name")])
		}
	}))
	t.Cleanup(srv.Close)
	ctx, cancel := browser(t, 800)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/")); err != nil {
		t.Fatal(err)
	}
	return func(name, body string) string {
		t.Helper()
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch("/doc/?name=`+url.QueryEscape(name)+`").then((r) => r.arrayBuffer()).then((buf) => {
			const b = new Uint8Array(buf);
			`+body+`
		})`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return got
	}
}

// TestCanonicalAgrees: the object page checks an object's signature over
// the RFC 8785 form the browser makes of it (ParleyLog.parseIJSON, then
// jcs); Go's stix.Canonicalize must refuse the same objects and make the
// same bytes of the others. JSON.parse alone kept the last of two member
// names and wrote a lone surrogate escape back, where Go refuses both.
func TestCanonicalAgrees(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	docs := map[string][]byte{
		"plain":                   []byte(`{"type":"indicator","b":[1,2],"a":"x"}`),
		"a key twice":             []byte(`{"a":1,"a":2}`),
		"a nested key twice":      []byte(`{"x":{"b":1,"c":[{"b":1,"b":2}]}}`),
		"an escaped key twice":    []byte(`{"a":1,"\u0061":2}`),
		"keys alike but for case": []byte(`{"a":1,"A":2}`),
		"lone high surrogate":     []byte(`{"a":"\ud83d"}`),
		"lone low surrogate":      []byte(`{"a":"\ude00"}`),
		"reversed surrogates":     []byte(`{"a":"\ude00\ud83d"}`),
		"a surrogate pair":        []byte(`{"a":"\ud83d\ude00"}`),
		"2^53+1":                  []byte(`{"n":9007199254740993}`),
		"2^64":                    []byte(`{"n":18446744073709551616}`),
		"numbers":                 []byte(`{"n":[1e30,-0,0.1,1E2,123456789012345678901234567890,5e-324]}`),
		"1e400":                   []byte(`{"n":1e400}`),
		"-1e400":                  []byte(`{"n":-1e400}`),
		"1e-400":                  []byte(`{"n":1e-400}`),
		"escapes":                 []byte(`{"s":"\u0007\u001f\u007f\u2028\/\"é‮"}`),
		"sort by UTF-16":          []byte(`{"😀":1,"דּ":2,"a":3}`),
		"invalid UTF-8":           []byte("{\"a\":\"\xff\"}"),
		"byte order mark":         []byte("\xef\xbb\xbf{}"),
		"nested 128":              []byte(strings.Repeat("[", 128) + strings.Repeat("]", 128)),
		"nested 129":              []byte(strings.Repeat("[", 129) + strings.Repeat("]", 129)),
		"trailing data":           []byte(`{} {}`),
	}
	evaluate := logv2Page(t, docs)
	for name, doc := range docs {
		want, goErr := stix.Canonicalize(doc)
		got := evaluate(name, `try { return "accepted " + window.ParleyLog.jcs(window.ParleyLog.parseIJSON(window.ParleyLog.strictText(b))); } catch (e) { return "refused: " + e.message; }`)
		switch {
		case goErr != nil && strings.HasPrefix(got, "accepted "):
			t.Errorf("%s: Go refused (%v); the browser %s", name, goErr, got)
		case goErr == nil && got != "accepted "+string(want):
			t.Errorf("%s: Go made %s; the browser %s", name, want, got)
		}
	}
}
