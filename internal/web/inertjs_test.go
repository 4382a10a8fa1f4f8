package web_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestVerifyTextInert: every text the object page's check writes
// (verify.js: its steps, its status, its pins' notes) goes through
// ParleyLog.inert, since each may hold what another party wrote (a peer's
// log origin and collection, a member id, a witness's name, an error of
// the node's). Laid out in a real Chromium, a right-to-left override in
// such a string is shown as "[U+202E]" and reorders nothing: the words
// after it keep their order ("signed ... key", not reversed into "...
// not verified"), and C0 and C1 controls are shown too.
func TestVerifyTextInert(t *testing.T) {
	verify, err := os.ReadFile(filepath.Join("assets", "verify.js"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`\.textContent = ([^;]*);`).FindAllStringSubmatch(string(verify), -1) {
		if rhs := m[1]; !strings.HasPrefix(rhs, "L.inert(") && rhs != `""` && rhs != `"Check again"` {
			t.Errorf("verify.js writes text that is not made inert: %s", m[0][:min(len(m[0]), 120)])
		}
	}

	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	chromium(t)
	script, err := os.ReadFile(filepath.Join("assets", "logv2.js"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/logv2.js" {
			w.Header().Set("Content-Type", "text/javascript")
			w.Write(script)
			return
		}
		fmt.Fprint(w, `<!doctype html><meta charset="utf-8"><title>t</title><p id="p" style="font: 16px monospace"></p><script src="/logv2.js"></script>`)
	}))
	defer srv.Close()
	ctx, cancel := browser(t, 1280)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/")); err != nil {
		t.Fatal(err)
	}
	// A step of the check of a replicated object, with the peer's log
	// origin as the peer wrote it.
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
		const p = document.getElementById("p");
		p.textContent = window.ParleyLog.inert("✓ checkpoint of 4 entries of the peer's log evil\u202edeifirev ton\u0007\u009b signed by its pinned key");
		const node = p.firstChild, text = node.data;
		const at = (word) => {
			const r = document.createRange();
			const i = text.indexOf(word);
			r.setStart(node, i);
			r.setEnd(node, i + word.length);
			return r.getBoundingClientRect().left;
		};
		return text + "|" + (at("signed") < at("pinned") && at("pinned") < at("key") && at("evil") < at("signed") ? "in order" : "reordered");
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	text, order, _ := strings.Cut(got, "|")
	if strings.ContainsAny(text, "\u202e\u0007\u009b") || !strings.Contains(text, "evil[U+202E]deifirev ton[U+0007][U+009B] signed") {
		t.Errorf("the text shown holds the controls, or not as code points: %q", text)
	}
	if order != "in order" {
		t.Errorf("the words after the override are laid out %s: %q", order, text)
	}
}
