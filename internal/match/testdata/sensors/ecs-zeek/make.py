# Derives ECS documents as Elastic's zeek integration writes them (the
# renames of packages/zeek/data_stream/{smtp,ftp,dhcp}/elasticsearch/
# ingest_pipeline/default.yml in elastic/integrations) from real Zeek
# records kept beside: ../zeek-wrccdc/smtp.json.gz, ../zeek-wrccdc/ftp.json.gz
# and the dhcp baselines in ../zeek-baseline. Only the renames matter
# here; geo, community_id and event.* are left out. Nested documents, one
# a line, keys in the order the pipeline adds them.
import datetime, gzip, json, os
D = os.path.dirname(os.path.abspath(__file__)) + '/'

def iso(ts):
    return datetime.datetime.fromtimestamp(float(ts), datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3] + 'Z'

def conn(r, doc):
    for z, e in (('id.orig_h', 'source'), ('id.resp_h', 'destination')):
        if z in r:
            doc.setdefault(e, {}).update(address=r.pop(z), ip=doc.get(e, {}).get('address') or None)
            doc[e]['ip'] = doc[e]['address']
    for z, e in (('id.orig_p', 'source'), ('id.resp_p', 'destination')):
        if z in r:
            doc.setdefault(e, {})['port'] = r.pop(z)
    rel = [doc[e]['ip'] for e in ('source', 'destination') if e in doc and 'ip' in doc[e]]
    if rel:
        doc['related'] = {'ip': sorted(set(rel), key=rel.index)}

def zeek_json(name):
    for l in gzip.open(D + '../zeek-wrccdc/' + name, 'rt'):
        r = json.loads(l)
        r.pop('_path', None); r.pop('_write_ts', None)
        yield r

def ts(r):
    t = r.pop('ts')
    return t if isinstance(t, str) else iso(t)

out = []
for r in zeek_json('smtp.json.gz'):
    doc = {'@timestamp': ts(r), 'network': {'transport': 'tcp', 'protocol': 'smtp'}}
    conn(r, doc)
    r['session_id'] = r.pop('uid')
    for a, b in (('trans_depth', 'transaction_depth'), ('mailfrom', 'mail_from'), ('rcptto', 'rcpt_to')):
        if a in r:
            r[b] = r.pop(a)
    if 'tls' in r:
        doc['tls'] = {'established': r['tls']}
    doc['zeek'] = {'session_id': r.pop('session_id'), 'smtp': r}
    out.append(doc)
for r in zeek_json('ftp.json.gz'):
    doc = {'@timestamp': ts(r), 'network': {'transport': 'tcp', 'protocol': 'ftp'}}
    conn(r, doc)
    dc = {}
    for a, b in (('passive', 'passive'), ('orig_h', 'originating_host'), ('resp_h', 'response_host'), ('resp_p', 'response_port')):
        if 'data_channel.' + a in r:
            dc[b] = r.pop('data_channel.' + a)
    if dc:
        r['data_channel'] = dc
    doc['zeek'] = {'session_id': r.pop('uid'), 'ftp': r}
    out.append(doc)
# ssl: the first 1000 records; server_name goes to zeek.ssl.server.name
# only, cert_chain_fps stays, subject and issuer go to tls.server (their
# "\\," escapes dropped), ja3/ja3s to tls.client.ja3/tls.server.ja3s.
for i, r in enumerate(zeek_json('ssl.json.gz')):
    if i == 1000:
        break
    doc = {'@timestamp': ts(r), 'network': {'transport': 'tcp'}}
    conn(r, doc)
    srv = {}
    for a, b in (('server_name', 'name'), ('cert_chain', 'cert_chain'), ('cert_chain_fuids', 'cert_chain_fuids')):
        if a in r:
            srv[b] = r.pop(a)
    tls = {}
    for a, b in (('subject', 'subject'), ('issuer', 'issuer')):
        if a in r:
            tls.setdefault('server', {})[b] = r.pop(a).replace('\\,', '')
    if 'ja3' in r:
        tls.setdefault('client', {})['ja3'] = r.pop('ja3')
    if 'ja3s' in r:
        tls.setdefault('server', {})['ja3s'] = r.pop('ja3s')
    if tls:
        doc['tls'] = tls
    if srv:
        r['server'] = srv
    doc['zeek'] = {'session_id': r.pop('uid'), 'ssl': r}
    out.append(doc)
for base in ('scripts.base.protocols.dhcp.dhcp-all-msg-types_dhcp.log', 'scripts.base.protocols.dhcp.dhcp-discover-msg-types_dhcp.log'):
    fields = None
    for l in open(D + '../zeek-baseline/' + base):
        l = l.rstrip('\n')
        if l.startswith('#fields'):
            fields = l.split('\t')[1:]
        if l.startswith('#') or not fields:
            continue
        r = {f: v for f, v in zip(fields, l.split('\t')) if v != '-'}
        r['ts'] = 1600000000.0  # btest canonified the times to X
        doc = {'@timestamp': ts(r), 'network': {'transport': 'udp', 'protocol': 'dhcp'}}
        addr = {}
        for a, b in (('assigned_addr', 'assigned'), ('client_addr', 'client'), ('mac', 'mac'), ('requested_addr', 'requested'), ('server_addr', 'server')):
            if a in r:
                addr[b] = r.pop(a)
        r['address'] = addr
        if 'client' in addr:
            doc['source'] = {'address': addr['client'], 'ip': addr['client']}
        if 'server' in addr:
            doc['destination'] = {'address': addr['server'], 'ip': addr['server']}
        rel = [doc[e]['ip'] for e in ('source', 'destination') if e in doc]
        if rel:
            doc['related'] = {'ip': rel}
        doc['zeek'] = {'session_id': r.pop('uids').split(','), 'dhcp': r}
        out.append(doc)
with gzip.open(D + 'zeek-ecs.ndjson.gz', 'wt') as f:
    for d in out:
        f.write(json.dumps(d, separators=(',', ':')) + '\n')
print(len(out), 'documents')
