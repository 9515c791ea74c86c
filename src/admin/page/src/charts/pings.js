// PINGs and round trips per hop, over time.
//
// Top: the RTT of the PINGs grpcscope relayed (p50 of that second; grpcscope
// never sends PINGs of its own, docs/architecture.md) against the kernel's
// TCP srtt (TCP_INFO). Bottom: PINGs per second as a gRPC server's ping
// policy classes them (docs/findings.md, keepalive.ping_strikes_predicted):
// keepalive, BDP probes, and PINGs after the server sent data (those reset
// the strikes), stacked; and the strikes of the worst live connection
// against the policy: 2 are tolerated, the 3rd gets GOAWAY ENHANCE_YOUR_CALM
// "too_many_pings".
//
// createPingPanel(el) -> { update(points) }

import { chartColors, alpha } from "./theme.js";
import {
  uPlot, makeChart, lastPoints, pointsKey, xColumn, num, get, fmtMs, fmtCount, fmtClock,
  timeAxis, valueAxis, lineSeries, timeCursor, colorOf, el as h,
} from "./common.js";

const HOPS = ["downstream", "upstream"];
const HEIGHT = 160;
const STRIKES_TOLERATED = 2;

const bars = uPlot.paths.bars({ size: [0.8, 12, 1], align: 0 });
const steps = uPlot.paths.stepped({ align: 1 });

function drawLimit(u) {
  const { ctx, bbox } = u;
  const y = u.valToPos(STRIKES_TOLERATED, "strikes", true);
  if (!(y >= bbox.top && y <= bbox.top + bbox.height)) return;
  const pr = devicePixelRatio || 1;
  const crit = chartColors().crit;
  ctx.save();
  ctx.strokeStyle = alpha(crit, 0.8);
  ctx.lineWidth = 1.2 * pr;
  ctx.setLineDash([6 * pr, 4 * pr]);
  ctx.beginPath();
  ctx.moveTo(bbox.left, y);
  ctx.lineTo(bbox.left + bbox.width, y);
  ctx.stroke();
  ctx.setLineDash([]);
  const text = "strike limit: 2 tolerated, the 3rd → GOAWAY too_many_pings";
  ctx.font = `${11 * pr}px system-ui, sans-serif`;
  ctx.textAlign = "right";
  ctx.textBaseline = "bottom";
  const w = ctx.measureText(text).width;
  const right = bbox.left + bbox.width - 4 * pr;
  ctx.fillStyle = alpha(chartColors().bg, 0.8);
  ctx.fillRect(right - w - 3 * pr, y - 15 * pr, w + 6 * pr, 13 * pr);
  ctx.fillStyle = crit;
  ctx.fillText(text, right, y - 2 * pr);
  ctx.restore();
}

