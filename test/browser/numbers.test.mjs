// The numbers on the page are grpcscope's: after the load stops (so that
// counts stand still) and two snapshots later, the header figures
// ([data-stat]) and the methods table's cells (td[data-col][data-value])
// equal /api/summary, /api/findings and /api/methods fetched then: counts
// exactly, rates and percentiles within rounding. The 10 s windows move once
// a second, so the page and the API are compared until they agree for one
// second's snapshot (within 6 s), never by luck: the load ran long enough
// that every compared figure is non-zero.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Stack, readPage, skipReason, sleep } from './harness.mjs';

const skip = await skipReason();
if (skip) console.log(`browser test skipped: ${skip}`);

// Within rounding: the page keeps raw numbers in data-value, so only float
// printing differs (relative 1e-6), or a value shown rounded to 3 significant
// digits at worst (relative 5e-3) is accepted for rates and percentiles.
const close = (a, b) => a === b || (a !== null && b !== null && Math.abs(a - b) <= 5e-3 * Math.max(Math.abs(a), Math.abs(b)));

function compareStats(pageStats, summary, findings) {
  const w = summary.windows['10s'];
  const expected = {
    rpcs_finished: [summary.rpcs.finished, 'exact'],
    connections_active: [summary.connections.downstream.active, 'exact'],
    findings_active: [findings.filter((f) => f.active).length, 'exact'],
    calls_per_s: [w.calls_per_s, 'close'],
    errors_per_s: [w.errors_per_s, 'close'],
    p50_s: [w.latency.p50_s, 'close'],
    p99_s: [w.latency.p99_s, 'close'],
  };
  const diffs = [];
  for (const [name, [want, how]] of Object.entries(expected)) {
    const got = pageStats[name];
    if (got === undefined) { diffs.push(`[data-stat=${name}] missing`); continue; }
    const ok = how === 'exact' ? got === want : close(got, want);
    if (!ok) diffs.push(`${name}: page ${got}, API ${want}`);
  }
  return diffs;
}

// A method's columns and the API figures each may show: the table may label
// a column windowed (10 s) or cumulative; either is accepted, but it must be
// one of them exactly (counts) or within rounding.
function methodCandidates(m) {
  const w = (m.windows && m.windows['10s']) || {};
  const both = (f) => [f(m), f(w)].filter((v) => v !== undefined && v !== null);
  const share = (x) => {
    const msgs = (x.request?.messages || 0) + (x.response?.messages || 0);
    return msgs ? ((x.request?.compressed_messages || 0) + (x.response?.compressed_messages || 0)) / msgs : 0;
  };
  return {
    calls: [both((x) => x.calls?.finished), 'exact'],
    calls_per_s: [[w.calls_per_s], 'close'],
    errors: [both((x) => x.errors), 'exact'],
    p50_s: [both((x) => x.latency?.p50_s), 'close'],
    p90_s: [both((x) => x.latency?.p90_s), 'close'],
    p99_s: [both((x) => x.latency?.p99_s), 'close'],
    request_p50_bytes: [both((x) => x.request?.size_bytes?.p50), 'close'],
    request_p99_bytes: [both((x) => x.request?.size_bytes?.p99), 'close'],
    request_max_bytes: [both((x) => x.request?.size_bytes?.max), 'close'],
    response_p50_bytes: [both((x) => x.response?.size_bytes?.p50), 'close'],
    response_p99_bytes: [both((x) => x.response?.size_bytes?.p99), 'close'],
    response_max_bytes: [both((x) => x.response?.size_bytes?.max), 'close'],
    compressed_share: [[share(m), share(w)], 'close'],
    active: [[(m.calls?.started ?? 0) - (m.calls?.finished ?? 0), m.active].filter((v) => v !== undefined), 'exact'],
  };
}

function compareMethods(pageMethods, apiMethods) {
  const diffs = [];
  for (const m of apiMethods) {
    const row = pageMethods[m.method];
    if (!row) { diffs.push(`no row tr[data-method="${m.method}"]`); continue; }
    for (const [col, [wants, how]] of Object.entries(methodCandidates(m))) {
      const got = row[col];
      if (got === undefined) { diffs.push(`${m.method}: td[data-col=${col}] missing`); continue; }
      if (wants.length === 0) continue;  // the API has no such figure (yet)
      const ok = wants.some((want) => (how === 'exact' ? got === want : close(got, want)));
      if (!ok) diffs.push(`${m.method} ${col}: page ${got}, API ${wants.join(' or ')}`);
    }
  }
  for (const name of Object.keys(pageMethods)) {
    if (!apiMethods.some((m) => m.method === name)) diffs.push(`row ${name} is not in /api/methods`);
  }
  return diffs;
}

