// The object page's check, in the analyst's browser: it takes nothing on
// the node's word. It fetches the object's log receipt and its member's
// logged keys (through the session, at /ui/api/), then checks with
// WebCrypto, using only the rules in logv2.js:
//   1. the checkpoint is signed by the log key the analyst pinned (first
//      use pins the key and shows its fingerprint; a changed key fails);
//   2. the entry is an object entry whose salted commitment opens to
//      this exact object, collection, version and member;
//   3. the inclusion proof leads from the entry to the checkpoint's root;
//   4. the member's key entries are in the log (their own proofs against
//      their checkpoint, also signed by the pinned key and proved one log
//      with the receipt's: RFC 9162 consistency), and the object's
//      signature verifies with the key in force at the entry's index (a
//      key the operator rotated in alone is named operator-asserted).
// The element [data-verification] ends "verified", "failed", or "logged":
// the first three checks passed, but no key of this log vouches for the
// object (it is unsigned, or signed by a member the log registered without
// a key: a node's copy of what it replicated from a peer, whose log holds
// the signer's key), as the CLI's checks count it. All five checks are
// listed from the start: each ends ✓, or ✗ with what failed, or "not
// checked" / "not established" with why, so the analyst sees what was and
// was not established. It ends "unanswered" when an answer of the node
// didn't come within the page's data-answer-timeout-ms (30 s by default):
// nothing was verified, nor found wrong, and a button checks again.
//
// An object in a collection this node replicates from a peer (the page
// names it in data-peer-collection; docs/federation.md), whoever this
// node's log says shared it, is then checked in the peer's log too, from
// the proof bundle this node serves at GET /peers/bundle: the peer's
// checkpoint against the peer's log key pinned in this browser for that
// collection and for the log's name (first use pins it and shows its
// fingerprint; another key later fails), an entry of the peer's log whose
// commitment opens to this exact object, in the peer's collection the page
// names (data-peer-remote, pinned for the collection on first use), and
// its inclusion, the signer's
// key in force there, and the signature. It ends "verified" only if all
// of them hold; an object the peer's log doesn't hold, or holds otherwise,
// fails, whatever this node's own log says.
"use strict";
// binding is the secret the session is bound to (session.js), which the
// node asks of every /ui/api/ call.
function binding() {
  try { return localStorage.getItem("parley.binding") || ""; } catch (e) { return ""; }
}
(function () {
  const L = window.ParleyLog;
  const el = document.querySelector("[data-verification]");
  if (!el || !L) return;
  const status = el.querySelector(".status");
  const steps = el.querySelector(".steps");
  const pinEl = el.querySelector(".pin");
  const PIN = "parley.pinned-log-key";
  const SEEN = "parley.latest-checkpoint"; // the largest checkpoint of the pinned log checked here
  const peerColl = el.dataset.peerCollection || "";
  const PEER_PIN = "parley.pinned-peer-log-key." + peerColl;
  const peerRemote = el.dataset.peerRemote || "";
  const REMOTE_PIN = "parley.pinned-peer-remote." + peerColl;
  const POLICY = "parley.witness-policy"; // the analyst's C2SP tlog-policy for this node's log
  const WITNESSED = "parley.witnessed-checkpoint"; // the largest checkpoint a policy witness cosigned, checked here
  // CLOCK_SKEW is tlog.DefaultClockSkew, in seconds: how much later than
  // a witness's cosignature of a checkpoint that includes an entry its
  // received time may be (docs/witness.md, "Time").
  const CLOCK_SKEW = 300;
  let policyText = null;
  try { policyText = localStorage.getItem(POLICY); } catch (e) { /* storage off: no policy */ }
  wirePolicyForm();

  const CHECKS = [
    "the log's checkpoint is signed by the log key pinned in this browser" + (policyText ? " and cosigned as your witness policy requires" : ""),
    "the log entry's commitment opens to this exact object",
    "the entry is in the log (RFC 9162 inclusion proof to the checkpoint)",
    "the member's key is in the log and in force at this entry",
    "the member's signature on this object verifies with that key",
  ];
  if (peerColl) {
    // A replicated object: the member's key and signature are checked in
    // the peer's log.
    CHECKS.splice(3, 2,
      "the peer's checkpoint is signed by the peer's log key pinned in this browser",
      "an entry of the peer's log commits to this exact object and is in that log (inclusion proof)",
      "the member's key is in the peer's log and in force at that entry",
      "the member's signature on this object verifies with that key");
  }
  steps.textContent = "";
  const items = CHECKS.map((text) => {
    const li = document.createElement("li");
    li.className = "pending";
    li.textContent = L.inert("… " + text);
    steps.appendChild(li);
    return li;
  });
  let at = 0; // the check under way

  function step(ok, text) {
    const li = items[Math.min(at, items.length - 1)];
    li.className = ok ? "ok" : "bad";
    li.textContent = L.inert((ok ? "✓ " : "✗ FAILED: ") + text);
    at++;
    if (!ok) {
      for (let i = at; i < items.length; i++) {
        items[i].className = "skipped";
        items[i].textContent = L.inert("– not checked: " + CHECKS[i]);
      }
    }
  }
  // unvouched ends the check in the state "logged": the log part held,
  // the remaining checks are not established, the first because of
  // short; why says it all in the status.
  function unvouched(short, why, lead) {
    for (let i = at; i < items.length; i++) {
      items[i].className = "skipped";
      items[i].textContent = L.inert("– not established: " + CHECKS[i] + (i === at ? " (" + short + ")" : ""));
    }
    at = items.length;
    status.textContent = L.inert((lead || "✓ Logged, but no key of this log vouches for it: the checkpoint, the commitment and the inclusion check in your browser; ") + why + ".");
    el.classList.add("logged");
    el.setAttribute("data-verification", "logged");
  }
  // revokedVersion: the object checked is a revocation (its revoked is
  // true), which "verified" alone would read as an object to rely on.
  let revokedVersion = false;
  function finish(ok, why) {
    why = why.replace(/\.+$/, "");
    status.textContent = L.inert(ok ? "✓ Verified in your browser: " + why + "." + (revokedVersion ? " This version revokes the object: its author revoked it (revoked: true)." : "")
      : "✗ Verification FAILED in your browser: " + why + ". Don't rely on this object until its member or your node's operator explains it.");
    if (!ok) status.setAttribute("role", "alert");
    el.classList.add(ok ? "verified" : "failed");
    el.setAttribute("data-verification", ok ? "verified" : "failed");
  }
  class Check extends Error {}
  // said is what went wrong in e, in words: the script's own errors (an
  // answer of the wrong shape: a field missing, null, not text, not JSON)
  // are said as such, not in the engine's bare words ("Cannot read
  // properties of undefined").
  function said(e) {
    const m = e && e.message ? e.message : String(e);
    if (e instanceof TypeError || e instanceof SyntaxError || e instanceof RangeError) {
      return "the node's answers are not what a Parley log serves (a field missing or of the wrong kind), so nothing could be checked past this point (the browser said: " + m + ")";
    }
    return m;
  }
  function need(cond, msg) { if (!cond) throw new Check(msg); }

  // ANSWER_TIMEOUT_MS is how long get waits for one answer of the node,
  // its retries included (data-answer-timeout-ms, the node's web check
  // timeout: 30 s unless set otherwise): a node, or a witness it asks,
  // that never answers ends the check, saying what didn't answer, not
  // waiting for ever.
  const ANSWER_TIMEOUT_MS = Number(el.dataset.answerTimeoutMs) > 0 ? Number(el.dataset.answerTimeoutMs) : 30000;
  // Unanswered is the end of a check that an answer never came for:
  // nothing was verified, nor found wrong.
  class Unanswered extends Error {}

  // get fetches what (words for the analyst) from the node; a failure
  // says what could not be had and why, in words before the status.
  // A node that can't be reached (restarting: the connection drops or is
  // refused) is waited for like a 503, then named as such, not as the
  // browser's bare "Failed to fetch".
  // While it waits (an answer that doesn't come within 3 s, a 503, a
  // node that can't be reached), the status says what for, so that a
  // check that seems stuck says why; the state stays "running". Past
  // ANSWER_TIMEOUT_MS (headers or body) the request is aborted and get
  // fails with Unanswered.
  // asText: true for the answer's text, "bundle" for a proof bundle read
  // by its field names (L.readBundle), "receipt" for a receipt read so
  // (L.readReceipt), otherwise its JSON.
  async function get(path, what, asText) {
    let unreachable = false;
    const started = Date.now();
    const slow = setInterval(() => {
      const s = Math.round((Date.now() - started) / 1000);
      if (s >= 3) waiting(what, "no answer from the node for " + s + " s");
    }, 1000);
    const abort = new AbortController();
    const deadline = setTimeout(() => abort.abort(), ANSWER_TIMEOUT_MS);
    const pause = () => new Promise((res) => setTimeout(res, 500));
    try {
      for (let i = 0; i < 20 && !abort.signal.aborted; i++) {
        let r;
        try {
          r = await fetch(path, { credentials: "same-origin", headers: { Accept: "application/json", "X-Parley-Binding": binding() }, signal: abort.signal });
        } catch (e) {
          if (abort.signal.aborted) break;
          unreachable = true;
          waiting(what, "the node can't be reached; asking again, " + (i + 1) + " of 20");
          await pause();
          continue;
        }
        unreachable = false;
        if (r.status === 503) {
          waiting(what, "the node answered 503: it is busy, or the entry is not in a checkpoint yet; asking again, " + (i + 1) + " of 20");
          await pause();
          continue;
        }
        if (r.status === 401) throw new Check("couldn't get " + what + ": your session has ended; reload the page to log in again");
        if (r.status === 404) throw new Check("couldn't get " + what + ": the node has none (HTTP 404)");
        if (!r.ok) throw new Check("couldn't get " + what + ": the node answered HTTP " + r.status);
        let bytes;
        try {
          bytes = new Uint8Array(await r.arrayBuffer());
        } catch (e) {
          if (abort.signal.aborted) break;
          throw e;
        }
        waiting("", "");
        // Read as the Go verifier reads it: invalid UTF-8 (which text()
        // and json() read as U+FFFD) or a byte order mark is refused,
        // and a bundle is read by its exact field names (L.readBundle).
        // (JSON.parse's SyntaxError is said as an answer of the wrong
        // shape, see said.)
        let text;
        try {
          if (asText === "bundle") return L.readBundle(bytes);
          if (asText === "receipt") return L.readReceipt(bytes);
          text = L.strictText(bytes);
        } catch (e) {
          throw new Check("couldn't read " + what + ": " + e.message);
        }
        return asText ? text : JSON.parse(text);
      }
    } finally {
      clearInterval(slow);
      clearTimeout(deadline);
    }
    if (abort.signal.aborted) {
      throw new Unanswered("no answer came from the node for " + what + " within " + Math.round(ANSWER_TIMEOUT_MS / 1000) + " s (the node, or a witness it asks, may be down or overloaded), so the object was not verified, and nothing was found wrong either");
    }
    if (unreachable) throw new Check("couldn't get " + what + ": the node could not be reached (it may be restarting); reload the page in a minute");
    throw new Check("couldn't get " + what + ": the node kept answering 503 (the entry is not in a checkpoint yet); reload the page in a minute");
  }

  // unanswered ends the check in the state "unanswered": an answer never
  // came (Unanswered), so the check established nothing past the checks
  // already passed; a button checks again.
  function unanswered(why) {
    for (let i = at; i < items.length; i++) {
      items[i].className = "skipped";
      items[i].textContent = L.inert("– not checked: " + CHECKS[i] + (i === at ? " (no answer)" : ""));
    }
    at = items.length;
    status.textContent = L.inert("✗ Not verified: " + why.replace(/\.+$/, "") + ". ");
    const again = document.createElement("button");
    again.type = "button";
    again.className = "check-again";
    again.textContent = "Check again";
    again.addEventListener("click", () => location.reload());
    status.appendChild(again);
    status.setAttribute("role", "alert");
    el.classList.add("unanswered");
    el.setAttribute("data-verification", "unanswered");
  }

  // waiting says, while the check runs, what it waits for and why (the
  // bare "Checking…" when what is empty).
  function waiting(what, why) {
    if (el.getAttribute("data-verification") !== "running") return;
    status.textContent = L.inert("Checking in your browser…" + (what ? " waiting for " + what + " (" + why + ")" : ""));
  }

  async function fingerprint(vkey) {
    const d = await L.sha256(new TextEncoder().encode(vkey.trim()));
    return "SHA256:" + L.hex(d.slice(0, 8)).replace(/(....)(?!$)/g, "$1 ");
  }

  let keyChanged = false; // the node serves another log key than the pinned one
  let ownKeys = []; // this node's log key as served and as pinned

  async function pinnedKey() {
    const served = (await get("/ui/api/log/key", "the log's public key", true)).trim();
    let pinned = null;
    try { pinned = localStorage.getItem(PIN); } catch (e) { /* storage off: pin for this page only */ }
    ownKeys = [served, pinned || served];
    if (!pinned) {
      try { localStorage.setItem(PIN, served); } catch (e) {}
      pinEl.textContent = L.inert("First use: pinned this node's log key, fingerprint " + (await fingerprint(served)) + ". Compare it with the one your node's operator published.");
      pinned = served;
    } else if (pinned !== served) {
      pinEl.textContent = L.inert("ALARM: the node now serves a different log key (" + (await fingerprint(served)) + ") from the one you pinned (" + (await fingerprint(pinned)) + "). Checks use the pinned key.");
      pinEl.classList.add("alarm");
      keyChanged = true;
    } else {
      pinEl.textContent = L.inert("Log key pinned in this browser: " + (await fingerprint(pinned)) + ".");
    }
    try {
      return await L.parseVerifierKey(pinned);
    } catch (e) {
      throw new Check("the log key pinned in this browser can't be read (" + e.message + "); ask your node's operator for the log key's fingerprint before you trust anything here");
    }
  }

  let peerKeyChanged = false;

  // pinnedPeerKey pins, on first use, the log key of the peer that this
  // node's collection peerColl is replicated from, as served in the
  // peer's proof bundle, and returns the pinned one. The key is also
  // pinned by the log's name (its origin): a collection new to this
  // browser whose peer's log has a pinned name but another key is an
  // alarm, not a first use.
  async function pinnedPeerKey(served) {
    served = String(served || "").trim();
    const p = document.createElement("p");
    p.className = "pin peer-pin";
    pinEl.after(p);
    const byName = (k) => "parley.pinned-peer-log-key-by-name." + k.split("+")[0];
    let pinned = null, named = null;
    try { pinned = localStorage.getItem(PEER_PIN); } catch (e) {}
    if (!pinned) {
      if (!served) throw new Check("the proof bundle in the peer's log names no log key");
      // The node's own log is no peer's: with its own key (or a key of
      // its log's name) given as the peer's, its operator could sign the
      // "peer's" checkpoints itself.
      if (ownKeys.some((k) => k === served || k.split("+")[0] === served.split("+")[0])) {
        throw new Check("this node gives its own log's key (" + served.split("+")[0] + ") as the key of the peer this collection is replicated from: not pinned");
      }
      try { named = localStorage.getItem(byName(served)); } catch (e) {}
      if (named && named !== served) {
        p.textContent = L.inert("ALARM: this node gives, for the peer this collection is replicated from, a log key named " + served.split("+")[0] + " (" + (await fingerprint(served)) + ") that is not the key of that name you pinned (" + (await fingerprint(named)) + "). Checks use the pinned key.");
        p.classList.add("alarm");
        peerKeyChanged = true;
        pinned = named;
      } else {
        try { localStorage.setItem(PEER_PIN, served); localStorage.setItem(byName(served), served); } catch (e) {}
        p.textContent = L.inert((named ? "Pinned for this collection the log key of the peer it is replicated from (" + served.split("+")[0] + "), already pinned in this browser: " :
          "First use: pinned the log key of the peer this collection is replicated from (" + served.split("+")[0] + "), fingerprint ") + (await fingerprint(served)) + "." +
          (named ? "" : " Compare it with the one that node's operator published."));
        pinned = served;
      }
    } else if (pinned !== served) {
      p.textContent = L.inert("ALARM: this node now gives a different log key for the peer this collection is replicated from (" + (await fingerprint(served)) + ") from the one you pinned (" + (await fingerprint(pinned)) + "). Checks use the pinned key.");
      p.classList.add("alarm");
      peerKeyChanged = true;
    } else {
      p.textContent = L.inert("Peer's log key (" + pinned.split("+")[0] + ") pinned in this browser: " + (await fingerprint(pinned)) + ".");
    }
    try {
      return await L.parseVerifierKey(pinned);
    } catch (e) {
      throw new Check("the peer's log key pinned in this browser can't be read (" + e.message + ")");
    }
  }

  // checkInPeer checks the object (raw, its JSON as stored; obj, parsed;
  // sp, its signature parts or null) in the log of the peer it was
  // replicated from, and ends the check.
  async function checkInPeer(raw, obj, id, version, sp) {
    const b = await get("/ui/api/peers/bundle?collection=" + encodeURIComponent(peerColl) + "&object=" + encodeURIComponent(id), "the object's proof bundle in the peer's log", "bundle");
    need(b !== null, "the node's proof bundle in the peer's log is empty (null)");
    const pkey = await pinnedPeerKey(b.log_key);
    let pcp;
    try {
      pcp = await L.verifyCheckpoint(String(b.checkpoint || ""), pkey);
    } catch (e) {
      throw new Check(peerKeyChanged ? "the peer's checkpoint is not signed by the peer's log key pinned in this browser: the key this node gives for the peer has changed (see the ALARM below)" : "the peer's checkpoint: " + said(e));
    }
    step(true, "checkpoint of " + pcp.size + " entries of the peer's log " + pcp.origin + " signed by its pinned key");

    // The entry of this version whose commitment opens to this object,
    // byte for byte, as the peer logged it.
    let item = null;
    for (const it of b.items || []) {
      if (!it || it.object_id !== id || typeof it.version !== "string" || !L.sameInstant(it.version, version)) continue;
      let pe;
      try { pe = L.parseEntry(L.b64decode(it.entry)); } catch (e) { continue; }
      if (pe.kind !== "object") continue;
      if (await L.objectCommitment(it.salt, it.collection, it.object_id, it.version, it.member, raw) === pe.commitment) { item = it; break; }
    }
    need(item, "no entry of the peer's log " + pcp.origin + " in this node's proof bundle commits to this exact object, version " + version + ": the peer didn't log it, or logged something else");
    need(Number.isSafeInteger(item.log_index) && item.log_index >= 0 && item.log_index < pcp.size, "the peer's entry index is outside its checkpoint");
    // Which of the peer's collections this one copies is pinned too, on
    // first use: the node could otherwise name, for an object the peer
    // holds in another collection, that collection as the one it follows.
    need(peerRemote !== "", "the page doesn't name the peer's collection this one is replicated from");
    let pinnedRemote = null;
    try { pinnedRemote = localStorage.getItem(REMOTE_PIN); } catch (e) {}
    need(!pinnedRemote || pinnedRemote === peerRemote, "this node now says this collection is replicated from the peer's collection " + peerRemote + ", not from " + pinnedRemote + " as it said when this browser first checked it");
    need(item.collection === peerRemote, "entry " + item.log_index + " of the peer's log is in the peer's collection " + item.collection + ", not in " + peerRemote + ", the one this node says it replicates here");
    const pleaf = L.b64decode(item.entry);
    const proot = await L.rootFromInclusion(item.log_index, pcp.size, await L.leafHash(pleaf), (item.inclusion_proof || []).map(L.b64decode));
    need(L.equal(proot, pcp.root), "the inclusion proof of entry " + item.log_index + " of the peer's log does not lead to the peer's checkpoint");
    if (!pinnedRemote) {
      // Pinned once an entry of the peer's log proved in it shows that collection.
      try { localStorage.setItem(REMOTE_PIN, peerRemote); } catch (e) {}
    }
    step(true, "entry " + item.log_index + " of the peer's log " + pcp.origin + " commits to this object (the peer's collection " + item.collection + ", shared there by " + item.member + ") and is in that log");
    const from = "replicated from " + pcp.origin + ", entry " + item.log_index + " of its log";
    const relayed = typeof obj.created_by_ref === "string" && obj.created_by_ref !== "" && obj.created_by_ref !== item.member
      ? "; relayed by " + item.member + " on the peer, it claims to be from " + obj.created_by_ref + " (not verified)" : "";
    const lead = "✓ In the peer's log, but no key of that log vouches for it: both logs' checkpoints, commitments and inclusion proofs check in your browser; ";

    // The bundle holds the key entries of every member that shared a
    // version of the object on the peer (an observable may have several);
    // the sharer's are the ones that count for this version.
    const events = [];
    for (const ev of b.keys || []) {
      const kleaf = L.b64decode(ev.entry);
      need(Number.isSafeInteger(ev.log_index) && ev.log_index >= 0 && ev.log_index < pcp.size, "a key entry of the peer's log is outside its checkpoint");
      const kr = await L.rootFromInclusion(ev.log_index, pcp.size, await L.leafHash(kleaf), (ev.inclusion_proof || []).map(L.b64decode));
      need(L.equal(kr, pcp.root), "a key entry's inclusion proof in the peer's log does not verify");
      const ke = L.parseEntry(kleaf);
      need(ke.kind === "member-key", "entry " + ev.log_index + " of the peer's log, given as a key entry, is a " + ke.kind + " entry");
      if (ke.member === item.member) events.push({ index: ev.log_index, entry: ke });
    }
    // A key index signed by the PEER's log key (docs/log.md "Key index")
    // shows the sharer's key entries are all there, and is required to
    // hold when sent. This node builds GET /peers/bundle from its own copy
    // of the peer's log, with the index the peer signed of that tree,
    // which replication fetched (docs/federation.md, "Key index"); one
    // the node signed itself would say nothing of the peer's log. A peer
    // older than the key index serves none, and the bundle then carries
    // none: the key entries prove what they say, but not that none was
    // left out (a later rotation or revocation of the sharer's key), and
    // the check ends "logged", not "verified" (README.md, "Web UI").
    const keysProved = typeof b.key_index === "string" && b.key_index !== "";
    if (keysProved) {
      try {
        await L.verifyKeyIndex(b.key_index, pkey, pcp, events, item.member);
      } catch (e) {
        throw new Check("in the peer's log: " + said(e));
      }
    }
    if (!sp) {
      unvouched("the object is unsigned", "the object is unsigned: nobody vouches for its content (" + from + ")" + relayed, lead);
      return;
    }
    const inForce = await L.keyInForce(events, item.member, item.log_index);
    if (!inForce && L.keylessAt(events, item.member, item.log_index)) {
      const ok = await L.ed25519Verify(L.b64decode(sp.ext.public_key), L.b64decode(sp.ext.signature), sp.message);
      need(ok, "the object's signature does not verify");
      unvouched("the peer's log registered " + item.member + " without a key",
        "it is signed with key " + sp.ext.public_key + ", which the peer's log doesn't hold either (" + from + ", shared there by " + item.member + ", registered without a key: the peer replicated it in turn; check it in the log it came from)" + relayed, lead);
      return;
    }
    need(inForce, "in the peer's log, " + item.member + " had no key in force at entry " + item.log_index);
    const nEvents = events.length + (events.length === 1 ? " key event" : " key events");
    const unproved = "the node's copy of the peer's log carries no key index signed by the peer, so nothing shows that a later rotation or revocation of " + item.member + "'s key wasn't left out";
    if (keysProved) {
      step(true, "the member's key in force at entry " + item.log_index + " is in the peer's log (" + nEvents + ", all that the peer's signed key index lists)");
    } else {
      const li = items[Math.min(at, items.length - 1)];
      li.className = "skipped";
      li.textContent = L.inert("– not established: " + CHECKS[at] + " (the peer's log shows this key in force at entry " + item.log_index + ", from " + nEvents + ", but " + unproved + ")");
      at++;
    }
    need(sp.ext.alg === "ed25519" && sp.ext.public_key === inForce, "the object is signed with a key that is not the member's key in the peer's log");
    need(await L.ed25519Verify(L.b64decode(inForce), L.b64decode(sp.ext.signature), sp.message), "the member's signature does not verify");
    step(true, "the member's signature verifies with the key " + (keysProved ? "in the peer's log" : "the peer's log shows"));
    const putIn = events.filter((ev) => ev.entry.member === item.member && ev.entry.key === inForce &&
      (ev.entry.event === "register" || ev.entry.event === "rotate")).pop();
    const asserted = putIn && putIn.entry.event === "rotate" && putIn.entry.authority === "operator"
      ? "; signed with a key the peer's operator rotated in for " + item.member + " without the member's signature (operator-asserted)" : "";
    if (!keysProved) {
      status.textContent = L.inert("✓ Signature verified with the key the peer's log shows, but the peer's key history isn't proved complete: " + from +
        ", signed by " + item.member + " there with the key that log shows in force; signature, commitments, inclusion and both checkpoints check in your browser, but " +
        unproved + relayed + asserted + ".");
      el.classList.add("logged");
      el.setAttribute("data-verification", "logged");
      return;
    }
    finish(true, from + ": signed by " + item.member + " there with the key that log gives it; signature, commitments, inclusion and both checkpoints check" + relayed + asserted);
  }

  // wirePolicyForm connects the page's witness policy form: a policy is
  // saved only once it parses (as the CLI's --witness-policy would), and
  // the check then runs again with it.
  function wirePolicyForm() {
    const box = document.getElementById("witness-policy");
    if (!box) return;
    const text = box.querySelector("textarea"), msg = box.querySelector(".policy-msg");
    const save = document.getElementById("witness-policy-save"), remove = document.getElementById("witness-policy-remove");
    text.value = policyText || "";
    box.querySelector("summary").textContent = L.inert("Witness policy of this browser: " + (policyText ? "set" : "none"));
    if (policyText) box.classList.add("set");
    save.addEventListener("click", async () => {
      msg.classList.remove("alarm");
      try {
        await L.parsePolicy(text.value);
      } catch (e) {
        msg.textContent = L.inert("Not saved: the policy doesn't parse: " + e.message + ".");
        msg.classList.add("alarm");
        return;
      }
      try { localStorage.setItem(POLICY, text.value); } catch (e) {
        msg.textContent = L.inert("Not saved: this browser keeps no local storage for this page.");
        msg.classList.add("alarm");
        return;
      }
      location.reload();
    });
    remove.addEventListener("click", () => {
      try { localStorage.removeItem(POLICY); } catch (e) {}
      location.reload();
    });
  }

  // loadPolicy parses the saved witness policy (null when none is saved)
  // and checks that it accepts the pinned log: a policy that names its
  // logs must name this one.
  async function loadPolicy(key) {
    if (!policyText) return null;
    let p;
    try { p = await L.parsePolicy(policyText); } catch (e) {
      throw new Check("the witness policy saved in this browser doesn't parse (" + e.message + "); fix it below");
    }
    need(p.logs.length === 0 || p.logs.some((l) => l.name === key.name && L.equal(l.pub, key.pub)),
      "your witness policy names its logs, and this node's pinned log key is not one of them");
    return p;
  }

  // witnessedBy checks the receipt rc, whose checkpoint cp verified with
  // the pinned key, against the witness policy: the quorum must have
  // cosigned the receipt's checkpoint, or the first cosigned checkpoint
  // that includes the entry (rc.witnessed, proved a prefix of cp). It
  // returns whether it did, the policy witnesses' cosignatures of
  // checkpoints that include the entry, which bound its received time,
  // and the two notes checked ({size, note, cosigs}, for keepWitnessed).
  async function witnessedBy(policy, rc, cp, key) {
    const own = await L.checkQuorum(policy, rc.checkpoint);
    let met = own.met, cosigs = own.cosigs.slice(), unchecked = own.unchecked;
    const notes = [{ size: cp.size, note: rc.checkpoint, cosigs: own.cosigs }];
    const w = rc.witnessed;
    if (w && typeof w.checkpoint === "string") {
      let wcp;
      try { wcp = await L.verifyCheckpoint(w.checkpoint, key); } catch (e) {
        throw new Check("the receipt's witnessed checkpoint: " + said(e));
      }
      need(wcp.size > rc.log_index, "the receipt's witnessed checkpoint (size " + wcp.size + ") doesn't include entry " + rc.log_index);
      try {
        await L.verifyConsistency(wcp.size, cp.size, (w.consistency || []).map(L.b64decode), wcp.root, cp.root);
      } catch (e) {
        throw new Check("the receipt's witnessed checkpoint (size " + wcp.size + ") and its checkpoint (size " + cp.size + ") are not one log: " + said(e));
      }
      const q = await L.checkQuorum(policy, w.checkpoint);
      met = met || q.met;
      cosigs = cosigs.concat(q.cosigs);
      unchecked = unchecked.concat(q.unchecked);
      notes.push({ size: wcp.size, note: w.checkpoint, cosigs: q.cosigs });
    }
    return { met, cosigs, unchecked, notes };
  }

  // whenText writes POSIX seconds as RFC 3339 UTC.
  function whenText(sec) { return new Date(sec * 1000).toISOString().replace(".000Z", "Z"); }

  // witnessWords checks the witness policy's verdict on the receipt (see
  // witnessedBy) and the entry's received time against each cosignature
  // that covers it, and returns words for the first step.
  function witnessWords(policy, wit, received, index, before) {
    if (!policy) return "; no witness policy is set in this browser (below), so a node that shows you alone another log isn't caught here";
    const names = (cs) => Array.from(new Set(cs.map((c) => c.witness))).join(", ");
    if (!wit.met) {
      const mldsa = wit.unchecked.length ? "; this browser can't check the ML-DSA-44 cosignatures of " + Array.from(new Set(wit.unchecked)).join(", ") : "";
      throw new Check("the checkpoint lacks the cosignatures your witness policy requires (quorum " + policy.quorum + "): " +
        (wit.cosigs.length ? "only " + names(wit.cosigs) + " cosigned it" : "no witness of your policy cosigned it") + mldsa +
        ". The node may be showing you a log its witnesses haven't seen; ask its operator which witnesses it uses");
    }
    if (policy.quorum === "none") return "; your witness policy requires no witness (quorum none)";
    const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?Z$/.exec(received || "");
    need(m, "the entry's received time " + JSON.stringify(received) + " is not in the log's form");
    const rec = Date.parse(m[1] + "Z") / 1000;
    // The upper bound: by first.time a quorum of the policy's witnesses
    // had cosigned a checkpoint that includes the entry (quorumTime, as
    // tlog.TimeBounds: one witness with a wrong clock doesn't decide).
    // Cosignature times are whole seconds: one more second of slack. A
    // received time later than that is false.
    const first = L.quorumTime(policy, wit.cosigs, false);
    need(first, "no quorum of your witness policy's witnesses cosigned a checkpoint that includes the entry");
    need(rec <= first.time + 1 + CLOCK_SKEW, "the entry was received at " + received + ", but witness " + first.witness +
      " cosigned a checkpoint that includes it at " + whenText(first.time) + ", earlier: the received time is false");
    // The lower bound: a quorum of policy witnesses cosigned, at lo.time
    // or later, the checkpoint of before.size entries that this browser
    // checked before and that doesn't include this entry, so the entry
    // was sequenced after it (less the skew). The node chooses which
    // checkpoints it shows, so only one this browser kept can bound an
    // entry appended later and back-dated.
    if (before && index >= before.size) {
      const lo = L.quorumTime(policy, before.cosigs, true);
      if (lo) {
        need(rec >= lo.time - CLOCK_SKEW, "the entry was received at " + received + ", but witness " + lo.witness +
          " cosigned at " + whenText(lo.time) + " the checkpoint of " + before.size + " entries that this browser checked before and that doesn't include it: the entry was inserted later and back-dated");
      }
    }
    return ", cosigned as your witness policy requires (quorum " + policy.quorum + ": " + names(wit.cosigs) + "); witnessed by " + first.witness + " at " + whenText(first.time);
  }

  // consistentWithSeen checks that the checkpoint cp (verified with the
  // pinned key) and the largest checkpoint of this log this browser
  // verified before are one log: equal roots at one size, else an RFC 9162
  // consistency proof between them. A node that showed this browser one
  // log and now shows it another (a fork, or an old checkpoint of another
  // tree served after a newer one) fails here, whatever each proves on its
  // own. The larger checkpoint is then remembered; it returns words for
  // the step.
  // seenBefore returns the largest checkpoint of the pinned log this
  // browser checked before ({key, size, root, at, note}), or null.
  function seenBefore() {
    let seen = null;
    try { seen = JSON.parse(localStorage.getItem(SEEN) || "null"); } catch (e) { seen = null; }
    if (!seen || seen.key !== ownKeys[1] || !Number.isSafeInteger(seen.size) || seen.size < 1 || typeof seen.root !== "string") seen = null;
    return seen;
  }

  // priorCosigs returns the cosignatures, by witnesses of policy, of the
  // largest checkpoint that this browser kept (keepWitnessed) as
  // {size, cosigs}, or null when it kept none. Read before the check
  // keeps another: its times bound the entries appended after it.
  async function priorCosigs(policy, key) {
    let kept = null;
    try { kept = JSON.parse(localStorage.getItem(WITNESSED) || "null"); } catch (e) { kept = null; }
    if (!kept || kept.key !== ownKeys[1] || typeof kept.note !== "string") return null;
    let kcp;
    try { kcp = await L.verifyCheckpoint(kept.note, key); } catch (e) { return null; }
    let q;
    try { q = await L.checkQuorum(policy, kept.note); } catch (e) {
      throw new Check("the cosigned checkpoint of " + kcp.size + " entries this browser kept: " + said(e));
    }
    return { size: kcp.size, cosigs: q.cosigs, note: kept.note };
  }

  // keepWitnessed keeps, of the checkpoint notes that the check used
  // (witnessedBy's notes: verified with the pinned key, their policy
  // cosignatures counted), the largest that a policy witness cosigned:
  // the node chooses which checkpoints it shows, so only a cosignature
  // this browser kept can show a later entry back-dated to before it. At
  // one size a note replaces the kept one only if it holds every line of
  // it and more, so the node can't take a cosignature back.
  function keepWitnessed(prior, notes) {
    let best = prior;
    for (const { size, note: n, cosigs } of notes) {
      if (n.length > 65536 || cosigs.length === 0) continue;
      const lines = n.split("\n");
      if (!best || size > best.size || (size === best.size && n.length > best.note.length && best.note.split("\n").every((l) => lines.includes(l)))) {
        best = { size, note: n };
      }
    }
    if (best && best !== prior) {
      try { localStorage.setItem(WITNESSED, JSON.stringify({ key: ownKeys[1], note: best.note })); } catch (e) {}
    }
  }

  async function consistentWithSeen(cp) {
    const seen = seenBefore();
    let words = "";
    if (seen) {
      const sroot = L.b64decode(seen.root);
      const when = typeof seen.at === "string" ? " on " + seen.at : "";
      const forked = "this browser checked a checkpoint of this log of " + seen.size + " entries" + when + " that is not part of the same log as this one of " + cp.size + " entries: the node shows different logs (a fork, or a split view)";
      if (seen.size === cp.size) {
        need(L.equal(sroot, cp.root), forked);
      } else {
        const [a, b] = seen.size < cp.size ? [{ size: seen.size, root: sroot }, cp] : [cp, { size: seen.size, root: sroot }];
        const cr = await get("/ui/api/log/proof/consistency?from=" + a.size + "&to=" + b.size, "the consistency proof between this checkpoint and the one this browser checked before");
        try {
          await L.verifyConsistency(a.size, b.size, (cr.proof || []).map(L.b64decode), a.root, b.root);
        } catch (e) {
          throw new Check(forked + " (" + said(e) + ")");
        }
      }
      words = cp.size < seen.size ? ", part of the log of " + seen.size + " entries this browser saw before (an older checkpoint)" : ", consistent with the log this browser saw before";
    }
    if (!seen || cp.size > seen.size) {
      try { localStorage.setItem(SEEN, JSON.stringify({ key: ownKeys[1], size: cp.size, root: L.b64encode(cp.root), at: new Date().toISOString() })); } catch (e) {}
    }
    return words;
  }

  async function run() {
    el.setAttribute("data-verification", "running");
    status.textContent = L.inert("Checking in your browser…");
    // The object's JSON, exactly as stored, in base64: HTML-escaping the
    // text could make the page five times its size.
    const raw = new TextDecoder("utf-8", { fatal: true }).decode(L.b64decode(el.dataset.objectBase64));
    const obj = L.parseIJSON(raw);
    revokedVersion = obj !== null && obj.revoked === true;
    const id = el.dataset.objectId;
    // The version is the object's own modified (or created) where it has
    // one, so the node can't pick another; a cyber-observable has
    // neither, and its version is the time the node added it, which only
    // the page gives (the log entry's commitment binds it all the same).
    const version = L.objectVersion(obj) || el.dataset.version;
    need(typeof version === "string" && version !== "", "the page names no version of the object");
    need(obj.id === id, "the page's object is not " + id);
    const key = await pinnedKey();

    const policy = await loadPolicy(key);
    let rc, cp, wit = null;
    // A new entry's checkpoint is cosigned within seconds of its
    // integration: with a policy, while no policy witness has cosigned
    // a checkpoint that includes the entry, the receipt is asked for
    // again (20 s at most). The node stores the cosignatures of one
    // submission round together, so once one has come, waiting longer
    // for the quorum would wait for a witness that failed.
    for (let attempt = 0; ; attempt++) {
      rc = await get("/ui/api/log/receipt?object=" + encodeURIComponent(id) + "&version=" + encodeURIComponent(version), "the object's log receipt", "receipt");
      try {
        cp = await L.verifyCheckpoint(rc.checkpoint, key);
      } catch (e) {
        throw new Check(keyChanged ? "the checkpoint is not signed by the log key pinned in this browser: the node's log key has changed (see the ALARM below)" : said(e));
      }
      need(cp.size === rc.tree_size, "the receipt's tree size is not its checkpoint's");
      if (!policy) break;
      try {
        wit = await witnessedBy(policy, rc, cp, key);
      } catch (e) {
        throw e instanceof Check || e instanceof Unanswered ? e : new Check(said(e));
      }
      if (wit.met || wit.cosigs.length > 0 || attempt >= 20) break;
      waiting("your witness policy's witnesses to cosign a checkpoint that includes this entry", "asking again, " + (attempt + 1) + " of 20");
      await new Promise((res) => setTimeout(res, 1000));
    }
    const seen = await consistentWithSeen(cp);
    const leaf = L.b64decode(rc.entry);
    const e = L.parseEntry(leaf);
    const prior = policy ? await priorCosigs(policy, key) : null;
    const witnessed = witnessWords(policy, wit, e.received, rc.log_index, prior);
    if (policy) keepWitnessed(prior, wit.notes);
    // The root, as the checkpoint writes it: analysts who compare it (or
    // compare it with GET /log/checkpoint elsewhere) catch a node that
    // shows each browser its own log, which no one browser can.
    step(true, "checkpoint of " + cp.size + " entries signed by the pinned log key" + seen + witnessed + " (root " + L.b64encode(cp.root) + ")");

    need(e.kind === "object", "the entry is a " + e.kind + " entry, not an object entry");
    need(rc.object_id === id && L.sameInstant(rc.version, version), "the receipt is for another object version");
    // An object that names another creator than the member who shared it
    // was relayed: the signature, if any, vouches for the relay only.
    const relayed = typeof obj.created_by_ref === "string" && obj.created_by_ref !== "" && obj.created_by_ref !== rc.member
      ? "; relayed by " + rc.member + ", it claims to be from " + obj.created_by_ref + " (not verified)" : "";
    const c = await L.objectCommitment(rc.salt, rc.collection, rc.object_id, rc.version, rc.member, raw);
    need(c === e.commitment, "the commitment in the log does not open to this object (it was changed after it was logged)");
    // The commitment binds who shared this version: a page that credits
    // another member with it (its header's "by", rendered by the node)
    // must not stand beside "verified".
    const named = el.dataset.member || "";
    const namedAs = el.dataset.memberName && el.dataset.memberName !== named ? el.dataset.memberName + " (" + named + ")" : named;
    need(named === "" || named === rc.member, "this page says member " + namedAs + " shared this version, but its log entry names member " +
      rc.member + ": the node's records and its log disagree on who shared it");
    // The member's name beside its id, once the log has named the same
    // member as the page: the id is what the log binds, the name is
    // what the node calls it.
    const who = (m) => m === named && el.dataset.memberName && el.dataset.memberName !== m
      ? m + " (" + el.dataset.memberName + ", as your node names it)" : m;
    step(true, "the log entry's salted commitment opens to this object, version " + version + ", shared by member " + who(rc.member));

    const proof = (rc.inclusion_proof || []).map(L.b64decode);
    const root = await L.rootFromInclusion(rc.log_index, rc.tree_size, await L.leafHash(leaf), proof);
    need(L.equal(root, cp.root), "the inclusion proof does not lead to the checkpoint's root");
    step(true, "entry " + rc.log_index + " is in the log (RFC 9162 inclusion proof)");

    const ks = await get("/ui/api/log/keys?member=" + encodeURIComponent(rc.member), "the member's key history");
    const kcp = await L.verifyCheckpoint(ks.checkpoint, key);
    need(kcp.size === ks.tree_size, "the key history's tree size is not its checkpoint's");
    need(kcp.size > rc.log_index, "the key history's checkpoint doesn't reach the object's entry");
    // The keys must come from the tree the entry is in: a node showing two
    // histories must not pair this entry with keys from the other one.
    if (kcp.size !== cp.size) {
      const [a, b] = kcp.size < cp.size ? [kcp, cp] : [cp, kcp];
      const cr = await get("/ui/api/log/proof/consistency?from=" + a.size + "&to=" + b.size, "the consistency proof between the receipt's and the keys' checkpoints");
      try {
        await L.verifyConsistency(a.size, b.size, (cr.proof || []).map(L.b64decode), a.root, b.root);
      } catch (e) {
        throw new Check("the key history's checkpoint (size " + kcp.size + ") and the receipt's (size " + cp.size + ") are not one log: " + said(e));
      }
    } else {
      need(L.equal(kcp.root, cp.root), "the key history's checkpoint and the receipt's have one size and different roots: the log forked");
    }
    const events = [];
    for (const ev of ks.events || []) {
      const kleaf = L.b64decode(ev.entry);
      const kr = await L.rootFromInclusion(ev.log_index, ks.tree_size, await L.leafHash(kleaf), (ev.inclusion_proof || []).map(L.b64decode));
      need(L.equal(kr, kcp.root), "a key entry's inclusion proof does not verify");
      events.push({ index: ev.log_index, entry: L.parseEntry(kleaf) });
    }
    // Every key entry of the member up to that checkpoint must be there:
    // the node's signed key index lists them.
    try {
      await L.verifyKeyIndex(ks.key_index, key, kcp, events, rc.member);
    } catch (e) {
      throw new Check(said(e));
    }
    const inForce = await L.keyInForce(events, rc.member, rc.log_index);
    const sp = L.signatureParts(obj);
    if (peerColl) {
      // The pins of this copy are kept under its collection id, which
      // the log entry's commitment binds: the page can't name another
      // collection to be pinned afresh.
      need(rc.collection === peerColl, "the log entry is in collection " + rc.collection + ", not in " + peerColl + ", the copy of the peer's collection the page names");
      // In a copy of a peer's collection: what vouches for it is in the
      // peer's log, whoever this log says shared it here (the node logs
      // what it replicates under the peer's keyless member; anything
      // else in the copy is the operator's, and must be in the peer's
      // log too). A signature under a keyless member must first verify
      // with the key it names, as tlog.CheckObject requires.
      if (sp && !inForce) need(await L.ed25519Verify(L.b64decode(sp.ext.public_key), L.b64decode(sp.ext.signature), sp.message), "the object's signature does not verify");
      await checkInPeer(raw, obj, id, version, sp);
      return;
    }
    if (!sp) {
      unvouched("the object is unsigned", "the object is unsigned: nobody vouches for its content (its collection accepts unsigned objects)" + relayed);
      return;
    }
    if (!inForce && L.keylessAt(events, rc.member, rc.log_index)) {
      // As tlog.CheckObject: the signature must verify with the key it
      // names, which this log doesn't hold (a peer's log may).
      const ok = await L.ed25519Verify(L.b64decode(sp.ext.public_key), L.b64decode(sp.ext.signature), sp.message);
      need(ok, "the object's signature does not verify");
      unvouched("this log registered " + rc.member + " without a key",
        "it is signed with key " + sp.ext.public_key + ", which this log doesn't hold: it was shared by " + rc.member +
        ", registered here without a key, so this log doesn't say who signed it. If this node replicated it from a peer, check it in the peer's log (its proof bundle: GET /peers/bundle, checked with the peer's log key)" + relayed);
      return;
    }
    need(inForce, "the member had no key in force at entry " + rc.log_index);
    // The key's fingerprint as the members page writes it (SHA-256 of
    // the raw key, its first 8 bytes in hex), to compare with the one the
    // member gave you.
    const keyFP = "SHA256:" + L.hex((await L.sha256(L.b64decode(inForce))).slice(0, 8));
    step(true, "the key in force for member " + who(rc.member) + " at entry " + rc.log_index + " is logged, fingerprint " + keyFP + " (" + events.length + (events.length === 1 ? " key event)" : " key events)"));

    need(sp.ext.alg === "ed25519" && sp.ext.public_key === inForce, "the object is signed with a key that is not the member's logged key");
    const sigOK = await L.ed25519Verify(L.b64decode(inForce), L.b64decode(sp.ext.signature), sp.message);
    need(sigOK, "the member's signature does not verify");
    step(true, "the member's signature verifies with the logged key");
    // A key the operator rotated in alone could be the operator's own (as
    // the CLI's checks say: tlog.MemberKey.OperatorAsserted).
    const putIn = events.filter((ev) => ev.entry.member === rc.member && ev.entry.key === inForce &&
      (ev.entry.event === "register" || ev.entry.event === "rotate")).pop();
    const asserted = putIn && putIn.entry.event === "rotate" && putIn.entry.authority === "operator"
      ? "; signed with a key the operator rotated in for " + rc.member + " without the member's signature (operator-asserted)" : "";
    finish(true, "signed by " + who(rc.member) + " with its logged key " + keyFP + "; signature, commitment, inclusion and checkpoint all check" + relayed + asserted + ".");
  }

  run().catch((err) => {
    if (err instanceof Unanswered) {
      unanswered(err.message);
      return;
    }
    const why = said(err);
    step(false, why);
    finish(false, why);
  });
})();
