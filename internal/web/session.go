package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/parley-exchange/parley/internal/held"
	"github.com/parley-exchange/parley/internal/store"
)

// Cookie names. The session cookie holds only a random id; the member
// and the CSRF token stay on the server.
const (
	sessionCookie = "parley_session"
	// loginCookie carries the CSRF token of the login form (double
	// submit: the form field must equal the cookie), since there is no
	// session to keep it in yet.
	loginCookie = "parley_login"
	csrfField   = "csrf"
	csrfHeader  = "X-CSRF-Token"
	// bindingField is the login form's field with the browser binding
	// (see [sessions]): the SHA-256 of the tab's secret, base64url.
	bindingField = "binding"
	// bindingHeader carries the secret itself on the scripts' requests.
	bindingHeader = "X-Parley-Binding"
	// bindingStorageKey is the localStorage key of the secret (the
	// scripts' name for it; here for the docs and tests).
	bindingStorageKey = "parley.binding"
)

// notBoundMsg is what a request that needs the browser binding and lacks
// it is told.
const notBoundMsg = "This session was not started in this browser tab's origin (or was started without JavaScript, or before the node's upgrade): a page on another port of this host may have put you in another member's session. Nothing was done. Log out, then log in again on this page with JavaScript enabled."

// noBindingMsg is what a login without the browser binding is told.
const noBindingMsg = "Logging in needs JavaScript (with WebCrypto and localStorage) for this site: the session is bound to a secret this browser keeps for this page's origin, and every page asks for its proof, so that the session cookie alone, which browsers send to other ports of this host too, reads nothing. Enable JavaScript here and log in again, or use the parley command line."

// sessions keeps logged-in sessions in the node's store
// ([store.UISessions]), so that every front end of a node on one
// database knows them, keyed by the SHA-256 of a random 32-byte id, the
// session cookie's value: the table, like the token table, holds no
// credential a dump could replay (the member's API token is kept only as
// its SHA-256, as the tokens table keeps it), and a lookup finds the hash
// of what a client sends, never compares its bytes with a live id's (no
// timing to learn an id from). A session ends at logout, SessionTTL
// after login, after IdleTimeout without a request that proves its
// binding (or a post with its CSRF token: the cookie alone keeps nothing
// alive, see [sessions.get]), or at the first
// request after its API token stops authenticating (rotated, revoked,
// member removed: the token's hash no longer names the member), whichever
// comes first; all of it is checked on the server at every request,
// whatever the browser keeps, and again while a request is in flight: a
// page, a look-up or a wait for the node's budget or a checkpoint ends,
// answering 401, at once when its session is logged out on the same front
// end, and within sessionRecheck when it ends otherwise (a logout on
// another front end, a token revoked or a member removed elsewhere, an
// expiry), by one check per session however many of its requests are in
// flight ([held.Shared]). Ended sessions are deleted at each login, and a
// member keeps at most [store.MaxUISessionsPerMember].
//
// A session is bound to the browser tab's origin that logged in: cookies
// are not kept apart by port, so a page on another port of the node's
// host can set the session cookie to its own member's session while the
// analyst is logged out, and the analyst would go on in it (posting
// under that member, looking up under it). localStorage is kept apart by
// origin, port included. The login page's script keeps a random secret
// in localStorage (bindingStorageKey; made once per origin, so that a tab
// that only opens the login page can't unbind another tab's session) and
// sends its SHA-256 (bindingField), which the session keeps
// ([store.UISession.Binding]). Every request of a session that reads
// anything must prove the secret, not just the cookie: cookies are not
// kept apart by port in either direction, and a server on another port
// of the host is sent the cookie with any request the analyst's browser
// makes there. The scripts send the secret in bindingHeader; a
// navigation, which carries no header, carries viewProof of its URL in
// viewParam, which the page's script adds to the page's links; a page
// request without it gets the proving page (see [Handler.proveView]),
// which holds nothing of the session's and whose script adds it. A post
// carries the CSRF token, which only proved pages hold; /ui/api/ posts
// also the secret. Without it nothing is done and the analyst is told
// why (notBoundMsg). Each page's script checks on load that the session
// is bound to this tab's secret (GET /ui/binding) and otherwise replaces
// the page: it drops the session's cookie from the browser (a logout
// without the CSRF token, [Handler.dropCookie]) and sends the analyst to
// the login page, which says why. A view proof lasts 5 to 10 minutes
// ([viewWindow]), and is taken only on a navigation from the node's own
// pages or the analyst ([viewFrom]): a page that planted a session can't
// send the analyst to pages of it that it proved. A login without the
// script (JavaScript off) opens no session: it could read nothing. A
// session without a binding (from before the upgrade) reads nothing.
// Logging out ends the session only with its CSRF token, which only its
// proved pages hold.
type sessions struct {
	d  Deps
	st store.UISessions
	// watch ends the requests in flight of a session when it ends: one
	// check of the store per session every sessionRecheck while any of
	// its requests is in flight, and at once at a logout on this front
	// end ([sessions.close]).
	watch *held.Shared[[32]byte]
}

