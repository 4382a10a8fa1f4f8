package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/parley-exchange/parley/stix"
)

// TestMatchPushSignsEverything pushes sightings with --observed-data and
// no --as: the identity comes from the node (the member whose registered
// key is --key), and every object sent, the observables included, is
// signed, so the node stores all of them and pull returns them signed.
func TestMatchPushSignsEverything(t *testing.T) {
	base, st, _ := demoNode(t)
	m := st.Members[0]
	dir := t.TempDir()
	ind := filepath.Join(dir, "ind.json")
	log := filepath.Join(dir, "dns.log")
	os.WriteFile(ind, []byte(`{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56e","objects":[{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd40","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","created_by_ref":"`+m.ID+`","pattern":"[domain-name:value = 'evil.example']","pattern_type":"stix","valid_from":"2020-01-01T00:00:00Z"}]}`), 0o644)
	os.WriteFile(log, []byte(`{"ts":1591367999.306059,"uid":"C1","id.orig_h":"192.168.4.76","id.orig_p":36844,"id.resp_h":"192.168.4.1","id.resp_p":53,"proto":"udp","query":"evil.example","answers":["203.0.113.66"]}`+"\n"), 0o644)
	if code, _, stderr := runCLI(t, "push", "--url", base, "--token", m.Token, "--key", m.KeyFile, "--collection", st.Collections.Shared, ind); code != 0 {
		t.Fatalf("push: exit %d: %s", code, stderr)
	}
	code, out, stderr := runCLI(t, "match", "--url", base, "--token", m.Token, "--collection", st.Collections.Shared,
		"--push", "--key", m.KeyFile, "--observed-data", log)
	if code != 0 {
		t.Fatalf("match --push without --as: exit %d: %s", code, stderr)
	}
	if !strings.Contains(out, `"where_sighted_refs":["`+m.ID+`"]`) {
		t.Errorf("the sighting is not by %s, the key's member:\n%s", m.ID, out)
	}
	code, pulled, stderr := runCLI(t, "pull", "--url", base, "--token", m.Token, "--collection", st.Collections.Shared)
	if code != 0 {
		t.Fatalf("pull: exit %d: %s", code, stderr)
	}
	objs, err := stix.ParseObjects([]byte(pulled))
	if err != nil {
		t.Fatalf("couldn't read the pulled bundle: %v", err)
	}
	found := map[string]bool{}
	for _, o := range objs {
		typ := o.Type
		if typ != "sighting" && typ != "observed-data" && typ != "domain-name" && typ != "ipv4-addr" && typ != "network-traffic" {
			continue
		}
		found[typ] = true
		if _, err := stix.Verify(o.Raw); err != nil {
			t.Errorf("%s %s is not signed: %v", typ, o.ID, err)
		}
	}
	for _, typ := range []string{"sighting", "observed-data", "domain-name"} {
		if !found[typ] {
			t.Errorf("no %s was stored: the node refused part of the push", typ)
		}
	}
}

