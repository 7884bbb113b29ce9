// deflate.mjs: Chromium against a server started with -ws-compression on,
// through test/e2e's wire tap (which checks the RSV1 bits: the browser
// inflates without telling):
//   - a raw WebSocket negotiates permessage-deflate (ws.extensions), gets
//     broadcasts intact and publishes (Chromium compresses what it sends);
//   - comet.js over the WebSocket transport subscribes, publishes and
//     receives the same way.
import assert from 'node:assert/strict';
import { BASE, log, publish, run, step, uniqueRoom } from './lib.mjs';

// A roster: the kind of payload compression is for.
const roster = { users: Array.from({ length: 40 }, (_, i) => ({ id: i, name: `user ${i}`, status: 'online' })) };

run('deflate', async (state) => {
  const ctx = await state.browser.newContext();
  const page = await ctx.newPage();
  const d = { ctx, page, name: 'deflate', pageErrors: [] };
  d.describe = async () => JSON.stringify(await page.evaluate(() => window.got || null));
  page.on('pageerror', (err) => d.pageErrors.push(String(err)));
  state.pages.push(d);
  await page.goto(`${BASE}/healthz`);

  const ch = `room:${uniqueRoom('deflate')}`;
  await step('a raw WebSocket negotiates permessage-deflate', async () => {
    const ext = await page.evaluate(async ({ base, ch }) => {
      const ws = new WebSocket(base.replace(/^http/, 'ws') + '/ws');
      window.ws = ws;
      window.got = [];
      ws.onmessage = (e) => window.got.push(JSON.parse(e.data));
      await new Promise((resolve, reject) => {
        ws.onopen = resolve;
        ws.onerror = () => reject(new Error('the WebSocket failed'));
      });
      ws.send(JSON.stringify({ op: 'sub', ch, id: 's' }));
      return ws.extensions;
    }, { base: BASE, ch });
    log(`extensions: ${ext}`);
    assert.match(ext, /^permessage-deflate/);
    assert.match(ext, /server_no_context_takeover/);
    await page.waitForFunction(() => window.got.some((m) => m.op === 'sub'), null, { timeout: 10000 });
  });

  await step('broadcasts arrive intact', async () => {
    const sent = [roster, { text: 'see you at 8, bring the slides' }, 'ünïcödé ☄ 😀'.repeat(20)];
    for (const data of sent) await publish(ch, data);
    await page.waitForFunction((n) => window.got.filter((m) => m.op === 'msg').length >= n, sent.length, { timeout: 10000 });
    const msgs = await page.evaluate(() => window.got.filter((m) => m.op === 'msg'));
    assert.deepEqual(msgs.map((m) => m.data), sent);
    assert.deepEqual(msgs.map((m) => m.seq), [1, 2, 3]);
  });

  await step('the browser publishes (compressed) and gets its message back', async () => {
    await page.evaluate(({ ch, data }) => window.ws.send(JSON.stringify({ op: 'pub', ch, data, id: 'p' })), { ch, data: roster });
    await page.waitForFunction(() => window.got.some((m) => m.op === 'ok' && m.id === 'p'), null, { timeout: 10000 });
    await page.waitForFunction(() => window.got.some((m) => m.op === 'msg' && m.seq === 4), null, { timeout: 10000 });
    const m = await page.evaluate(() => window.got.find((x) => x.op === 'msg' && x.seq === 4));
    assert.deepEqual(m.data, roster);
  });

  await step('comet.js over the WebSocket transport', async () => {
    const room = `room:${uniqueRoom('deflate-lib')}`;
    const r = await page.evaluate(async ({ room, data }) => {
      const { Comet } = await import('/comet.js');
      const c = new Comet({ transports: ['websocket'], share: false });
      const got = [];
      const sub = c.subscribe(room, (m) => got.push(m.data));
      c.connect();
      await sub.ready;
      await c.publish(room, data);
      const t0 = Date.now();
      while (got.length === 0 && Date.now() - t0 < 10000) await new Promise((res) => setTimeout(res, 20));
      const out = { transport: c.transport, got };
      c.close();
      return out;
    }, { room, data: roster });
    assert.equal(r.transport, 'websocket');
    assert.deepEqual(r.got, [roster]);
  });

  await page.evaluate(() => window.ws.close(1000));
  assert.deepEqual(d.pageErrors, []);
});
