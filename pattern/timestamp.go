package pattern

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// ErrTimestamp is wrapped by errors about malformed timestamps.
var ErrTimestamp = errors.New("invalid timestamp")

// tsRE accepts what the reference matcher accepts for
// YYYY-MM-DDTHH:MM:SS[.frac]Z: one- or two-digit month, day, hour, minute
// and second fields, and one to six fraction digits (longer fractions are
// truncated to microseconds before matching).
var tsRE = regexp.MustCompile(`^(\d{4})-(1[0-2]|0[1-9]|[1-9])-(3[01]|[12]\d|0[1-9]|[1-9]| [1-9])T(2[0-3]|[01]\d|\d):([0-5]\d|\d):(6[01]|[0-5]\d|\d)(?:\.(\d{1,6}))?Z$`)

// parseTimestamp parses a STIX timestamp with the reference matcher's
// rules: upper-case T and Z, a real calendar date, seconds below 60,
// fractions truncated to microseconds. The result is in UTC.
func parseTimestamp(s string) (time.Time, error) {
	for _, r := range s {
		if unicode.IsLower(r) {
			return time.Time{}, fmt.Errorf("%w %q: T and Z must be upper case", ErrTimestamp, s)
		}
	}
	if dot := strings.IndexByte(s, '.'); dot >= 0 {
		frac := s[dot+1:]
		if len(frac) > 7 && strings.HasSuffix(frac, "Z") {
			s = s[:dot+1] + frac[:6] + "Z"
		}
	}
	m := tsRE.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, fmt.Errorf("%w %q: want YYYY-MM-DDTHH:MM:SS[.ffffff]Z", ErrTimestamp, s)
	}
	num := func(k int) int {
		n, _ := strconv.Atoi(strings.TrimSpace(m[k]))
		return n
	}
	year, month, day, hour, minute, sec := num(1), num(2), num(3), num(4), num(5), num(6)
	usec := 0
	if m[7] != "" {
		f := m[7] + strings.Repeat("0", 6-len(m[7]))
		usec, _ = strconv.Atoi(f)
	}
	if year < 1 || sec > 59 {
		return time.Time{}, fmt.Errorf("%w %q: out of range", ErrTimestamp, s)
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, usec*1000, time.UTC)
	if t.Day() != day || int(t.Month()) != month {
		return time.Time{}, fmt.Errorf("%w %q: day %d does not exist in that month", ErrTimestamp, s, day)
	}
	return t, nil
}

// micros is a timestamp as microseconds since the Unix epoch, the
// precision of STIX pattern comparisons.
func micros(t time.Time) int64 { return t.Unix()*1e6 + int64(t.Nanosecond()/1000) }
