// The mission viewer: a live run over Server-Sent Events (/api/stream), or a finished run's log
// replayed (/api/runs/<id>). Hand-written, no dependencies: the page must work with no network
// beyond the executive it was served by.
"use strict";

// As py_trees.display draws them, and HALTED (stopped while running), SKIPPED (passed over).
const SYMBOLS = { SUCCESS: "\u2713", FAILURE: "\u2715", RUNNING: "*", INVALID: "-", HALTED: "\u2298", SKIPPED: "\u00bb" };
const TIMELINE_LIMIT = 500;     // lines drawn; the log keeps them all
const DETAIL_LIMIT = 160;       // characters of an event's details in the timeline (the rest in its title)
const $ = (id) => document.getElementById(id);

const view = {
  mode: "live",         // "live" or "replay"
  config: { live: true, control: false, missions: [] },
  live: null,           // newest live snapshot
  liveEvents: [],       // the live run's log events
  liveRun: "",
  shape: "",            // key of the tree drawn (rebuilt when the run changes)
  rows: [],             // <li> per node, in pre-order
  replay: null,         // {runId, events, nodes, index, timer, clock}
  open: new Set(),      // paths whose whole feedback message is unfolded in "Running"
  token: "",            // the control token (from the page's #token=), sent with cancel and start
};

// -- drawing ------------------------------------------------------------------------------
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v; else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child);
  return node;
}

function depthOf(nodes, i) {
  let depth = 0;
  for (let p = nodes[i].parent; p >= 0; p = nodes[p].parent) depth++;
  return depth;
}

function drawTree(key, nodes, rootCause) {
  if (key !== view.shape) {     // a new tree: build its rows once, then only update them
    view.shape = key;
    const tree = $("tree");
    tree.replaceChildren();
    view.rows = nodes.map((n, i) => {
      const row = el("li", { class: "node", "data-path": n.path, "data-kind": n.kind },
                     el("span", { class: "sym" }), el("span", { class: "name" }, n.name),
                     el("span", { class: "kind" }, n.kind), el("span", { class: "fb" }));
      row.style.setProperty("--depth", depthOf(nodes, i));
      tree.append(row);
      return row;
    });
    if (!nodes.length) tree.append(el("li", { class: "empty" }, "no mission yet"));
  }
  nodes.forEach((n, i) => {
    const row = view.rows[i];
    if (!row) return;
    if (row.dataset.status !== n.status) {
      row.dataset.status = n.status;
      row.querySelector(".sym").textContent = SYMBOLS[n.status] || "?";
      row.title = `${n.path}: ${n.status}`;
    }
    const says = n.status === "RUNNING" || n.status === "FAILURE";   // nothing is left of a finished one
    row.querySelector(".fb").textContent = says ? (n.feedback || "") : "";
    row.classList.toggle("active", !!n.active);
    row.classList.toggle("root-cause", !!rootCause && n.path === rootCause);
  });
}

function drawHeader(s) {
  $("mission").textContent = s.mission || (view.mode === "live" && !view.config.live ? "run logs" : "mission viewer");
  const state = $("state");
  state.textContent = state.dataset.state = s.state || "idle";
  const outcome = $("outcome");
  if (s.result) {
    outcome.hidden = false;
    outcome.dataset.outcome = s.result.outcome;
    outcome.textContent = s.result.outcome.toUpperCase() + (s.result.outcome !== "succeeded" && s.result.message
      ? `: ${s.result.message}` : "");
  } else {
    outcome.hidden = true;
    delete outcome.dataset.outcome;
    outcome.textContent = "";
  }
  const percent = Math.round(100 * (s.progress || 0));
  $("progress-fill").style.width = `${percent}%`;
  $("progress").setAttribute("aria-valuenow", percent);
  $("elapsed").textContent = s.elapsed !== undefined ? `${s.elapsed.toFixed(1)} s` : "";
  $("active-path").textContent = s.active_path || "";
  const failure = $("failure");
  const cause = rootCauseOf(s);
  failure.hidden = !cause;
  failure.textContent = cause ? `root cause: ${cause}` + (s.result && s.result.message ? ` \u2014 ${s.result.message}` : "") : "";
}

