package node

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"strconv"

	"github.com/parley-exchange/parley/internal/peer"
	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/private"
	"github.com/parley-exchange/parley/taxii"
)

// The one error writer of the node's own routes (TAXII's are the TAXII
// handler's, which maps the same kinds through [backend]).

// Error kinds that only the node's HTTP layer produces.
var (
	errUnauthorized = errors.New("a valid API token is required")
	errNoWebUI      = errors.New("this node's store does not support the web UI")
	// errBodyTimeout is a request body that did not arrive within
	// Config.BodyReadTimeout. It wraps os.ErrDeadlineExceeded, which the
	// TAXII handler recognises too.
	errBodyTimeout = &bodyTimeoutError{}
)

type bodyTimeoutError struct{}

func (*bodyTimeoutError) Error() string {
	return "the request body did not arrive within the node's body_read_timeout"
}
func (*bodyTimeoutError) Unwrap() error { return os.ErrDeadlineExceeded }

// UnavailableMessage and UnavailableRetryAfter (seconds) answer a request
// that failed because the node's store can't be reached
// ([store.ErrUnavailable], a database restarting or cut off): 503 with
// Retry-After, on every surface (TAXII, the node's own routes, the web
// UI). The message names no host, user or statement.
const (
	UnavailableMessage    = "the node's database is unavailable; retry later"
	UnavailableRetryAfter = "5"
)

// errorKind maps one kind of error to its answer.
type errorKind struct {
	kind   error
	status int
	title  string
	// desc is what the client reads; "" means the error's own text,
	// which only kinds made from the client's own request may use (the
	// text then names nothing the client didn't send or may not know).
	desc string
	// hint, when set, follows the description.
	hint string
	// retry, when set, is sent as Retry-After (seconds).
	retry string
}

// errorKinds is the table [respondError] reads, first match wins.
// Anything not in it is a 500 "internal error" whose text only the log
// sees.
var errorKinds = []errorKind{
	{kind: errUnauthorized, status: http.StatusUnauthorized, title: "unauthorized", desc: "a valid API token is required (Authorization: Bearer TOKEN)"},
	{kind: errBodyTimeout, status: http.StatusRequestTimeout, title: "request timeout", desc: errBodyTimeout.Error()},
	{kind: errPrivateForbidden, status: http.StatusForbidden, title: "forbidden"},
	{kind: store.ErrSubmitterChanged, status: http.StatusForbidden, title: "forbidden",
		desc: "your access changed while the request was worked on (the operator revoked or removed you, or took away your write access): nothing was stored"},
	{kind: store.ErrNotFound, status: http.StatusNotFound, title: "not found", desc: "no such resource, or you may not read it"},
	{kind: store.ErrConflict, status: http.StatusConflict, title: "conflict"},
	{kind: store.ErrBudgetSpent, status: http.StatusTooManyRequests, title: "query budget spent",
		hint: "; every reader has a finite budget per set, ask the node operator to raise private.query_budget"},
	{kind: private.ErrInvalidValue, status: http.StatusBadRequest, title: "bad request"},
	{kind: private.ErrUnsupportedType, status: http.StatusBadRequest, title: "bad request"},
	{kind: private.ErrInvalidElement, status: http.StatusBadRequest, title: "bad request"},
	{kind: private.ErrBatchSize, status: http.StatusBadRequest, title: "bad request"},
	{kind: store.ErrInvalid, status: http.StatusBadRequest, title: "bad request"},
	{kind: store.ErrTooLarge, status: http.StatusRequestEntityTooLarge, title: "request too large"},
	{kind: store.ErrQuota, status: http.StatusInsufficientStorage, title: "storage quota exceeded"},
	{kind: store.ErrFull, status: http.StatusInsufficientStorage, title: "insufficient storage", desc: "the node's storage is full; nothing was stored. Retry later"},
	// Before the context kinds: a connection attempt cut short is still
	// the store's being unreachable. The text claims nothing about what
	// was stored: a write whose COMMIT was cut off may have been
	// committed (see [store.ErrUnavailable]).
	{kind: store.ErrUnavailable, status: http.StatusServiceUnavailable, title: "service unavailable", desc: UnavailableMessage, retry: UnavailableRetryAfter},
	{kind: ErrNotIntegrated, status: http.StatusServiceUnavailable, title: "not yet in a checkpoint", desc: "an entry isn't in a signed checkpoint yet; retry", retry: "1"},
	{kind: errOpinionsPending, status: http.StatusServiceUnavailable, title: "not yet in a checkpoint", desc: "an opinion isn't in a signed checkpoint yet; retry", retry: "1"},
	{kind: peer.ErrNoProof, status: http.StatusServiceUnavailable, title: "not yet replicated", desc: "the object isn't replicated up to a checkpoint of the peer yet; retry", retry: "5"},
	{kind: errBusy, status: http.StatusServiceUnavailable, title: "busy", desc: "the node is busy sending other objects; retry shortly", retry: "1"},
	{kind: errPrivateBusy, status: http.StatusServiceUnavailable, title: "busy", desc: "the node is busy with other private-set work (publications, evaluations); nothing was done. Retry later", retry: "10"},
	// A context canceled by the node itself; a client that went away is
	// answered nothing and logged as 499 (see respondError).
	{kind: context.Canceled, status: http.StatusServiceUnavailable, title: "request canceled", desc: "the request was canceled"},
	{kind: context.DeadlineExceeded, status: http.StatusServiceUnavailable, title: "timeout", desc: "the request took too long; retry", retry: "1"},
	{kind: errNoWebUI, status: http.StatusNotImplemented, title: "not implemented"},
}

