package misp

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parley-exchange/parley/internal/untrusted"
	"github.com/parley-exchange/parley/stix"
)

// slot says where one relation of an object template goes.
type slot struct {
	prop []string // path in the root observable
	ref  *ref     // or in a referenced observable ("ip" as its type: by value)
	num  bool     // an integer property
	// float: a number property (a pe-section's entropy).
	float bool
	flag  bool // the property is flags's boolean, true
	hex   bool // a hex property (tcp-ext's flags), compared as h'...'
	// flags maps values to the boolean property each sets (a socket's
	// state "listening": socket-ext's is_listening, true); another value
	// is x_misp_<relation>. A flag is a mapping later than the
	// template's first (see term.revised).
	flags map[string][]string
	low   bool // lower-cased (protocols)
	// each: the property is a list, which a pattern compares element by
	// element (protocols[*]); "protocols = 'tcp'" compares the list with
	// a string, which a STIX matcher never finds equal (STIX 2.1 section
	// 9, and the OASIS reference matcher): the pattern matches nothing.
	each bool
	// bareBefore: an earlier conversion compared the list as a whole
	// (a network-connection's layer3-protocol ... layer7-protocol): an
	// indicator whose pattern now differs is a new version (see
	// listPatternRevision).
	bareBefore bool
	// shared: every relation of the template with this slot's reference
	// names one observable (a process's parent: its pid and command
	// line), not one per attribute.
	shared bool
	// byValue: each value names its own observable, whatever attribute
	// holds it (a process's children by pid): a process has no ID
	// contributing property, and the attribute's uuid would not survive
	// a feed export.
	byValue bool
	// stamp: a STIX timestamp, made of a MISP datetime with a time zone
	// (compared with a t'...' literal in patterns).
	stamp bool
	// valid, when set, says whether a value fits the property; one that
	// does not becomes x_misp_<relation>, as an unmapped relation does.
	valid func(string) bool
	// needs are the relations whose valid values the object must hold
	// for this slot to apply in an observable (a socket-ext's
	// socket_type needs its address_family, which STIX requires);
	// without them the value is x_misp_<relation>. A pattern may compare
	// one property of an extension alone.
	needs []string
	// norm, when set, gives the value the property holds (a pe's
	// compilation time as a STIX timestamp); a value it cannot take is
	// not written in an observable (see validPieces), and a pattern
	// compares it as MISP gives it, as before. A value that norm changes
	// is a mapping later than the template's first (see term.later).
	norm func(string) (string, bool)
	// port: a port number, 0 to 65535 (STIX's src_port and dst_port).
	// Another value is not written in an observable (see validPieces);
	// a pattern compares it as before.
	port bool
	// mispType is the attribute type the feed export writes back.
	mispType string
}

// template is the mapping of one MISP object template.
type template struct {
	root  string
	slots map[string]slot
	// fixed are properties the template itself gives (a twitter-account
	// is a user-account of account_type "twitter"): the observable has
	// them and the pattern compares them first, as misp-stix's does.
	fixed [][2]string
	// refused are relations the mapping cannot place, with why: an
	// object that has one is listed as unsupported, not written without
	// it.
	refused map[string]string
	// ordered are pairs of relations whose times an observable holds in
	// order (a netflow's first and last packet: network-traffic's start
	// and end): a later time before the earlier is not written in an
	// observable (see validPieces).
	ordered [][2]string
}

// httpRequest is a slot in a network-traffic's http-request-ext.
func httpRequest(mispType string, needs []string, prop ...string) slot {
	return slot{prop: append([]string{"extensions", "http-request-ext"}, prop...), needs: needs, mispType: mispType}
}

// account is a social network's account template: a user-account of
// that account_type, with the relations misp-stix maps.
func account(typ string, slots map[string]slot) template {
	return template{root: "user-account", slots: slots, fixed: [][2]string{{"account_type", typ}}}
}

// hexRE is a STIX hex value (tcp-ext's flags).
var hexRE = regexp.MustCompile(`^([a-fA-F0-9]{2})+$`)

func p(mispType string, prop ...string) slot { return slot{prop: prop, mispType: mispType} }

func ipRef(prop string, list bool, typed bool) *ref {
	return &ref{prop: prop, list: list, typ: "ip", key: []string{"value"}, typed: typed}
}

