package match

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/pattern"
)

// genComparison returns a random comparison over the vocabulary the
// generated events use.
func genComparison(r *rand.Rand) string {
	domains := []string{"a.example", "b.example", "c.example.org"}
	ips := []string{"10.0.0.1", "10.0.0.2", "10.0.1.3", "192.0.2.9"}
	switch r.Intn(11) {
	case 0:
		return fmt.Sprintf("domain-name:value = '%s'", domains[r.Intn(len(domains))])
	case 1:
		return fmt.Sprintf("ipv4-addr:value = '%s'", ips[r.Intn(len(ips))])
	case 2:
		return fmt.Sprintf("ipv4-addr:value ISSUBSET '10.0.%d.0/24'", r.Intn(2))
	case 3:
		return fmt.Sprintf("domain-name:value LIKE '%%.%s'", []string{"example", "org", "example.org"}[r.Intn(3)])
	case 4:
		return fmt.Sprintf("domain-name:value MATCHES '^%s'", []string{"a", "b\\\\.ex", "c.*org$"}[r.Intn(3)])
	case 5:
		return fmt.Sprintf("network-traffic:dst_port = %d", []int{53, 80, 443}[r.Intn(3)])
	case 6:
		return fmt.Sprintf("network-traffic:dst_port > %d", []int{53, 80, 443}[r.Intn(3)])
	case 7:
		return fmt.Sprintf("network-traffic:dst_ref.value = '%s'", ips[r.Intn(len(ips))])
	case 8:
		return fmt.Sprintf("domain-name:value IN ('%s', '%s')", domains[r.Intn(3)], domains[r.Intn(3)])
	case 9:
		return fmt.Sprintf("domain-name:value NOT = '%s'", domains[r.Intn(3)])
	default:
		return fmt.Sprintf("network-traffic:protocols[*] = '%s'", []string{"udp", "tcp", "dns"}[r.Intn(3)])
	}
}

func genObservation(r *rand.Rand) string {
	c := genComparison(r)
	for r.Intn(3) == 0 {
		op := []string{" AND ", " OR "}[r.Intn(2)]
		c = c + op + genComparison(r)
	}
	return "[" + c + "]"
}

func genPattern(r *rand.Rand, multi bool) string {
	p := genObservation(r)
	if !multi {
		return p
	}
	switch r.Intn(5) {
	case 0:
		p = p + " AND " + genObservation(r)
	case 1:
		p = p + " OR " + genObservation(r)
	case 2:
		p = p + " FOLLOWEDBY " + genObservation(r)
	case 3:
		p = "(" + p + ") REPEATS 2 TIMES"
	default:
		p = "(" + p + " AND " + genObservation(r) + ") WITHIN 5 SECONDS"
	}
	return p
}

func genEvent(r *rand.Rand, i int) string {
	domains := []string{"a.example", "b.example", "c.example.org", "d.test"}
	ips := []string{"10.0.0.1", "10.0.0.2", "10.0.1.3", "192.0.2.9"}
	return fmt.Sprintf(`{"ts":%d.5,"id.orig_h":"%s","id.orig_p":%d,"id.resp_h":"%s","id.resp_p":%d,"proto":"%s","query":"%s"}`,
		1700000000+i*2, ips[r.Intn(4)], 1024+r.Intn(5), ips[r.Intn(4)], []int{53, 80, 443, 8080}[r.Intn(4)],
		[]string{"udp", "tcp"}[r.Intn(2)], domains[r.Intn(4)])
}

