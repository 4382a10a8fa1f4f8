package web

import (
	"fmt"
	"testing"
	"time"

	"github.com/parley-exchange/parley/internal/store"
)

// TestSightingChartIgnoresFarDates: a member can't push the others'
// sightings off the per-day chart by dating its own first_seen far in the
// future (the chart shows its newest days) or far in the past (the gap
// before the others' days): a sighting first seen after the node added it
// counts on the day it was added, and the chart holds only the 60 days up
// to its newest, every bar in them.
func TestSightingChartIgnoresFarDates(t *testing.T) {
	sighting := func(member, firstSeen string, count int, added time.Time) store.Object {
		return store.Object{ID: fmt.Sprintf("sighting--%s-%d", member, count), Type: "sighting", Member: member, DateAdded: added,
			Raw: []byte(fmt.Sprintf(`{"type":"sighting","count":%d,"first_seen":%q,"created":"2026-09-15T10:00:00Z"}`, count, firstSeen))}
	}
	added := time.Date(2026, 9, 15, 12, 0, 0, 0, time.UTC)
	honest := []store.Object{
		sighting("identity--a", "2026-09-12T10:00:00Z", 12, added.AddDate(0, 0, -3)),
		sighting("identity--b", "2026-09-15T10:00:00Z", 5, added),
	}
	for _, far := range []string{"9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "2031-01-01T00:00:00Z", "1999-06-01T00:00:00Z"} {
		v := sightingChart(access{}, append(honest, sighting("identity--evil", far, 1, added.Add(time.Hour))))
		byDay := map[string]int{}
		for _, b := range v.Bars {
			byDay[b.Label] = b.N
		}
		if byDay["2026-09-12"] != 12 || byDay["2026-09-15"] < 5 {
			t.Errorf("first_seen %s: the others' sightings are off the chart: bars %v", far, byDay)
		}
		if len(v.Bars) > 60 || v.Last > "2026-09-15" {
			t.Errorf("first_seen %s: %d bars, from %s to %s", far, len(v.Bars), v.First, v.Last)
		}
		if v.Total != 18 {
			t.Errorf("first_seen %s: total %d, want 18", far, v.Total)
		}
	}
}
