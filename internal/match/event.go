package match

import (
	"bytes"
	"net/netip"
	"time"
	"unsafe"
)

// Attr names one property of one STIX 2.1 cyber-observable type that the
// decoders extract, such as domain-name:value or file:hashes.'SHA-256'.
// Indicators are compiled to lookups keyed by (Attr, normalised value).
type Attr uint8

// The properties the decoders fill in. Their STIX paths are in [attrInfos].
const (
	AttrNone Attr = iota
	AttrIPv4
	AttrIPv6
	AttrDomain
	AttrURL
	AttrEmail
	AttrMAC
	AttrFileName
	AttrFileSize
	AttrFileMD5
	AttrFileSHA1
	AttrFileSHA256
	AttrFileMime
	AttrSrcPort
	AttrDstPort
	AttrProtocol
	AttrSrcRef
	AttrDstRef
	AttrHTTPMethod
	AttrHTTPValue
	AttrHTTPUserAgent
	AttrEmailFromRef
	AttrEmailSenderRef
	AttrEmailToRefs
	AttrEmailCcRefs
	AttrEmailSubject
	AttrX509Subject
	AttrX509Issuer
	AttrX509Serial
	AttrX509MD5
	AttrX509SHA1
	AttrX509SHA256
	numAttrs
)

// value kinds of an attribute.
const (
	vkString = iota
	vkNumber
	vkRef  // Field.Ref is the index of the referenced object
	vkRefs // a list of references, one Field per element
	vkList // a list of strings, one Field per element
)

type attrInfo struct {
	typ  string   // STIX object type
	path []string // property path below the object; "*" for a list index
	kind int
}

// attrInfos describes every Attr; the path is what a STIX pattern writes
// after "type:".
var attrInfos = [numAttrs]attrInfo{
	AttrIPv4:           {"ipv4-addr", []string{"value"}, vkString},
	AttrIPv6:           {"ipv6-addr", []string{"value"}, vkString},
	AttrDomain:         {"domain-name", []string{"value"}, vkString},
	AttrURL:            {"url", []string{"value"}, vkString},
	AttrEmail:          {"email-addr", []string{"value"}, vkString},
	AttrMAC:            {"mac-addr", []string{"value"}, vkString},
	AttrFileName:       {"file", []string{"name"}, vkString},
	AttrFileSize:       {"file", []string{"size"}, vkNumber},
	AttrFileMD5:        {"file", []string{"hashes", "MD5"}, vkString},
	AttrFileSHA1:       {"file", []string{"hashes", "SHA-1"}, vkString},
	AttrFileSHA256:     {"file", []string{"hashes", "SHA-256"}, vkString},
	AttrFileMime:       {"file", []string{"mime_type"}, vkString},
	AttrSrcPort:        {"network-traffic", []string{"src_port"}, vkNumber},
	AttrDstPort:        {"network-traffic", []string{"dst_port"}, vkNumber},
	AttrProtocol:       {"network-traffic", []string{"protocols", "*"}, vkList},
	AttrSrcRef:         {"network-traffic", []string{"src_ref"}, vkRef},
	AttrDstRef:         {"network-traffic", []string{"dst_ref"}, vkRef},
	AttrHTTPMethod:     {"network-traffic", []string{"extensions", "http-request-ext", "request_method"}, vkString},
	AttrHTTPValue:      {"network-traffic", []string{"extensions", "http-request-ext", "request_value"}, vkString},
	AttrHTTPUserAgent:  {"network-traffic", []string{"extensions", "http-request-ext", "request_header", "User-Agent"}, vkString},
	AttrEmailFromRef:   {"email-message", []string{"from_ref"}, vkRef},
	AttrEmailSenderRef: {"email-message", []string{"sender_ref"}, vkRef},
	AttrEmailToRefs:    {"email-message", []string{"to_refs"}, vkRefs},
	AttrEmailCcRefs:    {"email-message", []string{"cc_refs"}, vkRefs},
	AttrEmailSubject:   {"email-message", []string{"subject"}, vkString},
	AttrX509Subject:    {"x509-certificate", []string{"subject"}, vkString},
	AttrX509Issuer:     {"x509-certificate", []string{"issuer"}, vkString},
	AttrX509Serial:     {"x509-certificate", []string{"serial_number"}, vkString},
	AttrX509MD5:        {"x509-certificate", []string{"hashes", "MD5"}, vkString},
	AttrX509SHA1:       {"x509-certificate", []string{"hashes", "SHA-1"}, vkString},
	AttrX509SHA256:     {"x509-certificate", []string{"hashes", "SHA-256"}, vkString},
}

