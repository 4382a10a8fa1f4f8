package pattern

import "sort"

// Inspection is what a pattern uses, for building indexes and for display.
// It corresponds to the OASIS validator's Pattern.inspect().
type Inspection struct {
	// Comparisons lists every comparison in source order.
	Comparisons []InspectedComparison
	// ObjectTypes is the sorted set of object types compared.
	ObjectTypes []string
	// ObservationOps is the sorted set of observation operators used:
	// "AND", "FOLLOWEDBY", "OR".
	ObservationOps []string
	// Qualifiers is the sorted set of qualifier texts, such as
	// "REPEATS 5 TIMES" or "START t'...' STOP t'...'".
	Qualifiers []string
}

// InspectedComparison is one comparison of a pattern.
type InspectedComparison struct {
	// ObjectType is the path's object type, such as "file".
	ObjectType string
	// Path is the path after the type: keys as strings, indexes as ints,
	// "*" for [*].
	Path []any
	// Operator is the operator text with its NOT, such as "NOT LIKE".
	Operator string
	// Value is the literal as written (an IN set as "(a,b)"), "" for EXISTS.
	Value string
	// Negated and Op are the operator in structured form.
	Negated bool
	Op      Operator
	// Comparison is the node itself (its Value/Set hold decoded literals).
	Comparison *Comparison
}

// Inspect parses pattern and reports what it uses.
func Inspect(pattern string) (Inspection, error) {
	p, err := Parse(pattern)
	if err != nil {
		return Inspection{}, err
	}
	return p.Inspect(), nil
}

// Inspect reports what the pattern uses.
func (p *Pattern) Inspect() Inspection {
	var in Inspection
	types := map[string]bool{}
	ops := map[string]bool{}
	quals := map[string]bool{}
	walkObs(p.Root, func(e ObservationExpr) {
		switch e := e.(type) {
		case *ObservationOp:
			ops[e.Op.String()] = true
		case *Qualified:
			quals[e.Qualifier.String()] = true
		case *Simple:
			walkComp(e.Comparison, func(c *Comparison) {
				types[c.Path.ObjectType] = true
				in.Comparisons = append(in.Comparisons, InspectedComparison{
					ObjectType: c.Path.ObjectType,
					Path:       c.Path.Components(),
					Operator:   c.OperatorText(),
					Value:      c.ValueText(),
					Negated:    c.Negated,
					Op:         c.Op,
					Comparison: c,
				})
			})
		}
	})
	in.ObjectTypes = sortedKeys(types)
	in.ObservationOps = sortedKeys(ops)
	in.Qualifiers = sortedKeys(quals)
	return in
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// walkObs calls f on every observation expression, parents before
// children, left before right.
func walkObs(e ObservationExpr, f func(ObservationExpr)) {
	f(e)
	switch e := e.(type) {
	case *ObservationOp:
		walkObs(e.Left, f)
		walkObs(e.Right, f)
	case *Group:
		walkObs(e.Expr, f)
	case *Qualified:
		walkObs(e.Expr, f)
	}
}

// walkComp calls f on every comparison, left to right.
func walkComp(e ComparisonExpr, f func(*Comparison)) {
	switch e := e.(type) {
	case *Comparison:
		f(e)
	case *ComparisonOp:
		walkComp(e.Left, f)
		walkComp(e.Right, f)
	case *ComparisonGroup:
		walkComp(e.Expr, f)
	}
}
