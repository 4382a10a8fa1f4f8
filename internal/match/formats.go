package match

import "bytes"

// Field tables of the log formats. Each maps a dotted field path (nested
// objects and arrays of objects flattened with ".") to what it means as a
// STIX cyber observable. The field names come from the formats'
// documentation: Zeek's log reference (conn, dns, http, ssl, files, x509,
// smtp), Suricata's EVE JSON format (flow, alert, dns v2 and v3, http, tls,
// fileinfo, smtp/email) and the Elastic Common Schema field reference.

// timeEpochOrText keeps the record's time stamp (Zeek's epoch seconds or
// an RFC 3339 string) for [Event.Time] to parse if it is needed.
func timeEpochOrText(e *Event, kind byte, v []byte) {
	e.rawTime, e.rawKind = v, kind
}

func srcIP(e *Event, _ byte, v []byte) { e.endpoint(v, false) }
func dstIP(e *Event, _ byte, v []byte) { e.endpoint(v, true) }
func srcPort(e *Event, _ byte, v []byte) {
	if n, ok := normInt(v); ok && len(n) <= 5 {
		e.srcPortV = n
	}
	e.port(v, false)
}
func dstPort(e *Event, _ byte, v []byte) {
	if n, ok := normInt(v); ok && len(n) <= 5 {
		e.dstPortV = n
	}
	e.port(v, true)
}

// zeekRespPort is id.resp_p, the port of the connection's responder:
// the server's, the port of an http.log request's URL (HTTP::build_url).
func zeekRespPort(e *Event, k byte, v []byte) {
	e.zeekResp = true
	dstPort(e, k, v)
}

// eveFlowDstPort is an alert's flow.dest_port: the destination port of
// the flow's first packet, the server's.
func eveFlowDstPort(e *Event, _ byte, v []byte) {
	if n, ok := normInt(v); ok && len(n) <= 5 {
		e.flowDstPort = n
	}
}

// eveEventType and eveDirection say which end of an EVE event is the
// server (see serverPort).
func eveEventType(e *Event, _ byte, v []byte) {
	if len(v) <= 16 {
		e.eveType = string(v)
	}
}

// eveHTTPMethod is http.http_method; a GET or HEAD tells a fileinfo
// event's server end (see serverPort).
func eveHTTPMethod(e *Event, k byte, v []byte) {
	e.eveGetLike = string(v) == "GET" || string(v) == "HEAD"
	httpMethod(e, k, v)
}

func eveDirection(e *Event, _ byte, v []byte) {
	if len(v) <= 16 {
		e.eveDirection = string(v)
	}
}
func proto(e *Event, _ byte, v []byte) { e.protocol(v) }

// service is conn.log's "dns", "http", "ssl", comma-separated when several
// analysers ran (known_services.log's a set of them). A Zeek analyser's
// name is letters, digits, "_" and "-"; anything else is no protocol name,
// and a name with a "-" before it is one Zeek removed after a protocol
// violation (DPD::track_removed_services_in_connection: "http,-http").
func service(e *Event, _ byte, v []byte) {
	for len(v) > 0 {
		i := 0
		for i < len(v) && v[i] != ',' {
			i++
		}
		if isServiceName(v[:i]) {
			e.protocol(v[:i])
		}
		if i == len(v) {
			break
		}
		v = v[i+1:]
	}
}

