package untrusted

import (
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestURLRedacted: a URL's whole user information is left out of what
// names it, a user name alone as much as a password (a user name may be
// a token: https://parley_TOKEN@host); what names the server stays.
func TestURLRedacted(t *testing.T) {
	for raw, want := range map[string]string{
		"https://parley_TOKEN@w.example/add?x=1": "https://xxxxx@w.example/add?x=1",
		"https://user:pw@w.example:8443/":        "https://xxxxx@w.example:8443/",
		"https://w.example/taxii2/":              "https://w.example/taxii2/",
		"postgres://parley_TOKEN@db/parley":      "postgres://xxxxx@db/parley",
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := URLRedacted(u); got != want {
			t.Errorf("URLRedacted(%s) = %q, want %q", raw, got, want)
		}
	}
	if URLRedacted(nil) != "" {
		t.Error("URLRedacted(nil) isn't empty")
	}
}

// TestClipURLErrorDropsTheUser: Go's client names the URL in its error
// with the password replaced but the user name kept; ClipURLError, which
// every client error that is logged goes through, leaves out the user
// too.
func TestClipURLErrorDropsTheUser(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	for _, raw := range []string{"http://parley_TOKEN@" + addr + "/add-checkpoint", "http://parley_TOKEN:pw@" + addr + "/"} {
		_, err := http.Get(raw)
		if err == nil {
			t.Fatalf("%s: reached", raw)
		}
		if !strings.Contains(err.Error(), "parley_TOKEN") {
			t.Fatalf("Go's client now leaves the user out itself (%v): this test checks nothing", err)
		}
		if msg := ClipURLError(err).Error(); strings.Contains(msg, "parley_TOKEN") || strings.Contains(msg, ":pw") || !strings.Contains(msg, addr) {
			t.Errorf("%s: %s", raw, msg)
		}
	}
}
