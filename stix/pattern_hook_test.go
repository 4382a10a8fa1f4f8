package stix

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func indicatorWith(t *testing.T, patternType, pattern string) *Object {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "valid", "indicator.json"))
	if err != nil {
		t.Fatal(err)
	}
	o, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	o.Props["pattern_type"] = patternType
	o.Props["pattern"] = pattern
	return o
}

func TestValidatorPatternHook(t *testing.T) {
	var calls []string
	v := &Validator{Patterns: map[string]func(string) error{
		"stix": func(p string) error {
			calls = append(calls, p)
			if strings.Contains(p, "bad") {
				return errors.New("unexpected token bad")
			}
			return nil
		},
		"pdq": func(p string) error {
			if len(p) != 64 {
				return errors.New("a PDQ hash is 64 hex digits")
			}
			return nil
		},
	}}
	// The plugged-in validator replaces the built-in check.
	if err := v.Validate(indicatorWith(t, "stix", "[file:name = 'ok']")); err != nil || len(calls) != 1 {
		t.Errorf("Validate = %v, calls %v", err, calls)
	}
	err := v.Validate(indicatorWith(t, "stix", "[file:name = 'bad']"))
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Property != "pattern" || !strings.Contains(err.Error(), "unexpected token bad") {
		t.Errorf("Validate(bad) = %v", err)
	}
	if err := v.Validate(indicatorWith(t, "pdq", "abc")); err == nil || !strings.Contains(err.Error(), "not a valid pdq pattern") {
		t.Errorf("Validate(pdq short) = %v", err)
	}
	// pattern_type is an open vocabulary: types without a validator pass.
	if err := v.Validate(indicatorWith(t, "yara", "rule x { condition: true }")); err != nil {
		t.Errorf("Validate(yara) = %v", err)
	}
	if err := v.Validate(indicatorWith(t, "x-acme", "anything")); err != nil {
		t.Errorf("Validate(custom pattern type) = %v", err)
	}
	// Without a plugged-in validator the built-in check applies.
	var zero Validator
	if err := zero.Validate(indicatorWith(t, "stix", "not a pattern")); err == nil {
		t.Error("the built-in check accepted a non-pattern")
	}
}

func TestMinimalSTIXPattern(t *testing.T) {
	good := []string{
		"[ipv4-addr:value = '198.51.100.1/32']",
		"([file:name = 'a'] AND [file:name = 'b']) WITHIN 300 SECONDS",
		"[email-message:body_multipart[*].body_raw_ref.name MATCHES '^Final Report.+\\\\.exe$']",
		"[file:name = 'a]b:' ]",
		"[network-traffic:dst_ref.value = 'x' AND network-traffic:dst_port = 80] REPEATS 5 TIMES",
		"[x-acme:list[0] = 1]",
		// misp-stix groups comparisons in parentheses inside one
		// observation; they were taken for comparisons without a path.
		"[(network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '149.13.33.14') AND (network-traffic:dst_ref.type = 'domain-name' AND network-traffic:dst_ref.value = 'circl.lu')]",
		"[(network-traffic:src_ref.type = 'ipv4-addr' AND network-traffic:src_ref.value = '1.2.3.4' AND network-traffic:src_ref.belongs_to_refs[0].number = '1234')]",
		"[(file:name = 'a' OR (file:hashes[*] = 'b'))] FOLLOWEDBY [(x-acme:list[2] = 1)]",
	}
	for _, p := range good {
		if err := minimalSTIXPattern(p); err != nil {
			t.Errorf("minimalSTIXPattern(%q) = %v", p, err)
		}
	}
	bad := []string{"", "file:name = 'a'", "[file:name = 'a'", "[file:name = 'a']]", "[]", "(", "[file:name = 'a]",
		"[file:names[x] = 1]", "[file:name = 'a'] )", "[name = 'x']",
		"[(name = 'x') AND (value = 'y')]", "[(file:name = 'a']", "[(file:names[x] = 1)]"}
	for _, p := range bad {
		if err := minimalSTIXPattern(p); err == nil {
			t.Errorf("minimalSTIXPattern(%q) accepted", p)
		}
	}
}
