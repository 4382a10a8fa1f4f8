package stix

import (
	"bytes"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
)

// Object categories of STIX 2.1.
const (
	kindSDO    = iota // domain objects: common SDO properties
	kindSRO           // relationship objects: the same common properties
	kindSCO           // cyber-observables: id, optional spec_version, no created/modified
	kindMeta          // language-content, extension-definition: SDO-like
	kindMarkng        // marking-definition: no modified
)

type objectSpec struct {
	kind int
	typeSpec
}

// sdoTypes lists the STIX 2.1 domain object types (section 4).
var sdoTypes = []string{
	"attack-pattern", "campaign", "course-of-action", "grouping", "identity", "incident",
	"indicator", "infrastructure", "intrusion-set", "location", "malware", "malware-analysis",
	"note", "observed-data", "opinion", "report", "threat-actor", "tool", "vulnerability",
}

// scoTypes lists the STIX 2.1 cyber-observable object types (section 6).
var scoTypes = []string{
	"artifact", "autonomous-system", "directory", "domain-name", "email-addr", "email-message",
	"file", "ipv4-addr", "ipv6-addr", "mac-addr", "mutex", "network-traffic", "process",
	"software", "url", "user-account", "windows-registry-key", "x509-certificate",
}

func isSCOType(t string) bool {
	if s, ok := specs[t]; ok {
		return s.kind == kindSCO
	}
	return !isReservedType(t) // a custom type could be an observable
}

func isSDOType(t string) bool {
	if s, ok := specs[t]; ok {
		return s.kind == kindSDO
	}
	return !isReservedType(t)
}

// isReservedType reports the non-object types and the types of section 4
// to 8 that are not SDOs or SCOs.
func isReservedType(t string) bool {
	switch t {
	case "bundle", "relationship", "sighting", "marking-definition", "language-content", "extension-definition":
		return true
	}
	return false
}

// Shared nested types (section 2).
var (
	externalReference = &typeSpec{
		props: map[string]check{
			"source_name": nonEmpty,
			"description": isString,
			"url":         uri,
			"hashes":      hashes,
			"external_id": isString,
		},
		required: []string{"source_name"},
		rules:    []func(*checker, string, map[string]any) error{externalReferenceRule},
	}
	killChainPhase = &typeSpec{
		props:    map[string]check{"kill_chain_name": nonEmpty, "phase_name": nonEmpty},
		required: []string{"kill_chain_name", "phase_name"},
	}
	granularMarking = &typeSpec{
		props: map[string]check{
			"selectors":   list(selector),
			"lang":        languageTag,
			"marking_ref": ref("marking-definition"),
		},
		required: []string{"selectors"},
		rules: []func(*checker, string, map[string]any) error{
			excludes("marking_ref", "lang"),
			func(c *checker, path string, m map[string]any) error {
				_, a := m["marking_ref"]
				_, b := m["lang"]
				if !a && !b {
					return c.fail(path, "must have a marking_ref or a lang")
				}
				return nil
			},
		},
	}
	killChainPhases = list(sub(killChainPhase))
)

// externalReferenceRule applies section 2.5: an external reference needs
// a description, url or external_id; CVE and CAPEC references need their
// ids in the right form.
func externalReferenceRule(c *checker, path string, m map[string]any) error {
	_, d := m["description"]
	_, u := m["url"]
	_, e := m["external_id"]
	if !d && !u && !e {
		return c.fail(path, "must have at least one of description, url or external_id")
	}
	src, _ := m["source_name"].(string)
	id, _ := m["external_id"].(string)
	switch src {
	case "cve":
		if !e || !isCVE(id) {
			return c.fail(join(path, "external_id"), "must be a CVE id such as CVE-2016-0001 when source_name is \"cve\"")
		}
	case "capec":
		if !e || !strings.HasPrefix(id, "CAPEC-") || len(id) == 6 || strings.Trim(id[6:], "0123456789") != "" {
			return c.fail(join(path, "external_id"), "must be a CAPEC id such as CAPEC-163 when source_name is \"capec\"")
		}
	}
	return nil
}

func isCVE(s string) bool {
	// CVE-YYYY-NNNN with at least four digits; leading zero only in the 4-digit form.
	if len(s) < 13 || !strings.HasPrefix(s, "CVE-") || s[8] != '-' {
		return false
	}
	year, num := s[4:8], s[9:]
	if strings.Trim(year, "0123456789") != "" || strings.Trim(num, "0123456789") != "" {
		return false
	}
	return len(num) == 4 || num[0] != '0'
}

// selector checks a granular-marking selector's syntax (section 7.2.3).
func selector(c *checker, path string, v any) error {
	s, ok := v.(string)
	if !ok {
		return c.fail(path, "must be a string, not %s", jsonKind(v))
	}
	if s == "" || strings.HasPrefix(s, ".") || strings.HasSuffix(s, ".") || strings.Contains(s, "..") {
		return c.fail(path, "is not a valid selector: %q", s)
	}
	return nil
}

