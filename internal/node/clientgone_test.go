package node

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/taxii"
)

// TestClientClosedRequest: a request whose client goes away before its
// answer, on every class of route (TAXII, /log, /private, the web UI and
// the API it forwards to), while its body is read or while the node works
// on it, is logged with status 499 and client_closed, and counted as 499
// in the metrics, never as an error; nothing is written to the gone
// client; and no error line is logged for it.
func TestClientClosedRequest(t *testing.T) {
	fn := newFrontNode(t, nil)
	started := make(chan struct{}, 1)
	h := fn.Handler(slog.New(slog.NewJSONHandler(fn.logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(HeaderRequestID) != "" {
			select {
			case started <- struct{}{}:
			default:
			}
		}
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()

	// An object sequenced but not integrated (no integrator runs): its
	// receipt waits ReceiptWait for a checkpoint.
	obj := indicator(t, fn.alice.ID, fn.key, t0)
	post(t, &taxii.Client{BaseURL: srv.URL, Token: fn.alice.Token}, fn.coll, obj)
	var head struct{ ID, Modified string }
	json.Unmarshal(obj, &head)
	receipt := "/log/receipt?" + url.Values{"object": {head.ID}, "version": {head.Modified}}.Encode()
	web := uiLogin(t, srv.URL, testMember{ID: fn.alice.ID, Token: fn.alice.Token})

	tests := []struct {
		name, method, path string
		// body is the start of a body that then never ends ("" for none).
		body  string
		web   bool   // with the web UI's session, else alice's token
		route string // the metrics label
	}{
		{"TAXII POST objects, body stalled", http.MethodPost, taxii.DefaultAPIRootPath + "collections/" + fn.coll + "/objects/", `{"objects": [`, false, "taxii objects"},
		{"TAXII POST objects, body stalled mid-object", http.MethodPost, taxii.DefaultAPIRootPath + "collections/" + fn.coll + "/objects/", `{"objects": [{"type": "indicator"`, false, "taxii objects"},
		{"log receipt, waiting for a checkpoint", http.MethodGet, receipt, "", false, "GET /log/receipt"},
		{"private publication, body stalled", http.MethodPost, "/private/sets", `{"values": ["domain-name:a.example",`, false, "POST /private/sets"},
		{"web UI login, form stalled", http.MethodPost, "/ui/login", "csrf=", true, "/ui/"},
		{"web UI API receipt", http.MethodGet, "/ui/api" + receipt, "", true, "/ui/"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := fmt.Sprintf("gone-%d", i)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var body io.Reader
			if tt.body != "" {
				pr, pw := io.Pipe()
				go func() {
					pw.Write([]byte(tt.body))
					<-ctx.Done()
					pw.CloseWithError(ctx.Err())
				}()
				body = pr
			}
			req, _ := http.NewRequestWithContext(ctx, tt.method, srv.URL+tt.path, body)
			req.Header.Set(HeaderRequestID, id)
			req.Header.Set("Accept", taxii.MediaType)
			c := srv.Client()
			switch {
			case tt.web:
				c = web
				if tt.body != "" {
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				}
			default:
				req.Header.Set("Authorization", "Bearer "+fn.alice.Token)
				if tt.body != "" {
					req.Header.Set("Content-Type", taxii.MediaType)
				}
			}
			before := requestCount(t, fn.Node, tt.route)
			errc := make(chan error, 1)
			go func() {
				resp, err := c.Do(req)
				if err == nil {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					err = fmt.Errorf("answered %s: %s", resp.Status, b)
				}
				errc <- err
			}()
			select {
			case <-started:
			case <-time.After(10 * time.Second):
				t.Fatal("the request didn't start")
			}
			time.Sleep(100 * time.Millisecond) // into the body read or the wait
			cancel()
			if err := <-errc; ctx.Err() == nil || !strings.Contains(err.Error(), "canceled") {
				t.Fatalf("the request ended before the client went: %v", err)
			}
			line := accessLine(t, fn.logs, id)
			if line["status"] != float64(taxii.StatusClientClosedRequest) || line["client_closed"] != true || line["bytes"] != float64(0) || line["route"] != tt.route {
				t.Errorf("access log %v, want status 499, client_closed, no bytes, route %q", line, tt.route)
			}
			for _, l := range fn.logs.lines(t) {
				if l["request_id"] == id && l["level"] == "ERROR" {
					t.Errorf("an error line for a request its client closed: %v", l)
				}
			}
			after := requestCount(t, fn.Node, tt.route)
			for status, n := range after {
				if d := n - before[status]; d != 0 && status != "499" {
					t.Errorf("metrics: %s %s counted %v more", tt.route, status, d)
				}
			}
			if d := after["499"] - before["499"]; d != 1 {
				t.Errorf("metrics: %s 499 counted %v more, want 1", tt.route, d)
			}
		})
	}
}

// TestNodeCanceledRequest: a context canceled by the node itself, not by
// the client, is still answered 503 "request canceled".
func TestNodeCanceledRequest(t *testing.T) {
	fn := newFrontNode(t, nil)
	fn.Extend(Extension{Routes: []Route{{Pattern: "GET /test/canceled", Auth: AuthMember, Member: func(w http.ResponseWriter, r *http.Request, m store.Member) {
		ctx, cancel := context.WithCancel(r.Context())
		cancel()
		respondError(w, r, ctx.Err())
	}}}})
	srv := httptest.NewServer(fn.Handler(slog.New(slog.NewJSONHandler(fn.logs, nil))))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/test/canceled", nil)
	req.Header.Set("Authorization", "Bearer "+fn.alice.Token)
	req.Header.Set(HeaderRequestID, "node-canceled")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), "request canceled") {
		t.Fatalf("a request the node canceled: %s %s", resp.Status, b)
	}
	if line := accessLine(t, fn.logs, "node-canceled"); line["status"] != float64(503) || line["client_closed"] != nil {
		t.Errorf("access log %v, want 503 without client_closed", line)
	}
}

// accessLine waits for the access log line of request id.
func accessLine(t *testing.T, logs *logBuffer, id string) map[string]any {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, l := range logs.lines(t) {
			if l["msg"] == "request" && l["request_id"] == id {
				return l
			}
		}
	}
	t.Fatalf("no access log line for request %s", id)
	return nil
}

// requestCount returns parley_http_requests_total of route by status.
func requestCount(t *testing.T, n *Node, route string) map[string]float64 {
	t.Helper()
	fams, err := n.metrics.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range fams {
		if f.GetName() != "parley_http_requests_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			var r, s string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "route":
					r = l.GetValue()
				case "status":
					s = l.GetValue()
				}
			}
			if r == route {
				out[s] = m.GetCounter().GetValue()
			}
		}
	}
	return out
}
