package web

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"
)

type memberRow struct {
	ID, Name, KeyFingerprint string
	Created                  time.Time
	Shared                   []string
	You                      bool
}

// members lists the node's members (every member may see them, as GET
// /members shows them) with their key fingerprints and the collections
// the viewer shares with each: of those it may read, and for its own row
// also those it may only write.
func (h *Handler) members(w http.ResponseWriter, r *http.Request) {
	me := sessionFrom(r).member
	a, err := h.access(r.Context(), me)
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, "", err)
		return
	}
	var rows []memberRow
	for _, m := range a.members {
		row := memberRow{ID: m.ID, Name: m.Name, Created: m.Created, You: m.ID == me.ID}
		if len(m.PublicKey) > 0 {
			sum := sha256.Sum256(m.PublicKey)
			row.KeyFingerprint = "SHA256:" + hex.EncodeToString(sum[:8])
		}
		for _, c := range a.visible {
			// Who reads or writes a collection the viewer may only
			// write is not the viewer's to know; its own access is.
			if !c.CanRead(me.ID) && m.ID != me.ID {
				continue
			}
			if fills, system := a.fills[m.ID]; system {
				// A peer's or feed's member shares only what its feed
				// writes: read or write granted to it by an older
				// version gives nobody anything (node.ErrSystemMember).
				if fills[c.ID] && c.CanWrite(m.ID) {
					row.Shared = append(row.Shared, c.Title)
				}
				continue
			}
			if c.CanRead(m.ID) || c.CanWrite(m.ID) {
				row.Shared = append(row.Shared, c.Title)
			}
		}
		rows = append(rows, row)
	}
	h.render(w, r, http.StatusOK, "members", "Members", rows)
}
