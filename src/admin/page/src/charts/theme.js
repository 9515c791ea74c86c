// Chart colours come from the page's CSS variables (--fg, --muted, --grid,
// --series-1..6, --warn, --crit on :root), so that one stylesheet themes both
// the page and its canvases. uPlot calls a series' or an axis' `stroke` /
// `fill` function on every draw (uPlot README, "Options"; dist/uPlot.d.ts),
// so the charts pass functions that read the palette below, and a theme change
// is a re-read of the variables and a redraw of every live chart: no chart is
// rebuilt.

// Used when a variable is not set (a page without the shell's stylesheet).
const FALLBACK = {
  light: {
    fg: "#1f2328", muted: "#656d76", grid: "rgba(31,35,40,0.10)", bg: "#ffffff",
    series: ["#0969da", "#bf3989", "#1a7f37", "#8250df", "#bc4c00", "#0598bc"],
    warn: "#bf8700", crit: "#cf222e",
  },
  dark: {
    fg: "#e6edf3", muted: "#8d96a0", grid: "rgba(230,237,243,0.12)", bg: "#0d1117",
    series: ["#4493f8", "#f778ba", "#3fb950", "#a371f7", "#f0883e", "#39c5cf"],
    warn: "#d29922", crit: "#f85149",
  },
};

let themeName = null;
let palette = null;
const live = new Set();

function detectTheme() {
  const attr = document.documentElement.getAttribute("data-theme");
  if (attr === "light" || attr === "dark") return attr;
  return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

function readPalette(name) {
  const fb = FALLBACK[name] || FALLBACK.light;
  const cs = getComputedStyle(document.documentElement);
  const v = (n, d) => {
    const s = cs.getPropertyValue(n).trim();
    return s || d;
  };
  const series = [];
  for (let i = 0; i < 6; i++) series.push(v(`--series-${i + 1}`, fb.series[i]));
  return {
    name,
    fg: v("--fg", fb.fg),
    muted: v("--muted", fb.muted),
    grid: v("--grid", fb.grid),
    bg: v("--bg", fb.bg),
    series,
    warn: v("--warn", fb.warn),
    crit: v("--crit", fb.crit),
  };
}

// The current colours: {name, fg, muted, grid, bg, series[6], warn, crit}.
export function chartColors() {
  if (!palette) {
    themeName = detectTheme();
    palette = readPalette(themeName);
  }
  return palette;
}

// A colour with an alpha, for fills and shading (accepts #rgb, #rrggbb, rgb(), rgba()).
export function alpha(color, a) {
  const c = String(color).trim();
  let m = /^#([0-9a-f]{3})$/i.exec(c);
  if (m) {
    const [r, g, b] = m[1].split("").map((h) => parseInt(h + h, 16));
    return `rgba(${r},${g},${b},${a})`;
  }
  m = /^#([0-9a-f]{6})([0-9a-f]{2})?$/i.exec(c);
  if (m) {
    const n = parseInt(m[1], 16);
    return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${a})`;
  }
  m = /^rgba?\(([^)]+)\)$/i.exec(c);
  if (m) {
    const p = m[1].split(/[\s,/]+/).filter(Boolean).slice(0, 3);
    return `rgba(${p.join(",")},${a})`;
  }
  return c;
}

// Re-colour every live chart from the CSS variables (call it after switching
// html[data-theme]). `name` is "light" or "dark"; without it the theme is read
// from html[data-theme] or prefers-color-scheme.
export function setChartTheme(name) {
  themeName = name === "light" || name === "dark" ? name : detectTheme();
  palette = readPalette(themeName);
  for (const u of live) {
    u.redraw(false);
    refreshLegend(u);
  }
}

// uPlot paints a legend's markers once, when the chart is built: repaint them.
function refreshLegend(u) {
  if (!u.root) return;
  const rows = u.root.querySelectorAll(".u-legend .u-series");
  rows.forEach((row, i) => {
    if (i === 0 || !u.series[i]) return;
    const mk = row.querySelector(".u-marker");
    if (!mk) return;
    const s = u.series[i];
    const stroke = typeof s.stroke === "function" ? s.stroke(u, i) : s.stroke;
    const fill = typeof s.fill === "function" ? s.fill(u, i) : s.fill;
    const width = s.width || 0;
    // As uPlot's defaults (legend.markers: stroke when the series has a
    // width, fill as background).
    mk.style.border = width > 0 && stroke ? `2px solid ${stroke}` : "";
    mk.style.background = fill || "";
  });
}

export function registerChart(u) {
  live.add(u);
}

export function unregisterChart(u) {
  live.delete(u);
}

// How many charts are alive (for tests and for spotting a leak).
export function liveChartCount() {
  return live.size;
}
