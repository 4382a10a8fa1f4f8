// Opinions, their revocation and sightings, signed in the analyst's
// browser: the private key file is read here, imported into WebCrypto as
// a non-extractable signing key, and never sent anywhere. The signed
// STIX object goes to the node's TAXII objects endpoint (through
// /ui/api/, with the session's CSRF token), where the node checks it like
// any other submission.
"use strict";
// binding is the secret the session is bound to (session.js), which the
// node asks of every /ui/api/ call.
function binding() {
  try { return localStorage.getItem("parley.binding") || ""; } catch (e) { return ""; }
}
(function () {
  const L = window.ParleyLog;
  if (!L) return;
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  const TAXII = "application/taxii+json;version=2.1";

  // readKey returns {key, pub}: the signing key and the base64 public key
  // from a PKCS#8 PEM file (the public half comes from a one-off
  // extractable import, as PKCS#8 need not carry it).
  async function readKey(input) {
    const f = input.files && input.files[0];
    if (!f) throw new Error("choose your private key file (parley keygen writes it)");
    const pem = await f.text();
    const m = /-----BEGIN PRIVATE KEY-----([\s\S]+?)-----END PRIVATE KEY-----/.exec(pem);
    if (!m) throw new Error("that file is not a PKCS#8 PEM private key");
    const der = L.b64decode(m[1].replace(/\s+/g, ""));
    const tmp = await crypto.subtle.importKey("pkcs8", der, { name: "Ed25519" }, true, ["sign"]);
    const jwk = await crypto.subtle.exportKey("jwk", tmp);
    const pub = L.b64encode(L.b64decode(jwk.x.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - jwk.x.length % 4) % 4)));
    const key = await crypto.subtle.importKey("pkcs8", der, { name: "Ed25519" }, false, ["sign"]);
    return { key, pub };
  }

  function now() { return new Date().toISOString(); }

  // Unanswered is a post whose outcome the browser doesn't know: the
  // connection failed before the node's answer came (the node restarted,
  // a proxy gave up), or the node answered a server error, which may come
  // after the object was stored (a write cut off at its commit). Saying
  // "not shared" then would have the analyst share it again, under a new
  // id: a second opinion, a sighting counted twice.
  class Unanswered extends Error {}

  async function post(collection, obj) {
    let r;
    try {
      r = await fetch("/ui/api/collections/" + encodeURIComponent(collection) + "/objects/", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": TAXII, Accept: TAXII, "X-CSRF-Token": csrf, "X-Parley-Binding": binding() },
        body: JSON.stringify({ objects: [obj] }),
      });
    } catch (e) {
      throw new Unanswered("the connection to the node failed before it answered (" + (e && e.message ? e.message : e) + ")");
    }
    let st = null;
    try { st = await r.json(); } catch (e) {}
    if (r.status === 401) throw new Error("your session has ended: reload the page to log in again (nothing was shared)");
    if (r.status === 403 && !(st && st.title)) throw new Error("this form has expired: reload the page and try again (nothing was shared)");
    // 507: the node's disk is full, and it stored nothing.
    if (r.status >= 500 && r.status !== 507) throw new Unanswered("the node answered " + r.status + (st && st.title ? ": " + st.title : ""));
    if (!r.ok) throw new Error("the node answered " + r.status + (st && st.title ? ": " + st.title : ""));
    if (!st || st.success_count !== 1) {
      const f = st && st.failures && st.failures[0];
      throw new Error("the node refused it" + (f && f.message ? ": " + f.message : ""));
    }
    return st;
  }

  function handle(form, build) {
    const out = form.querySelector(".result");
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const btn = form.querySelector("button[type=submit]");
      btn.disabled = true;
      out.textContent = "Signing in your browser…";
      out.className = "result";
      try {
        const { key, pub } = await readKey(form.querySelector('input[type="file"]'));
        const obj = await build(form);
        await L.signObject(obj, key, pub);
        await post(form.elements.collection.value, obj);
        out.textContent = "Signed and shared as " + obj.id + ". Reloading…";
        out.classList.add("ok");
        setTimeout(() => location.reload(), 300);
      } catch (err) {
        const why = err && err.message ? err.message : err;
        // (Words of the node's, and of the object it gave, are shown
        // inert: bidi controls as their code points.)
        out.textContent = L.inert(err instanceof Unanswered
          ? "It may have been shared: " + why + ". Reload the page to see whether it is there before you share it again."
          : "Not shared: " + why);
        out.classList.add("bad");
        btn.disabled = false;
      }
    });
  }

  const opForm = document.getElementById("opinion-form");
  if (opForm) {
    handle(opForm, async (f) => {
      const t = now();
      const o = {
        type: "opinion", spec_version: "2.1", id: "opinion--" + crypto.randomUUID(),
        created: t, modified: t, created_by_ref: f.dataset.member,
        opinion: f.elements.opinion.value, object_refs: [f.dataset.objectId],
      };
      const ex = f.elements.explanation.value.trim();
      if (ex) o.explanation = ex;
      const c = f.elements.confidence.value.trim();
      if (c !== "") {
        const n = Number(c);
        if (!Number.isInteger(n) || n < 0 || n > 100) throw new Error("confidence is a whole number from 0 to 100");
        o.confidence = n;
      }
      return o;
    });
  }
  for (const f of document.querySelectorAll(".revoke-form")) {
    handle(f, async (form) => {
      // The opinion as the node gives it, signed again with the
      // analyst's key: read as Go reads it (a name given twice, which
      // JSON.parse reads as its last, refused), and only the analyst's
      // own opinion, of the id the form shows.
      const o = L.parseIJSON(form.dataset.opinion);
      if (o === null || typeof o !== "object" || Array.isArray(o) || o.type !== "opinion" || o.id !== form.dataset.opinionId) {
        throw new Error("the node gave another object than your opinion " + form.dataset.opinionId + " to revoke");
      }
      if (o.created_by_ref !== form.dataset.member) throw new Error("the opinion the node gave to revoke is not yours: it names " + String(o.created_by_ref));
      o.revoked = true;
      let t = now();
      if (t <= o.modified) t = new Date(Date.parse(o.modified) + 1).toISOString();
      o.modified = t;
      return o;
    });
  }
  const siForm = document.getElementById("sighting-form");
  if (siForm) {
    handle(siForm, async (f) => {
      const t = now();
      const count = Number(f.elements.count.value);
      if (!Number.isInteger(count) || count < 1) throw new Error("times seen is a whole number of at least 1");
      const o = {
        type: "sighting", spec_version: "2.1", id: "sighting--" + crypto.randomUUID(),
        created: t, modified: t, created_by_ref: f.dataset.member,
        sighting_of_ref: f.dataset.objectId, count,
      };
      if (f.elements.first_seen.value) o.first_seen = new Date(f.elements.first_seen.value).toISOString();
      return o;
    });
  }
})();
