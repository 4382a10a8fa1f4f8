# Black-box round 4: observables each record carries, worked out from the
# formats' documentation (Suricata's EVE format page of the 7.0 userguide,
# Zeek's log reference for the logs used, the ECS field reference) and the
# README's "Sensor formats" table (Parley's decoder was read only to
# explain differences, never to write this).
# One indicator per distinct value; `parley match` per file; every
# per-indicator count, first_seen and last_seen compared.
#   python3 check.py PARLEY eve|zeek FILE...   (PROBE=1: also an indicator
#     for every typed reading of every string, to see what is read beyond
#     the documentation; SHOW=N: differences shown per file;
#     ONCE=1: every file in one `parley match` run)
#   python3 check.py --expect eve|zeek FILE OUT  (the wanted counts, for
#     TestSuricata7RealEVECounts)
import collections, datetime, gzip, os, ipaddress, json, re, subprocess, sys, uuid

def addr(v):
    """('ipv4'|'ipv6', canonical) or None."""
    if not isinstance(v, str):
        return None
    s = v.strip()
    if s.startswith('[') and s.endswith(']'):
        s = s[1:-1]
    try:
        a = ipaddress.ip_address(s)
    except ValueError:
        return None
    if a.version == 6 and a.ipv4_mapped:
        return ('ipv4', str(a.ipv4_mapped))
    return ('ipv4' if a.version == 4 else 'ipv6', str(a))

NAME = re.compile(r'^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*$')

def name(v):
    if not isinstance(v, str):
        return None
    s = v.strip().rstrip('.').lower()
    if not s or addr(s) or '*' in s or not NAME.match(s):
        return None
    if s.rsplit('.', 1)[-1].isdigit():
        return None  # RFC 3696 section 2: no top-level domain is all digits (the README's rule)
    return ('domain', s)

def host(v):
    return addr(v) or name(v)

def email(v):
    if not isinstance(v, str):
        return None
    m = re.findall(r'<([^<>@\s]+@[^<>\s]+)>', v)
    s = m[-1] if m else v.strip().strip('<>')  # the last <addr>: a display name may quote another
    if '@' not in s or ' ' in s:
        return None
    local, _, dom = s.rpartition('@')
    return ('email', local + '@' + dom.lower())  # RFC 5321: the local part is case-sensitive

def add(out, x):
    if x:
        if x[0] == 'url':
            x = ('url', url_key(x[1]))
        out.add(x)

def remove_dot_segments(path):
    out = []
    for seg in path.split('/'):
        if seg == '..':
            if len(out) > 1:
                out.pop()
        elif seg != '.':
            out.append(seg)
    if path.endswith(('/.', '/..')):
        out.append('')
    return '/'.join(out)

OK = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#[]@!$&'()*+,;=%")

def url_key(u):
    m = re.match(r'^([a-zA-Z][a-zA-Z0-9+.-]*)://([^/?#]*)([^?#]*)(.*)$', u)
    if not m:
        return u
    path = m.group(3) or '/'
    enc = lambda t: ''.join(chr(b) if b in OK else '%%%02X' % b for b in t.encode('utf-8', 'surrogateescape'))
    fix = lambda t: re.sub(r'%([0-9a-fA-F]{2})', lambda q: '%' + q.group(1).upper(), re.sub(r'%(?![0-9a-fA-F]{2})', '%25', t))
    return '%s://%s%s%s' % (m.group(1).lower(), m.group(2).lower(), remove_dot_segments(enc(fix(path))), enc(fix(m.group(4))))

def lst(v):
    if v is None:
        return []
    return v if isinstance(v, list) else [v]

# ---------------------------------------------------------------- EVE
def eve_server_port(e):
    """The port of the server end, where the event says which end that
    is (README, EVE http row): an alert's flow.dest_port, or its dest_port
    or src_port by its direction; an http event's dest_port; a GET's or
    HEAD's fileinfo event's src_port (fileinfo is logged in the file's
    direction)."""
    t = e.get('event_type')
    fl = e.get('flow') if isinstance(e.get('flow'), dict) else {}
    if t == 'alert' and fl.get('dest_port') is not None:
        return fl['dest_port']
    if t == 'http' or t == 'alert' and e.get('direction') == 'to_server':
        return e.get('dest_port')
    if t == 'alert' and e.get('direction') == 'to_client':
        return e.get('src_port')
    if t == 'fileinfo' and (e.get('http') or {}).get('http_method') in ('GET', 'HEAD'):
        return e.get('src_port')
    return None

