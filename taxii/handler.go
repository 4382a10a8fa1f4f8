package taxii

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/parley-exchange/parley/internal/held"
)

// Headers of TAXII 2.1 section 3.3.
const (
	HeaderDateAddedFirst = "X-TAXII-Date-Added-First"
	HeaderDateAddedLast  = "X-TAXII-Date-Added-Last"
)

// StatusClientClosedRequest is the status logged, never sent, for a
// request whose client went away before its answer: nginx's 499 "client
// closed request". It is not a server error.
const StatusClientClosedRequest = 499

// ErrClientGone is the cause ([context.Cause]) of a request's context
// canceled because its client went away (closed its connection or reset
// its stream) before the answer. It wraps [context.Canceled]. When the
// handler fails a request whose context has this cause ([ClientGone]), it
// writes nothing and logs the request at Info as closed by the client
// (status [StatusClientClosedRequest]), not as a failure.
//
// net/http cancels a request's context with a bare context.Canceled,
// which doesn't tell a client that left from a read deadline that
// passed, so the server in front of the handler sets this cause itself
// (a Parley node's front door does); without it a canceled request is
// answered and logged as any other failure.
var ErrClientGone = fmt.Errorf("taxii: the client went away: %w", context.Canceled)

// ClientGone reports whether r's client went away before its answer: r's
// context is done with the cause [ErrClientGone].
func ClientGone(r *http.Request) bool {
	ctx := r.Context()
	return ctx.Err() != nil && errors.Is(context.Cause(ctx), ErrClientGone)
}

// DiscoveryPath is where the discovery resource is served (section 4.1).
const DiscoveryPath = "/taxii2/"

// Error kinds that only the handler produces; they map to HTTP statuses in
// [classify] like the exported sentinels.
var (
	errMethodNotAllowed     = errors.New("taxii: method not allowed")
	errNotAcceptable        = errors.New("taxii: not acceptable")
	errUnsupportedMediaType = errors.New("taxii: unsupported media type")
	errUnavailable          = errors.New("taxii: busy")
	errRequestTimeout       = errors.New("taxii: request body timeout")
)

// unavailableRetryAfter is the Retry-After (seconds) of [ErrUnavailable].
const unavailableRetryAfter = "5"

// gateWait is how long a request waits for its reservation of
// [Config].Gate before it is answered 503.
const gateWait = 30 * time.Second

// envelopeMemoryFactor is how many bytes a POST of objects is taken to
// hold per byte of its body while it is handled: the body, each object
// copied out of it, and what the backend derives from each (parsed and
// canonical forms, signatures, log entries). A Parley node's heap grew
// by 2–3.5 live bytes per body byte, 6–11 with its garbage, in
// BenchmarkAddObjectsMemory (internal/node); the node's budget doubles
// the reservation again for the collector.
const envelopeMemoryFactor = 6

// NewHandler returns an [http.Handler] serving TAXII 2.1 over b: discovery
// at [DiscoveryPath] and one API root at cfg.APIRootPath, with its
// collections, objects, object, versions, manifest and status endpoints.
// Every other path, method or failure is answered with an error message
// resource. Mount it for both paths, for example
//
//	mux.Handle(taxii.DiscoveryPath, h)
//	mux.Handle(cfg.APIRootPath, h)
//
// and also at "/" if it should answer every path no other route takes, so
// that unknown paths get a TAXII 404 error resource too.
//
// Every request needs a bearer token that b authenticates. For TAXII
// clients that cannot send one, "Authorization: Token TOKEN" (the OASIS
// Python client's TokenAuth) and HTTP Basic authentication whose password
// is the token are accepted too. DELETE of an object is refused with 405:
// Parley's store is append-only.
func NewHandler(cfg Config, b Backend) http.Handler {
	cfg = cfg.withDefaults()
	return &handler{cfg: cfg, b: b, log: cfg.Logger}
}

type handler struct {
	cfg Config
	b   Backend
	log *slog.Logger
}

// endpoint names the resource a request addresses.
type endpoint int

const (
	epDiscovery endpoint = iota
	epAPIRoot
	epCollections
	epCollection
	epObjects
	epObject
	epVersions
	epManifest
	epStatus
)

// route is a parsed request path.
type route struct {
	ep         endpoint
	collection string
	object     string
	status     string
	methods    []string
}

// endpointPatterns are the labels of [EndpointPattern], by endpoint.
var endpointPatterns = [...]string{
	epDiscovery:   "discovery",
	epAPIRoot:     "api-root",
	epCollections: "collections",
	epCollection:  "collection",
	epObjects:     "objects",
	epObject:      "object",
	epVersions:    "versions",
	epManifest:    "manifest",
	epStatus:      "status",
}

