// HTTP/2 flow control per connection and hop, over time (RFC 9113 §5.2,
// §6.9): what this leg may still send (the connection's send window and the
// busiest streams'), what TCP has in flight against it, and the
// bandwidth-delay product (throughput × RTT): a window below the BDP caps
// the throughput at window / RTT. Seconds the leg spent blocked on the
// peer's window are shaded, and each second the peer sent WINDOW_UPDATEs
// gets a tick at the bottom (taller for more).
//
// Input: `point.flows` of /api/live's Points (docs/metrics.md): at most 8
// connections a second (the busiest), both hops each. A chart is kept while
// its connection was in a Point of the last 60 s, and destroyed after.
//
// createFlowPanel(el) -> { update(points) }

import { chartColors, alpha } from "./theme.js";
import {
  makeChart, destroyChart, lastPoints, pointsKey, xColumn, num, pointX, fmtBytes, fmtMs, fmtCount, fmtClock,
  timeAxis, valueAxis, lineSeries, legendOnlySeries, LEGEND_SCALE, timeCursor, el as h, xToPx,
} from "./common.js";

const MAX_CONNECTIONS = 8;
const GONE_AFTER_S = 60;
const STREAM_SLOTS = 4;
const HEIGHT = 170;
const HOPS = ["downstream", "upstream"];

// Columns of a flow chart's data.
const C_CONN = 1;
const C_STREAM0 = 2;
const C_FLIGHT = C_STREAM0 + STREAM_SLOTS;
const C_BDP = C_FLIGHT + 1;
const C_STALL = C_BDP + 1;
const C_WU = C_STALL + 1;
const N_COLS = C_WU + 1;

function drawStalls(u) {
  const stalls = u.data[C_STALL];
  const xs = u.data[0];
  if (!stalls) return;
  const { ctx, bbox } = u;
  const warn = chartColors().warn;
  ctx.save();
  for (let i = 0; i < xs.length; i++) {
    const s = stalls[i];
    if (!(s > 0)) continue;
    // A Point describes the second that ended at its wall clock.
    let x1 = xToPx(u, xs[i]);
    let x0 = u.valToPos(xs[i] - 1, "x", true);
    if (x1 == null) continue;
    x0 = Math.max(bbox.left, x0);
    ctx.fillStyle = alpha(warn, 0.12 + 0.38 * Math.min(1, s));
    ctx.fillRect(x0, bbox.top, Math.max(1, x1 - x0), bbox.height);
  }
  ctx.restore();
}

function drawWindowUpdates(u) {
  const wus = u.data[C_WU];
  const xs = u.data[0];
  if (!wus) return;
  const { ctx, bbox } = u;
  const pr = devicePixelRatio || 1;
  // Tick heights follow the count against the window's busiest second, so
  // a steady cadence reads as an even comb and a burst or a pause stands out.
  let most = 0;
  for (const n of wus) if (n > most) most = n;
  ctx.save();
  ctx.strokeStyle = alpha(chartColors().series[5], 0.8);
  ctx.lineWidth = Math.max(1, Math.min(1.5 * pr, (bbox.width / Math.max(1, xs.length)) * 0.6));
  ctx.beginPath();
  const bottom = bbox.top + bbox.height;
  for (let i = 0; i < xs.length; i++) {
    const n = wus[i];
    if (!(n > 0)) continue;
    const px = xToPx(u, xs[i]);
    if (px == null) continue;
    const len = (2 + 10 * (n / most)) * pr;
    ctx.moveTo(px, bottom);
    ctx.lineTo(px, bottom - len);
  }
  ctx.stroke();
  ctx.restore();
}

function makeFlowChart(container, conn, hop, peer) {
  const box = h("div", { "data-chart": "flow", "data-conn": String(conn), "data-hop": hop });
  box.style.gridColumn = hop === "downstream" ? "1" : "2";
  container.appendChild(box);
  const ids = Array.from({ length: STREAM_SLOTS }, () => []);
  const streamValue = (slot) => (u, v, si, idx) => {
    if (v == null) return "–";
    const id = idx != null ? ids[slot][idx] : null;
    return id != null ? `#${id} ${fmtBytes(v)}` : fmtBytes(v);
  };
  const series = [
    { value: (u, v) => fmtClock(v) },
    lineSeries("conn window", 0, "bytes", fmtBytes, { width: 2 }),
  ];
  for (let k = 0; k < STREAM_SLOTS; k++) {
    series.push(lineSeries(`s${k + 1}`, [1, 3, 4, 5][k], "bytes", fmtBytes, {
      width: 1, dash: [4, 3], value: streamValue(k),
    }));
  }
  series.push(lineSeries("in flight", 2, "bytes", fmtBytes, {
    width: 1, fill: () => alpha(chartColors().series[2], 0.18),
  }));
  series.push(lineSeries("BDP", "fg", "bytes", fmtBytes, { width: 1.5, dash: [7, 4] }));
  series.push(legendOnlySeries("stalled", "warn", (v) => (v == null ? "–" : fmtMs(v * 1000))));
  series.push(legendOnlySeries("WINDOW_UPDATEs", 5, (v) => (v == null ? "–" : `${fmtCount(v)}/s`)));

  const who = hop === "downstream" ? "client" : "server";
  const title = `conn ${conn} · ${hop} (${who} ${peer || "?"})`;
  const u = makeChart(box, {
    title,
    cursor: timeCursor(),
    scales: Object.assign({
      x: { time: true },
      bytes: { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 65535] },
    }, LEGEND_SCALE),
    series,
    axes: [timeAxis(), valueAxis("bytes", fmtBytes)],
    hooks: { drawAxes: [drawStalls], draw: [drawWindowUpdates] },
  }, Array.from({ length: N_COLS }, () => []), HEIGHT);
  return { box, u, ids, conn, hop, peer, title, gone: "" };
}

