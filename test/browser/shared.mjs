// shared.mjs: one connection for every tab of an origin. Eight tabs on
// forced long-poll (which the browser's six connections per host would
// stall without sharing) all receive every message, and the server counts
// one connection for their user:
//   - through a SharedWorker (share: 'worker');
//   - through a leader tab (share: 'leader', Web Locks); then the leader
//     tab closes while messages are published, another tab takes over,
//     and the seven left receive every message once.
// Run against a node with -auth demo (tokens for any name) and an API key.
import assert from 'node:assert/strict';
import { BASE, log, publish, run, step, uniqueRoom } from './lib.mjs';

const TABS = 8;

// presence counts the server's connections of a user.
async function connections(user) {
  const res = await fetch(`${BASE}/api/presence?user=${encodeURIComponent(user)}`, {
    headers: { authorization: `Bearer ${process.env.COMET_TEST_API_KEY}` },
  });
  const body = await res.text();
  assert.equal(res.status, 200, `GET /api/presence: ${res.status} ${body}`);
  return JSON.parse(body).connections;
}

async function openTabs(state, ctx, user, ch, share) {
  const tabs = [];
  for (let i = 0; i < TABS; i++) {
    const page = await ctx.newPage();
    const d = { page, name: `${share}-tab${i}`, pageErrors: [] };
    page.on('pageerror', (err) => d.pageErrors.push(String(err)));
    d.describe = async () => JSON.stringify(await page.evaluate(() => window.t && { ...window.t, state: window.c.state, stats: window.c.stats }).catch(() => null));
    state.pages.push(d);
    await page.goto(`${BASE}/healthz`);
    await page.evaluate(
      async ([user, ch, share]) => {
        const { Comet } = await import('/comet.js');
        const getToken = () => fetch(`/demo/token?user=${user}`).then((r) => r.json());
        const c = new Comet({ transport: 'poll', share, shareKey: user, getToken });
        window.c = c;
        window.t = { got: [], errors: [] };
        c.on('error', (e) => window.t.errors.push(`${e.type}: ${e.message}`));
        // seq 0: join and leave events (rooms keep presence)
        window.sub = c.subscribe(ch, (m) => m.seq > 0 && window.t.got.push(m.data));
        c.connect();
        await window.sub.ready;
      },
      [user, ch, share],
    );
    tabs.push(d);
  }
  return tabs;
}

const waitGot = (d, n) =>
  d.page.waitForFunction((k) => window.t.got.length >= k, n, { timeout: 20000 }).catch(async (err) => {
    throw new Error(`${d.name}: wanted ${n} messages: ${err.message}\n${await d.describe()}`);
  });

async function waitConnections(user, want) {
  const end = Date.now() + 20000;
  let n;
  while (Date.now() < end) {
    n = await connections(user);
    if (n === want) return n;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${user}: ${n} connections, wanted ${want}`);
}

async function everyoneGets(tabs, ch, texts, first = 0) {
  for (const text of texts) await publish(ch, text);
  const want = first + texts.length;
  await Promise.all(tabs.map((d) => waitGot(d, want)));
  for (const d of tabs) {
    const got = await d.page.evaluate(() => window.t.got);
    assert.equal(got.length, want, `${d.name}: ${JSON.stringify(got)}`);
    assert.deepEqual(got.slice(first), texts, `${d.name}: each message once, in order`);
  }
}

run('shared', async (state) => {
  await step(`${TABS} tabs, forced long-poll, one SharedWorker`, async () => {
    const user = `w${process.pid}`;
    const ch = `room:${uniqueRoom('worker')}`;
    const ctx = await state.browser.newContext();
    const tabs = await openTabs(state, ctx, user, ch, 'worker');
    for (const d of tabs) assert.equal(await d.page.evaluate(() => window.c.shared), 'worker');
    assert.equal(await waitConnections(user, 1), 1);
    await everyoneGets(tabs, ch, ['w1', 'w2', 'w3', 'w4', 'w5']);
    // A tab's own publication reaches every tab, itself included.
    const seq = await tabs[3].page.evaluate((ch) => window.c.publish(ch, 'from tab 3'), ch);
    assert.equal(seq, 6);
    await Promise.all(tabs.map((d) => waitGot(d, 6)));
    assert.equal(await connections(user), 1, 'still one connection');
    for (const d of tabs) assert.deepEqual(d.pageErrors, []);
    log(`worker: ${TABS} tabs, 1 connection, 6 messages each`);
    await ctx.close();
  });

  await step(`${TABS} tabs, forced long-poll, a leader tab; the leader closes`, async () => {
    const user = `l${process.pid}`;
    const ch = `room:${uniqueRoom('leader')}`;
    const ctx = await state.browser.newContext();
    const tabs = await openTabs(state, ctx, user, ch, 'leader');
    const leaders = [];
    for (const [i, d] of tabs.entries()) if (await d.page.evaluate(() => window.c.leader)) leaders.push(i);
    assert.deepEqual(leaders.length, 1, `one leader: ${leaders}`);
    assert.equal(await waitConnections(user, 1), 1);
    await everyoneGets(tabs, ch, ['a1', 'a2', 'a3']);
    const old = tabs.splice(leaders[0], 1)[0];
    await old.page.close();
    // Published while the tabs elect a new leader: nothing may be lost.
    await everyoneGets(tabs, ch, ['b1', 'b2', 'b3', 'b4'], 3);
    const now = [];
    for (const [i, d] of tabs.entries()) if (await d.page.evaluate(() => window.c.leader)) now.push(i);
    assert.equal(now.length, 1, `one new leader: ${now}`);
    // The new leader polls with the session id of the old one: one presence entry.
    assert.equal(await waitConnections(user, 1), 1);
    await everyoneGets(tabs, ch, ['c1'], 7);
    for (const d of tabs) {
      assert.deepEqual(d.pageErrors, []);
      assert.deepEqual(await d.page.evaluate(() => window.t.errors), [], d.name);
    }
    log(`leader: failover from tab ${leaders[0]}, ${tabs.length} tabs got 8 messages each, 1 connection`);
    await ctx.close();
  });
});
