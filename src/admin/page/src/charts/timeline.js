// Latency and throughput over time, on one time axis, with markers at the
// seconds something happened to connections or a finding was raised.
//
// Input: the Points of /api/live (one a second; docs/metrics.md). Latency
// is p50/p99 of the calls that finished in that second (null when none
// did: a gap); throughput is calls/s, errors/s and the DATA payload the
// client leg carried (bytes_per_s.downstream sent + received).
//
// createTimeline(el) -> { update(points), markTime(t) }

import {
  chartColors, alpha,
} from "./theme.js";
import {
  makeChart, lastPoints, pointsKey, xColumn, num, pointX, get, fmtMs, fmtRate, fmtBytesRate, fmtClock,
  timeAxis, valueAxis, lineSeries, timeCursor, colorOf, makeTip, el as h, escapeHtml, xToPx,
} from "./common.js";

// The markers, in drawing order. `shape` is drawn on the canvas and, as a
// small SVG, in the legend.
export const MARK_KINDS = [
  { key: "goaway", label: "GOAWAY", color: "warn", shape: "triangle" },
  { key: "rst_stream", label: "RST_STREAM", color: 4, shape: "cross" },
  { key: "upstream_failures", label: "upstream failure", color: "crit", shape: "dot" },
  { key: "reconnects", label: "reconnect", color: 3, shape: "square" },
  { key: "findings_raised", label: "finding raised", color: 5, shape: "diamond" },
];

const HEIGHT = 190;
const LEFT_AXIS = 62;
const RIGHT_AXIS = 78;

function markColor(kind) {
  return colorOf(kind.color)();
}

function shapePath(ctx, shape, x, y, r) {
  ctx.beginPath();
  switch (shape) {
    case "triangle":
      ctx.moveTo(x - r, y - r * 0.8);
      ctx.lineTo(x + r, y - r * 0.8);
      ctx.lineTo(x, y + r);
      ctx.closePath();
      break;
    case "cross":
      ctx.moveTo(x - r, y - r);
      ctx.lineTo(x + r, y + r);
      ctx.moveTo(x + r, y - r);
      ctx.lineTo(x - r, y + r);
      break;
    case "dot":
      ctx.arc(x, y, r, 0, 2 * Math.PI);
      break;
    case "square":
      ctx.rect(x - r * 0.85, y - r * 0.85, r * 1.7, r * 1.7);
      break;
    default: // diamond
      ctx.moveTo(x, y - r * 1.15);
      ctx.lineTo(x + r, y);
      ctx.lineTo(x, y + r * 1.15);
      ctx.lineTo(x - r, y);
      ctx.closePath();
  }
}

function shapeSvg(shape, color) {
  const body = {
    triangle: `<path d="M1 2 L11 2 L6 11 Z" fill="${color}"/>`,
    cross: `<path d="M2 2 L10 10 M10 2 L2 10" stroke="${color}" stroke-width="2.2"/>`,
    dot: `<circle cx="6" cy="6" r="4.5" fill="${color}"/>`,
    square: `<rect x="2" y="2" width="8" height="8" fill="${color}"/>`,
    diamond: `<path d="M6 0.5 L11 6 L6 11.5 L1 6 Z" fill="${color}"/>`,
  }[shape];
  return `<svg width="12" height="12" viewBox="0 0 12 12" aria-hidden="true" style="vertical-align:-1px;margin-right:4px">${body}</svg>`;
}

// What happened at one Point: [{kind, count, ids?}] (empty when nothing).
function marksOf(p) {
  const m = p && p.marks;
  if (!m) return [];
  const out = [];
  for (const kind of MARK_KINDS) {
    const v = m[kind.key];
    if (kind.key === "findings_raised") {
      if (Array.isArray(v) && v.length) out.push({ kind, count: v.length, ids: v.map(String) });
    } else if (typeof v === "number" && v > 0) {
      out.push({ kind, count: v });
    }
  }
  return out;
}

function describeMarks(list) {
  return list
    .map(({ kind, count, ids }) =>
      kind.key === "findings_raised"
        ? `${shapeSvg(kind.shape, markColor(kind))}finding raised: ${ids.map(escapeHtml).join(", ")}`
        : `${shapeSvg(kind.shape, markColor(kind))}${escapeHtml(kind.label)}${count > 1 ? ` ×${count}` : ""}`)
    .join("<br>");
}

