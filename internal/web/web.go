// Package web is the analysts' web UI of a Parley node, served under
// /ui/: server-rendered pages (html/template, one file per page, every
// STIX string escaped by the template's contextual escaping) over the
// node's store, and vendored JavaScript that checks signatures and log
// proofs in the analyst's browser with WebCrypto, and signs opinions and
// sightings there, with a key file that never leaves the browser.
//
// The pages need no script to show, but logging in and proving, for
// each page, that the session is the tab's that logged in do (see
// [sessions]): the session cookie alone reads nothing. The pages run
// under a strict Content-Security-Policy: scripts only with the
// response's nonce and the vendored files' integrity, no inline
// handlers, no third-party origin.
//
// Sessions live in the node's store (see [sessions]), so that every front
// end of a node on one database knows them and a restart keeps them. The
// UI's calls to the node's own JSON endpoints (/log/receipt, /log/keys,
// /log/checkpoint, /log/key, /log/bundle, /concurrence, /peers/bundle,
// /private/sets, and TAXII object posts) go through /ui/api/ (or are
// made in process), which calls the node's handlers unchanged as the
// session's member ([Deps.AsMember]; the session keeps no API token):
// the UI needs no second implementation of any of them.
package web

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/opinion"
	"github.com/parley-exchange/parley/taxii"
)

// Deps are what the UI needs from the node.
type Deps struct {
	// Store is the node's store; the pages use its [store.UIQueries].
	Store store.Store
	// Authenticate returns the member an API token belongs to, or an
	// error wrapping store.ErrNotFound (the node's token check).
	Authenticate func(ctx context.Context, token string) (store.Member, error)
	// Concurrence measures the opinions on an object as member m may see
	// them (the node's GET /concurrence): it returns what computing them
	// may hold, which the object page reserves together with its own
	// before it calls compute, and compute, which computes them reading
	// only what was measured. Nil hides the tally.
	Concurrence func(ctx context.Context, m store.Member, object string) (memory int64, compute func(context.Context) (opinion.Concurrence, error), err error)
	// API serves the node's own endpoints that /ui/api/ forwards to.
	API http.Handler
	// AsMember returns ctx as the context of a request that API is to
	// serve as member m, authenticated already: the UI keeps no API
	// token to send, and calls API with the session's member in the
	// context, which the node honours from this handler only (no client
	// can put a value in a request's context). Nil, or a nil API, turns
	// the UI's calls to the node's endpoints off.
	AsMember func(ctx context.Context, m store.Member) context.Context
	// AsSession, when set, is used instead of AsMember, with the SHA-256
	// of the token the session logged in with: the node then serves the
	// call as m only while that token authenticates m, checking again
	// while a call is held open. Every request of a session runs in such
	// a context too, so that what a page waits for in the node (its share
	// of the response budget, a tally's checkpoint) ends when the token
	// is revoked or rotated, not only the session's next request.
	AsSession func(ctx context.Context, m store.Member, token [32]byte) context.Context
	// Reserve takes n bytes of the node's memory budget for a page of
	// member m, waiting as the node's own responses do; the page gives
	// them back with release once written. An error means the budget
	// stayed spent (503). Nil reserves nothing (see memory.go).
	Reserve func(ctx context.Context, m store.Member, n int64) (release func(), err error)
	// Witnesses names the witnesses the node submits its checkpoints to
	// (config.json's witnesses: each its URL), for the home page.
	Witnesses []string
	// MaxObjectSize is the largest object the store holds, in bytes of
	// raw JSON (the node's max_object_size); zero means
	// DefaultMaxObjectSize. Pages reserve memory by it.
	MaxObjectSize int64
	// Now and Rand are injected time and randomness; nil means the clock
	// and crypto/rand.
	Now  func() time.Time
	Rand io.Reader
	// CheckTimeout is how long the object page's check in the browser
	// (verify.js) waits for each of the node's answers it fetches (the
	// receipt, proofs, checkpoints, key index, a peer's proof bundle),
	// retries included, before it gives up saying what didn't answer and
	// that nothing was verified; zero means [DefaultCheckTimeout].
	CheckTimeout time.Duration
	// SessionTTL is how long a session lasts after login; zero means 8h.
	// IdleTimeout ends a session unused that long; zero means 1h.
	SessionTTL, IdleTimeout time.Duration
	// SecureCookies marks cookies Secure even on plain HTTP (for a node
	// behind a TLS-terminating proxy; the node sets it when its public_url
	// is https); under TLS, or with X-Forwarded-Proto: https, they always
	// are.
	SecureCookies bool
	Logger        *slog.Logger
	// NoteMember, if set, is told the member id of each request that
	// carries a live session, for the node's access log (which logs a
	// TAXII request's member the same way). It never sees the session id.
	NoteMember func(ctx context.Context, member string)
}

// DefaultCheckTimeout is how long the browser's check of an object waits
// for each answer of the node by default ([Deps.CheckTimeout]): a node
// or witness that never answers leaves the check failed, saying so, not
// waiting for ever.
const DefaultCheckTimeout = 30 * time.Second