def eve_http(h, out, e={}):
    hn = h.get('hostname')
    add(out, host(hn))
    u = h.get('url')
    if isinstance(u, str) and u:
        if re.match(r'^[a-zA-Z][a-zA-Z0-9+.-]*://', u):
            if u.lower().startswith('http://'):
                add(out, ('url', u))
        elif host(hn) and u.startswith('/'):  # a Host that is no host name ("/", a label over 63) gives no URL
            p = h.get('http_port')
            if p is None:
                p = eve_server_port(e)
            hp = hn if not addr(hn) or addr(hn)[0] == 'ipv4' else '[%s]' % hn.strip('[]')
            add(out, ('url', 'http://%s%s%s' % (hp.lower(), ':%d' % p if p and p != 80 else '', u)))
    r = h.get('http_refer')
    if isinstance(r, str) and r.lower().startswith('http://'):
        add(out, ('url', r))

def eve_dns_rr(rr, out):
    add(out, name(rr.get('rrname')))
    t, d = rr.get('rrtype'), rr.get('rdata')
    if t in ('A', 'AAAA'):
        add(out, addr(d))
    elif t in ('CNAME', 'NS', 'PTR', 'MX', 'DNAME', 'SRV'):
        add(out, name(d))
    if isinstance(rr.get('srv'), dict):
        add(out, name(rr['srv'].get('name')))
    if isinstance(rr.get('soa'), dict):
        add(out, name(rr['soa'].get('mname')))

def eve_dns(d, out, alert):
    if alert:
        for q in lst(d.get('query')):
            add(out, name(q.get('rrname')))
        a = d.get('answer')
        if isinstance(a, dict):
            add(out, name(a.get('rrname')))
            for rr in lst(a.get('answers')) + lst(a.get('authorities')):
                eve_dns_rr(rr, out)
            for k, vs in (a.get('grouped') or {}).items():
                for v in vs:
                    add(out, addr(v) if k in ('A', 'AAAA') else name(v) if k in ('CNAME', 'NS', 'PTR', 'MX') else None)
        return
    add(out, name(d.get('rrname')))
    if d.get('type') == 'answer' and 'answers' not in d and 'grouped' not in d:
        eve_dns_rr(d, out)  # v1
    for rr in lst(d.get('answers')):
        eve_dns_rr(rr, out)
    for rr in lst(d.get('authorities')):
        eve_dns_rr(rr, out)
    for k, vs in (d.get('grouped') or {}).items():
        for v in vs:
            if k in ('A', 'AAAA'):
                add(out, addr(v))
            elif k in ('CNAME', 'NS', 'PTR', 'MX'):
                add(out, name(v))
            elif k == 'SRV' and isinstance(v, dict):
                add(out, name(v.get('name')))

def hashes(o, out):
    for k, t in (('md5', 'md5'), ('sha1', 'sha1'), ('sha256', 'sha256')):
        v = o.get(k)
        if isinstance(v, str) and re.fullmatch(r'[0-9a-fA-F]+', v):
            out.add((t, v.lower()))

def file_name(fn, out):
    """README: a file name is read as written and, when it is a path
    (/ or \\ separated), as its last element too."""
    out.add(('file', fn))
    last = re.split(r'[/\\]', fn)[-1]
    if last:
        out.add(('file', last))

def eve_file(f, out):
    fn = f.get('filename')
    if isinstance(fn, str) and fn:
        file_name(fn, out)
    hashes(f, out)

