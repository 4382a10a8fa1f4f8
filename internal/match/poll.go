package match

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/parley-exchange/parley/taxii"
)

// Poller fetches the indicators of a TAXII 2.1 collection and, on later
// calls, the ones added since (new indicators, new versions, revocations),
// into an [IndicatorSet].
type Poller struct {
	Client     *taxii.Client
	Collection string
	Set        *IndicatorSet
	since      time.Time
}

// Poll fetches what was added since the last poll and reports whether the
// set changed. It asks for every version added (match[version]=all) so
// that a revocation published as a new version is seen.
func (p *Poller) Poll(ctx context.Context) (changed bool, err error) {
	q := taxii.Query{AddedAfter: p.since, Types: []string{"indicator"}, Versions: taxii.VersionMatch{All: true}}
	last := p.since
	for env, err := range p.Client.ObjectPages(ctx, p.Collection, q) {
		if err != nil {
			return changed, fmt.Errorf("couldn't poll collection %s: %w", p.Collection, err)
		}
		for _, raw := range env.Objects {
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				return changed, fmt.Errorf("couldn't decode an object of collection %s: %w", p.Collection, err)
			}
			ind, ok, err := ParseIndicator(m)
			if err != nil || !ok {
				continue
			}
			if p.Set.Put(ind) {
				changed = true
			}
		}
		if env.DateAdded.Last.After(last) {
			last = env.DateAdded.Last
		}
	}
	p.since = last
	return changed, nil
}
