// A finding raised by a real problem workload shows on the open page within
// a few seconds of /api/findings listing it: a client that opens a new
// connection for every call (grpcscope-loadgen --connection-per-call) makes
// connection.churn (docs/findings.md: 50 new connections from one address in
// 10 s, closed ones carrying at most 2 streams each).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Stack, skipReason, waitFor } from './harness.mjs';

const skip = await skipReason();
if (skip) console.log(`browser test skipped: ${skip}`);

const ID = 'connection.churn';
const SHOWN_WITHIN_MS = 4000;  // the page renders each once-a-second snapshot; slack for a busy CI machine

describe('finding', { skip }, () => {
  let s;
  let page;

  before(async () => {
    s = await Stack.start({ name: 'finding' });
    s.startLoad(['--scenario', 'unary', '--connections', '1', '--concurrency', '1', '--rate', '20']);
    await s.waitForCalls(10);
    page = await s.openPage();
    await s.waitLive(page);
    await page.waitForSelector('section[data-panel=findings][data-ready="true"]', { state: 'attached', timeout: 10000 });
  });

  after(async () => {
    if (s) await s.close();
  });

  it(`shows ${ID} within ${SHOWN_WITHIN_MS} ms of /api/findings`, () => s.run(async () => {
    assert.equal(await page.$(`[data-finding-id="${ID}"]`), null, `${ID} is on the page before the problem started`);
    const churn = s.startLoad(['--scenario', 'unary', '--connection-per-call', '--concurrency', '2', '--rate', '15']);
    const finding = await waitFor(async () => (await s.api('/api/findings')).find((f) => f.id === ID && f.active),
      { timeout: 30000, interval: 100, what: `/api/findings to list ${ID} active` });
    const raisedSeen = Date.now();
    const sel = `[data-finding-id="${ID}"][data-active="true"]`;
    await page.waitForSelector(sel, { state: 'attached', timeout: SHOWN_WITHIN_MS }).catch(async () => {
      const onPage = await page.$$eval('[data-finding-id]', (els) => els.map((e) => e.outerHTML.slice(0, 200)));
      throw new Error(`${sel} did not appear within ${SHOWN_WITHIN_MS} ms of /api/findings listing it; ` +
        `findings on the page: ${JSON.stringify(onPage)}`);
    });
    console.log(`${ID} on the page ${Date.now() - raisedSeen} ms after /api/findings listed it`);
    const severity = await page.getAttribute(sel, 'data-severity');
    assert.equal(severity, finding.severity, 'data-severity is the finding\'s severity');
    // A locator, not an element handle: the page may replace the element on
    // its next snapshot.
    const el = page.locator(sel).first();
    assert.ok(await el.isVisible(), 'the finding is visible');
    const text = (await el.textContent()) || '';
    assert.ok(text.includes(finding.title.slice(0, 20)), `the finding shows its title ("${finding.title}"), shows "${text.slice(0, 200)}"`);
    await waitFor(async () => Number(await page.getAttribute('[data-stat=findings_active]', 'data-value')) >= 1,
      { timeout: 3000, what: '[data-stat=findings_active] to count it' });
    await s.stopLoad(churn);
  }));

  it('had no console errors and sent no request outside the admin origin', () => s.run(async () => {
    const files = await s.screenshots(page);
    console.log(`screenshots: ${files.join(' ')}`);
    s.assertClean(page);
  }));
});
