// edgepost gateway page: live view, zone and line editor, health, recent events and plates.
// Reads only the JSON API (docs/web.md); plain JS and a canvas, no build step.
"use strict";
const page = document.body.dataset.page;
const state = {cameras: [], camera: null, zones: [], lines: [], draft: null, interval: 1000,
               dirty: false};

async function loginPage() {
  const s = await kit.session();
  document.getElementById("device").textContent = s.device || "";
  kit.loginForm("/");
}

const r3 = (v) => Math.round(v * 1000) / 1000;
// a point as a share of the frame, 0..1 (a click on the canvas's border lies just outside it)
const share = (v) => r3(Math.min(1, Math.max(0, v)));
const fmt = (v) => v === null || v === undefined ? "—" : (typeof v === "number" ? String(Math.round(v * 10) / 10) : String(v));

function cameraByName(name) { return state.cameras.find(c => c.name === name); }

function selectCamera(name) {
  const cam = cameraByName(name);
  if (!cam) return;
  state.camera = name;
  state.zones = cam.zones.map(z => ({...z}));
  state.lines = cam.lines.map(l => ({...l}));
  state.draft = null;
  state.dirty = false;
  renderShapes();
  draw();
}

function draw() {
  const c = document.getElementById("editor"), g = c.getContext("2d");
  g.clearRect(0, 0, c.width, c.height);
  const W = c.width, H = c.height;
  g.lineWidth = Math.max(2, W / 320);
  g.font = `${Math.max(12, W / 50)}px sans-serif`;
  const path = (pts, close) => {
    g.beginPath();
    pts.forEach(([x, y], i) => i ? g.lineTo(x * W, y * H) : g.moveTo(x * W, y * H));
    if (close) g.closePath();
    g.stroke();
  };
  g.strokeStyle = "#2b8cff"; g.fillStyle = "#2b8cff";
  for (const z of state.zones) { path(z.polygon, true); g.fillText(z.name, z.polygon[0][0] * W + 4, z.polygon[0][1] * H + 16); }
  for (const l of state.lines) { path([l.a, l.b], false); g.fillText(l.name, l.a[0] * W + 4, l.a[1] * H - 4); }
  const d = state.draft;
  if (d) {
    g.strokeStyle = "#ff8c00"; g.fillStyle = "#ff8c00";
    path(d.points.slice(0, d.kind === "line" ? 2 : d.points.length), false);
    for (const [x, y] of d.points) { g.beginPath(); g.arc(x * W, y * H, g.lineWidth * 2, 0, 7); g.fill(); }
  }
}

function renderShapes() {
  const ul = document.getElementById("shapes");
  const item = (kind, shape, list) => kit.el("li", {"data-kind": kind, "data-name": shape.name},
    `${kind} ${shape.name}${shape.intrusion ? " (intrusion)" : ""} `,
    kit.el("button", {class: "delete", onclick: () => {
      list.splice(list.indexOf(shape), 1); state.dirty = true; renderShapes(); draw(); }}, "delete"));
  ul.replaceChildren(...state.zones.map(z => item("zone", z, state.zones)),
                     ...state.lines.map(l => item("line", l, state.lines)));
  const d = state.draft;
  document.getElementById("coords").textContent = d
    ? `${d.kind} ${d.name}: ` + JSON.stringify(d.points)
    : [...state.zones.map(z => `zone ${z.name}: ${JSON.stringify(z.polygon)}`),
       ...state.lines.map(l => `line ${l.name}: a=${JSON.stringify(l.a)} b=${JSON.stringify(l.b)} inbound_side=${JSON.stringify(l.inbound_side)}`)].join("\n");
}

function startDraft(kind) {
  const name = document.getElementById("shape-name").value.trim() || `${kind}${state.zones.length + state.lines.length + 1}`;
  state.draft = {kind, name, points: []};
  document.getElementById("save-error").textContent = "";
  renderShapes(); draw();
}

