"""Offline checks from docs: proof bundle (docs/log.md), split-view evidence (docs/witness.md).
usage: offline.py bundle FILE LOGVKEY [WITNESSVKEY] | evidence FILE LOGVKEY"""
import sys, json
from pcore import *

def verify_bundle(b, vk, wk=None, out=print):
    if b.get("type") != "parley-proof-bundle-v2":
        raise ValueError("type %r" % b.get("type"))
    extra = set(b) - {"type", "log_key", "checkpoint", "keys", "key_index", "names", "items", "witnessed"}
    if extra:
        raise ValueError("unknown members %s" % extra)
    origin, size, root, _, _ = open_checkpoint(b["checkpoint"], vk)
    kh = KeyHistory()
    last = -1
    shown = {}
    for k in b["keys"]:
        e = b64(k["entry"])
        shown.setdefault(parse_entry(e)["member"], []).append(k["log_index"])
        if not verify_inclusion(k["log_index"], size, leaf_hash(e), [b64(x) for x in k["inclusion_proof"]], root):
            raise ValueError("key entry %d not included" % k["log_index"])
        if k["log_index"] <= last:
            raise ValueError("key entries not in log order")
        last = k["log_index"]
        kh.add(k["log_index"], parse_entry(e))
    if "key_index" in b:
        check_key_index(b["key_index"], vk, size, root, shown, [it["member"] for it in b["items"]])
    res = []
    for it in b["items"]:
        e = b64(it["entry"])
        if not verify_inclusion(it["log_index"], size, leaf_hash(e), [b64(x) for x in it["inclusion_proof"]], root):
            raise ValueError("item %d not included" % it["log_index"])
        op = {k: it[k] for k in ("salt", "collection", "object_id", "version", "member")}
        st = check_object(it["object"], op, parse_entry(e), it["log_index"], kh)
        res.append((it["object_id"], it["version"], it["log_index"], st))
    wit = []
    for w in b.get("witnessed") or []:
        _, ws, wr, _, _ = open_checkpoint(w["checkpoint"], vk)
        if not verify_consistency(ws, size, wr, root, [b64(x) for x in w["consistency"]]):
            raise ValueError("witnessed checkpoint %d not consistent" % ws)
        ts = cosignatures(w["checkpoint"], wk) if wk else []
        wit.append((ws, ts))
    return origin, size, res, wit

def verify_evidence(ev, vk):
    if set(ev) - {"type", "log_key", "checkpoints", "proof", "found_by", "found_at"} or ev.get("type") != "parley-split-view-evidence-v1":
        raise ValueError("not evidence v1")
    a, b = ev["checkpoints"]
    _, m, ra, _, _ = open_checkpoint(a, vk)
    _, n, rb, _, _ = open_checkpoint(b, vk)
    if m > n:
        raise ValueError("checkpoints out of order")
    if m == n:
        if "proof" in ev or ra == rb:
            raise ValueError("same size: roots equal or proof present")
        return "same size %d, roots differ" % m
    pr = ev["proof"]
    cons = [b64(x) for x in pr["consistency"]]
    if len(cons) > 128:
        raise ValueError("too many hashes")
    prefix = b64(pr["prefix_root"])
    if not verify_consistency(m, n, prefix, rb, cons):
        raise ValueError("consistency proof does not verify")
    if prefix == ra:
        raise ValueError("prefix root equals the first root: no fork")
    return "fork: tree %d's prefix at %d is not the signed root at %d" % (n, m, m)

if __name__ == "__main__":
    what, f, vk = sys.argv[1], sys.argv[2], VKey(sys.argv[3])
    d = parse_ijson(open(f, "rb").read())
    if what == "bundle":
        wk = VKey(sys.argv[4]) if len(sys.argv) > 4 else None
        o, s, res, wit = verify_bundle(d, vk, wk)
        print("bundle verified in %s at size %d" % (o, s))
        for r in res: print("  item", *r)
        for w in wit: print("  witnessed checkpoint size %d cosigned at %s" % w)
    else:
        print("evidence verified:", verify_evidence(d, vk))
