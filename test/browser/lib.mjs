// Shared helpers of the browser tests: launch Debian's chromium through
// playwright-core, open the demo, read what it shows, run named steps with
// timings. The tests are plain scripts that exit non-zero on failure; they
// are started by test/e2e/browser_test.go with COMET_URL set.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch (err) {
  console.error(`playwright-core is not installed (${err.message}): run make test-deps`);
  process.exit(2);
}

export const CHROMIUM = process.env.COMET_CHROMIUM || '/usr/bin/chromium';
export const BASE = process.env.COMET_URL;
if (!BASE) {
  console.error('COMET_URL is not set: these scripts are run by go test ./test/e2e');
  process.exit(2);
}
export const ARTIFACTS = process.env.COMET_ARTIFACTS || path.resolve(import.meta.dirname, '../../results/screenshots');

export const TRANSPORTS = ['websocket', 'sse', 'poll', 'iframe'];
const T0 = Date.now();

export function log(...args) {
  console.log(`[${((Date.now() - T0) / 1000).toFixed(2)}s]`, ...args);
}

export async function launch() {
  if (!fs.existsSync(CHROMIUM)) {
    console.error(`${CHROMIUM} is missing: run make test-deps`);
    process.exit(2);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic',
      '--no-first-run', '--disable-component-update', '--disable-sync',
    ],
    timeout: 20000,
  });
}

// Page wraps one demo window in its own browser context (its own storage,
// cookies and connections: a separate user).
export class Demo {
  static async open(browser, { name, room, transport, query = {} }) {
    const ctx = await browser.newContext({ viewport: { width: 1120, height: 700 }, deviceScaleFactor: 1 });
    const page = await ctx.newPage();
    const d = new Demo(ctx, page, name);
    page.on('pageerror', (err) => d.pageErrors.push(String(err)));
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') d.console.push(`${m.type()}: ${m.text()}`);
    });
    const q = new URLSearchParams({ name, room, ...query });
    if (transport) q.set('transport', transport);
    await page.goto(`${BASE}/?${q}`, { waitUntil: 'domcontentloaded' });
    await page.waitForFunction(() => window.demo && window.demo.client, null, { timeout: 10000 });
    return d;
  }

  constructor(ctx, page, name) {
    this.ctx = ctx;
    this.page = page;
    this.name = name;
    this.pageErrors = [];
    this.console = [];
  }

  // connected waits until the client is connected (over transport, if
  // given) and every joined room is subscribed.
  async connected(transport, timeout = 15000) {
    await this.page.waitForFunction(
      (t) => {
        const c = window.demo.client;
        if (c.state !== 'connected' || (t && c.transport !== t)) return false;
        return [...window.demo.state.rooms.values()].every((r) => r.ready);
      },
      transport || null,
      { timeout },
    ).catch(async (err) => {
      throw new Error(`${this.name}: not connected${transport ? ` over ${transport}` : ''}: ${err.message}\n${await this.describe()}`);
    });
  }

  async transport() {
    return this.page.evaluate(() => window.demo.client.transport);
  }

  // send types text into the composer and presses Enter, like a user.
  async send(text) {
    await this.page.fill('#text', text);
    await this.page.press('#text', 'Enter');
  }

  // messages returns the chat messages shown, in order.
  async messages() {
    return this.page.$$eval('#messages .msg', (els) =>
      els.map((e) => ({ seq: Number(e.dataset.seq), from: e.dataset.from, text: e.querySelector('.text').textContent })),
    );
  }

  async waitMessages(n, timeout = 15000) {
    try {
      await this.page.waitForFunction((k) => document.querySelectorAll('#messages .msg').length >= k, n, { timeout });
    } catch (err) {
      throw new Error(`${this.name}: wanted ${n} messages: ${err.message}\n${await this.describe()}`);
    }
    return this.messages();
  }

  async events(name) {
    const evs = await this.page.evaluate(() => window.demo.events);
    return name ? evs.filter((e) => e.ev === name) : evs;
  }

  async stats() {
    return this.page.evaluate(() => ({ ...window.demo.client.stats }));
  }

  async describe() {
    try {
      const info = await this.page.evaluate(() => ({
        state: window.demo.client.state,
        transport: window.demo.client.transport,
        stats: window.demo.client.stats,
        events: window.demo.events.slice(-15).map((e) => `${e.ev} ${e.transport || e.channel || ''} ${e.reason || e.state || e.message || ''}`),
        shown: [...document.querySelectorAll('#messages > *')].map((e) => `${e.dataset.seq || '-'} ${e.dataset.from || ''}: ${(e.querySelector('.text') || e).textContent}`),
        log: [...document.querySelectorAll('#log li')].map((e) => e.textContent),
        composer: document.querySelector('#text').value,
      }));
      return `${this.name}: ${JSON.stringify(info, null, 1)}\nconsole: ${this.console.join('\n')}\npage errors: ${this.pageErrors.join('\n')}`;
    } catch (err) {
      return `${this.name}: cannot describe: ${err.message}`;
    }
  }

  // clean asserts no uncaught exception reached the page.
  assertClean() {
    assert.deepEqual(this.pageErrors, [], `${this.name}: uncaught exceptions in the page`);
  }
}

