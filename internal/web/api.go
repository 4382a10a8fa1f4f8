package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// apiGets are the node endpoints the UI's scripts read through
// /ui/api/: the same handlers, called as the session's member.
var apiGets = map[string]bool{
	"/log/receipt": true, "/log/keys": true, "/log/checkpoint": true,
	"/log/key": true, "/log/bundle": true, "/concurrence": true,
	"/log/proof/consistency": true, "/peers/bundle": true,
}

// APIGets returns the node paths (such as "/log/receipt") that GET
// /ui/api/{path} forwards to, sorted: the allow-list behind the one
// "GET /ui/api/" pattern of [Handler.Patterns], so that a test that must
// reach every route (the node's check that a hidden id answers as an
// unused one) can enumerate these too and a new one can't be forgotten.
func (h *Handler) APIGets() []string {
	ps := make([]string, 0, len(apiGets))
	for p := range apiGets {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	return ps
}

// apiGet forwards GET /ui/api/X to the node's GET /X as the session's
// member (see [Handler.asMember]), for the endpoints in apiGets.
func (h *Handler) apiGet(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(r.URL.Path, "/ui/api")
	if !apiGets[p] || h.d.API == nil || h.d.AsMember == nil {
		http.NotFound(w, r)
		return
	}
	h.forward(w, r, p)
}

// apiPost forwards POST /ui/api/collections/{id}/objects/ (with the
// session's CSRF token, checked by [Handler.member]) to the node's TAXII
// objects endpoint: the browser's signed objects go through the node's
// submission pipeline like any TAXII client's.
func (h *Handler) apiPost(w http.ResponseWriter, r *http.Request) {
	if h.d.API == nil || h.d.AsMember == nil {
		http.NotFound(w, r)
		return
	}
	h.forward(w, r, "/api/collections/"+url.PathEscape(r.PathValue("id"))+"/objects/")
}

func (h *Handler) forward(w http.ResponseWriter, r *http.Request, path string) {
	s := sessionFrom(r)
	r2 := r.Clone(r.Context())
	// The view proof was the UI's (see [proveBinding]), not the node's.
	r2.URL = &url.URL{Path: path, RawQuery: withoutView(r.URL.RawQuery)}
	r2.RequestURI = r2.URL.RequestURI()
	r2.Header = http.Header{}
	for _, k := range []string{"Accept", "Content-Type", "Content-Length"} {
		if v := r.Header.Get(k); v != "" {
			r2.Header.Set(k, v)
		}
	}
	// The node's answers aren't pages: no scripts may run in them, and
	// no other site may frame them.
	w.Header().Set("Content-Security-Policy", "default-src 'none'; sandbox; frame-ancestors 'none'")
	h.d.API.ServeHTTP(w, h.asMember(r2, s))
}

// uiBearer is the bearer "token" of the UI's in-process calls to the
// node's handlers. It is no token and authenticates nothing (the node
// hashes it and finds no member); it is there so that the node's one
// parser of credentials ([taxii.RequestToken]) finds one. The node
// authenticates these calls by the member that [Deps.AsMember] put in
// their context, which no client can send.
const uiBearer = "parley-ui-session"

// asMember returns r (whose headers the caller made, none of them the
// browser's Authorization) as a call of s's member to the node's
// handlers: the session's member in its context, by [Deps.AsMember].
// The session keeps no API token to send instead.
func (h *Handler) asMember(r *http.Request, s *session) *http.Request {
	if h.d.AsSession != nil {
		r = r.WithContext(h.d.AsSession(r.Context(), s.member, s.token))
	} else {
		r = r.WithContext(h.d.AsMember(r.Context(), s.member))
	}
	r.Header.Set("Authorization", "Bearer "+uiBearer)
	return r
}
