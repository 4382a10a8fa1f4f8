package pattern

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// one wraps a single SCO (JSON object text, without type and id) in a
// STIX 2.1 bundle with one observed-data.
func one(obj string, count int) []byte {
	return []byte(fmt.Sprintf(`{"type":"bundle","id":"bundle--1","objects":[
	 {"type":"observed-data","id":"observed-data--1","spec_version":"2.1","first_observed":"2020-01-01T00:00:00Z",
	  "last_observed":"2020-01-01T00:00:00Z","number_observed":%d,"object_refs":["x--1","x--2","x--3"]},
	 {"type":"x","id":"x--1",%s},
	 {"type":"y","id":"x--2","name":"two","age":2},
	 {"type":"y","id":"x--3","name":"three","age":3}]}`, count, obj))
}

const (
	match   = "match"
	nomatch = "no match"
	evalErr = "eval error"
)

func outcome(pattern string, data []byte) string {
	res, err := MatchJSON(pattern, data)
	switch {
	case errors.Is(err, ErrEval):
		return evalErr
	case err != nil:
		return "error: " + err.Error()
	case res.Matched:
		return match
	}
	return nomatch
}

// TestSemantics pins down the reference matcher's rules that are easy to
// get wrong, one table row each.
func TestSemantics(t *testing.T) {
	obj := `"i":5,"f":12.0,"b":true,"s":"hello","n":null,"l":[1,"two",{"k":"v"}],
	"ts":"2010-05-21T13:21:43.123456789Z","bad_ts":"2010-05-21t13:21:43Z",
	"name_hex":"616c696365","name_bin":"YWxpY2U=","odd_hex":"abc","non_hex":5,
	"ip":"10.0.0.7","short_ip":"10.7","cidr":"10.0.0.0/8",
	"friend_ref":"x--2","friends_refs":["x--3","x--404","x--2"],"bad_ref":5,"bad_refs":"x--2",
	"text":"line\n","u":"\u1e0d\u0307"`
	data := one(obj, 2)
	tests := []struct{ pattern, want string }{
		// numbers: ints and floats compare numerically; booleans are not numbers
		{"[x:f = 12]", match},
		{"[x:i = 5.0]", match},
		{"[x:b = 1]", nomatch},
		{"[x:b != 1]", match},
		// IN uses Python set membership: true == 1 there
		{"[x:b IN (1, 2)]", match},
		{"[x:i IN (true, false)]", nomatch},
		{"[x:i IN (5.0, 7)]", match},
		{"[x:i IN (1, true)]", evalErr},
		{"[x:name_hex IN (h'616c696365', b'Ym9i')]", match},
		{"[x:s IN ('hello', h'00')]", evalErr},
		{"[x:s IN ('x', t'2020-01-01T00:00:00Z')]", evalErr},
		{"[x:i NOT IN ()]", match},
		// order comparisons of unrelated types are false, even under NOT
		{"[x:s < 5]", nomatch},
		{"[x:s NOT < 5]", nomatch},
		{"[x:i NOT > 'a']", nomatch},
		// ...but = of unrelated types is false and NOT inverts it
		{"[x:s NOT = 5]", match},
		{"[x:n != 'a']", match},
		{"[x:n = 'a']", nomatch},
		// binary
		{"[x:name_hex = 'alice']", match},
		{"[x:name_bin = h'616c696365']", match},
		{"[x:name_hex > 'aaa']", match},
		{"[x:name_hex < 'ălice']", nomatch},
		{"[x:name_hex NOT < 'ălice']", match},
		{"[x:s = h'68656c6c6f']", match},
		{"[x:odd_hex = 'a']", evalErr},
		{"[x:non_hex = 'a']", evalErr},
		{"[x:name_bin MATCHES '^a.i'] ", match},
		{"[x:name_bin LIKE 'a_ice']", match},
		// timestamps: JSON strings are parsed when the literal is t'',
		// fractions truncated to microseconds
		{"[x:ts = t'2010-05-21T13:21:43.123456Z']", match},
		{"[x:ts > t'2010-05-21T13:21:43.123455999Z']", match},
		{"[x:bad_ts = t'2010-05-21T13:21:43Z']", evalErr},
		{"[x:s = t'2010-05-21T13:21:43Z']", evalErr},
		{"[x:i = t'2010-05-21T13:21:43Z']", nomatch},
		{"[x:ts = t'2024-02-30T00:00:00Z']", evalErr},
		// LIKE and MATCHES
		{"[x:s LIKE 'h_l%']", match},
		{"[x:s LIKE 'hel']", nomatch},
		{"[x:text LIKE 'line']", match},
		{"[x:s MATCHES 'l+']", match},
		{"[x:s MATCHES '^l']", nomatch},
		{"[x:text MATCHES 'line$']", match},
		{"[x:i MATCHES '5']", nomatch},
		{"[x:i NOT MATCHES '5']", match},
		{"[x:u MATCHES '^\u1e0d\u0307$']", match},
		{"[x:u LIKE 'd\u0323\u0307']", match},
		{"[x:u = 'd\u0323\u0307']", nomatch},
		{"[x:s MATCHES '(?=h)']", evalErr},
		// CIDR
		{"[x:ip ISSUBSET '10.0.0.0/8']", match},
		{"[x:short_ip ISSUBSET '10.0.0.0/24']", match},
		{"[x:cidr ISSUPERSET '10.1.2.3']", match},
		{"[x:cidr ISSUPERSET '11.1.2.3']", nomatch},
		{"[x:i ISSUBSET '10.0.0.0/8']", nomatch},
		{"[x:i NOT ISSUBSET '10.0.0.0/8']", match},
		{"[x:s ISSUBSET '10.0.0.0/8']", evalErr},
		{"[x:ip ISSUBSET '10.0.0.0']", evalErr},
		// paths, lists and references
		{"[x:l[1] = 'two']", match},
		// a path to a list without an index step is the list, which
		// equals no string (network-traffic:protocols = 'tcp' matches
		// no ["tcp"]); [*] compares each element, and two [*]
		// comparisons ANDed may hold on different elements of one list
		{"[x:l = 'two']", nomatch},
		{"[x:l IN ('two')]", nomatch},
		{"[x:l[*] = 'two']", match},
		{"[x:l[*] = 'two' AND x:l[*] = 1]", match},
		{"[x:l[*] = 'two' AND x:l[*] = 'three']", nomatch},
		{"[x:l[*].k = 'v']", match},
		{"[x:l[-1] = 'two']", nomatch},
		{"[x:l[9] != 'x']", nomatch},
		{"[x:missing != 'x']", nomatch},
		{"[x:missing NOT = 'x']", nomatch},
		{"[x:friend_ref.name = 'two']", match},
		{"[x:friends_refs[*].name = 'two' AND x:friends_refs[*].age = 3]", match},
		{"[x:friends_refs[1].name = 'two']", match},
		{"[x:bad_ref.name = 'two']", evalErr},
		{"[x:bad_refs[*].name = 'two']", evalErr},
		// comparison AND needs one root object, OR does not
		{"[y:name = 'two' AND y:age = 3]", nomatch},
		{"[y:name = 'two' OR y:age = 3]", match},
		{"[y:name = 'two' AND x:i = 5]", nomatch},
		// EXISTS (STIX 2.1; the reference matcher predates it)
		{"[EXISTS x:s]", match},
		{"[EXISTS x:nope]", nomatch},
		{"[NOT EXISTS x:nope]", match},
		// SDO types never match
		{"[observed-data:number_observed = 2]", nomatch},
		// number_observed 2 gives two distinct observations
		{"[x:i = 5] AND [x:s = 'hello']", match},
		{"[x:i = 5] REPEATS 2 TIMES", match},
		{"[x:i = 5] REPEATS 3 TIMES", nomatch},
		{"[x:i = 5] FOLLOWEDBY [x:i = 5]", match},
		// qualifiers
		{"[x:i = 5] WITHIN 0 SECONDS", evalErr},
		{"[x:i = 5] REPEATS 0 TIMES", evalErr},
		{"[x:i = 5] START t'2020-01-01T00:00:00Z' STOP t'2020-01-01T00:00:01Z'", match},
		{"[x:i = 5] START t'2019-01-01T00:00:00Z' STOP t'2020-01-01T00:00:00Z'", nomatch},
		{"[x:i = 5] START t'2021-01-01T00:00:00Z' STOP t'2020-01-01T00:00:00Z'", nomatch},
	}
	for _, tc := range tests {
		if got := outcome(tc.pattern, data); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.pattern, got, tc.want)
		}
	}
}

