// mockserver dashboard: plain JavaScript, no build step. Every value from the server is put in
// the page with textContent (never innerHTML), so a request body cannot inject markup.
"use strict";

const CONTROL = new URL("../", document.baseURI); // /_mock/ (the page is served at /_mock/ui/)
const POLL_MS = 1000;
const PAGE = 50;
const TOKEN_KEY = "mockserver-admin-token";

const state = {
  view: "requests",
  token: sessionStorage.getItem(TOKEN_KEY) || "",
  req: { offset: 0, selected: null, last: "" },
  wh: { offset: 0, selected: null, last: "", showPayload: false },
  table: { name: null, offset: 0 },
  timer: null,
  busy: false,
  again: false,
};

// ---------------------------------------------------------------- helpers
const $ = (sel, root = document) => root.querySelector(sel);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// replaceChildren turns null into the text "null": drop empty slots first
function fill(node, ...children) {
  node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

// 12,345 without Intl: the first toLocaleString in a tab loads locale data (tens of ms)
const fmtCount = (n) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");

function fmtTime(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const d = new Date(seconds * 1000);
  if (Number.isNaN(d.getTime())) return String(seconds);
  return d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

// lists show month-day and time; the full date is in the cell's title
function fmtShort(seconds) {
  const full = fmtTime(seconds);
  return full.length > 12 ? full.slice(5) : full;
}

// lists abbreviate UUIDs in paths (/org/2f4c…/devices); the full path is in the title
const shortPath = (path) => path.replace(/([0-9a-f]{4})[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, "$1…");

function fmtDelta(seconds) {
  const s = Math.round(seconds);
  if (Math.abs(s) < 60) return `${s} s`;
  if (Math.abs(s) < 3600) return `${Math.round(s / 60)} min`;
  if (Math.abs(s) < 86400) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} d`;
}

function pretty(text) {
  if (typeof text !== "string") return JSON.stringify(text, null, 2);
  try { return JSON.stringify(JSON.parse(text), null, 2); } catch { return text; }
}

// the form's filled-in, valid fields (a half-typed status such as "4" waits until it is whole)
function qs(form) {
  const params = new URLSearchParams();
  for (const field of form.elements) {
    if (!field.name || field.value === "" || !field.checkValidity()) continue;
    if (field.type === "checkbox" && !field.checked) continue;
    params.set(field.name, field.value);
  }
  return params;
}

class Unauthorized extends Error {}

async function api(path, options = {}) {
  const headers = { Accept: "application/json", ...(options.headers || {}) };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(new URL(path, CONTROL), {
    method: options.method || "GET",
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    cache: "no-store",
  });
  if (response.status === 401) throw new Unauthorized("the admin token is missing or wrong");
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || `${response.status} ${response.statusText}`);
  return data;
}

function banner(message) {
  const node = $("#banner");
  node.textContent = message || "";
  node.hidden = !message;
}

function reveal() { return $("#reveal").checked ? "?reveal=1" : ""; }

function pager(node, page, onMove) {
  node.replaceChildren();
  const first = page.total === 0 ? 0 : page.offset + 1;
  const last = page.offset + page.items.length;
  node.append(
    el("button", { onclick: () => onMove(Math.max(0, page.offset - page.limit)), disabled: page.offset === 0, "aria-label": "newer page" }, "‹ newer"),
    el("span", { class: "muted", text: `${fmtCount(first)}–${fmtCount(last)} of ${fmtCount(page.total)}` }),
    el("button", { onclick: () => onMove(page.offset + page.limit), disabled: last >= page.total, "aria-label": "older page" }, "older ›"),
  );
}

function kv(title, object) {
  const entries = Object.entries(object || {});
  return el("section", {},
    el("h3", { text: title }),
    entries.length === 0 ? el("p", { class: "muted", text: "none" }) :
      el("table", { class: "kv" }, el("tbody", {}, entries.map(([k, v]) =>
        el("tr", {}, el("th", { text: k }), el("td", { text: typeof v === "string" ? v : JSON.stringify(v) }))))));
}

function pre(title, text, extra) {
  return el("section", {}, el("h3", { text: title }, extra || null),
    text === undefined || text === null || text === "" ? el("p", { class: "muted", text: "empty" }) : el("pre", { text: pretty(text) }));
}

function rowKeys(tbody, open) {
  tbody.onkeydown = (event) => {
    const row = event.target.closest("tr[data-key]");
    if (!row) return;
    if (event.key === "Enter" || event.key === " ") { event.preventDefault(); open(row.dataset.key); }
    else if (event.key === "ArrowDown" || event.key === "j") { event.preventDefault(); row.nextElementSibling?.focus(); }
    else if (event.key === "ArrowUp" || event.key === "k") { event.preventDefault(); row.previousElementSibling?.focus(); }
  };
  tbody.onclick = (event) => {
    if (event.target.closest("button")) return;
    const row = event.target.closest("tr[data-key]");
    if (row) open(row.dataset.key);
  };
}

function keepFocus(tbody, render) {
  const focused = document.activeElement?.closest?.("tr[data-key]");
  const key = focused && tbody.contains(focused) ? focused.dataset.key : null;
  render();
  if (key) tbody.querySelector(`tr[data-key="${CSS.escape(key)}"]`)?.focus();
}

// ---------------------------------------------------------------- plain words
function whereWords(location) {
  const [part, ...rest] = String(location || "").split(".");
  const name = rest.join(".");
  const places = {
    query: `query parameter “${name}”`, path: `path parameter “${name}”`, header: `header “${name}”`,
    body: name ? `request body field “${name}”` : "request body", cookie: `cookie “${name}”`,
    response: name ? `response field “${name}”` : "response",
  };
  return places[part] || location || "request";
}

function violationItems(list, side) {
  return (list || []).map((v) => el("li", {},
    el("b", { text: side === "response" ? `The fake's response (${whereWords(v.location)})` : `The ${whereWords(v.location)}` }),
    ` ${v.message}`));
}

