package main

import (
	"strings"
	"testing"
)

// TestTrustingFlagAfterArgumentWarns: a flag that decides what a command
// trusts (a log key, a witness policy, a check skipped, the CA, the URL
// the token goes to) or which secret it sends or signs with (the token
// file, the private key), given after a positional argument, is read as
// a flag (TestFlagsAfterPositionals) but not silently: an id named like
// it, from someone else (an id list given as `$(cat ids)`), would change
// what parley trusts or sends, so parley says so on stderr, with what
// the flag changes and the value made fit to print. (A rival's file
// named "--token-file=…" in a directory a script runs `parley … *` in is
// refused: TestFlagThatIsAFileRefused.) The same flag before the
// arguments, any flag after "--", a flag that changes nothing of the
// kind (match's --format) and one that decides where parley writes
// (--out, --dead-letter, --collection: flagClass.warned says why) are not
// warned of. TestEveryFlagClassified makes every flag of every command
// one of these.
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
		{[]string{"match", "logs.json", "--format", "zeek"}, ""},
		{[]string{"sign", "objects.json", "--key", "me.key"}, "parley: warning: --key=me.key " + warn + ", which changes which secret parley sends or signs with"},
		{[]string{"push", "objects.json", "--token-file=id_ed25519", "--url", "http://127.0.0.1:1"}, "parley: warning: --token-file=id_ed25519 " + warn + ", which changes which secret parley sends or signs with"},
		{[]string{"push", "objects.json", "--token", "parley_x", "--url", "http://127.0.0.1:1"}, "parley: warning: --token=parley_x " + warn},
		// Destination flags are not warned of (flagClass.warned).
		{[]string{"import", "iocs", "iocs.txt", "--out", ".bashrc"}, ""},
		{[]string{"match", "logs.json", "--dead-letter=dead.json"}, ""},
		{[]string{"push", "objects.json", "--collection", "intel"}, ""},
		{[]string{"verify", "received.json", "--log-key=rival+01234567+AAAA"}, "parley: warning: --log-key=rival+01234567+AAAA " + warn + ", which changes what parley trusts;"},
		{[]string{"sign", "--key", "me.key", "objects.json"}, ""},
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
