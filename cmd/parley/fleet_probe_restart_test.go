package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMatchFleetAllPoisonAfterRestart: a member that starts again (a
// deploy, a crash) and whose first flush holds nothing but objects the
// node fails on has the probe an earlier member left in JetStream (the
// key-value bucket parley_probes): the rounds set the flush apart, and its
// message is acknowledged. Before, the probe lived in the member's memory
// only: the new member had none, took the node for one that is down, and
// held the message for ever (and so would every member it went to after
// a restart).
func TestMatchFleetAllPoisonAfterRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nats-server and a node")
	}
	f := newRefusingFleet(t)
	f.pushPoisonIndicator(t)
	front, armed, failed := newArmedFront(t, f.base)

	_, errA, stopA := f.member(front.URL)
	f.publishAnswers(t, "C1", "203.0.113.1")
	f.waitFor(t, "the first message to be acknowledged", func() bool { floor, p := f.acked(); return floor == 1 && p == 0 }, errA)
	if code := stopA(); code != 0 {
		t.Fatalf("the first member exited %d, want 0:\n%s", code, errA)
	}
	// Started again: a new process, nothing in memory.
	armed.Store(true)
	dead := filepath.Join(t.TempDir(), "dead.jsonl")
	_, errB, stopB := f.member(front.URL, "--dead-letter", dead)
	defer stopB()
	f.publishPoison(t)
	f.waitFor(t, "the poison flush's message to be acknowledged", func() bool { floor, p := f.acked(); return floor == 2 && p == 0 }, errB)
	if code := stopB(); code != 0 {
		t.Fatalf("the member started again exited %d, want 0:\n%s", code, errB)
	}
	if failed.Load() == 0 {
		t.Fatalf("the node never failed on the flush:\n%s", errB)
	}
	if !strings.Contains(errB.String(), "in an earlier push") {
		t.Errorf("the objects are not reported set apart on the earlier push's probe:\n%s", errB)
	}
	b, _ := os.ReadFile(dead)
	if !bytes.Contains(b, []byte(`"worse.example"`)) || bytes.Contains(b, []byte("203.0.113")) {
		t.Errorf("--dead-letter does not hold the poison flush alone:\n%s", b)
	}
}

// TestMatchFleetProbeBucketDenied: a member whose NATS user may not
// create the probe's key-value bucket warns once, names the bucket to
// create, and goes on with the probe in memory: its messages are matched,
// pushed and acknowledged as before the probe was kept in JetStream.
func TestMatchFleetProbeBucketDenied(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nats-server and a node")
	}
	conf := filepath.Join(t.TempDir(), "nats.conf")
	os.WriteFile(conf, []byte(`authorization {
  users = [ { user: fleet, password: fleet, permissions: { publish: { allow: [">"], deny: ["$JS.API.STREAM.CREATE.KV_parley_probes"] }, subscribe: { allow: [">"] } } } ]
}
no_auth_user: fleet
`), 0o600)
	f := newRefusingFleetOn(t, startNATSWith(t, "-c", conf))
	_, errb, stop := f.member(f.base)
	defer stop()
	f.publishAnswers(t, "C1", "203.0.113.1")
	f.waitFor(t, "the message to be acknowledged", func() bool { floor, p := f.acked(); return floor == 1 && p == 0 }, errb)
	if code := stop(); code != 0 {
		t.Fatalf("the member exited %d, want 0:\n%s", code, errb)
	}
	if !strings.Contains(errb.String(), "held in memory only") || !strings.Contains(errb.String(), "nats kv add parley_probes") {
		t.Errorf("no warning naming the bucket:\n%s", errb)
	}
	if !strings.Contains(f.stored(t), "203.0.113.1") {
		t.Errorf("the sightings were not stored")
	}
}
