"""TAXII 2.1 client checks (OASIS TAXII 2.1 cs01) plus Parley's openings (docs).
usage: taxii.py URL TOKEN LOGVKEY"""
import sys, json, urllib.request, urllib.error, urllib.parse
from pcore import *
URL, TOK, VK = sys.argv[1], sys.argv[2], VKey(sys.argv[3])
MT = "application/taxii+json;version=2.1"
fails = []
def ok(c, m):
    print(("ok   " if c else "FAIL ") + m)
    if not c: fails.append(m)
def req(path, hdr=None, method="GET", body=None, tok=True):
    h = {"Accept": MT}
    if tok: h["Authorization"] = "Bearer " + TOK
    h.update(hdr or {})
    h = {k: v for k, v in h.items() if v is not None}
    r = urllib.request.Request(URL + path, headers=h, method=method, data=body)
    try:
        with urllib.request.urlopen(r) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()
def jget(path, **kw):
    st, h, b = req(path, **kw)
    ok(st == 200, "GET %s -> %d" % (path, st))
    ok(h.get("Content-Type", "").replace(" ", "") == MT, "%s Content-Type %r" % (path, h.get("Content-Type")))
    return h, parse_ijson(b)
h, disc = jget("/taxii2/")
ok("title" in disc and "api_roots" in disc, "discovery has title and api_roots")
root = urllib.parse.urlparse(disc["api_roots"][0]).path
h, ar = jget(root)
ok(MT in ar["versions"] and isinstance(ar["max_content_length"], int), "API root versions and max_content_length")
h, cols = jget(root + "collections/")
for c in cols["collections"]:
    ok(all(k in c for k in ("id", "title", "can_read", "can_write")), "collection %s resource fields" % c["title"])
    h, c1 = jget(root + "collections/%s/" % c["id"])
    ok(c1 == c, "collection %s single resource equals list entry" % c["id"])
