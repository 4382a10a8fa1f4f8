package private

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
)

// testRand is a deterministic randomness source for reproducible tests.
func testRand(seed byte) *rand.ChaCha8 {
	var s [32]byte
	s[0] = seed
	return rand.NewChaCha8(s)
}

func newTestProvider(t testing.TB, seed byte) *Provider {
	t.Helper()
	key, err := GenerateKey(testRand(seed))
	if err != nil {
		t.Fatal(err)
	}
	return NewProvider(key, testRand(seed+100))
}

// buildTestSet sets up the tests' private set: providerValues' set
// built by p, failing t if BuildSet fails.
func buildTestSet(t testing.TB, p *Provider) *Set {
	t.Helper()
	set, err := p.BuildSet(context.Background(), providerValues)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

var providerValues = []string{
	"domain-name:evil.example",
	"ipv4-addr:198.51.100.7",
	"ipv6-addr:2001:db8::dead",
	"url:http://evil.example/payload.exe",
	"email-addr:phish@evil.example",
	"file:SHA-256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	"mac-addr:00:1a:2b:3c:4d:5e",
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	p := newTestProvider(t, 1)
	set, err := p.BuildSet(ctx, append(providerValues, "domain-name:EVIL.example."))
	if err != nil {
		t.Fatal(err)
	}
	if set.Len() != len(providerValues) {
		t.Fatalf("set has %d tags, want %d (a duplicate after normalisation must collapse)", set.Len(), len(providerValues))
	}
	q := NewQuerier(p.PublicKey(), testRand(2))
	queries := []string{
		"domain-name:Evil.Example.",                // in, after normalisation
		"domain-name:good.example",                 // out
		"ipv4-addr:198.51.100.7/32",                // in
		"ipv4-addr:198.51.100.8",                   // out
		"ipv6-addr:2001:DB8:0::DEAD",               // in
		"url:HTTP://EVIL.example:80/./payload.exe", // in
		"email-addr:Phish@evil.example",            // out: the local part is case-sensitive
		"file:sha256=E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", // in
		"mac-addr:00-1A-2B-3C-4D-5E", // in
	}
	query, req, err := q.Blind(queries)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := p.Evaluate(req)
	if err != nil {
		t.Fatal(err)
	}
	hits, err := q.Match(set, query, resp)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"domain-name:evil.example",
		"ipv4-addr:198.51.100.7",
		"ipv6-addr:2001:db8::dead",
		"url:http://evil.example/payload.exe",
		"file:SHA-256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"mac-addr:00:1a:2b:3c:4d:5e",
	}
	if !slices.Equal(hits, want) {
		t.Fatalf("hits = %q\nwant %q", hits, want)
	}
	// The querier's tags are exactly the provider's tags.
	tags, err := q.Finalize(query, resp)
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range query.Lines {
		pt, err := p.TagCanonical(line)
		if err != nil {
			t.Fatal(err)
		}
		if pt != tags[i] {
			t.Errorf("%s: querier tag %s, provider tag %s", line, tags[i], pt)
		}
	}
}

