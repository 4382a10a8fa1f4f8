package match

import (
	"encoding/json"
	"math/rand"
	"testing"
)

// TestDecodeRejectsInvalidJSON mutates generated Zeek and EVE lines (a
// byte replaced, removed or inserted, mostly JSON punctuation) and checks
// that neither the full decoder nor one restricted to some attributes
// (which skips more) accepts a line encoding/json rejects. Raw control
// characters inside strings are the one documented tolerance.
func TestDecodeRejectsInvalidJSON(t *testing.T) {
	lines := benchStream(2000, benchDomains(10))
	r := rand.New(rand.NewSource(9))
	d := NewDecoder(FormatAuto)
	m := NewDecoder(FormatAuto)
	var skip [numAttrs]bool
	for i := range skip {
		skip[i] = i%2 == 0
	}
	m.setSkip(&skip)
	bad := 0
	rounds := 50000
	if testing.Short() {
		rounds = 5000
	}
	for n := 0; n < rounds; n++ {
		l := append([]byte(nil), lines[r.Intn(len(lines))]...)
		for k := 0; k < 1+r.Intn(2); k++ {
			p := r.Intn(len(l))
			switch r.Intn(3) {
			case 0:
				l[p] = "{}[],:\"\\ tfn0.-e"[r.Intn(16)]
			case 1:
				l = append(l[:p], l[p+1:]...)
			default:
				l = append(l[:p], append([]byte{"{}[],:\"\\ tfn0"[r.Intn(13)]}, l[p:]...)...)
			}
		}
		ctl := false
		for _, c := range l {
			if c < 0x20 {
				ctl = true
			}
		}
		for _, dec := range []*Decoder{d, m} {
			if _, err := dec.Decode(l); err == nil && !json.Valid(l) && !ctl {
				bad++
				if bad < 3 {
					t.Errorf("accepted invalid %s", l)
				}
			}
		}
	}
}