def eve_obs(e):
    out = set()
    for k in ('src_ip', 'dest_ip'):
        add(out, addr(e.get(k)))
    t = e.get('tunnel') or {}
    for k in ('src_ip', 'dest_ip'):
        add(out, addr(t.get(k)))
    add(out, addr(e.get('xff')))
    ether = e.get('ether') or {}
    for k in ('src_mac', 'dest_mac'):
        if ether.get(k):
            out.add(('mac', ether[k].lower()))
    for k in ('src_macs', 'dest_macs'):
        for m in lst(ether.get(k)):
            out.add(('mac', m.lower()))
    alert = e.get('event_type') == 'alert'
    if isinstance(e.get('http'), dict):
        eve_http(e['http'], out, e)
        add(out, addr((e.get('alert') or {}).get('xff')))
    if isinstance(e.get('dns'), dict):
        eve_dns(e['dns'], out, alert)
    for p in ('tls', 'quic'):
        x = e.get(p)
        if isinstance(x, dict):
            add(out, name(x.get('sni')))
    tls = e.get('tls')
    if isinstance(tls, dict):
        for s in lst(tls.get('subjectaltname')):
            add(out, host(s))
        fp = tls.get('fingerprint')
        if isinstance(fp, str) and fp:
            out.add(('x509-sha1', fp.replace(':', '').lower()))
    if isinstance(e.get('fileinfo'), dict):
        eve_file(e['fileinfo'], out)
    for f in lst(e.get('files')):
        if isinstance(f, dict):
            eve_file(f, out)
    smtp = e.get('smtp')
    if isinstance(smtp, dict):
        add(out, email(smtp.get('mail_from')))
        for r in lst(smtp.get('rcpt_to')):
            add(out, email(r))
    em = e.get('email')
    if isinstance(em, dict):
        for k in ('from', 'to', 'cc'):
            for v in lst(em.get(k)):
                add(out, email(v))
        for a in lst(em.get('attachment')):
            if a:
                file_name(a, out)
        for u in lst(em.get('url')):
            if isinstance(u, str) and u:
                if not re.match(r'^[a-zA-Z][a-zA-Z0-9+.-]*://', u):
                    u = 'http://' + u
                if u.lower().startswith('http://'):
                    add(out, ('url', u))
    dh = e.get('dhcp')
    if isinstance(dh, dict):
        if dh.get('client_mac'):
            out.add(('mac', dh['client_mac'].lower()))
        for k in ('assigned_ip', 'client_ip', 'relay_ip', 'next_server_ip', 'requested_ip', 'routers', 'dns_servers'):
            for v in lst(dh.get(k)):
                if v != '0.0.0.0':
                    add(out, addr(v))
    for p, k in (('smb', 'filename'), ('nfs', 'filename'), ('ftp_data', 'filename'), ('tftp', 'file')):
        x = e.get(p)
        if isinstance(x, dict) and isinstance(x.get(k), str) and x[k]:
            file_name(x[k], out)
    return out

def eve_time(e):
    return parse_time(e['timestamp'])

# ---------------------------------------------------------------- Zeek JSON
def zget(r, k):
    if k in r:
        return r[k]
    cur = r
    for p in k.split('.'):
        if not isinstance(cur, dict) or p not in cur:
            return None
        cur = cur[p]
    return cur

