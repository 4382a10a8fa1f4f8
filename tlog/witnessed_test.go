package tlog

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// cosignedLog is a testLog with the cosigned checkpoints a node keeps: it
// is a CosignedHistory.
type cosignedLog struct {
	*testLog
	cosigned [][]byte
}

func (c *cosignedLog) CosignedCheckpoints(_ context.Context, fn func([]byte) error) error {
	for _, n := range c.cosigned {
		if err := fn(n); err != nil {
			return err
		}
	}
	return nil
}

// setReceived restamps entry i of the log.
func setReceived(t testing.TB, l *testLog, i int, at time.Time) {
	t.Helper()
	e, err := ParseEntry(l.leaves[i])
	if err != nil {
		t.Fatal(err)
	}
	e.Received = at
	if l.leaves[i], err = e.Marshal(); err != nil {
		t.Fatal(err)
	}
}

// cosign signs the log's checkpoint at its current size, cosigned by w at
// time at, and keeps it in c.
func (c *cosignedLog) cosign(t testing.TB, w *testWitness, at time.Time) []byte {
	t.Helper()
	plain := c.checkpoint(t)
	text, err := SplitNote(plain)
	if err != nil {
		t.Fatal(err)
	}
	w.now = at
	n, err := note.Sign(&note.Note{Text: string(text)}, c.signer, w.cosigner)
	if err != nil {
		t.Fatal(err)
	}
	c.notes[len(c.notes)-1] = n
	c.cosigned = append(c.cosigned, n)
	return n
}

type testWitness struct {
	cosigner *Cosigner
	vkey     string
	now      time.Time
}

func newTestWitness(t testing.TB, name string, seed int) *testWitness {
	t.Helper()
	w := &testWitness{}
	skey, vkey, err := NewCosignerKey(detRand(seed), name)
	if err != nil {
		t.Fatal(err)
	}
	if w.cosigner, err = ParseCosignerKey(skey, func() time.Time { return w.now }); err != nil {
		t.Fatal(err)
	}
	w.vkey = vkey
	return w
}

// witnessedLog builds a log of 6 entries received a minute apart from
// testT0, stamped by stamp (index → minutes after testT0), with checkpoints
// of sizes 3 and 6 cosigned by the witness at the given minutes.
func witnessedLog(t testing.TB, w *testWitness, stamp func(i int) time.Duration, cosign3, cosign6 time.Duration) *cosignedLog {
	t.Helper()
	l := &cosignedLog{testLog: newTestLog(t, 2)}
	l.notes = nil
	for i := range 3 {
		setReceived(t, l.testLog, i, testT0.Add(stamp(i)))
	}
	l.cosign(t, w, testT0.Add(cosign3))
	for i := 3; i < 6; i++ {
		l.addObject(t, l.key)
		setReceived(t, l.testLog, i, testT0.Add(stamp(i)))
	}
	l.cosign(t, w, testT0.Add(cosign6))
	return l
}

