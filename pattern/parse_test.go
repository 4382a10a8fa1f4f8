package pattern

import (
	"errors"
	"strings"
	"testing"
)

func TestParsePrecedence(t *testing.T) {
	tests := []struct{ in, tree string }{
		{"[a:b = 1] AND [a:c = 2] OR [a:d = 3]", "(OR (AND [a:b] [a:c]) [a:d])"},
		{"[a:b = 1] OR [a:c = 2] AND [a:d = 3]", "(OR [a:b] (AND [a:c] [a:d]))"},
		{"[a:b = 1] OR [a:c = 2] FOLLOWEDBY [a:d = 3]", "(FOLLOWEDBY (OR [a:b] [a:c]) [a:d])"},
		{"[a:b = 1] FOLLOWEDBY [a:c = 2] FOLLOWEDBY [a:d = 3]", "(FOLLOWEDBY (FOLLOWEDBY [a:b] [a:c]) [a:d])"},
		{"[a:b = 1] AND [a:c = 2] WITHIN 1 SECONDS", "(AND [a:b] (WITHIN 1 SECONDS [a:c]))"},
		{"[a:b = 1] START t'2020-01-01T00:00:00Z' STOP t'2021-01-01T00:00:00Z' REPEATS 3 TIMES",
			"(REPEATS 3 TIMES (START t'2020-01-01T00:00:00Z' STOP t'2021-01-01T00:00:00Z' [a:b]))"},
		{"([a:b = 1] OR [a:c = 2]) AND [a:d = 3]", "(AND (group (OR [a:b] [a:c])) [a:d])"},
	}
	for _, tc := range tests {
		p, err := Parse(tc.in)
		if err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		if got := shape(p.Root); got != tc.tree {
			t.Errorf("%s:\n got %s\nwant %s", tc.in, got, tc.tree)
		}
		if p.String() != tc.in {
			t.Errorf("print: got %q, want %q", p.String(), tc.in)
		}
	}
	// Comparison level: AND binds tighter than OR.
	c := MustParse("[a:b = 1 OR a:c = 2 AND a:d = 3]").Root.(*Simple).Comparison.(*ComparisonOp)
	if c.Op != CompOr {
		t.Fatalf("comparison OR should be at the top, got %v", c.Op)
	}
}

func shape(e ObservationExpr) string {
	switch e := e.(type) {
	case *Simple:
		c := e.Comparison
		for {
			if op, ok := c.(*ComparisonOp); ok {
				c = op.Left
				continue
			}
			break
		}
		return "[" + c.(*Comparison).Path.String() + "]"
	case *ObservationOp:
		return "(" + e.Op.String() + " " + shape(e.Left) + " " + shape(e.Right) + ")"
	case *Group:
		return "(group " + shape(e.Expr) + ")"
	case *Qualified:
		return "(" + e.Qualifier.String() + " " + shape(e.Expr) + ")"
	}
	return "?"
}

