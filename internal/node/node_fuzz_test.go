package node

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzParseCursor: a cursor is accepted only if it is exactly what
// formatCursor would have issued, and then it round-trips.
func FuzzParseCursor(f *testing.F) {
	for _, s := range []string{"0", "17", "9223372036854775807", "-1", "007", "1e3", "", " 1", "18446744073709551616"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseCursor(s)
		if err != nil {
			return
		}
		if n < 0 || formatCursor(n) != s {
			t.Fatalf("parseCursor(%q) = %d, which formats as %q", s, n, formatCursor(n))
		}
	})
}

// FuzzLoadConfig: any config.json either fails with an error or loads a
// Config that survives a write and a reload unchanged.
func FuzzLoadConfig(f *testing.F) {
	f.Add([]byte(`{"origin":"parley.example/log","listen":"127.0.0.1:9000","max_page_size":50,"shutdown_timeout":"3s"}`))
	f.Add([]byte(`{"origin":""}`))
	f.Add([]byte(`{"origin":"x","read_header_timeout":"forever"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, ConfigFile), b, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := LoadConfig(dir)
		if err != nil {
			return
		}
		out, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, ConfigFile), out, 0o600); err != nil {
			t.Fatal(err)
		}
		c2, err := LoadConfig(dir)
		if err != nil {
			t.Fatalf("reloading %s: %v", out, err)
		}
		if !reflect.DeepEqual(c, c2) {
			t.Fatalf("config changed on reload: %+v vs %+v", c, c2)
		}
	})
}
