package pattern

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// corpusPatterns returns real-world patterns: the STIX indicators in the
// test corpus, the reference validator's valid patterns and every
// syntactically valid pattern of the matcher suite.
func corpusPatterns(tb testing.TB) []string {
	root := filepath.Join("..", "testdata")
	if _, err := os.Stat(root); err != nil {
		tb.Fatalf("the repository's test data: %v", err)
	}
	set := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if x["type"] == "indicator" {
				if p, ok := x["pattern"].(string); ok && (x["pattern_type"] == nil || x["pattern_type"] == "stix") {
					set[p] = true
				}
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	filepath.WalkDir(filepath.Join(root, "corpus"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		var v any
		if json.Unmarshal(data, &v) == nil {
			walk(v)
		}
		return nil
	})
	var v struct{ Valid []string }
	readShared(tb, "validator.json", &v)
	for _, p := range v.Valid {
		set[p] = true
	}
	var cases []matcherCase
	readShared(tb, "cases.json", &cases)
	for _, c := range cases {
		if !(c.Error && c.ErrorKind == "parse") {
			set[c.Pattern] = true
		}
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// TestCorpusIndicatorPatterns: every STIX indicator pattern in the shared
// corpus, and every reference pattern that should parse, parses; all but
// the stacked-qualifier ones also validate.
func TestCorpusIndicatorPatterns(t *testing.T) {
	for _, p := range corpusPatterns(t) {
		if _, err := Parse(p); err != nil {
			t.Errorf("%s: %v", p, err)
		}
		if err := Validate(p); err != nil && !strings.Contains(err.Error(), "duplicate qualifier") {
			t.Errorf("%s: %v", p, err)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	pats := corpusPatterns(b)
	size := 0
	for _, p := range pats {
		size += len(p)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, p := range pats {
			if _, err := Parse(p); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*len(pats))/b.Elapsed().Seconds(), "patterns/s")
}

func BenchmarkValidate(b *testing.B) {
	pats := corpusPatterns(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, p := range pats {
			_ = Validate(p)
		}
	}
	b.ReportMetric(float64(b.N*len(pats))/b.Elapsed().Seconds(), "patterns/s")
}

// combinatorialSuite is the reference matcher's combinatorial-explosion
// suite shape: the adapted 2.1 cases of the shared suite plus no-match
// variants, over n observed-data one second apart whose every person
// satisfies the predicates (ages 0..19 repeating).
func combinatorialSuite(tb testing.TB, n int) ([]string, []Observation) {
	var cases []matcherCase
	readShared(tb, "cases.json", &cases)
	var pats []string
	for _, c := range cases {
		if strings.HasSuffix(c.Name, "@adapted-to-2.1") && !c.Error {
			pats = append(pats, c.Pattern)
		}
	}
	pats = append(pats,
		repeatJoin("[person:age < 20]", " AND ", n+1),
		fmt.Sprintf("[person:age < 20] REPEATS %d TIMES", n+1),
		"([person:age < 20] FOLLOWEDBY [person:age > 5]) REPEATS 50 TIMES WITHIN 30 SECONDS",
		"[person:age < 20] REPEATS 12 TIMES WITHIN 10 SECONDS",
	)
	obs := people(n, 1)
	for i := range obs {
		for _, o := range obs[i].Objects {
			o["age"] = i % 20
		}
	}
	return pats, obs
}

func BenchmarkCombinatorial100(b *testing.B) { benchCombinatorial(b, 100) }

// BenchmarkCombinatorial20 is the same suite over the reference's 20
// observed-data, to show how the cost grows with the input.
func BenchmarkCombinatorial20(b *testing.B) { benchCombinatorial(b, 20) }

func benchCombinatorial(b *testing.B, n int) {
	pats, obs := combinatorialSuite(b, n)
	compiled := make([]*Pattern, len(pats))
	for i, p := range pats {
		compiled[i] = MustParse(p)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j, p := range compiled {
			p.compiled = compileOnce{} // include compilation
			if _, err := p.Match(obs); err != nil {
				b.Fatalf("%s: %v", pats[j], err)
			}
		}
	}
	b.ReportMetric(float64(len(pats)), "patterns")
}

// TestCombinatorial100 runs the suite once with its expected results, so
// the benchmark measures correct work.
func TestCombinatorial100(t *testing.T) {
	pats, obs := combinatorialSuite(t, 100)
	want := map[int]bool{len(pats) - 4: false, len(pats) - 3: false, len(pats) - 2: false, len(pats) - 1: false}
	start := time.Now()
	for i, p := range pats {
		res, err := MustParse(p).Match(obs)
		if err != nil {
			t.Fatalf("%.80s: %v", p, err)
		}
		exp, ok := want[i]
		if !ok {
			exp = true
		}
		if strings.Contains(p, "WITHIN 8 SECONDS") {
			exp = false
		}
		if res.Matched != exp {
			t.Errorf("%.80s: matched %v, want %v", p, res.Matched, exp)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("suite took %v", d)
	}
}
