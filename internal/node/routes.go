package node

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/parley-exchange/parley/internal/feed"
	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/internal/web"
	"github.com/parley-exchange/parley/opinion"
	"github.com/parley-exchange/parley/taxii"
)

// The node's HTTP surface and its background workers, in one place. Every
// route the node serves is a row of [Node.routes]; every worker [Node.Serve]
// runs is a row of [Node.workers]. Nothing registers itself from an init
// function: what is not listed here is not served.

// Auth says how a route authenticates its requests.
type Auth int

const (
	// AuthNone: a public route; no credentials are read. Such a route
	// reveals nothing a member's token would protect.
	AuthNone Auth = iota
	// AuthMember: a member's API token (read by [taxii.RequestToken]:
	// Bearer or Token scheme, or HTTP Basic with the token as password)
	// is checked by the node before the handler runs; without a valid
	// one the answer is 401 with a TAXII error object.
	AuthMember
	// AuthTAXII: the TAXII 2.1 handler checks the token itself, with the
	// same parser, through [backend.Authenticate], so that its 401 is the
	// TAXII handler's own error message resource.
	AuthTAXII
	// AuthSession: the web UI, whose pages take the API token once at
	// the login form and then a session cookie (package web).
	AuthSession
)

// String names the authentication in the route table's documentation
// and tests.
func (a Auth) String() string {
	switch a {
	case AuthNone:
		return "none"
	case AuthMember:
		return "member token"
	case AuthTAXII:
		return "member token (TAXII handler)"
	case AuthSession:
		return "web session"
	}
	return "unknown"
}

// MemberHandler serves a request of an authenticated member.
type MemberHandler func(w http.ResponseWriter, r *http.Request, m store.Member)

// Route is one row of the route table.
type Route struct {
	// Pattern is an [http.ServeMux] pattern ("GET /log/checkpoint"); it
	// is also the route's label in the access log and the metrics.
	Pattern string
	Auth    Auth
	// Member serves an [AuthMember] route; Handler any other.
	Member  MemberHandler
	Handler http.Handler
	// Label, if set, labels a request of a route that serves several
	// resources (the TAXII API root) more finely than Pattern: it must
	// return one of a small fixed set of values with no ids in them, or
	// "" to keep Pattern.
	Label func(*http.Request) string
}

// Worker is a background task that [Node.Serve] runs beside the server.
// Run must return when ctx is done; an error other than ctx's is logged,
// and the other workers and the server go on.
type Worker struct {
	Name string
	Run  func(ctx context.Context, logger *slog.Logger) error
}

// Extension is what a package above node (such as federation,
// internal/peer) adds to a node: routes, served beside the node's own
// (a pattern may not repeat one of them: [Node.Handler] panics, as
// [http.ServeMux] does), and workers, run by [Node.Serve].
type Extension struct {
	Routes  []Route
	Workers []Worker
}

// Extend adds e's routes and workers. Call it before [Node.Handler] and
// [Node.Serve]; it is not safe for use concurrently with them.
func (n *Node) Extend(e Extension) {
	n.ext.Routes = append(n.ext.Routes, e.Routes...)
	n.ext.Workers = append(n.ext.Workers, e.Workers...)
}

