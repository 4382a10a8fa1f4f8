package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/parley-exchange/parley/stix"
)

// TestPushValidatesWhatItSends: push checks each object as the node will
// see it, signed. Signing drops an old Parley signature extension
// whatever its shape, and an "extensions" left empty, so an object
// re-pushed with a stale or half-written signature, or with an empty
// "extensions", is stored as it was before push validated objects; an
// object that is invalid for another reason still pushes nothing (exit
// 2), from a file or from standard input.
func TestPushValidatesWhatItSends(t *testing.T) {
	base, st, _ := demoNode(t)
	aur := st.Members[0]
	obj := func(uuid, extra string) string {
		return fmt.Sprintf(`{"type":"malware","spec_version":"2.1","id":"malware--%s","created_by_ref":%q,"created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"x","is_family":true%s}`, uuid, aur.ID, extra)
	}
	sig := stix.SignatureExtensionID
	accepted := "[" + strings.Join([]string{
		obj("6b1c3a3e-0000-4a55-a0e7-4d0ea9b1c201", `,"extensions":{}`),
		obj("6b1c3a3e-0000-4a55-a0e7-4d0ea9b1c202", `,"extensions":{"`+sig+`":{"extension_type":"property-extension"}}`),
		obj("6b1c3a3e-0000-4a55-a0e7-4d0ea9b1c203", `,"extensions":{"`+sig+`":{"extension_type":"toplevel-property-extension","alg":"x"}}`),
		obj("6b1c3a3e-0000-4a55-a0e7-4d0ea9b1c204", `,"extensions":{"`+sig+`":"stale"}`),
	}, ",") + "]"
	// Invalid whatever signing does: a valid object, then one with a
	// stale signature (which signing replaces) beside an extension name
	// STIX 2.1 refuses on a malware object.
	invalid := "[" + obj("6b1c3a3e-0000-4a55-a0e7-4d0ea9b1c205", "") + "," +
		obj("6b1c3a3e-0000-4a55-a0e7-4d0ea9b1c206", `,"extensions":{"`+sig+`":{"extension_type":"property-extension"},"bad-name":{"a":1}}`) + "]"
	dir := t.TempDir()
	push := func(file, stdin string) (int, string, string) {
		var out, errb bytes.Buffer
		c := &cli{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
		code := c.main(context.Background(), []string{"push", "--url", base, "--token", aur.Token, "--key", aur.KeyFile, "--collection", st.Collections.Shared, file})
		return code, out.String(), errb.String()
	}
	f := filepath.Join(dir, "accepted.json")
	if err := os.WriteFile(f, []byte(accepted), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := push(f, ""); code != 0 || !strings.Contains(out, "pushed 4 objects: 4 succeeded, 0 failed") {
		t.Fatalf("push of objects signing makes valid: exit %d\n%s%s", code, out, errs)
	}
	if code, out, errs := push("-", strings.ReplaceAll(accepted, "0000-4a55", "1111-4a55")); code != 0 || !strings.Contains(out, "pushed 4 objects: 4 succeeded, 0 failed") {
		t.Fatalf("push - of objects signing makes valid: exit %d\n%s%s", code, out, errs)
	}
	for _, from := range []string{"file", "stdin"} {
		file, stdin := filepath.Join(dir, "invalid.json"), ""
		if err := os.WriteFile(file, []byte(invalid), 0o600); err != nil {
			t.Fatal(err)
		}
		if from == "stdin" {
			file, stdin = "-", invalid
		}
		code, out, errs := push(file, stdin)
		if code != 2 || strings.Contains(out, "status") || !strings.Contains(errs, `"extensions.bad-name"`) {
			t.Fatalf("%s: push of an invalid object after a valid one: exit %d\n%s%s", from, code, out, errs)
		}
	}
}

// TestPushChecksContent: the node refuses a cyber-observable whose UUIDv5
// id isn't the one its value determines, and a pdq indicator whose
// quality isn't a whole number from 0 to 100, whatever the collection;
// push checks them as it checks STIX 2.1, and checks each object signed
// as it sends it, so a file holding one of them, or a predefined TLP
// marking push would sign, pushes nothing (exit 2), not the objects
// before it.
func TestPushChecksContent(t *testing.T) {
	base, st, _ := demoNode(t)
	aur := st.Members[0]
	valid := fmt.Sprintf(`{"type":"malware","spec_version":"2.1","id":"malware--7c1d3a3e-0000-4a55-a0e7-4d0ea9b1c201","created_by_ref":%q,"created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","name":"x","is_family":true}`, aur.ID)
	for _, tc := range []struct{ name, obj, want string }{
		{"another value's UUIDv5", `{"type":"ipv4-addr","spec_version":"2.1","id":"ipv4-addr--` + uuid.NewSHA1(uuid.NameSpaceOID, []byte("x")).String() + `","value":"192.0.2.1"}`, "UUIDv5"},
		{"a pdq quality over 100", fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":"indicator--7c1d3a3e-0000-4a55-a0e7-4d0ea9b1c202","created_by_ref":%q,"created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"%s","pattern_type":"pdq","valid_from":"2026-01-01T00:00:00Z","x_pdq_quality":101}`, aur.ID, strings.Repeat("ab", 32)), "x_pdq_quality"},
		// Signed (push signs it: it isn't the predefined object with a
		// stale signature), it is no longer the predefined marking.
		{"a predefined TLP marking with a stale signature", strings.TrimSuffix(string(stix.TLPMarking(stix.TLPGreenID)), "}") + `,"extensions":{"` + stix.SignatureExtensionID + `":"stale"}}`, "predefined TLP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			c := &cli{stdin: strings.NewReader("[" + valid + "," + tc.obj + "]"), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
			code := c.main(context.Background(), []string{"push", "--url", base, "--token", aur.Token, "--key", aur.KeyFile, "--collection", st.Collections.Shared, "-"})
			if code != 2 || strings.Contains(out.String(), "status") || !strings.Contains(errb.String(), tc.want) {
				t.Fatalf("exit %d\n%s%s", code, out.String(), errb.String())
			}
		})
	}
}
