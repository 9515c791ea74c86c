// The browser tests' harness: a real echo server, a real grpcscope in front of
// it, real load from grpcscope-loadgen, and Debian's Chromium driven by
// playwright-core. One Stack per test file; Stack.close() (in after()) stops
// everything it started. See README.md beside this file.
//
// Environment:
//   GRPCSCOPE_BINARY        the grpcscope under test (default <build>/grpcscope)
//   GRPCSCOPE_BUILD_DIR     where the echo server and load generator are
//                           (default <repo>/build)
//   GRPCSCOPE_ARTIFACTS     where screenshots go (default <build>/test-artifacts/browser)
//   GRPCSCOPE_CHROMIUM      the browser (default /usr/bin/chromium)
//   GRPCSCOPE_BROWSER_NODE_MODULES  the node_modules holding playwright-core
//                           (ctest sets it to the build tree's; default: the
//                           one beside this file, after `npm ci` here)
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoDir = path.resolve(here, '..', '..');
export const buildDir = process.env.GRPCSCOPE_BUILD_DIR || path.join(repoDir, 'build');
export const grpcscopeBinary = process.env.GRPCSCOPE_BINARY || path.join(buildDir, 'grpcscope');
export const echoServerBinary = path.join(buildDir, 'grpcscope-echo-server');
export const loadgenBinary = path.join(buildDir, 'grpcscope-loadgen');
export const chromiumBinary = process.env.GRPCSCOPE_CHROMIUM || '/usr/bin/chromium';
export const artifactsDir =
  process.env.GRPCSCOPE_ARTIFACTS || path.join(buildDir, 'test-artifacts', 'browser');
const nodeModulesDir = process.env.GRPCSCOPE_BROWSER_NODE_MODULES || path.join(here, 'node_modules');

// The page's panels (the DOM contract: section[data-panel=NAME]).
export const PANELS = ['findings', 'methods', 'timeline', 'flow', 'pings', 'connections', 'tls', 'sizes', 'calls'];

// Chromium's own traffic (updates, sync, safe browsing...) would try to reach
// the internet, which this machine refuses; none of it is the page's.
const CHROMIUM_ARGS = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-default-apps', '--disable-extensions', '--metrics-recording-only', '--no-default-browser-check',
];

let playwright = null;

async function loadPlaywright() {
  if (playwright) return playwright;
  const require = createRequire(path.join(nodeModulesDir, '..', 'package.json'));
  const resolved = require.resolve('playwright-core');
  const mod = await import(pathToFileURL(resolved).href);
  playwright = mod.chromium ? mod : mod.default;  // a CommonJS package: its exports are the default
  return playwright;
}

// Why the browser tests cannot run here (a reason to report them skipped), or
// false when they can (node:test's `skip` option takes either). Missing project binaries are not a reason to skip: that
// is a broken build and fails.
export async function skipReason() {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 20) return `Node.js ${process.versions.node} is older than 20 (playwright-core 1.65 needs 20)`;
  if (!existsSync(chromiumBinary)) return `no Chromium at ${chromiumBinary} (Debian package chromium; scripts/deps.sh installs it)`;
  try {
    await loadPlaywright();
  } catch (e) {
    return `playwright-core is not installed in ${nodeModulesDir} (run npm ci there, or ctest -R browser.install): ${e.message}`;
  }
  return false;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls fn until it returns a truthy value; throws with what() and the last
// value seen when the deadline passes.
export async function waitFor(fn, { timeout = 10000, interval = 100, what = 'a condition' } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  let lastError;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) {
      const detail = lastError ? `; last error: ${lastError.message}` : `; last value: ${JSON.stringify(last)}`;
      throw new Error(`timed out after ${timeout} ms waiting for ${what}${detail}`);
    }
    await sleep(interval);
  }
}

const live = new Set();  // every child still running, killed if this process exits first
function killAll() {
  for (const p of live) {
    try { p.child.kill('SIGKILL'); } catch { /* already gone */ }
  }
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    killAll();
    process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
  });
}

