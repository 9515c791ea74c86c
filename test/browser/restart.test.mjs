// The page survives a grpcscope restart: killed (SIGKILL, as in a crash),
// #status turns data-state="disconnected" within 5 s; started again on the
// same admin port, the page goes back to "live" by itself (EventSource
// reconnects; /api/live sends retry: 2000), shows the new process's data,
// and every panel that had data before has it again.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Stack, readPage, skipReason, waitFor } from './harness.mjs';

const skip = await skipReason();
if (skip) console.log(`browser test skipped: ${skip}`);

const LOAD = ['--scenario', 'unary', '--connections', '1', '--concurrency', '2', '--rate', '30'];

describe('restart', { skip }, () => {
  let s;
  let page;
  let killedAt = 0;
  let readyBefore = [];
  let backAt = 0;

  before(async () => {
    s = await Stack.start({ name: 'restart' });
    s.startLoad(LOAD);
    await s.waitForCalls(10);
    page = await s.openPage();
    await s.waitLive(page);
    await page.waitForSelector('section[data-panel=methods][data-ready="true"]', { state: 'attached', timeout: 10000 });
  });

  after(async () => {
    if (s) await s.close();
  });

  it('shows disconnected within 5 s of grpcscope going away', () => s.run(async () => {
    // Enough calls that the restarted process's count is visibly another's.
    await s.waitForCalls(100, 15000);
    await waitFor(async () => (await readPage(page)).stats.rpcs_finished >= 100,
      { timeout: 5000, what: '[data-stat=rpcs_finished] >= 100 before the restart' });
    readyBefore = await page.$$eval('section[data-panel][data-ready="true"]', (els) => els.map((e) => e.getAttribute('data-panel')));
    killedAt = Date.now();
    await s.killProxy();
    await page.waitForSelector('#status[data-state="disconnected"]', { state: 'attached', timeout: 5000 })
      .catch(async () => {
        throw new Error(`#status is "${await page.getAttribute('#status', 'data-state')}" 5 s after grpcscope was killed`);
      });
    const text = (await page.textContent('#status')).trim();
    assert.match(text, /disconnected/i, `#status says it is disconnected: "${text}"`);
  }));

  it('goes live again when grpcscope is back on the same port', () => s.run(async () => {
    const oldCount = (await readPage(page)).stats.rpcs_finished;
    await s.startProxy({ listenPort: s.listenPort, adminPort: s.adminPort });
    await page.waitForSelector('#status[data-state="live"]', { state: 'attached', timeout: 10000 })
      .catch(async () => {
        throw new Error(`#status is "${await page.getAttribute('#status', 'data-state')}" 10 s after grpcscope came back`);
      });
    backAt = Date.now();
    // The new process counts from 0: the page must show its count, not the old one.
    await waitFor(async () => {
      const shown = (await readPage(page)).stats.rpcs_finished;
      const now = (await s.api('/api/summary')).rpcs.finished;
      return shown < oldCount && shown > 0 && shown <= now ? shown : null;
    }, { timeout: 15000, interval: 250, what: `the page to show the restarted grpcscope's calls (below the old ${oldCount})` });
    // Every panel that had data before (h2c here: the TLS panel may have
    // none) has it again.
    for (const name of ['findings', 'methods', 'timeline', 'connections', 'calls']) {
      assert.ok(readyBefore.includes(name), `panel ${name} was not data-ready before the restart (ready: ${readyBefore})`);
    }
    const notReady = await page.$$eval('section[data-panel]:not([data-ready="true"])',
      (els) => els.map((e) => e.getAttribute('data-panel')));
    const lost = readyBefore.filter((name) => notReady.includes(name));
    assert.deepEqual(lost, [], `panels data-ready before the restart and not after it: ${lost.join(', ')}`);
  }));

  it('had no console errors and sent no request outside the admin origin', () => s.run(async () => {
    const files = await s.screenshots(page);
    console.log(`screenshots: ${files.join(' ')}`);
    // While grpcscope was down, Chromium itself logs the refused reconnects
    // of the page's EventSource (net::ERR_CONNECTION_REFUSED): that is the
    // browser reporting the outage, not a page error. Only those, only then,
    // and only to the admin origin.
    const allow = (e) => e.at >= killedAt && e.at <= backAt + 1000 &&
      /ERR_CONNECTION_REFUSED|ERR_EMPTY_RESPONSE|ERR_CONNECTION_RESET|ERR_INCOMPLETE_CHUNKED_ENCODING/.test(e.text) &&
      (!/https?:\/\//.test(e.text) || e.text.includes(s.adminOrigin));
    s.assertClean(page, { allow });
  }));
});
