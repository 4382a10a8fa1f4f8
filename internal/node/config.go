// Package node wires a Parley node: its configuration and data directory,
// member authentication, default-deny access control, the submission
// pipeline (STIX 2.1 validation, object signatures, the log entry) and the
// HTTP server that serves TAXII 2.1 (OASIS TAXII Version 2.1) over the
// store.
//
// # Data directory
//
//	DIR/config.json  the [Config] (written by [Init], edited by operators)
//	DIR/node.key     the log's note signer key (golang.org/x/mod/sumdb/note)
//	DIR/node.pub     the matching note verifier key, the value members pin
//	DIR/parley.db    the SQLite store (with its -wal and -shm files)
//
// DIR is mode 0700 and every file in it 0600, whatever the umask and even
// when DIR existed before [Init]; [Open] tightens looser modes it finds.
//
// # The HTTP surface
//
// Every route the node serves, with its method and authentication, is a
// row of one table (routes.go, [Node.Handler]); every background worker
// one row of another, started by [Node.Serve] with its logger. Packages
// above node add theirs with [Node.Extend]. Errors of the node's own
// routes are answered in one place (errors.go), requests pass one front
// door (ops.go: request id, body read timeout, access log, metrics).
package node

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/internal/untrusted"
	"github.com/parley-exchange/parley/taxii"
	"golang.org/x/mod/sumdb/note"
)

