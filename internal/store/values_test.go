package store

import (
	"slices"
	"testing"
)

// TestExactValuesURLQuery: a URL with its query string is an exact value,
// whole, beside what the value characters alone make of it (so that a
// look-up of the URL without its query finds what it found before); the
// JSON escapes of its characters are read as them; a query character
// makes nothing else a value.
func TestExactValuesURLQuery(t *testing.T) {
	for _, c := range []struct {
		raw  string
		want []string
	}{
		{`{"u":"https://a.example/x?id=7&k=%41"}`, []string{"https://a.example/x", "https://a.example/x?id=7&k=%41"}},
		{`{"u":"HTTPS://A.example/x?ID=7\u0026k=%41"}`, []string{"https://a.example/x", "https://a.example/x?id=7&k=%41"}},
		{`{"u":"https:\/\/a.example\/x?id=7"}`, []string{"https://a.example/x", "https://a.example/x?id=7"}},
		{`{"d":"a.example&b.example","e":"c.example?x=1"}`, []string{"a.example", "b.example", "c.example"}},
		{`{"u":"https://a.example/x"}`, []string{"https://a.example/x"}},
	} {
		if got := ExactValues([]byte(c.raw)); !slices.Equal(got, c.want) {
			t.Errorf("ExactValues(%s) = %q, want %q", c.raw, got, c.want)
		}
	}
	for v, want := range map[string]bool{
		"https://a.example/x?id=7&k=%41": true,
		"a.example?x=1":                  false,
		"a.example&b":                    false,
		"https://a.example/x y":          false,
	} {
		if got := IsExactValue(v); got != want {
			t.Errorf("IsExactValue(%q) = %v, want %v", v, got, want)
		}
	}
}