function finishDraft() {
  const d = state.draft, err = document.getElementById("save-error");
  if (!d) return;
  if (d.kind === "zone") {
    if (d.points.length < 3) { err.textContent = "a zone needs at least 3 corners"; return; }
    state.zones.push({name: d.name, polygon: d.points, intrusion: true});
  } else {
    if (d.points.length < 3) { err.textContent = "a line needs both ends and a point on the inbound side"; return; }
    state.lines.push({name: d.name, a: d.points[0], b: d.points[1], inbound_side: d.points[2]});
  }
  state.draft = null; state.dirty = true; err.textContent = "";
  renderShapes(); draw();
}

async function saveRules() {
  const err = document.getElementById("save-error"), ok = document.getElementById("save-status");
  err.textContent = ""; ok.textContent = "saving…";
  try {
    const res = await kit.api("PUT", `/api/v1/cameras/${encodeURIComponent(state.camera)}/rules`,
                              {zones: state.zones, lines: state.lines});
    const cam = cameraByName(state.camera);
    cam.zones = res.zones; cam.lines = res.lines;
    document.getElementById("config-hash").textContent = res.config_hash;
    ok.textContent = `saved; running with config ${res.config_hash}`;
    ok.dataset.hash = res.config_hash;
    selectCamera(state.camera);
  } catch (e) { ok.textContent = ""; err.textContent = e.message; }
}

function refreshLive() {
  if (!state.camera) return;
  const next = new Image();
  next.onload = () => {
    const img = document.getElementById("live-img"), c = document.getElementById("editor");
    img.src = next.src;
    if (c.width !== next.naturalWidth) { c.width = next.naturalWidth; c.height = next.naturalHeight; draw(); }
    img.dataset.loaded = String(Number(img.dataset.loaded || 0) + 1);
  };
  next.src = `/api/v1/cameras/${encodeURIComponent(state.camera)}/snapshot?t=${Date.now()}`;
}

function healthRows(s) {
  const h = s.health, rows = [];
  const add = (k, v, cls) => rows.push(kit.el("tr", {"data-key": k}, kit.el("th", {}, k), kit.el("td", {class: cls || ""}, v)));
  for (const cam of s.cameras) {
    const ch = (h.cameras || {})[cam.name] || {};
    const stages = Object.entries(ch.stages || {}).map(([k, v]) => `${k} ${fmt(v.p50_ms)} ms`).join(", ");
    add(`camera ${cam.name}`, `${fmt(cam.fps)} fps, ${fmt(ch.frames)} frames, ${fmt(ch.active_tracks)} tracks; ${stages}`);
    if (ch.error || cam.error) add(`camera ${cam.name} error`, ch.error || cam.error, "bad");
  }
  const sp = h.spool || {};
  add("spool", `${fmt(sp.depth)} waiting, oldest ${fmt(sp.oldest_age_s)} s, dropped ${fmt(sp.dropped)}`);
  const up = h.uplink || {};
  add("uplink", up.connected ? "connected" : `not connected${up.last_error ? ": " + up.last_error : ""}`, up.connected ? "good" : "bad");
  for (const [node, f] of Object.entries(s.nodes || {}))
    add(`node ${node}`, `seen ${fmt(f.last_seen_s_ago)} s ago, battery ${fmt(f.battery)}, rssi ${fmt(f.rssi)}`);
  add("gps", s.gps.configured ? (s.gps.fix ? `fix ${s.gps.fix.map(r3).join(", ")}` : "no fix") : "not configured");
  if (h.clock) add("clock", typeof h.clock === "object" ? (h.clock.source || JSON.stringify(h.clock)) : h.clock);
  add("disk free", `${fmt(h.disk_free_mb)} MB`);
  add("temperature", h.temp_c !== undefined ? `${fmt(h.temp_c)} °C` : "not reported by this board");
  add("memory", `${fmt(h.rss_mb)} MB`);
  add("uptime", `${fmt(h.uptime_s)} s`);
  document.querySelector("#health-table tbody").replaceChildren(...rows);
}

