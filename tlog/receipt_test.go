package tlog

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// receiptOf makes the receipt of the log's entry i, as the node serves it,
// from a bundle of it, with the cosigned checkpoint n as its witnessed
// checkpoint (nil: none), and returns it with the object.
func receiptOf(t *testing.T, l *cosignedLog, i uint64, n []byte) (Receipt, []byte) {
	t.Helper()
	var b Bundle
	var with [][]byte
	if n != nil {
		with = append(with, n)
	}
	if err := json.Unmarshal(witnessedBundle(t, l, i, with...), &b); err != nil {
		t.Fatal(err)
	}
	it := b.Items[0]
	r := Receipt{LogIndex: it.LogIndex, TreeSize: uint64(len(l.leaves)), Entry: it.Entry, Opening: it.Opening,
		InclusionProof: it.InclusionProof, Checkpoint: b.Checkpoint}
	if n != nil {
		r.Witnessed = &b.Witnessed[0]
	}
	return r, it.Object
}

// TestReceiptVerifyObject: a receipt proves its object, and only its
// object; under a witness policy its checkpoints must meet the quorum,
// and the entry's received time must not be later than the witness saw
// the tree holding it.
func TestReceiptVerifyObject(t *testing.T) {
	w := newTestWitness(t, "witness.example/w1", 7)
	pol, err := NewWitnessPolicy([]string{w.vkey}, 1)
	if err != nil {
		t.Fatal(err)
	}
	other := newTestWitness(t, "witness.example/w2", 8)
	otherPol, err := NewWitnessPolicy([]string{other.vkey}, 1)
	if err != nil {
		t.Fatal(err)
	}
	minutes := func(i int) time.Duration { return time.Duration(i) * time.Minute }
	honest := witnessedLog(t, w, minutes, 2*time.Minute+30*time.Second, 5*time.Minute+30*time.Second)
	postdated := witnessedLog(t, w, func(i int) time.Duration {
		if i == 5 {
			return 40 * time.Minute
		}
		return minutes(i)
	}, 2*time.Minute+30*time.Second, 5*time.Minute+30*time.Second)
	r, obj := receiptOf(t, honest, 3, honest.cosigned[1])
	res, err := r.VerifyObject(honest.vkey, obj, pol, 0)
	if err != nil || res.Index != 3 || res.Witnessed.Size != 6 || res.Checkpoint.Size != 6 {
		t.Fatalf("honest: %+v, %v", res, err)
	}
	if _, err := r.VerifyObject(honest.vkey, obj, nil, 0); err != nil {
		t.Errorf("without a policy: %v", err)
	}
	_, obj4 := receiptOf(t, honest, 4, nil)
	pr, pobj := receiptOf(t, postdated, 5, postdated.cosigned[1])
	for _, c := range []struct {
		name string
		r    Receipt
		obj  []byte
		key  string
		pol  *Policy
		want string
	}{
		{"another object", r, obj4, honest.vkey, nil, "commitment doesn't match"},
		{"another witness's policy", r, obj, honest.vkey, otherPol, "witness policy"},
		{"post-dated", pr, pobj, postdated.vkey, pol, "the received time is false"},
	} {
		_, err := c.r.VerifyObject(c.key, c.obj, c.pol, 0)
		if err == nil || !errors.Is(err, ErrReceipt) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an ErrReceipt with %q", c.name, err, c.want)
		}
	}
}

// FuzzParseReceipt: ParseReceipt never panics, and what it reads reads
// the same once written back.
func FuzzParseReceipt(f *testing.F) {
	f.Add([]byte(`{"log_index":1,"tree_size":2,"entry":"e30=","salt":"","collection":"c","object_id":"o","version":"v","member":"m","inclusion_proof":[],"checkpoint":"x","witnessed":{"checkpoint":"y","consistency":[]}}`))
	f.Add([]byte(`{"log_index":1,"LOG_INDEX":2}`))
	for _, s := range hostileSeeds([]byte(`{"log_index":1,"tree_size":2,"entry":"e30=","salt":"","collection":"c","object_id":"o","version":"v","member":"m","inclusion_proof":[],"checkpoint":"x","witnessed":{"checkpoint":"y","consistency":[]}}`), "inclusion_proof") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var r Receipt
		var err error
		allocBounded(t, len(data), func() { r, _, err = ParseReceipt(data) })
		if err != nil {
			return
		}
		if !utf8.Valid(data) {
			t.Fatal("read a receipt of invalid UTF-8")
		}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		r2, unknown, err := ParseReceipt(b)
		if err != nil || len(unknown) != 0 || r2.LogIndex != r.LogIndex || r2.Checkpoint != r.Checkpoint {
			t.Fatalf("written back: %v, unknown %q", err, unknown)
		}
	})
}