// String returns the attribute as a STIX object path, e.g.
// "file:hashes.'SHA-256'".
func (a Attr) String() string {
	if a == AttrNone || a >= numAttrs {
		return "none"
	}
	in := attrInfos[a]
	var b []byte
	b = append(b, in.typ...)
	b = append(b, ':')
	for i, p := range in.path {
		if p == "*" {
			b = append(b, "[*]"...)
			continue
		}
		if i > 0 {
			b = append(b, '.')
		}
		if isPlainKey(p) {
			b = append(b, p...)
		} else {
			b = append(b, '\'')
			b = append(b, p...)
			b = append(b, '\'')
		}
	}
	return string(b)
}

func isPlainKey(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return s != ""
}

// Object is one cyber observable of an event.
type Object struct {
	// Type is the STIX cyber-observable type name.
	Type string
	// raw, for events decoded from STIX, is the SCO as given.
	raw map[string]any
}

// Field is one property value of one object of an event.
type Field struct {
	Attr Attr
	// hashed is set when hash is eqHash(Attr, Value) (see eqProbe); both
	// sit in what would be Attr's padding.
	hashed bool
	hash   uint32
	// Obj is the index in Event.Objects of the object that has it.
	Obj int
	// Ref is the target object index for reference attributes.
	Ref int
	// Value is the normalised value (decimal text for numbers). It may
	// point into the input line and is valid only until the next event.
	Value []byte
}

// Event is one decoded log record: the cyber observables it mentions, as
// one STIX observation. Decoders reuse an Event, so its slices are valid
// only until the next call that decodes into it.
type Event struct {
	// when is the record's time, parsed from rawTime on first use: most
	// records never fire, and parsing every time stamp cost more than
	// deciding that.
	when     time.Time
	rawTime  []byte
	rawKind  byte
	timeDone bool
	// Objects are the observables, Fields their properties.
	Objects []Object
	Fields  []Field
	// Format is the format the record was decoded as.
	Format Format
	// observed, for events decoded from STIX, is the observed-data object.
	observed map[string]any

	arena []byte // normalised values that do not alias the input
	// skip, if not nil, marks the attributes nobody asked for: a matcher
	// whose indicators name only domains need not normalise addresses.
	skip *[numAttrs]bool
	// probe, if not nil, is the equality index the event will be matched
	// against (see eqProbe).
	probe *eqProbe
	tc    timeCache

	// Per-record singletons and pending values, reset by reset.
	nt, file, email, x509 int
	httpHost, httpURI     []byte
	httpPort              []byte
	// The connection's ports and what says which end is the server's
	// (see serverPort): an origin-form URL whose Host has no port is at
	// the port the request went to, as Zeek's HTTP::build_url builds it
	// and as the Suricata export's rules match it.
	srcPortV, dstPortV    []byte
	flowDstPort           []byte
	eveType, eveDirection string
	zeekResp, eveGetLike  bool
	urlPath, urlQuery     []byte
	httpScheme            string
	rrKind                uint8
	// an ECS dns.answers data held until its record's type is known
	// (see ecsAnswerData)
	rrPending    []byte
	rrHasPending bool
	rrPendingEVE bool // the data held is EVE's rdata (see eveRData)
	intelValue   []byte
	intelType    string
	zeekName     []byte // a Zeek record's "name", a file name in smb_files.log
	smbFile      bool   // the record's action is SMB::FILE_*
	// a Zeek record's fields that mean one thing in one log and another
	// in another, read by zeekFinish
	zeekURI, zeekMethod, zeekUA []byte
	zeekSubject, zeekReplyTo    []byte
	zeekSIP, zeekSMTP           bool // the record has a field only sip.log, smtp.log has
	zeekServices                [][]byte
	zeekNotConn                 bool // a field only kerberos.log or smb_mapping.log has
	zeekAuthAddl                [][]byte
	zeekDNS                     bool // a field only dns.log has
	ecsFileNames                [][]byte
	suricataAlert               bool // an ECS document of Elastic's suricata pipeline for an alert
	proto                       []byte
	srcIP, dstIP                int
}