// Handler serves the UI under /ui/. Create it with [New].
type Handler struct {
	d        Deps
	q        store.UIQueries
	mux      *http.ServeMux
	sessions *sessions
	pages    map[string]*template.Template
	assets   map[string]asset
	// patterns are the mux's patterns, in the order routes adds them.
	patterns []string
	// maxPDQ is the most PDQ hashes a look-up searches: MaxPDQLookup
	// (a test lowers it).
	maxPDQ int
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// asset is one vendored file, served at a URL that names its content
// hash, so that a page pins the exact bytes it was rendered with
// (and its integrity attribute makes the browser check them).
type asset struct {
	URL       string
	Integrity string
	body      []byte
	mime      string
}

// New returns the UI handler.
func New(d Deps) (*Handler, error) {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Rand == nil {
		d.Rand = rand.Reader
	}
	if d.CheckTimeout <= 0 {
		d.CheckTimeout = DefaultCheckTimeout
	}
	if d.SessionTTL == 0 {
		d.SessionTTL = 8 * time.Hour
	}
	if d.IdleTimeout == 0 {
		d.IdleTimeout = time.Hour
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.MaxObjectSize <= 0 {
		d.MaxObjectSize = DefaultMaxObjectSize
	}
	h := &Handler{d: d, q: d.Store, mux: http.NewServeMux(), sessions: newSessions(d), assets: map[string]asset{}, maxPDQ: MaxPDQLookup}
	if err := h.loadAssets(); err != nil {
		return nil, err
	}
	if err := h.parseTemplates(); err != nil {
		return nil, err
	}
	h.routes()
	return h, nil
}

func (h *Handler) routes() {
	for _, rt := range []struct {
		pattern string
		serve   http.HandlerFunc
	}{
		{"GET /ui/assets/{name}", h.serveAsset},
		{"GET /ui/login", h.loginPage},
		{"POST /ui/login", h.login},
		{"POST /ui/logout", h.member(h.logout)},
		{"GET /ui/binding", h.member(h.bound(h.bindingCheck))},
		{"GET /ui/{$}", h.member(h.home)},
		{"GET /ui/collections/{id}", h.member(h.collection)},
		{"GET /ui/search", h.member(h.search)},
		{"GET /ui/objects/{id}", h.member(h.object)},
		{"POST /ui/objects/{id}/opinion", h.member(h.opinionNoScript)},
		{"GET /ui/members", h.member(h.members)},
		{"GET /ui/private", h.member(h.privateSets)},
		{"GET /ui/api/", h.member(h.bound(h.apiGet))},
		{"POST /ui/api/collections/{id}/objects/", h.member(h.bound(h.apiPost))},
		// Any other path under /ui/ is a member's not-found page, in
		// the layout: without a session it sends a GET to the login page
		// (and refuses anything else) as every page does, and with one
		// it answers 404 whatever the path names, before reading
		// anything, so that it says nothing of what exists.
		{"/ui/", h.member(h.notFoundPage)},
	} {
		h.mux.HandleFunc(rt.pattern, rt.serve)
		h.patterns = append(h.patterns, rt.pattern)
	}
}

// Patterns returns the [http.ServeMux] patterns of the UI's own routes,
// all under the node's one "/ui/" row, so that a test that must reach
// every route (such as the node's check that a hidden id answers as an
// unused one) can enumerate them and a new page can't be forgotten.
func (h *Handler) Patterns() []string { return slices.Clone(h.patterns) }

// ServeHTTP sets the security headers every response carries, then serves
// r: a Content-Security-Policy (with a fresh nonce for each response)
// that also forbids framing (frame-ancestors 'none', and X-Frame-Options
// DENY for older browsers), nosniff, no Referer, and
// Cross-Origin-Resource-Policy and -Opener-Policy same-origin, so that
// no other site frames, embeds or reads a response.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var b [18]byte
	if _, err := io.ReadFull(h.d.Rand, b[:]); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	// base64url (CSP allows - and _): no "+" for html/template to escape
	// as "&#43;", so that every page's length is the same whatever its
	// nonce (a page's length must tell nothing, as the node's leak tests
	// check, and every page carries the nonce of session.js).
	nonce := base64.RawURLEncoding.EncodeToString(b[:])
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+nonce+"'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	// No other origin may embed a response (an <img>, a <script>, a
	// no-cors fetch: bytes a side channel could read in its process) or
	// keep a handle on a page's window that it opened (and so count its
	// frames, or navigate it).
	hd.Set("Cross-Origin-Resource-Policy", "same-origin")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), nonceKey{}, nonce)))
}

type nonceKey struct{}

func (h *Handler) loadAssets() error {
	return fs.WalkDir(assetFS, "assets", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := assetFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		name := path.Base(p)
		mime := "application/octet-stream"
		switch path.Ext(name) {
		case ".js":
			mime = "text/javascript; charset=utf-8"
		case ".css":
			mime = "text/css; charset=utf-8"
		case ".svg":
			mime = "image/svg+xml"
		}
		ext := path.Ext(name)
		h.assets[name] = asset{
			URL:       "/ui/assets/" + strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:6]) + ext,
			Integrity: "sha256-" + base64.StdEncoding.EncodeToString(sum[:]),
			body:      b, mime: mime,
		}
		return nil
	})
}

