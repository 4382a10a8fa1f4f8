package private

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/parley-exchange/parley/internal/untrusted"
)

// SetInfo describes a private set (GET /private/sets/{id}, and each item
// of GET /private/sets).
type SetInfo struct {
	ID string `json:"id"`
	// Suite is the RFC 9497 suite, [SuiteID].
	Suite string `json:"suite"`
	// PublicKey is the set's OPRF public key (32 bytes).
	PublicKey []byte `json:"public_key"`
	// Size is the number of tags.
	Size int `json:"size"`
	// KeyLogIndex is the index of the log entry committing PublicKey.
	KeyLogIndex int64 `json:"key_log_index"`
	// Collection is the collection whose readers may query the set, and
	// Provider the member (identity id) who published it.
	Collection string `json:"collection"`
	Provider   string `json:"provider"`
	// Source is "collection" (the provider's indicators there, kept up to
	// date) or "values" (a fixed list).
	Source  string    `json:"source"`
	Created time.Time `json:"created"`
	// Budget is the asking member's query budget on this set: the most
	// elements it may have evaluated, and how many are left.
	Budget *Budget `json:"budget,omitempty"`
	// MaxBatch is the most elements one evaluation request may carry.
	MaxBatch int `json:"max_batch,omitempty"`
}

// Budget is a reader's query budget on one set.
type Budget struct {
	Limit int64 `json:"limit"`
	Left  int64 `json:"left"`
}

// PublishRequest is the body of POST /private/sets. With Values empty the
// set holds the equality values of the publishing member's indicators in
// Collection and follows them; otherwise it holds exactly Values
// ("type:value" lines).
type PublishRequest struct {
	Collection string   `json:"collection"`
	Values     []string `json:"values,omitempty"`
}

// ErrBudgetSpent is returned by [Client.Evaluate] when the node answered
// 429: the member's query budget for the set is spent.
var ErrBudgetSpent = errors.New("query budget spent")

// ErrWithdrawn is returned by [Client.Check] when the node serves a set
// as live whose receipt logs its withdrawal (an oprf-withdrawal entry
// that verifies): a node replaying a set after its provider withdrew it,
// or answering from before the withdrawal. No value is sent.
var ErrWithdrawn = errors.New("the set was withdrawn")

// HTTPError is a non-success answer from a node, carrying the TAXII-style
// error object's title and description.
type HTTPError struct {
	Status      int
	Title       string
	Description string
}

// Error returns the status and the node's title and description.
func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("the node answered %d", e.Status)
	if e.Title != "" {
		msg += ": " + e.Title
	}
	if e.Description != "" {
		msg += ": " + e.Description
	}
	return msg
}

// budgetError is a 429 answer: it is [ErrBudgetSpent] and the node's
// [*HTTPError], and reads as one sentence ("query budget spent: 5 of 5
// queries left, 9 asked ...") instead of repeating the node's title.
type budgetError struct{ he *HTTPError }

func (e *budgetError) Error() string {
	detail := e.he.Description
	if detail == "" {
		detail = e.he.Title
	}
	// The node's description may itself start with the sentinel's text.
	detail = strings.TrimPrefix(detail, ErrBudgetSpent.Error()+": ")
	if detail == "" || detail == ErrBudgetSpent.Error() {
		return fmt.Sprintf("%v (the node answered %d)", ErrBudgetSpent, e.he.Status)
	}
	return fmt.Sprintf("%v (the node answered %d): %s", ErrBudgetSpent, e.he.Status, detail)
}

func (e *budgetError) Unwrap() []error { return []error{ErrBudgetSpent, e.he} }

// Client talks to a node's /private/ API. The token is sent as a bearer
// token and never appears in errors.
type Client struct {
	// BaseURL is the node's URL ("https://parley.example").
	BaseURL string
	// Token is the member's API token.
	Token string
	// HTTP is the client to use; nil means http.DefaultClient.
	HTTP *http.Client
	// Progress, when set, is called by [Client.Check] after each batch
	// with the number of values checked so far and the total.
	Progress func(done, total int)
	// CheckCheckpoint, when set, is called by [Client.Check] with the
	// checkpoint note of the set key's receipt once its log signature and
	// the key entry's inclusion verified, before any value is sent: the
	// caller checks it against the checkpoints it saw before (a node
	// showing this querier another log, with another key for the set) and
	// its witness policy. An error stops the check.
	CheckCheckpoint func(ctx context.Context, note []byte) error
	// Verified, when set, is called by [Client.Check] with the set's key
	// receipt once it is verified (and its checkpoint checked), before
	// any value is sent, so that the querier can keep it as evidence
	// ([SavedReceipt]); an error stops the check there.
	Verified func(ctx context.Context, saved SavedReceipt) error
}

