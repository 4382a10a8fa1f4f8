"""Verify a running Parley node's log from docs alone.
usage: live.py URL TOKEN LOGVKEY [WITNESSVKEY]"""
import sys, json, urllib.request, urllib.error
from pcore import *

URL, TOK, VK = sys.argv[1], sys.argv[2], VKey(sys.argv[3])
WK = VKey(sys.argv[4]) if len(sys.argv) > 4 else None
fails = []


def ok(c, m):
    print(("ok   " if c else "FAIL ") + m)
    if not c:
        fails.append(m)


def get(path, hdr=None):
    r = urllib.request.Request(URL + path, headers={"Authorization": "Bearer " + TOK, **(hdr or {})})
    with urllib.request.urlopen(r) as resp:
        return resp.read(), resp.headers


def tilepath(n):
    s = "%03d" % (n % 1000)
    n //= 1000
    while n > 0:
        s = "x%03d/" % (n % 1000) + s
        n //= 1000
    return s


# 1. key and checkpoint
k, _ = get("/log/key")
ok(k.decode().strip() == VK.text, "/log/key is the pinned key")
note, h = get("/log/checkpoint")
note = note.decode()
origin, size, root, text, sigs = open_checkpoint(note, VK)
ok(True, "checkpoint %s size %d signed by the pinned key" % (origin, size))
if WK:
    ts = cosignatures(note, WK)
    ok(len(ts) == 1, "checkpoint cosigned by %s at %s" % (WK.name, ts))