// templates maps MISP object templates to observables, following
// misp-stix's objects mapping (documentation/mapping/misp_objects_to_stix21.json).
// Relations without a slot become x_misp_<relation> on the root.
var templates = map[string]template{
	"file": {root: "file", slots: map[string]slot{
		"filename":      p("filename", "name"),
		"size-in-bytes": {prop: []string{"size"}, num: true, mispType: "size-in-bytes"},
		"mimetype":      p("mime-type", "mime_type"),
	}},
	"domain-ip": {root: "domain-name", slots: map[string]slot{
		"domain": p("domain", "value"),
		"ip":     {ref: ipRef("resolves_to_refs", true, false), mispType: "ip-dst"},
	}},
	"url": {root: "url", slots: map[string]slot{
		"url": p("url", "value"),
	}},
	"email": {root: "email-message", slots: map[string]slot{
		"from":       {ref: &ref{prop: "from_ref", typ: "email-addr", key: []string{"value"}}, mispType: "email-src"},
		"to":         {ref: &ref{prop: "to_refs", list: true, typ: "email-addr", key: []string{"value"}}, mispType: "email-dst"},
		"cc":         {ref: &ref{prop: "cc_refs", list: true, typ: "email-addr", key: []string{"value"}}, mispType: "email-dst"},
		"bcc":        {ref: &ref{prop: "bcc_refs", list: true, typ: "email-addr", key: []string{"value"}}, mispType: "email-dst"},
		"subject":    p("email-subject", "subject"),
		"message-id": p("email-message-id", "message_id"),
		"reply-to":   p("email-reply-to", "additional_header_fields", "Reply-To"),
		"x-mailer":   p("email-x-mailer", "additional_header_fields", "X-Mailer"),
		"email-body": p("email-body", "body"),
	}},
	"network-connection": {root: "network-traffic", slots: map[string]slot{
		"ip-src":          {ref: ipRef("src_ref", false, true), mispType: "ip-src"},
		"ip-dst":          {ref: ipRef("dst_ref", false, true), mispType: "ip-dst"},
		"hostname-src":    {ref: &ref{prop: "src_ref", typ: "domain-name", key: []string{"value"}, typed: true}, mispType: "hostname"},
		"hostname-dst":    {ref: &ref{prop: "dst_ref", typ: "domain-name", key: []string{"value"}, typed: true}, mispType: "hostname"},
		"src-port":        {prop: []string{"src_port"}, num: true, port: true, mispType: "port"},
		"dst-port":        {prop: []string{"dst_port"}, num: true, port: true, mispType: "port"},
		"layer3-protocol": {prop: []string{"protocols"}, low: true, each: true, bareBefore: true, mispType: "text"},
		"layer4-protocol": {prop: []string{"protocols"}, low: true, each: true, bareBefore: true, mispType: "text"},
		"layer7-protocol": {prop: []string{"protocols"}, low: true, each: true, bareBefore: true, mispType: "text"},
	}},
	"ip-port": {root: "network-traffic", slots: map[string]slot{
		"ip":       {ref: ipRef("dst_ref", false, true), mispType: "ip-dst"},
		"ip-dst":   {ref: ipRef("dst_ref", false, true), mispType: "ip-dst"},
		"ip-src":   {ref: ipRef("src_ref", false, true), mispType: "ip-src"},
		"dst-port": {prop: []string{"dst_port"}, num: true, port: true, mispType: "port"},
		"src-port": {prop: []string{"src_port"}, num: true, port: true, mispType: "port"},
		"domain":   {ref: &ref{prop: "dst_ref", typ: "domain-name", key: []string{"value"}, typed: true}, mispType: "domain"},
		"hostname": {ref: &ref{prop: "dst_ref", typ: "domain-name", key: []string{"value"}, typed: true}, mispType: "hostname"},
	}},
	// A socket is a connection with STIX's socket-ext: its address
	// family and socket type where they are STIX's values (others are
	// x_misp_<relation>), its state listening or blocking is_listening
	// or is_blocking, as misp-stix writes them (other states, the domain
	// family and options stay x_misp_<relation>).
	"network-socket": {root: "network-traffic", slots: map[string]slot{
		"ip-src":         {ref: ipRef("src_ref", false, true), mispType: "ip-src"},
		"ip-dst":         {ref: ipRef("dst_ref", false, true), mispType: "ip-dst"},
		"hostname-src":   {ref: &ref{prop: "src_ref", typ: "domain-name", key: []string{"value"}, typed: true}, mispType: "hostname"},
		"hostname-dst":   {ref: &ref{prop: "dst_ref", typ: "domain-name", key: []string{"value"}, typed: true}, mispType: "hostname"},
		"src-port":       {prop: []string{"src_port"}, num: true, port: true, mispType: "port"},
		"dst-port":       {prop: []string{"dst_port"}, num: true, port: true, mispType: "port"},
		"protocol":       {prop: []string{"protocols"}, low: true, each: true, mispType: "text"},
		"address-family": {prop: []string{"extensions", "socket-ext", "address_family"}, valid: addressFamily, mispType: "text"},
		"socket-type":    {prop: []string{"extensions", "socket-ext", "socket_type"}, valid: socketType, needs: []string{"address-family"}, mispType: "text"},
		"state": {flags: map[string][]string{
			"listening": {"extensions", "socket-ext", "is_listening"},
			"blocking":  {"extensions", "socket-ext", "is_blocking"},
		}, needs: []string{"address-family"}, mispType: "text"},
	}},
	// An HTTP request is a connection with STIX's http-request-ext,
	// which requires the method and the request's value (the URI): its
	// other properties need both. The full URL is x_misp_url, as
	// misp-stix's observable has it.
	"http-request": {root: "network-traffic", slots: map[string]slot{
		"ip-src":       {ref: ipRef("src_ref", false, true), mispType: "ip-src"},
		"ip-dst":       {ref: ipRef("dst_ref", false, true), mispType: "ip-dst"},
		"ip":           {ref: ipRef("dst_ref", false, true), mispType: "ip-dst"},
		"host":         {ref: &ref{prop: "dst_ref", typ: "domain-name", key: []string{"value"}, typed: true}, mispType: "hostname"},
		"method":       httpRequest("http-method", []string{"uri"}, "request_method"),
		"uri":          httpRequest("uri", []string{"method"}, "request_value"),
		"http-version": httpRequest("text", []string{"method", "uri"}, "request_version"),
		"user-agent":   httpRequest("user-agent", []string{"method", "uri"}, "request_header", "User-Agent"),
		"content-type": httpRequest("other", []string{"method", "uri"}, "request_header", "Content-Type"),
		"referer":      httpRequest("other", []string{"method", "uri"}, "request_header", "Referer"),
	}},
	// A process, as misp-stix maps it, with its image (a file by name),
	// its children and its parent by pid, and its parent's command line;
	// its name is x_misp_name. The parent's image, two references away
	// (parent_ref.image_ref), is not made here.
	"process": {root: "process", slots: map[string]slot{
		"pid":                 {prop: []string{"pid"}, num: true, mispType: "text"},
		"command-line":        p("text", "command_line"),
		"creation-time":       {prop: []string{"created_time"}, stamp: true, mispType: "datetime"},
		"current-directory":   p("text", "cwd"),
		"image":               {ref: &ref{prop: "image_ref", typ: "file", key: []string{"name"}}, mispType: "filename"},
		"child-pid":           {ref: &ref{prop: "child_refs", list: true, typ: "process", key: []string{"pid"}}, num: true, byValue: true, mispType: "text"},
		"parent-pid":          {ref: &ref{prop: "parent_ref", typ: "process", key: []string{"pid"}}, num: true, shared: true, mispType: "text"},
		"parent-command-line": {ref: &ref{prop: "parent_ref", typ: "process", key: []string{"command_line"}}, shared: true, mispType: "text"},
	}, refused: map[string]string{
		"parent-image":        "the parent's image is a file two references away (parent_ref.image_ref), which this mapping does not make",
		"parent-process-name": "the parent's name has no STIX property (misp-stix writes the parent's x_misp_process_name), which this mapping does not make",
		"parent-process-path": "the parent's image path is a file two references away (parent_ref.image_ref), which this mapping does not make",
		"parent-guid":         "the parent's GUID has no STIX property on the parent here",
	}},
	"x509": {root: "x509-certificate", slots: map[string]slot{
		"x509-fingerprint-md5":    p("x509-fingerprint-md5", "hashes", "MD5"),
		"x509-fingerprint-sha1":   p("x509-fingerprint-sha1", "hashes", "SHA-1"),
		"x509-fingerprint-sha256": p("x509-fingerprint-sha256", "hashes", "SHA-256"),
		"issuer":                  p("text", "issuer"),
		"subject":                 p("text", "subject"),
		"serial-number":           p("text", "serial_number"),
		"signature_algorithm":     p("text", "signature_algorithm"),
	}},
	"registry-key": {root: "windows-registry-key", slots: map[string]slot{
		"key": p("regkey", "key"),
	}},
	"mutex": {root: "mutex", slots: map[string]slot{
		"name": p("text", "name"),
	}},
	"asn": {root: "autonomous-system", slots: map[string]slot{
		"asn": {prop: []string{"number"}, num: true, mispType: "AS"},
	}},
	"directory": {root: "directory", slots: map[string]slot{
		"path":              p("text", "path"),
		"path-encoding":     {prop: []string{"path_enc"}, valid: charsetRE.MatchString, mispType: "text"},
		"creation-time":     {prop: []string{"ctime"}, stamp: true, mispType: "datetime"},
		"modification-time": {prop: []string{"mtime"}, stamp: true, mispType: "datetime"},
		"access-time":       {prop: []string{"atime"}, stamp: true, mispType: "datetime"},
	}},
	// misp-stix makes the application's name a software's; its
	// identifiers, certificates and domains are x_misp_<relation>.
	"android-app": {root: "software", slots: map[string]slot{
		"name": p("text", "name"),
	}},
	// misp-stix's mapping: the user name is the account's user_id (not
	// account_login, as in a user-account object), the password its
	// credential.
	"credential": {root: "user-account", slots: map[string]slot{
		"username": p("text", "user_id"),
		"password": p("text", "credential"),
	}},
	// The payload (payload_bin, an attachment) is not in feeds, as a
	// file's malware-sample is not.
	"artifact": {root: "artifact", slots: map[string]slot{
		"mime_type":            p("mime-type", "mime_type"),
		"url":                  p("url", "url"),
		"encryption_algorithm": {prop: []string{"encryption_algorithm"}, valid: encryptionAlgorithm, mispType: "text"},
		"decryption_key":       p("text", "decryption_key"),
	}},
	// Social network accounts, as misp-stix maps them: the account's
	// numeric id is user_id, the handle account_login.
	"twitter-account": account("twitter", map[string]slot{
		"id":             p("text", "user_id"),
		"name":           p("text", "account_login"),
		"displayed-name": p("text", "display_name"),
	}),
	"facebook-account": account("facebook", map[string]slot{
		"account-id":   p("text", "user_id"),
		"account-name": p("text", "account_login"),
	}),
	"github-user": account("github", map[string]slot{
		"id":            p("text", "user_id"),
		"username":      p("github-username", "account_login"),
		"user-fullname": p("text", "display_name"),
	}),
	"gitlab-user": account("gitlab", map[string]slot{
		"id":       p("text", "user_id"),
		"username": p("text", "account_login"),
		"name":     p("text", "display_name"),
	}),
	"parler-account": account("parler", map[string]slot{
		"account-id":   p("text", "user_id"),
		"account-name": p("text", "account_login"),
	}),
	"reddit-account": account("reddit", map[string]slot{
		"account-id":   p("text", "user_id"),
		"account-name": p("text", "account_login"),
	}),
	"telegram-account": account("telegram", map[string]slot{
		"id":       p("text", "user_id"),
		"username": p("text", "account_login"),
	}),
	// A pe is the windows-pebinary-ext of the file that includes it, a
	// pe-section one of its sections (misp-stix's mapping): their slots
	// are relative to where the object goes (see piece).
	"pe": {root: "file", slots: map[string]slot{
		"type":               p("text", "pe_type"),
		"imphash":            p("imphash", "imphash"),
		"number-sections":    {prop: []string{"number_of_sections"}, num: true, valid: count, mispType: "counter"},
		"entrypoint-address": {prop: []string{"optional_header", "address_of_entry_point"}, num: true, valid: count, mispType: "text"},
		// misp-stix writes the compilation time as a UTC timestamp.
		"compilation-timestamp": {prop: []string{"x_misp_compilation_timestamp"}, norm: utcTimestamp, mispType: "datetime"},
	}},
	"pe-section": {root: "file", slots: map[string]slot{
		"name":          p("text", "name"),
		"size-in-bytes": {prop: []string{"size"}, num: true, valid: count, mispType: "size-in-bytes"},
		"entropy":       {prop: []string{"entropy"}, float: true, valid: number, mispType: "float"},
	}},
	// A netflow is a connection, as misp-stix maps it: each end's
	// address (one per end), its ports, protocol, first and last packet
	// (start, end), byte and packet counts, and TCP flags (tcp-ext). The
	// autonomous system of an end is x_misp_src_as or x_misp_dst_as:
	// misp-stix makes it the address's belongs_to_refs, which is not ID
	// contributing (STIX 2.1 section 2.9): the same address written
	// without it by another object would be other content under the
	// same id, and one of them lost. An ICMP type is x_misp_icmp_type
	// (icmp-ext requires the code too); tcp-flags and icmp-type add tcp
	// and icmp to the protocols (see netflowProtocols).
	"netflow": {root: "network-traffic", slots: map[string]slot{
		"ip-src":            {ref: ipRef("src_ref", false, true), mispType: "ip-src"},
		"ip-dst":            {ref: ipRef("dst_ref", false, true), mispType: "ip-dst"},
		"src-port":          {prop: []string{"src_port"}, num: true, valid: count, port: true, mispType: "port"},
		"dst-port":          {prop: []string{"dst_port"}, num: true, valid: count, port: true, mispType: "port"},
		"protocol":          {prop: []string{"protocols"}, low: true, each: true, mispType: "text"},
		"first-packet-seen": {prop: []string{"start"}, stamp: true, mispType: "datetime"},
		"last-packet-seen":  {prop: []string{"end"}, stamp: true, mispType: "datetime"},
		"byte-count":        {prop: []string{"src_byte_count"}, num: true, valid: count, mispType: "counter"},
		"packet-count":      {prop: []string{"src_packets"}, num: true, valid: count, mispType: "counter"},
		"tcp-flags":         {prop: []string{"extensions", "tcp-ext", "src_flags_hex"}, valid: hexRE.MatchString, hex: true, low: true, mispType: "text"},
	}, ordered: [][2]string{{"first-packet-seen", "last-packet-seen"}}},
	// An lnk (a Windows shortcut) is a file, as misp-stix maps it: its
	// times are the file's, its path (or full path) its directory. The
	// sample (malware-sample) is the payload feeds leave out.
	"lnk": {root: "file", slots: map[string]slot{
		"filename":              p("filename", "name"),
		"size-in-bytes":         {prop: []string{"size"}, num: true, valid: count, mispType: "size-in-bytes"},
		"lnk-creation-time":     {prop: []string{"ctime"}, stamp: true, mispType: "datetime"},
		"lnk-modification-time": {prop: []string{"mtime"}, stamp: true, mispType: "datetime"},
		"lnk-access-time":       {prop: []string{"atime"}, stamp: true, mispType: "datetime"},
		"path":                  {ref: &ref{prop: "parent_directory_ref", typ: "directory", key: []string{"path"}}, shared: true, mispType: "text"},
		"fullpath":              {ref: &ref{prop: "parent_directory_ref", typ: "directory", key: []string{"path"}}, shared: true, mispType: "text"},
	}},
	// An image is a file by its name. misp-stix makes its URL the url of
	// the artifact of its content where the attachment is missing (as
	// in feeds), which STIX forbids without the content's hashes (which
	// MISP's image has not): it is x_misp_url, as its text and other
	// relations are x_misp_<relation>.
	"image": {root: "file", slots: map[string]slot{
		"filename": p("filename", "name"),
	}},
	// A registry-key-value is one of the values of the registry-key that
	// contains it, or the only value of a key of its own (misp-stix's
	// mapping); its slots are relative to its place in the values.
	"registry-key-value": {root: "windows-registry-key", slots: map[string]slot{
		"name":      p("text", "name"),
		"data":      p("text", "data"),
		"data-type": {prop: []string{"data_type"}, valid: registryDataType, mispType: "text"},
	}},
	"user-account": {root: "user-account", slots: map[string]slot{
		"username":     p("text", "account_login"),
		"user-id":      p("text", "user_id"),
		"account-type": p("text", "account_type"),
		"display-name": p("text", "display_name"),
	}},
}

