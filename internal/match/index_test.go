package match

import (
	"fmt"
	"math/rand"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestEqIndex checks the hash index against a map, with repeated keys,
// keys that differ only in attribute, growth, the Bloom filter and
// compaction.
func TestEqIndex(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	x := newEqIndex()
	x.reserve(100, 1000)
	want := map[string][]uint32{}
	for i := 0; i < 20000; i++ {
		a := Attr(1 + r.Intn(3))
		v := fmt.Sprintf("v%d.example", r.Intn(15000))
		x.add(a, []byte(v), uint32(i))
		k := fmt.Sprint(a, "|", v)
		want[k] = append(want[k], uint32(i))
	}
	x.compact()
	x.buildFilter()
	for _, filtered := range []bool{true, false} {
		if !filtered {
			x.filter = nil
		}
		for i := 0; i < 20000; i++ {
			a := Attr(1 + r.Intn(3))
			v := fmt.Sprintf("v%d.example", r.Intn(20000))
			var got []uint32
			x.lookup(a, []byte(v), func(p uint32) { got = append(got, p) })
			w := want[fmt.Sprint(a, "|", v)]
			slices.Sort(got)
			if !slices.Equal(got, w) {
				t.Fatalf("lookup(%v, %s) = %v, want %v", a, v, got, w)
			}
		}
	}
}

func TestPrefixIndex(t *testing.T) {
	x := newPrefixIndex()
	x.add(netip.MustParsePrefix("10.0.0.0/8"), 1)
	x.add(netip.MustParsePrefix("10.1.2.0/24"), 2)
	x.add(netip.MustParsePrefix("10.1.2.3/32"), 3)
	x.add(netip.MustParsePrefix("2001:db8::/32"), 4)
	for _, tc := range []struct {
		addr string
		want []uint32
	}{
		{"10.1.2.3", []uint32{1, 2, 3}},
		{"10.1.2.4", []uint32{1, 2}},
		{"10.200.0.1", []uint32{1}},
		{"11.0.0.1", nil},
		{"2001:db8:1::5", []uint32{4}},
		{"2001:db9::5", nil},
	} {
		var got []uint32
		x.lookup(netip.MustParseAddr(tc.addr), func(l uint32) { got = append(got, l) })
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.addr, got, tc.want)
		}
	}
}

func TestSubstrIndex(t *testing.T) {
	x := newSubstrIndex()
	x.add("evil", 1)
	x.add("evil.php", 2)
	x.add("/payload", 3)
	for _, tc := range []struct {
		v    string
		want []uint32
	}{
		{"http://a.example/evil.php", []uint32{1, 2}},
		{"http://a.example/payload/evil", []uint32{1, 3}},
		{"http://a.example/good", nil},
		{"http://ünicode.example/", []uint32{1, 2, 3}}, // non-ASCII: all candidates
	} {
		var got []uint32
		x.lookup([]byte(tc.v), func(l uint32) { got = append(got, l) })
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.v, got, tc.want)
		}
	}
}

func TestReadIndicators(t *testing.T) {
	ind := func(id, mod string, revoked bool) string {
		return fmt.Sprintf(`{"type":"indicator","id":"%s","modified":"%s","pattern":"[domain-name:value = 'a.example']","pattern_type":"stix","valid_from":"2024-01-01T00:00:00Z","revoked":%v}`, id, mod, revoked)
	}
	other := `{"type":"identity","id":"identity--1","name":"x","objects":[1,2]}`
	for name, tc := range map[string]struct {
		in   string
		n    int
		fail bool
	}{
		"bundle":     {`{"type":"bundle","id":"bundle--1","objects":[` + ind("indicator--1", "2024-01-01T00:00:00Z", false) + "," + other + `]}`, 1, false},
		"array":      {`[` + ind("indicator--1", "2024-01-01T00:00:00Z", false) + "," + ind("indicator--2", "2024-01-01T00:00:00Z", false) + `]`, 2, false},
		"json lines": {ind("indicator--1", "2024-01-01T00:00:00Z", false) + "\n" + ind("indicator--1", "2024-02-01T00:00:00Z", true) + "\n", 1, false},
		"truncated":  {`{"type":"bundle","objects":[` + ind("indicator--1", "2024-01-01T00:00:00Z", false), 0, true},
		"bad time":   {ind("indicator--1", "yesterday", false), 0, true},
		"no pattern": {`{"type":"indicator","id":"indicator--1"}`, 0, true},
		"not json":   {`hello`, 0, true},
	} {
		got, err := ReadIndicators(strings.NewReader(tc.in))
		if (err != nil) != tc.fail || len(got) != tc.n {
			t.Errorf("%s: %d indicators, err %v", name, len(got), err)
		}
		if name == "json lines" && err == nil && !got[0].Revoked {
			t.Errorf("the newer, revoked version was not kept")
		}
	}
}