// routes is the node's route table. mux is the table's own mux, which the
// web UI calls for its API requests (as the member whose session it is).
func (n *Node) routes(logger *slog.Logger, mux *http.ServeMux) []Route {
	cfg := n.cfg
	th := taxii.NewHandler(taxii.Config{
		Title: cfg.Title, PublicURL: cfg.PublicURL,
		MaxContentLength: cfg.MaxContentLength, MaxObjectsPerRequest: cfg.MaxObjectsPerRequest, MaxObjectSize: cfg.MaxObjectSize,
		MaxJSONDepth: cfg.MaxJSONDepth, DefaultPageSize: cfg.DefaultPageSize, MaxPageSize: cfg.MaxPageSize,
		MaxPageBytes: MaxPageBytes, Gate: n.memory, EnvelopeGate: n.envelopes, WriteTimeout: WriteTimeout,
		// The TAXII handler logs its own refusals and failures; they
		// carry the request id too.
		Logger: slog.New(requestIDHandler{logger.Handler()}),
	}, n.Backend())
	lh := &logHandler{n: n, tiles: n.tiles}
	pa := n.private
	rs := []Route{
		// Operations (ops.go): no credentials, nothing sensitive.
		{Pattern: "GET /healthz", Auth: AuthNone, Handler: http.HandlerFunc(n.serveHealthz)},
		{Pattern: "GET /readyz", Auth: AuthNone, Handler: http.HandlerFunc(n.serveReadyz)},
		// The signature extension's definition, for any STIX tool.
		{Pattern: "GET " + ExtensionPath + "{id}", Auth: AuthNone, Handler: http.HandlerFunc(n.serveExtension)},

		// TAXII 2.1: discovery and the API root, every method (the
		// handler answers 405 itself, with a TAXII error).
		{Pattern: taxii.DiscoveryPath, Auth: AuthTAXII, Handler: th},
		{Pattern: taxii.DefaultAPIRootPath, Auth: AuthTAXII, Handler: th, Label: taxiiLabel},

		// Members and their keys (server.go).
		{Pattern: "GET /members", Auth: AuthMember, Member: n.serveMembers},

		// The log (log_http.go).
		{Pattern: "GET /log/checkpoint", Auth: AuthMember, Member: lh.withLog(lh.checkpoint)},
		{Pattern: "GET /log/key", Auth: AuthMember, Member: lh.withLog(lh.key)},
		{Pattern: "GET /log/tile/", Auth: AuthMember, Member: lh.withLog(lh.tile)},
		{Pattern: "GET /log/receipt", Auth: AuthMember, Member: lh.withLog(lh.receipt)},
		{Pattern: "GET /log/proof/consistency", Auth: AuthMember, Member: lh.withLog(lh.consistency)},
		{Pattern: "GET /log/objects", Auth: AuthMember, Member: lh.withLog(lh.objects)},
		{Pattern: "GET /log/bundle", Auth: AuthMember, Member: lh.withLog(lh.bundle)},
		{Pattern: "GET /log/keys", Auth: AuthMember, Member: lh.withLog(lh.keys)},
		{Pattern: "GET /log/checkpoints", Auth: AuthMember, Member: lh.withLog(lh.checkpoints)},

		// Private sets (private.go).
		{Pattern: "POST /private/sets", Auth: AuthMember, Member: pa.publish},
		{Pattern: "GET /private/sets", Auth: AuthMember, Member: pa.list},
		{Pattern: "GET /private/sets/{id}", Auth: AuthMember, Member: pa.get},
		{Pattern: "GET /private/sets/{id}/tags", Auth: AuthMember, Member: pa.tags},
		{Pattern: "GET /private/sets/{id}/receipt", Auth: AuthMember, Member: pa.receipt},
		{Pattern: "POST /private/sets/{id}/evaluate", Auth: AuthMember, Member: pa.evaluate},
		{Pattern: "DELETE /private/sets/{id}", Auth: AuthMember, Member: pa.withdraw},

		// Opinions: how many members concur (concurrence.go).
		{Pattern: "GET /concurrence", Auth: AuthMember, Member: n.serveConcurrence},

		// Federation (peers.go): a replicated object's proofs in its
		// peer's log, and the witness of the peers' logs (C2SP
		// tlog-witness, public as a witness is; 404 when the node runs
		// none).
		{Pattern: "GET /peers/bundle", Auth: AuthMember, Member: n.servePeerBundle},
		{Pattern: PeerWitnessPath, Auth: AuthNone, Handler: http.StripPrefix(strings.TrimSuffix(PeerWitnessPath, "/"), http.HandlerFunc(n.servePeerWitness))},
	}
	rs = append(rs, n.webRoutes(logger, mux)...)
	// Federation and other extensions ([Node.Extend]) go last.
	return append(rs, n.ext.Routes...)
}