// commonSDO are the common properties of SDOs, SROs, language-content and
// extension-definition (section 3.2).
var commonSDO = map[string]check{
	"type":                isString,
	"spec_version":        isString,
	"id":                  isString,
	"created_by_ref":      ref("identity"),
	"created":             timestampMillis,
	"modified":            timestampMillis,
	"revoked":             isBool,
	"labels":              stringList,
	"confidence":          integer(bound(0), bound(100)),
	"lang":                languageTag,
	"external_references": list(sub(externalReference)),
	"object_marking_refs": refList("marking-definition"),
	"granular_markings":   list(sub(granularMarking)),
	"extensions":          isExtensions,
}

// commonSCO are the common properties of cyber-observables (section 3.2
// and 6.1).
var commonSCO = map[string]check{
	"type":                isString,
	"spec_version":        isString,
	"id":                  isString,
	"object_marking_refs": refList("marking-definition"),
	"granular_markings":   list(sub(granularMarking)),
	"defanged":            isBool,
	"extensions":          isExtensions,
}

// isExtensions is checked in detail by checker.extensions, which knows
// the object's type; here only the shape.
func isExtensions(c *checker, path string, v any) error {
	if _, ok := v.(map[string]any); !ok {
		return c.fail(path, "must be a dictionary of extensions, not %s", jsonKind(v))
	}
	return nil
}