// Config is the node's configuration and its reference: every field is
// read from DIR/config.json, and a zero (or absent) field takes the
// default written beside it.
type Config struct {
	// Listen is the TCP address the server listens on. Default
	// "127.0.0.1:8080"; `parley serve --listen` overrides it.
	Listen string `json:"listen,omitempty"`
	// PublicURL is the scheme and host clients use to reach the node
	// ("https://parley.example"), used for the absolute URLs of TAXII
	// discovery. Set it when the node is behind a reverse proxy. Default:
	// from each request's Host, with https when the request came over TLS
	// or its X-Forwarded-Proto says https. Anything but
	// http(s)://host[:port] (a trailing "/" allowed) is refused.
	PublicURL string `json:"public_url,omitempty"`
	// TLSCert and TLSKey are PEM files holding the certificate chain and
	// private key the node serves HTTPS with (relative paths are in the
	// data directory); the node reloads them when they change. `parley
	// serve --tls-cert --tls-key` override them. Without them the node
	// serves plain HTTP, and only on a loopback address unless `parley
	// serve --insecure-http` is given.
	TLSCert string `json:"tls_cert,omitempty"`
	TLSKey  string `json:"tls_key,omitempty"`
	// Title is the node's name in TAXII discovery. Default "Parley".
	Title string `json:"title,omitempty"`
	// Origin is the log's origin line in checkpoints and the name of the
	// node key; set once by [Init] and never changed.
	Origin string `json:"origin"`
	// Store names the node's store: "sqlite" (the default; empty means
	// sqlite), the embedded database DIR/parley.db; or a PostgreSQL
	// connection URL, "postgres://..." or "postgresql://...". Every
	// command that opens the node's data (serve, member, collection,
	// feed, audit --data...) opens the store named here. The URL may hold
	// a password: config.json is the operator's alone (mode 0600), and
	// the node never prints the URL.
	Store string `json:"store,omitempty"`

	// MaxContentLength is the largest request body in bytes (413 beyond).
	// Default 10 MiB.
	MaxContentLength int64 `json:"max_content_length,omitempty"`
	// MaxObjectsPerRequest is the most objects in one TAXII envelope (413
	// beyond). Default 10,000.
	MaxObjectsPerRequest int `json:"max_objects_per_request,omitempty"`
	// MaxObjectSize is the largest STIX object in bytes of its JSON, both
	// as sent and as stored (its RFC 8785 canonical form): a request with
	// a larger object is refused whole with 413 and a TAXII error, and
	// nothing of it is stored. It also bounds the memory of every
	// response that carries objects (see ResponseMemory). Default 1 MiB
	// (1048576).
	MaxObjectSize int64 `json:"max_object_size,omitempty"`
	// MemberQuotaBytes is how many bytes of stored object JSON each member
	// may have, summed over every object version it submitted in every
	// collection (identical re-submissions cost nothing). A submission
	// that would go over it is refused whole with 507 and a TAXII error
	// titled "storage quota exceeded" that says the member's use; nothing
	// of it is stored. A member's private sets count too, by the bytes of
	// their tags and lines when published (store.PrivateSetBytes), and a
	// publication over it is refused the same way. Default 1 GiB
	// (1073741824); -1 means no quota.
	MemberQuotaBytes int64 `json:"member_quota_bytes,omitempty"`
	// ResponseMemory is the node's budget, in bytes, for the memory of
	// the responses that carry objects (TAXII objects and object pages,
	// GET /log/objects, GET /log/bundle, GET /peers/bundle, the web UI's
	// pages), shared by
	// all requests in flight. Each reserves what it may hold at once
	// before reading from the store, computed from MaxObjectSize
	// (docs/log.md, "Memory"), so the total stays under the budget, or
	// twice the largest reservation where that is more, however many
	// clients ask and however large the objects; requests beyond it wait
	// (up to 30 s, then 503 with Retry-After). One member holds at most
	// half of it (a larger reservation counts as half), and the member
	// holding least is served first (see memoryBudget).
	// Default 64 MiB (67108864).
	ResponseMemory int64 `json:"response_memory_bytes,omitempty"`
	// EnvelopeMemory is the node's budget, in bytes, for the memory of
	// the envelopes of objects being received (TAXII POST objects),
	// shared by all writers: each reserves 12 bytes per byte of its
	// Content-Length (MaxContentLength without one) before it reads its
	// body, so that writers sending at once can't grow the heap without
	// bound; writers beyond it wait (up to 30 s, then 503 with
	// Retry-After, nothing stored). A budget apart from ResponseMemory,
	// so writers never hold back readers. Shared out between members as
	// ResponseMemory is. Default 256 MiB (268435456): two envelopes of
	// the largest size at once, from two members.
	EnvelopeMemory int64 `json:"envelope_memory_bytes,omitempty"`
	// MaxJSONDepth is the deepest JSON nesting accepted in a request
	// (400 beyond). Default 64. Objects relayed by feeds and replicated
	// from peers are held to it too, less the envelope's two levels
	// (see maxObjectDepth).
	MaxJSONDepth int `json:"max_json_depth,omitempty"`
	// DefaultPageSize and MaxPageSize bound TAXII pages. Defaults 100 and
	// 1,000.
	DefaultPageSize int `json:"default_page_size,omitempty"`
	MaxPageSize     int `json:"max_page_size,omitempty"`

	// ReadHeaderTimeout bounds how long a client may take to send request
	// headers. Default 10s.
	ReadHeaderTimeout Duration `json:"read_header_timeout,omitempty"`
	// IdleTimeout closes idle keep-alive connections. Default 2m.
	IdleTimeout Duration `json:"idle_timeout,omitempty"`
	// UISessionTTL is how long a web UI session lasts after its login,
	// however it is used. Default 8h; at least 1m.
	UISessionTTL Duration `json:"ui_session_ttl,omitempty"`
	// UIIdleTimeout ends a web UI session that made no request proving
	// its browser binding for that long (the session cookie alone keeps
	// nothing alive). Default 1h; at least 1m.
	UIIdleTimeout Duration `json:"ui_idle_timeout,omitempty"`
	// ShutdownTimeout is how long a graceful shutdown waits for requests
	// in flight before closing connections. Default 10s.
	ShutdownTimeout Duration `json:"shutdown_timeout,omitempty"`
	// BodyReadTimeout bounds how long an authenticated request's body
	// may take to arrive, from the handler's first read of it: a slower
	// client gets 408 and its connection is closed, so it can't hold a
	// handler and its memory. Default 30s.
	BodyReadTimeout Duration `json:"body_read_timeout,omitempty"`
	// ReadyMaxLag is how far the log integrator may fall behind (the age
	// of the oldest entry not yet in a signed checkpoint) before GET
	// /readyz answers 503. Default 30s.
	ReadyMaxLag Duration `json:"ready_max_lag,omitempty"`
	// IntegratorLeaseTTL is how long the log integrator's lease lasts
	// unrenewed: after the integrating front end dies (kill -9), how long
	// another front end on the same store waits before it takes over
	// integration. It is renewed when a third of it has passed, so a short
	// one costs a lease write that often. Default 10 s.
	IntegratorLeaseTTL Duration `json:"integrator_lease_ttl,omitempty"`
	// RoundLeaseTTL is how long the lease of a feed's or a peer's round
	// lasts unrenewed (docs/federation.md, "Rounds and front ends"): the
	// front end running a round renews it every sixth of it (5 s by
	// default) while the round runs, however slowly its server answers;
	// after that front end dies (kill -9), the round counts as
	// interrupted (a failed round) at the first look of any front end
	// once it has expired, and until then no other front end runs that
	// feed's or peer's rounds. Default 30 s.
	RoundLeaseTTL Duration `json:"round_lease_ttl,omitempty"`
	// MetricsListen is the TCP address of the Prometheus metrics
	// listener (GET /metrics, no authentication: keep it on the
	// operator's network); empty means no metrics listener. `parley serve
	// --metrics-listen` overrides it.
	MetricsListen string `json:"metrics_listen,omitempty"`
	// FeedCheckInterval is how often a serving node looks for TAXII feeds
	// that are due (each feed has its own interval, parley feed add
	// --every). Default 10s.
	FeedCheckInterval Duration `json:"feed_check_interval,omitempty"`
	// PeerInterval is how often a serving node reads the logs of the
	// peers it follows (parley peer add; docs/federation.md). Default 5s.
	PeerInterval Duration `json:"peer_interval,omitempty"`
	// PeerStep is the most entries of a peer's log replicated in one
	// durable step. Default 4096 (the span of one GET /log/objects).
	PeerStep int `json:"peer_step,omitempty"`
	// Witnesses are the C2SP tlog-witnesses the node submits each new
	// checkpoint to; GET /log/checkpoint, bundles and receipts carry the
	// cosignatures collected (docs/witness.md, "The node side").
	Witnesses []WitnessConfig `json:"witnesses,omitempty"`
}

