package main

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/tlog"
)

// TestProvesCopies: a peer bundle proves the node's copies of an object
// only if every item is of that object and each copy is, as canonical
// JSON, an item signed by a key the peer's log gave its member; an item
// that is itself foreign or unsigned in the peer's log proves nothing.
func TestProvesCopies(t *testing.T) {
	const id = "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
	v1 := `{"id":"` + id + `","modified":"2026-01-01T00:00:00.000Z","type":"indicator"}`
	v2 := `{"id":"` + id + `","modified":"2026-01-02T00:00:00.000Z","type":"indicator"}`
	spaced := `{ "type": "indicator", "id": "` + id + `", "modified": "2026-01-01T00:00:00.000Z" }` // the same as v1
	signed := tlog.ObjectCheck{}
	foreign := tlog.ObjectCheck{ForeignKey: make(ed25519.PublicKey, ed25519.PublicKeySize)}
	type item struct {
		object, id string
		signed     bool
		check      tlog.ObjectCheck
	}
	for _, c := range []struct {
		name   string
		items  []item
		copies []string
		want   string // "" means proved
	}{
		{"each copy signed", []item{{v1, id, true, signed}, {v2, id, true, signed}}, []string{v1, v2}, ""},
		{"re-indented", []item{{spaced, id, true, signed}}, []string{v1}, ""},
		{"a copy not in the bundle", []item{{v1, id, true, signed}}, []string{v1, v2}, "isn't in the bundle"},
		{"another object", []item{{v1, id, true, signed}, {v2, "indicator--other", true, signed}}, []string{v1}, "not only"},
		{"foreign in the peer's log too", []item{{v1, id, false, foreign}}, []string{v1}, "isn't in the bundle"},
		{"unsigned in the peer's log", []item{{v1, id, false, signed}}, []string{v1}, "isn't in the bundle"},
	} {
		var b tlog.Bundle
		var res tlog.BundleResult
		for i, it := range c.items {
			op := tlog.Opening{ObjectID: it.id, Version: "2026-01-01T00:00:00.000Z", Member: "identity--alice"}
			b.Items = append(b.Items, tlog.BundleItem{Object: json.RawMessage(it.object), Opening: op, LogIndex: uint64(i)})
			res.Items = append(res.Items, tlog.VerifiedItem{Opening: op, Signed: it.signed, Check: it.check, Index: uint64(i)})
		}
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		var copies [][]byte
		for _, cp := range c.copies {
			copies = append(copies, []byte(cp))
		}
		var errb bytes.Buffer
		cl := &cli{stdout: &bytes.Buffer{}, stderr: &errb, getenv: func(string) string { return "" }}
		err = provesCopies(cl, raw, res, id, copies)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want == "" && strings.Count(errb.String(), "signed by identity--alice") != len(copies):
			t.Errorf("%s: says %q", c.name, errb.String())
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want an error saying %q", c.name, err, c.want)
		}
	}
}
