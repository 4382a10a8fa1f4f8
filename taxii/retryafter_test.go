package taxii

import (
	"testing"
	"time"
)

// TestParseRetryAfter: RFC 9110's two forms, cut to MaxRetryAfter; anything
// else, or a date that has passed, is no wait.
func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"120", 2 * time.Minute},
		{" 5 ", 5 * time.Second},
		{"86400", MaxRetryAfter},
		{"86401", MaxRetryAfter},
		{"99999999999999999999", MaxRetryAfter},
		{"-5", 0},
		{"1.5", 0},
		{"soon", 0},
		{"Fri, 04 Dec 2026 12:30:00 GMT", 30 * time.Minute},
		{"Friday, 04-Dec-26 12:30:00 GMT", 30 * time.Minute},
		{"Fri Dec  4 12:30:00 2026", 30 * time.Minute},
		{"Fri, 04 Dec 2026 11:00:00 GMT", 0},
		{"Sat, 04 Dec 2027 12:00:00 GMT", MaxRetryAfter},
	} {
		if got := parseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
