// client.mjs: comet.js itself, in pages of its own (no demo UI):
//   - heartbeat watchdog: a WebSocket that silently stops carrying frames is
//     detected and replaced, and what was published meanwhile is recovered
//     (recovered: true, no gap event), none twice;
//   - long-poll: a client kept away recovers from its cursor, no gap;
//   - history gap: a since older than history reports a gap on every
//     transport and still delivers what history holds;
//   - since: a new client resumes from a saved position;
//   - SSE in EventSource mode delivers;
//   - bad server input (a scripted WebSocket server): invalid JSON, unknown
//     ops, malformed messages become error events, never exceptions; a
//     duplicate is dropped; a throwing handler does not stop the others; a
//     "do not reconnect" close code stops the client.
import assert from 'node:assert/strict';
import { BASE, TRANSPORTS, log, publish, run, sleep, step, uniqueRoom } from './lib.mjs';

async function blankPage(state) {
  const ctx = await state.browser.newContext();
  const page = await ctx.newPage();
  const d = { ctx, page, name: 'client', pageErrors: [] };
  page.on('pageerror', (err) => d.pageErrors.push(String(err)));
  d.describe = async () => JSON.stringify(await page.evaluate(() => window.trace || null), null, 1);
  state.pages.push(d);
  await page.goto(`${BASE}/healthz`);
  // window.mk(name, options, channel, subOptions): a traced client.
  await page.evaluate(async () => {
    const mod = await import('/comet.js');
    window.Comet = mod.Comet;
    window.trace = {};
    window.clients = {};
    window.mk = (name, options, channel, subOptions) => {
      // A connection of its own: these tests take pages offline, which a
      // SharedWorker's connection does not see.
      const c = new mod.Comet({ share: false, ...options });
      const t = (window.trace[name] = { got: [], events: [] });
      for (const ev of ['connected', 'disconnected', 'fallback', 'gap', 'error', 'subscribed']) {
        c.on(ev, (a) => t.events.push({ ev, ...a, error: undefined }));
      }
      if (channel) c.subscribe(channel, (m) => t.got.push(m.data), subOptions);
      window.clients[name] = c;
      c.connect();
      return true;
    };
  });
  return d;
}

const trace = (d, name) => d.page.evaluate((n) => window.trace[n], name);
const waitFor = (d, fn, arg, what, timeout = 15000) =>
  d.page.waitForFunction(fn, arg, { timeout }).catch(async (err) => {
    throw new Error(`${what}: ${err.message}\n${await d.describe()}`);
  });
const waitGot = (d, name, n, timeout) =>
  waitFor(d, ([k, m]) => window.trace[k].got.length >= m, [name, n], `${name}: ${n} messages`, timeout);
const waitState = (d, name, fn, what, timeout) =>
  waitFor(d, ([k, f]) => new Function('c', `return ${f}`)(window.clients[k]), [name, fn], `${name}: ${what}`, timeout);

