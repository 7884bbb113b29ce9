// ack.mjs: comet.js acknowledges a personal channel's delivery only after
// the application's handler finished with it, on every transport. Each
// transport has its own user and browser context (one device: its
// localStorage holds the device id), and the tabs share their connection
// (a SharedWorker, or a leader tab for the iframe):
//
// 1. a DM while the page is open is handled and acknowledged (the node's
//    inbox API shows the device's position);
// 2. DMs sent while the page is closed are handled on reopen, exactly
//    once (what was acknowledged does not come again);
// 3. a handler that throws does not acknowledge: the message, and those
//    after it, come again with the next connection;
// 4. a handler whose promise never settles does not acknowledge: closing
//    the page and opening it again delivers the message again;
// 5. a tab opened while another's handler holds a message gets it too,
//    and it is acknowledged once the holding tab is gone.
//
// Run against a node with -auth demo, -data-dir and an API key
// (TestBrowserInboxAck).
import assert from 'node:assert/strict';
import { BASE, TRANSPORTS, log, run, step } from './lib.mjs';

const transports = (process.env.COMET_TRANSPORTS || TRANSPORTS.join(',')).split(',').filter(Boolean);
const KEY = process.env.COMET_TEST_API_KEY;

async function api(method, path, body) {
  const headers = { authorization: `Bearer ${KEY}` };
  if (body) headers['content-type'] = 'application/json';
  const res = await fetch(`${BASE}${path}`, { method, headers, body: body && JSON.stringify(body) });
  const text = await res.text();
  assert.equal(res.status, 200, `${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text);
}

// dm sends a DM from alice to user through the backend API and returns
// its seq in user's log (the second result: the sender's comes first).
async function dm(user, n) {
  const r = await api('POST', '/api/dm', { from: 'alice', to: user, data: { n } });
  assert.equal(r.results.length, 2, JSON.stringify(r));
  return r.results[1].seq;
}

// acked waits until the node stores the device's position at seq.
async function acked(user, device, seq, timeout = 15000) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    const st = await api('GET', `/api/inbox?user=${encodeURIComponent(user)}`);
    last = (st.devices || []).find((d) => d.device === device);
    if (last && last.acked >= seq) return last.acked;
    if (Date.now() > end) throw new Error(`${user}/${device}: not acknowledged up to ${seq}: ${JSON.stringify(st)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// The page: a client whose inbox handler records each message's n in
// window.got, unless window.mode says to throw on it or never finish
// (each once).
const setup = async ({ user, transport }) => {
  const { Comet } = await import('/comet.js');
  window.got = [];
  window.started = [];
  window.mode = {};
  window.errors = [];
  const c = new Comet({
    transport,
    shareKey: user,
    getToken: () => fetch(`/demo/token?user=${user}`).then((r) => r.json()),
  });
  window.c = c;
  c.on('error', (e) => window.errors.push(`${e.type}: ${e.message}`));
  c.on('gap', (e) => window.errors.push(`gap: ${e.channel} ${e.reason} since ${e.since}`));
  c.inbox((m) => {
    const n = m.data.n;
    window.started.push(n);
    const mode = window.mode[n];
    delete window.mode[n];
    if (mode === 'throw') throw new Error(`handler failed on ${n}`);
    if (mode === 'hang') return new Promise(() => {});
    return new Promise((resolve) => setTimeout(resolve, 5)).then(() => window.got.push(n));
  });
  const live = new Promise((resolve) => c.on('subscribed', (e) => e.channel === c.personal && resolve()));
  c.connect();
  await live;
  return { device: c.device, personal: c.personal, shared: c.shared };
};

class Device {
  constructor(browser, transport) {
    this.browser = browser;
    this.transport = transport;
    this.user = `bob-${transport}-${process.pid}`;
    this.pages = [];
  }

  async open() {
    if (!this.ctx) this.ctx = await this.browser.newContext();
    const page = await this.ctx.newPage();
    const d = { page, name: `${this.user} page ${this.pages.length + 1}`, pageErrors: [] };
    d.describe = async () => JSON.stringify(await page.evaluate(() => ({ got: window.got, started: window.started, errors: window.errors, state: window.c && window.c.state })));
    page.on('pageerror', (err) => d.pageErrors.push(String(err)));
    this.pages.push(d);
    this.page = page;
    await page.goto(`${BASE}/healthz`);
    const info = await page.evaluate(setup, { user: this.user, transport: this.transport });
    assert.equal(info.personal, `user:${this.user}`);
    if (this.device) assert.equal(info.device, this.device, 'one device id per browser');
    this.device = info.device;
    return d;
  }

  async waitGot(list, timeout = 15000) {
    await this.page.waitForFunction((n) => window.got.length >= n, list.length, { timeout }).catch(async (err) => {
      throw new Error(`${this.user}: wanted ${JSON.stringify(list)}: ${err.message}\n${await this.pages.at(-1).describe()}`);
    });
    assert.deepEqual(await this.page.evaluate(() => window.got), list, `${this.user} (${this.transport}): handled`);
  }

  async started(n) {
    await this.page.waitForFunction((k) => window.started.includes(k), n, { timeout: 15000 });
  }
}

async function scenario(state, transport) {
  const d = new Device(state.browser, transport);
  let page = await d.open();
  state.pages.push(page);

  const s1 = await dm(d.user, 1);
  await d.waitGot([1]);
  await acked(d.user, d.device, s1);

  await page.page.close();
  await dm(d.user, 2);
  const s3 = await dm(d.user, 3);
  page = await d.open();
  state.pages.push(page);
  await d.waitGot([2, 3]);
  const s4 = await dm(d.user, 4); // after 2 and 3 in the log: a duplicate of them would come first
  await d.waitGot([2, 3, 4]);
  assert.ok((await acked(d.user, d.device, s4)) >= s3);

  // 3. A handler that throws on 5: 5 and 6 are not acknowledged; a new
  // connection delivers both again.
  await d.page.evaluate(() => (window.mode[5] = 'throw'));
  const s5 = await dm(d.user, 5);
  const s6 = await dm(d.user, 6);
  await d.waitGot([2, 3, 4, 6]);
  assert.deepEqual(await d.page.evaluate(() => window.errors.filter((e) => e.startsWith('listener'))), ['listener: Error: handler failed on 5']);
  await d.page.evaluate(() => window.c.setTransport(null)); // a new connection, on the transport that worked
  await d.waitGot([2, 3, 4, 6, 5, 6]);
  await acked(d.user, d.device, s6);
  assert.ok(s6 > s5);

  // 4. A handler that never finishes on 7: the page closes with it in
  // hand; the next page gets 7 again (and 8, sent after it).
  await d.page.evaluate(() => (window.mode[7] = 'hang'));
  await dm(d.user, 7);
  await d.started(7);
  const s8 = await dm(d.user, 8);
  await d.started(8);
  const before = await api('GET', `/api/inbox?user=${d.user}`);
  const dev = before.devices.find((x) => x.device === d.device);
  assert.ok(dev.acked < s8, `acknowledged past a handler that never finished: ${JSON.stringify(dev)}`);
  await page.page.close();
  page = await d.open();
  state.pages.push(page);
  await d.waitGot([7, 8]);
  const s9 = await dm(d.user, 9);
  await d.waitGot([7, 8, 9]);
  await acked(d.user, d.device, s9);
  const errors = await d.page.evaluate(() => window.errors);
  assert.deepEqual(errors, [], `${d.user}: client errors`);

  // 5. Two tabs on one connection: the first holds 10 (never finishes);
  // a second tab opened now gets 10 too, and it is acknowledged once the
  // first is gone.
  await d.page.evaluate(() => (window.mode[10] = 'hang'));
  const s10 = await dm(d.user, 10);
  await d.started(10);
  const first = page;
  page = await d.open();
  state.pages.push(page);
  await d.waitGot([10]);
  const held = (await api('GET', `/api/inbox?user=${d.user}`)).devices.find((x) => x.device === d.device);
  assert.ok(held.acked < s10, `acknowledged while the first tab holds it: ${JSON.stringify(held)}`);
  await first.page.close();
  await acked(d.user, d.device, s10);
  const s11 = await dm(d.user, 11);
  await d.waitGot([10, 11]);
  await acked(d.user, d.device, s11);
  for (const p of d.pages) assert.deepEqual(p.pageErrors, [], `${p.name}: uncaught exceptions`);
  log(`${transport}: acknowledged after the handlers (device ${d.device}, log seq ${s11})`);
  await d.ctx.close();
}

run('ack', async (state) => {
  assert.ok(KEY, 'COMET_TEST_API_KEY is not set');
  await step(`ack after the handler over ${transports.join(', ')} (in parallel)`, () => Promise.all(transports.map((t) => scenario(state, t))));
});
