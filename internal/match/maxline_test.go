package match

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// paddedLine is a DNS event of evil.example of exactly n bytes.
func paddedLine(i, n int) string {
	rest := dnsLine(i, "evil.example")[1:]
	return `{"pad":"` + strings.Repeat("x", n-len(rest)-len(`{"pad":"",`)) + `",` + rest
}

// TestReadLinesMaxLine: over files, a line is bounded by exactly
// Config.MaxLine bytes, its "\n" or "\r\n" aside, whether MaxLine is
// below the read buffer (1 MiB) or above it: a line of MaxLine bytes is
// read, one of a byte more is malformed, the last line without a newline
// too. Before, a line below the read buffer was decoded whatever MaxLine
// said, and one above it was held and decoded up to a buffer past it.
func TestReadLinesMaxLine(t *testing.T) {
	inds, _ := fleetIndicators(t).Active(time.Now())
	e, _ := Compile(inds, Options{})
	for _, maxLine := range []int{4096, readBuf + 4096, 2*readBuf - 1} {
		lines := []string{
			paddedLine(1, maxLine) + "\n",     // read
			paddedLine(2, maxLine) + "\r\n",   // read
			paddedLine(3, maxLine+1) + "\n",   // malformed
			paddedLine(4, maxLine+1) + "\r\n", // malformed
			paddedLine(5, 3*readBuf) + "\n",   // malformed
			dnsLine(6, "evil.example") + "\n", // read
			paddedLine(7, maxLine+1),          // malformed, at the end without a newline
		}
		m := NewMatcher(e, Config{Format: FormatZeek, MaxLine: maxLine})
		if err := m.ReadLines(context.Background(), strings.NewReader(strings.Join(lines, ""))); err != nil {
			t.Fatal(err)
		}
		if st := m.Stats(); st.Events != 3 || st.Matched != 3 || st.Malformed != 4 {
			t.Errorf("MaxLine %d: %d events, %d malformed; want 3 and 4", maxLine, st.Events, st.Malformed)
		}
		// The last line of MaxLine bytes, without a newline, is read.
		m = NewMatcher(e, Config{Format: FormatZeek, MaxLine: maxLine})
		if err := m.ReadLines(context.Background(), strings.NewReader(paddedLine(8, maxLine))); err != nil {
			t.Fatal(err)
		}
		if st := m.Stats(); st.Events != 1 || st.Malformed != 0 {
			t.Errorf("MaxLine %d, a last line of MaxLine bytes: %d events, %d malformed; want 1 and 0", maxLine, st.Events, st.Malformed)
		}
	}
}

