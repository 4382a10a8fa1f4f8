package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/parley-exchange/parley/internal/match"
)

// startNATS starts a nats-server with JetStream of the test's own on a
// free port, its store in a temporary directory, and returns its URL once
// a JetStream client gets an answer. It skips the test (loudly) only when
// there is no nats-server binary.
func startNATS(t *testing.T) string {
	t.Helper()
	return startNATSWith(t)
}

// startNATSWith is startNATS with more arguments for nats-server (a
// configuration file: -c FILE).
func startNATSWith(t *testing.T, extra ...string) string {
	t.Helper()
	bin := "/usr/sbin/nats-server"
	if _, err := os.Stat(bin); err != nil {
		if bin, err = exec.LookPath("nats-server"); err != nil {
			t.Skip("SKIP LOUDLY: no nats-server binary (apt-get install nats-server); the fleet test did not run")
		}
	}
	for attempt := 0; attempt < 5; attempt++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		cmd := exec.Command(bin, append(extra, "-a", "127.0.0.1", "-p", fmt.Sprint(port), "-js", "-sd", t.TempDir())...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		url := fmt.Sprintf("nats://127.0.0.1:%d", port)
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			select {
			case <-exited:
				deadline = time.Time{}
				continue
			default:
			}
			nc, err := nats.Connect(url, nats.Timeout(time.Second))
			if err != nil {
				continue
			}
			js, _ := jetstream.New(nc)
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_, err = js.AccountInfo(ctx)
			cancel()
			nc.Close()
			if err == nil {
				t.Cleanup(func() { cmd.Process.Kill(); <-exited })
				return url
			}
		}
		cmd.Process.Kill()
		<-exited
	}
	t.Fatal("nats-server did not start")
	return ""
}

// fleetSighting is what the test reads of a sighting.
type fleetSighting struct {
	Type      string      `json:"type"`
	Count     int         `json:"count"`
	Stream    string      `json:"x_parley_stream"`
	Sequences [][2]uint64 `json:"x_parley_stream_sequences"`
}

// readSightings parses a matcher's stdout. A matcher killed while writing
// leaves a partial last line; the messages it counted were not
// acknowledged, so it is skipped.
func readSightings(t *testing.T, path string) []fleetSighting {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []fleetSighting
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var s fleetSighting
		if json.Unmarshal(sc.Bytes(), &s) != nil {
			continue
		}
		if s.Type == "sighting" {
			out = append(out, s)
		}
	}
	return out
}

