package main

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/tlog"
)

// TestMatchExportTakePullsLogFlags: match --url and export --url took
// only --log-key and --seen of pull's log flags, and never checked the
// node's latest checkpoint against a witness policy. They take --proofs
// and the witness policy flags as pull does: a checkpoint short of the
// quorum is refused (exit 1) before any indicator is used; with --proofs
// each indicator is proved included.
func TestMatchExportTakePullsLogFlags(t *testing.T) {
	base, st, _ := demoNode(t)
	a := st.Members[0]
	_, wkey, err := tlog.NewCosignerKey(rand.Reader, "witness.example/w")
	if err != nil {
		t.Fatal(err)
	}
	dnsLog := filepath.Join(t.TempDir(), "dns.log")
	if err := os.WriteFile(dnsLog, []byte(`{"ts":1591367999.306059,"uid":"C1","id.orig_h":"192.168.4.76","id.orig_p":36844,"id.resp_h":"192.168.4.1","id.resp_p":53,"proto":"udp","query":"evil.example","answers":["203.0.113.66"]}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	remote := []string{"--url", base, "--token", a.Token, "--collection", st.Collections.Shared}
	for _, args := range [][]string{
		append([]string{"match"}, append(remote, dnsLog)...),
		append([]string{"export", "--format", "zeek-intel"}, remote...),
		append([]string{"export", "--format", "misp-feed", "--out", filepath.Join(t.TempDir(), "feed")}, remote...),
	} {
		code, stdout, stderr := runCLI(t, append(args, "--witness", wkey)...)
		if code != 1 || stdout != "" || !strings.Contains(stderr, "witness") {
			t.Errorf("%s with a witness quorum the checkpoint lacks: exit %d, want 1 and nothing printed: %q %s", strings.Join(args[:3], " "), code, stdout, stderr)
		}
		if code, _, stderr := runCLI(t, append(args, "--proofs")...); code != 0 {
			t.Errorf("%s --proofs: exit %d: %s", strings.Join(args[:3], " "), code, stderr)
		}
	}
}
