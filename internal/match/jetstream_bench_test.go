package match

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// BenchmarkJetStreamVsFile measures, in one run, the rate at which a
// matcher reads events from a file and the rate at which it consumes the
// same events from a JetStream stream (file storage, a new durable
// consumer each round, every message acknowledged after its flush), with
// 1,000 indicators: (a) one event a message, as Vector's nats sink
// publishes them, (b) batches of fluentBitBatch events a message, as
// Fluent Bit's nats output publishes a flush (the tail input without a
// parser: each record's line under "log"), (c) the same batches
// newline-delimited, (d) the messages of (a) pulled with nothing done to
// them, and (e) batches as Fluent Bit's nats output publishes a flush of
// records its json parser read (the tail input with "Parser json": each
// record's fields beside its "tag", nothing escaped). It logs the wall and CPU time (this process's and the
// nats-server's) of each. The goal is js/file >= 0.5.
//
// A run ends when the last message is acknowledged, which happens at the
// source's next flush (FlushEvery, 100 ms here), so a short run is
// rounded up to a tick: PARLEY_JS_BENCH_EVENTS (default 100,000) makes
// the runs longer, so that the tick weighs less.
func BenchmarkJetStreamVsFile(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("PARLEY_JS_BENCH_EVENTS")); err == nil && v > 0 {
		n = v
	}
	domains := benchDomains(1000)
	lines := benchStream(n, domains)
	inds, _ := equalityIndicators(domains)
	path := filepath.Join(b.TempDir(), "events.log")
	if err := os.WriteFile(path, append(bytes.Join(lines, []byte("\n")), '\n'), 0o644); err != nil {
		b.Fatal(err)
	}
	url, srvPid := startNATSProc(b)
	nc, err := nats.Connect(url)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "BENCH", Subjects: []string{"bench.>"}, Storage: jetstream.FileStorage}); err != nil {
		b.Fatal(err)
	}
	for i, l := range lines {
		if _, err := js.PublishAsync("bench.events", l); err != nil {
			b.Fatal(err)
		}
		if i%10000 == 9999 {
			<-js.PublishAsyncComplete()
		}
	}
	<-js.PublishAsyncComplete()
	// The same events in Fluent Bit's shape, on a stream of their own.
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "BENCHFB", Subjects: []string{"benchfb.>"}, Storage: jetstream.FileStorage}); err != nil {
		b.Fatal(err)
	}
	for lo := 0; lo < n; lo += fluentBitBatch {
		if _, err := js.PublishAsync("benchfb.events", fluentBitBatchOf(lines[lo:min(lo+fluentBitBatch, n)], lo)); err != nil {
			b.Fatal(err)
		}
	}
	<-js.PublishAsyncComplete()
	// The same events as records Fluent Bit's json parser read, on a
	// stream of their own.
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "BENCHFP", Subjects: []string{"benchfp.>"}, Storage: jetstream.FileStorage}); err != nil {
		b.Fatal(err)
	}
	for lo := 0; lo < n; lo += fluentBitBatch {
		if _, err := js.PublishAsync("benchfp.events", fluentBitParsedBatchOf(lines[lo:min(lo+fluentBitBatch, n)], lo)); err != nil {
			b.Fatal(err)
		}
	}
	<-js.PublishAsyncComplete()
	// The same events newline-delimited, fluentBitBatch a message (a
	// batching publisher), on a stream of their own.
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "BENCHND", Subjects: []string{"benchnd.>"}, Storage: jetstream.FileStorage}); err != nil {
		b.Fatal(err)
	}
	for lo := 0; lo < n; lo += fluentBitBatch {
		var msg []byte
		for _, l := range lines[lo:min(lo+fluentBitBatch, n)] {
			msg = append(append(msg, l...), '\n')
		}
		if _, err := js.PublishAsync("benchnd.events", msg); err != nil {
			b.Fatal(err)
		}
	}
	<-js.PublishAsyncComplete()
	// cpu is the CPU time the benchmark's process and the nats-server have
	// used so far, in seconds (-1 where /proc has none).
	cpu := func() (client, server float64) {
		return procCPU("self"), procCPU(fmt.Sprint(srvPid))
	}
	consume := func(stream, name string, s *Stream, wantAcked int64) float64 {
		cons, err := js.CreateOrUpdateConsumer(ctx, stream, JetStreamConsumerConfig(name, "", 30*time.Second, 1_000_000))
		if err != nil {
			b.Fatal(err)
		}
		// The last messages are acknowledged at the latest FlushEvery
		// after they came: 100 ms keeps that tail small beside the run.
		src := &JetStreamSource{Stream: s, Consumer: cons, FlushEvery: 100 * time.Millisecond, Batch: benchBatchOr(0)}
		rctx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		start := time.Now()
		go func() { done <- src.Run(rctx) }()
		for src.Acked() < wantAcked {
			time.Sleep(time.Millisecond)
		}
		secs := time.Since(start).Seconds()
		stop()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		if got := s.Matcher.Stats().Events; got != int64(n) {
			b.Fatalf("jetstream %s: %d events, want %d", stream, got, n)
		}
		return secs
	}
	newStream := func() *Stream {
		set := NewIndicatorSet()
		for _, ind := range inds {
			set.Put(ind)
		}
		s := &Stream{Matcher: NewMatcher(nil, Config{Format: FormatAuto, Origin: "BENCH"}), Set: set, FlushEvery: time.Hour,
			Emit: func(objs []map[string]any) error { return nil }}
		if err := s.Init(ctx); err != nil {
			b.Fatal(err)
		}
		return s
	}
	var fileRate, jsRate, rawRate, fbRate, fpRate, ndRate float64
	// timed runs f and logs its wall and CPU time (client, server).
	timed := func(what string, f func() float64) float64 {
		c0, s0 := cpu()
		secs := f()
		c1, s1 := cpu()
		b.Logf("  %s: %.3f s, CPU %.2f s client, %.2f s nats-server", what, secs, c1-c0, s1-s0)
		return secs
	}
	b.ResetTimer()
	for round := 0; round < b.N; round++ {
		s := newStream()
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		fileSecs := timed("file", func() float64 {
			start := time.Now()
			if err := s.Read(ctx, f); err != nil {
				b.Fatal(err)
			}
			s.Finish()
			return time.Since(start).Seconds()
		})
		f.Close()
		if got := s.Matcher.Stats().Events; got != int64(n) {
			b.Fatalf("file: %d events, want %d", got, n)
		}

		batches := int64((n + fluentBitBatch - 1) / fluentBitBatch)
		jsSecs := timed("one event a message", func() float64 { return consume("BENCH", fmt.Sprintf("bench-%d", round), newStream(), int64(n)) })
		fbSecs := timed("Fluent Bit batches", func() float64 { return consume("BENCHFB", fmt.Sprintf("benchfb-%d", round), newStream(), batches) })
		fpSecs := timed("Fluent Bit batches, parsed records", func() float64 { return consume("BENCHFP", fmt.Sprintf("benchfp-%d", round), newStream(), batches) })
		ndSecs := timed("newline-delimited batches", func() float64 { return consume("BENCHND", fmt.Sprintf("benchnd-%d", round), newStream(), batches) })
		// The ceiling: the same messages pulled with nothing done to them
		// (no matching, no acknowledgement).
		raw, err := js.CreateOrUpdateConsumer(ctx, "BENCH", jetstream.ConsumerConfig{Durable: fmt.Sprintf("raw-%d", round), AckPolicy: jetstream.AckNonePolicy})
		if err != nil {
			b.Fatal(err)
		}
		it, err := raw.Messages(jetstream.PullMaxMessages(benchBatchOr(500)))
		if err != nil {
			b.Fatal(err)
		}
		rawSecs := timed("pulled only", func() float64 {
			start := time.Now()
			for range n {
				if _, err := it.Next(); err != nil {
					b.Fatal(err)
				}
			}
			return time.Since(start).Seconds()
		})
		it.Stop()
		fileRate, jsRate, rawRate, fbRate, fpRate, ndRate = float64(n)/fileSecs, float64(n)/jsSecs, float64(n)/rawSecs, float64(n)/fbSecs, float64(n)/fpSecs, float64(n)/ndSecs
		b.Logf("round %d: file %.0f events/s; JetStream, one event a message: matched and acknowledged %.0f events/s (ratio %.2f), pulled only %.0f messages/s (ratio %.2f); batches of %d: Fluent Bit %.0f events/s (ratio %.2f), Fluent Bit parsed records %.0f events/s (ratio %.2f), newline-delimited %.0f events/s (ratio %.2f)",
			round, fileRate, jsRate, jsRate/fileRate, rawRate, rawRate/fileRate, fluentBitBatch, fbRate, fbRate/fileRate, fpRate, fpRate/fileRate, ndRate, ndRate/fileRate)
	}
	b.ReportMetric(fileRate, "file-events/s")
	b.ReportMetric(jsRate, "js-events/s")
	b.ReportMetric(jsRate/fileRate, "js/file")
	b.ReportMetric(rawRate/fileRate, "pull-only/file")
	b.ReportMetric(fbRate/fileRate, "js-fluentbit/file")
	b.ReportMetric(fpRate/fileRate, "js-fluentbit-parsed/file")
	b.ReportMetric(ndRate/fileRate, "js-ndjson/file")
}

