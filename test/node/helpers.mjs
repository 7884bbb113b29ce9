// Shared helpers for Comet's end-to-end tests with node's ws client. The
// server under test is named by COMET_URL (http://host:port or ws://host:port);
// test/e2e starts it and runs these files with `node --test`.
import assert from 'node:assert/strict';
import WebSocket from 'ws';

// Generous: a loaded CI machine with a race-instrumented server can stall
// for seconds; a wait only ends this early when something is wrong.
export const DEFAULT_TIMEOUT = 10000;

export function baseURL() {
  const u = process.env.COMET_URL;
  assert.ok(u, 'COMET_URL is not set: these tests run against a server started by test/e2e (go test ./test/e2e)');
  return u.replace(/\/+$/, '').replace(/^ws/, 'http');
}

export function wsURL(path = '/ws') {
  return baseURL().replace(/^http/, 'ws') + path;
}

// uniq returns a channel name no other test uses.
let counter = 0;
export function uniq(prefix = 'test') {
  return `${prefix}:${process.pid}.${Date.now()}.${++counter}`;
}

function timeout(ms, what) {
  let timer;
  const p = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return { p, cancel: () => clearTimeout(timer) };
}

// withTimeout races promise against a deadline.
export async function withTimeout(promise, ms, what) {
  const t = timeout(ms, what);
  try {
    return await Promise.race([promise, t.p]);
  } finally {
    t.cancel();
  }
}

// Client wraps a ws.WebSocket with a queue of received messages so tests can
// await them one by one, and a promise of the close event.
export class Client {
  constructor(ws) {
    this.ws = ws;
    this.queue = [];
    this.waiters = [];
    this.errors = [];
    this.pings = 0;
    this.closeInfo = null;
    ws.on('message', (data, isBinary) => this.#push({ data, isBinary }));
    ws.on('ping', () => { this.pings++; });
    ws.on('error', (err) => { this.errors.push(err); });
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() };
        resolve(this.closeInfo);
        for (const w of this.waiters.splice(0)) w.reject(new Error(`connection closed (${code} ${reason}) while waiting for a message`));
      });
    });
  }

  #push(m) {
    const w = this.waiters.shift();
    if (w) w.resolve(m);
    else this.queue.push(m);
  }

  // next resolves with the next message as {data: Buffer, isBinary}.
  next(ms = DEFAULT_TIMEOUT) {
    if (this.queue.length > 0) return Promise.resolve(this.queue.shift());
    if (this.closeInfo) return Promise.reject(new Error(`connection closed (${this.closeInfo.code}) before the next message`));
    let waiter;
    const p = new Promise((resolve, reject) => { waiter = { resolve, reject }; });
    this.waiters.push(waiter);
    return withTimeout(p, ms, 'the next message').catch((err) => {
      const i = this.waiters.indexOf(waiter);
      if (i >= 0) this.waiters.splice(i, 1);
      throw err;
    });
  }

  // json resolves with the next message, which must be a JSON text
  // message. Epoch events (a channel's stream began) are checked, kept in
  // this.epochs by channel, and skipped.
  async json(ms = DEFAULT_TIMEOUT) {
    for (;;) {
      const m = await this.next(ms);
      assert.equal(m.isBinary, false, 'expected a text message');
      const text = m.data.toString('utf8');
      let obj;
      try {
        obj = JSON.parse(text);
      } catch (err) {
        throw new Error(`server sent invalid JSON: ${text}`);
      }
      if (obj.op !== 'epoch') return obj;
      assert.deepEqual(Object.keys(obj).sort(), ['ch', 'epoch', 'op'], `epoch event: ${text}`);
      assert.ok(obj.epoch && !obj.epoch.startsWith('.'), `epoch event: ${text}`);
      (this.epochs ??= new Map()).set(obj.ch, obj.epoch);
    }
  }

  send(obj) {
    this.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj));
  }

  // request sends obj and returns the next message; use it only where no
  // delivery can arrive in between.
  async request(obj, ms) {
    this.send(obj);
    return this.json(ms);
  }

  // subscribe joins ch and returns the sub reply, checked.
  async subscribe(ch, extra = {}) {
    const id = `s-${++counter}`;
    const reply = await this.request({ op: 'sub', ch, id, ...extra });
    assert.equal(reply.op, 'sub', `sub reply: ${JSON.stringify(reply)}`);
    assert.equal(reply.id, id);
    assert.equal(reply.ch, ch);
    return reply;
  }

  // silence asserts nothing arrives for ms.
  async silence(ms = 200) {
    await new Promise((r) => setTimeout(r, ms));
    assert.deepEqual(this.queue.map((m) => m.data.toString()), [], 'unexpected messages');
  }

  // waitClose resolves with {code, reason} once the connection is closed.
  waitClose(ms = DEFAULT_TIMEOUT) {
    return withTimeout(this.closed, ms, 'the connection to close');
  }

  close(code, reason) {
    this.ws.close(code, reason);
    return this.waitClose();
  }
}

export async function connect(path = '/ws', opts = {}) {
  const ws = new WebSocket(wsURL(path), opts);
  const c = new Client(ws);
  await withTimeout(new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
  }), DEFAULT_TIMEOUT, `the WebSocket to ${wsURL(path)} to open`);
  return c;
}

// apiPublish publishes through POST /api/publish and returns the response.
export async function apiPublish(channel, data, { key = process.env.COMET_TEST_API_KEY, body } = {}) {
  const headers = { 'content-type': 'application/json' };
  if (key) headers.authorization = `Bearer ${key}`;
  const res = await fetch(baseURL() + '/api/publish', {
    method: 'POST',
    headers,
    body: body ?? JSON.stringify({ channel, data }),
    signal: AbortSignal.timeout(DEFAULT_TIMEOUT),
  });
  return { status: res.status, text: await res.text() };
}

// checkMsg asserts m is exactly the delivery {op:"msg",ch,seq,ts,data} and
// that ts is a plausible Unix time in milliseconds.
export function checkMsg(m, ch, seq, data) {
  assert.equal(typeof m.ts, 'number', `ts in ${JSON.stringify(m)}`);
  assert.ok(Number.isInteger(m.ts) && Math.abs(m.ts - Date.now()) < 60_000, `ts ${m.ts} is not now in Unix ms`);
  assert.deepEqual(m, { op: 'msg', ch, seq, ts: m.ts, data });
}
