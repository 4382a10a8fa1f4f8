package match

import (
	"context"
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"
)

// runPatterns compiles one indicator per pattern (ids indicator--0, 1,
// ...), matches input as format f and returns each pattern's sighting
// count and the matcher's stats.
func runPatterns(t *testing.T, patterns []string, f Format, input string) (map[string]int64, Stats) {
	t.Helper()
	inds := make([]*Indicator, len(patterns))
	for i, p := range patterns {
		inds[i] = &Indicator{ID: fmt.Sprintf("indicator--%d", i), Pattern: p, PatternType: "stix"}
	}
	return runIndicators(t, inds, f, input)
}

// matchCounts matches input as format f against one indicator per key of
// want, reports (as label) each pattern whose sighting count isn't its
// value in want, and returns the matcher's stats for the caller to check.
func matchCounts(t *testing.T, label string, want map[string]int64, f Format, input string) Stats {
	t.Helper()
	pats := make([]string, 0, len(want))
	for p := range want {
		pats = append(pats, p)
	}
	got, st := runPatterns(t, pats, f, input)
	for p, n := range want {
		if got[p] != n {
			t.Errorf("%s: %s: %d events, want %d", label, p, got[p], n)
		}
	}
	return st
}

func runIndicators(t *testing.T, inds []*Indicator, f Format, input string) (map[string]int64, Stats) {
	t.Helper()
	e, errs := Compile(inds, Options{})
	if len(errs) > 0 {
		t.Fatalf("compile: %v", errs)
	}
	m := NewMatcher(e, Config{Format: f, Now: func() time.Time { return testNow }, Rand: rand.New(rand.NewSource(1))})
	if err := m.ReadLines(context.Background(), strings.NewReader(input)); err != nil {
		t.Fatal(err)
	}
	counts := map[string]int64{}
	byID := map[string]string{}
	for _, ind := range inds {
		byID[ind.ID] = ind.Pattern
	}
	for _, o := range m.Flush() {
		if o["type"] == "sighting" {
			counts[byID[o["sighting_of_ref"].(string)]] = o["count"].(int64)
		}
	}
	return counts, m.Stats()
}

// TestIPv6Indicators: CIDR and equality indicators over IPv6, and the
// IPv4-mapped rule (unmapPrefix), through the index and through the
// evaluator (a pattern with a second comparison is not exact, so the
// evaluator checks it).
func TestIPv6Indicators(t *testing.T) {
	eve := strings.Join([]string{
		`{"timestamp":"2024-06-01T10:00:00.000000+0000","event_type":"flow","src_ip":"2001:db8::5","dest_ip":"2a04:4e42::81","proto":"TCP","dest_port":443}`,
		`{"timestamp":"2024-06-01T10:00:01.000000+0000","event_type":"flow","src_ip":"2001:db8::5","dest_ip":"2A04:4E42:0600:0000:0000:0000:0000:0001","proto":"TCP","dest_port":443}`,
		`{"timestamp":"2024-06-01T10:00:02.000000+0000","event_type":"flow","src_ip":"::ffff:10.0.0.2","dest_ip":"2a04:4e43::1","proto":"TCP","dest_port":80}`,
		`{"timestamp":"2024-06-01T10:00:03.000000+0000","event_type":"flow","src_ip":"10.0.0.2","dest_ip":"192.0.2.1","proto":"UDP","dest_port":53}`,
	}, "\n")
	cases := map[string]int64{
		"[ipv6-addr:value ISSUBSET '2a04:4e42::/32']":                              2,
		"[ipv6-addr:value ISSUBSET '2a04:4e42::/32' AND ipv6-addr:value != '1::']": 2,
		"[ipv6-addr:value ISSUBSET '2a04:4e40::/14']":                              3,
		"[ipv6-addr:value = '2a04:4e42:600::1']":                                   1,
		"[network-traffic:dst_ref.value ISSUBSET '2a04:4e42::/32']":                2,
		// The mapped address is 10.0.0.2 whichever way it is written.
		"[ipv4-addr:value = '10.0.0.2']":                                                               2,
		"[ipv6-addr:value = '::ffff:10.0.0.2']":                                                        2,
		"[ipv6-addr:value = '::ffff:a00:2']":                                                           2,
		"[ipv4-addr:value = '::ffff:10.0.0.2']":                                                        2,
		"[ipv6-addr:value ISSUBSET '::ffff:10.0.0.0/104']":                                             2,
		"[ipv4-addr:value ISSUBSET '::ffff:10.0.0.0/104']":                                             2,
		"[ipv6-addr:value IN ('::ffff:10.0.0.2', '::ffff:10.0.0.3') AND ipv4-addr:value != '1.1.1.1']": 2,
		"[network-traffic:src_ref.value = '::ffff:10.0.0.2']":                                          2,
		"[ipv4-addr:value ISSUBSET '10.0.0.0/8' OR ipv6-addr:value = '::1']":                           2,
		"[ipv6-addr:value ISSUBSET '8000::/1']":                                                        0,
	}
	var pats []string
	for p := range cases {
		pats = append(pats, p)
	}
	got, st := runPatterns(t, pats, FormatEVE, eve)
	if st.Errors != 0 || st.Events != 4 {
		t.Errorf("stats %+v", st)
	}
	for p, want := range cases {
		if got[p] != want {
			t.Errorf("%s: %d events, want %d", p, got[p], want)
		}
	}
}
