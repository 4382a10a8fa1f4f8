package web_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/parley-exchange/parley/tlog"
)

// TestBrowserKeysFromTheSameLog: the object page's check takes the
// member's key history at one checkpoint and the receipt at another, so it
// must prove the two are one log (RFC 9162 consistency, in the browser). A
// node answers GET /log/keys with an answer kept from before the log grew
// (a real one, of a smaller tree): the check fetches the consistency proof
// and passes. The same with the consistency proof tampered fails, saying
// the two checkpoints aren't one log.
func TestBrowserKeysFromTheSameLog(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	chromium(t)
	f := newFixture(t)
	var (
		mu     sync.Mutex
		keep   bool   // keep the next /log/keys answer and serve it from then on
		stale  []byte // the kept /log/keys answer
		tamper bool   // flip a byte of consistency proofs
		proofs int    // consistency proofs served
	)
	wrap := func(api http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := httptest.NewRecorder()
			api.ServeHTTP(rec, r)
			body := rec.Body.Bytes()
			mu.Lock()
			switch {
			case r.URL.Path == "/log/keys" && rec.Code == http.StatusOK:
				if keep && stale == nil {
					stale = bytes.Clone(body)
				}
				if stale != nil {
					body = stale
				}
			case r.URL.Path == "/log/proof/consistency" && rec.Code == http.StatusOK:
				proofs++
				if !tamper {
					break
				}
				// The first hash's first base64 character, changed.
				i := bytes.Index(body, []byte(`"proof":["`)) + len(`"proof":["`)
				body = bytes.Clone(body)
				if body[i] == 'A' {
					body[i] = 'B'
				} else {
					body[i] = 'A'
				}
			}
			mu.Unlock()
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.Header().Del("Content-Length")
			w.WriteHeader(rec.Code)
			w.Write(body)
		})
	}
	base := uiServerWrapped(t, f, newV2Log(t, f.n), wrap)
	ctx, cancel := browser(t, 1280)
	defer cancel()
	check := func(what, id string) (string, string) {
		t.Helper()
		return checkObjectPage(t, ctx, base, id, "")
	}
	logIn(t, ctx, base, f.aurelia.Token)
	// A new object; the check keeps the keys answer of the log with it.
	id := "indicator--abababab-0000-4000-8000-000000000001"
	f.submit(t, f.aurelia, f.shared, map[string]any{"type": "indicator", "id": id, "name": "Later",
		"pattern": "[ipv4-addr:value = '192.0.2.200']", "pattern_type": "stix", "valid_from": "2026-09-14T08:30:00Z"})
	mu.Lock()
	keep = true
	mu.Unlock()
	if st, text := check("keys and receipt of one tree", id); st != "verified" {
		t.Fatalf("keys and receipt of one tree: %s: %s", st, text)
	}
	kept, _, err := f.n.Store().LatestCheckpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// The log grows: the object's receipt is now in a larger tree than the
	// kept keys answer.
	f.submit(t, f.aurelia, f.shared, map[string]any{"type": "indicator", "id": "indicator--abababab-0000-4000-8000-000000000002", "name": "Later still",
		"pattern": "[ipv4-addr:value = '192.0.2.201']", "pattern_type": "stix", "valid_from": "2026-09-14T08:30:00Z"})
	grown := kept
	for grown == kept {
		if grown, _, err = f.n.Store().LatestCheckpoint(context.Background()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	st, text := check("keys of a smaller tree", id)
	if st != "verified" || !strings.Contains(text, fmt.Sprintf("checkpoint of %d entries", grown)) {
		t.Fatalf("keys of a smaller tree (%d entries), the receipt's of %d, consistent: %s: %s", kept, grown, st, text)
	}
	mu.Lock()
	if proofs == 0 {
		t.Error("the check never asked for a consistency proof")
	}
	mu.Unlock()
	mu.Lock()
	tamper = true
	mu.Unlock()
	st, text = check("a tampered consistency proof", id)
	if st != "failed" || !strings.Contains(text, "are not one log") {
		t.Errorf("keys of a smaller tree, consistency proof tampered: %s: %s", st, text)
	}
}

// TestBrowserOperatorAssertedKey: an object signed with a key the
// operator rotated in for its member without the member's signature
// verifies, and the check says the key is operator-asserted (as the CLI
// does): the operator could have put a key of its own there.
func TestBrowserOperatorAssertedKey(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	chromium(t)
	f := newFixture(t)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	if err := f.n.RotateKey(context.Background(), f.borova.ID, pub, nil); err != nil {
		t.Fatal(err)
	}
	f.borova.Key = priv
	id := "indicator--cdcdcdcd-0000-4000-8000-000000000001"
	f.submit(t, f.borova, f.shared, map[string]any{"type": "indicator", "id": id, "name": "After the rotation",
		"pattern": "[ipv4-addr:value = '192.0.2.202']", "pattern_type": "stix", "valid_from": "2026-09-14T08:30:00Z"})
	base := uiServer(t, f, newV2Log(t, f.n))
	ctx, cancel := browser(t, 1280)
	defer cancel()
	logIn(t, ctx, base, f.aurelia.Token)
	for _, c := range []struct {
		id       string
		asserted bool
	}{{id, true}, {f.indicator, false}} {
		st, text := checkObjectPage(t, ctx, base, c.id, "")
		if st != "verified" || strings.Contains(text, "operator-asserted") != c.asserted {
			t.Errorf("%s: %s: %s (want operator-asserted: %v)", c.id, st, text, c.asserted)
		}
	}
}

// logIn logs the browser in to the UI at base with token.
func logIn(t *testing.T, ctx context.Context, base, token string) {
	t.Helper()
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/ui/login"),
		chromedp.WaitVisible(chromedp.CSS(`#token`)),
		chromedp.SendKeys(chromedp.CSS(`#token`), token),
		chromedp.Submit(chromedp.CSS(`#token`)),
		chromedp.WaitVisible(chromedp.CSS(`table.list`)),
	); err != nil {
		t.Fatal(err)
	}
}