func init() {
	f := templates["file"]
	for typ, key := range hashKeys {
		f.slots[typ] = p(typ, "hashes", key)
	}
	lnk := templates["lnk"]
	for typ, key := range hashKeys {
		lnk.slots[typ] = p(typ, "hashes", key)
	}
	sec := templates["pe-section"]
	for _, typ := range []string{"md5", "sha1", "sha224", "sha256", "sha384", "sha512", "sha512/224", "sha512/256", "ssdeep"} {
		sec.slots[typ] = p(typ, "hashes", hashKeys[typ])
	}
	a := templates["artifact"]
	for _, typ := range []string{"md5", "sha1", "sha256", "sha512", "sha3-256", "sha3-512", "ssdeep", "tlsh"} {
		a.slots[typ] = p(typ, "hashes", hashKeys[typ])
	}
}

// registryDataType reports whether v is one of STIX 2.1's
// windows-registry-datatype-enum.
func registryDataType(v string) bool {
	switch v {
	case "REG_NONE", "REG_SZ", "REG_EXPAND_SZ", "REG_BINARY", "REG_DWORD", "REG_DWORD_BIG_ENDIAN", "REG_DWORD_LITTLE_ENDIAN",
		"REG_LINK", "REG_MULTI_SZ", "REG_RESOURCE_LIST", "REG_FULL_RESOURCE_DESCRIPTION", "REG_RESOURCE_REQUIREMENTS_LIST",
		"REG_QWORD", "REG_INVALID_TYPE":
		return true
	}
	return false
}

