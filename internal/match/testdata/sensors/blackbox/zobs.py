# Independent observable extraction for Zeek logs (TSV and JSON), from
# Zeek's log reference (docs.zeek.org, "Zeek Logs" and the per-script
# Info records). Returns per record a set of (kind, value).
import ipaddress, json, re

def unesc(s):
    return re.sub(r'\\x([0-9a-fA-F]{2})', lambda m: chr(int(m.group(1), 16)), s)

def tsv_records(path):
    sep, setsep, empty, unset = '\t', ',', '(empty)', '-'
    fields = types = None
    for line in open(path, encoding='utf-8', errors='surrogateescape'):
        line = line.rstrip('\n')
        if line.startswith('#separator'):
            sep = unesc(line.split(' ', 1)[1]); continue
        if line.startswith('#'):
            parts = line.split(sep)
            k = parts[0]
            if k == '#set_separator': setsep = unesc(parts[1])
            elif k == '#empty_field': empty = unesc(parts[1])
            elif k == '#unset_field': unset = unesc(parts[1])
            elif k == '#fields': fields = parts[1:]
            elif k == '#types': types = parts[1:]
            continue
        if not line or fields is None:
            continue
        vals = line.split(sep)
        rec = {}
        for i, f in enumerate(fields):
            if i >= len(vals): break
            v, t = vals[i], (types[i] if types and i < len(types) else 'string')
            if v == unset: continue
            if t.startswith(('set[', 'vector[', 'table[')):
                rec[f] = [] if v == empty else [unesc(x) for x in v.split(setsep)]
            else:
                rec[f] = unesc(v)
        yield rec

def flatten(d, pre=''):
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flatten(v, pre + k + '.'))
        else:
            out[pre + k] = v
    return out

def json_records(path):
    for line in open(path, encoding='utf-8', errors='surrogateescape'):
        line = line.strip()
        if not line.startswith('{'): continue
        yield flatten(json.loads(line))

def lst(v):
    if v is None: return []
    if isinstance(v, list): return [str(x) for x in v]
    return [str(v)]

def ip(v):
    try:
        a = ipaddress.ip_address(v)
    except ValueError:
        return None
    if a.version == 6 and a.ipv4_mapped:
        a = a.ipv4_mapped
    return ('ipv%d' % a.version, str(a))

LABEL = re.compile(r'^[a-z0-9_]([a-z0-9_-]{0,62})$')
def dom(v):
    v = v.strip().lower().rstrip('.')
    if not v or ip(v) or '*' in v or ' ' in v: return None
    if not all(LABEL.match(l) for l in v.split('.')): return None
    return ('domain', v)

def add(s, x):
    if x: s.add(x)

def observables(r, path_hint=''):
    o = set()
    for k in ('id.orig_h', 'id.resp_h', 'src', 'dst', 'x_originating_ip',
              'client_addr', 'server_addr', 'assigned_addr', 'requested_addr',
              'host', 'tx_hosts', 'rx_hosts', 'path', 'san.ip',
              'data_channel.orig_h', 'data_channel.resp_h'):
        for v in lst(r.get(k)):
            add(o, ip(v))
    # dns: query is a name; answers addresses or names (TXT as "TXT n text")
    for k in ('query', 'server_name', 'san.dns'):
        for v in lst(r.get(k)):
            add(o, dom(v))
    for v in lst(r.get('answers')):
        a = ip(v)
        if a: o.add(a)
        elif not v.startswith('TXT '): add(o, dom(v))
    # http host: a name (port stripped) or an address
    if r.get('_path') == 'http' or 'method' in r or 'uri' in r or 'user_agent' in r:
        for v in lst(r.get('host')):
            h = v
            m = re.match(r'^(\[[^\]]*\]|[^:]*)(:\d+)?$', v)
            if m: h = m.group(1).strip('[]')
            add(o, ip(h) or dom(h))
    for k in ('md5', 'sha1', 'sha256'):
        for v in lst(r.get(k)):
            o.add(('hash-' + k, v.lower()))
    for v in lst(r.get('cert_chain_fps')) + lst(r.get('fingerprint')):
        o.add(('x509-sha256', v.lower()))
    for k in ('mailfrom', 'rcptto', 'from', 'to', 'cc', 'reply_to', 'san.email'):
        for v in lst(r.get(k)):
            for part in (v.split(',') if k in ('to', 'cc', 'from', 'reply_to') else [v]):
                part = part.strip()
                m = re.search(r'<([^<>]*)>\s*$', part)
                if m: part = m.group(1)
                part = part.strip()
                if '@' in part and ' ' not in part:
                    l, d = part.rsplit('@', 1)
                    o.add(('email', l + '@' + d.lower().rstrip('.')))
    return o
