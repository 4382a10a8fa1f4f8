package node

import (
	"github.com/parley-exchange/parley/pattern"
	"github.com/parley-exchange/parley/pdq"
)

// DefaultPatterns returns the indicator pattern validators a node uses
// when [Options.Patterns] is nil, by pattern_type: "stix" is the full
// STIX 2.1 patterning grammar and rules (pattern.Validate), "pdq" a PDQ
// hash (64 lower-case hex digits). Other pattern types (an open
// vocabulary) are accepted as they are.
func DefaultPatterns() map[string]func(string) error {
	return map[string]func(string) error{
		"stix": pattern.Validate,
		"pdq":  pdq.ValidatePattern,
	}
}
