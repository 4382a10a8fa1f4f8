package match

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	neturl "net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/taxii"
)

// TestPush posts sightings to a TAXII add-objects endpoint and checks that
// each sighting arrives signed by the member's key.
func TestPush(t *testing.T) {
	pub, key, _ := ed25519.GenerateKey(nil)
	var got []json.RawMessage
	refuse := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/api/collections/c1/objects/" {
			http.NotFound(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		var env taxii.Envelope
		if err := json.Unmarshal(body, &env); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		got = append(got, env.Objects...)
		st := taxii.Status{ID: "s1", Status: "complete", TotalCount: len(env.Objects), SuccessCount: len(env.Objects)}
		if refuse {
			st.SuccessCount, st.FailureCount = 0, len(env.Objects)
			st.Failures = []taxii.StatusDetails{{ID: "x", Message: "signature does not match created_by_ref"}}
		}
		w.Header().Set("Content-Type", taxii.MediaType)
		w.WriteHeader(http.StatusAccepted)
		json.NewEncoder(w).Encode(st)
	}))
	defer srv.Close()

	set := NewIndicatorSet()
	set.Put(&Indicator{ID: "indicator--00000000-0000-4000-8000-000000000001", Pattern: "[domain-name:value = 'evil.example']"})
	active, _ := set.Active(testNow)
	e, _ := Compile(active, Options{})
	m := NewMatcher(e, Config{Identity: "identity--11111111-1111-4111-8111-111111111111", ObservedData: true, Now: func() time.Time { return testNow }})
	m.Line([]byte(`{"ts":1700000000.5,"id.orig_h":"10.0.0.1","query":"evil.example"}`))
	objs := m.Flush()
	client := &taxii.Client{BaseURL: srv.URL}
	if err := Push(context.Background(), client, "c1", key, objs); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(objs) {
		t.Fatalf("posted %d objects, want %d", len(got), len(objs))
	}
	signed := 0
	for _, raw := range got {
		var o map[string]any
		json.Unmarshal(raw, &o)
		pk, err := stix.Verify(raw)
		if err != nil || !pk.Equal(pub) {
			t.Fatalf("%v not signed by the member: %v", o["type"], err)
		}
		signed++
	}
	// The observables too: the node refuses an object without
	// created_by_ref unless its sender signed it.
	if signed != len(objs) {
		t.Errorf("%d signed objects of %d", signed, len(objs))
	}
	refuse = true
	if err := Push(context.Background(), client, "c1", key, objs); !errors.Is(err, ErrPush) {
		t.Errorf("refused push: %v", err)
	}
}

// TestPushLargeSightings: the envelopes of a push stay below the node's
// default max_content_length (10 MiB) however large its objects are, as a
// fleet member's sightings are that name many stream sequences: an
// envelope over it is refused (413) each time it is tried, by every member
// its messages are redelivered to.
func TestPushLargeSightings(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	var mu sync.Mutex
	posted := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, taxii.DefaultMaxContentLength))
		if err != nil {
			http.Error(w, "the request body is larger than max_content_length", http.StatusRequestEntityTooLarge)
			return
		}
		var env taxii.Envelope
		if err := json.Unmarshal(body, &env); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		posted += len(env.Objects)
		mu.Unlock()
		w.Header().Set("Content-Type", taxii.MediaType)
		w.WriteHeader(http.StatusAccepted)
		json.NewEncoder(w).Encode(taxii.Status{ID: "s1", Status: "complete", TotalCount: len(env.Objects), SuccessCount: len(env.Objects)})
	}))
	defer srv.Close()
	// 40 sightings of 30,000 sequences each, every other one: about
	// 500 KB each, 20 MB in all.
	var objs []map[string]any
	for i := range 40 {
		var seqs [][2]uint64
		for q := uint64(1); q <= 60000; q += 2 {
			seqs = append(seqs, [2]uint64{1_000_000 + q, 1_000_000 + q})
		}
		objs = append(objs, map[string]any{
			"type": "sighting", "spec_version": "2.1",
			"id":              fmt.Sprintf("sighting--00000000-0000-4000-8000-%012d", i),
			"created":         "2026-01-01T00:00:00.000Z",
			"modified":        "2026-01-01T00:00:00.000Z",
			"sighting_of_ref": "indicator--00000000-0000-4000-8000-000000000001",
			"count":           len(seqs),
			"x_parley_stream": "EVENTS", "x_parley_stream_sequences": seqs,
		})
	}
	if err := Push(context.Background(), &taxii.Client{BaseURL: srv.URL}, "c1", key, objs); err != nil {
		t.Fatal(err)
	}
	if posted != len(objs) {
		t.Errorf("%d objects posted, want %d", posted, len(objs))
	}
}

