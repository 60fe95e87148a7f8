// The classroom page: lesson picker, editor with located errors, runs in a Web Worker,
// results, comparison, one-parameter sweep, the scenario in the URL fragment.
"use strict";

const $ = (id) => document.getElementById(id);
const scenarios = self.AWSIM_SCENARIOS || [];
const state = {
  entry: null,        // the lesson picked
  previous: null,     // the run before the last: { summary_json, label }
  last: null,         // the last run
  diagnostics: [],    // located errors of the text in the editor
  sweep: null,        // { values, summaries, line }
  tableText: null,    // the last run's summary table
};

// ---- the worker --------------------------------------------------------------------------

let worker = null;
let nextId = 1;
const pending = new Map();

function startWorker() {
  worker = new Worker("worker.js");
  worker.onmessage = (event) => {
    const { id, progress, done, answer } = event.data;
    const job = pending.get(id);
    if (!job) return;
    if (done) {
      pending.delete(id);
      job.resolve(answer);
    } else if (progress !== undefined && job.onProgress) {
      job.onProgress(progress);
    }
  };
  worker.onerror = (event) => {
    for (const job of pending.values()) {
      job.resolve({ ok: false, error: { kind: "crash", text: event.message || "the worker failed" } });
    }
    pending.clear();
  };
}

function ask(message, onProgress) {
  const id = nextId++;
  return new Promise((resolve) => {
    pending.set(id, { resolve, onProgress });
    worker.postMessage({ id, ...message });
  });
}

/// Stops whatever runs by ending the worker; a new one takes its place.
function stopWorker() {
  worker.terminate();
  for (const job of pending.values()) job.resolve({ ok: false, stopped: true });
  pending.clear();
  startWorker();
}

// ---- the editor --------------------------------------------------------------------------

const source = $("source");
const highlight = $("highlight");

function escapeHtml(s) {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/// One line of TOML, highlighted: comments, table headers, keys, strings, numbers, booleans.
function highlightLine(line) {
  const out = [];
  let rest = line;
  const header = /^(\s*)(\[\[?[^\]]*\]\]?)/.exec(rest);
  if (header) {
    out.push(escapeHtml(header[1]), `<span class="t-head">${escapeHtml(header[2])}</span>`);
    rest = rest.slice(header[0].length);
  } else {
    const key = /^(\s*)([A-Za-z0-9_.\-"]+)(\s*=)/.exec(rest);
    if (key) {
      out.push(escapeHtml(key[1]), `<span class="t-key">${escapeHtml(key[2])}</span>`, escapeHtml(key[3]));
      rest = rest.slice(key[0].length);
    }
  }
  const token = /("(?:[^"\\]|\\.)*"?|'[^']*'?)|(#.*$)|(\b(?:true|false)\b)|([+-]?\b\d[\d_]*(?:\.\d+)?(?:[eE][+-]?\d+)?\b)|([A-Za-z_][A-Za-z0-9_\-]*(?=\s*=))/g;
  let at = 0;
  for (const m of rest.matchAll(token)) {
    out.push(escapeHtml(rest.slice(at, m.index)));
    const cls = m[1] ? "t-str" : m[2] ? "t-comment" : m[3] ? "t-bool" : m[4] ? "t-num" : "t-key";
    out.push(`<span class="${cls}">${escapeHtml(m[0])}</span>`);
    at = m.index + m[0].length;
  }
  out.push(escapeHtml(rest.slice(at)));
  return out.join("");
}

/// The length of the token at `column` (1-based, in characters) of `line`, to underline.
function tokenLength(line, column) {
  const tail = [...line].slice(column - 1).join("");
  const m = /^("(?:[^"\\]|\\.)*"|[^\s,}\]]+)/.exec(tail);
  return Math.max(1, m ? [...m[0]].length : 1);
}

function renderEditor() {
  const lines = source.value.split("\n");
  const errorsAt = new Map();
  for (const d of state.diagnostics) {
    if (d.line > 0 && !errorsAt.has(d.line)) errorsAt.set(d.line, d);
  }
  const html = lines.map((line, i) => {
    const d = errorsAt.get(i + 1);
    if (!d) return highlightLine(line);
    const chars = [...line];
    const start = Math.min(d.column - 1, chars.length);
    const len = tokenLength(line, d.column);
    const before = chars.slice(0, start).join("");
    const bad = chars.slice(start, start + len).join("") || " ";
    const after = chars.slice(start + len).join("");
    return `${highlightLine(before)}<mark class="err" title="${escapeHtml(d.message)}">${escapeHtml(bad)}</mark>${highlightLine(after)}`;
  });
  highlight.innerHTML = html.join("\n") + "\n";
  highlight.scrollTop = source.scrollTop;
  highlight.scrollLeft = source.scrollLeft;
}