// Time is when the event happened: the record's time stamp in UTC, or the
// zero time if it has none (or one that does not parse).
func (e *Event) Time() time.Time {
	if !e.timeDone {
		e.timeDone = true
		if e.rawKind == kindNumber {
			if t, ok := parseEpoch(e.rawTime); ok {
				e.when = t
			}
		} else if e.rawTime != nil {
			if t, ok := e.tc.parse(e.rawTime); ok {
				e.when = t
			} else if t, ok := parseEpoch(e.rawTime); ok {
				// Epoch seconds given as a string (a TSV log without
				// #types, a shipper that quoted the number).
				e.when = t
			}
		}
	}
	return e.when
}

// setTime sets the time directly.
func (e *Event) setTime(t time.Time) {
	e.when, e.timeDone, e.rawTime = t, true, nil
}

func (e *Event) reset() {
	e.when, e.rawTime, e.rawKind, e.timeDone = time.Time{}, nil, 0, false
	e.Objects = e.Objects[:0]
	e.Fields = e.Fields[:0]
	e.observed = nil
	e.arena = e.arena[:0]
	e.nt, e.file, e.email, e.x509 = -1, -1, -1, -1
	e.httpHost, e.httpURI, e.httpScheme, e.proto = nil, nil, "", nil
	e.httpPort, e.rrKind, e.urlPath, e.urlQuery = nil, rrUnknown, nil, nil
	e.srcPortV, e.dstPortV, e.flowDstPort, e.eveType, e.eveDirection, e.zeekResp, e.eveGetLike = nil, nil, nil, "", "", false, false
	e.rrPending, e.rrHasPending, e.rrPendingEVE = nil, false, false
	e.intelValue, e.intelType = nil, ""
	e.zeekName, e.smbFile = nil, false
	e.zeekURI, e.zeekMethod, e.zeekUA, e.zeekSubject, e.zeekReplyTo = nil, nil, nil, nil, nil
	e.zeekSIP, e.zeekSMTP = false, false
	e.zeekServices, e.zeekNotConn = e.zeekServices[:0], false
	e.zeekAuthAddl, e.zeekDNS = e.zeekAuthAddl[:0], false
	e.ecsFileNames, e.suricataAlert = e.ecsFileNames[:0], false
	e.srcIP, e.dstIP = -1, -1
}

// newObject appends an object and returns its index.
func (e *Event) newObject(typ string) int {
	e.Objects = append(e.Objects, Object{Type: typ})
	return len(e.Objects) - 1
}

func (e *Event) add(obj int, a Attr, v []byte) {
	e.Fields = append(e.Fields, Field{Attr: a, Obj: obj, Value: v})
}

func (e *Event) addRef(obj int, a Attr, target int) {
	e.Fields = append(e.Fields, Field{Attr: a, Obj: obj, Ref: target})
}

