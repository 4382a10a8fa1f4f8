package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// terminalHostile is text that drives or reorders a terminal: an OSC
// title and a colour, a C1 CSI, and bidi overrides.
const terminalHostile = "\x1b]0;owned\x07\x1b[31m\u009b2J\u202eexe.txt\u2066"

// checkTerminalSafe fails unless s holds only tabs and newlines of the
// control characters, no bidi controls and only UTF-8.
func checkTerminalSafe(t *testing.T, what, s string) {
	t.Helper()
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			t.Errorf("%s: byte %d is not UTF-8:\n%q", what, i, s)
			return
		case r == '\t' || r == '\n':
		case unicode.IsControl(r), unicode.Is(unicode.Bidi_Control, r), r == 0x2028, r == 0x2029:
			t.Errorf("%s: byte %d is %U:\n%q", what, i, r, s)
			return
		}
	}
}

// TestExportMatchHostileTerminal: a rival member's indicators (read from a
// bundle file, whose ids need not be STIX ids) carry terminal escapes and
// bidi controls in their ids, names, pattern types, and in values that
// are not exportable. Whatever export and match print, on stdout and on
// stderr, in every format, is free of them; the listing of what was left
// out still names each indicator, and a sighting still refers to the
// indicator's exact id.
func TestExportMatchHostileTerminal(t *testing.T) {
	dir := t.TempDir()
	h := terminalHostile
	ind := func(id, name, pattern, ptype string) map[string]any {
		return map[string]any{"type": "indicator", "spec_version": "2.1", "id": id, "name": name,
			"created": "2024-01-01T00:00:00Z", "modified": "2024-01-01T00:00:00Z", "valid_from": "2024-01-01T00:00:00Z",
			"pattern": pattern, "pattern_type": ptype}
	}
	hostileID := "indicator--0b1c2d3e-0000-4000-8000-00000000000" + h
	objs := []map[string]any{
		ind(hostileID, h, "[domain-name:value = 'evil.example']", "stix"),
		ind("indicator--0b1c2d3e-0000-4000-8000-000000000001", h, "[domain-name:value = '*.x"+h+"']", "stix"),
		ind("indicator--0b1c2d3e-0000-4000-8000-000000000002", h, "[ipv4-addr:value = '10.0.0.1"+h+"']", "stix"),
		ind("indicator--0b1c2d3e-0000-4000-8000-000000000003", h, "[x-"+h+":'"+h+"' = 'a']", "stix"),
		ind("indicator--0b1c2d3e-0000-4000-8000-000000000004", h, "[domain-name:value = 'a']", "sigma"+h),
		ind("indicator--0b1c2d3e-0000-4000-8000-000000000005", h, "[url:value = 'ftp://e.example/"+h+"']", "stix"),
		ind("indicator--"+h, h, "[domain-name:value = '"+h, "stix"),
		ind("indicator--0b1c2d3e-0000-4000-8000-000000000006", h, "[file:name = '"+h+"']", "stix"),
	}
	bundle, err := json.Marshal(map[string]any{"type": "bundle", "id": "bundle--0b1c2d3e-0000-4000-8000-000000000000", "objects": objs})
	if err != nil {
		t.Fatal(err)
	}
	indicators := filepath.Join(dir, "indicators.json")
	events := filepath.Join(dir, "eve.json")
	if err := os.WriteFile(indicators, bundle, 0o644); err != nil {
		t.Fatal(err)
	}
	eve := `{"timestamp":"2024-06-01T00:00:00.000000+0000","event_type":"dns","src_ip":"192.0.2.1","dest_ip":"192.0.2.53","dns":{"type":"query","rrname":"evil.example","rrtype":"A"}}` + "\n"
	if err := os.WriteFile(events, []byte(eve), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"export", "--format", "zeek-intel", "--indicators", indicators},
		{"export", "--format", "suricata-dataset", "--indicators", indicators, "--out", filepath.Join(dir, "suricata")},
		{"export", "--format", "misp-feed", "--indicators", indicators, "--out", filepath.Join(dir, "misp")},
		{"match", "--indicators", indicators, events},
	} {
		name := args[0]
		if name == "export" {
			name += " " + args[2]
		}
		t.Run(name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, args...)
			checkTerminalSafe(t, "stdout", stdout)
			checkTerminalSafe(t, "stderr", stderr)
			switch {
			case args[0] == "match":
				if code != 0 {
					t.Fatalf("exit %d: %s", code, stderr)
				}
				var s struct {
					Ref string `json:"sighting_of_ref"`
				}
				if err := json.Unmarshal([]byte(stdout), &s); err != nil || s.Ref != hostileID {
					t.Errorf("sighting of %q (%v), want %q:\n%s", s.Ref, err, hostileID, stdout)
				}
			case args[2] == "misp-feed":
				if code != 0 || !strings.Contains(stderr, "no MISP form: indicator indicator--0b1c2d3e-0000-4000-8000-000000000004: ") {
					t.Errorf("exit %d, want 0 and the sigma indicator listed: %s", code, stderr)
				}
			default:
				if code != 0 {
					t.Fatalf("exit %d: %s", code, stderr)
				}
				for i := 1; i <= 6; i++ {
					if id := fmt.Sprintf("indicator--0b1c2d3e-0000-4000-8000-00000000000%d: ", i); i != 6 && !strings.Contains(stderr, "not representable: "+id) {
						t.Errorf("%s is not listed as not representable:\n%s", id, stderr)
					}
				}
			}
		})
	}
}
