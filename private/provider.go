package private

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/cloudflare/circl/group"
	"github.com/cloudflare/circl/oprf"
	"github.com/cloudflare/circl/zk/dleq"
)

// Provider holds a private key, computes the tags of its own values and
// evaluates queriers' blinded elements. It is safe for concurrent use if
// its rand is.
type Provider struct {
	key  *PrivateKey
	srv  oprf.VerifiableServer
	rand io.Reader
	gate Gate
}

// A Gate bounds the CPU that the providers sharing it use at once: a
// weighted semaphore counted in busy CPUs, such as a server's node-wide
// bound on private-set work. Acquire waits its turn (the server decides
// the order: Parley's node serves the member keeping fewest CPUs busy
// first) until n units are free or ctx is done (then it returns ctx's
// error and holds nothing); every successful Acquire is matched by
// Release(n).
type Gate interface {
	Acquire(ctx context.Context, n int64) error
	Release(n int64)
}

// WithGate returns a copy of p whose [Provider.TagsCanonical] and
// [Provider.BuildSet] hold one unit of g for each CPU they keep busy
// (one worker evaluating one chunk of values), taken in turn with the
// other users of g, so that however many sets are built at once, no more
// CPUs than g's capacity evaluate the OPRF for them. [Provider.Evaluate]
// does not use g: a server takes it around a batch itself, before it
// charges the batch to a budget.
func (p *Provider) WithGate(g Gate) *Provider {
	q := *p
	q.gate = g
	return &q
}

// NewProvider returns a provider for key that draws proof randomness from
// rand (crypto/rand in production).
func NewProvider(key *PrivateKey, rand io.Reader) *Provider {
	return &Provider{key: key, srv: oprf.NewVerifiableServer(suite, key.k), rand: rand}
}

// PublicKey returns the provider's public key.
func (p *Provider) PublicKey() *PublicKey { return p.key.pub }

// TagCanonical returns the tag of a canonical line (as returned by
// [ParseLine]): the first [TagSize] bytes of the RFC 9497 output
// F(k, line). It does not normalise; use [Provider.Tag] for raw input.
func (p *Provider) TagCanonical(line string) (Tag, error) {
	out, err := p.srv.FullEvaluate([]byte(line))
	if err != nil {
		return Tag{}, fmt.Errorf("couldn't evaluate the OPRF: %w", err)
	}
	return tagOf(out), nil
}

// Tag normalises a "type:value" line with [ParseLine] and returns its tag.
func (p *Provider) Tag(line string) (Tag, error) {
	_, _, canon, err := ParseLine(line)
	if err != nil {
		return Tag{}, err
	}
	return p.TagCanonical(canon)
}

// BuildSet normalises every line with [ParseLine] and returns the set of
// their tags, using all CPUs (or what its gate grants, see
// [Provider.WithGate]). Any invalid line fails the whole build with an
// error naming its (1-based) position, so that a set never silently lacks
// a value. Duplicates collapse. It stops early, with ctx's error, when ctx
// is done.
func (p *Provider) BuildSet(ctx context.Context, lines []string) (*Set, error) {
	canon := make([]string, len(lines))
	for i, l := range lines {
		if i%tagChunk == 0 && ctx.Err() != nil {
			return nil, fmt.Errorf("couldn't build the set: %w", ctx.Err())
		}
		_, _, c, err := ParseLine(l)
		if err != nil {
			return nil, fmt.Errorf("value %d: %w", i+1, err)
		}
		canon[i] = c
	}
	tags, err := p.TagsCanonical(ctx, canon)
	if err != nil {
		return nil, err
	}
	return NewSet(p.key.pub, tags), nil
}

// tagChunk is how many values a worker of [Provider.TagsCanonical]
// evaluates between two looks at its context (and two turns of its gate):
// about 20 ms of one CPU (75 µs a value).
const tagChunk = 256

