package match

import (
	"context"
	"crypto/ed25519"
	sha "crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/parley-exchange/parley/stix"
)

// forgeKept rewrites the state kept under name, as any writer of the
// bucket may (a NATS user of the fleet, a compromised sensor), with
// change applied to it.
func forgeKept(t *testing.T, url, name string, change func(*probeState)) {
	t.Helper()
	k := probeKeeper(t, url, name)
	ctx := context.Background()
	b, err := k.LoadProbe(ctx)
	if err != nil || b == nil {
		t.Fatalf("nothing kept to forge (%v)", err)
	}
	var st probeState
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	change(&st)
	if b, err = json.Marshal(st); err != nil {
		t.Fatal(err)
	}
	if err := k.SaveProbe(ctx, b); err != nil {
		t.Fatal(err)
	}
}

// farFuture is a time a writer of the bucket may put in it.
var farFuture = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// TestPushProbeKeptFutureApartIgnored: a writer of the bucket that sets
// the kept apart far in the future (or a member whose clock runs a day
// ahead) does not hold the guard for ever: an hour later, a push of
// poison objects only is judged on the kept probe. Before, the later of
// the kept and held times was taken, the guard held until the year 9999,
// and every such push of every member of the fleet was waited on, its
// messages never acknowledged.
func TestPushProbeKeptFutureApartIgnored(t *testing.T) {
	defer func(f func() time.Time) { pushNow = f }(pushNow)
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	pushNow = func() time.Time { return now }
	url, key, _, srv, name := keptSetup(t)
	a := keptProbe(t, url, name)
	if _, err, _ := probedPush(t, srv.URL, key, separatingObjects(3, nil), a); err != nil {
		t.Fatalf("a good push: %v", err)
	}
	forgeKept(t, url, name, func(st *probeState) { st.Apart = farFuture })
	now = now.Add(time.Hour)
	b := keptProbe(t, url, name)
	poison := separatingObjects(2, map[int]string{0: "x-poison-0", 1: "x-poison-1"})
	if refused, err, waits := probedPush(t, srv.URL, key, poison, b); err != nil || waits != 0 || len(refused) != 2 {
		t.Fatalf("a push of poison objects only, an hour on, the kept apart in the year 9999: refused %d after %d waits, error %v; want both set apart", len(refused), waits, err)
	}
}

// TestPushProbeKeptFutureFreshIgnored: a writer of the bucket that sets
// the kept fresh far in the future does not lift the guard: a node whose
// store takes no new writes still has one push of the fleet set apart,
// and another member's push a second later is waited for. Before, the
// fresh of the year 9999 was later than any apart, the guard never held,
// and every push of good objects to such a node went to --dead-letter.
func TestPushProbeKeptFutureFreshIgnored(t *testing.T) {
	defer func(f func() time.Time) { pushNow = f }(pushNow)
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	pushNow = func() time.Time { return now }
	url, key, node, srv, name := keptSetup(t)
	a, b := keptProbe(t, url, name), keptProbe(t, url, name)
	if _, err, _ := probedPush(t, srv.URL, key, separatingObjects(3, nil), a); err != nil {
		t.Fatalf("a good push: %v", err)
	}
	forgeKept(t, url, name, func(st *probeState) { st.Fresh = farFuture })
	node.mu.Lock()
	node.readOnly = true
	node.mu.Unlock()
	good := func(name string) []map[string]any {
		return separatingObjects(2, map[int]string{0: "x-" + name + "-0", 1: "x-" + name + "-1"})
	}
	now = now.Add(time.Second)
	if refused, err, _ := probedPush(t, srv.URL, key, good("a"), a); err != nil || len(refused) != 2 {
		t.Fatalf("the first push the node stores nothing of: refused %d, error %v; want both set apart", len(refused), err)
	}
	now = now.Add(time.Second)
	if refused, err, waits := probedPush(t, srv.URL, key, good("b"), b); len(refused) != 0 || !serverFailure(err) || waits != 3 {
		t.Errorf("the other member's push a second later, the kept fresh in the year 9999: refused %d after %d waits, error %v; want it waited for", len(refused), waits, err)
	}
}

