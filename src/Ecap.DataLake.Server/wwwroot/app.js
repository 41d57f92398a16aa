// The explorer page: plain JavaScript over the REST API (/api/...), charts drawn as SVG. No framework, no network
// beyond this server: the page works offline. Views by the URL's hash: #/ (tables), #/table/NAME, #/streams, #/audit.
"use strict";

const view = document.getElementById("view");
const SVG = "http://www.w3.org/2000/svg";

// ---------------------------------------------------------------- helpers

async function api(path, options) {
  const response = await fetch(path, options);
  const body = await response.json();
  if (!response.ok) throw new Error(body.detail || body.title || response.statusText);
  return body;
}

/** An element with attributes and children (strings become text nodes). */
function el(tag, attributes = {}, ...children) {
  const node = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === "string" || typeof child === "number" ? String(child) : child);
  }
  return node;
}

function bytes(n) {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = n / 1024, unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++; }
  return `${value.toFixed(1)} ${units[unit]}`;
}

const count = n => (n ?? 0).toLocaleString("en-US");
const time = t => (t ? new Date(t).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z") : "-");
const tags = list => (list || []).map(t => el("span", { class: "tag" }, t));
/** A table name of the catalog ("data_lake.transactions") as the lake names it ("transactions"). */
const shortName = qualified => (qualified.includes(".") ? qualified.slice(qualified.indexOf(".") + 1) : qualified);
const tableLink = name => el("a", { href: `#/table/${encodeURIComponent(name)}`, "data-testid": "table-link" }, name);

function grid(columns, rows, attributes = {}) {
  return el("table", attributes,
    el("thead", {}, el("tr", {}, columns.map(c => el("th", { class: c.num ? "num" : null }, c.label)))),
    el("tbody", {}, rows.map(row => el("tr", row.attributes || {}, columns.map(c => el("td", { class: c.num ? "num" : null }, c.value(row)))))));
}

function section(id, title, ...content) {
  return el("section", { id, "data-testid": id }, el("h2", {}, title), ...content);
}

/** Fills a section when its request answers; a refusal (403) or missing data shows the server's message there only. */
async function fill(target, load, render) {
  try {
    target.append(render(await load()));
  } catch (e) {
    target.append(el("div", { class: "error" }, e.message));
  }
}

// ---------------------------------------------------------------- charts (SVG)

/** Horizontal bars: one row per item, labelled, the value written after the bar. */
function barChart(items, { label, value, format, testid }) {
  const rowHeight = 18, barWidth = 420, max = Math.max(1, ...items.map(value));
  const labelWidth = Math.min(380, Math.max(80, ...items.map(i => label(i).length * 7 + 12)));
  const svg = el("svg:svg", { width: labelWidth + barWidth + 90, height: items.length * rowHeight + 4, role: "img" });
  items.forEach((item, i) => {
    const y = i * rowHeight;
    const width = Math.max(1, (value(item) / max) * barWidth);
    svg.append(
      el("svg:text", { x: labelWidth - 6, y: y + 13, "text-anchor": "end" }, label(item)),
      el("svg:rect", { class: "bar", x: labelWidth, y: y + 3, width, height: rowHeight - 5, "data-testid": testid },
        el("svg:title", {}, `${label(item)}: ${format(value(item))}`)),
      el("svg:text", { x: labelWidth + width + 4, y: y + 13 }, format(value(item))));
  });
  return svg;
}

/**
 * The lineage graph: tables in columns by their distance from this one (upstream left, downstream right), an arrow
 * per edge; every other table is a link to its own page.
 */
function lineageGraph(graph) {
  const depth = new Map([[graph.table, 0]]);
  const walk = (from, next, step) => {
    const queue = [from];
    while (queue.length) {
      const node = queue.shift();
      for (const e of graph.edges) {
        const [a, b] = next(e);
        if (a === node && !depth.has(b)) { depth.set(b, depth.get(node) + step); queue.push(b); }
      }
    }
  };
  walk(graph.table, e => [e.downstream, e.upstream], -1);
  walk(graph.table, e => [e.upstream, e.downstream], 1);
  for (const n of graph.nodes) if (!depth.has(n.name)) depth.set(n.name, n.side === "upstream" ? -1 : 1);

  const columns = new Map();
  for (const [name, d] of depth) columns.set(d, [...(columns.get(d) || []), name].sort());
  const minDepth = Math.min(...columns.keys()), nodeWidth = 190, nodeHeight = 28, colGap = 80, rowGap = 16;
  const position = new Map();
  for (const [d, names] of columns) names.forEach((name, i) => position.set(name, { x: (d - minDepth) * (nodeWidth + colGap) + 4, y: i * (nodeHeight + rowGap) + 4 }));
  const width = (Math.max(...columns.keys()) - minDepth + 1) * (nodeWidth + colGap);
  const height = Math.max(...[...columns.values()].map(c => c.length)) * (nodeHeight + rowGap) + 8;

  const svg = el("svg:svg", { id: "lineage-graph", width, height, role: "img" },
    el("svg:defs", {}, el("svg:marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto" },
      el("svg:path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#94a3b8" }))));
  for (const e of graph.edges) {
    const a = position.get(e.upstream), b = position.get(e.downstream);
    if (!a || !b) continue;
    const x1 = a.x + nodeWidth, y1 = a.y + nodeHeight / 2, x2 = b.x, y2 = b.y + nodeHeight / 2;
    svg.append(el("svg:path", { class: "edge", d: `M ${x1} ${y1} C ${x1 + 40} ${y1}, ${x2 - 40} ${y2}, ${x2} ${y2}` }));
  }
  for (const [name, p] of position) {
    const self = name === graph.table;
    const node = el("svg:g", {
      class: self ? "node self" : "node", transform: `translate(${p.x},${p.y})`, "data-testid": "lineage-node", "data-table": shortName(name),
      onclick: self ? null : () => { location.hash = `#/table/${encodeURIComponent(shortName(name))}`; },
    }, el("svg:rect", { width: nodeWidth, height: nodeHeight }), el("svg:text", { x: 8, y: 18 }, name), el("svg:title", {}, name));
    svg.append(node);
  }
  return svg;
}