function makeHop(grid, hop) {
  const col = hop === "downstream" ? "1" : "2";
  const rttBox = h("div", { "data-hop": hop, "data-rtt": "rtt" }, grid);
  rttBox.style.gridColumn = col;
  rttBox.style.gridRow = "1";
  const pingBox = h("div", { "data-hop": hop, "data-rtt": "pings" }, grid);
  pingBox.style.gridColumn = col;
  pingBox.style.gridRow = "2";

  const rtt = makeChart(rttBox, {
    title: `${hop === "downstream" ? "client leg" : "server leg"} (${hop}): round trip`,
    cursor: timeCursor(),
    scales: { x: { time: true }, ms: { range: (u, min, max) => [0, max > 0 ? max * 1.15 : 1] } },
    series: [
      { value: (u, v) => fmtClock(v) },
      // Relayed PINGs are sparse: a dot for a second between gaps.
      lineSeries("relayed PING RTT", 0, "ms", fmtMs, {
        width: 2, points: { show: true, size: 5, fill: colorOf(0) },
      }),
      lineSeries("TCP srtt", 2, "ms", fmtMs),
    ],
    axes: [timeAxis(), valueAxis("ms", fmtMs)],
  }, [[], [], []], HEIGHT);

  // Raw counts per class (the bars are stacked sums).
  const raw = { ka: [], bdp: [], asd: [] };
  const rawValue = (key) => (u, v, si, idx) => (idx == null || raw[key][idx] == null ? "–" : `${fmtCount(raw[key][idx])}/s`);
  const barSeries = (label, colorKey, key) => ({
    label,
    scale: "pings",
    stroke: colorOf(colorKey),
    fill: () => alpha(colorOf(colorKey)(), 0.75),
    width: 0,
    paths: bars,
    points: { show: false },
    value: rawValue(key),
  });
  const pings = makeChart(pingBox, {
    title: `${hop}: PINGs and strikes`,
    cursor: timeCursor(),
    scales: {
      x: { time: true },
      pings: { range: (u, min, max) => [0, max > 0 ? Math.max(2, max * 1.15) : 2] },
      strikes: { range: (u, min, max) => [0, Math.max(STRIKES_TOLERATED + 1.5, (max || 0) + 0.5)] },
    },
    series: [
      { value: (u, v) => fmtClock(v) },
      barSeries("after server data", 2, "asd"),
      barSeries("BDP", 3, "bdp"),
      barSeries("keepalive", 4, "ka"),
      lineSeries("strikes", "crit", "strikes", (v) => (v == null ? "–" : String(v)), { width: 2, paths: steps }),
    ],
    axes: [
      timeAxis(),
      valueAxis("pings", (v) => `${fmtCount(v)}/s`, { incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] }),
      valueAxis("strikes", (v) => String(v), { side: 1, grid: { show: false }, incrs: [1, 2, 5, 10], label: "strikes", labelSize: 16, labelFont: "11px system-ui, sans-serif" }),
    ],
    hooks: { draw: [drawLimit] },
  }, [[], [], [], [], []], HEIGHT);

  return { rtt, pings, raw };
}

export function createPingPanel(root) {
  root.classList.add("gs-charts");
  const wrap = h("div", { "data-chart": "rtt", class: "gs-chart-grid" }, root);
  const hops = HOPS.map((hop) => ({ hop, ...makeHop(wrap, hop) }));
  let lastKey = null;

  function update(all) {
    const points = lastPoints(all);
    const key = pointsKey(points);
    if (key === lastKey) return;
    lastKey = key;
    const xs = xColumn(points);
    const n = points.length;
    for (const hp of hops) {
      const ping = new Array(n), tcp = new Array(n);
      const asd = new Array(n), bdp = new Array(n), ka = new Array(n), strikes = new Array(n);
      const raw = { ka: new Array(n), bdp: new Array(n), asd: new Array(n) };
      for (let i = 0; i < n; i++) {
        const p = points[i];
        const ps = num(get(p, "rtt", hp.hop, "ping_s"));
        const ts = num(get(p, "rtt", hp.hop, "tcp_s"));
        ping[i] = ps == null ? null : ps * 1000;
        tcp[i] = ts == null ? null : ts * 1000;
        const pg = get(p, "pings", hp.hop);
        const k = num(pg && pg.keepalive);
        const b = num(pg && pg.bdp);
        const a = num(pg && pg.after_server_data);
        raw.ka[i] = k;
        raw.bdp[i] = b;
        raw.asd[i] = a;
        // Stacked: keepalive at the bottom, then BDP, then after-data.
        ka[i] = k;
        bdp[i] = k == null && b == null ? null : (k || 0) + (b || 0);
        asd[i] = bdp[i] == null && a == null ? null : (bdp[i] || 0) + (a || 0);
        strikes[i] = num(pg && pg.strikes);
      }
      hp.raw.ka = raw.ka;
      hp.raw.bdp = raw.bdp;
      hp.raw.asd = raw.asd;
      hp.rtt.setData([xs, ping, tcp]);
      hp.pings.setData([xs, asd, bdp, ka, strikes]);
    }
  }

  return { update };
}