// count reports whether v is a non-negative integer (a number of
// sections, an address).
func count(v string) bool {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	return err == nil && n >= 0
}

// number reports whether v is a finite number.
func number(v string) bool {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	return err == nil && !math.IsInf(f, 0) && !math.IsNaN(f)
}

var mediaTypeRE = regexp.MustCompile(`^[a-z]+/[a-zA-Z0-9.+_-]+$`)

// charsetRE accepts what STIX takes as an IANA character set name
// (path_enc).
var charsetRE = regexp.MustCompile(`^[a-zA-Z0-9/.+_:-]{2,250}$`)

// encryptionAlgorithm reports whether v is one of STIX 2.1's
// encryption-algorithm-enum (an artifact's encryption_algorithm).
func encryptionAlgorithm(v string) bool {
	switch v {
	case "AES-256-GCM", "ChaCha20-Poly1305", "mime-type-indicated":
		return true
	}
	return false
}

// addressFamily reports whether v is one of STIX 2.1's
// network-socket-address-family-enum.
func addressFamily(v string) bool {
	switch v {
	case "AF_UNSPEC", "AF_INET", "AF_IPX", "AF_APPLETALK", "AF_NETBIOS", "AF_INET6", "AF_IRDA", "AF_BTH":
		return true
	}
	return false
}

