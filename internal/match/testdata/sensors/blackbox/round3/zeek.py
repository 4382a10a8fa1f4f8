# Round 3: observables per Zeek TSV record from Zeek's log reference
# (docs.zeek.org, the scripts' Info records), per log path (#path).
# Usage: python3 zeek.py PARLEY FILE...   (Zeek's testing/btest/Baseline
# logs; prints each file whose per-value counts, event or malformed counts
# differ from what `parley match` reports).
import sys, os, re, json
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import zobs, harness
from zobs import ip, dom, add, lst

def tsv(path):
    p = None
    for l in open(path, errors='replace'):
        if l.startswith('#path'): p = re.split(r'[\t ]', l.strip(), 1)[-1]
    for r in zobs.tsv_records(path):
        r['_path'] = p
        yield r

def obs(r):
    p = r.get('_path')
    o = set()
    for k in ('id.orig_h', 'id.resp_h'):
        for v in lst(r.get(k)): add(o, ip(v))
    if p == 'dns':
        for v in lst(r.get('query')): add(o, dom(v))
        # answers, and auth/addl of policy/protocols/dns/auth-addl; Zeek
        # writes NSEC3 and NSEC3PARAM records as the bare type name
        for v in lst(r.get('answers')) + lst(r.get('auth')) + lst(r.get('addl')):
            a = ip(v)
            if a: o.add(a)
            elif not v.startswith('TXT ') and v not in ('NSEC3', 'NSEC3PARAM'): add(o, dom(v))
    if p in ('ssl', 'quic'):
        for v in lst(r.get('server_name')): add(o, dom(v))
        for v in lst(r.get('cert_chain_fps')): o.add(('x509-sha256', v.lower()))
    if p == 'x509':
        for v in lst(r.get('fingerprint')): o.add(('x509-sha256', v.lower()))
        for v in lst(r.get('san.dns')): add(o, dom(v))
        for v in lst(r.get('san.ip')): add(o, ip(v))
    if p == 'notice':
        for k in ('src', 'dst'):
            for v in lst(r.get(k)): add(o, ip(v))
    if p in ('known_hosts', 'known_services', 'known_certs', 'software', 'known_modbus'):
        for v in lst(r.get('host')): add(o, ip(v))
    if p in ('http', 'websocket'):
        for v in lst(r.get('host')):
            m = re.match(r'^(\[[^\]]*\]|[^:]*)(:\d+)?$', v)
            h = m.group(1).strip('[]') if m else v
            add(o, ip(h) or dom(h))
    if p == 'files':
        for k in ('md5', 'sha1', 'sha256'):
            for v in lst(r.get(k)): o.add(('hash-' + k, v.lower()))
        for k in ('tx_hosts', 'rx_hosts'):
            for v in lst(r.get(k)): add(o, ip(v))
    if p == 'ftp':
        for k in ('data_channel.orig_h', 'data_channel.resp_h'):
            for v in lst(r.get(k)): add(o, ip(v))
    if p == 'smtp':
        for k in ('x_originating_ip', 'path'):
            for v in lst(r.get(k)): add(o, ip(v))
        for k in ('mailfrom', 'rcptto', 'from', 'to', 'cc', 'reply_to'):
            for v in lst(r.get(k)):
                for part in (v.split(',') if k in ('to', 'cc', 'from', 'reply_to') else [v]):
                    m = re.search(r'<([^<>]*)>\s*$', part.strip())
                    part = (m.group(1) if m else part).strip()
                    if '@' in part and ' ' not in part:
                        l, d = part.rsplit('@', 1)
                        o.add(('email', l + '@' + d.lower().rstrip('.')))
    if p == 'dhcp':
        for k in ('client_addr', 'server_addr', 'assigned_addr', 'requested_addr'):
            for v in lst(r.get(k)): add(o, ip(v))
    return o

if __name__ == '__main__':
    per = {f: [obs(r) for r in tsv(f)] for f in sys.argv[2:]}
    harness.compare(sys.argv[1], per, '/tmp/parley-round3-zeek.json', show=10)
