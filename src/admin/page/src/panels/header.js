// The header's figures ([data-stat=NAME][data-value=<raw number>]): the last
// 10 s from /api/summary's windows["10s"] (docs/metrics.md, "Windows"), and
// totals since start.
import { get, num, setText } from "../dom.js";
import { fmtAge, fmtCount, fmtRate, fmtSeconds } from "../format.js";

export function createHeader(root) {
  const stat = {};
  for (const el of root.querySelectorAll("[data-stat]")) stat[el.dataset.stat] = el;
  const uptime = root.querySelector("#uptime");

  function put(name, value, text) {
    const el = stat[name];
    if (!el) return;
    const raw = num(value);
    const v = raw == null ? "" : String(raw);
    if (el.dataset.value !== v) el.dataset.value = v;
    setText(el, text(raw));
  }

  return {
    update(snapshot) {
      const s = snapshot.summary || {};
      const w = get(s, "windows", "10s") || {};
      const windowed = num(w.seconds) > 0 && w.calls_per_s !== undefined;
      put("calls_per_s", windowed ? w.calls_per_s : get(s, "rates", "calls_per_s"), fmtRate);
      put("errors_per_s", windowed ? w.errors_per_s : get(s, "rates", "errors_per_s"), fmtRate);
      // No call finished in the window: the API's 0 stays the raw value, shown as a dash.
      const latencyText = num(get(w, "latency", "count")) > 0 ? fmtSeconds : () => "–";
      put("p50_s", windowed ? get(w, "latency", "p50_s") : null, latencyText);
      put("p99_s", windowed ? get(w, "latency", "p99_s") : null, latencyText);
      put("rpcs_finished", get(s, "rpcs", "finished"), fmtCount);
      put("connections_active", get(s, "connections", "downstream", "active"), fmtCount);
      const list = Array.isArray(snapshot.findings) ? snapshot.findings : [];
      const active = list.filter((f) => f.active).length;
      put("findings_active", active, (v) => String(v));
      stat.findings_active?.parentElement.classList.toggle("alert", active > 0);
      const worst = list.some((f) => f.active && f.severity === "critical")
        ? "critical"
        : list.some((f) => f.active && f.severity === "warning")
          ? "warning"
          : active
            ? "info"
            : "";
      if (stat.findings_active) stat.findings_active.parentElement.dataset.worst = worst;
      if (uptime) {
        const parts = [];
        if (s.version) parts.push(`v${s.version}`);
        if (num(s.uptime_s) != null) parts.push(`up ${fmtAge(s.uptime_s)}`);
        if (num(get(s, "workers", "count")) > 1) parts.push(`${s.workers.count} workers`);
        setText(uptime, parts.join(" · "));
      }
    },
  };
}
