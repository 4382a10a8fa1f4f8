package tlog

import (
	"strings"
	"testing"
	"time"
)

// TestCheckOpeningExactNames: an object whose bytes are committed as they
// are (not in canonical form) and that names its id, version or creator
// twice, or in another case ("ID" beside "id"), is refused: encoding/json
// read the last, case-insensitively, so parley took the object for the
// opening's while an implementation that reads "id" exactly (or
// canonicalizes first) took it for another.
func TestCheckOpeningExactNames(t *testing.T) {
	const a, b = "indicator--00000000-0000-4000-8000-00000000000a", "indicator--00000000-0000-4000-8000-00000000000b"
	op := Opening{Salt: make([]byte, SaltSize), Collection: "c", ObjectID: b, Version: "2026-01-01T00:00:00.000Z", Member: "identity--m"}
	for _, c := range []struct{ name, object, want string }{
		{"plain", `{"id":"` + b + `","modified":"2026-01-01T00:00:00.000Z","type":"indicator"}`, ""},
		{"ID after id", `{"id":"` + a + `","modified":"2026-01-01T00:00:00.000Z","type":"indicator","ID":"` + b + `"}`, `unknown field "ID"`},
		{"Modified", `{"id":"` + b + `","modified":"2026-01-02T00:00:00.000Z","type":"indicator","Modified":"2026-01-01T00:00:00.000Z"}`, `unknown field "Modified"`},
		{"ID escaped", `{"id":"` + a + `","modified":"2026-01-01T00:00:00.000Z","type":"indicator","\u0049D":"` + b + `"}`, `unknown field "ID"`},
		{"a value spelt id", `{"id":"` + b + `","modified":"2026-01-01T00:00:00.000Z","name":"id","type":"indicator","x_Id":"ID"}`, ""},
		{"id twice", `{"id":"` + a + `","modified":"2026-01-01T00:00:00.000Z","type":"indicator","id":"` + b + `"}`, `field "id" given twice`},
	} {
		e := Entry{Kind: KindObject, Received: time.Unix(0, 0), Commitment: ObjectCommitment(op, []byte(c.object))}
		_, _, err := CheckOpening([]byte(c.object), op, e)
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}
