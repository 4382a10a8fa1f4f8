package node

import (
	"context"
	"net/http"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/internal/web"
	"github.com/parley-exchange/parley/opinion"
)

// The analysts' web UI at /ui/ (package web), with / redirecting there.
// Its scripts reach the log and TAXII endpoints through the node's own
// mux, so the UI reuses every handler, access rule and check unchanged.
func init() {
	registerRoutes("web", func(n *Node, mux *http.ServeMux) {
		h, err := web.New(web.Deps{
			Store:        n.store,
			Authenticate: n.Authenticate,
			Concurrence: func(ctx context.Context, m store.Member, object string) (opinion.Concurrence, error) {
				return n.Concurrence(ctx, m, object, ConcurrenceWait)
			},
			API:  mux,
			Now:  n.now,
			Rand: n.rand,
		})
		if err != nil {
			// Only a store without the UI's queries gets here.
			mux.HandleFunc("/ui/", func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "this node's store does not support the web UI", http.StatusNotImplemented)
			})
			return
		}
		mux.Handle("/ui/", h)
		mux.Handle("GET /{$}", http.RedirectHandler("/ui/", http.StatusSeeOther))
	})
}
