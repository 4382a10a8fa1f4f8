package stix

import (
	"strconv"
	"strings"
)

// reservedProperties may not appear on any object (STIX 2.1 section
// 3.2: names reserved for future use).
var reservedProperties = []string{"severity", "action", "username", "phone_numbers"}

// object validates c.obj as a whole.
func (c *checker) object() error {
	m := c.obj
	typ, ok := m["type"].(string)
	if !ok {
		if _, present := m["type"]; !present {
			return c.fail("type", "is required")
		}
		return c.fail("type", "must be a string, not %s", jsonKind(m["type"]))
	}
	if !validTypeName(typ) || strings.HasSuffix(typ, "-") {
		return c.fail("type", "must be 3 to 250 characters of a-z, 0-9 and single hyphens, starting with a letter, not %q", typ)
	}
	switch typ {
	case "bundle":
		return c.fail("type", "is \"bundle\": a bundle is a container of objects, not an object")
	case "action":
		return c.fail("type", "is \"action\", a type name STIX 2.1 reserves")
	}
	idv, present := m["id"]
	if !present {
		return c.fail("id", "is required")
	}
	id, ok := idv.(string)
	if !ok {
		return c.fail("id", "must be a string, not %s", jsonKind(idv))
	}
	idType, err := SplitIdentifier(id)
	if err != nil {
		return c.fail("id", "must be of the form %s--UUID (an RFC 4122 UUID of version 1 to 5: its variant digit, the first of the fourth group, is 8, 9, a or b), not %q", typ, id)
	}
	if idType != typ {
		return c.fail("id", "must start with the object's type %q, not %q", typ+"--", idType+"--")
	}
	for _, r := range reservedProperties {
		if _, ok := m[r]; ok {
			return c.fail(r, "is a property name STIX 2.1 reserves")
		}
	}

	spec, known := specs[typ]
	if !known {
		spec = customSpec(m)
	}
	// spec_version: required "2.1" everywhere but on cyber-observables,
	// where it is optional (and still must say "2.1").
	sv, hasSV := m["spec_version"]
	switch {
	case !hasSV && spec.kind != kindSCO:
		return c.fail("spec_version", "is required (objects without it are STIX 2.0)")
	case hasSV && sv != "2.1":
		return c.fail("spec_version", "must be \"2.1\", not %s", quoteValue(sv))
	}
	switch spec.kind {
	case kindSDO, kindSRO, kindMeta:
		for _, name := range []string{"created", "modified"} {
			if _, ok := m[name]; !ok {
				return c.fail(name, "is required")
			}
		}
	}
	if err := c.props("", m, &spec.typeSpec); err != nil {
		return err
	}
	if err := before("created", "modified", false)(c, "", m); err != nil {
		return err
	}
	if ext, ok := m["extensions"].(map[string]any); ok {
		if err := c.extensions("", typ, spec.kind, ext); err != nil {
			return err
		}
	}
	if gms, ok := m["granular_markings"].([]any); ok {
		for i, gm := range gms {
			sels, _ := gm.(map[string]any)["selectors"].([]any)
			for j, s := range sels {
				if !selectorResolves(m, s.(string)) {
					return c.fail("granular_markings["+strconv.Itoa(i)+"].selectors["+strconv.Itoa(j)+"]", "must select content of this object, and %q selects nothing", s)
				}
			}
		}
	}
	return nil
}

// customSpec describes an object of a type the specification does not
// define (section 11.2): the common properties of a domain object when it
// has "created", else those of a cyber-observable.
func customSpec(m map[string]any) *objectSpec {
	if _, ok := m["created"]; ok {
		return &objectSpec{kind: kindSDO, typeSpec: typeSpec{props: commonSDO}}
	}
	return &objectSpec{kind: kindSCO, typeSpec: typeSpec{props: commonSCO}}
}

func quoteValue(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return describe(v)
}