async function refreshStatus(first) {
  const s = await kit.api("GET", "/api/v1/status");
  document.getElementById("device").textContent = s.device;
  document.getElementById("config-hash").textContent = s.config_hash;
  state.interval = Math.round(s.live_interval_s * 1000);
  if (first) {
    state.cameras = s.cameras;
    const sel = document.getElementById("camera");
    sel.replaceChildren(...s.cameras.map(c => kit.el("option", {value: c.name}, c.name)));
    if (s.cameras.length) selectCamera(s.cameras[0].name);
  } else if (!state.dirty && !state.draft) {
    for (const c of s.cameras) { const mine = cameraByName(c.name); if (mine) { mine.zones = c.zones; mine.lines = c.lines; } }
  }
  const cam = s.cameras.find(c => c.name === state.camera);
  document.getElementById("camera-fps").textContent = cam ? `${fmt(cam.fps)} fps` : "";
  healthRows(s);
}

async function refreshEvents() {
  const data = await kit.api("GET", "/api/v1/events?limit=30");
  document.getElementById("event-list").replaceChildren(...data.events.map(ev => {
    const b = ev.body;
    const what = [b.zone, b.line, b.cls || b.vehicle_class, b.plate, b.node, b.code, b.message].filter(Boolean).join(" · ");
    const div = kit.el("div", {class: `event ${["zone_intrusion", "sensor_alarm", "device_fault"].includes(ev.type) ? "alarm" : ""}`,
                               "data-type": ev.type, "data-id": ev.id},
      kit.el("span", {}, kit.time(ev.ts_ms)), kit.el("strong", {}, ev.type),
      kit.el("span", {}, `${b.camera ? b.camera + ": " : ""}${what}`));
    if (ev.has_crop) div.append(kit.el("img", {alt: "crop", src: `/api/v1/events/${ev.id}/crop`}));
    return div;
  }));
  const pl = await kit.api("GET", "/api/v1/plates?limit=20");
  document.querySelector("#plate-table tbody").replaceChildren(...pl.plates.map(ev => kit.el("tr", {},
    kit.el("td", {}, kit.time(ev.ts_ms)), kit.el("td", {class: "plate"}, ev.body.plate || "(hashed)"),
    kit.el("td", {}, fmt(ev.body.plate_conf)), kit.el("td", {}, ev.body.camera || ""))));
}

async function indexPage() {
  const s = await kit.session();
  document.getElementById("who").textContent = s.user ? `${s.user.name} (${s.user.role})` : "";
  document.getElementById("logout").addEventListener("click", async () => {
    await kit.api("POST", "/api/v1/logout"); location.href = "/login"; });
  document.getElementById("camera").addEventListener("change", (e) => selectCamera(e.target.value));
  document.getElementById("new-zone").addEventListener("click", () => startDraft("zone"));
  document.getElementById("new-line").addEventListener("click", () => startDraft("line"));
  document.getElementById("finish-shape").addEventListener("click", finishDraft);
  document.getElementById("cancel-shape").addEventListener("click", () => { state.draft = null; renderShapes(); draw(); });
  document.getElementById("save-rules").addEventListener("click", saveRules);
  document.getElementById("editor").addEventListener("click", (e) => {
    const d = state.draft;
    if (!d) return;
    const c = e.currentTarget;
    d.points.push([share(e.offsetX / c.clientWidth), share(e.offsetY / c.clientHeight)]);
    if (d.kind === "line" && d.points.length === 3) finishDraft(); else { renderShapes(); draw(); }
  });
  await refreshStatus(true);
  const loop = async (fn, ms) => { try { await fn(); } catch (e) { console.warn(e); } setTimeout(() => loop(fn, ms), ms()); };
  loop(async () => refreshLive(), () => state.interval);
  loop(() => refreshStatus(false), () => 2000);
  loop(refreshEvents, () => 2000);
}

if (page === "login") loginPage(); else indexPage();
