package tlog

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parley-exchange/parley/stix"
	"golang.org/x/mod/sumdb/note"
)

// synthLog is an AuditSource of n entries generated on the fly: entry 0
// registers the member's key, and every later entry is about one of k
// distinct signed objects (entry i about object i mod k, received at a
// distinct time), so that a million-entry log needs no gigabyte of RAM.
type synthLog struct {
	n        uint64
	member   string
	key      ed25519.PrivateKey
	objects  [][]byte
	openings []Opening
	commits  []string
	note     []byte
	verifier note.Verifier
}

func newSynthLog(tb testing.TB, n uint64, k int) *synthLog {
	l := &synthLog{n: n, member: testMember, key: ed25519.NewKeyFromSeed(make([]byte, 32))}
	for i := range k {
		id := fmt.Sprintf("indicator--%08d-0000-4000-8000-000000000000", i)
		obj := fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":"%s","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","created_by_ref":"%s","name":"APT indicator %d seen in election-office phishing","description":"Sender infrastructure of a spear-phishing campaign against election officials.","indicator_types":["malicious-activity"],"pattern":"[domain-name:value = 'ballot-update-%d.example'] OR [ipv4-addr:value = '198.51.100.%d']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z","labels":["election","phishing"]}`, id, l.member, i, i, i%256)
		signed, err := stix.Sign([]byte(obj), l.key)
		if err != nil {
			tb.Fatal(err)
		}
		op := Opening{Salt: []byte(fmt.Sprintf("%032d", i)), Collection: testCollection, ObjectID: id, Version: testVersion, Member: l.member}
		l.objects = append(l.objects, signed)
		l.openings = append(l.openings, op)
		l.commits = append(l.commits, ObjectCommitment(op, signed))
	}
	skey, vkey, _ := NewNodeKey(strings.NewReader(strings.Repeat("b", 64)), testOrigin)
	s, _ := note.NewSigner(skey)
	l.verifier, _ = NewVerifier(vkey)
	tree := NewTree()
	l.Leaves(context.Background(), 0, n, func(_ uint64, leaf []byte) error {
		tree.Append(LeafHash(leaf))
		return nil
	})
	l.note, _ = SignCheckpoint(Checkpoint{Origin: testOrigin, Size: n, Hash: tree.Root()}, s)
	return l
}

var synthT0 = time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)

func (l *synthLog) entry(i uint64) Entry {
	received := synthT0.Add(time.Duration(i) * time.Microsecond)
	if i == 0 {
		return Entry{Kind: KindMemberKey, Member: l.member, Event: EventRegister, Key: pubOf(l.key), Authority: AuthorityOperator, Received: received}
	}
	return Entry{Kind: KindObject, Received: received, Commitment: l.commits[i%uint64(len(l.objects))]}
}

func (l *synthLog) Checkpoint(context.Context) ([]byte, error) { return l.note, nil }

func (l *synthLog) Leaves(_ context.Context, start, end uint64, fn func(uint64, []byte) error) error {
	for i := start; i < end && i < l.n; i++ {
		leaf, err := l.entry(i).Marshal()
		if err != nil {
			return err
		}
		if err := fn(i, leaf); err != nil {
			return err
		}
	}
	return nil
}

func (l *synthLog) Objects(_ context.Context, start, end uint64, fn func(uint64, Opening, []byte) error) error {
	for i := max(start, 1); i < end && i < l.n; i++ {
		k := i % uint64(len(l.objects))
		if err := fn(i, l.openings[k], l.objects[k]); err != nil {
			return err
		}
	}
	return nil
}

// parallelRate runs op on every core for about d and returns operations
// per second for the whole machine.
func parallelRate(d time.Duration, op func()) float64 {
	procs := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	counts := make([]int, procs)
	start := time.Now()
	for p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Since(start) < d {
				for range 64 {
					op()
				}
				counts[p] += 64
			}
		}()
	}
	wg.Wait()
	total := 0
	for _, c := range counts {
		total += c
	}
	return float64(total) / time.Since(start).Seconds()
}

// BenchmarkAudit audits a log of PARLEY_AUDIT_ENTRIES entries (default
// 1,000,000) with an object check (commitment and Ed25519 member
// signature) for every entry, and reports it next to the bound the same
// machine's SHA-256 and Ed25519 rates set in the same run: per entry one
// signature verification, the SHA-256 of the leaf, of one interior node
// and the object's commitment (ObjectCommitment of its opening and bytes).
// Run with -benchtime=1x.
func BenchmarkAudit(b *testing.B) {
	n := uint64(1_000_000) // one key entry, the rest object entries
	if s := os.Getenv("PARLEY_AUDIT_ENTRIES"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			b.Fatal(err)
		}
		n = v
	}
	l := newSynthLog(b, n, 1000)
	leaf, _ := l.entry(1).Marshal()
	obj, op := l.objects[0], l.openings[0]
	msg := append([]byte("parley-stix-signature-v1\n"), obj...)
	sig := ed25519.Sign(l.key, msg)
	pub := l.key.Public().(ed25519.PublicKey)
	node := make([]byte, 65)

	verify := func() { ed25519.Verify(pub, msg, sig) }
	hashes := func() {
		sha256.Sum256(leaf)
		sha256.Sum256(node)
		ObjectCommitment(op, obj)
	}
	// The machine is shared, so its speed drifts: the rates are measured
	// right before and right after the audit and averaged, and the CPU
	// time per entry (immune to other processes) is reported too.
	verifyBefore := parallelRate(time.Second, verify)
	hashBefore := parallelRate(time.Second, hashes)
	verifyCPU := cpuPerOp(20000, verify)
	hashCPU := cpuPerOp(200000, hashes)

	b.ResetTimer()
	var rep *AuditReport
	start, cpuStart := time.Now(), cpuTime()
	for range b.N {
		var err error
		rep, err = Audit(context.Background(), l, AuditOptions{Verifier: l.verifier})
		if err != nil || !rep.OK() || rep.Objects != n-1 {
			b.Fatalf("audit: %+v %v", rep, err)
		}
	}
	entries := float64(n) * float64(b.N)
	auditRate := entries / time.Since(start).Seconds()
	auditCPU := (cpuTime() - cpuStart).Seconds() / entries
	b.StopTimer()

	verifyRate := (verifyBefore + parallelRate(time.Second, verify)) / 2
	hashRate := (hashBefore + parallelRate(time.Second, hashes)) / 2
	bound := 1 / (1/verifyRate + 1/hashRate)
	b.ReportMetric(auditRate, "entries/s")
	b.ReportMetric(verifyRate, "ed25519-verify/s")
	b.ReportMetric(hashRate, "sha256-per-entry-sets/s")
	b.ReportMetric(bound, "bound-entries/s")
	b.ReportMetric(auditRate/bound, "ratio")
	if auditCPU > 0 {
		// The same comparison in CPU time per entry.
		b.ReportMetric(auditCPU*1e6, "cpu-µs/entry")
		b.ReportMetric((verifyCPU+hashCPU)*1e6, "bound-cpu-µs/entry")
		b.ReportMetric((verifyCPU+hashCPU)/auditCPU, "cpu-ratio")
	}
}

// cpuPerOp is the CPU seconds one call of op takes (0 where the process
// CPU time isn't available).
func cpuPerOp(n int, op func()) float64 {
	start := cpuTime()
	for range n {
		op()
	}
	return (cpuTime() - start).Seconds() / float64(n)
}