// EndpointPattern names the TAXII 2.1 endpoint that path addresses under
// the API root apiRootPath ("" for [DefaultAPIRootPath]), without the
// ids in it: "discovery", "api-root", "collections", "collection",
// "objects", "object", "versions", "manifest" or "status"; ok is false
// for a path that names no resource. A node labels its metrics with it:
// a fixed, small set of values that reveals no collection or object id.
func EndpointPattern(apiRootPath, path string) (pattern string, ok bool) {
	if apiRootPath == "" {
		apiRootPath = DefaultAPIRootPath
	}
	rt, ok := parsePath(apiRootPath, path)
	if !ok {
		return "", false
	}
	return endpointPatterns[rt.ep], true
}

// Endpoints returns every label [EndpointPattern] gives, one per
// endpoint the handler serves, in a fixed order: for a test that must
// meet each endpoint (a node's check that a hidden and an absent id are
// answered alike on all of them), so that a new one is not forgotten.
func Endpoints() []string {
	return append([]string(nil), endpointPatterns[:]...)
}

// parsePath maps a URL path to a route; ok is false for paths that name no
// resource.
func (h *handler) parsePath(path string) (route, bool) {
	return parsePath(h.cfg.APIRootPath, path)
}

func parsePath(root, path string) (route, bool) {
	// HEAD is served wherever GET is, with the same status and headers
	// and no body (RFC 9110 section 9.3.2: general-purpose servers must
	// support GET and HEAD), as on the node's other routes.
	get := []string{http.MethodGet, http.MethodHead}
	if path == DiscoveryPath || path+"/" == DiscoveryPath {
		return route{ep: epDiscovery, methods: get}, true
	}
	if path+"/" == root {
		path = root
	}
	rest, ok := strings.CutPrefix(path, root)
	if !ok {
		return route{}, false
	}
	rest = strings.TrimSuffix(rest, "/")
	if rest == "" {
		return route{ep: epAPIRoot, methods: get}, true
	}
	seg := strings.Split(rest, "/")
	for _, s := range seg {
		if s == "" {
			return route{}, false
		}
	}
	switch {
	case len(seg) == 1 && seg[0] == "collections":
		return route{ep: epCollections, methods: get}, true
	case len(seg) == 2 && seg[0] == "collections":
		return route{ep: epCollection, collection: seg[1], methods: get}, true
	case len(seg) == 3 && seg[0] == "collections" && seg[2] == "objects":
		return route{ep: epObjects, collection: seg[1], methods: []string{http.MethodGet, http.MethodHead, http.MethodPost}}, true
	case len(seg) == 3 && seg[0] == "collections" && seg[2] == "manifest":
		return route{ep: epManifest, collection: seg[1], methods: get}, true
	case len(seg) == 4 && seg[0] == "collections" && seg[2] == "objects":
		return route{ep: epObject, collection: seg[1], object: seg[3], methods: get}, true
	case len(seg) == 5 && seg[0] == "collections" && seg[2] == "objects" && seg[4] == "versions":
		return route{ep: epVersions, collection: seg[1], object: seg[3], methods: get}, true
	case len(seg) == 2 && seg[0] == "status":
		return route{ep: epStatus, status: seg[1], methods: get}, true
	}
	return route{}, false
}

// ServeHTTP checks, in order: the path (404), the method (405), the
// credentials (401), the Accept header (406), then hands over to the
// endpoint.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rt, ok := h.parsePath(r.URL.Path)
	if !ok {
		h.fail(w, r, Principal{}, &RequestError{Kind: ErrNotFound, Message: "no TAXII resource at this path"})
		return
	}
	if !allowed(rt.methods, r.Method) {
		w.Header().Set("Allow", strings.Join(rt.methods, ", "))
		msg := fmt.Sprintf("%s is not supported here; allowed: %s", truncate(r.Method), strings.Join(rt.methods, ", "))
		if rt.ep == epObject && r.Method == http.MethodDelete {
			msg = "objects cannot be deleted: this server's store is append-only"
		}
		h.fail(w, r, Principal{}, &RequestError{Kind: errMethodNotAllowed, Message: msg})
		return
	}
	p, err := h.authenticate(r)
	if err != nil {
		h.fail(w, r, Principal{}, err)
		return
	}
	if !acceptable(r.Header.Values("Accept")) {
		h.fail(w, r, p, &RequestError{Kind: errNotAcceptable, Message: "send Accept: " + MediaType + "; this server responds with nothing else"})
		return
	}
	ctx := r.Context()
	switch rt.ep {
	case epDiscovery:
		h.discovery(w, r, p)
	case epAPIRoot:
		h.respond(w, r, p, http.StatusOK, APIRoot{
			Title:            h.cfg.APIRootTitle,
			Description:      h.cfg.APIRootDescription,
			Versions:         []string{MediaType},
			MaxContentLength: h.cfg.MaxContentLength,
		})
	case epCollections:
		cs, err := h.b.Collections(ctx, p)
		if err != nil {
			h.fail(w, r, p, err)
			return
		}
		for i := range cs {
			cs[i] = withMediaTypes(cs[i])
		}
		h.respond(w, r, p, http.StatusOK, Collections{Collections: cs})
	case epCollection:
		c, err := h.b.Collection(ctx, p, rt.collection)
		if err != nil {
			h.fail(w, r, p, err)
			return
		}
		h.respond(w, r, p, http.StatusOK, withMediaTypes(c))
	case epObjects:
		if r.Method == http.MethodPost {
			h.addObjects(w, r, p, rt)
			return
		}
		h.getObjects(w, r, p, rt)
	case epObject, epVersions, epManifest:
		h.getObjects(w, r, p, rt)
	case epStatus:
		st, err := h.b.Status(ctx, p, rt.status)
		if err != nil {
			h.fail(w, r, p, err)
			return
		}
		h.respond(w, r, p, http.StatusOK, st)
	}
}

