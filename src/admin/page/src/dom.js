// Small DOM helpers: the page builds its rows with these (no framework).

// h("td", { class: "num", dataset: { col: "calls", value: 3 } }, "3", child...)
// Attributes: class, title, text, dataset (data-*), on (event handlers), and
// any other as an attribute. Children: strings, nodes, null/false (skipped),
// or arrays of those.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v == null || v === false) continue;
      if (k === "class") el.className = v;
      else if (k === "text") el.textContent = v;
      else if (k === "dataset") {
        for (const [dk, dv] of Object.entries(v)) if (dv != null) el.dataset[dk] = String(dv);
      } else if (k === "on") {
        for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
      } else if (k === "style") el.setAttribute("style", v);
      else el.setAttribute(k, v === true ? "" : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c == null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

// The value of obj.a.b.c, or undefined.
export function get(obj, ...path) {
  let o = obj;
  for (const k of path) {
    if (o == null) return undefined;
    o = o[k];
  }
  return o;
}

// A finite number, or null.
export function num(v) {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

// Sets a panel's data-ready once it showed real data.
export function markReady(section, ready) {
  if (ready) section.dataset.ready = "true";
}

// The text of el, only written when it changed (no layout work otherwise).
export function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}