// webRoutes are the web UI's routes: its pages under /ui/ and a redirect
// of / to them. The UI logs its failures to logger, with the request id.
func (n *Node) webRoutes(logger *slog.Logger, mux *http.ServeMux) []Route {
	h, err := web.New(web.Deps{
		Logger:       slog.New(requestIDHandler{logger.Handler()}),
		Store:        n.store,
		Authenticate: n.Authenticate,
		Concurrence: func(ctx context.Context, m store.Member, object string) (int64, func(context.Context) (opinion.Concurrence, error), error) {
			return n.PrepareConcurrence(ctx, m, object, ConcurrenceWait)
		},
		API:           mux,
		AsMember:      n.AsMember,
		AsSession:     n.AsSession,
		Reserve:       n.reservePage,
		MaxObjectSize: n.cfg.MaxObjectSize,
		Witnesses:     witnessURLs(n.cfg.Witnesses),
		Now:           n.now,
		Rand:          n.rand,
		// Behind a TLS-terminating proxy the requests arrive over plain
		// HTTP, but the browser speaks HTTPS: its session cookie must
		// never be sent in clear.
		SecureCookies: strings.HasPrefix(strings.ToLower(n.cfg.PublicURL), "https://"),
		// Zero (the field left out) is the UI's default.
		SessionTTL:  time.Duration(n.cfg.UISessionTTL),
		IdleTimeout: time.Duration(n.cfg.UIIdleTimeout),
		NoteMember:  noteMember,
	})
	if err != nil {
		// Only a store without the UI's queries gets here.
		return []Route{{Pattern: "/ui/", Auth: AuthNone, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			respondError(w, r, errNoWebUI)
		})}}
	}
	return []Route{
		{Pattern: "/ui/", Auth: AuthSession, Handler: h},
		{Pattern: "GET /{$}", Auth: AuthNone, Handler: http.RedirectHandler("/ui/", http.StatusSeeOther)},
	}
}

func witnessURLs(ws []WitnessConfig) []string {
	var out []string
	for _, w := range ws {
		// A witness's URL may carry a user and password (HTTP Basic),
		// or a key in its query: every member sees this list, so it
		// shows the scheme, host and path only.
		shown := "(a URL that doesn't parse)"
		if u, err := url.Parse(w.URL); err == nil {
			u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
			shown = u.String()
		}
		name, _, _ := strings.Cut(w.Key, "+")
		out = append(out, name+" at "+shown)
	}
	return out
}

// workers are the background tasks [Node.Serve] runs: the log integrator,
// witness submission (with witnesses configured), private-set refresh,
// following the peers, the feed poller, then the extensions'.
func (n *Node) workers() []Worker {
	ws := []Worker{
		{Name: "log integrator", Run: func(ctx context.Context, logger *slog.Logger) error {
			li, err := NewLogIntegrator(n, LogIntegratorOptions{Logger: logger})
			if err != nil {
				return err
			}
			return li.Run(ctx)
		}},
		{Name: "log witnesses", Run: func(ctx context.Context, logger *slog.Logger) error {
			if len(n.cfg.Witnesses) == 0 {
				return nil
			}
			lw, err := NewLogWitnessing(n, LogWitnessingOptions{Logger: logger})
			if err != nil {
				return err
			}
			return lw.Run(ctx)
		}},
		{Name: "private sets", Run: n.private.refreshLoop},
		{Name: "peers", Run: n.followPeers},
		{Name: "feeds", Run: func(ctx context.Context, logger *slog.Logger) error {
			return feed.RunRounds(ctx, n.store, n.FeedSink(), n.now, time.Duration(n.cfg.FeedCheckInterval), n.FeedRounds(), logger.Warn)
		}},
	}
	return append(ws, n.ext.Workers...)
}

