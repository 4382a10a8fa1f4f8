package web

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/parley-exchange/parley/internal/cursor"
	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/stix"
)

// PageSize is the most objects on a collection page: fewer when their
// JSON passes ListBytes, and the next page goes on from there.
const PageSize = 100

// stixTypes are offered in the type filter.
var stixTypes = []string{
	"attack-pattern", "campaign", "course-of-action", "grouping", "identity", "incident", "indicator",
	"infrastructure", "intrusion-set", "location", "malware", "malware-analysis", "note", "observed-data",
	"opinion", "report", "threat-actor", "tool", "vulnerability", "relationship", "sighting",
	"domain-name", "email-addr", "file", "ipv4-addr", "ipv6-addr", "url",
}

type option struct {
	Value, Label string
	Selected     bool
}

type collectionView struct {
	ID, Title, Description string
	Objects                []summary
	Rows                   template.HTML // see objectRows
	Types, Creators, TLPs  []option
	Q, From, To            string
	Next, Prev             string
	Filtered               bool
	CanWrite               bool
	// Pending says the text filter Q was not looked up: the request
	// didn't prove the session's browser binding (see [sessions]), as
	// a look-up of /ui/search doesn't without it. The page's script
	// asks for nothing: the page says why.
	// [Handler.member] answers every page request that doesn't
	// prove the binding with the proving page first, so this is a
	// second lock, never the page a browser gets.
	Pending bool
	// Restarted says the request's after or before was a position of an
	// earlier version of Parley (a number), which no longer pages: the
	// page is the first, and says why.
	Restarted bool
}

// oldPosition reports whether s is a position as earlier versions of
// Parley wrote it in the collection page's links: a decimal number.
func oldPosition(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// collection pages through the latest versions of a collection's
// objects in their order of addition (keyset paging: the cost of a page
// doesn't depend on its depth), with filters and full-text search. The
// after and before of its links are cursors ([cursor.Format]) of the
// collection's own positions, the date_added of the page's last or first
// object, which its "added" column shows anyway: they were the store's
// sequence numbers, counted over every collection, so that two links
// told how many objects others had added meanwhile to collections the
// member can't read (TestCollectionPagesRevealNothingHidden). A link of
// that kind (a number) now gives the first page with a notice. A collection the member may not read is 404, like a
// missing one: the UI doesn't tell them apart.
func (h *Handler) collection(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	m := sessionFrom(r).member
	a, err := h.access(ctx, m)
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, "", err)
		return
	}
	id := r.PathValue("id")
	c, ok := a.byID[id]
	if !ok || !c.CanRead(m.ID) {
		h.fail(w, r, http.StatusNotFound, "There is no such collection, or you may not read it.", nil)
		return
	}
	q := r.URL.Query()
	b := store.Browse{Collection: id, Limit: PageSize, MaxBytes: ListBytes, Text: strings.TrimSpace(q.Get("q"))}
	v := collectionView{ID: c.ID, Title: c.Title, Description: c.Description, Q: b.Text, CanWrite: c.CanWrite(m.ID)}
	if t := q.Get("type"); t != "" {
		b.Types = []string{t}
	}
	if cr := q.Get("creator"); cr != "" {
		b.Creators = []string{cr}
	}
	if tl := q.Get("tlp"); tl != "" {
		b.Markings = []string{tl}
	}
	bad := func(what string) {
		h.fail(w, r, http.StatusBadRequest, what, nil)
	}
	if s := q.Get("from"); s != "" {
		t, err := time.Parse("2006-01-02", s)
		if err != nil {
			bad("from must be a date (YYYY-MM-DD).")
			return
		}
		b.From, v.From = t, s
	}
	if s := q.Get("to"); s != "" {
		t, err := time.Parse("2006-01-02", s)
		if err != nil {
			bad("to must be a date (YYYY-MM-DD).")
			return
		}
		b.To, v.To = t.AddDate(0, 0, 1), s // "to" includes the day
	}
	for _, k := range []string{"after", "before"} {
		s := q.Get(k)
		if s == "" {
			continue
		}
		if b.AddedAfter.IsZero() && b.AddedBefore.IsZero() && !v.Restarted {
			at, err := cursor.Parse(id, s)
			switch {
			case errors.Is(err, cursor.ErrOtherCollection):
				bad(k + " is a position in another collection: follow this page's own links.")
				return
			case err != nil && oldPosition(s):
				// A link of an earlier version of Parley, whose
				// positions were the store's sequence numbers: no
				// longer a position, the page starts again, saying so.
				v.Restarted = true
			case err != nil:
				bad(k + " must be a position in the collection this page gave.")
				return
			case k == "after":
				b.AddedAfter = at
			default:
				b.AddedBefore = at
			}
			continue
		}
		bad("Use after or before, not both.")
		return
	}
	v.Filtered = b.Text != "" || len(b.Types) > 0 || len(b.Creators) > 0 || len(b.Markings) > 0 || v.From != "" || v.To != ""
	// The text filter is a look-up ("words or values"): what an analyst
	// looks for is their own, so it is sent to the store only in a
	// session this tab's origin started, as /ui/search's q is (a page on
	// another port may have planted another member's session). The
	// other filters name only what the page offers.
	if b.Text != "" && !bindingProved(r, sessionFrom(r), b.Text) {
		v.Pending = true
	} else {
		release, ok := h.reserve(w, r, m, pageMemory{queries: []int64{ListBytes}})
		if !ok {
			return
		}
		defer release()
		// The reservation may have waited, and the operator taken the
		// member's read meanwhile: the page reads under the lists as
		// they are now, so nothing stored since reaches it.
		if a, err = h.access(ctx, m); err != nil {
			h.fail(w, r, http.StatusInternalServerError, "", err)
			return
		}
		if c, ok := a.byID[id]; !ok || !c.CanRead(m.ID) {
			h.fail(w, r, http.StatusNotFound, "There is no such collection, or you may not read it.", nil)
			return
		}
		page, err := h.q.BrowseObjects(ctx, b)
		if err != nil {
			h.fail(w, r, http.StatusInternalServerError, "", err)
			return
		}
		v.Objects = a.summaries(page.Objects)
		v.Rows = objectRows(v.Objects)
		link := func(k string, at time.Time) string {
			nq := url.Values{}
			// No view proof: it is good for this URL only, and the
			// page's script adds the link's own (session.js).
			for _, f := range []string{"q", "type", "creator", "tlp", "from", "to"} {
				if s := q.Get(f); s != "" {
					nq.Set(f, s)
				}
			}
			nq.Set(k, cursor.Format(id, at))
			return "/ui/collections/" + url.PathEscape(id) + "?" + nq.Encode()
		}
		if n := len(page.Objects); n > 0 {
			if page.HasNext {
				v.Next = link("after", page.Objects[n-1].DateAdded)
			}
			if page.HasPrev {
				v.Prev = link("before", page.Objects[0].DateAdded)
			}
		}
	}
	for _, t := range stixTypes {
		v.Types = append(v.Types, option{t, t, q.Get("type") == t})
	}
	for _, mm := range a.members {
		v.Creators = append(v.Creators, option{mm.ID, mm.Name, q.Get("creator") == mm.ID})
	}
	for _, l := range stix.TLPLevels {
		if l.Version == 2 {
			v.TLPs = append(v.TLPs, option{l.ID, l.Name, q.Get("tlp") == l.ID})
		}
	}
	h.render(w, r, http.StatusOK, "collection", c.Title, v)
}
