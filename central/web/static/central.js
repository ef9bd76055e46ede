// edgepost central pages. Each page reads only the JSON API (docs/central.md).
"use strict";
const page = document.body.dataset.page;
const ackWithin = Number(document.body.dataset.ackWithin || 60);
let clockOffset = 0;  // server time - browser time, so timers count from the server's clock

async function loginPage() {
  await kit.session();
  kit.loginForm("/fleet");
}

async function fleetPage() {
  const data = await kit.api("GET", "/api/v1/fleet");
  const devs = data.devices;
  const online = devs.filter(d => d.online).length;
  document.getElementById("fleet-summary").textContent =
    `${devs.length} devices: ${online} online, ${devs.filter(d => d.online === false).length} offline`;
  const tbody = document.querySelector("#fleet-table tbody");
  tbody.replaceChildren(...devs.map(d => kit.el("tr", {"data-device": d.device},
    kit.el("td", {}, d.device),
    kit.el("td", {class: d.online ? "online" : "offline"}, d.online ? "online" : (d.online === false ? "offline" : "?")),
    kit.el("td", {}, kit.time(d.last_seen_ms)), kit.el("td", {}, d.spool_depth ?? "—"),
    kit.el("td", {}, d.dropped ?? "—"), kit.el("td", {}, d.version ?? "—"),
    kit.el("td", {}, d.config_hash ?? "—"),
    kit.el("td", {}, d.lat != null ? `${d.lat.toFixed(4)}, ${d.lon.toFixed(4)}` : "—"))));
  document.querySelector("#nodes-table tbody").replaceChildren(...devs.flatMap(d => d.nodes.map(n =>
    kit.el("tr", {"data-node": `${d.device}/${n.node}`},
      kit.el("td", {}, d.device), kit.el("td", {}, n.node), kit.el("td", {}, kit.time(n.last_event_ms)),
      kit.el("td", {}, n.last_type), kit.el("td", {}, n.fw_version ?? "—"),
      kit.el("td", {}, n.boot_cause ?? "—"), kit.el("td", {}, n.interval_s != null ? `${n.interval_s} s` : "—")))));
  const c = document.getElementById("fleet-map"), g = c.getContext("2d");
  g.clearRect(0, 0, c.width, c.height);
  const pts = devs.filter(d => d.lat != null);
  if (!pts.length) return;
  const lats = pts.map(d => d.lat), lons = pts.map(d => d.lon);
  const [a0, a1, o0, o1] = [Math.min(...lats), Math.max(...lats), Math.min(...lons), Math.max(...lons)];
  for (const d of pts) {
    const x = 20 + (c.width - 40) * (o1 > o0 ? (d.lon - o0) / (o1 - o0) : .5);
    const y = c.height - 20 - (c.height - 40) * (a1 > a0 ? (d.lat - a0) / (a1 - a0) : .5);
    g.fillStyle = d.online ? "#080" : "#c00";
    g.beginPath(); g.arc(x, y, 5, 0, 7); g.fill();
    g.fillStyle = "#333"; g.fillText(d.device, x + 7, y + 4);
  }
}

let alarmsCache = [];
async function alarmsPage() {
  const data = await kit.api("GET", "/api/v1/alarms?limit=100");
  clockOffset = data.now_ms - Date.now();
  alarmsCache = data.alarms;
  const list = document.getElementById("alarm-list");
  list.replaceChildren(...alarmsCache.map(a => {
    const img = kit.el("img", {alt: "", src: `/api/v1/events/${a.id}/crop`});
    img.addEventListener("error", () => img.remove());
    const btn = a.acked_ms ? kit.el("span", {}, `acknowledged by ${a.acked_by}`)
      : kit.el("button", {class: "ack", "data-id": a.id, onclick: () => ack(a.id)}, "Acknowledge");
    return kit.el("div", {class: "alarm", id: `alarm-${a.id}`, "data-id": a.id},
      kit.el("span", {class: "timer", "data-timer": a.timer_ms, "data-acked": a.acked_ms || ""}, ""),
      img,
      kit.el("div", {}, kit.el("strong", {class: "category"}, a.category), " ",
        kit.el("span", {class: "summary"}, a.summary), kit.el("br"),
        kit.el("small", {}, `${a.device} · ${kit.time(a.ts_ms)}${a.clock_untrusted ? " (device clock untrusted)" : ""}` +
          (a.assigned_to ? ` · assigned to ${a.assigned_to}` : ""))),
      btn);
  }));
  tickTimers();
}

function tickTimers() {
  const now = Date.now() + clockOffset;
  for (const a of alarmsCache) {
    const box = document.getElementById(`alarm-${a.id}`);
    if (!box) continue;
    const end = a.acked_ms || now;
    const s = Math.max(0, Math.floor((end - a.timer_ms) / 1000));
    box.querySelector(".timer").textContent = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
    box.classList.toggle("acked", !!a.acked_ms);
    box.classList.toggle("escalated", !a.acked_ms && (s >= ackWithin || !!a.escalated_ms));
  }
}