// A child process with its output kept (the last 256 KiB of each stream).
class Proc {
  constructor(name, argv) {
    this.name = name;
    this.argv = argv;
    this.stdout = '';
    this.stderr = '';
    this.exit = null;  // {code, signal} once exited
    this.child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(this);
    const keep = (s) => (s.length > 262144 ? s.slice(-262144) : s);
    this.child.stdout.on('data', (d) => { this.stdout = keep(this.stdout + d); });
    this.child.stderr.on('data', (d) => { this.stderr = keep(this.stderr + d); });
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exit = { code, signal };
        live.delete(this);
        resolve(this.exit);
      });
      this.child.on('error', (e) => {
        this.stderr += `\n[spawn failed: ${e.message}]`;
        this.exit = { code: -1, signal: null };
        live.delete(this);
        resolve(this.exit);
      });
    });
  }

  running() { return this.exit === null; }

  // Resolves with the first match of re in stdout; rejects when the process
  // exits first or the timeout passes.
  async waitForLine(re, timeout = 10000) {
    const m = await waitFor(() => {
      if (!this.running()) throw new Error(`${this.name} exited (${JSON.stringify(this.exit)})`);
      return this.stdout.match(re);
    }, { timeout, interval: 20, what: `${this.name} to print ${re}` }).catch((e) => {
      throw new Error(`${e.message}\ncommand: ${this.argv.join(' ')}\n${this.tail()}`);
    });
    return m;
  }

  async stop(signal = 'SIGTERM', timeout = 10000) {
    if (!this.running()) return this.exit;
    this.child.kill(signal);
    const timer = sleep(timeout).then(() => null);
    const result = await Promise.race([this.exited, timer]);
    if (result) return result;
    this.child.kill('SIGKILL');
    return this.exited;
  }

  tail(lines = 60) {
    const last = (s, n) => s.split('\n').slice(-n).join('\n');
    return `--- ${this.name} stdout (tail) ---\n${last(this.stdout, lines / 3)}\n` +
           `--- ${this.name} stderr (tail) ---\n${last(this.stderr, lines)}`;
  }
}

// CA + server certificate (SAN localhost, 127.0.0.1; 30 days: tls.certificate_expiring
// wants fewer than 14 left) with the openssl CLI, as
// test/support/test_certs.cc makes them: nothing checked in.
function makeCerts(dir) {
  const cnf = path.join(dir, 'openssl.cnf');
  writeFileSync(cnf, [
    '[req]', 'distinguished_name = dn', '[dn]',
    '[v3_ca]', 'basicConstraints = critical,CA:TRUE', 'keyUsage = keyCertSign,cRLSign',
    '[server]', 'basicConstraints = CA:FALSE', 'subjectAltName = DNS:localhost,IP:127.0.0.1', '',
  ].join('\n'));
  const f = (n) => path.join(dir, n);
  const ossl = (...args) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  ossl('req', '-x509', '-config', cnf, '-extensions', 'v3_ca', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
    '-nodes', '-keyout', f('ca.key'), '-out', f('ca.pem'), '-subj', '/CN=browser-test-ca', '-days', '30');
  ossl('req', '-new', '-config', cnf, '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=localhost');
  ossl('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-set_serial', '2',
    '-days', '30', '-extfile', cnf, '-extensions', 'server', '-out', f('server.pem'));
  return { ca: f('ca.pem'), cert: f('server.pem'), key: f('server.key') };
}

// Everything one test file runs against. Options:
//   name  the test's name (screenshots: <name>-light.png, <name>-dark.png)
//   tls   TLS on both legs (echo server serves TLS; grpcscope terminates and
//         originates it; the load generator verifies against the test CA)
export class Stack {
  constructor({ name, tls = false }) {
    this.name = name;
    this.tls = tls;
    this.tmp = mkdtempSync(path.join(os.tmpdir(), `grpcscope-browser-${name}-`));
    this.procs = [];
    this.proxies = [];   // every grpcscope started (a restart adds one)
    this.loads = [];
    this.pages = [];
    this.browser = null;
    this.adminOrigin = null;
  }

