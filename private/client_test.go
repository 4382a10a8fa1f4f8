package private

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/internal/untrusted"
)

// fakeNode serves the /private/ API for one set with real components; its
// fields let a test make it lie in one way at a time.
type fakeNode struct {
	info     SetInfo
	set      *Set
	receipt  KeyReceipt
	eval     *Provider // the key it actually evaluates with
	budget   int
	requests int
}

func (f *fakeNode) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer good-token" {
		w.WriteHeader(http.StatusUnauthorized)
		json.NewEncoder(w).Encode(map[string]string{"title": "unauthorized"})
		return
	}
	base := "/private/sets/" + f.info.ID
	switch r.URL.Path {
	case base:
		json.NewEncoder(w).Encode(f.info)
	case base + "/tags":
		w.Write(f.set.AppendTags(nil))
	case base + "/receipt":
		json.NewEncoder(w).Encode(f.receipt)
	case base + "/evaluate":
		var req EvaluateRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		f.requests++
		if f.budget -= len(req.Elements); f.budget < 0 {
			w.WriteHeader(http.StatusTooManyRequests)
			json.NewEncoder(w).Encode(map[string]string{"title": "query budget spent", "description": "0 left"})
			return
		}
		resp, err := f.eval.Evaluate(&req)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		json.NewEncoder(w).Encode(resp)
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

// TestClientCheckAgainstLyingNodes runs Client.Check against a node that
// is honest, then one that lies about the key, one that evaluates under
// another key than the logged one, and one that serves no valid receipt.
func TestClientCheckAgainstLyingNodes(t *testing.T) {
	ctx := context.Background()
	honest := newTestProvider(t, 1)
	other := newTestProvider(t, 2)
	set := buildTestSet(t, honest)
	otherSet := buildTestSet(t, other)
	fix := newReceiptFixture(t, honest.PublicKey(), "set1")
	otherFix := newReceiptFixture(t, other.PublicKey(), "set1") // another log, its own key
	good := func() *fakeNode {
		return &fakeNode{
			info:    SetInfo{ID: "set1", Suite: SuiteID, PublicKey: honest.PublicKey().Bytes(), Size: set.Len(), KeyLogIndex: 3},
			set:     set,
			receipt: fix.receipt,
			eval:    honest,
			budget:  100,
		}
	}
	queries := []string{"domain-name:EVIL.example", "domain-name:innocent.example", "ipv4-addr:198.51.100.7", "ipv4-addr:192.0.2.1"}
	check := func(f *fakeNode, token string) ([]int, error) {
		srv := httptest.NewServer(f)
		defer srv.Close()
		c := &Client{BaseURL: srv.URL, Token: token}
		return c.Check(ctx, "set1", fix.verifier, queries, 3, testRand(9))
	}

	hits, err := check(good(), "good-token")
	if err != nil || !slices.Equal(hits, []int{0, 2}) {
		t.Fatalf("honest node: hits %v, %v", hits, err)
	}

	// The node shows another key (its own log entry is for the real one).
	f := good()
	f.info.PublicKey, f.set, f.eval = other.PublicKey().Bytes(), otherSet, other
	if _, err := check(f, "good-token"); !errors.Is(err, ErrKeyNotInLog) {
		t.Errorf("a key not in the log: %v, want ErrKeyNotInLog", err)
	}
	if f.requests != 0 {
		t.Errorf("values were sent to a node whose key is not in the log")
	}
	// The node shows the logged key but evaluates with another.
	f = good()
	f.eval = other
	if _, err := check(f, "good-token"); !errors.Is(err, ErrInvalidProof) {
		t.Errorf("evaluation under another key: %v, want ErrInvalidProof", err)
	}
	// The node's receipt is signed by another log key than the pinned one.
	f = good()
	f.receipt = otherFix.receipt
	if _, err := check(f, "good-token"); !errors.Is(err, ErrKeyNotInLog) {
		t.Errorf("a receipt from another log: %v, want ErrKeyNotInLog", err)
	}
	// The receipt is good but the set names another log index.
	f = good()
	f.info.KeyLogIndex = 4
	if _, err := check(f, "good-token"); !errors.Is(err, ErrKeyNotInLog) {
		t.Errorf("a mismatched log index: %v, want ErrKeyNotInLog", err)
	}
	// Budget spent: 429 wraps ErrBudgetSpent.
	f = good()
	f.budget = 2
	if _, err := check(f, "good-token"); !errors.Is(err, ErrBudgetSpent) {
		t.Errorf("budget: %v, want ErrBudgetSpent", err)
	} else {
		// One sentence: the sentinel once, the status, the node's detail.
		var he *HTTPError
		if !errors.As(err, &he) || he.Status != http.StatusTooManyRequests {
			t.Errorf("budget: %v does not carry the node's 429", err)
		}
		if got := strings.Count(err.Error(), ErrBudgetSpent.Error()); got != 1 {
			t.Errorf("budget: %q repeats %q %d times", err, ErrBudgetSpent, got)
		}
		if !strings.Contains(err.Error(), "429") || !strings.Contains(err.Error(), "0 left") {
			t.Errorf("budget: %q lacks the status or the node's detail", err)
		}
	}
	// A bad token: the HTTP error, no token in it.
	_, err = check(good(), "wrong-secret-token")
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != http.StatusUnauthorized {
		t.Errorf("bad token: %v", err)
	}
	if err != nil && strings.Contains(err.Error(), "wrong-secret-token") {
		t.Errorf("the token leaked into an error: %v", err)
	}
	// An invalid value is refused before anything is sent.
	f = good()
	srv := httptest.NewServer(f)
	defer srv.Close()
	_, err = (&Client{BaseURL: srv.URL, Token: "good-token"}).Check(ctx, "set1", fix.verifier, []string{"ipv4-addr:300.0.0.1"}, 0, testRand(1))
	if !errors.Is(err, ErrInvalidValue) || f.requests != 0 {
		t.Errorf("invalid value: %v after %d requests", err, f.requests)
	}
}

func TestClientCheckProgress(t *testing.T) {
	ctx := context.Background()
	p := newTestProvider(t, 1)
	set := buildTestSet(t, p)
	fix := newReceiptFixture(t, p.PublicKey(), "set1")
	f := &fakeNode{info: SetInfo{ID: "set1", Suite: SuiteID, PublicKey: p.PublicKey().Bytes(), KeyLogIndex: 3}, set: set, receipt: fix.receipt, eval: p, budget: 100}
	srv := httptest.NewServer(f)
	defer srv.Close()
	var calls [][2]int
	c := &Client{BaseURL: srv.URL, Token: "good-token", Progress: func(done, total int) { calls = append(calls, [2]int{done, total}) }}
	lines := []string{"domain-name:a.example", "domain-name:b.example", "domain-name:c.example", "domain-name:d.example", "domain-name:e.example"}
	if _, err := c.Check(ctx, "set1", fix.verifier, lines, 2, testRand(3)); err != nil {
		t.Fatal(err)
	}
	if want := [][2]int{{2, 5}, {4, 5}, {5, 5}}; !slices.Equal(calls, want) || f.requests != 3 {
		t.Fatalf("progress %v after %d requests, want %v in 3", calls, f.requests, want)
	}
}

// A node whose JSON answer never ends (a list of sets of megabytes) gets
// an error once it passes maxJSONAnswer, instead of the client's memory.
func TestClientBoundsJSONAnswers(t *testing.T) {
	old := maxJSONAnswer
	maxJSONAnswer = 1 << 20
	defer func() { maxJSONAnswer = old }()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"sets":[{"id":"s0"}`)
		item := strings.Repeat(`,{"id":"s"}`, 1000)
		for range 800 { // 8 MiB
			if _, err := io.WriteString(w, item); err != nil {
				return
			}
		}
		io.WriteString(w, `]}`)
	}))
	defer srv.Close()
	sets, err := (&Client{BaseURL: srv.URL}).Sets(context.Background())
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("Sets = %d sets, %v", len(sets), err)
	}
}

// A node's refusal comes back in the error as at most 500 bytes of its
// title and of its description, with no control characters: a hostile
// node's terminal escapes don't reach the terminal of parley private.
func TestClientErrorsDontEchoHostileText(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		json.NewEncoder(w).Encode(map[string]string{"title": "\x1b]0;owned\x07", "description": strings.Repeat("x", 60000)})
	}))
	defer srv.Close()
	_, err := (&Client{BaseURL: srv.URL}).Sets(context.Background())
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != 500 {
		t.Fatalf("err = %.200v", err)
	}
	if msg := err.Error(); len(msg) > 1200 || strings.ContainsAny(msg, "\x1b\x07") {
		t.Fatalf("error of %d bytes: %.200q", len(msg), msg)
	}
}

// TestClientCheckSendsEachValueOnce: values repeated in the input, or
// equal once normalised, are evaluated once (each element sent costs the
// querier's budget), and every copy is reported.
func TestClientCheckSendsEachValueOnce(t *testing.T) {
	ctx := context.Background()
	p := newTestProvider(t, 1)
	set, err := p.BuildSet(ctx, []string{"domain-name:evil.example", "ipv4-addr:198.51.100.7"})
	if err != nil {
		t.Fatal(err)
	}
	fix := newReceiptFixture(t, p.PublicKey(), "set1")
	f := &fakeNode{info: SetInfo{ID: "set1", Suite: SuiteID, PublicKey: p.PublicKey().Bytes(), KeyLogIndex: 3}, set: set, receipt: fix.receipt, eval: p, budget: 3}
	srv := httptest.NewServer(f)
	defer srv.Close()
	lines := []string{
		"domain-name:evil.example", "domain-name:good.example", "domain-name:EVIL.example.",
		"domain-name:evil.example", "ipv4-addr:198.51.100.7", "domain-name:good.example",
	}
	hits, err := (&Client{BaseURL: srv.URL, Token: "good-token"}).Check(ctx, "set1", fix.verifier, lines, 0, testRand(2))
	if err != nil {
		t.Fatalf("Check with 3 distinct values and a budget of 3: %v", err)
	}
	if want := []int{0, 2, 3, 4}; !slices.Equal(hits, want) {
		t.Errorf("hits %v, want %v", hits, want)
	}
	if f.budget != 0 || f.requests != 1 {
		t.Errorf("%d elements of the budget left after %d requests; want 0 after 1 (3 distinct values)", f.budget, f.requests)
	}
}

// A node that redirects the client elsewhere, in a Location of a MiB,
// isn't followed (the commands' client keeps redirects on the node's
// origin), and the client's error names the redirect in a bounded URL.
func TestClientRedirectBounded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "http://169.254.169.254/"+strings.Repeat("a", 1<<20))
		w.WriteHeader(http.StatusFound)
	}))
	defer srv.Close()
	c := &Client{BaseURL: srv.URL, HTTP: &http.Client{CheckRedirect: untrusted.SameOriginRedirects}}
	_, err := c.Sets(context.Background())
	if !errors.Is(err, untrusted.ErrRedirect) || len(err.Error()) > 2000 {
		t.Fatalf("error of %d bytes: %.300v", len(fmt.Sprint(err)), err)
	}
}
