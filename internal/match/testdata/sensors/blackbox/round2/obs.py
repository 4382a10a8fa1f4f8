# My own reading of the formats' docs: observables per record.
import ipaddress, json, re, urllib.parse

def unesc(s):
    def one(m):
        n = int(m.group(1), 16)
        return chr(n) if n < 0x80 else chr(0xDC00 + n)   # a raw byte, as surrogateescape holds it
    return re.sub(r'\\x([0-9a-fA-F]{2})|\\\\', lambda m: one(m) if m.group(1) else '\\', s)

def urlfix(u):
    # raw bytes of the target; bytes that are not UTF-8 can only be named %XX
    b = u.encode('utf-8', 'surrogateescape')
    out = ''
    i = 0
    while i < len(b):
        for n in (4, 3, 2, 1):
            try:
                out += b[i:i+n].decode('utf-8'); i += n; break
            except UnicodeDecodeError:
                continue
        else:
            out += '%%%02X' % b[i]; i += 1
    return out

def zeek_tsv(path):
    sep, setsep, empty, unset = '\t', ',', '(empty)', '-'
    fields = types = None
    zpath = ''
    for line in open(path, encoding='utf-8', errors='surrogateescape'):
        line = line.rstrip('\n')
        if line.startswith('#separator'):
            sep = unesc(line.split(' ', 1)[1]); continue
        if line.startswith('#'):
            p = line.split(sep); k = p[0]
            if k == '#set_separator': setsep = unesc(p[1])
            elif k == '#empty_field': empty = unesc(p[1])
            elif k == '#unset_field': unset = unesc(p[1])
            elif k == '#fields': fields = p[1:]
            elif k == '#types': types = p[1:]
            elif k == '#path': zpath = p[1]
            continue
        if not line or fields is None: continue
        vals = line.split(sep); rec = {'_path': zpath}
        for i, f in enumerate(fields):
            if i >= len(vals): break
            v = vals[i]; t = types[i] if types and i < len(types) else 'string'
            if v == unset: continue
            if t.startswith(('set[', 'vector[', 'table[')):
                rec[f] = [] if v == empty else [unesc(x) for x in v.split(setsep)]
            elif v == empty and t == 'string':
                rec[f] = ''
            else:
                rec[f] = unesc(v)
        yield rec

def flat(d, pre=''):
    o = {}
    for k, v in d.items():
        if isinstance(v, dict): o.update(flat(v, pre + k + '.'))
        else: o[pre + k] = v
    return o

def L(v):
    if v is None: return []
    return [str(x) for x in v] if isinstance(v, list) else [str(v)]

def ip(v):
    try: a = ipaddress.ip_address(v.strip())
    except (ValueError, AttributeError): return None
    if a.version == 6 and a.ipv4_mapped: a = a.ipv4_mapped
    return ('ipv%d' % a.version, str(a))

LBL = re.compile(r'^[a-z0-9_]([a-z0-9_-]{0,62})$')
def dom(v):
    v = v.strip().lower().rstrip('.')
    if not v or ip(v) or '*' in v: return None
    if not all(LBL.match(l) for l in v.split('.')): return None
    if '.' not in v: return None   # single label (a host label, not a DNS name a feed lists)
    return ('domain', v)

def host_obs(o, h):
    # host[:port] or [v6]:port
    m = re.match(r'^\[([^\]]+)\](:\d+)?$', h) or re.match(r'^([^:]*)(:\d+)?$', h)
    hh = m.group(1) if m else h
    x = ip(hh) or ip(h) or dom(hh)
    if x: o.add(x)

def email(o, v):
    for part in v.split(','):
        part = part.strip()
        m = re.search(r'<([^<>]*)>\s*$', part)
        if m: part = m.group(1)
        part = part.strip()
        if '@' in part and ' ' not in part and part.count('@') == 1:
            l, d = part.split('@')
            if l and d: o.add(('email', l + '@' + d.lower().rstrip('.')))

def addip(o, v):
    x = ip(v)
    if x: o.add(x)

