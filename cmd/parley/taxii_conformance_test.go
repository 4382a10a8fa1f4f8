package main

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The TAXII 2.1 conformance test below is a black-box client written from
// the OASIS TAXII 2.1 specification (docs.oasis-open.org/cti/taxii/v2.1),
// not from package taxii, which it does not import: it sets a node up with
// the CLI, serves it on a free port and speaks HTTP to it. Section numbers
// in the messages are the specification's. Where Parley deliberately
// differs (README, "TAXII 2.1"), the test checks the documented behaviour
// and says so.

const (
	confTAXII = "application/taxii+json;version=2.1"
	confSTIX  = "application/stix+json;version=2.1"
)

// uuid4RE matches an RFC 4122 version 4 UUID, lowercase.
var uuid4RE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// confResp is one HTTP answer.
type confResp struct {
	status int
	header http.Header
	body   []byte
}

func (r confResp) String() string {
	return fmt.Sprintf("%d %s", r.status, clipConf(string(r.body)))
}

func clipConf(s string) string {
	if len(s) > 600 {
		return s[:600] + "..."
	}
	return s
}

// confClient speaks TAXII 2.1 to a node as one member (token "" for an
// unauthenticated client).
type confClient struct {
	t     *testing.T
	base  string
	token string
}

func (c confClient) do(method, path string, hdr map[string]string, body io.Reader) confResp {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Accept", confTAXII)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: reading the answer: %v", method, path, err)
	}
	return confResp{status: resp.StatusCode, header: resp.Header, body: b}
}

func (c confClient) get(path string) confResp {
	c.t.Helper()
	return c.do(http.MethodGet, path, nil, nil)
}

func (c confClient) post(path string, objects ...json.RawMessage) confResp {
	c.t.Helper()
	env, err := json.Marshal(map[string]any{"objects": objects})
	if err != nil {
		c.t.Fatal(err)
	}
	return c.do(http.MethodPost, path, map[string]string{"Content-Type": confTAXII}, bytes.NewReader(env))
}

// checkTAXII checks the parts every TAXII answer must have: the TAXII
// media type (section 1.6.8) and a JSON body (none for HEAD), and, for an
// error, the error message resource (section 3.6.1) with its title and an
// http_status that is the status as a string.
func checkTAXII(t *testing.T, what string, r confResp, head bool) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(r.header.Get("Content-Type"))
	if err != nil || mt != "application/taxii+json" || params["version"] != "2.1" {
		t.Errorf("%s: Content-Type %q, want %s (1.6.8)", what, r.header.Get("Content-Type"), confTAXII)
	}
	if head {
		if len(r.body) != 0 {
			t.Errorf("%s: HEAD answered with a body", what)
		}
		return
	}
	var v map[string]any
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Errorf("%s: the body is not a JSON object: %v: %s", what, err, r)
		return
	}
	// 2.1 (list): empty lists are prohibited in TAXII. The one exception
	// is Parley's deliberate, documented one: an envelope without objects
	// has "objects": [] (README, "TAXII 2.1").
	var walk func(path string, x any)
	walk = func(path string, x any) {
		switch x := x.(type) {
		case []any:
			if len(x) == 0 && path != ".objects" {
				t.Errorf("%s: empty list at %s (2.1: empty lists are prohibited): %s", what, path, r)
			}
			for i, e := range x {
				walk(fmt.Sprintf("%s[%d]", path, i), e)
			}
		case map[string]any:
			for k, e := range x {
				walk(path+"."+k, e)
			}
		}
	}
	walk("", v)
	if r.status >= 400 {
		if title, _ := v["title"].(string); title == "" {
			t.Errorf("%s: error without a title (3.6.1): %s", what, r)
		}
		if hs, ok := v["http_status"]; ok && hs != strconv.Itoa(r.status) {
			t.Errorf("%s: http_status %v, answered %d (3.6.1)", what, hs, r.status)
		}
	}
}

// confDecode decodes r's body into v.
func confDecode(t *testing.T, what string, r confResp, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("%s: %v: %s", what, err, r)
	}
}

// sameAnswer reports how a and b differ in what a client can see, ignoring
// only the Date and X-Request-Id headers (the time and a random id, new on
// every answer); "" when they don't.
func sameAnswer(a, b confResp) string {
	if a.status != b.status {
		return fmt.Sprintf("status %d vs %d", a.status, b.status)
	}
	if !bytes.Equal(a.body, b.body) {
		return fmt.Sprintf("body %s vs %s", clipConf(string(a.body)), clipConf(string(b.body)))
	}
	for _, h := range []http.Header{a.header, b.header} {
		for k := range h {
			if k == "Date" || k == "X-Request-Id" {
				continue
			}
			if !slices.Equal(a.header.Values(k), b.header.Values(k)) {
				return fmt.Sprintf("header %s: %q vs %q", k, a.header.Values(k), b.header.Values(k))
			}
		}
	}
	return ""
}

type confMember struct {
	name, id, token, key string
}

type confEnvelope struct {
	More    *bool             `json:"more"`
	Next    string            `json:"next"`
	Objects []json.RawMessage `json:"objects"`
}

type confObj struct {
	ID          string `json:"id"`
	Type        string `json:"type"`
	SpecVersion string `json:"spec_version"`
	Created     string `json:"created"`
	Modified    string `json:"modified"`
	Revoked     bool   `json:"revoked"`
}

type confManifest struct {
	More    *bool  `json:"more"`
	Next    string `json:"next"`
	Objects []struct {
		ID        string `json:"id"`
		DateAdded string `json:"date_added"`
		Version   string `json:"version"`
		MediaType string `json:"media_type"`
	} `json:"objects"`
}

type confStatus struct {
	ID               string `json:"id"`
	Status           string `json:"status"`
	RequestTimestamp string `json:"request_timestamp"`
	TotalCount       *int   `json:"total_count"`
	SuccessCount     *int   `json:"success_count"`
	FailureCount     *int   `json:"failure_count"`
	PendingCount     *int   `json:"pending_count"`
	Successes        []struct {
		ID      string `json:"id"`
		Version string `json:"version"`
	} `json:"successes"`
}

func confObjects(t *testing.T, env confEnvelope) []confObj {
	t.Helper()
	var out []confObj
	for _, raw := range env.Objects {
		var o confObj
		if err := json.Unmarshal(raw, &o); err != nil {
			t.Fatal(err)
		}
		out = append(out, o)
	}
	return out
}