// predefinedExtensions maps each predefined cyber-observable extension
// (section 6) to the object type it extends and its properties.
var predefinedExtensions map[string]struct {
	objectType string
	spec       *typeSpec
}

func init() {
	type ext = struct {
		objectType string
		spec       *typeSpec
	}
	altStream := &typeSpec{props: map[string]check{"name": nonEmpty, "hashes": hashes, "size": nonNegative}, required: []string{"name"}}
	peSection := &typeSpec{props: map[string]check{"name": nonEmpty, "size": nonNegative, "entropy": number(0, 8), "hashes": hashes}, required: []string{"name"}}
	peOptional := &typeSpec{props: map[string]check{
		"magic_hex": hexString, "major_linker_version": anyInt, "minor_linker_version": anyInt,
		"size_of_code": nonNegative, "size_of_initialized_data": nonNegative,
		"size_of_uninitialized_data": nonNegative, "address_of_entry_point": anyInt,
		"base_of_code": anyInt, "base_of_data": anyInt, "image_base": anyInt,
		"section_alignment": anyInt, "file_alignment": anyInt,
		"major_os_version": anyInt, "minor_os_version": anyInt,
		"major_image_version": anyInt, "minor_image_version": anyInt,
		"major_subsystem_version": anyInt, "minor_subsystem_version": anyInt,
		"win32_version_value_hex": hexString, "size_of_image": nonNegative,
		"size_of_headers": nonNegative, "checksum_hex": hexString, "subsystem_hex": hexString,
		"dll_characteristics_hex": hexString, "size_of_stack_reserve": nonNegative,
		"size_of_stack_commit": nonNegative, "size_of_heap_reserve": nonNegative,
		"size_of_heap_commit": nonNegative, "loader_flags_hex": hexString,
		"number_of_rva_and_sizes": anyInt, "hashes": hashes,
	}, rules: []func(*checker, string, map[string]any) error{func(c *checker, path string, m map[string]any) error {
		if len(m) == 0 {
			return c.fail(path, "must have at least one property")
		}
		return nil
	}}}
	predefinedExtensions = map[string]ext{
		"archive-ext": {"file", &typeSpec{props: map[string]check{
			"contains_refs": refList("file", "directory"), "comment": isString,
		}, required: []string{"contains_refs"}}},
		"ntfs-ext": {"file", &typeSpec{props: map[string]check{
			"sid": isString, "alternate_data_streams": list(sub(altStream)),
		}, atLeastOne: []string{"sid", "alternate_data_streams"}}},
		"pdf-ext": {"file", &typeSpec{props: map[string]check{
			"version": isString, "is_optimized": isBool, "document_info_dict": dictionary,
			"pdfid0": isString, "pdfid1": isString,
		}, atLeastOne: []string{"version", "is_optimized", "document_info_dict", "pdfid0", "pdfid1"}}},
		"raster-image-ext": {"file", &typeSpec{props: map[string]check{
			"image_height": anyInt, "image_width": anyInt, "bits_per_pixel": anyInt, "exif_tags": dictionary,
		}, atLeastOne: []string{"image_height", "image_width", "bits_per_pixel", "exif_tags"}}},
		"windows-pebinary-ext": {"file", &typeSpec{props: map[string]check{
			"pe_type": vocab, "imphash": isString, "machine_hex": hexString,
			"number_of_sections": nonNegative, "time_date_stamp": timestampSeconds,
			"pointer_to_symbol_table_hex": hexString, "number_of_symbols": nonNegative,
			"size_of_optional_header": nonNegative, "characteristics_hex": hexString,
			"file_header_hashes": hashes, "optional_header": sub(peOptional),
			"sections": list(sub(peSection)),
		}, required: []string{"pe_type"}}},
		"http-request-ext": {"network-traffic", &typeSpec{props: map[string]check{
			"request_method": nonEmpty, "request_value": nonEmpty, "request_version": isString,
			"request_header": dictionary, "message_body_length": nonNegative,
			"message_body_data_ref": ref("artifact"),
		}, required: []string{"request_method", "request_value"}}},
		"icmp-ext": {"network-traffic", &typeSpec{props: map[string]check{
			"icmp_type_hex": hexString, "icmp_code_hex": hexString,
		}, required: []string{"icmp_type_hex", "icmp_code_hex"}}},
		"socket-ext": {"network-traffic", &typeSpec{props: map[string]check{
			"address_family": enum("AF_UNSPEC", "AF_INET", "AF_IPX", "AF_APPLETALK", "AF_NETBIOS", "AF_INET6", "AF_IRDA", "AF_BTH"),
			"is_blocking":    isBool, "is_listening": isBool, "options": socketOptions,
			"socket_type":       enum("SOCK_STREAM", "SOCK_DGRAM", "SOCK_RAW", "SOCK_RDM", "SOCK_SEQPACKET"),
			"socket_descriptor": nonNegative, "socket_handle": anyInt,
		}, required: []string{"address_family"}}},
		"tcp-ext": {"network-traffic", &typeSpec{props: map[string]check{
			"src_flags_hex": hexString, "dst_flags_hex": hexString,
		}, atLeastOne: []string{"src_flags_hex", "dst_flags_hex"}}},
		"windows-process-ext": {"process", &typeSpec{props: map[string]check{
			"aslr_enabled": isBool, "dep_enabled": isBool, "priority": isString,
			"owner_sid": isString, "window_title": isString, "startup_info": dictionary,
			"integrity_level": enum("low", "medium", "high", "system"),
		}}},
		"windows-service-ext": {"process", &typeSpec{props: map[string]check{
			"service_name": isString, "descriptions": stringList, "display_name": isString,
			"group_name":       isString,
			"start_type":       enum("SERVICE_AUTO_START", "SERVICE_BOOT_START", "SERVICE_DEMAND_START", "SERVICE_DISABLED", "SERVICE_SYSTEM_ALERT"),
			"service_dll_refs": refList("file"),
			"service_type":     enum("SERVICE_KERNEL_DRIVER", "SERVICE_FILE_SYSTEM_DRIVER", "SERVICE_WIN32_OWN_PROCESS", "SERVICE_WIN32_SHARE_PROCESS"),
			"service_status":   enum("SERVICE_CONTINUE_PENDING", "SERVICE_PAUSE_PENDING", "SERVICE_PAUSED", "SERVICE_RUNNING", "SERVICE_START_PENDING", "SERVICE_STOP_PENDING", "SERVICE_STOPPED"),
		}}},
		"unix-account-ext": {"user-account", &typeSpec{props: map[string]check{
			"gid": anyInt, "groups": stringList, "home_dir": isString, "shell": isString,
		}}},
	}
}