func with(base map[string]check, extra map[string]check) map[string]check {
	m := make(map[string]check, len(base)+len(extra))
	for k, v := range base {
		m[k] = v
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func sdo(props map[string]check, required ...string) *objectSpec {
	return &objectSpec{kind: kindSDO, typeSpec: typeSpec{props: with(commonSDO, props), required: required}}
}

func sco(props map[string]check, required ...string) *objectSpec {
	return &objectSpec{kind: kindSCO, typeSpec: typeSpec{props: with(commonSCO, props), required: required}}
}

func (s *objectSpec) rule(r ...func(*checker, string, map[string]any) error) *objectSpec {
	s.rules = append(s.rules, r...)
	return s
}

// specs holds every object type of STIX 2.1, built in init because the
// table refers to functions that consult it.
var specs map[string]*objectSpec

func init() {
	specs = map[string]*objectSpec{
		// Section 4: STIX Domain Objects.
		"attack-pattern": sdo(map[string]check{
			"name": nonEmpty, "description": isString, "aliases": stringList,
			"kill_chain_phases": killChainPhases,
		}, "name"),
		"campaign": sdo(map[string]check{
			"name": nonEmpty, "description": isString, "aliases": stringList,
			"first_seen": timestamp, "last_seen": timestamp, "objective": isString,
		}, "name").rule(before("first_seen", "last_seen", false)),
		"course-of-action": sdo(map[string]check{
			"name": nonEmpty, "description": isString,
		}, "name"),
		"grouping": sdo(map[string]check{
			"name": isString, "description": isString, "context": vocab,
			"object_refs": refList(),
		}, "context", "object_refs"),
		"identity": sdo(map[string]check{
			"name": nonEmpty, "description": isString, "roles": stringList,
			"identity_class": vocab, "sectors": vocabList, "contact_information": isString,
		}, "name"),
		"incident": sdo(map[string]check{
			"name": nonEmpty, "description": isString, "kill_chain_phases": killChainPhases,
		}, "name"),
		"indicator": sdo(map[string]check{
			"name": isString, "description": isString, "indicator_types": vocabList,
			"pattern": nonEmpty, "pattern_type": vocab, "pattern_version": isString,
			"valid_from": timestamp, "valid_until": timestamp, "kill_chain_phases": killChainPhases,
		}, "pattern", "pattern_type", "valid_from").rule(before("valid_from", "valid_until", true), indicatorPattern),
		"infrastructure": sdo(map[string]check{
			"name": nonEmpty, "description": isString, "infrastructure_types": vocabList,
			"aliases": stringList, "kill_chain_phases": killChainPhases,
			"first_seen": timestamp, "last_seen": timestamp,
		}, "name").rule(before("first_seen", "last_seen", false)),
		"intrusion-set": sdo(map[string]check{
			"name": nonEmpty, "description": isString, "aliases": stringList,
			"first_seen": timestamp, "last_seen": timestamp, "goals": stringList,
			"resource_level": vocab, "primary_motivation": vocab, "secondary_motivations": vocabList,
		}, "name").rule(before("first_seen", "last_seen", false)),
		"location": sdo(map[string]check{
			"name": isString, "description": isString,
			"latitude": number(-90, 90), "longitude": number(-180, 180), "precision": number(0, 1e308),
			"region": vocab, "country": nonEmpty, "administrative_area": isString, "city": isString,
			"street_address": isString, "postal_code": isString,
		}).rule(locationRule, requires("latitude", "longitude"), requires("longitude", "latitude"), requires("precision", "latitude")),
		"malware": sdo(map[string]check{
			"name": nonEmpty, "description": isString, "malware_types": vocabList, "is_family": isBool,
			"aliases": stringList, "kill_chain_phases": killChainPhases,
			"first_seen": timestamp, "last_seen": timestamp,
			"operating_system_refs": refList("software"), "architecture_execution_envs": vocabList,
			"implementation_languages": vocabList, "capabilities": vocabList,
			"sample_refs": refList("file", "artifact"),
		}, "is_family").rule(before("first_seen", "last_seen", false), func(c *checker, path string, m map[string]any) error {
			if m["is_family"] == true {
				if _, ok := m["name"]; !ok {
					return c.fail("name", "is required when is_family is true")
				}
			}
			return nil
		}),
		"malware-analysis": sdo(map[string]check{
			"product": nonEmpty, "version": isString, "host_vm_ref": ref("software"),
			"operating_system_ref": ref("software"), "installed_software_refs": refList("software"),
			"configuration_version": isString, "modules": stringList,
			"analysis_engine_version": isString, "analysis_definition_version": isString,
			"submitted": timestamp, "analysis_started": timestamp, "analysis_ended": timestamp,
			"result_name": isString, "result": vocab,
			"analysis_sco_refs": refList(classSCO), "sample_ref": ref("file", "network-traffic", "artifact"),
		}, "product").rule(before("analysis_started", "analysis_ended", false), atLeastOne("result", "analysis_sco_refs")),
		"note": sdo(map[string]check{
			"abstract": isString, "content": nonEmpty, "authors": stringList, "object_refs": refList(),
		}, "content", "object_refs"),
		"observed-data": sdo(map[string]check{
			"first_observed": timestamp, "last_observed": timestamp,
			"number_observed": integer(bound(1), bound(999999999)),
			"objects":         observedObjects,
			"object_refs":     refList(classSCO, "relationship", "sighting"),
		}, "first_observed", "last_observed", "number_observed").rule(
			before("first_observed", "last_observed", false),
			excludes("objects", "object_refs"),
			atLeastOne("object_refs", "objects")),
		"opinion": sdo(map[string]check{
			"explanation": isString, "authors": stringList,
			"opinion":     enum(OpinionValues...),
			"object_refs": refList(),
		}, "opinion", "object_refs"),
		"report": sdo(map[string]check{
			"name": nonEmpty, "description": isString, "report_types": vocabList,
			"published": timestamp, "object_refs": refList(),
		}, "name", "published", "object_refs"),
		"threat-actor": sdo(map[string]check{
			"name": nonEmpty, "description": isString, "threat_actor_types": vocabList,
			"aliases": stringList, "first_seen": timestamp, "last_seen": timestamp,
			"roles": vocabList, "goals": stringList, "sophistication": vocab,
			"resource_level": vocab, "primary_motivation": vocab,
			"secondary_motivations": vocabList, "personal_motivations": vocabList,
		}, "name").rule(before("first_seen", "last_seen", false)),
		"tool": sdo(map[string]check{
			"name": nonEmpty, "description": isString, "tool_types": vocabList,
			"aliases": stringList, "kill_chain_phases": killChainPhases, "tool_version": isString,
		}, "name"),
		"vulnerability": sdo(map[string]check{
			"name": nonEmpty, "description": isString,
		}, "name"),

		// Section 5: STIX Relationship Objects.
		"relationship": {kind: kindSRO, typeSpec: typeSpec{props: with(commonSDO, map[string]check{
			"relationship_type": relationshipType, "description": isString,
			"source_ref": notRef("relationship", "sighting", "bundle", "marking-definition", "language-content", "extension-definition"),
			"target_ref": notRef("relationship", "sighting", "bundle", "marking-definition", "language-content", "extension-definition"),
			"start_time": timestamp, "stop_time": timestamp,
		}), required: []string{"relationship_type", "source_ref", "target_ref"},
			rules: []func(*checker, string, map[string]any) error{before("start_time", "stop_time", true)}}},
		"sighting": {kind: kindSRO, typeSpec: typeSpec{props: with(commonSDO, map[string]check{
			"description": isString, "first_seen": timestamp, "last_seen": timestamp,
			"count":              integer(bound(0), bound(999999999)),
			"sighting_of_ref":    ref(classSDO),
			"observed_data_refs": refList("observed-data"),
			"where_sighted_refs": refList("identity", "location"),
			"summary":            isBool,
		}), required: []string{"sighting_of_ref"},
			rules: []func(*checker, string, map[string]any) error{before("first_seen", "last_seen", false)}}},

		// Section 6: STIX Cyber-observable Objects.
		"artifact": sco(map[string]check{
			"mime_type": mimeType, "payload_bin": binary, "url": uri, "hashes": hashes,
			"encryption_algorithm": enum("AES-256-GCM", "ChaCha20-Poly1305", "mime-type-indicated"),
			"decryption_key":       isString,
		}).rule(excludes("payload_bin", "url"), requires("url", "hashes"), requires("decryption_key", "encryption_algorithm")),
		"autonomous-system": sco(map[string]check{
			"number": nonNegative, "name": isString, "rir": isString,
		}, "number"),
		"directory": sco(map[string]check{
			"path": nonEmpty, "path_enc": charset, "ctime": timestamp, "mtime": timestamp, "atime": timestamp,
			"contains_refs": refList("file", "directory"),
		}, "path"),
		"domain-name": sco(map[string]check{
			"value": nonEmpty, "resolves_to_refs": refList("ipv4-addr", "ipv6-addr", "domain-name"),
		}, "value"),
		"email-addr": sco(map[string]check{
			"value": nonEmpty, "display_name": isString, "belongs_to_ref": ref("user-account"),
		}, "value"),
		"email-message": sco(map[string]check{
			"is_multipart": isBool, "date": timestamp, "content_type": isString,
			"from_ref": ref("email-addr"), "sender_ref": ref("email-addr"),
			"to_refs": refList("email-addr"), "cc_refs": refList("email-addr"), "bcc_refs": refList("email-addr"),
			"message_id": isString, "subject": isString, "received_lines": stringList,
			"additional_header_fields": dictionary, "body": isString,
			"body_multipart": list(sub(mimePart)), "raw_email_ref": ref("artifact"),
		}, "is_multipart").rule(func(c *checker, path string, m map[string]any) error {
			if m["is_multipart"] == true {
				if _, ok := m["body"]; ok {
					return c.fail("body", "must not be present when is_multipart is true (use body_multipart)")
				}
			} else if _, ok := m["body_multipart"]; ok {
				return c.fail("body_multipart", "must not be present when is_multipart is false")
			}
			return nil
		}),
		"file": sco(map[string]check{
			"hashes": hashes, "size": nonNegative, "name": isString, "name_enc": charset,
			"magic_number_hex": hexString, "mime_type": mimeType,
			"ctime": timestamp, "mtime": timestamp, "atime": timestamp,
			"parent_directory_ref": ref("directory"), "contains_refs": refList(classSCO),
			"content_ref": ref("artifact"),
		}).rule(atLeastOne("hashes", "name")),
		"ipv4-addr": sco(map[string]check{
			"value": ipAddr(false), "resolves_to_refs": refList("mac-addr"),
			"belongs_to_refs": refList("autonomous-system"),
		}, "value"),
		"ipv6-addr": sco(map[string]check{
			"value": ipAddr(true), "resolves_to_refs": refList("mac-addr"),
			"belongs_to_refs": refList("autonomous-system"),
		}, "value"),
		"mac-addr": sco(map[string]check{"value": macAddr}, "value"),
		"mutex":    sco(map[string]check{"name": nonEmpty}, "name"),
		"network-traffic": sco(map[string]check{
			"start": timestamp, "end": timestamp, "is_active": isBool,
			"src_ref":  ref("ipv4-addr", "ipv6-addr", "mac-addr", "domain-name"),
			"dst_ref":  ref("ipv4-addr", "ipv6-addr", "mac-addr", "domain-name"),
			"src_port": integer(bound(0), bound(65535)), "dst_port": integer(bound(0), bound(65535)),
			"protocols":      list(nonEmpty),
			"src_byte_count": nonNegative, "dst_byte_count": nonNegative,
			"src_packets": nonNegative, "dst_packets": nonNegative,
			"ipfix": dictionary, "src_payload_ref": ref("artifact"), "dst_payload_ref": ref("artifact"),
			"encapsulates_refs": refList("network-traffic"), "encapsulated_by_ref": ref("network-traffic"),
		}, "protocols").rule(atLeastOne("src_ref", "dst_ref"), before("start", "end", false),
			func(c *checker, path string, m map[string]any) error {
				if _, ok := m["end"]; ok && m["is_active"] == true {
					return c.fail("end", "must not be present when is_active is true")
				}
				return nil
			}),
		"process": sco(map[string]check{
			"is_hidden": isBool, "pid": anyInt, "created_time": timestamp, "cwd": isString,
			"command_line": isString, "environment_variables": dictionary,
			"opened_connection_refs": refList("network-traffic"), "creator_user_ref": ref("user-account"),
			"image_ref": ref("file"), "parent_ref": ref("process"), "child_refs": refList("process"),
		}).rule(atLeastOneOther),
		"software": sco(map[string]check{
			"name": nonEmpty, "cpe": cpe, "swid": isString, "languages": list(languageTag),
			"vendor": isString, "version": isString,
		}, "name"),
		"url": sco(map[string]check{"value": uri}, "value"),
		"user-account": sco(map[string]check{
			"user_id": isString, "credential": isString, "account_login": isString,
			"account_type": vocab, "display_name": isString, "is_service_account": isBool,
			"is_privileged": isBool, "can_escalate_privs": isBool, "is_disabled": isBool,
			"account_created": timestamp, "account_expires": timestamp,
			"credential_last_changed": timestamp, "account_first_login": timestamp,
			"account_last_login": timestamp,
		}).rule(atLeastOneOther),
		"windows-registry-key": sco(map[string]check{
			"key": registryKey, "values": list(sub(registryValue)), "modified_time": timestamp,
			"creator_user_ref": ref("user-account"), "number_of_subkeys": nonNegative,
		}).rule(atLeastOneOther),
		"x509-certificate": sco(map[string]check{
			"is_self_signed": isBool, "hashes": hashes, "version": isString,
			"serial_number": isString, "signature_algorithm": isString, "issuer": isString,
			"validity_not_before": timestamp, "validity_not_after": timestamp,
			"subject": isString, "subject_public_key_algorithm": isString,
			"subject_public_key_modulus": isString, "subject_public_key_exponent": nonNegative,
			"x509_v3_extensions": sub(x509Extensions),
		}).rule(atLeastOneOther, before("validity_not_before", "validity_not_after", false)),

		// Section 7 and 8: meta objects.
		"language-content": {kind: kindMeta, typeSpec: typeSpec{props: with(commonSDO, map[string]check{
			"object_ref":      notRef("bundle", "language-content"),
			"object_modified": timestamp,
			"contents":        languageContents,
		}), required: []string{"object_ref", "contents"}}},
		"extension-definition": {kind: kindMeta, typeSpec: typeSpec{props: with(commonSDO, map[string]check{
			"name": nonEmpty, "description": isString, "schema": nonEmpty, "version": nonEmpty,
			"extension_types":      list(enum(extensionTypes...)),
			"extension_properties": list(propertyName),
		}), required: []string{"created_by_ref", "name", "schema", "version", "extension_types"},
			rules: []func(*checker, string, map[string]any) error{func(c *checker, path string, m map[string]any) error {
				if _, ok := m["extension_properties"]; !ok {
					return nil
				}
				types, _ := m["extension_types"].([]any)
				for _, t := range types {
					if t == "toplevel-property-extension" {
						return nil
					}
				}
				return c.fail("extension_properties", "is allowed only with the extension type \"toplevel-property-extension\"")
			}}}},
		"marking-definition": {kind: kindMarkng, typeSpec: typeSpec{props: map[string]check{
			"type": isString, "spec_version": isString, "id": isString,
			"created_by_ref":      ref("identity"),
			"created":             timestamp, // the OASIS schema does not require milliseconds here
			"external_references": list(sub(externalReference)),
			"object_marking_refs": refList("marking-definition"),
			"granular_markings":   list(sub(granularMarking)),
			"extensions":          isExtensions,
			"name":                isString,
			"definition_type":     vocab,
			"definition":          isMap,
		}, required: []string{"created"}, rules: []func(*checker, string, map[string]any) error{markingRule}}},
	}
}

// OpinionValues is the closed opinion-enum of STIX 2.1 section 10.8, in
// order from disagreement to agreement.
var OpinionValues = []string{"strongly-disagree", "disagree", "neutral", "agree", "strongly-agree"}

// extensionTypes is the extension-type-enum of section 10.6.
var extensionTypes = []string{"new-sdo", "new-sco", "new-sro", "property-extension", "toplevel-property-extension"}

func isMap(c *checker, path string, v any) error {
	if _, ok := v.(map[string]any); !ok {
		return c.fail(path, "must be a JSON object, not %s", jsonKind(v))
	}
	return nil
}

func atLeastOne(names ...string) func(*checker, string, map[string]any) error {
	return func(c *checker, path string, m map[string]any) error {
		for _, n := range names {
			if _, ok := m[n]; ok {
				return nil
			}
		}
		return c.fail(path, "must have at least one of the properties %s", quoteList(names))
	}
}

// atLeastOneOther: some observables "MUST contain at least one property
// (other than type) from this object (or one of its extensions)".
func atLeastOneOther(c *checker, path string, m map[string]any) error {
	for k := range m {
		switch k {
		case "type", "id", "spec_version", "object_marking_refs", "granular_markings", "defanged":
			continue
		}
		return nil
	}
	return c.fail(path, "must have at least one property of its type or an extension besides the common properties")
}

func propertyName(c *checker, path string, v any) error {
	s, ok := v.(string)
	if !ok {
		return c.fail(path, "must be a string, not %s", jsonKind(v))
	}
	if !validPropertyName(s) {
		return c.fail(path, "must be a valid property name (3 to 250 characters of a-z, 0-9 and '_'), not %q", s)
	}
	return nil
}

// relationshipType: lowercase letters, digits and hyphens (section 5.1).
func relationshipType(c *checker, path string, v any) error {
	s, ok := v.(string)
	if !ok {
		return c.fail(path, "must be a string, not %s", jsonKind(v))
	}
	if len(s) < 3 || len(s) > 250 || strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
		return c.fail(path, "must be 3 to 250 characters of a-z, 0-9 and '-', not %q", s)
	}
	return nil
}

// mimeType checks an IANA media type ("type/subtype").
func mimeType(c *checker, path string, v any) error {
	s, ok := v.(string)
	if !ok {
		return c.fail(path, "must be a string, not %s", jsonKind(v))
	}
	typ, subtype, ok := strings.Cut(s, "/")
	switch typ {
	case "application", "audio", "font", "example", "image", "message", "model", "multipart", "text", "video":
	default:
		ok = false
	}
	if !ok || subtype == "" {
		return c.fail(path, "must be an IANA media type such as application/pdf, not %q", s)
	}
	return nil
}

// charset checks an IANA character set name (path_enc, name_enc).
func charset(c *checker, path string, v any) error {
	s, ok := v.(string)
	if !ok {
		return c.fail(path, "must be a string, not %s", jsonKind(v))
	}
	if len(s) < 2 || len(s) > 250 || strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/.+_:-") != "" {
		return c.fail(path, "must be an IANA character set name such as ISO-8859-1, not %q", s)
	}
	return nil
}