// TestMatchFleetKill runs two `parley match --nats` processes on one
// durable consumer while a sensor publishes events, kills one with SIGKILL
// mid-stream, and checks that every matching event is counted in the
// sightings printed, that each sighting names the stream sequences it
// counts, and that the events counted twice (printed by the killed matcher
// but not acknowledged, then redelivered) are told apart by sequence.
func TestMatchFleetKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nats-server and three processes")
	}
	parley, err := exec.LookPath("parley")
	if err != nil {
		t.Fatalf("the parley command the test binary installs is not on PATH: %v", err)
	}
	url := startNATS(t)
	dir := t.TempDir()
	ind := filepath.Join(dir, "ind.json")
	if err := os.WriteFile(ind, []byte(`{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-00000000f1ee","created":"2020-01-01T00:00:00.000Z","modified":"2020-01-01T00:00:00.000Z","pattern":"[domain-name:value = 'evil.example']","pattern_type":"stix","valid_from":"2020-01-01T00:00:00Z"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "EVENTS", Subjects: []string{"sensor.>"}}); err != nil {
		t.Fatal(err)
	}
	// a flushes seldom, so that it dies holding messages it matched but
	// has not acknowledged; b flushes often.
	start := func(name, flush string) (*exec.Cmd, string) {
		out := filepath.Join(dir, name+".out")
		f, err := os.Create(out)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(parley, "match", "--nats", url, "--stream", "EVENTS", "--subject", "sensor.>", "--consumer", "fleet",
			"--indicators", ind, "--flush", flush, "--ack-wait", "3s", "--batch", "20")
		cmd.Stdout = f
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		f.Close()
		t.Cleanup(func() {
			cmd.Process.Kill()
			if t.Failed() {
				t.Logf("%s stderr:\n%s", name, stderr.String())
			}
		})
		return cmd, out
	}
	a, aOut := start("a", "1500ms")
	b, bOut := start("b", "300ms")
	var cons jetstream.Consumer
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for !cond() {
			if ctx.Err() != nil {
				t.Fatalf("gave up waiting for %s", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor("the matchers to create the consumer", func() bool {
		c, err := js.Consumer(ctx, "EVENTS", "fleet")
		cons = c
		return err == nil
	})
	drained := func(acked bool) func() bool {
		return func() bool {
			info, err := cons.Info(ctx)
			return err == nil && info.NumPending == 0 && (!acked || info.NumAckPending == 0)
		}
	}
	// The sensor: chunks of 100 events, a chunk once the last was pulled,
	// one event in four matching.
	want := map[uint64]bool{}
	n := 0
	publish := func(chunks int) {
		for range chunks {
			for range 100 {
				n++
				name := "benign.example"
				if n%4 == 0 {
					name = "EVIL.example."
				}
				line := fmt.Sprintf(`{"ts":1591367999.%06d,"uid":"C%d","id.orig_h":"192.168.4.76","id.orig_p":36844,"id.resp_h":"192.168.4.1","id.resp_p":53,"proto":"udp","trans_id":%d,"query":"%s","qclass":1,"qtype":1,"rcode":0}`, n, n, n, name)
				ack, err := js.Publish(ctx, "sensor.zeek.dns", []byte(line))
				if err != nil {
					t.Fatal(err)
				}
				if n%4 == 0 {
					want[ack.Sequence] = true
				}
			}
			waitFor("the chunk to be pulled", drained(false))
		}
	}
	publish(10)
	waitFor("matcher a to print a sighting", func() bool { return len(readSightings(t, aOut)) > 0 })
	publish(5)
	if err := a.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	a.Wait()
	publish(15)
	waitFor("every message to be acknowledged", drained(true))
	// Every delivery, a redelivery too, takes the next consumer sequence;
	// the stream sequences run from 1 to n.
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	redelivered := info.Delivered.Consumer - info.Delivered.Stream
	if redelivered == 0 {
		t.Errorf("nothing was redelivered: matcher a died holding no unacknowledged message, so the test proved nothing")
	}
	if err := b.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := b.Wait(); err != nil {
		t.Fatalf("matcher b did not stop cleanly on SIGTERM: %v", err)
	}
	seen := map[uint64]int{}
	total := 0
	for _, name := range []string{aOut, bOut} {
		ss := readSightings(t, name)
		if len(ss) == 0 {
			t.Errorf("%s printed no sighting: both matchers should share the work", filepath.Base(name))
		}
		for _, s := range ss {
			k := 0
			for _, r := range s.Sequences {
				for q := r[0]; q <= r[1]; q++ {
					seen[q]++
					k++
				}
			}
			if s.Count != k || s.Stream != "EVENTS" {
				t.Errorf("sighting counts %d, names %d sequences of stream %q", s.Count, k, s.Stream)
			}
			total += s.Count
		}
	}
	dups := 0
	for q, c := range seen {
		if !want[q] {
			t.Errorf("sequence %d counted but its event does not match", q)
		}
		dups += c - 1
	}
	for q := range want {
		if seen[q] == 0 {
			t.Errorf("the matching event at sequence %d was lost", q)
		}
	}
	if total != len(want)+dups {
		t.Errorf("counted %d = %d events + %d duplicates", total, len(want), dups)
	}
	t.Logf("%d events, %d matching; %d redelivered after the kill; %d counted twice, each identified by its sequence", n, len(want), redelivered, dups)
}

// lockedBuffer is a bytes.Buffer written by a running command and read by
// the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestMatchFleetPollsIndicators runs a fleet member whose indicators come
// from a node (--url): an indicator shared after the matcher started
// reaches it with the next poll, and the events that follow are matched
// against it.
func TestMatchFleetPollsIndicators(t *testing.T) {
	url := startNATS(t)
	base, st, _ := demoNode(t)
	m := st.Members[0]
	dir := t.TempDir()
	share := func(id, domain string) {
		t.Helper()
		f := filepath.Join(dir, domain+".json")
		os.WriteFile(f, []byte(`{"type":"indicator","spec_version":"2.1","id":"`+id+`","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","created_by_ref":"`+m.ID+`","pattern":"[domain-name:value = '`+domain+`']","pattern_type":"stix","valid_from":"2020-01-01T00:00:00Z"}`), 0o644)
		if code, _, stderr := runCLI(t, "push", "--url", base, "--token", m.Token, "--key", m.KeyFile, "--collection", st.Collections.Shared, f); code != 0 {
			t.Fatalf("push: exit %d: %s", code, stderr)
		}
	}
	const indA, indB = "indicator--0a0a0a0a-0000-4000-8000-00000000000a", "indicator--0b0b0b0b-0000-4000-8000-00000000000b"
	share(indA, "first.example")
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "EVENTS", Subjects: []string{"sensor.>"}}); err != nil {
		t.Fatal(err)
	}
	publish := func(i int, domain string) {
		t.Helper()
		line := fmt.Sprintf(`{"ts":1591367999.%06d,"uid":"C%d","id.orig_h":"192.168.4.76","id.orig_p":36844,"id.resp_h":"192.168.4.1","id.resp_p":53,"proto":"udp","query":"%s"}`, i, i, domain)
		if _, err := js.Publish(ctx, "sensor.zeek.dns", []byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	var out, errb lockedBuffer
	c := &cli{stdin: bytes.NewReader(nil), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	rctx, stop := context.WithCancel(ctx)
	done := make(chan int, 1)
	go func() {
		done <- c.main(rctx, []string{"match", "--nats", url, "--stream", "EVENTS", "--consumer", "fleet",
			"--url", base, "--token", m.Token, "--collection", st.Collections.Shared, "--poll", "100ms", "--flush", "100ms"})
	}()
	waitOut := func(what string) {
		t.Helper()
		for !strings.Contains(out.String(), what) {
			if ctx.Err() != nil {
				stop()
				<-done
				t.Fatalf("no %s in the matcher's output:\n%s\nstderr:\n%s", what, out.String(), errb.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	publish(1, "first.example")
	publish(2, "second.example")
	waitOut(`"sighting_of_ref":"` + indA + `"`)
	share(indB, "second.example")
	// Events keep coming; once a poll has brought the new indicator, they
	// match it.
	for i := 3; !strings.Contains(out.String(), indB); i++ {
		if ctx.Err() != nil {
			break
		}
		publish(i, "second.example")
		time.Sleep(50 * time.Millisecond)
	}
	waitOut(`"sighting_of_ref":"` + indB + `"`)
	stop()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d after the interrupt: %s", code, errb.String())
	}
}

// TestMatchFleetConsumerOtherSettings starts a fleet member on a consumer
// that exists with settings a member may not change: another subject
// filter (which JetStream would update, skipping the messages the old
// filter passed over and changing every other member's messages), no
// filter, or another delivery policy. The member refuses with an error
// that names the difference (exit 2), and the consumer is left as it was.
func TestMatchFleetConsumerOtherSettings(t *testing.T) {
	url, ind, js, ctx := fleetSettingsSetup(t)
	for _, c := range []jetstream.ConsumerConfig{
		{Durable: "zeek", AckPolicy: jetstream.AckExplicitPolicy, FilterSubject: "sensor.zeek.>"},
		{Durable: "new", AckPolicy: jetstream.AckExplicitPolicy, DeliverPolicy: jetstream.DeliverNewPolicy, FilterSubject: "sensor.>"},
		{Durable: "replay", AckPolicy: jetstream.AckExplicitPolicy, ReplayPolicy: jetstream.ReplayOriginalPolicy, FilterSubject: "sensor.>"},
	} {
		if _, err := js.CreateConsumer(ctx, "EVENTS", c); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		consumer, subject, want, filter string
	}{
		{"zeek", "sensor.>", "its subject filter is sensor.zeek.>, not sensor.>", "sensor.zeek.>"},
		{"zeek", "", "its subject filter is sensor.zeek.>, and no --subject was given", "sensor.zeek.>"},
		{"new", "sensor.>", "its delivery policy is new, not all", "sensor.>"},
		{"replay", "sensor.>", "its replay policy is original, not instant", "sensor.>"},
	} {
		args := []string{"match", "--nats", url, "--stream", "EVENTS", "--consumer", tc.consumer, "--indicators", ind}
		if tc.subject != "" {
			args = append(args, "--subject", tc.subject)
		}
		var out, errb lockedBuffer
		c := &cli{stdin: bytes.NewReader(nil), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
		// A member that joins runs until interrupted: give it a moment.
		rctx, stop := context.WithTimeout(ctx, 3*time.Second)
		code := c.main(rctx, args)
		stop()
		if code != 2 || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("consumer %s, --subject %q: exit %d, want 2 and %q: %s", tc.consumer, tc.subject, code, tc.want, errb.String())
		}
		cons, err := js.Consumer(ctx, "EVENTS", tc.consumer)
		if err != nil {
			t.Fatal(err)
		}
		if got := cons.CachedInfo().Config.FilterSubject; got != tc.filter {
			t.Errorf("consumer %s's filter became %q, want it left %q", tc.consumer, got, tc.filter)
		}
	}
}

// TestMatchFleetAckWaitChanged: a member that joins with another
// --ack-wait than the consumer's says that it changes it for the whole
// fleet.
func TestMatchFleetAckWaitChanged(t *testing.T) {
	url, ind, _, ctx := fleetSettingsSetup(t)
	run := func(ackWait string) string {
		var out, errb lockedBuffer
		c := &cli{stdin: bytes.NewReader(nil), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
		rctx, stop := context.WithTimeout(ctx, time.Second)
		defer stop()
		if code := c.main(rctx, []string{"match", "--nats", url, "--stream", "EVENTS", "--consumer", "fleet", "--indicators", ind, "--ack-wait", ackWait}); code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
		return errb.String()
	}
	if e := run("1m"); strings.Contains(e, "ack wait") {
		t.Errorf("the first member warned: %s", e)
	}
	if e := run("1m"); strings.Contains(e, "ack wait") {
		t.Errorf("a member with the same --ack-wait warned: %s", e)
	}
	if e := run("10s"); !strings.Contains(e, "consumer fleet's ack wait was 1m0s; it is now 10s for every member") {
		t.Errorf("no warning of the changed ack wait: %s", e)
	}
}

// TestMatchFleetMaxDeliver: a consumer made by hand with max_deliver keeps
// it (it is the operator's), and a member says at the start that JetStream
// then drops a message, and its events, after that many deliveries.
func TestMatchFleetMaxDeliver(t *testing.T) {
	url, ind, js, ctx := fleetSettingsSetup(t)
	cfg := match.JetStreamConsumerConfig("fleet", "", 30*time.Second, fleetMaxAckPending)
	cfg.MaxDeliver = 5
	if _, err := js.CreateConsumer(ctx, "EVENTS", cfg); err != nil {
		t.Fatal(err)
	}
	var out, errb lockedBuffer
	c := &cli{stdin: bytes.NewReader(nil), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	rctx, stop := context.WithTimeout(ctx, time.Second)
	defer stop()
	if code := c.main(rctx, []string{"match", "--nats", url, "--stream", "EVENTS", "--consumer", "fleet", "--indicators", ind}); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "consumer fleet has max_deliver 5") {
		t.Errorf("no warning of max_deliver:\n%s", errb.String())
	}
	cons, err := js.Consumer(ctx, "EVENTS", "fleet")
	if err != nil {
		t.Fatal(err)
	}
	if md := cons.CachedInfo().Config.MaxDeliver; md != 5 {
		t.Errorf("the member changed max_deliver to %d", md)
	}
}

// fleetSettingsSetup starts a nats-server of the test's own with the
// stream EVENTS (subjects sensor.>) and writes a file of one indicator
// (evil.example); the context ends after a minute.
func fleetSettingsSetup(t *testing.T) (url, ind string, js jetstream.JetStream, ctx context.Context) {
	t.Helper()
	url = startNATS(t)
	ind = filepath.Join(t.TempDir(), "ind.json")
	if err := os.WriteFile(ind, []byte(`{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-00000000f1ee","created":"2020-01-01T00:00:00.000Z","modified":"2020-01-01T00:00:00.000Z","pattern":"[domain-name:value = 'evil.example']","pattern_type":"stix","valid_from":"2020-01-01T00:00:00Z"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	if js, err = jetstream.New(nc); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "EVENTS", Subjects: []string{"sensor.>"}}); err != nil {
		t.Fatal(err)
	}
	return url, ind, js, ctx
}

// TestMatchFleetConsumerMaxWaiting: JetStream refuses to change a
// consumer's max_waiting, so a member joins a consumer made with its own
// (by hand) keeping it, instead of failing on the update with the server's
// error (exit 3); one with room for fewer pulls than a member keeps
// waiting is refused, the difference named.
func TestMatchFleetConsumerMaxWaiting(t *testing.T) {
	url, ind, js, ctx := fleetSettingsSetup(t)
	for _, c := range []jetstream.ConsumerConfig{
		{Durable: "waiting", AckPolicy: jetstream.AckExplicitPolicy, FilterSubject: "sensor.>", MaxWaiting: 64},
		{Durable: "one", AckPolicy: jetstream.AckExplicitPolicy, FilterSubject: "sensor.>", MaxWaiting: 1},
	} {
		if _, err := js.CreateConsumer(ctx, "EVENTS", c); err != nil {
			t.Fatal(err)
		}
	}
	run := func(consumer string) (int, string) {
		var out, errb lockedBuffer
		c := &cli{stdin: bytes.NewReader(nil), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
		rctx, stop := context.WithTimeout(ctx, 2*time.Second)
		defer stop()
		code := c.main(rctx, []string{"match", "--nats", url, "--stream", "EVENTS", "--subject", "sensor.>", "--consumer", consumer, "--indicators", ind})
		return code, errb.String()
	}
	if code, e := run("waiting"); code != 0 {
		t.Errorf("a consumer with a max_waiting of its own: exit %d, want 0 (joined): %s", code, e)
	}
	cons, err := js.Consumer(ctx, "EVENTS", "waiting")
	if err != nil {
		t.Fatal(err)
	}
	if cfg := cons.CachedInfo().Config; cfg.MaxWaiting != 64 || cfg.MaxAckPending != fleetMaxAckPending {
		t.Errorf("consumer after a member joined: max_waiting %d, max_ack_pending %d; want 64 and %d", cfg.MaxWaiting, cfg.MaxAckPending, fleetMaxAckPending)
	}
	if code, e := run("one"); code != 2 || !strings.Contains(e, "its max_waiting is 1") {
		t.Errorf("a consumer with max_waiting 1: exit %d, want 2 naming it: %s", code, e)
	}
}

// TestMatchFleetFormatMisfit: a member given --format eve whose messages
// are Zeek JSON (a shipper pointed at the wrong subject) reads them as
// EVE, misses their observables and acknowledges them: it says so on
// stderr as they come, naming the sequences, and its exit status after
// the interrupt is the one a run over files gives (2, with the counts).
// It acknowledged them without a word and exited 0.
func TestMatchFleetFormatMisfit(t *testing.T) {
	url, ind, js, ctx := fleetSettingsSetup(t)
	for i := 1; i <= 3; i++ {
		line := fmt.Sprintf(`{"ts":1591367999.%06d,"uid":"C%d","id.orig_h":"192.168.4.76","id.orig_p":36844,"id.resp_h":"192.168.4.1","id.resp_p":53,"proto":"udp","query":"evil.example"}`, i, i)
		if _, err := js.Publish(ctx, "sensor.zeek.dns", []byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	var out, errb lockedBuffer
	c := &cli{stdin: bytes.NewReader(nil), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	rctx, stop := context.WithCancel(ctx)
	done := make(chan int, 1)
	go func() {
		done <- c.main(rctx, []string{"match", "--nats", url, "--stream", "EVENTS", "--consumer", "fleet", "--indicators", ind, "--format", "eve", "--flush", "100ms"})
	}()
	for !strings.Contains(errb.String(), "look like zeek, not --format eve") {
		if ctx.Err() != nil {
			stop()
			<-done
			t.Fatalf("no warning of events that are not EVE:\n%s", errb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(errb.String(), "1 events in the message at stream sequence 1 look like zeek") {
		t.Errorf("the first warning does not name the message at sequence 1: %s", errb.String())
	}
	cons, err := js.Consumer(ctx, "EVENTS", "fleet")
	if err != nil {
		t.Fatal(err)
	}
	for {
		info, err := cons.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.AckFloor.Stream == 3 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the messages were not acknowledged: %+v", info.AckFloor)
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	if code := <-done; code != 2 || !strings.Contains(errb.String(), "--format eve does not fit the input: of its lines, 3 look like zeek") {
		t.Errorf("exit %d, want 2 with the counts: %s", code, errb.String())
	}
}

// TestMatchFleetSubjectMatchesNothing: a --subject that matches none of
// the stream's subjects (sensors.> for sensor.>) is refused at the start
// with exit 2 and both named, and no consumer is made: nats-server 2.10
// and later create such a consumer, and the fleet waited for ever.
func TestMatchFleetSubjectMatchesNothing(t *testing.T) {
	url, ind, js, ctx := fleetSettingsSetup(t)
	var out, errb lockedBuffer
	c := &cli{stdin: bytes.NewReader(nil), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	rctx, stop := context.WithTimeout(ctx, 3*time.Second)
	code := c.main(rctx, []string{"match", "--nats", url, "--stream", "EVENTS", "--subject", "sensors.>", "--consumer", "fleet", "--indicators", ind})
	stop()
	if code != 2 || !strings.Contains(errb.String(), "--subject sensors.> matches none of the stream's subjects (sensor.>)") {
		t.Errorf("exit %d, want 2 naming the subjects: %s", code, errb.String())
	}
	if _, err := js.Consumer(ctx, "EVENTS", "fleet"); !errors.Is(err, jetstream.ErrConsumerNotFound) {
		t.Errorf("consumer: %v, want none made", err)
	}
}

// TestMatchFleetStreamMissing: a --stream that doesn't exist (the first
// thing a new fleet meets, as the README's fleet starts with `nats stream
// add`) is refused with exit 3, an error that names the stream and a hint
// that says how to create it, not JetStream's bare "stream not found"
// with "check --nats, --stream and --consumer"; no stream is made.
func TestMatchFleetStreamMissing(t *testing.T) {
	url, ind, js, ctx := fleetSettingsSetup(t)
	var out, errb lockedBuffer
	c := &cli{stdin: bytes.NewReader(nil), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	rctx, stop := context.WithTimeout(ctx, 3*time.Second)
	code := c.main(rctx, []string{"match", "--nats", url, "--stream", "NOPE", "--subject", "sensor.>", "--consumer", "fleet", "--indicators", ind})
	stop()
	for _, want := range []string{
		"parley: error: stream NOPE doesn't exist on the NATS server at " + url,
		"parley: hint: create it where the sensors publish (nats stream add NOPE --subjects 'sensor.>' --storage file --defaults)",
	} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr lacks %q: %s", want, errb.String())
		}
	}
	if code != 3 {
		t.Errorf("exit %d, want 3: %s", code, errb.String())
	}
	if _, err := js.Stream(ctx, "NOPE"); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Errorf("stream NOPE: %v, want none made", err)
	}
}

// TestMatchFleetKeepsOperatorSettings: a member that joins a consumer
// made by hand keeps what the operator set on it (backoff, max_deliver,
// the max_request limits, sample_freq, inactive_threshold, the
// description), and sets only the ack wait and max_ack_pending. Before,
// its update left them out, and JetStream dropped them (the backoff, a
// sampling, the limits) without a word.
func TestMatchFleetKeepsOperatorSettings(t *testing.T) {
	url, ind, js, ctx := fleetSettingsSetup(t)
	cfg := match.JetStreamConsumerConfig("fleet", "", 30*time.Second, 1000)
	cfg.Description = "the SOC's fleet"
	cfg.MaxDeliver = 10
	cfg.BackOff = []time.Duration{time.Second, 5 * time.Second, time.Minute}
	cfg.SampleFrequency = "50%"
	cfg.MaxRequestBatch = 1000
	cfg.MaxRequestExpires = time.Minute
	cfg.MaxRequestMaxBytes = 128 << 20
	cfg.InactiveThreshold = 24 * time.Hour
	if _, err := js.CreateConsumer(ctx, "EVENTS", cfg); err != nil {
		t.Fatal(err)
	}
	var out, errb lockedBuffer
	c := &cli{stdin: bytes.NewReader(nil), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	rctx, stop := context.WithTimeout(ctx, time.Second)
	defer stop()
	if code := c.main(rctx, []string{"match", "--nats", url, "--stream", "EVENTS", "--consumer", "fleet", "--indicators", ind, "--ack-wait", "45s"}); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if e := errb.String(); !strings.Contains(e, "consumer fleet has backoff [1s 5s 1m0s], which JetStream waits for an acknowledgement instead of --ack-wait; an interval shorter than twice --flush") || strings.Contains(e, "it is now") {
		t.Errorf("no warning of a backoff interval shorter than twice --flush, or one of an ack wait that the backoff overrides:\n%s", e)
	}
	cons, err := js.Consumer(ctx, "EVENTS", "fleet")
	if err != nil {
		t.Fatal(err)
	}
	got := cons.CachedInfo().Config
	if !slices.Equal(got.BackOff, cfg.BackOff) || got.MaxDeliver != 10 || got.SampleFrequency != "50%" || got.MaxRequestBatch != 1000 ||
		got.MaxRequestExpires != time.Minute || got.MaxRequestMaxBytes != 128<<20 || got.InactiveThreshold != 24*time.Hour || got.Description != cfg.Description {
		t.Errorf("the member dropped the operator's settings: %+v", got)
	}
	// With a backoff, JetStream's ack wait is its first interval.
	if got.AckWait != time.Second || got.MaxAckPending != fleetMaxAckPending {
		t.Errorf("ack wait %v, max_ack_pending %d; want the backoff's 1s and the member's %d", got.AckWait, got.MaxAckPending, fleetMaxAckPending)
	}
}

// TestMatchFleetConsumerLimits: a consumer whose messages come without
// their data (headers_only), or whose max_request limits a member's pulls
// exceed (JetStream would refuse each of them, and the member get
// nothing), is refused at the start, naming the setting, and left as it
// is.
func TestMatchFleetConsumerLimits(t *testing.T) {
	url, ind, js, ctx := fleetSettingsSetup(t)
	for _, tc := range []struct {
		name string
		set  func(*jetstream.ConsumerConfig)
		want string
	}{
		{"headers", func(c *jetstream.ConsumerConfig) { c.HeadersOnly = true }, "headers only"},
		{"batch", func(c *jetstream.ConsumerConfig) { c.MaxRequestBatch = 10 }, "max_request_batch is 10, fewer than --batch 500"},
		{"expires", func(c *jetstream.ConsumerConfig) { c.MaxRequestExpires = 100 * time.Millisecond }, "max_request_expires is 100ms"},
		{"bytes", func(c *jetstream.ConsumerConfig) { c.MaxRequestMaxBytes = 1 << 20 }, "max_request_max_bytes is 1048576"},
	} {
		cfg := match.JetStreamConsumerConfig(tc.name, "", 30*time.Second, fleetMaxAckPending)
		tc.set(&cfg)
		if _, err := js.CreateConsumer(ctx, "EVENTS", cfg); err != nil {
			t.Fatal(err)
		}
		var out, errb lockedBuffer
		c := &cli{stdin: bytes.NewReader(nil), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
		rctx, stop := context.WithTimeout(ctx, 3*time.Second)
		code := c.main(rctx, []string{"match", "--nats", url, "--stream", "EVENTS", "--consumer", tc.name, "--indicators", ind})
		stop()
		if code != 2 || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%s: exit %d, want 2 and %q:\n%s", tc.name, code, tc.want, errb.String())
		}
	}
}