// ---------------------------------------------------------------- views

async function tablesView() {
  const search = el("input", { type: "search", id: "table-search", "data-testid": "table-search", placeholder: "Search tables, columns, tags, owners…", autofocus: "" });
  const list = el("div", { id: "table-list" });
  view.replaceChildren(el("h1", {}, "Tables"), search, section("tables", "Tables of the lake", list));

  // The list paints as soon as the tables arrive; the catalog's descriptions, owners and tags fill in when it answers.
  const catalog = api("/api/catalog").catch(() => []);
  const rows = (await api("/api/tables")).map(t => ({ ...t, entry: null, attributes: { "data-testid": "table-row", "data-table": t.name } }));
  const columns = [
    { label: "table", value: r => tableLink(r.name) },
    { label: "description", value: r => r.entry?.description || "" },
    { label: "owner", value: r => r.entry?.owner || "" },
    { label: "tags", value: r => tags(r.entry?.tags) },
    { label: "version", num: true, value: r => r.version },
    { label: "rows", num: true, value: r => count(r.record_count) },
    { label: "files", num: true, value: r => count(r.file_count) },
    { label: "size", num: true, value: r => bytes(r.total_size_bytes) },
  ];
  const show = shown => list.replaceChildren(shown.length ? grid(columns, shown, { id: "table-grid" }) : el("p", { class: "muted" }, "no tables match"));
  show(rows);
  performance.mark("table-list-rendered");
  document.body.dataset.tableListRendered = String(rows.length);
  const entries = new Map((await catalog).map(e => [e.name, e]));
  for (const row of rows) row.entry = entries.get(row.name) || null;
  search.dispatchEvent(new Event("input")); // redraw (with the current search) with the catalog's columns
  performance.mark("table-list-described");
  document.body.dataset.tableListDescribed = String(entries.size);

  // Names, descriptions, tags and owners filter at once; the catalog's search adds tables matched by a column name.
  let pending = 0;
  search.addEventListener("input", async () => {
    const term = search.value.trim().toLowerCase();
    const request = ++pending;
    if (!term) { show(rows); return; }

    const local = rows.filter(r => [r.name, r.entry?.description, r.entry?.owner, ...(r.entry?.tags || [])].some(v => v && v.toLowerCase().includes(term)));
    show(local);
    const hits = await api(`/api/search?q=${encodeURIComponent(term)}`).catch(() => []);
    if (request !== pending) return;
    const found = new Set([...local.map(r => r.name), ...hits.map(h => h.name)]);
    show(rows.filter(r => found.has(r.name)));
  });
}

