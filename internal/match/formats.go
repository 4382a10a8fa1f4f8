package match

// Field tables of the log formats. Each maps a dotted field path (nested
// objects and arrays of objects flattened with ".") to what it means as a
// STIX cyber observable. The field names come from the formats'
// documentation: Zeek's log reference (conn, dns, http, ssl, files, x509,
// smtp), Suricata's EVE JSON format (flow, alert, dns v2 and v3, http, tls,
// fileinfo, smtp/email) and the Elastic Common Schema field reference.

func timeEpochOrText(e *Event, kind byte, v []byte) {
	if kind == kindNumber {
		if t, ok := parseEpoch(v); ok {
			e.Time = t
		}
		return
	}
	if t, ok := e.tc.parse(v); ok {
		e.Time = t
	}
}

func srcIP(e *Event, _ byte, v []byte)   { e.endpoint(v, false) }
func dstIP(e *Event, _ byte, v []byte)   { e.endpoint(v, true) }
func srcPort(e *Event, _ byte, v []byte) { e.port(v, false) }
func dstPort(e *Event, _ byte, v []byte) { e.port(v, true) }
func proto(e *Event, _ byte, v []byte)   { e.protocol(v) }

// service is conn.log's "dns", "http", "ssl", comma-separated when several
// analysers ran.
func service(e *Event, _ byte, v []byte) {
	for len(v) > 0 {
		i := 0
		for i < len(v) && v[i] != ',' {
			i++
		}
		e.protocol(v[:i])
		if i == len(v) {
			break
		}
		v = v[i+1:]
	}
}

func anyIP(e *Event, _ byte, v []byte)    { e.ip(v) }
func domain(e *Event, _ byte, v []byte)   { e.domain(v) }
func hostOrIP(e *Event, _ byte, v []byte) { e.hostOrIP(v) }
func url(e *Event, _ byte, v []byte)      { e.url(v) }
func httpHost(e *Event, _ byte, v []byte) {
	if len(v) > 0 {
		e.httpHost = e.save(v)
	}
}
func httpURI(e *Event, _ byte, v []byte) {
	if len(v) > 0 && !e.off(AttrURL) {
		e.httpURI = e.save(v)
	}
}
func httpMethod(e *Event, _ byte, v []byte) { e.httpString(AttrHTTPMethod, v) }
func httpUA(e *Event, _ byte, v []byte)     { e.httpString(AttrHTTPUserAgent, v) }
func httpValue(e *Event, _ byte, v []byte) {
	httpURI(e, 0, v)
	e.httpString(AttrHTTPValue, v)
}
func md5(e *Event, _ byte, v []byte)         { e.fileHash(AttrFileMD5, v) }
func sha1(e *Event, _ byte, v []byte)        { e.fileHash(AttrFileSHA1, v) }
func sha256(e *Event, _ byte, v []byte)      { e.fileHash(AttrFileSHA256, v) }
func fileName(e *Event, _ byte, v []byte)    { e.fileString(AttrFileName, v) }
func fileMime(e *Event, _ byte, v []byte)    { e.fileString(AttrFileMime, v) }
func fileSize(e *Event, _ byte, v []byte)    { e.fileSize(v) }
func x509Subject(e *Event, _ byte, v []byte) { e.x509String(AttrX509Subject, v) }
func x509Issuer(e *Event, _ byte, v []byte)  { e.x509String(AttrX509Issuer, v) }
func x509Serial(e *Event, _ byte, v []byte)  { e.x509String(AttrX509Serial, v) }
func x509SHA1(e *Event, _ byte, v []byte)    { e.fileHash(AttrX509SHA1, v) }
func x509SHA256(e *Event, _ byte, v []byte)  { e.fileHash(AttrX509SHA256, v) }
func mailFrom(e *Event, _ byte, v []byte)    { e.emailRef(v, AttrEmailFromRef) }
func mailSender(e *Event, _ byte, v []byte)  { e.emailRef(v, AttrEmailSenderRef) }
func mailTo(e *Event, _ byte, v []byte)      { e.emailRef(v, AttrEmailToRefs) }
func mailCc(e *Event, _ byte, v []byte)      { e.emailRef(v, AttrEmailCcRefs) }
func mailAddr(e *Event, _ byte, v []byte)    { e.emailAddr(v) }
func mailSubject(e *Event, _ byte, v []byte) { e.subject(v) }

