// TLS handshake waterfall per connection and leg (/api/connections: each
// leg's `tls.phases`, docs/metrics.md), full and resumed handshakes in
// different colours. The phases are offsets from the leg's first handshake
// byte (ClientHello, ServerHello, the server's Certificate, Finished);
// `verify_s` is how long verifying the peer's chain took (after its
// Certificate). Upstream, the leg's `setup_s` (name resolution, `dns_s`,
// plus TCP connect) comes before the handshake. First HEADERS and first
// DATA are drawn when the leg has them (`first_headers_s`, `first_data_s`,
// from the same origin as the phases).
import { get, h, num } from "../dom.js";
import { fmtSeconds } from "../format.js";

const MAX_WATERFALLS = 16;

// The steps of one leg: [{ name, start, end }] in seconds from the leg's start.
export function tlsSteps(leg) {
  const t = leg && leg.tls;
  if (!t) return [];
  const p = t.phases || {};
  const steps = [];
  const dns = num(leg.dns_s) ?? 0;
  const setup = num(leg.setup_s);
  let origin = 0;
  if (setup != null && setup > 0) {
    if (dns > 0) steps.push({ name: "DNS", start: 0, end: dns });
    steps.push({ name: "TCP connect", start: dns, end: setup });
    origin = setup;
  }
  let at = origin;
  const step = (name, offset) => {
    const v = num(offset);
    if (v == null) return;
    const end = origin + v;
    steps.push({ name, start: Math.min(at, end), end });
    at = Math.max(at, end);
  };
  step("ClientHello", p.client_hello_s);
  step("ServerHello", p.server_hello_s);
  step("Certificate", p.certificate_s);
  const verify = num(p.verify_s);
  if (verify != null && verify > 0) {
    steps.push({ name: "verification", start: at, end: at + verify });
    at += verify;
  }
  step("Finished", p.finished_s ?? t.handshake_s);
  step("first HEADERS", p.first_headers_s ?? get(leg, "first_headers_s"));
  step("first DATA", p.first_data_s ?? get(leg, "first_data_s"));
  return steps;
}

export function createTlsPanel(section) {
  const box = section.querySelector(".waterfalls");
  const empty = section.querySelector(".empty");
  const cache = new Map(); // "conn:hop" -> { sig, el }

  function waterfall(c, hop, leg) {
    const t = leg.tls;
    const steps = tlsSteps(leg);
    const total = Math.max(1e-6, ...steps.map((s) => s.end));
    const resumed = !!t.resumed;
    return h(
      "div",
      {
        class: `waterfall ${resumed ? "resumed" : "full"}`,
        dataset: { waterfall: "", conn: c.id, hop, resumed: String(resumed) },
      },
      h(
        "div",
        { class: "wf-head" },
        h("strong", { text: `${c.worker}/${c.id} ${hop === "downstream" ? "client side" : "server side"}` }),
        h("span", { class: "muted", text: ` ${leg.peer || ""}` }),
        h("span", { class: `tag ${resumed ? "resumed" : "full"}`, text: resumed ? "resumed" : "full" }),
        h("span", { class: "muted", text: ` ${t.version || ""} ${t.alpn || ""} · handshake ${fmtSeconds(t.handshake_s)}` }),
      ),
      steps.map((s) =>
        h(
          "div",
          { class: "wf-row", title: `${s.name}: ${fmtSeconds(s.start)} → ${fmtSeconds(s.end)} (${fmtSeconds(s.end - s.start)})` },
          h("span", { class: "wf-name", text: s.name }),
          h(
            "span",
            { class: "wf-track" },
            h("span", {
              class: `wf-bar step-${s.name.replace(/\W+/g, "-").toLowerCase()}`,
              style: `left:${((s.start / total) * 100).toFixed(2)}%;width:${Math.max(0.5, ((s.end - s.start) / total) * 100).toFixed(2)}%`,
            }),
          ),
          h("span", { class: "wf-time", text: `+${fmtSeconds(s.end)}` }),
        ),
      ),
    );
  }

  return {
    update(body) {
      const list = Array.isArray(get(body, "connections")) ? body.connections : [];
      const els = [];
      const seen = new Set();
      for (const c of list) {
        for (const hop of ["downstream", "upstream"]) {
          const leg = c[hop];
          if (!leg || !leg.tls || els.length >= MAX_WATERFALLS) continue;
          const key = `${c.worker}/${c.id}:${hop}`;
          const sig = JSON.stringify([leg.tls.phases, leg.tls.resumed, leg.tls.handshake_s, leg.setup_s, leg.dns_s, leg.first_headers_s, leg.first_data_s, leg.peer]);
          let entry = cache.get(key);
          if (!entry || entry.sig !== sig) {
            entry = { sig, el: waterfall(c, hop, leg) };
            cache.set(key, entry);
          }
          seen.add(key);
          els.push(entry.el);
        }
      }
      for (const key of cache.keys()) if (!seen.has(key)) cache.delete(key);
      // Only touch the DOM when the set or order changed.
      const same = els.length === box.children.length && els.every((el, i) => box.children[i] === el);
      if (!same) box.replaceChildren(...els);
      empty.hidden = els.length > 0;
      if (els.length) section.dataset.ready = "true";
    },
  };
}