async function tableView(name) {
  const encoded = encodeURIComponent(name);
  const summary = el("div");
  const parts = {
    schema: section("schema", "Schema"),
    history: section("schema-history", "Schema history"),
    partitions: section("partition-chart", "Partition sizes"),
    files: section("file-histogram", "File sizes"),
    cost: section("storage-cost", "Storage cost per month"),
    commits: section("recent-commits", "Recent commits"),
    stats: section("column-stats", "Column statistics"),
    lineage: section("lineage", "Lineage"),
    preview: section("preview", "Data preview (first 20 rows)"),
  };
  view.replaceChildren(el("h1", { id: "table-name", "data-testid": "table-name" }, name), summary,
    el("div", { class: "grid" }, parts.schema, parts.history, parts.partitions, parts.files, parts.cost, parts.commits),
    parts.stats, parts.lineage, parts.preview);

  const detail = api(`/api/tables/${encoded}`);
  await Promise.all([
    fill(summary, () => detail, ({ info, catalog }) => el("p", { id: "table-summary" },
      catalog?.description ? el("span", {}, catalog.description, " · ") : null,
      catalog?.owner ? el("span", {}, "owner ", el("b", {}, catalog.owner), " · ") : null, tags(catalog?.tags),
      ` v${info.version} · ${count(info.record_count)} rows · ${count(info.file_count)} files · ${bytes(info.total_size_bytes)} · ` +
      `partitioned by ${info.partition_columns.join(", ") || "(none)"} · last modified ${time(info.last_modified)}`)),
    fill(parts.schema, () => detail, ({ info }) => grid([
      { label: "column", value: c => c.name }, { label: "type", value: c => c.type }, { label: "nullable", value: c => (c.nullable ? "yes" : "no") },
    ], info.schema)),
    fill(parts.partitions, () => api(`/api/tables/${encoded}/partitions`), partitions => {
      const shown = partitions.slice(0, 100);
      const label = p => Object.entries(p.values).map(([k, v]) => `${k}=${v ?? "null"}`).join("/") || "(unpartitioned)";
      return el("div", {}, barChart(shown, { label, value: p => p.size_bytes, format: bytes, testid: "partition-bar" }),
        partitions.length > shown.length ? el("p", { class: "muted" }, `${partitions.length - shown.length} more partitions not drawn`) : null);
    }),
    fill(parts.files, () => api(`/api/tables/${encoded}/files/histogram`), buckets =>
      barChart(buckets, { label: b => (b.max_bytes == null ? `≥ ${bytes(b.min_bytes)}` : `${bytes(b.min_bytes)} – ${bytes(b.max_bytes)}`), value: b => b.file_count, format: count, testid: "file-bar" })),
    fill(parts.cost, () => detail, ({ info }) => !info.storage_cost ? el("p", { class: "muted" }, "no estimate") : el("div", {},
      // As stored (S3 names each file's class, after tiering): what the table costs now; then all of it priced in each class.
      info.storage_cost.stored ? grid([
        { label: "stored in", value: c => c.storage_class }, { label: "files", num: true, value: c => count(c.file_count) },
        { label: "size", num: true, value: c => bytes(c.size_bytes) },
        { label: "monthly cost", num: true, value: c => `${Number(c.monthly_cost).toFixed(6)} ${info.storage_cost.currency}` },
      ], info.storage_cost.stored, { "data-testid": "stored-cost" }) : null,
      grid([
        { label: "storage class", value: c => c.storage_class }, { label: "price per GB-month", num: true, value: c => `${c.price_per_gb_month}` },
        { label: "monthly cost", num: true, value: c => `${Number(c.monthly_cost).toFixed(6)} ${info.storage_cost.currency}` },
      ], info.storage_cost.by_class))),
    fill(parts.history, () => api(`/api/tables/${encoded}/schema-history`), changes => grid([
      { label: "version", num: true, value: h => h.version }, { label: "time", value: h => time(h.timestamp) },
      { label: "columns", num: true, value: h => h.columns.length }, { label: "added", value: h => (h.added || []).join(", ") },
      { label: "removed", value: h => (h.removed || []).join(", ") },
      { label: "renamed", value: h => (h.renamed || []).map(r => `${r.from} → ${r.to}`).join(", ") }, { label: "changed", value: h => (h.changed || []).join(", ") },
    ], changes)),
    fill(parts.commits, () => api(`/api/tables/${encoded}/history?limit=10`), commits => grid([
      { label: "version", num: true, value: c => c.version }, { label: "time", value: c => time(c.timestamp) }, { label: "operation", value: c => c.operation },
      { label: "metrics", value: c => Object.entries(c.metrics).map(([k, v]) => `${k}=${v}`).join(", ") },
    ], commits)),
    fill(parts.stats, () => api(`/api/tables/${encoded}/statistics`), stats => el("div", {},
      el("p", { class: "muted" }, `at v${stats.version}, ${time(stats.computed_at)}: ${count(stats.row_count)} rows` + (stats.sampled_rows ? `, ${count(stats.sampled_rows)} sampled` : "")),
      grid([
        { label: "column", value: c => c.name }, { label: "type", value: c => c.type }, { label: "nulls", num: true, value: c => (c.null_count ?? "?") },
        { label: "min", value: c => c.min ?? "" }, { label: "max", value: c => c.max ?? "" }, { label: "distinct ~", num: true, value: c => (c.distinct_count ?? "") },
        { label: "top values", value: c => (c.top_values || []).slice(0, 3).map(v => `${v.value} (${count(v.count)})`).join(", ") },
      ], stats.columns))),
    fill(parts.lineage, () => api(`/api/tables/${encoded}/lineage`), graph =>
      graph.edges.length ? lineageGraph(graph) : el("p", { class: "muted" }, "no lineage recorded")),
    fill(parts.preview, () => api("/api/query", {
      method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ sql: `SELECT * FROM "${name.replaceAll('"', '""')}"`, limit: 20 }),
    }), result => {
      const masked = new Set(result.masked);
      return grid(result.columns.map(c => ({
        label: masked.has(c) ? `${c} (masked)` : c,
        value: row => masked.has(c) ? el("span", { class: "masked" }, "masked") : row[c] === null ? el("span", { class: "null" }, "null")
          : typeof row[c] === "object" ? JSON.stringify(row[c]) : String(row[c]),
      })), result.rows, { id: "preview-grid" });
    }),
  ]);
}

