package web

import (
	"html"
	"html/template"
	"net/url"
	"strings"
)

// objectRows renders the rows of a collection page. It is the one place
// where the UI writes HTML without html/template, because the template's
// per-action escaper calls (reflective, a dozen per row) cost more than
// the page's queries; every string is escaped here with
// html.EscapeString (which escapes <, >, &, ' and ", so it is safe both
// as text and inside the double-quoted attributes below), and object ids
// go through url.PathEscape first. Nothing else is ever concatenated.
// TestHostileContentStaysText covers it with hostile strings in every
// field.
func objectRows(rows []summary) template.HTML {
	var b strings.Builder
	b.Grow(len(rows) * 400)
	esc := html.EscapeString
	for _, r := range rows {
		b.WriteString(`<tr><td><a href="/ui/objects/`)
		b.WriteString(esc(url.PathEscape(r.ID)))
		b.WriteString(`">`)
		b.WriteString(esc(r.Short))
		b.WriteString(`</a>`)
		if r.Revoked {
			b.WriteString(` <span class="tag">revoked</span>`)
		}
		if r.ForeignSigned {
			b.WriteString(` <span class="tag warn">foreign signature</span>`)
		} else if !r.Signed {
			b.WriteString(` <span class="tag warn">unsigned</span>`)
		}
		b.WriteString(`</td><td class="type">`)
		b.WriteString(esc(r.Type))
		b.WriteString(`</td><td class="member">`)
		b.WriteString(esc(r.Creator))
		b.WriteString(`</td><td>`)
		for _, t := range r.TLP {
			b.WriteString(`<span class="tlp `)
			b.WriteString(esc(t.Class))
			b.WriteString(`">`)
			b.WriteString(esc(t.Name))
			b.WriteString(`</span> `)
		}
		b.WriteString(`</td><td><time>`)
		b.WriteString(esc(r.AddedText))
		b.WriteString("</time></td></tr>\n")
	}
	return template.HTML(b.String())
}