function rootCauseOf(s) {
  return s.root_cause || (s.result && s.result.outcome !== "succeeded" && s.result.failed_behavior) || "";
}

function pretty(data) {
  try { return JSON.stringify(JSON.parse(data), null, 1); } catch (e) { return data; }
}

function drawRunning(nodes, latestFeedback) {
  // Each running leaf: its path, its one-line summary, and its whole latest feedback message one
  // click away (kept unfolded across updates once opened).
  const list = $("running");
  list.replaceChildren();
  for (const n of nodes.filter((n) => n.leaf && n.status === "RUNNING")) {
    const data = n.data || latestFeedback[n.path] || "";
    const item = el("li", { "data-path": n.path }, el("strong", {}, n.path), el("div", { class: "summary" }, n.feedback || ""));
    if (data) {
      const details = el("details", {}, el("summary", {}, "whole feedback message"), el("pre", {}, pretty(data)));
      details.open = view.open.has(n.path);
      details.addEventListener("toggle", () => { if (details.open) view.open.add(n.path); else view.open.delete(n.path); });
      item.append(details);
    }
    list.append(item);
  }
  if (!list.children.length) list.append(el("li", { class: "empty" }, "no leaf is running"));
}

function drawBlackboard(entries) {
  const body = $("blackboard").tBodies[0];
  body.replaceChildren();
  if (entries === null) {
    body.append(el("tr", {}, el("td", { class: "empty", colspan: "2" }, "not in the run log")));
    return;
  }
  const keys = Object.keys(entries || {});
  for (const key of keys) body.append(el("tr", {}, el("td", {}, key), el("td", {}, entries[key])));
  if (!keys.length) body.append(el("tr", {}, el("td", { class: "empty", colspan: "2" }, "empty")));
}

