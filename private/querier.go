package private

import (
	"errors"
	"fmt"
	"io"

	"github.com/cloudflare/circl/oprf"
	"github.com/cloudflare/circl/zk/dleq"
)

// Querier blinds a member's own values for a provider's key, verifies the
// provider's evaluations and finalises them into tags. It is safe for
// concurrent use if its rand is.
type Querier struct {
	key    *PublicKey
	client oprf.VerifiableClient
	rand   io.Reader
}

// NewQuerier returns a querier that trusts only evaluations proved under
// key and draws blinds from rand (crypto/rand in production). The caller
// must have checked key against the node's log before trusting answers.
func NewQuerier(key *PublicKey, rand io.Reader) *Querier {
	return &Querier{key: key, client: oprf.NewVerifiableClient(suite, key.k), rand: rand}
}

// Query is the querier's secret state for one batch: the canonical lines
// and their blinds. It must not leave the querier.
type Query struct {
	// Lines are the canonical "type:value" lines, in request order.
	Lines []string
	fin   *oprf.FinalizeData
	req   *oprf.EvaluationRequest
}

// Blind normalises lines with [ParseLine] and blinds them, returning the
// secret [Query] and the request to send. Between 1 and [MaxBatch] lines;
// an invalid line fails the batch with an error naming its position.
func (q *Querier) Blind(lines []string) (*Query, *EvaluateRequest, error) {
	if len(lines) == 0 || len(lines) > MaxBatch {
		return nil, nil, fmt.Errorf("%w: %d values (1 to %d allowed)", ErrBatchSize, len(lines), MaxBatch)
	}
	canon := make([]string, len(lines))
	inputs := make([][]byte, len(lines))
	blinds := make([]oprf.Blind, len(lines))
	for i, l := range lines {
		_, _, c, err := ParseLine(l)
		if err != nil {
			return nil, nil, fmt.Errorf("value %d: %w", i+1, err)
		}
		canon[i] = c
		inputs[i] = []byte(c)
		if blinds[i], err = randomScalar(q.rand); err != nil {
			return nil, nil, err
		}
	}
	fin, req, err := q.client.DeterministicBlind(inputs, blinds)
	if err != nil {
		return nil, nil, fmt.Errorf("couldn't blind: %w", err)
	}
	out := &EvaluateRequest{Elements: make([][]byte, len(req.Elements))}
	for i, e := range req.Elements {
		if out.Elements[i], err = e.MarshalBinaryCompress(); err != nil {
			return nil, nil, fmt.Errorf("couldn't encode a blinded element: %w", err)
		}
	}
	return &Query{Lines: canon, fin: fin, req: req}, out, nil
}

// Finalize verifies resp's batched proof against the querier's key and
// returns the tag of every line of query, in order. A proof that does not
// verify (another key, an altered element, a proof for another batch)
// wraps [ErrInvalidProof]; malformed elements wrap [ErrInvalidElement];
// a length mismatch wraps [ErrBatchSize]. Nothing is returned on error.
func (q *Querier) Finalize(query *Query, resp *EvaluateResponse) ([]Tag, error) {
	if len(resp.Elements) != len(query.Lines) {
		return nil, fmt.Errorf("%w: %d evaluations for %d values", ErrBatchSize, len(resp.Elements), len(query.Lines))
	}
	elems, err := parseElements(resp.Elements)
	if err != nil {
		return nil, err
	}
	proof := new(dleq.Proof)
	if err := proof.UnmarshalBinary(grp, resp.Proof); err != nil {
		return nil, fmt.Errorf("%w: malformed proof: %v", ErrInvalidProof, err)
	}
	outs, err := q.client.Finalize(query.fin, &oprf.Evaluation{Elements: elems, Proof: proof})
	if errors.Is(err, oprf.ErrInvalidProof) {
		return nil, ErrInvalidProof
	}
	if err != nil {
		return nil, fmt.Errorf("couldn't finalize: %w", err)
	}
	tags := make([]Tag, len(outs))
	for i, o := range outs {
		tags[i] = tagOf(o)
	}
	return tags, nil
}

// Match finalises resp like [Querier.Finalize] and returns the canonical
// lines of query whose tags are in set, in request order. A set under
// another key wraps [ErrKeyMismatch].
func (q *Querier) Match(set *Set, query *Query, resp *EvaluateResponse) ([]string, error) {
	if !set.PublicKey().Equal(q.key) {
		return nil, ErrKeyMismatch
	}
	tags, err := q.Finalize(query, resp)
	if err != nil {
		return nil, err
	}
	var hits []string
	for i, t := range tags {
		if set.Contains(t) {
			hits = append(hits, query.Lines[i])
		}
	}
	return hits, nil
}
