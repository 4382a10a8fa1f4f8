package node

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-exchange/parley/private"
	"github.com/parley-exchange/parley/taxii"
)

// TestBudgetsSharedByMember checks, for every endpoint that reserves from
// one of the node's budgets, that it reserves in the name of the member
// asking, so that the budget's shares hold between members: with alice
// holding all a member may hold of the budget (or, for the private-set
// CPUs, more than bob), alice's request waits in alice's name while bob's
// same request is served; alice's is served once hers are given back.
func TestBudgetsSharedByMember(t *testing.T) {
	ctx := context.Background()
	tn := newTestNode(t)
	a := tn.privateAPI()
	a.setConfig(PrivateConfig{QueryBudget: 100, MaxBatch: 10, RefreshInterval: Duration(time.Hour), Workers: 2})
	ind := indicator(t, tn.alice.ID, tn.alice.Key, time.Now())
	if _, err := tn.alice.Client.AddObjects(ctx, tn.shared, []json.RawMessage{ind}); err != nil {
		t.Fatal(err)
	}
	var stored struct{ ID string }
	json.Unmarshal(ind, &stored)
	set, err := (&private.Client{BaseURL: tn.URL, Token: tn.bob.Token}).Publish(ctx, private.PublishRequest{Collection: tn.shared, Values: testValues("s", 3)})
	if err != nil {
		t.Fatal(err)
	}

	get := func(path string) func(context.Context, testMember) error {
		return func(ctx context.Context, m testMember) error {
			return memberRequest(ctx, tn.URL, m, http.MethodGet, path, "", nil)
		}
	}
	// The web UI's pages, each member logged in once.
	sessions := map[string]*http.Client{tn.alice.ID: uiLogin(t, tn.URL, tn.alice), tn.bob.ID: uiLogin(t, tn.URL, tn.bob)}
	page := func(path string) func(context.Context, testMember) error {
		return func(ctx context.Context, m testMember) error {
			return uiGet(ctx, sessions[m.ID], tn.URL+path)
		}
	}
	cases := []struct {
		name    string
		budget  func() sharedGate
		request func(context.Context, testMember) error
	}{
		{"TAXII objects", func() sharedGate { return tn.memory }, func(ctx context.Context, m testMember) error {
			_, err := m.Client.Objects(ctx, tn.shared, taxii.Query{})
			return err
		}},
		{"TAXII object", func() sharedGate { return tn.memory }, func(ctx context.Context, m testMember) error {
			_, err := m.Client.Object(ctx, tn.shared, stored.ID, taxii.Query{})
			return err
		}},
		{"log objects", func() sharedGate { return tn.memory }, get("/log/objects?start=0&end=10")},
		{"log bundle", func() sharedGate { return tn.memory }, get("/log/bundle?object=" + url.QueryEscape(stored.ID))},
		{"concurrence", func() sharedGate { return tn.memory }, get("/concurrence?object=" + url.QueryEscape(stored.ID))},
		{"UI home", func() sharedGate { return tn.memory }, page("/ui/")},
		{"UI collection", func() sharedGate { return tn.memory }, page("/ui/collections/" + url.PathEscape(tn.shared))},
		{"UI object", func() sharedGate { return tn.memory }, page("/ui/objects/" + url.PathEscape(stored.ID))},
		{"UI search", func() sharedGate { return tn.memory }, page("/ui/search?q=example")},
		{"TAXII add objects", func() sharedGate { return tn.envelopes }, func(ctx context.Context, m testMember) error {
			_, err := m.Client.AddObjects(ctx, tn.shared, []json.RawMessage{indicator(t, m.ID, m.Key, time.Now())})
			return err
		}},
		{"TAXII add objects, the CPUs checking them", func() sharedGate { return tn.checks }, func(ctx context.Context, m testMember) error {
			_, err := m.Client.AddObjects(ctx, tn.shared, []json.RawMessage{indicator(t, m.ID, m.Key, time.Now())})
			return err
		}},
		{"private publish", func() sharedGate { _, _, mem, _ := a.limits(); return mem }, func(ctx context.Context, m testMember) error {
			_, err := (&private.Client{BaseURL: tn.URL, Token: m.Token}).Publish(ctx, private.PublishRequest{Collection: tn.shared, Values: testValues(m.ID, 3)})
			return err
		}},
		{"private evaluate", func() sharedGate { _, cpu, _, _ := a.limits(); return cpu }, func(ctx context.Context, m testMember) error {
			q := private.NewQuerier(mustKey(t, set.PublicKey), rand.Reader)
			_, req, err := q.Blind([]string{"domain-name:s1.example"})
			if err != nil {
				return err
			}
			_, err = (&private.Client{BaseURL: tn.URL, Token: m.Token}).Evaluate(ctx, set.ID, req)
			return err
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := c.budget()
			b := budgetOf(t, g)
			// alice holds her share; for a budget whose share is all of
			// it (the CPUs), she holds one unit and someone else the rest.
			aliceHolds := b.share / b.unit
			other := (b.capacity - b.share) / b.unit
			if b.share == b.capacity {
				aliceHolds, other = 1, (b.capacity-1)/b.unit
			}
			rctx, cancel := context.WithTimeout(ctx, 20*time.Second) // under the 30 s wait for a reservation
			defer cancel()
			// What the test holds is given back however it ends, so that
			// a failure doesn't hold up the next case.
			hold := func(holder string, n int64) (release func()) {
				if err := g.Acquire(rctx, holder, n); err != nil {
					t.Fatalf("the test's own reservation for %s: %v", holder, err)
				}
				var once sync.Once
				release = func() { once.Do(func() { g.Release(holder, n) }) }
				t.Cleanup(release)
				return release
			}
			releaseAlice := hold(tn.alice.ID, aliceHolds)
			releaseOther := func() {}
			if other > 0 {
				releaseOther = hold("someone else", other)
			}
			aliceDone := make(chan error, 1)
			go func() { aliceDone <- c.request(rctx, tn.alice) }()
			waitQueued(t, b, tn.alice.ID, aliceDone)
			bobDone := make(chan error, 1)
			go func() { bobDone <- c.request(rctx, tn.bob) }()
			if other > 0 {
				waitQueued(t, b, tn.bob.ID, bobDone)
				// bob, who holds nothing, goes before alice, who came
				// first (and whom bob's release lets in after him).
				releaseOther()
				if qa, qb := queuedFor(b, tn.alice.ID), queuedFor(b, tn.bob.ID); qa != 1 || qb != 0 {
					t.Fatalf("%d of alice's requests and %d of bob's wait after one unit came back; want alice's", qa, qb)
				}
			}
			if err := <-bobDone; err != nil {
				t.Fatalf("bob's request while alice holds her share: %v", err)
			}
			if queued := queuedFor(b, tn.alice.ID); other == 0 && queued != 1 {
				t.Fatalf("alice has %d requests waiting after bob's was served, want 1", queued)
			}
			releaseAlice()
			if err := <-aliceDone; err != nil {
				t.Fatalf("alice's request once hers were given back: %v", err)
			}
			for deadline := time.Now().Add(5 * time.Second); b.inUse() != 0; time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("%d of the budget still in use", b.inUse())
				}
			}
		})
	}
}

