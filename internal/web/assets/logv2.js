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

  // MAX_JSON_ELEMENTS is tlog.MaxJSONElements: the most objects a list
  // of objects, or fields an object, of a document read by its field
  // names holds; MAX_NUMBER_BYTES is the longest number a field's value
  // may be (docs/log.md, "Bounds on offline documents").
  const MAX_JSON_ELEMENTS = 65536, MAX_NUMBER_BYTES = 64;

  // strictText decodes bytes as UTF-8, refusing invalid UTF-8 (which
  // fetch's text() and json() read as U+FFFD, where the Go verifier
  // refuses it: two readers would read two texts) and keeping a byte
  // order mark (which JSON.parse then refuses, as Go does).
  function strictText(bytes) {
    try {
      return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
    } catch (e) {
      throw new Error("invalid UTF-8");
    }
  }

  // strictBase64 is Go's base64.StdEncoding.Strict() (no line breaks):
  // the bytes of text, or null when text is not their encoding.
  function strictBase64(text) {
    if (typeof text !== "string") return null;
    let b;
    try { b = b64decode(text); } catch (e) { return null; }
    return b64encode(b) === text ? b : null;
  }

  // BUNDLE_FIELDS are a proof bundle's fields and their types, as
  // tlog.ParseBundle reads them (tlog's bundleFields and tlog.Bundle).
  const HASHES = { list: "hash" };
  const BUNDLE_FIELDS = {
    type: "string", log_key: "string", checkpoint: "string",
    keys: { each: { entry: "bytes", log_index: "uint", inclusion_proof: HASHES } },
    key_index: "string", names: { any: "string" },
    items: { each: { object: "raw", entry: "bytes", salt: "bytes", collection: "string", object_id: "string",
      version: "string", member: "string", log_index: "uint", inclusion_proof: HASHES } },
    witnessed: { each: { checkpoint: "string", consistency: HASHES } },
  };

  // RECEIPT_FIELDS are a receipt's fields (GET /log/receipt) and their
  // types, as tlog.ParseReceipt reads them (tlog's receiptFields and
  // tlog.Receipt): JSON.parse alone kept the last of two "checkpoint"s
  // and ignored "CHECKPOINT", where Go refuses both.
  const RECEIPT_FIELDS = {
    log_index: "uint", tree_size: "uint", entry: "bytes", salt: "bytes", collection: "string",
    object_id: "string", version: "string", member: "string", inclusion_proof: HASHES, checkpoint: "string",
    witnessed: { fields: { checkpoint: "string", consistency: HASHES } },
  };

  // readFields reads the JSON document bytes by its exact field names,
  // as tlog's knownNames and encoding/json read it, and returns it parsed
  // (null for the document null). It throws for what Go refuses: invalid
  // UTF-8, a byte order mark, anything after the document, a field given
  // twice or named in another case than the format's, a list of objects
  // or an object of more than MAX_JSON_ELEMENTS, a field's number longer
  // than MAX_NUMBER_BYTES, and a value of another type than the field's
  // ("uint": an integer of 0 to 2^64-1 written as one, "bytes" and "hash":
  // strict standard base64, of 32 bytes for a hash; null is any field's
  // zero value). Fields of other names are a later format's additions,
  // read as any JSON. JSON.parse alone keeps the last of two fields and
  // reads 1.0 or 1e0 as an index, where Go refuses them.
  function readFields(bytes, fields) {
    const text = strictText(bytes);
    let i = 0;
    const fail = (msg) => { throw new Error(msg + " (at character " + i + ")"); };
    const ws = () => { while (i < text.length && (text[i] === " " || text[i] === "\t" || text[i] === "\n" || text[i] === "\r")) i++; };
    const skipString = () => {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === "\\") i++;
      i++;
    };
    // value reads any JSON value at i: its source and its value.
    const value = () => {
      ws();
      const start = i;
      if (text[i] === '"') {
        skipString();
      } else if (text[i] === "{" || text[i] === "[") {
        for (let depth = 0; i < text.length; i++) {
          const c = text[i];
          if (c === '"') { skipString(); i--; } else if (c === "{" || c === "[") depth++;
          else if ((c === "}" || c === "]") && --depth === 0) { i++; break; }
        }
      } else {
        while (i < text.length && !",]} \t\n\r".includes(text[i])) i++;
      }
      const src = text.slice(start, i);
      let v;
      try { v = JSON.parse(src); } catch (e) { fail("malformed JSON"); }
      return { src, v };
    };
    const expect = (c) => { ws(); if (text[i] !== c) fail("expected " + JSON.stringify(c)); i++; };
    const isNull = () => { ws(); if (text.startsWith("null", i)) { i += 4; return true; } return false; };
    // leaf reads a field's value of type t.
    const leaf = (name, t) => {
      const { src, v } = value();
      if (/^-?[0-9]/.test(src) && src.length > MAX_NUMBER_BYTES) fail("field " + JSON.stringify(name) + " holds a number of " + src.length + " bytes");
      if (v === null || t === "raw") return;
      const bad = () => fail("field " + JSON.stringify(name) + " isn't " + ({ string: "a string", uint: "an integer of 0 to 2^64-1", bytes: "strict standard base64", hash: "the standard base64 of 32 bytes" }[t] || "a list of hashes"));
      if (t === "string") { if (typeof v !== "string") bad(); return; }
      if (t === "uint") { if (!/^(0|[1-9][0-9]*)$/.test(src) || BigInt(src) > 0xffffffffffffffffn) bad(); return; }
      if (t === "bytes" || t === "hash") {
        const b = typeof v === "string" && !/[\r\n]/.test(v) ? strictBase64(v) : null;
        if (!b || (t === "hash" && (v.length !== 44 || b.length !== 32))) bad();
        return;
      }
      if (t.list) {
        if (!Array.isArray(v)) bad();
        for (const x of v) {
          if (x === null) continue;
          const b = typeof x === "string" && !/[\r\n]/.test(x) ? strictBase64(x) : null;
          if (!b || x.length !== 44 || b.length !== 32) bad();
        }
      }
    };
    // object reads an object of the given fields (or, any, of any names
    // whose values are of type any).
    const object = (path, table, any) => {
      ws();
      const what = path ? JSON.stringify(path.slice(0, -1)) : "the document";
      if (text[i] !== "{") fail(what + " isn't a JSON object");
      i++;
      const seen = new Set();
      ws();
      if (text[i] === "}") { i++; return; }
      for (let n = 0; ; n++) {
        if (n === MAX_JSON_ELEMENTS) fail(what + " has more than " + MAX_JSON_ELEMENTS + " fields");
        ws();
        if (text[i] !== '"') fail("expected a field name");
        const name = value().v;
        if (seen.has(name)) fail("field " + JSON.stringify(path + name) + " given twice");
        seen.add(name);
        expect(":");
        const known = any ? true : Object.prototype.hasOwnProperty.call(table, name);
        if (!known && Object.keys(table).some((k) => k.toLowerCase() === name.toLowerCase())) fail("unknown field " + JSON.stringify(path + name));
        const t = any || (known ? table[name] : "raw");
        if (typeof t === "object" && t.each) {
          if (!isNull()) {
            expect("[");
            ws();
            if (text[i] === "]") i++;
            else {
              for (let k = 0; ; k++) {
                if (k === MAX_JSON_ELEMENTS) fail(JSON.stringify(path + name) + " holds more than " + MAX_JSON_ELEMENTS + " objects");
                object(path + name + ".", t.each, null);
                ws();
                if (text[i] === "]") { i++; break; }
                expect(",");
              }
            }
          }
        } else if (typeof t === "object" && t.any) {
          if (!isNull()) object(path + name + ".", {}, t.any);
        } else if (typeof t === "object" && t.fields) {
          if (!isNull()) object(path + name + ".", t.fields, null);
        } else {
          leaf(path + name, t);
        }
        ws();
        if (text[i] === "}") { i++; return; }
        expect(",");
      }
    };
    if (!isNull()) object("", fields, null);
    ws();
    if (i !== text.length) fail("data after the JSON object");
    return JSON.parse(text);
  }

  // MAX_DEPTH is stix.MaxDepth, the deepest nesting of an object read.
  const MAX_DEPTH = 128;

  // parseIJSON parses text as stix.Canonicalize reads an object before it
  // checks its signature: I-JSON (RFC 7493), so that the canonical form
  // the browser signs or checks is the one Go makes. It throws for what Go
  // refuses and JSON.parse doesn't: a member name given twice (JSON.parse
  // keeps the last), a lone surrogate escape (JSON.stringify writes it
  // back escaped), a number past a double (Infinity), nesting deeper than
  // MAX_DEPTH.
  function parseIJSON(text) {
    const v = JSON.parse(text); // the syntax, as Go's
    const lone = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
    let i = 0;
    const ws = () => { while (i < text.length && (text[i] === " " || text[i] === "\t" || text[i] === "\n" || text[i] === "\r")) i++; };
    const str = () => {
      const start = i;
      for (i++; text[i] !== '"'; i++) if (text[i] === "\\") i++;
      i++;
      const s = JSON.parse(text.slice(start, i));
      if (lone.test(s)) throw new Error("a lone surrogate escape in the object's JSON");
      return s;
    };
    const value = (depth) => {
      ws();
      const c = text[i];
      if (c === '"') { str(); return; }
      if (c === "{" || c === "[") {
        if (depth === MAX_DEPTH) throw new Error("the object's JSON nests deeper than " + MAX_DEPTH);
        i++;
        const seen = c === "{" ? new Set() : null;
        ws();
        if (text[i] === (c === "{" ? "}" : "]")) { i++; return; }
        for (;;) {
          if (seen) {
            ws();
            const name = str();
            if (seen.has(name)) throw new Error("member name " + JSON.stringify(name) + " given twice in the object's JSON");
            seen.add(name);
            ws();
            i++; // the colon
          }
          value(depth + 1);
          ws();
          if (text[i++] !== ",") return;
        }
      }
      const start = i;
      while (i < text.length && !",]} \t\n\r".includes(text[i])) i++;
      if (/^-?[0-9]/.test(text.slice(start, i)) && !isFinite(Number(text.slice(start, i)))) throw new Error("a number past a double in the object's JSON");
    };
    value(0);
    return v;
  }

  // readBundle reads a proof bundle (GET /peers/bundle) as
  // tlog.ParseBundle does (readFields); it verifies nothing.
  function readBundle(bytes) { return readFields(bytes, BUNDLE_FIELDS); }

  // readReceipt reads a receipt (GET /log/receipt) as tlog.ParseReceipt
  // does (readFields); it verifies nothing.
  function readReceipt(bytes) { return readFields(bytes, RECEIPT_FIELDS); }

  // inert makes text that another party wrote (an origin, a member id,
  // a witness's or a key's name) fit to show inline in a sentence: bidi
  // controls, which reorder what follows them ("<U+202E>deifirev ton"
  // shows "not verified" reversed), and C0 and C1 controls are shown as
  // their code points, "[U+202E]", as internal/untrusted makes them
  // visible in Go (unicode.Bidi_Control and unicode.IsControl).
  function inert(text) {
    return String(text).replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g,
      (c) => "[U+" + c.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0") + "]");
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

  // verifyKeyIndex checks a key index (tlog.KeyIndex, docs/log.md "Key
  // index"): a note signed by the pinned log key, of the tree of cp (the
  // checkpoint the key entries are proved in), that lists for member
  // exactly the indexes of the key entries events shows of it. A key
  // entry left out (a rotation, a revocation) would make an ended key
  // look in force. An index of every member (first line
  // parley-key-index-all-v1, as GET /log/keys without a member signs it)
  // that doesn't list member states it has no key entry; one of some
  // members (parley-key-index-v1) must list it.
  async function verifyKeyIndex(text, key, cp, events, member) {
    if (typeof text !== "string" || text === "") throw new Error("the node sent no key index, so nothing shows that the member's key entries are all the log holds");
    const split = text.indexOf("\n\n");
    if (split < 0) throw new Error("the key index has no signature block");
    const body = text.slice(0, split + 1);
    const lines = body.slice(0, -1).split("\n");
    if (lines.length < 4 || (lines[0] !== "parley-key-index-v1" && lines[0] !== "parley-key-index-all-v1")) throw new Error("the key index is malformed");
    const complete = lines[0] === "parley-key-index-all-v1";
    if (lines[1] !== key.name) throw new Error("the key index is for " + lines[1] + ", not the pinned log " + key.name);
    if (lines[2] !== String(cp.size) || !equal(b64decode(lines[3]), cp.root)) throw new Error("the key index is not of the key entries' checkpoint");
    let ok = false;
    for (const line of text.slice(split + 2).split("\n")) {
      if (!line) continue;
      const m = /^\u2014 (\S+) (\S+)$/.exec(line);
      if (!m) throw new Error("a key index signature line is malformed");
      if (m[1] !== key.name) continue;
      const sig = b64decode(m[2]);
      if (sig.length !== 68 || !equal(sig.slice(0, 4), key.keyHash)) continue;
      if (await ed25519Verify(key.pub, sig.slice(4), enc.encode(body))) ok = true;
    }
    if (!ok) throw new Error("the key index is not signed by the pinned log key");
    let line = lines.slice(4).find((l) => l.split(" ")[0] === member);
    if (line === undefined && complete) line = member;
    if (line === undefined) throw new Error("the key index doesn't list " + member);
    const listed = line.split(" ").slice(1);
    const shown = events.filter((ev) => ev.entry.member === member).map((ev) => String(ev.index));
    for (const i of listed) {
      if (!shown.includes(i)) throw new Error("the node left out key entry " + i + " of " + member + " (a key rotation or revocation the log holds), which would make the wrong key look in force");
    }
    for (const i of shown) {
      if (!listed.includes(i)) throw new Error("key entry " + i + " of " + member + " is not in the key index");
    }
  }

  // C2SP tlog-witness, tlog-cosignature and tlog-policy: a witness
  // cosigns a checkpoint with a timestamped note signature, and the
  // analyst's policy says which witnesses must have (the rules of
  // tlog.ParsePolicy and tlog.CheckQuorum, docs/witness.md).
  const COSIGNATURE_V1 = 4, MLDSA_COSIGNATURE = 6;
  const MAX_POLICY_SIZE = 1 << 20, MAX_POLICY_ITEMS = 256;

  // splitKey reads a signed-note verifier key "<name>+<hex key
  // hash>+<base64(type || public key)>", checks its hash, and returns its
  // parts.
  async function splitKey(vkey, what) {
    const v = String(vkey).trim();
    const i = v.indexOf("+"), j = v.indexOf("+", i + 1);
    if (i <= 0 || j !== i + 9) throw new Error(what + " is malformed");
    const name = v.slice(0, i), hashHex = v.slice(i + 1, j);
    let kb;
    try { kb = b64decode(v.slice(j + 1)); } catch (e) { throw new Error(what + " is malformed"); }
    if (kb.length < 2) throw new Error(what + " is malformed");
    const h = (await sha256(concat(enc.encode(name + "\n"), kb))).slice(0, 4);
    if (hex(h) !== hashHex) throw new Error(what + "'s hash doesn't match the key");
    return { name, keyHash: h, type: kb[0], pub: kb.slice(1) };
  }

  // parsePolicy reads a C2SP tlog-policy ("log <vkey> [<url>]",
  // "witness <name> <vkey> [<url>]", "group <name> all|any|<k> <name>...",
  // "quorum <name>|none", # comments) with the rules tlog.ParsePolicy
  // applies, so that a policy the CLI refuses is refused here too.
  async function parsePolicy(text) {
    if (typeof text !== "string") throw new Error("the policy is not text");
    if (enc.encode(text).length > MAX_POLICY_SIZE) throw new Error("the policy is larger than " + MAX_POLICY_SIZE + " bytes");
    const p = { logs: [], witnesses: [], groups: [], quorum: "", names: new Map() };
    const logKeys = new Set(), witnessKeys = new Set(), member = new Map();
    let sawQuorum = false;
    const lines = text.split("\n");
    for (let n = 0; n < lines.length; n++) {
      const line = lines[n];
      const bad = (msg) => new Error("line " + (n + 1) + ": " + msg);
      for (const ch of line) {
        const c = ch.codePointAt(0);
        if (c !== 9 && (c < 0x20 || c === 0x7f)) throw bad("control character 0x" + c.toString(16).padStart(2, "0"));
      }
      const f = line.split(/[ \t]+/).filter((x) => x !== "");
      if (f.length === 0 || f[0].startsWith("#")) continue;
      const define = (name) => {
        if (name === "none") throw bad("none is a reserved name");
        if (p.names.has(name)) throw bad(JSON.stringify(name) + " is defined twice");
      };
      switch (f[0]) {
        case "log": {
          if (f.length < 2 || f.length > 3) throw bad("want: log <vkey> [<url>]");
          if (p.logs.length === MAX_POLICY_ITEMS) throw bad("more than " + MAX_POLICY_ITEMS + " logs");
          let k;
          try { k = await splitKey(f[1], "the log key"); } catch (e) { throw bad(e.message); }
          if (k.type !== 1 || k.pub.length !== 32) throw bad("the log key is not an Ed25519 note key");
          if (logKeys.has(b64encode(k.pub))) throw bad("the key of this log is already another log's");
          logKeys.add(b64encode(k.pub));
          p.logs.push({ key: f[1], name: k.name, keyHash: k.keyHash, pub: k.pub });
          break;
        }
        case "witness": {
          if (f.length < 3 || f.length > 4) throw bad("want: witness <name> <vkey> [<url>]");
          if (p.witnesses.length === MAX_POLICY_ITEMS) throw bad("more than " + MAX_POLICY_ITEMS + " witnesses");
          define(f[1]);
          let k;
          try { k = await splitKey(f[2], "witness " + f[1] + "'s key"); } catch (e) { throw bad(e.message); }
          if (k.type !== COSIGNATURE_V1 && k.type !== MLDSA_COSIGNATURE) {
            throw bad("witness " + f[1] + "'s key has type 0x" + k.type.toString(16).padStart(2, "0") + ", not a cosignature key (0x04 Ed25519, 0x06 ML-DSA-44)");
          }
          if (k.type === COSIGNATURE_V1 && k.pub.length !== 32) throw bad("witness " + f[1] + "'s key is not a 32-byte Ed25519 key");
          if (witnessKeys.has(b64encode(k.pub))) throw bad("the key of witness " + f[1] + " is already another witness's");
          witnessKeys.add(b64encode(k.pub));
          p.names.set(f[1], { witness: p.witnesses.length });
          p.witnesses.push({ name: f[1], key: f[2], keyName: k.name, keyHash: k.keyHash, type: k.type, pub: k.pub });
          break;
        }
        case "group": {
          if (f.length < 4) throw bad("want: group <name> all|any|<k> <name>...");
          if (p.groups.length === MAX_POLICY_ITEMS) throw bad("more than " + MAX_POLICY_ITEMS + " groups");
          define(f[1]);
          const members = f.slice(3), seen = new Set();
          for (const m of members) {
            if (m === "none") throw bad("none can't be a group member");
            if (!p.names.has(m)) throw bad(JSON.stringify(m) + " isn't defined on an earlier line");
            if (seen.has(m)) throw bad(JSON.stringify(m) + " is listed twice");
            seen.add(m);
            if (member.has(m)) throw bad(JSON.stringify(m) + " is already a member of group " + JSON.stringify(member.get(m)) + " (a name may be a group member once)");
            member.set(m, f[1]);
          }
          let k;
          if (f[2] === "all") k = members.length;
          else if (f[2] === "any") k = 1;
          else {
            k = /^[1-9][0-9]{0,8}$/.test(f[2]) ? Number(f[2]) : 0;
            if (k < 1 || k > members.length) throw bad("threshold " + JSON.stringify(f[2]) + " isn't all, any or a decimal from 1 to " + members.length);
          }
          p.names.set(f[1], { group: p.groups.length });
          p.groups.push({ name: f[1], k, members });
          break;
        }
        case "quorum":
          if (f.length !== 2) throw bad("want: quorum <name>");
          if (sawQuorum) throw bad("a second quorum line");
          if (!p.names.has(f[1]) && f[1] !== "none") throw bad(JSON.stringify(f[1]) + " isn't defined on an earlier line");
          p.quorum = f[1];
          sawQuorum = true;
          break;
        default:
          throw bad("unknown keyword " + JSON.stringify(f[0].slice(0, 40)));
      }
    }
    if (!sawQuorum) throw new Error("no quorum line");
    return p;
  }

  // checkQuorum checks the cosignatures of a checkpoint note against a
  // policy from parsePolicy, as tlog.CheckQuorum does: only timestamped
  // cosignatures of the policy's witnesses count; a signature line that
  // names a policy witness's Ed25519 key and doesn't verify rejects the
  // whole note (C2SP signed-note). WebCrypto has no ML-DSA, so an
  // ML-DSA-44 cosignature can't count here (unchecked names them). It
  // returns { met, cosigs: [{ witness, time (seconds) }], unchecked }.
  async function checkQuorum(policy, text) {
    const split = text.indexOf("\n\n");
    if (split < 0) throw new Error("the checkpoint has no signature block");
    const body = enc.encode(text.slice(0, split + 1));
    const have = new Set(), cosigs = [], unchecked = new Set();
    for (const line of text.slice(split + 2).split("\n")) {
      if (!line) continue;
      const m = /^\u2014 (\S+) (\S+)$/.exec(line);
      if (!m) throw new Error("a checkpoint signature line is malformed");
      let sig;
      try { sig = b64decode(m[2]); } catch (e) { throw new Error("a checkpoint signature line is malformed"); }
      if (sig.length < 4) throw new Error("a checkpoint signature line is malformed");
      const w = policy.witnesses.find((x) => x.keyName === m[1] && equal(x.keyHash, sig.slice(0, 4)));
      if (!w) continue; // another key's signature: the log's, or a witness not in the policy
      if (w.type !== COSIGNATURE_V1) { unchecked.add(w.name); continue; }
      if (sig.length !== 4 + 8 + 64) throw new Error("witness " + w.name + "'s cosignature is malformed");
      const t = new DataView(sig.buffer, sig.byteOffset + 4, 8).getBigUint64(0, false);
      const msg = concat(enc.encode("cosignature/v1\ntime " + t.toString() + "\n"), body);
      // A cosignature/v1 time is 1 to 2^63-1 (tlog.CosignatureVerifier).
      if (t === 0n || t > 0x7fffffffffffffffn || !(await ed25519Verify(w.pub, sig.slice(12), msg))) {
        throw new Error("witness " + w.name + "'s cosignature does not verify");
      }
      if (have.has(w.name)) continue;
      have.add(w.name);
      cosigs.push({ witness: w.name, time: Number(t) });
    }
    const met = policy.quorum === "none" || quorumMet(policy, have);
    cosigs.sort((a, b) => policy.names.get(a.witness).witness - policy.names.get(b.witness).witness);
    return { met, cosigs, unchecked: Array.from(unchecked) };
  }

  // quorumMet reports whether the set of witness names have meets the
  // policy's quorum (tlog.Policy.witnessed). Groups name only earlier
  // names: evaluated in file order, each once.
  function quorumMet(policy, have) {
    const groups = [];
    const is = (name) => {
      const d = policy.names.get(name);
      return "witness" in d ? have.has(policy.witnesses[d.witness].name) : groups[d.group];
    };
    for (const g of policy.groups) groups.push(g.members.filter(is).length >= g.k);
    return is(policy.quorum);
  }

  // quorumTime returns, of cosignatures ({witness, time}), the one whose
  // time is the tightest bound that a quorum of the policy's witnesses
  // states, as tlog.TimeBounds does: with lower, the latest time t such
  // that the witnesses that cosigned at t or later meet the quorum; else
  // the earliest t such that those that cosigned at t or earlier do. One
  // witness whose clock is wrong can't make an honest entry look
  // back-dated under a policy that needs more than it. Each witness
  // counts once, by its tightest time; with the quorum "none" each
  // witness counts alone. It returns null when no time is stated by a
  // quorum.
  function quorumTime(policy, cosigs, lower) {
    const best = new Map();
    for (const c of cosigs) {
      const b = best.get(c.witness);
      if (!b || (lower ? c.time > b.time : c.time < b.time)) best.set(c.witness, c);
    }
    const cs = Array.from(best.values()).sort((a, b) => (a.time === b.time ? (a.witness < b.witness ? -1 : 1) : lower ? b.time - a.time : a.time - b.time));
    if (cs.length === 0) return null;
    if (policy.quorum === "none") return cs[0];
    const have = new Set();
    for (const c of cs) {
      have.add(c.witness);
      if (quorumMet(policy, have)) return c;
    }
    return null;
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
    SIG_EXT, b64decode, b64encode, hex, equal, sha256, jcs, parseEntry, objectVersion, strictText, readFields, readBundle, readReceipt, inert, parseIJSON,
    objectCommitment, leafHash, rootFromInclusion, ed25519Verify, parseVerifierKey,
    verifyCheckpoint, verifyKeyIndex, verifyConsistency, keyInForce, parsePolicy, checkQuorum, quorumTime, keylessAt, sameInstant, signatureParts, signObject,
  };
})();