const RATE_HEADERS = /^(x-)?rate-?limit|^retry-after$/i;

// ---------------------------------------------------------------- requests view
async function loadRequests() {
  const params = qs($("#req-filters"));
  params.set("offset", state.req.offset);
  params.set("limit", PAGE);
  const page = await api(`requests/page?${params}`);
  const text = JSON.stringify(page);
  if (text === state.req.last) return;
  state.req.last = text;
  const tbody = $("#req-table tbody");
  keepFocus(tbody, () => {
    tbody.replaceChildren(...page.items.map((r) => el("tr", {
      "data-key": r.seq, tabindex: 0, class: [r.status >= 400 ? "bad" : "", state.req.selected === String(r.seq) ? "selected" : ""].join(" "),
      "aria-selected": state.req.selected === String(r.seq) ? "true" : "false",
    },
      el("td", { class: "num", text: r.seq }),
      el("td", { text: fmtShort(r.at), title: fmtTime(r.at) }),
      el("td", { text: r.api }),
      el("td", { text: r.method }),
      el("td", { class: "path", text: shortPath(r.path) + (r.query ? `?${r.query}` : ""), title: r.path + (r.query ? `?${r.query}` : "") }),
      el("td", { class: "opt", text: r.operation_id || "—" }),
      el("td", { class: `status s${String(r.status)[0]}`, text: r.status ?? "—" }),
      el("td", { class: "num opt", text: r.duration_ms ?? "" }),
      el("td", {}, r.violations ? el("span", { class: "tag warn", text: `${r.violations} violation${r.violations > 1 ? "s" : ""}` }) : null,
        r.fault ? el("span", { class: "tag fault", text: `fault: ${r.fault}` }) : null),
    )));
    if (page.items.length === 0) tbody.append(el("tr", {}, el("td", { colspan: 9, class: "muted", text: "No requests match (yet)." })));
  });
  pager($("#req-pager"), page, (offset) => { state.req.offset = offset; state.req.last = ""; refresh(); });
  const ops = $("#operations");
  const known = new Set([...ops.options].map((o) => o.value));
  for (const r of page.items) if (r.operation_id && !known.has(r.operation_id)) { known.add(r.operation_id); ops.append(el("option", { value: r.operation_id })); }
}

