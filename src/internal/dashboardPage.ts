/**
 * The dashboard page: one self-contained HTML document (inline CSS and script, no external resource, no build step),
 * so it works offline and under a strict Content-Security-Policy. Circuit ids and domains are only ever written with
 * `textContent`, never parsed as HTML.
 */

const STYLE = `
:root { --closed: #2e7d32; --open: #c62828; --half: #ef8f00; --muted: #667; --bg: #f6f7f9; --card: #fff; }
* { box-sizing: border-box; }
body { margin: 0; font: 13px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: var(--bg); color: #1b1d22; }
header.top { display: flex; flex-wrap: wrap; gap: 12px; align-items: center; padding: 10px 16px; background: #1b1d22; color: #fff; }
header.top h1 { font-size: 15px; margin: 0 12px 0 0; font-weight: 600; }
#status { padding: 2px 8px; border-radius: 10px; background: #555; font-size: 12px; }
#status[data-status="live"] { background: var(--closed); }
#status[data-status="reconnecting"] { background: var(--open); }
header.top label { display: inline-flex; gap: 4px; align-items: center; }
header.top select { font: inherit; }
main { display: grid; grid-template-columns: 1fr 320px; gap: 16px; padding: 16px; }
@media (max-width: 900px) { main { grid-template-columns: 1fr; } }
section.domain { margin-bottom: 18px; }
section.domain h2 { font-size: 14px; margin: 0 0 8px; display: flex; gap: 10px; align-items: baseline; }
section.domain h2 .counts { color: var(--muted); font-weight: 400; font-size: 12px; }
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(210px, 1fr)); gap: 8px; }
.tile { background: var(--card); border-radius: 6px; border-left: 6px solid var(--closed); padding: 8px 10px; box-shadow: 0 1px 2px rgba(0,0,0,.12); }
.tile[data-state="Open"] { border-left-color: var(--open); background: #fff5f5; }
.tile[data-state="HalfOpen"] { border-left-color: var(--half); background: #fffaf0; }
.tile .head { display: flex; justify-content: space-between; gap: 6px; align-items: center; }
.tile .id { font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.badge { font-size: 11px; padding: 1px 6px; border-radius: 8px; color: #fff; background: var(--closed); white-space: nowrap; }
.tile[data-state="Open"] .badge { background: var(--open); }
.tile[data-state="HalfOpen"] .badge { background: var(--half); }
.tile .retry { color: var(--open); font-variant-numeric: tabular-nums; min-height: 1.4em; }
.tile .rates, .tile .extra { color: var(--muted); font-size: 12px; font-variant-numeric: tabular-nums; }
.tile svg { display: block; width: 100%; height: 34px; margin-top: 4px; background: #fafbfc; border-radius: 3px; }
.tile svg .calls { stroke: #1565c0; fill: none; stroke-width: 1.2; }
.tile svg .failures { stroke: var(--open); fill: none; stroke-width: 1.2; }
.tile svg .rejected { stroke: #999; fill: none; stroke-width: 1; stroke-dasharray: 2 2; }
.tile .controls { display: flex; gap: 4px; margin-top: 6px; flex-wrap: wrap; }
.tile .controls button, .tile .controls select { font: inherit; font-size: 11px; padding: 1px 6px; }
section.domain h2 .hidden-note { color: var(--muted); font-weight: 400; font-size: 12px; font-style: italic; }
aside h2 { font-size: 14px; margin: 0 0 8px; }
#transitions { list-style: none; margin: 0; padding: 0; }
#transitions li { background: var(--card); margin-bottom: 4px; padding: 5px 8px; border-radius: 4px; font-size: 12px; }
#transitions .when { color: var(--muted); font-variant-numeric: tabular-nums; margin-right: 6px; }
#transitions .to-Open { color: var(--open); font-weight: 600; }
#transitions .to-HalfOpen { color: var(--half); font-weight: 600; }
#transitions .to-Closed { color: var(--closed); font-weight: 600; }
#message { min-height: 1em; color: #ffb4b4; }
.legend { color: var(--muted); font-size: 11px; margin-top: 12px; }
.legend span { margin-right: 8px; }
`

