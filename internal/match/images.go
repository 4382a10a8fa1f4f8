package match

import (
	"fmt"
	"time"

	"github.com/parley-exchange/parley/pdq"
)

// ImageIndex holds the indicators whose pattern_type is "pdq" (the
// pattern is a 64-hex-digit PDQ hash) for matching images by perceptual
// hash. Images are hashed where they are; no pixel is kept or sent.
type ImageIndex struct {
	idx  *pdq.Index
	inds []*Indicator // by index id
	low  []*Indicator
}

// NewImageIndex indexes the pdq indicators of inds; indicators of other
// pattern types are ignored. A pdq indicator is reported, not indexed,
// when its pattern is not a hash as Parley writes and the node takes it
// (64 lower-case hex digits: pdq.ValidatePattern) or its x_pdq_quality
// is not a whole number from 0 to 100. One whose x_pdq_quality is below
// pdq.MinQuality is left out too (see [ImageIndex.LowQuality]): PDQ's
// documentation calls such hashes too unreliable to match, as the
// matcher already treats an image's hash of low quality. An indicator
// without x_pdq_quality is matched.
func NewImageIndex(inds []*Indicator) (*ImageIndex, []*CompileError) {
	x := &ImageIndex{idx: pdq.NewIndex()}
	var errs []*CompileError
	for _, ind := range inds {
		if ind.PatternType != pdq.PatternType {
			continue
		}
		if err := pdq.ValidatePattern(ind.Pattern); err != nil {
			errs = append(errs, &CompileError{ind.ID, err})
			continue
		}
		h, err := pdq.ParseHash(ind.Pattern)
		if err != nil {
			errs = append(errs, &CompileError{ind.ID, err})
			continue
		}
		if ind.BadQuality {
			errs = append(errs, &CompileError{ind.ID, fmt.Errorf("%w: %s must be a whole number from 0 to 100", pdq.ErrPattern, pdq.QualityProperty)})
			continue
		}
		if ind.HasQuality && ind.Quality < pdq.MinQuality {
			x.low = append(x.low, ind)
			continue
		}
		x.idx.Add(h)
		x.inds = append(x.inds, ind)
	}
	return x, errs
}

// Len returns the number of pdq indicators matched.
func (x *ImageIndex) Len() int { return len(x.inds) }

// LowQuality returns the pdq indicators left out for an x_pdq_quality
// below pdq.MinQuality.
func (x *ImageIndex) LowQuality() []*Indicator { return x.low }

// Match returns the indicators whose hash is within radius of h (PDQ's
// usual threshold is 31).
func (x *ImageIndex) Match(h pdq.Hash, radius int) []*Indicator {
	var out []*Indicator
	for _, m := range x.idx.Search(h, radius) {
		out = append(out, x.inds[m.ID])
	}
	return out
}

// MatchAny returns the indicators within radius of any of hs (such as the
// eight dihedral variants of one image: pdq.HashDihedral), each once, in
// the order first met.
func (x *ImageIndex) MatchAny(hs []pdq.Hash, radius int) []*Indicator {
	var out []*Indicator
	seen := map[int]bool{}
	for _, h := range hs {
		for _, m := range x.idx.Search(h, radius) {
			if !seen[m.ID] {
				seen[m.ID] = true
				out = append(out, x.inds[m.ID])
			}
		}
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