// TestUnavailable: what a push may try again (the node can't take it now)
// and what it may not (a refusal, a certificate that doesn't verify).
func TestUnavailable(t *testing.T) {
	refused := &neturl.Error{Op: "Post", URL: "http://127.0.0.1:1/", Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"503", &taxii.ResponseError{StatusCode: http.StatusServiceUnavailable}, true},
		{"502", &taxii.ResponseError{StatusCode: http.StatusBadGateway}, true},
		{"504", &taxii.ResponseError{StatusCode: http.StatusGatewayTimeout}, true},
		{"429", &taxii.ResponseError{StatusCode: http.StatusTooManyRequests}, true},
		{"connection refused", fmt.Errorf("couldn't reach the taxii server: %w", refused), true},
		{"cut mid-answer", fmt.Errorf("couldn't read the taxii response: %w", io.ErrUnexpectedEOF), true},
		{"400", &taxii.ResponseError{StatusCode: http.StatusBadRequest}, false},
		{"401", &taxii.ResponseError{StatusCode: http.StatusUnauthorized}, false},
		{"403", &taxii.ResponseError{StatusCode: http.StatusForbidden}, false},
		{"413", &taxii.ResponseError{StatusCode: http.StatusRequestEntityTooLarge}, false},
		{"500", &taxii.ResponseError{StatusCode: http.StatusInternalServerError}, false},
		{"507", &taxii.ResponseError{StatusCode: http.StatusInsufficientStorage}, false},
		{"unknown CA", &neturl.Error{Op: "Post", URL: "https://node/", Err: &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}}, false},
		{"wrong host", &neturl.Error{Op: "Post", URL: "https://node/", Err: x509.HostnameError{Host: "node"}}, false},
		{"HTTP to an HTTPS port", &neturl.Error{Op: "Post", URL: "https://node/", Err: tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}}, false},
		{"refused objects", fmt.Errorf("%w: the node refused 1 of 1 objects", ErrPush), false},
	} {
		if got := Unavailable(fmt.Errorf("%w: %w", ErrPush, c.err)); got != c.want {
			t.Errorf("%s: Unavailable = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestPushRetrying: a node that answers 503 (a front end taking over)
// and then drops the connection gets the push again until it takes it;
// a refusal is not tried again; a stop ends the tries.
func TestPushRetrying(t *testing.T) {
	oldFirst, oldMax := pushRetryFirst, pushRetryMax
	pushRetryFirst, pushRetryMax = 10*time.Millisecond, 20*time.Millisecond
	defer func() { pushRetryFirst, pushRetryMax = oldFirst, oldMax }()
	_, key, _ := ed25519.GenerateKey(nil)
	var mu sync.Mutex
	answers := []int{}
	posts := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		posts++
		code := http.StatusAccepted
		if len(answers) > 0 {
			code, answers = answers[0], answers[1:]
		}
		mu.Unlock()
		body, _ := io.ReadAll(r.Body)
		switch code {
		case 0: // the connection cut before an answer
			hj, _ := w.(http.Hijacker)
			conn, _, _ := hj.Hijack()
			conn.Close()
			return
		case http.StatusAccepted:
			var env taxii.Envelope
			json.Unmarshal(body, &env)
			w.Header().Set("Content-Type", taxii.MediaType)
			w.WriteHeader(code)
			json.NewEncoder(w).Encode(taxii.Status{ID: "s", Status: "complete", TotalCount: len(env.Objects), SuccessCount: len(env.Objects)})
		default:
			w.Header().Set("Content-Type", taxii.MediaType)
			w.WriteHeader(code)
			json.NewEncoder(w).Encode(taxii.Error{Title: http.StatusText(code)})
		}
	}))
	defer srv.Close()
	client := &taxii.Client{BaseURL: srv.URL}
	objs := []map[string]any{{"type": "sighting", "spec_version": "2.1", "id": "sighting--00000000-0000-4000-8000-000000000001",
		"created": "2026-01-01T00:00:00Z", "modified": "2026-01-01T00:00:00Z", "sighting_of_ref": "indicator--00000000-0000-4000-8000-000000000001"}}
	try := func(codes ...int) (error, int, int) {
		mu.Lock()
		answers, posts = codes, 0
		mu.Unlock()
		waits := 0
		err := PushRetrying(context.Background(), context.Background(), time.Minute, client, "c1", key, objs, func(error, time.Duration) { waits++ })
		mu.Lock()
		defer mu.Unlock()
		return err, posts, waits
	}
	if err, posts, waits := try(503, 0, 502, 429, 504); err != nil || posts != 6 || waits != 5 {
		t.Errorf("through 503, a cut connection, 502, 429 and 504: %v after %d posts and %d waits, want success after 6 and 5", err, posts, waits)
	}
	if err, posts, _ := try(403); !errors.Is(err, ErrPush) || posts != 1 {
		t.Errorf("403: %v after %d posts, want ErrPush after 1", err, posts)
	}
	stop, cancel := context.WithCancel(context.Background())
	mu.Lock()
	answers, posts = []int{503, 503, 503, 503, 503, 503, 503, 503}, 0
	mu.Unlock()
	err := PushRetrying(context.Background(), stop, time.Minute, client, "c1", key, objs, func(error, time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		if posts == 3 {
			cancel()
		}
	})
	mu.Lock()
	defer mu.Unlock()
	if !Unavailable(err) || posts != 3 {
		t.Errorf("stopped after the third 503: %v after %d posts, want the 503 after 3", err, posts)
	}
}