async function ack(id) {
  await kit.api("POST", `/api/v1/alarms/${id}/ack`);
  await alarmsPage();
}

async function platesPage() {
  const form = document.getElementById("plate-form");
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const q = document.getElementById("plate-q").value.trim();
    const mode = document.getElementById("plate-mode").value;
    const data = await kit.api("GET", `/api/v1/plates?${mode}=${encodeURIComponent(q)}`);
    const tbody = document.querySelector("#plate-results tbody");
    tbody.replaceChildren(...data.passages.map(p => kit.el("tr", {},
      kit.el("td", {}, kit.time(p.ts_ms)), kit.el("td", {}, p.plate ?? p.plate_hash),
      kit.el("td", {}, p.device), kit.el("td", {}, p.direction ?? "—"),
      kit.el("td", {}, p.vehicle_class ?? "—"),
      kit.el("td", {}, kit.el("button", {class: "traj", onclick: () => trajectory(p.plate ? "plate" : "hash", p.plate ?? p.plate_hash)}, "trajectory")))));
  });
}

async function trajectory(kind, value) {
  const data = await kit.api("GET", `/api/v1/trajectory?${kind}=${encodeURIComponent(value)}`);
  document.getElementById("traj-title").textContent = `Trajectory of ${value}: ${data.points.length} passages`;
  document.getElementById("trajectory").replaceChildren(...data.points.map(p =>
    kit.el("li", {class: "traj-point", "data-device": p.device},
      `${kit.time(p.ts_ms)} — ${p.device} (${p.direction ?? "unknown"})`)));
}

async function countsPage() {
  const data = await kit.api("GET", "/api/v1/counts");
  const rows = new Map();
  for (const c of data.counts) {
    const k = `${c.hour_ms}|${c.device}`;
    const r = rows.get(k) || {hour: c.hour_ms, device: c.device, inbound: 0, outbound: 0, unknown: 0, classes: {}};
    r[c.direction] = (r[c.direction] || 0) + c.n;
    r.classes[c.vehicle_class] = (r.classes[c.vehicle_class] || 0) + c.n;
    rows.set(k, r);
  }
  document.querySelector("#counts-table tbody").replaceChildren(...[...rows.values()].map(r => kit.el("tr", {},
    kit.el("td", {}, kit.time(r.hour)), kit.el("td", {}, r.device), kit.el("td", {}, r.inbound),
    kit.el("td", {}, r.outbound), kit.el("td", {}, r.unknown),
    kit.el("td", {}, Object.entries(r.classes).map(([k, v]) => `${k} ${v}`).join(", ")))));
}

async function cellsTable() {
  const data = await kit.api("GET", "/api/v1/cells");
  document.getElementById("cells-note").textContent = data.grid
    ? `${data.counts.length} cells with events in the last 24 hours`
    : "no grid configured ([grid] cells_file)";
  document.querySelector("#cells-table tbody").replaceChildren(...data.counts.map(c => kit.el("tr", {"data-cell": c.cell},
    kit.el("td", {}, c.cell), kit.el("td", {}, c.n),
    kit.el("td", {}, Object.entries(c.by_type).map(([k, v]) => `${k} ${v}`).join(", ")))));
}

async function commandsTable() {
  const data = await kit.api("GET", "/api/v1/commands");
  document.querySelector("#cmd-table tbody").replaceChildren(...data.commands.map(c => kit.el("tr", {"data-cid": c.cid},
    kit.el("td", {}, kit.time(c.ts_ms)), kit.el("td", {}, c.actor), kit.el("td", {}, c.device),
    kit.el("td", {}, c.name), kit.el("td", {}, JSON.stringify(c.args)),
    kit.el("td", {class: "reply"}, c.reply ? `${kit.time(c.reply_ms)}: ${JSON.stringify(c.reply)}` : "waiting…"))));
}

async function commandsPage() {
  document.getElementById("cmd-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const err = document.getElementById("cmd-error");
    err.textContent = "";
    try {
      const device = document.getElementById("cmd-device").value.trim();
      const name = document.getElementById("cmd-name").value.trim();
      const args = JSON.parse(document.getElementById("cmd-args").value || "{}");
      await kit.api("POST", `/api/v1/devices/${encodeURIComponent(device)}/cmd/${encodeURIComponent(name)}`, args);
      await commandsTable();
    } catch (ex) { err.textContent = ex.message; }
  });
  await commandsTable();
}

document.addEventListener("DOMContentLoaded", () => {
  const out = document.getElementById("logout");
  if (out) out.addEventListener("click", async () => { await kit.api("POST", "/api/v1/logout"); location.href = "/login"; });
  if (page === "login") loginPage();
  if (page === "fleet") { fleetPage(); setInterval(fleetPage, 5000); }
  if (page === "alarms") { alarmsPage(); setInterval(alarmsPage, 2000); setInterval(tickTimers, 250); }
  if (page === "plates") platesPage();
  if (page === "counts") { countsPage(); cellsTable(); }
  if (page === "commands") { commandsPage(); setInterval(commandsTable, 2000); }
});