// t as a finding gives it (ISO text), a Date, unix seconds or milliseconds,
// or the uptime seconds of a Point's `t`: unix seconds, or null.
function toUnix(t, points) {
  if (t == null) return null;
  if (t instanceof Date) return t.getTime() / 1000;
  if (typeof t === "string") {
    const n = Number(t);
    if (t.trim() !== "" && Number.isFinite(n)) return toUnix(n, points);
    const ms = Date.parse(t);
    return Number.isFinite(ms) ? ms / 1000 : null;
  }
  if (typeof t !== "number" || !Number.isFinite(t)) return null;
  if (t > 1e11) return t / 1000; // milliseconds
  if (t > 1e8) return t; // unix seconds
  // Uptime: map through the newest Point that has both clocks.
  for (let i = points.length - 1; i >= 0; i--) {
    const p = points[i];
    if (num(p.t) != null && num(p.wall) != null) return p.wall - p.t + t;
  }
  return null;
}

// The tip shows on the chart under the mouse only (the other one's cursor
// follows through cursor.sync).
function trackHover(u, tipRef) {
  u.over.addEventListener("mouseenter", () => { tipRef.hover = true; });
  u.over.addEventListener("mouseleave", () => {
    tipRef.hover = false;
    if (tipRef.tip) tipRef.tip.hide();
  });
}

