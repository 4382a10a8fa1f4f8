package taxii

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Principal is the authenticated party making a request: a member, named
// by its STIX identity id.
type Principal struct {
	MemberID string
}

// Backend is what the handler serves. Parley's node implements it over its
// store; the handler takes care of the protocol (media types, limits,
// query syntax, envelopes, error resources) and calls the backend with a
// parsed, validated request.
//
// Errors: a backend returns the sentinels below (possibly wrapped) for the
// outcomes a client must see, or a [*RequestError] to send a message the
// client may read. Any other error becomes 500 "internal error" and is only
// logged, so it may carry details that must not leave the server.
//
// Access control is the backend's: the handler checks the [Collection]
// flags it returns before calling Objects or AddObjects, but the backend
// must enforce the same rules itself.
type Backend interface {
	// Authenticate maps a bearer token to a principal. It returns
	// [ErrUnauthorized] for an unknown token. It must compare in constant
	// time and must not log the token.
	Authenticate(ctx context.Context, token string) (Principal, error)

	// Collections lists the collections p may read or write, with
	// CanRead/CanWrite set for p, in a stable order. Collections p may
	// neither read nor write are left out, as if they did not exist.
	Collections(ctx context.Context, p Principal) ([]Collection, error)

	// Collection returns one collection as Collections would, or
	// [ErrNotFound] when it does not exist or p may neither read nor write
	// it (the two must be indistinguishable).
	Collection(ctx context.Context, p Principal, id string) (Collection, error)

	// Objects returns one page of the object versions of a collection that
	// match q, ordered by date added (oldest first). It returns
	// [ErrNotFound] as Collection does and [ErrForbidden] when p may not
	// read the collection. The same call serves the objects, object,
	// versions and manifest endpoints; see [Query] and [Page].
	//
	// Cursor contract: Page.Next is opaque to clients and the handler. A
	// backend must keep honouring every Next it issued, after a restart and
	// on any replica (so it must be stateless: encode the position, for
	// example a monotonic sequence number of the last item returned, not a
	// server-side session), and paging with it must neither skip nor
	// repeat an item while other objects are being added. A Next that the
	// backend did not issue is answered with a [*RequestError] of kind
	// [ErrBadRequest]. When q.Next is set, the other filters of q are
	// those of the first request (clients repeat them).
	Objects(ctx context.Context, p Principal, collectionID string, q Query) (Page, error)

	// AddObjects stores objects (each the JSON of one STIX object, as the
	// client sent it, not yet validated) in a collection on behalf of p,
	// and reports the outcome per object in a [Status] with an ID that
	// [Backend.Status] will find. Objects that fail validation are
	// failures with a message; they do not fail the request. It returns
	// [ErrNotFound] as Collection does and [ErrForbidden] when p may not
	// write. When it returns, objects reported as successes are durable.
	AddObjects(ctx context.Context, p Principal, collectionID string, objects []json.RawMessage) (Status, error)

	// Status returns a status resource created by AddObjects, or
	// [ErrNotFound] when it does not exist or p may not see it.
	Status(ctx context.Context, p Principal, id string) (Status, error)
}

// Query is a parsed request for object versions (TAXII 2.1 section 3.4 and
// 3.5). The zero value asks for the latest version of every object from
// the start, one page of the server's default size.
type Query struct {
	// AddedAfter keeps only object versions added strictly after it; zero
	// means no filter.
	AddedAfter time.Time
	// Limit is the largest number of items to return. The handler always
	// passes a value between 1 and Config.MaxPageSize; a backend may
	// return fewer (and then More tells whether there are others).
	Limit int
	// Next is a cursor from a previous [Page.Next], or "".
	Next string
	// IDs, Types and SpecVersions keep items whose id, type or
	// spec_version is one of the values; empty means no filter.
	IDs          []string
	Types        []string
	SpecVersions []string
	// Versions selects versions of each object (match[version]).
	Versions VersionMatch

	// MaxBytes and WithoutObjects are set by the handler, never from the
	// request, to bound the memory of a page.
	//
	// MaxBytes, when > 0, asks the backend to end the page before an
	// object that would take the page's objects over MaxBytes (setting
	// More), though a page always holds at least one item.
	MaxBytes int64
	// WithoutObjects says that the handler won't use [Item].Object (the
	// manifest and versions endpoints): the backend should leave it nil.
	WithoutObjects bool
}

