// Number formatting for tables and figures: SI units in, short text out.
import { num } from "./dom.js";

const DASH = "–";

function trim(v, digits) {
  const s = v.toFixed(digits);
  return s.includes(".") ? s.replace(/\.?0+$/, "") : s;
}

// Three significant digits at most: 1.23, 12.3, 123.
function sig(v) {
  const a = Math.abs(v);
  return a >= 100 ? trim(v, 0) : a >= 10 ? trim(v, 1) : trim(v, 2);
}

// Seconds as µs, ms or s.
export function fmtSeconds(v) {
  v = num(v);
  if (v == null) return DASH;
  const a = Math.abs(v);
  if (a === 0) return "0";
  if (a < 1e-3) return sig(v * 1e6) + " µs";
  if (a < 1) return sig(v * 1e3) + " ms";
  if (a < 120) return sig(v) + " s";
  return fmtAge(v);
}

// A duration as 42 s, 3 m 05 s, 2 h 10 m.
export function fmtAge(v) {
  v = num(v);
  if (v == null) return DASH;
  const s = Math.floor(v);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} m ${String(s % 60).padStart(2, "0")} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} m`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

// Bytes in binary units: 512 B, 64 KiB, 4 MiB.
export function fmtBytes(v) {
  v = num(v);
  if (v == null) return DASH;
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return (i === 0 ? trim(v, 0) : sig(v)) + " " + units[i];
}

// A count: 999, 12.3k, 4.5M.
export function fmtCount(v) {
  v = num(v);
  if (v == null) return DASH;
  const a = Math.abs(v);
  if (a < 1000) return Number.isInteger(v) ? String(v) : sig(v);
  if (a < 1e6) return sig(v / 1e3) + "k";
  if (a < 1e9) return sig(v / 1e6) + "M";
  return sig(v / 1e9) + "G";
}

// A rate per second.
export function fmtRate(v) {
  v = num(v);
  if (v == null) return DASH;
  return v === 0 ? "0" : fmtCount(v);
}

// A share 0..1 as a percentage.
export function fmtShare(v) {
  v = num(v);
  if (v == null) return DASH;
  if (v === 0) return "0 %";
  return (v < 0.01 ? "<1" : trim(v * 100, v < 0.1 ? 1 : 0)) + " %";
}

// Unix seconds (or ms-precision ISO text) as a wall-clock time, hh:mm:ss.
export function fmtClock(t) {
  const d = typeof t === "string" ? new Date(t) : new Date(t * 1000);
  if (Number.isNaN(d.getTime())) return DASH;
  return d.toLocaleTimeString([], { hour12: false });
}

export { DASH };
