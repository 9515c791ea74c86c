// What the page knows: the Points of the last minutes (one a second, at most
// 300), the latest Snapshot, and the newest finished calls (at most 500).
// Shapes: the /api/live contract (Point, Snapshot) and docs/metrics.md.

export const MAX_POINTS = 300;
export const MAX_CALLS = 500;

export function createStore() {
  const store = {
    boot: null,
    points: [],
    snapshot: null,
    calls: [], // newest last
    callsVersion: 0, // bumped when calls change (the call log redraws only then)
    callsTotal: 0, // seen since the page opened

    // event: history ({"boot", "points"}): the points newer than the ones
    // we have when the boot is the same process, else all of them.
    setHistory(history) {
      if (!history) return;
      const points = Array.isArray(history.points) ? history.points : [];
      if (history.boot !== store.boot) {
        store.boot = history.boot ?? null;
        store.points = [];
        store.snapshot = null;
      }
      for (const p of points) addPoint(p);
    },

    // event: snapshot: the latest state, and its Point appended.
    setSnapshot(snapshot) {
      if (!snapshot) return;
      if (snapshot.boot != null && snapshot.boot !== store.boot) {
        store.boot = snapshot.boot;
        store.points = [];
      }
      store.snapshot = snapshot;
      if (snapshot.point) addPoint(snapshot.point);
    },

    // event: rpc from /api/events (or a report's "calls").
    addCalls(calls) {
      if (!calls.length) return;
      for (const c of calls) store.calls.push(c);
      store.callsTotal += calls.length;
      if (store.calls.length > MAX_CALLS) store.calls.splice(0, store.calls.length - MAX_CALLS);
      store.callsVersion++;
    },

    // event: finding from /api/events, between two snapshots: the same
    // finding (id and scope) takes the new state; the next snapshot has it
    // anyway.
    mergeFinding(f) {
      const list = store.snapshot && Array.isArray(store.snapshot.findings) ? store.snapshot.findings : null;
      if (!list || !f || !f.id) return;
      const key = findingKey(f);
      const i = list.findIndex((x) => findingKey(x) === key);
      if (i >= 0) list[i] = f;
      else list.unshift(f);
    },
  };

  // Points in seq order, no duplicates (a reconnect resends some), the last 300.
  function addPoint(p) {
    if (!p || typeof p.seq !== "number") return;
    const pts = store.points;
    const last = pts.length ? pts[pts.length - 1].seq : -Infinity;
    if (p.seq > last) {
      pts.push(p);
    } else {
      const i = pts.findIndex((x) => x.seq >= p.seq);
      if (i >= 0 && pts[i].seq === p.seq) pts[i] = p;
      else if (i >= 0) pts.splice(i, 0, p);
    }
    if (pts.length > MAX_POINTS) pts.splice(0, pts.length - MAX_POINTS);
  }

  return store;
}

// A finding is its id and its scope (docs/findings.md, "How findings are made").
export function findingKey(f) {
  const scope = f.scope && typeof f.scope === "object" ? f.scope : {};
  const parts = Object.keys(scope)
    .sort()
    .map((k) => `${k}=${scope[k]}`);
  return parts.length ? `${f.id}|${parts.join(",")}` : f.id;
}