func isServiceName(v []byte) bool {
	if len(v) > 0 && v[0] == '-' {
		return false
	}
	for _, c := range v {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// zeekService keeps a Zeek record's service for zeekFinish, which reads
// it unless the record is kerberos.log's or smb_mapping.log's.
func zeekService(e *Event, _ byte, v []byte) {
	if len(v) > 0 && !e.off(AttrProtocol) {
		e.zeekServices = append(e.zeekServices, e.save(v))
	}
}

func zeekNotConnField(e *Event, _ byte, _ []byte) { e.zeekNotConn = true }

// zeekAnswer is a dns.log answer: an address, a name (CNAME, NS, PTR, MX,
// SRV targets, a SOA's primary server) or Zeek's text for other records
// ("TXT 5 hello", "RRSIG 5 example.com"), which has spaces and is no name;
// but NSEC3 and NSEC3PARAM records are logged as the bare type name
// (base/protocols/dns/main.zeek), which is not the name of anything.
func zeekAnswer(e *Event, _ byte, v []byte) {
	if string(v) == "NSEC3" || string(v) == "NSEC3PARAM" {
		return
	}
	e.hostOrIP(v)
}

func zeekAuthAddl(e *Event, _ byte, v []byte) {
	if len(v) > 0 {
		e.zeekAuthAddl = append(e.zeekAuthAddl, e.save(v))
	}
}

func zeekDNSField(e *Event, _ byte, _ []byte) { e.zeekDNS = true }

func anyIP(e *Event, _ byte, v []byte)    { e.ip(v) }
func domain(e *Event, _ byte, v []byte)   { e.domain(v) }
func hostOrIP(e *Event, _ byte, v []byte) { e.hostOrIP(v) }
func url(e *Event, _ byte, v []byte)      { e.url(v) }
func mailURL(e *Event, _ byte, v []byte)  { e.urlHTTP(v) }
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
func md5(e *Event, _ byte, v []byte)    { e.fileHash(AttrFileMD5, v) }
func sha1(e *Event, _ byte, v []byte)   { e.fileHash(AttrFileSHA1, v) }
func sha256(e *Event, _ byte, v []byte) { e.fileHash(AttrFileSHA256, v) }

// fileName is a sensor's file name field as written, and, when it holds
// a path (Suricata's fileinfo.filename of an HTTP download is the URI's
// path, "/download/eicar.com"), also its last element, the name STIX's
// file:name means: an indicator of either matches, whichever form the
// sensor or the ECS pipeline that moved it wrote.
func fileName(e *Event, _ byte, v []byte) {
	e.fileString(AttrFileName, v)
	if i := bytes.LastIndexAny(v, `/\`); i >= 0 && i+1 < len(v) {
		e.fileString(AttrFileName, v[i+1:])
	}
}

// filePathName is ECS file.path: where Elastic's suricata pipeline moves
// fileinfo.filename and its zeek smb_files pipeline writes the share path
// with the name. As fileName: the value and its last element.
func filePathName(e *Event, b byte, v []byte) { fileName(e, b, v) }

func fileMime(e *Event, _ byte, v []byte)    { e.fileString(AttrFileMime, v) }
func fileSize(e *Event, _ byte, v []byte)    { e.fileSize(v) }
func x509Subject(e *Event, _ byte, v []byte) { e.x509String(AttrX509Subject, v) }
func x509Issuer(e *Event, _ byte, v []byte)  { e.x509String(AttrX509Issuer, v) }
func x509Serial(e *Event, _ byte, v []byte) {
	if len(v) == 0 || e.off(AttrX509Serial) {
		return
	}
	start := len(e.arena)
	e.arena = appendSerial(e.arena, v)
	e.x509String(AttrX509Serial, e.arena[start:len(e.arena):len(e.arena)])
}

// eveSerial is Suricata's tls.serial: its DER content bytes, whose sign
// appendDERSerial reads.
func eveSerial(e *Event, _ byte, v []byte) {
	if len(v) == 0 || e.off(AttrX509Serial) {
		return
	}
	start := len(e.arena)
	e.arena = appendDERSerial(e.arena, v)
	e.x509String(AttrX509Serial, e.arena[start:len(e.arena):len(e.arena)])
}
func x509MD5(e *Event, _ byte, v []byte)     { e.fileHash(AttrX509MD5, v) }
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
var zeekTable = newFieldTable(map[string]fieldDef{
	"ts":        {timeEpochOrText, nil},
	"id.orig_h": {srcIP, []Attr{AttrIPv4, AttrIPv6, AttrSrcRef}},
	"id.orig_p": {srcPort, []Attr{AttrSrcPort}},
	"id.resp_h": {dstIP, []Attr{AttrIPv4, AttrIPv6, AttrDstRef}},
	"id.resp_p": {zeekRespPort, []Attr{AttrDstPort, AttrURL}},
	"proto":     {proto, []Attr{AttrProtocol}},
	"service":   {zeekService, []Attr{AttrProtocol}},
	// kerberos.log's service is the ticket's service principal
	// ("krbtgt/REALM") and smb_mapping.log's the tree's resource type
	// (DISK, PIPE), not a protocol: fields only those logs have tell them
	// (see zeekFinish)
	"request_type":       {zeekNotConnField, []Attr{AttrProtocol}},
	"forwardable":        {zeekNotConnField, []Attr{AttrProtocol}},
	"renewable":          {zeekNotConnField, []Attr{AttrProtocol}},
	"till":               {zeekNotConnField, []Attr{AttrProtocol}},
	"share_type":         {zeekNotConnField, []Attr{AttrProtocol}},
	"native_file_system": {zeekNotConnField, []Attr{AttrProtocol}},
	// dns.log
	"query":   {domain, []Attr{AttrDomain}},
	"answers": {zeekAnswer, []Attr{AttrDomain, AttrIPv4, AttrIPv6}},
	// policy/protocols/dns/auth-addl's authority and additional records
	// (a referral's NS names, a SOA's primary server, glue addresses),
	// read as answers are; irc.log's and weird.log's addl and rfb.log's
	// auth are other things, so they count only in a record that has a
	// field only dns.log has (see zeekFinish).
	"auth":       {zeekAuthAddl, []Attr{AttrDomain, AttrIPv4, AttrIPv6}},
	"addl":       {zeekAuthAddl, []Attr{AttrDomain, AttrIPv4, AttrIPv6}},
	"trans_id":   {zeekDNSField, []Attr{AttrDomain, AttrIPv4, AttrIPv6}},
	"qtype_name": {zeekDNSField, []Attr{AttrDomain, AttrIPv4, AttrIPv6}},
	"rejected":   {zeekDNSField, []Attr{AttrDomain, AttrIPv4, AttrIPv6}},
	"RD":         {zeekDNSField, []Attr{AttrDomain, AttrIPv4, AttrIPv6}},
	// http.log
	"host":     {httpHost, []Attr{AttrDomain, AttrIPv4, AttrIPv6, AttrURL}},
	"referrer": {url, []Attr{AttrURL}},
	// http.log's (and websocket.log's) request; sip.log has a method, a
	// uri and a user_agent too, and smtp.log a user_agent (the mail's
	// User-Agent or X-Mailer header): not HTTP's, so they wait for the
	// end of the record (see zeekSIP, zeekSMTP).
	"uri":        {zeekURI, sipAttrs}, // a sip: URI tells sip.log
	"method":     {zeekMethod, []Attr{AttrHTTPMethod}},
	"user_agent": {zeekUA, []Attr{AttrHTTPUserAgent}},
	// ssl.log
	"server_name":    {domain, []Attr{AttrDomain}},
	"subject":        {zeekSubject, []Attr{AttrX509Subject, AttrEmailSubject}},
	"issuer":         {x509Issuer, []Attr{AttrX509Issuer}},
	"cert_chain_fps": {x509SHA256, []Attr{AttrX509SHA256}},
	// files.log
	"md5":         {md5, []Attr{AttrFileMD5}},
	"sha1":        {sha1, []Attr{AttrFileSHA1}},
	"sha256":      {sha256, []Attr{AttrFileSHA256}},
	"filename":    {fileName, []Attr{AttrFileName}},
	"mime_type":   {fileMime, []Attr{AttrFileMime}},
	"total_bytes": {fileSize, []Attr{AttrFileSize}},
	"tx_hosts":    {anyIP, []Attr{AttrIPv4, AttrIPv6}},
	"rx_hosts":    {anyIP, []Attr{AttrIPv4, AttrIPv6}},
	// x509.log
	"fingerprint":         {x509SHA256, []Attr{AttrX509SHA256}},
	"certificate.serial":  {x509Serial, []Attr{AttrX509Serial}},
	"certificate.subject": {x509Subject, []Attr{AttrX509Subject}},
	"certificate.issuer":  {x509Issuer, []Attr{AttrX509Issuer}},
	// known_certs.log: the certificate's issuer and serial number (its
	// subject is "subject", as in ssl.log)
	"issuer_subject": {x509Issuer, []Attr{AttrX509Issuer}},
	"serial":         {x509Serial, []Attr{AttrX509Serial}},
	"san.dns":        {domain, []Attr{AttrDomain}},
	"san.ip":         {anyIP, []Attr{AttrIPv4, AttrIPv6}},
	"san.email":      {mailAddr, []Attr{AttrEmail}},
	"san.uri":        {url, []Attr{AttrURL}},
	// smtp.log
	"mailfrom":         {mailSender, []Attr{AttrEmail, AttrEmailSenderRef}},
	"rcptto":           {mailTo, []Attr{AttrEmail, AttrEmailToRefs}},
	"from":             {mailFrom, []Attr{AttrEmail, AttrEmailFromRef}},
	"to":               {mailTo, []Attr{AttrEmail, AttrEmailToRefs}},
	"cc":               {mailCc, []Attr{AttrEmail, AttrEmailCcRefs}},
	"reply_to":         {zeekReplyTo, []Attr{AttrEmail}},
	"x_originating_ip": {anyIP, []Attr{AttrIPv4, AttrIPv6}},
	"path":             {anyIP, []Attr{AttrIPv4, AttrIPv6}},
	// Fields only sip.log has (Zeek's SIP::Info): its method, uri,
	// user_agent, subject and reply_to are SIP's, not an HTTP request's or
	// a mail's. Fields only smtp.log has (SMTP::Info): its user_agent is
	// the mail client's.
	"call_id":         {zeekSIPField, sipAttrs},
	"seq":             {zeekSIPField, sipAttrs},
	"request_from":    {zeekSIPField, sipAttrs},
	"request_to":      {zeekSIPField, sipAttrs},
	"response_from":   {zeekSIPField, sipAttrs},
	"response_to":     {zeekSIPField, sipAttrs},
	"request_path":    {zeekSIPField, sipAttrs},
	"response_path":   {zeekSIPField, sipAttrs},
	"helo":            {zeekSMTPField, smtpAttrs},
	"msg_id":          {zeekSMTPField, smtpAttrs},
	"in_reply_to":     {zeekSMTPField, smtpAttrs},
	"first_received":  {zeekSMTPField, smtpAttrs},
	"second_received": {zeekSMTPField, smtpAttrs},
	"last_reply":      {zeekSMTPField, smtpAttrs},
	"is_webmail":      {zeekSMTPField, smtpAttrs},
	// notice.log, dhcp.log, conn.log's link-layer addresses
	// (policy/protocols/conn/mac-logging) and known_devices
	"src":            {anyIP, []Attr{AttrIPv4, AttrIPv6}},
	"dst":            {anyIP, []Attr{AttrIPv4, AttrIPv6}},
	"client_addr":    {anyIP, []Attr{AttrIPv4, AttrIPv6}},
	"server_addr":    {anyIP, []Attr{AttrIPv4, AttrIPv6}},
	"assigned_addr":  {anyIP, []Attr{AttrIPv4, AttrIPv6}},
	"requested_addr": {anyIP, []Attr{AttrIPv4, AttrIPv6}},
	// ftp.log: the data connection the control channel set up (PORT,
	// PASV, EPRT, EPSV), whose responder is often not the control
	// connection's (a NATed server, FXP, a bounce)
	"data_channel.orig_h": {anyIP, []Attr{AttrIPv4, AttrIPv6}},
	"data_channel.resp_h": {anyIP, []Attr{AttrIPv4, AttrIPv6}},
	// ftp.log's arg of a file command (RETR, STOR, …), which Zeek logs as
	// the file's URL, ftp://<server>/<path>; other commands' arguments
	// (a user name, a directory) are not URLs.
	"arg": {ftpArg, []Attr{AttrURL}},
	// signatures.log (the signature framework's own address fields)
	"src_addr": {anyIP, []Attr{AttrIPv4, AttrIPv6}},
	"dst_addr": {anyIP, []Attr{AttrIPv4, AttrIPv6}},
	// socks.log: the destination the client asked the proxy for, as an
	// address or a name (SOCKS::Address), and the address the proxy
	// bound for it; the connection itself only shows the proxy.
	"request.host": {specifiedIP, []Attr{AttrIPv4, AttrIPv6}},
	"request.name": {domain, []Attr{AttrDomain}},
	"bound.host":   {specifiedIP, []Attr{AttrIPv4, AttrIPv6}},
	"bound.name":   {domain, []Attr{AttrDomain}},
	// radius.log: the address given to the user's session
	// (Framed-IP-Address) and the tunnel's initiator (an address or a
	// name)
	"framed_addr":   {radiusAddr, []Attr{AttrIPv4, AttrIPv6}},
	"tunnel_client": {hostOrIP, []Attr{AttrDomain, AttrIPv4, AttrIPv6}},
	// smb_files.log: the file's name (and a rename's earlier name) in
	// the share. Other logs' "name" is no file's (weird.log's, software's),
	// so it counts only beside an SMB::FILE_* action.
	"name":      {zeekName, []Attr{AttrFileName}},
	"action":    {smbAction, []Attr{AttrFileName}},
	"prev_name": {fileName, []Attr{AttrFileName}},
	// irc.log: the file a DCC SEND offered
	"dcc_file_name": {fileName, []Attr{AttrFileName}},
	"mac":           {mac, []Attr{AttrMAC}},
	"orig_l2_addr":  {mac, []Attr{AttrMAC}},
	"resp_l2_addr":  {mac, []Attr{AttrMAC}},
	// intel.log: what the Intel framework saw, read as the type it logs
	// beside it (before or after it, see Event.intelSeen)
	"seen.indicator":      {intelValue, intelAttrs},
	"seen.indicator_type": {intelType, intelAttrs},
})

// sipAttrs are what a sip.log record would wrongly give if it were read
// as an HTTP request or a mail; smtpAttrs likewise for smtp.log.
var (
	sipAttrs  = []Attr{AttrURL, AttrHTTPValue, AttrHTTPMethod, AttrHTTPUserAgent, AttrX509Subject, AttrEmailSubject, AttrEmail}
	smtpAttrs = []Attr{AttrHTTPUserAgent}
)

func zeekSIPField(e *Event, _ byte, _ []byte)  { e.zeekSIP = true }
func zeekSMTPField(e *Event, _ byte, _ []byte) { e.zeekSMTP = true }

// zeekURI, zeekMethod, zeekUA, zeekSubject and zeekReplyTo keep the value
// for zeekFinish, which reads it as what the record turns out to be.
func zeekURI(e *Event, _ byte, v []byte) {
	if len(v) > 0 {
		e.zeekURI = e.save(v)
		if hasSIPScheme(v) {
			e.zeekSIP = true
		}
	}
}

func zeekMethod(e *Event, _ byte, v []byte) {
	if len(v) > 0 {
		e.zeekMethod = e.save(v)
	}
}

func zeekUA(e *Event, _ byte, v []byte) {
	if len(v) > 0 {
		e.zeekUA = e.save(v)
	}
}

func zeekSubject(e *Event, _ byte, v []byte) {
	if len(v) > 0 {
		e.zeekSubject = e.save(v)
	}
}

func zeekReplyTo(e *Event, _ byte, v []byte) {
	if len(v) > 0 {
		e.zeekReplyTo = e.save(v)
	}
}

// hasSIPScheme: a SIP request's Request-URI is a sip:, sips: or tel: URI
// (RFC 3261 section 19.1, RFC 3966); an HTTP request target never is.
func hasSIPScheme(v []byte) bool {
	for _, s := range []string{"sip:", "sips:", "tel:"} {
		if len(v) >= len(s) && bytes.EqualFold(v[:len(s)], []byte(s)) {
			return true
		}
	}
	return false
}

// zeekFinish reads the Zeek fields whose meaning depends on the log:
// conn.log's service (see zeekService); dns.log's auth and addl; in
// http.log (and websocket.log) method, uri and user_agent are the HTTP
// request's; ssl.log's subject is the certificate's and smtp.log's the
// mail's, as is its reply_to. sip.log's are SIP's (a SIP request is no
// HTTP request, its Subject header no mail's and its URIs no URLs), and
// smtp.log's user_agent names the mail client.
func (e *Event) zeekFinish() {
	if !e.zeekNotConn {
		for _, v := range e.zeekServices {
			service(e, 0, v)
		}
	}
	if e.zeekDNS {
		for _, v := range e.zeekAuthAddl {
			zeekAnswer(e, 0, v)
		}
	}
	if e.zeekSIP {
		return
	}
	if e.zeekURI != nil {
		httpValue(e, 0, e.zeekURI)
	}
	if e.zeekMethod != nil {
		e.httpString(AttrHTTPMethod, e.zeekMethod)
	}
	if e.zeekUA != nil && !e.zeekSMTP {
		e.httpString(AttrHTTPUserAgent, e.zeekUA)
	}
	if e.zeekSubject != nil {
		sslSubject(e, 0, e.zeekSubject)
	}
	if e.zeekReplyTo != nil {
		e.emailAddr(e.zeekReplyTo)
	}
}

// ecsFileName keeps an ECS file.name for ecsFinish.
func ecsFileName(e *Event, _ byte, v []byte) {
	if len(v) > 0 && !e.off(AttrFileName) {
		e.ecsFileNames = append(e.ecsFileNames, e.save(v))
	}
}

func suricataAlertField(e *Event, _ byte, _ []byte) { e.suricataAlert = true }

// ecsFinish reads an ECS document's file.name unless the document is an
// alert of Elastic's suricata pipeline, whose file.name is the alert
// rule's metadata "filename" (the rules file the signature came from,
// "exploit.rules"), no file of the traffic: that pipeline moves fileinfo's
// filename to file.path, and keeps alerts' files below suricata.eve.
func (e *Event) ecsFinish() {
	e.ecsAnswerFlush()
	if e.suricataAlert {
		return
	}
	for _, v := range e.ecsFileNames {
		fileName(e, 0, v)
	}
}

func zeekName(e *Event, _ byte, v []byte) {
	if len(v) > 0 {
		e.zeekName = e.save(v)
	}
}

func smbAction(e *Event, _ byte, v []byte) {
	e.smbFile = bytes.HasPrefix(v, []byte("SMB::FILE_"))
}

// xffAddrs reads an X-Forwarded-For value: addresses separated by commas
// (RFC 7239's predecessor, de facto); what is not an address (a name,
// "unknown", an obfuscated identifier) is skipped.
func xffAddrs(e *Event, _ byte, v []byte) {
	for len(v) > 0 {
		i := bytes.IndexByte(v, ',')
		if i < 0 {
			i = len(v)
		}
		if a := bytes.TrimSpace(v[:i]); len(a) > 0 {
			e.ip(a)
		}
		if i == len(v) {
			break
		}
		v = v[i+1:]
	}
}

// sdpConn reads an SDP connection field as Suricata 8 logs it, without
// "c=": nettype, addrtype and address ("IN IP4 192.0.2.1"; RFC 4566
// section 5.7). A multicast address's "/ttl" and "/count" suffixes are
// dropped (the first address of the group); a name (a FQDN is allowed
// there) and other network types are skipped.
func sdpConn(e *Event, _ byte, v []byte) {
	f := bytes.Fields(v)
	if len(f) != 3 || string(f[0]) != "IN" || (string(f[1]) != "IP4" && string(f[1]) != "IP6") {
		return
	}
	a := f[2]
	if i := bytes.IndexByte(a, '/'); i >= 0 {
		a = a[:i]
	}
	e.ip(a)
}

// specifiedIP is an address unless it is the unspecified one (0.0.0.0,
// ::), which a SOCKS reply gives when the proxy bound no address.
func specifiedIP(e *Event, _ byte, v []byte) {
	if string(v) == "0.0.0.0" || string(v) == "::" {
		return
	}
	e.ip(v)
}

// specifiedHostOrIP is an address (not the unspecified one) or a name.
func specifiedHostOrIP(e *Event, _ byte, v []byte) {
	if string(v) == "0.0.0.0" || string(v) == "::" {
		return
	}
	e.hostOrIP(v)
}

// radiusAddr is RADIUS's Framed-IP-Address, where 255.255.255.255 (the
// user may choose) and 255.255.255.254 (the server chooses) are no
// address (RFC 2865 section 5.8).
func radiusAddr(e *Event, _ byte, v []byte) {
	if string(v) == "255.255.255.255" || string(v) == "255.255.255.254" {
		return
	}
	specifiedIP(e, 0, v)
}

func ftpArg(e *Event, _ byte, v []byte) {
	if len(v) > 6 && bytes.EqualFold(v[:6], []byte("ftp://")) {
		e.url(v)
	}
}

// intelAttrs are what an intel.log indicator can be.
var intelAttrs = []Attr{AttrIPv4, AttrIPv6, AttrDomain, AttrURL, AttrEmail, AttrFileMD5, AttrFileSHA1, AttrFileSHA256, AttrFileName, AttrX509SHA1}

func intelValue(e *Event, _ byte, v []byte) {
	if len(v) > 0 {
		e.intelValue = e.save(v)
	}
}

func intelType(e *Event, _ byte, v []byte) { e.intelType = string(v) }

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

// rrType remembers a DNS record's type (EVE's rrtype, which Suricata
// writes before rdata) so that rdata is read as what it is. A type is a
// mnemonic that DNS reads in any case (RFC 1035 section 5.1, RFC 3597
// section 5): "cname" is a CNAME, whose data is a name. A type may also
// be written in RFC 3597's generic form, TYPE and its number ("TYPE28",
// "type5"), as a sensor does for a type it has no name for: it is read
// by its number as the named type is.
func rrType(e *Event, _ byte, v []byte) {
	if n, ok := genericRRType(v); ok {
		e.rrKind = rrKindOf(n)
		return
	}
	var up [5]byte // the longest type compared: "CNAME", "DNAME"
	if len(v) > len(up) {
		e.rrKind = rrOther
		return
	}
	for i, c := range v {
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		up[i] = c
	}
	switch string(up[:len(v)]) {
	case "A", "AAAA":
		e.rrKind = rrAddr
	case "CNAME", "NS", "PTR", "MX", "DNAME", "SRV":
		e.rrKind = rrName
	default:
		e.rrKind = rrOther
	}
}

// genericRRType reads RFC 3597's generic form of a type, "TYPE" (in any
// case) and the type's decimal number, 0 to 65535.
func genericRRType(v []byte) (uint16, bool) {
	if len(v) < 5 || len(v) > 4+5 {
		return 0, false
	}
	for i, c := range v[:4] {
		if c|0x20 != "type"[i] {
			return 0, false
		}
	}
	n := 0
	for _, c := range v[4:] {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	if n > 0xffff {
		return 0, false
	}
	return uint16(n), true
}

// rrKindOf is how rdata reads the data of a record of type n (the
// numbers of the types rrType names: RFC 1035, 3596, 2782, 6672).
func rrKindOf(n uint16) uint8 {
	switch n {
	case 1, 28: // A, AAAA
		return rrAddr
	case 5, 2, 12, 15, 39, 33: // CNAME, NS, PTR, MX, DNAME, SRV
		return rrName
	}
	return rrOther
}

// ecsAnswerData is an ECS dns.answers data. Its record's type may come
// before it (rrType has set rrKind: read now) or after it (Elasticsearch
// returns an object's keys sorted, "data" before "type"): it is held
// until the type, the next record's data or the end of the document;
// data that no type follows is read as Zeek's answers are.
func ecsAnswerData(e *Event, _ byte, v []byte) {
	if e.rrKind != rrUnknown {
		rdata(e, 0, v)
		return
	}
	e.ecsAnswerFlush()
	e.rrPending, e.rrHasPending = e.save(v), true
}

// ecsAnswerType is an ECS dns.answers type: it reads the data held
// before it, or tells rdata how to read the data after it.
func ecsAnswerType(e *Event, _ byte, v []byte) {
	rrType(e, 0, v)
	if e.rrHasPending {
		d := e.rrPending
		e.rrPending, e.rrHasPending = nil, false
		rdata(e, 0, d)
	}
}

// ecsAnswerStart begins an ECS dns.answers record: a type is its own
// record's. Data held from the record before, which no type followed,
// is read as Zeek's answers are, and a type that no data of its record
// followed (Elastic's suricata pipeline writes an SOA answer's type and
// no data) is forgotten: before, with the keys sorted, it read the next
// record's data ({"name":..,"type":"SOA"},{"data":"evil.example",..,
// "type":"CNAME"} lost evil.example).
func ecsAnswerStart(e *Event, kind byte, _ []byte) {
	if kind != kindObject {
		return
	}
	e.ecsAnswerFlush()
	e.rrKind = rrUnknown
}

func (e *Event) ecsAnswerFlush() {
	if e.rrHasPending {
		d, eve := e.rrPending, e.rrPendingEVE
		e.rrPending, e.rrHasPending, e.rrPendingEVE = nil, false, false
		if eve {
			e.rrKind = rrUnknown
			rdata(e, 0, d)
		} else {
			zeekAnswer(e, 0, d)
		}
	}
}

// eveRData is the rdata of an EVE record of a list (answers,
// authorities, additionals). Suricata writes rrtype before it, but a
// pipeline that sorts an object's keys (as ECS documents' answers come,
// see ecsAnswerData) puts rdata first: it is then held until its
// record's rrtype (eveRRType), and read untyped, as rdata reads it, when
// the record has none. eveRecordStart keeps a record's rrtype from
// reading the next record's rdata (a TXT record's type read the CNAME
// after it as text, and its text was read as a name).
func eveRData(e *Event, _ byte, v []byte) {
	if e.rrKind != rrUnknown {
		rdata(e, 0, v)
		return
	}
	e.ecsAnswerFlush()
	e.rrPending, e.rrHasPending, e.rrPendingEVE = e.save(v), true, true
}

// eveRRType is the rrtype of an EVE record of a list: it reads the
// rdata held before it, or tells rdata how to read the one after it.
func eveRRType(e *Event, _ byte, v []byte) { ecsAnswerType(e, 0, v) }

// eveRecordStart begins an EVE record of a list, as ecsAnswerStart an
// ECS one.
func eveRecordStart(e *Event, kind byte, v []byte) { ecsAnswerStart(e, kind, v) }

// rdata is a DNS answer's data: an address for A and AAAA, a name for
// CNAME, NS, PTR, MX, DNAME and SRV (Suricata writes the target name),
// nothing for the rest (TXT text, SOA, keys), which are not observables;
// with no rrtype before it, whatever it parses as.
func rdata(e *Event, _ byte, v []byte) {
	switch e.rrKind {
	case rrAddr:
		// With neither family wanted e.ip would only tell whether v is
		// an address, which nothing here asks.
		if !e.off(AttrIPv4) || !e.off(AttrIPv6) {
			e.ip(v)
		}
	case rrName:
		e.domain(v)
	case rrOther:
	default:
		e.hostOrIP(v)
	}
	e.rrKind = rrUnknown
}

// httpPort is EVE's http.http_port: the port of the request when it is
// not the scheme's default, which belongs in the URL.
func httpPort(e *Event, _ byte, v []byte) {
	if n, ok := normInt(v); ok && len(n) <= 5 {
		e.httpPort = n
	}
}

// eveTable covers the EVE event types that carry observables: flow,
// netflow, alert (with its app-layer objects), dns (v1, v2 and v3), http,
// tls, quic, fileinfo (and alerts' files), smtp/email, dhcp, sip's sdp
// and the ethernet header, as Suricata 7 and 8 write them; see the
// README's table for the fields left out.
var eveTable = newFieldTable(map[string]fieldDef{
	"timestamp": {timeEpochOrText, nil},
	"src_ip":    {srcIP, []Attr{AttrIPv4, AttrIPv6, AttrSrcRef}},
	"src_port":  {srcPort, []Attr{AttrSrcPort, AttrURL}},
	"dest_ip":   {dstIP, []Attr{AttrIPv4, AttrIPv6, AttrDstRef}},
	"dest_port": {dstPort, []Attr{AttrDstPort, AttrURL}},
	// which end is the server's, for a URL whose Host has no port
	"event_type":     {eveEventType, []Attr{AttrURL}},
	"direction":      {eveDirection, []Attr{AttrURL}},
	"flow.dest_port": {eveFlowDstPort, []Attr{AttrURL}},
	"proto":          {proto, []Attr{AttrProtocol}},
	"app_proto":      {proto, []Attr{AttrProtocol}},
	// the outer (tunnel) addresses of an encapsulated packet (IP-in-IP,
	// GRE, Teredo, VXLAN …) that an alert or anomaly names beside the
	// inner src_ip and dest_ip: the packet went between them too
	"tunnel.src_ip":  {anyIP, []Attr{AttrIPv4, AttrIPv6}},
	"tunnel.dest_ip": {anyIP, []Attr{AttrIPv4, AttrIPv6}},
	// dns v1 (one query or one answer record per event: rrname, rrtype,
	// rdata at the top of "dns"), v2 (answers and grouped) and v3
	// (queries and answers lists); alerts carry "dns.query" lists.
	"dns.rrname":         {domain, []Attr{AttrDomain}},
	"dns.rrtype":         {rrType, []Attr{AttrDomain, AttrIPv4, AttrIPv6}},
	"dns.rdata":          {rdata, []Attr{AttrDomain, AttrIPv4, AttrIPv6}},
	"dns.queries.rrname": {domain, []Attr{AttrDomain}},
	"dns.answers.rrname": {domain, []Attr{AttrDomain}},
	"dns.answers.rrtype": {eveRRType, []Attr{AttrDomain, AttrIPv4, AttrIPv6}},
	"dns.answers.rdata":  {eveRData, []Attr{AttrDomain, AttrIPv4, AttrIPv6}},
	"dns.answers":        {eveRecordStart, []Attr{AttrDomain, AttrIPv4, AttrIPv6}},
	"dns.grouped.A":      {anyIP, []Attr{AttrIPv4, AttrIPv6}},
	"dns.grouped.AAAA":   {anyIP, []Attr{AttrIPv4, AttrIPv6}},
	"dns.grouped.CNAME":  {domain, []Attr{AttrDomain}},
	"dns.grouped.NS":     {domain, []Attr{AttrDomain}},
	"dns.grouped.PTR":    {domain, []Attr{AttrDomain}},
	"dns.grouped.MX":     {domain, []Attr{AttrDomain}},
	"dns.query.rrname":   {domain, []Attr{AttrDomain}},
	// Suricata 7's alerts: dns.answer is the response in the v2 answer
	// form without answers or grouped (the rrname asked, and the
	// authorities)
	"dns.answer.rrname":                {domain, []Attr{AttrDomain}},
	"dns.answer.authorities.rrname":    {domain, []Attr{AttrDomain}},
	"dns.answer.authorities.rrtype":    {eveRRType, []Attr{AttrDomain, AttrIPv4, AttrIPv6}},
	"dns.answer.authorities.rdata":     {eveRData, []Attr{AttrDomain, AttrIPv4, AttrIPv6}},
	"dns.answer.authorities":           {eveRecordStart, []Attr{AttrDomain, AttrIPv4, AttrIPv6}},
	"dns.answer.authorities.soa.mname": {domain, []Attr{AttrDomain}},
	"dns.answer.authorities.srv.name":  {domain, []Attr{AttrDomain}},
	"dns.authorities.rrname":           {domain, []Attr{AttrDomain}},
	// v3 (and v2's detailed answers) log the authority and additional
	// sections as full records: a referral's NS names, and their glue
	// addresses among the additionals.
	"dns.authorities.rrtype": {eveRRType, []Attr{AttrDomain, AttrIPv4, AttrIPv6}},
	"dns.authorities.rdata":  {eveRData, []Attr{AttrDomain, AttrIPv4, AttrIPv6}},
	"dns.authorities":        {eveRecordStart, []Attr{AttrDomain, AttrIPv4, AttrIPv6}},
	"dns.additionals.rrname": {domain, []Attr{AttrDomain}},
	"dns.additionals.rrtype": {eveRRType, []Attr{AttrDomain, AttrIPv4, AttrIPv6}},
	"dns.additionals.rdata":  {eveRData, []Attr{AttrDomain, AttrIPv4, AttrIPv6}},
	"dns.additionals":        {eveRecordStart, []Attr{AttrDomain, AttrIPv4, AttrIPv6}},
	// SRV and SOA records are objects, not rdata (Suricata 7 and 8,
	// rust/src/dns/log.rs): the SRV target is "name" (the userguide says
	// "target"), the SOA's primary name server "mname".
	"dns.answers.srv.name":      {domain, []Attr{AttrDomain}},
	"dns.answers.srv.target":    {domain, []Attr{AttrDomain}},
	"dns.authorities.srv.name":  {domain, []Attr{AttrDomain}},
	"dns.additionals.srv.name":  {domain, []Attr{AttrDomain}},
	"dns.grouped.SRV.name":      {domain, []Attr{AttrDomain}},
	"dns.answers.soa.mname":     {domain, []Attr{AttrDomain}},
	"dns.authorities.soa.mname": {domain, []Attr{AttrDomain}},
	// Suricata 8 logs an additional record as it logs an answer, a SOA
	// too (rust/src/dns/log.rs dns_log_json_answer_detail)
	"dns.additionals.soa.mname": {domain, []Attr{AttrDomain}},
	"dns.grouped.SOA.mname":     {domain, []Attr{AttrDomain}},
	// http
	"http.hostname":        {httpHost, []Attr{AttrDomain, AttrIPv4, AttrIPv6, AttrURL}},
	"http.http_port":       {httpPort, []Attr{AttrURL}},
	"http.url":             {httpValue, []Attr{AttrURL, AttrHTTPValue}},
	"http.http_method":     {eveHTTPMethod, []Attr{AttrHTTPMethod, AttrURL}},
	"http.http_user_agent": {httpUA, []Attr{AttrHTTPUserAgent}},
	"http.http_refer":      {url, []Attr{AttrURL}},
	// tls
	"tls.sni":      {domain, []Attr{AttrDomain}},
	"tls.subject":  {x509Subject, []Attr{AttrX509Subject}},
	"tls.issuerdn": {x509Issuer, []Attr{AttrX509Issuer}},
	"tls.serial":   {eveSerial, []Attr{AttrX509Serial}},
	// the server certificate's subject alternative names (Suricata 7 and
	// 8 custom field subjectaltname), read as Zeek's x509.log san.dns and
	// ECS x509.alternative_names are
	"tls.subjectaltname": {hostOrIP, []Attr{AttrDomain, AttrIPv4, AttrIPv6}},
	"tls.fingerprint":    {x509SHA1, []Attr{AttrX509SHA1}},
	"quic.sni":           {domain, []Attr{AttrDomain}},
	// X-Forwarded-For (the xff setting's extra-data mode): the client
	// behind a proxy, which the flow's addresses do not show; an event's
	// "xff" (http, fileinfo), an alert's "alert.xff", and the raw header
	// http.xff (a comma-separated list) that http logs.
	"xff":       {xffAddrs, []Attr{AttrIPv4, AttrIPv6}},
	"alert.xff": {xffAddrs, []Attr{AttrIPv4, AttrIPv6}},
	"http.xff":  {xffAddrs, []Attr{AttrIPv4, AttrIPv6}},
	// Suricata 8's SDP (in sip events): the connection address, of the
	// session and of each media stream, where the call's media go
	// (RFC 4566 section 5.7, "c=IN IP4 192.0.2.1")
	"sip.sdp.connection_data":                    {sdpConn, []Attr{AttrIPv4, AttrIPv6}},
	"sip.sdp.media_descriptions.connection_data": {sdpConn, []Attr{AttrIPv4, AttrIPv6}},
	// ethernet header (ethernet: yes) and dhcp
	"ether.src_mac":  {mac, []Attr{AttrMAC}},
	"ether.dest_mac": {mac, []Attr{AttrMAC}},
	// a flow event lists every address the flow's frames carried
	"ether.src_macs":  {mac, []Attr{AttrMAC}},
	"ether.dest_macs": {mac, []Attr{AttrMAC}},
	"dhcp.client_mac": {mac, []Attr{AttrMAC}},
	// Suricata logs the message's yiaddr, ciaddr (and, extended, giaddr
	// and siaddr) whatever they hold, and 0.0.0.0 there is RFC 2131's "not
	// filled in" (a client's yiaddr, ciaddr before it is bound, giaddr
	// without a relay agent), no address: it is not read.
	"dhcp.assigned_ip": {specifiedIP, []Attr{AttrIPv4, AttrIPv6}},
	"dhcp.client_ip":   {specifiedIP, []Attr{AttrIPv4, AttrIPv6}},
	// The extended dhcp log (Suricata's dhcp logger, extended: yes): the
	// relay agent and next server of a reply, the address a client asks
	// for (option 50), and the routers and DNS servers offered (options 3
	// and 6, lists).
	"dhcp.relay_ip":       {specifiedIP, []Attr{AttrIPv4, AttrIPv6}},
	"dhcp.next_server_ip": {specifiedIP, []Attr{AttrIPv4, AttrIPv6}},
	"dhcp.requested_ip":   {specifiedIP, []Attr{AttrIPv4, AttrIPv6}},
	"dhcp.routers":        {anyIP, []Attr{AttrIPv4, AttrIPv6}},
	"dhcp.dns_servers":    {anyIP, []Attr{AttrIPv4, AttrIPv6}},
	// fileinfo
	"fileinfo.filename": {fileName, []Attr{AttrFileName}},
	"fileinfo.md5":      {md5, []Attr{AttrFileMD5}},
	"fileinfo.sha1":     {sha1, []Attr{AttrFileSHA1}},
	"fileinfo.sha256":   {sha256, []Attr{AttrFileSHA256}},
	"fileinfo.size":     {fileSize, []Attr{AttrFileSize}},
	"fileinfo.mimetype": {fileMime, []Attr{AttrFileMime}},
	// the file names the file-sharing protocols log beside their fileinfo
	// events (and in alerts on them): SMB's path in the share, NFS's name,
	// FTP data's file (RETR, STOR) and TFTP's
	"smb.filename":      {fileName, []Attr{AttrFileName}},
	"nfs.filename":      {fileName, []Attr{AttrFileName}},
	"ftp_data.filename": {fileName, []Attr{AttrFileName}},
	"tftp.file":         {fileName, []Attr{AttrFileName}},
	// alerts with files (Suricata 7: "files" list of fileinfo objects)
	"files.filename": {fileName, []Attr{AttrFileName}},
	"files.md5":      {md5, []Attr{AttrFileMD5}},
	"files.sha1":     {sha1, []Attr{AttrFileSHA1}},
	"files.sha256":   {sha256, []Attr{AttrFileSHA256}},
	"files.size":     {fileSize, []Attr{AttrFileSize}},
	// smtp and email
	"smtp.mail_from":   {mailSender, []Attr{AttrEmail, AttrEmailSenderRef}},
	"smtp.rcpt_to":     {mailTo, []Attr{AttrEmail, AttrEmailToRefs}},
	"email.from":       {mailFrom, []Attr{AttrEmail, AttrEmailFromRef}},
	"email.to":         {mailTo, []Attr{AttrEmail, AttrEmailToRefs}},
	"email.cc":         {mailCc, []Attr{AttrEmail, AttrEmailCcRefs}},
	"email.subject":    {mailSubject, []Attr{AttrEmailSubject}},
	"email.attachment": {fileName, []Attr{AttrFileName}},
	"email.url":        {mailURL, []Attr{AttrURL}},
})

// ecsTable covers the ECS field sets that carry observables: source,
// destination, client, server, network, dns, url, http, user_agent, file,
// tls (x509), email and related.
var ecsTable = newFieldTable(withEVEBelow("suricata.eve.", map[string]fieldDef{
	"@timestamp":          {timeEpochOrText, nil},
	"source.ip":           {srcIP, []Attr{AttrIPv4, AttrIPv6, AttrSrcRef}},
	"source.port":         {srcPort, []Attr{AttrSrcPort}},
	"source.address":      {hostOrIP, []Attr{AttrDomain, AttrIPv4, AttrIPv6}},
	"source.domain":       {domain, []Attr{AttrDomain}},
	"source.mac":          {mac, []Attr{AttrMAC}},
	"destination.ip":      {dstIP, []Attr{AttrIPv4, AttrIPv6, AttrDstRef}},
	"destination.port":    {dstPort, []Attr{AttrDstPort}},
	"destination.address": {hostOrIP, []Attr{AttrDomain, AttrIPv4, AttrIPv6}},
	"destination.domain":  {domain, []Attr{AttrDomain}},
	"destination.mac":     {mac, []Attr{AttrMAC}},
	"client.ip":           {srcIP, []Attr{AttrIPv4, AttrIPv6, AttrSrcRef}},
	"client.port":         {srcPort, []Attr{AttrSrcPort}},
	"client.domain":       {domain, []Attr{AttrDomain}},
	"server.ip":           {dstIP, []Attr{AttrIPv4, AttrIPv6, AttrDstRef}},
	"server.port":         {dstPort, []Attr{AttrDstPort}},
	"server.domain":       {domain, []Attr{AttrDomain}},
	"network.transport":   {proto, []Attr{AttrProtocol}},
	"network.protocol":    {proto, []Attr{AttrProtocol}},
	"network.type":        {proto, []Attr{AttrProtocol}},
	"dns.question.name":   {domain, []Attr{AttrDomain}},
	// An answer's data is read by its type where the record has one
	// (Elastic's suricata pipeline writes EVE's rrtype there: a TXT
	// record's text is no name); Elastic's zeek dns pipeline copies
	// Zeek's answers here without a type, NSEC3's bare type name with
	// them (see zeekAnswer).
	"dns.answers":      {ecsAnswerStart, []Attr{AttrDomain, AttrIPv4, AttrIPv6}},
	"dns.answers.data": {ecsAnswerData, []Attr{AttrDomain, AttrIPv4, AttrIPv6}},
	"dns.answers.type": {ecsAnswerType, []Attr{AttrDomain, AttrIPv4, AttrIPv6}},
	"dns.answers.name": {domain, []Attr{AttrDomain}},
	"dns.resolved_ip":  {anyIP, []Attr{AttrIPv4, AttrIPv6}},
	"url.full":         {url, []Attr{AttrURL}},
	"url.original":     {ecsURLOriginal, []Attr{AttrURL, AttrHTTPValue}},
	// url.domain with url.original (a path, as Filebeat's zeek and
	// suricata modules write it), or url.path and url.query, make a URL;
	// url.scheme and url.port complete it.
	"url.domain":            {httpHost, []Attr{AttrDomain, AttrIPv4, AttrIPv6, AttrURL}},
	"url.port":              {httpPort, []Attr{AttrURL}},
	"url.scheme":            {urlScheme, []Attr{AttrURL}},
	"url.path":              {urlPath, []Attr{AttrURL}},
	"url.query":             {urlQuery, []Attr{AttrURL}},
	"http.request.referrer": {url, []Attr{AttrURL}},
	"http.request.method":   {httpMethod, []Attr{AttrHTTPMethod}},
	"user_agent.original":   {httpUA, []Attr{AttrHTTPUserAgent}},
	// file.name, except in an alert of Elastic's suricata pipeline, which
	// moves the rule's metadata filename (alert.metadata.filename, the
	// rules file) there, and fileinfo's filename to file.path (see
	// ecsFinish)
	"file.name":                       {ecsFileName, []Attr{AttrFileName}},
	"suricata.eve.alert.signature_id": {suricataAlertField, []Attr{AttrFileName}},
	"suricata.eve.alert.gid":          {suricataAlertField, []Attr{AttrFileName}},
	"suricata.eve.alert.rev":          {suricataAlertField, []Attr{AttrFileName}},
	"suricata.eve.alert.signature":    {suricataAlertField, []Attr{AttrFileName}},
	"file.size":                       {fileSize, []Attr{AttrFileSize}},
	"file.mime_type":                  {fileMime, []Attr{AttrFileMime}},
	"file.hash.md5":                   {md5, []Attr{AttrFileMD5}},
	"file.hash.sha1":                  {sha1, []Attr{AttrFileSHA1}},
	"file.hash.sha256":                {sha256, []Attr{AttrFileSHA256}},
	"tls.client.server_name":          {domain, []Attr{AttrDomain}},
	// tls.server.subject and issuer are the server certificate's DNs
	// (ECS tls fields); tls.server.hash.* are that certificate's digests,
	// not a file's.
	"tls.server.subject":              {x509Subject, []Attr{AttrX509Subject}},
	"tls.server.issuer":               {x509Issuer, []Attr{AttrX509Issuer}},
	"tls.server.hash.md5":             {x509MD5, []Attr{AttrX509MD5}},
	"x509.subject.distinguished_name": {x509Subject, []Attr{AttrX509Subject}},
	"x509.issuer.distinguished_name":  {x509Issuer, []Attr{AttrX509Issuer}},
	"x509.serial_number":              {x509Serial, []Attr{AttrX509Serial}},
	"x509.alternative_names":          {hostOrIP, []Attr{AttrDomain, AttrIPv4, AttrIPv6}},
	// Filebeat's suricata module keeps EVE's fileinfo below suricata.eve
	// where it has no ECS field (older versions: all of it).
	"suricata.eve.fileinfo.md5":      {md5, []Attr{AttrFileMD5}},
	"suricata.eve.fileinfo.sha1":     {sha1, []Attr{AttrFileSHA1}},
	"suricata.eve.fileinfo.sha256":   {sha256, []Attr{AttrFileSHA256}},
	"suricata.eve.fileinfo.filename": {fileName, []Attr{AttrFileName}},
	"suricata.eve.fileinfo.size":     {fileSize, []Attr{AttrFileSize}},
	// Elastic's suricata pipeline moves fileinfo.filename to file.path
	// (and writes no file.name); its zeek smb_files pipeline writes the
	// share path and the name there. The name is its last element.
	"file.path": {filePathName, []Attr{AttrFileName}},
	// and keeps EVE's smtp and email objects below suricata.eve (no ECS
	// field takes them)
	"suricata.eve.smtp.mail_from":   {mailSender, []Attr{AttrEmail, AttrEmailSenderRef}},
	"suricata.eve.smtp.rcpt_to":     {mailTo, []Attr{AttrEmail, AttrEmailToRefs}},
	"suricata.eve.email.from":       {mailFrom, []Attr{AttrEmail, AttrEmailFromRef}},
	"suricata.eve.email.to":         {mailTo, []Attr{AttrEmail, AttrEmailToRefs}},
	"suricata.eve.email.cc":         {mailCc, []Attr{AttrEmail, AttrEmailCcRefs}},
	"suricata.eve.email.subject":    {mailSubject, []Attr{AttrEmailSubject}},
	"suricata.eve.email.attachment": {fileName, []Attr{AttrFileName}},
	"suricata.eve.email.url":        {mailURL, []Attr{AttrURL}},
	// Elastic's zeek dns pipeline may leave the query only here (its
	// sample event, an mDNS response, has no dns.question.name).
	"zeek.dns.query":   {domain, []Attr{AttrDomain}},
	"zeek.dns.answers": {zeekAnswer, []Attr{AttrDomain, AttrIPv4, AttrIPv6}},
	// Elastic's zeek ssl pipeline moves server_name to zeek.ssl.server.name
	// (and nowhere else) and leaves cert_chain_fps (SHA-256) as it is.
	"zeek.ssl.server.name":    {domain, []Attr{AttrDomain}},
	"zeek.ssl.cert_chain_fps": {x509SHA256, []Attr{AttrX509SHA256}},
	// Older Filebeat zeek modules left these below zeek.ssl.
	"zeek.ssl.server_name":                       {domain, []Attr{AttrDomain}},
	"zeek.ssl.subject":                           {x509Subject, []Attr{AttrX509Subject}},
	"zeek.ssl.issuer":                            {x509Issuer, []Attr{AttrX509Issuer}},
	"zeek.files.md5":                             {md5, []Attr{AttrFileMD5}},
	"zeek.files.sha1":                            {sha1, []Attr{AttrFileSHA1}},
	"zeek.files.sha256":                          {sha256, []Attr{AttrFileSHA256}},
	"tls.server.x509.subject.distinguished_name": {x509Subject, []Attr{AttrX509Subject}},
	"tls.server.x509.issuer.distinguished_name":  {x509Issuer, []Attr{AttrX509Issuer}},
	"tls.server.x509.serial_number":              {x509Serial, []Attr{AttrX509Serial}},
	"tls.server.hash.sha1":                       {x509SHA1, []Attr{AttrX509SHA1}},
	"tls.server.hash.sha256":                     {x509SHA256, []Attr{AttrX509SHA256}},
	"email.from.address":                         {mailFrom, []Attr{AttrEmail, AttrEmailFromRef}},
	"email.sender.address":                       {mailSender, []Attr{AttrEmail, AttrEmailSenderRef}},
	"email.to.address":                           {mailTo, []Attr{AttrEmail, AttrEmailToRefs}},
	"email.cc.address":                           {mailCc, []Attr{AttrEmail, AttrEmailCcRefs}},
	"email.subject":                              {mailSubject, []Attr{AttrEmailSubject}},
	"email.attachments.file.name":                {fileName, []Attr{AttrFileName}},
	"email.attachments.file.hash.md5":            {md5, []Attr{AttrFileMD5}},
	"email.attachments.file.hash.sha1":           {sha1, []Attr{AttrFileSHA1}},
	"email.attachments.file.hash.sha256":         {sha256, []Attr{AttrFileSHA256}},
	// Elastic's zeek smtp, dhcp and ftp pipelines keep these below zeek.*
	// only (no ECS field, not in related.ip): the smtp.log mail fields
	// (mailfrom and rcptto renamed mail_from and rcpt_to), dhcp.log's
	// assigned_addr and requested_addr (renamed address.assigned and
	// address.requested; client and server go to source and
	// destination) and ftp.log's data_channel.orig_h and resp_h.
	"zeek.smtp.mail_from":                    {mailSender, []Attr{AttrEmail, AttrEmailSenderRef}},
	"zeek.smtp.rcpt_to":                      {mailTo, []Attr{AttrEmail, AttrEmailToRefs}},
	"zeek.smtp.from":                         {mailFrom, []Attr{AttrEmail, AttrEmailFromRef}},
	"zeek.smtp.to":                           {mailTo, []Attr{AttrEmail, AttrEmailToRefs}},
	"zeek.smtp.cc":                           {mailCc, []Attr{AttrEmail, AttrEmailCcRefs}},
	"zeek.smtp.reply_to":                     {mailAddr, []Attr{AttrEmail}},
	"zeek.smtp.subject":                      {mailSubject, []Attr{AttrEmailSubject}},
	"zeek.smtp.x_originating_ip":             {anyIP, []Attr{AttrIPv4, AttrIPv6}},
	"zeek.smtp.path":                         {anyIP, []Attr{AttrIPv4, AttrIPv6}},
	"zeek.dhcp.address.assigned":             {anyIP, []Attr{AttrIPv4, AttrIPv6}},
	"zeek.dhcp.address.requested":            {anyIP, []Attr{AttrIPv4, AttrIPv6}},
	"zeek.ftp.data_channel.originating_host": {anyIP, []Attr{AttrIPv4, AttrIPv6}},
	"zeek.ftp.data_channel.response_host":    {anyIP, []Attr{AttrIPv4, AttrIPv6}},
	// and what they keep of Zeek's own reads there too: ftp.log's arg (a
	// file command's ftp:// URL), dhcp.log's mac (renamed address.mac)
	// and radius.log's mac, so that the ECS form of a record gives what
	// the record gives
	"zeek.ftp.arg":          {ftpArg, []Attr{AttrURL}},
	"zeek.dhcp.address.mac": {mac, []Attr{AttrMAC}},
	"zeek.radius.mac":       {mac, []Attr{AttrMAC}},
	// Elastic's zeek socks pipeline writes socks.log's request.host or
	// request.name (whichever the record has) as zeek.socks.request.host,
	// and bound.host as zeek.socks.bound.host; its radius pipeline keeps
	// framed_addr and tunnel_client below zeek.radius (neither in
	// related.ip).
	"zeek.socks.request.host":   {specifiedHostOrIP, []Attr{AttrDomain, AttrIPv4, AttrIPv6}},
	"zeek.socks.bound.host":     {specifiedHostOrIP, []Attr{AttrDomain, AttrIPv4, AttrIPv6}},
	"zeek.radius.framed_addr":   {radiusAddr, []Attr{AttrIPv4, AttrIPv6}},
	"zeek.radius.tunnel_client": {hostOrIP, []Attr{AttrDomain, AttrIPv4, AttrIPv6}},
	// Elastic's zeek notice pipeline moves notice.log's src and dst to
	// source.address and destination.address only where id.orig_h and
	// id.resp_h left none, and keeps them below zeek.notice when they
	// differ: read as notice.log's src and dst are.
	"zeek.notice.src": {anyIP, []Attr{AttrIPv4, AttrIPv6}},
	"zeek.notice.dst": {anyIP, []Attr{AttrIPv4, AttrIPv6}},
	// Elastic's zeek intel pipeline keeps intel.log's seen.indicator and
	// seen.indicator_type below zeek.intel, read as in intel.log (its
	// copies in threat.indicator.* are the ECS form of an indicator, which
	// a threat-intelligence feed's documents also use: not read).
	"zeek.intel.seen.indicator":      {intelValue, intelAttrs},
	"zeek.intel.seen.indicator_type": {intelType, intelAttrs},
	// ECS places x509 below file (a certificate file: Elastic's zeek
	// x509 pipeline writes file.x509.*), tls.server and tls.client; the
	// same pipeline keeps Zeek's san.* and fingerprint (SHA-256) below
	// zeek.x509.
	"file.x509.alternative_names":          {hostOrIP, []Attr{AttrDomain, AttrIPv4, AttrIPv6}},
	"file.x509.serial_number":              {x509Serial, []Attr{AttrX509Serial}},
	"file.x509.subject.distinguished_name": {x509Subject, []Attr{AttrX509Subject}},
	"file.x509.issuer.distinguished_name":  {x509Issuer, []Attr{AttrX509Issuer}},
	"zeek.x509.san.dns":                    {domain, []Attr{AttrDomain}},
	"zeek.x509.san.ip":                     {anyIP, []Attr{AttrIPv4, AttrIPv6}},
	"zeek.x509.san.email":                  {mailAddr, []Attr{AttrEmail}},
	"zeek.x509.san.uri":                    {url, []Attr{AttrURL}},
	"zeek.x509.fingerprint":                {x509SHA256, []Attr{AttrX509SHA256}},
	"related.ip":                           {anyIP, []Attr{AttrIPv4, AttrIPv6}},
	"related.hosts":                        {hostOrIP, []Attr{AttrDomain, AttrIPv4, AttrIPv6}},
	// related.hash is not read: it gathers every digest of the document
	// (file, certificate, JA3, community id), so a value there says
	// nothing about what it is the hash of.
}))

// withEVEBelow adds to an ECS table the EVE fields as Elastic's suricata
// integration leaves them below prefix: its pipeline maps to ECS fields
// only part of an event (addresses, ports, the HTTP host and URL, DNS v1
// and v2, some of TLS) and keeps the rest where it was, Suricata 8's
// default DNS v3 (queries, answers, authorities, additionals) among them,
// and tls.subjectaltname, quic.sni, dhcp, sip's sdp, the SMB, NFS, FTP
// and TFTP file names, alerts' files, the tunnel's addresses and
// http_port (which the URL made of url.domain and url.original lacks).
// What it moved is no longer there, and what it copied (the TLS sni, a v2
// query's rrname) gives the same value twice. Not added: the event's own
// addresses, ports and time stamp, which the pipeline moves, and fields
// the table already names.
func withEVEBelow(prefix string, ecs map[string]fieldDef) map[string]fieldDef {
	for k, d := range eveTable.defs {
		switch k {
		case "timestamp", "src_ip", "dest_ip", "src_port", "dest_port":
			continue
		}
		if _, ok := ecs[prefix+k]; !ok {
			ecs[prefix+k] = d
		}
	}
	return ecs
}

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

// ecsURLOriginal may be a full URL or just a path (with url.domain given:
// finish makes the URL of both).
func ecsURLOriginal(e *Event, _ byte, v []byte) {
	if hasScheme(v) {
		e.url(v)
		return
	}
	httpValue(e, 0, v)
}

func urlScheme(e *Event, _ byte, v []byte) {
	switch string(v) {
	case "http", "https", "HTTP", "HTTPS", "ftp":
		e.httpScheme = string(bytes.ToLower(v))
	}
}

func urlPath(e *Event, _ byte, v []byte) {
	if len(v) > 0 && v[0] == '/' {
		e.urlPath = e.save(v)
	}
}

func urlQuery(e *Event, _ byte, v []byte) {
	if len(v) > 0 {
		e.urlQuery = e.save(v)
	}
}