def zeek_obs(r, path):
    out = set()
    for k in ('id.orig_h', 'id.resp_h'):
        add(out, addr(zget(r, k)))
    if path == 'dns':
        add(out, name(zget(r, 'query')))
        for a in lst(zget(r, 'answers')):
            add(out, host(a))
    elif path == 'http':
        h, u = zget(r, 'host'), zget(r, 'uri')
        add(out, host(h))
        if h and isinstance(u, str) and u.startswith('/'):
            # Zeek's host has no port; HTTP::build_url adds the
            # connection's server port unless it is 80
            p = zget(r, 'id.resp_p')
            try:
                p = int(p)
            except (TypeError, ValueError):
                p = None
            add(out, ('url', 'http://%s%s%s' % (h.lower(), ':%d' % p if p and p != 80 else '', u)))
        ref = zget(r, 'referrer')
        if isinstance(ref, str) and ref.lower().startswith('http://'):
            add(out, ('url', ref))
    elif path == 'ssl':
        add(out, name(zget(r, 'server_name')))
        for fp in lst(zget(r, 'cert_chain_fps')):
            out.add(('x509-sha256', fp.lower()))
    elif path == 'files':
        hashes({k: zget(r, k) for k in ('md5', 'sha1', 'sha256')}, out)
        fn = zget(r, 'filename')
        if fn:
            file_name(fn, out)
        for k in ('tx_hosts', 'rx_hosts'):
            for v in lst(zget(r, k)):
                add(out, addr(v))
    elif path == 'x509':
        fp = zget(r, 'fingerprint')
        if fp:
            out.add(('x509-sha256', fp.lower()))
        for v in lst(zget(r, 'san.dns')):
            add(out, name(v))
        for v in lst(zget(r, 'san.ip')):
            add(out, addr(v))
        for v in lst(zget(r, 'san.email')):
            add(out, email(v))
    elif path == 'smtp':
        for k in ('mailfrom', 'rcptto', 'from', 'to', 'cc', 'reply_to'):
            for v in lst(zget(r, k)):
                add(out, email(v))
        for k in ('x_originating_ip', 'path'):
            for v in lst(zget(r, k)):
                add(out, addr(v))
    elif path == 'notice' or path == 'traceroute':
        for k in ('src', 'dst'):
            add(out, addr(zget(r, k)))
    elif path == 'dhcp':
        for k in ('client_addr', 'server_addr', 'requested_addr', 'assigned_addr'):
            add(out, addr(zget(r, k)))
        if zget(r, 'mac'):
            out.add(('mac', zget(r, 'mac').lower()))
    elif path == 'ftp':
        for k in ('data_channel.orig_h', 'data_channel.resp_h'):
            add(out, addr(zget(r, k)))
        a = zget(r, 'arg')
        if isinstance(a, str) and a.startswith('ftp://'):
            add(out, ('url', a))
    elif path in ('known_hosts', 'known_services', 'known_certs', 'software'):
        add(out, addr(zget(r, 'host')))
    elif path == 'smb_files':
        act = zget(r, 'action') or ''
        if act.startswith('SMB::FILE_'):
            for k in ('name', 'prev_name'):
                if zget(r, k):
                    file_name(zget(r, k), out)
    elif path in ('signatures', 'signature'):
        for k in ('src_addr', 'dst_addr'):
            add(out, addr(zget(r, k)))
    elif path == 'radius':
        if zget(r, 'mac'):
            out.add(('mac', zget(r, 'mac').lower()))
    elif path == 'socks':
        for k in ('request.host', 'bound.host'):
            if zget(r, k) != '0.0.0.0':
                add(out, addr(zget(r, k)))
        for k in ('request.name', 'bound.name'):
            add(out, name(zget(r, k)))
    elif path == 'irc':
        if zget(r, 'dcc_file_name'):
            file_name(zget(r, 'dcc_file_name'), out)
    elif path == 'conn':
        for k in ('orig_l2_addr', 'resp_l2_addr'):
            if zget(r, k):
                out.add(('mac', zget(r, k).lower()))
    return out

def parse_time(v):
    if isinstance(v, (int, float)):
        return datetime.datetime.fromtimestamp(v, datetime.timezone.utc)
    s = v.replace('Z', '+00:00')
    m = re.match(r'^(.*[T ]\d\d:\d\d:\d\d)(\.\d+)?([+-]\d\d):?(\d\d)$', s)
    if m:
        frac = (m.group(2) or '.0')[:7]
        s = '%s%s%s:%s' % (m.group(1), frac, m.group(3), m.group(4))
    return datetime.datetime.fromisoformat(s).astimezone(datetime.timezone.utc)

# ---------------------------------------------------------------- compare
PAT = {
    'ipv4': "[ipv4-addr:value = '%s']", 'ipv6': "[ipv6-addr:value = '%s']",
    'domain': "[domain-name:value = '%s']", 'url': "[url:value = '%s']",
    'md5': "[file:hashes.MD5 = '%s']", 'sha1': "[file:hashes.'SHA-1' = '%s']",
    'sha256': "[file:hashes.'SHA-256' = '%s']", 'file': "[file:name = '%s']",
    'x509-sha1': "[x509-certificate:hashes.'SHA-1' = '%s']",
    'x509-sha256': "[x509-certificate:hashes.'SHA-256' = '%s']",
    'email': "[email-addr:value = '%s']", 'mac': "[mac-addr:value = '%s']",
}

