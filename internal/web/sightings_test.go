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

// TestEveryDay: the chart's days are consecutive and end at the newest;
// a day far before the others is left out rather than filling the chart
// with the empty days after it (from year 1, the fill stopped at its
// 100,000-day bound and the chart began in year 274).
func TestEveryDay(t *testing.T) {
	for _, c := range []struct {
		name      string
		days      []string
		max       int
		wantFirst string
		wantLast  string
		wantLen   int
	}{
		{"empty", nil, 60, "", "", 0},
		{"one", []string{"2026-09-15"}, 60, "2026-09-15", "2026-09-15", 1},
		{"gap filled", []string{"2026-09-12", "2026-09-15"}, 60, "2026-09-12", "2026-09-15", 4},
		{"older than max left out", []string{"2026-01-01", "2026-07-20", "2026-09-15"}, 60, "2026-07-20", "2026-09-15", 58},
		{"year 1", []string{"0001-01-01", "2026-09-12", "2026-09-15"}, 60, "2026-09-12", "2026-09-15", 4},
		{"year 1 alone before one day", []string{"0001-01-01", "2026-09-15"}, 60, "2026-09-15", "2026-09-15", 1},
	} {
		got := everyDay(c.days, c.max)
		if len(got) != c.wantLen {
			t.Errorf("%s: %d days %v, want %d", c.name, len(got), got, c.wantLen)
			continue
		}
		if len(got) == 0 {
			continue
		}
		if got[0] != c.wantFirst || got[len(got)-1] != c.wantLast {
			t.Errorf("%s: from %s to %s, want from %s to %s", c.name, got[0], got[len(got)-1], c.wantFirst, c.wantLast)
		}
		for i := 1; i < len(got); i++ {
			a, _ := time.Parse(time.DateOnly, got[i-1])
			b, _ := time.Parse(time.DateOnly, got[i])
			if b.Sub(a) != 24*time.Hour {
				t.Errorf("%s: %s follows %s", c.name, got[i], got[i-1])
				break
			}
		}
	}
}
