package node

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/parley-exchange/parley/taxii"
)

// A token pasted into a request's path (a careless "$URL/$TOKEN", a "?"
// typed as "/") is not written to the access log: the log kept the whole
// path, token included.
func TestAccessLogRedactsTokensInPaths(t *testing.T) {
	fn := newFrontNode(t, nil)
	tok := fn.alice.Token
	for _, path := range []string{"/" + tok, "/log/tile/" + tok, "/taxii2/" + tok + "/x", "/ui/search/token=" + tok} {
		req, err := http.NewRequest("GET", fn.srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	logs := fn.logs.String()
	if strings.Contains(logs, strings.TrimPrefix(tok, tokenPrefix)) {
		t.Errorf("the access log holds the token:\n%s", logs)
	}
	if n := strings.Count(logs, tokenPrefix+"(redacted)"); n < 4 {
		t.Errorf("%d paths logged as redacted, want at least 4:\n%s", n, logs)
	}
}

// What the route table doesn't route is answered with a TAXII error
// object like every other error of the node: an unknown path (404) and a
// route's path with another method (405, with Allow) were ServeMux's
// plain text.
func TestUnroutedAnswersAreTAXIIErrors(t *testing.T) {
	fn := newFrontNode(t, nil)
	for _, tc := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{"GET", "/nonexistent", 404, ""},
		{"GET", "/log/nonexistent", 404, ""},
		{"PUT", "/log/checkpoint", 405, "GET, HEAD"},
		{"DELETE", "/members", 405, "GET, HEAD"},
		{"POST", "/log/tile/0/000", 405, "GET, HEAD"},
		{"PATCH", "/private/sets", 405, "GET, HEAD, POST"},
	} {
		req, err := http.NewRequest(tc.method, fn.srv.URL+tc.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+fn.alice.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e taxii.Error
		err = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != tc.status || err != nil || e.HTTPStatus != strconv.Itoa(tc.status) || e.Title == "" ||
			resp.Header.Get("Content-Type") != taxii.MediaType || resp.Header.Get("Allow") != tc.allow {
			t.Errorf("%s %s: %d %q Allow %q, %+v (%v); want %d with a TAXII error, Allow %q", tc.method, tc.path, resp.StatusCode,
				resp.Header.Get("Content-Type"), resp.Header.Get("Allow"), e, err, tc.status, tc.allow)
		}
	}
	// ServeMux's redirect to the clean path still goes out as it was.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(fn.srv.URL + "/log//checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 3 || resp.Header.Get("Location") != "/log/checkpoint" {
		t.Errorf("GET /log//checkpoint: %d to %q, want a redirect to /log/checkpoint", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// An evaluation against a private set is logged without the set's id,
// the size of the answer or the time it took, which tell which set a
// member queried and how many values (docs/private.md: "never stored or
// logged"); the log kept all three.
func TestAccessLogKeepsNoPrivateQuery(t *testing.T) {
	fn := newFrontNode(t, nil)
	auth := "Bearer " + fn.alice.Token
	resp, body := fn.do(t, "POST", "/private/sets", auth, strings.NewReader(`{"collection":"`+fn.coll+`","values":["domain-name:evil.example"]}`))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("publish: %d %s", resp.StatusCode, body)
	}
	var set struct{ ID string }
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatal(err)
	}
	// The ristretto255 generator: a valid blinded element.
	elems := strings.Repeat(`"4vKuCmq8TnGohKlhxQBRX1jjC2qlgt2NtqZZReCNLXY=",`, 7)
	resp, body = fn.do(t, "POST", "/private/sets/"+set.ID+"/evaluate", auth, strings.NewReader(`{"elements":[`+strings.TrimSuffix(elems, ",")+`]}`))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("evaluate: %d %s", resp.StatusCode, body)
	}
	var line map[string]any
	for _, l := range strings.Split(fn.logs.String(), "\n") {
		if strings.Contains(l, `"route":"POST /private/sets/{id}/evaluate"`) {
			if err := json.Unmarshal([]byte(l), &line); err != nil {
				t.Fatal(err)
			}
		}
	}
	if line == nil {
		t.Fatalf("no access log line for the evaluation:\n%s", fn.logs.String())
	}
	for _, l := range strings.Split(fn.logs.String(), "\n") {
		if strings.Contains(l, "evaluate") && strings.Contains(l, strings.TrimPrefix(set.ID, "private-set--")) {
			t.Errorf("the evaluation's log line names the set: %s", l)
		}
	}
	for _, k := range []string{"bytes", "duration"} {
		if _, ok := line[k]; ok {
			t.Errorf("the evaluation's log line has %q: %v", k, line)
		}
	}
	if line["status"] != float64(200) || line["member"] == "" || line["path"] != "/private/sets/{id}/evaluate" {
		t.Errorf("the evaluation's log line: %v", line)
	}
}

// The metrics keep no more of an evaluation against a private set than
// the access log does (TestAccessLogKeepsNoPrivateQuery): the request
// is counted by route and status, but not timed, since its time tells
// how many values the member checked and the scraper stores it. The
// duration histogram had a series for the evaluation route.
func TestMetricsKeepNoPrivateQueryTime(t *testing.T) {
	fn := newFrontNode(t, nil)
	auth := "Bearer " + fn.alice.Token
	resp, body := fn.do(t, "POST", "/private/sets", auth, strings.NewReader(`{"collection":"`+fn.coll+`","values":["domain-name:evil.example"]}`))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("publish: %d %s", resp.StatusCode, body)
	}
	var set struct{ ID string }
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatal(err)
	}
	elems := strings.Repeat(`"4vKuCmq8TnGohKlhxQBRX1jjC2qlgt2NtqZZReCNLXY=",`, 7)
	resp, body = fn.do(t, "POST", "/private/sets/"+set.ID+"/evaluate", auth, strings.NewReader(`{"elements":[`+strings.TrimSuffix(elems, ",")+`]}`))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("evaluate: %d %s", resp.StatusCode, body)
	}
	rec := httptest.NewRecorder()
	fn.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("the metrics don't parse: %v", err)
	}
	const route = "POST /private/sets/{id}/evaluate"
	counted, timedPublish := false, false
	for _, m := range fams["parley_http_requests_total"].GetMetric() {
		if matches(m, map[string]string{"route": route, "status": "200"}) && m.GetCounter().GetValue() == 1 {
			counted = true
		}
	}
	for _, m := range fams["parley_http_request_duration_seconds"].GetMetric() {
		if matches(m, map[string]string{"route": route}) {
			t.Errorf("the evaluation is timed in the metrics: %v", m)
		}
		if matches(m, map[string]string{"route": "POST /private/sets"}) && m.GetHistogram().GetSampleCount() == 1 {
			timedPublish = true
		}
	}
	if !counted {
		t.Errorf("the evaluation is not counted by route and status")
	}
	if !timedPublish {
		t.Errorf("the publication is not timed: the metrics were not read as meant")
	}
}
