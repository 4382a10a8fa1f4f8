# Round 3: observables of an EVE event, from Suricata's EVE JSON format
# docs. Usage: python3 eve.py PARLEY EVENTS OUTDIR, where EVENTS has one
# "<test>\t<event>" a line (../../eve-verify/make.py's output for each of
# suricata-verify's tests, the test's name put in front); each test's
# events go to OUTDIR/<test>.json and are matched as one file.
import sys, os, json, re, collections
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness
from zobs import ip, dom
def add(s, x):
    if x: s.add(x)
def dns(d, o):
    recs = [d] if 'rrname' in d else []
    for k in ('answers', 'queries', 'authorities', 'additionals', 'query'):
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
            if isinstance(v, str):
                if t in ('A', 'AAAA'): add(o, ip(v))
                elif t in ('CNAME', 'NS', 'PTR', 'MX'): add(o, dom(v))
def obs(ev):
    o = set()
    for k in ('src_ip', 'dest_ip'):
        if isinstance(ev.get(k), str): add(o, ip(ev[k]))
    tu = ev.get('tunnel')
    if isinstance(tu, dict):
        for k in ('src_ip', 'dest_ip'):
            if isinstance(tu.get(k), str): add(o, ip(tu[k]))
    if isinstance(ev.get('dns'), dict): dns(ev['dns'], o)
    h = ev.get('http')
    if isinstance(h, dict):
        host = h.get('hostname')
        if host:
            hh = host[1:-1] if host.startswith('[') else host
            add(o, ip(hh) or dom(hh))
            u = h.get('url', '')
            if u.startswith('/') and not ip(hh):
                port = h.get('http_port')
                hp = host.lower() + (':%d' % port if port and port != 80 else '')
                o.add(('url', 'http://' + hp + u))
        elif isinstance(h.get('url'), str) and h['url'].startswith('http://'):
            o.add(('url', h['url']))
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
        for k in ('assigned_ip', 'client_ip', 'requested_ip', 'relay_ip', 'next_server_ip'):
            v = d.get(k)
            if isinstance(v, str) and v != '0.0.0.0': add(o, ip(v))
        for k in ('routers', 'dns_servers'):
            for v in d.get(k) or []: add(o, ip(v))
    return o
if __name__ == '__main__':
    parley, src, out = sys.argv[1], sys.argv[2], sys.argv[3]
    byt = collections.defaultdict(list)
    os.makedirs(out, exist_ok=True)
    for l in open(src):
        t, j = l.rstrip('\n').split('\t', 1)
        byt[t].append(j)
    per = {}
    for t, ls in byt.items():
        p = os.path.join(out, t + '.json')
        open(p, 'w').write('\n'.join(ls) + '\n')
        per[p] = [obs(json.loads(j)) for j in ls]
    harness.compare(parley, per, os.path.join(out, 'bundle.json'), show=10)