func (h *handler) discovery(w http.ResponseWriter, r *http.Request, p Principal) {
	base := h.cfg.PublicURL
	if base == "" {
		// Behind a TLS-terminating proxy the request arrives over plain
		// HTTP; the proxy's X-Forwarded-Proto tells the scheme the
		// client used. Only http and https are taken, and a client that
		// sends it itself only changes the URLs it is shown.
		scheme := "http"
		if p := strings.ToLower(strings.TrimSpace(r.Header.Get("X-Forwarded-Proto"))); r.TLS != nil || p == "https" {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	root := base + h.cfg.APIRootPath
	h.respond(w, r, p, http.StatusOK, Discovery{
		Title:       h.cfg.Title,
		Description: h.cfg.Description,
		Contact:     h.cfg.Contact,
		Default:     root,
		APIRoots:    []string{root},
	})
}

// readableCollection returns ErrNotFound or ErrForbidden unless p may
// read the collection.
func (h *handler) readableCollection(ctx context.Context, p Principal, id string) error {
	c, err := h.b.Collection(ctx, p, id)
	if err != nil {
		return err
	}
	if !c.CanRead {
		return &RequestError{Kind: ErrForbidden, Message: "you may not read this collection"}
	}
	return nil
}

// getObjects serves the objects, object, versions and manifest endpoints,
// which differ only in the filters they allow and how a page is rendered.
func (h *handler) getObjects(w http.ResponseWriter, r *http.Request, p Principal, rt route) {
	ctx := r.Context()
	values, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		h.fail(w, r, p, BadRequest("the query string is malformed"))
		return
	}
	q, err := ParseQuery(values)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	switch {
	case q.Limit == 0:
		q.Limit = h.cfg.DefaultPageSize
	case q.Limit > h.cfg.MaxPageSize:
		q.Limit = h.cfg.MaxPageSize
	}
	if rt.ep == epObject || rt.ep == epVersions {
		// These endpoints address one object; match[id] and match[type]
		// are not theirs (section 5.5 and 5.7).
		if !validID(rt.object) {
			h.fail(w, r, p, &RequestError{Kind: ErrNotFound, Message: "no such object"})
			return
		}
		q.IDs, q.Types = []string{rt.object}, nil
	}
	if rt.ep == epVersions {
		q.Versions = VersionMatch{All: true}
	}
	if rt.ep == epManifest || rt.ep == epVersions {
		q.WithoutObjects = true
	} else {
		q.MaxBytes = h.cfg.MaxPageBytes
	}
	if err := h.readableCollection(ctx, p, rt.collection); err != nil {
		h.fail(w, r, p, err)
		return
	}
	if !q.WithoutObjects && h.cfg.Gate != nil {
		n := h.cfg.MaxPageBytes + 2*h.cfg.MaxObjectSize + 64<<10
		release, ok := h.reserve(w, r, p, h.cfg.Gate, n, "the server is busy sending other objects; retry shortly", func(ctx context.Context) error {
			return h.readableCollection(ctx, p, rt.collection)
		})
		if !ok {
			return
		}
		defer release()
	}
	page, err := h.b.Objects(ctx, p, rt.collection, q)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	if (rt.ep == epObject || rt.ep == epVersions) && len(page.Items) == 0 && q.Next == "" {
		// 404 is for an object the collection does not hold. One it
		// holds whose versions the filters (added_after,
		// match[spec_version], a version timestamp) all leave out is an
		// empty page, as at the OASIS reference server: a client that
		// polls an object for new versions must not read "gone".
		exists, err := h.objectExists(ctx, p, rt)
		if err != nil {
			h.fail(w, r, p, err)
			return
		}
		if !exists {
			h.fail(w, r, p, &RequestError{Kind: ErrNotFound, Message: "no such object"})
			return
		}
	}
	setDateAddedHeaders(w.Header(), page.Items)
	next := ""
	if page.More {
		next = page.Next
	}
	switch rt.ep {
	case epManifest:
		m := Manifest{More: page.More, Next: next}
		for _, it := range page.Items {
			mt := it.MediaType
			if mt == "" {
				mt = STIXMediaType
			}
			m.Objects = append(m.Objects, ManifestRecord{
				ID: it.ID, DateAdded: FormatTimestamp(it.DateAdded), Version: it.Version, MediaType: mt,
			})
		}
		h.respond(w, r, p, http.StatusOK, m)
	case epVersions:
		v := Versions{More: page.More, Next: next}
		for _, it := range page.Items {
			v.Versions = append(v.Versions, it.Version)
		}
		h.respond(w, r, p, http.StatusOK, v)
	default:
		env := Envelope{More: page.More, Next: next}
		for _, it := range page.Items {
			if len(it.Object) == 0 {
				h.fail(w, r, p, fmt.Errorf("backend returned %s without its object", it.ID))
				return
			}
			env.Objects = append(env.Objects, it.Object)
			if it.Opening != nil {
				env.Openings = append(env.Openings, *it.Opening)
			}
		}
		if len(env.Openings) != len(env.Objects) {
			env.Openings = nil // all or none: they pair with objects by position
		}
		h.respond(w, r, p, http.StatusOK, env)
	}
}

// objectExists reports whether the collection of rt holds any version of
// rt's object that p may read, whatever the request's filters.
func (h *handler) objectExists(ctx context.Context, p Principal, rt route) (bool, error) {
	page, err := h.b.Objects(ctx, p, rt.collection, Query{
		IDs: []string{rt.object}, Versions: VersionMatch{All: true}, Limit: 1, WithoutObjects: true,
	})
	if err != nil {
		return false, err
	}
	return len(page.Items) > 0, nil
}

// setDateAddedHeaders sets the X-TAXII-Date-Added-First/Last headers
// (section 3.3) from the oldest and newest date added in items.
func setDateAddedHeaders(hdr http.Header, items []Item) {
	if len(items) == 0 {
		return
	}
	first, last := items[0].DateAdded, items[0].DateAdded
	for _, it := range items[1:] {
		if it.DateAdded.Before(first) {
			first = it.DateAdded
		}
		if it.DateAdded.After(last) {
			last = it.DateAdded
		}
	}
	hdr.Set(HeaderDateAddedFirst, FormatTimestamp(first))
	hdr.Set(HeaderDateAddedLast, FormatTimestamp(last))
}

// reserve takes n bytes of g for the request of p, waiting up to
// gateWait; when they don't come it answers 503 with Retry-After and busy
// as the message, and returns false. After a true, the caller gives the
// bytes back with release.
//
// While it waits it checks again, every holdRecheck, that the request's
// token still authenticates p and that still (when not nil) holds: a
// member revoked meanwhile, or whose read of the collection was taken,
// gets the answer it would get if it asked now (401, 403 or 404) at once,
// not after the wait.
func (h *handler) reserve(w http.ResponseWriter, r *http.Request, p Principal, g Gate, n int64, busy string, still func(context.Context) error) (release func(), ok bool) {
	ctx, cancel := context.WithTimeout(r.Context(), gateWait)
	defer cancel()
	err, ended := held.Watch(ctx, holdRecheck, func(ctx context.Context) error {
		return h.stillHeld(ctx, r, p, still)
	}, func(ctx context.Context) error { return g.Acquire(ctx, p.MemberID, n) })
	if ended {
		h.fail(w, r, p, err)
		return nil, false
	}
	if err != nil {
		h.fail(w, r, p, &RequestError{Kind: errUnavailable, Message: busy}) // 503 with Retry-After
		return nil, false
	}
	return func() { g.Release(p.MemberID, n) }, true
}

// holdRecheck is how often a request waiting for its reservation checks
// again that it may still have its answer ([handler.reserve]).
const holdRecheck = 250 * time.Millisecond

// stillHeld reports, with the error the request would now get, whether
// the request of p may no longer have its answer: its token no longer
// authenticates p (401), or still fails with a refusal (401, 403 or 404).
// Other failures (a store that doesn't answer for a moment) are not a
// refusal: the request goes on waiting, and is checked again before it
// reads.
func (h *handler) stillHeld(ctx context.Context, r *http.Request, p Principal, still func(context.Context) error) error {
	token, _ := RequestToken(r)
	q, err := h.b.Authenticate(ctx, token)
	if errors.Is(err, ErrUnauthorized) || (err == nil && q.MemberID != p.MemberID) {
		return &RequestError{Kind: ErrUnauthorized, Message: "the bearer token is not valid"}
	}
	if err != nil || still == nil {
		return nil
	}
	if err := still(ctx); err != nil && (errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrForbidden) || errors.Is(err, ErrNotFound)) {
		return err
	}
	return nil
}