  static async start(options) {
    const stack = new Stack(options);
    try {
      for (const bin of [grpcscopeBinary, echoServerBinary, loadgenBinary]) {
        if (!existsSync(bin)) throw new Error(`missing ${bin} (build the release preset first: bash scripts/build.sh)`);
      }
      if (stack.tls) stack.certs = makeCerts(stack.tmp);
      await stack.startEcho();
      await stack.startProxy();
      const { chromium } = await loadPlaywright();
      stack.browser = await chromium.launch({ executablePath: chromiumBinary, args: CHROMIUM_ARGS, headless: true });
    } catch (e) {
      e.message += stack.diagnostics();
      await stack.close();
      throw e;
    }
    return stack;
  }

  async startEcho() {
    const argv = [echoServerBinary, '--listen', '127.0.0.1:0'];
    if (this.tls) argv.push('--tls-cert', this.certs.cert, '--tls-key', this.certs.key);
    this.echo = new Proc('echo-server', argv);
    this.procs.push(this.echo);
    const m = await this.echo.waitForLine(/echo server listening on (\S+):(\d+)/);
    this.upstream = `127.0.0.1:${m[2]}`;
  }

  // Starts grpcscope; ports default to free ones (port 0), or the given ones
  // (a restart on the same admin port).
  async startProxy({ listenPort = 0, adminPort = 0, extraArgs = [] } = {}) {
    const argv = [grpcscopeBinary, '--listen', `127.0.0.1:${listenPort}`, '--upstream', this.upstream,
      '--admin', `127.0.0.1:${adminPort}`, '--log-level', 'info'];
    if (this.tls) {
      argv.push('--tls-cert', this.certs.cert, '--tls-key', this.certs.key,
        '--upstream-tls', '--upstream-ca', this.certs.ca, '--upstream-sni', 'localhost');
    }
    argv.push(...extraArgs);
    const proc = new Proc(`grpcscope#${this.proxies.length + 1}`, argv);
    this.procs.push(proc);
    this.proxies.push(proc);
    this.proxy = proc;
    // "grpcscope listening on HOST:PORT (h2c) -> upstream ... , admin HOST:PORT"
    const m = await proc.waitForLine(/grpcscope listening on (\S+):(\d+) .*admin (\S+):(\d+)/);
    this.listenPort = Number(m[2]);
    this.target = `127.0.0.1:${this.listenPort}`;
    this.adminPort = Number(m[4]);
    this.adminOrigin = `http://127.0.0.1:${this.adminPort}`;
    await waitFor(async () => (await fetch(`${this.adminOrigin}/healthz`)).ok,
      { timeout: 10000, what: `${this.adminOrigin}/healthz` });
    return proc;
  }

  // Kills the current grpcscope (SIGKILL: it goes away at once, as in a crash).
  async killProxy() {
    const exit = await this.proxy.stop('SIGKILL');
    return exit;
  }

  // Starts grpcscope-loadgen against grpcscope; args are its flags beyond
  // --target (--scenario, --rate, ...). Runs until stopLoad(), and stops by
  // itself after 180 s in any case (longer than any test here), so that no
  // load outlives a test that was killed.
  startLoad(args = []) {
    const argv = [loadgenBinary, '--target', this.target, '--duration', '180', ...args];
    if (this.tls) argv.push('--tls-ca', this.certs.ca, '--tls-server-name', 'localhost');
    const proc = new Proc(`loadgen#${this.loads.length + 1}`, argv);
    this.procs.push(proc);
    this.loads.push(proc);
    return proc;
  }

  async stopLoad(proc) {
    return proc.stop('SIGTERM', 10000);
  }

