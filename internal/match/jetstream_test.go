package match

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// natsServerPath is where Debian's nats-server package installs it.
const natsServerPath = "/usr/sbin/nats-server"

// startNATS starts a nats-server with JetStream of the test's own, on a
// free port, its store in a temporary directory, and waits until a client
// connects. It skips the test (loudly) only when there is no binary.
func startNATS(tb testing.TB) string {
	tb.Helper()
	url, _ := startNATSProc(tb)
	return url
}

// startNATSProc is startNATS that also returns the server's process id.
func startNATSProc(tb testing.TB) (string, int) {
	tb.Helper()
	bin := natsServerPath
	if _, err := os.Stat(bin); err != nil {
		if bin, err = exec.LookPath("nats-server"); err != nil {
			tb.Skip("SKIP LOUDLY: no nats-server binary (apt-get install nats-server); the JetStream tests did not run")
		}
	}
	dir := tb.TempDir()
	var url string
	for attempt := 0; ; attempt++ {
		// A free port now may be taken before the server binds it; try again.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		cmd := exec.Command(bin, "-a", "127.0.0.1", "-p", fmt.Sprint(port), "-js", "-sd", filepath.Join(dir, fmt.Sprint(attempt)))
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			tb.Fatal(err)
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		url = fmt.Sprintf("nats://127.0.0.1:%d", port)
		if waitNATS(url, done) {
			tb.Cleanup(func() {
				cmd.Process.Kill()
				<-done
			})
			return url, cmd.Process.Pid
		}
		cmd.Process.Kill()
		<-done
		if attempt == 4 {
			tb.Fatalf("nats-server did not start: %s", stderr.String())
		}
	}
}