const SCRIPT = `
"use strict";
var base = document.body.getAttribute("data-base");
var STATES = ["Open", "HalfOpen", "Closed"];
var model = { seq: 0, sampleMillis: 1000, historySamples: 60, controls: false, domains: [], tiles: new Map(), transitions: [] };
var source = null;
var lastMessage = 0;
var $ = function (id) { return document.getElementById(id); };
var key = function (domain, id) { return domain + "\\u0000" + id; };

function el(tag, cls, text) {
  var node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}
function svg(tag, cls) {
  var node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  if (cls) node.setAttribute("class", cls);
  return node;
}
function pct(x) { return x === null || x === undefined ? "-" : (Math.round(x * 1000) / 10) + "%"; }
function rate(r) { return String(r >= 10 ? Math.round(r) : Math.round(r * 10) / 10); }
function clock(at) { var d = new Date(at); return d.toISOString().slice(11, 19); }

function setStatus(status, text) { var s = $("status"); s.setAttribute("data-status", status); s.textContent = text; }

function connect() {
  if (source !== null) source.close();
  setStatus("connecting", "connecting");
  source = new EventSource(base + "/events");
  source.addEventListener("snapshot", function (e) { lastMessage = Date.now(); onSnapshot(JSON.parse(e.data)); });
  source.addEventListener("tick", function (e) { lastMessage = Date.now(); onTick(JSON.parse(e.data)); });
  source.onopen = function () { lastMessage = Date.now(); };
  source.onerror = function () {
    setStatus("reconnecting", "reconnecting");
    // EventSource retries by itself; when it gives up (CLOSED), start again.
    if (source.readyState === EventSource.CLOSED) setTimeout(connect, 1000);
  };
}

// A server that restarted behind a proxy may leave a stream open and silent: reconnect when ticks stop coming.
setInterval(function () {
  if (lastMessage !== 0 && Date.now() - lastMessage > 3 * model.sampleMillis + 5000) { lastMessage = 0; connect(); }
}, 1000);

function onSnapshot(s) {
  model.seq = s.seq; model.sampleMillis = s.sampleMillis; model.historySamples = s.historySamples; model.controls = s.controls;
  model.tiles.forEach(function (t) { t.node.remove(); });
  model.tiles.clear();
  model.domains = s.domains;
  s.circuits.forEach(function (c) { upsert(c, c.samples.slice()); });
  model.transitions = s.transitions.slice().reverse();
  setStatus("live", "live");
  render();
}

function onTick(t) {
  if (t.seq !== model.seq + 1) { connect(); return; } // a lost tick: start over from a fresh snapshot
  model.seq = t.seq;
  t.removed.forEach(function (r) {
    var k = key(r[0], r[1]); var tile = model.tiles.get(k);
    if (tile) { tile.node.remove(); model.tiles.delete(k); }
  });
  t.circuits.forEach(function (c) { upsert(c, null); });
  var active = new Map();
  t.samples.forEach(function (s) { active.set(key(s[0], s[1]), s.slice(2)); });
  model.tiles.forEach(function (tile, k) {
    tile.samples.push(active.get(k) || [0, 0, 0, 0]);
    if (tile.samples.length > model.historySamples) tile.samples.shift();
  });
  model.domains = t.domains;
  for (var i = 0; i < t.transitions.length; i++) model.transitions.unshift(t.transitions[i]);
  model.transitions.length = Math.min(model.transitions.length, 20);
  setStatus("live", "live");
  render();
}

function upsert(view, samples) {
  var k = key(view.domain, view.id);
  var tile = model.tiles.get(k);
  if (!tile) {
    tile = { view: view, samples: samples || [], node: makeTile(view), deadline: null };
    model.tiles.set(k, tile);
  }
  tile.view = view;
  tile.deadline = view.state === "Open" && view.retryAfterMillis !== null && view.retryAfterMillis >= 0
    ? performance.now() + view.retryAfterMillis : null;
}

function makeTile(view) {
  var node = el("article", "tile");
  node.setAttribute("data-domain", view.domain);
  node.setAttribute("data-id", view.id);
  var head = el("div", "head");
  var id = el("span", "id", view.id); id.title = view.id;
  head.append(id, el("span", "badge"));
  var chart = svg("svg"); chart.setAttribute("viewBox", "0 0 120 34"); chart.setAttribute("preserveAspectRatio", "none");
  chart.append(svg("polyline", "rejected"), svg("polyline", "calls"), svg("polyline", "failures"));
  node.append(head, el("div", "retry"), el("div", "rates"), el("div", "extra"), chart);
  if (model.controls) node.append(makeControls(view));
  return node;
}

function makeControls(view) {
  var box = el("div", "controls");
  ["open", "close", "reset"].forEach(function (action) {
    var b = el("button", "", action); b.type = "button"; b.setAttribute("data-action", action);
    b.onclick = function () { send({ domain: view.domain, id: view.id, action: action }); };
    box.append(b);
  });
  var mode = el("select"); mode.setAttribute("data-action", "setMode");
  ["normal", "metricsOnly", "disabled"].forEach(function (m) { var o = el("option", "", m); o.value = m; mode.append(o); });
  mode.onchange = function () { send({ domain: view.domain, id: view.id, action: "setMode", mode: mode.value }); };
  box.append(mode);
  return box;
}

function send(command) {
  fetch(base + "/control", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(command) })
    .then(function (r) { return r.json().then(function (body) { $("message").textContent = r.ok ? "" : body.error; }); })
    .catch(function () { $("message").textContent = "control request failed"; });
}

function points(samples, pick, max) {
  var n = model.historySamples, step = 120 / Math.max(1, n - 1), offset = n - samples.length, out = [];
  for (var i = 0; i < samples.length; i++) out.push(((offset + i) * step).toFixed(1) + "," + (33 - pick(samples[i]) / max * 31).toFixed(1));
  return out.join(" ");
}

function drawTile(tile) {
  var v = tile.view, node = tile.node;
  node.setAttribute("data-state", v.state);
  node.setAttribute("data-mode", v.mode);
  node.querySelector(".badge").textContent = v.state + (v.mode !== "normal" ? " · " + v.mode : "") + (v.forced ? " · forced" : "");
  // Rates over the last second of samples, so a fine sampling interval does not make them flicker.
  var span = Math.min(tile.samples.length, Math.max(1, Math.round(1000 / model.sampleMillis))), sum = [0, 0, 0, 0];
  for (var i = tile.samples.length - span; i < tile.samples.length; i++) for (var j = 0; j < 4; j++) sum[j] += tile.samples[i][j];
  var seconds = Math.max(1, span) * model.sampleMillis / 1000;
  node.querySelector(".rates").textContent = rate(sum[0] / seconds) + " calls/s · " + pct(sum[0] ? sum[1] / sum[0] : null) + " failed · "
    + pct(sum[0] ? sum[2] / sum[0] : null) + " slow · " + rate(sum[3] / seconds) + " rejected/s";
  var extra = [];
  if (v.failureRate !== null) extra.push("window " + pct(v.failureRate) + " failed");
  if (v.slowCallRate !== null) extra.push(pct(v.slowCallRate) + " slow");
  if (v.consecutiveFailures > 0) extra.push(v.consecutiveFailures + " failures in a row");
  node.querySelector(".extra").textContent = extra.join(" · ");
  var max = 1;
  tile.samples.forEach(function (s) { max = Math.max(max, s[0], s[3]); });
  var lines = node.querySelectorAll("polyline");
  lines[0].setAttribute("points", points(tile.samples, function (s) { return s[3]; }, max));
  lines[1].setAttribute("points", points(tile.samples, function (s) { return s[0]; }, max));
  lines[2].setAttribute("points", points(tile.samples, function (s) { return s[1]; }, max));
  var select = node.querySelector("select");
  if (select && document.activeElement !== select) select.value = v.mode;
  countdown(tile);
}

function countdown(tile) {
  var retry = tile.node.querySelector(".retry"), v = tile.view;
  if (v.state === "HalfOpen") retry.textContent = "trial calls admitted";
  else if (v.state !== "Open") retry.textContent = "";
  else if (tile.deadline === null) retry.textContent = "held open until closed";
  else {
    var left = Math.max(0, tile.deadline - performance.now());
    retry.textContent = left > 0 ? "retry in " + (left / 1000).toFixed(1) + " s" : "trial due";
  }
}
setInterval(function () { model.tiles.forEach(function (t) { if (t.view.state === "Open") countdown(t); }); }, 100);

function rank(state) { return STATES.indexOf(state); }

function render() {
  var wantDomain = $("domain-filter").value;
  var wantStates = {};
  document.querySelectorAll("input[data-state-filter]").forEach(function (c) { wantStates[c.getAttribute("data-state-filter")] = c.checked; });
  var select = $("domain-filter"), known = {};
  for (var i = 0; i < select.options.length; i++) known[select.options[i].value] = true;
  var container = $("domains");
  model.domains.forEach(function (d) {
    if (!known[d.domain]) { var o = el("option", "", d.domain); o.value = d.domain; select.append(o); }
    var section = container.querySelector('section[data-domain="' + CSS.escape(d.domain) + '"]');
    if (!section) {
      section = el("section", "domain"); section.setAttribute("data-domain", d.domain);
      var h = el("h2"); h.append(el("span", "name", d.domain), el("span", "counts"), el("span", "hidden-note"));
      section.append(h, el("div", "tiles"));
      container.append(section);
    }
    section.hidden = wantDomain !== "" && wantDomain !== d.domain;
    section.querySelector(".counts").textContent = d.total + " circuits: " + d.states.Open + " Open, " + d.states.HalfOpen
      + " HalfOpen, " + d.states.Closed + " Closed";
    section.querySelector(".hidden-note").textContent = d.hidden > 0 ? d.hidden + " not shown" : "";
    var tiles = [];
    model.tiles.forEach(function (t) { if (t.view.domain === d.domain) tiles.push(t); });
    tiles.sort(function (a, b) { return rank(a.view.state) - rank(b.view.state) || (a.view.id < b.view.id ? -1 : a.view.id > b.view.id ? 1 : 0); });
    var box = section.querySelector(".tiles");
    tiles.forEach(function (t, index) {
      drawTile(t);
      t.node.hidden = !wantStates[t.view.state];
      if (box.children[index] !== t.node) box.insertBefore(t.node, box.children[index] || null);
    });
  });
  var list = $("transitions");
  list.replaceChildren();
  model.transitions.forEach(function (t) {
    var li = el("li");
    li.append(el("span", "when", clock(t.at)), el("span", "", t.domain + " / " + t.id + " "), el("span", "to-" + t.from, t.from),
      el("span", "", " → "), el("span", "to-" + t.to, t.to), el("span", "", " (" + t.reason + ")"));
    list.append(li);
  });
}

$("domain-filter").onchange = render;
document.querySelectorAll("input[data-state-filter]").forEach(function (c) { c.onchange = render; });
connect();
`

/** The page for a dashboard mounted at `path` (validated: letters, digits and `._~-` only). @internal */
export const page = (path: string): string => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Circuits</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body data-base="${path}">
<header class="top">
  <h1>Circuit breakers</h1>
  <span id="status" data-status="connecting">connecting</span>
  <label>domain <select id="domain-filter"><option value="">all</option></select></label>
  <label><input type="checkbox" data-state-filter="Open" checked> Open</label>
  <label><input type="checkbox" data-state-filter="HalfOpen" checked> HalfOpen</label>
  <label><input type="checkbox" data-state-filter="Closed" checked> Closed</label>
  <span id="message"></span>
</header>
<main>
  <div>
    <div id="domains"></div>
    <p class="legend"><span style="color:#1565c0">― calls</span><span style="color:#c62828">― failures</span><span style="color:#999">┄ rejected</span>per sampling interval</p>
  </div>
  <aside><h2>Latest transitions</h2><ol id="transitions"></ol></aside>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`
