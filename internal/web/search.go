package web

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/parley-exchange/parley/internal/store"
	"github.com/parley-exchange/parley/pdq"
)

// PDQRadius is the Hamming radius of a PDQ lookup.
const PDQRadius = 31

// MaxPDQLookup is the most PDQ hashes a lookup searches: the newest that
// the member may read (the latest versions of the objects that carry
// one, in the reverse order of the log), so that a hash shared recently
// is found however many were shared before it; beyond, the page says
// that it looked at only some. Matching whole sets of images is the work
// of `parley match --images` and of private sets, which have no such
// bound.
const MaxPDQLookup = 50_000

// MaxSearchResults caps a lookup's results; MaxSearchCandidates caps the
// full-text candidates it checks for an exact value.
const (
	MaxSearchResults    = 200
	MaxSearchCandidates = 5000
)

type hit struct {
	summary
	Distance int
	IsPDQ    bool
}

type searchView struct {
	Q, Kind   string
	Hits      []hit
	Truncated bool
	// LowQuality counts the pdq indicators within the radius left out
	// for an x_pdq_quality below pdq.MinQuality (not one listed as an
	// exact value: its hash looked up as written).
	LowQuality int
	Error      string
	// Pending says q was not looked up: the request didn't prove the
	// session's browser binding (see [sessions]). The page's script
	// asks for nothing: the page says why.
	// [Handler.member] answers every page request that doesn't
	// prove the binding with the proving page first, so this is a
	// second lock, never the page a browser gets.
	Pending bool
}

// kindOf names what an analyst looked up.
func kindOf(q string) string {
	switch {
	case q == "":
		return ""
	case isHex(q) && len(q) == 64 && pdqLike(q):
		return "SHA-256 or PDQ hash"
	case isHex(q) && (len(q) == 32 || len(q) == 40 || len(q) == 64 || len(q) == 128):
		return "file hash"
	case strings.Contains(q, "/") && validPrefix(q):
		return "CIDR"
	case net.ParseIP(q) != nil:
		return "IP address"
	case strings.Contains(q, "://"):
		return "URL"
	case strings.Contains(q, "@"):
		return "e-mail address"
	case domainRE.MatchString(q):
		return "domain"
	}
	return "text"
}

var domainRE = regexp.MustCompile(`^(?i)[a-z0-9_-]+(\.[a-z0-9_-]+)+\.?$`)

func isHex(s string) bool {
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return s != ""
}

func pdqLike(s string) bool { _, err := pdq.ParseHash(s); return err == nil }

func validPrefix(s string) bool { _, err := netip.ParsePrefix(s); return err == nil }