function showErrors(error) {
  const list = $("errors");
  list.innerHTML = "";
  state.diagnostics = (error && error.diagnostics) || [];
  if (error) {
    const items = state.diagnostics.length ? state.diagnostics : [{ line: 0, column: 0, message: error.text }];
    for (const d of items) {
      const li = document.createElement("li");
      const where = d.line > 0 ? `line ${d.line}, column ${d.column}: ` : "";
      const field = d.field ? `${d.field}: ` : "";
      li.textContent = `${where}${field}${d.message}`;
      if (d.line > 0) {
        const go = document.createElement("button");
        go.type = "button";
        go.textContent = "Go to";
        go.className = "small";
        go.addEventListener("click", () => moveTo(d.line, d.column));
        li.append(" ", go);
      }
      list.append(li);
    }
  }
  renderEditor();
}

function moveTo(line, column) {
  const lines = source.value.split("\n");
  let offset = 0;
  for (let i = 0; i < line - 1 && i < lines.length; i++) offset += lines[i].length + 1;
  offset += [...(lines[line - 1] || "")].slice(0, column - 1).join("").length;
  source.focus();
  source.setSelectionRange(offset, offset);
}

let checkTimer = null;
function scheduleCheck() {
  clearTimeout(checkTimer);
  checkTimer = setTimeout(async () => {
    const answer = await ask({ action: "check", scenario: source.value, options: options() });
    if (answer.stopped) return;
    showErrors(answer.ok ? null : answer.error);
  }, 300);
}

source.addEventListener("input", () => {
  renderEditor();
  scheduleCheck();
  updateFragment();
  updateSweepLine();
});
source.addEventListener("scroll", () => {
  highlight.scrollTop = source.scrollTop;
  highlight.scrollLeft = source.scrollLeft;
});
for (const e of ["click", "keyup", "select"]) source.addEventListener(e, updateSweepLine);
source.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
    e.preventDefault();
    runOnce();
  }
});

// ---- lessons and the URL fragment --------------------------------------------------------

function fileName() {
  return state.entry ? state.entry.file : "scenario.toml";
}

/// The files a run is given, by the name a scenario writes: the lesson's own (its traces,
/// embedded in the page) and those the user added.
const addedFiles = {};

function options() {
  const files = { ...(state.entry ? state.entry.files : {}), ...addedFiles };
  return { file: fileName(), seed: $("seed").value, duration: $("duration").value, files };
}

$("add-files").addEventListener("change", async (event) => {
  for (const f of event.target.files) addedFiles[f.name] = await f.text();
  const names = Object.keys(addedFiles);
  $("added-files").textContent = names.length
    ? `Given to every run: ${names.join(", ")} (name them as file = "${names[0]}").`
    : "";
  scheduleCheck();
});

function fillPicker() {
  const select = $("lesson");
  const groups = new Map();
  for (const [i, s] of scenarios.entries()) {
    if (!groups.has(s.group)) {
      const g = document.createElement("optgroup");
      g.label = s.group === "lessons" ? "Lessons" : s.group === "examples" ? "Examples" : s.group;
      groups.set(s.group, g);
      select.append(g);
    }
    const o = document.createElement("option");
    o.value = String(i);
    o.textContent = s.name.replace(/_/g, " ");
    groups.get(s.group).append(o);
  }
  select.addEventListener("change", () => pick(Number(select.value), null));
}

function pick(index, text) {
  state.entry = scenarios[index] || null;
  $("lesson").value = String(index);
  $("lesson-text").textContent = state.entry ? state.entry.lesson : "";
  showLookAt(state.entry ? state.entry.look : "");
  source.value = text !== null ? text : state.entry ? state.entry.text : "";
  state.previous = null;
  state.last = null;
  showErrors(null);
  scheduleCheck();
  updateFragment();
  updateSweepLine();
}