func TestParseLiteralsAndPaths(t *testing.T) {
	p := MustParse(`[x-y:'a.b'[*].c[2].'d-e' NOT IN (+5, -3, .5, -0.25, 'it\'s', true, h'00ff', b'AAE=', t'2020-01-01T00:00:00.5Z')]`)
	c := p.Root.(*Simple).Comparison.(*Comparison)
	if c.Path.ObjectType != "x-y" || !c.Negated || c.Op != OpIn {
		t.Fatalf("got %+v", c)
	}
	wantPath := []any{"a.b", "*", "c", 2, "d-e"}
	for i, s := range c.Path.Components() {
		if s != wantPath[i] {
			t.Errorf("path[%d] = %v, want %v", i, s, wantPath[i])
		}
	}
	s := c.Set
	if s[0].Int != 5 || s[1].Int != -3 || s[2].Float != .5 || s[3].Float != -.25 || s[4].Str != "it's" ||
		!s[5].Bool || string(s[6].Bytes) != "\x00\xff" || string(s[7].Bytes) != "\x00\x01" ||
		s[8].Time.Nanosecond() != 5e8 {
		t.Errorf("literals decoded wrongly: %+v", s)
	}
	if got := MustParse("[a:b == 1] AND [a:c <> 2]").String(); got != "[a:b = 1] AND [a:c != 2]" {
		t.Errorf("canonical operators: %q", got)
	}
	if got := MustParse("[a:b = 1] /* c */ AND\u00a0// d\n[a:c = 2]").String(); got != "[a:b = 1] AND [a:c = 2]" {
		t.Errorf("comments and spaces: %q", got)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		in       string
		line     int
		col      int
		contains string
	}{
		{"file:size = 1280", 1, 1, "square brackets"},
		{"[file:size = ]", 1, 14, "expected a literal"},
		{"[file.size = 1280]", 1, 6, "expected ':'"},
		{"[file:name MATCHES /x/]", 1, 20, "unexpected character"},
		{"[a:b = 1] WITHIN 5 HOURS", 1, 20, "SECONDS"},
		{"[a:b = 1] WITHIN -5 SECONDS", 1, 18, "positive number"},
		{"[a:b = 1] within 5 SECONDS", 1, 11, "expected AND"},
		{"[a:b = null]", 1, 8, "no null literal"},
		{"[some-type:needs-quotes = 1]", 1, 12, "must be quoted"},
		{"[a:b = t'2020-01-01t00:00:00Z']", 1, 8, "malformed"},
		{"[a:b = b'====']", 1, 8, "malformed"},
		{"[a:b = t'2020-13-01T00:00:00Z']", 1, 8, "t'2020-13-01T00:00:00Z' is malformed: write t'YYYY-MM-DDTHH:MM:SS[.s]Z'"},
		{"[a:b = h'abc']", 1, 8, "h'abc' is malformed: write an even number of hex digits"},
		{"[a:b = b'aGVsbG8']", 1, 8, "padded to groups of 4"},
		{"[a:b = t'2020", 1, 8, "no closing quote"},
		{"[a:b = 'unterminated]", 1, 8, "not closed"},
		{"[a:b = 'bad \\x escape']", 1, 8, "backslash"},
		{"[a:b = 1]\n  AND [a:c ! 2]", 2, 12, `"!" must be followed`},
		{"[a:b = 1] START t'2020-01-01T00:00:00Z'", 1, 40, "STOP"},
		{"[a:b = 1] REPEATS 1.5 TIMES", 1, 19, "whole number"},
		{"[a:b = 1]]", 1, 10, "end of the pattern"},
		{"[a:b = 1] /* open", 1, 11, "comment"},
		{"[a:b = 1 AND]", 1, 13, "object path"},
		{strings.Repeat("(", 600) + "[a:b = 1]" + strings.Repeat(")", 600), 1, 501, "nested"},
	}
	for _, tc := range tests {
		_, err := Parse(tc.in)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%q: got %v, want a SyntaxError", tc.in, err)
			continue
		}
		if !errors.Is(err, ErrSyntax) || !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: error does not wrap ErrSyntax and ErrInvalid", tc.in)
		}
		if se.Line != tc.line || se.Column != tc.col || !strings.Contains(se.Msg, tc.contains) {
			t.Errorf("%q: got %d:%d %q, want %d:%d containing %q", tc.in, se.Line, se.Column, se.Msg, tc.line, tc.col, tc.contains)
		}
	}
}

func TestValidateRules(t *testing.T) {
	tests := []struct {
		in       string
		contains string // "" means valid
	}{
		{"[file:hashes.MD5 = 'cead3f77f6cda6ec00f57d76c9a6879f']", ""},
		{"[file:hashes.md5 = 'xyz']", "not a valid md5 hash"},
		{"[file:hashes.'SHA-1' IN ('cead3f77f6cda6ec00f57d76c9a6879f')]", "not a valid SHA-1 hash"},
		{"[file:hashes.'x-custom' = 'anything']", ""},
		{"[file:hashes.MD5 = 5]", "compares it with an integer literal"},
		{"[file:hashes.MD5 MATCHES '^cead']", ""},
		{"[file:size = 'twelve']", "integer property"},
		// The STIX 2.1 spec's own example (and cti-pattern-validator's
		// spec_examples.txt) compares file:size with a string of digits.
		{"[(file:name = 'pdf.exe' OR file:size = '371712') AND file:created = t'2014-01-13T07:03:17Z']", ""},
		{"[file:size = '-12']", ""},
		{"[file:size = '1.5']", "integer property"},
		{"[file:size = '']", "integer property"},
		{"[file:size > 12.5]", ""},
		{"[network-traffic:dst_port IN (80, 'http')]", "integer property"},
		{"[email-message:is_multipart = 1]", "boolean property"},
		{"[x-custom:size = 'big']", ""},
		{"[a:b MATCHES '(unclosed']", "not a valid regular expression"},
		{"[a:b MATCHES '(?<=x)y']", ""},
		{"[a:b = 1] WITHIN 1 SECONDS REPEATS 2 TIMES WITHIN 2 SECONDS", "duplicate qualifier type WITHIN"},
		{"([a:b = 1] WITHIN 1 SECONDS) WITHIN 2 SECONDS", ""},
		// cti-pattern-validator checks only chains stacked on [...]: a
		// chain on a parenthesized group passes (one of its PASS_CASES),
		// one inside the group does not (one of its FAIL_CASES).
		{"([a:b = 1]) WITHIN 5 SECONDS WITHIN 6 SECONDS", ""},
		{"([a:b = 1] OR [a:c = 2]) REPEATS 2 TIMES REPEATS 3 TIMES", ""},
		{"([a:b = 1] REPEATS 2 TIMES REPEATS 3 TIMES)", "duplicate qualifier type REPEATS"},
		{"[a:b = 1] START t'2016-06-01T01:30:00Z' STOP t'2016-06-01T02:20:00Z' START t'2016-06-01T01:30:00Z' STOP t'2016-06-01T02:20:00Z'", "duplicate qualifier type"},
		{"[a:b = 1] WITHIN 0 SECONDS", ""},
		{"[a:b = t'2023-02-29T00:00:00Z']", ""},
	}
	for _, tc := range tests {
		err := Validate(tc.in)
		switch {
		case tc.contains == "" && err != nil:
			t.Errorf("%s: %v", tc.in, err)
		case tc.contains != "" && (err == nil || !strings.Contains(err.Error(), tc.contains)):
			t.Errorf("%s: got %v, want an error containing %q", tc.in, err, tc.contains)
		case tc.contains != "" && !errors.Is(err, ErrInvalid):
			t.Errorf("%s: error does not wrap ErrInvalid", tc.in)
		}
	}
}

