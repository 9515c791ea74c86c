// Live connections (/api/connections, docs/metrics.md), one row each with
// both legs: the client side (downstream) above the server side (upstream).
// Age, streams against the limit (SETTINGS_MAX_CONCURRENT_STREAMS: upstream
// the server's, downstream the one grpcscope offers the client; RFC 9113
// section 6.5.2, unlimited when unsent), the SETTINGS each peer sent, TLS
// (ALPN, version, resumed), TCP_INFO (cwnd, smoothed RTT, retransmits) and
// the last GOAWAY with its code and debug data.
import { get, h, num, setText } from "../dom.js";
import { fmtAge, fmtBytes, fmtCount, fmtSeconds } from "../format.js";

const HOPS = [
  ["downstream", "client"],
  ["upstream", "server"],
];

// Short names for the SETTINGS (RFC 9113 section 6.5.2; RFC 8441, RFC 9218).
const SETTING_SHORT = {
  HEADER_TABLE_SIZE: "HTS",
  ENABLE_PUSH: "PUSH",
  MAX_CONCURRENT_STREAMS: "MCS",
  INITIAL_WINDOW_SIZE: "IWS",
  MAX_FRAME_SIZE: "MFS",
  MAX_HEADER_LIST_SIZE: "MHLS",
  ENABLE_CONNECT_PROTOCOL: "CONNECT",
  NO_RFC7540_PRIORITIES: "NO_PRIO",
};

const SIZE_SETTINGS = new Set(["HEADER_TABLE_SIZE", "INITIAL_WINDOW_SIZE", "MAX_FRAME_SIZE", "MAX_HEADER_LIST_SIZE"]);

// The host of "ip:port" or "[v6]:port".
export function peerHost(peer) {
  if (typeof peer !== "string") return "";
  const v6 = /^\[([^\]]+)\]:\d+$/.exec(peer);
  if (v6) return v6[1];
  const i = peer.lastIndexOf(":");
  return i > 0 && peer.indexOf(":") === i ? peer.slice(0, i) : peer;
}

