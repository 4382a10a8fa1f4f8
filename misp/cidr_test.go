package misp

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/parley-exchange/parley/pattern"
)

// observedAddr is one observation of a connection to addr, with the
// address both as the connection's end and on its own.
func observedAddr(addr string) []byte {
	typ := "ipv4-addr"
	if strings.Contains(addr, ":") {
		typ = "ipv6-addr"
	}
	return fmt.Appendf(nil, `{"type":"bundle","id":"bundle--1f6b3c1e-2a84-4f0e-9d55-2a6a0b9c1f11","objects":[
	{"type":"observed-data","spec_version":"2.1","id":"observed-data--1f6b3c1e-2a84-4f0e-9d55-2a6a0b9c1f12","created":"2026-01-01T00:00:00Z","modified":"2026-01-01T00:00:00Z",
	 "first_observed":"2026-01-01T00:00:00Z","last_observed":"2026-01-01T00:00:00Z","number_observed":1,
	 "object_refs":["network-traffic--1f6b3c1e-2a84-4f0e-9d55-2a6a0b9c1f13","%[1]s--1f6b3c1e-2a84-4f0e-9d55-2a6a0b9c1f14","domain-name--1f6b3c1e-2a84-4f0e-9d55-2a6a0b9c1f15"]},
	{"type":"network-traffic","spec_version":"2.1","id":"network-traffic--1f6b3c1e-2a84-4f0e-9d55-2a6a0b9c1f13","protocols":["tcp"],
	 "src_ref":"%[1]s--1f6b3c1e-2a84-4f0e-9d55-2a6a0b9c1f14","dst_ref":"%[1]s--1f6b3c1e-2a84-4f0e-9d55-2a6a0b9c1f14","src_port":1234,"dst_port":1234},
	{"type":"%[1]s","spec_version":"2.1","id":"%[1]s--1f6b3c1e-2a84-4f0e-9d55-2a6a0b9c1f14","value":%[2]q},
	{"type":"domain-name","spec_version":"2.1","id":"domain-name--1f6b3c1e-2a84-4f0e-9d55-2a6a0b9c1f15","value":"evil.example",
	 "resolves_to_refs":["%[1]s--1f6b3c1e-2a84-4f0e-9d55-2a6a0b9c1f14"]}]}`, typ, addr)
}

// TestCIDRAttributesMatchTheirBlock: an address attribute whose value is
// a CIDR block (MISP takes them in ip-src, ip-dst and their composites)
// becomes an indicator that fires on every address in the block and on
// no other, and goes back to a MISP feed with the block as its value.
// misp-stix writes such a block with "=", which compares strings: no
// observed address ever matched it.
func TestCIDRAttributesMatchTheirBlock(t *testing.T) {
	for _, c := range []struct {
		typ, value, in, out string
	}{
		{"ip-dst", "198.51.100.0/24", "198.51.100.77", "198.51.101.1"},
		{"ip-src", "2001:db8::/32", "2001:db8:1::5", "2001:db9::1"},
		{"ip-dst|port", "198.51.100.0/24|1234", "198.51.100.77", "203.0.113.1"},
		{"domain|ip", "evil.example|10.0.0.0/8", "10.200.3.4", "11.0.0.1"},
		{"ip-dst", "198.51.100.7/32", "198.51.100.7", "198.51.100.8"},
	} {
		t.Run(c.typ+" "+c.value, func(t *testing.T) {
			a := Attribute{UUID: "5d0c3c1e-2a84-4f0e-9d55-2a6a0b9c1f11", Type: c.typ, Category: "Network activity", Value: c.value, ToIDs: true, Timestamp: 1603642920}
			res := NewConverter(Options{}).Convert(event([]Attribute{a}, nil))
			got := objectsByType(t, res)
			if len(res.Unsupported) > 0 || len(got["indicator"]) != 1 {
				t.Fatalf("unsupported %v, indicators %v", res.Unsupported, got["indicator"])
			}
			p := got["indicator"][0]["pattern"].(string)
			if !strings.Contains(p, " ISSUBSET ") {
				t.Errorf("pattern %s compares the block as a string", p)
			}
			for addr, want := range map[string]bool{c.in: true, c.out: false} {
				r, err := pattern.MatchJSON(p, observedAddr(addr))
				if err != nil || r.Matched != want {
					t.Errorf("%s on %s: matched %v, %v; want %v", p, addr, r.Matched, err, want)
				}
			}
			cs, err := patternComparisons(p)
			if err != nil {
				t.Fatalf("back to MISP: %v", err)
			}
			var values []string
			for _, c := range cs {
				values = append(values, c.value)
			}
			if v := strings.Join(values, "|"); v != c.value {
				t.Errorf("back to MISP: values %q, want %q", v, c.value)
			}
		})
	}
	// ISSUBSET of anything but a block has no MISP form.
	if _, err := patternComparisons(`[ipv4-addr:value ISSUBSET '198.51.100.7']`); err == nil {
		t.Error("ISSUBSET of an address was taken for equality")
	}
}