// WitnessConfig is one witness of the node's log: its URL prefix (where
// it serves /add-checkpoint) and its cosignature verifier key (vkey form).
type WitnessConfig struct {
	URL string `json:"url"`
	Key string `json:"key"`
	// CA is a file of PEM CA certificates: the node trusts only them for
	// an https url, instead of the system's roots (a witness with a
	// certificate from a private CA). A relative path is in the data
	// directory. It is read when the node opens.
	CA string `json:"ca,omitempty"`
	// Mode is how the witness sees the log: "push" (or empty, the
	// default) has the node submit its checkpoints to the witness
	// (add-checkpoint); "pull" is a witness that pulls the log itself
	// (`parley witness serve --pull`): the node never submits to it, and
	// instead fetches its latest cosigned checkpoint (monitor retrieval,
	// GET <url>/<origin hash>/checkpoint) and, when it is one of the
	// node's own checkpoints, adds its cosignature to the one it serves
	// (docs/witness.md, "Pulling witnesses").
	Mode string `json:"mode,omitempty"`
}

// checkPublicURL checks config.json's public_url: empty, or an http(s)
// URL with a host and nothing after it (a trailing "/" is allowed). TAXII
// discovery prefixes its api_roots with it, so "parley.example" (no
// scheme) or a path would send every TAXII client elsewhere.
func checkPublicURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		return fmt.Errorf("public_url %.100q isn't an http(s) URL with a host, such as \"https://parley.example\"", s)
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return fmt.Errorf("public_url %.100q has more than a scheme and a host (and port): give the URL clients reach the node at, such as \"https://parley.example\"", s)
	}
	return nil
}

