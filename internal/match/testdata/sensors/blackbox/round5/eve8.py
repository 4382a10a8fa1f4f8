# Round 5: observables of a Suricata 8 EVE event, written from the
# Suricata 8.0 userguide (output/eve/eve-json-format, upgrade/8.0-dns-
# logging-changes) and etc/schema.json of suricata-8.0.0, not from Parley's
# field table. Usage: python3 eve8.py PARLEY EVENTS.tsv OUTDIR
# (EVENTS: "<test>\t<event>" a line, as gen.py writes for every test of a
# suricata-verify checkout). Run on suricata-verify 10a45e4b (2507 tests,
# 8262 events rebuilt from their checks, 463 distinct values): no
# difference.
import sys, os, json, re, collections
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import harness
from zobs import ip, dom
harness.PAT.update({
    'mac': "[mac-addr:value = '%s']",
    'filename': "[file:name = '%s']",
    'x509-serial': "[x509-certificate:serial_number = '%s']",
})
def add(s, x):
    if x: s.add(x)
def s(v): return v if isinstance(v, str) else None
MAC = re.compile(r'^[0-9a-f]{2}(:[0-9a-f]{2}){5}$')
def mac(o, v):
    if isinstance(v, str) and MAC.match(v.lower()): o.add(('mac', v.lower()))
def email(o, v):
    if not isinstance(v, str): return
    for part in v.split(','):
        part = part.strip()
        m = re.search(r'<([^<>]*)>', part)
        if m: part = m.group(1)
        part = part.strip()
        if '@' in part and ' ' not in part:
            l, d = part.rsplit('@', 1)
            if l and d: o.add(('email', l + '@' + d.lower().rstrip('.')))
def fname(o, v):
    if not isinstance(v, str) or not v: return
    o.add(('filename', v))
    last = re.split(r'[/\\]', v)[-1]
    if last and last != v: o.add(('filename', last))
NAMET = ('CNAME', 'NS', 'PTR', 'MX', 'DNAME', 'SRV')
def rr(o, r):
    if not isinstance(r, dict): return
    if s(r.get('rrname')): add(o, dom(r['rrname']))
    rd, t = r.get('rdata'), r.get('rrtype')
    if isinstance(rd, str):
        if t in ('A', 'AAAA'): add(o, ip(rd))
        elif t in NAMET: add(o, dom(rd))
    if isinstance(r.get('srv'), dict) and s(r['srv'].get('name')): add(o, dom(r['srv']['name']))
    if isinstance(r.get('soa'), dict) and s(r['soa'].get('mname')): add(o, dom(r['soa']['mname']))
def dns(d, o):
    rr(o, d) if 'rrname' in d else None
    for k in ('queries', 'answers', 'authorities', 'additionals', 'query', 'answer'):
        v = d.get(k)
        if isinstance(v, list):
            for r in v: rr(o, r)
        elif isinstance(v, dict):   # Suricata 7 alert's dns.answer: a whole response
            dns(v, o)
    for t, vs in (d.get('grouped') or {}).items():
        for v in vs if isinstance(vs, list) else []:
            if isinstance(v, str):
                if t in ('A', 'AAAA'): add(o, ip(v))
                elif t in NAMET: add(o, dom(v))
            elif isinstance(v, dict):
                if t == 'SRV' and s(v.get('name')): add(o, dom(v['name']))
                if t == 'SOA' and s(v.get('mname')): add(o, dom(v['mname']))
def http(h, o):
    host = s(h.get('hostname'))
    u = s(h.get('url')) or ''
    if host:
        hh = host[1:-1] if host.startswith('[') and host.endswith(']') else host
        add(o, ip(hh) or dom(hh))
        if u.startswith('/') and dom(hh):
            port = h.get('http_port')
            hp = host.lower() + (':%d' % port if isinstance(port, int) and port != 80 else '')
            o.add(('url', 'http://' + hp + u))
    if re.match(r'^https?://', u, re.I): o.add(('url', u))
    r = s(h.get('http_refer'))
    if r and re.match(r'^https?://', r, re.I): o.add(('url', r))
    for v in (h.get('xff') or []) if isinstance(h.get('xff'), list) else [h.get('xff')]:
        if isinstance(v, str):
            for p in v.split(','): add(o, ip(p.strip()))
def tls(t, o):
    if s(t.get('sni')): add(o, dom(t['sni']))
    if s(t.get('fingerprint')): o.add(('x509-sha1', t['fingerprint'].replace(':', '').lower()))
    if s(t.get('serial')): o.add(('x509-serial', t['serial']))
    for v in t.get('subjectaltname') or []:
        if isinstance(v, str): add(o, ip(v) or dom(v))
