package web_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

// TestBrowserHostileAnswers: a real node's answers to the object page's
// check, rewritten on their way to a real browser, one hostile answer at
// a time: a forged signature, a proof of another entry's index, a
// checkpoint signed by another key, a receipt with a field given twice
// or in another case (which JSON.parse read as the honest one), invalid
// UTF-8, attacker text with bidi controls, a consistency proof that
// doesn't tie the node's new checkpoint to the one this browser saw
// before. The page must end every case "failed", never "verified", and
// say why in words in which the attacker's text is inert.
func TestBrowserHostileAnswers(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	chromium(t)
	f := newFixture(t)
	if !nodeSpeaksV2(t, f) {
		t.Skip("the node doesn't serve log format v2")
	}
	var (
		mu     sync.Mutex
		answer func(path string, body []byte) []byte // rewrites the node's answers, nil: honest
		page   func(body []byte) []byte              // rewrites the object page, nil: honest
	)
	set := func(a func(string, []byte) []byte, p func([]byte) []byte) {
		mu.Lock()
		answer, page = a, p
		mu.Unlock()
	}
	rewrite := func(h http.Handler, w http.ResponseWriter, r *http.Request, edit func([]byte) []byte) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		if rec.Code == http.StatusOK {
			body = edit(bytes.Clone(body))
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.Code)
		w.Write(body)
	}
	wrap := func(api http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			a := answer
			mu.Unlock()
			if a == nil {
				api.ServeHTTP(w, r)
				return
			}
			rewrite(api, w, r, func(b []byte) []byte { return a(r.URL.Path, b) })
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
			rewrite(h, w, r, p)
		})
	}
	base := uiServerWrapped(t, f, nil, wrap)

	// receipt edits the receipt's fields.
	receipt := func(edit func(map[string]json.RawMessage)) func(string, []byte) []byte {
		return func(p string, b []byte) []byte {
			if p != "/log/receipt" {
				return b
			}
			var v map[string]json.RawMessage
			if err := json.Unmarshal(b, &v); err != nil {
				t.Errorf("the receipt: %v", err)
				return b
			}
			edit(v)
			out, _ := json.Marshal(v)
			return out
		}
	}
	// receiptBytes edits the receipt's bytes.
	receiptBytes := func(edit func([]byte) []byte) func(string, []byte) []byte {
		return func(p string, b []byte) []byte {
			if p != "/log/receipt" {
				return b
			}
			return edit(b)
		}
	}
	// A checkpoint of the node's tree, of its origin, signed by another
	// key of the node's key's name.
	forgedCheckpoint := func(cp string) string {
		body, _, _ := strings.Cut(cp, "\n\n")
		name := strings.Split(f.n.VerifierKey(), "+")[0]
		skey, _, err := note.GenerateKey(rand.Reader, name)
		if err != nil {
			t.Fatal(err)
		}
		signer, err := note.NewSigner(skey)
		if err != nil {
			t.Fatal(err)
		}
		signed, err := note.Sign(&note.Note{Text: body + "\n"}, signer)
		if err != nil {
			t.Fatal(err)
		}
		return string(signed)
	}
	b64re := regexp.MustCompile(`data-object-base64="([^"]*)"`)
	forgeSignature := func(body []byte) []byte {
		return b64re.ReplaceAllFunc(body, func(m []byte) []byte {
			raw, _ := base64.StdEncoding.DecodeString(html.UnescapeString(string(b64re.FindSubmatch(m)[1])))
			var o map[string]any
			json.Unmarshal(raw, &o)
			for _, ext := range o["extensions"].(map[string]any) {
				if e, ok := ext.(map[string]any); ok && e["signature"] != nil {
					sig, _ := base64.StdEncoding.DecodeString(e["signature"].(string))
					sig[0] ^= 1
					e["signature"] = base64.StdEncoding.EncodeToString(sig)
				}
			}
			raw, _ = json.Marshal(o)
			return []byte(`data-object-base64="` + base64.StdEncoding.EncodeToString(raw) + `"`)
		})
	}
	flipFirst := func(proof json.RawMessage) json.RawMessage {
		var hs []string
		json.Unmarshal(proof, &hs)
		if len(hs) == 0 {
			t.Fatal("an empty proof")
		}
		h, _ := base64.StdEncoding.DecodeString(hs[0])
		h[0] ^= 1
		hs[0] = base64.StdEncoding.EncodeToString(h)
		out, _ := json.Marshal(hs)
		return out
	}
	const bidi = "identity--\u202edeifirev\u202c"

	ctx, cancel := browser(t, 1280)
	defer cancel()
	logIn(t, ctx, base, f.aurelia.Token)
	// other: the receipt of another object (the report), as the node
	// serves it to the browser.
	var other map[string]json.RawMessage
	set(func(p string, b []byte) []byte {
		if p == "/log/receipt" {
			mu.Lock()
			json.Unmarshal(b, &other)
			mu.Unlock()
		}
		return b
	}, nil)
	if st, text := checkObjectPage(t, ctx, base, f.report, ""); st != "verified" || other["log_index"] == nil {
		t.Fatalf("the honest node, the report: %s: %s (receipt %v)", st, text, other)
	}
	set(nil, nil)
	if st, text := checkObjectPage(t, ctx, base, f.indicator, "hostile-answers-00-honest"); st != "verified" {
		t.Fatalf("the honest node: %s: %s", st, text)
	}
	type hostileCase struct {
		name   string
		answer func(string, []byte) []byte
		page   func([]byte) []byte
		want   string // in the check's words
	}
	cases := []hostileCase{
		// The signature is under the entry's commitment: the commitment
		// step catches it first.
		{"01-forged-signature", nil, forgeSignature, "does not open to this object"},
		{"02-proof-of-another-index", receipt(func(v map[string]json.RawMessage) {
			v["log_index"], v["inclusion_proof"] = other["log_index"], other["inclusion_proof"]
		}), nil, "the inclusion proof does not lead to the checkpoint's root"},
		{"03-inclusion-proof-altered", receipt(func(v map[string]json.RawMessage) {
			v["inclusion_proof"] = flipFirst(v["inclusion_proof"])
		}), nil, "the inclusion proof does not lead to the checkpoint's root"},
		{"04-checkpoint-other-key", receipt(func(v map[string]json.RawMessage) {
			var cp string
			json.Unmarshal(v["checkpoint"], &cp)
			v["checkpoint"], _ = json.Marshal(forgedCheckpoint(cp))
		}), nil, "the checkpoint is not signed by the pinned log key"},
		// The forged checkpoint first, the honest one last: JSON.parse
		// kept the last, Go's ParseReceipt refuses both.
		{"05-receipt-checkpoint-twice", receiptBytes(func(b []byte) []byte {
			return append([]byte(`{"checkpoint":"forged",`), b[1:]...)
		}), nil, `field "checkpoint" given twice`},
		{"06-receipt-checkpoint-other-case", receiptBytes(func(b []byte) []byte {
			return append([]byte(`{"CHECKPOINT":"forged",`), b[1:]...)
		}), nil, `unknown field "CHECKPOINT"`},
		{"07-receipt-invalid-utf8", receiptBytes(func(b []byte) []byte {
			return append([]byte(`{"later":"`+"\xff"+`",`), b[1:]...)
		}), nil, "UTF-8"},
		// A field's name, which the check's words quote, with bidi
		// controls: shown as code points.
		{"08-receipt-bidi-name-twice", receiptBytes(func(b []byte) []byte {
			return append([]byte(`{"`+bidi+`":1,"`+bidi+`":2,`), b[1:]...)
		}), nil, "[U+202E]deifirev[U+202C]\" given twice"},
		{"09-receipt-member-bidi", receipt(func(v map[string]json.RawMessage) {
			v["member"], _ = json.Marshal(bidi)
		}), nil, "does not open to this object"},
		{"10-key-history-of-another-shape", func(p string, b []byte) []byte {
			if p != "/log/keys" {
				return b
			}
			return []byte(`{"member":"` + bidi + `"}`)
		}, nil, "not what a Parley log serves"},
	}
	run := func(c hostileCase) {
		t.Helper()
		set(c.answer, c.page)
		st, text := checkObjectPage(t, ctx, base, f.indicator, "hostile-answers-"+c.name)
		set(nil, nil)
		t.Logf("%s: %s: %s", c.name, st, text)
		if st != "failed" {
			t.Errorf("%s: %s, want failed: %s", c.name, st, text)
		}
		if strings.Contains(text, "Verified in your browser") || !strings.Contains(text, "Verification FAILED in your browser") || !strings.Contains(text, c.want) {
			t.Errorf("%s: the check doesn't say it failed, and why (%q): %s", c.name, c.want, text)
		}
		if strings.ContainsAny(text, "\u202e\u202c\ufffd") {
			t.Errorf("%s: attacker text not inert: %q", c.name, text)
		}
	}
	for _, c := range cases {
		run(c)
	}

	// The browser saw the node's checkpoint; the node's log grows, and
	// the proof that its new checkpoint extends the one seen is altered.
	if st, text := checkObjectPage(t, ctx, base, f.indicator, ""); st != "verified" {
		t.Fatalf("the honest node, again: %s: %s", st, text)
	}
	f.submit(t, f.aurelia, f.shared, map[string]any{"type": "indicator", "id": "indicator--12121212-1212-4121-8121-121212121212",
		"name": "Grown", "pattern": "[ipv4-addr:value = '192.0.2.9']", "pattern_type": "stix", "valid_from": "2026-09-14T08:30:00Z"})
	altered := 0
	run(hostileCase{"11-consistency-with-seen-altered", func(p string, b []byte) []byte {
		if p != "/log/proof/consistency" {
			return b
		}
		var v map[string]json.RawMessage
		if err := json.Unmarshal(b, &v); err != nil {
			t.Errorf("the consistency proof: %v", err)
			return b
		}
		mu.Lock()
		altered++
		mu.Unlock()
		v["proof"] = flipFirst(v["proof"])
		out, _ := json.Marshal(v)
		return out
	}, nil, "the node shows different logs"})
	if altered == 0 {
		t.Error("the browser asked for no consistency proof with the checkpoint it saw")
	}
	if st, text := checkObjectPage(t, ctx, base, f.indicator, ""); st != "verified" {
		t.Errorf("the honest node, after: %s: %s", st, text)
	}
}