// valueObject returns the object of type a's type whose value is v,
// creating it: the same address or name mentioned twice in one record is
// one observable.
func (e *Event) valueObject(a Attr, v []byte) int {
	for i := range e.Fields {
		f := &e.Fields[i]
		if f.Attr == a && bytes.Equal(f.Value, v) {
			return f.Obj
		}
	}
	o := e.newObject(attrInfos[a].typ)
	e.add(o, a, v)
	if p := e.probe; p != nil && p.has[a] {
		f := &e.Fields[len(e.Fields)-1]
		f.hash, f.hashed = eqHash(a, v), true
		prefetch(unsafe.Pointer(&p.filter[filterWord(f.hash, len(p.filter))]))
	}
	return o
}

// eqProbe lets a decoder start the equality index's lookup of a value as
// soon as it has read it: the value is hashed once (the hash stays in its
// Field for the lookup) and the Bloom filter's word is prefetched. Nearly
// every lookup of a log stream misses the filter, and its cache miss was a
// fifth of matching a line once the JSON scan had been made fast; now it
// overlaps the decoding of the rest of the line.
type eqProbe struct {
	filter []uint64
	has    [numAttrs]bool
}

// newEqProbe returns the probe of x, or nil if x has no filter.
func newEqProbe(x *eqIndex) *eqProbe {
	if x == nil || len(x.filter) == 0 || x.seed != indexSeed {
		return nil
	}
	return &eqProbe{filter: x.filter, has: x.has}
}

// singleton returns the per-record object in *slot, creating it.
func (e *Event) singleton(slot *int, typ string) int {
	if *slot < 0 {
		*slot = e.newObject(typ)
	}
	return *slot
}

// save copies b into the event's arena so that it outlives scanner buffers.
func (e *Event) save(b []byte) []byte {
	start := len(e.arena)
	e.arena = append(e.arena, b...)
	return e.arena[start:len(e.arena):len(e.arena)]
}

// off reports that attribute a is not wanted.
func (e *Event) off(a Attr) bool { return e.skip != nil && e.skip[a] }

// Normalised adders used by the decoders. Values that do not normalise
// (an address that is not an address) are dropped, not errors: a log
// field such as a DNS answer holds many kinds of text.

// ip adds an IPv4 or IPv6 address object and returns its index; -1 if v
// is not an address, -2 if it is one but addresses are not wanted.
func (e *Event) ip(v []byte) int {
	if e.skip != nil && e.skip[AttrIPv4] && e.skip[AttrIPv6] {
		// Neither family is wanted: the answer depends only on
		// whether v is an address, which the caller may still need
		// (hostOrIP), so parse without normalising.
		if canonicalIPv4(v) {
			return -2
		}
		if a, err := netip.ParseAddr(bstr(v)); err == nil && a.Zone() == "" {
			return -2
		}
		return -1
	}
	n, v6, ok := e.normIP(v)
	if !ok {
		return -1
	}
	a := AttrIPv4
	if v6 {
		a = AttrIPv6
	}
	if e.off(a) {
		return -2
	}
	return e.valueObject(a, n)
}

// endpoint adds an address as the source or destination of the record's
// network traffic.
func (e *Event) endpoint(v []byte, dst bool) {
	if e.off(AttrIPv4) && e.off(AttrIPv6) {
		return
	}
	o := e.ip(v)
	if o < 0 {
		return
	}
	nt := e.singleton(&e.nt, "network-traffic")
	if dst {
		if e.dstIP < 0 {
			e.dstIP = o
			e.addRef(nt, AttrDstRef, o)
		}
	} else if e.srcIP < 0 {
		e.srcIP = o
		e.addRef(nt, AttrSrcRef, o)
	}
}

func (e *Event) port(v []byte, dst bool) {
	if e.off(AttrSrcPort) && e.off(AttrDstPort) {
		return
	}
	n, ok := normInt(v)
	if !ok {
		return
	}
	nt := e.singleton(&e.nt, "network-traffic")
	if dst {
		e.add(nt, AttrDstPort, n)
	} else {
		e.add(nt, AttrSrcPort, n)
	}
}

