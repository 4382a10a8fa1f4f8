package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/internal/match"
	"github.com/parley-exchange/parley/taxii"
)

// TestPushEnvelopeOverMaxContentLength: `parley match --push` over files
// (match.Push, which sets nothing apart) to a node whose operator lowered
// max_content_length below the envelopes a push makes (up to 8 MiB) has
// each envelope the node refuses as too large (413) posted again in
// halves, and every object stored. Before, the first 413 ended the push
// ("the node refused"), however small each object was: the sightings
// were never stored, at every run.
func TestPushEnvelopeOverMaxContentLength(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node")
	}
	dir, st := demoData(t)
	const limit = 64 << 10
	if err := editConfig(dir, func(cfg map[string]any) { cfg["max_content_length"] = limit }); err != nil {
		t.Fatal(err)
	}
	base := serveData(t, dir)
	m := st.Members[0]
	key, err := readPrivateKey(io.Discard, m.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	// 40 notes of 8 KiB: 320 KiB in all, five times the limit.
	var objs []map[string]any
	for i := range 40 {
		objs = append(objs, map[string]any{"type": "note", "spec_version": "2.1", "id": fmt.Sprintf("note--0d0d0d0d-0000-4000-8000-%012d", i),
			"created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z", "created_by_ref": m.ID,
			"content": fmt.Sprintf("%d %s", i, strings.Repeat("n", 8<<10)), "object_refs": []any{m.ID}})
	}
	client := &taxii.Client{BaseURL: base, Token: m.Token}
	if err := match.Push(context.Background(), client, st.Collections.Shared, key, objs); err != nil {
		t.Fatal(err)
	}
	got := 0
	for env, err := range client.ObjectPages(context.Background(), st.Collections.Shared, taxii.Query{Types: []string{"note"}}) {
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range env.Objects {
			if strings.Contains(string(o), "note--0d0d0d0d-") {
				got++
			}
		}
	}
	if got != len(objs) {
		t.Errorf("the node holds %d of the %d notes", got, len(objs))
	}
}
