package node

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/parley-exchange/parley/pattern"
	"github.com/parley-exchange/parley/private"
	"github.com/parley-exchange/parley/stix"
)

// indicatorLines returns the canonical "type:value" lines an indicator
// contributes to a private set: the values of its equality comparisons
// ("=" and "IN") on the observable properties private sets carry, where
// that value alone satisfies the pattern (see [patternLines]). A revoked
// indicator or a non-STIX pattern contributes nothing; so does a value
// that is only part of what the pattern requires (AND, FOLLOWEDBY,
// qualifiers), since publishing it would claim more than the provider
// said.
//
// validUntil is the indicator's valid_until (zero when absent); the set
// drops the indicator's values once it has passed.
func indicatorLines(raw []byte) (lines []string, validUntil time.Time) {
	var ind struct {
		Type        string `json:"type"`
		Pattern     string `json:"pattern"`
		PatternType string `json:"pattern_type"`
		Revoked     bool   `json:"revoked"`
		ValidUntil  string `json:"valid_until"`
	}
	if json.Unmarshal(raw, &ind) != nil || ind.Type != "indicator" || ind.Revoked {
		return nil, time.Time{}
	}
	if ind.PatternType != "" && ind.PatternType != "stix" {
		return nil, time.Time{}
	}
	if ind.ValidUntil != "" {
		t, err := stix.ParseTimestamp(ind.ValidUntil)
		if err != nil {
			return nil, time.Time{}
		}
		validUntil = t
	}
	return patternLines(ind.Pattern), validUntil
}

// patternLines implements [indicatorLines] on the pattern text, parsed
// with the pattern package. An observation expression contributes the
// union of its disjuncts' values when it is an OR of observations, and
// nothing when it is AND, FOLLOWEDBY or qualified (no single value
// satisfies it). Inside brackets likewise: an OR of comparisons
// contributes its equality comparisons ("=", "IN", not negated) on the
// properties private sets carry; an AND contributes nothing.
func patternLines(text string) []string {
	p, err := pattern.Parse(text)
	if err != nil {
		return nil
	}
	var lines []string
	var obs func(e pattern.ObservationExpr)
	var comp func(e pattern.ComparisonExpr)
	obs = func(e pattern.ObservationExpr) {
		switch e := e.(type) {
		case *pattern.Simple:
			comp(e.Comparison)
		case *pattern.Group:
			obs(e.Expr)
		case *pattern.ObservationOp:
			if e.Op == pattern.ObsOr {
				obs(e.Left)
				obs(e.Right)
			}
		}
	}
	comp = func(e pattern.ComparisonExpr) {
		switch e := e.(type) {
		case *pattern.ComparisonGroup:
			comp(e.Expr)
		case *pattern.ComparisonOp:
			if e.Op == pattern.CompOr {
				comp(e.Left)
				comp(e.Right)
			}
		case *pattern.Comparison:
			lines = append(lines, comparisonLines(e)...)
		}
	}
	obs(p.Root)
	slices.Sort(lines)
	return slices.Compact(lines)
}

// comparisonLines returns the canonical lines of one equality comparison.
func comparisonLines(c *pattern.Comparison) []string {
	if c.Negated || (c.Op != pattern.OpEqual && c.Op != pattern.OpIn) {
		return nil
	}
	typ, prefix, ok := pathType(c.Path)
	if !ok {
		return nil
	}
	lits := c.Set
	if c.Op == pattern.OpEqual {
		lits = []pattern.Literal{c.Value}
	}
	var out []string
	for _, l := range lits {
		if l.Kind != pattern.LitString {
			continue
		}
		if v, err := private.Normalize(typ, prefix+l.Str); err == nil {
			out = append(out, typ+":"+v)
		}
	}
	return out
}

// pathType maps an object path to the private-set type whose value it is,
// and the prefix its value takes ("SHA-256=" for file hashes).
func pathType(p pattern.ObjectPath) (typ, prefix string, ok bool) {
	keys := make([]string, 0, len(p.Steps))
	for _, s := range p.Steps {
		if s.Kind != pattern.StepKey {
			return "", "", false
		}
		keys = append(keys, s.Key)
	}
	switch p.ObjectType {
	case private.TypeDomainName, private.TypeIPv4, private.TypeIPv6, private.TypeURL, private.TypeEmail, private.TypeMAC:
		return p.ObjectType, "", len(keys) == 1 && keys[0] == "value"
	case private.TypeFile:
		if len(keys) == 2 && keys[0] == "hashes" {
			if alg, known := private.HashAlgorithm(keys[1]); known {
				return private.TypeFile, alg + "=", true
			}
		}
	}
	return "", "", false
}
