# Derives suricata-derived.ndjson from real EVE events by the moves of
# Elastic's suricata integration pipeline
# (packages/suricata/data_stream/eve/elasticsearch/ingest_pipeline/default.yml):
# the event below suricata.eve; src_ip/dest_ip, ports, proto and ether
# MACs to source.*, destination.*, network.transport; http.hostname to
# destination.domain and url.domain, http.url to url.original and
# url.path, http_method to http.request.method, http_refer to
# http.request.referrer, http_user_agent to user_agent.original,
# fileinfo.filename to file.path, fileinfo.size to file.size; the rest
# (smtp, email, fileinfo's other fields) stays below suricata.eve. No geo
# or AS lookups. Then each document again with its keys dotted, in
# reverse order. Inputs: ../eve-verify/output-eve-fileinfo.json and the
# smtp event of smtp-eve in ../eve-verify/events2.ndjson.
import json, os
here = os.path.dirname(os.path.abspath(__file__))
evs = [json.loads(open(os.path.join(here, '../eve-verify/output-eve-fileinfo.json')).readline())]
for line in open(os.path.join(here, '../eve-verify/events2.ndjson')):
    e = json.loads(line)
    if e.get('event_type') == 'smtp' and 'smtp' in e and 'email' in e:
        evs.append(e)
        break
def move(d, src, dst, tgt):
    cur = d
    for k in src[:-1]:
        cur = cur.get(k)
        if not isinstance(cur, dict): return
    if src[-1] not in cur: return
    v = cur.pop(src[-1])
    t = tgt
    for k in dst[:-1]: t = t.setdefault(k, {})
    t[dst[-1]] = v
out = []
for e in evs:
    eve = json.loads(json.dumps(e))
    doc = {'@timestamp': e['timestamp'][:23] + 'Z', 'event': {'kind': 'event', 'category': ['network'], 'original': json.dumps(e, separators=(',', ':'))}}
    move(eve, ['src_ip'], ['source', 'address'], doc)
    move(eve, ['dest_ip'], ['destination', 'address'], doc)
    for side in ('source', 'destination'):
        if side in doc: doc[side]['ip'] = doc[side]['address']
    move(eve, ['src_port'], ['source', 'port'], doc)
    move(eve, ['dest_port'], ['destination', 'port'], doc)
    move(eve, ['ether', 'src_mac'], ['source', 'mac'], doc)
    move(eve, ['ether', 'dest_mac'], ['destination', 'mac'], doc)
    move(eve, ['proto'], ['network', 'transport'], doc)
    if 'network' in doc: doc['network']['transport'] = doc['network']['transport'].lower()
    h = eve.get('http', {})
    if 'hostname' in h:
        host = h.pop('hostname')
        doc.setdefault('destination', {})['domain'] = host
        doc['url'] = {'domain': host}
    if 'url' in h:
        u = h.pop('url')
        doc.setdefault('url', {}).update({'original': u, 'path': u.split('?')[0]})
    move(eve, ['http', 'http_method'], ['http', 'request', 'method'], doc)
    move(eve, ['http', 'http_refer'], ['http', 'request', 'referrer'], doc)
    move(eve, ['http', 'http_user_agent'], ['user_agent', 'original'], doc)
    move(eve, ['fileinfo', 'filename'], ['file', 'path'], doc)
    move(eve, ['fileinfo', 'size'], ['file', 'size'], doc)
    eve.pop('timestamp', None)
    doc['suricata'] = {'eve': eve}
    out.append(doc)
def dotted(d, pre=''):
    o = {}
    for k, v in d.items():
        if isinstance(v, dict): o.update(dotted(v, pre + k + '.'))
        else: o[pre + k] = v
    return o
with open(os.path.join(here, 'suricata-derived.ndjson'), 'w') as f:
    for d in out:
        f.write(json.dumps(d, separators=(',', ':')) + '\n')
    for d in out:
        f.write(json.dumps(dict(reversed(list(dotted(d).items()))), separators=(',', ':')) + '\n')