function encode(text) {
  const bytes = new TextEncoder().encode(text);
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function decode(text) {
  const s = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return new TextDecoder().decode(Uint8Array.from(s, (c) => c.charCodeAt(0)));
}

/// `#lesson=NAME` while the lesson is as shipped; `#lesson=NAME&toml=BASE64` once edited.
function updateFragment() {
  const params = new URLSearchParams();
  if (state.entry) params.set("lesson", state.entry.name);
  if (!state.entry || source.value !== state.entry.text) params.set("toml", encode(source.value));
  history.replaceState(null, "", "#" + params.toString());
}

function fromFragment() {
  const params = new URLSearchParams(location.hash.slice(1));
  let index = scenarios.findIndex((s) => s.name === params.get("lesson"));
  if (index < 0) index = Math.max(0, scenarios.findIndex((s) => s.name === "mmc"));
  let text = null;
  if (params.has("toml")) {
    try { text = decode(params.get("toml")); } catch (e) { text = null; }
  }
  pick(index, text);
}

// ---- running -----------------------------------------------------------------------------

function setRunning(running, label) {
  $("run").disabled = running;
  $("sweep-run").disabled = running;
  $("stop").disabled = !running;
  $("status").textContent = label;
}

function showWarnings(warnings) {
  const box = $("warnings");
  box.innerHTML = "";
  const h = document.createElement("h3");
  h.textContent = "Warnings";
  box.append(h);
  if (!warnings.length) {
    const p = document.createElement("p");
    p.textContent = "None: conservation holds, and no request failed or was throttled.";
    box.append(p);
    return;
  }
  const ul = document.createElement("ul");
  ul.className = "findings";
  for (const w of warnings) {
    const li = document.createElement("li");
    li.className = w.severity;
    const strong = document.createElement("strong");
    strong.textContent = w.severity === "warning" ? "Warning" : "Note";
    li.append(strong, w.subject ? ` ${w.subject}: ` : " ", w.text);
    ul.append(li);
  }
  box.append(ul);
}

function svgImage(svg, name) {
  const figure = document.createElement("figure");
  const img = document.createElement("img");
  img.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(svg);
  const title = /<text[^>]*>([^<]*)<\/text>/.exec(svg);
  img.alt = `Plot ${name}` + (title ? `: ${title[1]}` : "");
  const caption = document.createElement("figcaption");
  caption.textContent = name;
  figure.append(img, caption);
  return figure;
}

function download(id, text, type) {
  const a = $(id);
  if (a.href) URL.revokeObjectURL(a.href);
  a.href = URL.createObjectURL(new Blob([text], { type }));
  a.hidden = false;
}

async function runOnce() {
  setRunning(true, "Running…");
  $("progress").value = 0;
  const answer = await ask(
    { action: "run", scenario: source.value, options: { ...options(), timeseries: true } },
    (share) => { $("progress").value = share; },
  );
  if (answer.stopped) {
    setRunning(false, "Stopped.");
    return;
  }
  if (!answer.ok) {
    showErrors(answer.error);
    setRunning(false, "The scenario has errors: see under the editor.");
    return;
  }
  $("progress").value = 1;
  showErrors(null);
  const summary = JSON.parse(answer.summary_json);
  state.previous = state.last;
  state.last = { summary_json: answer.summary_json, label: `run ${nextId}` };
  $("table").textContent = answer.table;
  $("table").dataset.summary = answer.summary_json;
  state.tableText = answer.table;
  showWarnings(answer.warnings);
  download("download-summary", answer.summary_json, "application/json");
  if (answer.timeseries_csv) download("download-series", answer.timeseries_csv, "text/csv");
  const plots = $("plots");
  plots.innerHTML = "";
  for (const p of answer.plots) plots.append(svgImage(p.svg, p.name));
  setRunning(false, `Done: ${summary.scenario}, seed ${summary.seed}, ${summary.duration_s} s simulated, ` +
    `${summary.events.toLocaleString("en")} events in ${(answer.wall_ms / 1000).toFixed(2)} s.`);
  await showComparison();
}

async function showComparison() {
  const pre = $("compare");
  if (!state.previous) {
    pre.hidden = true;
    $("compare-note").hidden = false;
    return;
  }
  const answer = await ask({
    action: "compare", a: state.previous.summary_json, b: state.last.summary_json,
    aName: "previous run", bName: "this run",
  });
  pre.textContent = answer.table;
  pre.hidden = false;
  $("compare-note").hidden = true;
}

// ---- the sweep ---------------------------------------------------------------------------

const NUMBER = /^(\s*[A-Za-z0-9_.\-"]+\s*=\s*)([+-]?\d[\d_]*(?:\.\d+)?)(.*)$/;

function cursorLine() {
  return source.value.slice(0, source.selectionStart).split("\n").length;
}

function updateSweepLine() {
  const n = cursorLine();
  const line = source.value.split("\n")[n - 1] || "";
  const m = NUMBER.exec(line);
  $("sweep-line").textContent = m ? String(n) : "–";
  $("sweep-text").textContent = m ? line.trim() : "(no `key = number` on this line)";
  $("sweep-run").dataset.line = m ? String(n) : "";
  if (m && $("sweep-from").dataset.line !== String(n)) {
    const v = Number(m[2].replace(/_/g, ""));
    $("sweep-from").value = String(v / 2 >= 1 && Number.isInteger(v) ? Math.ceil(v / 2) : v / 2);
    $("sweep-to").value = String(v * 2);
    $("sweep-from").dataset.line = String(n);
  }
}

/// The numeric leaves of a summary, as paths (`workloads.clients.latency_ms.p99`).
function leaves(value, prefix, out) {
  if (typeof value === "number") out.push(prefix);
  else if (value && typeof value === "object" && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) leaves(v, prefix ? `${prefix}.${k}` : k, out);
  }
  return out;
}

function at(summary, path) {
  let v = summary;
  for (const k of path.split(".")) v = v == null ? undefined : v[k];
  return typeof v === "number" ? v : null;
}

async function runSweep() {
  const lineNo = Number($("sweep-run").dataset.line || 0);
  const from = Number($("sweep-from").value);
  const to = Number($("sweep-to").value);
  const steps = Math.min(50, Math.max(2, Math.round(Number($("sweep-steps").value) || 5)));
  if (!lineNo || !Number.isFinite(from) || !Number.isFinite(to)) {
    $("status").textContent = "Sweep: put the cursor on a `key = number` line and give From and To.";
    return;
  }
  const lines = source.value.split("\n");
  const m = NUMBER.exec(lines[lineNo - 1]);
  const whole = Number.isInteger(from) && Number.isInteger(to) && !m[2].includes(".");
  const values = [];
  for (let i = 0; i < steps; i++) {
    const v = from + ((to - from) * i) / (steps - 1);
    const x = whole ? Math.round(v) : Number(v.toPrecision(6));
    if (!values.includes(x)) values.push(x);
  }
  const summaries = [];
  setRunning(true, "Sweeping…");
  for (const [i, v] of values.entries()) {
    const text = lines.map((l, j) => (j === lineNo - 1 ? `${m[1]}${v}${m[3]}` : l)).join("\n");
    $("status").textContent = `Sweep: run ${i + 1} of ${values.length} (${m[1].trim()} ${v})…`;
    const answer = await ask({ action: "run", scenario: text, options: options() }, (share) => {
      $("progress").value = (i + share) / values.length;
    });
    if (answer.stopped) {
      setRunning(false, "Sweep stopped.");
      return;
    }
    if (!answer.ok) {
      setRunning(false, `Sweep: the run with ${v} failed: ${answer.error.text}`);
      return;
    }
    summaries.push(JSON.parse(answer.summary_json));
  }
  state.sweep = { values, summaries, key: m[1].replace(/=\s*$/, "").trim() };
  const select = $("sweep-figure");
  const chosen = select.value;
  select.innerHTML = "";
  for (const p of leaves(summaries[0], "", [])) {
    if (p === "seed") continue;
    const o = document.createElement("option");
    o.value = p;
    o.textContent = p;
    select.append(o);
  }
  const defaultFigure = leaves(summaries[0], "", []).find((p) => /^workloads\..*latency_ms\.p99$/.test(p));
  select.value = [...select.options].some((o) => o.value === chosen) ? chosen : defaultFigure || select.options[0].value;
  drawSweep();
  setRunning(false, `Sweep done: ${values.length} runs.`);
}

function drawSweep() {
  const s = state.sweep;
  if (!s) return;
  const path = $("sweep-figure").value;
  const ys = s.summaries.map((x) => at(x, path));
  const box = $("sweep-plot");
  box.innerHTML = "";
  box.append(svgImage(lineChart(s.key, path, s.values, ys), `sweep of ${s.key}: ${path}`));
  const table = $("sweep-table");
  table.textContent = `${s.key}\t${path}\n` + s.values.map((v, i) => `${v}\t${ys[i] === null ? "" : ys[i]}`).join("\n");
  table.hidden = false;
}

/// A line chart as SVG text (Okabe–Ito blue; titles and axis names carry the units the
/// summary's field names give).
function lineChart(xName, yName, xs, ys) {
  const W = 720, H = 400, L = 80, R = 20, T = 40, B = 60;
  const pts = xs.map((x, i) => [x, ys[i]]).filter((p) => p[1] !== null);
  const xmin = Math.min(...xs), xmax = Math.max(...xs);
  const yvals = pts.map((p) => p[1]);
  let ymin = Math.min(0, ...yvals), ymax = Math.max(...yvals, 0);
  if (ymax === ymin) ymax = ymin + 1;
  const sx = (x) => L + ((x - xmin) / (xmax - xmin || 1)) * (W - L - R);
  const sy = (y) => H - B - ((y - ymin) / (ymax - ymin)) * (H - T - B);
  const fmt = (v) => Number(v.toPrecision(4)).toLocaleString("en");
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="14">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="24" text-anchor="middle" font-size="16">${escapeHtml(yName)} against ${escapeHtml(xName)}</text>`,
    `<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="#333"/>`,
    `<line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="#333"/>`];
  for (let i = 0; i <= 4; i++) {
    const y = ymin + ((ymax - ymin) * i) / 4;
    parts.push(`<text x="${L - 6}" y="${sy(y) + 5}" text-anchor="end">${fmt(y)}</text>`,
      `<line x1="${L}" y1="${sy(y)}" x2="${W - R}" y2="${sy(y)}" stroke="#ddd"/>`);
  }
  for (const x of xs) parts.push(`<text x="${sx(x)}" y="${H - B + 20}" text-anchor="middle">${fmt(x)}</text>`);
  parts.push(`<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">${escapeHtml(xName)}</text>`);
  parts.push(`<polyline fill="none" stroke="#0072B2" stroke-width="2.5" points="${pts.map((p) => `${sx(p[0])},${sy(p[1])}`).join(" ")}"/>`);
  for (const p of pts) parts.push(`<circle cx="${sx(p[0])}" cy="${sy(p[1])}" r="4" fill="#0072B2"/>`);
  parts.push("</svg>");
  return parts.join("");
}

// ---- start -------------------------------------------------------------------------------

$("run").addEventListener("click", runOnce);
$("stop").addEventListener("click", () => {
  stopWorker();
  setRunning(false, "Stopped.");
});
$("sweep-run").addEventListener("click", runSweep);
$("sweep-figure").addEventListener("change", drawSweep);
$("reset").addEventListener("click", () => pick(Number($("lesson").value), null));
$("share").addEventListener("click", async () => {
  updateFragment();
  try {
    await navigator.clipboard.writeText(location.href);
    $("status").textContent = "Link copied: it carries the scenario as it is now.";
  } catch (e) {
    $("status").textContent = "The address bar holds the link to this scenario.";
  }
});
$("zoom").addEventListener("click", () => {
  const on = document.body.classList.toggle("present");
  $("zoom").setAttribute("aria-pressed", String(on));
});
window.addEventListener("hashchange", () => {
  const params = new URLSearchParams(location.hash.slice(1));
  const text = params.has("toml") ? (() => { try { return decode(params.get("toml")); } catch (e) { return null; } })() : null;
  const name = params.get("lesson");
  if ((text !== null && text !== source.value) || (name && (!state.entry || state.entry.name !== name))) fromFragment();
});

startWorker();
fillPicker();
fromFragment();
ask({ action: "version" }).then((a) => {
  if (a.ok) {
    $("version").textContent = `awsim ${a.version} (WebAssembly)`;
    $("status").textContent = "Ready. Press Run (or Ctrl+Enter).";
    document.body.dataset.ready = "true";
  }
});
if ("serviceWorker" in navigator && location.protocol !== "file:") {
  navigator.serviceWorker.register("sw.js").catch(() => {});
}

// ---- what to look at ---------------------------------------------------------------------

/// README's "what to look at" for the lesson, each `figure` in it a button that marks the
/// summary table's lines naming it (a `*` in a name stands for any text) and scrolls there.
function showLookAt(look) {
  const box = $("lesson-look");
  box.innerHTML = "";
  box.hidden = !look;
  if (!look) return;
  box.append("What to look at: ");
  for (const [i, part] of look.split("`").entries()) {
    if (i % 2 === 0) {
      box.append(part);
      continue;
    }
    const button = document.createElement("button");
    button.type = "button";
    button.className = "figure-link";
    button.textContent = part;
    button.title = `Mark the summary's lines with ${part}`;
    button.addEventListener("click", () => markFigure(part));
    box.append(button);
  }
}

function markFigure(name) {
  const table = $("table");
  if (!state.tableText) {
    $("status").textContent = `Run the scenario first: then ${name} is marked in the summary.`;
    return;
  }
  const pattern = new RegExp(name.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join("[^\\s]*"));
  let first = null;
  table.innerHTML = "";
  for (const line of state.tableText.split("\n")) {
    if (pattern.test(line)) {
      const m = document.createElement("mark");
      m.className = "look";
      m.textContent = line;
      table.append(m, "\n");
      first = first || m;
    } else {
      table.append(line + "\n");
    }
  }
  if (first) first.scrollIntoView({ block: "center" });
  $("status").textContent = first ? `${name}: marked in the summary.` : `${name} is not in the summary table (see summary.json or timeseries.csv).`;
}