def zeek(r):
    o = set()
    for k in ('id.orig_h', 'id.resp_h'):
        for v in L(r.get(k)): addip(o, v)
    path = r.get('_path', '')
    # addresses named by log-specific fields (Zeek's per-log Info records)
    for k in ('src', 'dst',                       # notice, traceroute
              'src_addr', 'dst_addr',             # signatures
              'tx_hosts', 'rx_hosts',             # files
              'x_originating_ip', 'path' if path != 'smb_files' and path != 'smb_mapping' else '_',  # smtp
              'client_addr', 'server_addr', 'assigned_addr', 'requested_addr',  # dhcp
              'data_channel.orig_h', 'data_channel.resp_h',  # ftp
              'request.host',                     # socks
              'san.ip'):                          # x509
        for v in L(r.get(k)): addip(o, v)
    if path in ('known_hosts', 'known_services', 'known_certs', 'software') or set(r) <= {'ts', 'host', '_path', '_write_ts'} or \
       ('host' in r and ('software_type' in r or 'port_num' in r)):
        for v in L(r.get('host')): addip(o, v)
    for v in L(r.get('bound.host')):
        if v not in ('0.0.0.0', '::'): addip(o, v)      # unspecified: the proxy bound none
    for v in L(r.get('framed_addr')):
        if v not in ('255.255.255.255', '255.255.255.254', '0.0.0.0'): addip(o, v)  # RFC 2865 5.8
    for k in ('request.name', 'bound.name', 'query', 'server_name', 'san.dns'):
        for v in L(r.get(k)):
            x = dom(v)
            if x: o.add(x)
    for v in L(r.get('tunnel_client')):
        host_obs(o, v)
    if 'qtype_name' in r or 'rcode' in r or path == 'dns':
        for v in L(r.get('answers')):
            x = ip(v)
            if x: o.add(x)
            elif not v.startswith('TXT '):
                x = dom(v)
                if x: o.add(x)
    is_http = path in ('http', 'websocket') or 'status_code' in r and 'trans_depth' in r and 'method' in r and 'request_from' not in r
    if is_http:
        h = r.get('host')
        if h: host_obs(o, h)
        u = r.get('uri')
        if u:   # websocket.log's host and uri are the handshake request's ("same as in the HTTP log")
            if u.startswith('/') and h:
                o.add(('url', urlfix('http://' + h.lower() + u)))
            elif re.match(r'^[a-zA-Z][a-zA-Z0-9+.-]*://', u):
                o.add(('url', u))
        ref = r.get('referrer')
        if ref and re.match(r'^https?://', ref): o.add(('url', ref))
    for k in ('md5', 'sha1', 'sha256'):
        for v in L(r.get(k)): o.add(('hash-' + k, v.lower()))
    for v in L(r.get('cert_chain_fps')) + L(r.get('fingerprint')):
        o.add(('x509-sha256', v.lower()))
    for k in ('mailfrom', 'rcptto', 'from', 'to', 'cc', 'reply_to', 'san.email'):
        if path == 'sip' or 'request_from' in r: break
        for v in L(r.get(k)): email(o, v)
    for v in L(r.get('san.uri')):
        o.add(('url', v))
    # file names
    if path in ('files',) or 'analyzers' in r:
        for v in L(r.get('filename')): o.add(('filename', v))
    if path == 'smb_files' or str(r.get('action', '')).startswith('SMB::FILE_'):
        for v in L(r.get('name')): o.add(('filename', v))
    for v in L(r.get('dcc_file_name')): o.add(('filename', v))
    # intel
    it, iv = r.get('seen.indicator_type'), r.get('seen.indicator')
    if it and iv:
        if it == 'Intel::ADDR': addip(o, iv)
        elif it == 'Intel::DOMAIN':
            x = dom(iv)
            if x: o.add(x)
        elif it == 'Intel::URL':
            o.add(('url', iv if re.match(r'^[a-zA-Z][a-zA-Z0-9+.-]*://', iv) else 'http://' + iv))
        elif it == 'Intel::EMAIL': email(o, iv)
        elif it == 'Intel::FILE_NAME': o.add(('filename', iv))
        elif it == 'Intel::FILE_HASH':
            o.add(({32: 'hash-md5', 40: 'hash-sha1', 64: 'hash-sha256'}.get(len(iv), 'hash-?'), iv.lower()))
        elif it == 'Intel::CERT_HASH':
            o.add(('x509-sha1', iv.lower()))
    # ftp arg URL
    if r.get('command') in ('RETR', 'STOR', 'STOU', 'APPE') and str(r.get('arg', '')).startswith('ftp://'):
        o.add(('url', r['arg']))
    return o