func TestAuditWitnessedTime(t *testing.T) {
	w := newTestWitness(t, "witness.example/w1", 7)
	pol, err := NewWitnessPolicy([]string{w.vkey}, 1)
	if err != nil {
		t.Fatal(err)
	}
	minutes := func(i int) time.Duration { return time.Duration(i) * time.Minute }
	// Entry 3 claims minute 3, the entries after it minutes 24 and 25.
	backdated := func(i int) time.Duration {
		if i > 3 {
			return minutes(20 + i)
		}
		return minutes(i)
	}
	tests := []struct {
		name    string
		stamp   func(i int) time.Duration
		c3, c6  time.Duration
		skew    time.Duration
		problem int64 // the entry named, -1 for none
		reason  string
	}{
		{name: "honest", stamp: minutes, c3: 2*time.Minute + 30*time.Second, c6: 5*time.Minute + 30*time.Second, problem: -1},
		{name: "honest within skew", stamp: minutes, c3: 2 * time.Minute, c6: 4 * time.Minute, problem: -1},
		// The witness saw a tree of 3 entries at minute 20; entry 3
		// claims minute 3: it was inserted later and back-dated, though
		// received times still increase in log order.
		{name: "back-dated", stamp: backdated, c3: 20 * time.Minute, c6: 26 * time.Minute, problem: 3, reason: "back-dated"},
		{name: "back-dated within a larger skew", stamp: backdated, c3: 20 * time.Minute, c6: 26 * time.Minute, skew: 30 * time.Minute, problem: -1},
		// Entry 5 claims minute 40, but the witness had it at minute 6.
		{name: "post-dated", stamp: func(i int) time.Duration {
			if i == 5 {
				return 40 * time.Minute
			}
			return minutes(i)
		}, c3: 2*time.Minute + 30*time.Second, c6: 6 * time.Minute, problem: 5, reason: "received time is false"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := witnessedLog(t, w, tc.stamp, tc.c3, tc.c6)
			rep, err := Audit(context.Background(), l, AuditOptions{Verifier: l.verifier, Policy: pol, ClockSkew: tc.skew, Tiles: l.tiles})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Witnessed != 2 {
				t.Fatalf("%d witnessed checkpoints used, want 2", rep.Witnessed)
			}
			if tc.problem < 0 {
				if !rep.OK() {
					t.Fatalf("problems %v", rep.Problems)
				}
				return
			}
			if len(rep.Problems) != 1 || rep.Problems[0].Index != tc.problem || !strings.Contains(rep.Problems[0].Reason, tc.reason) ||
				!strings.Contains(rep.Problems[0].Reason, "witness witness.example/w1 ") {
				t.Fatalf("problems %v, want one naming entry %d (%s)", rep.Problems, tc.problem, tc.reason)
			}
			// Without a policy nothing vouches for the times.
			if rep := auditOK(t, l.testLog, AuditOptions{}); !rep.OK() {
				t.Fatalf("without a policy: %v", rep.Problems)
			}
		})
	}
}

