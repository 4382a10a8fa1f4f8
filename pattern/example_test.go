package pattern_test

import (
	"fmt"
	"time"

	"github.com/parley-exchange/parley/pattern"
)

func ExampleValidate() {
	fmt.Println(pattern.Validate("[file:hashes.MD5 = 'cead3f77f6cda6ec00f57d76c9a6879f']"))
	fmt.Println(pattern.Validate("[file:size = ]"))
	// Output:
	// <nil>
	// invalid pattern at line 1, column 14: expected a literal value after "=" but found "]"
}

func ExamplePattern_Inspect() {
	p, _ := pattern.Parse("[domain-name:value = 'evil.example' OR ipv4-addr:value ISSUBSET '198.51.100.0/24'] REPEATS 2 TIMES")
	in := p.Inspect()
	for _, c := range in.Comparisons {
		fmt.Println(c.ObjectType, c.Path, c.Operator, c.Value)
	}
	fmt.Println(in.Qualifiers)
	// Output:
	// domain-name [value] = 'evil.example'
	// ipv4-addr [value] ISSUBSET '198.51.100.0/24'
	// [REPEATS 2 TIMES]
}

func ExamplePattern_Match() {
	p := pattern.MustParse("[ipv4-addr:value = '198.51.100.7'] FOLLOWEDBY [domain-name:value = 'evil.example'] WITHIN 60 SECONDS")
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	obs := []pattern.Observation{
		{ID: "observed-data--1", First: t0, Last: t0, Count: 1, Objects: map[string]map[string]any{
			"ipv4-addr--1": {"type": "ipv4-addr", "value": "198.51.100.7"}}},
		{ID: "observed-data--2", First: t0.Add(30 * time.Second), Last: t0.Add(30 * time.Second), Count: 1, Objects: map[string]map[string]any{
			"domain-name--1": {"type": "domain-name", "value": "evil.example"}}},
	}
	res, err := p.Match(obs)
	fmt.Println(res.Matched, res.ObservedData, err)
	// Output: true [observed-data--1 observed-data--2] <nil>
}

func ExampleMatchJSON() {
	bundle := `{"type": "bundle", "id": "bundle--1", "objects": [
	  {"type": "observed-data", "id": "observed-data--1", "first_observed": "2024-05-01T12:00:00Z",
	   "last_observed": "2024-05-01T12:00:00Z", "number_observed": 3, "object_refs": ["url--1"]},
	  {"type": "url", "id": "url--1", "value": "http://evil.example/payload.exe"}]}`
	res, err := pattern.MatchJSON("[url:value LIKE '%.exe'] REPEATS 3 TIMES", []byte(bundle))
	fmt.Println(res.Matched, err)
	// Output: true <nil>
}