  async api(p) {
    let res;
    for (let attempt = 1; ; attempt++) {
      try {
        res = await fetch(`${this.adminOrigin}${p}`);
        break;
      } catch (e) {
        const code = e.cause && e.cause.code;
        // A kept-alive connection the server closed just as it was reused:
        // once more, on a new connection. Anything else is the answer.
        if (attempt === 1 && (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET')) continue;
        const cause = e.cause ? ` (${code || ''} ${e.cause.message || e.cause})` : '';
        throw new Error(`GET ${this.adminOrigin}${p}: ${e.message}${cause}`);
      }
    }
    if (!res.ok) throw new Error(`GET ${p}: HTTP ${res.status}: ${await res.text()}`);
    return res.json();
  }

  // Waits until grpcscope has counted calls (the load reaches it).
  async waitForCalls(n = 20, timeout = 15000) {
    await waitFor(async () => (await this.api('/api/summary')).rpcs.finished >= n,
      { timeout, what: `grpcscope to count ${n} finished calls` });
  }

  // Opens the live page in a fresh context at 1280x800 and records what the
  // tests check on every page: console errors, page errors, requests whose
  // origin is not the admin origin, failed same-origin responses.
  async openPage({ colorScheme = 'light', path: p = '/' } = {}) {
    const context = await this.browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme });
    const page = await context.newPage();
    const rec = { requests: [], consoleErrors: [], pageErrors: [], foreignRequests: [], badResponses: [], failedRequests: [], console: [] };
    page.on('console', (m) => {
      const loc = m.location();
      const line = `[${m.type()}] ${m.text()}${loc && loc.url ? ` (${loc.url}:${loc.lineNumber})` : ''}`;
      rec.console.push(`${new Date().toISOString()} ${line}`);
      if (m.type() === 'error') rec.consoleErrors.push({ at: Date.now(), text: line });
    });
    page.on('pageerror', (e) => rec.pageErrors.push({ at: Date.now(), text: String(e && e.stack || e) }));
    page.on('request', (r) => {
      const url = r.url();
      rec.requests.push(url);
      let origin;
      try { origin = new URL(url).origin; } catch { origin = '(unparsable)'; }
      if (origin !== this.adminOrigin) rec.foreignRequests.push(url);
    });
    page.on('response', (r) => {
      if (r.status() >= 400) rec.badResponses.push({ at: Date.now(), text: `${r.status()} ${r.url()}` });
    });
    page.on('requestfailed', (r) => {
      rec.failedRequests.push({ at: Date.now(), text: `${r.url()}: ${r.failure() && r.failure().errorText}` });
    });
    // Recorded above; aborted here, so that a page that tries is caught
    // without anything leaving this machine.
    await context.route((url) => url.origin !== this.adminOrigin, (route) => route.abort('blockedbyclient'));
    page.rec = rec;
    this.pages.push(page);
    const res = await page.goto(`${this.adminOrigin}${p}`, { waitUntil: 'domcontentloaded' });
    if (!res || !res.ok()) throw new Error(`GET ${p}: HTTP ${res && res.status()}`);
    return page;
  }

  // Waits for the page to be the live page (#status) and live.
  async waitLive(page, timeout = 10000) {
    try {
      await page.waitForSelector('#status', { state: 'attached', timeout: Math.min(timeout, 5000) });
    } catch {
      const title = await page.title().catch(() => '?');
      const text = (await page.textContent('body').catch(() => '')) || '';
      throw new Error(`the page at ${page.url()} has no #status element: it is not the live page ` +
        `(title "${title}", text "${text.trim().slice(0, 200).replace(/\s+/g, ' ')}")`);
    }
    await page.waitForSelector('#status[data-state="live"]', { state: 'attached', timeout }).catch(async (e) => {
      const state = await page.getAttribute('#status', 'data-state').catch(() => '?');
      throw new Error(`#status did not become data-state="live" within ${timeout} ms (it is "${state}"): ${e.message}`);
    });
  }

