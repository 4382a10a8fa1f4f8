# Second black-box round (h/sensors): for every record, the observables the
# formats' documentation gives (obs.py, written from Zeek's log reference,
# Suricata's EVE format and source, not from Parley's tables); indicators for
# every STEP-th distinct value per type (STEP=3 by default, STEP=1 all) plus
# near misses (a changed digit, an extra label) that must not match; prints
# each file whose per-indicator counts, events, matched or malformed differ.
#   go build -o /tmp/parley ./cmd/parley
#   STEP=1 python3 check.py /tmp/parley zeek|eve FILE...
# Usage: check.py PARLEY KIND(zeek|eve|ecs) FILE...  -> per-file expected vs got
import json, re, subprocess, sys, uuid, collections, ipaddress, os
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import obs as mine
PAT = {'ipv4': "[ipv4-addr:value = '%s']", 'ipv6': "[ipv6-addr:value = '%s']",
       'domain': "[domain-name:value = '%s']", 'url': "[url:value = '%s']",
       'hash-md5': "[file:hashes.MD5 = '%s']", 'hash-sha1': "[file:hashes.'SHA-1' = '%s']",
       'hash-sha256': "[file:hashes.'SHA-256' = '%s']",
       'x509-sha256': "[x509-certificate:hashes.'SHA-256' = '%s']",
       'x509-sha1': "[x509-certificate:hashes.'SHA-1' = '%s']",
       'email': "[email-addr:value = '%s']", 'filename': "[file:name = '%s']"}

def near(k, v, allv):
    c = None
    if k == 'ipv4':
        a = ipaddress.ip_address(v); c = str(a + 1) if int(a) < 2**32 - 1 else str(a - 1)
    elif k == 'ipv6':
        a = ipaddress.ip_address(v); c = str(a + 1)
    elif k == 'domain': c = 'x' + v
    elif k == 'url': c = v + 'x'
    elif k == 'email': c = 'x' + v
    elif k == 'filename': c = v + '.x'
    else: c = v[:-1] + ('0' if v[-1] != '0' else '1')
    return c if (k, c) not in allv else None

def records(kind, f):
    if kind == 'eve':
        out = []
        for l in open(f):
            if not l.strip(): continue
            try: out.append(mine.eve(json.loads(l)))
            except ValueError: out.append(None)
        return out
    head = open(f, errors='replace').read(4000)
    if '\n{' in '\n' + head:
        out = []
        for l in open(f):
            if not l.strip(): continue
            try: j = json.loads(l)
            except ValueError: out.append(None); continue
            if 'ts' not in j: out.append(None); continue
            out.append(mine.zeek(mine.flat(j)))
        return out
    return [mine.zeek(r) for r in mine.zeek_tsv(f)]

STAT = re.compile(r'(\d+) events, (\d+) matched, (\d+) malformed')

STEP = int(os.environ.get("STEP", "3"))
def main():
    parley, kind, files = sys.argv[1], sys.argv[2], sys.argv[3:]
    per = {f: records(kind, f) for f in files}
    allv = set()
    for rs in per.values():
        for o in rs:
            if o: allv |= o
    bykind = collections.defaultdict(list)
    for kv in sorted(allv): bykind[kv[0]].append(kv)
    chosen = set(); nears = set()
    for k, lst in bykind.items():
        for i, kv in enumerate(lst):
            if i % STEP == 0: chosen.add(kv)
            if i % 7 == 1:
                c = near(k, kv[1], allv)
                if c: nears.add((k, c))
    ids = {}; objs = []
    for kv in sorted(chosen | nears):
        i = 'indicator--' + str(uuid.uuid5(uuid.NAMESPACE_URL, kv[0] + ':' + kv[1]))
        ids[i] = kv
        objs.append({'type': 'indicator', 'spec_version': '2.1', 'id': i,
                     'created': '2020-01-01T00:00:00Z', 'modified': '2020-01-01T00:00:00Z',
                     'pattern': PAT[kv[0]] % kv[1].replace('\\', '\\\\').replace("'", "\\'"),
                     'pattern_type': 'stix', 'valid_from': '1970-01-01T00:00:00Z'})
    bp = '/tmp/parley-round2-bundle-%s.json' % kind
    json.dump({'type': 'bundle', 'id': 'bundle--' + str(uuid.uuid4()), 'objects': objs}, open(bp, 'w'))
    T = collections.Counter()
    for f, rs in sorted(per.items()):
        want = collections.Counter()
        nrec = sum(1 for o in rs if o is not None); nmal = sum(1 for o in rs if o is None)
        wm = 0
        for o in rs:
            if not o: continue
            hit = [kv for kv in o if kv in chosen]
            if hit: wm += 1
            for kv in hit: want[kv] += 1
        p = subprocess.run([parley, 'match', '--indicators', bp, '--as',
                            'identity--00000000-0000-4000-8000-000000000000', f],
                           capture_output=True, text=True)
        got = collections.Counter()
        for l in p.stdout.splitlines():
            if l.startswith('{'):
                s = json.loads(l); got[ids[s['sighting_of_ref']]] += s['count']
        m = STAT.search(p.stderr)
        st = tuple(int(x) for x in m.groups()) if m else None
        diffs = sorted((kv, want[kv], got[kv]) for kv in set(want) | set(got) if want[kv] != got[kv])
        T['files'] += 1; T['want_sightings'] += sum(want.values()); T['got_sightings'] += sum(got.values())
        T['want_matched'] += wm; T['got_matched'] += st[1] if st else 0
        T['records'] += nrec; T['events'] += st[0] if st else 0
        bad = diffs or not st or st[0] != nrec or st[1] != wm or st[2] != nmal or p.returncode
        if bad:
            T['bad'] += 1
            print('== %s: records %d malformed %d want matched %d; got %s rc %d' % (os.path.basename(f), nrec, nmal, wm, st, p.returncode))
            if not st or p.returncode: print('   ', p.stderr.strip()[:300])
            for kv, w, g in diffs[:40]: print('    %s %r want %d got %d' % (kv[0], kv[1], w, g))
            if len(diffs) > 12: print('    ... %d more' % (len(diffs) - 12))
        print('SUM', os.path.basename(f), 'want', sum(want.values()), 'got', sum(got.values()), file=sys.stderr)
    print('TOTAL', dict(T), 'indicators', len(objs), '(near misses %d)' % len(nears))
main()