// socketType reports whether v is one of STIX 2.1's
// network-socket-type-enum.
func socketType(v string) bool {
	switch v {
	case "SOCK_STREAM", "SOCK_DGRAM", "SOCK_RAW", "SOCK_RDM", "SOCK_SEQPACKET":
		return true
	}
	return false
}

// datetimeLayouts are the forms of a MISP datetime attribute with a time
// zone; one without a zone names no instant and is not a STIX timestamp.
var datetimeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999Z0700"}

// stixTimestamp returns a MISP datetime as a STIX timestamp.
func stixTimestamp(v string) (string, bool) {
	v = strings.TrimSpace(v)
	for _, l := range datetimeLayouts {
		// The year is UTC's, which the STIX timestamp writes: a zone can
		// move 9999-12-31T23:59:59-14:00 into year 10000.
		if t, err := time.Parse(l, v); err == nil && t.UTC().Year() >= 1 && t.UTC().Year() <= 9999 {
			return stix.FormatTimestamp(t), true
		}
	}
	return "", false
}

// utcTimestamp returns a time a PE header gives (a compilation time) as
// a STIX timestamp: a MISP datetime with a zone, one without (a PE's
// TimeDateStamp is UTC), or seconds since 1970.
func utcTimestamp(v string) (string, bool) {
	if s, ok := stixTimestamp(v); ok {
		return s, true
	}
	v = strings.TrimSpace(v)
	for _, l := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999"} {
		if t, err := time.Parse(l, v); err == nil && t.Year() >= 1 {
			return stix.FormatTimestamp(t), true
		}
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 && n <= math.MaxUint32 {
		return stix.FormatTimestamp(time.Unix(n, 0)), true
	}
	return "", false
}

