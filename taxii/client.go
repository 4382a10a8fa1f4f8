package taxii

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parley-exchange/parley/internal/untrusted"
	"github.com/parley-exchange/parley/tlog"
)

// DefaultMaxResponseBytes is the largest response body a [Client] reads
// unless told otherwise.
const DefaultMaxResponseBytes = 256 << 20

// Client is a TAXII 2.1 client for one API root. Its methods are safe for
// concurrent use. A failed request returns a [*ResponseError] when the
// server answered, so that errors.Is(err, ErrNotFound) and friends work
// and errors.As(err, &e) with e a *[Error] gives the server's error
// message resource. The token never appears in errors.
type Client struct {
	// BaseURL is the server's URL, such as "https://parley.example"; the
	// discovery resource is at BaseURL + "/taxii2/".
	BaseURL string
	// Root is the API root: an absolute URL, or a path resolved against
	// BaseURL. Default [DefaultAPIRootPath].
	Root string
	// Token is the bearer token; empty sends no bearer token.
	Token string
	// User and Password, when User is not empty and Token is, are sent as
	// HTTP Basic authentication (RFC 7617), as TAXII servers such as
	// OpenCTI's and vendors' expect.
	User, Password string
	// HTTP is the HTTP client; nil means http.DefaultClient.
	HTTP *http.Client
	// MaxResponseBytes bounds the size of a response body; 0 means
	// [DefaultMaxResponseBytes].
	MaxResponseBytes int64
	// MaxObjects, when above 0, bounds the objects (and the
	// x_parley_openings) of a page that Objects and ObjectPages read: a
	// page holding more fails with an error saying so, decoded no
	// further. A page is asked for with a limit the server may ignore,
	// and MaxResponseBytes alone lets a page of tiny objects ("{}")
	// hold tens of millions, each decoded, checked and answered for.
	MaxObjects int
	// Verifier, when not nil, checks every object of every envelope that
	// Objects and Object return against the node's log, from the
	// envelope's x_parley_openings: objects that fail are removed from
	// Objects and listed in the envelope's Refused (an envelope without
	// openings has every object refused); Checks describes the rest.
	Verifier *tlog.ObjectVerifier
}

// Refusal is an object a verifying [Client] refused, and why.
type Refusal struct {
	ID  string
	Err error
}

// verify applies c.Verifier to env (see [Client.Verifier]), the answer
// to a request for collectionID's objects: an object whose opening puts it
// in another collection is refused, and so is one whose id isn't among
// ids, when ids isn't empty (the ids asked for). Both are real objects of
// the log, but not what was asked for: a node answering with another
// collection's objects (or another object) would otherwise pass them off
// as the asked collection's.
func (c *Client) verify(ctx context.Context, env *Envelope, collectionID string, ids []string) error {
	if c.Verifier == nil || len(env.Objects) == 0 {
		return nil
	}
	objects, openings := env.Objects, env.Openings
	env.Objects, env.Openings, env.Checks = nil, nil, nil
	if len(openings) != len(objects) {
		for _, o := range objects {
			env.Refused = append(env.Refused, Refusal{ID: objectID(o), Err: errors.New("the node sent it without its log opening, so it can't be checked against the log")})
		}
		return nil
	}
	items := make([]tlog.VerifyItem, len(objects))
	for i, o := range objects {
		items[i] = tlog.VerifyItem{Object: o, LogIndex: openings[i].LogIndex, Opening: openings[i].Opening}
	}
	res, err := c.Verifier.Verify(ctx, items)
	if err != nil {
		return fmt.Errorf("couldn't check the objects against the node's log: %w", err)
	}
	for i := range res {
		op := openings[i].Opening
		switch {
		case res[i].Err != nil && !errors.Is(res[i].Err, tlog.ErrUnsignedObject):
		case op.Collection != collectionID:
			res[i].Err = fmt.Errorf("the node sent it from collection %s, not from the collection asked for (%s)", untrusted.Text(op.Collection, 80), collectionID)
		case len(ids) > 0 && !slices.Contains(ids, op.ObjectID):
			res[i].Err = fmt.Errorf("the node sent %s, which wasn't asked for", untrusted.Text(op.ObjectID, 120))
		}
	}
	for i, r := range res {
		switch {
		case r.Err == nil || errors.Is(r.Err, tlog.ErrUnsignedObject):
			env.Objects = append(env.Objects, objects[i])
			env.Openings = append(env.Openings, openings[i])
			env.Checks = append(env.Checks, Check{ObjectCheck: r.Check, Unsigned: r.Err != nil})
		default:
			env.Refused = append(env.Refused, Refusal{ID: objectID(objects[i]), Err: r.Err})
		}
	}
	return nil
}

