package match

import (
	"encoding/json"
	"fmt"
	"testing"
)

// TestFlushSplitsManySequences: a flush whose sighting would list more
// stream sequences (ranges and counts) than a node takes in one object is
// spread over sightings of at most maxSeqEntries entries each, whose
// sequences are disjoint, together every one, and whose counts add up to
// the events counted.
func TestFlushSplitsManySequences(t *testing.T) {
	inds, _ := equalityIndicators([]string{"evil.example"})
	e, errs := Compile(inds, Options{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	m := NewMatcher(e, Config{Origin: "SENSORS"})
	line := []byte(`{"ts":1700000000.5,"uid":"C1","id.orig_h":"10.0.0.1","id.orig_p":5353,"id.resp_h":"10.0.0.2","id.resp_p":53,"proto":"udp","query":"evil.example","qtype_name":"A"}`)
	const n = 2*maxSeqEntries + 100
	want := map[uint64]int64{}
	var total int64
	for i := range n {
		seq := uint64(10 + 2*i) // every other sequence: one range each
		events := 1
		if i%7 == 0 {
			events = 3 // a batch of three matching events: a count entry too
		}
		for range events {
			m.LineSeq(seq, line)
		}
		want[seq] = int64(events)
		total += int64(events)
	}
	objs := m.Flush()
	if len(objs) < 3 {
		t.Fatalf("%d sightings, want the sequences spread over at least 3", len(objs))
	}
	got := map[uint64]int64{}
	var sum int64
	for _, o := range objs {
		b, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > 1<<20 {
			t.Errorf("a sighting of %d bytes, over a node's default max_object_size", len(b))
		}
		var s struct {
			Count  int64       `json:"count"`
			Stream string      `json:"x_parley_stream"`
			Ranges [][2]uint64 `json:"x_parley_stream_sequences"`
			Counts [][2]uint64 `json:"x_parley_stream_sequence_counts"`
		}
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatal(err)
		}
		if s.Stream != "SENSORS" || len(s.Ranges)+len(s.Counts) > maxSeqEntries {
			t.Fatalf("sighting with stream %q, %d ranges and %d counts", s.Stream, len(s.Ranges), len(s.Counts))
		}
		own := map[uint64]int64{}
		var ownSum int64
		for _, r := range s.Ranges {
			for q := r[0]; q <= r[1]; q++ {
				if _, dup := got[q]; dup {
					t.Fatalf("sequence %d in two sightings", q)
				}
				own[q], got[q] = 1, 1
			}
		}
		for _, c := range s.Counts {
			if _, ok := own[c[0]]; !ok {
				t.Fatalf("count of sequence %d, which the sighting's ranges don't hold", c[0])
			}
			own[c[0]], got[c[0]] = int64(c[1]), int64(c[1])
		}
		for _, c := range own {
			ownSum += c
		}
		if s.Count != ownSum {
			t.Errorf("sighting count %d, its sequences count %d", s.Count, ownSum)
		}
		sum += s.Count
	}
	if sum != total || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("sightings count %d events of %d sequences, want %d of %d", sum, len(got), total, len(want))
	}
}
