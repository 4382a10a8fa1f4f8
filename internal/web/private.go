package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"

	"github.com/parley-exchange/parley/private"
)

type privateRow struct {
	private.SetInfo
	CollTitle, ProviderName string
}

type privateView struct {
	Sets        []privateRow
	Unavailable bool
}

// privateSets lists the private sets the member may query, with their
// size and its own budget left, as the node's GET /private/sets answers
// it to this member (called in process: the same access rule and budget
// accounting, no copy of them here).
func (h *Handler) privateSets(w http.ResponseWriter, r *http.Request) {
	a, err := h.access(r.Context(), sessionFrom(r).member)
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, "", err)
		return
	}
	var v privateView
	if h.d.API == nil || h.d.AsMember == nil {
		v.Unavailable = true
		h.render(w, r, http.StatusOK, "private", "Private sets", v)
		return
	}
	req := httptest.NewRequestWithContext(r.Context(), "GET", "/private/sets", nil)
	req.Header.Set("Accept", "application/json")
	req = h.asMember(req, sessionFrom(r))
	rec := httptest.NewRecorder()
	h.d.API.ServeHTTP(rec, req)
	var out struct {
		Sets []private.SetInfo `json:"sets"`
	}
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &out) != nil {
		v.Unavailable = true
		h.render(w, r, http.StatusOK, "private", "Private sets", v)
		return
	}
	for _, s := range out.Sets {
		title := s.Collection
		if c, ok := a.byID[s.Collection]; ok {
			title = c.Title
		}
		v.Sets = append(v.Sets, privateRow{SetInfo: s, CollTitle: title, ProviderName: a.name(s.Provider)})
	}
	h.render(w, r, http.StatusOK, "private", "Private sets", v)
}