export function createFlowPanel(root) {
  root.classList.add("gs-charts");
  h("div", {
    class: "gs-marks-legend",
    text: "send windows of the connection and of its busiest streams (s1..s4, #stream id), bytes in flight (TCP) "
      + "against them and the BDP (throughput × RTT); shaded: seconds stalled on the peer's window; "
      + "ticks at the bottom: WINDOW_UPDATEs received (taller for more)",
  }, root);
  const list = h("div", { class: "gs-flow-list" }, root);
  const empty = h("div", { class: "gs-chart-empty", text: "no connection has carried data yet" }, root);
  const charts = new Map(); // "conn:hop" -> chart
  const rows = new Map(); // conn -> row element
  let lastKey = null;

  function rowFor(conn) {
    let row = rows.get(conn);
    if (row) return row;
    row = h("div", { class: "gs-chart-grid gs-flow-conn", "data-flow-conn": String(conn) }, list);
    rows.set(conn, row);
    return row;
  }

  // Rows: the connections of the latest Point first, then those idle or
  // closed since (most recent first); ids within each (they grow with time).
  function orderRows(order) {
    let prev = null;
    for (const conn of order) {
      const row = rows.get(conn);
      if (!row) continue;
      const want = prev ? prev.nextSibling : list.firstChild;
      if (row !== want) list.insertBefore(row, want);
      prev = row;
    }
  }

  function update(all) {
    const points = lastPoints(all);
    const key = pointsKey(points);
    if (key === lastKey) return;
    lastKey = key;
    const xs = xColumn(points);
    const n = points.length;
    const latest = n ? pointX(points[n - 1]) : null;

    // Each (conn, hop): its flow at every point (or null), when last seen.
    const seen = new Map();
    const connSeen = new Map(); // conn -> {last, busy}
    for (let i = 0; i < n; i++) {
      const flows = points[i] && points[i].flows;
      if (!Array.isArray(flows)) continue;
      const x = pointX(points[i]);
      for (const f of flows) {
        if (!f || f.conn == null || !HOPS.includes(f.hop)) continue;
        const key = `${f.conn}:${f.hop}`;
        let s = seen.get(key);
        if (!s) seen.set(key, (s = { conn: f.conn, hop: f.hop, peer: f.peer, at: new Array(n).fill(null) }));
        s.at[i] = f;
        if (f.peer) s.peer = f.peer;
        const c = connSeen.get(f.conn) || { last: -Infinity, busy: 0 };
        if (x != null && x >= c.last) {
          c.busy = x > c.last ? 0 : c.busy;
          c.last = x;
          c.busy += num(f.throughput_bps) || 0;
        }
        connSeen.set(f.conn, c);
      }
    }

    // The connections to show: seen in the last 60 s, the most recent
    // (then the busiest) 8.
    const keep = [...connSeen.entries()]
      .filter(([, c]) => latest == null || c.last >= latest - GONE_AFTER_S)
      .sort((a, b) => b[1].last - a[1].last || b[1].busy - a[1].busy)
      .slice(0, MAX_CONNECTIONS)
      .map(([conn]) => conn);
    const keepSet = new Set(keep.map(String));

    for (const [key, ch] of charts) {
      if (!seen.has(key) || !keepSet.has(String(ch.conn))) {
        destroyChart(ch.u);
        ch.box.remove();
        charts.delete(key);
      }
    }
    for (const [conn, row] of rows) {
      if (!keepSet.has(String(conn))) {
        row.remove();
        rows.delete(conn);
      }
    }

    const order = [...keep].sort((a, b) => {
      const la = connSeen.get(a).last, lb = connSeen.get(b).last;
      const na = la >= latest, nb = lb >= latest;
      if (na !== nb) return na ? -1 : 1;
      if (!na && la !== lb) return lb - la;
      return Number(a) - Number(b);
    });
    for (const conn of order) {
      for (const hop of HOPS) {
        const key = `${conn}:${hop}`;
        const s = seen.get(key);
        if (!s) continue;
        let ch = charts.get(key);
        if (!ch) {
          ch = makeFlowChart(rowFor(conn), conn, hop, s.peer);
          charts.set(key, ch);
        }
        ch.u.setData(columns(s.at, xs, ch.ids));
        const last = connSeen.get(conn).last;
        const gone = latest != null && last < latest ? ` · not listed since ${fmtClock(last)}` : "";
        if (ch.gone !== gone) {
          ch.gone = gone;
          const title = ch.u.root.querySelector(".u-title");
          if (title) title.textContent = ch.title + gone;
        }
      }
    }
    orderRows(order);
    empty.hidden = charts.size > 0;
  }

  return { update };
}

function columns(at, xs, ids) {
  const n = xs.length;
  const cols = [xs];
  for (let c = 1; c < N_COLS; c++) cols.push(new Array(n).fill(null));
  for (let k = 0; k < STREAM_SLOTS; k++) ids[k] = new Array(n).fill(null);
  for (let i = 0; i < n; i++) {
    const f = at[i];
    if (!f) continue;
    cols[C_CONN][i] = num(f.send_window);
    const streams = Array.isArray(f.streams) ? f.streams : [];
    for (let k = 0; k < STREAM_SLOTS && k < streams.length; k++) {
      cols[C_STREAM0 + k][i] = num(streams[k] && streams[k].send_window);
      ids[k][i] = streams[k] ? streams[k].id : null;
    }
    cols[C_FLIGHT][i] = num(f.in_flight);
    cols[C_BDP][i] = num(f.bdp_bytes);
    cols[C_STALL][i] = num(f.stalled_s);
    cols[C_WU][i] = num(f.window_updates);
  }
  return cols;
}
