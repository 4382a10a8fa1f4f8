package taxii

import (
	"errors"
	"strings"
	"testing"
)

// TestParseEnvelopeStrict checks that the add-objects body is read as
// I-JSON at the envelope level too: exact member names, no duplicates, and
// nothing after the envelope, so that every JSON parser in front of the
// node sees the same objects as the node stores.
func TestParseEnvelopeStrict(t *testing.T) {
	for _, tc := range []struct {
		body string
		n    int    // objects accepted; 0: refused
		want string // part of the error
	}{
		{`{"objects":[{"a":1},{"b":2}]}`, 2, ""},
		{` {"more":false,"objects":[{}],"next":"x"} `, 1, ""},
		{`{"objects":[{"a":1}],"objects":[]}`, 0, `member "objects" twice`},
		{`{"objects":[],"objects":[{"a":1}]}`, 0, `member "objects" twice`},
		{`{"more":true,"objects":[{}],"more":false}`, 0, `member "more" twice`},
		{`{"Objects":[{"a":1}]}`, 0, `must have an "objects" list`},
		{`{"objects":[{"a":1}],"OBJECTS":[{"b":2}]}`, 1, ""},
		{`{"objects":null}`, 0, `must have an "objects" list`},
		{`{"objects":{}}`, 0, `is not a list`},
		{`{"objects":[{}]} x`, 0, "not valid JSON"},
		{`{"objects":[{}]}{}`, 0, "not valid JSON"},
		{`{"objects":[{}],}`, 0, "not valid JSON"},
		{`{"objects":[{}]`, 0, "not valid JSON"},
		{`{"objects" [{}]}`, 0, "not valid JSON"},
	} {
		objs, err := parseEnvelope([]byte(tc.body), 8, 5)
		if tc.n > 0 {
			if err != nil || len(objs) != tc.n {
				t.Errorf("%s: %d objects, %v; want %d objects", tc.body, len(objs), err, tc.n)
			}
			continue
		}
		if err == nil || !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %d objects, error %v; want a bad request saying %q", tc.body, len(objs), err, tc.want)
		}
	}
}
