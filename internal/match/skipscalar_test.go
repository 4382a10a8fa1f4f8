package match

import "testing"

// TestSkipScalarOrAgreesWithSkip checks the inline paths of skipScalarOr
// (strings, numbers, booleans) against the general skip: the same end
// position, and an error for the same inputs.
func TestSkipScalarOrAgreesWithSkip(t *testing.T) {
	for _, in := range []string{
		`true`, `false`, `null`, `tru`, `fals`, `truex`, `t`, `f`, `fALSE`, ` true,`, "\tfalse}",
		`"abc"`, `"a\"b"`, `"abc`, `"a\`, `"0123456789abcdef0123"`, `"0123456\"9abcdef"`,
		`12`, `-1.5e3`, `-`, `1.`, `[true,false]`, `{"a":true}`, `[`, ``, ` `, `x`,
	} {
		a := &scanner{}
		a.reset([]byte(in))
		b := &scanner{}
		b.reset([]byte(in))
		errA := a.skipScalarOr(0)
		errB := b.skip(0)
		if (errA == nil) != (errB == nil) || errA == nil && a.pos != b.pos {
			t.Errorf("%q: skipScalarOr = (%d, %v), skip = (%d, %v)", in, a.pos, errA, b.pos, errB)
		}
	}
}