// addObjects serves POST objects (section 5.4): it checks the media type
// (415), the size before and while reading (413), the JSON depth and shape
// (400), the number of objects (413) and the size of each object as sent
// (413), then hands the objects to the backend and answers 202 with the
// status resource.
func (h *handler) addObjects(w http.ResponseWriter, r *http.Request, p Principal, rt route) {
	ctx := r.Context()
	if !taxiiMediaType(r.Header.Get("Content-Type")) {
		h.fail(w, r, p, &RequestError{Kind: errUnsupportedMediaType, Message: "the request body must be an envelope of media type " + MediaType})
		return
	}
	limit := h.cfg.MaxContentLength
	if r.ContentLength > limit {
		// Refused before reading. Most HTTP clients send the whole body
		// before they read the answer (no Expect: 100-continue), and a
		// connection closed on unread data is reset, so they would see a
		// reset instead of the 413: for a body up to twice the limit the
		// answer goes out first and the rest is then read and dropped.
		rc := http.NewResponseController(w)
		drain := r.Header.Get("Expect") == "" && r.ContentLength <= 2*limit && rc.EnableFullDuplex() == nil
		h.fail(w, r, p, &RequestError{Kind: ErrTooLarge, Message: fmt.Sprintf("the request body is larger than max_content_length (%d octets)", limit)})
		if drain && rc.Flush() == nil {
			io.Copy(io.Discard, r.Body)
		}
		return
	}
	c, err := h.b.Collection(ctx, p, rt.collection)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	if !c.CanWrite {
		msg := "you may not write to this collection"
		if c.WriteRefusal != "" {
			msg = c.WriteRefusal
		}
		h.fail(w, r, p, &RequestError{Kind: ErrForbidden, Message: msg})
		return
	}
	if h.cfg.EnvelopeGate != nil {
		// The body and the objects parsed from it are held at once, and
		// many writers may send at once: they are reserved first, so the
		// heap stays bounded however many envelopes arrive together. An
		// honest client's Content-Length keeps the reservation to its size.
		n := limit
		if r.ContentLength >= 0 && r.ContentLength < n {
			n = r.ContentLength
		}
		n = n*envelopeMemoryFactor + 64<<10
		release, ok := h.reserve(w, r, p, h.cfg.EnvelopeGate, n, "the server is busy receiving other objects; retry shortly", nil)
		if !ok {
			return
		}
		defer release()
	}
	// A body of known length is read into one buffer of its size, not
	// grown by doubling, which would leave about as much again as garbage.
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength) + bytes.MinRead)
	}
	_, err = buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit))
	body := buf.Bytes()
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.fail(w, r, p, &RequestError{Kind: ErrTooLarge, Message: fmt.Sprintf("the request body is larger than max_content_length (%d octets)", limit)})
			return
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			// The body read deadline the server set (a Parley node's
			// body_read_timeout) passed: a slow or stalled client.
			h.fail(w, r, p, &RequestError{Kind: errRequestTimeout, Message: "the request body did not arrive in time"})
			return
		}
		h.fail(w, r, p, BadRequest("couldn't read the request body"))
		return
	}
	objects, err := parseEnvelope(body, h.cfg.MaxJSONDepth, h.cfg.MaxObjectsPerRequest)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	// One object over the limit refuses the whole request, before the
	// backend sees any: a client that sends it learns at once, and no
	// half of an envelope is stored.
	for i, o := range objects {
		if int64(len(o)) > h.cfg.MaxObjectSize {
			// The index is the envelope's, which a client that cut its
			// objects into envelopes can't map back: the id too.
			var ref struct {
				ID string `json:"id"`
			}
			named := ""
			if json.Unmarshal(o, &ref) == nil && ref.ID != "" {
				named = fmt.Sprintf(" (objects[%d] is %.200q)", i, ref.ID)
			}
			h.fail(w, r, p, &RequestError{Kind: ErrTooLarge, Message: fmt.Sprintf(
				"objects[%d] is %d bytes; the largest object accepted is max_object_size (%d bytes): nothing was stored%s", i, len(o), h.cfg.MaxObjectSize, named)})
			return
		}
	}
	st, err := h.b.AddObjects(ctx, p, rt.collection, objects)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	h.respond(w, r, p, http.StatusAccepted, st)
}

