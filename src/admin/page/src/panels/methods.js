// Per-method table (/api/methods, docs/metrics.md): calls, calls/s and errors
// by grpc-status; latency p50/p90/p99 of the last 10 s (windows["10s"]) or,
// with the toggle, since start; calls in progress; message sizes p50/p99/max
// per direction, each drawn as a small bar on a log scale up to gRPC's
// default 4 MiB receive limit (grpc.max_receive_message_length); the share of
// compressed messages. Sortable by every column.
import { get, h, num } from "../dom.js";
import { fmtBytes, fmtCount, fmtRate, fmtSeconds, fmtShare } from "../format.js";

export const DEFAULT_LIMIT_BYTES = 4 * 1024 * 1024;
const LOG2_LIMIT = Math.log2(DEFAULT_LIMIT_BYTES);

const SIZE_COLS = ["request_p50_bytes", "request_p99_bytes", "request_max_bytes", "response_p50_bytes", "response_p99_bytes", "response_max_bytes"];

export function createMethodsPanel(section) {
  const table = section.querySelector("table[data-table=methods]");
  const tbody = table.querySelector("tbody");
  const empty = section.querySelector(".empty");
  const toggle = section.querySelector("input[data-toggle=cumulative]");
  const latencyLabel = table.querySelector("th[data-label=latency]");
  let sort = { key: "calls", dir: -1 };
  let highlighted = null;
  let last = null;

  for (const th of table.querySelectorAll("th[data-sort]")) {
    th.tabIndex = 0;
    const go = () => {
      const key = th.dataset.sort;
      sort = sort.key === key ? { key, dir: -sort.dir } : { key, dir: key === "method" ? 1 : -1 };
      draw();
    };
    th.addEventListener("click", go);
    th.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        go();
      }
    });
  }
  if (toggle) toggle.addEventListener("change", () => draw());

  function rowsOf(body) {
    const list = Array.isArray(get(body, "methods")) ? body.methods : [];
    const cumulative = !!(toggle && toggle.checked);
    return list.map((m) => {
      const w = get(m, "windows", "10s") || {};
      const lat = cumulative ? m.latency || {} : w.latency || {};
      const side = (d) => get(m, d, "size_bytes") || {};
      const messages = (num(get(m, "request", "messages")) || 0) + (num(get(m, "response", "messages")) || 0);
      const compressed =
        (num(get(m, "request", "compressed_messages")) || 0) + (num(get(m, "response", "compressed_messages")) || 0);
      return {
        method: m.method,
        calls: num(get(m, "calls", "finished")) ?? 0,
        calls_per_s: num(w.calls_per_s) ?? 0,
        errors: num(m.errors) ?? 0,
        status: m.status || {},
        latency_count: num(lat.count) ?? 0,
        p50_s: num(lat.p50_s),
        p90_s: num(lat.p90_s),
        p99_s: num(lat.p99_s),
        active: Math.max(0, (num(get(m, "calls", "started")) ?? 0) - (num(get(m, "calls", "finished")) ?? 0)),
        request_messages: num(get(m, "request", "messages")) ?? 0,
        response_messages: num(get(m, "response", "messages")) ?? 0,
        request_p50_bytes: num(side("request").p50),
        request_p99_bytes: num(side("request").p99),
        request_max_bytes: num(side("request").max),
        response_p50_bytes: num(side("response").p50),
        response_p99_bytes: num(side("response").p99),
        response_max_bytes: num(side("response").max),
        compressed_share: messages ? compressed / messages : 0,
      };
    });
  }

  function cell(col, value, text, extra) {
    return h("td", { class: "num", dataset: { col, value: value == null ? "" : value } }, text, extra);
  }

  function sizeCell(col, value, messages) {
    if (!messages || value == null) return cell(col, value, "–");
    const frac = Math.min(1, Math.log2(Math.max(1, value)) / LOG2_LIMIT);
    const level = value >= DEFAULT_LIMIT_BYTES ? "crit" : value >= DEFAULT_LIMIT_BYTES / 4 ? "warn" : "ok";
    const pct = (frac * 100).toFixed(1);
    return h(
      "td",
      { class: "num size", dataset: { col, value }, title: `${fmtBytes(value)} of the 4 MiB default limit (${((value / DEFAULT_LIMIT_BYTES) * 100).toFixed(2)} %)` },
      fmtBytes(value),
      h("span", { class: `bar ${level}`, "aria-hidden": "true" }, h("span", { style: `width:${pct}%` })),
    );
  }

  function errorsCell(r) {
    const codes = Object.entries(r.status)
      .filter(([name]) => name !== "OK")
      .sort((a, b) => b[1] - a[1]);
    return h(
      "td",
      { class: `num${r.errors ? " has-errors" : ""}`, dataset: { col: "errors", value: r.errors } },
      fmtCount(r.errors),
      codes.length
        ? h("span", { class: "codes" }, codes.map(([name, n]) => h("span", { class: "code", dataset: { status: name }, text: `${name} ${fmtCount(n)}` })))
        : null,
    );
  }

  function latencyCell(col, r) {
    return cell(col, r[col], r.latency_count ? fmtSeconds(r[col]) : "–");
  }

  function compare(a, b) {
    const k = sort.key;
    if (k === "method") return sort.dir * String(a.method).localeCompare(String(b.method));
    const x = a[k] ?? -Infinity;
    const y = b[k] ?? -Infinity;
    if (x !== y) return sort.dir * (x < y ? -1 : 1);
    return String(a.method).localeCompare(String(b.method));
  }

  function draw() {
    const cumulative = !!(toggle && toggle.checked);
    if (latencyLabel) latencyLabel.textContent = cumulative ? "latency, since start" : "latency, last 10 s";
    for (const th of table.querySelectorAll("th[data-sort]")) {
      if (th.dataset.sort === sort.key) th.setAttribute("aria-sort", sort.dir > 0 ? "ascending" : "descending");
      else th.removeAttribute("aria-sort");
    }
    if (!last) return;
    const rows = rowsOf(last).sort(compare);
    tbody.replaceChildren(
      ...rows.map((r) =>
        h(
          "tr",
          { dataset: { method: r.method }, class: r.method === highlighted ? "highlight" : null },
          h("th", { scope: "row", class: "method", title: r.method, text: r.method }),
          cell("calls", r.calls, fmtCount(r.calls)),
          cell("calls_per_s", r.calls_per_s, fmtRate(r.calls_per_s)),
          errorsCell(r),
          latencyCell("p50_s", r),
          latencyCell("p90_s", r),
          latencyCell("p99_s", r),
          cell("active", r.active, fmtCount(r.active)),
          SIZE_COLS.map((c) => sizeCell(c, r[c], c.startsWith("request") ? r.request_messages : r.response_messages)),
          cell("compressed_share", r.compressed_share, r.request_messages + r.response_messages ? fmtShare(r.compressed_share) : "–"),
        ),
      ),
    );
    empty.hidden = rows.length > 0;
    if (rows.length) section.dataset.ready = "true";
  }

  return {
    update(methodsBody) {
      last = methodsBody;
      draw();
    },
    highlight(method) {
      highlighted = method || null;
      for (const tr of tbody.children) tr.classList.toggle("highlight", tr.dataset.method === highlighted);
    },
  };
}
