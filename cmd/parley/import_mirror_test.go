package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// mirrorFeed writes a MISP feed (manifest.json and <uuid>.json) of the
// one event ev, in core format, and returns its folder.
func mirrorFeed(t *testing.T, ev map[string]any) string {
	t.Helper()
	dir := t.TempDir()
	e := ev["Event"].(map[string]any)
	id := e["uuid"].(string)
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := json.Marshal(map[string]any{id: map[string]any{"info": e["info"], "timestamp": e["timestamp"]}})
	if err := os.WriteFile(filepath.Join(dir, id+".json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), m, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestImportMISPMirroredFeeds: CIRCL's OSINT event 57c4445b (as PyMISP's
// tests hold it) in two feeds, the second a mirror that republishes it
// with two attributes fewer and the same event timestamp (as a feed
// filtered by another organisation is). The ids stay those of the MISP
// uuids, as for one feed. One member importing both into one collection:
// the attributes are already there, and the mirror's report (other
// object_refs at the same version) is a conflict that --on-conflict skip
// reports and goes past, the first copy staying. A second member
// importing the full feed into another collection: the ids are the first
// member's (the node gives an id to who created it), and --on-conflict
// skip reports each one and goes on (exit 0) instead of failing on them
// (exit 4) whatever the option; --on-conflict fail stops (exit 4).
func TestImportMISPMirroredFeeds(t *testing.T) {
	tn := startTestNode(t)
	ctx := context.Background()
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	other, err := tn.n.AddMember(ctx, "other", pub)
	if err != nil {
		t.Fatal(err)
	}
	otherDir := t.TempDir()
	otherKey, otherToken := filepath.Join(otherDir, "member.key"), filepath.Join(otherDir, "member.json")
	if err := writeKeyPair(otherKey, pub, key); err != nil {
		t.Fatal(err)
	}
	tj, _ := json.Marshal(map[string]string{"id": other.ID, "token": other.Token})
	if err := os.WriteFile(otherToken, tj, 0o600); err != nil {
		t.Fatal(err)
	}
	members := []string{"bench", "other"}
	c1, err := tn.n.AddCollection(ctx, "c1", "", members, members, "")
	if err != nil {
		t.Fatal(err)
	}
	c2, err := tn.n.AddCollection(ctx, "c2", "", members, members, "")
	if err != nil {
		t.Fatal(err)
	}

	raw, err := os.ReadFile("../../misp/testdata/pymisp_57c4445b-c548-4654-af0b-4be3950d210f.json")
	if err != nil {
		t.Fatal(err)
	}
	var full, mirror map[string]any
	if err := json.Unmarshal(raw, &full); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(raw, &mirror)
	me := mirror["Event"].(map[string]any)
	me["Attribute"] = me["Attribute"].([]any)[:7]
	me["Org"] = map[string]any{"name": "Mirror", "uuid": "5a1c30b2-0000-4000-8000-00000000000a"}
	feedA, feedB := mirrorFeed(t, full), mirrorFeed(t, mirror)

	run := func(feed, coll, keyFile, tokenFile string, extra ...string) (int, string) {
		t.Helper()
		var out, errb bytes.Buffer
		c := &cli{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
		args := append([]string{"import", "misp", "--url", tn.url, "--token-file", tokenFile, "--key", keyFile,
			"--collection", coll, "--state", filepath.Join(t.TempDir(), "state.json")}, extra...)
		code := c.main(ctx, append(args, feed))
		return code, out.String() + errb.String()
	}
	const report = "report--57c4445b-c548-4654-af0b-4be3950d210f"
	if code, out := run(feedA, c1, tn.keyFile, tn.tokenFile); code != 0 || !strings.Contains(out, "12 stored (0 already there)") {
		t.Fatalf("the first feed: exit %d\n%s", code, out)
	}
	if code, out := run(feedB, c1, tn.keyFile, tn.tokenFile); code != 4 || !strings.Contains(out, "conflict "+report) {
		t.Errorf("the mirror, --on-conflict fail: exit %d, want 4 naming the report\n%s", code, out)
	}
	code, out := run(feedB, c1, tn.keyFile, tn.tokenFile, "--on-conflict", "skip")
	if code != 0 || !strings.Contains(out, "skipped  "+report) || !strings.Contains(out, "another copy of this MISP object") {
		t.Errorf("the mirror, --on-conflict skip: exit %d, want 0 and the report skipped as another copy\n%s", code, out)
	}

	code, out = run(feedA, c2, otherKey, otherToken)
	if code != 4 || !strings.Contains(out, "conflict "+report) {
		t.Errorf("another member, --on-conflict fail: exit %d, want 4 naming the report\n%s", code, out)
	}
	code, out = run(feedA, c2, otherKey, otherToken, "--on-conflict", "skip")
	if code != 0 {
		t.Errorf("another member, --on-conflict skip: exit %d, want 0\n%s", code, out)
	}
	for _, id := range []string{report, "indicator--57c4448b-3fa4-4d65-9ccc-4afa950d210f", "indicator--57c54b0f-27a4-458b-8e63-4455950d210f"} {
		if !strings.Contains(out, "skipped  "+id) {
			t.Errorf("another member, --on-conflict skip: %s isn't reported as skipped\n%s", id, out)
		}
	}
	if !strings.Contains(out, "another member imported this MISP uuid first") {
		t.Errorf("the skipped ids don't say whose they are\n%s", out)
	}
}

// cancelOn is a writer that cancels a context once what it was written
// holds a phrase: a test's way to end a follower at the moment it chose to
// go on, without a timer.
type cancelOn struct {
	buf    bytes.Buffer
	phrase string
	cancel context.CancelFunc
}

func (w *cancelOn) Write(p []byte) (int, error) {
	w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.phrase) {
		w.cancel()
	}
	return len(p), nil
}

// TestImportMISPPollConflictEndsFollow: a follower (`--poll`) with the
// default --on-conflict fail meets a mirror's copy that conflicts. Trying
// the round again can't help (versions are never replaced), and would
// stall the follow before every event after the conflict; it ends, exit 4,
// saying so and how to go past it, instead of retrying.
func TestImportMISPPollConflictEndsFollow(t *testing.T) {
	tn := startTestNode(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	raw, err := os.ReadFile("../../misp/testdata/pymisp_57c4445b-c548-4654-af0b-4be3950d210f.json")
	if err != nil {
		t.Fatal(err)
	}
	var full, mirror map[string]any
	if err := json.Unmarshal(raw, &full); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(raw, &mirror)
	me := mirror["Event"].(map[string]any)
	me["Attribute"] = me["Attribute"].([]any)[:7]
	feedA, feedB := mirrorFeed(t, full), mirrorFeed(t, mirror)
	coll, err := tn.n.AddCollection(context.Background(), "c1", "", []string{"bench"}, []string{"bench"}, "")
	if err != nil {
		t.Fatal(err)
	}
	run := func(feed string, extra ...string) (int, string) {
		t.Helper()
		var out bytes.Buffer
		errw := &cancelOn{phrase: "trying again", cancel: cancel}
		c := &cli{stdout: &out, stderr: errw, getenv: func(string) string { return "" }}
		args := append([]string{"import", "misp", "--url", tn.url, "--token-file", tn.tokenFile, "--key", tn.keyFile,
			"--collection", coll, "--state", filepath.Join(t.TempDir(), "state.json")}, extra...)
		code := c.main(ctx, append(args, feed))
		return code, out.String() + errw.buf.String()
	}
	if code, out := run(feedA); code != 0 {
		t.Fatalf("the first feed: exit %d\n%s", code, out)
	}
	code, out := run(feedB, "--poll", "1ms")
	if strings.Contains(out, "trying again") {
		t.Fatalf("the follower retries a conflict that no retry can resolve:\n%s", out)
	}
	if code != 4 || !strings.Contains(out, "stopped following the feed") || !strings.Contains(out, "--on-conflict skip") {
		t.Errorf("the follower met a conflict: exit %d, want 4 saying it stopped and how to go past it\n%s", code, out)
	}
}