// ipAddr checks an IPv4 or IPv6 address or CIDR block (section 6.8/6.9).
func ipAddr(v6 bool) check {
	return func(c *checker, path string, v any) error {
		s, ok := v.(string)
		if !ok {
			return c.fail(path, "must be a string, not %s", jsonKind(v))
		}
		var ok2 bool
		if strings.Contains(s, "/") {
			p, err := netip.ParsePrefix(s)
			ok2 = err == nil && p.Addr().Is6() == v6 && !p.Addr().Is4In6()
		} else {
			a, err := netip.ParseAddr(s)
			ok2 = err == nil && a.Is6() == v6 && a.Zone() == ""
		}
		if !ok2 {
			kind := "IPv4"
			if v6 {
				kind = "IPv6"
			}
			return c.fail(path, "must be an %s address or CIDR block, not %q", kind, s)
		}
		return nil
	}
}

// macAddr checks a MAC address: lowercase, colon-delimited (section 6.10).
func macAddr(c *checker, path string, v any) error {
	s, ok := v.(string)
	if !ok {
		return c.fail(path, "must be a string, not %s", jsonKind(v))
	}
	good := len(s) == 17
	for i := 0; good && i < 17; i++ {
		if i%3 == 2 {
			good = s[i] == ':'
		} else {
			good = s[i] >= '0' && s[i] <= '9' || s[i] >= 'a' && s[i] <= 'f'
		}
	}
	if !good {
		return c.fail(path, "must be a lowercase colon-delimited MAC address such as d2:fb:49:24:37:18, not %q", s)
	}
	return nil
}