// checkObjectPage opens the object page of id and waits for the
// browser's check to end; it returns its state and its text (the steps and
// the status), and takes a screenshot named shotName if not empty.
func checkObjectPage(t *testing.T, ctx context.Context, base, id, shotName string) (state, text string) {
	t.Helper()
	steps := []step{chromedp.Navigate(base + "/ui/objects/" + id),
		waitAttr(`[data-verification]`, "data-verification", "verified", "failed", "logged")}
	if shotName != "" {
		steps = append(steps, shot(t, shotName))
	}
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", id, err)
	}
	st, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`[data-verification]`), "data-verification"))
	if err != nil {
		t.Fatal(err)
	}
	text, err = chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(`[data-verification]`)))
	if err != nil {
		t.Fatal(err)
	}
	return st.Value, text
}

// TestBrowserKeyEntryLeftOut: a node that leaves a member's key rotation
// out of GET /log/keys (so that its old key would look in force after the
// rotation, and an object planted with it would verify) fails the object
// page's check: the node's signed key index lists the entry left out. The
// honest answer verifies.
func TestBrowserKeyEntryLeftOut(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	chromium(t)
	f := newFixture(t)
	var (
		mu      sync.Mutex
		drop    bool // leave the member's rotation out of /log/keys
		dropped int  // rotations left out
	)
	wrap := func(api http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := httptest.NewRecorder()
			api.ServeHTTP(rec, r)
			body := rec.Body.Bytes()
			mu.Lock()
			if r.URL.Path == "/log/keys" && rec.Code == http.StatusOK && drop {
				var kr tlog.KeysResponse
				if err := json.Unmarshal(body, &kr); err != nil {
					t.Error(err)
				}
				kr.Events = slices.DeleteFunc(kr.Events, func(k tlog.BundleKey) bool {
					e, _ := tlog.ParseEntry(k.Entry)
					if e.Member == f.borova.ID && e.Event == tlog.EventRotate {
						dropped++
						return true
					}
					return false
				})
				body, _ = json.Marshal(kr)
			}
			mu.Unlock()
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.Header().Del("Content-Length")
			w.WriteHeader(rec.Code)
			w.Write(body)
		})
	}
	before := "indicator--efefefef-0000-4000-8000-000000000001"
	f.submit(t, f.borova, f.shared, map[string]any{"type": "indicator", "id": before, "name": "Before the rotation",
		"pattern": "[ipv4-addr:value = '192.0.2.203']", "pattern_type": "stix", "valid_from": "2026-09-14T08:30:00Z"})
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	if err := f.n.RotateKey(context.Background(), f.borova.ID, pub, nil); err != nil {
		t.Fatal(err)
	}
	f.borova.Key = priv
	after := "indicator--efefefef-0000-4000-8000-000000000002"
	f.submit(t, f.borova, f.shared, map[string]any{"type": "indicator", "id": after, "name": "After the rotation",
		"pattern": "[ipv4-addr:value = '192.0.2.204']", "pattern_type": "stix", "valid_from": "2026-09-14T08:30:00Z"})
	base := uiServerWrapped(t, f, newV2Log(t, f.n), wrap)
	ctx, cancel := browser(t, 1280)
	defer cancel()
	logIn(t, ctx, base, f.aurelia.Token)
	// The object after the rotation verifies: the checkpoint covers the
	// rotation, and the keys are shown whole.
	for _, id := range []string{after, before} {
		if st, text := checkObjectPage(t, ctx, base, id, ""); st != "verified" {
			t.Fatalf("%s, every key entry shown: %s: %s", id, st, text)
		}
	}
	mu.Lock()
	drop = true
	mu.Unlock()
	st, text := checkObjectPage(t, ctx, base, before, "")
	if st != "failed" || !strings.Contains(text, "left out key entry") {
		t.Errorf("the rotation left out of /log/keys: %s: %s", st, text)
	}
	mu.Lock()
	if dropped == 0 {
		t.Error("no rotation was left out")
	}
	mu.Unlock()
}