// FuzzReadIndicators: no input makes the reader panic, and what it
// returns has an id and a pattern.
func FuzzReadIndicators(f *testing.F) {
	f.Add([]byte(`{"type":"bundle","objects":[{"type":"indicator","id":"indicator--1","pattern":"[a:b = 'c']"}]}`))
	f.Add([]byte(`[{"type":"indicator","id":"i","pattern":"p","revoked":true,"valid_until":"2024-01-01T00:00:00Z"}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		inds, err := ReadIndicators(strings.NewReader(string(data)))
		if err != nil {
			return
		}
		for _, ind := range inds {
			if ind.ID == "" || ind.Pattern == "" {
				t.Fatalf("indicator without id or pattern: %+v", ind)
			}
		}
	})
}

// FuzzSimpleEquality: the fast path for one-equality patterns agrees with
// the full parser on what the pattern says.
func FuzzSimpleEquality(f *testing.F) {
	for _, s := range []string{"[domain-name:value = 'a.example']", "[url:value = 'http://x/']", "[a:b = 'c'] AND [d:e = 'f']", "[file:name = 'x' OR file:name = 'y']"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		a, lit, ok := simpleEquality(src)
		if !ok {
			return
		}
		p, err := parsePattern(src)
		if err != nil {
			t.Fatalf("fast path accepted %q, which does not parse: %v", src, err)
		}
		atoms, exact := leafAtomsOf(p)
		if !exact || len(atoms) > 1 {
			t.Fatalf("%q: parser gives exact=%v atoms=%v", src, exact, atoms)
		}
		if v, ok := normalizeValue(a, lit); ok && (len(atoms) != 1 || atoms[0].value != v || atoms[0].attr != a) {
			t.Fatalf("%q: fast path %v %q, parser %v", src, a, v, atoms)
		}
	})
}

// TestIndicatorSet: ids are kept once, in arrival order, newer versions
// replace older ones (and a revocation of the same version wins), and the
// table grows.
func TestIndicatorSet(t *testing.T) {
	s := NewIndicatorSet()
	t0 := testNow
	for i := 0; i < 5000; i++ {
		if !s.Put(&Indicator{ID: fmt.Sprintf("indicator--%d", i), Modified: t0}) {
			t.Fatal("new indicator not taken")
		}
	}
	for i := 0; i < 5000; i += 2 {
		if s.Put(&Indicator{ID: fmt.Sprintf("indicator--%d", i), Modified: t0.Add(-time.Hour)}) {
			t.Fatal("older version taken")
		}
		if !s.Put(&Indicator{ID: fmt.Sprintf("indicator--%d", i), Modified: t0, Revoked: true}) {
			t.Fatal("revocation of the same version not taken")
		}
	}
	all := s.All()
	if len(all) != 5000 {
		t.Fatalf("%d indicators", len(all))
	}
	for i, ind := range all {
		if ind.ID != fmt.Sprintf("indicator--%d", i) || ind.Revoked != (i%2 == 0) {
			t.Fatalf("%d: %+v", i, ind)
		}
	}
	if a, _ := s.Active(t0); len(a) != 2500 {
		t.Errorf("%d active", len(a))
	}
}
