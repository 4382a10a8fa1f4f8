# Derives suricata8-derived.ndjson: the ECS documents Elastic's suricata
# integration writes for EVE events of Suricata 7 and 8 (DNS v3 the
# default), by the processors of its eve pipelines
# (packages/suricata/data_stream/eve/elasticsearch/ingest_pipeline/
# default.yml, dns.yml, dns-answer-v1.yml, dns-answer-v2.yml, tls.yml):
#   default.yml: src_ip/dest_ip to source/destination .address and .ip,
#     ports, proto to network.transport (lower case), ether src_mac and
#     dest_mac to source.mac, destination.mac; app_proto to
#     network.protocol (kept); http.hostname to destination.domain and
#     url.domain (removed), http.url to url.original and url.path,
#     http_method copied to http.request.method, http_refer to
#     http.request.referrer, http_user_agent copied to
#     user_agent.original, fileinfo.filename to file.path, fileinfo.size
#     to file.size; http_port kept (converted);
#   dns.yml: dns.id, dns.response_code, dns.type copied; rrname and
#     rrtype copied to dns.question.name and .type only when dns.type is
#     "query" or the version is 2 (so not for v3, whose types are
#     "request" and "response"); answers of v1 (dns.type "answer", no
#     version) and of v2 (version 2, type "answer") to dns.answers
#     (name, type, data) and dns.resolved_ip; version, flags, grouped,
#     aa, tc, rd, ra, qr removed; everything else (v3's queries,
#     answers, authorities, additionals) stays below suricata.eve.dns;
#   tls.yml: subject, issuerdn copied to tls.server.subject, .issuer;
#     fingerprint copied to tls.server.hash.sha1 (upper case, no
#     colons); sni copied to tls.client.server_name and
#     destination.domain (a final dot trimmed); serial copied to
#     tls.server.x509.serial_number (no colons); the rest (subjectaltname,
#     ja4, client.*) stays below suricata.eve.tls.
# No geo or AS lookups. Each document is written nested, then again with
# its keys dotted in reverse order. Inputs: every event of
# ../eve-verify/events*.ndjson (suricata-verify checks, rebuilt by
# ../eve-verify/make.py) that has an observable field (line numbers kept
# in "_eve" so the test can pair a document with its event).
import json, os, glob
here = os.path.dirname(os.path.abspath(__file__))
def move(d, src, dst, tgt, copy=False):
    cur = d
    for k in src[:-1]:
        cur = cur.get(k)
        if not isinstance(cur, dict): return
    if src[-1] not in cur: return
    v = cur[src[-1]] if copy else cur.pop(src[-1])
    t = tgt
    for k in dst[:-1]: t = t.setdefault(k, {})
    t[dst[-1]] = v