// TestPushProbeKeptForeignDropped: a probe in the bucket that the
// member's key did not sign (written there by another NATS user of the
// fleet) is dropped, not posted to the node as the member's own: the push
// has no probe, as without a keeper, and the bucket gets no probe back
// from this member until the node takes one of its objects. Before, the
// member posted whatever object the bucket held, with its credentials.
func TestPushProbeKeptForeignDropped(t *testing.T) {
	url, key, node, srv, name := keptSetup(t)
	_, attacker, _ := ed25519.GenerateKey(nil)
	a := keptProbe(t, url, name)
	if _, err, _ := probedPush(t, srv.URL, key, separatingObjects(3, nil), a); err != nil {
		t.Fatalf("a good push: %v", err)
	}
	forged, err := stix.Sign([]byte(`{"type":"x","id":"x-forged"}`), attacker)
	if err != nil {
		t.Fatal(err)
	}
	forgeKept(t, url, name, func(st *probeState) { st.Raw = forged })
	b := keptProbe(t, url, name)
	poison := separatingObjects(2, map[int]string{0: "x-poison-0", 1: "x-poison-1"})
	refused, err, waits := probedPush(t, srv.URL, key, poison, b)
	if node.stored["x-forged"] {
		t.Fatalf("the member posted the bucket's forged probe to the node")
	}
	if len(refused) != 0 || waits != 3 {
		t.Errorf("a push of poison objects only with a forged probe: refused %d after %d waits, error %v; want it waited for (no probe)", len(refused), waits, err)
	}
	st, err := probeKeeper(t, url, name).LoadProbe(context.Background())
	if err != nil || strings.Contains(string(st), "x-forged") {
		t.Errorf("the forged probe is still kept (%v): %s", err, st)
	}
}

// TestProbeBucketBoundsValues: the bucket a member creates refuses a
// value larger than a kept state can be, from any writer, and a member
// reading a larger one (from a bucket an operator created without the
// bound) refuses it, warns, and goes on with what it holds. Before, the
// bucket took values as large as the server's max_payload (up to 64 MiB),
// each read whole by every member at every push.
func TestProbeBucketBoundsValues(t *testing.T) {
	url := startNATS(t)
	k := probeKeeper(t, url, "probe_x")
	huge := []byte(`{"probe":{"type":"x","pad":"` + strings.Repeat("a", probeValueMax) + `"}}`)
	if err := k.SaveProbe(context.Background(), huge); err == nil {
		t.Errorf("the bucket took a value of %d bytes", len(huge))
	}
	// A write carries the revision it replaces in a header, which counts
	// toward the bound too: a member's own values (a probe of at most
	// 64 KiB and four times) stay far below it.
	if err := k.SaveProbe(context.Background(), huge[:probeValueMax-128]); err != nil {
		t.Errorf("the bucket refused a value of %d bytes: %v", probeValueMax-128, err)
	}
	// A bucket an operator created without the bound: the member
	// refuses the value it reads.
	other := startNATS(t)
	nc, err := nats.Connect(other)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.CreateKeyValue(context.Background(), jetstream.KeyValueConfig{Bucket: ProbeBucket, History: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(context.Background(), "probe_x", huge); err != nil {
		t.Fatal(err)
	}
	var warned error
	p := &Probe{}
	p.Keep(probeKeeper(t, other, "probe_x"), func(err error) { warned = err })
	if raw, _, _ := p.take(context.Background(), time.Now(), nil); raw != nil || warned == nil || !strings.Contains(warned.Error(), "more than") {
		t.Errorf("a kept value of %d bytes: probe %q, warned %v", len(huge), raw, warned)
	}
}

// TestProbeKeptFormat: the key and value of the bucket are as the
// README documents them (a contract between versions of the members).
func TestProbeKeptFormat(t *testing.T) {
	pub := make([]byte, ed25519.PublicKeySize)
	for i := range pub {
		pub[i] = byte(i)
	}
	sum := sha.Sum256(append([]byte("https://node.example/\ncoll-1\n"), pub...))
	if got, want := ProbeKey("https://node.example/", "coll-1", pub), "probe_"+hex.EncodeToString(sum[:16]); got != want {
		t.Errorf("ProbeKey = %s, want %s", got, want)
	}
	b, err := json.Marshal(probeState{Raw: json.RawMessage(`{"type":"x"}`), Fresh: time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"probe":{"type":"x"},"fresh":"2026-12-06T10:00:00Z","apart":"0001-01-01T00:00:00Z","silent_at":"0001-01-01T00:00:00Z","held_at":"0001-01-01T00:00:00Z"}`
	if string(b) != want {
		t.Errorf("the kept state is\n%s\nwant\n%s", b, want)
	}
}
