package main

import (
	"strings"
	"testing"
)

// TestTrustingFlagAfterArgumentWarns: a flag that decides what a command
// trusts (a log key, a witness policy, a check skipped, the CA, the URL
// the token goes to), given after a positional argument, is read as a
// flag (TestFlagsAfterPositionals) but not silently: a file or id named
// like it, from someone else (a rival's file named "--log-key=…" in a
// directory a script runs `parley … *` in), would change what parley
// trusts, so parley says so on stderr, the value made fit to print. The
// same flag before the arguments, any flag after "--", and a flag that
// changes nothing of the kind (sign's --key) are not warned of.
func TestTrustingFlagAfterArgumentWarns(t *testing.T) {
	t.Chdir(t.TempDir())
	const warn = "came after an argument and was read as a flag"
	for _, c := range []struct {
		args []string
		want string // "" for no warning
	}{
		{[]string{"verify", "received.json", "--log-key=rival+01234567+AAAA"}, "parley: warning: --log-key=rival+01234567+AAAA " + warn},
		{[]string{"verify", "received.json", "--witness-policy", "policy.txt"}, "parley: warning: --witness-policy=policy.txt " + warn},
		{[]string{"proof", "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "--allow-no-key-index", "--url", "http://127.0.0.1:1"}, "parley: warning: --allow-no-key-index=true " + warn},
		{[]string{"proof", "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "--allow-no-key-index", "--url", "http://127.0.0.1:1"}, "parley: warning: --url=http://127.0.0.1:1 " + warn},
		{[]string{"verify", "received.json", "--log-key=\x1b[2Jrival"}, "parley: warning: --log-key=?[2Jrival " + warn},
		{[]string{"verify", "--log-key=mine+01234567+AAAA", "received.json"}, ""},
		{[]string{"verify", "received.json", "--", "--log-key=rival+01234567+AAAA"}, ""},
		{[]string{"sign", "objects.json", "--key", "me.key"}, ""},
	} {
		_, _, stderr := runCLI(t, c.args...)
		if c.want == "" {
			if strings.Contains(stderr, warn) {
				t.Errorf("parley %q: warned of a flag that changes no trust:\n%s", c.args, stderr)
			}
			continue
		}
		if !strings.Contains(stderr, c.want) {
			t.Errorf("parley %q: no warning %q:\n%s", c.args, c.want, stderr)
		}
	}
}