// socketOptions: keys are SO_* names, values integers (section 6.12.4).
func socketOptions(c *checker, path string, v any) error {
	if err := dictionary(c, path, v); err != nil {
		return err
	}
	for _, k := range sortedKeys(v.(map[string]any)) {
		if !strings.HasPrefix(k, "SO_") {
			return c.fail(join(path, k), "must be a socket option name starting with SO_")
		}
		if err := anyInt(c, join(path, k), v.(map[string]any)[k]); err != nil {
			return err
		}
	}
	return nil
}

// extensions checks the extensions dictionary (section 7.3): keys are
// extension-definition ids (whose values declare an extension_type) or,
// on cyber-observables, the names of predefined extensions ("-ext") and
// of custom STIX 2.0-style extensions.
func (c *checker) extensions(base, objType string, kind int, exts map[string]any) error {
	if len(exts) == 0 {
		return c.fail(join(base, "extensions"), "must not be an empty dictionary")
	}
	for _, key := range sortedKeys(exts) {
		path := join(base, "extensions."+key)
		val, ok := exts[key].(map[string]any)
		if !ok {
			return c.fail(path, "must be a JSON object, not %s", jsonKind(exts[key]))
		}
		if strings.HasPrefix(key, "extension-definition--") {
			if _, err := SplitIdentifier(key); err != nil {
				return c.fail(path, "is not a valid extension-definition id")
			}
			et, present := val["extension_type"]
			if !present {
				return c.fail(path+".extension_type", "is required")
			}
			if err := enum(extensionTypes...)(c, path+".extension_type", et); err != nil {
				return err
			}
			if et != "property-extension" && et != "toplevel-property-extension" {
				// new-sdo/new-sco/new-sro extensions mark custom object types.
				if _, known := specs[objType]; known {
					return c.fail(path+".extension_type", "is %q, but %s is a type STIX 2.1 defines", et, objType)
				}
			}
			for _, name := range sortedKeys(val) {
				if name == "extension_type" {
					continue
				}
				if name == "id" {
					// The extension's own schema defines its properties;
					// the OASIS schemas take "id" among them (the
					// properties.json rule extensions follow), and
					// OpenCTI's extension on every object it exports
					// (extension-definition--ea279b3e-...) has one. Its
					// value follows the rules of any custom property.
					if err := c.customValue(join(path, name), name, val[name]); err != nil {
						return err
					}
					continue
				}
				if err := c.custom(join(path, name), name, val[name]); err != nil {
					return err
				}
			}
			if key == SignatureExtensionID {
				if err := signatureEntry(c, path, val); err != nil {
					return err
				}
			}
			continue
		}
		if !strings.HasSuffix(key, "-ext") || !validTypeName(key) {
			return c.fail(path, "is neither an extension-definition id nor an extension name ending in -ext")
		}
		if pre, ok := predefinedExtensions[key]; ok {
			if pre.objectType != objType {
				return c.fail(path, "is an extension of %s objects, not of %s", pre.objectType, objType)
			}
			if err := c.props(path, val, pre.spec); err != nil {
				return err
			}
			if len(val) == 0 {
				return c.fail(path, "must not be empty")
			}
			continue
		}
		if kind != kindSCO {
			return c.fail(path, "is a custom extension name, which STIX 2.1 allows only on cyber-observables (use an extension-definition id)")
		}
		if len(val) == 0 {
			return c.fail(path, "must not be empty")
		}
		for _, name := range sortedKeys(val) {
			if err := c.custom(join(path, name), name, val[name]); err != nil {
				return err
			}
		}
	}
	return nil
}

