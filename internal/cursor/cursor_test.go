package cursor

import (
	"errors"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	at := time.Date(2026, 5, 5, 5, 5, 5, 123456000, time.UTC)
	c := Format("coll", at)
	if len(c) != 22 {
		t.Fatalf("Format = %q, want 22 characters", c)
	}
	for _, tc := range []struct {
		coll, s string
		want    error
	}{
		{"coll", c, nil},
		{"other", c, ErrOtherCollection},
		{"coll", "1234", ErrInvalid},                             // an earlier version's sequence number
		{"coll", c + "A", ErrInvalid},                            // too long
		{"coll", c[:21], ErrInvalid},                             // too short
		{"coll", c[:21] + "=", ErrInvalid},                       // not base64url
		{"coll", Format("coll", time.UnixMicro(-1)), ErrInvalid}, // before 1970
		{"coll", "", ErrInvalid},
	} {
		got, err := Parse(tc.coll, tc.s)
		if !errors.Is(err, tc.want) {
			t.Errorf("Parse(%q, %q) = %v, want %v", tc.coll, tc.s, err, tc.want)
		}
		if err == nil && !got.Equal(at) {
			t.Errorf("Parse(%q, %q) = %s, want %s", tc.coll, tc.s, got, at)
		}
	}
}

// FuzzParse: what Parse accepts is exactly what Format issued for the
// collection, at a time at or after 1970.
func FuzzParse(f *testing.F) {
	f.Add(Format("coll", time.Date(2026, 5, 5, 5, 5, 5, 123456000, time.UTC)))
	f.Add(Format("another", time.Date(2026, 5, 5, 5, 5, 5, 0, time.UTC)))
	f.Add("12345")
	f.Fuzz(func(t *testing.T, s string) {
		at, err := Parse("coll", s)
		if err != nil {
			return
		}
		if at.Before(time.Unix(0, 0)) || Format("coll", at) != s {
			t.Fatalf("Parse(%q) = %s, which formats as %q", s, at, Format("coll", at))
		}
	})
}
