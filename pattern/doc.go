// Package pattern implements the STIX 2.1 patterning language (STIX 2.1
// specification, section 9): a lexer and parser, the syntax tree with a
// printer, a validator for the rules the grammar cannot express, an
// inspector, and an evaluator over observed-data objects with the
// semantics of the OASIS reference matcher (oasis-open/cti-pattern-matcher).
//
// # Parsing
//
// [Parse] is a hand-written recursive-descent parser over a maximal-munch
// lexer that follows the lexer rules of the OASIS ANTLR grammar
// (STIXPattern.g4). Hand-written rather than generated because the
// grammar is small and LL(1) once its left recursion is rewritten as
// loops; errors can then name what was expected in words with a line and
// column; there is no runtime dependency or generated code to audit; and
// parsing is allocation-light, which matters when a node validates every
// indicator it receives. Precedence, tightest first: comparison AND, then
// comparison OR inside brackets; qualifiers (postfix, applied left to
// right); observation AND, OR, FOLLOWEDBY. Keywords are upper case only.
//
// # Validation
//
// [Validate] is what indicator validation uses: the grammar plus duplicate
// qualifiers, hash forms, integer/boolean property types and regex syntax
// (see [Pattern.Validate]).
//
// # Evaluation
//
// [Pattern.Match] evaluates a pattern over decoded [Observation] values;
// [MatchJSON] takes STIX JSON (bundles, or lists of observed-data and
// SCOs). Semantics follow the reference matcher as documented in the
// project's test data notes (stix-patterns/NOTES.md): each observed-data
// stands for number_observed observations sharing [first_observed,
// last_observed]; AND and FOLLOWEDBY bind distinct observations; WITHIN,
// REPEATS and START/STOP qualify bindings. Bindings are searched
// depth-first with pruning (capacity bounds, symmetry breaking between
// interchangeable repetitions, time windows checked as each observation is
// bound), not enumerated.
//
// # Regular expressions
//
// MATCHES uses Go's RE2 engine with a translation of the Python dialect
// the reference uses; see [ErrUnsupportedRegex] for what cannot run.
package pattern