// TestPushSeparating: objects a node refuses for what they are (named as
// failed in its status, or alone in an envelope it refuses with 413) are
// set apart and the rest stored; a refusal of the member (403) or a
// server error (500) is an error, as with Push.
func TestPushSeparating(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	stored := map[string]bool{}
	status := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var env taxii.Envelope
		body, _ := io.ReadAll(r.Body)
		json.Unmarshal(body, &env)
		w.Header().Set("Content-Type", taxii.MediaType)
		if status != 0 {
			w.WriteHeader(status)
			io.WriteString(w, `{"title":"no"}`)
			return
		}
		st := taxii.Status{ID: "s1", Status: "complete", TotalCount: len(env.Objects)}
		var ids []string
		for _, raw := range env.Objects {
			var o struct{ ID string }
			json.Unmarshal(raw, &o)
			if strings.Contains(o.ID, "big") {
				w.WriteHeader(http.StatusRequestEntityTooLarge)
				io.WriteString(w, `{"title":"Request Entity Too Large","description":"over max_object_size"}`)
				return
			}
			ids = append(ids, o.ID)
		}
		for _, id := range ids {
			if strings.Contains(id, "bad") {
				st.FailureCount++
				st.Failures = append(st.Failures, taxii.StatusDetails{ID: id, Message: "stricter rules"})
				continue
			}
			st.SuccessCount++
			stored[id] = true
		}
		w.WriteHeader(http.StatusAccepted)
		json.NewEncoder(w).Encode(st)
	}))
	defer srv.Close()
	var objs []map[string]any
	for i := range 9 {
		id := fmt.Sprintf("x-ok-%d", i)
		switch i {
		case 2:
			id = "x-big"
		case 6:
			id = "x-bad"
		}
		objs = append(objs, map[string]any{"type": "x", "id": id})
	}
	client := &taxii.Client{BaseURL: srv.URL}
	refused, err := PushSeparating(context.Background(), client, "c1", key, objs)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range refused {
		names = append(names, r.Object["id"].(string)+": "+r.Reason)
	}
	if len(refused) != 2 || !strings.Contains(names[0], "x-big: ") || !strings.Contains(names[0], "413") || names[1] != "x-bad: stricter rules" {
		t.Errorf("refused %q, want x-big (413) and x-bad", names)
	}
	if len(stored) != 7 {
		t.Errorf("stored %d objects, want the other 7", len(stored))
	}
	if err := Push(context.Background(), client, "c1", key, objs); !errors.Is(err, ErrPush) {
		t.Errorf("Push of a refused object: %v, want an error", err)
	}
	for _, status = range []int{http.StatusForbidden, http.StatusInternalServerError} {
		if refused, err := PushSeparating(context.Background(), client, "c1", key, objs); !errors.Is(err, ErrPush) || len(refused) != 0 {
			t.Errorf("%d: refused %d, error %v; want ErrPush", status, len(refused), err)
		}
	}
}

