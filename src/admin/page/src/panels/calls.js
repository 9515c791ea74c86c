// The live call log: `event: rpc` from /api/events, one per finished call
// (docs/metrics.md, "/api/events"). Events are buffered and shown at most
// once a second; the newest 500 are kept. A filter matches the method, the
// status (name or code) and the peer; "pause" freezes the table while events
// keep arriving (and are kept) underneath.
import { h, num, setText } from "../dom.js";
import { fmtBytes, fmtSeconds } from "../format.js";

export function createCallsPanel(section, store) {
  const tbody = section.querySelector("tbody");
  const empty = section.querySelector(".empty");
  const filter = section.querySelector("input[data-filter=calls]");
  const pause = section.querySelector("button[data-action=pause]");
  const label = section.querySelector("[data-label=calls]");
  let pending = [];
  let paused = false;
  let drawnVersion = -1;
  let drawnFilter = null;
  let newWhilePaused = 0;
  let frozen = null; // the calls shown when paused
  const report = () => document.documentElement.classList.contains("is-report");

  pause.addEventListener("click", () => {
    paused = !paused;
    frozen = paused ? store.calls.slice() : null;
    pause.textContent = paused ? "resume" : "pause";
    pause.setAttribute("aria-pressed", String(paused));
    newWhilePaused = 0;
    update(true);
  });
  filter.addEventListener("input", () => update(true));

  function matches(c, words) {
    if (!words.length) return true;
    const text = `${c.method ?? ""} ${c.status ?? ""} ${c.status_code ?? ""} ${c.peer ?? ""}`.toLowerCase();
    return words.every((w) => text.includes(w));
  }

  function row(c) {
    const ok = c.status === "OK" || c.status_code === 0;
    const t = num(c.time_ms);
    return h(
      "tr",
      { class: ok ? null : "error", dataset: { status: c.status ?? "" } },
      h("td", { class: "time", text: t == null ? "–" : new Date(t).toLocaleTimeString([], { hour12: false }) + "." + String(t % 1000).padStart(3, "0") }),
      h("td", { class: "method", title: c.method ?? "", text: c.method ?? "" }),
      h(
        "td",
        { class: ok ? "status" : "status crit", title: [c.grpc_message, c.status_source, c.reset ? `reset ${c.reset.code} by ${c.reset.by}` : ""].filter(Boolean).join(" · ") },
        `${c.status ?? "?"}`,
        c.answered_by_proxy ? h("small", { class: "muted", text: " (by grpcscope)" }) : null,
      ),
      h("td", { class: "num", text: fmtSeconds(c.duration_s) }),
      h("td", { class: "num", text: fmtSeconds(c.upstream_s) }),
      h("td", { class: "num", text: fmtSeconds(c.proxy_s) }),
      h("td", { class: "num", title: `${c.request?.messages ?? 0} messages`, text: fmtBytes(c.request?.bytes) }),
      h("td", { class: "num", title: `${c.response?.messages ?? 0} messages`, text: fmtBytes(c.response?.bytes) }),
      h("td", { class: "peer", text: c.peer ?? "" }),
      h("td", { class: "conn", text: c.connection != null ? `${c.worker ?? 0}/${c.connection}` : "" }),
    );
  }

  function update(force) {
    if (pending.length) {
      if (paused) newWhilePaused += pending.length;
      store.addCalls(pending);
      pending = [];
    }
    const query = filter.value.trim().toLowerCase();
    const pausedText = () => `paused: ${newWhilePaused} new calls not shown`;
    if (paused && !force) {
      setText(label, pausedText());
      return;
    }
    if (!force && drawnVersion === store.callsVersion && drawnFilter === query) return;
    drawnVersion = store.callsVersion;
    drawnFilter = query;
    const words = query.split(/\s+/).filter(Boolean);
    const calls = frozen || store.calls;
    const rows = [];
    for (let i = calls.length - 1; i >= 0; i--) {
      if (matches(calls[i], words)) rows.push(row(calls[i]));
    }
    tbody.replaceChildren(...rows);
    empty.hidden = calls.length > 0;
    setText(label, paused ? pausedText() : `${rows.length} shown of the last ${calls.length}` + (report() ? "" : ` (${store.callsTotal} since the page opened)`));
    if (store.calls.length) section.dataset.ready = "true";
  }

  return {
    // A finished call (buffered until the next update).
    push(...calls) {
      for (const c of calls) pending.push(c);
      if (pending.length > 500) pending.splice(0, pending.length - 500);
    },
    update: () => update(false),
  };
}
