package node

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A field config.json does not know is refused with its name and the
// known field it misspells, at every level ("witnesses" entries, the
// "private" object): silently ignored, "witneses" left a node without
// witnesses and "tls-cert" one serving plain HTTP, both without a word.
func TestLoadConfigRefusesUnknownFields(t *testing.T) {
	const w = `{"url": "http://127.0.0.1:1", "key": "w.example+01234567+BAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}`
	for _, tc := range []struct {
		name, config, want string
	}{
		{"witnesses misspelled", `{"origin": "x", "witneses": [` + w + `]}`, `unknown field "witneses" (did you mean "witnesses"?)`},
		{"dash for underscore", `{"origin": "x", "tls-cert": "c.pem"}`, `unknown field "tls-cert" (did you mean "tls_cert"?)`},
		{"in a witness", `{"origin": "x", "witnesses": [{"url": "http://127.0.0.1:1", "kee": "k"}]}`, `in "witnesses[0]" (witness 1): unknown field "kee" (did you mean "key"?)`},
		// Which entry: with several witnesses the operator had to guess.
		{"in the second witness", `{"origin": "x", "witnesses": [` + w + `, {"url": "http://127.0.0.1:2", "key": "k", "cafile": "c.pem"}]}`, `in "witnesses[1]" (witness 2): unknown field "cafile"`},
		{"in private", `{"origin": "x", "private": {"query_budjet": 5}}`, `in "private": unknown field "query_budjet" (did you mean "query_budget"?)`},
		{"nothing close", `{"origin": "x", "colour": "blue"}`, `unknown field "colour"; the fields are those of the Config type`},
		{"trailing data", `{"origin": "x"} {"listen": "0.0.0.0:1"}`, `after the top-level value`},
		{"witness without a key", `{"origin": "x", "witnesses": [{"url": "http://127.0.0.1:1"}]}`, `witness 1 has no key`},
		// public_url prefixes TAXII discovery's api_roots: a wrong one
		// would send every TAXII client elsewhere, without a word.
		{"public_url without a scheme", `{"origin": "x", "public_url": "parley.example"}`, `public_url "parley.example" isn't an http(s) URL with a host`},
		{"public_url not http", `{"origin": "x", "public_url": "ftp://parley.example"}`, `isn't an http(s) URL`},
		{"public_url with a path", `{"origin": "x", "public_url": "https://parley.example/taxii"}`, `has more than a scheme and a host`},
		// A value that doesn't decode names its field; a negative
		// duration was taken for the default without a word.
		{"bad duration", `{"origin": "x", "ready_max_lag": "abc"}`, `field "ready_max_lag": time: invalid duration "abc"`},
		{"duration as a number", `{"origin": "x", "body_read_timeout": 5}`, `field "body_read_timeout"`},
		{"negative duration", `{"origin": "x", "integrator_lease_ttl": "-1s"}`, `field "integrator_lease_ttl": -1s is negative`},
		// A mistyped unit loaded, and the node answered nothing, was never
		// ready, or spun.
		{"timeout below its floor", `{"origin": "x", "read_header_timeout": "10ms"}`, `field "read_header_timeout": 10ms is less than 100ms, the least that works`},
		{"nanoseconds", `{"origin": "x", "body_read_timeout": "30ns"}`, `field "body_read_timeout": 30ns is less than 100ms`},
		{"lease below its floor", `{"origin": "x", "integrator_lease_ttl": "10ms"}`, `field "integrator_lease_ttl": 10ms is less than 1s`},
		{"lag below its floor", `{"origin": "x", "ready_max_lag": "100ms"}`, `field "ready_max_lag": 100ms is less than 1s`},
		{"interval below its floor", `{"origin": "x", "peer_interval": "1ms"}`, `field "peer_interval": 1ms is less than 10ms`},
		{"UI idle timeout below its floor", `{"origin": "x", "ui_idle_timeout": "30s"}`, `field "ui_idle_timeout": 30s is less than 1m0s`},
		{"UI session in nanoseconds", `{"origin": "x", "ui_session_ttl": "8ns"}`, `field "ui_session_ttl": 8ns is less than 1m0s`},
		{"negative UI session", `{"origin": "x", "ui_session_ttl": "-8h"}`, `field "ui_session_ttl": -8h0m0s is negative`},
		{"private interval below its floor", `{"origin": "x", "private": {"refresh_interval": "1us"}}`, `in "private": field "refresh_interval": 1µs is less than 10ms`},
		// A value of the wrong type says what the field holds, not Go's
		// names for it ("Go struct field .Config.listen of type string",
		// "node.Duration", "[]node.WitnessConfig").
		{"string as a number", `{"origin": "x", "listen": 5}`, `field "listen": a number where a string is expected`},
		{"number as a string", `{"origin": "x", "max_content_length": "10"}`, `field "max_content_length": a string where an integer from`},
		{"number out of range", `{"origin": "x", "max_object_size": 1e100}`, `field "max_object_size": 1e100 where an integer from -9223372036854775808 to 9223372036854775807 is expected`},
		{"fraction for an integer", `{"origin": "x", "peer_step": 0.5}`, `field "peer_step": 0.5 where an integer`},
		{"duration as a number, said", `{"origin": "x", "idle_timeout": 5}`, `field "idle_timeout": a number where a duration such as "10s" is expected`},
		{"witnesses not a list", `{"origin": "x", "witnesses": "x"}`, `field "witnesses": a string where a list is expected`},
		{"in a witness, a number", `{"origin": "x", "witnesses": [{"url": 5}]}`, `field "witnesses.url": a number where a string is expected`},
		{"private not an object", `{"origin": "x", "private": "x"}`, `in "private": a string where an object is expected`},
		// A negative limit was taken for the default without a word,
		// and a negative quota other than -1 for no quota.
		{"negative max_content_length", `{"origin": "x", "max_content_length": -1}`, `field "max_content_length": -1 is negative`},
		{"negative max_objects_per_request", `{"origin": "x", "max_objects_per_request": -5}`, `field "max_objects_per_request": -5 is negative`},
		{"negative max_object_size", `{"origin": "x", "max_object_size": -1}`, `field "max_object_size": -1 is negative`},
		{"negative response memory", `{"origin": "x", "response_memory_bytes": -1}`, `field "response_memory_bytes": -1 is negative`},
		{"negative envelope memory", `{"origin": "x", "envelope_memory_bytes": -1}`, `field "envelope_memory_bytes": -1 is negative`},
		{"negative depth", `{"origin": "x", "max_json_depth": -1}`, `field "max_json_depth": -1 is negative`},
		{"negative page sizes", `{"origin": "x", "default_page_size": -1}`, `field "default_page_size": -1 is negative`},
		{"negative max page size", `{"origin": "x", "max_page_size": -1}`, `field "max_page_size": -1 is negative`},
		{"negative peer step", `{"origin": "x", "peer_step": -1}`, `field "peer_step": -1 is negative`},
		{"quota below -1", `{"origin": "x", "member_quota_bytes": -2}`, `field "member_quota_bytes": -2 is negative; -1 means no quota`},
		{"negative in private", `{"origin": "x", "private": {"max_batch": -1}}`, `in "private": field "max_batch": -1 is negative`},
		{"negative duration in private", `{"origin": "x", "private": {"refresh_interval": "-1s"}}`, `in "private": field "refresh_interval": -1s is negative`},
		{"public_url with a query", `{"origin": "x", "public_url": "https://parley.example?x=1"}`, `has more than a scheme and a host`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, ConfigFile), []byte(tc.config), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadConfig(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("LoadConfig(%s) = %v, want an error containing %q", tc.config, err, tc.want)
			}
		})
	}
	// Every known field, "private" with its own, still loads.
	dir := t.TempDir()
	config := `{"origin": "x", "listen": "127.0.0.1:0", "public_url": "https://p.example/", "store": "sqlite",
		"max_object_size": 2048, "member_quota_bytes": -1, "integrator_lease_ttl": "3s",
		"private": {"query_budget": -1, "max_batch": 10, "refresh_interval": "1s"}}`
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxObjectSize != 2048 || c.PublicURL != "https://p.example/" || c.MemberQuotaBytes != -1 {
		t.Fatalf("loaded %+v", c)
	}
	p, err := LoadPrivateConfig(dir)
	if err != nil || p.QueryBudget != -1 {
		t.Fatalf("LoadPrivateConfig = %+v, %v", p, err)
	}
	// Each duration at its floor loads.
	for name, least := range durationFloors {
		config := fmt.Sprintf(`{"origin": "x", %q: %q}`, name, least)
		if name == "refresh_interval" {
			config = fmt.Sprintf(`{"origin": "x", "private": {%q: %q}}`, name, least)
		}
		if err := os.WriteFile(filepath.Join(dir, ConfigFile), []byte(config), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadConfig(dir); err != nil {
			t.Errorf("%s at its floor: %v", name, err)
		}
		if _, err := LoadPrivateConfig(dir); err != nil {
			t.Errorf("%s at its floor: %v", name, err)
		}
	}
}

// An operator who rewrites config.json to add a field (the README's TLS
// fields) and leaves out "origin" gets told what to put back: the log's
// name, from node.pub, not only "origin is empty".
func TestLoadConfigMissingOriginSaysWhatToPutBack(t *testing.T) {
	dir := t.TempDir()
	res, err := Init(t.Context(), dir, Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), []byte(`{"listen": "127.0.0.1:0", "tls_cert": "tls/fullchain.pem", "tls_key": "tls/privkey.pem"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = LoadConfig(dir)
	if want := fmt.Sprintf(`put back "origin": %q`, res.Origin); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("config.json without origin: got %v, want it to say %s", err, want)
	}
	// Without a readable node.pub it still says what origin is.
	if err := os.Remove(filepath.Join(dir, PubKeyFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(dir); err == nil || !strings.Contains(err.Error(), `"origin" is missing or empty: it is the log's name`) {
		t.Errorf("config.json without origin nor node.pub: got %v", err)
	}
}