# log entries for the openings
st, _, note = req("/log/checkpoint")
_, size, lroot, _, _ = open_checkpoint(note.decode(), VK)
entries = []
for t in range((size + 255) // 256):
    w = min(256, size - t * 256)
    _, _, b = req("/log/tile/entries/%03d%s" % (t, "" if w == 256 else ".p/%d" % w))
    i = 0
    while i < len(b):
        l = int.from_bytes(b[i:i+2], "big"); entries.append(b[i+2:i+2+l]); i += 2 + l
ok(mth([leaf_hash(e) for e in entries]) == lroot, "entries match checkpoint")
kh = KeyHistory()
for i, e in enumerate(entries):
    p = parse_entry(e)
    if p["kind"] == "member-key": kh.add(i, p)
def page_all(base, q, limit):
    out, heads, nxt, n = [], [], None, 0
    while True:
        qq = dict(q); qq["limit"] = str(limit)
        if nxt: qq["next"] = nxt
        h, env = jget(base + "?" + urllib.parse.urlencode(qq))
        objs = env.get("objects", [])
        ok(len(objs) <= limit, "page of %d <= limit %d" % (len(objs), limit))
        heads.append((h.get("X-TAXII-Date-Added-First"), h.get("X-TAXII-Date-Added-Last"), env))
        out.append(env)
        n += 1
        if not env.get("more"):
            ok("next" not in env or True, "last page")
            break
        ok("next" in env, "more=true carries next")
        nxt = env["next"]
        if n > 1000: break
    return out, heads
for c in cols["collections"]:
    if not c["can_read"]: continue
    base = root + "collections/%s/" % c["id"]
    mpages, mheads = page_all(base + "manifest/", {}, 3)
    man = [o for p in mpages for o in p.get("objects", [])]
    for f, l, env in mheads:
        if env.get("objects"):
            ok(f == env["objects"][0]["date_added"] and l == env["objects"][-1]["date_added"], "manifest X-TAXII-Date-Added headers are the page's first/last date_added")
    ids = [(o["id"], o["version"]) for o in man]
    ok(len(ids) == len(set(ids)), "manifest pages have no duplicate (id,version): %d" % len(ids))
    das = [parse_time(o["date_added"]) for o in man]
    ok(das == sorted(das), "manifest sorted by date_added")
    pages, heads = page_all(base + "objects/", {}, 4)
    objs, opens = [], []
    for p in pages:
        objs += p.get("objects", []); opens += p.get("x_parley_openings", [])
    ok(len(objs) == len(man), "%s: %d objects paged with limit 4 = %d in the manifest" % (c["title"], len(objs), len(man)))
    ok(len(opens) == len(objs), "one opening per object")
    stat = {}
    for o, op in zip(objs, opens):
        try:
            s = check_object(o, op, parse_entry(entries[op["log_index"]]), op["log_index"], kh)
            stat[s] = stat.get(s, 0) + 1
        except Exception as x:
            ok(False, "object %s: %s" % (o.get("id"), x))
    ok(True, "%s: envelope objects checked against the log: %s" % (c["title"], stat))
    for (f, l, env) in heads:
        if env.get("objects"):
            ok(f is not None and l is not None, "objects page has X-TAXII-Date-Added-First/Last")
    # added_after: strictly after
    if len(man) > 2:
        cut = man[len(man)//2]["date_added"]
        h, env = jget(base + "objects/?" + urllib.parse.urlencode({"added_after": cut, "limit": "1000"}))
        exp = [o["id"] for o in man if parse_time(o["date_added"]) > parse_time(cut)]
        got = [o["id"] for o in env["objects"]]
        ok(got == exp, "added_after=%s gives the %d later objects (got %d)" % (cut, len(exp), len(got)))
    types = sorted({o["type"] for o in objs})
    for t in types[:3]:
        h, env = jget(base + "objects/?" + urllib.parse.urlencode({"match[type]": t, "limit": "1000"}))
        ok(all(o["type"] == t for o in env["objects"]) and len(env["objects"]) == sum(1 for o in objs if o["type"] == t), "match[type]=%s" % t)
    for oid in sorted({o["id"] for o in objs})[:40]:
        h, vv = jget(base + "objects/%s/versions/" % oid)
        vers = vv["versions"]
        h, env = jget(base + "objects/?" + urllib.parse.urlencode({"match[id]": oid, "match[version]": "all"}))
        ok(sorted(parse_stix_time(o.get("modified", o.get("created"))) for o in env["objects"]) == sorted(parse_stix_time(v) for v in vers), "versions of %s = match[version]=all" % oid)
        if len(vers) > 1:
            for sel, want in (("first", min(vers, key=parse_stix_time)), ("last", max(vers, key=parse_stix_time))):
                h, env = jget(base + "objects/%s/?match[version]=%s" % (oid, sel))
                ok([o["modified"] for o in env["objects"]] == [want], "%s match[version]=%s" % (oid, sel))
            h, env = jget(base + "objects/%s/?" % oid + urllib.parse.urlencode({"match[version]": vers[0]}))
            ok([o["modified"] for o in env["objects"]] == [vers[0]], "%s match[version]=<timestamp>" % oid)
    h, env = jget(base + "objects/?" + urllib.parse.urlencode({"match[spec_version]": "2.0"}))
    ok(env.get("objects", []) == [], "match[spec_version]=2.0 is empty")
# errors
st, h, b = req(root + "collections/", tok=False)
ok(st == 401 and "Bearer" in (h.get("WWW-Authenticate") or ""), "no token: 401 with WWW-Authenticate")
st, h, b = req(root + "collections/", hdr={"Accept": "application/json"})
ok(st == 406, "Accept application/json: 406 (%d)" % st)
st, h, b = req(root + "collections/", hdr={"Accept": "*/*"})
ok(st == 406, "Accept */*: 406 (%d)" % st)
st, h, b = req(root + "collections/", hdr={"Accept": "application/taxii+json"})
ok(st == 200, "Accept application/taxii+json: 200 (%d)" % st)
st, h, b = req(root + "collections/00000000-0000-4000-8000-000000000000/objects/")
e = parse_ijson(b)
ok(st == 404 and e.get("http_status") in ("404", 404) and "title" in e, "unknown collection: 404 error object %s" % e)
ok(h.get("Content-Type", "").replace(" ", "") == MT, "error Content-Type")
c0 = cols["collections"][0]["id"]
st, h, b = req(root + "collections/%s/objects/" % c0, method="POST", body=b"{}", hdr={"Content-Type": "application/json"})
ok(st == 415, "POST with application/json: 415 (%d)" % st)
h, env = jget(root + "collections/%s/objects/?limit=1" % c0)
oid0 = env["objects"][0]["id"] if env.get("objects") else "indicator--00000000-0000-4000-8000-000000000000"
st, h, b = req(root + "collections/%s/objects/%s/" % (c0, oid0), method="DELETE")
ok(st == 405, "DELETE object: 405 (%d)" % st)
st, h, b = req(root + "collections/%s/objects/?limit=abc" % c0)
ok(st == 400, "limit=abc: 400 (%d)" % st)
st, h, b = req(root + "collections/%s/objects/?next=bogus" % c0)
ok(st == 400, "next=bogus: 400 (%d)" % st)
st, h, b = req(root + "collections/%s/objects/?added_after=yesterday" % c0)
ok(st == 400, "added_after=yesterday: 400 (%d)" % st)
print("FAILURES: %d" % len(fails))
for f in fails: print("  " + f)