async function openRequest(seq) {
  state.req.selected = String(seq);
  state.req.last = "";
  const panel = $("#req-detail");
  let entry;
  try { entry = await api(`requests/${seq}${reveal()}`); } catch (err) { if (err instanceof Unauthorized) throw err; panel.hidden = false; fill(panel, el("p", { class: "error", text: err.message })); return; }
  const problems = [...violationItems(entry.violations, "request"), ...violationItems(entry.response_violations, "response")];
  const rate = Object.fromEntries(Object.entries(entry.response?.headers || {}).filter(([k]) => RATE_HEADERS.test(k)));
  const debug = entry.debug || {};
  const extraReq = Object.fromEntries(Object.entries(entry.request || {}).filter(([k]) => k !== "headers" && k !== "body"));
  const extraRes = Object.fromEntries(Object.entries(entry.response || {}).filter(([k]) => k !== "headers" && k !== "body"));
  fill(panel, 
    el("div", { class: "detail-head" },
      el("h2", { text: `${entry.method} ${entry.path}` }),
      el("button", { onclick: closeDetail, "aria-label": "close detail (Escape)" }, "✕")),
    el("p", {}, el("span", { class: `status s${String(entry.status)[0]}`, text: entry.status }), " ",
      `${entry.api} · ${entry.operation_id || "no operation"} · ${fmtTime(entry.at)} · ${entry.duration_ms ?? "?"} ms · request id `, el("code", { text: entry.id })),
    entry.query ? el("p", {}, "query ", el("code", { text: entry.query })) : null,
    entry.error ? el("section", {}, el("h3", { text: "What the server said" }), el("p", { class: "error", text: entry.error })) : null,
    problems.length ? el("section", { class: "problems" }, el("h3", { text: "What does not match the specification" }), el("ul", {}, problems)) : null,
    entry.fault ? kv("Fault applied", entry.fault) : null,
    Object.keys(rate).length ? kv("Rate limit", rate) : null,
    entry.truncated?.length ? el("p", { class: "muted", text: `Cut to fit the journal: ${entry.truncated.join(", ")} (the excerpts below end in “...”).` }) : null,
    debug.expected_string_to_sign && entry.status === 401 ? el("section", { class: "sts" },
      el("h3", { text: "Hubby signature: the strings the server expected to be signed" }),
      el("p", { class: "muted", text: "x-signature must be the lowercase hex HMAC-SHA256 of one of these, keyed with the partner secret:" }),
      ...[].concat(debug.expected_string_to_sign).map((s) => el("pre", { text: s })),
      debug.signature_received ? el("p", {}, "received ", el("code", { text: debug.signature_received })) : null) : null,
    Object.keys(debug).filter((k) => entry.status !== 401 || (k !== "expected_string_to_sign" && k !== "signature_received")).length
      ? kv("Debug", Object.fromEntries(Object.entries(debug).filter(([k]) => entry.status !== 401 || (k !== "expected_string_to_sign" && k !== "signature_received")))) : null,
    kv("Request headers", entry.request?.headers),
    Object.keys(extraReq).length ? kv("Request body (bounds)", extraReq) : null,
    pre("Request body", entry.request?.body),
    kv("Response headers", entry.response?.headers),
    Object.keys(extraRes).length ? kv("Response body (bounds)", extraRes) : null,
    pre("Response body", entry.response?.body),
  );
  panel.hidden = false;
  refresh();
}

// ---------------------------------------------------------------- webhooks view
async function loadWebhooks() {
  const params = qs($("#wh-filters"));
  params.set("offset", state.wh.offset);
  params.set("limit", PAGE);
  const page = await api(`webhooks/deliveries/page?${params}`);
  const text = JSON.stringify(page);
  if (text === state.wh.last) return;
  state.wh.last = text;
  $("#wh-counts").textContent = Object.entries(page.states).map(([k, v]) => `${k} ${v}`).join(" · ");
  const tbody = $("#wh-table tbody");
  keepFocus(tbody, () => {
    tbody.replaceChildren(...page.items.map((m) => el("tr", {
      "data-key": m.id, tabindex: 0, class: state.wh.selected === m.id ? "selected" : "",
      "aria-selected": state.wh.selected === m.id ? "true" : "false",
    },
      el("td", { text: fmtShort(m.created_at), title: fmtTime(m.created_at) }),
      el("td", { text: m.api }),
      el("td", { text: m.event_type }),
      el("td", { class: "path opt", text: m.url, title: `${m.url} (endpoint ${m.endpoint_id})` }),
      el("td", {}, el("span", { class: `state ${m.state}`, text: m.state })),
      el("td", { class: "num", text: m.attempts }),
      el("td", { text: m.last_attempt ? `${m.last_attempt.status ?? "no answer"}${m.last_attempt.error ? ` · ${m.last_attempt.error}` : ""}` : "—", class: "path opt" }),
      el("td", { class: "opt", text: m.next_attempt_at ? fmtShort(m.next_attempt_at) : "—", title: m.next_attempt_at ? fmtTime(m.next_attempt_at) : null }),
      el("td", {}, el("button", { class: "small", onclick: () => resend(m.id), "aria-label": `resend message ${m.id}` }, "Resend")),
    )));
    if (page.items.length === 0) tbody.append(el("tr", {}, el("td", { colspan: 9, class: "muted", text: "No webhook messages match (yet)." })));
  });
  pager($("#wh-pager"), page, (offset) => { state.wh.offset = offset; state.wh.last = ""; refresh(); });
  if (state.wh.selected && !$("#wh-detail").hidden) openMessage(state.wh.selected, true);
}