  // The checks every test makes at its end: no console errors or page errors
  // (except those `allow` accepts), no request outside the admin origin, no
  // same-origin request answered with an error.
  assertClean(page, { allow = () => false } = {}) {
    const r = page.rec;
    const problems = [];
    const errs = r.consoleErrors.filter((e) => !allow(e));
    if (errs.length) problems.push(`console errors:\n  ${errs.map((e) => e.text).join('\n  ')}`);
    if (r.pageErrors.length) problems.push(`page errors:\n  ${r.pageErrors.map((e) => e.text).join('\n  ')}`);
    if (r.foreignRequests.length) {
      problems.push(`requests outside the admin origin ${this.adminOrigin}:\n  ${r.foreignRequests.join('\n  ')}`);
    }
    const bad = r.badResponses.filter((e) => !allow(e));
    if (bad.length) problems.push(`error responses:\n  ${bad.map((e) => e.text).join('\n  ')}`);
    if (problems.length) throw new Error(problems.join('\n'));
  }

  // Screenshots of the page in light and dark (prefers-color-scheme), at
  // 1280x800: <artifacts>/<name>-light.png and -dark.png. Returns the paths.
  async screenshots(page, name = this.name) {
    mkdirSync(artifactsDir, { recursive: true });
    const out = [];
    for (const scheme of ['light', 'dark']) {
      await page.emulateMedia({ colorScheme: scheme });
      await sleep(300);
      const file = path.join(artifactsDir, `${name}-${scheme}.png`);
      await page.screenshot({ path: file });
      out.push(file);
    }
    return out;
  }

  // What a failure message needs: each grpcscope's log tail, the load
  // generators' output, and the page's console.
  diagnostics() {
    let s = '\n\n=== diagnostics ===';
    for (const p of this.procs) {
      s += `\n${p.name}: ${p.argv.join(' ')}  (${p.running() ? 'running' : `exited ${JSON.stringify(p.exit)}`})`;
    }
    for (const p of this.proxies) s += `\n${p.tail(80)}`;
    for (const p of this.loads) s += `\n${p.tail(10)}`;
    if (this.echo && !this.echo.running()) s += `\n${this.echo.tail(20)}`;
    for (const page of this.pages) {
      if (page.rec && page.rec.console.length) {
        s += `\n--- page console (last 30) ---\n${page.rec.console.slice(-30).join('\n')}`;
      }
      if (page.rec && page.rec.failedRequests.length) {
        s += `\n--- failed requests (last 10) ---\n${page.rec.failedRequests.slice(-10).map((e) => e.text).join('\n')}`;
      }
    }
    return s;
  }

  // Runs a test body; on failure adds the diagnostics to the error and saves
  // a screenshot of each open page (<name>-failure-N.png).
  async run(fn) {
    try {
      await fn();
    } catch (e) {
      let i = 0;
      for (const page of this.pages) {
        try {
          mkdirSync(artifactsDir, { recursive: true });
          await page.screenshot({ path: path.join(artifactsDir, `${this.name}-failure-${++i}.png`), timeout: 5000 });
        } catch { /* page gone */ }
      }
      e.message += this.diagnostics();
      throw e;
    }
  }

  async close() {
    if (this.browser) await this.browser.close().catch(() => {});
    for (const p of [...this.procs].reverse()) await p.stop('SIGTERM', 5000);
    rmSync(this.tmp, { recursive: true, force: true });
  }
}

// Reads the page's figures: {stats: {name: number}, methods: {method: {col: number}}}.
export async function readPage(page) {
  return page.evaluate(() => {
    const num = (el) => {
      const v = el.getAttribute('data-value');
      return v === null || v === '' ? null : Number(v);
    };
    const stats = {};
    for (const el of document.querySelectorAll('[data-stat]')) stats[el.getAttribute('data-stat')] = num(el);
    const methods = {};
    for (const tr of document.querySelectorAll('table[data-table=methods] tbody tr[data-method]')) {
      const row = {};
      for (const td of tr.querySelectorAll('td[data-col]')) row[td.getAttribute('data-col')] = num(td);
      methods[tr.getAttribute('data-method')] = row;
    }
    return { stats, methods };
  });
}