// TagsCanonical returns the tags of canonical lines, in order, computed
// on all CPUs, or on as many as p's gate grants at a time (see
// [Provider.WithGate]). It stops within one chunk of work per worker
// when ctx is done, and then returns an error wrapping ctx's.
func (p *Provider) TagsCanonical(ctx context.Context, canon []string) ([]Tag, error) {
	tags := make([]Tag, len(canon))
	workers := min(runtime.GOMAXPROCS(0), max(1, len(canon)/64))
	const chunk = tagChunk
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		next  int
		first error
	)
	for range workers {
		wg.Go(func() {
			for {
				mu.Lock()
				start := next
				next += chunk
				stop := first != nil
				mu.Unlock()
				if stop || start >= len(canon) {
					return
				}
				if err := p.tagsOf(ctx, canon[start:min(start+chunk, len(canon))], tags[start:]); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	if first != nil {
		return nil, fmt.Errorf("couldn't build the set: %w", first)
	}
	return tags, nil
}

// tagsOf computes the tags of canon into out, holding one unit of p's
// gate while it does.
func (p *Provider) tagsOf(ctx context.Context, canon []string, out []Tag) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if p.gate != nil {
		if err := p.gate.Acquire(ctx, 1); err != nil {
			return err
		}
		defer p.gate.Release(1)
	}
	for i, c := range canon {
		t, err := p.TagCanonical(c)
		if err != nil {
			return err
		}
		out[i] = t
	}
	return nil
}

// Evaluate multiplies every blinded element by the private key and proves,
// with one batched DLEQ proof (RFC 9497 section 2.2.1), that all were
// multiplied by the key behind [Provider.PublicKey]. Malformed input wraps
// [ErrInvalidElement] or [ErrBatchSize]. The provider learns nothing of
// the inputs: blinded elements are uniformly random group elements.
func (p *Provider) Evaluate(req *EvaluateRequest) (*EvaluateResponse, error) {
	b, err := ParseRequest(req)
	if err != nil {
		return nil, err
	}
	return p.EvaluateBatch(b)
}

// Batch is a parsed [EvaluateRequest]: valid, canonical, non-identity
// elements.
type Batch struct {
	elems []group.Element
}

// Len returns the number of elements.
func (b *Batch) Len() int { return len(b.elems) }

// ParseRequest checks and decodes a request without evaluating it, so
// that a server can refuse bad input before charging a query budget.
// Errors wrap [ErrInvalidElement] or [ErrBatchSize].
func ParseRequest(req *EvaluateRequest) (*Batch, error) {
	in, err := parseElements(req.Elements)
	if err != nil {
		return nil, err
	}
	return &Batch{elems: in}, nil
}

// EvaluateBatch is [Provider.Evaluate] on a parsed request.
func (p *Provider) EvaluateBatch(b *Batch) (*EvaluateResponse, error) {
	r, err := randomScalar(p.rand)
	if err != nil {
		return nil, err
	}
	return p.evaluate(b.elems, r)
}

// evaluate is Evaluate with the proof randomness r given, so that tests
// reproduce the RFC 9497 vectors byte for byte.
func (p *Provider) evaluate(in []group.Element, r group.Scalar) (*EvaluateResponse, error) {
	out := make([]group.Element, len(in))
	resp := &EvaluateResponse{Elements: make([][]byte, len(in))}
	for i, e := range in {
		out[i] = grp.NewElement().Mul(e, p.key.s)
		b, err := out[i].MarshalBinaryCompress()
		if err != nil {
			return nil, fmt.Errorf("couldn't encode an evaluation: %w", err)
		}
		resp.Elements[i] = b
	}
	proof, err := dleq.Prover{Params: dleqParam}.ProveBatchWithRandomnessRFC9497(p.key.s, p.key.pub.e, in, out, r)
	if err != nil {
		return nil, fmt.Errorf("couldn't prove the evaluation: %w", err)
	}
	if resp.Proof, err = proof.MarshalBinary(); err != nil {
		return nil, fmt.Errorf("couldn't encode the proof: %w", err)
	}
	return resp, nil
}
