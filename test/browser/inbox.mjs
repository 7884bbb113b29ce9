// inbox.mjs: direct messages in the demo, between two users in two
// browser contexts, for two pairs of transports at once (the WebSocket
// and long-poll, SSE and the iframe): alice opens a conversation with bob
// from the people online and writes; bob's page shows the unread badge on
// the conversation; bob opens it, and alice's page shows "seen"; bob
// answers and alice, who has the conversation open, reads it at once
// (seen by bob, except on long-poll, which gets no ephemeral messages);
// after a reload both pages show the conversation once, with no unread
// badge, and the node counts nothing unread. A screenshot of the
// conversation is written as an artifact.
//
// Run against a node with -auth demo, -data-dir and an API key
// (TestBrowserInbox).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ARTIFACTS, BASE, Demo, log, run, step, uniqueRoom } from './lib.mjs';

const PAIRS = [['websocket', 'poll'], ['sse', 'iframe']];
const KEY = process.env.COMET_TEST_API_KEY;

async function unreadTotal(user) {
  const res = await fetch(`${BASE}/api/inbox?user=${encodeURIComponent(user)}`, { headers: { authorization: `Bearer ${KEY}` } });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  return body.total;
}

// badge is the unread badge of d's conversation with peer ('' when none),
// or null when the conversation is not listed.
const badge = (d, peer) =>
  d.page.evaluate((p) => {
    const b = document.querySelector(`#dms button[data-peer="${p}"]`);
    return b ? b.querySelector('.badge')?.textContent || '' : null;
  }, peer);

async function waitFor(d, what, fn, arg, timeout = 15000) {
  await d.page.waitForFunction(fn, arg, { timeout }).catch(async (err) => {
    throw new Error(`${d.name}: ${what}: ${err.message}\n${await d.describe()}`);
  });
}

async function pair(state, [ta, tb]) {
  const room = uniqueRoom(`dm-${ta}`);
  const an = `alice-${ta}-${process.pid}`;
  const bn = `bob-${tb}-${process.pid}`;
  const [alice, bob] = await Promise.all([
    Demo.open(state.browser, { name: an, room, transport: ta }),
    Demo.open(state.browser, { name: bn, room, transport: tb }),
  ]);
  state.pages.push(alice, bob);
  await Promise.all([alice.connected(ta), bob.connected(tb)]);

  // alice finds bob among the people online and writes to him.
  await waitFor(alice, 'bob online', (u) => !!document.querySelector(`#people button[data-user="${u}"]:not([disabled])`), bn);
  await alice.page.click(`#people button[data-user="${bn}"]`);
  await waitFor(alice, 'the DM view', (u) => document.querySelector('#room-title').textContent === `@${u}`, bn);
  await alice.send('hi bob, a direct message');
  const [sent] = await alice.waitMessages(1);
  assert.equal(sent.from, an);

  // bob, in the room, sees the conversation with an unread badge.
  await waitFor(bob, 'the unread badge', (u) => document.querySelector(`#dms button[data-peer="${u}"] .badge`)?.textContent === '1', an);
  assert.equal(await unreadTotal(bn), 1);
  await bob.page.click(`#dms button[data-peer="${an}"]`);
  const got = await bob.waitMessages(1);
  assert.deepEqual(got.map((m) => [m.from, m.text]), [[an, 'hi bob, a direct message']]);
  assert.equal(await badge(bob, an), '', 'the badge goes when the conversation is open');

  // alice's page shows bob has seen it.
  await waitFor(alice, '"seen"', () => !!document.querySelector('#messages .seen'));
  assert.equal(await alice.page.$eval('#messages .seen', (e) => e.textContent), `Seen by ${bn}`);
  assert.equal(await unreadTotal(bn), 0);

  // bob answers; alice has the conversation open: she reads it at once,
  // and bob sees that (receipts are ephemeral: a long-poll, which answers
  // from the log, never gets them; the read marker moves all the same).
  await bob.send('hello alice');
  await alice.waitMessages(2);
  if (tb !== 'poll') await waitFor(bob, '"seen" on bob\'s side', () => !!document.querySelector('#messages .seen'));
  assert.equal(await badge(alice, bn), '');
  assert.equal(await unreadTotal(an), 0);

  // A reload: the conversation is there once, nothing unread.
  await step(`${ta}/${tb}: reload both pages`, async () => {
    await Promise.all([alice.page.reload(), bob.page.reload()]);
    await Promise.all([alice, bob].map((d) => waitFor(d, 'the client after the reload', () => !!(window.demo && window.demo.client))));
    await Promise.all([alice.connected(ta), bob.connected(tb)]);
    for (const [d, peer] of [[alice, bn], [bob, an]]) {
      await waitFor(d, 'the conversation listed', (p) => !!document.querySelector(`#dms button[data-peer="${p}"]`), peer);
      await d.page.click(`#dms button[data-peer="${peer}"]`);
      const shown = await d.waitMessages(2);
      assert.deepEqual(shown.map((m) => m.text), ['hi bob, a direct message', 'hello alice'], `${d.name}: after the reload`);
      assert.equal(await badge(d, peer), '');
    }
  });
  // One more from alice: it reaches bob after the two (any duplicate of
  // them, replayed, would have come first).
  await alice.send('after the reload');
  const final = await bob.waitMessages(3);
  assert.deepEqual(final.map((m) => m.text), ['hi bob, a direct message', 'hello alice', 'after the reload']);
  for (const d of [alice, bob]) {
    d.assertClean();
    const errors = await d.events('error');
    assert.deepEqual(errors, [], `${d.name}: client errors`);
  }
  log(`${ta}/${tb}: DM, unread badge, seen receipts, reload`);
  return alice;
}

run('inbox', async (state) => {
  assert.ok(KEY, 'COMET_TEST_API_KEY is not set');
  const [alice] = await step('two pairs of users, in parallel', () => Promise.all(PAIRS.map((p) => pair(state, p))));
  const shot = path.join(ARTIFACTS, 'demo-dm.png');
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await alice.page.screenshot({ path: shot });
  log(`screenshot: ${shot}`);
});
