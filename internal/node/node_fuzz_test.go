package node

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// FuzzParseCursor: a cursor is accepted only if it is exactly what
// formatCursor would have issued for the collection, and then it
// round-trips.
func FuzzParseCursor(f *testing.F) {
	const coll = "0f0e0d0c-0b0a-4909-8807-060504030201"
	f.Add(formatCursor(coll, time.Date(2026, 5, 5, 5, 5, 5, 123456000, time.UTC)))
	f.Add(formatCursor("another", time.Date(2026, 5, 5, 5, 5, 5, 123456000, time.UTC)))
	for _, s := range []string{"0", "17", "9223372036854775807", "-1", "007", "1e3", "", " 1", "18446744073709551616"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		at, err := parseCursor(coll, s)
		if err != nil {
			return
		}
		if at.Before(time.Unix(0, 0)) || formatCursor(coll, at) != s {
			t.Fatalf("parseCursor(%q) = %s, which formats as %q", s, at, formatCursor(coll, at))
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
