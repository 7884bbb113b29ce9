// fallback.mjs: against a server started with -no-websocket (upgrades get
// 503, like a proxy that cannot carry WebSockets), clients in automatic mode
// fall back to the next transport and still deliver; a client whose
// fallback list skips SSE lands on long-poll, or on the iframe.
import assert from 'node:assert/strict';
import { Demo, checkConversation, log, run, step, uniqueRoom } from './lib.mjs';

run('fallback', async (state) => {
  const room = uniqueRoom('fallback');
  const [alice, bob] = await step('open two windows in automatic mode', async () => {
    const ds = await Promise.all(['alice', 'bob'].map((name) => Demo.open(state.browser, { name, room })));
    state.pages.push(...ds);
    await Promise.all(ds.map((d) => d.connected()));
    return ds;
  });

  await step('both fell back from WebSocket to SSE', async () => {
    for (const d of [alice, bob]) {
      assert.equal(await d.transport(), 'sse', `${d.name}: transport`);
      const fb = await d.events('fallback');
      assert.equal(fb.length, 1, `${d.name}: fallbacks ${JSON.stringify(fb)}`);
      assert.equal(fb[0].from, 'websocket');
      assert.equal(fb[0].to, 'sse');
      const shown = await d.page.$eval('#status-text', (e) => e.textContent);
      assert.equal(shown, 'Connected · SSE');
    }
  });

  await step('chat over the fallback', async () => {
    const said = { alice: [], bob: [] };
    for (let i = 1; i <= 4; i++) {
      for (const d of [alice, bob]) {
        const text = `${d.name} ${i}`;
        said[d.name].push(text);
        await d.send(text);
      }
    }
    const [a, b] = await Promise.all([alice.waitMessages(8), bob.waitMessages(8)]);
    checkConversation('alice', a, said);
    checkConversation('bob', b, said);
    assert.deepEqual(a, b);
  });

  await step('other fallback orders: websocket -> poll, websocket -> iframe', async () => {
    for (const next of ['poll', 'iframe']) {
      const r = await alice.page.evaluate(
        async ({ next, room }) => {
          const { Comet } = await import('/comet.js');
          const c = new Comet({ transports: ['websocket', next], share: false });
          const got = [];
          const sub = c.subscribe(`room:${room}`, (m) => got.push(m.data.text));
          const fallbacks = [];
          c.on('fallback', (e) => fallbacks.push(`${e.from}->${e.to}`));
          c.connect();
          await sub.ready;
          const seq = await c.publish(`room:${room}`, { from: 'lib', text: `via ${next}` });
          const t0 = Date.now();
          while (got.length === 0 && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
          const out = { transport: c.transport, fallbacks, got, seq };
          c.close();
          return out;
        },
        { next, room },
      );
      assert.equal(r.transport, next);
      assert.deepEqual(r.fallbacks, [`websocket->${next}`]);
      assert.deepEqual(r.got, [`via ${next}`]);
      assert.ok(r.seq > 8, `publish resolved with seq ${r.seq}`);
      log(`websocket -> ${next}: delivered, seq ${r.seq}`);
    }
    for (const d of [alice, bob]) d.assertClean();
  });
});