run('client', async (state) => {
  const d = await blankPage(state);

  await step('watchdog: a silent WebSocket is replaced, the messages sent meanwhile recovered', async () => {
    const ch = `room:${uniqueRoom('wd')}`;
    // A pong timeout well above a loaded machine's pauses (two CPU burners
    // and the rest of make test held Chromium's pongs past 400 ms), still
    // far below the offline wait below.
    await d.page.evaluate((ch) => window.mk('wd', { transport: 'websocket', pingInterval: 400, pongTimeout: 1500, initialDelay: 200 }, ch), ch);
    await waitState(d, 'wd', "c.state === 'connected' && c.position(" + JSON.stringify(ch) + ') !== null', 'subscribed');
    for (let i = 1; i <= 2; i++) await publish(ch, `live ${i}`);
    await waitGot(d, 'wd', 2);
    // Offline emulation silently stops the WebSocket's frames both ways: no
    // close, no error. Only the watchdog can tell.
    await d.ctx.setOffline(true);
    for (let i = 1; i <= 3; i++) await publish(ch, `away ${i}`);
    await waitState(d, 'wd', "c.state !== 'connected'", 'the watchdog fires', 15000);
    await d.ctx.setOffline(false);
    await waitGot(d, 'wd', 5);
    await sleep(200);
    const t = await trace(d, 'wd');
    assert.deepEqual(t.got, ['live 1', 'live 2', 'away 1', 'away 2', 'away 3']);
    const disc = t.events.filter((e) => e.ev === 'disconnected');
    // The watchdog ends the silent socket; a reconnect tried while still
    // offline may then be lost (1006) before the one that recovers.
    assert.ok(disc.length >= 1 && /heartbeat/.test(disc[0].reason) && disc.every((e) => e.willReconnect), JSON.stringify(disc));
    // One replacement at least (more if a loaded machine delayed a pong
    // while online too), every one of them recovered.
    const subs = t.events.filter((e) => e.ev === 'subscribed');
    assert.ok(subs.length >= 2 && subs.every((s) => s.recovered === true), JSON.stringify(subs));
    assert.deepEqual(t.events.filter((e) => e.ev === 'gap' || e.ev === 'error'), []);
    await d.page.evaluate(() => window.clients.wd.close());
  });

  await step('long-poll: a client kept away recovers from its cursor', async () => {
    const ch = `room:${uniqueRoom('lp')}`;
    await d.page.evaluate((ch) => window.mk('lp', { transport: 'poll', initialDelay: 200 }, ch), ch);
    await waitState(d, 'lp', "c.state === 'connected' && c.position(" + JSON.stringify(ch) + ') !== null', 'subscribed');
    await d.ctx.setOffline(true);
    await publish(ch, 'answers the parked poll');
    await waitState(d, 'lp', "c.state !== 'connected'", 'the next poll fails offline');
    for (let i = 1; i <= 3; i++) await publish(ch, `away ${i}`);
    await d.ctx.setOffline(false);
    await waitGot(d, 'lp', 4);
    await sleep(200);
    const t = await trace(d, 'lp');
    assert.deepEqual(t.got, ['answers the parked poll', 'away 1', 'away 2', 'away 3']);
    assert.deepEqual(t.events.filter((e) => e.ev === 'gap' || e.ev === 'error'), []);
    await d.page.evaluate(() => window.clients.lp.close());
  });

  await step('history gap on every transport: reported, and what history holds is delivered', async () => {
    const ch = `room:${uniqueRoom('gap')}`;
    const N = 110; // the server keeps 100
    for (let i = 1; i <= N; i++) await publish(ch, i);
    await d.page.evaluate(
      ([ch, ts]) => ts.forEach((t) => window.mk(`gap-${t}`, { transport: t }, ch, { since: 2 })),
      [ch, TRANSPORTS],
    );
    for (const t of TRANSPORTS) {
      await waitGot(d, `gap-${t}`, 100);
      const tr = await trace(d, `gap-${t}`);
      assert.deepEqual(tr.got, Array.from({ length: 100 }, (_, i) => N - 99 + i), `${t}: the held history, in order`);
      const gaps = tr.events.filter((e) => e.ev === 'gap');
      assert.equal(gaps.length, 1, `${t}: ${JSON.stringify(gaps)}`);
      assert.equal(gaps[0].reason, 'history gap');
      assert.equal(gaps[0].since, 2);
      assert.deepEqual(tr.events.filter((e) => e.ev === 'error'), []);
      const sub = tr.events.find((e) => e.ev === 'subscribed');
      assert.equal(sub.recovered, false, t);
    }
    await d.page.evaluate(() => Object.values(window.clients).forEach((c) => c.close()));
  });

  await step('since: a new client resumes from a saved position, over each transport', async () => {
    const ch = `room:${uniqueRoom('since')}`;
    await d.page.evaluate((ch) => window.mk('first', { transport: 'websocket' }, ch), ch);
    await waitState(d, 'first', "c.state === 'connected' && c.position(" + JSON.stringify(ch) + ') !== null', 'subscribed');
    for (let i = 1; i <= 3; i++) await publish(ch, i);
    await waitGot(d, 'first', 3);
    const pos = await d.page.evaluate((ch) => {
      const c = window.clients.first;
      const p = c.position(ch);
      c.close();
      return p;
    }, ch);
    assert.equal(pos.seq, 3);
    for (let i = 4; i <= 5; i++) await publish(ch, i);
    for (const t of TRANSPORTS) {
      await d.page.evaluate(([ch, t, pos]) => window.mk(`since-${t}`, { transport: t }, ch, { since: pos }), [ch, t, pos]);
      await waitGot(d, `since-${t}`, 2);
    }
    await sleep(200);
    for (const t of TRANSPORTS) {
      const tr = await trace(d, `since-${t}`);
      assert.deepEqual(tr.got, [4, 5], t);
      assert.deepEqual(tr.events.filter((e) => e.ev === 'gap' || e.ev === 'error'), [], t);
    }
    await d.page.evaluate(() => Object.values(window.clients).forEach((c) => c.close()));
  });

  await step('SSE in EventSource mode', async () => {
    const ch = `room:${uniqueRoom('es')}`;
    await d.page.evaluate((ch) => window.mk('es', { transport: 'sse', sseMode: 'eventsource' }, ch), ch);
    await waitState(d, 'es', "c.state === 'connected' && c.position(" + JSON.stringify(ch) + ') !== null', 'subscribed');
    const seq = await d.page.evaluate((ch) => window.clients.es.publish(ch, 'hello'), ch);
    assert.equal(seq, 1);
    await waitGot(d, 'es', 1);
    assert.deepEqual((await trace(d, 'es')).got, ['hello']);
    await d.page.evaluate(() => window.clients.es.close());
  });

  await step('bad server input is reported, never thrown', async () => {
    const ctx = await state.browser.newContext();
    const page = await ctx.newPage();
    const m = { ctx, page, name: 'mock', pageErrors: [], describe: async () => JSON.stringify(await page.evaluate(() => window.trace)) };
    state.pages.push(m);
    page.on('pageerror', (err) => m.pageErrors.push(String(err)));
    let route;
    // A scripted server: this test is about the client's defences, so the
    // server's answers are made up on purpose.
    await ctx.routeWebSocket(/\/ws(\?.*)?$/, (ws) => {
      route = ws;
      ws.onMessage((text) => {
        const req = JSON.parse(text);
        const send = (x) => ws.send(typeof x === 'string' ? x : JSON.stringify(x));
        if (req.op === 'sub') {
          send('this is not json');
          send({ op: 'surprise' });
          send([1, 2, 3]);
          send({ op: 'msg', ch: req.ch, seq: 'x', data: 1 });
          send({ op: 'msg', ch: req.ch, seq: 1, data: 'before the sub reply' });
          send({ op: 'sub', id: req.id, ch: req.ch, seq: 0, epoch: 'e1' });
          send({ op: 'msg', ch: req.ch, seq: 1, ts: 1, data: 'one' });
          send({ op: 'msg', ch: req.ch, seq: 1, ts: 1, data: 'one again' });
          send({ op: 'msg', ch: req.ch, seq: 2, ts: 2, data: 'two' });
          send({ op: 'msg', ch: 'room:other', seq: 1, ts: 2, data: 'not subscribed' });
        } else if (req.op === 'pub') {
          send({ op: 'err', id: req.id, code: 413, reason: 'payload too large' });
        }
      });
    });
    await page.goto(`${BASE}/healthz`);
    const r = await page.evaluate(async () => {
      const { Comet } = await import('/comet.js');
      const c = new Comet({ transport: 'websocket', share: false });
      window.trace = { got: [], errors: [], events: [] };
      c.on('error', (e) => window.trace.errors.push(`${e.type}: ${e.message}`));
      c.on('disconnected', (e) => window.trace.events.push(e));
      c.subscribe('room:mock', (msg) => {
        if (msg.data === 'two') throw new Error('application bug');
      });
      c.subscribe('room:mock', (msg) => window.trace.got.push(msg.data));
      c.connect();
      const t0 = Date.now();
      // Until both arrived: a loaded machine may take seconds.
      while (window.trace.got.length < 2 && Date.now() - t0 < 30000) await new Promise((res) => setTimeout(res, 20));
      await new Promise((res) => setTimeout(res, 100));
      const pub = await c.publish('room:mock', 'x').then(
        () => 'resolved',
        (e) => `${e.name} ${e.code}`,
      );
      window.c = c;
      return { got: window.trace.got, errors: window.trace.errors, duplicates: c.stats.duplicates, state: c.state, pub };
    });
    assert.deepEqual(r.got, ['one', 'two']);
    assert.equal(r.duplicates, 1);
    assert.equal(r.state, 'connected');
    assert.equal(r.pub, 'CometError 413');
    assert.equal(r.errors.length, 5, r.errors.join('\n'));
    assert.match(r.errors[0], /^protocol: invalid JSON/);
    assert.match(r.errors[1], /^protocol: unknown op "surprise"/);
    assert.match(r.errors[2], /^protocol: message without op/);
    assert.match(r.errors[3], /^protocol: malformed msg/);
    assert.match(r.errors[4], /^listener: Error: application bug/);
    // 4500-4999: do not reconnect.
    await route.close({ code: 4500, reason: 'go away' });
    await page.waitForFunction(() => window.c.state === 'closed', null, { timeout: 5000 });
    const ev = await page.evaluate(() => window.trace.events);
    assert.equal(ev.length, 1);
    assert.equal(ev[0].willReconnect, false);
    assert.equal(ev[0].code, 4500);
    assert.deepEqual(m.pageErrors, [], 'nothing was thrown into the page');
    log(`errors reported: ${r.errors.length}, duplicate dropped, state after 4500: closed`);
  });

  assert.deepEqual(d.pageErrors, []);
});