var mimePart = &typeSpec{
	props: map[string]check{
		"body": isString, "body_raw_ref": ref("artifact", "file"),
		"content_type": isString, "content_disposition": isString,
	},
	rules: []func(*checker, string, map[string]any) error{excludes("body", "body_raw_ref"), atLeastOne("body", "body_raw_ref")},
}

// registryDataTypes is windows-registry-datatype-enum (section 10.16).
var registryDataTypes = []string{
	"REG_NONE", "REG_SZ", "REG_EXPAND_SZ", "REG_BINARY", "REG_DWORD", "REG_DWORD_BIG_ENDIAN",
	"REG_DWORD_LITTLE_ENDIAN", "REG_LINK", "REG_MULTI_SZ", "REG_RESOURCE_LIST",
	"REG_FULL_RESOURCE_DESCRIPTION", "REG_RESOURCE_REQUIREMENTS_LIST", "REG_QWORD", "REG_INVALID_TYPE",
}

var registryValue = &typeSpec{
	props: map[string]check{"name": isString, "data": isString, "data_type": enum(registryDataTypes...)},
}

var x509Extensions = &typeSpec{props: map[string]check{
	"basic_constraints": isString, "name_constraints": isString, "policy_constraints": isString,
	"key_usage": isString, "extended_key_usage": isString, "subject_key_identifier": isString,
	"authority_key_identifier": isString, "subject_alternative_name": isString,
	"issuer_alternative_name": isString, "subject_directory_attributes": isString,
	"crl_distribution_points": isString, "inhibit_any_policy": isString,
	"private_key_usage_period_not_before": timestamp, "private_key_usage_period_not_after": timestamp,
	"certificate_policies": isString, "policy_mappings": isString,
}}