// customProp is the property misp-stix gives a relation without a rule.
func customProp(relation string) string {
	var b strings.Builder
	b.WriteString("x_misp_")
	for _, r := range strings.ToLower(relation) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// objectTerms returns the terms of a MISP object of a known template;
// known is false for other templates.
//
// forPattern says the terms make an indicator's pattern, which may
// compare any property of an extension: what a slot needs (see
// slot.needs), which the observable of an observed-data must have, is
// not asked of them.
func objectTerms(o *Object, forPattern bool) (ts []term, known bool, err error) {
	return piecesTerms([]piece{{o: o, name: o.Name}}, forPattern)
}

// piece is one MISP object's share of an observable: the object itself
// (under nothing), or one written as part of another's observable, as
// misp-stix writes them (see merges): a pe under its file's
// windows-pebinary-ext, a pe-section under the extension's sections[i].
type piece struct {
	o     *Object
	name  string   // its template
	under []string // where its properties go in the root observable
}

// piecesTerms returns the terms of the pieces of one observable, the
// first being the object written; known is false when its template has
// no mapping.
func piecesTerms(ps []piece, forPattern bool) (ts []term, known bool, err error) {
	tpl, ok := templates[ps[0].name]
	if !ok {
		return nil, false, nil
	}
	for _, pc := range ps {
		t, err := pieceTerms(pc, forPattern)
		if err != nil {
			if pc.o != ps[0].o {
				err = fmt.Errorf("%s %s: %w", pc.name, untrusted.Text(pc.o.UUID, maxShown), err)
			}
			return nil, true, err
		}
		ts = append(ts, t...)
	}
	if ps[0].name == "pe" && !forPattern && len(ts) > 0 {
		// A pe without a file is a file named as the executable says,
		// as misp-stix names it; its pattern compares the extension
		// alone.
		for _, rel := range []string{"original-filename", "internal-filename"} {
			if i := slices.IndexFunc(ps[0].o.Attribute, func(a Attribute) bool { return !bool(a.Deleted) && a.ObjectRelation == rel }); i >= 0 {
				ts = append([]term{{typ: "file", prop: []string{"name"}, value: ps[0].o.Attribute[i].Value}}, ts...)
				break
			}
		}
	}
	if ps[0].name == "netflow" && !forPattern {
		ts = netflowProtocols(ts)
	}
	if len(ts) > 0 && len(tpl.fixed) > 0 {
		fixed := make([]term, 0, len(tpl.fixed)+len(ts))
		for _, f := range tpl.fixed {
			fixed = append(fixed, term{typ: tpl.root, prop: []string{f[0]}, value: f[1]})
		}
		ts = append(fixed, ts...)
	}
	return ts, true, nil
}

// netflowProtocols returns the terms of a netflow's observable with tcp
// in its protocols where it has TCP flags (tcp-ext), and icmp where it
// has an ICMP type, as misp-stix writes them, after the protocol the
// object gives (STIX lists protocols from the outermost layer in). Such
// an observable is a version later than the conversions of 6 December
// 2026 wrote, whether the object gave the protocol or not (a feed export
// writes it back as a protocol; imported back, the version is the same).
//
// The ICMP type stays x_misp_icmp_type: STIX's icmp-ext requires the
// code too (icmp_code_hex), which no netflow attribute gives (misp-stix
// writes an icmp-ext of the type alone, which STIX refuses).
func netflowProtocols(ts []term) []term {
	for _, p := range [][2]string{{"tcp", "tcp-ext"}, {"icmp", "x_misp_icmp_type"}} {
		by, given := -1, false
		for i, t := range ts {
			if slices.Contains(t.prop, p[1]) {
				by = i
			}
			given = given || slices.Equal(t.prop, []string{"protocols"}) && t.value == p[0]
		}
		if by < 0 {
			continue
		}
		ts[by].later = true
		if !given {
			ts = append(ts, term{typ: "network-traffic", prop: []string{"protocols"}, value: p[0], each: true, relation: "protocol", mispType: "text"})
		}
	}
	return ts
}

// pieceTerms returns the terms of one piece.
func pieceTerms(pc piece, forPattern bool) (ts []term, err error) {
	o, tpl := pc.o, templates[pc.name]
	at := func(prop []string) []string { return slices.Concat(pc.under, prop) }
	for i := range o.Attribute {
		a := &o.Attribute[i]
		if a.Deleted {
			continue
		}
		if why, ok := tpl.refused[a.ObjectRelation]; ok {
			return nil, fmt.Errorf("%s: %s", a.ObjectRelation, why)
		}
		s, ok := tpl.slots[a.ObjectRelation]
		if !ok {
			if a.Type == "attachment" || a.Type == "malware-sample" {
				continue // the payload is not in the feed; its name is
			}
			ts = append(ts, term{typ: tpl.root, prop: at([]string{customProp(a.ObjectRelation)}), value: a.Value, relation: a.ObjectRelation, mispType: a.Type})
			continue
		}
		if len(s.prop) == 1 && s.prop[0] == "mime_type" && !mediaTypeRE.MatchString(a.Value) {
			// MISP often holds libmagic's description here, not a media type.
			s = slot{prop: []string{customProp(a.ObjectRelation)}}
		}
		value := a.Value
		if s.valid != nil && !s.valid(value) || !forPattern && !holds(o, tpl, s.needs...) {
			s = slot{prop: []string{customProp(a.ObjectRelation)}}
		}
		if s.flags != nil {
			prop, ok := s.flags[strings.ToLower(strings.TrimSpace(value))]
			if !ok {
				prop = []string{customProp(a.ObjectRelation)}
			}
			s = slot{prop: prop, flag: ok}
		}
		later := false
		if s.norm != nil {
			if v, ok := s.norm(value); ok {
				later, value = true, v
			}
		}
		if s.stamp {
			if v, ok := stixTimestamp(value); ok {
				value = v
			} else {
				s = slot{prop: []string{customProp(a.ObjectRelation)}}
			}
		}
		// A referenced observable is <type>--UUIDv5(object, attribute):
		// attribute uuids are not always unique across objects.
		t := term{typ: tpl.root, prop: at(s.prop), ref: s.ref, stamp: s.stamp, hex: s.hex, each: s.each, bareBefore: s.bareBefore, uuid: uuidV5("observable " + o.UUID + " " + a.UUID), relation: a.ObjectRelation, mispType: a.Type, shared: s.shared, later: later}
		switch {
		case s.shared:
			t.uuid = uuidV5("observable " + o.UUID + " " + s.ref.prop)
		case s.byValue:
			t.uuid = uuidV5("observable " + o.UUID + " " + s.ref.prop + " " + strings.TrimSpace(value))
		}
		switch {
		case s.num:
			n, perr := strconv.ParseInt(strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(a.Value)), "AS"), 10, 64)
			if perr != nil || n < 0 {
				return nil, fmt.Errorf("%s %q is not a number", a.ObjectRelation, untrusted.Text(a.Value, maxShown))
			}
			t.value = n
		case s.float:
			f, _ := strconv.ParseFloat(strings.TrimSpace(a.Value), 64) // valid: number
			t.value = f
		case s.flag:
			t.value, t.revised = true, true
		case s.low:
			t.value = strings.ToLower(a.Value)
		default:
			t.value = value
		}
		if s.ref != nil && s.ref.typ == "ip" {
			typ, err := addrType(a.Value)
			if err != nil {
				return nil, err
			}
			r := *s.ref
			r.typ = typ
			t.ref = &r
		}
		ts = append(ts, t)
	}
	return ts, nil
}