// TestMatchPushWaitsForTheNode: a node that can't take the sightings for
// a moment (503, as while a front end takes over) gets them when it can;
// match says it is waiting and exits 0 with everything stored.
func TestMatchPushWaitsForTheNode(t *testing.T) {
	base, st, _ := demoNode(t)
	m := st.Members[0]
	target, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	var refused atomic.Int32
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/objects/") && refused.Add(1) == 1 {
			w.Header().Set("Content-Type", "application/taxii+json;version=2.1")
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"title":"Service Unavailable","description":"the store is being taken over"}`)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()
	dir := t.TempDir()
	ind := filepath.Join(dir, "ind.json")
	log := filepath.Join(dir, "dns.log")
	os.WriteFile(ind, []byte(`{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56e","objects":[{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd41","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","created_by_ref":"`+m.ID+`","pattern":"[domain-name:value = 'evil.example']","pattern_type":"stix","valid_from":"2020-01-01T00:00:00Z"}]}`), 0o644)
	os.WriteFile(log, []byte(`{"ts":1591367999.306059,"uid":"C1","id.orig_h":"192.168.4.76","id.orig_p":36844,"id.resp_h":"192.168.4.1","id.resp_p":53,"proto":"udp","query":"evil.example"}`+"\n"), 0o644)
	if code, _, stderr := runCLI(t, "push", "--url", base, "--token", m.Token, "--key", m.KeyFile, "--collection", st.Collections.Shared, ind); code != 0 {
		t.Fatalf("push: exit %d: %s", code, stderr)
	}
	code, out, stderr := runCLI(t, "match", "--url", front.URL, "--token", m.Token, "--collection", st.Collections.Shared,
		"--push", "--key", m.KeyFile, log)
	if code != 0 {
		t.Fatalf("match --push through a 503: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "can't take the sightings now") || !strings.Contains(stderr, "503") {
		t.Errorf("match didn't say it waited for the node:\n%s", stderr)
	}
	if n := refused.Load(); n < 2 {
		t.Errorf("%d posts, want the refused one and the one after it", n)
	}
	var sighting struct{ ID string }
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &sighting); err != nil || !strings.HasPrefix(sighting.ID, "sighting--") {
		t.Fatalf("match printed %q, want one sighting", out)
	}
	code, pulled, stderr := runCLI(t, "pull", "--url", base, "--token", m.Token, "--collection", st.Collections.Shared)
	if code != 0 {
		t.Fatalf("pull: exit %d: %s", code, stderr)
	}
	if !strings.Contains(pulled, sighting.ID) {
		t.Errorf("the sighting %s was not stored after the node came back", sighting.ID)
	}
}

// TestMatchPushObservedDataOfZeekLogs: --observed-data --push over Zeek's
// own http, ssl and smtp logs (its test baselines) is taken whole by a
// real node. Their events have no proto and the smtp ones make an
// email-message: the node refused the network-traffic (no protocols) and
// the email-message (no is_multipart), match exited 4, and a fleet member
// stopped on the message at every redelivery, the whole fleet with it. The
// email-message is left out (a log does not say is_multipart, and a signed
// false would state what the sensor didn't), and the summary counts it.
func TestMatchPushObservedDataOfZeekLogs(t *testing.T) {
	base, st, _ := demoNode(t)
	m := st.Members[0]
	dir := t.TempDir()
	ind := filepath.Join(dir, "ind.json")
	os.WriteFile(ind, []byte(`{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56e","objects":[{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd41","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","created_by_ref":"`+m.ID+`","pattern":"[ipv4-addr:value ISSUBSET '0.0.0.0/0']","pattern_type":"stix","valid_from":"1970-01-01T00:00:00Z"}]}`), 0o644)
	if code, _, stderr := runCLI(t, "push", "--url", base, "--token", m.Token, "--key", m.KeyFile, "--collection", st.Collections.Shared, ind); code != 0 {
		t.Fatalf("push: exit %d: %s", code, stderr)
	}
	// One run a log: a sighting keeps the observed-data of at most 8 events.
	logs := "../../internal/match/testdata/sensors/zeek-baseline/"
	var out string
	for _, log := range []string{"opt.basic_http.log", "scripts.base.protocols.ssl.basic_ssl.log", "scripts.base.protocols.smtp.basic_smtp.log"} {
		code, o, stderr := runCLI(t, "match", "--url", base, "--token", m.Token, "--collection", st.Collections.Shared,
			"--push", "--key", m.KeyFile, "--observed-data", logs+log)
		if code != 0 {
			t.Fatalf("match --observed-data --push %s: exit %d: %s", log, code, stderr)
		}
		if strings.Contains(log, "smtp") && !strings.Contains(stderr, "2 observables left out of observed-data") {
			t.Errorf("match of %s doesn't count the email-messages left out:\n%s", log, stderr)
		}
		out += o
	}
	if strings.Contains(out, `"type":"email-message"`) || !strings.Contains(out, `"type":"network-traffic"`) || !strings.Contains(out, `"type":"email-addr"`) {
		t.Fatalf("an email-message emitted, or no network-traffic or email-addr:\n%s", out)
	}
	code, pulled, stderr := runCLI(t, "pull", "--url", base, "--token", m.Token, "--collection", st.Collections.Shared)
	if code != 0 {
		t.Fatalf("pull: exit %d: %s", code, stderr)
	}
	objs, err := stix.ParseObjects([]byte(pulled))
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, o := range objs {
		n[o.Type]++
		if o.Props["sighting_of_ref"] == "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd41" {
			n["ours"]++
		}
	}
	if n["ours"] != 3 || n["observed-data"] != 11 || n["email-message"] != 0 || n["network-traffic"] == 0 || n["email-addr"] == 0 {
		t.Errorf("stored %v, want 3 sightings and 11 observed-data (8 of the 14 http events, 1 ssl, 2 smtp), with their network-traffic and email-addr, no email-message", n)
	}
}