# 2. entries from entry bundles
entries = []
for t in range((size + 255) // 256):
    w = min(256, size - t * 256)
    p = "/log/tile/entries/" + tilepath(t) + ("" if w == 256 else ".p/%d" % w)
    b, _ = get(p)
    i = 0
    while i < len(b):
        l = int.from_bytes(b[i:i + 2], "big")
        entries.append(b[i + 2:i + 2 + l])
        i += 2 + l
ok(len(entries) == size, "%d entries from bundles" % len(entries))
leaves = [leaf_hash(e) for e in entries]
ok(mth(leaves) == root, "recomputed root equals checkpoint root")

# 3. hash tiles, every level
level, hashes = 0, leaves
while len(hashes) >= 1:
    n = len(hashes)
    for t in range((n + 255) // 256):
        w = min(256, n - t * 256)
        p = "/log/tile/%d/%s%s" % (level, tilepath(t), "" if w == 256 else ".p/%d" % w)
        b, _ = get(p)
        ok(b == b"".join(hashes[t * 256:t * 256 + w]), "hash tile %s matches recomputed hashes" % p)
    # next level: hashes of full 256-leaf subtrees only
    full = n // 256
    if full == 0:
        break
    hashes = [mth(hashes[i * 256:(i + 1) * 256]) for i in range(full)]
    level += 1

# 4. parse and replay every entry
kh = KeyHistory()
parsed = []
last = -1
kinds = {}
for i, b in enumerate(entries):
    try:
        e = parse_entry(b)
    except ValueError as x:
        ok(False, "entry %d: %s" % (i, x))
        parsed.append(None)
        continue
    parsed.append(e)
    kinds[e["kind"] + ("/" + e["event"] + "/" + e["authority"] if e["kind"] == "member-key" else "")] = kinds.get(e["kind"] + ("/" + e["event"] + "/" + e["authority"] if e["kind"] == "member-key" else ""), 0) + 1
    t = parse_time(e["received"])
    if t <= last:
        ok(False, "entry %d received not strictly increasing" % i)
    last = t
    if e["kind"] == "member-key":
        try:
            kh.add(i, e)
        except ValueError as x:
            ok(False, str(x))
ok(True, "entry kinds: %s" % json.dumps(kinds, sort_keys=True))

# 5. objects via /log/objects
start, seen = 0, 0
stat = {}
while start < size:
    b, h = get("/log/objects?start=%d&end=%d" % (start, size))
    r = parse_ijson(b)
    for it in r["objects"]:
        i = it["log_index"]
        op = {k: it[k] for k in ("salt", "collection", "object_id", "version", "member")}
        try:
            s = check_object(it["object"], op, parsed[i], i, kh)
            stat[s] = stat.get(s, 0) + 1
        except ValueError as x:
            ok(False, "object at %d (%s): %s" % (i, it["object"].get("id"), x))
        seen += 1
    start = r.get("next", size)
ok(seen > 0, "%d objects checked against their entries: %s" % (seen, stat))

# 6. receipt for one object
sample = None
b, _ = get("/log/objects?start=0&end=%d" % size)
for it in parse_ijson(b)["objects"]:
    sample = it
rb, _ = get("/log/receipt?object=%s&version=%s" % (sample["object_id"], sample["version"]))
rc = parse_ijson(rb)
print("receipt members:", sorted(rc))
o2, s2, r2, _, _ = open_checkpoint(rc["checkpoint"], VK)
ent = b64(rc["entry"])
ok(verify_inclusion(rc["log_index"], rc["tree_size"], leaf_hash(ent), [b64(x) for x in rc["inclusion_proof"]], r2) and s2 == rc["tree_size"], "receipt inclusion proof")
e = parse_entry(ent)
op = rc.get("opening") or {k: rc[k] for k in ("salt", "collection", "object_id", "version", "member")}
ok(object_commitment(b64(op["salt"]), op["collection"], op["object_id"], op["version"], op["member"], jcsb(sample["object"])) == e["commitment"], "receipt opening opens the entry")
if "witnessed" in rc:
    w = rc["witnessed"]
    ow, sw, rw, _, _ = open_checkpoint(w["checkpoint"], VK)
    ok(verify_consistency(sw, s2, rw, r2, [b64(x) for x in w["consistency"]]), "receipt witnessed checkpoint consistent (size %d -> %d)" % (sw, s2))
    ok(sw > rc["log_index"], "witnessed checkpoint includes the entry")
    if WK:
        ok(len(cosignatures(w["checkpoint"], WK)) == 1, "receipt witnessed checkpoint cosigned")

# 7. /log/keys
kb, _ = get("/log/keys")
kr = parse_ijson(kb)
ok_, sk, rk, _, _ = open_checkpoint(kr["checkpoint"], VK)
kh2 = KeyHistory()
for ev in kr["events"]:
    eb = b64(ev["entry"])
    ok(verify_inclusion(ev["log_index"], sk, leaf_hash(eb), [b64(x) for x in ev["inclusion_proof"]], rk), "key event %d included" % ev["log_index"])
    kh2.add(ev["log_index"], parse_entry(eb))
ok(sk == kr["tree_size"], "/log/keys tree_size matches its checkpoint")
shown = {}
for ev in kr["events"]:
    shown.setdefault(parse_entry(b64(ev["entry"]))["member"], []).append(ev["log_index"])
try:
    complete = check_key_index(kr["key_index"], VK, sk, rk, shown)
    ok(True, "/log/keys key index lists every key entry shown, and only those")
    ok(complete, "/log/keys key index is signed as the index of every member (parley-key-index-all-v1)")
except (KeyError, ValueError) as e:
    ok(False, "/log/keys key index: %s" % e)

# 8. consistency proof endpoint
if size > 2:
    pb, _ = get("/log/proof/consistency?from=%d&to=%d" % (size // 2, size))
    pr = parse_ijson(pb)
    ok(verify_consistency(size // 2, size, mth(leaves[:size // 2]), root, [b64(x) for x in pr["proof"]]), "consistency proof %d->%d" % (size // 2, size))

# 9. cosigned checkpoints list
cb, _ = get("/log/checkpoints?start=0")
cl = parse_ijson(cb)
for c in cl["checkpoints"]:
    _, cs, cr, _, _ = open_checkpoint(c, VK)
    ok(mth(leaves[:cs]) == cr, "cosigned checkpoint size %d root matches recomputed tree" % cs)
    if WK:
        for t in cosignatures(c, WK):
            # entries in the checkpoint: received <= t + 1s + skew; not in: >= t - skew
            skew = 300 * 10**9
            for i, e in enumerate(parsed):
                rt = parse_time(e["received"])
                if i < cs and rt > t * 10**9 + 10**9 + skew:
                    ok(False, "entry %d received after witness cosigned a tree with it" % i)
                if i >= cs and rt < t * 10**9 - skew:
                    ok(False, "entry %d received before witness cosigned a tree without it" % i)
print("FAILURES: %d" % len(fails))
for f in fails:
    print("  " + f)