// search looks a value up across every collection the member may read:
// an exact match of the value in an object's indexed text (a phrase
// search in the full-text index, then an exact check of each
// candidate), an address inside a CIDR, or a PDQ hash within
// [PDQRadius].
func (h *Handler) search(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	a, err := h.access(ctx, sessionFrom(r).member)
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, "", err)
		return
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if len(q) > 2048 {
		h.fail(w, r, http.StatusBadRequest, "That is too long to look up.", nil)
		return
	}
	v := searchView{Q: q, Kind: kindOf(q)}
	if q != "" && !bindingProved(r, sessionFrom(r), q) {
		// What an analyst looks up is their own: it is sent to the node
		// only in a session this tab's origin started, never in one a
		// page on another port of this host planted.
		v.Pending = true
		h.render(w, r, http.StatusOK, "search", "Look up", v)
		return
	}
	hq, pdqErr := pdq.ParseHash(q)
	mem := pageMemory{queries: []int64{SearchBytes}}
	if pdqErr == nil {
		mem.queries = append(mem.queries, ListBytes)
		mem.pdq = h.maxPDQ
	}
	if q != "" { // the empty form reads nothing
		release, ok := h.reserve(w, r, sessionFrom(r).member, mem)
		if !ok {
			return
		}
		defer release()
		// The collections the member may read now: the reservation may
		// have waited while the operator took a read.
		if a, err = h.access(ctx, sessionFrom(r).member); err != nil {
			h.fail(w, r, http.StatusInternalServerError, "", err)
			return
		}
	}
	candidates := store.Bound{Rows: MaxSearchCandidates, Bytes: SearchBytes}
	seen := map[string]bool{}
	add := func(o store.Object, dist int, isPDQ bool) {
		key := o.Collection + "|" + o.ID
		if seen[key] || len(v.Hits) >= MaxSearchResults {
			v.Truncated = v.Truncated || !seen[key]
			return
		}
		seen[key] = true
		v.Hits = append(v.Hits, hit{a.summarize(o), dist, isPDQ})
	}
	switch {
	case q == "":
	case v.Kind == "CIDR":
		p, _ := netip.ParsePrefix(q)
		p = p.Masked()
		// Candidates share the network's leading bytes as words.
		words := prefixWords(p)
		cands, more, err := h.q.TextObjects(ctx, a.readable, words, candidates)
		if err != nil {
			h.fail(w, r, http.StatusInternalServerError, "", err)
			return
		}
		v.Truncated = more
		for _, o := range cands {
			for _, ip := range addrsIn(o.Raw) {
				if p.Contains(ip) {
					add(o, 0, false)
					break
				}
			}
		}
	default:
		// An exact value (a domain, an IP address, a URL, an e-mail
		// address, a file hash) is looked up in the store's value index:
		// every object that holds it as a whole value is there, however
		// many others mention its words, which the full-text candidates
		// would bring first, in the order of the log, up to their bound.
		// Other text is looked up through its words.
		lookup := h.q.TextObjects
		if store.IsExactValue(strings.ToLower(q)) {
			lookup = func(ctx context.Context, colls []string, q string, b store.Bound) ([]store.Object, bool, error) {
				return h.q.ValueObjects(ctx, colls, strings.ToLower(q), b)
			}
		}
		cands, more, err := lookup(ctx, a.readable, q, candidates)
		if err != nil {
			h.fail(w, r, http.StatusInternalServerError, "", err)
			return
		}
		v.Truncated = more
		m := newValueMatcher(q)
		for _, o := range cands {
			if m.in(o.Raw) {
				add(o, 0, false)
			}
		}
		if pdqErr == nil {
			if err := h.pdqLookup(r, a, hq, add, &v); err != nil {
				h.fail(w, r, http.StatusInternalServerError, "", err)
				return
			}
		}
	}
	h.render(w, r, http.StatusOK, "search", "Look up", v)
}

// pdqLookup adds to v, through add, the objects whose PDQ hash is within
// PDQRadius of hq, nearest first: the newest h.maxPDQ hashes are read and searched
// without their objects, then the objects of at most MaxSearchResults
// matches are read, nearest first, within ListBytes.
func (h *Handler) pdqLookup(r *http.Request, a access, hq pdq.Hash, add func(store.Object, int, bool), v *searchView) error {
	hashes, more, err := h.q.PDQHashes(r.Context(), a.readable, h.maxPDQ)
	if err != nil {
		return err
	}
	v.Truncated = v.Truncated || more
	var flat pdq.Flat
	var seqs []int64 // of the hashes in flat
	for _, s := range hashes {
		if hh, err := pdq.ParseHash(s.Hash); err == nil {
			flat.Add(hh)
			seqs = append(seqs, s.Seq)
		}
	}
	matches := flat.Search(hq, PDQRadius)
	slices.SortStableFunc(matches, func(x, y pdq.Match) int { return x.Distance - y.Distance })
	if len(matches) > MaxSearchResults {
		matches, v.Truncated = matches[:MaxSearchResults], true
	}
	want := make([]int64, len(matches))
	for i, m := range matches {
		want[i] = seqs[m.ID]
	}
	objs, more, err := h.q.ObjectsAt(r.Context(), a.readable, want, store.Bound{Bytes: ListBytes})
	if err != nil {
		return err
	}
	v.Truncated = v.Truncated || more
	bySeq := make(map[int64]store.Object, len(objs))
	for _, o := range objs {
		bySeq[o.Seq] = o
	}
	// An object listed already (its hash looked up exactly, as a value)
	// is not also counted as left out.
	listed := map[string]bool{}
	for _, h := range v.Hits {
		listed[h.Collection+"|"+h.ID] = true
	}
	for _, m := range matches {
		o, ok := bySeq[seqs[m.ID]]
		switch {
		case !ok:
		case lowQuality(o):
			if !listed[o.Collection+"|"+o.ID] {
				v.LowQuality++
			}
		default:
			add(o, m.Distance, true)
		}
	}
	return nil
}

