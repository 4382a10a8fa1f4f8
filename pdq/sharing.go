package pdq

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
)

// Sharing PDQ hashes as STIX 2.1 indicators.
//
// A PDQ hash travels as an indicator whose pattern_type is "pdq" (STIX
// 2.1 makes pattern_type an open vocabulary, section 10.14, so a value
// outside "stix", "snort", ... is allowed) and whose pattern is the hash as
// 64 lower-case hexadecimal digits, exactly as the reference tools print
// it. The hash's quality (0..100) goes in the custom property
// x_pdq_quality, so that a consumer can drop low-quality hashes
// (< [MinQuality]) without the image:
//
//	{
//	  "type": "indicator",
//	  "spec_version": "2.1",
//	  "pattern_type": "pdq",
//	  "pattern": "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22",
//	  "x_pdq_quality": 100,
//	  ...
//	}
//
// No image and no pixel is ever part of the indicator.

// PatternType is the STIX indicator pattern_type of a PDQ hash.
const PatternType = "pdq"

// QualityProperty is the custom indicator property holding the quality.
const QualityProperty = "x_pdq_quality"

// ErrPattern is wrapped by [ValidatePattern] and [ParseIndicator] for an
// invalid PDQ pattern or quality.
var ErrPattern = errors.New("invalid pdq indicator")

// ErrNotPDQ is returned by [ParseIndicator] for an indicator whose
// pattern_type is not "pdq".
var ErrNotPDQ = errors.New("not a pdq indicator")

// ValidatePattern checks the pattern of an indicator whose pattern_type is
// "pdq": exactly 64 lower-case hexadecimal digits. Upper case is refused so
// that every hash has one spelling, and equal hashes are equal strings in
// any store or filter.
func ValidatePattern(pattern string) error {
	if len(pattern) != HexLen {
		return fmt.Errorf("%w: pattern must be %d hex digits, got %d characters", ErrPattern, HexLen, len(pattern))
	}
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return fmt.Errorf("%w: pattern character %d is %q, want 0-9 or a-f", ErrPattern, i+1, c)
		}
	}
	return nil
}

// ValidateQuality checks an x_pdq_quality value as decoded from JSON (a
// float64 or json.Number, or a Go integer): a whole number 0..100.
func ValidateQuality(v any) (int, error) {
	var f float64
	switch q := v.(type) {
	case float64:
		f = q
	case int:
		f = float64(q)
	case int64:
		f = float64(q)
	case json.Number:
		var err error
		if f, err = q.Float64(); err != nil {
			return 0, fmt.Errorf("%w: %s is not a number", ErrPattern, QualityProperty)
		}
	default:
		return 0, fmt.Errorf("%w: %s must be a number, got %T", ErrPattern, QualityProperty, v)
	}
	if f != math.Trunc(f) || f < 0 || f > 100 {
		return 0, fmt.Errorf("%w: %s must be a whole number from 0 to 100, got %v", ErrPattern, QualityProperty, f)
	}
	return int(f), nil
}

// IndicatorProperties returns the properties that make an indicator share
// h: pattern_type, pattern and x_pdq_quality. The caller adds the common
// properties (id, created, valid_from, ...).
func IndicatorProperties(h Hash, quality int) map[string]any {
	return map[string]any{
		"pattern_type":  PatternType,
		"pattern":       h.String(),
		QualityProperty: quality,
	}
}

// ParseIndicator returns the hash and quality of a pdq indicator given as
// its decoded JSON properties. The quality is -1 when the indicator has
// none. It returns [ErrNotPDQ] when pattern_type is not "pdq", and an error
// wrapping [ErrPattern] when the pattern or quality is invalid.
func ParseIndicator(props map[string]any) (Hash, int, error) {
	if pt, _ := props["pattern_type"].(string); pt != PatternType {
		return Hash{}, 0, ErrNotPDQ
	}
	p, ok := props["pattern"].(string)
	if !ok {
		return Hash{}, 0, fmt.Errorf("%w: pattern must be a string", ErrPattern)
	}
	if err := ValidatePattern(p); err != nil {
		return Hash{}, 0, err
	}
	h, err := ParseHash(p)
	if err != nil {
		return Hash{}, 0, fmt.Errorf("%w: %v", ErrPattern, err)
	}
	q := -1
	if v, ok := props[QualityProperty]; ok {
		if q, err = ValidateQuality(v); err != nil {
			return Hash{}, 0, err
		}
	}
	return h, q, nil
}
