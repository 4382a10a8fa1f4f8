# Independent observables of Suricata EVE events, from Suricata's EVE JSON
# format documentation (userguide output/eve/eve-json-format).
import json, re, sys
sys.path.insert(0, __import__('os').path.dirname(__import__('os').path.abspath(__file__)))
from zobs import ip, dom

def add(s, x):
    if x: s.add(x)

def dns_obs(d, o):
    recs = []
    if 'rrname' in d: recs.append(d)
    for k in ('answers', 'queries', 'authorities', 'query'):
        v = d.get(k)
        if isinstance(v, list): recs += [x for x in v if isinstance(x, dict)]
    for r in recs:
        if 'rrname' in r: add(o, dom(r['rrname']))
        rd, t = r.get('rdata'), r.get('rrtype')
        if isinstance(rd, str):
            if t in ('A', 'AAAA'): add(o, ip(rd))
            elif t in ('CNAME', 'NS', 'PTR', 'MX', 'DNAME', 'SRV'): add(o, dom(rd))
    for t, vs in (d.get('grouped') or {}).items():
        for v in vs:
            if not isinstance(v, str): continue
            if t in ('A', 'AAAA'): add(o, ip(v))
            elif t in ('CNAME', 'NS', 'PTR', 'MX'): add(o, dom(v))

def observables(ev):
    o = set()
    for k in ('src_ip', 'dest_ip'):
        if k in ev: add(o, ip(ev[k]))
    if isinstance(ev.get('dns'), dict): dns_obs(ev['dns'], o)
    h = ev.get('http')
    if isinstance(h, dict):
        host = h.get('hostname')
        if host:
            add(o, ip(host) or dom(host))
            u = h.get('url', '')
            if u.startswith('/') and not ip(host):
                port = h.get('http_port')
                hp = host.lower() + (':%d' % port if port and port != 80 else '')
                o.add(('url', 'http://' + hp + u))
    t = ev.get('tls')
    if isinstance(t, dict):
        if t.get('sni'): add(o, dom(t['sni']))
        if t.get('fingerprint'): o.add(('x509-sha1', t['fingerprint'].replace(':', '').lower()))
    q = ev.get('quic')
    if isinstance(q, dict) and q.get('sni'): add(o, dom(q['sni']))
    fis = []
    if isinstance(ev.get('fileinfo'), dict): fis.append(ev['fileinfo'])
    if isinstance(ev.get('files'), list): fis += ev['files']
    for fi in fis:
        for k in ('md5', 'sha1', 'sha256'):
            if fi.get(k): o.add(('hash-' + k, fi[k].lower()))
    d = ev.get('dhcp')
    if isinstance(d, dict):
        for k in ('assigned_ip', 'client_ip', 'requested_ip'):
            v = d.get(k)
            if v and v != '0.0.0.0': add(o, ip(v))
    return o