def files(fi, o):
    if not isinstance(fi, dict): return
    for k in ('md5', 'sha1', 'sha256'):
        if s(fi.get(k)): o.add(('hash-' + k, fi[k].lower()))
    fname(o, fi.get('filename'))
def obs(ev):
    o = set()
    for k in ('src_ip', 'dest_ip'):
        if s(ev.get(k)): add(o, ip(ev[k]))
    tu = ev.get('tunnel')
    if isinstance(tu, dict):
        for k in ('src_ip', 'dest_ip'):
            if s(tu.get(k)): add(o, ip(tu[k]))
    for x in (ev.get('xff'), (ev.get('alert') or {}).get('xff') if isinstance(ev.get('alert'), dict) else None):
        if s(x): add(o, ip(x))
    if isinstance(ev.get('dns'), dict): dns(ev['dns'], o)
    if isinstance(ev.get('http'), dict): http(ev['http'], o)
    if isinstance(ev.get('tls'), dict): tls(ev['tls'], o)
    q = ev.get('quic')
    if isinstance(q, dict) and s(q.get('sni')): add(o, dom(q['sni']))
    files(ev.get('fileinfo'), o)
    for fi in ev.get('files') or [] if isinstance(ev.get('files'), list) else []: files(fi, o)
    sm = ev.get('smtp')
    if isinstance(sm, dict):
        email(o, sm.get('mail_from'))
        for v in sm.get('rcpt_to') or []: email(o, v)
    em = ev.get('email')
    if isinstance(em, dict):
        for k in ('from', 'to', 'cc'):
            v = em.get(k)
            for x in v if isinstance(v, list) else [v]: email(o, x)
        for v in em.get('url') or []:
            if isinstance(v, str):
                o.add(('url', v if re.match(r'^[a-z][a-z0-9+.-]*://', v, re.I) else 'http://' + v))
        for v in em.get('attachment') or []: fname(o, v)
    d = ev.get('dhcp')
    if isinstance(d, dict):
        mac(o, d.get('client_mac'))
        for k in ('assigned_ip', 'client_ip', 'requested_ip', 'relay_ip', 'next_server_ip'):
            v = d.get(k)
            if s(v) and v != '0.0.0.0': add(o, ip(v))
        for k in ('routers', 'dns_servers'):
            for v in d.get(k) or []: add(o, ip(v))
    e = ev.get('ether')
    if isinstance(e, dict):
        for k in ('src_mac', 'dest_mac'): mac(o, e.get(k))
        for k in ('src_macs', 'dest_macs'):
            for v in e.get(k) or []: mac(o, v)
    for k, f in (('smb', 'filename'), ('nfs', 'filename'), ('ftp_data', 'filename'), ('tftp', 'file')):
        if isinstance(ev.get(k), dict): fname(o, ev[k].get(f))
    sip = ev.get('sip')
    if isinstance(sip, dict) and isinstance(sip.get('sdp'), dict):
        cds = [sip['sdp'].get('connection_data')] + [m.get('connection_data') for m in sip['sdp'].get('media_descriptions') or [] if isinstance(m, dict)]
        for c in cds:
            m = re.match(r'^IN IP[46] ([^/ ]+)', c or '')
            if m: add(o, ip(m.group(1)))
    return o
if __name__ == '__main__' and sys.argv[2] == '--ecs':
    pass
elif __name__ == '__main__':
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
# ECS mode: python3 eve8.py PARLEY --ecs DERIVED.ndjson EVEDIR OUTDIR: each
# document of ecs-integrations/suricata8-derived.ndjson should give the
# observables of the EVE event its "_eve" names (EVEDIR/events*.ndjson).
def ecs_main(parley, derived, evedir, out):
    os.makedirs(out, exist_ok=True)
    evs = {}
    for f in os.listdir(evedir):
        if f.startswith('events') and f.endswith('.ndjson'):
            for n, l in enumerate(open(os.path.join(evedir, f)), 1):
                evs['%s:%d' % (f, n)] = json.loads(l)
    docs = [l for l in open(derived) if l.strip()]
    p = os.path.join(out, 'derived.ndjson')
    open(p, 'w').write(''.join(docs))
    per = {p: [obs(evs[json.loads(d)['_eve']]) for d in docs]}
    harness.compare(parley, per, os.path.join(out, 'bundle.json'), fmt='ecs', show=10)
if __name__ == '__main__' and sys.argv[2] == '--ecs':
    ecs_main(sys.argv[1], sys.argv[3], sys.argv[4], sys.argv[5])