// objectID returns the id of a JSON object, or "unknown".
func objectID(raw []byte) string {
	var v struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(raw, &v) != nil || v.ID == "" {
		return "unknown"
	}
	// The node's word, printed in refusals: inert.
	return untrusted.Text(v.ID, 200)
}

// ResponseError is a response with an error status.
type ResponseError struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Err is the server's error message resource, or nil when the body
	// was not one.
	Err *Error
	// RetryAfter is how long the server asked the client to wait before
	// it tries again (its Retry-After header, RFC 9110 section 10.2.3:
	// seconds or an HTTP date; a 429 or a 503 usually has one), at most
	// [MaxRetryAfter]; 0 when it gave none, or none that parses.
	RetryAfter time.Duration
}

// MaxRetryAfter bounds a server's Retry-After: a longer wait asked for is
// cut to a day, so that a server can't have its clients give up on it for
// ever with one answer.
const MaxRetryAfter = 24 * time.Hour

// parseRetryAfter reads a Retry-After header value at now: delay-seconds
// or an HTTP date, cut to [MaxRetryAfter]; 0 for anything else, or a date
// that has passed.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseUint(v, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		if err != nil || n > uint64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter
		}
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return max(0, min(d, MaxRetryAfter))
}

// maxErrorText bounds each piece of a server's text (its error title and
// description, a media type) that a [Client]'s error messages repeat, so
// that a server can't make them (and what records them: a feed's status,
// logs) as large as its response.
const maxErrorText = 200

// Error describes the status and the server's message, each part of it
// cut to maxErrorText (200) bytes; Err keeps it whole.
func (e *ResponseError) Error() string {
	s := fmt.Sprintf("taxii server answered %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.Err != nil {
		if e.Err.Title != "" && e.Err.Title != http.StatusText(e.StatusCode) {
			s += ": " + untrusted.Text(e.Err.Title, maxErrorText)
		}
		if e.Err.Description != "" {
			s += ": " + untrusted.Text(e.Err.Description, maxErrorText)
		}
	}
	if e.RetryAfter > 0 {
		s += " (it asks to be tried again after " + e.RetryAfter.String() + ")"
	}
	return s
}