def unescape(v):
    # Zeek's ASCII writer: \\ a backslash, \xHH a byte
    return re.sub(r'\\(\\|x[0-9a-fA-F]{2})', lambda m: '\\' if m.group(1) == '\\' else chr(int(m.group(1)[1:], 16)), v)

def tsv_records(f):
    """Zeek's ASCII writer: # headers, tab separated, '-' unset,
    '(empty)' an empty set, ',' between set or vector elements."""
    op = gzip.open if f.endswith('.gz') else open
    fields, types, path, sep = [], [], '', ','
    for ln in op(f, 'rt', encoding='utf-8', errors='surrogateescape'):
        ln = ln.rstrip('\n')
        if ln.startswith('#'):
            k, _, v = ln[1:].partition('\t')
            if k == 'fields': fields = v.split('\t')
            elif k == 'types': types = v.split('\t')
            elif k == 'path': path = v
            elif k == 'set_separator': sep = unescape(v)
            continue
        r = {'_path': path}
        for name, typ, val in zip(fields, types, ln.split('\t')):
            if val == '-':
                continue
            if typ.startswith(('set[', 'vector[')):
                r[name] = [] if val == '(empty)' else [unescape(x) for x in val.split(sep)]
            elif typ == 'time':
                r[name] = float(val)
            else:
                r[name] = unescape(val)
        yield r

def leaves(v):
    if isinstance(v, dict):
        for x in v.values():
            yield from leaves(x)
    elif isinstance(v, list):
        for x in v:
            yield from leaves(x)
    elif isinstance(v, str):
        yield v

def probes(r):
    """With PROBE=1: every typed reading of every string of the record,
    so a value Parley reads where the documentation says nothing is read
    shows as a count where none is wanted."""
    out = set()
    for v in leaves(r):
        if len(v) > 300:
            continue
        for x in (addr(v), name(v), email(v)):
            add(out, x)
        if re.match(r'^(https?|ftp)://', v, re.I):
            add(out, ('url', v))
        if re.fullmatch(r'[0-9a-fA-F]{32}', v):
            out.add(('md5', v.lower()))
        if re.fullmatch(r'[0-9a-fA-F]{40}|([0-9a-fA-F]{2}:){19}[0-9a-fA-F]{2}', v):
            out.add(('sha1', v.replace(':', '').lower())); out.add(('x509-sha1', v.replace(':', '').lower()))
        if re.fullmatch(r'[0-9a-fA-F]{64}', v):
            out.add(('sha256', v.lower())); out.add(('x509-sha256', v.lower()))
        if re.fullmatch(r'([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}', v):
            out.add(('mac', v.lower().replace('-', ':')))
        if v.strip() and '\x00' not in v:
            out.add(('file', v))
            last = re.split(r'[/\\]', v)[-1]
            if last:
                out.add(('file', last))
    return out

PROBE = os.environ.get('PROBE') == '1'

def records(kind, f):
    if kind == 'zeek' and not (gzip.open(f, 'rt') if f.endswith('.gz') else open(f)).read(1).startswith('{'):
        for r in tsv_records(f):
            yield zeek_obs(r, r['_path']), parse_time(r['ts']), probes(r) if PROBE else set()
        return
    op = gzip.open if f.endswith('.gz') else open
    for ln in op(f, 'rt', encoding='utf-8', errors='surrogateescape'):
        ln = ln.strip()
        if not ln.startswith('{'):
            continue
        try:
            r = json.loads(ln)
        except ValueError:
            continue
        if kind == 'eve':
            if 'event_type' not in r:
                continue
            yield eve_obs(r), eve_time(r), probes(r) if PROBE else set()
        else:
            path = r.get('_path') or re.sub(r'.*/|[-_.]json.*|\.log$', '', f)
            yield zeek_obs(r, path), parse_time(r['ts']), probes(r) if PROBE else set()