// TestTrickledBodiesHoldOnlyAShare is the attack the shares are for: bob
// opens writes that say they are as large as the node accepts and sends
// their bodies a few bytes at a time (he could go on until the node's body
// timeout), on every endpoint that reserves memory for a body. alice's
// writes are still served at once.
func TestTrickledBodiesHoldOnlyAShare(t *testing.T) {
	ctx := context.Background()
	tn := newTestNode(t)
	for _, c := range []struct {
		name, path, contentType string
		length                  int64
		budget                  func() *memoryBudget
		write                   func(context.Context) error
	}{
		{"TAXII add objects", "/api/collections/" + tn.shared + "/objects/", taxii.MediaType, tn.cfg.MaxContentLength,
			func() *memoryBudget { return tn.envelopes },
			func(ctx context.Context) error {
				_, err := tn.alice.Client.AddObjects(ctx, tn.shared, []json.RawMessage{indicator(t, tn.alice.ID, tn.alice.Key, time.Now())})
				return err
			}},
		{"private publish", "/private/sets", "application/json", maxPublishBody,
			func() *memoryBudget { _, _, mem, _ := tn.privateAPI().limits(); return mem },
			func(ctx context.Context) error {
				_, err := (&private.Client{BaseURL: tn.URL, Token: tn.alice.Token}).Publish(ctx, private.PublishRequest{Collection: tn.shared, Values: testValues("a", 3)})
				return err
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := c.budget()
			var bodies []*io.PipeWriter
			done := make(chan error, 4)
			for range 4 {
				pr, pw := io.Pipe()
				bodies = append(bodies, pw)
				r, err := http.NewRequestWithContext(ctx, http.MethodPost, tn.URL+c.path, pr)
				if err != nil {
					t.Fatal(err)
				}
				r.ContentLength = c.length
				r.Header.Set("Authorization", "Bearer "+tn.bob.Token)
				r.Header.Set("Content-Type", c.contentType)
				r.Header.Set("Accept", c.contentType)
				go func() {
					resp, err := http.DefaultClient.Do(r)
					if err == nil {
						resp.Body.Close()
					}
					done <- err
				}()
				go pw.Write([]byte(`{"`)) // the first bytes, and no more
			}
			t.Cleanup(func() {
				for _, pw := range bodies {
					pw.CloseWithError(io.ErrUnexpectedEOF)
				}
				for range bodies {
					<-done
				}
			})
			// bob holds what he may, and the rest of his writes wait.
			for deadline := time.Now().Add(10 * time.Second); holdingOf(b, tn.bob.ID) == 0 || queuedFor(b, tn.bob.ID) == 0; time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("bob holds %d of %d and has %d writes waiting", holdingOf(b, tn.bob.ID), b.capacity, queuedFor(b, tn.bob.ID))
				}
			}
			wctx, cancel := context.WithTimeout(ctx, 10*time.Second) // a third of the 30 s wait for a reservation
			defer cancel()
			if err := c.write(wctx); err != nil {
				t.Fatalf("alice's write beside bob's trickled ones: %v", err)
			}
		})
	}
}

