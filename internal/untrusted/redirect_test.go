package untrusted

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestRedirects: SameOriginRedirects follows a redirect within the
// origin and refuses one to another port (the same host name, where Go's
// client would still send the Authorization header) or from https to
// http, without contacting the target. The errors name the origins,
// never the client's credentials.
func TestRedirects(t *testing.T) {
	var reached atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		if r.Header.Get("Authorization") != "" {
			t.Errorf("the token reached the other server")
		}
	}))
	defer target.Close()
	redirector := func(to string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/here" {
				return
			}
			http.Redirect(w, r, strings.Replace(to, "SELF", "http://"+r.Host, 1), http.StatusFound)
		}
	}
	for _, tc := range []struct {
		name, to   string
		tls        bool
		check      func(*http.Request, []*http.Request) error
		wantRefuse bool
	}{
		{"same origin", "SELF/here", false, SameOriginRedirects, false},
		{"another port", target.URL + "/x", false, SameOriginRedirects, true},
		{"https to http", target.URL + "/x", true, SameOriginRedirects, true},
		{"another host", strings.Replace(target.URL, "127.0.0.1", "localhost", 1) + "/x", false, SameOriginRedirects, true},
		{"the cloud's metadata address", "http://169.254.169.254/latest/meta-data/", false, SameOriginRedirects, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reached.Store(0)
			var srv *httptest.Server
			if tc.tls {
				srv = httptest.NewTLSServer(redirector(tc.to))
			} else {
				srv = httptest.NewServer(redirector(tc.to))
			}
			defer srv.Close()
			client := srv.Client()
			client.CheckRedirect = tc.check
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/start", nil)
			if tc.wantRefuse || tc.name == "same origin" {
				req.Header.Set("Authorization", "Bearer parley_secret")
			}
			resp, err := client.Do(req)
			if resp != nil {
				resp.Body.Close()
			}
			switch {
			case tc.wantRefuse && !errors.Is(err, ErrRedirect):
				t.Fatalf("followed: %v", err)
			case tc.wantRefuse && reached.Load() != 0:
				t.Fatalf("the target was contacted")
			case tc.wantRefuse && strings.Contains(err.Error(), "parley_secret"):
				t.Fatalf("the error shows the token: %v", err)
			case !tc.wantRefuse && err != nil:
				t.Fatalf("refused: %v", err)
			case !tc.wantRefuse && resp.StatusCode != http.StatusOK:
				t.Fatalf("status %d", resp.StatusCode)
			}
		})
	}
}

// TestClipURLError: a server that redirects to a URL of a MiB (refused)
// has the client's error name it bounded; the error still unwraps to
// the refusal.
func TestClipURLError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "http://169.254.169.254/"+strings.Repeat("a", 1<<20))
		w.WriteHeader(http.StatusFound)
	}))
	defer srv.Close()
	client := &http.Client{CheckRedirect: SameOriginRedirects}
	_, err := client.Get(srv.URL)
	if err == nil {
		t.Fatal("followed")
	}
	err = ClipURLError(err)
	if !errors.Is(err, ErrRedirect) || len(err.Error()) > 2000 || !strings.Contains(err.Error(), "http://169.254.169.254/aaa") {
		t.Fatalf("err (%d bytes) = %.300q", len(err.Error()), err)
	}
	if ClipURLError(nil) != nil {
		t.Fatal("ClipURLError(nil) != nil")
	}
}