// languageContents: a dictionary from language tags to dictionaries of
// translated properties (section 7.1).
func languageContents(c *checker, path string, v any) error {
	m, ok := v.(map[string]any)
	if !ok {
		return c.fail(path, "must be a dictionary of languages, not %s", jsonKind(v))
	}
	if len(m) == 0 {
		return c.fail(path, "must not be an empty dictionary")
	}
	for _, lang := range sortedKeys(m) {
		if err := dictionary(c, join(path, lang), m[lang]); err != nil {
			return err
		}
	}
	return nil
}

// observedObjects checks the deprecated observed-data "objects"
// dictionary of embedded observables (section 4.13): each value is a
// cyber-observable without an id whose references are keys of the same
// dictionary. Known types are checked like top-level observables.
func observedObjects(c *checker, path string, v any) error {
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		return c.fail(path, "must be a non-empty dictionary of cyber-observables")
	}
	if c.embedded != nil {
		return c.fail(path, "must not be nested")
	}
	c.embedded = m
	defer func() { c.embedded = nil }()
	for _, k := range sortedKeys(m) {
		p := join(path, k)
		o, ok := m[k].(map[string]any)
		if !ok {
			return c.fail(p, "must be a cyber-observable object, not %s", jsonKind(m[k]))
		}
		t, _ := o["type"].(string)
		if !validTypeName(t) {
			return c.fail(p+".type", "must be a cyber-observable type name")
		}
		spec, known := specs[t]
		if known && spec.kind != kindSCO {
			return c.fail(p+".type", "must be a cyber-observable type, not %q", t)
		}
		if !known {
			spec = &objectSpec{kind: kindSCO, typeSpec: typeSpec{props: commonSCO}}
		}
		if err := c.props(p, o, &spec.typeSpec); err != nil {
			return err
		}
		if ext, ok := o["extensions"].(map[string]any); ok {
			if err := c.extensions(p, t, kindSCO, ext); err != nil {
				return err
			}
		}
	}
	return nil
}