func (h *Handler) serveAsset(w http.ResponseWriter, r *http.Request) {
	for _, a := range h.assets {
		if a.URL == r.URL.Path {
			w.Header().Set("Content-Type", a.mime)
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
			w.Write(a.body)
			return
		}
	}
	http.NotFound(w, r)
}

// view is what every page template gets.
type view struct {
	Title  string
	Nonce  string
	CSRF   string
	Member *store.Member
	// Bound says the session was started with a browser binding (see
	// [sessions]); the page's script checks that it is this tab's.
	Bound bool
	// ViewTag is the session's viewTag and ViewWindow the node's view
	// window now (viewWindowOf), for the script's view proofs of the
	// page's links.
	ViewTag    string
	ViewWindow int64
	Assets     map[string]asset
	Path       string
	Data       any
}

var funcs = template.FuncMap{
	"short": func(s string, n int) string {
		if r := []rune(s); len(r) > n {
			return string(r[:n]) + "…"
		}
		return s
	},
	"ts": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"date": func(t time.Time) string { return t.UTC().Format("2006-01-02") },
	"add":  func(a, b int) int { return a + b },
}

func (h *Handler) parseTemplates() error {
	h.pages = map[string]*template.Template{}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return err
	}
	for _, n := range names {
		base := strings.TrimSuffix(path.Base(n), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return fmt.Errorf("couldn't parse the %s template: %w", base, err)
		}
		h.pages[base] = t
	}
	return nil
}

// render writes page name with data and status; a page ends with one
// call to render (or to fail) and return.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) {
	v := view{Title: title, Assets: h.assets, Path: r.URL.Path, Data: data}
	v.Nonce, _ = r.Context().Value(nonceKey{}).(string)
	if s := sessionFrom(r); s != nil {
		v.CSRF = s.csrf
		v.Bound = s.bound()
		v.ViewTag = viewTag(s)
		v.ViewWindow = viewWindowOf(h.d.Now())
		m := s.member
		v.Member = &m
	} else if c := loginCSRF(r); c != "" {
		v.CSRF = c
	}
	t := h.pages[name]
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	// Written as it is rendered, not gathered first: a page's memory is
	// what it reserved (memory.go), and a buffer of the whole page would
	// double the largest. The templates are fixed, so a failure here is
	// a bug; the page is then cut short.
	bw := bufio.NewWriterSize(w, 32<<10)
	if err := t.Execute(bw, v); err != nil {
		if !taxii.ClientGone(r) { // else the page had no one to go to
			h.d.Logger.ErrorContext(r.Context(), "web: couldn't render", "page", name, "err", err)
		}
		return
	}
	bw.Flush()
}

// unavailableRetryAfter is the Retry-After (seconds) of a page whose store
// can't be reached, the node's own (node.UnavailableRetryAfter).
const unavailableRetryAfter = "5"

// fail renders the error page; anything but the statuses the UI chooses
// says "internal error", so no SQL or secret leaks. An error that is
// [store.ErrUnavailable] (the node's database can't be reached) is a 503
// with Retry-After, whatever status the caller chose, and says only that.
// For a client that went away ([taxii.ClientGone]) it renders and logs
// nothing: no one is left to read the page, and that is not a server
// error.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, status int, msg string, err error) {
	if taxii.ClientGone(r) {
		return
	}
	if errors.Is(context.Cause(r.Context()), errSessionEnded) {
		// The session ended while this request was in flight (see
		// [Handler.member]): whatever failed, failed for that. The page
		// says so, without the session's member or CSRF token.
		http.SetCookie(w, h.cookie(r, sessionCookie, "", -1))
		r = r.WithContext(context.WithValue(r.Context(), sessionKey{}, (*session)(nil)))
		status, msg, err = http.StatusUnauthorized, "Your session ended while this page was being made (you logged out, it expired, or its token was revoked). Nothing more was read. Log in again.", nil
	}
	if err != nil {
		h.d.Logger.ErrorContext(r.Context(), "web: request failed", "path", taxii.LogPath(r.URL.Path), "err", err)
	}
	switch {
	case errors.Is(err, store.ErrUnavailable):
		// The text claims nothing about what was stored: a write cut
		// off at its commit may have been committed.
		status, msg = http.StatusServiceUnavailable, "The node's database is unavailable; try again in a moment."
		w.Header().Set("Retry-After", unavailableRetryAfter)
	case status == http.StatusInternalServerError:
		msg = "internal error"
	}
	h.render(w, r, status, "error", http.StatusText(status), msg)
}

// notFoundPage answers a path under /ui/ that no page serves: 404, the
// same page for every such path, in the member's layout (top bar,
// search, log out); it reads nothing, so a path that names a hidden
// object (/ui/objects/{id}/x) is answered as one that names nothing.
func (h *Handler) notFoundPage(w http.ResponseWriter, r *http.Request) {
	h.fail(w, r, http.StatusNotFound, "There is no such page.", nil)
}