// parseEnvelope checks the depth of body, decodes it as an envelope and
// returns its objects, each a JSON object.
func parseEnvelope(body []byte, maxDepth, maxObjects int) ([]json.RawMessage, error) {
	if err := checkDepth(body, maxDepth); err != nil {
		return nil, err
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return nil, BadRequest("the request body must be a JSON envelope object with an \"objects\" list")
	}
	objects, err := envelopeObjects(body)
	if err != nil {
		return nil, err
	}
	if objects == nil {
		return nil, BadRequest("the envelope must have an \"objects\" list")
	}
	if len(objects) == 0 {
		return nil, BadRequest("the envelope's \"objects\" list is empty")
	}
	if len(objects) > maxObjects {
		return nil, &RequestError{Kind: ErrTooLarge, Message: fmt.Sprintf("the envelope holds %d objects; at most %d are accepted per request", len(objects), maxObjects)}
	}
	for i, o := range objects {
		if len(o) == 0 || o[0] != '{' {
			return nil, BadRequest("objects[%d] is not a JSON object", i)
		}
	}
	return objects, nil
}

// envelopeObjects returns the "objects" member of the JSON object body
// (nil when it is absent or null). Member names match exactly, and a name
// given twice is refused: encoding/json would match "Objects" too and keep
// the last duplicate, so a proxy or another parser could read a different
// list of objects than the one stored (RFC 7493, I-JSON, §2.3).
func envelopeObjects(body []byte) ([]json.RawMessage, error) {
	invalid := func(err error) error {
		return BadRequest("the request body is not valid JSON: %s", jsonErrorText(err))
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if _, err := dec.Token(); err != nil { // the opening brace (checked by the caller)
		return nil, invalid(err)
	}
	var objects []json.RawMessage
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, invalid(err)
		}
		name, _ := tok.(string)
		if seen[name] {
			return nil, BadRequest("the envelope has the member %q twice", name)
		}
		seen[name] = true
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, invalid(err)
		}
		if name != "objects" {
			continue
		}
		if err := json.Unmarshal(value, &objects); err != nil {
			return nil, BadRequest("the envelope's \"objects\" is not a list")
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, invalid(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, BadRequest("the request body is not valid JSON: data after the envelope at offset %d", dec.InputOffset())
	}
	return objects, nil
}