// waitNATS waits until a JetStream client can reach url, or the server
// exited, or 30 s passed.
func waitNATS(url string, exited <-chan struct{}) bool {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return false
		default:
		}
		if nc, err := nats.Connect(url, nats.Timeout(time.Second)); err == nil {
			js, err := jetstream.New(nc)
			if err == nil {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				_, err = js.AccountInfo(ctx)
				cancel()
			}
			nc.Close()
			if err == nil {
				return true
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// dnsLine is a Zeek JSON dns.log record querying name.
func dnsLine(i int, name string) string {
	return fmt.Sprintf(`{"ts":1591367999.%06d,"uid":"C%d","id.orig_h":"192.168.4.76","id.orig_p":36844,"id.resp_h":"192.168.4.1","id.resp_p":53,"proto":"udp","trans_id":%d,"query":"%s","qclass":1,"qtype":1,"rcode":0}`, i, i, i, name)
}

// fleetIndicators: one indicator on evil.example, valid at the events'
// time and now.
func fleetIndicators(t *testing.T) *IndicatorSet {
	t.Helper()
	inds, err := ReadIndicators(strings.NewReader(`{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-00000000f1ee","created":"2020-01-01T00:00:00.000Z","modified":"2020-01-01T00:00:00.000Z","pattern":"[domain-name:value = 'evil.example']","pattern_type":"stix","valid_from":"2020-01-01T00:00:00Z"}`))
	if err != nil {
		t.Fatal(err)
	}
	set := NewIndicatorSet()
	for _, ind := range inds {
		set.Put(ind)
	}
	return set
}

// seqsOf reads a sighting's x_parley_stream_sequences.
func seqsOf(t *testing.T, s map[string]any) []uint64 {
	t.Helper()
	rs, ok := s["x_parley_stream_sequences"].([][2]uint64)
	if !ok {
		t.Fatalf("sighting without x_parley_stream_sequences: %v", s)
	}
	var out []uint64
	for _, r := range rs {
		for q := r[0]; q <= r[1]; q++ {
			out = append(out, q)
		}
	}
	return out
}

var errCrash = errors.New("matcher crashed after emitting")

// TestJetStreamRedelivery runs two matchers on one durable consumer. The
// first dies right after emitting a flush and before acknowledging it (the
// worst moment); the second receives those messages again after AckWait.
// In the end every matching event is counted, and the ones counted twice
// are exactly those whose stream sequences appear in two sightings. It
// runs with every message matched as it is taken and with every message
// split ahead (see JetStreamSource.take), whose flushes must first match
// the messages the splitter holds.
func TestJetStreamRedelivery(t *testing.T) {
	t.Run("in turn", func(t *testing.T) { testJetStreamRedelivery(t, 0) })
	t.Run("split ahead", func(t *testing.T) { testJetStreamRedelivery(t, 1) })
}

func testJetStreamRedelivery(t *testing.T, aheadSize int) {
	js, ctx := eventsStream(t)
	const n = 600
	want := map[uint64]bool{}
	for i := 1; i <= n; i++ {
		name := "benign.example"
		if i%3 == 0 {
			name = "Evil.Example."
		}
		ack, err := js.Publish(ctx, "sensor.zeek.dns", []byte(dnsLine(i, name)))
		if err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			want[ack.Sequence] = true
		}
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, "EVENTS", JetStreamConsumerConfig("fleet", "sensor.>", time.Second, 10000))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var emitted [][]map[string]any // every flush of both matchers, in order
	worker := func(crashAfter int, flushEvery time.Duration) (*JetStreamSource, *Stream) {
		flushes := 0
		m := NewMatcher(nil, Config{Format: FormatAuto, Origin: "EVENTS"})
		s := &Stream{Matcher: m, Set: fleetIndicators(t), FlushEvery: time.Hour,
			Emit: func(objs []map[string]any) error {
				mu.Lock()
				emitted = append(emitted, objs)
				mu.Unlock()
				if flushes++; flushes == crashAfter {
					return errCrash
				}
				return nil
			}}
		if err := s.Init(ctx); err != nil {
			t.Fatal(err)
		}
		return &JetStreamSource{Stream: s, Consumer: cons, MaxPending: 100, Batch: 50, FlushEvery: flushEvery, aheadSize: aheadSize}, s
	}
	// a flushes every 100 messages (about 33 matching), and dies after
	// emitting its second flush.
	a, _ := worker(2, time.Hour)
	if err := a.Run(ctx); !errors.Is(err, errCrash) {
		t.Fatalf("first matcher: %v, want the crash", err)
	}
	b, _ := worker(0, 50*time.Millisecond)
	bctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- b.Run(bctx) }()
	for {
		info, err := cons.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.NumPending == 0 && info.NumAckPending == 0 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("messages left: %d pending, %d unacknowledged", info.NumPending, info.NumAckPending)
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	seen := map[uint64]int{}
	var total int64
	for _, objs := range emitted {
		for _, o := range objs {
			if o["type"] != "sighting" {
				continue
			}
			qs := seqsOf(t, o)
			if c := o["count"].(int64); c != int64(len(qs)) {
				t.Errorf("sighting counts %d events but names %d sequences", c, len(qs))
			}
			if o["x_parley_stream"] != "EVENTS" {
				t.Errorf("x_parley_stream = %v", o["x_parley_stream"])
			}
			total += o["count"].(int64)
			for _, q := range qs {
				seen[q]++
			}
		}
	}
	dups := 0
	for q, c := range seen {
		if !want[q] {
			t.Errorf("sequence %d counted but does not match", q)
		}
		dups += c - 1
	}
	for q := range want {
		if seen[q] == 0 {
			t.Errorf("matching event at sequence %d was never counted", q)
		}
	}
	if dups == 0 {
		t.Errorf("the crash after emitting should have made duplicates")
	}
	if total != int64(len(want)+dups) {
		t.Errorf("counted %d, want %d unique + %d duplicates identified by sequence", total, len(want), dups)
	}
	t.Logf("%d events, %d matching, %d counted twice and identified by sequence", n, len(want), dups)
}

// TestFluentBitRecords reads messages in the format Fluent Bit's nats
// output documents ([[time, {record}], ...] per flush, "tag" added).
func TestFluentBitRecords(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string // nil: not a Fluent Bit batch
	}{
		{`[[1457993268, {"tag":"zeek.dns","log":"{\"ts\":1.5,\"query\":\"evil.example\"}"}]]`, []string{`{"ts":1.5,"query":"evil.example"}`}},
		{`[[1457993268.25, {"tag":"eve","event_type":"dns","dns":{"rrname":"evil.example"}}], [1457993269, {"log":"line two"}]]`,
			[]string{`{"tag":"eve","event_type":"dns","dns":{"rrname":"evil.example"}}`, `line two`}},
		{`{"ts":1.5,"query":"evil.example"}`, nil},
		{`[]`, nil},
		{`[[1, 2]]`, nil},
		{`[["x", {"log":"a"}]]`, nil},
		{`[{"type":"observed-data"}]`, nil},
		{`[[1, {"log":"a"}], 7]`, nil},
	} {
		got, ok := FluentBitRecords([]byte(c.in))
		if ok != (c.want != nil) {
			t.Errorf("%s: ok = %v", c.in, ok)
			continue
		}
		if len(got) != len(c.want) {
			t.Errorf("%s: %d records, want %d", c.in, len(got), len(c.want))
			continue
		}
		for i := range got {
			if string(got[i]) != c.want[i] {
				t.Errorf("%s: record %d = %s, want %s", c.in, i, got[i], c.want[i])
			}
		}
	}
}

