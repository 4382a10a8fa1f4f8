package match

import (
	"context"
	"crypto/ed25519"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// keptSetup starts what the kept-probe tests share: a nats-server (its
// URL), a member's key, a node that fails on poison objects served over
// HTTP until the test ends, and the name of the member's probe entry in
// the bucket.
func keptSetup(t *testing.T) (url string, key ed25519.PrivateKey, node *failingNode, srv *httptest.Server, name string) {
	t.Helper()
	url = startNATS(t)
	_, key, _ = ed25519.GenerateKey(nil)
	node = &failingNode{stored: map[string]bool{}, poison: "poison"}
	srv = httptest.NewServer(node)
	t.Cleanup(srv.Close)
	return url, key, node, srv, ProbeKey(srv.URL, "c1", key.Public().(ed25519.PublicKey))
}

// keptProbe is a member's Probe kept in the bucket entry name, any error
// of the keeper failing the test.
func keptProbe(t *testing.T, url, name string) *Probe {
	p := &Probe{}
	p.Keep(probeKeeper(t, url, name), func(err error) { t.Error(err) })
	return p
}

// probeKeeper returns a keeper of key in the ProbeBucket of a nats-server
// of the test's own (each call, a new connection: another process).
func probeKeeper(t *testing.T, url, key string) ProbeKeeper {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	k, err := JetStreamProbeKeeper(ctx, js, key)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestPushProbeKeptRestart: a member started again (a new Probe) whose
// first push holds nothing but objects the node fails on has the probe
// its earlier process kept in JetStream: the objects are set apart on
// it. Without a keeper, the push is waited on, as for a node that is
// down, for ever.
func TestPushProbeKeptRestart(t *testing.T) {
	url, key, _, srv, name := keptSetup(t)
	first := keptProbe(t, url, name)
	if _, err, _ := probedPush(t, srv.URL, key, separatingObjects(3, nil), first); err != nil {
		t.Fatalf("a good push: %v", err)
	}
	poison := separatingObjects(2, map[int]string{0: "x-poison-0", 1: "x-poison-1"})
	if refused, err, waits := probedPush(t, srv.URL, key, poison, &Probe{}); len(refused) != 0 || waits != 3 {
		t.Fatalf("a new member without a keeper: refused %d after %d waits, error %v; want it waited for", len(refused), waits, err)
	}
	again := keptProbe(t, url, name)
	refused, err, waits := probedPush(t, srv.URL, key, poison, again)
	if err != nil || waits != 0 || len(refused) != 2 || !strings.Contains(refused[0].Reason, "in an earlier push") {
		t.Fatalf("the member started again: refused %d after %d waits, error %v; want both set apart on the kept probe", len(refused), waits, err)
	}
	// Another member's key has a probe of its own: none yet.
	_, other, _ := ed25519.GenerateKey(nil)
	p := &Probe{}
	p.Keep(probeKeeper(t, url, ProbeKey(srv.URL, "c1", other.Public().(ed25519.PublicKey))), nil)
	if raw, _, _ := p.take(context.Background(), time.Now(), other.Public().(ed25519.PublicKey)); raw != nil {
		t.Errorf("a member with another key got the probe of this one's")
	}
}

// TestPushProbeKeptGuardShared: the guard of PushRetryingSeparatingProbed
// holds for the whole fleet: once a member's push that a node storing
// nothing new failed on had objects set apart, another member's push
// (another process, the same key, collection and node) is waited for
// too, until earlierProbeEvery has passed. Before, each member had a
// guard of its own, and a node whose store takes no new writes had a
// push of each member set apart every 10 minutes, and one of each member
// started again at once.
func TestPushProbeKeptGuardShared(t *testing.T) {
	defer func(f func() time.Time) { pushNow = f }(pushNow)
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	pushNow = func() time.Time { return now }
	url, key, node, srv, name := keptSetup(t)
	a, b := keptProbe(t, url, name), keptProbe(t, url, name)
	if _, err, _ := probedPush(t, srv.URL, key, separatingObjects(3, nil), a); err != nil {
		t.Fatalf("a good push: %v", err)
	}
	node.mu.Lock()
	node.readOnly = true
	node.mu.Unlock()
	fresh := func(name string) []map[string]any {
		return separatingObjects(2, map[int]string{0: "x-" + name + "-0", 1: "x-" + name + "-1"})
	}
	now = now.Add(time.Second)
	if refused, err, _ := probedPush(t, srv.URL, key, fresh("a"), a); err != nil || len(refused) != 2 {
		t.Fatalf("the first push the node stores nothing of: refused %d, error %v; want both set apart", len(refused), err)
	}
	now = now.Add(time.Second)
	if refused, err, waits := probedPush(t, srv.URL, key, fresh("b"), b); len(refused) != 0 || !serverFailure(err) || waits != 3 {
		t.Errorf("the other member's push, the node still storing nothing new: refused %d after %d waits, error %v; want it waited for", len(refused), waits, err)
	}
	now = now.Add(earlierProbeEvery)
	if refused, err, _ := probedPush(t, srv.URL, key, fresh("c"), b); err != nil || len(refused) != 2 {
		t.Errorf("%v later: refused %d, error %v; want both set apart", earlierProbeEvery, len(refused), err)
	}
}