// failingNode is a TAXII add-objects endpoint that stores what it is
// sent, except: while down, it answers 500 to everything; an envelope
// holding an object whose id has poison in it gets 500 (a node that fails
// on that object); one holding an id with "unnamed" gets a status that
// counts it failed without naming it. It counts the requests.
type failingNode struct {
	mu       sync.Mutex
	stored   map[string]bool
	down     bool
	poison   string
	requests int
	// downAfter, when positive, makes the node go down after that many
	// requests.
	downAfter int
	// maxBody, when positive, is the largest body the node receives
	// within its body_read_timeout: a larger one gets 408 (a slow link).
	maxBody int
	// readOnly makes the node one whose store takes no new writes and
	// still answers "already stored" for what it holds (a file system
	// remounted read-only): 500 for an envelope holding an object it
	// does not hold.
	readOnly bool
	// silent makes the node one that never says "already stored" (a
	// TAXII server other than Parley): a success for an object it held
	// reads as one for a new object.
	silent bool
}

func (f *failingNode) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	if f.downAfter > 0 && f.requests > f.downAfter {
		f.down = true
	}
	var env taxii.Envelope
	body, _ := io.ReadAll(r.Body)
	json.Unmarshal(body, &env)
	w.Header().Set("Content-Type", taxii.MediaType)
	if f.maxBody > 0 && len(body) > f.maxBody {
		w.WriteHeader(http.StatusRequestTimeout)
		io.WriteString(w, `{"title":"request timeout"}`)
		return
	}
	var ids []string
	for _, raw := range env.Objects {
		var o struct{ ID string }
		json.Unmarshal(raw, &o)
		if f.down || f.poison != "" && strings.Contains(o.ID, f.poison) || f.readOnly && !f.stored[o.ID] {
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, `{"title":"Internal Server Error"}`)
			return
		}
		ids = append(ids, o.ID)
	}
	st := taxii.Status{ID: "s1", Status: "complete", TotalCount: len(ids)}
	for _, id := range ids {
		if strings.Contains(id, "unnamed") {
			st.FailureCount++
			continue
		}
		st.SuccessCount++
		d := taxii.StatusDetails{ID: id}
		if f.stored[id] && !f.silent {
			d.Message = "already stored"
		}
		st.Successes = append(st.Successes, d)
		f.stored[id] = true
	}
	w.WriteHeader(http.StatusAccepted)
	json.NewEncoder(w).Encode(st)
}

func separatingObjects(n int, special map[int]string) []map[string]any {
	var objs []map[string]any
	for i := range n {
		id := fmt.Sprintf("x-ok-%d", i)
		if s, ok := special[i]; ok {
			id = s
		}
		objs = append(objs, map[string]any{"type": "x", "id": id})
	}
	return objs
}