// FuzzFluentBitRecords: never panics; a batch has records, and each
// record is either one of the batch's JSON objects or a "log" string.
func FuzzFluentBitRecords(f *testing.F) {
	f.Add([]byte(`[[1457993268, {"tag":"t","log":"x"}]]`))
	f.Add([]byte(`[[1, {"a":1}],[2,{"log":"y"}]]`))
	f.Add([]byte(`{"ts":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, ok := FluentBitRecords(data)
		if ok && len(recs) == 0 {
			t.Fatalf("a batch without records: %q", data)
		}
		if !ok && recs != nil {
			t.Fatalf("records without a batch: %q", data)
		}
	})
}

// TestJetStreamLines: which messages are split into lines, and how.
func TestJetStreamLines(t *testing.T) {
	var r batchReader
	for _, c := range []struct {
		in   string
		want []string // nil: one event
	}{
		{`{"a":1}`, nil},
		{"{\"a\":1}\n", nil},
		{"{\"a\":1}\n\n  \n", nil},
		{"{\"a\":1}\n{\"b\":2}\n", []string{"{\"a\":1}\n", "{\"b\":2}\n"}},
		{"{\"a\":1}\n{\"b\":2}", []string{"{\"a\":1}\n", "{\"b\":2}"}},
		{"a\tb\nc\td\n", []string{"a\tb\n", "c\td\n"}},
		{"{\"a\":1}\r\n{\"b\":2}\r\n", []string{"{\"a\":1}\r\n", "{\"b\":2}\r\n"}},
		// One JSON document over several lines is one event.
		{"{\n  \"a\": 1\n}\n", nil},
		{"[\n1,\n2]", nil},
	} {
		got, _, ok := r.lines([]byte(c.in))
		if ok != (c.want != nil) {
			t.Errorf("%q: split = %v", c.in, ok)
			continue
		}
		if len(got) != len(c.want) {
			t.Errorf("%q: %d lines, want %d", c.in, len(got), len(c.want))
			continue
		}
		for i := range got {
			if string(got[i]) != c.want[i] {
				t.Errorf("%q: line %d = %q, want %q", c.in, i, got[i], c.want[i])
			}
		}
	}
}

// TestJetStreamShapes consumes messages of every shape the source reads
// (one event, newline-delimited events with and without a final newline,
// one JSON document over several lines, a Fluent Bit batch) and checks
// that every event is decoded and every matching one counted, with the
// sequence of its message: each message matched as it is taken, each
// split ahead, and the one-event messages matched as they are taken
// between batches split ahead.
func TestJetStreamShapes(t *testing.T) {
	t.Run("in turn", func(t *testing.T) { testJetStreamShapes(t, 0) })
	t.Run("split ahead", func(t *testing.T) { testJetStreamShapes(t, 1) })
	t.Run("mixed", func(t *testing.T) { testJetStreamShapes(t, 200) })
}

func testJetStreamShapes(t *testing.T, aheadSize int) {
	url := startNATS(t)
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "SHAPES", Subjects: []string{"shapes.>"}}); err != nil {
		t.Fatal(err)
	}
	evil, benign := dnsLine(1, "evil.example"), dnsLine(2, "benign.example")
	pretty := strings.Replace(strings.Replace(evil, `,"query"`, ",\n  \"query\"", 1), "{", "{\n  ", 1) + "\n"
	fb := fmt.Sprintf(`[[1700000000.5,{"tag":"t","log":%q}],[1700000001,{"tag":"t","log":%q}],[1700000002,{"tag":"t","log":%q}]]`, evil, benign, evil)
	msgs := []struct {
		data          string
		events, match int
	}{
		{evil, 1, 1},
		{benign + "\n", 1, 0},
		{evil + "\n" + benign + "\n" + evil + "\n", 3, 2},
		{benign + "\n" + evil, 2, 1},
		{pretty, 1, 1},
		{fb, 3, 2},
	}
	wantEvents, wantCount := 0, 0
	wantSeqs := map[uint64]bool{}
	for _, m := range msgs {
		ack, err := js.Publish(ctx, "shapes.x", []byte(m.data))
		if err != nil {
			t.Fatal(err)
		}
		wantEvents += m.events
		wantCount += m.match
		if m.match > 0 {
			wantSeqs[ack.Sequence] = true
		}
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, "SHAPES", JetStreamConsumerConfig("shapes", "", 10*time.Second, 1000))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var sightings []map[string]any
	s := &Stream{Matcher: NewMatcher(nil, Config{Format: FormatAuto, Origin: "SHAPES"}), Set: fleetIndicators(t), FlushEvery: time.Hour,
		Emit: func(objs []map[string]any) error {
			mu.Lock()
			defer mu.Unlock()
			for _, o := range objs {
				if o["type"] == "sighting" {
					sightings = append(sightings, o)
				}
			}
			return nil
		}}
	if err := s.Init(ctx); err != nil {
		t.Fatal(err)
	}
	src := &JetStreamSource{Stream: s, Consumer: cons, FlushEvery: 50 * time.Millisecond, aheadSize: aheadSize}
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- src.Run(rctx) }()
	for src.Acked() < int64(len(msgs)) && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	// Neither pull in flight is full: each holds its messages until it
	// expires (FlushEvery here), not longer.
	if took := time.Since(start); took >= 2500*time.Millisecond {
		t.Errorf("took %v to consume %d messages: a part-filled pull held them", took, len(msgs))
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	st := s.Matcher.Stats()
	if st.Events != int64(wantEvents) || st.Malformed != 0 {
		t.Errorf("%d events, %d malformed; want %d events, none malformed", st.Events, st.Malformed, wantEvents)
	}
	count := int64(0)
	seqs := map[uint64]bool{}
	for _, o := range sightings {
		count += o["count"].(int64)
		for _, q := range seqsOf(t, o) {
			seqs[q] = true
		}
	}
	if count != int64(wantCount) {
		t.Errorf("counted %d matching events, want %d", count, wantCount)
	}
	if fmt.Sprint(seqs) != fmt.Sprint(wantSeqs) {
		t.Errorf("sequences %v, want %v", seqs, wantSeqs)
	}
}

// TestStreamSeq reads stream sequences from acknowledgement subjects as
// Msg.Metadata does, and leaves anything else to it.
func TestStreamSeq(t *testing.T) {
	for _, c := range []struct {
		reply string
		want  uint64 // 0: not read
	}{
		{"$JS.ACK.EVENTS.fleet.1.4711.12.1700000000000000000.0", 4711},
		{"$JS.ACK._.ACCHASH.EVENTS.fleet.2.18446744073709551615.3.1700000000000000000.5.rnd", 18446744073709551615},
		{"$JS.ACK.hub.ACCHASH.EVENTS.fleet.2.42.3.1700000000000000000.5", 42},
		{"$JS.ACK.EVENTS.fleet.1.0.12.1700000000000000000.0", 0},
		{"$JS.ACK.EVENTS.fleet.1.4x.12.1700000000000000000.0", 0},
		{"$JS.ACK.EVENTS.fleet.1.4711.12.1700000000000000000", 0},
		{"$JS.ACK.EVENTS.fleet.1.4711.12.1700000000000000000.0.x", 0},
		{"_INBOX.abc", 0},
		{"", 0},
	} {
		got, ok := streamSeq(c.reply)
		if ok != (c.want != 0) || got != c.want {
			t.Errorf("%s: %d %v, want %d", c.reply, got, ok, c.want)
		}
	}
}

// TestStreamPending reads the messages left for the consumer from
// acknowledgement subjects as Msg.Metadata does (NumPending).
func TestStreamPending(t *testing.T) {
	for _, c := range []struct {
		reply string
		want  uint64
		ok    bool
	}{
		{"$JS.ACK.EVENTS.fleet.1.4711.12.1700000000000000000.0", 0, true},
		{"$JS.ACK.EVENTS.fleet.1.4711.12.1700000000000000000.93", 93, true},
		{"$JS.ACK._.ACCHASH.EVENTS.fleet.2.42.3.1700000000000000000.5.rnd", 5, true},
		{"$JS.ACK.hub.ACCHASH.EVENTS.fleet.2.42.3.1700000000000000000.0", 0, true},
		{"$JS.ACK.EVENTS.fleet.1.4711.12.1700000000000000000.x", 0, false},
		{"$JS.ACK.EVENTS.fleet.1.4711.12.1700000000000000000", 0, false},
		{"_INBOX.abc", 0, false},
		{"", 0, false},
	} {
		got, ok := streamPending(c.reply)
		if ok != c.ok || got != c.want {
			t.Errorf("%s: %d %v, want %d %v", c.reply, got, ok, c.want, c.ok)
		}
	}
}

// TestCheckJetStreamConsumer: a consumer made by a fleet member with the
// same --subject is joined, whatever its AckWait; one with another filter,
// acknowledgement or delivery policy, or a push consumer, is refused with
// the difference named.
func TestCheckJetStreamConsumer(t *testing.T) {
	want := JetStreamConsumerConfig("fleet", "sensor.>", 30*time.Second, 1000)
	same := JetStreamConsumerConfig("fleet", "sensor.>", time.Minute, 10)
	if err := CheckJetStreamConsumer(same, want); err != nil {
		t.Errorf("same settings: %v", err)
	}
	multi := same
	multi.FilterSubject, multi.FilterSubjects = "", []string{"sensor.>"}
	waiting := same
	waiting.MaxWaiting = 64
	if err := CheckJetStreamConsumer(waiting, want); err != nil {
		t.Errorf("a max_waiting of its own: %v", err)
	}
	if err := CheckJetStreamConsumer(multi, want); err != nil {
		t.Errorf("the one filter as FilterSubjects: %v", err)
	}
	none := JetStreamConsumerConfig("fleet", "", time.Second, 10)
	if err := CheckJetStreamConsumer(none, JetStreamConsumerConfig("fleet", "", time.Minute, 10)); err != nil {
		t.Errorf("neither filters: %v", err)
	}
	for _, tc := range []struct {
		change func(*jetstream.ConsumerConfig)
		want   string
	}{
		{func(c *jetstream.ConsumerConfig) { c.FilterSubject = "sensor.zeek.>" }, "its subject filter is sensor.zeek.>, not sensor.>"},
		{func(c *jetstream.ConsumerConfig) { c.FilterSubject = "" }, "it has no subject filter, not sensor.>"},
		{func(c *jetstream.ConsumerConfig) {
			c.FilterSubject, c.FilterSubjects = "", []string{"sensor.>", "other"}
		}, "its subject filter is sensor.>, other"},
		{func(c *jetstream.ConsumerConfig) { c.AckPolicy = jetstream.AckAllPolicy }, "acknowledgement policy is AckAll"},
		{func(c *jetstream.ConsumerConfig) { c.DeliverPolicy = jetstream.DeliverNewPolicy }, "delivery policy is new"},
		{func(c *jetstream.ConsumerConfig) { c.DeliverSubject = "deliver.here" }, "push consumer"},
		{func(c *jetstream.ConsumerConfig) { c.ReplayPolicy = jetstream.ReplayOriginalPolicy }, "replay policy is original, not instant"},
		{func(c *jetstream.ConsumerConfig) { c.MaxWaiting = 1 }, "max_waiting is 1"},
	} {
		have := same
		tc.change(&have)
		err := CheckJetStreamConsumer(have, want)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", have, err, tc.want)
		}
	}
	if err := CheckJetStreamConsumer(want, none); err == nil || !strings.Contains(err.Error(), "no --subject was given") {
		t.Errorf("a filtered consumer joined without --subject: %v", err)
	}
}

// TestJetStreamConsumerGone: a matcher whose consumer is deleted while it
// waits for messages stops with an error saying so, after emitting and
// acknowledging what it holds, instead of pulling nothing for ever.
func TestJetStreamConsumerGone(t *testing.T) {
	js, ctx := eventsStream(t)
	cons, err := js.CreateOrUpdateConsumer(ctx, "EVENTS", JetStreamConsumerConfig("fleet", "", 30*time.Second, 1000))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var sightings int
	m := NewMatcher(nil, Config{Format: FormatAuto, Origin: "EVENTS"})
	s := &Stream{Matcher: m, Set: fleetIndicators(t), FlushEvery: time.Hour,
		Emit: func(objs []map[string]any) error {
			mu.Lock()
			sightings += len(objs)
			mu.Unlock()
			return nil
		}}
	if err := s.Init(ctx); err != nil {
		t.Fatal(err)
	}
	src := &JetStreamSource{Stream: s, Consumer: cons, FlushEvery: 100 * time.Millisecond}
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx) }()
	if _, err := js.Publish(ctx, "sensor.zeek.dns", []byte(dnsLine(1, "evil.example"))); err != nil {
		t.Fatal(err)
	}
	for src.Acked() == 0 {
		if ctx.Err() != nil {
			t.Fatal("the message was never acknowledged")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := js.DeleteConsumer(ctx, "EVENTS", "fleet"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "consumer is gone") {
			t.Errorf("Run: %v, want the consumer gone", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run still pulling 20 s after its consumer was deleted")
	}
	if sightings != 1 {
		t.Errorf("%d sightings emitted, want 1", sightings)
	}
}

// TestJetStreamMessagesIndependent: each message is read as a file of its
// own. A Zeek TSV header in one message is not in force for the lines of
// the next: any member of a fleet may get either, and messages of other
// logs (other subjects) come between, so a line read with another
// message's header would be decoded with columns that are not its own.
// A message holding its header and its lines is read.
func TestJetStreamMessagesIndependent(t *testing.T) {
	hdr := []string{
		"#separator \\x09\n", "#set_separator\t,\n", "#empty_field\t(empty)\n", "#unset_field\t-\n", "#path\tdns\n",
		"#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tquery\n",
		"#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\n",
	}
	line := "1591367999.100000\tCx\t10.0.0.1\t5353\t10.0.0.2\t53\tudp\tevil.example\n"
	bs := func(ss ...string) [][]byte {
		var out [][]byte
		for _, s := range ss {
			out = append(out, []byte(s))
		}
		return out
	}
	s := &Stream{Matcher: NewMatcher(nil, Config{Format: FormatAuto, Origin: "EVENTS"}), Set: fleetIndicators(t)}
	if err := s.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.linesSeq(1, bs(hdr...))
	s.linesSeq(2, bs(line))
	if st := s.Matcher.Stats(); st.Matched != 0 || st.Malformed != 1 {
		t.Errorf("a TSV line without its header in its message: %d matched, %d malformed; want 0 and 1", st.Matched, st.Malformed)
	}
	s.linesSeq(3, bs(append(append([]string(nil), hdr...), line)...))
	if st := s.Matcher.Stats(); st.Matched != 1 {
		t.Errorf("a message of a header and its line: %d matched, want 1", st.Matched)
	}
	objs := s.Matcher.Flush()
	if len(objs) != 1 {
		t.Fatalf("%d sightings, want 1", len(objs))
	}
	if qs := seqsOf(t, objs[0]); len(qs) != 1 || qs[0] != 3 {
		t.Errorf("sighting of sequences %v, want [3]", qs)
	}
}

// TestJetStreamConsumerGoneUnseen: a consumer deleted when no pull was
// waiting (as when a restarted server lost its state) tells its pulls
// nothing; the matcher finds it gone by asking for it.
func TestJetStreamConsumerGoneUnseen(t *testing.T) {
	old := consumerCheck
	consumerCheck = 100 * time.Millisecond
	defer func() { consumerCheck = old }()
	js, ctx := eventsStream(t)
	cons, err := js.CreateOrUpdateConsumer(ctx, "EVENTS", JetStreamConsumerConfig("fleet", "", 30*time.Second, 1000))
	if err != nil {
		t.Fatal(err)
	}
	if err := js.DeleteConsumer(ctx, "EVENTS", "fleet"); err != nil {
		t.Fatal(err)
	}
	s := &Stream{Matcher: NewMatcher(nil, Config{Format: FormatAuto, Origin: "EVENTS"}), Set: fleetIndicators(t), FlushEvery: time.Hour}
	if err := s.Init(ctx); err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithTimeout(ctx, 10*time.Second)
	defer stop()
	err = (&JetStreamSource{Stream: s, Consumer: cons, FlushEvery: 100 * time.Millisecond}).Run(rctx)
	if err == nil || !strings.Contains(err.Error(), "consumer is gone") {
		t.Errorf("Run: %v, want the consumer gone", err)
	}
}

// TestJetStreamMalformedReported: a member runs until stopped, so its
// malformed messages are reported as they come (the first at once, then
// at most once a minute with the count since), naming their sequences.
func TestJetStreamMalformedReported(t *testing.T) {
	var warns []string
	s := &Stream{Matcher: NewMatcher(nil, Config{Format: FormatAuto, Origin: "EVENTS"}), Set: fleetIndicators(t)}
	if err := s.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	j := &JetStreamSource{Stream: s, Warn: func(err error) { warns = append(warns, err.Error()) }}
	j.match(7, splitEvents{events: [][]byte{[]byte(dnsLine(1, "evil.example"))}})
	j.match(8, splitEvents{events: [][]byte{[]byte("not a record\n"), []byte(dnsLine(2, "evil.example"))}})
	j.match(9, splitEvents{events: [][]byte{[]byte("garbage")}})
	j.match(10, splitEvents{events: [][]byte{[]byte("more garbage"), []byte("{")}})
	if len(warns) != 1 || !strings.Contains(warns[0], "1 malformed events") || !strings.Contains(warns[0], "stream sequence 8") {
		t.Fatalf("warnings %q, want one naming the message at sequence 8", warns)
	}
	j.bad.reported = time.Now().Add(-malformedReport)
	j.match(11, splitEvents{events: [][]byte{[]byte(dnsLine(3, "evil.example"))}})
	j.match(12, splitEvents{events: [][]byte{[]byte("x")}})
	if len(warns) != 2 || !strings.Contains(warns[1], "4 malformed events") || !strings.Contains(warns[1], "sequences 9 to 12") {
		t.Errorf("warnings %q, want a second one counting 4 in sequences 9 to 12", warns)
	}
}

// TestSightingSequenceCounts: a sighting says how many events each
// sequence counts where that is not one (a batch, an observed-data's
// number_observed), so that whoever collects sightings can keep one
// count per sequence when a redelivered batch is counted again with
// other messages.
func TestSightingSequenceCounts(t *testing.T) {
	s := &Stream{Matcher: NewMatcher(nil, Config{Format: FormatAuto, Origin: "EVENTS"}), Set: fleetIndicators(t)}
	if err := s.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	evil := func(i int) []byte { return []byte(dnsLine(i, "evil.example") + "\n") }
	s.linesSeq(9, [][]byte{evil(1), evil(2), evil(3)})
	s.linesSeq(4, [][]byte{evil(4)})
	s.linesSeq(5, [][]byte{evil(5), []byte(dnsLine(6, "benign.example")), evil(7)})
	objs := s.Matcher.Flush()
	if len(objs) != 1 {
		t.Fatalf("%d objects, want 1 sighting", len(objs))
	}
	o := objs[0]
	if o["count"] != int64(6) {
		t.Errorf("count %v, want 6", o["count"])
	}
	got, _ := o["x_parley_stream_sequence_counts"].([][2]uint64)
	want := [][2]uint64{{5, 2}, {9, 3}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("x_parley_stream_sequence_counts %v, want %v", got, want)
	}
	s.linesSeq(10, [][]byte{evil(8)})
	if o := s.Matcher.Flush()[0]; o["x_parley_stream_sequence_counts"] != nil {
		t.Errorf("one event a message: x_parley_stream_sequence_counts %v, want none", o["x_parley_stream_sequence_counts"])
	}
}

// eventsStream starts a nats-server of the test's own and creates the
// stream EVENTS of the subjects sensor.>; the context ends after a minute.
func eventsStream(t *testing.T) (jetstream.JetStream, context.Context) {
	t.Helper()
	nc, err := nats.Connect(startNATS(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "EVENTS", Subjects: []string{"sensor.>"}}); err != nil {
		t.Fatal(err)
	}
	return js, ctx
}

// TestJetStreamHeldWhileEmitting: a flush whose emitting takes longer
// than the consumer's AckWait (a node that is down, waited for) keeps its
// messages: they are told to be in progress every FlushEvery, so that
// JetStream does not hand them to another member of the fleet, which
// would count them a second time.
func TestJetStreamHeldWhileEmitting(t *testing.T) {
	js, ctx := eventsStream(t)
	// As many messages as a member's first pull asks for (pullBytes of
	// the largest messages): all of them are held by the first member
	// when it emits. (Messages of a pull still in flight then are not
	// held, as the README says; they would make this test's count depend
	// on timing.)
	const n = pullBytes >> 20
	want := map[uint64]bool{}
	for i := 1; i <= n; i++ {
		name := "benign.example"
		if i%4 == 0 {
			name = "evil.example"
		}
		ack, err := js.Publish(ctx, "sensor.zeek.dns", []byte(dnsLine(i, name)))
		if err != nil {
			t.Fatal(err)
		}
		if i%4 == 0 {
			want[ack.Sequence] = true
		}
	}
	// Long enough that a loaded machine (CI runs packages in parallel
	// under -race) still gets an in-progress acknowledgement out every
	// third of it: at 300 ms one run in a few on a busy box saw a held
	// message redelivered.
	const ackWait = time.Second
	cons, err := js.CreateOrUpdateConsumer(ctx, "EVENTS", JetStreamConsumerConfig("fleet", "sensor.>", ackWait, 10000))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[uint64]int{}
	record := func(objs []map[string]any) {
		mu.Lock()
		defer mu.Unlock()
		for _, o := range objs {
			if o["type"] == "sighting" {
				for _, q := range seqsOf(t, o) {
					seen[q]++
				}
			}
		}
	}
	member := func(emit func([]map[string]any) error) *JetStreamSource {
		s := &Stream{Matcher: NewMatcher(nil, Config{Format: FormatAuto, Origin: "EVENTS"}), Set: fleetIndicators(t), FlushEvery: time.Hour, Emit: emit}
		if err := s.Init(ctx); err != nil {
			t.Fatal(err)
		}
		return &JetStreamSource{Stream: s, Consumer: cons, MaxPending: 1000, Batch: 500, FlushEvery: ackWait / 3}
	}
	// a's first emitting lasts until its messages were held through ten
	// rounds (over three AckWaits), or 15 s at most (without holding them,
	// which is what this test catches: b gets them after an AckWait).
	blocked := make(chan struct{})
	var a *JetStreamSource
	first := true
	a = member(func(objs []map[string]any) error {
		if first && len(objs) > 0 {
			first = false
			close(blocked)
			deadline := time.Now().Add(15 * time.Second)
			for a.progressed.Load() < 10 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
		}
		record(objs)
		return nil
	})
	b := member(func(objs []map[string]any) error { record(objs); return nil })
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	errs := make(chan error, 2)
	go func() { errs <- a.Run(rctx) }()
	select {
	case <-blocked:
	case <-ctx.Done():
		t.Fatal("the first member never emitted")
	}
	go func() { errs <- b.Run(rctx) }()
	for {
		info, err := cons.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.NumPending == 0 && info.NumAckPending == 0 && !first {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("messages left: %d pending, %d unacknowledged", info.NumPending, info.NumAckPending)
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if p := a.progressed.Load(); p < 10 {
		t.Errorf("the held messages were told to be in progress %d times, want 10", p)
	}
	mu.Lock()
	defer mu.Unlock()
	for q := range want {
		if seen[q] != 1 {
			t.Errorf("matching event at sequence %d counted %d times, want once", q, seen[q])
		}
	}
	if len(seen) != len(want) {
		t.Errorf("%d sequences counted, want %d", len(seen), len(want))
	}
}

// TestJetStreamLargeAfterSmall: a pull asks for as many messages as make
// about pullBytes at the sizes seen so far, so after a run of small events
// it asks for Batch of them; a burst of large messages (Fluent Bit's or
// other batches, or oversized events) must not then come in one pull of
// Batch large messages, hundreds of megabytes, which the client cannot
// buffer (a slow consumer: NATS drops them, and they come again only after
// the consumer's AckWait, a second time counted if another member held
// them) and the server cuts off. Every message is taken, none dropped or
// redelivered, within a few seconds though the AckWait is long.
func TestJetStreamLargeAfterSmall(t *testing.T) {
	js, ctx := eventsStream(t)
	want := map[uint64]bool{}
	publish := func(i int, data string, match bool) {
		ack, err := js.Publish(ctx, "sensor.zeek.dns", []byte(data))
		if err != nil {
			t.Fatal(err)
		}
		if match {
			want[ack.Sequence] = true
		}
	}
	for i := 1; i <= 2000; i++ {
		publish(i, dnsLine(i, "benign.example"), false)
	}
	// 120 events of 900 KB (the default max_payload is 1 MiB): 108 MB.
	pad := strings.Repeat("x", 900<<10)
	for i := 2001; i <= 2120; i++ {
		name := "benign.example"
		if i%10 == 0 {
			name = "evil.example"
		}
		line := dnsLine(i, name)
		publish(i, line[:len(line)-1]+`,"pad":"`+pad+`"}`, i%10 == 0)
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, "EVENTS", JetStreamConsumerConfig("fleet", "sensor.>", 30*time.Second, 1_000_000))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[uint64]int{}
	s := &Stream{Matcher: NewMatcher(nil, Config{Format: FormatAuto, Origin: "EVENTS"}), Set: fleetIndicators(t), FlushEvery: time.Hour,
		Emit: func(objs []map[string]any) error {
			for _, o := range objs {
				if o["type"] == "sighting" {
					for _, q := range seqsOf(t, o) {
						seen[q]++
					}
				}
			}
			return nil
		}}
	if err := s.Init(ctx); err != nil {
		t.Fatal(err)
	}
	var warnMu sync.Mutex
	var warns []string
	src := &JetStreamSource{Stream: s, Consumer: cons, MaxPayload: 1 << 20, Warn: func(err error) {
		warnMu.Lock()
		warns = append(warns, err.Error())
		warnMu.Unlock()
	}}
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	errs := make(chan error, 1)
	go func() { errs <- src.Run(rctx) }()
	deadline := time.Now().Add(20 * time.Second)
	for src.Acked() < 2120 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if src.Acked() != 2120 || info.NumRedelivered != 0 || info.NumAckPending != 0 {
		t.Errorf("%d of 2120 messages acknowledged in 20 s (%d pending, %d unacknowledged, %d redelivered); warnings: %q",
			src.Acked(), info.NumPending, info.NumAckPending, info.NumRedelivered, warns)
	}
	for q := range want {
		if seen[q] != 1 {
			t.Errorf("matching event at sequence %d counted %d times, want once", q, seen[q])
		}
	}
}

// TestJetStreamEmptyMessage: a message without an event (an empty
// publish, or blank lines only) is counted as malformed and reported with
// its sequence, and acknowledged with the rest; it was acknowledged
// without being counted anywhere.
func TestJetStreamEmptyMessage(t *testing.T) {
	js, ctx := eventsStream(t)
	for _, m := range []string{"", "\n \n", dnsLine(1, "evil.example")} {
		if _, err := js.Publish(ctx, "sensor.x", []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	st, acked, warns := runFleetUntilAcked(ctx, t, js, Config{Format: FormatAuto, Origin: "EVENTS"}, 3)
	if st.Events != 1 || st.Malformed != 2 || acked != 3 {
		t.Errorf("%d events, %d malformed, %d acknowledged; want 1, 2 and 3", st.Events, st.Malformed, acked)
	}
	if len(warns) == 0 || !strings.Contains(warns[0], "1 malformed events") || !strings.Contains(warns[0], "stream sequence 1") {
		t.Errorf("warnings %q, want the first naming the message at sequence 1", warns)
	}
}

// TestCheckJetStreamFilter: a --subject that can match none of the
// stream's subjects is refused (nats-server 2.10 and later create such a
// consumer, which never gets a message); one that overlaps them, by
// wildcards either side, passes.
func TestCheckJetStreamFilter(t *testing.T) {
	for _, tc := range []struct {
		subjects []string
		filter   string
		ok       bool
	}{
		{[]string{"sensor.>"}, "sensor.>", true},
		{[]string{"sensor.>"}, "sensor.zeek.dns", true},
		{[]string{"sensor.>"}, "*.zeek", true},
		{[]string{"sensor.zeek", "sensor.eve"}, "sensor.*", true},
		{[]string{"sensor.*.dns"}, "sensor.zeek.>", true},
		{[]string{"a", "sensor.>"}, ">", true},
		{[]string{"sensor.>"}, "", true},
		{nil, "anything", true},
		{[]string{"sensor.>"}, "sensors.>", false},
		{[]string{"sensor.>"}, "sensor", false},
		{[]string{"sensor.zeek"}, "sensor.zeek.dns", false},
		{[]string{"sensor.*"}, "sensor.zeek.>", false},
		{[]string{"sensor.zeek", "sensor.eve"}, "sensor.ecs", false},
	} {
		err := CheckJetStreamFilter(tc.subjects, tc.filter)
		if (err == nil) != tc.ok {
			t.Errorf("subjects %v, filter %q: %v, want ok %v", tc.subjects, tc.filter, err, tc.ok)
		}
	}
}

// TestJetStreamOversizeEvent: an event of a message is bounded as a line
// of a file is (Config.MaxLine, its newline aside): one longer, a message
// by itself or a line of a batch, is counted as malformed and not
// matched, its message acknowledged with the rest and reported. Before,
// a message had no bound but the server's max_payload.
func TestJetStreamOversizeEvent(t *testing.T) {
	js, ctx := eventsStream(t)
	const maxLine = 4096
	long := func(i int) string {
		return `{"pad":"` + strings.Repeat("x", maxLine) + `",` + dnsLine(i, "evil.example")[1:]
	}
	for _, m := range []string{long(1), long(2) + "\n" + dnsLine(3, "evil.example") + "\n", dnsLine(4, "evil.example")} {
		if _, err := js.Publish(ctx, "sensor.x", []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	st, acked, warns := runFleetUntilAcked(ctx, t, js, Config{Format: FormatAuto, Origin: "EVENTS", MaxLine: maxLine}, 3)
	if st.Events != 2 || st.Malformed != 2 || st.Matched != 2 || acked != 3 {
		t.Errorf("%d events, %d malformed, %d matched, %d acknowledged; want 2, 2, 2 and 3", st.Events, st.Malformed, st.Matched, acked)
	}
	if len(warns) == 0 || !strings.Contains(warns[0], "1 malformed events") || !strings.Contains(warns[0], "stream sequence 1") {
		t.Errorf("warnings %q, want the first naming the message at sequence 1", warns)
	}
	// A line of exactly MaxLine bytes and its newline is read, as in a file.
	m := NewMatcher(nil, Config{Format: FormatAuto, MaxLine: maxLine})
	if ok := strings.Repeat("x", maxLine) + "\r\n"; m.tooLong([]byte(ok)) || !m.tooLong([]byte("x"+ok)) {
		t.Errorf("the bound is not MaxLine bytes, the line ending aside")
	}
}

// runFleetUntilAcked runs one fleet member with cfg on the stream EVENTS
// (consumer "fleet") until it has acknowledged n messages, stops it, and
// returns its matcher's counts, the messages acknowledged and the warnings
// it gave.
func runFleetUntilAcked(ctx context.Context, t *testing.T, js jetstream.JetStream, cfg Config, n int) (Stats, int64, []string) {
	t.Helper()
	cons, err := js.CreateOrUpdateConsumer(ctx, "EVENTS", JetStreamConsumerConfig("fleet", "", 10*time.Second, 1000))
	if err != nil {
		t.Fatal(err)
	}
	s := &Stream{Matcher: NewMatcher(nil, cfg), Set: fleetIndicators(t), FlushEvery: time.Hour}
	if err := s.Init(ctx); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var warns []string
	src := &JetStreamSource{Stream: s, Consumer: cons, FlushEvery: 50 * time.Millisecond,
		Warn: func(err error) { mu.Lock(); warns = append(warns, err.Error()); mu.Unlock() }}
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- src.Run(rctx) }()
	for src.Acked() < int64(n) && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	return s.Matcher.Stats(), src.Acked(), warns
}