func (e *Event) protocol(v []byte) {
	if len(v) == 0 || len(v) > 32 || e.off(AttrProtocol) {
		return
	}
	nt := e.singleton(&e.nt, "network-traffic")
	l := e.lower(v)
	for i := range e.Fields {
		if f := &e.Fields[i]; f.Attr == AttrProtocol && bytes.Equal(f.Value, l) {
			return
		}
	}
	e.add(nt, AttrProtocol, l)
}

func (e *Event) domain(v []byte) int {
	if e.off(AttrDomain) {
		return -1
	}
	n, ok := e.normDomain(v)
	if !ok {
		return -1
	}
	return e.valueObject(AttrDomain, n)
}

// hostOrIP adds v as an address if it is one, else as a domain name.
func (e *Event) hostOrIP(v []byte) {
	// A name already in normal form has a letter and no ':' or '%', so it
	// cannot be an address: skip the address parse (which allocates its
	// error) for the common case, a host name.
	if plainDomain(v) {
		// What e.domain would do, without checking the name again.
		if !e.off(AttrDomain) && len(v) <= 254 {
			e.valueObject(AttrDomain, v)
		}
		return
	}
	if e.ip(v) == -1 {
		e.domain(v)
	}
}

func (e *Event) url(v []byte) {
	if e.off(AttrURL) {
		return
	}
	if n, ok := e.normURL(v); ok {
		e.valueObject(AttrURL, n)
	}
}

// urlHTTP adds a URL that may have been logged without its scheme, which
// is then http: Zeek's intel framework logs URLs so, and Suricata's
// email.url does with its defaults (extract-urls-schemes [http],
// log-url-scheme no: "test-site.org/blah/123/" for
// http://test-site.org/blah/123/ in the body). A mailto: URL, which has
// no "//", keeps its scheme.
func (e *Event) urlHTTP(v []byte) {
	if e.off(AttrURL) {
		return
	}
	if !hasScheme(v) && !hasPrefixFold(v, "mailto:") {
		start := len(e.arena)
		e.arena = append(e.arena, "http://"...)
		e.arena = append(e.arena, v...)
		v = e.arena[start:len(e.arena):len(e.arena)]
	}
	e.url(v)
}

func (e *Event) emailAddr(v []byte) int {
	if e.off(AttrEmail) {
		return -1
	}
	v = bareAddress(v)
	n, ok := e.normEmail(v)
	if !ok {
		return -1
	}
	return e.valueObject(AttrEmail, n)
}

// emailRef adds an address and links it from the record's email-message.
func (e *Event) emailRef(v []byte, a Attr) {
	o := e.emailAddr(v)
	if o < 0 {
		return
	}
	m := e.singleton(&e.email, "email-message")
	single := attrInfos[a].kind == vkRef
	for _, f := range e.Fields {
		if f.Attr == a && f.Obj == m && (single || f.Ref == o) {
			return
		}
	}
	e.addRef(m, a, o)
}

func (e *Event) subject(v []byte) {
	if e.off(AttrEmailSubject) {
		return
	}
	m := e.singleton(&e.email, "email-message")
	e.add(m, AttrEmailSubject, e.save(v))
}

// fileHash adds a digest to the record's file (or certificate, for the
// x509 attributes) if it is hex of the right length.
func (e *Event) fileHash(a Attr, v []byte) {
	if e.off(a) {
		return
	}
	n, ok := e.normHex(v, hexLen(a))
	if !ok {
		return
	}
	var o int
	switch a {
	case AttrX509MD5, AttrX509SHA1, AttrX509SHA256:
		o = e.singleton(&e.x509, "x509-certificate")
	default:
		o = e.singleton(&e.file, "file")
	}
	e.add(o, a, n)
}

