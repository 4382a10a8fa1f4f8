package misp

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestHostileTextBounded: a feed whose manifest or event holds a MiB of
// text where a uuid, a timestamp, a boolean or a value is expected (with
// a right-to-left override and invalid UTF-8 in it) is refused with an
// error that quotes a bounded, printable part of it.
func TestHostileTextBounded(t *testing.T) {
	mib := "\u202e\xff" + strings.Repeat("k", 1<<20)
	num := strings.Repeat("1", 1<<20)
	manifests := []string{
		`{"` + mib + `": {"info": "x", "timestamp": "1"}}`,
		`{"5f3a9c1e-0000-4000-8000-000000000000": {"timestamp": "` + mib + `"}}`,
		`{"5f3a9c1e-0000-4000-8000-000000000000": {"timestamp": ` + num + `}}`,
		`{"5f3a9c1e-0000-4000-8000-000000000000": {"timestamp": ["` + mib + `"]}}`,
	}
	const ev = `{"Event": {"uuid": "5f3a9c1e-0000-4000-8000-000000000000", "info": "a", `
	events := []string{
		`{"Event": {"uuid": "` + mib + `", "info": "a"}}`,
		ev + `"Attribute": [{"type": "ip-src", "value": "1.2.3.4", "to_ids": "` + mib + `"}]}}`,
		ev + `"Attribute": [{"type": "ip-src", "value": "1.2.3.4", "to_ids": ` + num + `}]}}`,
		ev + `"Attribute": [{"type": "ip-src", "value": "1.2.3.4", "timestamp": "` + mib + `"}]}}`,
		ev + `"Attribute": [{"type": "ip-src", "value": {"` + mib + `": 1}}]}}`,
		ev + `"threat_level_id": ["` + mib + `"]}}`,
		ev + `"Object": [{"Attribute": [{"type": "ip-src", "value": ["` + mib + `"]}]}]}}`,
		`[` + ev + `"date": {"` + mib + `": 1}}}]`,
	}
	check := func(what, doc string, err error) {
		t.Helper()
		if !errors.Is(err, ErrFormat) || len(err.Error()) > 400 || strings.ContainsAny(err.Error(), "\u202e\n") || !utf8.ValidString(err.Error()) {
			t.Errorf("%s %.80q: err (%d bytes) = %.300q", what, doc, len(err.Error()), err)
		}
	}
	for _, doc := range manifests {
		_, err := ParseManifest([]byte(doc))
		check("manifest", doc, err)
	}
	for _, doc := range events {
		_, err := ParseEvents([]byte(doc))
		check("event", doc, err)
	}
}