// Unwrap returns the sentinel matching the status (such as [ErrNotFound]
// for 404), and the server's [*Error].
func (e *ResponseError) Unwrap() []error {
	var errs []error
	switch e.StatusCode {
	case http.StatusUnauthorized:
		errs = append(errs, ErrUnauthorized)
	case http.StatusForbidden:
		errs = append(errs, ErrForbidden)
	case http.StatusNotFound:
		errs = append(errs, ErrNotFound)
	case http.StatusBadRequest:
		errs = append(errs, ErrBadRequest)
	case http.StatusRequestEntityTooLarge:
		errs = append(errs, ErrTooLarge)
	case http.StatusInsufficientStorage:
		errs = append(errs, ErrInsufficientStorage)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// Discovery fetches the discovery resource.
func (c *Client) Discovery(ctx context.Context) (*Discovery, error) {
	u, err := c.resolve(DiscoveryPath)
	if err != nil {
		return nil, err
	}
	d, _, err := get[Discovery](ctx, c, u)
	return d, err
}

// APIRoot fetches the API root information.
func (c *Client) APIRoot(ctx context.Context) (*APIRoot, error) {
	u, err := c.rootURL("")
	if err != nil {
		return nil, err
	}
	a, _, err := get[APIRoot](ctx, c, u)
	return a, err
}

// Collections lists the collections the client may read or write.
func (c *Client) Collections(ctx context.Context) ([]Collection, error) {
	u, err := c.rootURL("collections/")
	if err != nil {
		return nil, err
	}
	cs, _, err := get[Collections](ctx, c, u)
	if err != nil {
		return nil, err
	}
	return cs.Collections, nil
}

// Collection fetches one collection.
func (c *Client) Collection(ctx context.Context, id string) (*Collection, error) {
	u, err := c.collectionURL(id, "")
	if err != nil {
		return nil, err
	}
	col, _, err := get[Collection](ctx, c, u)
	return col, err
}

// Objects fetches one page of objects of a collection. To get the next
// page, repeat the call with q.Next set to the envelope's Next while its
// More is true, or use [Client.ObjectPages].
func (c *Client) Objects(ctx context.Context, collectionID string, q Query) (*Envelope, error) {
	env, err := c.objectsPage(ctx, collectionID, q)
	if err != nil {
		return nil, err
	}
	return env, c.verify(ctx, env, collectionID, q.IDs)
}

// objectsPage fetches one page of objects, not yet verified.
func (c *Client) objectsPage(ctx context.Context, collectionID string, q Query) (*Envelope, error) {
	u, err := c.collectionURL(collectionID, "objects/")
	if err != nil {
		return nil, err
	}
	if c.MaxObjects <= 0 {
		env, hdr, err := get[Envelope](ctx, c, withQuery(u, q))
		if err != nil {
			return nil, err
		}
		env.DateAdded = dateAdded(hdr)
		return env, nil
	}
	b := boundedEnvelope{Objects: boundedArray[json.RawMessage]{max: c.MaxObjects, what: "objects"}, Openings: boundedArray[ObjectOpening]{max: c.MaxObjects, what: "x_parley_openings"}}
	hdr, err := c.do(ctx, http.MethodGet, withQuery(u, q), nil, &b)
	if err != nil {
		return nil, err
	}
	return &Envelope{More: b.More, Next: b.Next, Objects: b.Objects.v, Openings: b.Openings.v, DateAdded: dateAdded(hdr)}, nil
}

// boundedEnvelope is an [Envelope] as [Client.MaxObjects] reads it.
type boundedEnvelope struct {
	More     bool                          `json:"more"`
	Next     string                        `json:"next,omitempty"`
	Objects  boundedArray[json.RawMessage] `json:"objects,omitempty"`
	Openings boundedArray[ObjectOpening]   `json:"x_parley_openings,omitempty"`
}

// boundedArray is a JSON array of at most max elements, decoded one by
// one: an array with more fails after max+1 of them.
type boundedArray[T any] struct {
	max  int
	what string
	v    []T
}

func (a *boundedArray[T]) UnmarshalJSON(data []byte) error {
	a.v = nil
	if string(data) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('[') {
		return fmt.Errorf("%s is not an array", a.what)
	}
	for dec.More() {
		if len(a.v) >= a.max {
			return fmt.Errorf("the page holds more than %d %s (%w)", a.max, a.what, ErrTooManyObjects)
		}
		var e T
		if err := dec.Decode(&e); err != nil {
			return err
		}
		a.v = append(a.v, e)
	}
	return nil
}

// ErrTooManyObjects is wrapped by the error of a page with more objects
// than [Client.MaxObjects].
var ErrTooManyObjects = errors.New("too many objects in one page")

// Cursors remembers the next cursors one paging was given, as a hash of
// each (32 bytes a page whatever the server sends), so that a server whose
// cursors go round in a circle with "more" always true is caught instead
// of paged for ever. The zero value is not usable: make it with Cursors{}.
type Cursors map[[32]byte]bool

// Repeated reports whether next was given before, and remembers it.
func (c Cursors) Repeated(next string) bool {
	h := sha256.Sum256([]byte(next))
	if c[h] {
		return true
	}
	c[h] = true
	return false
}

// ObjectPages returns the pages of objects matching q, following the
// server's next cursors until a page says there are no more. Iteration
// stops after the first error, which is yielded with a nil envelope. A
// next cursor the iteration was given before (a server going round in a
// circle) is an error: it keeps a hash of each cursor, 32 bytes a page.
//
// With a Verifier, the next page is fetched while this one is verified, so
// the network and the server's work overlap the signature checks.
func (c *Client) ObjectPages(ctx context.Context, collectionID string, q Query) iter.Seq2[*Envelope, error] {
	type page struct {
		env *Envelope
		err error
	}
	return func(yield func(*Envelope, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel() // a prefetch nobody will read stops
		fetch := func(q Query) <-chan page {
			ch := make(chan page, 1) // the fetch never blocks, even if nobody reads
			go func() {
				env, err := c.objectsPage(ctx, collectionID, q)
				ch <- page{env, err}
			}()
			return ch
		}
		next := fetch(q)
		seen := Cursors{}
		seen.Repeated(q.Next)
		for {
			p := <-next
			if p.err != nil {
				yield(nil, p.err)
				return
			}
			env := p.env
			var ahead <-chan page
			if env.More && env.Next != "" && !seen.Repeated(env.Next) {
				q.Next = env.Next
				ahead = fetch(q)
			}
			if err := c.verify(ctx, env, collectionID, q.IDs); err != nil {
				yield(nil, err)
				return
			}
			if !yield(env, nil) || !env.More {
				return
			}
			if ahead == nil {
				yield(nil, errors.New("taxii server said more objects follow but gave no new next cursor"))
				return
			}
			next = ahead
		}
	}
}

// Object fetches the versions of one object that match q (by default its
// latest version) in an envelope.
func (c *Client) Object(ctx context.Context, collectionID, objectID string, q Query) (*Envelope, error) {
	u, err := c.collectionURL(collectionID, "objects/"+url.PathEscape(objectID)+"/")
	if err != nil {
		return nil, err
	}
	q.IDs, q.Types = nil, nil
	env, hdr, err := get[Envelope](ctx, c, withQuery(u, q))
	if err != nil {
		return nil, err
	}
	env.DateAdded = dateAdded(hdr)
	return env, c.verify(ctx, env, collectionID, []string{objectID})
}

// Versions fetches one page of the versions of one object. Of q, only
// AddedAfter, Limit, Next and SpecVersions apply.
func (c *Client) Versions(ctx context.Context, collectionID, objectID string, q Query) (*Versions, error) {
	u, err := c.collectionURL(collectionID, "objects/"+url.PathEscape(objectID)+"/versions/")
	if err != nil {
		return nil, err
	}
	q.IDs, q.Types, q.Versions = nil, nil, VersionMatch{}
	v, hdr, err := get[Versions](ctx, c, withQuery(u, q))
	if err != nil {
		return nil, err
	}
	v.DateAdded = dateAdded(hdr)
	return v, nil
}

// Manifest fetches one page of the manifest of a collection.
func (c *Client) Manifest(ctx context.Context, collectionID string, q Query) (*Manifest, error) {
	u, err := c.collectionURL(collectionID, "manifest/")
	if err != nil {
		return nil, err
	}
	m, hdr, err := get[Manifest](ctx, c, withQuery(u, q))
	if err != nil {
		return nil, err
	}
	m.DateAdded = dateAdded(hdr)
	return m, nil
}

// AddObjects posts objects (each the JSON of one STIX object) in one
// envelope and returns the status resource. Per-object failures are in the
// status, not in the error.
func (c *Client) AddObjects(ctx context.Context, collectionID string, objects []json.RawMessage) (*Status, error) {
	u, err := c.collectionURL(collectionID, "objects/")
	if err != nil {
		return nil, err
	}
	// Without HTML escaping, so that each object goes as its own bytes:
	// escaped, every <, > and & would be six, and an object near the
	// server's max_object_size would be refused as too large.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(Envelope{Objects: objects}); err != nil {
		return nil, fmt.Errorf("couldn't encode the envelope: %w", err)
	}
	body := buf.Bytes()
	var st Status
	if _, err := c.do(ctx, http.MethodPost, u, body, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// Status fetches a status resource.
func (c *Client) Status(ctx context.Context, id string) (*Status, error) {
	if id == "" {
		return nil, errors.New("taxii: empty status id")
	}
	u, err := c.rootURL("status/" + url.PathEscape(id) + "/")
	if err != nil {
		return nil, err
	}
	st, _, err := get[Status](ctx, c, u)
	return st, err
}

// resolve resolves ref against BaseURL.
func (c *Client) resolve(ref string) (string, error) {
	base, err := url.Parse(c.BaseURL)
	if err != nil || base.Scheme == "" || base.Host == "" {
		return "", fmt.Errorf("taxii: base URL %q is not an absolute URL", c.BaseURL)
	}
	if !strings.HasSuffix(base.Path, "/") {
		base.Path += "/"
	}
	r, err := url.Parse(strings.TrimPrefix(ref, "/"))
	if err != nil {
		return "", fmt.Errorf("taxii: couldn't parse %q: %w", ref, err)
	}
	return base.ResolveReference(r).String(), nil
}

// rootURL returns the URL of rel under the API root.
func (c *Client) rootURL(rel string) (string, error) {
	root := c.Root
	if root == "" {
		root = DefaultAPIRootPath
	}
	if !strings.HasSuffix(root, "/") {
		root += "/"
	}
	if u, err := url.Parse(root); err == nil && u.IsAbs() {
		return root + rel, nil
	}
	return c.resolve(root + rel)
}

func (c *Client) collectionURL(id, rel string) (string, error) {
	if id == "" {
		return "", errors.New("taxii: empty collection id")
	}
	return c.rootURL("collections/" + url.PathEscape(id) + "/" + rel)
}

func withQuery(u string, q Query) string {
	if enc := q.Values().Encode(); enc != "" {
		return u + "?" + enc
	}
	return u
}

func dateAdded(h http.Header) DateAddedRange {
	var r DateAddedRange
	if t, err := ParseTimestamp(h.Get(HeaderDateAddedFirst)); err == nil {
		r.First = t
	}
	if t, err := ParseTimestamp(h.Get(HeaderDateAddedLast)); err == nil {
		r.Last = t
	}
	return r
}

// get GETs u and decodes the response into a new T, which it returns with
// the response's headers; errors are those of [Client.do].
func get[T any](ctx context.Context, c *Client, u string) (*T, http.Header, error) {
	var v T
	hdr, err := c.do(ctx, http.MethodGet, u, nil, &v)
	if err != nil {
		return nil, nil, err
	}
	return &v, hdr, nil
}

// do sends one request and decodes a successful response into out. Its
// errors never hold the client's token or password (see [Client.redact]).
func (c *Client) do(ctx context.Context, method, u string, body []byte, out any) (hdr http.Header, err error) {
	defer func() {
		if err != nil {
			err = c.redact(err)
		}
	}()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("taxii: couldn't make the request: %w", err)
	}
	req.Header.Set("Accept", MediaType)
	if body != nil {
		req.Header.Set("Content-Type", MediaType)
	}
	switch {
	case c.Token != "":
		req.Header.Set("Authorization", "Bearer "+c.Token)
	case c.User != "":
		req.SetBasicAuth(c.User, c.Password)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("couldn't reach the taxii server: %w", untrusted.ClipURLError(err))
	}
	defer resp.Body.Close()
	max := c.MaxResponseBytes
	if max <= 0 {
		max = DefaultMaxResponseBytes
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, fmt.Errorf("couldn't read the taxii response from %s: %w", untrusted.URLRedacted(req.URL), err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("the taxii response from %s is larger than %d bytes", untrusted.URLRedacted(req.URL), max)
	}
	if resp.StatusCode >= 300 {
		re := &ResponseError{StatusCode: resp.StatusCode, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
		var e Error
		if json.Unmarshal(b, &e) == nil && e.Title != "" {
			e.Title, e.Description = c.scrub(e.Title), c.scrub(e.Description)
			re.Err = &e
		}
		return nil, re
	}
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || mt != "application/taxii+json" || (params["version"] != "" && params["version"] != "2.1") {
		return nil, fmt.Errorf("the server at %s answered with media type %q, not %s", untrusted.URLRedacted(req.URL), untrusted.Text(c.scrub(resp.Header.Get("Content-Type")), maxErrorText), MediaType)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return nil, fmt.Errorf("couldn't decode the taxii response from %s: %w", untrusted.URLRedacted(req.URL), err)
	}
	return resp.Header, nil
}

// redactedMark replaces a credential in an error's text.
const redactedMark = "[redacted]"

// redact returns err, or, when its text holds the client's token or
// password (as sent: the Basic credentials in base64 too, and escaped as
// in a URL), an error with the same chain whose text has them replaced.
// The server chooses much of an error's text (its error message, media
// type, the URL it redirects to), and a server that echoes the
// credentials it was sent would otherwise have them recorded wherever the
// error goes: a feed's status and the node's database, logs, a terminal.
func (c *Client) redact(err error) error {
	msg := err.Error()
	if redacted := c.scrub(msg); redacted != msg {
		return &redactedError{err: err, msg: redacted}
	}
	return err
}

// scrub returns s with the client's token or password replaced (see
// [Client.redact]). The server's text is scrubbed before it is cut to
// maxErrorText too, so that a cut can't leave part of a secret.
func (c *Client) scrub(s string) string {
	var secrets []string
	if c.Token != "" {
		secrets = append(secrets, c.Token)
	} else if c.User != "" && c.Password != "" {
		secrets = append(secrets, base64.StdEncoding.EncodeToString([]byte(c.User+":"+c.Password)), c.Password)
	}
	for _, secret := range secrets {
		for _, form := range []string{secret, url.QueryEscape(secret), url.PathEscape(secret)} {
			s = strings.ReplaceAll(s, form, redactedMark)
		}
	}
	return s
}

// redactedError is an error whose text had credentials taken out; it
// unwraps to the original, so that errors.Is and errors.As still work.
type redactedError struct {
	err error
	msg string
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