# ---------------- EVE ----------------
def dnsobs(d, o):
    recs = []
    if 'rrname' in d: recs.append(d)
    for k in ('answers', 'queries', 'authorities', 'query', 'additionals'):
        v = d.get(k)
        if isinstance(v, list): recs += [x for x in v if isinstance(x, dict)]
    for r in recs:
        if isinstance(r.get('rrname'), str):
            x = dom(r['rrname'])
            if x: o.add(x)
        rd, t = r.get('rdata'), r.get('rrtype')
        if isinstance(rd, str):
            if t in ('A', 'AAAA'): addip(o, rd)
            elif t in ('CNAME', 'NS', 'PTR', 'MX', 'DNAME'):
                x = dom(rd)
                if x: o.add(x)
        if isinstance(r.get('soa'), dict) and isinstance(r['soa'].get('mname'), str):
            x = dom(r['soa']['mname'])      # the zone's primary name server
            if x: o.add(x)
        if isinstance(r.get('srv'), dict) and isinstance(r['srv'].get('name'), str):
            x = dom(r['srv']['name'])
            if x: o.add(x)
    for t, vs in (d.get('grouped') or {}).items():
        for v in vs:
            if isinstance(v, dict):
                n = v.get('name') if t == 'SRV' else v.get('mname') if t == 'SOA' else None
                x = dom(n) if isinstance(n, str) else None
                if x: o.add(x)
            if not isinstance(v, str): continue
            if t in ('A', 'AAAA'): addip(o, v)
            elif t in ('CNAME', 'NS', 'PTR', 'MX', 'DNAME'):
                x = dom(v)
                if x: o.add(x)

def eve(ev):
    o = set()
    for k in ('src_ip', 'dest_ip'):
        if isinstance(ev.get(k), str): addip(o, ev[k])
    for k in ('dns',):
        if isinstance(ev.get(k), dict): dnsobs(ev[k], o)
    h = ev.get('http')
    if isinstance(h, dict):
        host = h.get('hostname')
        u = h.get('url')
        if host:
            host_obs(o, host)
        if isinstance(u, str) and u:
            if u.startswith('/') and host:
                port = h.get('http_port')
                hp = host.lower()
                if ':' in hp and not hp.startswith('['): hp = '[' + hp + ']'
                if port and port != 80: hp += ':%d' % port
                o.add(('url', 'http://' + hp + u))
            elif re.match(r'^https?://', u):
                o.add(('url', u))
        ref = h.get('http_refer')
        if isinstance(ref, str) and re.match(r'^https?://', ref): o.add(('url', ref))
    t = ev.get('tls')
    if isinstance(t, dict):
        if t.get('sni'):
            x = dom(t['sni'])
            if x: o.add(x)
        if t.get('fingerprint'): o.add(('x509-sha1', t['fingerprint'].replace(':', '').lower()))
    q = ev.get('quic')
    if isinstance(q, dict) and q.get('sni'):
        x = dom(q['sni'])
        if x: o.add(x)
    fis = []
    if isinstance(ev.get('fileinfo'), dict): fis.append(ev['fileinfo'])
    if isinstance(ev.get('files'), list): fis += [f for f in ev['files'] if isinstance(f, dict)]
    for fi in fis:
        for k in ('md5', 'sha1', 'sha256'):
            if fi.get(k): o.add(('hash-' + k, fi[k].lower()))
        if isinstance(fi.get('filename'), str) and fi['filename']: o.add(('filename', fi['filename']))
    s = ev.get('smtp')
    if isinstance(s, dict):
        for v in L(s.get('mail_from')) + L(s.get('rcpt_to')): email(o, v)
    e = ev.get('email')
    if isinstance(e, dict):
        for k in ('from', 'to', 'cc'):
            for v in L(e.get(k)): email(o, v)
        for v in L(e.get('url')):
            if re.match(r'^https?://', v): o.add(('url', v))
        for v in L(e.get('attachment')): o.add(('filename', v))
    d = ev.get('dhcp')
    if isinstance(d, dict):
        for k in ('assigned_ip', 'client_ip', 'requested_ip', 'relay_ip', 'next_server_ip', 'routers', 'dns_servers'):
            for v in L(d.get(k)):
                if v != '0.0.0.0': addip(o, v)
    for k, f in (('smb', 'filename'), ('nfs', 'filename'), ('ftp_data', 'filename'), ('tftp', 'file')):
        x = ev.get(k)
        if isinstance(x, dict) and isinstance(x.get(f), str) and x[f]:
            o.add(('filename', x[f]))
    # X-Forwarded-For, extra-data mode (suricata.yaml's xff: "adding an extra field")
    xs = [ev.get('xff')] + [(ev.get(k) or {}).get('xff') if isinstance(ev.get(k), dict) else None for k in ('alert', 'http')]
    for x in xs:
        if isinstance(x, str):
            for part in x.split(','):
                addip(o, part)
    a = ev.get('arp')
    if isinstance(a, dict):
        for k in ('src_ip', 'dest_ip'):
            if isinstance(a.get(k), str): addip(o, a[k])
    return o