async function resend(id) {
  try {
    await api(`webhooks/deliveries/${encodeURIComponent(id)}/resend`, { method: "POST" });
    banner("");
  } catch (err) { if (err instanceof Unauthorized) return needLogin(); banner(`Resend failed: ${err.message}`); }
  state.wh.last = "";
  refresh();
}

async function openMessage(id, quiet) {
  const panel = $("#wh-detail");
  let m;
  try { m = await api(`webhooks/deliveries/${encodeURIComponent(id)}${reveal()}`); } catch (err) { if (err instanceof Unauthorized) throw err; panel.hidden = false; fill(panel, el("p", { class: "error", text: err.message })); return; }
  const text = JSON.stringify(m) + state.wh.showPayload;
  if (quiet && panel.dataset.last === text) return;
  panel.dataset.last = text;
  if (!quiet) { state.wh.selected = id; state.wh.last = ""; }
  fill(panel, 
    el("div", { class: "detail-head" },
      el("h2", { text: `${m.api} · ${m.event_type}` }),
      el("button", { onclick: closeDetail, "aria-label": "close detail (Escape)" }, "✕")),
    el("p", {}, el("span", { class: `state ${m.state}`, text: m.state }), ` to ${m.url} · endpoint ${m.endpoint_id} · created ${fmtTime(m.created_at)}`),
    el("p", {}, `next attempt: ${m.next_attempt_at ? fmtTime(m.next_attempt_at) : "none"}`, m.last_error ? ` · last error: ${m.last_error}` : ""),
    el("div", { class: "buttons" },
      el("button", { onclick: () => resend(m.id) }, "Resend"),
      el("button", { "aria-expanded": String(state.wh.showPayload), onclick: () => { state.wh.showPayload = !state.wh.showPayload; openMessage(m.id, true); } },
        state.wh.showPayload ? "Hide payload" : "Open payload")),
    state.wh.showPayload ? pre("Payload", JSON.stringify(m.body)) : null,
    el("section", {}, el("h3", { text: `Attempts (${m.attempts.length})` }),
      m.attempts.length === 0 ? el("p", { class: "muted", text: "not attempted yet" }) :
        el("table", { class: "grid attempts" },
          el("thead", {}, el("tr", {}, ["#", "at (sandbox)", "status", "latency", "error / answer"].map((h) => el("th", { text: h })))),
          el("tbody", {}, m.attempts.map((a) => el("tr", { class: a.status >= 200 && a.status < 300 ? "" : "bad" },
            el("td", { class: "num", text: a.number }),
            el("td", { text: fmtTime(a.at) }),
            el("td", { class: `status s${String(a.status)[0]}`, text: a.status ?? "no answer" }),
            el("td", { class: "num", text: a.latency_ms === undefined ? "" : `${Math.round(a.latency_ms)} ms` }),
            el("td", { class: "path", text: a.error || a.error_message || a.response_excerpt || "" }),
          ))))),
    kv("Headers sent", m.headers),
    Object.keys(m.meta || {}).length ? kv("Meta", m.meta) : null,
  );
  panel.hidden = false;
}