def expect(kind, f, outp):
    """Write the counts wanted of f, one indicator a line, as a JSON array:
    pattern, count, first_seen, last_seen (for a Go test)."""
    want = {}
    for o, t, _ in records(kind, f):
        for kv in o:
            c, lo, hi = want.get(kv, (0, t, t))
            want[kv] = (c + 1, min(lo, t), max(hi, t))
    z = lambda t: t.strftime('%Y-%m-%dT%H:%M:%S.%fZ')
    with open(outp, 'w') as w:
        for (k, v), (c, lo, hi) in sorted(want.items()):
            pat = PAT[k] % v.replace('\\', '\\\\').replace("'", "\\'")
            w.write(json.dumps([pat, c, z(lo), z(hi)]) + '\n')

def main():
    if sys.argv[1] == '--expect':
        return expect(sys.argv[2], sys.argv[3], sys.argv[4])
    parley, kind, files = sys.argv[1], sys.argv[2], sys.argv[3:]
    per = {f: list(records(kind, f)) for f in files}
    vals = sorted({kv for recs in per.values() for o, _, pr in recs for kv in o | pr})
    ids, objs = {}, []
    for k, v in vals:
        i = 'indicator--' + str(uuid.uuid5(uuid.NAMESPACE_URL, k + '\0' + v))
        ids[i] = (k, v)
        objs.append({'type': 'indicator', 'spec_version': '2.1', 'id': i,
                     'created': '2020-01-01T00:00:00Z', 'modified': '2020-01-01T00:00:00Z',
                     'pattern': PAT[k] % v.replace('\\', '\\\\').replace("'", "\\'"),
                     'pattern_type': 'stix', 'valid_from': '1970-01-01T00:00:00Z'})
    bundle = '/tmp/sensors/round4-bundle.json'
    json.dump({'type': 'bundle', 'id': 'bundle--' + str(uuid.uuid4()), 'objects': objs}, open(bundle, 'w'))
    bad = 0
    total = collections.Counter()
    if os.environ.get('ONCE') == '1':
        # all files in one run: counts add up, first and last span them
        per = {' '.join(per): [r for recs in per.values() for r in recs]}
    for f, recs in per.items():
        want = {}
        for o, t, _ in recs:
            for kv in o:
                c, lo, hi = want.get(kv, (0, t, t))
                want[kv] = (c + 1, min(lo, t), max(hi, t))
        p = subprocess.run([parley, 'match', '--indicators', bundle, '--format', os.environ.get('FORMAT', kind),
                            '--as', 'identity--00000000-0000-4000-8000-000000000000'] + f.split(' '),
                           capture_output=True, text=True)
        got = {}
        for ln in p.stdout.splitlines():
            if ln.startswith('{'):
                s = json.loads(ln)
                got[ids[s['sighting_of_ref']]] = (s['count'], parse_time(s['first_seen']), parse_time(s['last_seen']))
        diffs = []
        for kv in sorted(set(want) | set(got)):
            w, g = want.get(kv), got.get(kv)
            if not w or not g or w[0] != g[0] or abs((w[1] - g[1]).total_seconds()) > 0.001 or abs((w[2] - g[2]).total_seconds()) > 0.001:
                diffs.append((kv, w, g))
        total['records'] += len(recs)
        total['indicators fired'] += len(got)
        total['sightings count'] += sum(g[0] for g in got.values())
        m = re.search(r'(\d+) events, (\d+) matched, (\d+) malformed', p.stderr)
        if diffs or p.returncode or not m:
            bad += 1
            print('==', f, 'rc', p.returncode, m.group(0) if m else p.stderr[-300:])
            for kv, w, g in diffs[:int(os.environ.get('SHOW', '40'))]:
                print('   ', kv, 'want', w and (w[0], w[1].isoformat(), w[2].isoformat()), 'got', g and (g[0], g[1].isoformat(), g[2].isoformat()))
    print('files', len(per), 'differing', bad, dict(total), 'indicators', len(ids))

main()