// Duration is a time.Duration written as text ("10s", "2m") in JSON.
type Duration time.Duration

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Defaults of [Config].
const (
	DefaultListen             = "127.0.0.1:8080"
	DefaultReadHeaderTimeout  = 10 * time.Second
	DefaultIdleTimeout        = 2 * time.Minute
	DefaultShutdownTimeout    = 10 * time.Second
	DefaultMaxObjectSize      = taxii.DefaultMaxObjectSize
	DefaultMemberQuotaBytes   = 1 << 30
	DefaultResponseMemory     = 64 << 20
	DefaultEnvelopeMemory     = 256 << 20
	DefaultBodyReadTimeout    = 30 * time.Second
	DefaultReadyMaxLag        = 30 * time.Second
	DefaultIntegratorLeaseTTL = 10 * time.Second
	DefaultRoundLeaseTTL      = 30 * time.Second
)

// withDefaults returns c with zero fields set to their defaults (the TAXII
// limits are defaulted by the taxii package).
func (c Config) withDefaults() Config {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.Title == "" {
		c.Title = "Parley"
	}
	if c.ReadHeaderTimeout <= 0 {
		c.ReadHeaderTimeout = Duration(DefaultReadHeaderTimeout)
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = Duration(DefaultIdleTimeout)
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = Duration(DefaultShutdownTimeout)
	}
	if c.MaxObjectSize <= 0 {
		c.MaxObjectSize = DefaultMaxObjectSize
	}
	if c.MemberQuotaBytes == 0 {
		c.MemberQuotaBytes = DefaultMemberQuotaBytes
	}
	if c.ResponseMemory <= 0 {
		c.ResponseMemory = DefaultResponseMemory
	}
	if c.EnvelopeMemory <= 0 {
		c.EnvelopeMemory = DefaultEnvelopeMemory
	}
	if c.BodyReadTimeout <= 0 {
		c.BodyReadTimeout = Duration(DefaultBodyReadTimeout)
	}
	if c.ReadyMaxLag <= 0 {
		c.ReadyMaxLag = Duration(DefaultReadyMaxLag)
	}
	if c.IntegratorLeaseTTL <= 0 {
		c.IntegratorLeaseTTL = Duration(DefaultIntegratorLeaseTTL)
	}
	if c.RoundLeaseTTL <= 0 {
		c.RoundLeaseTTL = Duration(DefaultRoundLeaseTTL)
	}
	if c.FeedCheckInterval <= 0 {
		c.FeedCheckInterval = Duration(10 * time.Second)
	}
	if c.PeerInterval <= 0 {
		c.PeerInterval = Duration(5 * time.Second)
	}
	return c
}

// storeLimits returns the limits the store enforces for c (with defaults
// applied).
func (c Config) storeLimits() store.Limits {
	l := store.Limits{MaxObjectSize: c.MaxObjectSize, MemberQuota: c.MemberQuotaBytes}
	if l.MemberQuota < 0 {
		l.MemberQuota = 0 // no quota
	}
	return l
}

// Files of the data directory.
const (
	ConfigFile = "config.json"
	KeyFile    = "node.key"
	PubKeyFile = "node.pub"
	StoreFile  = "parley.db"
	dirMode    = 0o700
	secretMode = 0o600
	// maxConfigSz bounds config.json, and maxKeySz a key file of the
	// data directory (node.key, node.pub, the peer witness's key): files
	// the operator owns, read whole, that a mistake (a log copied over
	// one) could make huge.
	maxConfigSz = 1 << 20
	maxKeySz    = 64 << 10
)