// ---------------------------------------------------------------- clock view
async function loadClock() {
  const data = await api("clock/timers?limit=50");
  paintClock(data);
  const idle = data.timers_pending - data.timers.length;
  $("#timers-count").textContent = data.timers.length < 50 && idle > 0
    ? `(${data.timers.length}; ${idle} more left from before a reset will do nothing)` : `(${data.timers_pending})`;
  const tbody = $("#timers-table tbody");
  tbody.replaceChildren(...data.timers.map((t) => el("tr", {},
    el("td", { text: fmtTime(t.at) }),
    el("td", { text: t.at <= data.now ? "due" : fmtDelta(t.at - data.now) }),
    el("td", { text: t.kind }),
    el("td", { class: "path", text: t.label }),
  )));
  if (data.timers.length === 0) tbody.append(el("tr", {}, el("td", { colspan: 4, class: "muted", text: "Nothing is scheduled." })));
}

function paintClock(data) {
  $("#clock-badge").textContent = `${data.mode === "frozen" ? "❄ frozen" : "▶ real"} · ${fmtTime(data.now)}`;
  $("#clock-badge").className = `badge ${data.mode}`;
  $("#clock-now").textContent = fmtTime(data.now);
  $("#clock-mode").textContent = data.mode;
  $("#clock-unix").textContent = `Unix ${data.now.toFixed(3)}`;
  $("#clock-freeze").textContent = data.mode === "frozen" ? "Run in real time" : "Freeze";
  $("#clock-freeze").dataset.mode = data.mode;
}

async function clockAction(run, describe) {
  try {
    const result = await run();
    $("#clock-result").textContent = describe(result);
    banner("");
  } catch (err) {
    if (err instanceof Unauthorized) return needLogin();
    $("#clock-result").textContent = err.message;
  }
  refresh();
}

const fired = (r) => `now ${fmtTime(r.now)}; ${r.timers_fired ?? 0} timer(s) fired, ${r.timers_pending} pending`;

// ---------------------------------------------------------------- state view
async function loadState() {
  const data = await api("state/summary");
  $("#state-seed").textContent = data.seed;
  $("#state-scenario").textContent = data.scenario ?? "empty";
  const text = JSON.stringify(data);
  if (text !== $("#state-apis").dataset.last) {
    $("#state-apis").dataset.last = text;
    $("#state-apis").replaceChildren(...Object.entries(data.apis).map(([name, info]) => el("div", { class: "card api" },
      el("div", { class: "detail-head" }, el("h2", { text: name }),
        el("button", { class: "small", onclick: () => resetApi(name) }, `Reset ${name}`)),
      el("ul", { class: "tables" }, info.tables.map((t) => el("li", { class: t.main ? "main" : "" },
        el("button", { class: "link", onclick: () => openTable(t.name, 0), "aria-label": `show table ${t.name}` }, t.short),
        el("span", { class: "count", text: fmtCount(t.count) })))))),
      el("div", { class: "card api" }, el("h2", { text: "webhooks" }),
        el("ul", { class: "tables" }, data.webhooks.map((t) => el("li", { class: "main" },
          el("button", { class: "link", onclick: () => openTable(t.name, 0) }, t.name.split(".")[1]),
          el("span", { class: "count", text: fmtCount(t.count) }))))));
  }
  if (state.table.name) await openTable(state.table.name, state.table.offset, true);
}

async function openTable(name, offset, quiet) {
  state.table = { name, offset };
  const data = await api(`state/tables/${encodeURIComponent(name)}?offset=${offset}&limit=${PAGE}${reveal().replace("?", "&")}`);
  const node = $("#state-table");
  const text = JSON.stringify(data);
  if (quiet && node.dataset.last === text) return;
  node.dataset.last = text;
  const columns = [];
  for (const row of data.rows) {
    if (row.value && typeof row.value === "object" && !Array.isArray(row.value)) {
      for (const key of Object.keys(row.value)) if (!columns.includes(key) && columns.length < 9) columns.push(key);
    }
  }
  const same = (c) => data.rows.length > 0 && data.rows.every((row) => row.value?.[c] === row.key);
  for (const c of columns.filter(same)) columns.splice(columns.indexOf(c), 1); // an id column repeating the key
  const cell = (v) => {
    const s = typeof v === "string" ? v : v === undefined ? "" : JSON.stringify(v);
    return el("td", { class: "clip", text: s.length > 80 ? `${s.slice(0, 79)}…` : s, title: s.length > 80 ? s : null });
  };
  fill(node,
    el("div", { class: "detail-head" }, el("h2", { text: `${name} (${fmtCount(data.total)} rows)` }),
      el("button", { onclick: () => { state.table.name = null; node.hidden = true; }, "aria-label": "close table" }, "✕")),
    el("table", { class: "grid", "aria-label": `rows of ${name}` },
      el("thead", {}, el("tr", {}, el("th", { text: "key" }), columns.map((c) => el("th", { text: c })))),
      el("tbody", {}, data.rows.map((row) => el("tr", {}, el("td", { class: "clip", text: row.key, title: row.key }),
        columns.map((c) => cell(row.value?.[c])))))),
    el("div", { class: "pager" }),
  );
  pager(node.querySelector(".pager"), { ...data, items: data.rows }, (o) => openTable(name, o));
  node.hidden = false;
}