// observedDomain is one observation of the domain name resolving to the
// IPv4 addresses.
func observedDomain(name string, addrs ...string) []byte {
	objs := []string{}
	refs := []string{}
	for i, a := range addrs {
		id := fmt.Sprintf("ipv4-addr--1f6b3c1e-2a84-4f0e-9d55-2a6a0b9c1f%02d", 20+i)
		refs = append(refs, fmt.Sprintf("%q", id))
		objs = append(objs, fmt.Sprintf(`{"type":"ipv4-addr","spec_version":"2.1","id":%q,"value":%q}`, id, a))
	}
	return fmt.Appendf(nil, `{"type":"bundle","id":"bundle--1f6b3c1e-2a84-4f0e-9d55-2a6a0b9c1f11","objects":[
	{"type":"observed-data","spec_version":"2.1","id":"observed-data--1f6b3c1e-2a84-4f0e-9d55-2a6a0b9c1f12","created":"2026-01-01T00:00:00Z","modified":"2026-01-01T00:00:00Z",
	 "first_observed":"2026-01-01T00:00:00Z","last_observed":"2026-01-01T00:00:00Z","number_observed":1,
	 "object_refs":["domain-name--1f6b3c1e-2a84-4f0e-9d55-2a6a0b9c1f15",%[3]s]},
	{"type":"domain-name","spec_version":"2.1","id":"domain-name--1f6b3c1e-2a84-4f0e-9d55-2a6a0b9c1f15","value":%[1]q,"resolves_to_refs":[%[3]s]},
	%[2]s]}`, name, strings.Join(objs, ","), strings.Join(refs, ","))
}

// TestRepeatedRelationPatternMatches: an object that gives a one-value
// property several values (misp-stix's documented "domain-ip with the
// perfect domain & ip matching": two domains, two addresses) makes a
// pattern that matches either domain resolving to the addresses; ANDed,
// the two domains asked one domain-name to hold both values, and the
// indicator never matched. Both domains go back to a MISP feed.
func TestRepeatedRelationPatternMatches(t *testing.T) {
	d := loadDoc(t, "misp_objects_to_stix21.json")["domain-ip with the perfect domain & ip matching"]
	var o Object
	if err := json.Unmarshal(d.MISP, &o); err != nil {
		t.Fatal(err)
	}
	for i := range o.Attribute {
		o.Attribute[i].ToIDs = true
	}
	res := NewConverter(Options{}).Convert(event(nil, []Object{o}))
	got := objectsByType(t, res)
	if len(res.Unsupported) > 0 || len(got["indicator"]) != 1 {
		t.Fatalf("unsupported %v, indicators %v", res.Unsupported, got["indicator"])
	}
	p := got["indicator"][0]["pattern"].(string)
	for _, c := range []struct {
		obs  []byte
		want bool
	}{
		{observedDomain("circl.lu", "149.13.33.14", "185.194.93.14"), true},
		{observedDomain("misp-project.org", "149.13.33.14", "185.194.93.14"), true},
		{observedDomain("other.example", "149.13.33.14", "185.194.93.14"), false},
	} {
		r, err := pattern.MatchJSON(p, c.obs)
		if err != nil || r.Matched != c.want {
			t.Errorf("%s on %s: matched %v, %v; want %v", p, c.obs, r.Matched, err, c.want)
		}
	}
	cs, err := patternComparisons(p)
	if err != nil {
		t.Fatalf("back to MISP: %v", err)
	}
	var values []string
	for _, c := range cs {
		values = append(values, c.value)
	}
	if v := strings.Join(values, " "); v != "misp-project.org circl.lu 149.13.33.14 185.194.93.14" {
		t.Errorf("back to MISP: values %q", v)
	}
}

// TestRepeatedRelationObservedIsReported: an observed-data holds one
// domain-name for the object; a second domain of a domain-ip object
// (misp-stix's "perfect matching" example, without to_ids) cannot be
// written in it, and is reported instead of dropped silently.
func TestRepeatedRelationObservedIsReported(t *testing.T) {
	d := loadDoc(t, "misp_objects_to_stix21.json")["domain-ip with the perfect domain & ip matching"]
	var o Object
	if err := json.Unmarshal(d.MISP, &o); err != nil {
		t.Fatal(err)
	}
	res := NewConverter(Options{}).Convert(event(nil, []Object{o}))
	got := objectsByType(t, res)
	if len(got["observed-data"]) != 1 || len(got["domain-name"]) != 1 || got["domain-name"][0]["value"] != "misp-project.org" {
		t.Fatalf("observed-data %v, domain names %v", got["observed-data"], got["domain-name"])
	}
	if len(res.Unsupported) != 1 || res.Unsupported[0].UUID != o.UUID || !strings.Contains(res.Unsupported[0].Reason, `"circl.lu"`) {
		t.Errorf("unsupported %+v, want the second domain reported", res.Unsupported)
	}
}
