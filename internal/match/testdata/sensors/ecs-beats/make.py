# Derives the NDJSON inputs from Elastic's -expected.json test outputs
# (arrays of documents with dotted keys, sorted): dotted.ndjson keeps each
# document as it is, one a line; nested.ndjson nests the dotted keys into
# objects, as Elasticsearch returns documents, with every object's keys in
# reverse order, so that "@timestamp" comes last.
import json, os
here = os.path.dirname(os.path.abspath(__file__))
names = ['zeek-http-json.log-expected.json', 'suricata-eve-6.0.log-expected.json', 'zeek-ssl-json.log-expected.json']
docs = []
for n in names:
    docs += json.load(open(os.path.join(here, n)))
def nest(d):
    out = {}
    for k, v in d.items():
        parts = k.split('.')
        m = out
        for p in parts[:-1]:
            m = m.setdefault(p, {})
        m[parts[-1]] = v
    return out
def reverse(o):
    if isinstance(o, dict):
        return {k: reverse(v) for k, v in reversed(list(o.items()))}
    if isinstance(o, list):
        return [reverse(x) for x in o]
    return o
with open(os.path.join(here, 'dotted.ndjson'), 'w') as f:
    for d in docs:
        f.write(json.dumps(d, separators=(',', ':'), ensure_ascii=False) + '\n')
with open(os.path.join(here, 'nested.ndjson'), 'w') as f:
    for d in docs:
        f.write(json.dumps(reverse(nest(d)), separators=(',', ':'), ensure_ascii=False) + '\n')