// jsonErrorText describes a JSON syntax error without echoing input.
func jsonErrorText(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("syntax error at offset %d", se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("unexpected %s at offset %d", te.Value, te.Offset)
	}
	return "malformed"
}

// checkDepth rejects JSON nested deeper than max arrays and objects. It
// only tracks brackets outside strings; syntax is checked by the decoder.
func checkDepth(b []byte, max int) error {
	if JSONDepth(b) > max {
		return BadRequest("the request body is nested deeper than %d levels", max)
	}
	return nil
}

// JSONDepth returns the deepest nesting of arrays and objects of the JSON
// value b, counting only brackets outside strings (a request body's
// check, and the node's of an object a feed or peer relays); its syntax
// is checked elsewhere.
func JSONDepth(b []byte) int {
	depth, deepest := 0, 0
	inString, escaped := false, false
	for _, c := range b {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			deepest = max(deepest, depth)
		case '}', ']':
			depth--
		}
	}
	return deepest
}

// authenticate reads the token with [RequestToken] and asks the backend
// whose it is.
func (h *handler) authenticate(r *http.Request) (Principal, error) {
	token, ok := RequestToken(r)
	if !ok {
		return Principal{}, &RequestError{Kind: ErrUnauthorized, Message: "this request needs a bearer token (Authorization: Bearer TOKEN)"}
	}
	p, err := h.b.Authenticate(r.Context(), token)
	if errors.Is(err, ErrUnauthorized) {
		return Principal{}, &RequestError{Kind: ErrUnauthorized, Message: "the bearer token is not valid"}
	}
	if err != nil {
		return Principal{}, err
	}
	return p, nil
}

// classify is the one place that maps an error to an HTTP status and the
// description a client may read. Errors of unknown kind are internal: the
// client learns nothing of them.
func classify(err error) (status int, description string) {
	kinds := []struct {
		kind   error
		status int
	}{
		{ErrUnauthorized, http.StatusUnauthorized},
		{ErrForbidden, http.StatusForbidden},
		{ErrNotFound, http.StatusNotFound},
		{ErrBadRequest, http.StatusBadRequest},
		{ErrTooLarge, http.StatusRequestEntityTooLarge},
		{ErrInsufficientStorage, http.StatusInsufficientStorage},
		{errMethodNotAllowed, http.StatusMethodNotAllowed},
		{errNotAcceptable, http.StatusNotAcceptable},
		{errUnsupportedMediaType, http.StatusUnsupportedMediaType},
		{errUnavailable, http.StatusServiceUnavailable},
		{ErrUnavailable, http.StatusServiceUnavailable},
		{errRequestTimeout, http.StatusRequestTimeout},
	}
	for _, k := range kinds {
		if errors.Is(err, k.kind) {
			var re *RequestError
			if errors.As(err, &re) && errors.Is(re.Kind, k.kind) {
				return k.status, re.Message
			}
			return k.status, defaultDescription(k.status)
		}
	}
	return http.StatusInternalServerError, "internal error"
}