// lowQuality reports whether o is a pdq indicator whose x_pdq_quality is
// below pdq.MinQuality: too unreliable to match, as `parley match`
// leaves it out (one without a quality, or a file's hash, is matched).
func lowQuality(o store.Object) bool {
	if o.Type != "indicator" {
		return false
	}
	// Only the two properties are decoded: the page's reservation holds
	// the objects read, not a map of each.
	var p struct {
		PatternType string       `json:"pattern_type"`
		Quality     *json.Number `json:"x_pdq_quality"`
	}
	if json.Unmarshal(o.Raw, &p) != nil || p.PatternType != pdq.PatternType || p.Quality == nil {
		return false
	}
	q, err := pdq.ValidateQuality(*p.Quality)
	return err == nil && q < pdq.MinQuality
}

// containsValue reports whether s holds v as a whole value: not as part
// of a longer name, address or hash (compared without case, as domains
// and hex hashes are).
func containsValue(s, v string) bool {
	return containsLower(strings.ToLower(s), strings.ToLower(v))
}

// containsLower is containsValue of ls and lv, both lower-case.
func containsLower[T string | []byte](ls T, lv string) bool {
	if lv == "" {
		return false
	}
	for i := 0; i < len(ls); {
		j := strings.Index(string(ls[i:]), lv)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(lv)
		if (start == 0 || !valueByte(ls[start-1])) && (end == len(ls) || !valueByte(ls[end])) {
			return true
		}
		i = start + 1
	}
	return false
}

// valueMatcher is containsValue of one value over many candidates'
// JSON, without a copy of each: ASCII text (where strings.ToLower folds
// only A-Z) is folded in one buffer reused for every candidate, other
// text as containsValue does.
type valueMatcher struct {
	v, lv string
	buf   []byte
}

func newValueMatcher(v string) *valueMatcher { return &valueMatcher{v: v, lv: strings.ToLower(v)} }

func (m *valueMatcher) in(raw []byte) bool {
	m.buf = append(m.buf[:0], raw...)
	for i, c := range m.buf {
		switch {
		case c >= utf8.RuneSelf:
			if strings.Contains(m.lv, "://") {
				return containsLower(store.UnescapeURLChars(strings.ToLower(string(raw))), m.lv)
			}
			return containsValue(string(raw), m.v)
		case 'A' <= c && c <= 'Z':
			m.buf[i] = c + 'a' - 'A'
		}
	}
	if strings.Contains(m.lv, "://") && bytes.IndexByte(m.buf, '\\') >= 0 {
		// A URL's characters may be written as JSON escapes (Go's
		// encoder writes & as \u0026), which the value index reads as
		// the characters (store.ExactValues): so does this test.
		return containsLower(store.UnescapeURLChars(string(m.buf)), m.lv)
	}
	return containsLower(m.buf, m.lv)
}

func valueByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_' || c == '@' || c == ':' || c == '/'
}

var ipRE = regexp.MustCompile(`[0-9a-fA-F:.]{2,45}`)

// addrsIn finds the IP addresses written in an object.
func addrsIn(raw []byte) []netip.Addr {
	var out []netip.Addr
	for _, m := range ipRE.FindAll(raw, 200) {
		if ip, err := netip.ParseAddr(strings.Trim(string(m), ".:")); err == nil {
			out = append(out, ip)
		}
	}
	return out
}

// prefixWords returns the full-text words every address of p starts
// with: its whole leading octets (IPv4) or groups (IPv6).
func prefixWords(p netip.Prefix) string {
	addr := p.Addr()
	if addr.Is4() {
		b := addr.As4()
		var w []string
		for i := 0; i < p.Bits()/8 && i < 4; i++ {
			w = append(w, itoa(int(b[i])))
		}
		if len(w) == 0 {
			return ""
		}
		return strings.Join(w, ".")
	}
	parts := strings.Split(addr.StringExpanded(), ":")
	n := p.Bits() / 16
	if n == 0 {
		return ""
	}
	for i := range parts[:n] {
		parts[i] = strings.TrimLeft(parts[i], "0")
		if parts[i] == "" {
			parts[i] = "0"
		}
	}
	return strings.Join(parts[:n], ":")
}

var _ = url.QueryEscape
