# Build indicators for every observable value the independent extractor
# finds, run `parley match` per file, compare per-indicator counts.
import json, re, subprocess, sys, uuid, collections

PAT = {
    'ipv4': "[ipv4-addr:value = '%s']",
    'ipv6': "[ipv6-addr:value = '%s']",
    'domain': "[domain-name:value = '%s']",
    'url': "[url:value = '%s']",
    'hash-md5': "[file:hashes.MD5 = '%s']",
    'hash-sha1': "[file:hashes.'SHA-1' = '%s']",
    'hash-sha256': "[file:hashes.'SHA-256' = '%s']",
    'x509-sha256': "[x509-certificate:hashes.'SHA-256' = '%s']",
    'x509-sha1': "[x509-certificate:hashes.'SHA-1' = '%s']",
    'email': "[email-addr:value = '%s']",
}

def bundle(values, path):
    ids = {}
    objs = []
    for kv in sorted(values):
        k, v = kv
        i = 'indicator--' + str(uuid.uuid5(uuid.NAMESPACE_URL, k + ':' + v))
        ids[i] = kv
        objs.append({'type': 'indicator', 'spec_version': '2.1', 'id': i,
                     'created': '2020-01-01T00:00:00Z', 'modified': '2020-01-01T00:00:00Z',
                     'pattern': PAT[k] % v.replace('\\', '\\\\').replace("'", "\\'"),
                     'pattern_type': 'stix', 'valid_from': '1970-01-01T00:00:00Z'})
    json.dump({'type': 'bundle', 'id': 'bundle--' + str(uuid.uuid4()), 'objects': objs}, open(path, 'w'))
    return ids

STAT = re.compile(r'(\d+) events, (\d+) matched, (\d+) malformed')

def run(parley, bundle_path, files, fmt=None):
    cmd = [parley, 'match', '--indicators', bundle_path,
           '--as', 'identity--00000000-0000-4000-8000-000000000000']
    if fmt: cmd += ['--format', fmt]
    p = subprocess.run(cmd + files, capture_output=True, text=True)
    counts = collections.Counter()
    for l in p.stdout.splitlines():
        if l.startswith('{'):
            s = json.loads(l)
            counts[s['sighting_of_ref']] += s['count']
    m = STAT.search(p.stderr)
    st = tuple(int(x) for x in m.groups()) if m else None
    return counts, st, p.returncode, p.stderr

def compare(parley, per_file, bundle_path, fmt=None, show=8, quiet=False):
    """per_file: {path: [set(observables) per record]}"""
    allv = set()
    for recs in per_file.values():
        for o in recs: allv |= o
    ids = bundle(allv, bundle_path)
    bad = 0
    tot = collections.Counter()
    for f, recs in sorted(per_file.items()):
        want = collections.Counter()
        for o in recs:
            for kv in o: want[kv] += 1
        got_ids, st, rc, err = run(parley, bundle_path, [f], fmt)
        got = collections.Counter({ids[i]: c for i, c in got_ids.items()})
        nmatched = sum(1 for o in recs if o)
        tot['records'] += len(recs); tot['want_matched'] += nmatched
        if st: tot['events'] += st[0]; tot['got_matched'] += st[1]; tot['malformed'] += st[2]
        diffs = [(kv, want[kv], got[kv]) for kv in set(want) | set(got) if want[kv] != got[kv]]
        problem = diffs or not st or st[0] != len(recs) or st[1] != nmatched or st[2] != 0 or rc != 0
        if problem:
            bad += 1
            if not quiet:
                print('==', f, 'records', len(recs), 'want matched', nmatched, 'got', st, 'rc', rc)
                if not st or rc: print('   stderr:', err.strip()[:300])
                for kv, w, g in sorted(diffs)[:show]:
                    print('   ', kv, 'want', w, 'got', g)
                if len(diffs) > show: print('    ... %d more' % (len(diffs) - show))
    print('files', len(per_file), 'with differences', bad, dict(tot), 'indicators', len(ids))
