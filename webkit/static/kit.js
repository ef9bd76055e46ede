// edgepost webkit: JSON API calls with the session's CSRF token; no build step, no framework.
"use strict";
const kit = {
  csrf: null,
  async session() {
    const r = await fetch("/api/v1/session", {credentials: "same-origin"});
    const s = await r.json();
    kit.csrf = s.csrf;
    return s;
  },
  async api(method, path, body) {
    if (method !== "GET" && !kit.csrf) await kit.session();
    const opts = {method, credentials: "same-origin", headers: {}};
    if (method !== "GET") opts.headers["X-CSRF-Token"] = kit.csrf;
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    const r = await fetch(path, opts);
    if (r.status === 401) { location.href = "/login"; throw new Error("log in first"); }
    const data = await r.json();
    if (!r.ok) throw new Error(data.error || r.statusText);
    return data;
  },
  el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k.startsWith("on")) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
    }
    for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(c ?? ""));
    return e;
  },
  // Wires the shared login form (#login-form, #login-name, #login-password, #login-error):
  // on success the browser goes to `next`, on failure the API's message is shown.
  loginForm(next) {
    document.getElementById("login-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      try {
        await kit.api("POST", "/api/v1/login", {
          name: document.getElementById("login-name").value,
          password: document.getElementById("login-password").value});
        location.href = next;
      } catch (err) { document.getElementById("login-error").textContent = err.message; }
    });
  },
  time(ms) { return ms ? new Date(ms).toLocaleString() : "—"; },
};