// ErrNotInitialized means the data directory has no node (run `parley init`).
var ErrNotInitialized = errors.New("data directory is not initialized")

// ErrExists means Init found a node already in the data directory.
var ErrExists = errors.New("data directory already holds a node")

// LoadConfig reads DIR/config.json.
func LoadConfig(dir string) (Config, error) {
	b, err := untrusted.ReadFile(filepath.Join(dir, ConfigFile), maxConfigSz)
	if errors.Is(err, os.ErrNotExist) {
		return Config{}, fmt.Errorf("couldn't read %s: %w", filepath.Join(dir, ConfigFile), ErrNotInitialized)
	}
	if err != nil {
		return Config{}, fmt.Errorf("couldn't read the configuration: %w", err)
	}
	c, err := parseConfig(b)
	if err != nil {
		return Config{}, fmt.Errorf("couldn't parse %s: %w", filepath.Join(dir, ConfigFile), err)
	}
	if c.Origin == "" {
		return Config{}, fmt.Errorf("couldn't use %s: %s", filepath.Join(dir, ConfigFile), missingOrigin(dir))
	}
	if err := checkWitnesses(c.Witnesses); err != nil {
		return Config{}, fmt.Errorf("couldn't use %s: %w", filepath.Join(dir, ConfigFile), err)
	}
	if err := checkPublicURL(c.PublicURL); err != nil {
		return Config{}, fmt.Errorf("couldn't use %s: %w", filepath.Join(dir, ConfigFile), err)
	}
	if _, err := storeKindOf(c.Store); err != nil {
		return Config{}, fmt.Errorf("couldn't use %s: %w", filepath.Join(dir, ConfigFile), err)
	}
	if err := checkSigns(c); err != nil {
		return Config{}, fmt.Errorf("couldn't use %s: %w", filepath.Join(dir, ConfigFile), err)
	}
	return c, nil
}

// missingOrigin says that config.json has no "origin" and what to put
// back: the name of the log's key in node.pub, which parley init wrote
// beside it (an operator who rewrites config.json to add a field loses
// it, and the node doesn't start).
func missingOrigin(dir string) string {
	const msg = `"origin" is missing or empty: it is the log's name, the name of the key in ` + PubKeyFile
	b, err := untrusted.ReadFile(filepath.Join(dir, PubKeyFile), maxKeySz)
	if err != nil {
		return msg
	}
	v, err := note.NewVerifier(strings.TrimSpace(string(b)))
	if err != nil {
		return msg
	}
	return fmt.Sprintf(`%s: put back "origin": %q (parley init wrote it)`, msg, untrusted.Text(v.Name(), 200))
}

// writeFileSync writes a new file and syncs it, so that Init leaves either
// nothing or a complete file behind a crash.
func writeFileSync(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// parseConfig decodes config.json strictly: a field that is not one of
// [Config] (or of its "witnesses" entries, or of the "private" object that
// [LoadPrivateConfig] reads) is refused, naming the field and the known one
// it is closest to, because a misspelled field ("witneses", "tls-cert")
// would otherwise leave the node running without what the operator asked
// for (no witnesses, plain HTTP) and say nothing.
func parseConfig(b []byte) (Config, error) {
	var f struct {
		Config
		Private json.RawMessage `json:"private"`
	}
	if err := decodeStrict(b, &f); err != nil {
		// A field unknown inside a "witnesses" entry names the entry: a
		// config with several witnesses left the operator to guess.
		if where := badWitness(b); where != nil {
			return Config{}, where
		}
		return Config{}, err
	}
	if len(f.Private) > 0 && string(f.Private) != "null" {
		var p PrivateConfig
		if err := decodeStrict(f.Private, &p); err != nil {
			return Config{}, fmt.Errorf("in \"private\": %w", err)
		}
		if err := checkSigns(p); err != nil {
			return Config{}, fmt.Errorf("in \"private\": %w", err)
		}
	}
	return f.Config, nil
}

// badWitness returns the error of the first "witnesses" entry of b that
// has a field a [WitnessConfig] doesn't know, naming the entry
// (witnesses[0] is witness 1), or nil.
func badWitness(b []byte) error {
	var f struct {
		Witnesses []json.RawMessage `json:"witnesses"`
	}
	if json.Unmarshal(b, &f) != nil {
		return nil
	}
	for i, raw := range f.Witnesses {
		var w WitnessConfig
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&w); err != nil && strings.HasPrefix(err.Error(), "json: unknown field ") {
			return fmt.Errorf("in \"witnesses[%d]\" (witness %d): %w", i, i+1, decodeStrict(raw, &w))
		}
	}
	return nil
}

