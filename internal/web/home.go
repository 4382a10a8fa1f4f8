package web

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/parley-exchange/parley/internal/store"
)

type homeCollection struct {
	ID, Title, Description string
	CanRead, CanWrite      bool
	// NeedsKey: the member may write, but the collection requires
	// signatures and the member has no signing key in force, so every
	// object it wrote would be refused (TAXII says can_write false).
	NeedsKey          bool
	Objects, Versions int64
	LastAdded         time.Time
	LastAge           string
	// Peer, for a collection the member reads that the node replicates
	// from a peer, is where replication stands, as the node says.
	Peer *homePeer
}

type homePeer struct {
	Origin, URL          string
	Position, RemoteSize int64
	LastRound            time.Time
	LastAge              string
	Failing, Stopped     bool
}

type homeView struct {
	Collections []homeCollection
	Recent      []summary
	LogSize     int64
	Checkpoint  int64
	CheckAge    string
	HasCheck    bool
	Witnesses   []string
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
	peers, err := h.d.Store.Peers(ctx)
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, "", err)
		return
	}
	now := h.d.Now()
	member := sessionFrom(r).member
	me := member.ID
	v := homeView{Witnesses: h.d.Witnesses}
	for _, c := range a.visible {
		s := byColl[c.ID]
		v.Collections = append(v.Collections, homeCollection{
			ID: c.ID, Title: c.Title, Description: c.Description,
			CanRead: c.CanRead(me), CanWrite: c.CanWrite(me),
			NeedsKey: c.CanWrite(me) && c.RequiresSignatures() && member.PublicKey == nil,
			Objects:  s.Objects, Versions: s.Versions, LastAdded: s.LastAdded, LastAge: age(now, s.LastAdded),
		})
		for _, p := range peers {
			if p.Into == c.ID && c.CanRead(me) {
				origin, _, _ := strings.Cut(p.LogKey, "+")
				v.Collections[len(v.Collections)-1].Peer = &homePeer{Origin: origin, URL: p.URL,
					Position: p.State.Next, RemoteSize: p.State.RemoteSize, LastRound: p.State.LastRound, LastAge: age(now, p.State.LastRound),
					Failing: p.State.LastError != "", Stopped: p.State.Stopped != ""}
			}
		}
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
