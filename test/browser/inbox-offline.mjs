// inbox-offline.mjs: a direct message typed in the demo while the server
// is down waits in the send queue (shown as queued) and is delivered once
// when the server is back on the same data directory: once in alice's
// conversation, once in bob's, once in bob's inbox on the node.
//
// Handshake with the Go test through files in COMET_CONTROL_DIR, as in
// offline.mjs: "stop" -> "stopped", "start" -> "started".
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { BASE, Demo, log, run, sleep, step, uniqueRoom } from './lib.mjs';

const ctl = process.env.COMET_CONTROL_DIR;
if (!ctl) {
  console.error('COMET_CONTROL_DIR is not set: run by go test ./test/e2e -run TestBrowserInboxOffline');
  process.exit(2);
}
function signal(name) {
  const tmp = path.join(ctl, `.${name}`);
  fs.writeFileSync(tmp, String(Date.now()));
  fs.renameSync(tmp, path.join(ctl, name));
}
async function waitFile(name, timeout = 20000) {
  const file = path.join(ctl, name);
  const end = Date.now() + timeout;
  while (Date.now() < end) {
    if (fs.existsSync(file)) {
      const body = fs.readFileSync(file, 'utf8');
      if (body.startsWith('error')) throw new Error(`the Go test could not ${name.replace(/ed$/, '')} the server: ${body}`);
      return;
    }
    await sleep(20);
  }
  throw new Error(`no ${name} from the Go test within ${timeout} ms`);
}

const OFFLINE = 'typed while the server was down';

run('inbox-offline', async (state) => {
  const room = uniqueRoom('dm-offline');
  const an = `alice-${process.pid}`;
  const bn = `bob-${process.pid}`;
  const alice = await Demo.open(state.browser, { name: an, room, query: { dm: bn } });
  const bob = await Demo.open(state.browser, { name: bn, room });
  state.pages.push(alice, bob);
  await Promise.all([alice.connected(), bob.connected()]);
  assert.equal(await alice.page.evaluate(() => window.demo.client.shared), 'worker');
  await alice.page.waitForFunction(() => window.demo.dms.served, null, { timeout: 10000 });
  await alice.send('before');
  await alice.waitMessages(1);
  await bob.page.waitForFunction((u) => !!document.querySelector(`#dms button[data-peer="${u}"]`), an, { timeout: 15000 });

  await step('stop the server; a DM typed meanwhile is queued', async () => {
    signal('stop');
    await waitFile('stopped');
    await alice.page.waitForFunction(() => window.demo.client.state !== 'connected', null, { timeout: 15000 });
    await alice.send(OFFLINE);
    await alice.page.waitForFunction(() => {
      const p = document.querySelector('#pending-list .pending-msg .pending-state');
      return p && /queued|sending/.test(p.textContent);
    }, null, { timeout: 5000 });
    assert.equal((await alice.messages()).length, 1, 'not shown as sent');
    const pending = await alice.page.evaluate(() => window.demo.client.pending);
    assert.equal(pending.length, 1);
    assert.equal(pending[0].op, 'dm');
    assert.equal(pending[0].to, bn);
  });

  await step('start the server: the DM is sent, once', async () => {
    signal('start');
    await waitFile('started');
    // The server is back: try now, not when the backoff (grown up to 30 s
    // while it was down) says.
    await alice.page.evaluate(() => window.demo.client.retryNow());
    await bob.page.evaluate(() => window.demo.client.retryNow());
    await alice.page.waitForFunction(() => window.demo.client.state === 'connected', null, { timeout: 20000 });
    const shown = await alice.waitMessages(2, 20000);
    assert.deepEqual(shown.map((m) => m.text), ['before', OFFLINE]);
    await alice.page.waitForFunction(() => document.querySelectorAll('#pending-list .pending-msg').length === 0, null, { timeout: 5000 });
    assert.equal(await alice.page.evaluate(() => window.demo.client.pending.length), 0);
  });

  await step('bob gets it once; and once only in his inbox', async () => {
    await bob.connected(null, 20000);
    await bob.page.click(`#dms button[data-peer="${an}"]`);
    await bob.waitMessages(2, 20000);
    await alice.send('after'); // after the others: a duplicate would come first
    const shown = await bob.waitMessages(3, 20000);
    assert.deepEqual(shown.map((m) => m.text), ['before', OFFLINE, 'after']);
    const res = await fetch(`${BASE}/api/inbox/entries?user=${bn}`, { headers: { authorization: `Bearer ${process.env.COMET_TEST_API_KEY}` } });
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.deepEqual(body.entries.map((e) => e.data.text), ['before', OFFLINE, 'after'], 'bob\'s log');
    log(`delivered once after the restart: seq ${shown[1].seq} of bob's log`);
  });
  alice.assertClean();
  bob.assertClean();
});
