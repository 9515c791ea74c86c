// Message sizes per method and direction: a histogram of /api/methods'
// `request.size_bytes.buckets` / `response.size_bytes.buckets` (the
// byte buckets of docs/metrics.md: powers of two, 8 B .. 256 MiB, +Inf),
// on a log2 axis, against gRPC's default 4 MiB limit on a received message
// (a bigger message fails with RESOURCE_EXHAUSTED unless the receiver raised
// its limit), with the largest message seen marked.
//
// createSizesPanel(el) -> { update(methodsBody) }

import { chartColors, alpha } from "./theme.js";
import {
  uPlot, makeChart, destroyChart, num, fmtBytes, fmtCount, valueAxis, xAxis, colorOf, el as h, MIB,
} from "./common.js";

const MAX_METHODS = 20;
const HEIGHT = 150;
const DIRS = ["request", "response"];
const LIMIT_BYTES = 4 * MIB; // gRPC's default max receive message size
const LIMIT_POS = Math.log2(LIMIT_BYTES);

const bars = uPlot.paths.bars({ size: [0.86, Infinity, 1], align: 0 });

// Per-bucket counts from the buckets as sent. They are per bucket; should a
// server send Prometheus-style cumulative counts instead (never decreasing,
// the last one equal to the messages seen), they are differenced.
function perBucket(buckets, messages) {
  const counts = buckets.map((b) => num(b.count) || 0);
  const sum = counts.reduce((a, b) => a + b, 0);
  const rising = counts.every((c, i) => i === 0 || c >= counts[i - 1]);
  if (rising && messages != null && counts.length > 1 && counts[counts.length - 1] === messages && sum !== messages) {
    return counts.map((c, i) => (i === 0 ? c : c - counts[i - 1]));
  }
  return counts;
}

function leOf(b) {
  const le = b && b.le;
  if (typeof le === "number") return Number.isFinite(le) ? le : Infinity;
  if (le == null || /inf/i.test(String(le))) return Infinity;
  const n = Number(le);
  return Number.isFinite(n) ? n : Infinity;
}

// The histogram's columns: bucket centres on a log2 axis (bucket (a, b] spans
// log2 a .. log2 b), counts, and each bucket's bounds for the legend.
function histogram(side) {
  const sb = side && side.size_bytes;
  const buckets = sb && Array.isArray(sb.buckets) ? sb.buckets : null;
  if (!buckets || !buckets.length) return null;
  const counts = perBucket(buckets, num(side.messages));
  const les = buckets.map(leOf);
  // Positions of the upper bounds; +Inf one step past the last finite one.
  const ups = [];
  let lastFinite = null;
  for (let i = 0; i < les.length; i++) {
    if (Number.isFinite(les[i]) && les[i] > 0) {
      ups.push(Math.log2(les[i]));
      lastFinite = ups[ups.length - 1];
    } else {
      ups.push(lastFinite == null ? 0 : lastFinite + 1);
    }
  }
  const pow2 = les.every((le) => !Number.isFinite(le) || Number.isInteger(Math.log2(le)));
  const byUp = new Map();
  ups.forEach((u, i) => byUp.set(u, (byUp.get(u) || 0) + counts[i]));
  let first = null, last = null;
  ups.forEach((u, i) => {
    if (counts[i] > 0) {
      if (first == null || u < first) first = u;
      if (last == null || u > last) last = u;
    }
  });
  if (first == null) first = LIMIT_POS - 12;
  // Show from a bucket below the smallest message to one past the limit.
  const lo = Math.max(ups[0] - 1, first - 2);
  const hi = Math.max(LIMIT_POS + 1, last == null ? 0 : last);
  const xs = [], ys = [], bounds = [];
  if (pow2) {
    for (let up = Math.ceil(lo) + 1; up <= hi; up++) {
      xs.push(up - 0.5);
      ys.push(byUp.get(up) || 0);
      bounds.push([2 ** (up - 1), up > lastFinite ? Infinity : 2 ** up]);
    }
  } else {
    for (let i = 0; i < ups.length; i++) {
      const prev = i ? ups[i - 1] : ups[i] - 1;
      xs.push((prev + ups[i]) / 2);
      ys.push(counts[i]);
      bounds.push([i ? les[i - 1] : 0, les[i]]);
    }
  }
  if (!xs.length) return null;
  return {
    data: [xs, ys],
    range: [Math.min(lo, xs[0] - 0.5), Math.max(hi, xs[xs.length - 1] + 0.5)],
    bounds,
    lastFinite,
    max: num(sb.max),
  };
}

