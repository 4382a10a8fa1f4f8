# Rebuilds events.ndjson from a suricata-verify checkout (git directory as
# argv[1]): each check of the named tests whose filter matches one
# event_type with literal values becomes one EVE event holding exactly
# those values (Suricata's own output, as the test pins it), nested again
# from the filter's dotted paths. DNS records get Suricata's key order
# (rrname, rrtype, ttl, then the data), which YAML loses; events without a
# timestamp get a fixed one; a check on alert.* fields alone is an alert.
# Needs PyYAML. Other tests than the default list may follow the git
# directory (events2.ndjson: the list in SOURCES.md), and --lists keeps a
# filter's literal lists (events5.ndjson).
import json, re, subprocess, sys, yaml

TESTS = ['decode-teredo-01', 'dns/bug-1158', 'dns/v2/bug-1158', 'dns/dns-udp-eve-log-srv', 'dns/v2/dns-udp-eve-log-srv', 'http-ipv6',
         'http-xff-eve-forward-extra-data', 'http-xff-eve-reverse-extra-data']

def setp(d, path, v):
    toks = [('k', n) if n else ('i', int(i)) for n, i in re.findall(r'([^.\[\]]+)|\[(\d+)\]', path)]
    cur = d
    for n, (kind, key) in enumerate(toks):
        last, nxt = n == len(toks) - 1, (toks[n + 1][0] if n + 1 < len(toks) else None)
        if kind == 'k':
            if last: cur[key] = v; return
            cur = cur.setdefault(key, [] if nxt == 'i' else {})
        else:
            while len(cur) <= key: cur.append(None)
            if last: cur[key] = v; return
            if cur[key] is None: cur[key] = [] if nxt == 'i' else {}
            cur = cur[key]

ORDER = ['rrname', 'rrtype', 'ttl']
def tidy(x):
    if isinstance(x, dict):
        return {k: tidy(x[k]) for k in sorted(x, key=lambda k: ORDER.index(k) if k in ORDER else 9)}
    if isinstance(x, list): return [tidy(v) for v in x if v is not None]
    return x

LISTS = '--lists' in sys.argv   # keep a filter's literal lists of strings or numbers
args = [a for a in sys.argv[1:] if a != '--lists']
git = args[0]
for t in args[1:] or TESTS:
    y = yaml.safe_load(subprocess.run(['git', '--git-dir', git, 'show', 'HEAD:tests/%s/test.yaml' % t],
                                      capture_output=True, text=True, check=True).stdout)
    for c in y.get('checks') or []:
        m = (c.get('filter') or {}).get('match') if isinstance(c, dict) else None
        if isinstance(m, dict) and 'event_type' not in m and m and all(k.startswith('alert.') for k in m):
            m = dict(m, event_type='alert')   # a check on alert.* fields only: an alert
        if not isinstance(m, dict) or not isinstance(m.get('event_type'), str): continue
        ev = {}
        for k, v in m.items():
            if '__' in k or isinstance(v, dict): continue
            if isinstance(v, list) and not (LISTS and all(isinstance(x, (str, int)) for x in v)): continue
            setp(ev, k, v)
        ev = tidy(ev)
        ev.setdefault('timestamp', '2024-01-01T00:00:00.000000+0000')
        print(json.dumps(ev, separators=(',', ':')))