export function createTimeline(root) {
  root.classList.add("gs-charts");
  const latEl = h("div", { "data-chart": "latency" }, root);
  const thrEl = h("div", { "data-chart": "throughput" }, root);
  const legendEl = h("div", { class: "gs-marks-legend", "data-legend": "marks" }, root);

  let points = [];
  let lastKey = null;
  let marks = []; // per index: [{kind, count, ids}]
  let highlight = null; // unix seconds
  let highlightRaw = null;

  function renderMarksLegend() {
    legendEl.innerHTML =
      "markers: " +
      MARK_KINDS.map((k) => `<span>${shapeSvg(k.shape, markColor(k))}${escapeHtml(k.label)}</span>`).join("") +
      `<span>${shapeSvg("square", alpha(chartColors().fg, 0.35))}selected moment</span>`;
  }

  // Draws the markers and the highlighted moment over the plot.
  function drawMarks(u) {
    const { ctx, bbox } = u;
    const xs = u.data[0];
    const pr = devicePixelRatio || 1;
    const r = 4.5 * pr;
    ctx.save();
    ctx.beginPath();
    ctx.rect(bbox.left, bbox.top - r * 3, bbox.width, bbox.height + r * 3);
    ctx.clip();
    if (highlight != null) {
      const px = xToPx(u, highlight);
      if (px != null) {
        const c = chartColors();
        const half = Math.max(3 * pr, Math.abs(u.valToPos(highlight + 1, "x", true) - px));
        ctx.fillStyle = alpha(c.fg, 0.12);
        ctx.fillRect(px - half, bbox.top, half * 2, bbox.height);
        ctx.strokeStyle = alpha(c.fg, 0.6);
        ctx.lineWidth = 1.5 * pr;
        ctx.setLineDash([]);
        ctx.beginPath();
        ctx.moveTo(px, bbox.top);
        ctx.lineTo(px, bbox.top + bbox.height);
        ctx.stroke();
      }
    }
    for (let i = 0; i < marks.length; i++) {
      const list = marks[i];
      if (!list || !list.length) continue;
      const px = xToPx(u, xs[i]);
      if (px == null) continue;
      const first = markColor(list[0].kind);
      ctx.strokeStyle = alpha(first, 0.55);
      ctx.lineWidth = 1 * pr;
      ctx.setLineDash([3 * pr, 3 * pr]);
      ctx.beginPath();
      ctx.moveTo(px, bbox.top + r * 2);
      ctx.lineTo(px, bbox.top + bbox.height);
      ctx.stroke();
      ctx.setLineDash([]);
      list.forEach(({ kind }, j) => {
        const y = bbox.top + r + 1 * pr + j * (r * 2 + 1 * pr);
        const color = markColor(kind);
        shapePath(ctx, kind.shape, px, y, r);
        if (kind.shape === "cross") {
          ctx.strokeStyle = color;
          ctx.lineWidth = 2 * pr;
          ctx.stroke();
        } else {
          ctx.fillStyle = color;
          ctx.fill();
        }
      });
    }
    ctx.restore();
  }

  // Names what happened at the second under the cursor.
  function tipHook(tipRef) {
    return (u) => {
      const tip = tipRef.tip;
      if (!tip) return;
      // The mark nearest the cursor, within a second either side (a mark is
      // one point: a few pixels wide).
      let idx = u.cursor.idx;
      if (idx != null && !(marks[idx] && marks[idx].length)) {
        idx = [idx - 1, idx + 1].find((j) => marks[j] && marks[j].length) ?? null;
      }
      const list = idx != null ? marks[idx] : null;
      if (!list || !list.length || !tipRef.hover) {
        tip.hide();
        return;
      }
      const p = points[idx];
      const left = u.valToPos(u.data[0][idx], "x");
      tip.show(`<b>${fmtClock(pointX(p))}</b><br>${describeMarks(list)}`, left, 4);
    };
  }

  const latTip = {};
  const thrTip = {};
  const hooks = (tipRef) => ({ draw: [drawMarks], setCursor: [tipHook(tipRef)] });

  const empty = [[], [], []];
  const lat = makeChart(latEl, {
    title: "Latency (calls finished each second)",
    cursor: timeCursor(),
    scales: { x: { time: true }, ms: { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] } },
    series: [
      { value: (u, v) => fmtClock(v) },
      lineSeries("p50", 0, "ms", fmtMs),
      lineSeries("p99", 1, "ms", fmtMs, { width: 2 }),
    ],
    // The same axis widths as the throughput chart, so that both plots
    // span the same pixels of the shared time axis.
    axes: [
      timeAxis(),
      valueAxis("ms", fmtMs, { size: LEFT_AXIS }),
      valueAxis("ms", fmtMs, { side: 1, size: RIGHT_AXIS, grid: { show: false } }),
    ],
    hooks: hooks(latTip),
  }, empty, HEIGHT);
  latTip.tip = makeTip(lat);
  trackHover(lat, latTip);

  const thr = makeChart(thrEl, {
    title: "Throughput",
    cursor: timeCursor(),
    scales: {
      x: { time: true },
      rate: { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] },
      bytes: { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1024] },
    },
    series: [
      { value: (u, v) => fmtClock(v) },
      lineSeries("calls/s", 0, "rate", fmtRate),
      lineSeries("errors/s", "crit", "rate", fmtRate),
      lineSeries("DATA client leg", 2, "bytes", fmtBytesRate, { width: 2 }),
    ],
    axes: [
      timeAxis(),
      valueAxis("rate", fmtRate, { size: LEFT_AXIS }),
      valueAxis("bytes", fmtBytesRate, { side: 1, size: RIGHT_AXIS, grid: { show: false } }),
    ],
    hooks: hooks(thrTip),
  }, [[], [], [], []], HEIGHT);
  thrTip.tip = makeTip(thr);
  trackHover(thr, thrTip);

  renderMarksLegend();

  function update(all) {
    points = lastPoints(all);
    const key = pointsKey(points);
    if (key === lastKey) return;
    lastKey = key;
    const xs = xColumn(points);
    const n = points.length;
    const p50 = new Array(n), p99 = new Array(n), calls = new Array(n), errs = new Array(n), bytes = new Array(n);
    marks = new Array(n);
    for (let i = 0; i < n; i++) {
      const p = points[i];
      const c = num(get(p, "latency", "count"));
      const a = num(get(p, "latency", "p50_s"));
      const b = num(get(p, "latency", "p99_s"));
      // No call finished that second: no latency to draw (a gap, not 0).
      p50[i] = c === 0 || a == null ? null : a * 1000;
      p99[i] = c === 0 || b == null ? null : b * 1000;
      calls[i] = num(p && p.calls_per_s);
      errs[i] = num(p && p.errors_per_s);
      const s = num(get(p, "bytes_per_s", "downstream", "sent"));
      const r = num(get(p, "bytes_per_s", "downstream", "received"));
      bytes[i] = s == null && r == null ? null : (s || 0) + (r || 0);
      marks[i] = marksOf(p);
    }
    if (highlightRaw != null && highlight == null) highlight = toUnix(highlightRaw, points);
    lat.setData([xs, p50, p99]);
    thr.setData([xs, calls, errs, bytes]);
  }

  // Highlights a moment on both charts (a finding's first_seen, say):
  // ISO text, a Date, unix seconds or a Point's uptime `t`; null clears.
  // Returns whether the moment is inside the charts' time range.
  function markTime(t) {
    highlightRaw = t;
    highlight = toUnix(t, points);
    lat.redraw(false);
    thr.redraw(false);
    if (highlight == null || !lat.data[0].length) return false;
    const xs = lat.data[0];
    return highlight >= xs[0] - 1 && highlight <= xs[xs.length - 1] + 1;
  }

  // The marks legend has colours in its SVGs: repaint it on a theme change.
  lat.hooks.draw.push(() => {
    const name = chartColors().name;
    if (legendEl.dataset.theme !== name) {
      legendEl.dataset.theme = name;
      renderMarksLegend();
    }
  });

  return { update, markTime };
}