type session struct {
	key    [32]byte // SHA-256 of the session id
	member store.Member
	// token is the SHA-256 of the member's API token at login: the
	// session lasts while it names member.
	token [32]byte
	csrf  string
	// binding is the SHA-256 of the tab's secret; zero when unbound.
	binding [32]byte
	// proved says this request proved the binding (proveBinding), and
	// elsewhere that its view proof was good but its navigation came
	// from another origin (viewFrom).
	proved, elsewhere bool
	// seen is when the session's last request that proved its binding
	// was, as stored, and expires when it ends whatever its use.
	seen, expires time.Time
}

// bound reports whether the session was started with a binding.
func (s *session) bound() bool { return s.binding != [32]byte{} }

// provesBinding reports whether secret (what the browser sent) is the
// secret the session is bound to.
func (s *session) provesBinding(secret string) bool {
	if !s.bound() || secret == "" {
		return false
	}
	sum := sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(sum[:], s.binding[:]) == 1
}

// viewParam is the URL parameter of a page request's proof of the
// binding (see viewProof): every GET of a session, a page or /ui/api/,
// carries it or the secret in bindingHeader. It replaces a look-up's
// proof (proof=, an HMAC of "parley lookup" and q alone, which was good
// for any page with that q, and with the empty q for every /ui/api/
// call): proof= is no longer read, and a URL that carries it (a bookmark)
// still works, by the proving page, as any URL without a view proof.
const viewParam = "view"