describe('numbers', { skip }, () => {
  let s;
  let page;
  let summary;

  before(async () => {
    s = await Stack.start({ name: 'numbers' });
    page = await s.openPage();
    await s.waitLive(page);
    const unary = s.startLoad(['--scenario', 'unary', '--connections', '2', '--concurrency', '4', '--rate', '60']);
    const stream = s.startLoad(['--scenario', 'server-stream', '--connections', '1', '--concurrency', '1',
      '--rate', '4', '--stream-messages', '10', '--response-size', '3000']);
    await s.waitForCalls(150, 20000);
    await sleep(2000);
    await s.stopLoad(unary);
    await s.stopLoad(stream);
    // Counts stand still now; two snapshots later the page has them.
    await sleep(2500);
    summary = await s.api('/api/summary');
  });

  after(async () => {
    if (s) await s.close();
  });

  it('header figures equal /api/summary and /api/findings', () => s.run(async () => {
    assert.ok(summary.rpcs.finished >= 150, `load reached grpcscope: ${summary.rpcs.finished} calls`);
    let diffs;
    let seen;
    const deadline = Date.now() + 6000;
    do {
      const before = await s.api('/api/summary');
      const findings = await s.api('/api/findings');
      seen = await readPage(page);
      const after = await s.api('/api/summary');
      diffs = compareStats(seen.stats, before, findings);
      if (diffs.length) diffs = compareStats(seen.stats, after, findings);
      if (!diffs.length) {
        for (const name of ['rpcs_finished', 'calls_per_s', 'p50_s', 'p99_s']) {
          assert.ok(seen.stats[name] > 0, `[data-stat=${name}] is ${seen.stats[name]}: the comparison would be vacuous`);
        }
        break;
      }
      await sleep(250);
    } while (Date.now() < deadline);
    assert.deepEqual(diffs, [], `the page's header figures disagree with the API for 6 s: ${diffs.join('; ')}; ` +
      `the page: ${JSON.stringify(seen.stats)}`);
  }));

  it('the methods table equals /api/methods', () => s.run(async () => {
    let diffs;
    let seen;
    const deadline = Date.now() + 6000;
    do {
      const before = (await s.api('/api/methods')).methods;
      seen = await readPage(page);
      const after = (await s.api('/api/methods')).methods;
      diffs = compareMethods(seen.methods, before);
      if (diffs.length) diffs = compareMethods(seen.methods, after);
      if (!diffs.length) break;
      await sleep(250);
    } while (Date.now() < deadline);
    assert.deepEqual(diffs, [], `the methods table disagrees with /api/methods for 6 s: ${diffs.join('; ')}; ` +
      `the page: ${JSON.stringify(seen.methods)}`);
    const unary = seen.methods['grpcscope.test.Echo/Unary'];
    assert.ok(unary && unary.calls > 0 && unary.p50_s > 0 && unary.request_p50_bytes > 0,
      `Echo/Unary's row has real figures: ${JSON.stringify(unary)}`);
  }));

  it('sorts the methods table by a clicked column', () => s.run(async () => {
    const order = () => page.$$eval('table[data-table=methods] tbody tr[data-method]',
      (rows) => rows.map((r) => Number(r.querySelector('td[data-col=calls]').getAttribute('data-value'))));
    await page.click('table[data-table=methods] th[data-sort=calls]');
    await sleep(300);
    const first = await order();
    await page.click('table[data-table=methods] th[data-sort=calls]');
    await sleep(300);
    const second = await order();
    const sorted = (a, dir) => a.every((v, i) => i === 0 || dir * (v - a[i - 1]) >= 0);
    assert.ok(first.length >= 2, `two methods to sort, got ${first.length}`);
    assert.ok((sorted(first, 1) && sorted(second, -1)) || (sorted(first, -1) && sorted(second, 1)),
      `clicking th[data-sort=calls] twice sorts both ways: ${first} then ${second}`);
    assert.notDeepEqual(first, second, 'the second click reverses the order');
  }));

  it('had no console errors and sent no request outside the admin origin', () => s.run(async () => {
    const files = await s.screenshots(page);
    console.log(`screenshots: ${files.join(' ')}`);
    s.assertClean(page);
  }));
});
