package match

import (
	"strings"
	"time"

	"github.com/parley-exchange/parley/pdq"
)

// ImageIndex holds the indicators whose pattern_type is "pdq" (the
// pattern is a 64-hex-digit PDQ hash) for matching images by perceptual
// hash. Images are hashed where they are; no pixel is kept or sent.
type ImageIndex struct {
	idx  *pdq.Index
	inds []*Indicator // by index id
}

// NewImageIndex indexes the pdq indicators of inds; indicators of other
// pattern types are ignored, and pdq indicators whose pattern is not a
// hash are reported.
func NewImageIndex(inds []*Indicator) (*ImageIndex, []*CompileError) {
	x := &ImageIndex{idx: pdq.NewIndex()}
	var errs []*CompileError
	for _, ind := range inds {
		if ind.PatternType != "pdq" {
			continue
		}
		h, err := pdq.ParseHash(strings.TrimSpace(ind.Pattern))
		if err != nil {
			errs = append(errs, &CompileError{ind.ID, err})
			continue
		}
		x.idx.Add(h)
		x.inds = append(x.inds, ind)
	}
	return x, errs
}

// Len returns the number of pdq indicators.
func (x *ImageIndex) Len() int { return len(x.inds) }

// Match returns the indicators whose hash is within radius of h (PDQ's
// usual threshold is 31).
func (x *ImageIndex) Match(h pdq.Hash, radius int) []*Indicator {
	var out []*Indicator
	for _, m := range x.idx.Search(h, radius) {
		out = append(out, x.inds[m.ID])
	}
	return out
}

// Sighted counts one event (such as an image) that matched ind at time t,
// for events that do not come from a decoder; t zero means now.
func (m *Matcher) Sighted(inds []*Indicator, t time.Time) {
	m.stats.Events++
	if len(inds) == 0 {
		return
	}
	m.stats.Matched++
	ev := &Event{}
	ev.reset()
	ev.setTime(t)
	m.curEv = ev
	for _, ind := range inds {
		m.onFire(ind)
	}
}
