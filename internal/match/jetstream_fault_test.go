package match

import (
	"bytes"
	"strings"
	"testing"
)

// TestJetStreamSplitterFault: a message that trips a fault of the
// matcher while it is split into its events (a panic in the splitter; a
// small message is split by the member's own goroutine, a large one by the
// splitter's) is counted as one malformed event, reported with its stream
// sequence and the stack, and acknowledged with the rest; the member goes
// on with the messages after it. Before, the panic in the splitter's
// goroutine ended the whole process without a word of the message, and
// so did every member it was redelivered to.
func TestJetStreamSplitterFault(t *testing.T) {
	defer func(h func([]byte)) { splitHook = h }(splitHook)
	splitHook = func(data []byte) {
		if bytes.Contains(data, []byte("trip.example")) {
			panic("a fault of the splitter")
		}
	}
	js, ctx := eventsStream(t)
	batch := func(name string) string {
		var b strings.Builder
		for i := 0; b.Len() < 2*aheadBytes; i++ {
			b.WriteString(dnsLine(i, name) + "\n")
		}
		return b.String()
	}
	msgs := []string{
		dnsLine(1, "evil.example"),          // 1
		dnsLine(2, "trip.example"),          // 2: small, split inline
		batch("evil.example"),               // 3
		batch("trip.example"),               // 4: large, split ahead
		batch("evil.example"),               // 5
		dnsLine(3, "evil.example") + "\n\n", // 6
	}
	want := int64(0)
	for _, m := range msgs {
		if _, err := js.Publish(ctx, "sensor.x", []byte(m)); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(m, "trip") {
			want += int64(len(strings.Split(strings.TrimSpace(m), "\n")))
		}
	}
	st, acked, warns := runFleetUntilAcked(ctx, t, js, Config{Format: FormatAuto, Origin: "EVENTS"}, len(msgs))
	if acked != int64(len(msgs)) || st.Malformed != 2 || st.Matched != want {
		t.Errorf("%d acknowledged, %d malformed, %d matched; want %d, 2 and %d", acked, st.Malformed, st.Matched, len(msgs), want)
	}
	var faults []string
	for _, w := range warns {
		if strings.Contains(w, "while it was split") {
			faults = append(faults, w)
		}
	}
	if len(faults) != 2 || !strings.Contains(faults[0], "stream sequence 2") || !strings.Contains(faults[1], "stream sequence 4") ||
		!strings.Contains(faults[1], "a fault of the splitter") || !strings.Contains(faults[1], "goroutine") {
		t.Errorf("fault reports %q, want sequences 2 and 4 with the panic and the stack", faults)
	}
}

// TestMessageEventsBoundMixed: the bound on a message's events holds for
// a batch that mixes sensors and formats (Zeek JSON, EVE, Zeek again) and
// for a Fluent Bit batch of records of several tags: the first
// messageEvents are read, whatever their format, the rest counted as
// malformed, and the message is named on stderr with what was left
// unread and the bound, apart from malformed records. Before, the events
// past the bound were only counted among "malformed events", which said
// nothing of the bound: the message looked silently cut.
func TestMessageEventsBoundMixed(t *testing.T) {
	defer func(n int) { messageEvents = n }(messageEvents)
	messageEvents = 5
	eve := func(name string) string {
		return `{"timestamp":"2020-06-05T14:39:59.000000+0000","event_type":"dns","src_ip":"192.168.4.76","src_port":36844,"dest_ip":"192.168.4.1","dest_port":53,"proto":"UDP","dns":{"type":"query","id":1,"rrname":"` + name + `","rrtype":"A"}}`
	}
	mixed := strings.Join([]string{dnsLine(1, "evil.example"), eve("evil.example"), dnsLine(2, "evil.example"), eve("evil.example"),
		dnsLine(3, "evil.example"), eve("evil.example"), dnsLine(4, "evil.example"), eve("evil.example")}, "\n") + "\n"
	fb := `[[1591367999.0,` + dnsLine(5, "evil.example") + `],[1591367999.0,` + eve("evil.example") + `],[1591367999.0,{"log":` +
		strings.ReplaceAll(`"`+strings.ReplaceAll(dnsLine(6, "evil.example"), `"`, `\"`)+`"`, "\n", "") + `,"tag":"zeek.dns"}]]`
	for range 4 {
		fb = strings.TrimSuffix(fb, "]") + `,[1591367999.0,` + eve("evil.example") + `]]`
	}
	if recs, ok := FluentBitRecords([]byte(fb)); !ok || len(recs) != 7 {
		t.Fatalf("the Fluent Bit batch reads as %d records (%v): %s", len(recs), ok, fb)
	}
	js, ctx := eventsStream(t)
	for _, m := range []string{mixed, fb, dnsLine(9, "evil.example")} {
		if _, err := js.Publish(ctx, "sensor.x", []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	st, acked, warns := runFleetUntilAcked(ctx, t, js, Config{Format: FormatAuto, Origin: "EVENTS"}, 3)
	if acked != 3 || st.Matched != 5+5+1 || st.Malformed != 3+2 {
		t.Errorf("%d acknowledged, %d matched, %d malformed; want 3, 11 and 5", acked, st.Matched, st.Malformed)
	}
	var over []string
	for _, w := range warns {
		if strings.Contains(w, "past the bound of 5 events a message") {
			over = append(over, w)
		}
	}
	if len(over) != 1 || !strings.Contains(over[0], "3 events") || !strings.Contains(over[0], "stream sequence 1") {
		t.Errorf("bound reports %q, want one naming the 3 events of the message at stream sequence 1", over)
	}
}
