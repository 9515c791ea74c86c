// Findings (/api/findings, docs/findings.md): active first, as the API
// orders them, then the recently resolved. Each shows severity, title, the
// evidence (keys name their unit: _s, _bytes, _per_s, _share) and the fix.
// A click on a finding shows where its evidence is: the method row, the
// connection rows and its time on the timeline (onSelect).
import { h, num } from "../dom.js";
import { fmtBytes, fmtClock, fmtRate, fmtSeconds, fmtShare } from "../format.js";
import { findingKey } from "../store.js";

const MAX_RESOLVED = 8;
const OPEN_ACTIVE = 3; // the first active findings show their evidence; the rest fold it (the page stays short)

export function createFindingsPanel(section, { highlight }) {
  const list = section.querySelector("ol.findings");
  const empty = section.querySelector(".empty");
  let selected = null; // finding key
  const toggled = new Map(); // finding key -> open, where the user opened or closed its details
  let current = [];

  function targetOf(f) {
    const scope = f.scope || {};
    const ev = f.evidence || {};
    const connections = [];
    // "worker/id", as keepalive.ping_strikes_predicted gives it.
    for (const v of [ev.connection, scope.connection]) {
      if (typeof v === "string" && /^\d+\/\d+$/.test(v)) connections.push({ worker: +v.split("/")[0], id: +v.split("/")[1] });
      else if (typeof v === "number") connections.push({ id: v });
    }
    return {
      method: typeof scope.method === "string" ? scope.method : null,
      connections: { list: connections, client: typeof scope.client === "string" ? scope.client : null, hop: scope.hop || null },
      time: f.active ? f.last_seen || f.first_seen : f.resolved_at || f.last_seen,
      first: f.first_seen,
    };
  }

  function select(key) {
    selected = selected === key ? null : key;
    const f = selected ? current.find((x) => findingKey(x) === selected) : null;
    if (!f) selected = null;
    highlight(f ? Object.assign(targetOf(f), { time: f.first_seen }) : null);
    for (const li of list.children) li.classList.toggle("selected", li.dataset.key === selected);
  }

  function item(f, index) {
    const key = findingKey(f);
    const active = !!f.active;
    const openByDefault = active && index < OPEN_ACTIVE;
    const target = targetOf(f);
    const where = [];
    if (target.method) where.push(`method ${target.method}`);
    for (const c of target.connections.list) where.push(`connection ${c.worker != null ? c.worker + "/" : ""}${c.id}`);
    if (target.connections.client) where.push(`client ${target.connections.client}`);
    if (target.connections.hop) where.push(`${target.connections.hop} (${target.connections.hop === "upstream" ? "server" : "client"} side)`);
    const scopeText = Object.entries(f.scope || {})
      .map(([k, v]) => `${k} ${v}`)
      .join(" · ");
    // The first active findings show their evidence, the others fold it, unless the user chose.
    const open = toggled.has(key) ? toggled.get(key) : openByDefault;
    const details = h(
      "details",
      { class: "more", open: open || null },
      h("summary", { text: active ? "evidence and fix" : "details" }),
      evidenceList(f.evidence),
      f.recommendation ? h("p", { class: "fix" }, h("strong", { text: "Fix: " }), f.recommendation) : null,
    );
    details.addEventListener("toggle", () => {
      if (details.open === openByDefault) toggled.delete(key);
      else toggled.set(key, details.open);
    });
    const li = h(
      "li",
      {
        class: `finding sev-${f.severity}${active ? "" : " resolved"}${selected === key ? " selected" : ""}`,
        dataset: { findingId: f.id, severity: f.severity, active: String(active), key },
        tabindex: "0",
        title: "Show where the evidence is (method, connection, time)",
      },
      h(
        "div",
        { class: "finding-head" },
        h("span", { class: "sev", text: f.severity }),
        h("span", { class: "title", text: f.title || f.id }),
        h("code", { class: "fid", text: f.id }),
      ),
      h(
        "div",
        { class: "finding-meta" },
        h("span", { text: f.layer || "" }),
        scopeText ? h("span", { text: scopeText }) : null,
        h("span", { text: `raised ${num(f.count) ?? 1}×, first ${fmtClock(f.first_seen)}` }),
        active
          ? h("span", { text: `last ${fmtClock(f.last_seen)}` })
          : h("span", { class: "resolved-at", text: `resolved ${fmtClock(f.resolved_at)}` }),
      ),
      where.length ? h("div", { class: "where", text: `evidence: ${where.join(", ")}` }) : null,
      details,
    );
    li.addEventListener("click", (e) => {
      if (e.target.closest("summary, details > :not(summary), a")) return; // reading, not selecting
      select(key);
    });
    li.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        select(key);
      }
    });
    return li;
  }

  return {
    update(findings) {
      const all = Array.isArray(findings) ? findings : [];
      const active = all.filter((f) => f.active);
      const resolved = all.filter((f) => !f.active).slice(0, MAX_RESOLVED);
      current = active.concat(resolved);
      const keys = new Set(current.map(findingKey));
      for (const key of toggled.keys()) if (!keys.has(key)) toggled.delete(key);
      const items = current.map((f, i) => item(f, i));
      const hidden = all.length - current.length;
      if (hidden > 0) items.push(h("li", { class: "more-resolved", text: `and ${hidden} more resolved (/api/findings)` }));
      list.replaceChildren(...items);
      empty.hidden = all.length > 0;
      empty.textContent = all.length ? "" : "No findings: nothing looks wrong so far. grpcscope evaluates its rules once a second (docs/findings.md).";
      section.dataset.ready = "true";
      // A selected finding that is gone clears its highlight.
      if (selected && !current.some((f) => findingKey(f) === selected)) select(selected);
    },
  };
}

// The evidence, each value in the unit its key names.
function evidenceList(evidence) {
  const entries = Object.entries(evidence || {});
  if (!entries.length) return null;
  return h(
    "dl",
    { class: "evidence" },
    entries.map(([k, v]) => h("div", null, h("dt", { text: k }), h("dd", { text: evidenceValue(k, v) }))),
  );
}

export function evidenceValue(key, v) {
  if (Array.isArray(v)) return v.map((x) => evidenceValue(key, x)).join(", ");
  if (v === null || v === undefined) return "–";
  if (typeof v === "boolean") return v ? "yes" : "no";
  if (typeof v === "object") return JSON.stringify(v);
  if (typeof v !== "number") return String(v);
  if (/_share$/.test(key)) return fmtShare(v);
  if (/(^|_)bytes_per_s$/.test(key)) return fmtBytes(v) + "/s";
  if (/_per_s$/.test(key)) return fmtRate(v) + "/s";
  if (/_bytes$/.test(key) || /_bytes_/.test(key)) return fmtBytes(v);
  if (/_s$/.test(key) || /_s_/.test(key)) return fmtSeconds(v);
  return Number.isInteger(v) ? String(v) : String(Math.round(v * 1000) / 1000);
}