function makeSizeChart(box, dir) {
  const state = { bounds: [], lastFinite: null, max: null, range: [LIMIT_POS - 10, LIMIT_POS + 1] };
  const xLabel = (v) => (state.lastFinite != null && v > state.lastFinite ? "∞" : fmtBytes(2 ** v));
  const bucketLabel = (u, v, si, idx) => {
    const b = idx != null ? state.bounds[idx] : null;
    if (!b) return "–";
    return `${fmtBytes(b[0])} – ${Number.isFinite(b[1]) ? fmtBytes(b[1]) : "∞"}`;
  };
  function drawMarks(u) {
    const { ctx, bbox } = u;
    const pr = devicePixelRatio || 1;
    const c = chartColors();
    ctx.save();
    ctx.font = `${10.5 * pr}px system-ui, sans-serif`;
    ctx.textBaseline = "top";
    const line = (pos, color, dash, text, right) => {
      const x = u.valToPos(pos, "x", true);
      if (!(x >= bbox.left && x <= bbox.left + bbox.width)) return;
      ctx.strokeStyle = color;
      ctx.lineWidth = 1.5 * pr;
      ctx.setLineDash(dash.map((d) => d * pr));
      ctx.beginPath();
      ctx.moveTo(x, bbox.top);
      ctx.lineTo(x, bbox.top + bbox.height);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = color;
      ctx.textAlign = right ? "right" : "left";
      ctx.fillText(text, x + (right ? -3 : 3) * pr, bbox.top + 2 * pr);
    };
    line(LIMIT_POS, c.crit, [6, 3], "4 MiB default limit", true);
    if (state.max != null && state.max > 0) line(Math.log2(state.max), alpha(c.fg, 0.7), [2, 2], `max ${fmtBytes(state.max)}`, false);
    ctx.restore();
  }
  const u = makeChart(box, {
    title: `${dir} message sizes`,
    cursor: { drag: { x: false, y: false }, focus: { prox: -1 } },
    legend: { show: true },
    scales: {
      x: { time: false, range: () => state.range },
      n: { range: (u, min, max) => [0, max > 0 ? max * 1.15 : 1] },
    },
    series: [
      { label: "bucket", value: bucketLabel },
      {
        label: "messages",
        scale: "n",
        stroke: colorOf(dir === "request" ? 0 : 1),
        fill: () => alpha(colorOf(dir === "request" ? 0 : 1)(), 0.7),
        width: 0,
        paths: bars,
        points: { show: false },
        value: (u, v) => fmtCount(v),
      },
    ],
    axes: [
      xAxis({ values: (u, splits) => splits.map(xLabel), incrs: [1, 2, 3, 4, 6, 8], space: 48 }),
      valueAxis("n", fmtCount, { incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 1e7, 1e8, 1e9] }),
    ],
    hooks: { draw: [drawMarks] },
  }, [[], []], HEIGHT);
  return { u, state };
}

export function createSizesPanel(root) {
  root.classList.add("gs-charts");
  const list = h("div", { class: "gs-sizes-list" }, root);
  const empty = h("div", { class: "gs-chart-empty", text: "no messages yet" }, root);
  const methods = new Map(); // name -> {block, charts: {request, response}}

  function update(body) {
    const all = Array.isArray(body) ? body : body && Array.isArray(body.methods) ? body.methods : [];
    const shown = all.filter((m) => m && typeof m.method === "string").slice(0, MAX_METHODS);
    const names = new Set(shown.map((m) => m.method));
    for (const [name, m] of methods) {
      if (!names.has(name)) {
        for (const d of DIRS) destroyChart(m.charts[d].u);
        m.block.remove();
        methods.delete(name);
      }
    }
    let prev = null;
    for (const m of shown) {
      let entry = methods.get(m.method);
      if (!entry) {
        const block = h("div", { class: "gs-sizes-block", "data-sizes-method": m.method });
        h("div", { class: "gs-sizes-method", text: m.method }, block);
        const grid = h("div", { class: "gs-chart-grid" }, block);
        // Placed before building the charts, so that they get its width.
        list.insertBefore(block, prev ? prev.nextSibling : list.firstChild);
        const charts = {};
        for (const d of DIRS) {
          const box = h("div", { "data-chart": "sizes", "data-method": m.method, "data-dir": d }, grid);
          charts[d] = makeSizeChart(box, d);
        }
        entry = { block, charts };
        methods.set(m.method, entry);
      } else if (entry.block.previousSibling !== prev) {
        list.insertBefore(entry.block, prev ? prev.nextSibling : list.firstChild);
      }
      prev = entry.block;
      for (const d of DIRS) {
        const ch = entry.charts[d];
        const hist = histogram(m[d]);
        if (hist) {
          ch.state.bounds = hist.bounds;
          ch.state.lastFinite = hist.lastFinite;
          ch.state.max = hist.max;
          ch.state.range = hist.range;
          ch.u.setData(hist.data);
        } else {
          ch.state.bounds = [];
          ch.state.max = num(m[d] && m[d].size_bytes && m[d].size_bytes.max);
          ch.u.setData([[], []]);
        }
      }
    }
    empty.hidden = methods.size > 0;
  }

  return { update };
}