// zeekTable covers conn, dns, http, ssl, files, x509 and smtp logs; the
// fields of one log do not collide with another's meaning, so one table
// serves them all and the log's path need not be known.
var zeekTable = newFieldTable(map[string]handler{
	"ts":        timeEpochOrText,
	"id.orig_h": srcIP,
	"id.orig_p": srcPort,
	"id.resp_h": dstIP,
	"id.resp_p": dstPort,
	"proto":     proto,
	"service":   service,
	// dns.log
	"query":   domain,
	"answers": hostOrIP,
	// http.log
	"host":       httpHost,
	"uri":        httpValue,
	"method":     httpMethod,
	"user_agent": httpUA,
	"referrer":   url,
	// ssl.log
	"server_name":    domain,
	"subject":        sslSubject,
	"issuer":         x509Issuer,
	"cert_chain_fps": x509SHA256,
	// files.log
	"md5":         md5,
	"sha1":        sha1,
	"sha256":      sha256,
	"filename":    fileName,
	"mime_type":   fileMime,
	"total_bytes": fileSize,
	"tx_hosts":    anyIP,
	"rx_hosts":    anyIP,
	// x509.log
	"fingerprint":         x509SHA256,
	"certificate.serial":  x509Serial,
	"certificate.subject": x509Subject,
	"certificate.issuer":  x509Issuer,
	"san.dns":             domain,
	"san.ip":              anyIP,
	"san.email":           mailAddr,
	"san.uri":             url,
	// smtp.log
	"mailfrom":         mailSender,
	"rcptto":           mailTo,
	"from":             mailFrom,
	"to":               mailTo,
	"cc":               mailCc,
	"reply_to":         mailAddr,
	"x_originating_ip": anyIP,
	"path":             anyIP,
})

// sslSubject: in ssl.log "subject" is the certificate subject; smtp.log
// also has a "subject" (the mail's). They are told apart by the other
// fields of the record, which are not known yet when "subject" is read, so
// the value is kept for both readings only where it is unambiguous: a
// distinguished name has "CN=" or similar.
func sslSubject(e *Event, _ byte, v []byte) {
	if looksLikeDN(v) {
		e.x509String(AttrX509Subject, v)
		return
	}
	e.subject(v)
}

func looksLikeDN(v []byte) bool {
	for i := 0; i+2 < len(v); i++ {
		if v[i+1] == '=' || v[i+2] == '=' {
			c := v[i]
			if c == 'C' || c == 'O' || c == 'L' || c == 'S' || c == 'E' {
				return true
			}
		}
	}
	return false
}

// eveTable covers flow, alert, dns (v2 and v3), http, tls, fileinfo and
// smtp events.
var eveTable = newFieldTable(map[string]handler{
	"timestamp": timeEpochOrText,
	"src_ip":    srcIP,
	"src_port":  srcPort,
	"dest_ip":   dstIP,
	"dest_port": dstPort,
	"proto":     proto,
	"app_proto": proto,
	// dns v2 (one query or answer per event) and v3 (queries/answers lists)
	"dns.rrname":         domain,
	"dns.queries.rrname": domain,
	"dns.answers.rrname": domain,
	"dns.answers.rdata":  hostOrIP,
	"dns.grouped.A":      anyIP,
	"dns.grouped.AAAA":   anyIP,
	"dns.grouped.CNAME":  domain,
	"dns.query.rrname":   domain,
	// http
	"http.hostname":        httpHost,
	"http.url":             httpValue,
	"http.http_method":     httpMethod,
	"http.http_user_agent": httpUA,
	"http.http_refer":      url,
	// tls
	"tls.sni":         domain,
	"tls.subject":     x509Subject,
	"tls.issuerdn":    x509Issuer,
	"tls.serial":      x509Serial,
	"tls.fingerprint": x509SHA1,
	// fileinfo
	"fileinfo.filename": fileName,
	"fileinfo.md5":      md5,
	"fileinfo.sha1":     sha1,
	"fileinfo.sha256":   sha256,
	"fileinfo.size":     fileSize,
	"fileinfo.mimetype": fileMime,
	// smtp and email
	"smtp.mail_from":   mailSender,
	"smtp.rcpt_to":     mailTo,
	"email.from":       mailFrom,
	"email.to":         mailTo,
	"email.cc":         mailCc,
	"email.subject":    mailSubject,
	"email.attachment": fileName,
})

