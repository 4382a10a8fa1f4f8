package match

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/parley-exchange/parley/taxii"
	"github.com/parley-exchange/parley/tlog"
)

// Poller fetches the indicators of a TAXII 2.1 collection and, on later
// calls, the ones added since (new indicators, new versions, revocations),
// into an [IndicatorSet].
//
// When Client has a Verifier, objects that fail verification against the
// node's log are not loaded (each is reported to Warn), and unsigned ones
// (accepted by collections whose policy allows them) are ignored unless
// AllowUnsigned.
type Poller struct {
	Client     *taxii.Client
	Collection string
	Set        *IndicatorSet
	// AllowUnsigned loads unsigned indicators too.
	AllowUnsigned bool
	// Warn, when not nil, is told of every object not loaded and why.
	Warn func(error)
	// Check, when not nil, is called at the start of every poll: an error
	// fails the poll, returned as it is, and nothing is fetched (parley
	// match --url checks the node's log there, at every round).
	Check func(context.Context) error
	since time.Time
}

// Poll fetches what was added since the last poll and reports whether the
// set changed. It asks for every version added (match[version]=all) so
// that a revocation published as a new version is seen.
func (p *Poller) Poll(ctx context.Context) (changed bool, err error) {
	if p.Check != nil {
		if err := p.Check(ctx); err != nil {
			return false, err
		}
	}
	q := taxii.Query{AddedAfter: p.since, Types: []string{"indicator"}, Versions: taxii.VersionMatch{All: true}}
	last := p.since
	// A refused version may be the newest (a revocation, say): loading the
	// older versions that verified would make the indicator what it no
	// longer is. So an indicator with a refused version is not loaded at
	// all in this poll (a version loaded before is withdrawn), until a
	// later poll brings a newer version that verifies.
	refused := map[string]bool{}
	defer func() {
		for id := range refused {
			if p.Set.withhold(id) {
				changed = true
			}
		}
	}()
	// A version not yet in a signed checkpoint is fetched again at the
	// next poll: the poll's position stays where it was. (Moving it on
	// would skip that version for good: an indicator added while another
	// front end took integration over would never be matched.)
	again := false
	for env, err := range p.Client.ObjectPages(ctx, p.Collection, q) {
		if err != nil {
			return changed, fmt.Errorf("couldn't poll collection %s: %w", p.Collection, err)
		}
		for _, r := range env.Refused {
			if errors.Is(r.Err, tlog.ErrNotCovered) {
				again = true
				p.warn(fmt.Errorf("not loading %s yet (fetched again at the next poll): %w", r.ID, r.Err))
				continue
			}
			refused[r.ID] = true
			p.warn(fmt.Errorf("not loading %s: it doesn't verify against the node's log: %w", r.ID, r.Err))
		}
		for i, raw := range env.Objects {
			if i < len(env.Checks) && env.Checks[i].Unsigned && !p.AllowUnsigned {
				why := "it is unsigned"
				if env.Checks[i].Foreign() {
					why = "it is signed with a key the node's log doesn't hold, so that log doesn't say who signed it (as for what a node replicates from a peer)"
				}
				p.warn(fmt.Errorf("not loading %s: %s (use --allow-unsigned to match unsigned indicators)", env.Openings[i].ObjectID, why))
				continue
			}
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
	if !again {
		p.since = last
	}
	return changed, nil
}

func (p *Poller) warn(err error) {
	if p.Warn != nil {
		p.Warn(err)
	}
}
