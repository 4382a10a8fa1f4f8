package node

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parley-exchange/parley/opinion"
	"github.com/parley-exchange/parley/stix"
)

// BenchmarkConcurrence answers GET /concurrence's question (without HTTP)
// for an object with 200 opinion versions of 20 members, on a node that
// also holds 5,000 opinions on other objects, through the SQLite opinion
// index; each iteration also does 200 bare Ed25519 verifications, the floor for checking 200 opinions (x-ed25519, goal <= 3).
func BenchmarkConcurrence(b *testing.B) {
	ctx := context.Background()
	n, _ := initNode(b, Options{})
	defer n.Close()
	type mem struct {
		m   NewMember
		key ed25519.PrivateKey
	}
	var ms []mem
	var names []string
	for i := range 20 {
		pub, key, _ := ed25519.GenerateKey(rand.Reader)
		name := fmt.Sprint("member-", i)
		m, err := n.AddMember(ctx, name, pub)
		if err != nil {
			b.Fatal(err)
		}
		ms = append(ms, mem{m, key})
		names = append(names, name)
	}
	coll, err := n.AddCollection(ctx, "shared", "", names, names, "")
	if err != nil {
		b.Fatal(err)
	}
	c, err := n.store.Collection(ctx, coll)
	if err != nil {
		b.Fatal(err)
	}
	const target = "report--00000000-0000-4000-8000-00000000beef"
	submit := func(m mem, objs []json.RawMessage) {
		st, err := n.Submit(ctx, m.m.ID, c, objs)
		if err != nil || len(st.Failures) > 0 {
			b.Fatalf("submit: %v %+v", err, st.Failures)
		}
	}
	report, _ := stix.Sign([]byte(`{"type":"report","spec_version":"2.1","id":"`+target+`","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","created_by_ref":"`+ms[0].m.ID+`","name":"r","published":"2026-01-01T00:00:00Z","object_refs":["intrusion-set--00000000-0000-4000-8000-000000000001"]}`), ms[0].key)
	submit(ms[0], []json.RawMessage{report})
	for i, m := range ms {
		var objs []json.RawMessage
		for j := range 260 {
			about := fmt.Sprintf("report--00000000-0000-4000-8000-%012d", i*1000+j)
			if j < 10 {
				about = target
			}
			raw, err := opinion.New(opinion.Draft{Member: m.m.ID, Object: about, Value: opinion.Values[j%5]}, m.key, t0.Add(time.Duration(j)*time.Minute), rand.Reader)
			if err != nil {
				b.Fatal(err)
			}
			objs = append(objs, raw)
		}
		submit(m, objs)
	}
	li, err := NewLogIntegrator(n, LogIntegratorOptions{})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := li.Integrate(ctx); err != nil {
		b.Fatal(err)
	}
	member, _ := n.store.Member(ctx, ms[1].m.ID)
	answer := func(nn *Node) {
		conc, err := nn.Concurrence(ctx, member, target, 0)
		if err != nil {
			b.Fatal(err)
		}
		if conc.Voices != 20 || len(conc.Evidence.Items) != 200 {
			b.Fatalf("%d voices, %d items", conc.Voices, len(conc.Evidence.Items))
		}
	}
	// The bound: one bare Ed25519 verification per opinion version.
	msg, sig := []byte(strings.Repeat("o", 450)), []byte(nil)
	sig = ed25519.Sign(ms[0].key, msg)
	pub := ms[0].key.Public().(ed25519.PublicKey)
	// Each side's fastest iteration: the one least disturbed by the
	// shared machine's drifting load.
	tIndexed, tBound := time.Duration(1<<62), time.Duration(1<<62)
	for b.Loop() {
		s := time.Now()
		answer(n)
		tIndexed = min(tIndexed, time.Since(s))
		s = time.Now()
		for range 200 {
			if !ed25519.Verify(pub, msg, sig) {
				b.Fatal("bad signature")
			}
		}
		tBound = min(tBound, time.Since(s))
	}
	b.ReportMetric(float64(tIndexed.Nanoseconds()), "ns/answer")
	b.ReportMetric(float64(tIndexed)/float64(tBound), "x-ed25519")
}
