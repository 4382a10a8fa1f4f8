"""Independent Parley verifier core, written from README.md and docs/*.md only.

Ed25519 from RFC 8032 section 6 math; RFC 6962/9162 tree; C2SP signed notes,
cosignature/v1; RFC 8785 canonical JSON. Standard library only.
"""
import base64, hashlib, json, re, datetime

# ---------------- Ed25519 (RFC 8032 section 6, verification only) -----------
_p = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493
_d = -121665 * pow(121666, _p - 2, _p) % _p
_sqrtm1 = pow(2, (_p - 1) // 4, _p)


def _add(P, Q):
    A = (P[1] - P[0]) * (Q[1] - Q[0]) % _p
    B = (P[1] + P[0]) * (Q[1] + Q[0]) % _p
    C = 2 * P[3] * Q[3] * _d % _p
    D = 2 * P[2] * Q[2] % _p
    E, F, G, H = B - A, D - C, D + C, B + A
    return (E * F, G * H, F * G, E * H)


def _mul(s, P):
    Q = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            Q = _add(Q, P)
        P = _add(P, P)
        s >>= 1
    return Q


def _eq(P, Q):
    return (P[0] * Q[2] - Q[0] * P[2]) % _p == 0 and (P[1] * Q[2] - Q[1] * P[2]) % _p == 0


def _recover_x(y, sign):
    if y >= _p:
        return None
    x2 = (y * y - 1) * pow(_d * y * y + 1, _p - 2, _p)
    if x2 % _p == 0:
        return None if sign else 0
    x = pow(x2, (_p + 3) // 8, _p)
    if (x * x - x2) % _p != 0:
        x = x * _sqrtm1 % _p
    if (x * x - x2) % _p != 0:
        return None
    if (x & 1) != sign:
        x = _p - x
    return x


_gy = 4 * pow(5, _p - 2, _p) % _p
_gx = _recover_x(_gy, 0)
_G = (_gx, _gy, 1, _gx * _gy % _p)


def _decompress(s):
    y = int.from_bytes(s, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = _recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % _p)


def ed25519_verify(pub, msg, sig):
    if len(pub) != 32 or len(sig) != 64:
        return False
    A = _decompress(pub)
    R = _decompress(sig[:32])
    if A is None or R is None:
        return False
    s = int.from_bytes(sig[32:], "little")
    if s >= _L:
        return False
    h = int.from_bytes(hashlib.sha512(sig[:32] + pub + msg).digest(), "little") % _L
    return _eq(_mul(s, _G), _add(R, _mul(h, A)))


# ---------------- strict base64 / hex ----------------------------------------
def b64(s):
    """Strict standard padded base64: re-encoding must give the same text."""
    if not isinstance(s, str):
        raise ValueError("base64: not a string")
    raw = base64.b64decode(s, validate=True)
    if base64.b64encode(raw).decode() != s:
        raise ValueError("base64 not canonical: %r" % s)
    return raw


def e64(b):
    return base64.b64encode(b).decode()


# ---------------- RFC 8785 canonical JSON -------------------------------------
class Dup(ValueError):
    pass


def _pairs(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise Dup("duplicate member %r" % k)
        d[k] = v
    return d


def parse_ijson(text):
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8")  # strict: invalid UTF-8 raises
    v = json.loads(text, object_pairs_hook=_pairs, parse_float=float)
    _no_lone_surrogates(v)
    return v


def _no_lone_surrogates(v):
    if isinstance(v, str):
        v.encode("utf-8")  # raises on lone surrogates
    elif isinstance(v, list):
        for x in v:
            _no_lone_surrogates(x)
    elif isinstance(v, dict):
        for k, x in v.items():
            _no_lone_surrogates(k)
            _no_lone_surrogates(x)


def _num(x):
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int):
        if abs(x) > 2**53:
            # JCS serialises IEEE doubles: a larger integer is its double.
            return _num(float(x))
        return str(x)
    if x != x or x in (float("inf"), float("-inf")):
        raise ValueError("non-finite number")
    if x == 0:
        return "0"
    r = repr(x)  # shortest round-trip digits, as ECMAScript
    neg = r.startswith("-")
    r = r.lstrip("-")
    if "e" in r:
        mant, exp = r.split("e")
        exp = int(exp)
    else:
        mant, exp = r, 0
    if "." in mant:
        ip, fp = mant.split(".")
    else:
        ip, fp = mant, ""
    digits = (ip + fp).lstrip("0")
    # value = 0.digits * 10^n  with n = position of decimal point
    n = len(ip.lstrip("0")) + exp if ip.strip("0") else exp - (len(fp) - len(fp.lstrip("0")))
    digits = digits.rstrip("0")
    k = len(digits)
    if k <= n <= 21:
        s = digits + "0" * (n - k)
    elif 0 < n <= 21:
        s = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        s = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        s = digits[0] + ("." + digits[1:] if k > 1 else "") + "e" + ("+" if e > 0 else "-") + str(abs(e))
    return ("-" if neg else "") + s


def _str(s):
    out = ['"']
    for ch in s:
        c = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\b":
            out.append("\\b")
        elif ch == "\f":
            out.append("\\f")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif c < 0x20:
            out.append("\\u%04x" % c)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def jcs(v):
    if v is None:
        return "null"
    if isinstance(v, (bool, int, float)):
        return _num(v)
    if isinstance(v, str):
        return _str(v)
    if isinstance(v, list):
        return "[" + ",".join(jcs(x) for x in v) + "]"
    if isinstance(v, dict):
        keys = sorted(v.keys(), key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join(_str(k) + ":" + jcs(v[k]) for k in keys) + "}"
    raise TypeError(type(v))


def jcsb(v):
    return jcs(v).encode("utf-8")


# ---------------- Merkle tree (RFC 6962 / 9162) -------------------------------
def H(b):
    return hashlib.sha256(b).digest()


def leaf_hash(e):
    return H(b"\x00" + e)


def node_hash(l, r):
    return H(b"\x01" + l + r)


def mth(leaves):
    """Root over leaf hashes."""
    n = len(leaves)
    if n == 0:
        return H(b"")
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def verify_inclusion(index, size, lh, proof, root):
    if index >= size:
        return False
    fn, sn, r = index, size - 1, lh
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while True:
                    fn >>= 1
                    sn >>= 1
                    if fn & 1 or fn == 0:
                        break
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(m, n, r1, r2, proof):
    if m > n:
        return False
    if m == n:
        return not proof and r1 == r2
    if m == 0:
        return not proof
    if not proof and True:
        return False
    if m & (m - 1) == 0:
        proof = [r1] + list(proof)
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while True:
                    fn >>= 1
                    sn >>= 1
                    if fn & 1 or fn == 0:
                        break
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == r1 and sr == r2 and sn == 0


# ---------------- C2SP signed notes -------------------------------------------
class VKey:
    def __init__(self, text):
        text = text.strip()
        name, kid, k = text.split("+", 2)
        raw = b64(k)
        self.text, self.name, self.type, self.pub = text, name, raw[0], raw[1:]
        self.kid = bytes.fromhex(kid)
        if len(kid) != 8 or H(name.encode() + b"\n" + raw)[:4] != self.kid:
            raise ValueError("verifier key id mismatch")


def split_note(note):
    """Returns (text, [(name, raw sig bytes)])."""
    i = note.index("\n\n")
    text = note[: i + 1]
    sigs = []
    for line in note[i + 2:].split("\n"):
        if line == "":
            continue
        if not line.startswith("\u2014 "):
            raise ValueError("bad signature line %r" % line)
        name, s = line[2:].rsplit(" ", 1)
        sigs.append((name, base64.b64decode(s, validate=True)))
    if not note.endswith("\n"):
        raise ValueError("note does not end with newline")
    return text, sigs


def open_checkpoint(note, vk):
    """Verify the log signature (every line by the log key must verify);
    return (origin, size, root, text, sigs)."""
    text, sigs = split_note(note)
    good = 0
    for name, s in sigs:
        if name == vk.name and s[:4] == vk.kid:
            if not ed25519_verify(vk.pub, text.encode(), s[4:]):
                raise ValueError("bad log signature")
            good += 1
    if not good:
        raise ValueError("no signature by the log key")
    lines = text.split("\n")
    origin, size, root = lines[0], int(lines[1]), b64(lines[2])
    if origin != vk.name:
        raise ValueError("origin %r != key name %r" % (origin, vk.name))
    if str(size) != lines[1] or len(root) != 32:
        raise ValueError("bad checkpoint body")
    return origin, size, root, text, sigs


def check_key_index(note, vk, size, root, shown, members=()):
    """Check a key index (docs/log.md, "Key index") signed by the log key,
    of the tree (size, root), against the key entries shown ({member:
    [log_index]}): every member shown, listed or in members must be
    listed with exactly the entries shown. An index of every member
    (first line parley-key-index-all-v1) says that a member it doesn't
    list has no key entry. Returns whether it is such an index."""
    text, sigs = split_note(note)
    good = 0
    for name, s in sigs:
        if name == vk.name and s[:4] == vk.kid:
            if not ed25519_verify(vk.pub, text.encode(), s[4:]):
                raise ValueError("bad key index signature")
            good += 1
    if not good:
        raise ValueError("key index not signed by the log key")
    lines = text[:-1].split("\n")
    if len(lines) < 4 or lines[0] not in ("parley-key-index-v1", "parley-key-index-all-v1") or lines[1] != vk.name:
        raise ValueError("bad key index header")
    complete = lines[0] == "parley-key-index-all-v1"
    if lines[2] != str(size) or b64(lines[3]) != root:
        raise ValueError("key index of another tree")
    listed = {}
    for l in lines[4:]:
        f = l.split(" ")
        if f[0] in listed:
            raise ValueError("member listed twice in the key index")
        listed[f[0]] = [int(x) for x in f[1:]]
    for m in set(shown) | set(listed) | set(members):
        if m not in listed:
            if complete and not shown.get(m):
                continue
            raise ValueError("key index doesn't list %s" % m)
        if sorted(listed[m]) != sorted(shown.get(m, [])):
            raise ValueError("key entries of %s left out or not listed: shown %s, listed %s" % (m, sorted(shown.get(m, [])), listed[m]))
    return complete


def cosignatures(note, wk):
    """Timestamps of valid cosignature/v1 lines by witness key wk (type 0x04)."""
    text, sigs = split_note(note)
    out = []
    for name, s in sigs:
        if name == wk.name and s[:4] == wk.kid:
            if wk.type != 4 or len(s) != 4 + 8 + 64:
                raise ValueError("not an Ed25519 cosignature")
            t = int.from_bytes(s[4:12], "big")
            msg = b"cosignature/v1\ntime %d\n" % t + text.encode()
            if not ed25519_verify(wk.pub, msg, s[12:]):
                raise ValueError("bad cosignature by %s" % wk.name)
            out.append(t)
    return out


# ---------------- log entries (format v2) -------------------------------------
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?Z$")
HEX_RE = re.compile(r"^[0-9a-f]{64}$")
FIELDS = {
    "object": {"commitment", "kind", "received"},
    "oprf-key": {"commitment", "kind", "received"},
}


def parse_time(s):
    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z$", s)
    if not m:
        raise ValueError("bad time %r" % s)
    base = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    frac = (m.group(2) or "").ljust(9, "0")
    if len(frac) > 9:
        raise ValueError("more than ns precision %r" % s)
    return int(base.timestamp()) * 10**9 + int(frac)


def parse_entry(b):
    e = parse_ijson(b)
    if not isinstance(e, dict) or not all(isinstance(v, str) for v in e.values()):
        raise ValueError("entry is not a flat object of strings")
    if jcsb(e) != b:
        raise ValueError("entry is not in canonical form")
    k = e.get("kind")
    if k is None:
        raise ValueError("format v1 entry (no kind)")
    if not TIME_RE.match(e.get("received", "")):
        raise ValueError("bad received %r" % e.get("received"))
    if k in FIELDS:
        if set(e) != FIELDS[k]:
            raise ValueError("%s entry fields %s" % (k, sorted(e)))
        if not HEX_RE.match(e["commitment"]):
            raise ValueError("commitment not lowercase hex")
    elif k == "member-key":
        ev = e.get("event")
        need = {"authority", "event", "kind", "member", "received"}
        if ev in ("rotate", "revoke-key"):
            need |= {"key"}
        elif ev == "register":
            if "key" in e:
                need |= {"key"}
        elif ev != "revoke-member":
            raise ValueError("unknown event %r" % ev)
        if e.get("authority") == "member":
            if ev != "rotate":
                raise ValueError("only a rotate can be member-signed")
            need |= {"statement"}
        elif e.get("authority") != "operator":
            raise ValueError("bad authority %r" % e.get("authority"))
        if set(e) != need:
            raise ValueError("member-key %s fields %s, expected %s" % (ev, sorted(e), sorted(need)))
        if "key" in e and len(b64(e["key"])) != 32:
            raise ValueError("key not 32 bytes")
        if "statement" in e and len(b64(e["statement"])) != 64:
            raise ValueError("statement not 64 bytes")
    else:
        raise ValueError("unknown kind %r" % k)
    return e


def LP(s):
    if isinstance(s, str):
        s = s.encode()
    return len(s).to_bytes(4, "big") + s


def object_commitment(salt, collection, oid, version, member, canon):
    return H(b"parley-object-commitment-v2\n" + salt + LP(collection) + LP(oid) + LP(version) + LP(member) + canon).hex()


def oprf_commitment(salt, set_id, collection, member, suite, pub):
    return H(b"parley-oprf-key-commitment-v2\n" + salt + LP(set_id) + LP(collection) + LP(member) + LP(suite) + pub).hex()


# ---------------- key history -------------------------------------------------
class KeyHistory:
    """Replays member-key entries in log order (docs/log.md)."""

    def __init__(self):
        self.m = {}  # member -> dict(cur, used:set, revoked, keyless, events[(idx, key or None, authority)])

    def add(self, idx, e):
        mem, ev = e["member"], e["event"]
        st = self.m.get(mem)
        key = b64(e["key"]) if "key" in e else None
        if ev == "register":
            if st is not None:
                raise ValueError("entry %d: second register of %s" % (idx, mem))
            st = self.m[mem] = {"cur": key, "used": set(), "revoked": False, "keyless": key is None,
                                "hist": [(idx, key, "register")], "gotkey": key is not None}
            if key:
                st["used"].add(key)
            return
        if st is None or st["revoked"]:
            raise ValueError("entry %d: %s for unregistered or revoked member %s" % (idx, ev, mem))
        if ev == "rotate":
            if key in st["used"]:
                raise ValueError("entry %d: rotation to a key used before" % idx)
            if e["authority"] == "member":
                if st["cur"] is None:
                    raise ValueError("entry %d: member-signed rotation without a key in force" % idx)
                msg = b"parley-key-rotation-v1\n" + e64(st["cur"]).encode() + b"\n" + e["key"].encode() + b"\n"
                if not ed25519_verify(st["cur"], msg, b64(e["statement"])):
                    raise ValueError("entry %d: rotation statement does not verify" % idx)
            st["cur"] = key
            st["used"].add(key)
            st["gotkey"] = True
            st["hist"].append((idx, key, e["authority"]))
        elif ev == "revoke-key":
            if key != st["cur"] or key is None:
                raise ValueError("entry %d: revoke-key of a key not in force" % idx)
            st["cur"] = None
            st["hist"].append((idx, None, e["authority"]))
        elif ev == "revoke-member":
            st["cur"] = None
            st["revoked"] = True
            st["hist"].append((idx, None, e["authority"]))

    def at(self, mem, idx):
        """(key in force, authority that put it in force, keyless-so-far) for an entry at idx."""
        st = self.m.get(mem)
        if st is None:
            return None, None, False
        cur, auth, gotkey = None, None, False
        for (i, k, a) in st["hist"]:
            if i >= idx:
                break
            cur, auth = k, a
            if k is not None:
                gotkey = True
        registered = st["hist"][0][0] < idx
        revoked_before = any(i < idx and k is None and j > 0 for j, (i, k, a) in enumerate(st["hist"]))
        keyless = registered and st["hist"][0][1] is None and not gotkey and not revoked_before
        return cur, auth, keyless


# ---------------- STIX signature ----------------------------------------------
EXT = "extension-definition--f0b55baa-9c82-4c6a-84d6-8f59124ea46f"


def stix_sig(obj):
    """Returns None (unsigned) or (public_key, ok)."""
    ext = obj.get("extensions") or {}
    if EXT not in ext:
        return None
    ent = ext[EXT]
    if set(ent) != {"extension_type", "alg", "public_key", "signature"}:
        raise ValueError("signature entry members %s" % sorted(ent))
    if ent["extension_type"] != "property-extension" or ent["alg"] != "ed25519":
        raise ValueError("bad signature entry")
    pub, sig = b64(ent["public_key"]), b64(ent["signature"])
    rest = dict(obj)
    ext2 = dict(ext)
    del ext2[EXT]
    if ext2:
        rest["extensions"] = ext2
    else:
        del rest["extensions"]
    return pub, ed25519_verify(pub, b"parley-stix-signature-v1\n" + jcsb(rest), sig)


def check_object(obj, opening, entry, idx, kh):
    """docs/log.md 'Opening' steps 1-4. Returns a status string or raises."""
    if entry["kind"] != "object":
        raise ValueError("not an object entry")
    salt = b64(opening["salt"])
    if len(salt) != 32:
        raise ValueError("salt not 32 bytes")
    c = object_commitment(salt, opening["collection"], opening["object_id"], opening["version"], opening["member"], jcsb(obj))
    if c != entry["commitment"]:
        raise ValueError("commitment mismatch")
    if obj.get("id") != opening["object_id"]:
        raise ValueError("id mismatch")
    ver = obj.get("modified") or obj.get("created")
    if ver is not None and parse_stix_time(ver) != parse_stix_time(opening["version"]):
        raise ValueError("version mismatch %s vs %s" % (ver, opening["version"]))
    s = stix_sig(obj)
    if s is None:
        return "unsigned"
    pub, ok = s
    key, auth, keyless = kh.at(opening["member"], idx)
    if key is not None and pub == key and ok:
        return "signed" + (" (operator-asserted key)" if auth == "operator" else "")
    if key is None and keyless and ok:
        return "foreign-signature (counted as unsigned)"
    raise ValueError("signature does not verify with the key in force (%s)" % ("none" if key is None else e64(key)))


def parse_stix_time(s):
    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z$", s)
    if not m:
        raise ValueError("bad STIX timestamp %r" % s)
    base = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    frac = (m.group(2) or "")
    return (int(base.timestamp()), int(frac.ljust(9, "0")[:9]) if frac else 0)