// run runs the steps in order, logging each with its time; on failure it
// saves a screenshot of every open page and exits 1.
export async function run(title, fn) {
  const started = Date.now();
  const state = { browser: null, pages: [] };
  let failed = false;
  try {
    state.browser = await launch();
    log(`chromium ${state.browser.version()} launched`);
    await fn(state);
  } catch (err) {
    failed = true;
    console.error(`FAIL ${title}: ${err.stack || err}`);
    for (const [i, d] of state.pages.entries()) {
      try {
        fs.mkdirSync(ARTIFACTS, { recursive: true });
        const file = path.join(ARTIFACTS, `failure-${title.replace(/\W+/g, '-')}-${i}.png`);
        await d.page.screenshot({ path: file, timeout: 5000 });
        console.error(`screenshot: ${file}`);
        console.error(await d.describe());
      } catch {
        // best effort
      }
    }
  } finally {
    if (state.browser) await state.browser.close().catch(() => {});
  }
  log(`${failed ? 'FAIL' : 'ok'} ${title} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
  process.exit(failed ? 1 : 0);
}

export async function step(name, fn) {
  const t = Date.now();
  log(`-- ${name}`);
  const r = await fn();
  log(`   ${name}: ${Date.now() - t} ms`);
  return r;
}

// publish publishes through the backend API, as an application server would.
export async function publish(channel, data) {
  const headers = { 'content-type': 'application/json' };
  if (process.env.COMET_TEST_API_KEY) headers.authorization = `Bearer ${process.env.COMET_TEST_API_KEY}`;
  const res = await fetch(`${BASE}/api/publish`, { method: 'POST', headers, body: JSON.stringify({ channel, data }) });
  const body = await res.text();
  assert.equal(res.status, 200, `POST /api/publish: ${res.status} ${body}`);
  return JSON.parse(body).seq;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function uniqueRoom(prefix) {
  return `${prefix}-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
}

// checkConversation asserts that a window shows exactly the expected texts
// (in per-sender order, totally ordered by seq), with contiguous seqs and no
// duplicate.
export function checkConversation(who, shown, expectedBySender) {
  const seqs = shown.map((m) => m.seq);
  for (let i = 1; i < seqs.length; i++) {
    assert.equal(seqs[i], seqs[i - 1] + 1, `${who}: seqs not contiguous and increasing: ${seqs}`);
  }
  const texts = shown.map((m) => m.text);
  assert.equal(new Set(texts).size, texts.length, `${who}: a message was shown twice: ${texts}`);
  for (const [sender, list] of Object.entries(expectedBySender)) {
    const got = shown.filter((m) => m.from === sender).map((m) => m.text);
    assert.deepEqual(got, list, `${who}: ${sender}'s messages`);
  }
  const total = Object.values(expectedBySender).reduce((n, l) => n + l.length, 0);
  assert.equal(shown.length, total, `${who}: number of messages`);
}