// viewTag names session s in its view proofs, so that a URL with a proof
// is good in that session only: the SHA-256 of "parley view tag", the
// store's key of the session, base64url, cut to 128 bits. It is no
// secret (whoever holds the cookie can compute it); the binding is.
func viewTag(s *session) string {
	sum := sha256.Sum256(append([]byte("parley view tag\n"), s.key[:]...))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// viewTarget is what a view proof of r covers: r's path and query, as
// the browser sent them (the request-target), without any view
// parameter and empty parts. The pages' script computes the same from a
// link's URL (session.js, withoutView), and
// the proving page (prove.html) is given it.
func viewTarget(r *http.Request) string {
	uri := r.RequestURI
	if !strings.HasPrefix(uri, "/") {
		uri = r.URL.RequestURI()
	}
	p, q, _ := strings.Cut(uri, "?")
	if q = withoutView(q); q == "" {
		return p
	}
	return p + "?" + q
}

// withoutView returns the raw query q without its view parameters and
// empty parts, in their order.
func withoutView(q string) string {
	var keep []string
	for _, part := range strings.Split(q, "&") {
		if name, _, _ := strings.Cut(part, "="); part != "" && name != viewParam {
			keep = append(keep, part)
		}
	}
	return strings.Join(keep, "&")
}

// viewProof is the proof of the binding that a GET of target carries in
// viewParam: the window w (see viewWindowOf), a dot, and the HMAC-SHA256,
// keyed by the binding (the SHA-256 of the tab's secret), of
// "parley view", the session's viewTag, w and target, base64url. Only a
// script of the node's origin can compute it (from the secret in
// localStorage); it is good for that one URL in that one session, for
// viewWindow to twice that (see viewFresh), and the secret is never in a
// URL.
func viewProof(binding [32]byte, tag string, w int64, target string) string {
	m := hmac.New(sha256.New, binding[:])
	m.Write([]byte("parley view\n" + tag + "\n" + strconv.FormatInt(w, 10) + "\n" + target))
	return strconv.FormatInt(w, 10) + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// viewWindow is how long a view proof's window lasts: a proof is made for
// the window the node's clock is in (the pages give it to their script,
// so that the browser's clock doesn't matter) and taken in that window
// and the next, so that a URL with its proof (copied into a chat, a
// proxy's log, the history of a shared machine) reads its page for at
// most twice this, for whoever also holds the session cookie. Afterwards
// the URL goes by the proving page, whose script proves it again in the
// tab that holds the secret: links, back, forward, reload and bookmarks
// go on working there (one more round trip), and nowhere else.
const viewWindow = 5 * time.Minute

// viewWindowOf is the number of the view proofs' window at t.
func viewWindowOf(t time.Time) int64 { return t.Unix() / int64(viewWindow/time.Second) }

// viewFresh reports whether a proof of window w is taken at now: of now's
// window or the one before.
func viewFresh(w int64, now time.Time) bool {
	cur := viewWindowOf(now)
	return w == cur || w == cur-1
}

// proveBinding reports whether r, at now, proves the binding of s: the
// secret in bindingHeader (the scripts' calls), or, on a GET, a fresh
// viewProof of its URL in viewParam (a navigation, which can carry no
// header) that came from the node's own pages, the browser's own address
// bar or bookmarks, or no browser (see viewFrom). It notes the answer in
// s (see bindingProved), and in s.elsewhere a good proof refused only for
// where its navigation came from.
func proveBinding(r *http.Request, s *session, now time.Time) bool {
	if s.provesBinding(r.Header.Get(bindingHeader)) {
		s.proved = true
		return true
	}
	if !s.bound() || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		return false
	}
	target := viewTarget(r)
	for _, v := range r.URL.Query()[viewParam] {
		ws, _, ok := strings.Cut(v, ".")
		w, err := strconv.ParseInt(ws, 10, 64)
		if !ok || err != nil || !viewFresh(w, now) {
			continue
		}
		if hmac.Equal([]byte(v), []byte(viewProof(s.binding, viewTag(s), w, target))) {
			if !viewFrom(r) {
				s.elsewhere = true
				return false
			}
			s.proved = true
			return true
		}
	}
	return false
}

// viewFrom reports whether a navigation with a view proof may be served
// on it: the browser says (Sec-Fetch-Site) it came from the node's own
// pages (same-origin) or from the analyst (none: the address bar, a
// bookmark), or says nothing (no browser, or one too old to say). A
// navigation that a page on another port of this host (same-site) or
// another site (cross-site) started gets the proving page, whose script
// proves it again in the tab, if the tab holds the secret: so that a
// page that planted its member's session cookie in the analyst's
// browser can't send the analyst to pages of that session that it
// proved itself (see [sessions]).
func viewFrom(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
		return true
	}
	return false
}

// bindingProved reports whether r, a request of session s, proved its
// binding (the secret in bindingHeader, or a GET's view proof, which
// [Handler.member] checks first). q is what it looks up; every request
// that reaches a page proves the binding for all of it.
func bindingProved(r *http.Request, s *session, q string) bool {
	return s != nil && (s.proved || s.provesBinding(r.Header.Get(bindingHeader)))
}

func newSessions(d Deps) *sessions {
	return &sessions{d: d, st: d.Store, watch: held.NewShared[[32]byte](sessionRecheck)}
}

