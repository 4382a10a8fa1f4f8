// The session's browser binding (see the web package's sessions): cookies
// are not kept apart by port, so a page on another port of the node's
// host can put its own member's session cookie in this browser; the
// localStorage of this origin it can neither read nor set. The login form
// sends the SHA-256 of a random secret kept in this origin's
// localStorage; the node binds the session to it. On each page
// it asks the node whether the session is bound to this tab's secret and,
// if not, replaces the page with a notice: nothing typed here would be
// this analyst's. It also adds a look-up's proof of the binding, which a
// navigation can't carry in a header.
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

  const meta = document.querySelector('meta[name="parley-session"]');
  if (!meta) return; // no session: the login and error pages

  function notice() {
    const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
    const who = (document.querySelector(".who") || {}).textContent || "another member";
    const main = document.createElement("main");
    main.id = "main";
    main.className = "session-notice";
    const h = document.createElement("h1");
    h.textContent = "This session was not started in this browser tab's origin";
    const p = document.createElement("p");
    p.setAttribute("role", "alert");
    p.textContent = "The node has you in a session of " + who.trim() + " that was not logged in from this page's origin " +
      "(a page on another port of this host may have put it in your browser, or it was started without JavaScript or before the node's upgrade). " +
      "Nothing you look up or share in it would be yours, so nothing is shown or sent. Log out, then log in again.";
    const form = document.createElement("form");
    form.method = "post";
    form.action = "/ui/logout";
    const c = document.createElement("input");
    c.type = "hidden";
    c.name = "csrf";
    c.value = csrf;
    const b = document.createElement("button");
    b.type = "submit";
    b.id = "session-notice-logout";
    b.textContent = "Log out";
    form.append(c, b);
    const a = document.createElement("p");
    const l = document.createElement("a");
    l.href = "/ui/login";
    l.textContent = "Log in again";
    a.append(l);
    main.append(h, p, form, a);
    document.body.replaceChildren(main);
    document.title = "Session not started here · Parley";
  }

  async function check() {
    const s = secret();
    if (meta.content !== "bound" || !s) return notice();
    let r;
    try {
      r = await fetch("/ui/binding", { credentials: "same-origin", headers: { [HEADER]: s } });
    } catch (e) {
      return; // the node can't be asked: the next request will be checked
    }
    if (r.status === 403) return notice();
    if (r.status !== 204) return; // ended (401): the next page asks to log in
    const pending = document.getElementById("lookup-pending");
    if (pending) {
      const q = pending.dataset.q;
      const key = await crypto.subtle.importKey("raw", await sha256(s), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
      const proof = b64url(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode("parley lookup\n" + q)));
      // The same page (a look-up, or a collection's text filter) with
      // the proof of its q.
      const u = new URL(location.href);
      u.searchParams.set("proof", proof);
      location.replace(u.href);
    }
  }
  check();
})();