// signatureEntry checks the shape of Parley's signature extension (not
// the signature itself, which [Verify] checks).
func signatureEntry(c *checker, path string, val map[string]any) error {
	if val["extension_type"] != "property-extension" {
		return c.fail(path+".extension_type", "must be \"property-extension\" for the Parley signature")
	}
	for _, name := range []string{"alg", "public_key", "signature"} {
		if _, ok := val[name]; !ok {
			return c.fail(join(path, name), "is required in the Parley signature extension")
		}
	}
	if err := enum(SignatureAlgorithm)(c, path+".alg", val["alg"]); err != nil {
		return err
	}
	for _, name := range []string{"public_key", "signature"} {
		if err := binary(c, join(path, name), val[name]); err != nil {
			return err
		}
	}
	return nil
}

// selectorResolves reports whether a granular-marking selector (section
// 7.2.3.1) points at content of m: dot-separated property names and
// "[N]" list indices, each step present.
func selectorResolves(m map[string]any, sel string) bool {
	var cur any = m
	for _, step := range strings.Split(sel, ".") {
		if strings.HasPrefix(step, "[") && strings.HasSuffix(step, "]") {
			a, ok := cur.([]any)
			if !ok {
				return false
			}
			i, err := strconv.Atoi(step[1 : len(step)-1])
			if err != nil || i < 0 || i >= len(a) {
				return false
			}
			cur = a[i]
			continue
		}
		o, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = o[step]; !ok {
			return false
		}
	}
	return true
}