// sessionKeyOf is the store's key of the session with that id.
func sessionKeyOf(id string) [32]byte { return sha256.Sum256([]byte(id)) }

func (ss *sessions) random() (string, error) {
	var b [32]byte
	if _, err := io.ReadFull(ss.d.Rand, b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// open starts a session of m, who logged in with token, and returns it
// with its id, the value of the session cookie, which the store keeps
// only as its hash (and the token as its own).
func (ss *sessions) open(ctx context.Context, m store.Member, token string, binding [32]byte) (*session, string, error) {
	id, err := ss.random()
	if err != nil {
		return nil, "", err
	}
	csrf, err := ss.random()
	if err != nil {
		return nil, "", err
	}
	now := ss.d.Now()
	s := &session{key: sessionKeyOf(id), member: m, token: sha256.Sum256([]byte(token)), csrf: csrf, binding: binding}
	err = ss.st.OpenUISession(ctx, store.UISession{Key: s.key, Member: m.ID, Token: s.token, CSRF: csrf,
		Created: now, LastSeen: now, Expires: now.Add(ss.d.SessionTTL), Binding: binding}, now.Add(-ss.d.IdleTimeout))
	if err != nil {
		return nil, "", err
	}
	return s, id, nil
}

// get returns the live session with the given id at now, or nil when
// there is none, without refreshing its idle time: a request that has
// only the cookie (which a server on another port of the host is sent
// too) must not keep the session alive; [sessions.touch] refreshes it
// once the request has proved the binding. Its member is only the id:
// the caller checks the token and reads the member.
func (ss *sessions) get(ctx context.Context, id string, now time.Time) (*session, error) {
	us, err := ss.st.UISession(ctx, sessionKeyOf(id), now, now.Add(-ss.d.IdleTimeout))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &session{key: us.Key, member: store.Member{ID: us.Member}, token: us.Token, csrf: us.CSRF, binding: us.Binding,
		seen: us.LastSeen, expires: us.Expires}, nil
}

// touch refreshes the idle time of s, whose request at now proved its
// binding (or, a post, carried its CSRF token, which only its proved
// pages hold). It writes only when the store would
// ([store.UISession.ReadOnlyAt]); false when the session ended meanwhile.
func (ss *sessions) touch(ctx context.Context, s *session, now time.Time) (bool, error) {
	idleBefore := now.Add(-ss.d.IdleTimeout)
	if (store.UISession{LastSeen: s.seen, Expires: s.expires}).ReadOnlyAt(now, idleBefore) {
		return true, nil
	}
	_, err := ss.st.TouchUISession(ctx, s.key, now, idleBefore)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// close ends the session with that key, in the store and, at once, its
// requests in flight on this front end.
func (ss *sessions) close(ctx context.Context, key [32]byte) error {
	if err := ss.st.CloseUISession(ctx, key); err != nil {
		return err
	}
	ss.watch.End(key, errSessionEnded)
	return nil
}

type sessionKey struct{}

func sessionFrom(r *http.Request) *session {
	s, _ := r.Context().Value(sessionKey{}).(*session)
	return s
}

type loginKey struct{}

func loginCSRF(r *http.Request) string {
	s, _ := r.Context().Value(loginKey{}).(string)
	return s
}

func (h *Handler) cookie(r *http.Request, name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: name, Value: value, Path: "/ui/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil || h.d.SecureCookies || forwardedHTTPS(r),
	}
}

// member wraps a page that needs a session: without one, a GET is sent
// to the login page (then back) and anything else is 401. A request that
// is not a GET must carry the session's CSRF token, in the form field
// "csrf" or the X-CSRF-Token header, or it gets 403.
func (h *Handler) member(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var s *session
		if n := cookieCount(r, sessionCookie); n > 1 {
			// The node sets one session cookie, at /ui/. Another would
			// have been set by a page on another port of this host (or
			// a sibling domain: cookies are not kept apart by port), at
			// a longer path that the browser sends first: the analyst's
			// pages there would go on in that page's member's session,
			// as a tossed login form's would. No session is taken from
			// such a request (which of them is the node's can't be told).
			h.fail(w, r, http.StatusForbidden, "Your browser sent more than one Parley session cookie: a page on another port or domain of this host set one, to put you in another member's session. None is used. Clear this site's cookies in your browser, then log in again.", nil)
			return
		}
		now := h.d.Now()
		c, err := r.Cookie(sessionCookie)
		stale := err == nil // a session cookie, but is it a session's?
		if stale {
			if s, err = h.sessions.get(r.Context(), c.Value, now); err != nil {
				h.fail(w, r, http.StatusInternalServerError, "", err)
				return
			}
		}
		if s != nil {
			// A session is only as good as its token: once the token is
			// rotated or revoked, or its member removed (on any front end
			// of the store), its hash names no member and the session
			// ends at its next request. The store compares the hash in
			// constant time, as it does a presented token's.
			m, err := h.d.Store.TokenMember(r.Context(), s.token)
			switch {
			case errors.Is(err, store.ErrNotFound):
				if err := h.sessions.close(r.Context(), s.key); err != nil {
					h.fail(w, r, http.StatusInternalServerError, "", err)
					return
				}
				http.SetCookie(w, h.cookie(r, sessionCookie, "", -1))
				s = nil
			case err != nil:
				h.fail(w, r, http.StatusInternalServerError, "", err)
				return
			case m.ID != s.member.ID:
				// A token hash names one member; anything else is a
				// broken store, and the session is not trusted.
				h.sessions.close(r.Context(), s.key)
				h.fail(w, r, http.StatusInternalServerError, "", fmt.Errorf("web: the session's token now names member %s, not %s", m.ID, s.member.ID))
				return
			default:
				s.member = m
			}
		}
		if s == nil {
			if r.Method == http.MethodGet && !strings.HasPrefix(r.URL.Path, "/ui/api/") {
				to := "/ui/login?next=" + url.QueryEscape(r.URL.RequestURI())
				if stale {
					// The browser still had a session: say why the
					// login form is back instead of the page.
					to += "&ended=1"
				}
				http.Redirect(w, r, to, http.StatusSeeOther)
				return
			}
			h.fail(w, r, http.StatusUnauthorized, "Log in first.", nil)
			return
		}
		if h.d.NoteMember != nil {
			h.d.NoteMember(r.Context(), s.member.ID)
		}
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && !proveBinding(r, s, now) {
			// The session cookie is no proof of the analyst: cookies
			// are not kept apart by port, so a server on another port
			// of this host is sent it with any request the analyst's
			// browser makes there. Nothing of the member's is read
			// without the binding (see [sessions]); the request is
			// answered before the session is in its context, so that
			// not even the member's name or CSRF token is written.
			h.proveView(w, r, s)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			got := r.Header.Get(csrfHeader)
			if got == "" {
				r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
				got = r.PostFormValue(csrfField)
			}
			// Refused before the session is in the request's context:
			// the error page holds neither its member nor its CSRF
			// token (a server on another port has the cookie).
			if subtle.ConstantTimeCompare([]byte(got), []byte(s.csrf)) != 1 {
				if r.URL.Path == "/ui/logout" {
					// Ending a session takes its CSRF token, which
					// only its proved pages hold: the cookie alone
					// (a server on another port is sent it) can't end
					// it. Without the token, logging out only drops
					// the cookie from this browser: the way out of a
					// planted session (the notice of session.js), which
					// ends nothing of its member's.
					h.dropCookie(w, r)
					return
				}
				h.fail(w, r, http.StatusForbidden, "This form has expired or did not come from this site (missing CSRF token). Reload the page and try again.", nil)
				return
			}
		}
		// Proved: the binding (a GET) or the CSRF token (anything
		// else). Only now is the session kept alive.
		switch ok, err := h.sessions.touch(r.Context(), s, now); {
		case err != nil:
			h.fail(w, r, http.StatusInternalServerError, "", err)
			return
		case !ok:
			http.SetCookie(w, h.cookie(r, sessionCookie, "", -1))
			h.fail(w, r, http.StatusUnauthorized, "Your session has ended. Log in again.", nil)
			return
		}
		ctx := context.WithValue(r.Context(), sessionKey{}, s)
		if h.d.AsSession != nil {
			// What the page waits for in the node ends with the
			// session's token (see [Deps.AsSession]).
			ctx = h.d.AsSession(ctx, s.member, s.token)
		}
		// The request lasts only while its session does: logging out
		// (on any front end), the session's expiry, or its token's
		// revocation ends it in flight (a long page, a look-up, a wait
		// for the budget or a checkpoint), not only the next request.
		h.sessions.watch.Watch(ctx, s.key, func(ctx context.Context) error {
			return h.sessions.alive(ctx, s)
		}, func(ctx context.Context) error {
			next(w, r.WithContext(ctx))
			return nil
		})
	}
}

// sessionRecheck is how often the store is read again to check that a
// session with requests in flight still is ([sessions.alive]): one check
// (two store reads) per session and interval, on one goroutine, however
// many of its requests are in flight ([held.Shared]). A logout on this
// front end ends its requests at once; an end made elsewhere (a logout
// on another front end, a token revoked or a member removed through the
// API or the command line, an expiry) ends them within sessionRecheck,
// a quarter of a second (well within the node's waits: a receipt's is
// 2 s), for at most 8 store reads a second per session, where each
// request read the store 20 times a second
// (TestInFlightSessionChecksBounded).
const sessionRecheck = 250 * time.Millisecond

// errSessionEnded is why a request's context ended when its session
// ended while it was in flight: logged out, expired, or its token no
// longer names its member. [Handler.fail] answers it with 401.
var errSessionEnded = errors.New("web: the session ended while its request was in flight")

// alive checks that session s still is, as a new request of it would be
// let in: it is in the store, neither logged out nor expired nor idle
// too long, and its token still names its member (not rotated, revoked
// or removed). It returns errSessionEnded if not, and nil when it can't
// tell (a store that doesn't answer for a moment): the request goes on,
// as [held.Watch] asks.
func (ss *sessions) alive(ctx context.Context, s *session) error {
	now := ss.d.Now()
	if _, err := ss.st.UISession(ctx, s.key, now, now.Add(-ss.d.IdleTimeout)); errors.Is(err, store.ErrNotFound) {
		return errSessionEnded
	}
	m, err := ss.d.Store.TokenMember(ctx, s.token)
	if errors.Is(err, store.ErrNotFound) || (err == nil && m.ID != s.member.ID) {
		return errSessionEnded
	}
	return nil
}

type loginView struct {
	Next  string
	Error string
	// Ended says the login form is shown because the browser's session
	// ended (it expired, it was logged out, or its token changed).
	Ended bool
	// Foreign says the page's script dropped a session that was not
	// this tab's (session.js, foreign=1).
	Foreign bool
	// TTL and Idle are the sessions' lifetimes, as the page says them.
	TTL, Idle string
}

// spell says d as the login page does: "8 hours", "an hour", "30
// minutes".
func spell(d time.Duration) string {
	n, unit := int64(0), ""
	switch {
	case d%time.Hour == 0:
		n, unit = int64(d/time.Hour), "hour"
	case d%time.Minute == 0:
		n, unit = int64(d/time.Minute), "minute"
	default:
		return d.String()
	}
	if n == 1 {
		return "an " + unit
	}
	return strconv.FormatInt(n, 10) + " " + unit + "s"
}

// loginView returns the login page's data, the sessions' lifetimes
// filled in.
func (h *Handler) loginView(v loginView) loginView {
	v.TTL, v.Idle = spell(h.d.SessionTTL), spell(h.d.IdleTimeout)
	return v
}

// safeNext keeps a post-login destination only if it is a path of the
// UI, so the login form can't be used to send analysts elsewhere.
func safeNext(s string) string {
	if !strings.HasPrefix(s, "/ui/") || strings.HasPrefix(s, "//") || strings.ContainsAny(s, "\\\r\n") {
		return "/ui/"
	}
	return s
}

func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	tok, err := h.sessions.random()
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, "", err)
		return
	}
	http.SetCookie(w, h.cookie(r, loginCookie, tok, 3600))
	r = r.WithContext(context.WithValue(r.Context(), loginKey{}, tok))
	h.render(w, r, http.StatusOK, "login", "Log in", h.loginView(loginView{Next: safeNext(r.URL.Query().Get("next")), Ended: r.URL.Query().Get("ended") != "", Foreign: r.URL.Query().Get("foreign") != ""}))
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, http.StatusBadRequest, "The form could not be read.", nil)
		return
	}
	// A page on another port of this host may also have set a login
	// cookie of its own at a longer path (/ui/login), which the browser
	// sends first: the form's token is compared with each, or that page
	// would keep the analyst from logging in at all.
	var c *http.Cookie
	err := http.ErrNoCookie
	for _, lc := range r.CookiesNamed(loginCookie) {
		if lc.Value != "" && subtle.ConstantTimeCompare([]byte(lc.Value), []byte(r.PostFormValue(csrfField))) == 1 {
			c, err = lc, nil
			break
		}
	}
	// The login form's token is a double submit, and a cookie is not
	// the origin's alone: a page on another port of this host (or on a
	// sibling domain) can set the login cookie to a value it knows, then
	// post its own token with it, and the analyst would go on in the
	// page's member's session. The browser says where a request came
	// from (Sec-Fetch-Site); a login posted from anywhere but the node's
	// own pages is refused.
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		h.fail(w, r, http.StatusForbidden, "This login form was posted from another site, not from this node's login page. Open the login page of this node and log in there.", nil)
		return
	}
	if err != nil {
		h.fail(w, r, http.StatusForbidden, "This form has expired or did not come from this site (missing CSRF token). Reload the login page and try again.", nil)
		return
	}
	// The browser binding: absent when the page's script didn't run
	// (JavaScript off, or no WebCrypto or localStorage). A session
	// without one could read nothing (every page needs the binding's
	// proof), so none is opened. Anything else than a SHA-256 is refused,
	// so that a broken script is not taken for none.
	var binding [32]byte
	if b := r.PostFormValue(bindingField); b != "" {
		raw, err := base64.RawURLEncoding.DecodeString(b)
		if err != nil || len(raw) != len(binding) || [32]byte(raw) == binding {
			h.fail(w, r, http.StatusBadRequest, "The login form's browser binding could not be read. Reload the login page and try again.", nil)
			return
		}
		binding = [32]byte(raw)
	}
	token := strings.TrimSpace(r.PostFormValue("token"))
	m, err := h.d.Authenticate(r.Context(), token)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			h.fail(w, r, http.StatusInternalServerError, "", err)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), loginKey{}, c.Value))
		h.render(w, r, http.StatusUnauthorized, "login", "Log in", h.loginView(loginView{Next: safeNext(r.PostFormValue("next")), Error: "That token is not valid on this node."}))
		return
	}
	if binding == [32]byte{} {
		r = r.WithContext(context.WithValue(r.Context(), loginKey{}, c.Value))
		h.render(w, r, http.StatusBadRequest, "login", "Log in", h.loginView(loginView{Next: safeNext(r.PostFormValue("next")), Error: noBindingMsg}))
		return
	}
	_, id, err := h.sessions.open(r.Context(), m, token, binding)
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, "", err)
		return
	}
	http.SetCookie(w, h.cookie(r, loginCookie, "", -1))
	http.SetCookie(w, h.cookie(r, sessionCookie, id, int(h.d.SessionTTL/time.Second)))
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
}

