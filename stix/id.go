package stix

import (
	"crypto/sha1"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
)

// ErrIdentifier is wrapped by errors about malformed STIX identifiers.
var ErrIdentifier = errors.New("invalid STIX identifier")

// scoNamespace is the UUIDv5 namespace of STIX 2.1 section 2.9 for
// deterministic cyber-observable identifiers.
var scoNamespace = uuid.MustParse("00abedb4-aa42-466c-9c01-fed23315a9b7")

// NewIdentifier returns a fresh identifier "objectType--UUIDv4" (STIX 2.1
// section 2.9). For cyber-observable objects prefer [DeterministicID],
// which the specification recommends so that the same observable gets
// the same id everywhere.
func NewIdentifier(objectType string) string {
	return objectType + "--" + uuid.NewString()
}

// SplitIdentifier checks that id has the form "type--UUID" of STIX 2.1
// section 2.9 (an object type name, two hyphens, then an RFC 4122 UUID of
// version 1 to 5 in its hyphenated form) and returns the type part.
func SplitIdentifier(id string) (string, error) {
	if len(id) < 36+2+3 || id[len(id)-38:len(id)-36] != "--" {
		return "", fmt.Errorf("%w: %q is not of the form type--UUID", ErrIdentifier, id)
	}
	typ, u := id[:len(id)-38], id[len(id)-36:]
	if !validTypeName(typ) || strings.HasSuffix(typ, "-") {
		return "", fmt.Errorf("%w: %q does not start with a valid object type", ErrIdentifier, id)
	}
	if !validUUID(u) {
		return "", fmt.Errorf("%w: %q does not end with an RFC 4122 UUID", ErrIdentifier, id)
	}
	return typ, nil
}

// validUUID accepts the 8-4-4-4-12 hex form of an RFC 4122 UUID of
// version 1 to 5 (the variant nibble is 8, 9, a or b). Hex digits may be
// of either case, as the OASIS schemas allow; STIX producers write
// lowercase.
func validUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return s[14] >= '1' && s[14] <= '5' && strings.IndexByte("89abAB", s[19]) >= 0
}