func defaultDescription(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "the request needs valid credentials"
	case http.StatusForbidden:
		return "you may not do this"
	case http.StatusNotFound:
		return "no such resource"
	case http.StatusRequestEntityTooLarge:
		return "the request exceeds a limit of this server"
	case http.StatusServiceUnavailable:
		return "the server is unavailable; retry later"
	}
	return "the request is invalid"
}

// fail answers with the error message resource for err and logs it; for
// a client that went away ([ClientGone]) it only logs, at Info.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, p Principal, err error) {
	status, desc := classify(err)
	gone := ClientGone(r)
	if gone {
		status = StatusClientClosedRequest
	}
	attrs := []slog.Attr{
		slog.String("method", r.Method),
		slog.String("path", LogPath(r.URL.Path)),
		slog.Int("status", status),
	}
	if p.MemberID != "" {
		attrs = append(attrs, slog.String("member", p.MemberID))
	}
	switch {
	case gone:
		// Whatever failed, it failed because the client left, or nobody
		// is left to tell: not a server error, and nothing to write.
		h.log.LogAttrs(r.Context(), slog.LevelInfo, "taxii request closed by the client", append(attrs, slog.String("error", err.Error()))...)
		return
	case status == http.StatusInternalServerError, errors.Is(err, ErrUnavailable):
		h.log.LogAttrs(r.Context(), slog.LevelError, "taxii request failed", append(attrs, slog.String("error", err.Error()))...)
	default:
		h.log.LogAttrs(r.Context(), slog.LevelInfo, "taxii request refused", append(attrs, slog.String("reason", desc))...)
	}
	switch {
	case status == http.StatusUnauthorized:
		// Both schemes the server takes are offered (RFC 9110 section
		// 11.6.1). TAXII 2.1 makes HTTP Basic the one every client and
		// server supports, and clients that answer challenges rather than
		// send credentials up front (Java's and .NET's HTTP clients given
		// a user name and password) send Basic only when it is offered.
		w.Header().Set("WWW-Authenticate", `Bearer realm="taxii"`)
		w.Header().Add("WWW-Authenticate", `Basic realm="taxii", charset="UTF-8"`)
	case status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "":
		retry := "1"
		if errors.Is(err, ErrUnavailable) {
			retry = unavailableRetryAfter
		}
		w.Header().Set("Retry-After", retry)
	}
	title := http.StatusText(status)
	var re *RequestError
	var details map[string]any
	if errors.As(err, &re) && status != http.StatusInternalServerError {
		if re.Title != "" {
			title = re.Title
		}
		details = re.Details
	}
	h.write(w, r, status, &Error{
		Title:       title,
		Description: desc,
		HTTPStatus:  strconv.Itoa(status),
		Details:     details,
	})
}

// respond writes a successful response.
func (h *handler) respond(w http.ResponseWriter, r *http.Request, p Principal, status int, v any) {
	h.log.LogAttrs(r.Context(), slog.LevelDebug, "taxii request",
		slog.String("method", r.Method), slog.String("path", LogPath(r.URL.Path)),
		slog.Int("status", status), slog.String("member", p.MemberID))
	h.write(w, r, status, v)
}