// TestFollowMaxLineCRLF: a followed file bounds a line as ReadLines
// does: MaxLine bytes, "\r\n" aside as "\n" is. Before, a line of MaxLine
// bytes ending in "\r\n" was dropped.
func TestFollowMaxLineCRLF(t *testing.T) {
	const maxLine = 100
	path := filepath.Join(t.TempDir(), "dns.log")
	content := strings.Repeat("a", maxLine) + "\r\n" + strings.Repeat("b", maxLine) + "\n" + strings.Repeat("c", maxLine+1) + "\r\n" + "end\n"
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var read []string
	var long, seen atomic.Int32
	err := Follow(ctx, path, time.Millisecond, maxLine, func(line []byte) {
		read = append(read, string(line))
		if seen.Add(1)+long.Load() == 4 {
			cancel()
		}
	}, func() {
		if long.Add(1)+seen.Load() == 4 {
			cancel()
		}
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(read) != 3 || long.Load() != 1 || read[0][0] != 'a' || read[1][0] != 'b' || read[2] != "end\n" {
		t.Errorf("read %d lines (%d dropped as too long), want a, b and end read and c dropped", len(read), long.Load())
	}
}

// TestMessageEventsBound: the events read of one message are bounded
// (messageEvents), a batch of newline-delimited lines as a Fluent Bit
// batch (its fast reader and the general one): the rest are counted as
// malformed, not held, and the message acknowledged with the others.
// Before, a message of many short lines took a slice of 24 bytes each,
// twelve times the message, for each message split ahead.
func TestMessageEventsBound(t *testing.T) {
	defer func(n int) { messageEvents = n }(messageEvents)
	messageEvents = 3
	var r batchReader
	lines := strings.Repeat(dnsLine(1, "evil.example")+"\n", 5) + dnsLine(1, "evil.example")
	fb := `[` + strings.Repeat(`[1591367999.0,{"log":"x"}],`, 6) + `[1591367999.0,{"log":"x"}]]`
	fbGeneral := strings.Replace(fb, `"x"`, `"\u00e9"`, 1) // not ASCII: the general reader
	for _, c := range []struct {
		name, in string
		over     int
	}{{"lines", lines, 3}, {"fluent bit", fb, 4}, {"fluent bit, general", fbGeneral, 4}} {
		got := r.split([]byte(c.in))
		if len(got.events) != 3 || got.over != c.over {
			t.Errorf("%s: %d events and %d over, want 3 and %d", c.name, len(got.events), got.over, c.over)
		}
	}
	js, ctx := eventsStream(t)
	for _, m := range []string{lines, dnsLine(7, "evil.example"), fb} {
		if _, err := js.Publish(ctx, "sensor.x", []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	st, acked, warns := runFleetUntilAcked(ctx, t, js, Config{Format: FormatAuto, Origin: "EVENTS"}, 3)
	if st.Matched != 4 || st.Malformed != 3+3+4 || acked != 3 {
		t.Errorf("%d matched, %d malformed, %d acknowledged; want 4, 10 and 3", st.Matched, st.Malformed, acked)
	}
	if len(warns) == 0 || !strings.Contains(warns[0], "3 malformed events") {
		t.Errorf("warnings %q, want the lines past the bound reported", warns)
	}
}

// TestJetStreamMatcherFault: an event that trips a fault of the matcher
// (a panic while it is read or matched; here, a matcher given no engine)
// is counted as malformed and reported with its stream sequence and the
// stack, and the member goes on with the next event and message. Before,
// the panic stopped the member, and every member the message went to
// next, at every redelivery.
func TestJetStreamMatcherFault(t *testing.T) {
	var warns []string
	s := &Stream{Matcher: NewMatcher(nil, Config{Format: FormatAuto, Origin: "EVENTS"})}
	j := &JetStreamSource{Stream: s, Warn: func(err error) { warns = append(warns, err.Error()) }}
	j.match(7, splitEvents{events: [][]byte{[]byte(dnsLine(1, "evil.example")), []byte(dnsLine(2, "evil.example"))}})
	for i := range maxFaultReports + 5 {
		j.match(uint64(8+i), splitEvents{events: [][]byte{[]byte(dnsLine(3, "evil.example"))}})
	}
	if st := s.Matcher.Stats(); st.Malformed != int64(maxFaultReports+7) || st.Events != 0 {
		t.Errorf("%d malformed, %d events; want every event counted malformed, and only so", st.Malformed, st.Events)
	}
	var faults int
	for _, w := range warns {
		if strings.Contains(w, "made the matcher fail") {
			faults++
		}
	}
	if faults != maxFaultReports || !strings.Contains(warns[0], "stream sequence 7") || !strings.Contains(warns[0], "goroutine") {
		t.Errorf("%d fault reports, want %d, the first naming sequence 7 with its stack: %q", faults, maxFaultReports, warns)
	}
	// The matcher still works once it has its engine.
	s.Set = fleetIndicators(t)
	if err := s.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	j.match(30, splitEvents{events: [][]byte{[]byte(dnsLine(4, "evil.example"))}})
	if st := s.Matcher.Stats(); st.Matched != 1 {
		t.Errorf("after the faults, %d matched, want 1", st.Matched)
	}
}