async function streamsView() {
  const body = el("div");
  view.replaceChildren(el("h1", {}, "Streams"), section("streams", "Streams by their heartbeats", body));
  await fill(body, () => api("/api/streams"), streams => !streams.length ? el("p", { class: "muted" }, "no streams in this lake") : grid([
    { label: "stream", value: s => s.stream_id },
    { label: "table", value: s => (s.heartbeat?.table ? tableLink(s.heartbeat.table) : "") },
    { label: "state", value: s => {
      const state = !s.heartbeat ? "unreadable" : s.stale ? "stale" : s.heartbeat.state;
      return el("span", { class: state, "data-testid": "stream-state" }, state + (s.stop_pending ? " (stop requested)" : ""));
    } },
    { label: "records/s", num: true, value: s => (s.heartbeat ? s.heartbeat.records_per_second.toFixed(1) : "") },
    { label: "records", num: true, value: s => count(s.heartbeat?.records_total) },
    { label: "lag", num: true, value: s => count(s.heartbeat?.total_lag) },
    { label: "heartbeat", value: s => (s.heartbeat_age_seconds == null ? "never" : `${Math.round(s.heartbeat_age_seconds)} s ago`) },
    { label: "last error", value: s => s.heartbeat?.last_error || s.error || "" },
  ], streams, { id: "streams-grid" }));
}

async function auditView() {
  const params = new URLSearchParams(location.hash.split("?")[1] || "");
  const table = el("input", { type: "text", id: "audit-table", placeholder: "table", value: params.get("table") || "" });
  const since = el("input", { type: "text", id: "audit-since", placeholder: "since (ISO 8601)", value: params.get("since") || "" });
  const form = el("form", { onsubmit: e => { e.preventDefault(); location.hash = `#/audit?${new URLSearchParams({ table: table.value, since: since.value })}`; } },
    table, " ", since, " ", el("button", { type: "submit" }, "Filter"));
  const body = el("div");
  view.replaceChildren(el("h1", {}, "Audit"), form, section("audit", "Audit trail (newest 200, lake admins)", body));
  const query = new URLSearchParams({ limit: "200" });
  if (params.get("table")) query.set("table", params.get("table"));
  if (params.get("since")) query.set("since", params.get("since"));
  await fill(body, () => api(`/api/audit?${query}`), records => grid([
    { label: "time", value: r => time(r.time) }, { label: "principal", value: r => r.principal }, { label: "operation", value: r => r.operation },
    { label: "table", value: r => r.table || "" }, { label: "outcome", value: r => el("span", { class: r.outcome === "succeeded" ? "running" : "failed" }, r.outcome) },
    { label: "rows", num: true, value: r => (r.rows ?? "") }, { label: "error", value: r => r.error || "" },
  ], records.slice().reverse(), { id: "audit-grid" }));
}

// ---------------------------------------------------------------- routing

async function route() {
  const hash = location.hash || "#/";
  try {
    if (hash.startsWith("#/table/")) await tableView(decodeURIComponent(hash.slice(8)));
    else if (hash.startsWith("#/streams")) await streamsView();
    else if (hash.startsWith("#/audit")) await auditView();
    else await tablesView();
  } catch (e) {
    view.replaceChildren(el("div", { class: "error", "data-testid": "error" }, e.message));
  }
}

window.addEventListener("hashchange", route);
api("/healthz").then(h => { document.getElementById("lake-location").textContent = h.lake; }).catch(() => {});
route();
