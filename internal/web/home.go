package web

import (
	"errors"
	"net/http"
	"time"

	"github.com/parley-exchange/parley/internal/store"
)

type homeCollection struct {
	ID, Title, Description string
	CanRead, CanWrite      bool
	Objects, Versions      int64
	LastAdded              time.Time
	LastAge                string
}

type homeView struct {
	Collections []homeCollection
	Recent      []summary
	LogSize     int64
	Checkpoint  int64
	CheckAge    string
	HasCheck    bool
}

// RecentRows is how many of the latest additions the home page lists.
const RecentRows = 15

// home lists the collections the member may read or write with their
// counts, the recent activity in those it may read, and the log head.
func (h *Handler) home(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	release, ok := h.reserve(w, r, sessionFrom(r).member, pageMemory{queries: []int64{ListBytes}})
	if !ok {
		return
	}
	defer release()
	a, err := h.access(ctx, sessionFrom(r).member)
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, "", err)
		return
	}
	// Counts only for collections it may read: a write-only member must
	// not learn what a collection holds.
	stats, err := h.q.CollectionStats(ctx, a.readable)
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, "", err)
		return
	}
	byColl := map[string]store.CollectionStats{}
	for _, s := range stats {
		byColl[s.Collection] = s
	}
	now := h.d.Now()
	me := sessionFrom(r).member.ID
	var v homeView
	for _, c := range a.visible {
		s := byColl[c.ID]
		v.Collections = append(v.Collections, homeCollection{
			ID: c.ID, Title: c.Title, Description: c.Description,
			CanRead: c.CanRead(me), CanWrite: c.CanWrite(me),
			Objects: s.Objects, Versions: s.Versions, LastAdded: s.LastAdded, LastAge: age(now, s.LastAdded),
		})
	}
	recent, err := h.q.RecentObjects(ctx, a.readable, store.Bound{Rows: RecentRows, Bytes: ListBytes})
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, "", err)
		return
	}
	v.Recent = a.summaries(recent)
	if v.LogSize, err = h.d.Store.LogSize(ctx); err != nil {
		h.fail(w, r, http.StatusInternalServerError, "", err)
		return
	}
	size, t, err := h.q.LatestCheckpointTime(ctx)
	switch {
	case err == nil:
		v.HasCheck, v.Checkpoint, v.CheckAge = true, size, age(now, t)
	case !errors.Is(err, store.ErrNotFound):
		h.fail(w, r, http.StatusInternalServerError, "", err)
		return
	}
	h.render(w, r, http.StatusOK, "home", "Home", v)
}
