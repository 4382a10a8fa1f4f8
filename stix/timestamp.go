package stix

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrTimestamp is wrapped by [ParseTimestamp]'s errors.
var ErrTimestamp = errors.New("invalid STIX timestamp")

// ParseTimestamp parses a STIX 2.1 timestamp (section 3.2): RFC 3339
// date-time in UTC with the literal "Z" suffix, an uppercase "T", and
// optional fractional seconds of any length (only nanoseconds are kept).
// Offsets such as "+00:00", lowercase "t"/"z", and missing seconds are
// rejected, as the specification requires. A leap second (23:59:60) is
// accepted and read as the next minute's first instant.
func ParseTimestamp(s string) (time.Time, error) {
	// YYYY-MM-DDTHH:MM:SS[.f+]Z
	ok := len(s) >= 20 && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' && s[16] == ':' && s[len(s)-1] == 'Z'
	if ok {
		for i, c := range []byte(s[:19]) {
			if i == 4 || i == 7 || i == 10 || i == 13 || i == 16 {
				continue
			}
			if c < '0' || c > '9' {
				ok = false
			}
		}
		if frac := s[19 : len(s)-1]; frac != "" {
			if frac[0] != '.' || len(frac) == 1 {
				ok = false
			}
			for _, c := range []byte(frac[min(1, len(frac)):]) {
				if c < '0' || c > '9' {
					ok = false
				}
			}
		}
	}
	if !ok {
		return time.Time{}, fmt.Errorf("%w: %q is not of the form YYYY-MM-DDTHH:MM:SS[.s+]Z", ErrTimestamp, s)
	}
	// time.Parse accepts at most 9 fractional digits; extra digits are
	// below the resolution of time.Time and are dropped.
	if len(s) > 31 {
		s = s[:30] + "Z"
	}
	// A leap second (23:59:60) is valid RFC 3339; time.Time cannot hold
	// it, so it becomes the first instant of the next minute.
	leap := s[17:19] == "60"
	if leap {
		s = s[:17] + "59" + s[19:]
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if leap && err == nil {
		if s[11:16] != "23:59" {
			err = fmt.Errorf("a leap second must be at 23:59:60")
		}
		t = t.Add(time.Second)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %q: %s", ErrTimestamp, s, strings.TrimPrefix(err.Error(), "parsing time "))
	}
	return t.UTC(), nil
}

// FormatTimestamp formats t in UTC as a STIX timestamp with at least
// millisecond precision (section 3.2 requires milliseconds for created
// and modified) and more digits only when t has them, trailing zeros
// trimmed: "2016-05-12T08:17:27.000Z", "2016-05-12T08:17:27.123456Z".
// This is the canonical text Parley uses for an object's version.
func FormatTimestamp(t time.Time) string {
	t = t.UTC()
	s := t.Format("2006-01-02T15:04:05.000000000")
	// Trim trailing zeros of the fraction, but keep three digits.
	end := len(s)
	for end > len(s)-6 && s[end-1] == '0' {
		end--
	}
	return s[:end] + "Z"
}