// bound wraps a request of [Handler.member] that needs the browser
// binding (see [sessions]): the scripts' calls, which send the secret in
// bindingHeader. Without it: 403, and nothing done.
func (h *Handler) bound(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !bindingProved(r, sessionFrom(r), "") {
			if strings.HasPrefix(r.URL.Path, "/ui/api/") {
				// The scripts read a problem's title (sign.js).
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusForbidden)
				json.NewEncoder(w).Encode(map[string]string{"title": notBoundMsg})
				return
			}
			h.fail(w, r, http.StatusForbidden, notBoundMsg, nil)
			return
		}
		next(w, r)
	}
}

// proveView answers a GET of session s that doesn't prove its binding
// (see [proveBinding]), whatever it asks for and whether or not that
// exists: /ui/api/ and /ui/binding with 403; a page with the proving
// page, which holds nothing of the member's (no name, no CSRF token):
// its script (session.js) checks that the session is bound to this
// tab's secret and, if it is, goes on to the same URL with its view
// proof, in place of the proving page in the history; if not, it says
// so. A link, a bookmark, a pasted URL, a form's GET, or a URL whose
// proof is of an ended session so works for the tab that holds the
// secret, and for no one else.
func (h *Handler) proveView(w http.ResponseWriter, r *http.Request, s *session) {
	if strings.HasPrefix(r.URL.Path, "/ui/api/") {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusForbidden)
		json.NewEncoder(w).Encode(map[string]string{"title": notBoundMsg})
		return
	}
	if r.URL.Path == "/ui/binding" {
		h.fail(w, r, http.StatusForbidden, notBoundMsg, nil)
		return
	}
	h.render(w, r, http.StatusOK, "prove", "Opening this page", proveView{Tag: viewTag(s), Window: viewWindowOf(h.d.Now()), Target: viewTarget(r), Elsewhere: s.elsewhere})
}

