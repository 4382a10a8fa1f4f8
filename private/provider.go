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
// their tags, using all CPUs. Any invalid line fails the whole build with
// an error naming its (1-based) position, so that a set never silently
// lacks a value. Duplicates collapse. It stops early when ctx is done.
func (p *Provider) BuildSet(ctx context.Context, lines []string) (*Set, error) {
	canon := make([]string, len(lines))
	for i, l := range lines {
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

// TagsCanonical returns the tags of canonical lines, in order, computed
// on all CPUs.
func (p *Provider) TagsCanonical(ctx context.Context, canon []string) ([]Tag, error) {
	tags := make([]Tag, len(canon))
	workers := min(runtime.GOMAXPROCS(0), max(1, len(canon)/64))
	const chunk = 256
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
				err := ctx.Err()
				for i := start; i < min(start+chunk, len(canon)) && err == nil; i++ {
					tags[i], err = p.TagCanonical(canon[i])
				}
				if err != nil {
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