// VersionMatch is the match[version] filter. An item is kept when any
// selected condition holds; the handler sets Last when the client gave no
// match[version], and All for the versions endpoint.
//
// The version of an object is its "modified" property, or "created" when
// it has none, or its date added when it has neither (section 3.4.2).
type VersionMatch struct {
	// All keeps every version.
	All bool
	// First keeps the oldest version of each object.
	First bool
	// Last keeps the newest version of each object.
	Last bool
	// At keeps the versions equal to one of these instants.
	At []time.Time
}

// Item is one object version in a [Page].
type Item struct {
	// ID is the object's id.
	ID string
	// Version is the object's version (see [VersionMatch]) exactly as it
	// appears in the object, such as "2016-04-06T20:03:48.000Z".
	Version string
	// DateAdded is when this version was added to the collection.
	DateAdded time.Time
	// MediaType is the object's media type; "" means [STIXMediaType].
	MediaType string
	// Object is the object's JSON exactly as stored; it must be one valid
	// JSON object, which the handler copies into responses verbatim. The
	// manifest and versions endpoints do not need it, and a backend may
	// leave it nil when [Query].WithoutObjects is set.
	Object json.RawMessage
	// Opening, when not nil, is the object's log entry index and opening,
	// sent in the envelope's x_parley_openings.
	Opening *ObjectOpening
}

// Page is one page of object versions, ordered by DateAdded (oldest
// first).
type Page struct {
	Items []Item
	// More tells whether more items match after this page; Next is then
	// the cursor to get them.
	More bool
	Next string
}

// Sentinel errors a [Backend] returns and [Client] callers may test with
// errors.Is. The handler maps them to HTTP statuses in one place.
var (
	// ErrUnauthorized: no valid credentials (401).
	ErrUnauthorized = errors.New("taxii: unauthorized")
	// ErrForbidden: authenticated, but not allowed this operation (403).
	ErrForbidden = errors.New("taxii: forbidden")
	// ErrNotFound: no such resource, or one the principal may not see
	// (404).
	ErrNotFound = errors.New("taxii: not found")
	// ErrBadRequest: the request is malformed or invalid (400).
	ErrBadRequest = errors.New("taxii: bad request")
	// ErrTooLarge: the request exceeds a limit (413).
	ErrTooLarge = errors.New("taxii: request too large")
	// ErrInsufficientStorage: the server refuses to store what the
	// request holds, such as over the member's storage quota (507).
	ErrInsufficientStorage = errors.New("taxii: insufficient storage")
	// ErrBusy: the server has no room for the request now; the client
	// should retry shortly (503 with Retry-After).
	ErrBusy = errUnavailable
	// ErrUnavailable: the server can't serve the request now because
	// something it depends on, such as its database, can't be reached
	// (503 with Retry-After: 5). Its message must not claim that nothing
	// was stored: a write cut off at its commit may have been. The
	// handler logs it as an error, with the whole error's text.
	ErrUnavailable = errors.New("taxii: service unavailable")
)

// RequestError is an error whose Message may be shown to the client, of a
// Kind that is one of the sentinel errors (errors.Is(err, Kind) holds).
// Backends use it to explain a refusal, such as an invalid cursor.
type RequestError struct {
	Kind    error
	Message string
	// Title, when set, is the error message resource's title instead of
	// the HTTP status text.
	Title string
	// Details, when set, is the error message resource's details: what
	// a client may read of the error by machine (see [Error]).
	Details map[string]any
}

// Error returns the message.
func (e *RequestError) Error() string { return e.Message }

// Unwrap returns the kind.
func (e *RequestError) Unwrap() error { return e.Kind }

// BadRequest returns a [*RequestError] of kind [ErrBadRequest] whose
// message, formatted as with fmt.Sprintf, is shown to the client.
func BadRequest(format string, args ...any) error {
	return &RequestError{Kind: ErrBadRequest, Message: fmt.Sprintf(format, args...)}
}