// proveView is the data of the proving page (prove.html).
type proveView struct {
	// Tag is the session's viewTag, Window the node's view window now
	// (viewWindowOf), Target the URL's viewTarget: what the script's
	// proof covers.
	Tag    string
	Window int64
	Target string
	// Elsewhere says the URL's proof was good but its navigation came
	// from another origin (viewFrom): the script's proof, the same, is
	// then no sign of a proxy that changes URLs.
	Elsewhere bool
}

// dropCookie answers a logout without the session's CSRF token: it
// drops the session cookie from this browser and sends it to the login
// page, and ends no session. Only a request that the browser says came
// from the node's own pages (Sec-Fetch-Site: same-origin: session.js
// dropping a session that is not the tab's) is answered so; any other is
// refused, as any form without its CSRF token is, so that no other page
// can log the analyst out of this browser by a form.
func (h *Handler) dropCookie(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Sec-Fetch-Site") != "same-origin" {
		h.fail(w, r, http.StatusForbidden, "This form has expired or did not come from this site (missing CSRF token). Reload the page and try again.", nil)
		return
	}
	http.SetCookie(w, h.cookie(r, sessionCookie, "", -1))
	http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
}

// bindingCheck answers GET /ui/binding, which each page's script calls
// on load with its secret: 204 when the session is bound to it (else
// [Handler.bound] answers 403, and the script replaces the page).
func (h *Handler) bindingCheck(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if err := h.sessions.close(r.Context(), sessionFrom(r).key); err != nil {
		h.fail(w, r, http.StatusInternalServerError, "", err)
		return
	}
	http.SetCookie(w, h.cookie(r, sessionCookie, "", -1))
	http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
}

// forwardedHTTPS reports whether a TLS-terminating proxy says the browser
// used https (X-Forwarded-Proto, as TAXII discovery reads it). A client
// that sends the header itself only makes its own cookies Secure.
func forwardedHTTPS(r *http.Request) bool {
	return strings.EqualFold(strings.TrimSpace(r.Header.Get("X-Forwarded-Proto")), "https")
}

// cookieCount returns how many cookies named name r carries.
func cookieCount(r *http.Request, name string) int {
	return len(r.CookiesNamed(name))
}
