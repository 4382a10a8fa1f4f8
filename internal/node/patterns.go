package node

import "github.com/parley-exchange/parley/pdq"

// DefaultPatterns returns the indicator pattern validators a node uses
// when [Options.Patterns] is nil, by pattern_type: "pdq" (64 lower-case
// hex digits). "stix" uses the stix package's built-in check until the
// full STIX patterning validator is plugged in here.
func DefaultPatterns() map[string]func(string) error {
	return map[string]func(string) error{
		"pdq": pdq.ValidatePattern,
	}
}
