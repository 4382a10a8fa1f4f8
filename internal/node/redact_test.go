package node

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/taxii"
)

// TestRedactedStoreAndWitnessURLs: a store or witness URL's secrets (its
// user information, a user name alone included, PostgreSQL's ?password= and
// ?sslpassword=, a key or token in the query, libpq's password=
// setting) never reach a log line, an error or the home page, while what
// helps to diagnose (host, port, database, sslmode) stays.
func TestRedactedStoreAndWitnessURLs(t *testing.T) {
	for _, c := range []struct {
		raw, keep string
		secrets   []string
	}{
		{"postgres://parley:s3cr%21t@db.example:5432/parley?sslmode=verify-full", "db.example:5432/parley", []string{"s3cr!t", "s3cr%21t"}},
		{"postgres://parley@db.example/parley?password=hunter2&sslmode=require", "sslmode=require", []string{"hunter2"}},
		{"postgres://db.example/parley?sslpassword=keypass&user=parley", "user=parley", []string{"keypass"}},
		{"https://w.example/witness?token=abc123&api_key=k9", "w.example/witness", []string{"abc123", "k9"}},
		// A user name alone may be a token.
		{"postgres://parley_TOKEN@db.example:5432/parley?sslmode=require", "db.example:5432/parley", []string{"parley_TOKEN"}},
		{"https://parley_TOKEN@w.example/witness", "https://xxxxx@w.example/witness", []string{"parley_TOKEN"}},
		{"https://parley%5FTOKEN:pw@w.example/witness", "w.example/witness", []string{"parley_TOKEN", "parley%5FTOKEN", "pw"}},
		{"host=db.example dbname=parley password='pa ss' sslmode=disable", "", []string{"pa ss"}},
		{"host=db.example password=plain dbname=parley", "", []string{"plain"}},
	} {
		secrets := urlSecrets(c.raw)
		for _, s := range c.secrets {
			found := false
			for _, got := range secrets {
				found = found || got == s
			}
			if !found {
				t.Errorf("%s: secret %q not found among %q", c.raw, s, secrets)
			}
		}
		// As a driver might quote it, whole or in parts.
		err := redactURL(errors.New("failed to connect to `"+c.raw+"`: password "+c.secrets[0]+" refused"), c.raw)
		shown := redactedURL(c.raw)
		for _, s := range c.secrets {
			if strings.Contains(err.Error(), s) {
				t.Errorf("%s: the error shows %q: %s", c.raw, s, err)
			}
			if strings.Contains(shown, s) {
				t.Errorf("%s: redactedURL shows %q: %s", c.raw, s, shown)
			}
		}
		if c.keep != "" && !strings.Contains(shown, c.keep) {
			t.Errorf("%s: redactedURL %q lost %q", c.raw, shown, c.keep)
		}
	}
	got := witnessURLs([]WitnessConfig{{URL: "https://user:pw@w.example:8443/add?key=s3cret#frag", Key: "w1+abcd+AQ"}})
	if len(got) != 1 || got[0] != "w1 at https://w.example:8443/add" {
		t.Errorf("witnessURLs: %q", got)
	}
}

// TestUnreachableWitnessUserNotLogged: a witness URL whose user name is
// a token (https://parley_TOKEN@host), with the witness down, is logged
// without it: not in the witness's name nor in the client's error (Go's
// client keeps the user name, dropping only a password).
func TestUnreachableWitnessUserNotLogged(t *testing.T) {
	n, _ := initNode(t, Options{})
	w1 := newTestWitness(t, "w1.example", n.vkey)
	w1.srv.Close() // down from the start
	u, err := url.Parse(w1.URL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User("parley_TOKEN")
	n.cfg.Witnesses = []WitnessConfig{{URL: u.String(), Key: w1.VKey}}
	var logged logBuffer
	m, key, coll := addAliceShared(t, n)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Serve(ctx, ln, slog.New(slog.NewTextHandler(&logged, nil))) }()
	t.Cleanup(func() {
		cancel()
		<-done
		n.Close()
	})
	post(t, &taxii.Client{BaseURL: "http://" + ln.Addr().String(), Token: m.Token}, coll, indicator(t, m.ID, key, t0))
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(logged.String(), "didn't cosign") {
		if time.Now().After(deadline) {
			t.Fatalf("no witness failure logged in 20 s:\n%s", logged.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	out := logged.String()
	if strings.Contains(out, "parley_TOKEN") {
		t.Fatalf("the witness URL's user name is logged:\n%s", out)
	}
	if !strings.Contains(out, u.Host) {
		t.Fatalf("the log doesn't name the witness's host %s:\n%s", u.Host, out)
	}
}

// TestRoleNameKeptInStoreErrors: a store URL's user name that is a role
// name, not a token, stays in the driver's error, which names the
// database and the role by it (redacting it blanked every "postgres");
// a token-like user name doesn't.
func TestRoleNameKeptInStoreErrors(t *testing.T) {
	raw := "postgres://postgres@db.example:5432/test?sslmode=disable"
	err := redactURL(errors.New(`failed to connect to `+"`"+`user=postgres database=test`+"`"+`: FATAL: role "postgres" does not exist (`+raw+`)`), raw)
	if !strings.Contains(err.Error(), `role "postgres" does not exist`) || !strings.Contains(err.Error(), "user=postgres ") {
		t.Errorf("the role name was blanked: %s", err)
	}
	for _, user := range []string{"parley_TOKEN", "PARLEY%5Fabc", "0123456789abcdef"} {
		raw := "postgres://" + user + "@db.example/test"
		if err := redactURL(errors.New("user="+user+" refused"), raw); strings.Contains(err.Error(), user) {
			t.Errorf("%s: the token-like user name is shown: %s", user, err)
		}
	}
}