func TestRefusals(t *testing.T) {
	p := newTestProvider(t, 1)
	other := newTestProvider(t, 7)
	set := buildTestSet(t, p)
	q := NewQuerier(p.PublicKey(), testRand(3))
	query, req, err := q.Blind([]string{"domain-name:evil.example", "ipv4-addr:192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	good, err := p.Evaluate(req)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("wrong key", func(t *testing.T) {
		// A provider evaluating under another key (to recognise who asked)
		// produces a valid proof for its own key, which the querier refuses.
		resp, err := other.Evaluate(req)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := q.Finalize(query, resp); !errors.Is(err, ErrInvalidProof) {
			t.Fatalf("Finalize = %v, want ErrInvalidProof", err)
		}
	})
	t.Run("wrong proof", func(t *testing.T) {
		resp := *good
		resp.Proof = bytes.Clone(good.Proof)
		resp.Proof[5] ^= 1
		if _, err := q.Finalize(query, &resp); !errors.Is(err, ErrInvalidProof) {
			t.Fatalf("Finalize = %v, want ErrInvalidProof", err)
		}
	})
	t.Run("proof of another batch", func(t *testing.T) {
		_, req2, err := q.Blind([]string{"domain-name:evil.example", "ipv4-addr:192.0.2.1"})
		if err != nil {
			t.Fatal(err)
		}
		resp2, err := p.Evaluate(req2)
		if err != nil {
			t.Fatal(err)
		}
		resp := &EvaluateResponse{Elements: good.Elements, Proof: resp2.Proof}
		if _, err := q.Finalize(query, resp); !errors.Is(err, ErrInvalidProof) {
			t.Fatalf("Finalize = %v, want ErrInvalidProof", err)
		}
	})
	t.Run("another query's response", func(t *testing.T) {
		// Another member's query of the same values, answered honestly
		// under the same key, replayed to this querier: its proof is for
		// other blinded elements.
		other := NewQuerier(p.PublicKey(), testRand(4))
		_, req2, err := other.Blind([]string{"domain-name:evil.example", "ipv4-addr:192.0.2.1"})
		if err != nil {
			t.Fatal(err)
		}
		resp2, err := p.Evaluate(req2)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := q.Finalize(query, resp2); !errors.Is(err, ErrInvalidProof) {
			t.Fatalf("Finalize(another query's response) = %v, want ErrInvalidProof", err)
		}
		// The elements of two honest responses mixed, with either proof.
		for _, proof := range [][]byte{good.Proof, resp2.Proof} {
			mixed := &EvaluateResponse{Elements: [][]byte{good.Elements[0], resp2.Elements[1]}, Proof: proof}
			if _, err := q.Finalize(query, mixed); !errors.Is(err, ErrInvalidProof) {
				t.Fatalf("Finalize(mixed responses) = %v, want ErrInvalidProof", err)
			}
		}
	})
	t.Run("swapped elements", func(t *testing.T) {
		resp := &EvaluateResponse{Elements: [][]byte{good.Elements[1], good.Elements[0]}, Proof: good.Proof}
		if _, err := q.Finalize(query, resp); !errors.Is(err, ErrInvalidProof) {
			t.Fatalf("Finalize = %v, want ErrInvalidProof", err)
		}
	})
	t.Run("short response", func(t *testing.T) {
		resp := &EvaluateResponse{Elements: good.Elements[:1], Proof: good.Proof}
		if _, err := q.Finalize(query, resp); !errors.Is(err, ErrBatchSize) {
			t.Fatalf("Finalize = %v, want ErrBatchSize", err)
		}
	})
	t.Run("set under another key", func(t *testing.T) {
		otherSet := buildTestSet(t, other)
		if _, err := q.Match(otherSet, query, good); !errors.Is(err, ErrKeyMismatch) {
			t.Fatalf("Match = %v, want ErrKeyMismatch", err)
		}
		if _, err := q.Match(set, query, good); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("bad requests", func(t *testing.T) {
		identity := make([]byte, 32)
		for _, req := range []*EvaluateRequest{
			{},
			{Elements: [][]byte{identity}},
			{Elements: [][]byte{bytes.Repeat([]byte{0xff}, 32)}},
			{Elements: [][]byte{{1, 2, 3}}},
			{Elements: make([][]byte, MaxBatch+1)},
		} {
			if _, err := p.Evaluate(req); !errors.Is(err, ErrInvalidElement) && !errors.Is(err, ErrBatchSize) {
				t.Errorf("Evaluate(%d elements) = %v, want a refusal", len(req.Elements), err)
			}
		}
	})
}

// TestTagsRevealNoValue checks that the published tags are OPRF outputs:
// they are not any plain or hashed form of a value, and the same values
// under another key give unrelated tags.
func TestTagsRevealNoValue(t *testing.T) {
	p := newTestProvider(t, 1)
	set := buildTestSet(t, p)
	wire, err := set.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range providerValues {
		_, value, _, _ := ParseLine(v)
		for _, needle := range []string{v, value, strings.SplitN(value, ".", 2)[0]} {
			if len(needle) >= 4 && bytes.Contains(wire, []byte(needle)) {
				t.Errorf("serialised set contains %q", needle)
			}
		}
	}
	other := buildTestSet(t, newTestProvider(t, 9))
	for _, tag := range other.Tags() {
		if set.Contains(tag) {
			t.Errorf("tag %s is the same under two keys", tag)
		}
	}
	// Without the key, a querier's guess cannot be tagged: the unkeyed
	// evaluation (key = 1, i.e. the hash to the group alone) is not a tag.
	one := make([]byte, 32)
	one[0] = 1
	k1, err := ParsePrivateKey(one)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range providerValues {
		_, _, c, _ := ParseLine(v)
		tag, err := NewProvider(k1, nil).TagCanonical(c)
		if err != nil {
			t.Fatal(err)
		}
		if set.Contains(tag) {
			t.Errorf("%s: unkeyed tag found in the set", v)
		}
	}
}

func TestBuildSetRejectsBadValue(t *testing.T) {
	p := newTestProvider(t, 1)
	_, err := p.BuildSet(context.Background(), []string{"domain-name:ok.example", "ipv4-addr:300.1.1.1"})
	if !errors.Is(err, ErrInvalidValue) || !strings.Contains(err.Error(), "value 2") {
		t.Fatalf("BuildSet = %v, want ErrInvalidValue at value 2", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.BuildSet(ctx, providerValues); !errors.Is(err, context.Canceled) {
		t.Fatalf("BuildSet(cancelled) = %v", err)
	}
}

func TestKeys(t *testing.T) {
	key, err := GenerateKey(testRand(5))
	if err != nil {
		t.Fatal(err)
	}
	again, err := ParsePrivateKey(key.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if !again.Public().Equal(key.Public()) {
		t.Fatal("private key did not round-trip")
	}
	pub, err := ParsePublicKey(key.Public().Bytes())
	if err != nil || !pub.Equal(key.Public()) {
		t.Fatalf("public key did not round-trip: %v", err)
	}
	for _, bad := range [][]byte{nil, make([]byte, 32), make([]byte, 31), bytes.Repeat([]byte{0xff}, 32)} {
		if _, err := ParsePrivateKey(bad); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("ParsePrivateKey(%x) = %v", bad, err)
		}
		if _, err := ParsePublicKey(bad); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("ParsePublicKey(%x) = %v", bad, err)
		}
	}
	// The same randomness gives the same key; injected randomness is used.
	k2, _ := GenerateKey(testRand(5))
	if !k2.Public().Equal(key.Public()) {
		t.Error("GenerateKey ignores its randomness")
	}
}

func TestSetEncoding(t *testing.T) {
	p := newTestProvider(t, 1)
	set := buildTestSet(t, p)
	b, err := set.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseSet(b)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.Tags(), set.Tags()) || !back.PublicKey().Equal(set.PublicKey()) {
		t.Fatal("set did not round-trip")
	}
	tags := set.AppendTags(nil)
	if len(tags) != TagSize*set.Len() {
		t.Fatalf("tag list is %d bytes", len(tags))
	}
	// Out of order and duplicate tags are refused: the encoding is unique.
	swapped := slices.Concat(tags[TagSize:2*TagSize], tags[:TagSize], tags[2*TagSize:])
	if _, err := ParseTags(set.PublicKey(), swapped); !errors.Is(err, ErrInvalidSet) {
		t.Errorf("ParseTags(out of order) = %v", err)
	}
	if _, err := ParseTags(set.PublicKey(), tags[:len(tags)-1]); !errors.Is(err, ErrInvalidSet) {
		t.Errorf("ParseTags(truncated) = %v", err)
	}
	// Add and Remove keep the set sorted and report changes.
	extra, _ := p.Tag("domain-name:new.example")
	if !set.Add(extra) || set.Add(extra) || !set.Contains(extra) {
		t.Fatal("Add misbehaves")
	}
	if !set.Remove(extra) || set.Remove(extra) || set.Contains(extra) {
		t.Fatal("Remove misbehaves")
	}
	if !slices.Equal(set.Tags(), back.Tags()) {
		t.Fatal("Add then Remove changed the set")
	}
}

func FuzzParseSet(f *testing.F) {
	p := newTestProvider(f, 1)
	set := buildTestSet(f, p)
	b, _ := set.MarshalBinary()
	f.Add(b)
	f.Add([]byte(setMagic))
	// What a hand-written set file may hold: tags out of order or given
	// twice, a tag cut short, a key that is no group element, a header
	// in another case, and 65,536 tags all zero.
	head := b[:len(setMagic)+elementSize]
	tag := func(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
	f.Add(append(append(bytes.Clone(head), tag(2)...), tag(1)...))
	f.Add(append(append(bytes.Clone(head), tag(2)...), tag(2)...))
	f.Add(append(bytes.Clone(head), tag(2)[:5]...))
	f.Add(append(append([]byte(setMagic), bytes.Repeat([]byte{0xff}, elementSize)...), tag(1)...))
	f.Add(append([]byte(strings.ToUpper(setMagic)), b[len(setMagic):]...))
	f.Add(append(bytes.Clone(head), make([]byte, 1<<16*TagSize)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		var s *Set
		var err error
		allocBounded(t, len(b), func() { s, err = ParseSet(b) })
		if err != nil {
			return
		}
		again, err := s.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("re-encoding differs")
		}
	})
}

// FuzzEvaluate feeds arbitrary element bytes to the provider: it must
// refuse or answer with as many elements as asked and a proof that the
// provider's own public key verifies.
func FuzzEvaluate(f *testing.F) {
	p := newTestProvider(f, 1)
	q := NewQuerier(p.PublicKey(), testRand(4))
	_, req, err := q.Blind([]string{"domain-name:evil.example"})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(req.Elements[0])
	f.Add(make([]byte, 32))
	f.Add(bytes.Repeat([]byte{0xff}, 32))
	f.Fuzz(func(t *testing.T, b []byte) {
		resp, err := p.Evaluate(&EvaluateRequest{Elements: [][]byte{b}})
		if err != nil {
			if !errors.Is(err, ErrInvalidElement) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if len(resp.Elements) != 1 || len(resp.Proof) != 64 {
			t.Fatalf("response shape: %d elements, %d-byte proof", len(resp.Elements), len(resp.Proof))
		}
	})
}

// countingGate is a Gate of capacity cap that records the most units
// held at once and how many Acquires were granted; onAcquire, when set,
// runs before each Acquire with its 1-based number.
type countingGate struct {
	slots     chan struct{}
	mu        sync.Mutex
	held      int64
	peak      int64
	granted   int
	onAcquire func(n int)
	calls     int
}

func newCountingGate(capacity int) *countingGate {
	return &countingGate{slots: make(chan struct{}, capacity)}
}

func (g *countingGate) Acquire(ctx context.Context, n int64) error {
	if n != 1 {
		return fmt.Errorf("Acquire(%d), want 1", n)
	}
	g.mu.Lock()
	g.calls++
	call, hook := g.calls, g.onAcquire
	g.mu.Unlock()
	if hook != nil {
		hook(call)
	}
	select {
	case g.slots <- struct{}{}:
		if err := ctx.Err(); err != nil { // both were ready
			<-g.slots
			return err
		}
	case <-ctx.Done():
		return ctx.Err()
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.held++
	g.peak = max(g.peak, g.held)
	g.granted++
	return nil
}

func (g *countingGate) Release(n int64) {
	g.mu.Lock()
	g.held -= n
	g.mu.Unlock()
	<-g.slots
}

// TestProviderGate: builds that share a gate never keep more CPUs busy at
// once than its capacity, however many run concurrently, each chunk takes
// its turn once, and the tags are those of an ungated provider; a build
// whose context ends while it waits for the gate stops there, with the
// context's error, and gives everything back.
func TestProviderGate(t *testing.T) {
	ctx := context.Background()
	p := newTestProvider(t, 1)
	lines := make([]string, 4*tagChunk)
	for i := range lines {
		lines[i] = fmt.Sprintf("domain-name:d%d.example", i)
	}
	want, err := p.TagsCanonical(ctx, lines)
	if err != nil {
		t.Fatal(err)
	}
	g := newCountingGate(1)
	gated := p.WithGate(g)
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			got, err := gated.TagsCanonical(ctx, lines)
			if err != nil || !slices.Equal(got, want) {
				t.Errorf("gated tags differ (%v)", err)
			}
		})
	}
	wg.Wait()
	if g.peak != 1 || g.granted != 3*4 || g.held != 0 {
		t.Fatalf("peak %d units, %d granted, %d held; want 1, 12, 0", g.peak, g.granted, g.held)
	}
	if _, err := p.TagsCanonical(ctx, lines); err != nil || g.granted != 12 {
		t.Fatalf("the ungated provider used the gate (%v)", err)
	}

	// Cancelled while waiting for its second turn: the build stops.
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g = newCountingGate(1)
	g.onAcquire = func(n int) {
		if n == 2 {
			cancel()
		}
	}
	many := slices.Repeat(lines, 4) // 16 chunks
	if _, err := p.WithGate(g).BuildSet(cctx, many); !errors.Is(err, context.Canceled) {
		t.Fatalf("BuildSet cancelled while waiting = %v", err)
	}
	if g.granted >= 4 || g.held != 0 {
		t.Fatalf("%d of 16 chunks ran after the cancellation, %d units held", g.granted, g.held)
	}
}