def derive(e):
    eve = json.loads(json.dumps(e))
    doc = {'@timestamp': e['timestamp'][:23] + 'Z', 'ecs': {'version': '8.0.0'}, 'event': {'kind': 'event', 'category': ['network']}}
    move(eve, ['ether', 'dest_mac'], ['destination', 'mac'], doc)
    move(eve, ['ether', 'src_mac'], ['source', 'mac'], doc)
    move(eve, ['src_ip'], ['source', 'address'], doc)
    move(eve, ['dest_ip'], ['destination', 'address'], doc)
    for side in ('source', 'destination'):
        if 'address' in doc.get(side, {}): doc[side]['ip'] = doc[side]['address']
    move(eve, ['src_port'], ['source', 'port'], doc)
    move(eve, ['dest_port'], ['destination', 'port'], doc)
    move(eve, ['proto'], ['network', 'transport'], doc)
    if 'transport' in doc.get('network', {}): doc['network']['transport'] = doc['network']['transport'].lower()
    et = eve.get('event_type', '').lower()
    proto = {'dns': 'dns', 'http': 'http', 'tls': 'tls', 'ftp': 'ftp', 'ftp_data': 'ftp', 'smb': 'smb', 'tftp': 'tftp'}.get(et)
    ap = eve.get('app_proto')
    if isinstance(ap, str) and ap.lower() not in ('failed', 'template', 'template-rust'):
        proto = 'ftp' if ap.lower() == 'ftp-data' else ap.lower()
    if proto: doc.setdefault('network', {})['protocol'] = proto
    d = eve.get('dns')
    if proto == 'dns' and isinstance(d, dict):
        dd = doc.setdefault('dns', {})
        for k, t in (('id', 'id'), ('rcode', 'response_code'), ('type', 'type')):
            if d.get(k) not in (None, ''): dd[t] = str(d[k]) if k == 'id' else d[k]
        if dd.get('type') == 'query' or d.get('version') == 2:
            if d.get('rrname'): dd.setdefault('question', {})['name'] = d['rrname']
            if d.get('rrtype'): dd.setdefault('question', {})['type'] = d['rrtype']
        if dd.get('type') == 'answer' and d.get('version') is None:
            a = {k2: d[k] for k, k2 in (('rrname', 'name'), ('rdata', 'data'), ('rrtype', 'type'), ('ttl', 'ttl')) if k in d}
            if a: dd['answers'] = [a]
            if d.get('rrtype') in ('A', 'AAAA'): dd['resolved_ip'] = [d.get('rdata')]
        if dd.get('type') == 'answer' and d.get('version') == 2 and 'answers' in d:
            ips = []
            dd['answers'] = []
            for a in d.pop('answers'):
                a = dict(a)
                for k, k2 in (('rrname', 'name'), ('rrtype', 'type'), ('rdata', 'data')):
                    if k in a: a[k2] = a.pop(k)
                if a.get('type') in ('A', 'AAAA'): ips.append(a.get('data'))
                dd['answers'].append(a)
            if ips: dd['resolved_ip'] = ips
        for ip in dd.get('resolved_ip') or []:
            doc.setdefault('related', {}).setdefault('ip', [])
            if ip not in doc['related']['ip']: doc['related']['ip'].append(ip)
        for k in ('aa', 'tc', 'rd', 'ra', 'qr', 'version', 'flags', 'grouped'): d.pop(k, None)
        if not dd: doc.pop('dns')
    t = eve.get('tls')
    if proto == 'tls' and isinstance(t, dict):
        if isinstance(t.get('sni'), str) and t['sni'].endswith('.'): t['sni'] = t['sni'][:-1]
        if t.get('subject'): doc.setdefault('tls', {}).setdefault('server', {})['subject'] = t['subject']
        if t.get('issuerdn'): doc.setdefault('tls', {}).setdefault('server', {})['issuer'] = t['issuerdn']
        if t.get('fingerprint'): doc.setdefault('tls', {}).setdefault('server', {}).setdefault('hash', {})['sha1'] = t['fingerprint'].upper().replace(':', '')
        if t.get('sni'):
            doc.setdefault('tls', {}).setdefault('client', {})['server_name'] = t['sni']
            doc.setdefault('destination', {})['domain'] = t['sni']
        if t.get('serial'): doc.setdefault('tls', {}).setdefault('server', {}).setdefault('x509', {})['serial_number'] = t['serial'].replace(':', '')
    h = eve.get('http')
    if isinstance(h, dict):
        if 'http_method' in h: doc.setdefault('http', {}).setdefault('request', {})['method'] = h['http_method']
        if 'hostname' in h:
            host = h.pop('hostname')
            doc.setdefault('destination', {})['domain'] = host
            if proto == 'http': doc.setdefault('url', {})['domain'] = host
        if 'url' in h:
            u = h.pop('url')
            doc.setdefault('url', {}).update({'original': u, 'path': u.split('?')[0].split('#')[0]})
        move(eve, ['http', 'http_refer'], ['http', 'request', 'referrer'], doc)
        move(eve, ['http', 'http_user_agent'], ['user_agent', 'original'], doc, copy=True)
    move(eve, ['fileinfo', 'filename'], ['file', 'path'], doc)
    move(eve, ['fileinfo', 'size'], ['file', 'size'], doc)
    eve.pop('src_port', None)
    doc['suricata'] = {'eve': eve}
    return doc
def dotted(d, pre=''):
    o = {}
    for k, v in d.items():
        if isinstance(v, dict) and v: o.update(dotted(v, pre + k + '.'))
        else: o[pre + k] = v
    return o
OBS = ('dns', 'http', 'tls', 'quic', 'fileinfo', 'files', 'smtp', 'email', 'dhcp', 'sip', 'smb', 'nfs', 'ftp_data', 'tftp', 'tunnel', 'xff', 'ether')
out = []
for f in sorted(glob.glob(os.path.join(here, '../eve-verify/events*.ndjson'))):
    for n, line in enumerate(open(f), 1):
        e = json.loads(line)
        if not any(k in e for k in OBS): continue
        doc = derive(e)
        doc['_eve'] = '%s:%d' % (os.path.basename(f), n)
        out.append(doc)
with open(os.path.join(here, 'suricata8-derived.ndjson'), 'w') as w:
    for d in out:
        w.write(json.dumps(d, separators=(',', ':')) + '\n')
    for d in out:
        w.write(json.dumps(dict(reversed(list(dotted(d).items()))), separators=(',', ':')) + '\n')
print(len(out), 'documents')