// write writes v with status, unless the client went away ([ClientGone]).
func (h *handler) write(w http.ResponseWriter, r *http.Request, status int, v any) {
	if ClientGone(r) {
		return
	}
	if env, ok := v.(Envelope); ok {
		h.writeEnvelope(w, status, env)
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		h.log.LogAttrs(r.Context(), slog.LevelError, "taxii response encoding failed",
			slog.String("path", LogPath(r.URL.Path)), slog.String("error", err.Error()))
		status = http.StatusInternalServerError
		b, _ = json.Marshal(&Error{Title: http.StatusText(status), Description: "internal error", HTTPStatus: strconv.Itoa(status)})
	}
	setHeaders(w.Header(), len(b)+1)
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func setHeaders(hdr http.Header, length int) {
	hdr.Set("Content-Type", MediaType)
	hdr.Set("Content-Length", strconv.Itoa(length))
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
}

// writeEnvelope writes env as json.Marshal would, but streams the
// objects to w one by one, verbatim (not re-validated and compacted,
// which is most of the cost of serving a page; [Item] requires valid
// JSON), so that serving a page holds no copy of it; and an envelope
// without objects has an empty "objects" list, where json.Marshal would
// leave it out (see [appendEnvelopeHead]). Each object must be written
// within Config.WriteTimeout.
func (h *handler) writeEnvelope(w http.ResponseWriter, status int, env Envelope) {
	head := appendEnvelopeHead(nil, env)
	tail := appendEnvelopeTail(nil, env)
	size := len(head) + len(tail)
	if len(env.Objects) > 0 {
		size += len(env.Objects) - 1
		for _, o := range env.Objects {
			size += len(o)
		}
	}
	setHeaders(w.Header(), size)
	w.WriteHeader(status)
	rc := http.NewResponseController(w)
	defer rc.SetWriteDeadline(time.Time{}) // the connection may serve more requests
	send := func(b []byte) bool {
		rc.SetWriteDeadline(time.Now().Add(h.cfg.WriteTimeout)) // unsupported by some writers: then none
		_, err := w.Write(b)
		return err == nil
	}
	if !send(head) {
		return
	}
	for i, o := range env.Objects {
		if i > 0 && !send([]byte{','}) {
			return
		}
		if !send(o) {
			return
		}
	}
	send(tail)
}

// appendEnvelopeTail appends what follows the objects: `]`, then
// Parley's x_parley_openings (small: one opening per object), and the
// closing brace.
func appendEnvelopeTail(b []byte, env Envelope) []byte {
	b = append(b, ']')
	if len(env.Openings) > 0 {
		ops, _ := json.Marshal(env.Openings) // plain strings, numbers and bytes always encode
		b = append(b, `,"x_parley_openings":`...)
		b = append(b, ops...)
	}
	return append(b, "}\n"...)
}

// appendEnvelopeHead appends the envelope's members before its objects:
// `{"more":…,"next":…,"objects":[`. The list is there even when empty
// (the specification makes it optional): Elastic's TAXII input reads
// body.objects without checking for it, and fails every poll that finds
// nothing new on an envelope without it.
func appendEnvelopeHead(b []byte, env Envelope) []byte {
	b = append(b, `{"more":`...)
	b = strconv.AppendBool(b, env.More)
	if env.Next != "" {
		next, _ := json.Marshal(env.Next) // a string always encodes
		b = append(b, `,"next":`...)
		b = append(b, next...)
	}
	return append(b, `,"objects":[`...)
}

func allowed(methods []string, m string) bool {
	for _, x := range methods {
		if x == m {
			return true
		}
	}
	return false
}

func withMediaTypes(c Collection) Collection {
	if len(c.MediaTypes) == 0 {
		c.MediaTypes = []string{STIXMediaType}
	}
	return c
}

// taxiiMediaType reports whether a Content-Type names the TAXII 2.1 media
// type: application/taxii+json with version 2.1 or no version.
func taxiiMediaType(v string) bool {
	mt, params, err := mime.ParseMediaType(v)
	if err != nil || mt != "application/taxii+json" {
		return false
	}
	ver, ok := params["version"]
	return !ok || ver == "2.1"
}

// acceptable reports whether the Accept header values allow a TAXII 2.1
// response (section 1.6.8.1), application/taxii+json;version=2.1. Its
// weight is the q of the most specific range that matches it (RFC 9110
// section 12.5.1: one with version=2.1 over application/taxii+json, over
// application/*, over */*; parameters other than version, such as
// charset, are not looked at, as before); at equal specificity the lowest q holds, so an
// explicit q=0 ("not acceptable", section 12.4.2) is never outweighed.
// The response is acceptable if that q is above 0 and the range names
// application/taxii+json: TAXII clients must send the header, so a
// missing one, or only wildcards, gets 406 as from the OASIS reference
// server. Ranges that don't parse, or whose q is not a number from 0 to
// 1, are ignored.
func acceptable(values []string) bool {
	best, q := -1, 0.0
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			mt, params, err := mime.ParseMediaType(part)
			if err != nil {
				continue
			}
			w := 1.0
			if qs, ok := params["q"]; ok {
				if w, err = strconv.ParseFloat(qs, 64); err != nil || !(w >= 0 && w <= 1) {
					continue
				}
				delete(params, "q")
			}
			var spec int
			switch {
			case mt == "*/*":
				spec = 0
			case mt == "application/*":
				spec = 1
			case mt == "application/taxii+json":
				spec = 2
				if ver, ok := params["version"]; ok {
					if ver != "2.1" {
						continue // another version: not this response
					}
					spec = 3
				}
			default:
				continue
			}
			if spec > best || spec == best && w < q {
				best, q = spec, w
			}
		}
	}
	return best >= 2 && q > 0
}