func (c *Client) do(ctx context.Context, method, path string, body any, accept string, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.BaseURL, "/")+path, rd)
	if err != nil {
		return fmt.Errorf("couldn't make a request to the node: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", accept)
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("couldn't reach the node: %w", untrusted.ClipURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		he := &HTTPError{Status: resp.StatusCode}
		var e struct {
			Title       string `json:"title"`
			Description string `json:"description"`
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if json.Unmarshal(b, &e) == nil {
			he.Title, he.Description = untrusted.Text(e.Title, maxErrorText), untrusted.Text(e.Description, maxErrorText)
		} else {
			he.Title = untrusted.Text(strings.TrimSpace(string(b)), maxErrorText)
		}
		if resp.StatusCode == http.StatusTooManyRequests {
			return &budgetError{he: he}
		}
		return he
	}
	if out == nil { // an answer without a body (204)
		return nil
	}
	if raw, ok := out.(*[]byte); ok {
		*raw, err = io.ReadAll(io.LimitReader(resp.Body, maxRawAnswer+1))
		if err != nil {
			return fmt.Errorf("couldn't read the node's answer: %w", err)
		}
		if int64(len(*raw)) > maxRawAnswer {
			*raw = nil
			return fmt.Errorf("the node's answer is larger than %d bytes", maxRawAnswer)
		}
		return nil
	}
	lr := &io.LimitedReader{R: resp.Body, N: maxJSONAnswer + 1}
	if err := json.NewDecoder(lr).Decode(out); err != nil {
		if lr.N <= 0 {
			return fmt.Errorf("the node's answer is larger than %d bytes", maxJSONAnswer)
		}
		return fmt.Errorf("couldn't parse the node's answer: %w", err)
	}
	return nil
}

// maxErrorText bounds each piece of the node's error text (title,
// description) that a [Client]'s errors repeat.
const maxErrorText = 500

// maxRawAnswer bounds a byte answer of the node (a set's tags, its log
// key), and maxJSONAnswer a JSON one (set descriptions, receipts, a
// batch's evaluations): a node that sends more gets an error, not the
// client's memory. Variables for tests.
var (
	maxRawAnswer  int64 = 1 << 30
	maxJSONAnswer int64 = 64 << 20
)

func setPath(id string, suffix string) string {
	return "/private/sets/" + url.PathEscape(id) + suffix
}

// Publish asks the node to make a private set and returns it.
func (c *Client) Publish(ctx context.Context, req PublishRequest) (SetInfo, error) {
	var out SetInfo
	err := c.do(ctx, http.MethodPost, "/private/sets", req, "application/json", &out)
	return out, err
}

// Sets lists the sets the member may query or has published.
func (c *Client) Sets(ctx context.Context) ([]SetInfo, error) {
	var out struct {
		Sets []SetInfo `json:"sets"`
	}
	err := c.do(ctx, http.MethodGet, "/private/sets", nil, "application/json", &out)
	return out.Sets, err
}

// Set returns one set's description.
func (c *Client) Set(ctx context.Context, id string) (SetInfo, error) {
	var out SetInfo
	err := c.do(ctx, http.MethodGet, setPath(id, ""), nil, "application/json", &out)
	return out, err
}

// Withdraw asks the node to withdraw the caller's set id (DELETE
// /private/sets/{id}): nothing is evaluated or matched against it after.
func (c *Client) Withdraw(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, setPath(id, ""), nil, "application/json", nil)
}

// WithdrawSigned is [Client.Withdraw] with the provider's signed
// statement ([SignWithdrawal]), which the node checks against the
// caller's member key and logs with the withdrawal, so that the set's
// readers can tell the provider withdrew it.
func (c *Client) WithdrawSigned(ctx context.Context, id string, req WithdrawRequest) error {
	return c.do(ctx, http.MethodDelete, setPath(id, ""), req, "application/json", nil)
}

// Tags fetches the set's tags and parses them under key.
func (c *Client) Tags(ctx context.Context, id string, key *PublicKey) (*Set, error) {
	var raw []byte
	if err := c.do(ctx, http.MethodGet, setPath(id, "/tags"), nil, "application/octet-stream", &raw); err != nil {
		return nil, err
	}
	return ParseTags(key, raw)
}

