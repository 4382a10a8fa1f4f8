package pdq

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestValidatePattern(t *testing.T) {
	good := "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
	tests := []struct {
		pattern string
		ok      bool
	}{
		{good, true},
		{strings.Repeat("0", 64), true},
		{strings.ToUpper(good), false},
		{good[:63], false},
		{good + "0", false},
		{"[file:hashes.MD5 = 'x']", false},
		{strings.Repeat("g", 64), false},
		{" " + good[1:], false},
		{"", false},
	}
	for _, tt := range tests {
		err := ValidatePattern(tt.pattern)
		if (err == nil) != tt.ok {
			t.Errorf("ValidatePattern(%q) = %v, want ok=%v", tt.pattern, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrPattern) {
			t.Errorf("error %v does not wrap ErrPattern", err)
		}
	}
}

// TestIndicatorRoundTrip builds indicator properties, passes them through
// JSON as a STIX object would travel, and reads them back.
func TestIndicatorRoundTrip(t *testing.T) {
	h := mustParse(t, "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22")
	props := IndicatorProperties(h, 87)
	props["type"] = "indicator"
	b, err := json.Marshal(props)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back["pattern_type"] != "pdq" || back["x_pdq_quality"] != 87.0 {
		t.Fatalf("wire form %s", b)
	}
	if err := ValidatePattern(back["pattern"].(string)); err != nil {
		t.Fatal(err)
	}
	got, q, err := ParseIndicator(back)
	if err != nil || got != h || q != 87 {
		t.Fatalf("ParseIndicator = %s %d %v", got, q, err)
	}
}

func TestParseIndicator(t *testing.T) {
	hex := strings.Repeat("ab", 32)
	tests := []struct {
		name  string
		props map[string]any
		q     int
		err   error
	}{
		{"no quality", map[string]any{"pattern_type": "pdq", "pattern": hex}, -1, nil},
		{"json.Number", map[string]any{"pattern_type": "pdq", "pattern": hex, "x_pdq_quality": json.Number("100")}, 100, nil},
		{"int", map[string]any{"pattern_type": "pdq", "pattern": hex, "x_pdq_quality": 0}, 0, nil},
		{"stix pattern", map[string]any{"pattern_type": "stix", "pattern": "[x:y = 'z']"}, 0, ErrNotPDQ},
		{"no pattern_type", map[string]any{"pattern": hex}, 0, ErrNotPDQ},
		{"bad hex", map[string]any{"pattern_type": "pdq", "pattern": "xyz"}, 0, ErrPattern},
		{"pattern not string", map[string]any{"pattern_type": "pdq", "pattern": 5.0}, 0, ErrPattern},
		{"quality too high", map[string]any{"pattern_type": "pdq", "pattern": hex, "x_pdq_quality": 101.0}, 0, ErrPattern},
		{"quality fraction", map[string]any{"pattern_type": "pdq", "pattern": hex, "x_pdq_quality": 50.5}, 0, ErrPattern},
		{"quality negative", map[string]any{"pattern_type": "pdq", "pattern": hex, "x_pdq_quality": -1.0}, 0, ErrPattern},
		{"quality string", map[string]any{"pattern_type": "pdq", "pattern": hex, "x_pdq_quality": "100"}, 0, ErrPattern},
	}
	for _, tt := range tests {
		h, q, err := ParseIndicator(tt.props)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("%s: error %v, want %v", tt.name, err, tt.err)
			}
			continue
		}
		if err != nil || q != tt.q || h.String() != hex {
			t.Errorf("%s: got %s %d %v", tt.name, h, q, err)
		}
	}
}