func TestPrintBuiltTree(t *testing.T) {
	// Trees built by hand get the parentheses their structure needs.
	leaf := func(k string) ObservationExpr {
		return &Simple{Comparison: &Comparison{Path: ObjectPath{ObjectType: "a", Steps: []PathStep{{Kind: StepKey, Key: k}}},
			Op: OpEqual, Value: Literal{Kind: LitString, Str: "it's"}}}
	}
	tree := &ObservationOp{Op: ObsAnd, Left: &ObservationOp{Op: ObsOr, Left: leaf("b"), Right: leaf("c")},
		Right: &Qualified{Expr: &ObservationOp{Op: ObsFollowedBy, Left: leaf("d"), Right: leaf("e-f")},
			Qualifier: Qualifier{Kind: QualRepeats, Times: Literal{Kind: LitInt, Int: 2}}}}
	want := `([a:b = 'it\'s'] OR [a:c = 'it\'s']) AND ([a:d = 'it\'s'] FOLLOWEDBY [a:'e-f' = 'it\'s']) REPEATS 2 TIMES`
	if got := (&Pattern{Root: tree}).String(); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if _, err := Parse(want); err != nil {
		t.Fatal(err)
	}
}

func TestRegexTranslation(t *testing.T) {
	tests := []struct {
		re, s string
		want  bool
	}{
		{`^\d+$`, "١٢٣", true}, // Python's \d is Unicode-aware for text
		{`^\w+$`, "héllo", true},
		{`^\s$`, "\v", true},
		{`^a$`, "a\n", true}, // Python's $ matches before a final newline
		{`^a\Z`, "a\n", false},
		{`^\u00e9$`, "é", true},
		{`^a{,2}$`, "aa", true},
		{`[\d]`, "٣", true},
		{`^\é$`, "é", true},
		{`^\xd4\xc3`, "\u00d4\u00c3", true},
	}
	for _, tc := range tests {
		re, err := compileRegex(tc.re, false)
		if err != nil {
			t.Errorf("%s: %v", tc.re, err)
			continue
		}
		if got := re.MatchString(tc.s); got != tc.want {
			t.Errorf("%s on %q: %v, want %v", tc.re, tc.s, got, tc.want)
		}
	}
	for _, bad := range []string{`(?=a)`, `(a)\1`, `a*+`, `(?P=n)`} {
		if _, err := compileRegex(bad, false); !errors.Is(err, ErrUnsupportedRegex) {
			t.Errorf("%s: got %v, want ErrUnsupportedRegex", bad, err)
		}
	}
}

func TestTimestampsAndAddresses(t *testing.T) {
	for _, s := range []string{"2020-01-01T00:00:00Z", "2020-1-1T0:0:0Z", "2024-02-29T23:59:59.1234567Z"} {
		if _, err := parseTimestamp(s); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	for _, s := range []string{"2020-01-01t00:00:00Z", "2023-02-29T00:00:00Z", "2020-01-01T00:00:60Z", "2020-01-01T00:00:00", "0000-01-01T00:00:00Z", "2020-01-01 00:00:00Z"} {
		if _, err := parseTimestamp(s); err == nil {
			t.Errorf("%s: accepted", s)
		}
	}
	ips := map[string]uint32{"1.2.3.4": 0x01020304, "10.7": 0x0a000007, "0x7f.1": 0x7f000001, "010.0.0.1": 0x08000001, "3232235777": 0xc0a80101}
	for s, want := range ips {
		if got, ok := parseIPv4(s); !ok || got != want {
			t.Errorf("%s: %x %v, want %x", s, got, ok, want)
		}
	}
	for _, s := range []string{"", "1.2.3.4.5", "256.1.1.1", "1.2.3.256", "a.b.c.d", "1..2", "08.1.1.1"} {
		if _, ok := parseIPv4(s); ok {
			t.Errorf("%s: accepted", s)
		}
	}
	if b, err := lenientBase64("YW xp\nY2U="); err != nil || string(b) != "alice" {
		t.Errorf("lenient base64: %q %v", b, err)
	}
	if _, err := lenientBase64("YWxpY2U"); err == nil {
		t.Error("missing padding accepted")
	}
}