// memberRequest sends a request as member m and fails unless it is
// answered 2xx.
func memberRequest(ctx context.Context, base string, m testMember, method, path, contentType string, body io.Reader) error {
	r, err := http.NewRequestWithContext(ctx, method, base+path, body)
	if err != nil {
		return err
	}
	r.Header.Set("Authorization", "Bearer "+m.Token)
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(msg)))
	}
	return nil
}

// uiBindingSecret is the browser-binding secret of uiLogin's clients,
// which send it with every request as the UI's scripts do.
const uiBindingSecret = "node-test-ui-binding"

type uiBindingTransport struct{}

func (uiBindingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Parley-Binding", uiBindingSecret)
	return http.DefaultTransport.RoundTrip(r)
}

// uiLogin logs m in to the web UI at base and returns a client that
// carries the session's cookie, its session bound as the login page's
// script binds it (the binding secret sent with every request).
func uiLogin(t *testing.T, base string, m testMember) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Transport: uiBindingTransport{}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(base + "/ui/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(string(body))
	if csrf == nil {
		t.Fatalf("no csrf field in the login page")
	}
	sum := sha256.Sum256([]byte(uiBindingSecret))
	resp, err = c.PostForm(base+"/ui/login", url.Values{"csrf": {csrf[1]}, "token": {m.Token}, "binding": {base64.RawURLEncoding.EncodeToString(sum[:])}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %s", resp.Status)
	}
	return c
}

// uiGet gets a UI page with c; anything but 200 is an error.
func uiGet(ctx context.Context, c *http.Client, u string) error {
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return nil
}

// budgetOf returns the memoryBudget behind g.
func budgetOf(t *testing.T, g sharedGate) *memoryBudget {
	t.Helper()
	b, ok := g.(*memoryBudget)
	if !ok {
		t.Fatalf("the budget is a %T", g)
	}
	return b
}

// queuedFor returns how many reservations of holder wait in b.
func queuedFor(b *memoryBudget, holder string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if q := b.queues[holder]; q != nil {
		return q.Len()
	}
	return 0
}

// holdingOf returns what holder holds of b.
func holdingOf(b *memoryBudget, holder string) int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.held[holder]
}

// waitQueued waits until a reservation of holder waits in b, failing t if
// the request ends first.
func waitQueued(t *testing.T, b *memoryBudget, holder string, done <-chan error) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); queuedFor(b, holder) == 0; time.Sleep(time.Millisecond) {
		select {
		case err := <-done:
			t.Fatalf("the request of %s ended (%v) without waiting for the budget", holder, err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no reservation of %s waits", holder)
		}
	}
}