// TestDifferential proves that the compiled engine agrees with the pattern
// evaluator on generated patterns and events. Single-observation patterns:
// the engine fires on an event exactly when the evaluator matches that
// event alone. Compound patterns: the engine fires exactly when the
// evaluator, given every event since the indicator last fired (not only
// the ones the index let through), matches.
func TestDifferential(t *testing.T) {
	r := rand.New(rand.NewSource(42))
	nPatterns, nEvents := 300, 60
	if testing.Short() {
		nPatterns = 60
	}
	for i := 0; i < nPatterns; i++ {
		multi := i%3 == 0
		src := genPattern(r, multi)
		ind := &Indicator{ID: fmt.Sprintf("indicator--%d", i), Pattern: src}
		e, errs := Compile([]*Indicator{ind}, Options{MaxWindow: 1000})
		if len(errs) > 0 {
			t.Fatalf("%s: %v", src, errs)
		}
		oracle, err := pattern.Parse(src)
		if err != nil {
			t.Fatal(err)
		}
		d := NewDecoder(FormatZeek)
		var since []observation
		for j := 0; j < nEvents; j++ {
			line := genEvent(r, j)
			evs, err := d.Decode([]byte(line))
			if err != nil {
				t.Fatal(err)
			}
			fired := false
			e.Match(evs[0], func(*Indicator) { fired = true })
			since = append(since, newObservation(evs[0]))
			want, err := evaluate(oracle, since)
			if err != nil {
				t.Fatalf("%s: %v", src, err)
			}
			if fired != want {
				t.Fatalf("pattern %s\nevent %s\nengine fired=%v, evaluator matched=%v (multi=%v)", src, line, fired, want, multi)
			}
			if want || !multi {
				since = since[:0]
			}
		}
		if e.Errors != 0 {
			t.Fatalf("%s: %d evaluation errors", src, e.Errors)
		}
	}
}

func TestCompileAtoms(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		exact   bool
		kinds   string
	}{
		{"[domain-name:value = 'EVIL.example.']", true, "eq"},
		{"[domain-name:value = 'a.example' OR url:value = 'http://x.example/']", true, "eq eq"},
		{"[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e' AND file:name = 'y']", false, "eq"},
		{"[ipv4-addr:value ISSUBSET '10.0.0.0/8']", true, "prefix"},
		{"[ipv6-addr:value ISSUBSET '2a04:4e42::/32']", true, "prefix"},
		{"[network-traffic:dst_ref.value ISSUBSET '10.0.0.0/8']", false, "prefix prefix"},
		{"[url:value LIKE 'http://%/evil.php']", false, "substr"},
		{"[network-traffic:dst_port > 1024]", false, "attr"},
		{"[x-custom:foo = 'bar']", false, "type"},
	} {
		p := pattern.MustParse(tc.pattern)
		atoms, exact := leafAtoms(p.Root.(*pattern.Simple).Comparison)
		var kinds []string
		for _, a := range atoms {
			kinds = append(kinds, []string{"eq", "prefix", "substr", "attr", "type"}[a.kind])
		}
		if exact != tc.exact || strings.Join(kinds, " ") != tc.kinds {
			t.Errorf("%s: exact=%v atoms=%v, want %v %s", tc.pattern, exact, kinds, tc.exact, tc.kinds)
		}
	}
}

func parsePattern(src string) (*pattern.Pattern, error) { return pattern.Parse(src) }

// leafAtomsOf returns the atoms of a one-observation pattern (exact false
// for anything else).
func leafAtomsOf(p *pattern.Pattern) ([]atom, bool) {
	s, ok := p.Root.(*pattern.Simple)
	if !ok {
		return nil, false
	}
	return leafAtoms(s.Comparison)
}

// TestDifferentialShared compiles many generated single-observation
// patterns into one engine, where they share index keys and postings, and
// checks the set fired by each event against the evaluator.
func TestDifferentialShared(t *testing.T) {
	r := rand.New(rand.NewSource(43))
	var inds []*Indicator
	var oracles []*pattern.Pattern
	for i := 0; i < 200; i++ {
		src := genPattern(r, false)
		inds = append(inds, &Indicator{ID: fmt.Sprintf("indicator--%03d", i), Pattern: src})
		oracles = append(oracles, pattern.MustParse(src))
	}
	e, errs := Compile(inds, Options{})
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	d := NewDecoder(FormatZeek)
	for j := 0; j < 300; j++ {
		line := genEvent(r, j)
		evs, err := d.Decode([]byte(line))
		if err != nil {
			t.Fatal(err)
		}
		fired := map[string]bool{}
		e.Match(evs[0], func(ind *Indicator) {
			if fired[ind.ID] {
				t.Fatalf("%s fired twice for one event", ind.ID)
			}
			fired[ind.ID] = true
		})
		obs := []observation{newObservation(evs[0])}
		for i, p := range oracles {
			want, err := evaluate(p, obs)
			if err != nil {
				t.Fatal(err)
			}
			if fired[inds[i].ID] != want {
				t.Fatalf("event %s\npattern %s: engine %v, evaluator %v", line, inds[i].Pattern, fired[inds[i].ID], want)
			}
		}
	}
}