// decodeStrict decodes one JSON value from b into v, refusing unknown
// fields and trailing data.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return unknownFieldError(strings.Trim(name, `"`))
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			// encoding/json's text names Go types ("Go struct field
			// .Config.listen of type string", "node.Duration"): say
			// what config.json should hold instead.
			err = fmt.Errorf("%s where %s is expected", jsonValue(te.Value), jsonKind(te.Type))
			if field := jsonPath(te.Field); field != "" {
				return fmt.Errorf("field %q: %w", field, err)
			}
		}
		if field := badField(b, v); field != "" {
			return fmt.Errorf("field %q: %w", field, err)
		}
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("invalid character after the top-level value")
	}
	return nil
}

// durationFloors are the least durations of config.json's fields (by
// JSON name; 0 still means the default) with which a node can work: a
// mistyped unit ("10ms" for "10s", "1ns") would otherwise load, and the
// node would answer no request (timeouts shorter than a network's round
// trip), never be ready (a lag under the integration interval), hand
// integration from front end to front end at every renewal (a lease
// shorter than a lease write) or spin through its feeds, peers and
// private sets. The floors for the intervals are low because tests run
// nodes with intervals of 10 ms.
var durationFloors = map[string]time.Duration{
	"read_header_timeout":  100 * time.Millisecond,
	"idle_timeout":         100 * time.Millisecond,
	"shutdown_timeout":     100 * time.Millisecond,
	"body_read_timeout":    100 * time.Millisecond,
	"ready_max_lag":        time.Second,
	"integrator_lease_ttl": time.Second,
	"round_lease_ttl":      time.Second,
	"feed_check_interval":  10 * time.Millisecond,
	"peer_interval":        10 * time.Millisecond,
	"refresh_interval":     10 * time.Millisecond,
	// A web UI session shorter than a minute ends while its analyst
	// reads a page ("8m" for "8h" is still taken: it works).
	"ui_session_ttl":  time.Minute,
	"ui_idle_timeout": time.Minute,
}

// checkSigns refuses a negative number in c, a [Config] or a
// [PrivateConfig]: a negative duration or limit was taken for the default
// without a word ("integrator_lease_ttl": "-1s" ran with 10 s,
// "max_content_length": -1 with 10 MiB, "member_quota_bytes": -2 with no
// quota). The negatives a field documents are kept:
// "member_quota_bytes": -1 (no quota) and "query_budget" (refuse all).
// A duration below its floor in [durationFloors] is refused too.
func checkSigns(c any) error {
	v := reflect.ValueOf(c)
	for i := 0; i < v.NumField(); i++ {
		name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
		f := v.Field(i)
		if d, ok := f.Interface().(Duration); ok {
			if d < 0 {
				return fmt.Errorf("field %q: %s is negative; leave the field out for its default", name, time.Duration(d))
			}
			if least := durationFloors[name]; d > 0 && time.Duration(d) < least {
				return fmt.Errorf("field %q: %s is less than %s, the least that works; leave the field out for its default", name, time.Duration(d), least)
			}
			continue
		}
		if !f.CanInt() || f.Int() >= 0 {
			continue
		}
		switch {
		case name == "query_budget":
		case name == "member_quota_bytes" && f.Int() == -1:
		case name == "member_quota_bytes":
			return fmt.Errorf("field %q: %d is negative; -1 means no quota, or leave the field out for its default", name, f.Int())
		default:
			return fmt.Errorf("field %q: %d is negative; leave the field out for its default", name, f.Int())
		}
	}
	return nil
}