func TestObservationErrors(t *testing.T) {
	tests := []struct{ name, data string }{
		{"no number_observed", `[{"type":"observed-data","id":"od","first_observed":"2020-01-01T00:00:00Z","last_observed":"2020-01-01T00:00:00Z","object_refs":[]}]`},
		{"number_observed 0", `[{"type":"observed-data","id":"od","first_observed":"2020-01-01T00:00:00Z","last_observed":"2020-01-01T00:00:00Z","number_observed":0,"object_refs":[]}]`},
		{"no object_refs", `[{"type":"observed-data","id":"od","spec_version":"2.1","first_observed":"2020-01-01T00:00:00Z","last_observed":"2020-01-01T00:00:00Z","number_observed":1,"objects":{}}]`},
		{"bad first_observed", `[{"type":"observed-data","id":"od","first_observed":"2020-01-01","last_observed":"2020-01-01T00:00:00Z","number_observed":1,"object_refs":[]}]`},
		{"object without id", `[{"type":"x"},{"type":"observed-data","id":"od","first_observed":"2020-01-01T00:00:00Z","last_observed":"2020-01-01T00:00:00Z","number_observed":1,"object_refs":[]}]`},
		{"bundle without objects", `{"type":"bundle","id":"bundle--1"}`},
	}
	for _, tc := range tests {
		if _, err := MatchJSON("[x:a = 1]", []byte(tc.data)); !errors.Is(err, ErrEval) {
			t.Errorf("%s: got %v, want an evaluation error", tc.name, err)
		}
	}
	for _, bad := range []string{``, `nonsense`, `[1, 2]`, `{"a": 1} {"b": 2}`, `"str"`} {
		if _, err := MatchJSON("[x:a = 1]", []byte(bad)); !errors.Is(err, ErrInput) && !errors.Is(err, ErrEval) {
			t.Errorf("%q: got %v, want an input error", bad, err)
		}
	}
}

