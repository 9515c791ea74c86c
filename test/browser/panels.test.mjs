// Every panel of the live page renders real data under load: each
// section[data-panel] gets data-ready="true" within 10 s, every chart has a
// canvas (uPlot draws on one), the tables have rows, and the theme follows
// prefers-color-scheme. TLS on both legs, so that the TLS panel has
// handshakes to draw.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PANELS, Stack, skipReason } from './harness.mjs';

const skip = await skipReason();
if (skip) console.log(`browser test skipped: ${skip}`);

describe('panels', { skip }, () => {
  let s;
  let page;

  before(async () => {
    s = await Stack.start({ name: 'panels', tls: true });
    s.startLoad(['--scenario', 'unary', '--connections', '2', '--concurrency', '4', '--rate', '40']);
    s.startLoad(['--scenario', 'server-stream', '--connections', '1', '--concurrency', '1', '--rate', '5',
      '--stream-messages', '20', '--response-size', '2000']);
    await s.waitForCalls(10);
    page = await s.openPage();
  });

  after(async () => {
    if (s) await s.close();
  });

  it('goes live and every panel gets data-ready within 10 s', () => s.run(async () => {
    await s.waitLive(page);
    const missing = [];
    for (const name of PANELS) {
      if (!(await page.$(`section[data-panel="${name}"]`))) missing.push(name);
    }
    assert.deepEqual(missing, [], `panels missing from the page: ${missing.join(', ')}`);
    const deadline = Date.now() + 10000;
    for (const name of PANELS) {
      await page.waitForSelector(`section[data-panel="${name}"][data-ready="true"]`,
        { state: 'attached', timeout: Math.max(1, deadline - Date.now()) }).catch(async () => {
        const notReady = await page.$$eval('section[data-panel]:not([data-ready="true"])',
          (els) => els.map((e) => e.getAttribute('data-panel')));
        throw new Error(`within 10 s of going live these panels never got data-ready="true": ${notReady.join(', ')}`);
      });
    }
    const text = (await page.textContent('#status')).trim();
    assert.ok(text.length > 0, '#status has no visible text');
  }));

  it('draws every chart on a canvas', () => s.run(async () => {
    for (const sel of ['[data-chart=latency]', '[data-chart=throughput]', '[data-chart=rtt]',
      '[data-chart=flow][data-conn][data-hop]', '[data-chart=sizes][data-method][data-dir]']) {
      await page.waitForSelector(sel, { state: 'attached', timeout: 5000 })
        .catch(() => { throw new Error(`no chart ${sel} on the page`); });
    }
    const charts = await page.$$eval('[data-chart]', (els) => els.map((e) => ({
      chart: e.getAttribute('data-chart'),
      conn: e.getAttribute('data-conn'),
      hop: e.getAttribute('data-hop'),
      method: e.getAttribute('data-method'),
      dir: e.getAttribute('data-dir'),
      canvas: !!e.querySelector('canvas'),
      width: e.querySelector('canvas') ? e.querySelector('canvas').width : 0,
    })));
    const without = charts.filter((c) => !c.canvas || c.width === 0);
    assert.deepEqual(without, [], 'charts without a drawn canvas');
    const hops = new Set(charts.filter((c) => c.chart === 'flow').map((c) => c.hop));
    assert.ok(hops.has('downstream') && hops.has('upstream'), `flow charts for both hops, got ${[...hops]}`);
    const dirs = new Set(charts.filter((c) => c.chart === 'sizes' && c.method === 'grpcscope.test.Echo/Unary')
      .map((c) => c.dir));
    assert.ok(dirs.has('request') && dirs.has('response'), `size charts of Echo/Unary for both directions, got ${[...dirs]}`);
  }));

  it('fills the tables, the TLS waterfall and the call log', () => s.run(async () => {
    const methods = await page.$$eval('table[data-table=methods] tbody tr[data-method]',
      (rows) => rows.map((r) => r.getAttribute('data-method')));
    for (const m of ['grpcscope.test.Echo/Unary', 'grpcscope.test.Echo/ServerStream']) {
      assert.ok(methods.includes(m), `methods table has no row for ${m} (rows: ${methods.join(', ')})`);
    }
    const conns = await page.$$eval('table[data-table=connections] tbody tr[data-conn]', (rows) => rows.length);
    assert.ok(conns >= 1, 'connections table has no row');
    const api = await s.api('/api/connections');
    assert.ok(JSON.stringify(api).length > 2, '/api/connections is empty');
    const waterfalls = await page.$$eval('[data-panel=tls] [data-waterfall][data-conn][data-hop][data-resumed]',
      (els) => els.map((e) => `${e.getAttribute('data-hop')}:${e.getAttribute('data-resumed')}`));
    assert.ok(waterfalls.some((w) => w.startsWith('downstream:')) && waterfalls.some((w) => w.startsWith('upstream:')),
      `TLS waterfalls for both legs, got ${waterfalls.join(', ')}`);
    await page.waitForFunction(() => document.querySelectorAll('[data-panel=calls] tbody tr').length > 0,
      null, { timeout: 5000 }).catch(() => { throw new Error('the call log has no rows'); });
    const calls = await page.$$eval('[data-panel=calls] tbody tr', (rows) => rows.length);
    assert.ok(calls <= 500, `the call log keeps at most 500 rows, has ${calls}`);
    const href = await page.getAttribute('a[data-action=export]', 'href');
    assert.equal(href, '/report.html');
  }));

  // Before the theme button is clicked: a page may keep a theme chosen by hand.
  it('follows prefers-color-scheme and saves screenshots (light, dark)', () => s.run(async () => {
    const files = await s.screenshots(page);
    for (const scheme of ['light', 'dark']) {
      const t0 = Date.now();
      await page.emulateMedia({ colorScheme: scheme });
      await page.waitForSelector(`html[data-theme="${scheme}"]`, { state: 'attached', timeout: 10000 })
        .then(() => console.log(`theme ${scheme}: ${Date.now() - t0} ms`))
        .catch(async () => {
          const [theme, dark] = await page.evaluate(() => [document.documentElement.getAttribute('data-theme'),
            matchMedia('(prefers-color-scheme: dark)').matches]);
          throw new Error(`prefers-color-scheme ${scheme} (matchMedia dark: ${dark}): html[data-theme] is "${theme}"`);
        });
    }
    console.log(`screenshots: ${files.join(' ')}`);
  }));

  it('pauses and filters the call log; the theme button toggles', () => s.run(async () => {
    const rows = () => page.$$eval('[data-panel=calls] tbody tr',
      (trs) => trs.filter((r) => r.getClientRects().length > 0).map((r) => r.textContent));
    const pause = page.locator('button[data-action=pause]');
    assert.match((await pause.textContent()).trim(), /^pause$/i, 'the pause button says "pause"');
    await pause.click();
    assert.match((await pause.textContent()).trim(), /^resume$/i, 'once clicked it says "resume"');
    const frozen = await rows();
    await new Promise((r) => setTimeout(r, 2500));
    assert.deepEqual(await rows(), frozen, 'the call log changed while paused');
    await pause.click();
    assert.match((await pause.textContent()).trim(), /^pause$/i, 'clicked again it says "pause"');
    await page.waitForFunction((before) => {
      const now = [...document.querySelectorAll('[data-panel=calls] tbody tr')].map((r) => r.textContent);
      return JSON.stringify(now) !== before;
    }, JSON.stringify(frozen), { timeout: 5000 }).catch(() => { throw new Error('the call log did not move after resume'); });

    await page.fill('input[data-filter=calls]', 'ServerStream');
    await page.waitForFunction(() => {
      const shown = [...document.querySelectorAll('[data-panel=calls] tbody tr')].filter((r) => r.getClientRects().length > 0);
      return shown.length > 0 && shown.every((r) => r.textContent.includes('ServerStream'));
    }, null, { timeout: 5000 }).catch(async () => {
      throw new Error(`filtering the call log by "ServerStream" shows: ${JSON.stringify((await rows()).slice(0, 5))}`);
    });
    await page.fill('input[data-filter=calls]', '');

    const theme = () => page.getAttribute('html', 'data-theme');
    const was = await theme();
    assert.ok(was === 'light' || was === 'dark', `html[data-theme] is "${was}"`);
    await page.click('button[data-action=theme]');
    assert.equal(await theme(), was === 'light' ? 'dark' : 'light', 'the theme button switches the theme');
    await page.click('button[data-action=theme]');
    assert.equal(await theme(), was, 'and back');
  }));

  it('had no console errors and sent no request outside the admin origin', () => s.run(async () => {
    s.assertClean(page);
  }));
});