func (e *Event) fileString(a Attr, v []byte) {
	if len(v) == 0 || e.off(a) {
		return
	}
	o := e.singleton(&e.file, "file")
	e.add(o, a, e.save(v))
}

func (e *Event) fileSize(v []byte) {
	if e.off(AttrFileSize) {
		return
	}
	if n, ok := normInt(v); ok {
		o := e.singleton(&e.file, "file")
		e.add(o, AttrFileSize, n)
	}
}

func (e *Event) x509String(a Attr, v []byte) {
	if len(v) == 0 || e.off(a) {
		return
	}
	o := e.singleton(&e.x509, "x509-certificate")
	e.add(o, a, e.save(v))
}

func (e *Event) httpString(a Attr, v []byte) {
	if len(v) == 0 || e.off(a) {
		return
	}
	nt := e.singleton(&e.nt, "network-traffic")
	e.add(nt, a, e.save(v))
}

// finish completes values that need more than one field of the record
// (a URL from a host and a path) and orders nothing else.
func (e *Event) finish() {
	e.zeekFinish()
	e.ecsFinish()
	if e.httpURI == nil && e.urlPath != nil && !e.off(AttrURL) {
		// ECS url.path and url.query without url.original.
		start := len(e.arena)
		e.arena = append(e.arena, e.urlPath...)
		if e.urlQuery != nil {
			e.arena = append(e.arena, '?')
			e.arena = append(e.arena, e.urlQuery...)
		}
		e.httpURI = e.arena[start:len(e.arena):len(e.arena)]
	}
	if e.httpURI != nil && !e.off(AttrURL) {
		u := e.httpURI
		if !hasScheme(u) {
			// Only an origin-form target ("/path?query") makes a URL
			// with the host: "*" (OPTIONS *) and "host:port" (CONNECT)
			// name no resource (RFC 9112 section 3.2).
			if e.httpHost == nil || len(u) == 0 || u[0] != '/' {
				u = nil
			} else {
				scheme := e.httpScheme
				if scheme == "" {
					scheme = "http"
				}
				host, v6 := e.httpHost, false
				if bytes.IndexByte(host, ':') >= 0 && host[0] != '[' {
					// EVE's hostname and ECS url.domain give an IPv6
					// literal bare; a URL brackets it (RFC 3986).
					a, err := netip.ParseAddr(bstr(host))
					v6 = err == nil && a.Is6()
				}
				start := len(e.arena)
				e.arena = append(e.arena, scheme...)
				e.arena = append(e.arena, "://"...)
				if v6 {
					e.arena = append(e.arena, '[')
					e.arena = append(e.arena, host...)
					e.arena = append(e.arena, ']')
				} else {
					e.arena = append(e.arena, host...)
				}
				port := e.httpPort
				if port == nil && (v6 || !hostHasPort(host)) {
					port = e.serverPort()
				}
				if port != nil && (v6 || !hostHasPort(host)) {
					// http://host:8081/path: the port the request went
					// to is part of the URL (URL normalisation drops a
					// default one).
					e.arena = append(e.arena, ':')
					e.arena = append(e.arena, port...)
				}
				e.arena = append(e.arena, u...)
				u = e.arena[start:len(e.arena):len(e.arena)]
			}
		}
		if u != nil {
			e.url(u)
		}
	}
	if e.intelValue != nil {
		e.intelSeen()
	}
	if e.smbFile && e.zeekName != nil {
		// as every file name: as written and, for a path in the share
		// ("Test\\2009-12 Payroll.xlsx"), its last element, as Suricata's
		// smb.filename and the ECS file.path of this record give it
		fileName(e, 0, e.zeekName)
	}
	if e.httpHost != nil {
		h := e.httpHost
		// A Host header may carry a port, and brackets an IPv6 literal
		// ("[2001:db8::1]:8080", RFC 9110 section 7.2), as Zeek's host
		// and Suricata's hostname keep it.
		if len(h) > 2 && h[0] == '[' {
			if j := bytes.IndexByte(h, ']'); j > 1 && (j == len(h)-1 || h[j+1] == ':') {
				h = h[1:j]
			}
		} else if i := bytes.LastIndexByte(h, ':'); i > 0 && bytes.Count(h, []byte{':'}) == 1 {
			h = h[:i]
		}
		e.hostOrIP(h)
	}
}

