import Foundation
import Hummingbird
import TocsinConfig
import TocsinCore

/// The web dashboard at `/`: one self-contained page (no CDN, no map tiles, works with the building offline):
/// the SVG city map with incidents as tier-coloured circles, the active warnings with acknowledge buttons, the
/// task board with due times and overdue steps highlighted, an exercise banner when showing drills, and the audit
/// trail of a selected incident. It reads the API with the operator's token and follows `/api/stream`.
struct Dashboard: Sendable {
    let page: String

    init(config: TocsinConfiguration) {
        let map = MapSVG(areas: config.areas).render()
        page = Self.html.replacingOccurrences(of: "<!--MAP-->", with: map)
    }

    func register(on router: Router<BasicRequestContext>) {
        let page = self.page
        router.get("/") { _, _ in HTTPServer.text(page, contentType: "text/html; charset=utf-8") }
        router.get("dashboard") { _, _ in HTTPServer.text(page, contentType: "text/html; charset=utf-8") }
    }

    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tocsin command center</title>
<style>
  :root { --blue:#2f6fde; --yellow:#e0b400; --orange:#f07a10; --red:#d92525; --bg:#11161d; --panel:#19212b;
          --text:#e6edf3; --muted:#8b98a5; --line:#2a3541; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.4 system-ui, sans-serif; background:var(--bg); color:var(--text); }
  header { display:flex; gap:16px; align-items:center; padding:8px 16px; background:#0b0f14; border-bottom:1px solid var(--line); }
  header h1 { font-size:18px; margin:0; letter-spacing:.5px; }
  header .grow { flex:1; }
  header select, header button, header input { background:var(--panel); color:var(--text); border:1px solid var(--line); border-radius:4px; padding:4px 8px; }
  #banner { display:none; background:repeating-linear-gradient(45deg,#6b4b00,#6b4b00 12px,#5a3f00 12px,#5a3f00 24px);
            color:#ffe9a8; text-align:center; font-weight:700; padding:6px; letter-spacing:2px; }
  body.exercise #banner { display:block; }
  main { display:grid; grid-template-columns: minmax(420px, 1.2fr) 1fr; gap:12px; padding:12px; }
  section { background:var(--panel); border:1px solid var(--line); border-radius:6px; padding:8px 12px; min-width:0; }
  section h2 { font-size:15px; margin:4px 0 8px; color:var(--muted); text-transform:uppercase; letter-spacing:1px; }
  #map { width:100%; height:auto; display:block; }
  #map .sea { fill:#0e1a26; }
  #map .district { fill:#22303e; stroke:#22303e; stroke-width:18; stroke-linejoin:round; opacity:.95; }
  #map .district.d1 { fill:#243445; stroke:#243445; } #map .district.d2 { fill:#263040; stroke:#263040; }
  #map .district.d3 { fill:#202d3a; stroke:#202d3a; } #map .district.d4 { fill:#283646; stroke:#283646; }
  #map .district.d5 { fill:#1f2b37; stroke:#1f2b37; }
  #map .street { fill:#4a5a6a; }
  #map .labels text { fill:#9fb0c0; font-size:12px; text-anchor:middle; pointer-events:none; }
  #map .incident { fill-opacity:.35; stroke-width:2; cursor:pointer; }
  .IV { --tier:var(--blue); } .III { --tier:var(--yellow); } .II { --tier:var(--orange); } .I { --tier:var(--red); }
  #map .incident { fill:var(--tier); stroke:var(--tier); }
  table { width:100%; border-collapse:collapse; }
  th, td { text-align:left; padding:4px 6px; border-bottom:1px solid var(--line); vertical-align:top; }
  th { color:var(--muted); font-weight:600; font-size:12px; }
  .tier { display:inline-block; min-width:34px; text-align:center; border-radius:3px; padding:0 4px; font-weight:700; color:#000; background:var(--tier); }
  tr.selected { outline:2px solid #5aa0ff; }
  .esc { color:var(--red); font-weight:700; }
  .acked { color:#6fcf8f; }
  .overdue td { background:#4a1414; }
  .overdue .due { color:#ff8a8a; font-weight:700; }
  button.act { background:#2b3a4a; color:var(--text); border:1px solid #3d5166; border-radius:4px; padding:2px 8px; cursor:pointer; }
  button.act:hover { background:#36495d; }
  #status { color:var(--muted); font-size:12px; }
  #message { min-height:20px; color:#ffd27a; }
  #login { display:none; padding:40px; text-align:center; }
  body.nologin #login { display:block; } body.nologin main { display:none; }
  #audit { font-size:12px; }
  .muted { color:var(--muted); }
</style>
</head>
<body class="nologin">
<header>
  <h1>TOCSIN</h1>
  <span id="who" class="muted"></span>
  <span class="grow"></span>
  <label>traffic <select id="statusSelect"><option value="actual">actual</option><option value="exercise">exercise</option><option value="test">test</option></select></label>
  <span id="status">connecting</span>
</header>
<div id="banner">EXERCISE &mdash; DRILL TRAFFIC, NOT A REAL EMERGENCY</div>
<div id="login">
  <p>Operator token</p>
  <form id="loginForm"><input id="tokenInput" type="password" size="40" autocomplete="off"> <button>Sign in</button></form>
  <p id="loginError" class="esc"></p>
</div>
<main>
  <section>
    <h2>Map</h2>
    <!--MAP-->
    <div id="message"></div>
    <h2>Incident</h2>
    <div id="audit" class="muted">Select an incident to see its trail.</div>
  </section>
  <div>
    <section>
      <h2>Active warnings <span id="warningCount" class="muted"></span></h2>
      <table id="warnings"><thead><tr><th>tier</th><th>event</th><th>area</th><th>owner</th><th>sent</th><th>state</th><th></th></tr></thead><tbody></tbody></table>
    </section>
    <section style="margin-top:12px">
      <h2>Task board <span id="taskCount" class="muted"></span></h2>
      <table id="tasks"><thead><tr><th>step</th><th>action</th><th>owner</th><th>due</th><th>state</th><th></th></tr></thead><tbody></tbody></table>
    </section>
  </div>
</main>
<script>
"use strict";
const state = { token: null, me: null, status: "actual", warnings: new Map(), tasks: new Map(), acks: new Map(),
                seq: 0, source: null, selected: null, now: null };
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s == null ? "" : s).replace(/[&<>"']/g, c => ({"&":"&amp;","<":"&lt;",">":"&gt;","\"":"&quot;","'":"&#39;"}[c]));

function readToken() {
  const m = location.hash.match(/token=([^&]+)/);
  if (m) { sessionStorage.setItem("tocsin.token", decodeURIComponent(m[1])); history.replaceState(null, "", location.pathname + location.search); }
  return sessionStorage.getItem("tocsin.token");
}
async function api(path, options = {}) {
  const res = await fetch(path, { ...options, headers: { "Authorization": "Bearer " + state.token, "Content-Type": "application/json" } });
  const body = await res.json().catch(() => ({ ok: false, error: "HTTP " + res.status }));
  if (!res.ok || body.ok === false) { const e = new Error(body.error || ("HTTP " + res.status)); e.status = res.status; throw e; }
  return body;
}
function say(text) { $("message").textContent = text; }
function ago(iso) {
  const t = Date.parse(iso); if (isNaN(t)) return "";
  const s = Math.max(0, Math.round((Date.now() - t) / 1000));
  return s < 90 ? s + " s ago" : s < 5400 ? Math.round(s / 60) + " min ago" : Math.round(s / 3600) + " h ago";
}
function visibleStatus(item) { return item.status === state.status; }

function applyMessage(topic, body) {
  if (body.seq > state.seq) state.seq = body.seq;
  if (topic.split("/")[1] === "warning") {
    if (body.msgType === "cancel") state.warnings.delete(body.incident); else state.warnings.set(body.incident, body);
  } else {
    if (body.state === "done" || body.state === "cancelled") state.tasks.delete(body.id); else state.tasks.set(body.id, body);
  }
}

function render() {
  document.body.classList.toggle("exercise", state.status === "exercise");
  const warnings = [...state.warnings.values()].filter(visibleStatus)
    .sort((a, b) => ["I","II","III","IV"].indexOf(a.tier) - ["I","II","III","IV"].indexOf(b.tier) || (a.sent < b.sent ? 1 : -1));
  $("warningCount").textContent = "(" + warnings.length + ")";
  $("warnings").tBodies[0].innerHTML = warnings.map(w => {
    const ack = state.acks.get(w.id);
    const st = ack ? `<span class="acked">acked by ${esc(ack)}</span>` : (w.escalated ? '<span class="esc">ESCALATED</span>' : "open");
    return `<tr class="${esc(w.tier)}${state.selected === w.incident ? " selected" : ""}" data-warning="${esc(w.id)}" data-incident="${esc(w.incident)}">
      <td><span class="tier">${esc(w.tier)}</span></td><td>${esc(w.event)}<div class="muted">${esc(w.headline)}</div></td>
      <td>${esc(w.area)}</td><td>${esc(w.owner)}</td><td title="${esc(w.sent)}">${esc(ago(w.sent))}</td><td>${st}</td>
      <td>${ack ? "" : `<button class="act ack" data-warning="${esc(w.id)}">Acknowledge</button>`}</td></tr>`;
  }).join("");
  const tasks = [...state.tasks.values()].filter(visibleStatus).sort((a, b) => (a.due < b.due ? -1 : 1));
  $("taskCount").textContent = "(" + tasks.length + ")";
  $("tasks").tBodies[0].innerHTML = tasks.map(t => {
    const overdue = t.state === "overdue";
    return `<tr class="${overdue ? "overdue" : ""}" data-task="${esc(t.id)}" data-incident="${esc(t.incident)}">
      <td>${esc(t.plan)} #${esc(t.step)}</td><td>${esc(t.action)}</td><td>${esc(t.owner)}</td>
      <td class="due" title="${esc(t.due)}">${esc(t.due ? t.due.replace("T", " ").slice(0, 16) : "")}</td><td>${esc(t.state)}</td>
      <td>${t.state === "ready" || t.state === "overdue" ? `<button class="act step" data-task="${esc(t.id)}" data-state="acknowledged">Ack</button> ` : ""}<button class="act step" data-task="${esc(t.id)}" data-state="done">Done</button></td></tr>`;
  }).join("");
  drawIncidents(warnings);
  $("status").textContent = (state.source && state.source.readyState === 1 ? "live" : "reconnecting") + " · feed seq " + state.seq;
}

function drawIncidents(warnings) {
  const svg = $("map"), g = $("incidents");
  const minLon = +svg.dataset.minLon, maxLat = +svg.dataset.maxLat, kx = +svg.dataset.kx, ky = +svg.dataset.ky;
  g.innerHTML = warnings.map(w => {
    const loc = w.location || {}; const x = (loc.lon - minLon) * kx, y = (maxLat - loc.lat) * ky;
    const r = Math.max(6, (loc.radiusM || 500) * ky / 111320);
    return `<circle class="incident ${esc(w.tier)}" data-incident="${esc(w.incident)}" cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="${r.toFixed(1)}"><title>${esc(w.tier + " " + w.event + " " + w.area)}</title></circle>`;
  }).join("");
}

async function showIncident(id) {
  state.selected = id; render();
  try {
    const r = await api("/api/incidents/" + encodeURIComponent(id));
    const i = r.incident, ev = i.events || {};
    $("audit").innerHTML = `<div><b>${esc(i.event)}</b> ${esc(i.id)} · tier ${esc(i.tier)} · ${esc(i.area)} · ${esc(ev.events)} events (${esc(ev.first)} – ${esc(ev.last)})</div>` +
      (r.audit.length ? "<table><tr><th>when</th><th>who</th><th>what</th><th>outcome</th></tr>" + r.audit.map(a =>
        `<tr><td>${esc(a.at)}</td><td>${esc(a.operator || "")} (${esc(a.by)})</td><td>${esc(a.action)} ${esc(a.target)} ${esc(a.detail || "")}</td><td>${esc(a.outcome)}</td></tr>`).join("") + "</table>"
        : '<p class="muted">No acknowledgement, step or close yet.</p>');
  } catch (e) { $("audit").textContent = e.message; }
}

async function load() {
  const [w, t, s, a] = await Promise.all([api("/api/warnings"), api("/api/tasks"), api("/api/stats"), api("/api/audit")]);
  state.warnings.clear(); state.tasks.clear();
  for (const x of w.warnings) state.warnings.set(x.incident, x);
  for (const x of t.tasks) state.tasks.set(x.id, x);
  for (const e of a.entries) if (e.action === "ack" && e.outcome === "ok") state.acks.set(e.target, e.operator || e.by);
  state.seq = s.seq;
  connect();
  render();
}

function connect() {
  if (state.source) state.source.close();
  const src = new EventSource("/api/stream?token=" + encodeURIComponent(state.token) + "&since=" + state.seq);
  const onEvent = (ev) => { const m = JSON.parse(ev.data); applyMessage(m.topic, m.body); render(); };
  src.addEventListener("warning", onEvent);
  src.addEventListener("task", onEvent);
  src.onopen = render; src.onerror = render;
  state.source = src;
}

document.addEventListener("click", async (ev) => {
  const b = ev.target.closest("button.act");
  if (b && b.classList.contains("ack")) {
    b.disabled = true;
    try { await api("/api/warnings/" + encodeURIComponent(b.dataset.warning) + "/ack", { method: "POST", body: "{}" });
          state.acks.set(b.dataset.warning, state.me.name); say("Acknowledged " + b.dataset.warning); }
    catch (e) { say("Acknowledgement refused: " + e.message); b.disabled = false; }
    render(); return;
  }
  if (b && b.classList.contains("step")) {
    b.disabled = true;
    try { await api("/api/tasks/" + encodeURIComponent(b.dataset.task) + "/step", { method: "POST", body: JSON.stringify({ state: b.dataset.state }) });
          say("Step " + b.dataset.task + ": " + b.dataset.state); }
    catch (e) { say("Step refused: " + e.message); b.disabled = false; }
    return;
  }
  const row = ev.target.closest("[data-incident]");
  if (row) showIncident(row.dataset.incident);
});
$("statusSelect").addEventListener("change", (e) => { state.status = e.target.value; sessionStorage.setItem("tocsin.status", state.status); render(); });
$("loginForm").addEventListener("submit", (e) => { e.preventDefault(); sessionStorage.setItem("tocsin.token", $("tokenInput").value); start(); });

async function start() {
  state.token = readToken();
  const q = new URLSearchParams(location.search).get("status") || sessionStorage.getItem("tocsin.status");
  if (q) { state.status = q; $("statusSelect").value = q; }
  if (!state.token) { document.body.classList.add("nologin"); return; }
  try {
    state.me = await api("/api/me");
    document.body.classList.remove("nologin");
    $("who").textContent = state.me.name + " · " + state.me.area;
    await load();
  } catch (e) {
    document.body.classList.add("nologin");
    $("loginError").textContent = e.status === 401 ? "Unknown token." : e.message;
  }
}
setInterval(render, 5000);
start();
</script>
</body>
</html>
"""#
}
