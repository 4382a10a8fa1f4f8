package match

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestCompileReportsBlockByEquality: an indicator comparing an address
// with a CIDR block by "=" (as MISP's converter writes address attributes
// holding a block) is compiled and reported, whatever the pattern's shape;
// ISSUBSET, single addresses, a negated "=" and other properties are not.
func TestCompileReportsBlockByEquality(t *testing.T) {
	for i, c := range []struct {
		pattern string
		report  bool
	}{
		{`[ipv4-addr:value = '10.0.0.0/8']`, true},
		{`[ipv6-addr:value = '2001:db8::/32']`, true},
		{`[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '198.51.100.0/24']`, true},
		{`[domain-name:value = 'evil.example' AND domain-name:resolves_to_refs[*].value = '203.0.113.0/24']`, true},
		{`[ipv4-addr:value = '10.0.0.1'] OR [ipv4-addr:value = '10.0.0.0/8']`, true},
		{`[ipv4-addr:value ISSUBSET '10.0.0.0/8']`, false},
		{`[ipv4-addr:value = '10.0.0.1']`, false},
		{`[ipv4-addr:value != '10.0.0.0/8']`, false},
		{`[domain-name:value = 'evil.example']`, false},
		{`[url:value = 'http://evil.example/10.0.0.0/8']`, false},
	} {
		ind := &Indicator{ID: fmt.Sprintf("indicator--%d", i), Pattern: c.pattern}
		e, errs := Compile([]*Indicator{ind}, Options{})
		got := len(errs) == 1 && errors.Is(errs[0], ErrBlockByEquality) && errs[0].ID == ind.ID
		if got != c.report || len(errs) > 1 || (len(errs) == 1 && !got) {
			t.Errorf("%s: errors %v, want reported=%v", c.pattern, errs, c.report)
		}
		if len(e.inds) != 1 {
			t.Errorf("%s: not compiled", c.pattern)
		}
	}
}

// TestStreamWarnsOnce: a stream tells each indicator's compile error once,
// not again at every rebuild its polls cause, and again only if the error
// goes away and comes back.
func TestStreamWarnsOnce(t *testing.T) {
	set := NewIndicatorSet()
	var warned []string
	s := &Stream{Matcher: NewMatcher(nil, Config{}), Set: set, Warn: func(err error) { warned = append(warned, err.Error()) }}
	put := func(id, p string, v int) {
		set.Put(&Indicator{ID: id, Pattern: p, Modified: time.Date(2026, 1, 1, 0, 0, v, 0, time.UTC)})
	}
	put("indicator--block", `[ipv4-addr:value = '10.0.0.0/8']`, 1)
	put("indicator--bad", `[ipv4-addr:value = `, 1)
	s.rebuild(time.Now())
	s.rebuild(time.Now())
	if len(warned) != 2 {
		t.Fatalf("after two rebuilds: %q", warned)
	}
	put("indicator--block", `[ipv4-addr:value ISSUBSET '10.0.0.0/8']`, 2)
	s.rebuild(time.Now())
	if len(warned) != 2 {
		t.Fatalf("after the block's fix: %q", warned)
	}
	put("indicator--block", `[ipv4-addr:value = '10.0.0.0/8']`, 3)
	s.rebuild(time.Now())
	if len(warned) != 3 || !strings.Contains(warned[2], "indicator--block") {
		t.Fatalf("after the block came back: %q", warned)
	}
}