// locationRule: a location needs a region, a country or coordinates.
func locationRule(c *checker, path string, m map[string]any) error {
	_, r := m["region"]
	_, co := m["country"]
	_, lat := m["latitude"]
	_, lon := m["longitude"]
	if !r && !co && !(lat && lon) {
		return c.fail(path, "must have a region, a country, or latitude and longitude")
	}
	return nil
}

// indicatorPattern validates the pattern through the Validator's hook for
// its pattern_type.
func indicatorPattern(c *checker, path string, m map[string]any) error {
	p, _ := m["pattern"].(string)
	pt, _ := m["pattern_type"].(string)
	if f, ok := c.v.Patterns[pt]; ok && f != nil {
		if err := f(p); err != nil {
			return c.fail("pattern", "is not a valid %s pattern: %v", pt, err)
		}
		return nil
	}
	if pt == "stix" {
		if err := minimalSTIXPattern(p); err != nil {
			return c.fail("pattern", "is not a valid stix pattern: %v", err)
		}
	}
	return nil
}

// minimalSTIXPattern rejects what is clearly not a STIX pattern: every
// pattern is made of bracketed comparison expressions "[type:path op
// value]", so brackets and parentheses must balance outside string
// literals, and every bracket must hold an object path with a colon. The
// real grammar is in package pattern, which the node plugs into
// [Validator.Patterns].
func minimalSTIXPattern(p string) error {
	s := strings.TrimSpace(p)
	if s == "" || s[0] != '[' && s[0] != '(' {
		return fmt.Errorf("a pattern starts with '[' or '('")
	}
	var stack []byte
	var inBracket strings.Builder
	observations := 0
	// inObservation reports whether an observation's bracket is open:
	// comparisons may be grouped in parentheses inside it, as misp-stix
	// writes [(network-traffic:dst_ref.type = 'ipv4-addr' AND ...) AND
	// (...)], and a "[" there is a list index, not another observation.
	inObservation := func() bool { return bytes.IndexByte(stack, '[') >= 0 }
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch == '\'' {
			// A string literal; backslash escapes the next character.
			j := i + 1
			for ; j < len(s) && s[j] != '\''; j++ {
				if s[j] == '\\' {
					j++
				}
			}
			if j >= len(s) {
				return fmt.Errorf("unterminated string literal")
			}
			if inObservation() {
				inBracket.WriteString("''")
			}
			i = j
			continue
		}
		switch ch {
		case '[':
			if inObservation() {
				// A list index in an object path: [*] or [N].
				j := strings.IndexByte(s[i:], ']')
				if j < 0 {
					return fmt.Errorf("unterminated list index at offset %d", i)
				}
				if idx := s[i+1 : i+j]; idx != "*" && (idx == "" || strings.Trim(idx, "0123456789") != "") {
					return fmt.Errorf("invalid list index %q at offset %d", idx, i)
				}
				inBracket.WriteString(s[i : i+j+1])
				i += j
				continue
			}
			stack = append(stack, ch)
			inBracket.Reset()
			continue
		case '(':
			stack = append(stack, ch)
		case ']', ')':
			open := byte('[')
			if ch == ')' {
				open = '('
			}
			if len(stack) == 0 || stack[len(stack)-1] != open {
				return fmt.Errorf("unbalanced %q at offset %d", ch, i)
			}
			stack = stack[:len(stack)-1]
			if ch == ']' {
				if !strings.Contains(inBracket.String(), ":") {
					return fmt.Errorf("a comparison expression needs an object path such as file:name")
				}
				observations++
			}
			continue
		}
		if inObservation() {
			inBracket.WriteByte(ch)
		}
	}
	if len(stack) > 0 {
		return fmt.Errorf("unbalanced %q", stack[len(stack)-1])
	}
	if observations == 0 {
		return fmt.Errorf("no observation expression in brackets")
	}
	return nil
}