function describe(e) {
  switch (e.event) {
    case "status": return `${e.previous} \u2192 ${e.status}` + (e.feedback ? ` (${e.feedback})` : "");
    case "run_started": return `mission ${e.mission}`;
    case "run_finished": return `${e.outcome}` + (e.message ? `: ${e.message}` : "");
    case "halting": return e.reason || "";
    case "result": return `${e.status || ""}` + (e.error_code ? ` error ${e.error_code}` : "") + (e.message ? ` ${e.message}` : "");
    case "feedback": return e.summary || JSON.stringify(e.feedback || {});
    case "blackboard": return `${e.key} = ${"value" in e ? JSON.stringify(e.value) : "(removed)"}`;
    case "log": return `${e.level}: ${e.message}`;
    default: {
      const skip = new Set(["t", "wall", "event", "path", "kind", "leaf", "goal_id", "tree", "parameters"]);
      return Object.entries(e).filter(([k, v]) => !skip.has(k) && v !== null && v !== "")
        .map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`).join(" ");
    }
  }
}

function drawTimeline(events) {
  const list = $("timeline");
  const atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
  list.replaceChildren();
  for (const e of events.slice(-TIMELINE_LIMIT)) {
    const detail = describe(e);
    const line = el("li", { "data-event": e.event },
                    el("span", { class: "t" }, `+${Number(e.t || 0).toFixed(2)}`),
                    el("span", { class: `ev ${e.status || ""}` }, e.event),
                    e.path ? el("span", { class: "path" }, `${e.path} `) : "",
                    detail.length > DETAIL_LIMIT ? detail.slice(0, DETAIL_LIMIT - 1) + "\u2026" : detail);
    if (detail.length > DETAIL_LIMIT) line.title = detail;
    list.append(line);
  }
  if (atBottom) list.scrollTop = list.scrollHeight;
}

function latestFeedbackOf(events) {
  const latest = {};
  for (const e of events) if (e.event === "feedback" && e.path) latest[e.path] = JSON.stringify(e.feedback || {});
  return latest;
}

function message(text, error, details) {
  // One line, and every line of ``details`` (a mission's validation errors) whole below it.
  const box = $("message");
  box.replaceChildren(text || "");
  if (details && details.length) box.append(el("ul", { class: "errors" }, ...details.map((d) => el("li", {}, d))));
  box.classList.toggle("error", !!error);
}

// -- live ---------------------------------------------------------------------------------
function drawLive() {
  const s = view.live;
  if (view.mode !== "live" || !s) return;
  drawHeader(s);
  drawTree(`live:${s.run_id}:${s.nodes.length}`, s.nodes, rootCauseOf(s));
  drawRunning(s.nodes, latestFeedbackOf(view.liveEvents));
  drawBlackboard(s.blackboard);
  drawTimeline(view.liveEvents);
  const control = view.config.control && view.config.live;
  $("control").hidden = !control;
  const busy = s.state === "running" || s.state === "paused";
  $("cancel").disabled = !busy;
  $("start").disabled = busy || s.state === "halting" || !view.config.missions.length;
}

function connect() {
  const stream = new EventSource("api/stream");
  stream.addEventListener("state", (msg) => {
    const s = JSON.parse(msg.data);
    const finished = s.result && !(view.live && view.live.result && view.live.run_id === s.run_id);
    if (s.run_id !== view.liveRun) { view.liveRun = s.run_id; view.liveEvents = []; }
    view.live = s;
    drawLive();
    if (finished) loadRuns();     // a finished run can now be replayed
  });
  stream.addEventListener("log", (msg) => {
    const batch = JSON.parse(msg.data);
    if (batch.run_id !== view.liveRun) { view.liveRun = batch.run_id; view.liveEvents = []; }
    view.liveEvents.push(...batch.events);
    if (view.mode === "live") drawTimeline(view.liveEvents);
  });
  stream.onerror = () => {      // the executive went away; the last state stays on the page
    if (view.mode === "live") { $("state").textContent = $("state").dataset.state = "disconnected"; }
  };
  // Every (re)connection starts with the whole log of the current run: forget what came before.
  stream.onopen = () => { view.liveRun = null; view.liveEvents = []; };
}

async function post(path, body) {
  const headers = { "Content-Type": "application/json" };
  if (view.token) headers.Authorization = `Bearer ${view.token}`;
  const response = await fetch(path, { method: "POST", headers, body: JSON.stringify(body || {}) });
  const answer = await response.json().catch(() => ({ message: response.statusText }));
  message(answer.message || response.statusText, !response.ok, answer.errors);
  return answer;
}

// -- replay -------------------------------------------------------------------------------
function treeOf(events) {
  // The log's run_started names the tree; an older log only has the paths its events name.
  const start = events.find((e) => e.event === "run_started") || {};
  if (Array.isArray(start.tree)) return start.tree.map((n) => ({ ...n, status: "INVALID", feedback: "" }));
  const nodes = [], index = {};
  const add = (path) => {
    if (path in index) return index[path];
    const cut = path.lastIndexOf("/");
    const parent = cut > 0 ? add(path.slice(0, cut)) : -1;
    nodes.push({ path, name: path.slice(cut + 1), kind: "", leaf: true, parent, status: "INVALID", feedback: "" });
    if (parent >= 0) nodes[parent].leaf = false;
    return (index[path] = nodes.length - 1);
  };
  for (const e of events) if (e.event === "status" && e.path) add(e.path);
  return nodes;
}

function replayStateAt(r, last) {
  const nodes = r.nodes.map((n) => ({ ...n }));
  const byPath = {};
  nodes.forEach((n, i) => (byPath[n.path] = byPath[n.path] || []).push(i));
  const s = { mission: "", state: "running", result: null, elapsed: 0, progress: 0, nodes, blackboard: null };
  const leaves = nodes.filter((n) => n.leaf).length || 1, completed = new Set();
  for (const e of r.events.slice(0, last + 1)) {
    s.elapsed = Number(e.t || 0);
    if (e.event === "run_started") {
      s.mission = e.mission;
      if (e.blackboard) s.blackboard = Object.fromEntries(Object.entries(e.blackboard).map(([k, v]) => [k, JSON.stringify(v)]));
    } else if (e.event === "blackboard") {
      s.blackboard = s.blackboard || {};
      if ("value" in e) s.blackboard[e.key] = JSON.stringify(e.value); else delete s.blackboard[e.key];
    }
    else if (e.event === "status") {
      for (const i of byPath[e.path] || []) { nodes[i].status = e.status; nodes[i].feedback = e.feedback || ""; }
      if (e.leaf && (e.status === "SUCCESS" || e.status === "FAILURE")) completed.add(e.path);
    } else if (e.event === "paused") s.state = "paused";
    else if (e.event === "resumed") s.state = "running";
    else if (e.event === "halting") s.state = "halting";
    else if (e.event === "run_finished") {
      s.state = "done";
      s.result = { outcome: e.outcome, message: e.message, failed_behavior: e.failed_behavior };
      s.root_cause = e.outcome !== "succeeded" ? (e.failed_behavior || "") : "";
    }
  }
  s.progress = s.result && s.result.outcome === "succeeded" ? 1 : Math.min(0.99, completed.size / leaves);
  // The active path: running behaviours whose parent runs too, from the root down.
  nodes.forEach((n) => (n.active = n.status === "RUNNING" && (n.parent < 0 || nodes[n.parent].active)));
  s.active_path = nodes.filter((n) => n.active).map((n) => n.path).pop() || "";
  return s;
}

function drawReplay() {
  const r = view.replay;
  if (!r) return;
  const s = replayStateAt(r, r.index);
  drawHeader(s);
  drawTree(`replay:${r.runId}`, s.nodes, rootCauseOf(s));
  const shown = r.events.slice(0, r.index + 1);
  drawRunning(s.nodes, latestFeedbackOf(shown));
  // A log from before blackboard events were logged cannot say; one with them shows the blackboard then.
  drawBlackboard(r.hasBlackboard ? (s.blackboard || {}) : null);
  drawTimeline(shown);
  $("scrubber").max = Math.max(0, r.events.length - 1);
  $("scrubber").value = r.index;
  const end = r.events.length ? r.events[r.events.length - 1].t : 0;
  $("replay-time").textContent = `${s.elapsed.toFixed(2)} / ${Number(end).toFixed(2)} s`;
  $("play").textContent = r.timer ? "Pause" : "Play";
}

function stopPlaying() {
  const r = view.replay;
  if (r && r.timer) { clearInterval(r.timer); r.timer = null; }
}

function seek(index) {
  const r = view.replay;
  r.index = Math.max(0, Math.min(r.events.length - 1, index));
  r.clock = r.events.length ? Number(r.events[r.index].t) : 0;
  drawReplay();
}

function play() {
  const r = view.replay;
  if (r.timer) { stopPlaying(); drawReplay(); return; }
  if (r.index >= r.events.length - 1) seek(0);
  let before = performance.now();
  r.timer = setInterval(() => {     // the log's own pace, times the chosen speed
    const now = performance.now();
    r.clock += (now - before) / 1000 * Number($("speed").value);
    before = now;
    while (r.index < r.events.length - 1 && Number(r.events[r.index + 1].t) <= r.clock) r.index++;
    if (r.index >= r.events.length - 1) stopPlaying();
    drawReplay();
  }, 50);
  drawReplay();
}

async function openReplay(runId) {
  stopPlaying();
  message(`loading ${runId} ...`);
  const response = await fetch(`api/runs/${encodeURIComponent(runId)}`);
  const answer = await response.json();
  if (!response.ok) { message(answer.message || response.statusText, true); return; }
  view.mode = "replay";
  document.body.dataset.mode = "replay";
  const hasBlackboard = answer.events.some((e) => e.event === "blackboard" || (e.event === "run_started" && e.blackboard));
  view.replay = { runId, events: answer.events, nodes: treeOf(answer.events), index: 0, timer: null, clock: 0, hasBlackboard };
  $("replay").hidden = false;
  $("control").hidden = true;
  ensureOption(runId, runId);
  $("source").value = runId;
  message("");
  seek(answer.events.length - 1);    // open at the end: the final tree and outcome
}

function showLive() {
  stopPlaying();
  view.mode = "live";
  document.body.dataset.mode = "live";
  view.replay = null;
  $("replay").hidden = true;
  $("source").value = "live";
  view.shape = "";
  if (view.live) drawLive();
}

// -- the run list and navigation ----------------------------------------------------------
function ensureOption(value, label) {
  const source = $("source");
  if (![...source.options].some((o) => o.value === value)) source.append(el("option", { value }, label));
}

async function loadRuns() {
  const response = await fetch("api/runs");
  if (!response.ok) return;
  const runs = await response.json();
  const source = $("source"), selected = source.value;
  source.replaceChildren();
  if (view.config.live) source.append(el("option", { value: "live" }, "live"));
  else source.append(el("option", { value: "" }, runs.length ? "choose a run ..." : "no runs in the log directory"));
  for (const r of runs) {
    const when = new Date(r.wall * 1000).toLocaleString();
    source.append(el("option", { value: r.run_id }, `${r.mission} ${when} ${r.outcome || "(unfinished)"}`));
  }
  if (selected) ensureOption(selected, selected);
  source.value = selected;
}

function takeToken() {
  // The control token arrives in the fragment (#token=...), which browsers never send anywhere;
  // keep it for this tab and take it out of the address bar.
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (match) {
    sessionStorage.setItem("viewer-token", decodeURIComponent(match[1]));
    const rest = location.hash.replace(/(^#|&)token=[^&]+/, "$1").replace(/^#&/, "#");
    history.replaceState(null, "", location.pathname + location.search + (rest === "#" ? "" : rest));
  }
  view.token = sessionStorage.getItem("viewer-token") || "";
}

function route() {
  const match = /run=([^&]+)/.exec(location.hash);
  if (match) openReplay(decodeURIComponent(match[1]));
  else if (view.config.live) showLive();
}

async function main() {
  takeToken();
  view.config = await (await fetch("api/config")).json();
  if (!view.config.live) {
    $("state").textContent = $("state").dataset.state = "logs";
    $("mission").textContent = "run logs";
  }
  if (view.config.token_required && !view.token) {
    message("Cancel and Start need the token the viewer printed when it started: open its address with #token=...");
  }
  const startMission = $("start-mission");
  for (const name of view.config.missions) startMission.append(el("option", { value: name }, name));
  $("source").addEventListener("change", (e) => {
    location.hash = e.target.value && e.target.value !== "live" ? `run=${encodeURIComponent(e.target.value)}` : "";
  });
  window.addEventListener("hashchange", route);
  $("play").addEventListener("click", play);
  $("step").addEventListener("click", () => { stopPlaying(); seek(view.replay.index + 1); });
  $("step-back").addEventListener("click", () => { stopPlaying(); seek(view.replay.index - 1); });
  $("to-end").addEventListener("click", () => { stopPlaying(); seek(view.replay.events.length - 1); });
  $("scrubber").addEventListener("input", (e) => { stopPlaying(); seek(Number(e.target.value)); });
  $("cancel").addEventListener("click", () => post("api/cancel"));
  $("start").addEventListener("click", () => post("api/start", {
    mission: startMission.value, parameters: $("start-params").value }));
  await loadRuns();
  if (view.config.live) connect();
  route();
}

main().catch((err) => message(`viewer: ${err}`, true));
