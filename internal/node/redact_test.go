package node

import (
	"errors"
	"strings"
	"testing"
)

// TestRedactedStoreAndWitnessURLs: a store or witness URL's secrets (a
// password in its user information, PostgreSQL's ?password= and
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
