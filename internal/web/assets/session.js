// The session's browser binding (see the web package's sessions): cookies
// are not kept apart by port, so a page on another port of the node's
// host can put its own member's session cookie in this browser; the
// localStorage of this origin it can neither read nor set. The login form
// sends the SHA-256 of a random secret kept in this origin's
// localStorage; the node binds the session to it. On each page
// it asks the node whether the session is bound to this tab's secret and,
// if not, replaces the page with a notice: nothing typed here would be
// this analyst's. It also proves the binding for every page (view
// proofs): on the proving page the node answers a navigation without one
// with, and in the links of every page.
"use strict";
(function () {
  const KEY = "parley.binding";
  const HEADER = "X-Parley-Binding";

  function b64url(buf) {
    let s = "";
    for (const c of new Uint8Array(buf)) s += String.fromCharCode(c);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function secret() {
    try { return localStorage.getItem(KEY) || ""; } catch (e) { return ""; }
  }
  async function sha256(s) {
    return crypto.subtle.digest("SHA-256", new TextEncoder().encode(s));
  }

  // The login form: bind the session to this origin's secret, made
  // once and kept in its localStorage (a later login of this origin binds
  // to the same secret, so that a tab that merely opens the login page
  // can't unbind another tab's session). The field is filled as the page
  // loads, so that any submission carries it; a submission before that
  // waits for it. Without WebCrypto or localStorage the form goes as it
  // is, and the session is unbound (reading only), as without JavaScript.
  const login = document.querySelector('form[action="/ui/login"]');
  if (login) {
    const field = login.querySelector('input[name="binding"]');
    const ready = (async function () {
      try {
        let s = secret();
        if (!s) {
          s = b64url(crypto.getRandomValues(new Uint8Array(32)));
          localStorage.setItem(KEY, s);
          if (secret() !== s) throw new Error("localStorage did not keep the secret");
        }
        field.value = b64url(await sha256(s));
      } catch (e) {
        field.value = "";
      }
    })();
    let waited = false;
    login.addEventListener("submit", function (ev) {
      if (waited) return;
      ev.preventDefault();
      ready.then(function () { waited = true; login.requestSubmit(); });
    });
  }

  // View proofs (viewProof on the node): every page of a session, and
  // every GET of /ui/api/, proves the binding, so that the session cookie
  // alone (which browsers also send to other ports of this host) reads
  // nothing. A navigation can carry no header: its URL carries
  // view=w + "." + HMAC-SHA256(SHA-256(secret), "parley view\n" + tag +
  // "\n" + w + "\n" + target), target its path and query without view
  // (withoutView), tag the session's and w the node's view window now
  // (both of which the node gives the page, so that this browser's clock
  // doesn't matter). The secret is never in a URL, and a proof is good for
  // one URL in one session, for the window w and the next (5 to 10
  // minutes); an older one goes by the proving page, which proves it
  // again.
  const enc = new TextEncoder();
  async function hmacKey(s) {
    return crypto.subtle.importKey("raw", await sha256(s), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  }
  async function viewProof(key, tag, w, target) {
    return w + "." + b64url(await crypto.subtle.sign("HMAC", key, enc.encode("parley view\n" + tag + "\n" + w + "\n" + target)));
  }
  // withoutView is the node's viewTarget: a path and query without its
  // view parameters and empty parts.
  function withoutView(pq) {
    const i = pq.indexOf("?");
    if (i < 0) return pq;
    const keep = pq.slice(i + 1).split("&").filter((p) => p !== "" && p.split("=")[0] !== "view");
    return keep.length ? pq.slice(0, i) + "?" + keep.join("&") : pq.slice(0, i);
  }
  function withView(target, proof) {
    return target + (target.indexOf("?") < 0 ? "?" : "&") + "view=" + proof;
  }
  // binding asks the node whether the session is bound to this tab's
  // secret s: "bound", "not" (403), "ended" (the node sent the request to
  // the login page), or "unknown".
  async function binding(s) {
    let r;
    try {
      r = await fetch("/ui/binding", { credentials: "same-origin", headers: { [HEADER]: s } });
    } catch (e) {
      return "unknown";
    }
    if (r.status === 204) return "bound";
    if (r.status === 403) return "not";
    if (r.redirected || r.status === 401) return "ended";
    return "unknown";
  }

  // foreign: the session the browser holds is not this tab's (planted by
  // a page on another port of this host, or unbound). Its pages must not
  // be used as the analyst's: drop its cookie from this browser (a log
  // out without its CSRF token drops the cookie and ends nothing) and go
  // to the login page, which says why, on to the page asked for.
  async function foreign(target) {
    try {
      const r = await fetch("/ui/logout", { method: "POST", credentials: "same-origin", redirect: "manual" });
      if (r.type !== "opaqueredirect" && !r.ok) throw new Error("not dropped: " + r.status);
    } catch (e) {
      return notice();
    }
    let next = target && target.startsWith("/ui/") && !target.startsWith("//") ? target : location.pathname + location.search;
    next = withoutView(next);
    location.replace("/ui/login?foreign=1&next=" + encodeURIComponent(next));
  }

  function notice() {
    const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
    const who = ((document.querySelector(".who") || {}).textContent || "").trim();
    const main = document.createElement("main");
    main.id = "main";
    main.className = "session-notice";
    const h = document.createElement("h1");
    h.textContent = "This session was not started in this browser tab's origin";
    const p = document.createElement("p");
    p.setAttribute("role", "alert");
    p.textContent = "The node has you in " + (who ? "a session of " + who : "a session") + " that was not logged in from this page's origin " +
      "(a page on another port of this host may have put it in your browser, or it was started without JavaScript or before the node's upgrade). " +
      "Nothing you look up or share in it would be yours, so nothing is shown or sent. Log out, then log in again.";
    // Without a CSRF token (the proving page holds none) the log-out
    // drops the cookie from this browser, which is all it needs here.
    const form = document.createElement("form");
    form.method = "post";
    form.action = "/ui/logout";
    if (csrf) {
      const c = document.createElement("input");
      c.type = "hidden";
      c.name = "csrf";
      c.value = csrf;
      form.append(c);
    }
    const b = document.createElement("button");
    b.type = "submit";
    b.id = "session-notice-logout";
    b.textContent = "Log out";
    form.append(b);
    const a = document.createElement("p");
    const l = document.createElement("a");
    l.href = "/ui/login";
    l.textContent = "Log in again";
    a.append(l);
    main.append(h, p, form, a);
    document.body.replaceChildren(main);
    document.title = "Session not started here · Parley";
  }

  // The proving page (prove.html): the node answered a navigation without
  // a view proof with it, and nothing of the session's. If the session is
  // bound to this tab's secret, go on to the same URL with its proof, in
  // the proving page's place in the history.
  async function prove(el) {
    const target = el.dataset.target || "", tag = el.dataset.tag || "", w = el.dataset.window || "";
    if (!target.startsWith("/ui/") || target.startsWith("//")) return;
    const s = secret();
    if (!s) return foreign(target);
    const state = await binding(s);
    if (state === "not") return foreign(target);
    if (state === "ended") return location.reload(); // the node asks to log in
    if (state !== "bound") {
      el.textContent = "The node could not be asked whether this session is this tab's. Reload the page to try again.";
      return;
    }
    const proof = await viewProof(await hmacKey(s), tag, w, target);
    if (!el.dataset.elsewhere && new URLSearchParams(location.search).getAll("view").includes(proof)) {
      // The node refused this very proof (and not for the navigation's
      // coming from another origin, which this one from the node's own
      // page doesn't): something between the browser and the node
      // changed the URL. Don't go round again.
      el.textContent = "The node did not take this tab's proof for this page's address (a proxy may change it). Log out and log in again; if that doesn't help, tell the node's operator.";
      return;
    }
    // Once this page has loaded: a navigation that another cuts short
    // before its load reads as failed to whatever waits for it.
    if (document.readyState !== "complete") await new Promise((r) => addEventListener("load", r, { once: true }));
    location.replace(withView(target, proof) + location.hash);
  }

  // proveLinks adds view proofs to the page's links to the node's pages
  // and /ui/api/ (the proof bundles' downloads, which can't go by the
  // proving page), so that following one, in this tab or a new one, goes
  // straight to its page. A link the script has not reached yet (or one
  // made later) goes by the proving page.
  async function proveLinks(s, tag, w) {
    const key = await hmacKey(s);
    for (const a of document.querySelectorAll("a[href]")) {
      const href = a.getAttribute("href");
      if (!href || href.startsWith("#")) continue;
      let u;
      try { u = new URL(href, location.href); } catch (e) { continue; }
      if (u.origin !== location.origin || !u.pathname.startsWith("/ui/") || u.pathname.startsWith("/ui/assets/") || u.pathname === "/ui/login") continue;
      const target = withoutView(u.pathname + u.search);
      a.setAttribute("href", withView(target, await viewProof(key, tag, w, target)) + u.hash);
    }
    document.documentElement.dataset.viewLinks = "proved";
  }

  const pending = document.getElementById("view-pending");
  if (pending) {
    prove(pending);
    return;
  }

  const meta = document.querySelector('meta[name="parley-session"]');
  if (!meta) return; // no session: the login and error pages

  async function check() {
    const s = secret();
    if (meta.content !== "bound" || !s) return foreign("");
    const state = await binding(s);
    if (state === "not") return foreign("");
    if (state !== "bound") return; // ended, or the node can't be asked: the next page asks again
    const vm = document.querySelector('meta[name="parley-view"]') || { dataset: {} };
    if (vm.content) await proveLinks(s, vm.content, vm.dataset.window || "");
  }
  check();
})();