// TestMatchDecodedObservations uses the Go API without JSON, with the
// numeric types a Go caller would use.
func TestMatchDecodedObservations(t *testing.T) {
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	obs := []Observation{
		{ID: "observed-data--a", First: t0, Last: t0, Count: 1, Objects: map[string]map[string]any{
			"network-traffic--1": {"type": "network-traffic", "dst_port": 443, "dst_ref": "ipv4-addr--1"},
			"ipv4-addr--1":       {"type": "ipv4-addr", "value": "198.51.100.7"},
		}},
		{ID: "observed-data--b", First: t0.Add(time.Minute), Last: t0.Add(time.Minute), Count: 1, Objects: map[string]map[string]any{
			"domain-name--1": {"type": "domain-name", "value": "evil.example", "score": json.Number("7.5")},
		}},
	}
	p := MustParse("[network-traffic:dst_port = 443 AND network-traffic:dst_ref.value ISSUBSET '198.51.100.0/24'] FOLLOWEDBY [domain-name:score > 7]")
	res, err := p.Match(obs)
	if err != nil || !res.Matched || strings.Join(res.ObservedData, ",") != "observed-data--a,observed-data--b" {
		t.Fatalf("got %+v, %v", res, err)
	}
	if res, _ := MustParse("[domain-name:value = 'evil.example'] FOLLOWEDBY [network-traffic:dst_port = 443]").Match(obs); res.Matched {
		t.Fatal("FOLLOWEDBY matched in the wrong order")
	}
	if _, err := p.Match([]Observation{{ID: "x", Count: 0}}); !errors.Is(err, ErrEval) {
		t.Fatalf("Count 0: %v", err)
	}
}