// Receipt fetches the evidence that the set's key is in the node's log.
// A key published moments ago may not be in a signed checkpoint yet (503):
// it retries for up to 30 seconds.
func (c *Client) Receipt(ctx context.Context, id string) (KeyReceipt, error) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		var out KeyReceipt
		err := c.do(ctx, http.MethodGet, setPath(id, "/receipt"), nil, "application/json", &out)
		var he *HTTPError
		if !errors.As(err, &he) || he.Status != http.StatusServiceUnavailable || time.Now().After(deadline) {
			return out, err
		}
		select {
		case <-ctx.Done():
			return out, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// Evaluate sends one batch of blinded elements. A spent budget wraps
// [ErrBudgetSpent].
func (c *Client) Evaluate(ctx context.Context, id string, req *EvaluateRequest) (*EvaluateResponse, error) {
	var out EvaluateResponse
	if err := c.do(ctx, http.MethodPost, setPath(id, "/evaluate"), req, "application/json", &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// LogKey fetches the node's note verifier key from /log/key. Pinning the
// key out of band is safer: a key fetched from the node itself only
// protects against a node that changes its key later.
func (c *Client) LogKey(ctx context.Context) (string, error) {
	var raw []byte
	if err := c.do(ctx, http.MethodGet, "/log/key", nil, "text/plain", &raw); err != nil {
		return "", err
	}
	return strings.TrimSpace(string(raw)), nil
}

// Check runs the whole querier side against set id: it fetches the set,
// verifies that the log commits to its key (with the node's verifier),
// fetches the tags, then blinds the distinct values of lines (lines
// equal once normalised are sent once, and cost one query) in batches of
// at most batch (0: the set's max_batch), has them evaluated, verifies
// every batch's proof and returns the positions in lines of those that
// are in the set, ascending, every copy of a value included. Invalid
// lines fail before anything is sent. Progress counts distinct values.
// rand supplies the blinds (crypto/rand in production). A receipt that
// holds a withdrawal is verified as one ([KeyReceipt.VerifyWithdrawn]),
// handed to Verified as evidence, and the check fails with
// [ErrWithdrawn] before any value is sent (one that doesn't verify
// wraps [ErrKeyNotInLog]). With no lines, or against a set of no tags,
// nothing is evaluated (no budget is spent) and no position returned.
func (c *Client) Check(ctx context.Context, id string, v note.Verifier, lines []string, batch int, rand io.Reader) ([]int, error) {
	// Each distinct value is evaluated once: lines equal once normalised
	// (domain-name:Evil.Example. and domain-name:evil.example) have one
	// tag, and every element sent costs the querier's budget.
	var distinct []string
	first := map[string]int{} // canonical line -> its index in distinct
	where := make([]int, len(lines))
	for i, l := range lines {
		_, _, canon, err := ParseLine(l)
		if err != nil {
			return nil, fmt.Errorf("value %d: %w", i+1, err)
		}
		j, ok := first[canon]
		if !ok {
			j = len(distinct)
			first[canon] = j
			distinct = append(distinct, canon)
		}
		where[i] = j
	}
	info, err := c.Set(ctx, id)
	if err != nil {
		return nil, err
	}
	if info.Suite != SuiteID {
		return nil, fmt.Errorf("couldn't use set %s: suite %q is not %s", id, info.Suite, SuiteID)
	}
	key, err := ParsePublicKey(info.PublicKey)
	if err != nil {
		return nil, err
	}
	rc, err := c.Receipt(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := rc.Verify(v, id, key); err != nil {
		return nil, err
	}
	if int64(rc.LogIndex) != info.KeyLogIndex {
		return nil, fmt.Errorf("%w: the set names log index %d, the receipt %d", ErrKeyNotInLog, info.KeyLogIndex, rc.LogIndex)
	}
	if c.CheckCheckpoint != nil {
		if err := c.CheckCheckpoint(ctx, []byte(rc.Checkpoint)); err != nil {
			return nil, err
		}
	}
	if rc.Withdrawal != nil {
		// The node's own log says the set is withdrawn, whatever it
		// answers for the set: keep the evidence (Verified),
		// send nothing.
		wkey, err := rc.VerifyWithdrawn(v, id)
		if err != nil {
			return nil, err
		}
		if !wkey.Equal(key) {
			return nil, fmt.Errorf("%w: set %s: the withdrawal names another key", ErrKeyNotInLog, id)
		}
	}
	if c.Verified != nil {
		if err := c.Verified(ctx, SavedReceipt{Set: id, Suite: info.Suite, PublicKey: info.PublicKey, Receipt: rc}); err != nil {
			return nil, err
		}
	}
	if w := rc.Withdrawal; w != nil {
		return nil, fmt.Errorf("%w: set %s, at %s (log entry %d)", ErrWithdrawn, id, w.Withdrawn.UTC().Format(time.RFC3339), w.LogIndex)
	}
	set, err := c.Tags(ctx, id, key)
	if err != nil {
		return nil, err
	}
	// No value, or no tag: nothing can match, and nothing is sent, so
	// nothing is charged to the budget.
	if len(distinct) == 0 || set.Len() == 0 {
		return nil, nil
	}
	if batch <= 0 {
		batch = info.MaxBatch
	}
	if batch <= 0 || batch > MaxBatch {
		batch = 1000
	}
	q := NewQuerier(key, rand)
	in := make([]bool, len(distinct))
	for start := 0; start < len(distinct); start += batch {
		chunk := distinct[start:min(start+batch, len(distinct))]
		query, req, err := q.Blind(chunk)
		if err != nil {
			return nil, err
		}
		resp, err := c.Evaluate(ctx, id, req)
		if err != nil {
			return nil, err
		}
		tags, err := q.Finalize(query, resp)
		if err != nil {
			return nil, err
		}
		for i, t := range tags {
			in[start+i] = set.Contains(t)
		}
		if c.Progress != nil {
			c.Progress(start+len(chunk), len(distinct))
		}
	}
	var hits []int
	for i, j := range where {
		if in[j] {
			hits = append(hits, i)
		}
	}
	return hits, nil
}
