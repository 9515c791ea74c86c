// grpcscope's live page: one EventSource on /api/live (a Snapshot a second,
// with the recent Points as history) and one on /api/events (finished calls,
// findings raised and resolved), a small store, and panels redrawn at most
// once a second. A report (/report.html) carries the same data inline in
// <script id="gs-data"> and is drawn once, with no network at all.
// Shapes of the data: docs/metrics.md and the /api/live contract in the
// README; the DOM names the browser tests rely on are listed in index.html.
import "uplot/dist/uPlot.min.css";
import "./style.css";
import { createTimeline } from "./charts/timeline.js";
import { createFlowPanel } from "./charts/flow.js";
import { createPingPanel } from "./charts/pings.js";
import { createSizesPanel } from "./charts/sizes.js";
import { createStore } from "./store.js";
import { openStream } from "./live.js";
import { initTheme } from "./theme.js";
import { createHeader } from "./panels/header.js";
import { createFindingsPanel } from "./panels/findings.js";
import { createMethodsPanel } from "./panels/methods.js";
import { createConnectionsPanel } from "./panels/connections.js";
import { createTlsPanel } from "./panels/tls.js";
import { createCallsPanel } from "./panels/calls.js";

const RENDER_EVERY_MS = 1000;

const store = createStore();
const statusEl = document.getElementById("status");
const section = (name) => document.querySelector(`section[data-panel="${name}"]`);
const host = (name) => section(name).querySelector(".chart-host") || section(name);

// Each panel is built once and updated on every render; a panel that throws
// is logged and the others still draw.
function guarded(name, fn) {
  try {
    return fn();
  } catch (err) {
    console.error(`grpcscope: panel ${name}:`, err);
    return undefined;
  }
}

initTheme();

const charts = {
  timeline: guarded("timeline", () => createTimeline(host("timeline"))),
  flow: guarded("flow", () => createFlowPanel(host("flow"))),
  pings: guarded("pings", () => createPingPanel(host("pings"))),
  sizes: guarded("sizes", () => createSizesPanel(host("sizes"))),
};

const header = createHeader(document.querySelector("header.top"));
const methods = createMethodsPanel(section("methods"));
const connections = createConnectionsPanel(section("connections"));
const tls = createTlsPanel(section("tls"));
const calls = createCallsPanel(section("calls"), store);
const findings = createFindingsPanel(section("findings"), {
  // Where a finding's evidence is: its method row, its connection rows and
  // its time on the timeline (null clears all three).
  highlight(target) {
    methods.highlight(target ? target.method : null);
    connections.highlight(target ? target.connections : null);
    if (charts.timeline && charts.timeline.markTime) {
      guarded("timeline", () => charts.timeline.markTime(target ? target.time : null));
    }
  },
});

function setStatus(state, text) {
  if (statusEl.dataset.state === state && statusEl.textContent === text) return;
  statusEl.dataset.state = state;
  statusEl.textContent = text;
}

// Drawing: at most once a second, whatever arrives in between.
let snapshotDirty = false;
let lastRender = -Infinity;
let renderTimer = null;

function requestRender() {
  if (renderTimer !== null) return;
  const wait = Math.max(0, lastRender + RENDER_EVERY_MS - performance.now());
  renderTimer = setTimeout(() => {
    renderTimer = null;
    lastRender = performance.now();
    render();
  }, wait);
}

function render() {
  const snap = store.snapshot;
  if (snapshotDirty && snap) {
    snapshotDirty = false;
    guarded("header", () => header.update(snap, store));
    guarded("findings", () => findings.update(snap.findings));
    guarded("methods", () => methods.update(snap.methods));
    guarded("connections", () => connections.update(snap.connections));
    guarded("tls", () => tls.update(snap.connections));
    if (charts.timeline) guarded("timeline", () => charts.timeline.update(store.points));
    if (charts.flow) guarded("flow", () => charts.flow.update(store.points));
    if (charts.pings) guarded("pings", () => charts.pings.update(store.points));
    if (charts.sizes) guarded("sizes", () => charts.sizes.update(snap.methods));
    // A chart panel is ready once its module drew a chart from real data.
    for (const name of ["timeline", "flow", "pings", "sizes"]) {
      const el = section(name);
      if (charts[name] && store.points.length && el.querySelector("[data-chart] canvas")) el.dataset.ready = "true";
    }
  }
  guarded("calls", () => calls.update());
}

function startLive() {
  openStream(
    "/api/live",
    ["history", "snapshot"],
    {
      onEvent(name, data) {
        if (name === "history") store.setHistory(data);
        else store.setSnapshot(data);
        setStatus("live", "live");
        snapshotDirty = true;
        requestRender();
      },
      onState(state) {
        if (state === "disconnected") setStatus("disconnected", "disconnected: retrying");
        else if (state === "connecting" && statusEl.dataset.state !== "disconnected") {
          setStatus("connecting", "connecting…");
        }
      },
    },
    10000,
  );
  openStream("/api/events", ["rpc", "finding"], {
    onEvent(name, data) {
      if (name === "rpc") {
        calls.push(data);
      } else {
        store.mergeFinding(data);
        snapshotDirty = true;
      }
      requestRender();
    },
  });
}

// A report: the data is in the page; draw it once.
function startReport(el) {
  let data;
  try {
    data = JSON.parse(el.textContent);
  } catch (err) {
    console.error("grpcscope: the report's data is not JSON", err);
    setStatus("report", "report: no data");
    return;
  }
  document.documentElement.classList.add("is-report");
  store.setHistory({ boot: data.boot, points: data.points || [] });
  if (data.snapshot) store.setSnapshot(data.snapshot);
  if (Array.isArray(data.calls)) calls.push(...data.calls);
  const wall = data.snapshot && data.snapshot.point ? data.snapshot.point.wall : null;
  setStatus("report", wall ? `report: ${new Date(wall * 1000).toLocaleString()}` : "report");
  snapshotDirty = true;
  render();
}

const reportData = document.getElementById("gs-data");
if (reportData) startReport(reportData);
else startLive();
