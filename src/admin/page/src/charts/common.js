// What every chart module shares: unit formatting, axes and series in the
// theme's colours, and one way to make, size and destroy a uPlot chart.
// uPlot's API is in its README and dist/uPlot.d.ts (npm package `uplot`).

import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import "./charts.css";
import { chartColors, registerChart, unregisterChart } from "./theme.js";

export { uPlot };

// Series keep the last 300 points: 5 minutes of one point a second, what
// grpcscope keeps for /api/live's history.
export const MAX_POINTS = 300;

export const KIB = 1024;
export const MIB = 1024 * 1024;

export function lastPoints(points) {
  if (!Array.isArray(points)) return [];
  return points.length > MAX_POINTS ? points.slice(points.length - MAX_POINTS) : points;
}

// What identifies a run of Points: an update with the same run (a second
// call within one snapshot) redraws nothing.
export function pointsKey(points) {
  const n = points.length;
  if (!n) return "0";
  const a = points[0], b = points[n - 1];
  return `${n}:${a && a.seq}:${a && a.wall}:${b && b.seq}:${b && b.wall}`;
}

// A number or null (null leaves a gap in a uPlot series; undefined would
// be spanned).
export function num(v) {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

export function get(o, ...path) {
  for (const k of path) {
    if (o == null) return null;
    o = o[k];
  }
  return o === undefined ? null : o;
}

// The x value of a Point: its wall clock (unix seconds), so that every
// time chart and a finding's time share one axis.
export function pointX(p) {
  return num(p && p.wall) ?? num(p && p.t);
}

function trimNum(v, digits) {
  const s = v.toFixed(digits);
  return s.indexOf(".") >= 0 ? s.replace(/\.?0+$/, "") : s;
}

function sig(v) {
  const a = Math.abs(v);
  return a >= 100 ? trimNum(v, 0) : a >= 10 ? trimNum(v, 1) : trimNum(v, 2);
}

// Bytes in binary units: 512 B, 64 KiB, 4 MiB.
export function fmtBytes(v) {
  if (v == null || !Number.isFinite(v)) return "–";
  const a = Math.abs(v);
  if (a < KIB) return `${sig(v)} B`;
  if (a < MIB) return `${sig(v / KIB)} KiB`;
  if (a < KIB * MIB) return `${sig(v / MIB)} MiB`;
  return `${sig(v / (KIB * MIB))} GiB`;
}

export function fmtBytesRate(v) {
  return v == null || !Number.isFinite(v) ? "–" : `${fmtBytes(v)}/s`;
}

// Milliseconds: 0.35 ms, 12 ms, 1.5 s.
export function fmtMs(v) {
  if (v == null || !Number.isFinite(v)) return "–";
  const a = Math.abs(v);
  if (a === 0) return "0 ms";
  if (a < 1) return `${trimNum(v * 1000, a < 0.01 ? 1 : 0)} µs`;
  if (a < 1000) return `${sig(v)} ms`;
  return `${sig(v / 1000)} s`;
}

// A count: 3, 1.2k, 4.5M.
export function fmtCount(v) {
  if (v == null || !Number.isFinite(v)) return "–";
  const a = Math.abs(v);
  if (a < 1000) return sig(v);
  if (a < 1e6) return `${sig(v / 1e3)}k`;
  return `${sig(v / 1e6)}M`;
}

export function fmtRate(v) {
  return v == null || !Number.isFinite(v) ? "–" : `${fmtCount(v)}/s`;
}

export function fmtClock(unixS) {
  if (unixS == null || !Number.isFinite(unixS)) return "–";
  const d = new Date(unixS * 1000);
  const p = (n) => String(n).padStart(2, "0");
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

// Axis tick labels from a formatter (uPlot's axis.values).
export const axisValues = (fmt) => (u, splits) => splits.map((v) => (v == null ? "" : fmt(v)));

// Splits of a bytes axis at powers of two times 1, 2 or 5 ... rounded to
// binary units, so labels read 256 KiB, 512 KiB, 1 MiB rather than 262.1k.
export function bytesIncrs() {
  const out = [];
  for (let p = 1; p <= 2 ** 40; p *= 2) out.push(p);
  return out;
}

const BYTES_INCRS = bytesIncrs();

// Tick labels of the time axis: one line of local clock time (uPlot's
// default adds a second line with the date), seconds only when ticks are
// closer than a minute.
function clockTicks(u, splits, axisIdx, foundSpace, foundIncr) {
  const p = (n) => String(n).padStart(2, "0");
  return splits.map((v) => {
    if (v == null) return "";
    const d = new Date(v * 1000);
    const hm = `${p(d.getHours())}:${p(d.getMinutes())}`;
    return foundIncr >= 60 ? hm : `${hm}:${p(d.getSeconds())}`;
  });
}

const TIME_INCRS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];

// An x axis in the theme's colours.
export function xAxis(extra) {
  const c = () => chartColors();
  return Object.assign(
    {
      stroke: () => c().muted,
      grid: { stroke: () => c().grid, width: 1 },
      ticks: { stroke: () => c().grid, width: 1 },
      font: "11px system-ui, sans-serif",
      size: 28,
    },
    extra,
  );
}

// The x axis of every time chart (unix seconds, local clock time).
export function timeAxis(extra) {
  return xAxis(Object.assign({ values: clockTicks, incrs: TIME_INCRS, space: 60 }, extra));
}

// A y axis: fmt formats a tick; side 3 = left, 1 = right.
export function valueAxis(scale, fmt, extra) {
  const c = () => chartColors();
  const a = {
    scale,
    stroke: () => c().muted,
    grid: { stroke: () => c().grid, width: 1 },
    ticks: { stroke: () => c().grid, width: 1 },
    font: "11px system-ui, sans-serif",
    values: axisValues(fmt),
    size: axisSize,
  };
  if (fmt === fmtBytes || fmt === fmtBytesRate) a.incrs = BYTES_INCRS;
  return Object.assign(a, extra);
}

// The width of a y axis from its longest label (uPlot axis.size callback).
function axisSize(u, values, axisIdx, cycleNum) {
  const axis = u.axes[axisIdx];
  if (cycleNum > 1) return axis._size;
  let size = axis.ticks.size + axis.gap;
  const longest = (values || []).reduce((a, v) => (v && v.length > a.length ? v : a), "");
  if (longest) {
    u.ctx.font = axis.font[0];
    size += u.ctx.measureText(longest).width / devicePixelRatio;
  }
  return Math.ceil(size) + 4;
}

// A line series in the palette's colour `idx` (0..5) or a named colour
// ("warn", "crit", "fg", "muted").
export function colorOf(key) {
  return () => {
    const c = chartColors();
    return typeof key === "number" ? c.series[key % c.series.length] : c[key];
  };
}

export function lineSeries(label, colorKey, scale, fmt, extra) {
  return Object.assign(
    {
      label,
      scale,
      stroke: colorOf(colorKey),
      width: 1.5,
      spanGaps: false,
      points: { show: false },
      value: (u, v) => fmt(v),
    },
    extra,
  );
}

// A series drawn by a hook, not as a line: it gives the legend a row (its
// colour and the value under the cursor) for shading or ticks.
export function legendOnlySeries(label, colorKey, fmt, extra) {
  return Object.assign(
    {
      label,
      scale: "_legend",
      stroke: colorOf(colorKey),
      fill: colorOf(colorKey),
      width: 0,
      paths: () => null,
      points: { show: false },
      value: (u, v) => fmt(v),
    },
    extra,
  );
}

// The scale of legendOnlySeries (never auto-ranged, never drawn).
export const LEGEND_SCALE = { _legend: { auto: false, range: [0, 1] } };

// All time charts move their cursors together (uPlot cursor.sync).
export const SYNC_KEY = "grpcscope-time";

export function timeCursor() {
  return {
    sync: { key: SYNC_KEY, setSeries: false },
    drag: { x: false, y: false },
    focus: { prox: -1 },
  };
}

// Make a uPlot chart inside `el` (which it fills in width), at `height`
// CSS pixels, resized with its container (ResizeObserver). Returns the
// chart; give it to destroyChart when it goes away.
export function makeChart(el, opts, data, height) {
  const width = Math.max(200, Math.floor(el.clientWidth || 600));
  const u = new uPlot(Object.assign({ width, height }, opts), data, el);
  registerChart(u);
  let lastWidth = width;
  let frame = 0;
  if (typeof ResizeObserver === "function") {
    const ro = new ResizeObserver(() => {
      if (frame) return;
      frame = requestAnimationFrame(() => {
        frame = 0;
        const w = Math.max(200, Math.floor(el.clientWidth));
        // Only the width follows the container: the chart sets the height.
        if (w && w !== lastWidth) {
          lastWidth = w;
          u.setSize({ width: w, height: u.height });
        }
      });
    });
    ro.observe(el);
    u._gsResize = () => {
      ro.disconnect();
      if (frame) cancelAnimationFrame(frame);
    };
  }
  return u;
}

export function destroyChart(u) {
  if (!u) return;
  if (u._gsResize) u._gsResize();
  unregisterChart(u);
  u.destroy();
}

// The pixel geometry of a draw hook: canvas pixels of an x value (null when
// outside the plot) and the plotting box.
export function xToPx(u, x) {
  if (x == null) return null;
  const px = u.valToPos(x, "x", true);
  return px >= u.bbox.left - 1 && px <= u.bbox.left + u.bbox.width + 1 ? px : null;
}

export function el(tag, attrs, parent) {
  const e = document.createElement(tag);
  if (attrs) for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") e.textContent = v;
    else if (k === "class") e.className = v;
    else e.setAttribute(k, v);
  }
  if (parent) parent.appendChild(e);
  return e;
}

// A small floating box over a chart's plot (u.over), for what the legend
// cannot say: what happened at the second under the cursor.
export function makeTip(u) {
  const tip = el("div", { class: "gs-chart-tip", role: "tooltip" }, u.over);
  tip.hidden = true;
  return {
    show(html, left, top) {
      tip.innerHTML = html;
      tip.hidden = false;
      const w = tip.offsetWidth;
      const maxLeft = u.over.clientWidth - w - 4;
      tip.style.left = `${Math.max(0, Math.min(left + 12, maxLeft))}px`;
      tip.style.top = `${Math.max(0, top)}px`;
    },
    hide() {
      tip.hidden = true;
    },
  };
}

export function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch]);
}

// The x data of a chart: the points' wall clocks, made strictly ascending
// (uPlot needs sorted x; a repeated second would draw a vertical step).
export function xColumn(points) {
  const xs = new Array(points.length);
  let prev = -Infinity;
  for (let i = 0; i < points.length; i++) {
    let x = pointX(points[i]);
    if (x == null || x <= prev) x = prev === -Infinity ? 0 : prev + 1e-3;
    xs[i] = x;
    prev = x;
  }
  return xs;
}
