package match

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestJetStreamPayloadAfterReconnect: a member's pulls are sized for the
// largest message of the server it is connected to now, not the one it
// connected to at the start. The server (1 MiB max_payload) restarts,
// with its store, as one that takes 24 MiB messages, as when a member
// reconnects to another node of a cluster; the member reconnects and a
// 20 MiB message published then is delivered and acknowledged. Before,
// the pull's byte limit was worked out once from the first server (16
// MiB), the server never delivered the larger message to such a pull,
// and the consumer stalled on it.
func TestJetStreamPayloadAfterReconnect(t *testing.T) {
	bin := natsServerPath
	if _, err := os.Stat(bin); err != nil {
		if bin, err = exec.LookPath("nats-server"); err != nil {
			t.Skip("SKIP LOUDLY: no nats-server binary (apt-get install nats-server); the JetStream tests did not run")
		}
	}
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)
	start := func(maxPayload string) func() {
		conf := filepath.Join(dir, "nats-"+maxPayload+".conf")
		if err := os.WriteFile(conf, []byte("max_payload: "+maxPayload+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "-c", conf, "-a", "127.0.0.1", "-p", fmt.Sprint(port), "-js", "-sd", filepath.Join(dir, "store"))
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		if !waitNATS(url, done) {
			cmd.Process.Kill()
			<-done
			t.Fatalf("nats-server (max_payload %s) did not start on port %d: %s", maxPayload, port, stderr.String())
		}
		stop := func() {
			cmd.Process.Kill()
			<-done
		}
		t.Cleanup(stop)
		return stop
	}
	stopFirst := start("1MB")

	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "EVENTS", Subjects: []string{"sensor.>"}}); err != nil {
		t.Fatal(err)
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, "EVENTS", JetStreamConsumerConfig("fleet", "sensor.>", 30*time.Second, 1000))
	if err != nil {
		t.Fatal(err)
	}
	s := &Stream{Matcher: NewMatcher(nil, Config{Format: FormatAuto, Origin: "EVENTS"}), Set: fleetIndicators(t), FlushEvery: time.Hour,
		Emit: func([]map[string]any) error { return nil }}
	if err := s.Init(ctx); err != nil {
		t.Fatal(err)
	}
	// As the fleet member makes it (cmd/parley/fleet.go).
	src := &JetStreamSource{Stream: s, Consumer: cons, FlushEvery: 200 * time.Millisecond,
		MaxPayload: nc.MaxPayload(), PayloadLimit: nc.MaxPayload, Warn: func(error) {}}
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	errs := make(chan error, 1)
	go func() { errs <- src.Run(rctx) }()
	waitAcked := func(n int64, within time.Duration) bool {
		deadline := time.Now().Add(within)
		for src.Acked() < n && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		return src.Acked() >= n
	}
	if _, err := js.Publish(ctx, "sensor.zeek.dns", []byte(dnsLine(1, "evil.example"))); err != nil {
		t.Fatal(err)
	}
	if !waitAcked(1, 10*time.Second) {
		t.Fatalf("the first message was not acknowledged in 10 s")
	}

	stopFirst()
	start("24MB")
	deadline := time.Now().Add(20 * time.Second)
	for (!nc.IsConnected() || nc.MaxPayload() != 24<<20) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !nc.IsConnected() || nc.MaxPayload() != 24<<20 {
		t.Fatalf("not reconnected to the 24 MiB server: connected %v, max payload %d", nc.IsConnected(), nc.MaxPayload())
	}
	line := dnsLine(2, "evil.example")
	big := line[:len(line)-1] + `,"pad":"` + strings.Repeat("x", 20<<20) + `"}`
	if _, err := js.Publish(ctx, "sensor.zeek.dns", []byte(big)); err != nil {
		t.Fatal(err)
	}
	// Before the fix it was never delivered, however long one waited; the
	// bound only has to outlast a 20 MiB decode under -race on a loaded
	// box (15 s did not, once, in CI).
	ok := waitAcked(2, 60*time.Second)
	stop()
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Errorf("the 20 MiB message published after the reconnect was not acknowledged in 60 s (%d acknowledged): the pulls are still sized for the first server", src.Acked())
	}
}