// validTypeName reports whether s is a valid STIX object type name
// (section 3.1 and the type property of section 3.2): 3 to 250
// characters of lowercase ASCII letters, digits and hyphens, starting
// with a letter, without two hyphens in a row (which would make the
// "type--UUID" identifier ambiguous).
func validTypeName(s string) bool {
	if len(s) < 3 || len(s) > 250 || s[0] < 'a' || s[0] > 'z' || strings.Contains(s, "--") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// idContributingProperties lists, per cyber-observable type, the
// properties that make up its deterministic identifier (STIX 2.1 section
// 6, each type's "ID Contributing Properties"). A type missing here (and
// process, which has none) gets a random UUIDv4.
var idContributingProperties = map[string][]string{
	"artifact":             {"hashes", "payload_bin"},
	"autonomous-system":    {"number"},
	"directory":            {"path"},
	"domain-name":          {"value"},
	"email-addr":           {"value"},
	"email-message":        {"from_ref", "subject", "body"},
	"file":                 {"hashes", "name", "extensions", "parent_directory_ref"},
	"ipv4-addr":            {"value"},
	"ipv6-addr":            {"value"},
	"mac-addr":             {"value"},
	"mutex":                {"name"},
	"network-traffic":      {"start", "end", "src_ref", "dst_ref", "src_port", "dst_port", "protocols", "extensions"},
	"software":             {"name", "cpe", "swid", "vendor", "version"},
	"url":                  {"value"},
	"user-account":         {"account_type", "user_id", "account_login"},
	"windows-registry-key": {"key", "values"},
	"x509-certificate":     {"hashes", "serial_number"},
}

// hashPreference is the order in which section 2.9 picks the single hash
// that contributes to a deterministic identifier.
var hashPreference = []string{"MD5", "SHA-1", "SHA-256", "SHA-512"}

// DeterministicID returns the identifier STIX 2.1 section 2.9 defines for
// a cyber-observable object: "type--" followed by a UUIDv5 in the SCO
// namespace over the RFC 8785 canonical JSON of the object's ID
// contributing properties (only those present; of "hashes", only the
// most preferred one). When the type has no contributing properties, or
// none is present, it returns a random [NewIdentifier] as the
// specification says.
func DeterministicID(objectType string, props map[string]any) (string, error) {
	names := idContributingProperties[objectType]
	contrib := map[string]any{}
	for _, name := range names {
		v, ok := props[name]
		if !ok {
			continue
		}
		if name == "hashes" {
			if h, ok := v.(map[string]any); ok {
				for _, alg := range hashPreference {
					if hv, ok := h[alg]; ok {
						v = map[string]any{alg: hv}
						break
					}
				}
			}
		}
		contrib[name] = v
	}
	if len(contrib) == 0 {
		return NewIdentifier(objectType), nil
	}
	canon, err := appendCanonical(nil, contrib)
	if err != nil {
		return "", fmt.Errorf("couldn't canonicalize the ID contributing properties: %w", err)
	}
	return objectType + "--" + uuid.NewHash(sha1.New(), scoNamespace, canon, 5).String(), nil
}

// IsObservable reports whether t is one of the cyber-observable object
// types STIX 2.1 defines (section 6); custom types are not, since they
// may be domain objects.
func IsObservable(t string) bool {
	s, ok := specs[t]
	return ok && s.kind == kindSCO
}

// ErrDeterministicID is wrapped by [CheckDeterministicID] for an observable
// whose UUIDv5 id isn't the one its content determines.
var ErrDeterministicID = errors.New("the observable's UUIDv5 id isn't the one its ID contributing properties determine")

// uuidVersion returns the version nibble of id's UUID ('1' to '5' for an
// id [SplitIdentifier] accepts), or 0 for an id too short to have one.
func uuidVersion(id string) byte {
	if len(id) < 36 {
		return 0
	}
	return id[len(id)-36+14]
}

// DeterminedObservable reports whether o is a cyber-observable whose id is
// the UUIDv5 of section 2.9 over ID contributing properties that o has
// (checked by [CheckDeterministicID]): only such an id names its content,
// so anyone may share the same observable under it. An observable with an
// id of another UUID version (the UUIDv4 that MISP, OpenCTI and the OASIS
// examples give observables, which STIX 2.1 allows: section 2.9 only
// recommends UUIDv5), or with none of its contributing properties, names
// nothing but itself, like a domain object's id.
func DeterminedObservable(o *Object) bool {
	return IsObservable(o.Type) && uuidVersion(o.ID) == '5' && HasIDContributing(o)
}

// HasIDContributing reports whether o has one of its type's ID
// contributing properties (section 6; extensions alone don't count: the
// signature extension is one). An observable without any gets a random
// id (section 2.9).
func HasIDContributing(o *Object) bool {
	for _, name := range idContributingProperties[o.Type] {
		if _, ok := o.Props[name]; ok && name != "extensions" {
			return true
		}
	}
	return false
}

// OwnedObservableID reports whether o is a cyber-observable whose id names
// nothing but itself, so that it belongs to its first sharer like a domain
// object's id: its type has ID contributing properties (section 6) and its
// id is not a UUIDv5 (a UUIDv4 from MISP, OpenCTI or the OASIS examples).
// That holds of the id, whatever the version at hand has: a version
// without any contributing property under such an id is another value
// under it all the same. Only a UUIDv5 id (which [CheckDeterministicID]
// makes name its value) and the id of a type without contributing
// properties (a process, whose id section 2.9 makes random) are anyone's
// to share.
func OwnedObservableID(o *Object) bool {
	return IsObservable(o.Type) && uuidVersion(o.ID) != '5' && len(idContributingProperties[o.Type]) > 0
}

// CheckDeterministicID checks that a cyber-observable whose id is a UUIDv5
// has the id section 2.9 defines over its ID contributing properties
// ([DeterministicID]), so that one such id always names one value: content
// that doesn't match its UUIDv5 id is refused. STIX 2.1 only recommends
// UUIDv5 for observables, so an observable whose id is another RFC 4122
// UUID (a UUIDv4 from MISP or OpenCTI) passes: its id is not
// content-determined ([DeterminedObservable] is false). Objects of other
// types, and observables of a type without contributing properties, pass.
// A UUIDv5 id on an observable with none of its type's contributing
// properties present is refused: section 2.9 makes such an id a UUIDv4,
// and a UUIDv5 id names a value, which such a version could otherwise be
// put beside under another member's id.
func CheckDeterministicID(o *Object) error {
	if !IsObservable(o.Type) || uuidVersion(o.ID) != '5' || len(idContributingProperties[o.Type]) == 0 {
		return nil
	}
	// The member's signature is a property extension added after the id
	// was made: it is not part of what the id names.
	props := o.Props
	if ext, ok := props["extensions"].(map[string]any); ok {
		if _, signed := ext[SignatureExtensionID]; signed {
			props = make(map[string]any, len(o.Props))
			for k, v := range o.Props {
				props[k] = v
			}
			rest := make(map[string]any, len(ext))
			for k, v := range ext {
				if k != SignatureExtensionID {
					rest[k] = v
				}
			}
			if len(rest) == 0 {
				delete(props, "extensions")
			} else {
				props["extensions"] = rest
			}
		}
	}
	// A UUIDv5 id over none of the type's contributing properties names
	// no value (section 2.9 makes such an id a UUIDv4): unchecked, anyone
	// could put a version without them under the UUIDv5 id of another
	// member's value.
	present := false
	for _, name := range idContributingProperties[o.Type] {
		if _, ok := props[name]; ok {
			present = true
			break
		}
	}
	if !present {
		return fmt.Errorf("%w: %s is a UUIDv5, but the observable has none of its ID contributing properties (%s), so section 2.9 makes its id a UUIDv4", ErrDeterministicID, o.ID, strings.Join(idContributingProperties[o.Type], ", "))
	}
	want, err := DeterministicID(o.Type, props)
	if err != nil {
		return err
	}
	if want != o.ID {
		return fmt.Errorf("%w: %s should be %s (the UUIDv5 of STIX 2.1 section 2.9 over its ID contributing properties; a UUIDv5 observable id names its value, so this node refuses one that names another: give the observable that id, or keep a UUIDv4 id, which the node accepts as owned by its first sharer)", ErrDeterministicID, o.ID, want)
	}
	return nil
}
