// /report.html is the page made self-contained: the bundle and the data
// inlined (script#gs-data), rendered once with no network at all. Taken
// under load, it shows #status data-state="report", every panel data-ready,
// the figures of /api/summary at the time, and the browser asks for nothing
// but the document itself.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PANELS, Stack, readPage, skipReason, sleep } from './harness.mjs';

const skip = await skipReason();
if (skip) console.log(`browser test skipped: ${skip}`);

describe('report', { skip }, () => {
  let s;
  let page;
  let summaryBefore;
  let summaryAfter;

  before(async () => {
    s = await Stack.start({ name: 'report', tls: true });  // TLS: the waterfall panel has data too
    const load = s.startLoad(['--scenario', 'unary', '--connections', '1', '--concurrency', '2', '--rate', '40']);
    await s.waitForCalls(60);
    await sleep(1500);  // a few once-a-second points for the charts
    // Taken during the load with the live page open, as a load test exports
    // it: its connections are open, and the calls the page saw are kept (the
    // call stream runs only while someone listens: docs/page.md).
    const live = await s.openPage({ path: '/' });
    await live.waitForSelector('section[data-panel="calls"][data-ready="true"]', { state: 'attached', timeout: 10000 });
    summaryBefore = await s.api('/api/summary');
    page = await s.openPage({ path: '/report.html' });
    summaryAfter = await s.api('/api/summary');
    await s.stopLoad(load);
  });

  after(async () => {
    if (s) await s.close();
  });

  it('renders every panel from the inlined data', () => s.run(async () => {
    assert.ok(await page.$('script#gs-data[type="application/json"]'), 'no script#gs-data in /report.html');
    await page.waitForSelector('#status[data-state="report"]', { state: 'attached', timeout: 5000 }).catch(async () => {
      throw new Error(`#status is "${await page.getAttribute('#status', 'data-state').catch(() => '(none)')}", not "report"`);
    });
    for (const name of PANELS) {
      await page.waitForSelector(`section[data-panel="${name}"][data-ready="true"]`, { state: 'attached', timeout: 5000 })
        .catch(() => { throw new Error(`panel ${name} of /report.html never got data-ready="true"`); });
    }
    const { stats } = await readPage(page);
    const lo = summaryBefore.rpcs.finished;
    const hi = summaryAfter.rpcs.finished;
    assert.ok(stats.rpcs_finished >= lo && stats.rpcs_finished <= hi,
      `[data-stat=rpcs_finished] is ${stats.rpcs_finished}; /api/summary said ${lo} before and ${hi} after`);
  }));

  it('asks for nothing but the document, with no console errors', () => s.run(async () => {
    await sleep(1500);  // time for a page that wrongly connects to /api/live to try
    const others = page.rec.requests.filter((u) => new URL(u).pathname !== '/report.html');
    assert.deepEqual(others, [], 'the report made requests beyond its own document');
    const files = await s.screenshots(page);
    console.log(`screenshots: ${files.join(' ')}`);
    s.assertClean(page);
  }));
});
