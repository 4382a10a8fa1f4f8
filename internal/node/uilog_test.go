package node

import (
	"bufio"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// A web UI request with a session is logged with the session's member,
// as a TAXII request is with its token's, and never with the session's
// id: it was logged with member "".
func TestAccessLogNamesUISessionMember(t *testing.T) {
	fn := newFrontNode(t, nil)
	c := uiLogin(t, fn.srv.URL, testMember{ID: fn.alice.ID, Token: fn.alice.Token})
	if err := uiGet(t.Context(), c, fn.srv.URL+"/ui/search?q=example.com"); err != nil {
		t.Fatal(err)
	}
	var sid string
	for _, ck := range c.Jar.Cookies(mustURL(t, fn.srv.URL+"/ui/")) {
		if ck.Name == "parley_session" {
			sid = ck.Value
		}
	}
	if sid == "" {
		t.Fatal("no session cookie")
	}
	logs := fn.logs.String()
	found := false
	sc := bufio.NewScanner(strings.NewReader(logs))
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) != nil || line["msg"] != "request" {
			continue
		}
		if p, _ := line["path"].(string); strings.HasPrefix(p, "/ui/search") {
			found = true
			if line["member"] != fn.alice.ID {
				t.Errorf("GET /ui/search logged with member %q, want %q: %s", line["member"], fn.alice.ID, sc.Text())
			}
		}
	}
	if !found {
		t.Fatalf("no access log line for /ui/search:\n%s", logs)
	}
	if strings.Contains(logs, sid) {
		t.Errorf("the access log holds the session id:\n%s", logs)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
