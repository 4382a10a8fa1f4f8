"""C2SP tlog-witness add-checkpoint, black-box, per docs/witness.md.
usage: witness_api.py WURL WVKEY AURL TOKEN AVKEY BCHECKPOINTFILE"""
import sys, urllib.request, urllib.error, hashlib
from pcore import *
WURL, WK, AU, TOK, AVK = sys.argv[1], VKey(sys.argv[2]), sys.argv[3], sys.argv[4], VKey(sys.argv[5])
fails = []
def ok(c, m):
    print(("ok   " if c else "FAIL ") + m)
    if not c: fails.append(m)
def post(body):
    r = urllib.request.Request(WURL + "/add-checkpoint", data=body, method="POST")
    try:
        with urllib.request.urlopen(r) as resp: return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e: return e.code, e.headers, e.read()
def aget(p):
    r = urllib.request.Request(AU + p, headers={"Authorization": "Bearer " + TOK})
    with urllib.request.urlopen(r) as resp: return resp.read()
note = aget("/log/checkpoint").decode()
text, sigs = split_note(note)
_, size, root, _, _ = open_checkpoint(note, AVK)
# strip the witness's own cosignatures: send the log's signature only
logonly = text + "\n" + "".join("\u2014 %s %s\n" % (n, e64(s)) for n, s in sigs if n == AVK.name)
st, h, b = post(b"old 0\n\n" + logonly.encode())
ok(st == 409 and h.get("Content-Type") == "text/x.tlog.size" and b.decode().endswith("\n"), "old 0: 409 text/x.tlog.size body %r" % b)
wsize = int(b.decode())
mon = urllib.request.urlopen(WURL + "/" + hashlib.sha256(AVK.name.encode()).hexdigest() + "/checkpoint").read().decode()
_, ms, mr, _, _ = open_checkpoint(mon, AVK)
ok(ms == wsize, "409 size %d = monitor checkpoint size %d" % (wsize, ms))
proof = [] if wsize == size else [x for x in parse_ijson(aget("/log/proof/consistency?from=%d&to=%d" % (wsize, size)))["proof"]]
body = ("old %d\n" % wsize + "".join(p + "\n" for p in proof) + "\n" + logonly).encode()
st, h, b = post(body)
ok(st == 200, "consistent submission: 200 (%d %r)" % (st, b[:80]))
if st == 200:
    line = b.decode()
    ok(line.startswith("\u2014 " + WK.name + " ") and line.endswith("\n") and line.count("\n") == 1, "answer is one note signature line")
    ts = cosignatures(text + "\n" + line, WK)
    ok(len(ts) == 1, "the returned cosignature verifies over cosignature/v1 at %s" % ts)
# a bad log signature: flip a byte of the signature
n, s = [x for x in sigs if x[0] == AVK.name][0]
bad = text + "\n\u2014 %s %s\n" % (n, e64(s[:10] + bytes([s[10] ^ 1]) + s[11:]))
st, h, b = post(("old %d\n\n" % size + bad).encode())
ok(st == 403, "bad log signature: 403 (%d)" % st)
# unknown origin
other = open(sys.argv[6]).read()
st, h, b = post(("old 0\n\n" + other).encode())
ok(st == 404, "unknown origin: 404 (%d)" % st)
# malformed
st, h, b = post(b"old x\n\n" + logonly.encode())
ok(st == 400, "malformed old line: 400 (%d)" % st)
st, h, b = post(("old %d\n\n" % (size + 1) + logonly).encode())
ok(st == 400, "old size above the checkpoint's: 400 (%d)" % st)
if size > 1:
    st, h, b = post(("old %d\n%s\n\n" % (size, e64(b"\x00" * 32)) + logonly).encode())
    ok(st in (422, 200), "equal sizes with a stray proof line: %d" % st)
print("FAILURES: %d" % len(fails))