// confTime parses a TAXII timestamp (section 2.1: RFC 3339, UTC, "Z").
func confTime(t *testing.T, what, s string) time.Time {
	t.Helper()
	if !strings.HasSuffix(s, "Z") {
		t.Errorf("%s: timestamp %q is not in UTC with Z (2.1)", what, s)
	}
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("%s: timestamp %q: %v", what, s, err)
	}
	return ts
}

// taxiiRE is the TAXII timestamp (2.1): RFC 3339, UTC with Z, and, unlike
// STIX timestamps, exactly microsecond precision.
var taxiiRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$`)

// taxiiTime parses a TAXII timestamp (date_added, request_timestamp, the
// X-TAXII-Date-Added headers), which must have microsecond precision.
func taxiiTime(t *testing.T, what, s string) time.Time {
	t.Helper()
	if !taxiiRE.MatchString(s) {
		t.Errorf("%s: %q is not a TAXII timestamp, YYYY-MM-DDTHH:MM:SS.ssssssZ (2.1)", what, s)
	}
	return confTime(t, what, s)
}

// startConformanceNode sets a node up with members of different roles
// and serves it; it returns its base URL and the members: alice (reads
// and writes "intel"), bob (reads only), carol (writes only), dave
// (neither, reads "other").
func startConformanceNode(t *testing.T) (base string, members map[string]confMember, intel, other, relay string) {
	t.Helper()
	dir := t.TempDir()
	data := filepath.Join(dir, "node")
	run := func(args ...string) string {
		t.Helper()
		code, stdout, stderr := runCLI(t, args...)
		if code != 0 {
			t.Fatalf("parley %s: exit %d: %s", strings.Join(args, " "), code, stderr)
		}
		return stdout
	}
	run("init", "--data", data)
	members = map[string]confMember{}
	for _, name := range []string{"alice", "bob", "carol", "dave"} {
		key := filepath.Join(dir, name+".key")
		run("keygen", "--out", key)
		tokenFile := filepath.Join(dir, name+".json")
		run("member", "add", "--data", data, "--name", name, "--pubkey", key+".pub", "--token-out", tokenFile)
		var tf struct{ ID, Token string }
		b, err := os.ReadFile(tokenFile)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &tf); err != nil {
			t.Fatal(err)
		}
		members[name] = confMember{name: name, id: tf.ID, token: tf.Token, key: key}
	}
	collID := func(out string) string {
		var v struct{ ID string }
		if err := json.Unmarshal([]byte(out), &v); err != nil || v.ID == "" {
			t.Fatalf("collection add: %q", out)
		}
		return v.ID
	}
	intel = collID(run("collection", "add", "--data", data, "--title", "intel", "--read", "alice,bob", "--write", "alice,carol", "--json"))
	other = collID(run("collection", "add", "--data", data, "--title", "other", "--read", "dave", "--write", "dave", "--json"))
	relay = collID(run("collection", "add", "--data", data, "--title", "relay", "--read", "alice", "--write", "alice,carol", "--relay", "--signatures", "optional", "--json"))

	ctx, cancel := context.WithCancel(context.Background())
	var stderr syncBuffer
	urlFile := filepath.Join(dir, "url")
	done := make(chan int, 1)
	go func() {
		c := &cli{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &stderr, getenv: func(string) string { return "" }}
		done <- c.main(ctx, []string{"serve", "--data", data, "--listen", "127.0.0.1:0", "--url-file", urlFile})
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve: exit %d: %s", code, stderr.String())
		}
	})
	for deadline := time.Now().Add(30 * time.Second); base == ""; {
		if time.Now().After(deadline) {
			t.Fatalf("serve didn't start: %s", stderr.String())
		}
		if b, err := os.ReadFile(urlFile); err == nil {
			base = strings.TrimSpace(string(b))
		}
		time.Sleep(10 * time.Millisecond)
	}
	return base, members, intel, other, relay
}

// signConf signs a STIX object (JSON with %s for the author's identity, if any)
// with m's key, as `parley sign` does.
func signConf(t *testing.T, m confMember, object string) json.RawMessage {
	t.Helper()
	f := filepath.Join(t.TempDir(), "o.json")
	if err := os.WriteFile(f, []byte(strings.ReplaceAll(object, "%s", m.id)), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "sign", "--key", m.key, f)
	if code != 0 {
		t.Fatalf("sign: exit %d: %s", code, stderr)
	}
	return json.RawMessage(strings.TrimSpace(stdout))
}

// TestTAXIIConformance checks the MUSTs of TAXII 2.1 on every endpoint
// the node serves, as a reader, a writer that may not read, a member that
// may not see the collection and an unauthenticated client.
func TestTAXIIConformance(t *testing.T) {
	base, m, intel, other, relay := startConformanceNode(t)
	alice := confClient{t, base, m["alice"].token}
	bob := confClient{t, base, m["bob"].token}
	carol := confClient{t, base, m["carol"].token}
	dave := confClient{t, base, m["dave"].token}
	anon := confClient{t, base, ""}
	const (
		ind  = "indicator--6b5e1c39-0a4e-4f0f-8d55-3c1c5f6f2b11"
		mal  = "malware--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061"
		rel  = "relationship--44298a74-ba52-4f0c-87a3-1824e67d7fad"
		none = "indicator--00000000-0000-4000-8000-000000000000"
		// A collection id that doesn't exist: what a member that may not
		// see intel gets must be the same as for this one.
		ghost = "0b1a4c7e-5d8e-4f2a-9c3b-7e6f5d4c3b2a"
	)
	indicator := func(modified string, revoked bool) string {
		return `{"type":"indicator","spec_version":"2.1","id":"` + ind + `","created":"2026-09-14T08:30:00.000Z","modified":"` + modified + `","created_by_ref":"%s","name":"portal","pattern":"[domain-name:value = 'portal.example']","pattern_type":"stix","valid_from":"2026-09-14T08:30:00Z","revoked":` + strconv.FormatBool(revoked) + `}`
	}
	v1, v2, v3 := "2026-09-14T08:30:00.000Z", "2026-09-15T08:30:00.000Z", "2026-09-16T08:30:00.000Z"
	objPath := "/api/collections/" + intel + "/objects/"

	// Versions in separate requests, so that each has its own date_added.
	var statuses []confStatus
	for i, objs := range [][]json.RawMessage{
		{signConf(t, m["alice"], indicator(v1, false)), signConf(t, m["alice"], `{"type":"malware","spec_version":"2.1","id":"`+mal+`","created":"2026-09-14T08:30:00.000Z","modified":"2026-09-14T08:30:00.000Z","created_by_ref":"%s","name":"x","is_family":false}`)},
		{signConf(t, m["alice"], indicator(v2, false))},
		{signConf(t, m["alice"], `{"type":"relationship","spec_version":"2.1","id":"`+rel+`","created":"2026-09-14T08:30:00.000Z","modified":"2026-09-14T08:30:00.000Z","created_by_ref":"%s","relationship_type":"indicates","source_ref":"`+ind+`","target_ref":"`+mal+`"}`)},
		{signConf(t, m["alice"], indicator(v3, true))},
	} {
		r := alice.post(objPath, objs...)
		checkTAXII(t, "add objects", r, false)
		if r.status != http.StatusAccepted {
			t.Fatalf("add objects %d: %s, want 202 (5.4)", i, r)
		}
		var st confStatus
		confDecode(t, "status", r, &st)
		statuses = append(statuses, st)
	}

	t.Run("4.1 discovery", func(t *testing.T) {
		for _, path := range []string{"/taxii2/"} {
			r := alice.get(path)
			checkTAXII(t, path, r, false)
			var d struct {
				Title    *string  `json:"title"`
				Default  string   `json:"default"`
				APIRoots []string `json:"api_roots"`
			}
			confDecode(t, path, r, &d)
			if r.status != 200 || d.Title == nil {
				t.Errorf("%s: %s: want 200 with a title", path, r)
			}
			for _, u := range append(d.APIRoots, d.Default) {
				if u == "" && d.Default == "" {
					continue
				}
				if pu, err := url.Parse(u); err != nil || !pu.IsAbs() || !strings.HasSuffix(pu.Path, "/") {
					t.Errorf("%s: api root %q is not an absolute URL ending in / (4.1.1)", path, u)
				}
			}
		}
	})

	t.Run("4.2 api root", func(t *testing.T) {
		r := alice.get("/api/")
		checkTAXII(t, "api root", r, false)
		var a struct {
			Title            *string  `json:"title"`
			Versions         []string `json:"versions"`
			MaxContentLength *int64   `json:"max_content_length"`
		}
		confDecode(t, "api root", r, &a)
		if r.status != 200 || a.Title == nil || a.MaxContentLength == nil || !slices.Contains(a.Versions, confTAXII) {
			t.Errorf("api root: %s: want title, max_content_length and versions holding %s (4.2.1)", r, confTAXII)
		}
	})

	t.Run("5.1 collections", func(t *testing.T) {
		want := map[string][2]bool{ // can_read, can_write of intel; absent: not listed
			"alice": {true, true}, "bob": {true, false}, "carol": {false, true},
		}
		for name, c := range map[string]confClient{"alice": alice, "bob": bob, "carol": carol, "dave": dave} {
			r := c.get("/api/collections/")
			checkTAXII(t, name, r, false)
			var cs struct {
				Collections []struct {
					ID         *string  `json:"id"`
					Title      *string  `json:"title"`
					CanRead    *bool    `json:"can_read"`
					CanWrite   *bool    `json:"can_write"`
					MediaTypes []string `json:"media_types"`
				} `json:"collections"`
			}
			confDecode(t, name, r, &cs)
			found := false
			for _, col := range cs.Collections {
				if col.ID == nil || col.Title == nil || col.CanRead == nil || col.CanWrite == nil {
					t.Errorf("%s: a collection lacks id, title, can_read or can_write (5.2.1): %s", name, r)
					continue
				}
				if len(col.MediaTypes) > 0 && !slices.Contains(col.MediaTypes, confSTIX) {
					t.Errorf("%s: media_types %q", name, col.MediaTypes)
				}
				if !uuid4RE.MatchString(*col.ID) {
					t.Errorf("%s: collection id %q is not an RFC 4122 version 4 UUID (2.1 identifier)", name, *col.ID)
				}
				if *col.ID == intel {
					found = true
					if w, ok := want[name]; !ok || w != [2]bool{*col.CanRead, *col.CanWrite} {
						t.Errorf("%s: intel listed with can_read %v, can_write %v", name, *col.CanRead, *col.CanWrite)
					}
				}
			}
			if _, ok := want[name]; ok != found {
				t.Errorf("%s: intel listed: %v", name, found)
			}
		}
	})

	// Every endpoint under a collection, for a member that may not see it
	// and for one that is not authenticated, answers as for a collection
	// that doesn't exist: nothing in status, headers or body tells that
	// intel exists or what it holds.
	t.Run("no leak", func(t *testing.T) {
		paths := []string{
			"", "objects/", "objects/?match[version]=all", "objects/" + ind + "/", "objects/" + ind + "/versions/",
			"objects/" + none + "/", "manifest/", "manifest/?added_after=2000-01-01T00:00:00Z",
		}
		for _, c := range []struct {
			name string
			c    confClient
		}{{"dave", dave}, {"unauthenticated", anon}, {"bad token", confClient{t, base, "parley_not-a-token"}}} {
			for _, p := range paths {
				for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodDelete} {
					r := c.c.do(method, "/api/collections/"+intel+"/"+p, nil, nil)
					g := c.c.do(method, "/api/collections/"+ghost+"/"+p, nil, nil)
					if d := sameAnswer(r, g); d != "" {
						t.Errorf("%s %s %s: intel and a collection that doesn't exist differ: %s", c.name, method, p, d)
					}
					if r.status < 400 {
						t.Errorf("%s %s %s: %s", c.name, method, p, r)
					}
					checkTAXII(t, c.name+" "+method+" "+p, r, method == http.MethodHead)
				}
			}
			obj := signConf(t, m["dave"], indicator(v1, false))
			r := c.c.post("/api/collections/"+intel+"/objects/", obj)
			g := c.c.post("/api/collections/"+ghost+"/objects/", obj)
			if d := sameAnswer(r, g); d != "" || r.status < 400 {
				t.Errorf("%s POST: %s; differs from a collection that doesn't exist: %s", c.name, r, d)
			}
			checkTAXII(t, c.name+" POST", r, false)
		}
		// Another member's status is answered as an unknown one.
		for _, c := range []confClient{bob, dave, carol} {
			r := c.get("/api/status/" + statuses[0].ID + "/")
			g := c.get("/api/status/" + ghost + "/")
			if d := sameAnswer(r, g); d != "" || r.status != 404 {
				t.Errorf("another member's status: %s; differs from an unknown one: %s", r, d)
			}
		}
		if r := anon.get("/api/status/" + statuses[0].ID + "/"); r.status != 401 {
			t.Errorf("unauthenticated status: %s", r)
		}
		// dave's own collection tells nothing of intel either.
		r := dave.get("/api/collections/" + other + "/objects/?match[id]=" + ind + "&match[version]=all")
		var env confEnvelope
		confDecode(t, "dave's objects", r, &env)
		if r.status != 200 || len(env.Objects) != 0 {
			t.Errorf("dave's own collection: %s", r)
		}
	})

	t.Run("3.6 401 403 404 406 415", func(t *testing.T) {
		for _, c := range []struct {
			what   string
			r      confResp
			status int
		}{
			{"discovery without credentials", anon.get("/taxii2/"), 401},
			{"api root without credentials", anon.get("/api/"), 401},
			{"collections without credentials", anon.get("/api/collections/"), 401},
			{"no Accept", alice.do("GET", "/api/collections/", map[string]string{"Accept": ""}, nil), 406},
			{"Accept of STIX", alice.do("GET", "/api/collections/", map[string]string{"Accept": confSTIX}, nil), 406},
			{"Accept of TAXII 2.0", alice.do("GET", "/api/collections/", map[string]string{"Accept": "application/taxii+json;version=2.0"}, nil), 406},
			{"Accept of TAXII 2.1 with others", alice.do("GET", "/api/collections/", map[string]string{"Accept": "text/html, application/taxii+json;version=2.1;q=0.5"}, nil), 200},
			{"write-only member reads", carol.get(objPath), 403},
			{"write-only member reads the manifest", carol.get("/api/collections/" + intel + "/manifest/"), 403},
			{"write-only member reads an object", carol.get(objPath + ind + "/"), 403},
			{"write-only member reads versions", carol.get(objPath + ind + "/versions/"), 403},
			{"read-only member writes", bob.post(objPath, signConf(t, m["bob"], indicator(v1, false))), 403},
			{"unknown object", alice.get(objPath + none + "/"), 404},
			{"versions of an unknown object", alice.get(objPath + none + "/versions/"), 404},
			{"unknown status", alice.get("/api/status/" + ghost + "/"), 404},
			{"wrong Content-Type", alice.do("POST", objPath, map[string]string{"Content-Type": "application/json"}, strings.NewReader(`{"objects":[]}`)), 415},
			{"STIX Content-Type", alice.do("POST", objPath, map[string]string{"Content-Type": confSTIX}, strings.NewReader(`{"objects":[]}`)), 415},
			{"bad added_after", alice.get(objPath + "?added_after=yesterday"), 400},
			{"bad limit", alice.get(objPath + "?limit=-1"), 400},
			{"bad match[version]", alice.get(objPath + "?match[version]=newest"), 400},
			{"not JSON", alice.do("POST", objPath, map[string]string{"Content-Type": confTAXII}, strings.NewReader(`{"objects":`)), 400},
		} {
			checkTAXII(t, c.what, c.r, false)
			if c.r.status != c.status {
				t.Errorf("%s: %s, want %d", c.what, c.r, c.status)
			}
			if c.status == 401 && len(c.r.header.Values("WWW-Authenticate")) == 0 {
				t.Errorf("%s: 401 without WWW-Authenticate (RFC 9110 11.6.1)", c.what)
			}
		}
	})

	t.Run("5.3 objects", func(t *testing.T) {
		get := func(c confClient, q string) (confResp, []confObj, confEnvelope) {
			t.Helper()
			r := c.get(objPath + q)
			checkTAXII(t, q, r, false)
			if r.status != 200 {
				t.Fatalf("objects %s: %s", q, r)
			}
			var env confEnvelope
			confDecode(t, q, r, &env)
			return r, confObjects(t, env), env
		}
		versionsOf := func(objs []confObj) []string {
			var out []string
			for _, o := range objs {
				out = append(out, o.ID+"@"+o.Modified)
			}
			sort.Strings(out)
			return out
		}
		all := []string{ind + "@" + v1, ind + "@" + v2, ind + "@" + v3, mal + "@" + v1, rel + "@" + v1}
		sort.Strings(all)
		for _, c := range []struct {
			q    string
			want []string
		}{
			{"", []string{ind + "@" + v3, mal + "@" + v1, rel + "@" + v1}}, // 3.4.2: default last
			{"?match[version]=last", []string{ind + "@" + v3, mal + "@" + v1, rel + "@" + v1}},
			{"?match[version]=all", all},
			{"?match[version]=first", []string{ind + "@" + v1, mal + "@" + v1, rel + "@" + v1}},
			{"?match[version]=first,last", []string{ind + "@" + v1, ind + "@" + v3, mal + "@" + v1, rel + "@" + v1}},
			{"?match[version]=" + v2, []string{ind + "@" + v2}},
			{"?match[version]=" + v1 + "," + v2, []string{ind + "@" + v1, ind + "@" + v2, mal + "@" + v1, rel + "@" + v1}},
			{"?match[type]=indicator&match[version]=all", []string{ind + "@" + v1, ind + "@" + v2, ind + "@" + v3}},
			{"?match[type]=malware,relationship", []string{mal + "@" + v1, rel + "@" + v1}},
			{"?match[type]=malware&match[type]=relationship", []string{mal + "@" + v1, rel + "@" + v1}},
			{"?match[id]=" + mal + "," + ind, []string{ind + "@" + v3, mal + "@" + v1}},
			{"?match[spec_version]=2.1", []string{ind + "@" + v3, mal + "@" + v1, rel + "@" + v1}},
			{"?match[spec_version]=2.0", nil},
			{"?match[type]=campaign", nil},
		} {
			for _, who := range []confClient{alice, bob} {
				_, objs, env := get(who, c.q)
				if got := versionsOf(objs); !slices.Equal(got, c.want) {
					t.Errorf("objects %s: got %q, want %q", c.q, got, c.want)
				}
				if env.More == nil || *env.More {
					t.Errorf("objects %s: more %v, want false", c.q, env.More)
				}
			}
		}

		// 3.5: ascending by date added; the headers are the first and
		// last date added of the page; added_after is strict.
		mr := alice.get("/api/collections/" + intel + "/manifest/?match[version]=all")
		var man confManifest
		confDecode(t, "manifest", mr, &man)
		if len(man.Objects) != 5 {
			t.Fatalf("manifest: %s", mr)
		}
		added := map[string]time.Time{}
		var prev time.Time
		for i, rec := range man.Objects {
			ts := taxiiTime(t, "date_added", rec.DateAdded)
			if i > 0 && ts.Before(prev) {
				t.Errorf("manifest not ascending by date_added (3.5): %s", mr)
			}
			prev = ts
			added[rec.ID+"@"+rec.Version] = ts
		}
		r, objs, _ := get(alice, "?match[version]=all")
		for i, o := range objs {
			if want := man.Objects[i].ID + "@" + man.Objects[i].Version; o.ID+"@"+o.Modified != want {
				t.Errorf("objects[%d] is %s@%s; the manifest's order has %s", i, o.ID, o.Modified, want)
			}
		}
		first := taxiiTime(t, "X-TAXII-Date-Added-First", r.header.Get("X-TAXII-Date-Added-First"))
		last := taxiiTime(t, "X-TAXII-Date-Added-Last", r.header.Get("X-TAXII-Date-Added-Last"))
		if !first.Equal(confTime(t, "", man.Objects[0].DateAdded)) || !last.Equal(confTime(t, "", man.Objects[4].DateAdded)) {
			t.Errorf("date added headers %s..%s; manifest %s..%s (3.3)", first, last, man.Objects[0].DateAdded, man.Objects[4].DateAdded)
		}
		after := man.Objects[1].DateAdded
		_, objs, _ = get(alice, "?match[version]=all&added_after="+after)
		var want []string
		for _, rec := range man.Objects[2:] {
			want = append(want, rec.ID+"@"+rec.Version)
		}
		sort.Strings(want)
		if got := versionsOf(objs); !slices.Equal(got, want) {
			t.Errorf("added_after=%s: %q, want %q", after, got, want)
		}
		r, objs, env := get(alice, "?match[version]=all&added_after="+man.Objects[4].DateAdded)
		if len(objs) != 0 || env.More == nil || *env.More {
			t.Errorf("added_after the last: %s", r)
		}

		// 3.4/3.5: limit, more and next page through every version once.
		var paged []string
		q := "?match[version]=all&limit=2"
		for i := 0; ; i++ {
			if i > 5 {
				t.Fatal("paging doesn't end")
			}
			r, objs, env := get(alice, q)
			if len(objs) > 2 {
				t.Errorf("limit=2: %d objects", len(objs))
			}
			for _, o := range objs {
				paged = append(paged, o.ID+"@"+o.Modified)
			}
			if len(objs) > 0 {
				f := taxiiTime(t, "first", r.header.Get("X-TAXII-Date-Added-First"))
				l := taxiiTime(t, "last", r.header.Get("X-TAXII-Date-Added-Last"))
				if !f.Equal(added[objs[0].ID+"@"+objs[0].Modified]) || !l.Equal(added[objs[len(objs)-1].ID+"@"+objs[len(objs)-1].Modified]) {
					t.Errorf("page %d: date added headers %s..%s don't bound its objects", i, f, l)
				}
			}
			if env.More == nil {
				t.Fatalf("page without more: %s", r)
			}
			if !*env.More {
				break
			}
			if env.Next == "" {
				t.Fatalf("more without next: %s", r)
			}
			q = "?match[version]=all&limit=2&next=" + url.QueryEscape(env.Next)
		}
		sort.Strings(paged)
		if !slices.Equal(paged, all) {
			t.Errorf("paging: %q, want %q", paged, all)
		}
	})

	t.Run("5.5 object", func(t *testing.T) {
		for _, c := range []struct {
			q    string
			want []string
		}{
			{"", []string{v3}},
			{"?match[version]=all", []string{v1, v2, v3}},
			{"?match[version]=first", []string{v1}},
			{"?match[version]=" + v2, []string{v2}},
			{"?match[spec_version]=2.0", nil},
		} {
			r := bob.get(objPath + ind + "/" + c.q)
			checkTAXII(t, "object", r, false)
			var env confEnvelope
			confDecode(t, "object", r, &env)
			var got []string
			for _, o := range confObjects(t, env) {
				if o.ID != ind {
					t.Errorf("object %s: holds %s", c.q, o.ID)
				}
				got = append(got, o.Modified)
			}
			sort.Strings(got)
			if r.status != 200 || !slices.Equal(got, c.want) {
				t.Errorf("object %s: %s: versions %q, want %q", c.q, r, got, c.want)
			}
			if len(got) > 0 && r.header.Get("X-TAXII-Date-Added-First") == "" {
				t.Errorf("object %s: no X-TAXII-Date-Added-First (3.3)", c.q)
			}
		}
	})

	t.Run("5.6 manifest", func(t *testing.T) {
		r := bob.get("/api/collections/" + intel + "/manifest/")
		checkTAXII(t, "manifest", r, false)
		var man confManifest
		confDecode(t, "manifest", r, &man)
		if r.status != 200 || len(man.Objects) != 3 || man.More == nil {
			t.Fatalf("manifest: %s", r)
		}
		for _, rec := range man.Objects {
			if rec.ID == "" || rec.DateAdded == "" || rec.Version == "" {
				t.Errorf("manifest record lacks id, date_added or version (5.6.1): %s", r)
			}
			taxiiTime(t, "date_added", rec.DateAdded)
			if rec.MediaType != "" && rec.MediaType != confSTIX {
				t.Errorf("manifest media_type %q", rec.MediaType)
			}
			if rec.ID == ind && rec.Version != v3 {
				t.Errorf("manifest: %s at %s, want the last, %s", ind, rec.Version, v3)
			}
		}
		if r.header.Get("X-TAXII-Date-Added-First") == "" || r.header.Get("X-TAXII-Date-Added-Last") == "" {
			t.Errorf("manifest without the date added headers (3.3)")
		}
		r = bob.get("/api/collections/" + intel + "/manifest/?match[type]=malware")
		confDecode(t, "manifest", r, &man)
		if len(man.Objects) != 1 || man.Objects[0].ID != mal {
			t.Errorf("manifest match[type]=malware: %s", r)
		}
	})

	t.Run("5.7 versions", func(t *testing.T) {
		r := bob.get(objPath + ind + "/versions/")
		checkTAXII(t, "versions", r, false)
		var vs struct {
			More     *bool    `json:"more"`
			Versions []string `json:"versions"`
		}
		confDecode(t, "versions", r, &vs)
		if r.status != 200 || !slices.Equal(vs.Versions, []string{v1, v2, v3}) || vs.More == nil || *vs.More {
			t.Errorf("versions: %s", r)
		}
		if r.header.Get("X-TAXII-Date-Added-First") == "" || r.header.Get("X-TAXII-Date-Added-Last") == "" {
			t.Errorf("versions without the date added headers (3.3)")
		}
		r = bob.get(objPath + ind + "/versions/?limit=1")
		confDecode(t, "versions", r, &vs)
		if len(vs.Versions) != 1 || vs.More == nil || !*vs.More {
			t.Errorf("versions limit=1: %s", r)
		}
	})

	t.Run("5.4 add objects and 4.3 status", func(t *testing.T) {
		for i, st := range statuses {
			if st.ID == "" || st.Status == "" || st.TotalCount == nil || st.SuccessCount == nil || st.FailureCount == nil || st.PendingCount == nil {
				t.Errorf("status %d lacks a required property (4.3.1): %+v", i, st)
				continue
			}
			if !uuid4RE.MatchString(st.ID) {
				t.Errorf("status id %q is not an RFC 4122 version 4 UUID (2.1 identifier)", st.ID)
			}
			if *st.TotalCount != *st.SuccessCount+*st.FailureCount+*st.PendingCount {
				t.Errorf("status %d: total_count isn't the sum of the others (4.3.1): %+v", i, st)
			}
			if st.Status != "complete" && st.Status != "pending" {
				t.Errorf("status %d: status %q", i, st.Status)
			}
			for _, s := range st.Successes {
				if s.ID == "" || s.Version == "" {
					t.Errorf("status %d: a success without id or version (4.3.1)", i)
				}
			}
			r := alice.get("/api/status/" + st.ID + "/")
			checkTAXII(t, "status", r, false)
			var again confStatus
			confDecode(t, "status", r, &again)
			if r.status != 200 || again.ID != st.ID {
				t.Errorf("GET status %d: %s", i, r)
			}
		}
		// A write-only member may add objects.
		r := carol.post(objPath, signConf(t, m["carol"], `{"type":"malware","spec_version":"2.1","id":"malware--9c7b5b88-8ff7-4a4d-aa9d-feb398cd0061","created":"2026-09-14T08:30:00.000Z","modified":"2026-09-14T08:30:00.000Z","created_by_ref":"%s","name":"y","is_family":false}`))
		checkTAXII(t, "carol's add", r, false)
		if r.status != 202 {
			t.Errorf("write-only member adds: %s", r)
		}
		// 413: a body over max_content_length.
		var a struct {
			MaxContentLength int64 `json:"max_content_length"`
		}
		confDecode(t, "api root", alice.get("/api/"), &a)
		body := io.MultiReader(strings.NewReader(`{"objects":[{"x":"`), io.LimitReader(zeros{}, a.MaxContentLength), strings.NewReader(`"}]}`))
		r = alice.do("POST", objPath, map[string]string{"Content-Type": confTAXII}, body)
		checkTAXII(t, "too large", r, false)
		if r.status != 413 {
			t.Errorf("a body over max_content_length: %s, want 413", r)
		}
	})

	t.Run("4.3 status with failures", func(t *testing.T) {
		good := signConf(t, m["alice"], `{"type":"malware","spec_version":"2.1","id":"malware--1c7b5b88-8ff7-4a4d-aa9d-feb398cd0061","created":"2026-09-14T08:30:00.000Z","modified":"2026-09-14T08:30:00.000Z","created_by_ref":"%s","name":"z","is_family":false}`)
		tampered := json.RawMessage(strings.Replace(string(good), `"name":"z"`, `"name":"w"`, 1))
		unsigned := json.RawMessage(fmt.Sprintf(`{"type":"malware","spec_version":"2.1","id":"malware--2c7b5b88-8ff7-4a4d-aa9d-feb398cd0061","created":"2026-09-14T08:30:00.000Z","modified":"2026-09-14T08:30:00.000Z","created_by_ref":"%s","name":"u","is_family":false}`, m["alice"].id))
		r := alice.post(objPath, tampered, unsigned, json.RawMessage(`{"type":"malware","name":"no id"}`), json.RawMessage(`{"id":42}`), json.RawMessage(`{"id":"not an id\u0007","type":"x"}`))
		checkTAXII(t, "refused objects", r, false)
		var st struct {
			confStatus
			Failures []struct {
				ID      string `json:"id"`
				Version string `json:"version"`
			} `json:"failures"`
		}
		confDecode(t, "status", r, &st)
		if r.status != 202 || st.FailureCount == nil || *st.FailureCount != 5 || len(st.Failures) != 5 || st.TotalCount == nil || *st.TotalCount != 5 {
			t.Fatalf("refused objects: %s", r)
		}
		for _, f := range st.Failures {
			if f.ID == "" || f.Version == "" {
				t.Errorf("a failure without id or version (4.3.1.1): %s", r)
			}
		}
		if st.RequestTimestamp != "" {
			taxiiTime(t, "request_timestamp", st.RequestTimestamp)
		}
	})

	t.Run("1.6.8 media types", func(t *testing.T) {
		for _, accept := range []string{"application/taxii+json", "application/taxii+json; version=2.1", "application/taxii+json;version=2.1, */*;q=0.1"} {
			r := alice.do("GET", "/api/collections/", map[string]string{"Accept": accept}, nil)
			checkTAXII(t, accept, r, false)
			if r.status != 200 {
				t.Errorf("Accept %s: %s", accept, r)
			}
		}
		r := alice.do("POST", objPath, map[string]string{"Content-Type": "application/taxii+json; version=2.1; charset=utf-8"}, strings.NewReader(`{"objects":[`+string(signConf(t, m["alice"], indicator(v1, false)))+`]}`))
		if r.status != 202 {
			t.Errorf("POST with charset: %s", r)
		}
		for _, p := range []string{"/taxii2/", "/api/", objPath + ind + "/", objPath + ind + "/versions/"} {
			r := alice.do("POST", p, map[string]string{"Content-Type": confTAXII}, strings.NewReader(`{}`))
			checkTAXII(t, "POST "+p, r, false)
			if r.status != 405 || r.header.Get("Allow") == "" {
				t.Errorf("POST %s: %s, want 405 with Allow", p, r)
			}
		}
	})

	t.Run("3.5 paging manifest and versions", func(t *testing.T) {
		for _, p := range []string{"/api/collections/" + intel + "/manifest/?match[version]=all&limit=2", objPath + ind + "/versions/?limit=2"} {
			var seen []string
			q := p
			for i := 0; ; i++ {
				if i > 10 {
					t.Fatalf("%s: paging doesn't end", p)
				}
				r := bob.get(q)
				checkTAXII(t, q, r, false)
				var page struct {
					More     *bool  `json:"more"`
					Next     string `json:"next"`
					Objects  []struct{ ID, Version string }
					Versions []string `json:"versions"`
				}
				confDecode(t, q, r, &page)
				if len(page.Objects)+len(page.Versions) > 2 {
					t.Errorf("%s: more than limit", q)
				}
				for _, o := range page.Objects {
					seen = append(seen, o.ID+"@"+o.Version)
				}
				seen = append(seen, page.Versions...)
				if page.More == nil || !*page.More {
					break
				}
				if page.Next == "" {
					t.Fatalf("%s: more without next: %s", q, r)
				}
				q = p + "&next=" + url.QueryEscape(page.Next)
			}
			sort.Strings(seen)
			if len(slices.Compact(slices.Clone(seen))) != len(seen) || len(seen) < 3 {
				t.Errorf("%s: paged %q", p, seen)
			}
		}
	})

	t.Run("3.4 versions of objects without modified", func(t *testing.T) {
		// A cyber-observable has no modified: its versions are its
		// date_added (README), and every filter takes them.
		const sco = "domain-name--3f1e5a4c-2b7d-4e8f-9a6b-1c2d3e4f5a6b"
		path := "/api/collections/" + relay + "/objects/"
		for _, v := range []string{`{"type":"domain-name","spec_version":"2.1","id":"` + sco + `","value":"a.example"}`, `{"type":"domain-name","spec_version":"2.1","id":"` + sco + `","value":"a.example","x_note":"again"}`} {
			if r := alice.post(path, json.RawMessage(v)); r.status != 202 || !strings.Contains(string(r.body), `"success_count":1`) {
				t.Fatalf("add an observable: %s", r)
			}
		}
		r := alice.get(path + sco + "/versions/")
		var vs struct{ Versions []string }
		confDecode(t, "versions", r, &vs)
		if len(vs.Versions) != 2 {
			t.Fatalf("versions of an observable: %s", r)
		}
		for i, v := range vs.Versions {
			confTime(t, "version", v)
			r := alice.get(path + sco + "/?match[version]=" + url.QueryEscape(v))
			var env confEnvelope
			confDecode(t, "object", r, &env)
			if len(env.Objects) != 1 {
				t.Errorf("match[version]=%s: %s", v, r)
			}
			r = alice.get("/api/collections/" + relay + "/manifest/?match[version]=" + url.QueryEscape(v))
			var man confManifest
			confDecode(t, "manifest", r, &man)
			if len(man.Objects) != 1 || man.Objects[0].Version != v {
				t.Errorf("manifest match[version]=%s: %s", v, r)
			}
			want := []string{"first", "last"}[i]
			r = alice.get(path + sco + "/?match[version]=" + want)
			confDecode(t, "object", r, &env)
			if len(env.Objects) != 1 || !strings.Contains(string(env.Objects[0]), "x_note") != (i == 0) {
				t.Errorf("match[version]=%s: %s", want, r)
			}
		}
		r = alice.get(path + sco + "/versions/?added_after=" + url.QueryEscape(vs.Versions[0]))
		confDecode(t, "versions", r, &vs)
		if len(vs.Versions) != 1 {
			t.Errorf("versions added_after the first: %s", r)
		}
	})

	t.Run("1.6.9 HTTP Basic", func(t *testing.T) {
		for _, c := range []struct {
			user, pass string
			status     int
		}{{"alice", m["alice"].token, 200}, {"", m["alice"].token, 200}, {"alice", "parley_wrong", 401}} {
			req, _ := http.NewRequest("GET", base+"/api/collections/"+intel+"/", nil)
			req.Header.Set("Accept", confTAXII)
			req.SetBasicAuth(c.user, c.pass)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.status {
				t.Errorf("Basic %s: %d, want %d", c.user, resp.StatusCode, c.status)
			}
		}
	})

	t.Run("collections are apart", func(t *testing.T) {
		// An object of a collection alice may not read is, in intel,
		// one that doesn't exist, on every endpoint.
		const theirs = "malware--5d7b5b88-8ff7-4a4d-aa9d-feb398cd0061"
		r := dave.post("/api/collections/"+other+"/objects/", signConf(t, m["dave"], `{"type":"malware","spec_version":"2.1","id":"`+theirs+`","created":"2026-09-14T08:30:00.000Z","modified":"2026-09-14T08:30:00.000Z","created_by_ref":"%s","name":"d","is_family":false}`))
		if r.status != 202 || !strings.Contains(string(r.body), `"success_count":1`) {
			t.Fatalf("dave's add: %s", r)
		}
		for _, q := range []string{"objects/%s/", "objects/%s/versions/", "objects/%s/?match[version]=all", "objects/?match[id]=%s", "manifest/?match[id]=%s", "objects/?match[id]=%s&match[version]=2026-09-14T08:30:00.000Z"} {
			for _, c := range []confClient{alice, bob} {
				r := c.get("/api/collections/" + intel + "/" + fmt.Sprintf(q, theirs))
				g := c.get("/api/collections/" + intel + "/" + fmt.Sprintf(q, none))
				if d := sameAnswer(r, g); d != "" {
					t.Errorf("%s: another collection's object and none differ: %s", q, d)
				}
			}
		}
	})

	t.Run("a writer that may not read", func(t *testing.T) {
		// carol may write relay but not read it. Adding an observable that
		// alice stored there already must answer as adding a new one does,
		// so that carol learns nothing of what relay holds. Unsigned (relay
		// takes them), carol's copy is alice's to the byte.
		path := "/api/collections/" + relay + "/objects/"
		obs := func(value string) json.RawMessage {
			return json.RawMessage(`{"type":"domain-name","spec_version":"2.1","id":"domain-name--` + uuid5STIX(`{"value":"`+value+`"}`) + `","value":"` + value + `"}`)
		}
		if r := alice.post(path, obs("held.example")); r.status != 202 || !strings.Contains(string(r.body), `"success_count":1`) {
			t.Fatalf("alice adds an observable: %s", r)
		}
		held := carol.post(path, obs("held.example"))
		fresh := carol.post(path, obs("fresh.example"))
		if !strings.Contains(string(fresh.body), `"success_count":1`) {
			t.Fatalf("carol adds an observable: %s", fresh)
		}
		strip := func(r confResp) string {
			var st map[string]any
			confDecode(t, "status", r, &st)
			for _, k := range []string{"id", "request_timestamp"} {
				delete(st, k)
			}
			for _, d := range st["successes"].([]any) {
				delete(d.(map[string]any), "id")
				delete(d.(map[string]any), "version")
			}
			b, _ := json.Marshal(st)
			return string(b)
		}
		if held.status != 202 || strip(held) != strip(fresh) {
			t.Errorf("a writer that may not read tells an observable held from a new one:\n%s\n%s", held, fresh)
		}
		if r := carol.get(path); r.status != 403 {
			t.Errorf("carol reads relay: %s", r)
		}
	})

	t.Run("3.4 an older version added later", func(t *testing.T) {
		// first and last are by version (modified), not by date_added;
		// filters are ANDed: a poll after the newer version's date_added
		// gets the older version only when it asks for it.
		const late = "indicator--7b5e1c39-0a4e-4f0f-8d55-3c1c5f6f2b11"
		obj := func(modified string) json.RawMessage {
			return signConf(t, m["alice"], strings.ReplaceAll(indicator(modified, false), ind, late))
		}
		for _, v := range []string{v2, v1} {
			if r := alice.post(objPath, obj(v)); !strings.Contains(string(r.body), `"success_count":1`) {
				t.Fatalf("add %s: %s", v, r)
			}
		}
		r := bob.get(objPath + late + "/versions/")
		var vs struct{ Versions []string }
		confDecode(t, "versions", r, &vs)
		if !slices.Equal(vs.Versions, []string{v2, v1}) {
			t.Errorf("versions, in the order they were added (3.5): %s", r)
		}
		for q, want := range map[string]string{"": v2, "?match[version]=last": v2, "?match[version]=first": v1} {
			r := bob.get(objPath + late + "/" + q)
			var env confEnvelope
			confDecode(t, "object", r, &env)
			objs := confObjects(t, env)
			if len(objs) != 1 || objs[0].Modified != want {
				t.Errorf("object %s: %s, want %s", q, r, want)
			}
		}
		mr := bob.get("/api/collections/" + intel + "/manifest/?match[id]=" + late + "&match[version]=all")
		var man confManifest
		confDecode(t, "manifest", mr, &man)
		if len(man.Objects) != 2 {
			t.Fatalf("manifest: %s", mr)
		}
		after := url.QueryEscape(man.Objects[0].DateAdded)
		for q, want := range map[string]int{"": 0, "&match[version]=last": 0, "&match[version]=first": 1, "&match[version]=all": 1} {
			r := bob.get(objPath + "?match[id]=" + late + "&added_after=" + after + q)
			var env confEnvelope
			confDecode(t, "objects", r, &env)
			if len(env.Objects) != want {
				t.Errorf("added_after the newer version%s: %s, want %d objects", q, r, want)
			}
		}
	})

	t.Run("limits", func(t *testing.T) {
		r := alice.get(objPath + "?limit=100000000000000000000000")
		if r.status != 200 {
			t.Errorf("a limit above the server's: %s, want 200 with the server's page size", r)
		}
	})

	t.Run("HEAD", func(t *testing.T) {
		for _, p := range []string{"/taxii2/", "/api/", "/api/collections/", "/api/collections/" + intel + "/", objPath, objPath + ind + "/", objPath + ind + "/versions/", "/api/collections/" + intel + "/manifest/", "/api/status/" + statuses[0].ID + "/"} {
			g := alice.get(p)
			h := alice.do(http.MethodHead, p, nil, nil)
			checkTAXII(t, "HEAD "+p, h, true)
			if h.status != g.status || h.header.Get("Content-Length") != g.header.Get("Content-Length") || h.header.Get("X-TAXII-Date-Added-Last") != g.header.Get("X-TAXII-Date-Added-Last") {
				t.Errorf("HEAD %s: %d %v; GET %d %v", p, h.status, h.header, g.status, g.header)
			}
		}
	})

	t.Run("DELETE", func(t *testing.T) {
		// Parley's store is append-only: DELETE of an object (5.8) is
		// refused, as the README documents, and stores nothing.
		r := alice.do(http.MethodDelete, objPath+ind+"/", nil, nil)
		checkTAXII(t, "DELETE", r, false)
		if r.status != 405 {
			t.Errorf("DELETE: %s", r)
		}
		if r := alice.get(objPath + ind + "/"); r.status != 200 {
			t.Errorf("after DELETE: %s", r)
		}
	})
}

// uuid5STIX returns the UUIDv5 of name in the STIX cyber-observable
// namespace (STIX 2.1 section 2.9), name being the canonical JSON of the
// object's ID contributing properties.
func uuid5STIX(name string) string {
	ns := []byte{0x00, 0xab, 0xed, 0xb4, 0xaa, 0x42, 0x46, 0x6c, 0x9c, 0x01, 0xfe, 0xd2, 0x33, 0x15, 0xa9, 0xb7}
	h := sha1.Sum(append(ns, name...))
	u := h[:16]
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// zeros reads as an endless run of '0'.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = '0'
	}
	return len(p), nil
}
