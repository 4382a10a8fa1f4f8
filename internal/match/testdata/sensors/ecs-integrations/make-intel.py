# Derives zeek-intel-derived.ndjson from ../zeek-integrations/test-intel.log
# by the moves of Elastic's zeek intel pipeline
# (packages/zeek/data_stream/intel/elasticsearch/ingest_pipeline/default.yml):
# the record below zeek.intel, id.orig_h/p and id.resp_h/p to source and
# destination (.address, .ip, .port), uid to zeek.session_id, seen.* and
# the rest kept below zeek.intel, ts to @timestamp, threat.indicator.ip,
# .url (its parts), .email.address as the indicator type says; no geo or
# AS lookups. Then each document again with its keys dotted, in reverse
# order. The pipeline's own test output covers only an address.
import datetime, json, os, urllib.parse
here = os.path.dirname(os.path.abspath(__file__))
out = []
for line in open(os.path.join(here, '../zeek-integrations/test-intel.log')):
    r = json.loads(line)
    ts = datetime.datetime.fromtimestamp(r['ts'], datetime.timezone.utc)
    d = {'@timestamp': ts.strftime('%Y-%m-%dT%H:%M:%S.') + '%03dZ' % (ts.microsecond // 1000),
         'event': {'kind': 'enrichment', 'category': ['threat'], 'type': ['indicator'], 'id': r['uid'], 'original': line.strip()},
         'source': {'address': r['id.orig_h'], 'ip': r['id.orig_h'], 'port': r['id.orig_p']},
         'destination': {'address': r['id.resp_h'], 'ip': r['id.resp_h'], 'port': r['id.resp_p']},
         'related': {'ip': [r['id.orig_h'], r['id.resp_h']]},
         'zeek': {'session_id': r['uid'], 'intel': {
             'seen': {k[5:]: v for k, v in r.items() if k.startswith('seen.')},
             'matched': r['matched'], 'sources': r['sources']}}}
    v, t = r['seen.indicator'], r['seen.indicator_type']
    if t == 'Intel::ADDR':
        d['threat'] = {'indicator': {'ip': v, 'type': 'ipv4-addr'}}
    elif t == 'Intel::URL':
        u = urllib.parse.urlsplit(v)
        d['threat'] = {'indicator': {'type': 'url', 'url': {'scheme': u.scheme, 'domain': u.hostname, 'path': u.path, 'fragment': u.fragment}}}
    elif t == 'Intel::EMAIL':
        d['threat'] = {'indicator': {'type': 'email-addr', 'email': {'address': v}}}
    out.append(d)
def dotted(d, pre=''):
    o = {}
    for k, v in d.items():
        if isinstance(v, dict): o.update(dotted(v, pre + k + '.'))
        else: o[pre + k] = v
    return o
with open(os.path.join(here, 'zeek-intel-derived.ndjson'), 'w') as f:
    for d in out:
        f.write(json.dumps(d, separators=(',', ':')) + '\n')
    for d in out:
        f.write(json.dumps(dict(reversed(list(dotted(d).items()))), separators=(',', ':')) + '\n')