async function resetApi(name) {
  try { await api(`reset${name ? `?api=${name}` : ""}`, { method: "POST" }); banner(""); } catch (err) { if (err instanceof Unauthorized) return needLogin(); banner(err.message); }
  $("#state-apis").dataset.last = "";
  refresh();
}

async function downloadSnapshot() {
  try {
    const data = await api("state");
    const blob = new Blob([JSON.stringify(data, null, 2)], { type: "application/json" });
    const link = el("a", { href: URL.createObjectURL(blob), download: `mockserver-state-${Math.floor(data.clock?.now ?? 0)}.json` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  } catch (err) { if (err instanceof Unauthorized) return needLogin(); banner(err.message); }
}

// ---------------------------------------------------------------- faults view
async function loadFaults() {
  const data = await api("faults");
  const tbody = $("#faults-table tbody");
  const text = JSON.stringify(data);
  if (tbody.dataset.last === text) return;
  tbody.dataset.last = text;
  tbody.replaceChildren(...data.faults.map((f) => el("tr", {},
    ["kind", "api", "operation_id", "method", "path", "status", "latency_ms", "count", "probability", "message"].map((k) =>
      el("td", { text: k === "latency_ms" && f.distribution ? JSON.stringify(f.distribution)
        : k === "status" && f.retry_after !== undefined ? `${f.status} (Retry-After ${f.retry_after} s)` : f[k] ?? "—" })))));
  if (data.faults.length === 0) tbody.append(el("tr", {}, el("td", { colspan: 10, class: "muted", text: "No fault rules: every request is served normally." })));
}

async function addFault(event) {
  event.preventDefault();
  const rule = {};
  for (const [key, value] of new FormData(event.target)) {
    if (value === "") continue;
    rule[key] = ["status", "retry_after", "latency_ms", "count", "probability"].includes(key) ? Number(value) : value;
  }
  if (rule.kind !== "status") { delete rule.status; delete rule.retry_after; }
  try {
    await api("faults", { method: "POST", body: rule });
    $("#fault-error").textContent = "";
  } catch (err) { if (err instanceof Unauthorized) return needLogin(); $("#fault-error").textContent = err.message; }
  refresh();
}

// ---------------------------------------------------------------- shell
const LOADERS = { requests: loadRequests, webhooks: loadWebhooks, clock: loadClock, state: loadState, faults: loadFaults };

async function refresh() {
  if (state.busy) { state.again = true; return; }
  state.busy = true;
  state.again = false;
  try {
    const work = [LOADERS[state.view]()];
    if (state.view !== "clock") work.push(api("clock").then(paintClock));
    await Promise.all(work);
    banner("");
    showApp();
  } catch (err) {
    if (err instanceof Unauthorized) needLogin();
    else banner(err instanceof TypeError ? `Cannot reach the sandbox (${err.message}); retrying.` : `The sandbox answered: ${err.message}`);
  } finally {
    state.busy = false;
    if (state.again) refresh();
  }
}

function schedule() {
  clearInterval(state.timer);
  if ($("#live").checked) state.timer = setInterval(() => { if (!document.hidden) refresh(); }, POLL_MS);
}

function select(view, focus) {
  state.view = view;
  for (const tab of document.querySelectorAll("[role=tab]")) {
    const on = tab.dataset.view === view;
    tab.setAttribute("aria-selected", String(on));
    tab.tabIndex = on ? 0 : -1;
    if (on && focus) tab.focus();
  }
  for (const panel of document.querySelectorAll("[role=tabpanel]")) panel.hidden = panel.id !== `view-${view}`;
  history.replaceState(null, "", `#${view}`);
  refresh();
}

function closeDetail() {
  const panel = state.view === "webhooks" ? $("#wh-detail") : $("#req-detail");
  panel.hidden = true;
  if (state.view === "webhooks") state.wh.selected = null; else state.req.selected = null;
  state.req.last = state.wh.last = "";
  refresh();
}

function needLogin() {
  $("#login-error").textContent = state.token ? "That token was not accepted." : "";
  if (!$("#login").hidden) return; // already asking: leave the focus where the user is
  $("#app").hidden = true;
  $("#login").hidden = false;
  $("#logout").hidden = true;
  $("#token").focus();
}

function showApp() {
  if (!$("#app").hidden) return;
  $("#login").hidden = true;
  $("#app").hidden = false;
  $("#logout").hidden = !state.token;
}

function wire() {
  const tabs = [...document.querySelectorAll("[role=tab]")];
  for (const tab of tabs) tab.addEventListener("click", () => select(tab.dataset.view));
  $("#tabs").addEventListener("keydown", (event) => {
    const index = tabs.findIndex((t) => t.dataset.view === state.view);
    if (event.key === "ArrowRight") select(tabs[(index + 1) % tabs.length].dataset.view, true);
    if (event.key === "ArrowLeft") select(tabs[(index + tabs.length - 1) % tabs.length].dataset.view, true);
  });
  document.addEventListener("keydown", (event) => {
    const typing = event.target.closest?.("input, select, textarea");
    if (event.key === "Escape") { if (!typing) closeDetail(); return; }
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    const n = Number(event.key);
    if (n >= 1 && n <= tabs.length) select(tabs[n - 1].dataset.view, true);
    if (event.key === "/") { event.preventDefault(); $(`#view-${state.view} .filters input, #view-${state.view} input`)?.focus(); }
  });
  for (const [form, key] of [["#req-filters", "req"], ["#wh-filters", "wh"]]) {
    const onChange = () => { state[key].offset = 0; state[key].last = ""; refresh(); };
    $(form).addEventListener("input", onChange);
    $(form).addEventListener("change", onChange);
    $(form).addEventListener("reset", () => setTimeout(onChange));
    $(form).addEventListener("submit", (e) => { e.preventDefault(); onChange(); });
  }
  rowKeys($("#req-table tbody"), (seq) => openRequest(seq).catch((e) => e instanceof Unauthorized && needLogin()));
  rowKeys($("#wh-table tbody"), (id) => { state.wh.showPayload = false; openMessage(id).then(refresh).catch((e) => e instanceof Unauthorized && needLogin()); });
  $("#live").addEventListener("change", schedule);
  $("#reveal").addEventListener("change", () => {
    if (state.req.selected && !$("#req-detail").hidden) openRequest(state.req.selected);
    if (state.wh.selected && !$("#wh-detail").hidden) openMessage(state.wh.selected);
    if (state.table.name) openTable(state.table.name, state.table.offset);
  });
  $("#clock-freeze").addEventListener("click", (e) => clockAction(
    () => api("clock", { method: "POST", body: { mode: e.target.dataset.mode === "frozen" ? "real" : "frozen" } }), (r) => `clock is ${r.mode} at ${fmtTime(r.now)}`));
  for (const button of document.querySelectorAll("[data-advance]")) {
    button.addEventListener("click", () => clockAction(() => api("clock", { method: "POST", body: { advance_seconds: Number(button.dataset.advance) } }), fired));
  }
  $("#clock-next").addEventListener("click", () => clockAction(() => api("clock/next-timer", { method: "POST" }), fired));
  $("#clock-reset").addEventListener("click", () => clockAction(() => api("clock", { method: "POST", body: { reset: true } }), (r) => `clock reset to ${fmtTime(r.now)} (${r.mode})`));
  $("#state-download").addEventListener("click", downloadSnapshot);
  $("#state-reset-all").addEventListener("click", () => resetApi(null));
  $("#fault-form").addEventListener("submit", addFault);
  $("#faults-clear").addEventListener("click", async () => {
    try { await api("faults", { method: "DELETE" }); } catch (err) { if (err instanceof Unauthorized) return needLogin(); banner(err.message); }
    refresh();
  });
  $("#login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.token = $("#token").value.trim();
    sessionStorage.setItem(TOKEN_KEY, state.token);
    $("#token").value = "";
    refresh();
  });
  $("#logout").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    location.reload(); // a fresh page: nothing read with the token stays in the DOM
  });
}

wire();
const initial = location.hash.slice(1);
select(LOADERS[initial] ? initial : "requests");
schedule();