// uri checks an absolute URI (RFC 3986), as url.value, artifact's url
// and external references' url require.
func uri(c *checker, path string, v any) error {
	s, ok := v.(string)
	if !ok {
		return c.fail(path, "must be a URL string, not %s", jsonKind(v))
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || strings.ContainsAny(s, " \t\n") {
		return c.fail(path, "must be an absolute URL (RFC 3986), not %q", s)
	}
	return nil
}

// languageTag checks the syntax of an RFC 5646 language tag ("en",
// "de-CH", "zh-Hant-TW"): subtags of 1 to 8 ASCII letters and digits,
// the first of 2 to 8 letters (or the private-use "x" and grandfathered
// "i" prefixes).
func languageTag(c *checker, path string, v any) error {
	s, ok := v.(string)
	if !ok {
		return c.fail(path, "must be a language tag string, not %s", jsonKind(v))
	}
	if !validLanguageTag(s) {
		return c.fail(path, "must be an RFC 5646 language tag such as \"en\" or \"de-CH\", not %q", s)
	}
	return nil
}

func validLanguageTag(s string) bool {
	parts := strings.Split(s, "-")
	for i, p := range parts {
		if len(p) < 1 || len(p) > 8 {
			return false
		}
		for j := 0; j < len(p); j++ {
			ch := p[j] | 0x20 // ASCII lowercase
			letter := ch >= 'a' && ch <= 'z'
			if !letter && !(p[j] >= '0' && p[j] <= '9') {
				return false
			}
			if i == 0 && !letter {
				return false
			}
		}
		if i == 0 && len(p) == 1 && p != "x" && p != "i" && p != "X" && p != "I" {
			return false
		}
	}
	return true
}

// cpe checks the shape of a CPE 2.3 formatted string (NISTIR 7695): the
// prefix "cpe:2.3:", a part of a, o, h, * or -, and eleven components
// after it, colons inside components escaped with a backslash.
func cpe(c *checker, path string, v any) error {
	s, ok := v.(string)
	if !ok {
		return c.fail(path, "must be a CPE 2.3 string, not %s", jsonKind(v))
	}
	fields := 0
	if strings.HasPrefix(s, "cpe:2.3:") {
		fields = 1
		for i := 0; i < len(s); i++ {
			switch s[i] {
			case '\\':
				i++
			case ':':
				fields++
			}
		}
	}
	if fields != 13 || !strings.ContainsRune("aoh*-", rune(s[min(len(s)-1, 8)])) {
		return c.fail(path, "must be a CPE 2.3 formatted string such as cpe:2.3:a:microsoft:word:2000:*:*:*:*:*:*:*, not %q", s)
	}
	return nil
}

// registryKey: the hive must be spelled out ("HKEY_LOCAL_MACHINE", not
// "HKLM"), as section 6.17 requires.
func registryKey(c *checker, path string, v any) error {
	if err := nonEmpty(c, path, v); err != nil {
		return err
	}
	hive, _, _ := strings.Cut(v.(string), "\\")
	switch strings.ToUpper(hive) {
	case "HKLM", "HKCC", "HKCR", "HKCU", "HKU":
		return c.fail(path, "must spell out the hive (HKEY_LOCAL_MACHINE, not HKLM), not %q", hive)
	}
	return nil
}