// procCPU returns the CPU time (user and system) of process pid ("self"
// for this one) in seconds, from /proc, or -1.
func procCPU(pid string) float64 {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return -1
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return -1
	}
	u, err1 := strconv.ParseFloat(f[11], 64)
	k, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return (u + k) / 100 // clock ticks (USER_HZ, 100 on Linux)
}

// fluentBitBatch is the number of events in a benchmark message in
// Fluent Bit's shape (about 200 KB, under NATS's 1 MB max_payload).
const fluentBitBatch = 500

// fluentBitBatchOf writes lines as one flush of Fluent Bit's nats output
// from the tail input without a parser: [[time, {"tag", "log"}], ...].
func fluentBitBatchOf(lines [][]byte, first int) []byte {
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i, l := range lines {
		if i > 0 {
			buf.WriteByte(',')
		}
		fmt.Fprintf(&buf, `[%d.%06d,{"tag":"sensor.log","log":`, 1700000000+(first+i)/100, (first+i)%1000000)
		q, _ := json.Marshal(string(l))
		buf.Write(q)
		buf.WriteString("}]")
	}
	buf.WriteByte(']')
	return buf.Bytes()
}

// fluentBitParsedBatchOf writes lines, each one JSON object, as one flush
// of Fluent Bit's nats output from the tail input with its json parser:
// [[time, {"tag", the line's own fields...}], ...].
func fluentBitParsedBatchOf(lines [][]byte, first int) []byte {
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i, l := range lines {
		if i > 0 {
			buf.WriteByte(',')
		}
		fmt.Fprintf(&buf, `[%d.%06d,{"tag":"sensor.log",`, 1700000000+(first+i)/100, (first+i)%1000000)
		buf.Write(l[1:]) // the line's fields and its closing brace
		buf.WriteString("]")
	}
	buf.WriteByte(']')
	return buf.Bytes()
}

