package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHintsNameTheTokenFlagGiven: a node that refuses the token gets a
// hint to check the token by the flag or variable the user gave it
// (--token-file, PARLEY_TOKEN_FILE, --token or PARLEY_TOKEN), in every
// command that talks to a node; the hints used to say --token to users
// of --token-file, who never gave one.
func TestHintsNameTheTokenFlagGiven(t *testing.T) {
	refuse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/taxii+json;version=2.1")
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"title":"the token is not valid"}`))
	}))
	defer refuse.Close()
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("not-a-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, "m.key")
	if code, _, stderr := runCLI(t, "keygen", "--out", key); code != 0 {
		t.Fatalf("keygen: exit %d: %s", code, stderr)
	}
	obj := filepath.Join(dir, "obj.json")
	if err := os.WriteFile(obj, []byte(`{"type":"malware","spec_version":"2.1","id":"malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"x","is_family":true}`), 0o600); err != nil {
		t.Fatal(err)
	}
	url := refuse.URL
	commands := [][]string{
		{"pull", "--collection", "intel"},
		{"push", "--key", key, "--collection", "intel", obj},
		{"proof", "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"},
		{"concurrence", "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"},
		{"audit", "--seen", filepath.Join(dir, "seen.json")},
		{"match", "--collection", "intel", obj},
		{"export", "--format", "zeek-intel", "--collection", "intel"},
		{"private", "sets"},
	}
	for _, given := range []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"--token-file", []string{"--token-file", tokenFile}, nil},
		{"PARLEY_TOKEN_FILE", nil, map[string]string{"PARLEY_TOKEN_FILE": tokenFile}},
		{"--token", []string{"--token", "not-a-token"}, nil},
		{"PARLEY_TOKEN", nil, map[string]string{"PARLEY_TOKEN": "not-a-token"}},
	} {
		for _, cmd := range commands {
			name := strings.Join(cmd[:min(2, len(cmd))], " ") + " with " + given.name
			t.Run(name, func(t *testing.T) {
				t.Setenv("XDG_CONFIG_HOME", t.TempDir())
				var out, errb bytes.Buffer
				c := &cli{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(k string) string { return given.env[k] }}
				args := append(append(append([]string{}, cmd...), "--url", url), given.args...)
				code := c.main(context.Background(), args)
				hint := ""
				for _, l := range strings.Split(errb.String(), "\n") {
					if h, ok := strings.CutPrefix(l, "parley: hint: "); ok {
						hint = h
					}
				}
				if code != 4 || !strings.Contains(hint, given.name) {
					t.Fatalf("exit %d, hint %q; want exit 4 and a hint naming %s\n%s", code, hint, given.name, errb.String())
				}
				if rest := strings.ReplaceAll(hint, given.name, ""); strings.Contains(rest, "--token") || strings.Contains(rest, "PARLEY_TOKEN") {
					t.Errorf("the hint names a token flag that wasn't given: %q", hint)
				}
			})
		}
	}
}