// ecsTable covers the ECS field sets that carry observables: source,
// destination, client, server, network, dns, url, http, user_agent, file,
// tls (x509), email and related.
var ecsTable = newFieldTable(map[string]handler{
	"@timestamp":             timeEpochOrText,
	"source.ip":              srcIP,
	"source.port":            srcPort,
	"source.address":         hostOrIP,
	"source.domain":          domain,
	"source.mac":             mac,
	"destination.ip":         dstIP,
	"destination.port":       dstPort,
	"destination.address":    hostOrIP,
	"destination.domain":     domain,
	"destination.mac":        mac,
	"client.ip":              srcIP,
	"client.port":            srcPort,
	"client.domain":          domain,
	"server.ip":              dstIP,
	"server.port":            dstPort,
	"server.domain":          domain,
	"network.transport":      proto,
	"network.protocol":       proto,
	"network.type":           proto,
	"dns.question.name":      domain,
	"dns.answers.data":       hostOrIP,
	"dns.answers.name":       domain,
	"dns.resolved_ip":        anyIP,
	"url.full":               url,
	"url.original":           ecsURLOriginal,
	"url.domain":             domain,
	"http.request.method":    httpMethod,
	"user_agent.original":    httpUA,
	"file.name":              fileName,
	"file.size":              fileSize,
	"file.mime_type":         fileMime,
	"file.hash.md5":          md5,
	"file.hash.sha1":         sha1,
	"file.hash.sha256":       sha256,
	"tls.client.server_name": domain,
	"tls.server.x509.subject.distinguished_name": x509Subject,
	"tls.server.x509.issuer.distinguished_name":  x509Issuer,
	"tls.server.x509.serial_number":              x509Serial,
	"tls.server.hash.sha1":                       x509SHA1,
	"tls.server.hash.sha256":                     x509SHA256,
	"email.from.address":                         mailFrom,
	"email.sender.address":                       mailSender,
	"email.to.address":                           mailTo,
	"email.cc.address":                           mailCc,
	"email.subject":                              mailSubject,
	"email.attachments.file.name":                fileName,
	"email.attachments.file.hash.md5":            md5,
	"email.attachments.file.hash.sha1":           sha1,
	"email.attachments.file.hash.sha256":         sha256,
	"related.ip":                                 anyIP,
	"related.hosts":                              hostOrIP,
	"related.hash":                               relatedHash,
})

func mac(e *Event, _ byte, v []byte) {
	if e.off(AttrMAC) {
		return
	}
	// ECS writes MACs upper case with dashes; STIX wants lower case with
	// colons, which is what the private-set normalisation produces.
	if len(v) != 17 {
		return
	}
	start := len(e.arena)
	for i, c := range v {
		switch {
		case i%3 == 2:
			if c != '-' && c != ':' {
				e.arena = e.arena[:start]
				return
			}
			e.arena = append(e.arena, ':')
		case c >= '0' && c <= '9' || c >= 'a' && c <= 'f':
			e.arena = append(e.arena, c)
		case c >= 'A' && c <= 'F':
			e.arena = append(e.arena, c+'a'-'A')
		default:
			e.arena = e.arena[:start]
			return
		}
	}
	e.valueObject(AttrMAC, e.arena[start:len(e.arena):len(e.arena)])
}

// ecsURLOriginal may be a full URL or just a path (with url.domain given).
func ecsURLOriginal(e *Event, _ byte, v []byte) {
	if hasScheme(v) {
		e.url(v)
		return
	}
	e.httpString(AttrHTTPValue, v)
}

// relatedHash: ECS related.hash holds digests of any algorithm; the length
// tells which.
func relatedHash(e *Event, _ byte, v []byte) {
	switch len(v) {
	case 32:
		e.fileHash(AttrFileMD5, v)
	case 40:
		e.fileHash(AttrFileSHA1, v)
	case 64:
		e.fileHash(AttrFileSHA256, v)
	}
}