// serverPort is the port of the connection's server end where the
// record says which end that is, or nil: Zeek's id.resp_p; in EVE an
// alert's flow.dest_port (the flow's first packet's destination, logged
// since Suricata 7), dest_port of an http event (logged in the request's
// direction) and of an alert raised on a packet to the server, src_port
// of an alert raised on one to the client. A fileinfo event is logged in
// the file's direction, so its src_port is the server's where the
// request was a GET or HEAD (the file can only be the response's body);
// for other methods (an upload's src_port is the client's) it says
// nothing, and the URL is the Host's.
func (e *Event) serverPort() []byte {
	switch {
	case e.zeekResp:
		return e.dstPortV
	case e.flowDstPort != nil:
		return e.flowDstPort
	case e.eveType == "http", e.eveType == "alert" && e.eveDirection == "to_server":
		return e.dstPortV
	case e.eveType == "alert" && e.eveDirection == "to_client",
		e.eveType == "fileinfo" && e.eveGetLike:
		return e.srcPortV
	}
	return nil
}

// hostHasPort reports whether a Host value ends in ":port" (an IPv6
// literal is bracketed, so its colons are inside brackets).
func hostHasPort(h []byte) bool {
	i := bytes.LastIndexByte(h, ':')
	return i >= 0 && bytes.LastIndexByte(h, ']') < i
}

// DNS record kinds for rdata.
const (
	rrUnknown = iota
	rrAddr
	rrName
	rrOther
)

func hasScheme(u []byte) bool {
	i := bytes.Index(u, []byte("://"))
	return i > 0 && i < 10
}

// bareAddress extracts "a@b" from "Name <a@b>" or "<a@b>".
func bareAddress(v []byte) []byte {
	if i := bytes.LastIndexByte(v, '<'); i >= 0 {
		if j := bytes.IndexByte(v[i:], '>'); j > 0 {
			return bytes.TrimSpace(v[i+1 : i+j])
		}
	}
	return bytes.TrimSpace(v)
}

// intelSeen reads intel.log's seen.indicator as its seen.indicator_type
// says (the Intel::Type values of Zeek's intel framework): an address, a
// domain, a URL (logged without "http://", as the framework compares
// them), an e-mail address, a file name, a file hash of the kind its
// length gives, or a certificate's SHA-1. A subnet, software, a user name
// or a public key hash is no observable the matcher's indicators name,
// and a value without a known type is not guessed at.
func (e *Event) intelSeen() {
	v := e.intelValue
	switch e.intelType {
	case "Intel::ADDR":
		e.ip(v)
	case "Intel::DOMAIN":
		e.domain(v)
	case "Intel::URL":
		e.urlHTTP(v)
	case "Intel::EMAIL":
		e.emailAddr(v)
	case "Intel::FILE_NAME":
		e.fileString(AttrFileName, v)
	case "Intel::FILE_HASH":
		switch len(v) {
		case 32:
			e.fileHash(AttrFileMD5, v)
		case 40:
			e.fileHash(AttrFileSHA1, v)
		case 64:
			e.fileHash(AttrFileSHA256, v)
		}
	case "Intel::CERT_HASH":
		e.fileHash(AttrX509SHA1, v)
	}
}

// hasPrefixFold reports whether v begins with the lower-case ASCII prefix p
// in any case.
func hasPrefixFold(v []byte, p string) bool {
	return len(v) >= len(p) && bytes.EqualFold(v[:len(p)], []byte(p))
}
