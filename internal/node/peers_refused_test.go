package node

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/peer"
	"github.com/parley-exchange/parley/internal/untrusted"
	"github.com/parley-exchange/parley/stix"
)

// TestPeerSkipsRefusedObjects: an object of B that B's log proves (its
// entry commits to it, signed by its sharer's key in force) but that A's
// rules refuse, logged by a B that doesn't check them (B's own ingest
// refuses each): one dated more than node.MaxVersionAhead ahead of A's
// clock (peer.ErrVersionAhead), a statement under a predefined TLP id
// (peer.ErrMarking), an id not of the form type--UUID, with terminal
// escapes (peer.ErrIDForm). It is refused, but doesn't stop replication at
// its entry for good (before, every round failed at it, and nothing B
// logged after it reached A): it is skipped, not stored, and recorded,
// counted, in peer status (`refused`, `last_refused`, printable), and B's
// later objects are replicated.
func TestPeerSkipsRefusedObjects(t *testing.T) {
	onlySQLite(t)
	for _, tc := range []struct {
		name, want string
		raw        func(b *origin) []byte
	}{
		{"dated far ahead", "more than 100 years ahead", func(b *origin) []byte {
			// A's copy would stand for good, above any later version B
			// logs.
			return indicator(t, b.alice.ID, b.alice.Key, time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC))
		}},
		{"TLP id squatted", "predefined TLP", func(b *origin) []byte {
			// A's readers' tools take a TLP marking by its id
			// (TestTLPIdNotSquatted: B's own validation refuses it).
			return object(t, b.alice.Key, map[string]any{
				"type": "marking-definition", "spec_version": "2.1", "id": stix.TLPRedID,
				"created_by_ref": b.alice.ID, "created": "2026-01-01T00:00:00.000Z", "definition_type": "statement",
				"definition": map[string]any{"statement": "TLP:RED means share with anyone"},
			})
		}},
		{"invalid id", "is not of the form type--UUID", func(b *origin) []byte {
			// A's ingest refuses it (stix.Validator); stix.Parse doesn't.
			return object(t, b.alice.Key, map[string]any{
				"type": "indicator", "spec_version": "2.1", "id": "indicator--\x1b]0;owned\x07\x1b[2J",
				"created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
				"created_by_ref": b.alice.ID, "name": "bad id",
				"pattern": "[domain-name:value = 'evil.example']", "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z",
			})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newOrigin(t, "a")
			a := newFedNode(t, 0)
			pa := a.follow(t, b, "a", "from-b")
			b.share(t, b.intel, 10)
			a.caughtUp(t, b, "a")
			// A is down while B shares and logs the refused object, so
			// that one round meets them together.
			a.stop()
			b.share(t, b.intel, 3)
			storeBehindChecks(t, b, tc.raw(b), "")
			b.share(t, b.intel, 2)
			a.start(t)
			p := a.caughtUp(t, b, "a")
			if got := len(localObjects(t, a.Node, pa.Into)); got != 15 || p.State.Objects != 15 {
				t.Fatalf("stored %d objects (recorded %d), want 15: the refused one skipped, the others stored", got, p.State.Objects)
			}
			for _, o := range localObjects(t, a.Node, pa.Into) {
				if o.Version.Year() == 9999 || o.Type != "indicator" || !untrusted.Printable(o.ID) {
					t.Fatalf("the refused object was stored: %+v", o)
				}
			}
			if p.State.Refused != 1 || !strings.Contains(p.State.LastRefused, tc.want) || !strings.Contains(p.State.LastRefused, "refused object ") ||
				!untrusted.Printable(p.State.LastRefused) {
				t.Fatalf("refused %d, last_refused %q", p.State.Refused, p.State.LastRefused)
			}
			if p.State.LastError != "" || p.State.Failures != 0 {
				t.Fatalf("last_error %q, failed rounds %d after a skipped object", p.State.LastError, p.State.Failures)
			}
			js, err := json.Marshal(peer.StatusOf(p))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(js), `"refused":1,`) || !strings.Contains(string(js), `"last_refused":"refused object`) {
				t.Fatalf("peer status %s doesn't show the refusal", js)
			}
			// Recorded once: later rounds don't count it again.
			b.share(t, b.intel, 1)
			if p := a.caughtUp(t, b, "a"); p.State.Refused != 1 || p.State.Objects != 16 {
				t.Fatalf("after another step: refused %d, objects %d", p.State.Refused, p.State.Objects)
			}
		})
	}
}

// TestPeerKeepsUnsignedMarked: an unsigned object of B (which B's
// collection policy allowed) is kept, as docs/federation.md says, marked
// unsigned (store.Object.Signed false: the web UI's check ends "logged",
// saying so, and parley proof --peer-collection proves nothing of it),
// stored under the peer's member, never as a member of A's, even when it
// names a member of A as its creator; a signed one beside it is marked
// signed.
func TestPeerKeepsUnsignedMarked(t *testing.T) {
	onlySQLite(t)
	ctx := context.Background()
	b := newOrigin(t, "a")
	a := newFedNode(t, 0)
	cm, err := a.AddMember(ctx, "carol", nil)
	if err != nil {
		t.Fatal(err)
	}
	pa := a.follow(t, b, "a", "from-b")
	b.share(t, b.intel, 1)
	storeBehindChecks(t, b, indicator(t, cm.ID, nil, t0), "")
	if p := a.caughtUp(t, b, "a"); p.State.Objects != 2 || p.State.Refused != 0 {
		t.Fatalf("peer a: %+v", p.State)
	}
	var signed, unsigned int
	for _, o := range localObjects(t, a.Node, pa.Into) {
		if o.Member != pa.Member {
			t.Fatalf("B's object stored under member %s, not the peer's %s", o.Member, pa.Member)
		}
		if o.Signed {
			signed++
		} else {
			unsigned++
		}
	}
	if signed != 1 || unsigned != 1 {
		t.Fatalf("%d signed, %d unsigned; want 1 and 1", signed, unsigned)
	}
}
