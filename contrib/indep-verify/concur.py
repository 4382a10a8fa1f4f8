"""Recompute GET /concurrence from its evidence (README 'Signed opinions and concurrence').
usage: concur.py URL TOKEN LOGVKEY OBJECT"""
import sys, urllib.request
from pcore import *
URL, TOK, VK, OBJ = sys.argv[1], sys.argv[2], VKey(sys.argv[3]), sys.argv[4]
r = urllib.request.Request(URL + "/concurrence?object=" + OBJ, headers={"Authorization": "Bearer " + TOK})
c = parse_ijson(urllib.request.urlopen(r).read())
b = c["evidence"]
assert b["log_key"] == VK.text
_, size, root, _, _ = open_checkpoint(b["checkpoint"], VK)
kh = KeyHistory()
shown = {}
for k in b["keys"]:
    e = b64(k["entry"])
    assert verify_inclusion(k["log_index"], size, leaf_hash(e), [b64(x) for x in k["inclusion_proof"]], root)
    kh.add(k["log_index"], parse_entry(e))
    shown.setdefault(parse_entry(e)["member"], []).append(k["log_index"])
if b["items"]:
    # Every key entry of every sharer must be there (docs/log.md, "Key index").
    check_key_index(b["key_index"], VK, size, root, shown, [it["member"] for it in b["items"]])
latest = {}
for it in b["items"]:
    e = b64(it["entry"])
    assert verify_inclusion(it["log_index"], size, leaf_hash(e), [b64(x) for x in it["inclusion_proof"]], root)
    op = {k: it[k] for k in ("salt", "collection", "object_id", "version", "member")}
    o = it["object"]
    try:
        st = check_object(o, op, parse_entry(e), it["log_index"], kh)
    except ValueError as x:
        print("  not counted:", o["id"], o.get("modified"), x); continue
    if not st.startswith("signed"):
        print("  not counted:", o["id"], st); continue
    mem = o.get("created_by_ref") or it["member"]
    if mem != it["member"]:
        print("  forged:", o["id"]); continue
    key = (mem, o["id"])
    if key not in latest or parse_stix_time(o["modified"]) > parse_stix_time(latest[key]["modified"]):
        latest[key] = o
per = {}
for (mem, oid), o in latest.items():
    if o.get("revoked") or OBJ not in o.get("object_refs", []):
        continue
    if mem not in per or parse_stix_time(o["modified"]) > parse_stix_time(per[mem]["modified"]):
        per[mem] = o
counts = {v: 0 for v in ("strongly-disagree", "disagree", "neutral", "agree", "strongly-agree")}
for o in per.values():
    counts[o["opinion"]] += 1
print("recomputed:", counts, "voices", len(per))
print("node says: ", c["counts"], "voices", c["voices"])
mine = sorted((m, o["id"], o["modified"]) for m, o in per.items())
theirs = sorted((v["member"], v["opinion_id"], v["version"]) for v in c["opinions"])
print("MATCH" if counts == c["counts"] and mine == theirs and c["voices"] == len(per) else "MISMATCH %s %s" % (mine, theirs))
