package main

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/internal/match"
	"github.com/parley-exchange/parley/stix"
)

// TestDeadLetterSignsAsFleet: an object a fleet member wrote to its
// --dead-letter FILE (match.WriteObjects: unsigned, one a line, HTML
// characters unescaped), read back by push (objectLines) and signed with
// the member's key (signSpans), is byte for byte what the member would
// have sent (stix.Sign of the object's JSON): the signature is the
// member's, valid, and a copy the node stored meanwhile is "already
// stored", not a conflict.
func TestDeadLetterSignsAsFleet(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(nil)
	objs := []map[string]any{
		{"type": "sighting", "spec_version": "2.1", "id": "sighting--6a1f3a39-6f0c-4c83-9b6e-51b0f5a0f001", "created": "2026-12-06T09:00:00.123456Z",
			"modified": "2026-12-06T09:00:00.123456Z", "sighting_of_ref": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "count": 3,
			"x_parley_stream": "EVENTS", "x_parley_stream_sequences": [][2]uint64{{1, 2}, {7, 7}}, "description": "<a&b> \u2028 é"},
		{"type": "ipv4-addr", "spec_version": "2.1", "id": "ipv4-addr--0b4b7a2f-0d7e-5b1e-9c35-4b9b0a3f0a11", "value": "198.51.100.66"},
		{"type": "x-number", "id": "x-number--6a1f3a39-6f0c-4c83-9b6e-51b0f5a0f002", "n": 0.1, "big": 1e21, "small": 5e-324},
	}
	var file bytes.Buffer
	if err := match.WriteObjects(&file, objs); err != nil {
		t.Fatal(err)
	}
	spans, ok, err := objectLines(file.Bytes())
	if !ok || err != nil || len(spans) != len(objs) {
		t.Fatalf("objectLines: %d spans, ok %t, error %v; want %d", len(spans), ok, err, len(objs))
	}
	signed, err := signSpans(spans, key, "dead.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range objs {
		b, _ := json.Marshal(o)
		want, err := stix.Sign(b, key)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(signed[i], want) {
			t.Errorf("object %d: push signs\n%s\nthe fleet signs\n%s", i, signed[i], want)
		}
		if _, err := stix.Verify(signed[i]); err != nil {
			t.Errorf("object %d: %v", i, err)
		}
	}
}

// TestObjectLines: JSON Lines of STIX objects (blank lines and CRLF line
// ends taken) are read, each line one object; a document whose first line
// is not one object is not JSON Lines (its own error stands); a later
// line that is not one object (a bundle, broken JSON) is named.
func TestObjectLines(t *testing.T) {
	const a = `{"type":"x-a","id":"x-a--6a1f3a39-6f0c-4c83-9b6e-51b0f5a0f001"}`
	const b = `{"type":"x-b","id":"x-b--6a1f3a39-6f0c-4c83-9b6e-51b0f5a0f002"}`
	for _, c := range []struct {
		data  string
		n     int
		ok    bool
		error string
	}{
		{a + "\n" + b + "\n", 2, true, ""},
		{a + "\r\n\r\n  \n" + b, 2, true, ""},
		{a + "\n", 0, false, ""},
		{"{\n" + a[1:] + "\n", 0, false, ""},
		{a + " " + b + "\n", 0, false, ""},
		{a + "\n" + b + "\n{\"type\": \n", 0, true, "line 3: "},
		{a + "\n" + `{"type":"bundle","id":"bundle--6a1f3a39-6f0c-4c83-9b6e-51b0f5a0f003","objects":[` + b + `]}`, 0, true, "line 2: "},
	} {
		spans, ok, err := objectLines([]byte(c.data))
		if len(spans) != c.n || ok != c.ok || (err == nil) != (c.error == "") || err != nil && !strings.HasPrefix(err.Error(), c.error) {
			t.Errorf("%q: %d spans, ok %t, error %v; want %d, %t, %q", c.data, len(spans), ok, err, c.n, c.ok, c.error)
		}
	}
}