export function createConnectionsPanel(section) {
  const tbody = section.querySelector("table[data-table=connections] tbody");
  const empty = section.querySelector(".empty");
  const label = section.querySelector("[data-label=connections]");
  let target = null;
  let shown = new Map(); // row -> its connection

  function matches(c) {
    if (!target || !c) return false;
    for (const t of target.list || []) {
      if (t.id === c.id && (t.worker == null || t.worker === c.worker)) return true;
    }
    if (target.client && peerHost(get(c, "downstream", "peer")) === target.client) return true;
    return false;
  }

  function legs(c, fn, cls) {
    return h(
      "td",
      { class: cls || null },
      HOPS.map(([hop]) => {
        const leg = c[hop];
        const none = h("span", { class: "muted", text: hop === "upstream" ? "not connected" : "–" });
        return h("div", { class: `leg ${hop}`, dataset: { hop } }, leg ? fn(leg, hop) : none);
      }),
    );
  }

  function streams(leg, hop, c) {
    const sent = get(leg, "settings", hop === "upstream" ? "received" : "sent") || {};
    const limit = num(sent.MAX_CONCURRENT_STREAMS);
    const active = num(leg.streams_active) ?? num(leg.active_streams) ?? num(c.calls_active);
    const limitText = limit == null ? "∞" : String(limit);
    const full = active != null && limit != null && active >= limit;
    return h(
      "span",
      {
        class: full ? "at-limit" : null,
        title: `${active == null ? "" : `${active} active, `}limit ${limit == null ? "unlimited (none sent)" : limit}; ${num(leg.streams) ?? 0} streams opened`,
      },
      // Active streams per connection when the API gives them; else the limit alone.
      active == null ? `limit ${limitText}` : `${active} / ${limitText}`,
      h("small", { class: "muted", text: ` (${fmtCount(num(leg.streams) ?? 0)} opened)` }),
    );
  }

  function settings(leg) {
    const received = get(leg, "settings", "received") || {};
    const entries = Object.entries(received);
    if (!entries.length) return h("span", { class: "muted", text: "none" });
    const text = entries
      .map(([k, v]) => `${SETTING_SHORT[k] || k} ${SIZE_SETTINGS.has(k) ? fmtBytes(v) : fmtCount(v)}`)
      .join(" · ");
    const title = entries.map(([k, v]) => `${k} = ${v}`).join("\n");
    return h("span", { class: "settings", title }, text);
  }

  function tls(leg) {
    const t = leg.tls;
    if (!t) return h("span", { class: "muted", text: "h2c" });
    return h(
      "span",
      { title: [t.cipher, t.group, t.sni ? `SNI ${t.sni}` : ""].filter(Boolean).join("\n") },
      `${t.version || "?"} · ${t.alpn || "none"}`,
      t.resumed ? h("span", { class: "tag resumed", text: "resumed" }) : h("span", { class: "tag full", text: "full" }),
    );
  }

  function tcp(leg, key) {
    const t = leg.tcp;
    if (!t) return h("span", { class: "muted", text: "–" });
    if (key === "cwnd") return h("span", { title: `${t.snd_cwnd} segments of ${t.snd_mss} B` }, fmtCount(t.snd_cwnd));
    if (key === "rtt") return h("span", { title: `min ${fmtSeconds(t.min_rtt_s)}, var ${fmtSeconds(t.rttvar_s)}` }, fmtSeconds(t.rtt_s));
    return h("span", { class: t.total_retransmits ? "warn" : null, title: `lost ${t.lost ?? 0}` }, fmtCount(t.total_retransmits));
  }

  function goaway(leg) {
    const g = leg.goaway;
    if (!g) return h("span", { class: "muted", text: "–" });
    const bad = g.error_code && g.error_code !== "NO_ERROR";
    return h(
      "span",
      { class: bad ? "crit" : null, title: `${g.direction || ""} · last stream ${g.last_stream_id} · code ${g.error_code_value}` },
      `${g.direction === "sent" ? "sent " : ""}${g.error_code}`,
      g.debug_data ? h("code", { class: "debug", text: ` ${g.debug_data}` }) : null,
    );
  }

  function row(c) {
    return h(
      "tr",
      { dataset: { conn: c.id, worker: c.worker }, class: matches(c) ? "highlight" : null },
      h("td", { class: "conn", title: `worker ${c.worker}, connection ${c.id}: ${c.calls} calls` }, `${c.worker}/${c.id}`, h("small", { class: "muted calls", text: `${fmtCount(c.calls)} calls` })),
      h("td", { class: "hop" }, HOPS.map(([hop, name]) => h("div", { class: `leg ${hop}`, text: name }))),
      legs(c, (leg) => h("span", { class: leg.open === false ? "closed" : null, title: leg.local ? `local ${leg.local}` : null, text: leg.peer || "?" }), "peer"),
      legs(c, (leg) => fmtAge(leg.age_s), "num"),
      legs(c, (leg, hop) => streams(leg, hop, c), "num"),
      legs(c, settings),
      legs(c, tls),
      legs(c, (leg) => tcp(leg, "cwnd"), "num"),
      legs(c, (leg) => tcp(leg, "rtt"), "num"),
      legs(c, (leg) => tcp(leg, "retrans"), "num"),
      legs(c, goaway),
    );
  }

  return {
    update(body) {
      const list = Array.isArray(get(body, "connections")) ? body.connections : [];
      shown = new Map();
      tbody.replaceChildren(
        ...list.map((c) => {
          const tr = row(c);
          shown.set(tr, c);
          return tr;
        }),
      );
      empty.hidden = list.length > 0;
      const count = num(get(body, "count"));
      if (label) setText(label, count != null && count > list.length ? `${list.length} of ${count} listed (--max-connections-listed)` : `${list.length} open`);
      if (list.length) section.dataset.ready = "true";
    },
    highlight(t) {
      target = t && ((t.list && t.list.length) || t.client) ? t : null;
      for (const tr of tbody.children) tr.classList.toggle("highlight", matches(shown.get(tr)));
    },
  };
}
