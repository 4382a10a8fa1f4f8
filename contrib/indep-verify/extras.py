"""Federation provenance, OPRF key receipt, witness monitor retrieval.
usage: extras.py AURL TOKEN AVKEY BVKEY WURL WVKEY LOCALCOLL OBJID SETID"""
import sys, json, urllib.request, hashlib
from pcore import *
from offline import verify_bundle
AU, TOK, AVK, BVK, WURL, WK, LC, OID, SID = sys.argv[1], sys.argv[2], VKey(sys.argv[3]), VKey(sys.argv[4]), sys.argv[5], VKey(sys.argv[6]), sys.argv[7], sys.argv[8], sys.argv[9]
fails = []
def ok(c, m):
    print(("ok   " if c else "FAIL ") + m)
    if not c: fails.append(m)
def get(u, auth=True):
    r = urllib.request.Request(u, headers={"Authorization": "Bearer " + TOK, "Accept": "application/taxii+json;version=2.1"} if auth else {})
    with urllib.request.urlopen(r) as resp: return resp.read()
# federation: A's copies are B-signed items of B's log
pb = parse_ijson(get(AU + "/peers/bundle?collection=%s&object=%s" % (LC, OID)))
ok(pb["log_key"] == BVK.text, "peer bundle names B's key")
o, s, res, _ = verify_bundle(pb, BVK)
ok(all(r[0] == OID for r in res), "peer bundle items are of %s" % OID)
env = parse_ijson(get(AU + "/api/collections/%s/objects/?match[id]=%s&match[version]=all" % (LC, OID)))
canon_items = {jcsb(it["object"]): st for it, (_, _, _, st) in zip(pb["items"], res)}
for obj in env["objects"]:
    st = canon_items.get(jcsb(obj))
    ok(st is not None and st.startswith("signed"), "A's copy %s@%s is an item of B's log, %s" % (OID, obj["modified"], st))
# OPRF key entry
rc = parse_ijson(get(AU + "/private/sets/%s/receipt" % SID))
meta = parse_ijson(get(AU + "/private/sets/%s" % SID))
_, size, root, _, _ = open_checkpoint(rc["checkpoint"], AVK)
ent = b64(rc["entry"])
ok(verify_inclusion(rc["log_index"], size, leaf_hash(ent), [b64(x) for x in rc["inclusion_proof"]], root), "set key entry included")
ok(rc["log_index"] == meta["key_log_index"], "receipt index = key_log_index")
e = parse_entry(ent)
op = rc.get("opening")
ok(op is not None, "receipt carries the opening (undocumented member 'opening')")
if op:
    c = oprf_commitment(b64(op["salt"]), op["object_id"], op["collection"], op["member"], meta["suite"], b64(meta["public_key"]))
    ok(e["kind"] == "oprf-key" and c == e["commitment"], "OPRF key commitment opens to the set's public key")
    ok(op["object_id"] == SID and op["collection"] == meta["collection"] and op["member"] == meta["provider"], "opening names the set, its collection and provider")
# witness monitor retrieval
oh = hashlib.sha256(AVK.name.encode()).hexdigest()
wn = get(WURL + "/%s/checkpoint" % oh, auth=False).decode()
_, ws, wr, _, _ = open_checkpoint(wn, AVK)
ts = cosignatures(wn, WK)
ok(len(ts) == 1, "witness monitor checkpoint size %d cosigned at %s" % (ws, ts))
cur = get(AU + "/log/checkpoint").decode()
_, cs, cr, _, _ = open_checkpoint(cur, AVK)
if ws == cs:
    ok(wr == cr, "witness and node agree at size %d" % cs)
else:
    pr = parse_ijson(get(AU + "/log/proof/consistency?from=%d&to=%d" % (min(ws, cs), max(ws, cs))))
    a, b = (wr, cr) if ws < cs else (cr, wr)
    ok(verify_consistency(min(ws, cs), max(ws, cs), a, b, [b64(x) for x in pr["proof"]]), "witness view consistent with node's")
print("FAILURES: %d" % len(fails))