// TestAuditWitnessedTimeFromSeen: the node back-dated entry 3 and no
// longer serves the cosigned checkpoint of size 3 that gives it away (it
// chooses what GET /log/checkpoints holds). The auditor saw that
// checkpoint, with its cosignature, at an earlier audit: its seen file
// still bounds the entries' times.
func TestAuditWitnessedTimeFromSeen(t *testing.T) {
	w := newTestWitness(t, "witness.example/w1", 7)
	pol, err := NewWitnessPolicy([]string{w.vkey}, 1)
	if err != nil {
		t.Fatal(err)
	}
	backdated := func(i int) time.Duration {
		if i > 3 {
			return time.Duration(20+i) * time.Minute
		}
		return time.Duration(i) * time.Minute
	}
	l := witnessedLog(t, w, backdated, 20*time.Minute, 26*time.Minute)
	seen := l.cosigned[0]
	l.cosigned = l.cosigned[1:]
	rep, err := Audit(context.Background(), l, AuditOptions{Verifier: l.verifier, Policy: pol, Tiles: l.tiles})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("without the hidden checkpoint: %v", rep.Problems)
	}
	rep, err = Audit(context.Background(), l, AuditOptions{Verifier: l.verifier, Policy: pol, Tiles: l.tiles,
		Seen: &SeenCheckpoints{Notes: []string{string(seen)}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) != 1 || rep.Problems[0].Index != 3 || !strings.Contains(rep.Problems[0].Reason, "back-dated") {
		t.Fatalf("problems %v, want one naming entry 3 back-dated", rep.Problems)
	}
}

// TestAuditWitnessedTimeFromPoisonedSeen: the seen checkpoint of
// TestAuditWitnessedTimeFromSeen with a forged line under the policy
// witness's name and key ID appended (anyone who served the note could
// add one, and the seen file merges the lines of one checkpoint into one
// note) still bounds the received times with the honest cosignature
// beside it: entry 3 is flagged as back-dated. A note refused whole for
// its bad line hid that.
func TestAuditWitnessedTimeFromPoisonedSeen(t *testing.T) {
	w := newTestWitness(t, "witness.example/w1", 7)
	pol, err := NewWitnessPolicy([]string{w.vkey}, 1)
	if err != nil {
		t.Fatal(err)
	}
	backdated := func(i int) time.Duration {
		if i > 3 {
			return time.Duration(20+i) * time.Minute
		}
		return time.Duration(i) * time.Minute
	}
	l := witnessedLog(t, w, backdated, 20*time.Minute, 26*time.Minute)
	seen := l.cosigned[0]
	l.cosigned = l.cosigned[1:]
	_, block, _ := strings.Cut(string(seen), "\n\n")
	var name string
	var hash uint32
	var sig []byte
	for _, line := range strings.Split(strings.TrimSuffix(block, "\n"), "\n") {
		if n, h, s, ok := SignatureLine(line); ok && strings.HasPrefix(n, "witness.example/") {
			name, hash, sig = n, h, s
		}
	}
	if sig == nil {
		t.Fatalf("no witness line in %q", block)
	}
	forged := slices.Clone(sig)
	forged[len(forged)-1] ^= 1
	poisoned := fmt.Appendf(slices.Clone(seen), "— %s %s\n", name, base64.StdEncoding.EncodeToString(append(binary.BigEndian.AppendUint32(nil, hash), forged...)))
	if _, err := CosignedTimes(poisoned, l.verifier, pol); err == nil {
		t.Fatal("the poisoned note opens whole: the test shows nothing")
	}
	rep, err := Audit(context.Background(), l, AuditOptions{Verifier: l.verifier, Policy: pol, Tiles: l.tiles,
		Seen: &SeenCheckpoints{Notes: []string{string(poisoned)}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) != 1 || rep.Problems[0].Index != 3 || !strings.Contains(rep.Problems[0].Reason, "back-dated") {
		t.Fatalf("problems %v, want one naming entry 3 back-dated", rep.Problems)
	}
}

// TestTimeBounds: the tightest bounds over several checkpoints and
// witnesses, which needn't increase with size.
func TestTimeBounds(t *testing.T) {
	at := func(m int, w string) Cosignature {
		return Cosignature{Witness: w, Time: testT0.Add(time.Duration(m) * time.Minute)}
	}
	tb := NewTimeBounds([]WitnessedAt{
		{Size: 10, Earliest: at(12, "b"), Latest: at(12, "b")},
		{Size: 2, Earliest: at(1, "a"), Latest: at(3, "b")},
		{Size: 5, Earliest: at(10, "a"), Latest: at(11, "b")},
	})
	tests := []struct {
		index          uint64
		loOK, hiOK     bool
		loSize, hiSize uint64
	}{
		{index: 0, hiOK: true, hiSize: 2},
		{index: 1, hiOK: true, hiSize: 2},
		{index: 2, loOK: true, loSize: 2, hiOK: true, hiSize: 5},
		{index: 7, loOK: true, loSize: 5, hiOK: true, hiSize: 10},
		{index: 10, loOK: true, loSize: 10},
	}
	for _, tc := range tests {
		lo, loOK, hi, hiOK := tb.Bounds(tc.index)
		if loOK != tc.loOK || hiOK != tc.hiOK || (loOK && lo.Size != tc.loSize) || (hiOK && hi.Size != tc.hiSize) {
			t.Errorf("Bounds(%d) = %v %v %v %v", tc.index, lo, loOK, hi, hiOK)
		}
	}
	// Entry 3: not in size 2 (cosigned by b at minute 3), in size 5 (by a
	// at minute 10); one minute of skew.
	for m, want := range map[int]string{1: "back-dated", 2: "", 4: "", 11: "", 12: "received time is false"} {
		r := tb.CheckReceived(3, testT0.Add(time.Duration(m)*time.Minute), time.Minute)
		if (want == "") != (r == "") || !strings.Contains(r, want) {
			t.Errorf("entry 3 received at minute %d: %q, want %q", m, r, want)
		}
	}
}

// witnessedBundle returns the bundle of entry i of l against its latest
// checkpoint, carrying the cosigned checkpoints in with their consistency
// proofs.
func witnessedBundle(t testing.TB, l *cosignedLog, i uint64, with ...[]byte) []byte {
	t.Helper()
	b := l.bundle(t, i)
	size := uint64(len(l.leaves))
	for _, n := range with {
		text, _ := SplitNote(n)
		c, err := ParseCheckpoint(text)
		if err != nil {
			t.Fatal(err)
		}
		var p []Hash
		if c.Size < size {
			if p, err = ConsistencyProof(context.Background(), c.Size, size, l.tiles.reader(size)); err != nil {
				t.Fatal(err)
			}
		}
		b.Witnessed = append(b.Witnessed, WitnessedCheckpoint{Checkpoint: string(n), Consistency: p})
	}
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestBundleWitnessedTimes(t *testing.T) {
	w := newTestWitness(t, "witness.example/w1", 7)
	pol, err := NewWitnessPolicy([]string{w.vkey}, 1)
	if err != nil {
		t.Fatal(err)
	}
	minutes := func(i int) time.Duration { return time.Duration(i) * time.Minute }
	backdated := func(i int) time.Duration {
		if i > 3 {
			return minutes(20 + i)
		}
		return minutes(i)
	}
	honest := witnessedLog(t, w, minutes, 2*time.Minute+30*time.Second, 5*time.Minute+30*time.Second)
	forged := witnessedLog(t, w, backdated, 20*time.Minute, 26*time.Minute)
	for _, tc := range []struct {
		name    string
		l       *cosignedLog
		problem bool
	}{{"honest", honest, false}, {"back-dated", forged, true}} {
		t.Run(tc.name, func(t *testing.T) {
			data := witnessedBundle(t, tc.l, 3, tc.l.cosigned[0])
			res, err := VerifyBundle(data, tc.l.vkey)
			if err != nil {
				t.Fatal(err)
			}
			times, problems := res.WitnessedTimes(pol, 0)
			if len(times) != 1 || times[0].Size != 6 || times[0].Earliest.Witness != "witness.example/w1" {
				t.Fatalf("earliest witnessed time of entry 3: %+v", times)
			}
			if got := len(problems) == 1 && strings.Contains(problems[0], "entry 3") && strings.Contains(problems[0], "back-dated"); got != tc.problem {
				t.Fatalf("problems %q", problems)
			}
			// Without the checkpoint that didn't include it, the bundle
			// can't tell (an audit reads them all).
			res, err = VerifyBundle(witnessedBundle(t, tc.l, 3), tc.l.vkey)
			if err != nil {
				t.Fatal(err)
			}
			if _, problems := res.WitnessedTimes(pol, 0); len(problems) != 0 {
				t.Fatalf("problems %q", problems)
			}
		})
	}
	// A witnessed checkpoint that isn't consistent with the bundle's is
	// refused.
	other := witnessedLog(t, w, func(i int) time.Duration { return minutes(2 * i) }, 5*time.Minute, 11*time.Minute)
	data := witnessedBundle(t, honest, 3, other.cosigned[0])
	if _, err := VerifyBundle(data, honest.vkey); err == nil || !strings.Contains(err.Error(), "witnessed checkpoint") {
		t.Fatalf("inconsistent witnessed checkpoint: %v", err)
	}
}

// TestCosignedTimesRecosigned: a checkpoint cosigned again by the same
// witness (an unchanged checkpoint re-submitted while the log was quiet)
// carries both cosignatures; its earliest time bounds the entries it
// includes and its latest those appended after it, while the quorum
// counts the witness once.
func TestCosignedTimesRecosigned(t *testing.T) {
	w := newTestWitness(t, "w1.example", 1)
	t0 := time.Unix(1_700_000_000, 0)
	l := &cosignedLog{testLog: newTestLog(t, 1)}
	first := l.cosign(t, w, t0)
	text, err := SplitNote(first)
	if err != nil {
		t.Fatal(err)
	}
	w.now = t0.Add(time.Hour)
	again, err := note.Sign(&note.Note{Text: string(text)}, w.cosigner)
	if err != nil {
		t.Fatal(err)
	}
	_, line, _ := strings.Cut(string(again), "\n\n")
	both := append(append([]byte(nil), first...), line...)
	pol, err := NewWitnessPolicy([]string{w.vkey}, 1)
	if err != nil {
		t.Fatal(err)
	}
	got, err := CosignedTimes(both, l.verifier, pol)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Earliest.Time.Equal(t0) || !got.Latest.Time.Equal(t0.Add(time.Hour)) {
		t.Fatalf("earliest %v, latest %v; want %v and an hour later", got.Earliest.Time, got.Latest.Time, t0)
	}
	cos, err := CheckQuorum(pol, both)
	if err != nil || len(cos) != 1 || !cos[0].Time.Equal(t0) {
		t.Fatalf("CheckQuorum: %v, %v; want the first cosignature once", cos, err)
	}
	tb := NewTimeBounds([]WitnessedAt{got})
	if p := tb.CheckReceived(2, t0.Add(10*time.Minute), 0); !strings.Contains(p, "back-dated") {
		t.Fatalf("an entry after the checkpoint received 50 minutes before its latest cosignature: %q", p)
	}
	if p := tb.CheckReceived(1, t0.Add(10*time.Minute), 0); !strings.Contains(p, "the received time is false") {
		t.Fatalf("an entry in the checkpoint received 10 minutes after its first cosignature: %q", p)
	}
}

// TestTimeBoundsQuorum: a bound is what a quorum of the policy's
// witnesses states. One witness whose clock is an hour ahead (or behind)
// makes an honest entry look back-dated (or its received time false)
// under a policy that trusts any one witness, and not under one that
// needs two; a real back-dating is caught either way. The witnesses of a
// quorum needn't have cosigned the same checkpoint.
func TestTimeBoundsQuorum(t *testing.T) {
	var keys []string
	for _, name := range []string{"a.example", "b.example", "c.example"} {
		_, vkey, err := NewCosignerKey(rand.Reader, name)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, vkey)
	}
	minute := func(m int) time.Time { return testT0.Add(time.Duration(m) * time.Minute) }
	bounds := func(quorum int) *TimeBounds {
		p, err := NewWitnessPolicy(keys, quorum)
		if err != nil {
			t.Fatal(err)
		}
		a, b, c := p.Witnesses[0].Name, p.Witnesses[1].Name, p.Witnesses[2].Name
		cp := func(size uint64, by ...string) WitnessedAt {
			w := WitnessedAt{Size: size, policy: p}
			for i := 0; i < len(by); i += 2 {
				m, _ := strconv.Atoi(by[i+1])
				c := Cosignature{Witness: by[i], Time: minute(m)}
				w.byWitness = append(w.byWitness, witnessTimes{c, c})
			}
			w.Earliest, w.Latest = w.byWitness[0].first, w.byWitness[0].last
			return w
		}
		return NewTimeBounds([]WitnessedAt{
			// Trees without entry 5: a at minute 0 (size 3); b an hour
			// ahead and c at minute 1 (size 5).
			cp(3, a, "0"),
			cp(5, b, "60", c, "1"),
			// Trees with it: b an hour behind and a at minute 3 (size
			// 8), c at minute 4 (size 9).
			cp(8, b, "-57", a, "3"),
			cp(9, c, "4"),
		})
	}
	for _, tc := range []struct {
		quorum   int
		received int // minutes after testT0, of entry 5
		want     string
	}{
		// b is trusted alone: an hour behind, it calls the honest entry's
		// time false (an hour ahead, back-dated: the bounds below).
		{1, 2, "received time is false"},
		{2, 2, ""},                        // no two witnesses contradict it
		{2, -30, "back-dated"},            // b and c state minute 1 or later
		{2, 20, "received time is false"}, // b and a had it by minute 3
	} {
		got := bounds(tc.quorum).CheckReceived(5, minute(tc.received), time.Minute)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("quorum %d, entry 5 received at minute %d: %q, want %q", tc.quorum, tc.received, got, tc.want)
		}
	}
	// The bounds themselves: under two, c's minute 1 (size 5) below and
	// a's minute 3 (size 8) above; under one, b's times.
	for _, tc := range []struct {
		quorum         int
		loMin, hiMin   int
		loSize, hiSize uint64
	}{{2, 1, 3, 5, 8}, {1, 60, -57, 5, 8}} {
		lo, loOK, hi, hiOK := bounds(tc.quorum).Bounds(5)
		if !loOK || !hiOK || !lo.Latest.Time.Equal(minute(tc.loMin)) || !hi.Earliest.Time.Equal(minute(tc.hiMin)) || lo.Size != tc.loSize || hi.Size != tc.hiSize {
			t.Errorf("quorum %d: bounds %+v %v, %+v %v; want minute %d (size %d) and %d (size %d)", tc.quorum, lo, loOK, hi, hiOK, tc.loMin, tc.loSize, tc.hiMin, tc.hiSize)
		}
	}
}

// TestCosignedTimesForgedLine: a second line under a policy witness's
// key that is not its signature (anyone may append one to a note, a
// bundle or a seen file) is no cosignature: it must not move the latest
// time, which would have honest entries flagged as back-dated.
func TestCosignedTimesForgedLine(t *testing.T) {
	w := newTestWitness(t, "w1.example", 1)
	t0 := time.Unix(1_700_000_000, 0)
	l := &cosignedLog{testLog: newTestLog(t, 1)}
	first := l.cosign(t, w, t0)
	_, line, _ := strings.Cut(string(first), "\n\n")
	name, hash, sig, ok := SignatureLine(strings.Split(strings.TrimSuffix(line, "\n"), "\n")[1])
	if !ok {
		t.Fatalf("no witness line in %q", line)
	}
	forged := slices.Clone(sig)
	binary.BigEndian.PutUint64(forged, uint64(t0.Add(24*time.Hour).Unix()))
	kh := binary.BigEndian.AppendUint32(nil, hash)
	both := fmt.Appendf(slices.Clone(first), "— %s %s\n", name, base64.StdEncoding.EncodeToString(append(kh, forged...)))
	pol, err := NewWitnessPolicy([]string{w.vkey}, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Refused (the note has a bad signature), or read without the line.
	if got, err := CosignedTimes(both, l.verifier, pol); err == nil && !got.Latest.Time.Equal(t0) {
		t.Fatalf("latest %v from a forged line; want %v", got.Latest.Time, t0)
	}
}

// TestVerifiedLines: of a checkpoint note with lines anyone on the way
// could have added, the log's line and the policy witnesses' honest lines
// are kept, in order, whatever else sits beside them; without a line of
// the log's key there is nothing to keep.
func TestVerifiedLines(t *testing.T) {
	w1 := newTestWitness(t, "witness.example/w1", 7)
	w2 := newTestWitness(t, "witness.example/w2", 8)
	stranger := newTestWitness(t, "witness.example/stranger", 9)
	for _, w := range []*testWitness{w1, w2, stranger} {
		w.now = testT0
	}
	pol, err := NewWitnessPolicy([]string{w1.vkey, w2.vkey}, 1)
	if err != nil {
		t.Fatal(err)
	}
	l := &cosignedLog{testLog: newTestLog(t, 2)}
	text, err := SplitNote(l.checkpoint(t))
	if err != nil {
		t.Fatal(err)
	}
	sign := func(signers ...note.Signer) []byte {
		t.Helper()
		n, err := note.Sign(&note.Note{Text: string(text)}, signers...)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	lines := func(n []byte) []string {
		_, block, _ := strings.Cut(string(n), "\n\n")
		return strings.Split(strings.TrimSuffix(block, "\n"), "\n")
	}
	honest := sign(l.signer, w1.cosigner, w2.cosigner)
	// forge flips the last byte of a line's signature: same name, same
	// key ID, well-formed, and not a signature of this note.
	forge := func(line string) string {
		t.Helper()
		name, hash, sig, ok := SignatureLine(line)
		if !ok {
			t.Fatalf("no signature line: %q", line)
		}
		sig = slices.Clone(sig)
		sig[len(sig)-1] ^= 1
		return fmt.Sprintf("— %s %s", name, base64.StdEncoding.EncodeToString(append(binary.BigEndian.AppendUint32(nil, hash), sig...)))
	}
	forgedW2 := forge(lines(sign(w2.cosigner))[0])
	forgedLog := forge(lines(sign(l.signer))[0])
	withLines := func(extra ...string) []byte {
		return []byte(string(text) + "\n" + strings.Join(extra, "\n") + "\n")
	}
	all := lines(honest)
	tests := []struct {
		name string
		n    []byte
		want []byte
	}{
		{name: "honest", n: honest, want: honest},
		{name: "forged witness line among honest ones", n: withLines(all[0], forgedW2, all[1], all[2]), want: honest},
		{name: "stranger's line", n: withLines(all[0], all[1], lines(sign(stranger.cosigner))[0], all[2]), want: honest},
		{name: "forged log line beside the real one", n: withLines(forgedLog, all[0], all[1]), want: withLines(all[0], all[1])},
		{name: "witnesses only", n: withLines(all[1], all[2])},
		{name: "forged log line only", n: withLines(forgedLog, all[1])},
		{name: "not a note", n: []byte("garbage")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := VerifiedLines(tc.n, l.verifier, pol)
			if !bytes.Equal(got, tc.want) {
				t.Fatalf("VerifiedLines =\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

// TestBundleCheckWitnessed: under a policy, a bundle whose witnessed
// checkpoint carries a cosignature of a policy witness that doesn't verify
// is refused, naming the checkpoint; WitnessedTimes passed over it, so a
// bundle with its witnessed cosignatures changed verified. Honest ones,
// and one that no policy witness cosigned, pass; without a policy
// nothing is checked.
func TestBundleCheckWitnessed(t *testing.T) {
	w := newTestWitness(t, "witness.example/w1", 7)
	pol, err := NewWitnessPolicy([]string{w.vkey}, 1)
	if err != nil {
		t.Fatal(err)
	}
	minutes := func(i int) time.Duration { return time.Duration(i) * time.Minute }
	l := witnessedLog(t, w, minutes, 2*time.Minute+30*time.Second, 5*time.Minute+30*time.Second)
	cosigned := l.cosigned[0]
	i := bytes.Index(cosigned, []byte("\u2014 witness.example/w1 "))
	if i < 0 {
		t.Fatalf("no cosignature in %q", cosigned)
	}
	line := cosigned[i:]
	line = line[:bytes.IndexByte(line, '\n')+1]
	fields := strings.Fields(string(line))
	sig, err := base64.StdEncoding.DecodeString(fields[2])
	if err != nil {
		t.Fatal(err)
	}
	sig[len(sig)-1] ^= 1
	forged := []byte(strings.Replace(string(cosigned), string(line), fields[0]+" "+fields[1]+" "+base64.StdEncoding.EncodeToString(sig)+"\n", 1))
	uncosigned := []byte(strings.Replace(string(cosigned), string(line), "", 1))
	for _, tc := range []struct {
		name string
		n    []byte
		pol  *Policy
		want string
	}{
		{"honest", cosigned, pol, ""},
		{"forged cosignature", forged, pol, "witnessed checkpoint of size 3: checkpoint doesn't meet the witness policy: invalid signature for key witness.example/w1"},
		{"forged, no policy", forged, nil, ""},
		{"no policy witness cosigned it", uncosigned, pol, ""},
	} {
		res, err := VerifyBundle(witnessedBundle(t, l, 3, tc.n), l.vkey)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		err = res.CheckWitnessed(tc.pol)
		if (tc.want == "") != (err == nil) || (err != nil && (!strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrBundle))) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}
