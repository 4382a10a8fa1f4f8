package node

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/stix"
	"github.com/parley-exchange/parley/taxii"
)

// ExtensionPath is where the node serves the extension-definition object
// of the object signature extension, without authentication, so that any
// STIX tool that meets the extension id on a signed object can resolve it.
// It is served there rather than copied into every collection because it
// is the same for every node and not any member's object: it belongs in
// no member's log.
const ExtensionPath = "/extension-definitions/"

func (n *Node) serveExtension(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("id") != stix.SignatureExtensionID {
		respondError(w, r, requestErrorf(store.ErrNotFound, "no such extension definition"))
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
// member: verifying a signed object or a proof bundle needs them. The
// members of peers and feeds are listed only to readers of the
// collections they fill ([store.ListedMembers]).
func (n *Node) serveMembers(w http.ResponseWriter, r *http.Request, viewer store.Member) {
	ms, err := n.listedMembers(r.Context(), viewer)
	if err != nil {
		respondError(w, r, err)
		return
	}
	out := []MemberInfo{}
	for _, m := range ms {
		out = append(out, MemberInfo{ID: m.ID, Name: m.Name, PublicKey: m.PublicKey, Identity: m.Identity})
	}
	respondJSON(w, http.StatusOK, "application/json", map[string]any{"members": out})
}

// listedMembers returns the members viewer is shown in member lists
// ([store.ListedMembers]).
func (n *Node) listedMembers(ctx context.Context, viewer store.Member) ([]store.Member, error) {
	ms, err := n.store.Members(ctx)
	if err != nil {
		return nil, err
	}
	cs, err := n.store.Collections(ctx)
	if err != nil {
		return nil, err
	}
	ps, err := n.store.Peers(ctx)
	if err != nil {
		return nil, err
	}
	fs, err := n.store.Feeds(ctx)
	if err != nil {
		return nil, err
	}
	return store.ListedMembers(viewer.ID, ms, cs, ps, fs), nil
}

// AuthenticateRequest authenticates the token r carries (read by
// [taxii.RequestToken], the node's one parser of credentials). The error
// wraps [store.ErrNotFound] for a missing, malformed or unknown token.
func (n *Node) AuthenticateRequest(r *http.Request) (store.Member, error) {
	tok, _ := taxii.RequestToken(r)
	return n.Authenticate(r.Context(), tok)
}

// Serve serves the node on ln until ctx is done, then shuts down
// gracefully: it stops accepting, waits up to Config.ShutdownTimeout for
// requests in flight (whose submissions are then committed or rolled
// back, never half-done), stops the workers and returns nil. It starts
// the workers of [Node.workers] (the log integrator, witness submission,
// private-set refresh, the feed poller and those of [Node.Extend]), each
// with logger.
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
	workers := n.workers()
	done := make(chan struct{}, len(workers))
	for _, w := range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			wl := logger.With("worker", w.Name)
			if err := w.Run(wctx, wl); err != nil && !errors.Is(err, context.Canceled) {
				wl.Error("worker stopped", "err", err)
			}
		}()
	}
	err := n.serveUntil(ctx, srv, ln)
	stopWorkers()
	for range workers {
		<-done
	}
	return err
}

// serveUntil serves srv on ln until serving fails or ctx is done, then
// shuts srv down, giving requests in flight the node's ShutdownTimeout.
// A server closed by the shutdown is no error.
func (n *Node) serveUntil(ctx context.Context, srv *http.Server, ln net.Listener) error {
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
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
