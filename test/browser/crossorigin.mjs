// crossorigin.mjs: a page on another origin (a tiny static server on
// another loopback port) imports comet.js from Comet's origin (CORS) and
// chats over every transport, each tab sharing through a leader tab (a
// SharedWorker cannot run a script of another origin). The iframe
// transport talks by postMessage, checked against Comet's origin, and the
// page's load event still fires.
//
// COMET_PAGE_PORT is the port the Go test allowed (-allowed-origins).
import assert from 'node:assert/strict';
import http from 'node:http';
import { BASE, TRANSPORTS, log, publish, run, step, uniqueRoom } from './lib.mjs';

const port = Number(process.env.COMET_PAGE_PORT);
if (!port) {
  console.error('COMET_PAGE_PORT is not set: run by go test ./test/e2e -run TestBrowserCrossOrigin');
  process.exit(2);
}

// The page connects at once, before its load event, over the iframe:
// a forever-frame added then would hold the load event forever.
const page = `<!doctype html><html><head><meta charset="utf-8"><title>another origin</title>
<script type="module">
import { Comet } from '${BASE}/comet.js';
window.Comet = Comet;
if (location.search === '?early') {
const early = new Comet({ url: '${BASE}/', transport: 'iframe', share: false,
  getToken: () => fetch('${BASE}/demo/token?user=early').then((r) => r.json()) });
window.early = { c: early, got: [] };
early.subscribe('room:early-${process.pid}', (m) => window.early.got.push(m.data));
early.connect();
}
</script></head><body><p>a page on another origin</p></body></html>`;

const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end(page);
});
await new Promise((r) => server.listen(port, '127.0.0.1', r));

run('crossorigin', async (state) => {
  const ctx = await state.browser.newContext();
  const p = await ctx.newPage();
  const d = { page: p, name: 'cross', pageErrors: [], describe: async () => JSON.stringify(await p.evaluate(() => window.trace || null)) };
  p.on('pageerror', (err) => d.pageErrors.push(String(err)));
  state.pages.push(d);

  await step('the page loads (load event) with the iframe transport connecting from the start', async () => {
    await p.goto(`http://127.0.0.1:${port}/?early`, { waitUntil: 'load', timeout: 15000 });
    await p.waitForFunction(() => window.early && window.early.c.state === 'connected', null, { timeout: 15000 });
    const seq = await p.evaluate((ch) => window.early.c.publish(ch, 'early'), `room:early-${process.pid}`);
    await p.waitForFunction(() => window.early.got.length === 1, null, { timeout: 10000 });
    assert.deepEqual(await p.evaluate(() => window.early.got), ['early']);
    log(`iframe from another origin: load fired, published seq ${seq} and received it (postMessage)`);
    await p.evaluate(() => window.early.c.close());
  });

  for (const t of TRANSPORTS) {
    await step(`chat over ${t} from another origin`, async () => {
      const ch = `room:${uniqueRoom(`x-${t}`)}`;
      // A page per transport: in one page, a cross-origin forever-frame
      // opened after a long-poll client of that page was closed did not
      // deliver (reported; see docs/CLIENT.md, limits).
      const p = await (await state.browser.newContext()).newPage();
      p.on('pageerror', (err) => d.pageErrors.push(String(err)));
      await p.goto(`http://127.0.0.1:${port}/`, { waitUntil: 'load', timeout: 15000 });
      const ready = await p.evaluate(
        async ([base, t, ch]) => {
          const c = new window.Comet({
            url: `${base}/`,
            transport: t,
            shareKey: t,
            getToken: () => fetch(`${base}/demo/token?user=ann`).then((res) => res.json()),
          });
          window.x = { c, got: [], errors: [] };
          c.on('error', (e) => window.x.errors.push(`${e.type}: ${e.message}`));
          // seq 0: join and leave events
          const sub = c.subscribe(ch, (m) => m.seq > 0 && window.x.got.push(`${m.from}: ${m.data}`));
          c.connect();
          await sub.ready;
          return c.publish(ch, 'hello from ann');
        },
        [BASE, t, ch],
      );
      assert.equal(ready, 1);
      await publish(ch, 'hello from the backend');
      await p.waitForFunction(() => window.x.got.length >= 2, null, { timeout: 10000 });
      const r = await p.evaluate(() => {
        const out = { got: window.x.got, errors: window.x.errors, transport: window.x.c.transport, shared: window.x.c.shared, from: location.origin };
        window.x.c.close();
        return out;
      });
      assert.notEqual(r.from, new URL(BASE).origin, 'the page is on another origin');
      assert.equal(r.transport, t);
      assert.equal(r.shared, 'leader');
      assert.deepEqual(r.got, ['ann: hello from ann', 'undefined: hello from the backend']);
      assert.deepEqual(r.errors, []);
      await p.close();
      log(`${t}: chatted from ${r.from} (shared through a leader tab)`);
    });
  }
  assert.deepEqual(d.pageErrors, []);
  server.close();
});
