package pattern

import (
	"fmt"
	"strings"
	"testing"
)

// FuzzParse checks that the parser never panics, and that printing a
// parsed pattern and parsing the print gives the same tree (ignoring
// source offsets) and the same print.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"[file:name = 'a.exe']",
		"[a:b[*].'c-d' NOT IN (1, 2.5, -3)] REPEATS 2 TIMES WITHIN .5 SECONDS",
		"([x:y = t'2024-01-01T00:00:00Z'] FOLLOWEDBY [x:z != b'AAE=']) START t'2024-01-01T00:00:00Z' STOP t'2025-01-01T00:00:00Z'",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err != nil {
			if p != nil {
				t.Fatal("Parse returned a pattern and an error")
			}
			return
		}
		_ = Validate(s)
		_ = p.Inspect()
		printed := p.String()
		q, err := Parse(printed)
		if err != nil {
			t.Fatalf("the print of %q does not parse: %q: %v", s, printed, err)
		}
		if a, b := dump(p.Root), dump(q.Root); a != b {
			t.Fatalf("round trip changed the tree:\n in: %q\nout: %q\n%s\n%s", s, printed, a, b)
		}
		if q.String() != printed {
			t.Fatalf("printing is not stable: %q then %q", printed, q.String())
		}
	})
}

// dump renders a tree as an S-expression without source offsets.
func dump(e ObservationExpr) string {
	switch e := e.(type) {
	case *Simple:
		return "[" + dumpComp(e.Comparison) + "]"
	case *ObservationOp:
		return "(" + e.Op.String() + " " + dump(e.Left) + " " + dump(e.Right) + ")"
	case *Group:
		return "(group " + dump(e.Expr) + ")"
	case *Qualified:
		return "(" + e.Qualifier.String() + " " + dump(e.Expr) + ")"
	}
	return fmt.Sprintf("?%T", e)
}

func dumpComp(e ComparisonExpr) string {
	switch e := e.(type) {
	case *Comparison:
		var b strings.Builder
		fmt.Fprintf(&b, "(%s %q %v", e.OperatorText(), e.Path.ObjectType, e.Path.Steps)
		lits := []Literal{e.Value}
		if e.Op == OpIn {
			lits = e.Set
		}
		for _, l := range lits {
			fmt.Fprintf(&b, " %d:%q:%d:%v:%q:%v:%x:%v", l.Kind, l.Text, l.Int, l.Float, l.Str, l.Bool, l.Bytes, l.Time)
		}
		return b.String() + ")"
	case *ComparisonOp:
		return "(" + e.Op.String() + " " + dumpComp(e.Left) + " " + dumpComp(e.Right) + ")"
	case *ComparisonGroup:
		return "(group " + dumpComp(e.Expr) + ")"
	}
	return fmt.Sprintf("?%T", e)
}

// FuzzMatchJSON checks that decoding observations and evaluating a
// pattern over them never panics, whatever the JSON and the pattern.
func FuzzMatchJSON(f *testing.F) {
	f.Add("[x:a = 1] AND [x:b[*].c_ref.d MATCHES '^e'] WITHIN 5 SECONDS",
		`{"type":"bundle","id":"bundle--1","objects":[{"type":"observed-data","id":"od","first_observed":"2020-01-01T00:00:00Z","last_observed":"2020-01-01T00:00:01Z","number_observed":2,"object_refs":["x--1"]},{"type":"x","id":"x--1","a":1,"b":[{"c_ref":"x--1"}],"d":"e"}]}`)
	f.Add("[x:n_hex = h'00'] REPEATS 2 TIMES FOLLOWEDBY [x:ip ISSUBSET '10.0.0.0/8']",
		`[{"type":"cybox","first_observed":"2020-01-01T00:00:00Z","last_observed":"2020-01-01T00:00:00Z","number_observed":3,"objects":{"0":{"type":"x","n_hex":"00","ip":"10.1.1.1"}}}]`)
	f.Fuzz(func(t *testing.T, pattern, data string) {
		res, err := MatchJSON(pattern, []byte(data))
		if err == nil && res.Matched && len(res.ObservedData) == 0 {
			t.Fatalf("matched without binding any observed-data")
		}
	})
}