// jsonValue describes the JSON value of an [json.UnmarshalTypeError]:
// "number 1e+100" is 1e+100, "object" an object.
func jsonValue(v string) string {
	if _, n, ok := strings.Cut(v, " "); ok {
		return n
	}
	if strings.HasPrefix(v, "a") || strings.HasPrefix(v, "o") {
		return "an " + v
	}
	return "a " + v
}

// jsonPath is the JSON field path of an [json.UnmarshalTypeError]'s
// Field, without the Go names of embedded structs ("Config.listen" is
// "listen"): the fields of config.json are all lower case.
func jsonPath(field string) string {
	var names []string
	for name := range strings.SplitSeq(field, ".") {
		if name != "" && !unicode.IsUpper([]rune(name)[0]) {
			names = append(names, name)
		}
	}
	return strings.Join(names, ".")
}

// jsonKind describes, for an error message, the JSON value that decodes
// into a field of type t.
func jsonKind(t reflect.Type) string {
	if t == reflect.TypeFor[Duration]() {
		return `a duration such as "10s"`
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return fmt.Sprintf("an integer from %d to %d", int64(-1)<<(t.Bits()-1), int64(1)<<(t.Bits()-1)-1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer from 0"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "another value"
}

// badField returns the name of the top-level field of the JSON object b
// whose value alone doesn't decode into a value of v's type, or "": the
// errors of a field's own decoding (a duration such as "abc") don't name
// the field.
func badField(b []byte, v any) string {
	var fields map[string]json.RawMessage
	if json.Unmarshal(b, &fields) != nil {
		return ""
	}
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names)
	t := reflect.TypeOf(v)
	if t.Kind() != reflect.Pointer {
		return ""
	}
	for _, name := range names {
		one, err := json.Marshal(map[string]json.RawMessage{name: fields[name]})
		if err != nil {
			continue
		}
		if json.Unmarshal(one, reflect.New(t.Elem()).Interface()) != nil {
			return name
		}
	}
	return ""
}

// unknownFieldError describes a field config.json does not know, with the
// known field it most likely misspells.
func unknownFieldError(name string) error {
	best, bestD := "", 3 // suggest only names at most 2 edits away
	for _, known := range configFieldNames() {
		if d := editDistance(strings.ToLower(name), known); d < bestD {
			best, bestD = known, d
		}
	}
	if best != "" {
		return fmt.Errorf("unknown field %q (did you mean %q?); the fields are those of the Config type in internal/node/config.go", name, best)
	}
	return fmt.Errorf("unknown field %q; the fields are those of the Config type in internal/node/config.go", name)
}

// configFieldNames lists the JSON names of config.json's fields: those of
// [Config], [WitnessConfig] and [PrivateConfig], and "private".
func configFieldNames() []string {
	names := []string{"private"}
	for _, t := range []reflect.Type{reflect.TypeFor[Config](), reflect.TypeFor[WitnessConfig](), reflect.TypeFor[PrivateConfig]()} {
		for f := range t.Fields() {
			if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" {
				names = append(names, name)
			}
		}
	}
	return names
}

// editDistance is the Levenshtein distance between a and b, with '-' and
// '_' taken as equal (tls-cert for tls_cert).
func editDistance(a, b string) int {
	a, b = strings.ReplaceAll(a, "-", "_"), strings.ReplaceAll(b, "-", "_")
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