// TestPushSeparatingPoison: an object the node fails on (500) while it
// stores the others is set apart, wherever it lies in the envelope
// (last too: the probe after it), and so are an object the node's status
// counts failed without naming it and one that can't be signed; the rest
// is stored. Before, each made the push fail, and a fleet member stop on
// its messages, one member after another.
func TestPushSeparatingPoison(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	for _, at := range []int{0, 5, 99} {
		node := &failingNode{stored: map[string]bool{}, poison: "poison"}
		srv := httptest.NewServer(node)
		special := map[int]string{at: "x-poison", 40: "x-unnamed"}
		objs := separatingObjects(100, special)
		objs[70]["number"] = json.Number("1e400") // out of a double's range: can't be signed
		refused, err := PushSeparating(context.Background(), &taxii.Client{BaseURL: srv.URL}, "c1", key, objs)
		srv.Close()
		if err != nil {
			t.Fatalf("poison at %d: %v", at, err)
		}
		reasons := map[string]string{}
		for _, r := range refused {
			reasons[r.Object["id"].(string)] = r.Reason
		}
		if len(refused) != 3 || !strings.Contains(reasons["x-poison"], "failed on it alone") || !strings.Contains(reasons["x-poison"], "500") ||
			!strings.Contains(reasons["x-unnamed"], "without naming") || !strings.Contains(reasons["x-ok-70"], "couldn't sign") {
			t.Errorf("poison at %d: refused %q, want x-poison (500), x-unnamed and x-ok-70 (unsigned)", at, reasons)
		}
		if len(node.stored) != 97 {
			t.Errorf("poison at %d: stored %d objects, want the other 97", at, len(node.stored))
		}
	}
}

// TestPushSeparatingDown: a node that fails on everything, from the
// start or in the middle of a push, has nothing set apart: the push fails
// with its error (500), within maxBlind requests and a probe.
func TestPushSeparatingDown(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	for _, downAfter := range []int{0, 1, 3, 8} {
		node := &failingNode{stored: map[string]bool{}, downAfter: downAfter, down: downAfter == 0}
		srv := httptest.NewServer(node)
		objs := separatingObjects(3000, map[int]string{2500: "x-poison"})
		node.poison = "poison"
		refused, err := PushSeparating(context.Background(), &taxii.Client{BaseURL: srv.URL}, "c1", key, objs)
		srv.Close()
		var re *taxii.ResponseError
		if len(refused) != 0 || !errors.As(err, &re) || re.StatusCode != http.StatusInternalServerError || !serverFailure(err) {
			t.Errorf("down after %d requests: refused %d, error %v; want the node's 500 and nothing set apart", downAfter, len(refused), err)
		}
		if node.requests > downAfter+maxBlind+aliveTries+1 {
			t.Errorf("down after %d requests: %d requests", downAfter, node.requests)
		}
	}
}

// TestPushRetryingSeparatingWaitsForDownNode: a node that answers 500 to
// everything is waited for, not taken for one object's refusal; once it
// works again, everything is stored and nothing set apart.
func TestPushRetryingSeparatingWaitsForDownNode(t *testing.T) {
	defer func(f, m time.Duration) { pushRetryFirst, pushRetryMax = f, m }(pushRetryFirst, pushRetryMax)
	pushRetryFirst, pushRetryMax = time.Millisecond, time.Millisecond
	_, key, _ := ed25519.GenerateKey(nil)
	node := &failingNode{stored: map[string]bool{}, down: true}
	srv := httptest.NewServer(node)
	defer srv.Close()
	waits := 0
	refused, err := PushRetryingSeparating(context.Background(), context.Background(), 0, &taxii.Client{BaseURL: srv.URL}, "c1", key, separatingObjects(10, nil),
		func(err error, _ time.Duration) {
			if waits++; waits == 3 {
				node.mu.Lock()
				node.down = false
				node.mu.Unlock()
			}
		})
	if err != nil || len(refused) != 0 || len(node.stored) != 10 || waits < 3 {
		t.Errorf("refused %d, stored %d, %d waits, error %v; want everything stored after the waits", len(refused), len(node.stored), waits, err)
	}
}

