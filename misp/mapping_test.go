package misp

import (
	"encoding/json"
	"os"
	"sort"
	"strings"
	"testing"
)

// mispStixDoc is one entry of misp-stix's documented mapping
// (testdata/misp_*_to_stix21.json): a MISP attribute or object and the
// STIX objects misp-stix makes of it.
type mispStixDoc struct {
	MISP json.RawMessage   `json:"MISP"`
	STIX []json.RawMessage `json:"STIX"`
}

func loadDoc(t *testing.T, name string) map[string]mispStixDoc {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]struct {
		MISP json.RawMessage `json:"MISP"`
		STIX json.RawMessage `json:"STIX"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	out := map[string]mispStixDoc{}
	for k, v := range raw {
		d := mispStixDoc{MISP: v.MISP}
		if len(v.STIX) > 0 && v.STIX[0] == '{' {
			d.STIX = []json.RawMessage{v.STIX}
		} else if err := json.Unmarshal(v.STIX, &d.STIX); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		out[k] = d
	}
	return out
}

// stixOf returns the first STIX object of the given type in a doc entry.
func (d mispStixDoc) first(typ string) map[string]any {
	for _, r := range d.STIX {
		var m map[string]any
		if json.Unmarshal(r, &m) == nil && m["type"] == typ {
			return m
		}
	}
	return nil
}

func keys[V any](m map[string]V) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	sort.Strings(k)
	return k
}

func event(attrs []Attribute, objs []Object) *Event {
	return &Event{UUID: "a6ef17d6-91cb-4a05-b10b-2f045daf874c", Info: "test", Timestamp: 1603642920,
		Orgc: Org{UUID: "a0c22599-9e58-4da4-96ac-7051603fa951", Name: "MISP"}, Attribute: attrs, Object: objs}
}

func objectsByType(t *testing.T, res *Result) map[string][]map[string]any {
	t.Helper()
	out := map[string][]map[string]any{}
	for _, r := range res.Objects {
		var m map[string]any
		if err := json.Unmarshal(r, &m); err != nil {
			t.Fatal(err)
		}
		out[m["type"].(string)] = append(out[m["type"].(string)], m)
	}
	return out
}

// deviations are the patterns where Parley differs from misp-stix on
// purpose: integer properties compare with integers (misp-stix quotes
// them, which the STIX matcher does not equate with the integer);
// a host and port make one network-traffic (misp-stix ANDs two object
// types, which STIX forbids in one comparison expression); header fields
// keep their header names; a malware sample's payload is not in the feed;
// a registry value without its name is a custom property, and hives
// are spelled out (STIX wants HKEY_LOCAL_MACHINE, not HKLM); rules in other
// languages are not wrapped in brackets.
var deviations = map[string]string{
	"AS":               "[autonomous-system:number = 174]",
	"port":             "[network-traffic:dst_port = 8443]",
	"size-in-bytes":    "[file:size = 1234]",
	"hostname|port":    "[(network-traffic:dst_ref.type = 'domain-name' AND network-traffic:dst_ref.value = 'circl.lu') AND network-traffic:dst_port = 8443]",
	"ip-dst|port":      "[(network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '5.6.7.8') AND network-traffic:dst_port = 5678]",
	"ip-src|port":      "[(network-traffic:src_ref.type = 'ipv4-addr' AND network-traffic:src_ref.value = '1.2.3.4') AND network-traffic:src_port = 1234]",
	"email-reply-to":   "[email-message:additional_header_fields.'Reply-To' = 'reply-to@email.test']",
	"email-x-mailer":   "[email-message:additional_header_fields.'X-Mailer' = 'Email X-Mailer test']",
	"email-attachment": "[email-message:x_misp_attachment = 'email_attachment.test']",
	"attachment":       "[file:name = 'attachment.test']",
	"malware-sample":   "[file:name = 'oui' AND file:hashes.MD5 = '8764605c6f388c89096b534d33565802']",
	"regkey":           `[windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\Software\\mthjk']`,
	"regkey|value":     `[windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\Software\\mthjk' AND windows-registry-key:x_misp_value = '%DATA%\\1234567890']`,
}

// unsupportedTypes have no mapping yet: they must be reported.
var unsupportedTypes = map[string]bool{"email-header": true, "http-method": true}

// TestAttributesAgainstMispStix converts every attribute of misp-stix's
// documented mapping, as an indicator (to_ids) and as observed-data, and
// compares with what misp-stix makes of it.
func TestAttributesAgainstMispStix(t *testing.T) {
	doc := loadDoc(t, "misp_attributes_to_stix21.json")
	for _, typ := range keys(doc) {
		t.Run(strings.ReplaceAll(typ, "/", "_"), func(t *testing.T) {
			d := doc[typ]
			var a Attribute
			if err := json.Unmarshal(d.MISP, &a); err != nil {
				t.Fatal(err)
			}
			a.ToIDs = true
			res := NewConverter(Options{}).Convert(event([]Attribute{a}, nil))
			got := objectsByType(t, res)
			if unsupportedTypes[typ] {
				if len(res.Unsupported) != 1 || res.Unsupported[0].UUID != a.UUID || res.Unsupported[0].Name != typ {
					t.Fatalf("unsupported = %v, want this attribute listed", res.Unsupported)
				}
				return
			}
			if len(res.Unsupported) > 0 {
				t.Fatalf("unsupported: %v", res.Unsupported)
			}
			want := d.first("indicator")
			switch {
			case typ == "vulnerability" || typ == "campaign-name":
				stype := map[string]string{"vulnerability": "vulnerability", "campaign-name": "campaign"}[typ]
				if len(got[stype]) != 1 || got[stype][0]["id"] != stype+"--"+a.UUID || got[stype][0]["name"] != a.Value {
					t.Fatalf("got %v, want one %s named %q", got[stype], stype, a.Value)
				}
				return
			case want == nil:
				t.Fatalf("misp-stix makes no indicator of %s", typ)
			}
			if len(got["indicator"]) != 1 {
				t.Fatalf("got %d indicators", len(got["indicator"]))
			}
			ind := got["indicator"][0]
			wantPattern := want["pattern"].(string)
			if p, ok := deviations[typ]; ok {
				wantPattern = p
			}
			if ruleTypes[typ] != "" {
				wantPattern = strings.TrimSuffix(strings.TrimPrefix(wantPattern, "["), "]")
				if ind["pattern_type"] != typ {
					t.Errorf("pattern_type %v", ind["pattern_type"])
				}
			}
			if ind["pattern"] != wantPattern {
				t.Errorf("pattern\n got %s\nwant %s", ind["pattern"], wantPattern)
			}
			for _, k := range []string{"id", "created", "modified", "valid_from", "kill_chain_phases", "labels"} {
				if k == "kill_chain_phases" && ruleTypes[typ] != "" {
					continue
				}
				if g, w := jsonText(ind[k]), jsonText(want[k]); g != w && !(k == "valid_from" && strings.TrimSuffix(g, `.000Z"`) == strings.TrimSuffix(w, `Z"`)) {
					t.Errorf("%s = %s, misp-stix has %s", k, g, w)
				}
			}
			if ind["created_by_ref"] != "identity--a0c22599-9e58-4da4-96ac-7051603fa951" || ind["x_misp_event_uuid"] != "a6ef17d6-91cb-4a05-b10b-2f045daf874c" {
				t.Errorf("provenance: %v %v", ind["created_by_ref"], ind["x_misp_event_uuid"])
			}
			if ruleTypes[typ] != "" || patternOnly[typ] {
				return // no observable form (misp-stix makes none either)
			}
			// The same attribute without to_ids: observed-data and the
			// observables misp-stix makes, with the same ids.
			a.ToIDs = false
			res = NewConverter(Options{}).Convert(event([]Attribute{a}, nil))
			if len(res.Unsupported) > 0 {
				t.Fatalf("observed: unsupported: %v", res.Unsupported)
			}
			got = objectsByType(t, res)
			od := got["observed-data"]
			if len(od) != 1 || od[0]["id"] != "observed-data--"+a.UUID {
				t.Fatalf("observed-data: %v", od)
			}
			wantOD := d.first("observed-data")
			var wantTypes, gotTypes []string
			for _, r := range wantOD["object_refs"].([]any) {
				wantTypes = append(wantTypes, r.(string))
			}
			for _, r := range od[0]["object_refs"].([]any) {
				gotTypes = append(gotTypes, r.(string))
			}
			sort.Strings(wantTypes)
			sort.Strings(gotTypes)
			if typ == "hostname|port" || typ == "email-attachment" || typ == "malware-sample" || typ == "attachment" {
				return // deviations above
			}
			if strings.Join(gotTypes, " ") != strings.Join(wantTypes, " ") {
				t.Errorf("observables %v, misp-stix has %v", gotTypes, wantTypes)
			}
		})
	}
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