// dropped is an attribute an observable cannot hold, and why.
type dropped struct {
	piece piece
	a     *Attribute
	why   string
}

// validPieces returns the pieces without the attributes whose values an
// observable cannot hold where the template maps them (a port over
// 65535, a netflow's last packet before its first), with those. The
// objects of pieces are not modified: a piece with such an attribute
// gets a copy.
func validPieces(ps []piece) ([]piece, []dropped) {
	var out []piece
	var bad []dropped
	for i, pc := range ps {
		tpl := templates[pc.name]
		why := map[int]string{}
		for j := range pc.o.Attribute {
			a := &pc.o.Attribute[j]
			if a.Deleted {
				continue
			}
			s := tpl.slots[a.ObjectRelation]
			if s.port && !isPort(a.Value) {
				why[j] = "not a port number (0 to 65535)"
			}
			if s.norm != nil {
				if _, ok := s.norm(a.Value); !ok {
					why[j] = "not a time"
				}
			}
		}
		for _, pair := range tpl.ordered {
			k := slices.IndexFunc(pc.o.Attribute, func(a Attribute) bool {
				_, ok := stixTimestamp(a.Value)
				return !bool(a.Deleted) && a.ObjectRelation == pair[0] && ok
			})
			if k < 0 {
				continue
			}
			start, _ := stixTimestamp(pc.o.Attribute[k].Value)
			from, _ := stix.ParseTimestamp(start)
			for j, a := range pc.o.Attribute {
				end, ok := stixTimestamp(a.Value)
				if !ok || bool(a.Deleted) || a.ObjectRelation != pair[1] {
					continue
				}
				if to, err := stix.ParseTimestamp(end); err == nil && to.Before(from) {
					why[j] = fmt.Sprintf("before %s %s", pair[0], start)
				}
			}
		}
		if len(why) == 0 {
			if out != nil {
				out = append(out, pc)
			}
			continue
		}
		if out == nil {
			out = slices.Clone(ps[:i])
		}
		o := *pc.o
		o.Attribute = make([]Attribute, 0, len(pc.o.Attribute)-len(why))
		for j := range pc.o.Attribute {
			if w, ok := why[j]; ok {
				bad = append(bad, dropped{piece: pc, a: &pc.o.Attribute[j], why: w})
				continue
			}
			o.Attribute = append(o.Attribute, pc.o.Attribute[j])
		}
		pc.o = &o
		out = append(out, pc)
	}
	if out == nil {
		return ps, nil
	}
	return out, bad
}

// isPort reports whether v is a port number, 0 to 65535.
func isPort(v string) bool {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	return err == nil && n >= 0 && n <= 65535
}

// holds reports whether o has, for each of the relations, a live
// attribute that fits its slot of tpl.
func holds(o *Object, tpl template, relations ...string) bool {
	for _, rel := range relations {
		s := tpl.slots[rel]
		if !slices.ContainsFunc(o.Attribute, func(a Attribute) bool {
			return !bool(a.Deleted) && a.ObjectRelation == rel && (s.valid == nil || s.valid(a.Value))
		}) {
			return false
		}
	}
	return true
}

// fixedComparison reports whether c compares a property that the
// template name gives all its objects (see template.fixed): no attribute
// of the object says it.
func fixedComparison(name string, c comparison) bool {
	tpl := templates[name]
	for _, f := range tpl.fixed {
		if c.path == tpl.root+":"+f[0] && c.value == f[1] {
			return true
		}
	}
	return false
}
