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
