// Parley log format v2, in the browser: every rule that depends on the
// log's wire format lives in this one file (RFC 8785 JSON, the object
// commitment, log entries, member-key history, RFC 9162 inclusion
// proofs, C2SP signed notes, the STIX object signature). verify.js and
// sign.js only orchestrate. No dependency: WebCrypto (SHA-256, Ed25519).
"use strict";
(function () {
  const enc = new TextEncoder();
  const SIG_EXT = "extension-definition--f0b55baa-9c82-4c6a-84d6-8f59124ea46f";
  const SIG_PREFIX = "parley-stix-signature-v1\n";
  const COMMIT_PREFIX = "parley-object-commitment-v2\n";
  const ROTATE_PREFIX = "parley-key-rotation-v1\n";

  function b64decode(s) {
    if (typeof s !== "string") throw new Error("expected base64 text");
    let bin;
    try { bin = atob(s); } catch (e) { throw new Error("malformed base64"); }
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  function b64encode(b) {
    let s = "";
    for (const x of b) s += String.fromCharCode(x);
    return btoa(s);
  }
  function hex(b) {
    return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  }
  function concat(...parts) {
    let n = 0;
    for (const p of parts) n += p.length;
    const out = new Uint8Array(n);
    let o = 0;
    for (const p of parts) { out.set(p, o); o += p.length; }
    return out;
  }
  function equal(a, b) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  // lp: 4-byte big-endian length, then the bytes.
  function lp(s) {
    const b = typeof s === "string" ? enc.encode(s) : s;
    const n = new Uint8Array(4);
    new DataView(n.buffer).setUint32(0, b.length, false);
    return concat(n, b);
  }
  async function sha256(b) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", b));
  }

  // jcs is RFC 8785: JSON.stringify writes strings and numbers as the
  // RFC requires; object members are sorted by UTF-16 code units, which
  // is what Array.prototype.sort compares.
  function jcs(v) {
    if (v === null || typeof v !== "object") {
      if (typeof v === "number" && !isFinite(v)) throw new Error("JSON has no " + v);
      return JSON.stringify(v);
    }
    if (Array.isArray(v)) return "[" + v.map(jcs).join(",") + "]";
    const keys = Object.keys(v).sort();
    return "{" + keys.map((k) => JSON.stringify(k) + ":" + jcs(v[k])).join(",") + "}";
  }

  // parseEntry reads a log entry's leaf bytes: a flat JSON object of
  // strings, in canonical form, with a kind.
  function parseEntry(leaf) {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(leaf);
    const e = JSON.parse(text);
    if (e === null || typeof e !== "object" || Array.isArray(e)) throw new Error("the log entry is not a JSON object");
    for (const k of Object.keys(e)) {
      if (typeof e[k] !== "string") throw new Error("the log entry's member " + k + " is not a string");
    }
    if (!("kind" in e)) throw new Error("log entry in format v1: this page checks format v2 only");
    if (jcs(e) !== text) throw new Error("the log entry is not in canonical form");
    return e;
  }

  // objectVersion is the version an object entry names: modified exactly
  // as written, or created.
  function objectVersion(obj) {
    return typeof obj.modified === "string" ? obj.modified : obj.created;
  }

  async function objectCommitment(saltB64, collection, objectId, version, member, canonicalText) {
    const salt = b64decode(saltB64);
    if (salt.length !== 32) throw new Error("the salt is not 32 bytes");
    return hex(await sha256(concat(enc.encode(COMMIT_PREFIX), salt, lp(collection), lp(objectId), lp(version), lp(member), enc.encode(canonicalText))));
  }

  async function leafHash(leaf) { return sha256(concat(new Uint8Array([0]), leaf)); }
  async function nodeHash(l, r) { return sha256(concat(new Uint8Array([1]), l, r)); }

  // rootFromInclusion is RFC 9162 section 2.1.3.2: the root a proof
  // gives for the leaf at index in a tree of size, or an error.
  async function rootFromInclusion(index, size, leafH, proof) {
    if (!(index >= 0 && index < size)) throw new Error("the index is outside the tree");
    let fn = index, sn = size - 1, r = leafH;
    for (const p of proof) {
      if (sn === 0) throw new Error("the inclusion proof is too long");
      if (fn % 2 === 1 || fn === sn) {
        r = await nodeHash(p, r);
        if (fn % 2 === 0) {
          while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
        }
      } else {
        r = await nodeHash(r, p);
      }
      fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
    }
    if (sn !== 0) throw new Error("the inclusion proof is too short");
    return r;
  }

  // verifyConsistency is RFC 9162 section 2.1.4.2: it throws unless proof
  // shows that the tree of size1 with root1 is a prefix of the tree of
  // size2 with root2 (0 < size1 <= size2; equal sizes need equal roots and
  // no proof).
  async function verifyConsistency(size1, size2, proof, root1, root2) {
    if (!(size1 > 0 && size1 <= size2)) throw new Error("the consistency proof's sizes are out of order");
    if (size1 === size2) {
      if (proof.length !== 0 || !equal(root1, root2)) throw new Error("two trees of one size with different roots");
      return;
    }
    if (proof.length === 0) throw new Error("the consistency proof is empty");
    const path = (size1 & (size1 - 1)) === 0 ? [root1, ...proof] : proof.slice();
    let fn = size1 - 1, sn = size2 - 1;
    while (fn % 2 === 1) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    let fr = path[0], sr = path[0];
    for (const c of path.slice(1)) {
      if (sn === 0) throw new Error("the consistency proof is too long");
      if (fn % 2 === 1 || fn === sn) {
        fr = await nodeHash(c, fr);
        sr = await nodeHash(c, sr);
        if (fn % 2 === 0) {
          while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
        }
      } else {
        sr = await nodeHash(sr, c);
      }
      fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
    }
    if (sn !== 0) throw new Error("the consistency proof is too short");
    if (!equal(fr, root1) || !equal(sr, root2)) throw new Error("the consistency proof doesn't lead to both roots");
  }

  async function ed25519Verify(pub, sig, msg) {
    const k = await crypto.subtle.importKey("raw", pub, { name: "Ed25519" }, false, ["verify"]);
    return crypto.subtle.verify({ name: "Ed25519" }, k, sig, msg);
  }

  // parseVerifierKey reads a note verifier key
  // "<name>+<hex key hash>+<base64(0x01 || pubkey)>" and checks its hash.
  async function parseVerifierKey(vkey) {
    // The base64 key may itself hold "+": split at the first two only.
    const v = vkey.trim();
    const i = v.indexOf("+"), j = v.indexOf("+", i + 1);
    if (i <= 0 || j !== i + 9) throw new Error("the log key is malformed");
    const name = v.slice(0, i), hashHex = v.slice(i + 1, j), keyB64 = v.slice(j + 1);
    const kb = b64decode(keyB64);
    if (kb.length !== 33 || kb[0] !== 1) throw new Error("the log key is not an Ed25519 note key");
    const h = (await sha256(concat(enc.encode(name + "\n"), kb))).slice(0, 4);
    if (hex(h) !== hashHex) throw new Error("the log key's hash doesn't match the key");
    return { name, keyHash: h, pub: kb.slice(1) };
  }

  // verifyCheckpoint checks a C2SP signed note against the pinned key
  // and returns its origin, size and root hash.
  async function verifyCheckpoint(text, key) {
    const split = text.indexOf("\n\n");
    if (split < 0) throw new Error("the checkpoint has no signature block");
    const body = text.slice(0, split + 1);
    const lines = body.split("\n");
    if (lines.length < 4) throw new Error("the checkpoint is malformed");
    const origin = lines[0], size = lines[1], rootB64 = lines[2];
    if (!/^(0|[1-9][0-9]{0,15})$/.test(size)) throw new Error("the checkpoint size is malformed");
    const root = b64decode(rootB64);
    if (root.length !== 32) throw new Error("the checkpoint root is not 32 bytes");
    if (origin !== key.name) throw new Error("the checkpoint is for " + origin + ", not the pinned log " + key.name);
    let ok = false;
    for (const line of text.slice(split + 2).split("\n")) {
      if (!line) continue;
      const m = /^\u2014 (\S+) (\S+)$/.exec(line);
      if (!m) throw new Error("a checkpoint signature line is malformed");
      if (m[1] !== key.name) continue;
      const sig = b64decode(m[2]);
      if (sig.length !== 68 || !equal(sig.slice(0, 4), key.keyHash)) continue;
      if (await ed25519Verify(key.pub, sig.slice(4), enc.encode(body))) ok = true;
    }
    if (!ok) throw new Error("the checkpoint is not signed by the pinned log key");
    return { origin, size: Number(size), root };
  }

  // keyInForce returns the base64 key in force for the member at log
  // index, from its member-key entries (each {index, entry}): the key of
  // its last register or rotate before index, unless a revoke-key of it
  // or a revoke-member before index ended it. The history must be one the
  // node could have written (tlog.KeyHistory's rules, as on the node):
  // one register first, no event after a revoke-member, no rotation to
  // the key in force or to any key the member held before (a key is used
  // once, so a rotation statement can't be replayed after A->B->A), a
  // revoke-key only of the key in force, and a
  // rotation the member signed verifies with the previous key over
  // "parley-key-rotation-v1\n" || base64(old) || "\n" || base64(new) || "\n".
  async function keyInForce(events, member, index) {
    events = events.slice().sort((a, b) => a.index - b.index);
    let registered = false, revokedMember = false;
    let cur = null; // {key, from, until}
    const keys = [];
    for (const ev of events) {
      const e = ev.entry;
      if (e.kind !== "member-key" || e.member !== member) throw new Error("a key entry is not about " + member);
      if (e.event === "register") {
        if (registered) throw new Error(member + " is registered a second time");
        registered = true;
        if (e.key) { cur = { key: e.key, from: ev.index, until: 0 }; keys.push(cur); }
        continue;
      }
      if (!registered) throw new Error("a key event for " + member + ", which isn't registered");
      if (revokedMember) throw new Error("a key event for " + member + ", which was revoked");
      const live = cur && cur.until === 0 ? cur : null;
      switch (e.event) {
        case "rotate":
          if (live && live.key === e.key) throw new Error(member + " rotates to the key already in force");
          if (keys.some((x) => x.key === e.key)) throw new Error(member + " rotates back to a key it held before");
          if (e.authority === "member") {
            const msg = enc.encode(ROTATE_PREFIX + (live ? live.key : "") + "\n" + e.key + "\n");
            if (!live || !(await ed25519Verify(b64decode(live.key), b64decode(e.statement || ""), msg))) {
              throw new Error("a key rotation's statement doesn't verify with the previous key");
            }
          }
          if (live) live.until = ev.index;
          cur = { key: e.key, from: ev.index, until: 0 };
          keys.push(cur);
          break;
        case "revoke-key":
          if (!live || live.key !== e.key) throw new Error(member + " revokes a key that isn't in force");
          live.until = ev.index;
          break;
        case "revoke-member":
          if (live) live.until = ev.index;
          revokedMember = true;
          break;
        default:
          throw new Error("unknown key event " + e.event);
      }
    }
    let k = null;
    for (const x of keys) if (x.from < index) k = x;
    if (!k || (k.until !== 0 && k.until < index)) return null;
    return k.key;
  }

  // keylessAt reports whether the member's key entries (each {index,
  // entry}, as keyInForce takes them) register it without a key before
  // index and put no key in force before index, as tlog.KeyHistory's
  // KeylessAt: a member that can't have signed anything in this log at
  // index, such as the member peer:NAME under which a node stores what it
  // replicates from a peer. A member revoked before index is not keyless
  // but ended: what it signs after fails.
  function keylessAt(events, member, index) {
    let registered = false;
    for (const ev of events) {
      const e = ev.entry;
      if (e.member !== member || ev.index >= index) continue;
      if (e.event === "register") {
        if (e.key) return false;
        registered = true;
      } else if (e.event === "rotate" || e.event === "revoke-member") {
        return false;
      }
    }
    return registered;
  }

  // sameInstant compares two RFC 3339 UTC timestamps as instants, to any
  // number of fractional digits (an opening spells the version in STIX
  // form, with at least three; the object may have written fewer).
  function sameInstant(a, b) {
    const re = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/;
    const x = re.exec(a), y = re.exec(b);
    if (!x || !y) return false;
    return x[1] === y[1] && (x[2] || "").replace(/0+$/, "") === (y[2] || "").replace(/0+$/, "");
  }

  // signatureParts returns the signature extension of a STIX object and
  // the message it signs: the prefix and the RFC 8785 JSON of the object
  // without the extension entry (and without "extensions" if then empty);
  // null for an object without the entry. A malformed entry throws, as
  // stix.Verify fails it: one that isn't an object, has a member outside
  // the four the message covers (it would be unauthenticated), another
  // extension_type or alg, or a key or signature that isn't the standard
  // base64 of 32 or 64 bytes.
  function signatureParts(obj) {
    const exts = obj.extensions;
    if (!exts || typeof exts !== "object" || Array.isArray(exts) || !Object.prototype.hasOwnProperty.call(exts, SIG_EXT)) return null;
    const ext = exts[SIG_EXT];
    if (!ext || typeof ext !== "object" || Array.isArray(ext)) throw new Error("the signature extension entry is not a JSON object");
    for (const k of Object.keys(ext)) {
      if (!["extension_type", "alg", "public_key", "signature"].includes(k)) throw new Error("unknown member " + JSON.stringify(k) + " in the signature extension entry");
    }
    if (ext.extension_type !== "property-extension") throw new Error('the signature extension\'s extension_type is not "property-extension"');
    if (ext.alg !== "ed25519") throw new Error('the signature extension\'s alg is not "ed25519"');
    // Strict standard base64, as Go's base64.StdEncoding.Strict(): the
    // text must be what encoding its bytes gives back.
    const strict = (t, n) => {
      if (typeof t !== "string") return false;
      let b;
      try { b = b64decode(t); } catch (e) { return false; }
      return b.length === n && b64encode(b) === t;
    };
    if (!strict(ext.public_key, 32)) throw new Error("the signature's public_key is not the standard base64 of 32 bytes");
    if (!strict(ext.signature, 64)) throw new Error("the signature is not the standard base64 of 64 bytes");
    const copy = JSON.parse(JSON.stringify(obj));
    delete copy.extensions[SIG_EXT];
    if (Object.keys(copy.extensions).length === 0) delete copy.extensions;
    return { ext, message: enc.encode(SIG_PREFIX + jcs(copy)) };
  }

  // signObject signs obj (in place) with a WebCrypto Ed25519 private key
  // whose public half is pubB64, as stix.Sign does.
  async function signObject(obj, privateKey, pubB64) {
    if (obj.extensions) {
      delete obj.extensions[SIG_EXT];
      if (Object.keys(obj.extensions).length === 0) delete obj.extensions;
    }
    const msg = enc.encode(SIG_PREFIX + jcs(obj));
    const sig = new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, privateKey, msg));
    obj.extensions = obj.extensions || {};
    obj.extensions[SIG_EXT] = { extension_type: "property-extension", alg: "ed25519", public_key: pubB64, signature: b64encode(sig) };
    return obj;
  }

  window.ParleyLog = {
    SIG_EXT, b64decode, b64encode, hex, equal, sha256, jcs, parseEntry, objectVersion,
    objectCommitment, leafHash, rootFromInclusion, ed25519Verify, parseVerifierKey,
    verifyCheckpoint, verifyConsistency, keyInForce, keylessAt, sameInstant, signatureParts, signObject,
  };
})();