// TestPushSeparatingSuspectOutOfStorage: an object the node failed on
// alone (500) and then refuses with 507 when posted alone again (the
// member's quota or the node's disk filled meanwhile) is not set apart:
// the push fails with the node's 507, and PushRetryingSeparating waits.
func TestPushSeparatingSuspectOutOfStorage(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	var mu sync.Mutex
	tries := 0
	stored := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		var env taxii.Envelope
		body, _ := io.ReadAll(r.Body)
		json.Unmarshal(body, &env)
		w.Header().Set("Content-Type", taxii.MediaType)
		var ids []string
		for _, raw := range env.Objects {
			var o struct{ ID string }
			json.Unmarshal(raw, &o)
			if o.ID == "x-late" && !stored[o.ID] {
				tries++
				status := http.StatusInternalServerError
				if tries > 1 {
					status = http.StatusInsufficientStorage
				}
				w.WriteHeader(status)
				io.WriteString(w, `{"title":"failed"}`)
				return
			}
			ids = append(ids, o.ID)
		}
		for _, id := range ids {
			stored[id] = true
		}
		w.WriteHeader(http.StatusAccepted)
		json.NewEncoder(w).Encode(taxii.Status{ID: "s1", Status: "complete", TotalCount: len(ids), SuccessCount: len(ids)})
	}))
	defer srv.Close()
	refused, err := PushSeparating(context.Background(), &taxii.Client{BaseURL: srv.URL}, "c1", key, separatingObjects(8, map[int]string{3: "x-late"}))
	if len(refused) != 0 || !errors.Is(err, taxii.ErrInsufficientStorage) || !serverFailure(err) {
		t.Errorf("refused %d, error %v; want the node's 507 and nothing set apart", len(refused), err)
	}
}

// TestPushSeparatingSlowLink: a node that can't receive a large envelope
// within its body_read_timeout (408) gets the objects in smaller
// envelopes, none set apart; when even one object times out alone, the
// push fails with the 408 and PushRetryingSeparating waits, holding them,
// until the link carries them. Before, a 408 failed the push and the
// fleet member stopped (exit 4), and so did every member its messages
// went to over the same link.
func TestPushSeparatingSlowLink(t *testing.T) {
	defer func(f, m time.Duration) { pushRetryFirst, pushRetryMax = f, m }(pushRetryFirst, pushRetryMax)
	pushRetryFirst, pushRetryMax = time.Millisecond, time.Millisecond
	_, key, _ := ed25519.GenerateKey(nil)
	node := &failingNode{stored: map[string]bool{}, maxBody: 2000}
	srv := httptest.NewServer(node)
	defer srv.Close()
	client := &taxii.Client{BaseURL: srv.URL}
	refused, err := PushSeparating(context.Background(), client, "c1", key, separatingObjects(100, nil))
	if err != nil || len(refused) != 0 || len(node.stored) != 100 {
		t.Fatalf("refused %d, stored %d, error %v; want all 100 stored in smaller envelopes", len(refused), len(node.stored), err)
	}

	node = &failingNode{stored: map[string]bool{}, maxBody: 10}
	srv2 := httptest.NewServer(node)
	defer srv2.Close()
	client = &taxii.Client{BaseURL: srv2.URL}
	refused, err = PushSeparating(context.Background(), client, "c1", key, separatingObjects(10, nil))
	var re *taxii.ResponseError
	if !errors.Is(err, ErrPush) || !errors.As(err, &re) || re.StatusCode != http.StatusRequestTimeout || len(refused) != 0 {
		t.Fatalf("every object timing out alone: refused %d, error %v; want the push failed with 408, none set apart", len(refused), err)
	}
	waits := 0
	refused, err = PushRetryingSeparating(context.Background(), context.Background(), 0, client, "c1", key, separatingObjects(10, nil),
		func(err error, _ time.Duration) {
			if waits++; waits == 3 {
				node.mu.Lock()
				node.maxBody = 0
				node.mu.Unlock()
			}
		})
	if err != nil || len(refused) != 0 || len(node.stored) != 10 || waits < 3 {
		t.Errorf("refused %d, stored %d, %d waits, error %v; want everything stored after the waits", len(refused), len(node.stored), waits, err)
	}
}