// benchBatchOr returns $PARLEY_BENCH_BATCH (messages pulled at a time), or
// def.
func benchBatchOr(def int) int {
	var n int
	if _, err := fmt.Sscan(os.Getenv("PARLEY_BENCH_BATCH"), &n); err != nil || n <= 0 {
		return def
	}
	return n
}

// BenchmarkFluentBitRecords splits a Fluent Bit batch of fluentBitBatch
// Zeek/EVE lines (each under "log", so every quote of the line is
// escaped) into its records.
func BenchmarkFluentBitRecords(b *testing.B) {
	lines := benchStream(fluentBitBatch, benchDomains(100))
	msg := fluentBitBatchOf(lines, 0)
	var r fluentBitReader
	b.SetBytes(int64(len(msg)))
	b.ResetTimer()
	for range b.N {
		recs, ok := r.records(msg)
		if !ok || len(recs) != fluentBitBatch {
			b.Fatalf("%d records, ok %v", len(recs), ok)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*fluentBitBatch), "ns/record")
}

// BenchmarkBatchDecode splits a message of fluentBitBatch events and
// decodes each event, as a member of the fleet does before matching, for
// each shape a shipper publishes: Fluent Bit's records of lines under
// "log", Fluent Bit's records its json parser read (the tag first), and
// newline-delimited lines. ns/event compares what each shape costs the
// matcher beyond the file's decoding (the "newline-delimited" case).
func BenchmarkBatchDecode(b *testing.B) {
	lines := benchStream(fluentBitBatch, benchDomains(100))
	var nd []byte
	for _, l := range lines {
		nd = append(append(nd, l...), '\n')
	}
	for _, shape := range []struct {
		name string
		msg  []byte
	}{
		{"fluent-bit-log", fluentBitBatchOf(lines, 0)},
		{"fluent-bit-parsed", fluentBitParsedBatchOf(lines, 0)},
		{"newline-delimited", nd},
	} {
		b.Run(shape.name, func(b *testing.B) {
			var r batchReader
			d := NewDecoder(FormatAuto)
			b.SetBytes(int64(len(shape.msg)))
			for range b.N {
				evs := r.split(shape.msg)
				if len(evs.events) != fluentBitBatch {
					b.Fatalf("%d events", len(evs.events))
				}
				for _, e := range evs.events {
					if _, err := d.Decode(e); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*fluentBitBatch), "ns/event")
		})
	}
}
