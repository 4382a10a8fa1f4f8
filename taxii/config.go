package taxii

import (
	"context"
	"log/slog"
	"strings"
	"time"
)

// Config configures the handler returned by NewHandler. The zero value is
// usable: every zero field takes the default documented beside it.
type Config struct {
	// Title, Description and Contact are served by discovery.
	Title       string // default "Parley"
	Description string
	Contact     string

	// APIRootPath is the URL path of the one API root, with a leading and
	// a trailing slash. Default "/api/".
	APIRootPath string
	// APIRootTitle and APIRootDescription are served as the API root
	// information. Default title: Title.
	APIRootTitle       string
	APIRootDescription string

	// PublicURL is the scheme and host clients use to reach the server,
	// such as "https://parley.example" (no path), for the absolute URLs in
	// discovery. Default: taken from each request (its Host, and https
	// when it came over TLS or its X-Forwarded-Proto is https).
	PublicURL string

	// MaxContentLength is the largest request body in octets; it is
	// advertised as max_content_length and larger requests get 413 before
	// the body is read. Default 10 MiB.
	MaxContentLength int64
	// MaxObjectsPerRequest is the most objects one add-objects envelope
	// may hold (413 beyond). Default 10,000.
	MaxObjectsPerRequest int
	// MaxObjectSize is the largest STIX object, in bytes of its JSON as
	// sent, that an add-objects envelope may hold: one larger object
	// refuses the whole request with 413 and nothing is stored. Default
	// 1 MiB (1,048,576).
	MaxObjectSize int64
	// MaxJSONDepth is the deepest nesting of arrays and objects accepted in
	// a request body, counting the envelope itself (400 beyond). Default 64.
	MaxJSONDepth int
	// DefaultPageSize is the page size when the client gives no limit, and
	// MaxPageSize the largest limit honoured (a larger limit is lowered to
	// it, as the specification allows). Defaults 100 and 1,000.
	DefaultPageSize int
	MaxPageSize     int

	// MaxPageBytes bounds the objects of one page of the objects and
	// object endpoints: a page ends before an object that would take it
	// over MaxPageBytes (with more and next set), though it always holds
	// one object. Default 4 MiB.
	MaxPageBytes int64
	// Gate, when not nil, bounds the memory of responses in flight: before
	// the objects or object endpoint reads a page, it reserves
	// MaxPageBytes + 2×MaxObjectSize + 64 KiB of it (the page, and the
	// row that ends it twice over: as read and as copied), and gives
	// them back once the page is written. A request that can't get them
	// within 30 seconds is answered 503 with Retry-After.
	Gate Gate
	// EnvelopeGate, if set, bounds the memory of the envelopes being
	// received (POST objects): before it reads a body, a request reserves
	// envelopeMemoryFactor bytes per byte of its Content-Length (of
	// MaxContentLength without one) and gives them back when it is
	// answered. A request that can't get them within 30 seconds is
	// answered 503 with Retry-After, and nothing of it is stored. It is a
	// budget of its own, so that writers never hold back readers' pages.
	EnvelopeGate Gate
	// WriteTimeout bounds how long writing one object of a response may
	// take, so that a client that stops reading doesn't hold its
	// reservation of Gate forever. Default 30s.
	WriteTimeout time.Duration

	// Logger receives one line per failed request (and the details of
	// internal errors, which clients never see). Default: discard.
	Logger *slog.Logger
}

// Gate is a budget of memory in bytes shared by the requests in flight
// (a weighted semaphore). Reservations are made for a holder, the
// [Principal]'s MemberID, so that a server can share the budget out
// between members who don't trust each other.
type Gate interface {
	// Acquire reserves n bytes for holder, waiting until they are free
	// or ctx is done (then it returns ctx's error and holds nothing).
	Acquire(ctx context.Context, holder string, n int64) error
	// Release gives back n bytes of a successful Acquire(ctx, holder, n).
	Release(holder string, n int64)
}

// Defaults of [Config].
const (
	DefaultAPIRootPath          = "/api/"
	DefaultMaxContentLength     = 10 << 20
	DefaultMaxObjectsPerRequest = 10000
	DefaultMaxObjectSize        = 1 << 20
	DefaultMaxPageBytes         = 4 << 20
	DefaultWriteTimeout         = 30 * time.Second
	DefaultMaxJSONDepth         = 64
	DefaultPageSize             = 100
	DefaultMaxPageSize          = 1000
)

// withDefaults returns c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if c.Title == "" {
		c.Title = "Parley"
	}
	if c.APIRootPath == "" {
		c.APIRootPath = DefaultAPIRootPath
	}
	if !strings.HasPrefix(c.APIRootPath, "/") {
		c.APIRootPath = "/" + c.APIRootPath
	}
	if !strings.HasSuffix(c.APIRootPath, "/") {
		c.APIRootPath += "/"
	}
	if c.APIRootTitle == "" {
		c.APIRootTitle = c.Title
	}
	c.PublicURL = strings.TrimSuffix(c.PublicURL, "/")
	if c.MaxContentLength <= 0 {
		c.MaxContentLength = DefaultMaxContentLength
	}
	if c.MaxObjectsPerRequest <= 0 {
		c.MaxObjectsPerRequest = DefaultMaxObjectsPerRequest
	}
	if c.MaxObjectSize <= 0 {
		c.MaxObjectSize = DefaultMaxObjectSize
	}
	if c.MaxPageBytes <= 0 {
		c.MaxPageBytes = DefaultMaxPageBytes
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.MaxJSONDepth <= 0 {
		c.MaxJSONDepth = DefaultMaxJSONDepth
	}
	if c.MaxPageSize <= 0 {
		c.MaxPageSize = DefaultMaxPageSize
	}
	if c.DefaultPageSize <= 0 {
		c.DefaultPageSize = DefaultPageSize
	}
	if c.DefaultPageSize > c.MaxPageSize {
		c.DefaultPageSize = c.MaxPageSize
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}
