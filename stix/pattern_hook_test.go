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

// TestExtensionPropertyNamedID: OpenCTI's property extension, on every
// object OpenCTI exports, has a property "id" (OpenCTI's internal id), as
// the OASIS schemas allow in extensions (common/properties.json); other
// short or uppercase names are still refused, and the value of "id"
// follows the rules of any custom property.
func TestExtensionPropertyNamedID(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(sharedTestdata, "corpus", "opencti", "stix2-indicator.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v Validator
	o, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Validate(o); err != nil {
		t.Errorf("OpenCTI's indicator: %v", err)
	}
	ext := `"extension-definition--ea279b3e-5c71-4632-ac08-831c66a786ba"`
	for _, tc := range []struct{ from, to, want string }{
		{`"id": "cee1aad9-81a9-4e38-a829-a06b56b29338"`, `"xy": "cee1aad9"`, `.xy" is not a defined property`},
		{`"id": "cee1aad9-81a9-4e38-a829-a06b56b29338"`, `"ID": "cee1aad9"`, `.ID" is not a defined property`},
		{`"id": "cee1aad9-81a9-4e38-a829-a06b56b29338"`, `"id": []`, `.id" must not be an empty list`},
		{`"id": "cee1aad9-81a9-4e38-a829-a06b56b29338"`, `"id": null`, `.id" must not be null`},
	} {
		changed := strings.Replace(string(raw), tc.from, tc.to, 1)
		if !strings.Contains(changed, ext) || changed == string(raw) {
			t.Fatalf("the test object changed: %s", tc.from)
		}
		o, err := Parse([]byte(changed))
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Validate(o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("with %s: %v; want %q", tc.to, err, tc.want)
		}
	}
	// At the top level "id" is the object's id, and a custom extension of
	// an observable (STIX 2.0 style) has no schema that defines "id".
	d, err := Parse([]byte(`{"type":"domain-name","spec_version":"2.1","id":"domain-name--4f2ea360-1460-5a03-afb8-4cbce15a9cf0","value":"circl.lu","extensions":{"x-acme-ext":{"id":"1"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Validate(d); err == nil || !strings.Contains(err.Error(), `x-acme-ext.id" is not a defined property`) {
		t.Errorf("id in a custom -ext extension: %v", err)
	}
}