// Handler returns the node's HTTP handler: every route of the route
// table, each behind its authentication, all behind the front door
// ([Node.front]: request id, body read timeout, access log, metrics).
func (n *Node) Handler(logger *slog.Logger) http.Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	for _, rt := range n.routes(logger, mux) {
		mux.Handle(rt.Pattern, n.routeHandler(rt))
	}
	return n.front(muxErrors{mux}, logger)
}

// muxErrors answers what the route table doesn't route, an unknown path
// (404) or a route's path with another method (405, with Allow), with a
// TAXII error object as every error of the node's routes is, instead of
// ServeMux's plain text "404 page not found" and "Method Not Allowed".
type muxErrors struct{ mux *http.ServeMux }

func (m muxErrors) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h, pattern := m.mux.Handler(r)
	if pattern != "" {
		m.mux.ServeHTTP(w, r)
		return
	}
	// Unrouted: ServeMux's own answer (an error or a redirect to the
	// clean path), small, recorded to be rewritten.
	rec := &muxAnswer{header: http.Header{}}
	h.ServeHTTP(rec, r)
	switch rec.status {
	case http.StatusNotFound:
		respondJSON(w, rec.status, taxii.MediaType, taxii.Error{Title: "not found", Description: "no resource at this path", HTTPStatus: strconv.Itoa(rec.status)})
	case http.StatusMethodNotAllowed:
		allow := rec.header.Get("Allow")
		w.Header().Set("Allow", allow)
		respondJSON(w, rec.status, taxii.MediaType, taxii.Error{Title: "method not allowed", Description: "this path takes " + allow, HTTPStatus: strconv.Itoa(rec.status)})
	default:
		maps.Copy(w.Header(), rec.header)
		w.WriteHeader(rec.status)
		w.Write(rec.body.Bytes())
	}
}

// muxAnswer records ServeMux's answer to an unrouted request.
type muxAnswer struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (a *muxAnswer) Header() http.Header { return a.header }

func (a *muxAnswer) WriteHeader(status int) {
	if a.status == 0 {
		a.status = status
	}
}

func (a *muxAnswer) Write(b []byte) (int, error) {
	a.WriteHeader(http.StatusOK)
	return a.body.Write(b)
}

// taxiiLabel labels a request under the TAXII API root by the endpoint it
// addresses ("taxii objects", "taxii manifest", ...), so that the metrics
// tell a page of objects from a status poll without naming a collection.
func taxiiLabel(r *http.Request) string {
	if ep, ok := taxii.EndpointPattern(taxii.DefaultAPIRootPath, r.URL.Path); ok {
		return "taxii " + ep
	}
	return ""
}

// routeHandler is rt's handler behind its authentication, labelling the
// request with rt's pattern for the access log and the metrics.
func (n *Node) routeHandler(rt Route) http.Handler {
	next := rt.Handler
	if rt.Auth == AuthMember {
		next = n.requireMember(rt.Member)
	}
	if next == nil {
		panic("node: route " + rt.Pattern + " has no handler")
	}
	pattern, label := rt.Pattern, rt.Label
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if info := infoOf(r.Context()); info != nil && info.route == "" {
			// The first route wins: a web UI page that calls the API
			// through the mux stays labelled as the page.
			info.route = pattern
			if label != nil {
				if l := label(r); l != "" {
					info.route = l
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// requireMember is the one authentication middleware of the node's own
// routes: the token of [taxii.RequestToken], looked up by
// [Node.Authenticate]. A missing, malformed or unknown token is 401; a
// store failure is a 500 (logged), never a 401 that would hide it.
func (n *Node) requireMember(next MemberHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := taxii.RequestToken(r)
		if !ok {
			respondError(w, r, errUnauthorized)
			return
		}
		m, err := n.Authenticate(r.Context(), tok)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				err = errUnauthorized
			}
			respondError(w, r, err)
			return
		}
		if info := infoOf(r.Context()); info != nil {
			info.member = m.ID
		}
		// A handler that holds the request open checks the token again
		// (held.go).
		next(w, r.WithContext(withReauth(r.Context(), n.tokenReauth(tok, m.ID))), m)
	})
}
