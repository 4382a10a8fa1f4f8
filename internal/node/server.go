package node

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/taxii"
)

// routeGroup adds routes to the node's mux.
type routeGroup struct {
	name string
	add  func(n *Node, mux *http.ServeMux)
}

// worker is a background task that runs while the node serves (such as
// the log integrator). It must return when ctx is done.
type worker struct {
	name string
	run  func(ctx context.Context, n *Node) error
}

var (
	routeGroups []routeGroup
	workers     []worker
)

// registerRoutes adds a group of routes (such as "/log/" or "/private/")
// to every node's mux; call it from an init function in a file of this
// package. Patterns are http.ServeMux patterns ("GET /log/checkpoint").
func registerRoutes(name string, add func(n *Node, mux *http.ServeMux)) {
	routeGroups = append(routeGroups, routeGroup{name, add})
}

// registerWorker adds a background task that [Node.Serve] runs beside the
// server and stops on shutdown; call it from an init function.
func registerWorker(name string, run func(ctx context.Context, n *Node) error) {
	workers = append(workers, worker{name, run})
}

// ExtensionPath is where the node serves the extension-definition object
// of the object signature extension, without authentication, so that any
// STIX tool that meets the extension id on a signed object can resolve it.
// It is served there rather than copied into every collection because it
// is the same for every node and not any member's object: it belongs in
// no member's log.
const ExtensionPath = "/extension-definitions/"

// Handler returns the node's HTTP handler: TAXII 2.1 discovery at
// /taxii2/ and the API root at /api/, the signature extension definition
// at [ExtensionPath], /members (authenticated: members, their identities
// and public keys), and every group added with [registerRoutes].
func (n *Node) Handler(logger *slog.Logger) http.Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg := n.cfg
	tcfg := taxii.Config{
		Title: cfg.Title, PublicURL: cfg.PublicURL,
		MaxContentLength: cfg.MaxContentLength, MaxObjectsPerRequest: cfg.MaxObjectsPerRequest, MaxObjectSize: cfg.MaxObjectSize,
		MaxJSONDepth: cfg.MaxJSONDepth, DefaultPageSize: cfg.DefaultPageSize, MaxPageSize: cfg.MaxPageSize,
		MaxPageBytes: MaxPageBytes, Gate: n.memory, WriteTimeout: WriteTimeout,
		Logger: logger,
	}
	th := taxii.NewHandler(tcfg, n.Backend())
	mux := http.NewServeMux()
	mux.Handle(taxii.DiscoveryPath, th)
	mux.Handle(taxii.DefaultAPIRootPath, th)
	mux.HandleFunc("GET "+ExtensionPath+"{id}", n.serveExtension)
	mux.HandleFunc("GET /members", n.serveMembers)
	for _, g := range routeGroups {
		g.add(n, mux)
	}
	return mux
}

func (n *Node) serveExtension(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("id") != stix.SignatureExtensionID {
		http.Error(w, "no such extension definition", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", taxii.STIXMediaType)
	w.Write(stix.SignatureExtensionDefinition())
}

// MemberInfo is one member as GET /members shows it.
type MemberInfo struct {
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	PublicKey []byte          `json:"public_key,omitempty"`
	Identity  json.RawMessage `json:"identity"`
}

// serveMembers lists the members with their keys, for any authenticated
// member: verifying a signed object or a proof bundle needs them.
func (n *Node) serveMembers(w http.ResponseWriter, r *http.Request) {
	if _, err := n.AuthenticateRequest(r); err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="parley"`)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	ms, err := n.store.Members(r.Context())
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	out := []MemberInfo{}
	for _, m := range ms {
		out = append(out, MemberInfo{ID: m.ID, Name: m.Name, PublicKey: m.PublicKey, Identity: m.Identity})
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"members": out})
}

// AuthenticateRequest authenticates r's bearer token (or the password of
// HTTP Basic authentication, as the TAXII handler accepts) for routes
// outside TAXII. The error wraps [store.ErrNotFound] for a missing or
// unknown token.
func (n *Node) AuthenticateRequest(r *http.Request) (store.Member, error) {
	var tok string
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		tok = strings.TrimSpace(strings.TrimPrefix(h, "Bearer "))
	} else if _, pw, ok := r.BasicAuth(); ok {
		tok = pw
	}
	return n.Authenticate(r.Context(), tok)
}

// Serve serves the node on ln until ctx is done, then shuts down
// gracefully: it stops accepting, waits up to Config.ShutdownTimeout for
// requests in flight (whose submissions are then committed or rolled
// back, never half-done), stops the workers and returns nil.
func (n *Node) Serve(ctx context.Context, ln net.Listener, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	srv := &http.Server{
		Handler:           n.Handler(logger),
		ReadHeaderTimeout: time.Duration(n.cfg.ReadHeaderTimeout),
		IdleTimeout:       time.Duration(n.cfg.IdleTimeout),
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	wctx, stopWorkers := context.WithCancel(ctx)
	defer stopWorkers()
	done := make(chan struct{}, len(workers))
	for _, w := range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			if err := w.run(wctx, n); err != nil && !errors.Is(err, context.Canceled) {
				logger.Error("worker stopped", "worker", w.name, "err", err)
			}
		}()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	var err error
	select {
	case err = <-errc:
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), time.Duration(n.cfg.ShutdownTimeout))
		err = srv.Shutdown(sctx)
		cancel()
		<-errc
	}
	stopWorkers()
	for range workers {
		<-done
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
