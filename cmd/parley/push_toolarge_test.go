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

// TestPushSeparatingObjectOverTwiceMaxContentLength: an object far over
// twice the node's max_content_length, which the node refuses without
// reading the body (it drains a body only up to twice the limit), is set
// apart with the node's 413 answer, not taken for a node that cut the
// connection; the objects beside it are stored. A real node: Go's server
// answers 413, half-closes the connection and waits before it closes it
// (so the client reads the answer rather than a reset), and Go's client
// returns an answer that comes while it is still sending the body.
func TestPushSeparatingObjectOverTwiceMaxContentLength(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node")
	}
	dir, st := demoData(t)
	const limit = 64 << 10
	if err := editConfig(dir, func(cfg map[string]any) {
		cfg["max_content_length"] = limit
		cfg["max_object_size"] = 512 * limit
	}); err != nil {
		t.Fatal(err)
	}
	base := serveData(t, dir)
	m := st.Members[0]
	key, err := readPrivateKey(io.Discard, m.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	var objs []map[string]any
	for i := range 5 {
		content := fmt.Sprintf("small note %d", i)
		if i == 2 {
			content = strings.Repeat("a", 40*limit) // 2.5 MiB: 40 times the limit, and well over the 256 KiB a Go server drains
		}
		objs = append(objs, map[string]any{"type": "note", "spec_version": "2.1", "id": fmt.Sprintf("note--0c0c0c0c-0000-4000-8000-%012d", i),
			"created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z", "created_by_ref": m.ID,
			"content": content, "object_refs": []any{m.ID}})
	}
	client := &taxii.Client{BaseURL: base, Token: m.Token}
	refused, err := match.PushSeparating(context.Background(), client, st.Collections.Shared, key, objs)
	if err != nil {
		t.Fatal(err)
	}
	if len(refused) != 1 || refused[0].Object["id"] != objs[2]["id"] || !strings.Contains(refused[0].Reason, "413") {
		for _, r := range refused {
			t.Logf("set apart %v: %s", r.Object["id"], r.Reason)
		}
		t.Fatalf("set apart %d objects, want the large one alone, with the node's 413", len(refused))
	}
	code, pulled, stderr := runCLI(t, "pull", "--url", base, "--token", m.Token, "--collection", st.Collections.Shared)
	if code != 0 {
		t.Fatalf("pull: exit %d: %s", code, stderr)
	}
	for i, o := range objs {
		if stored := strings.Contains(pulled, o["id"].(string)); stored != (i != 2) {
			t.Errorf("%s stored: %v, want %v", o["id"], stored, i != 2)
		}
	}
}