// classifyError returns the status, title, description and Retry-After
// of err's answer.
func classifyError(err error) (status int, title, desc, retry string) {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return http.StatusRequestEntityTooLarge, "request too large", err.Error(), ""
	}
	for _, k := range errorKinds {
		if !errors.Is(err, k.kind) {
			continue
		}
		desc := k.desc
		var re *taxii.RequestError
		switch {
		case errors.As(err, &re):
			desc = re.Message
			if re.Title != "" {
				return k.status, re.Title, desc, k.retry
			}
		case desc == "":
			desc = err.Error()
		}
		return k.status, k.title, desc + k.hint, k.retry
	}
	return http.StatusInternalServerError, "internal error", "internal error", ""
}

// requestErrorf is an error of kind (one of [errorKinds]) whose message
// the client reads.
func requestErrorf(kind error, msg string) error {
	return &taxii.RequestError{Kind: kind, Message: msg}
}

// respondError ends a request with err's status and a TAXII error object
// (taxii.Error). What it doesn't recognise is a 500 "internal error":
// the client learns nothing of it, and the log gets one line with the
// request id, the route, the member and the error (errors never hold a
// token: see [Node.Authenticate]). A handler calls it once and returns.
//
// When the request's client went away ([taxii.ClientGone]) it writes
// nothing: the access log records the request as 499 (see [Node.front]).
// An error that is the client's going (a cancellation) gets a Debug line;
// any other, which would have been a 500, is still logged as an error.
func respondError(w http.ResponseWriter, r *http.Request, err error) {
	if taxii.ClientGone(r) {
		if info := infoOf(r.Context()); info != nil {
			level := slog.LevelDebug
			if status, _, _, _ := classifyError(err); status == http.StatusInternalServerError {
				level = slog.LevelError
			}
			info.logger.LogAttrs(r.Context(), level, "request closed by the client",
				slog.String("request_id", info.id), slog.String("route", info.route), slog.String("member", info.member), slog.String("error", err.Error()))
		}
		return
	}
	status, title, desc, retry := classifyError(err)
	h := w.Header()
	if status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="parley"`)
	}
	if status == http.StatusInternalServerError || errors.Is(err, store.ErrUnavailable) {
		// The operator must see a store that can't be reached, though
		// the client is told only to retry.
		info := infoOf(r.Context())
		logger, id, route, member := slog.Default(), "", "", ""
		if info != nil {
			logger, id, route, member = info.logger, info.id, info.route, info.member
		}
		logger.LogAttrs(r.Context(), slog.LevelError, "request failed",
			slog.String("request_id", id), slog.String("method", r.Method), slog.String("route", route),
			slog.String("member", member), slog.String("error", err.Error()))
	}
	if retry != "" {
		h.Set("Retry-After", retry)
	}
	respondJSON(w, status, taxii.MediaType, taxii.Error{Title: title, Description: desc, HTTPStatus: strconv.Itoa(status)})
}

// respondJSON writes v as a JSON response that no cache keeps.
func respondJSON(w http.ResponseWriter, status int, contentType string, v any) {
	// Without HTML escaping: the answer is JSON, never sniffed as HTML
	// (nosniff), and escaping would write each <, > and & of the
	// objects it carries as six bytes, beyond what the answer reserved.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if err != nil {
		// Only a programming error gets here (a value that can't be
		// JSON); say so without detail.
		status, b = http.StatusInternalServerError, []byte(`{"title":"internal error","http_status":"500"}`)
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
